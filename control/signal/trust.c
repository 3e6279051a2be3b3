/* trust.c - see trust.h. Thread: control.
 *
 * Tables are small (the overlay's members) and change at human rates, so
 * lookups by key walk them. Hooks run after the tables are consistent: a hook
 * may look at the trust state but never changes it.
 */
#include "control/signal/trust.h"
#include "control/signal/trust_store.h"
#include "control/config/identity.h"
#include "control/counters.h"
#include "control/log.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#define MAX_STATIC 256
#define MAX_REVOKED 65536
#define FP_MIN 8                  /* hex digits of a node ID an operator must give */

struct binding {
	uint8_t key[32];
	bool proven;                  /* a handshake with key completed */
	bool accepted;                /* an operator accepted key (ipop_trust_accept) */
	bool certified;               /* a CA certificate vouches for key */
	uint64_t serial, not_after;   /* the certificate's, when certified */
};

struct pending {
	uint8_t key[32];
	uint64_t refusals;
	uint64_t first_s;
};

struct ipop_trust {
	uint8_t own_key[32];
	char overlay[IPOP_CERT_OVERLAY_MAX + 1];
	bool has_ca;
	uint8_t ca_pub[32];
	unsigned n_static;
	uint8_t statics[MAX_STATIC][32];
	size_t n_revoked;
	uint64_t *revoked;            /* sorted */
	GHashTable *bind;             /* bare JID -> struct binding */
	GHashTable *pending;          /* bare JID -> struct pending (the latest refused key) */
	ipop_trust_lost_hook lost;
	void *hook_ctx;
	char *store;                  /* signal.bindings_file, NULL: bindings in memory only */
	bool store_failing;           /* the last write failed (logged once until one works) */
	struct ipop_trust_stats st;
};

#define X(id, name, doc) [IPOP_CERT_REJ_##id] = #name,
#define Y(id, name, doc) [IPOP_TRUST_REJ_##id] = #name,
static const char *const reject_names[IPOP_TRUST_REJ_MAX] = {
	[0] = "none",
	IPOP_CERT_REJECTS(X)
	IPOP_TRUST_REJECTS(Y)
};
#undef X
#undef Y

const char *ipop_trust_reject_name(enum ipop_trust_reject r)
{
	return (unsigned)r < IPOP_TRUST_REJ_MAX && reject_names[r] ? reject_names[r] : "?";
}

struct ipop_trust *ipop_trust_new(const uint8_t own_key[32], const char *overlay)
{
	struct ipop_trust *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	memcpy(t->own_key, own_key, 32);
	snprintf(t->overlay, sizeof(t->overlay), "%s", overlay);
	t->bind = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	t->pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return t;
}

void ipop_trust_free(struct ipop_trust *t)
{
	if (t == NULL)
		return;
	g_hash_table_destroy(t->bind);
	g_hash_table_destroy(t->pending);
	free(t->revoked);
	free(t->store);
	free(t);
}

void ipop_trust_set_hook(struct ipop_trust *t, ipop_trust_lost_hook lost, void *ctx)
{
	t->lost = lost;
	t->hook_ctx = ctx;
}

void ipop_trust_set_ca(struct ipop_trust *t, const uint8_t ca_pub[32])
{
	memcpy(t->ca_pub, ca_pub, 32);
	t->has_ca = true;
}

bool ipop_trust_has_ca(const struct ipop_trust *t)
{
	return t->has_ca;
}

const struct ipop_trust_stats *ipop_trust_stats(const struct ipop_trust *t)
{
	return &t->st;
}

int ipop_trust_add_static(struct ipop_trust *t, const uint8_t key[32])
{
	if (t->n_static == MAX_STATIC)
		return -ENOSPC;
	memcpy(t->statics[t->n_static++], key, 32);
	return 0;
}

static bool is_static(const struct ipop_trust *t, const uint8_t key[32])
{
	for (unsigned i = 0; i < t->n_static; i++)
		if (sodium_memcmp(t->statics[i], key, 32) == 0)
			return true;
	return false;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

bool ipop_trust_revoked(const struct ipop_trust *t, uint64_t serial)
{
	return t->n_revoked > 0 &&
	       bsearch(&serial, t->revoked, t->n_revoked, sizeof(uint64_t), cmp_u64) != NULL;
}

/* One line of a revocation list: a serial, or nothing (blank, comment). */
static int parse_serial_line(char *line, uint64_t *serial, bool *have)
{
	char *end;

	line[strcspn(line, "#\r\n")] = '\0';
	g_strstrip(line);
	*have = line[0] != '\0';
	if (!*have)
		return 0;
	if (line[0] < '0' || line[0] > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(line, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*serial = v;
	return 0;
}

int ipop_trust_load_revocations(struct ipop_trust *t, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	uint64_t *list = NULL;
	size_t n = 0, cap = 0;
	char line[128];
	unsigned lineno = 0;
	int rc = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		uint64_t s;
		bool have;
		lineno++;
		if (parse_serial_line(line, &s, &have) != 0) {
			snprintf(err, errlen, "%s:%u: not a certificate serial (a decimal number)",
				 path, lineno);
			rc = -EINVAL;
		} else if (have && n == MAX_REVOKED) {
			snprintf(err, errlen, "%s:%u: more than %d serials", path, lineno, MAX_REVOKED);
			rc = -E2BIG;
		} else if (have) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				uint64_t *nl = realloc(list, cap * sizeof(*list));
				if (nl == NULL) {
					snprintf(err, errlen, "%s: out of memory", path);
					rc = -ENOMEM;
					break;
				}
				list = nl;
			}
			list[n++] = s;
		}
	}
	fclose(f);
	if (rc != 0) {
		free(list);
		return rc;
	}
	if (n > 0)
		qsort(list, n, sizeof(*list), cmp_u64);
	free(t->revoked);
	t->revoked = list;
	t->n_revoked = n;
	t->st.revocation_loads++;
	return 0;
}

static void fingerprint(const uint8_t key[32], char out[IPOP_NODE_ID_HEX_LEN + 1])
{
	ipop_node_id_format(ipop_node_id_of_key(key), out, IPOP_NODE_ID_HEX_LEN + 1);
}

/* Another member whose binding to key is proven or certified, or NULL. */
static const char *owner_of(const struct ipop_trust *t, const char *jid, const uint8_t key[32])
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, t->bind);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const struct binding *b = v;
		if (strcmp(k, jid) != 0 && (b->proven || b->certified) &&
		    sodium_memcmp(b->key, key, 32) == 0)
			return k;
	}
	return NULL;
}

/* Another member that claims key at all, or NULL. */
static const char *claimant_of(const struct ipop_trust *t, const char *jid, const uint8_t key[32])
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, t->bind);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (strcmp(k, jid) != 0 && sodium_memcmp(((struct binding *)v)->key, key, 32) == 0)
			return k;
	return NULL;
}

/* ---- signal.bindings_file (trust_store.h) ---- */

/* What a restart must keep: bindings a handshake proved or an operator
 * accepted. A first-seen, unproven binding is not kept (it may be a
 * squatter's claim; after a restart the member binds again on first use, as
 * it did the first time), nor a certified one (its certificate decides). */
static bool kept(const struct binding *b)
{
	return !b->certified && (b->proven || b->accepted);
}

static int write_store(struct ipop_trust *t, char *err, size_t errlen)
{
	GHashTableIter it;
	gpointer k, v;
	struct ipop_trust_rec *recs;
	size_t n = 0;

	recs = g_new0(struct ipop_trust_rec, g_hash_table_size(t->bind) + 1);
	g_hash_table_iter_init(&it, t->bind);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const struct binding *b = v;
		if (!kept(b) || n == IPOP_TRUST_STORE_MAX)
			continue;
		snprintf(recs[n].jid, sizeof(recs[n].jid), "%s", (const char *)k);
		memcpy(recs[n].key, b->key, 32);
		recs[n++].proven = b->proven;
	}
	int rc = ipop_trust_store_write(t->store, recs, n, err, errlen);
	sodium_memzero(recs, sizeof(*recs) * (g_hash_table_size(t->bind) + 1));
	g_free(recs);
	if (rc == 0)
		t->st.store_writes++;
	return rc;
}

/* After a change of what kept() covers. A failure keeps the bindings in
 * memory (the node goes on) and is logged once until a write works again. */
static void persist(struct ipop_trust *t)
{
	char err[512];

	if (t->store == NULL)
		return;
	if (write_store(t, err, sizeof(err)) == 0) {
		if (t->store_failing)
			LOG_INFO("trust: signal.bindings_file written again");
		t->store_failing = false;
		return;
	}
	t->st.store_failures++;
	if (!t->store_failing)
		LOG_ERR("trust: cannot write signal.bindings_file: %s (the bindings hold in "
			  "memory; a restart would forget the changes since the last write)", err);
	t->store_failing = true;
}

static int store_add(void *ctx, const struct ipop_trust_rec *r)
{
	struct ipop_trust *t = ctx;

	if (g_hash_table_contains(t->bind, r->jid) || claimant_of(t, r->jid, r->key) != NULL)
		return -EEXIST;
	if (is_static(t, r->key) || sodium_memcmp(r->key, t->own_key, 32) == 0)
		return -EPERM;
	struct binding *b = g_new0(struct binding, 1);
	memcpy(b->key, r->key, 32);
	b->proven = r->proven;
	b->accepted = !r->proven;
	g_hash_table_insert(t->bind, g_strdup(r->jid), b);
	t->st.store_loaded++;
	return 0;
}

int ipop_trust_set_store(struct ipop_trust *t, const char *path, char *err, size_t errlen)
{
	int rc = ipop_trust_store_read(path, store_add, t, err, errlen);

	if (rc != 0)
		return rc;
	t->store = strdup(path);
	if (t->store == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* Written back now: a file that cannot be written is an error at
	 * start, not a surprise at the first proven handshake. */
	return write_store(t, err, errlen);
}

static int refuse(struct ipop_trust *t, enum ipop_trust_reject *why, enum ipop_trust_reject r)
{
	*why = r;
	t->st.refused[r]++;
	return -EPERM;
}

/* The key change waits for an operator; logged when it is new. */
static void note_pending(struct ipop_trust *t, const char *jid, const struct binding *b,
			 const uint8_t key[32], uint64_t now_s)
{
	struct pending *p = g_hash_table_lookup(t->pending, jid);
	char was[IPOP_NODE_ID_HEX_LEN + 1], now[IPOP_NODE_ID_HEX_LEN + 1];

	if (p != NULL && sodium_memcmp(p->key, key, 32) == 0) {
		p->refusals++;
		return;
	}
	p = g_new0(struct pending, 1);
	memcpy(p->key, key, 32);
	p->refusals = 1;
	p->first_s = now_s;
	g_hash_table_replace(t->pending, g_strdup(jid), p);
	fingerprint(b->key, was);
	fingerprint(key, now);
	LOG_WARN("trust: member %s announces key %s but is bound to key %s: refused until an "
		 "operator accepts it (ipopctl accept-key %s %.16s)", jid, now, was, jid, now);
}

static void bind_key(struct ipop_trust *t, const char *jid, const uint8_t key[32],
		     const struct ipop_cert *cert)
{
	struct binding *b = g_hash_table_lookup(t->bind, jid);

	if (b == NULL) {
		b = g_new0(struct binding, 1);
		g_hash_table_insert(t->bind, g_strdup(jid), b);
		t->st.bindings++;
	} else if (sodium_memcmp(b->key, key, 32) != 0) {
		b->proven = false;
		b->accepted = false;
	}
	memcpy(b->key, key, 32);
	b->certified = cert != NULL;
	b->serial = cert ? cert->serial : 0;
	b->not_after = cert ? cert->not_after : 0;
	if (cert != NULL)
		g_hash_table_remove(t->pending, jid);
}

/* With a CA: the certificate (or, for a link stanza without one, the
 * member's certified binding) must vouch for key. */
static int check_ca(struct ipop_trust *t, const char *jid, const uint8_t key[32],
		    const struct ipop_cert *cert, uint64_t now_s, enum ipop_trust_reject *why)
{
	const struct binding *b = g_hash_table_lookup(t->bind, jid);
	enum ipop_cert_reject r;

	if (cert == NULL) {
		if (b == NULL || !b->certified || sodium_memcmp(b->key, key, 32) != 0)
			return refuse(t, why, (enum ipop_trust_reject)IPOP_CERT_REJ_MISSING);
		if (now_s >= b->not_after)
			return refuse(t, why, (enum ipop_trust_reject)IPOP_CERT_REJ_EXPIRED);
		if (ipop_trust_revoked(t, b->serial))
			return refuse(t, why, (enum ipop_trust_reject)IPOP_CERT_REJ_REVOKED);
		return 0;
	}
	r = ipop_cert_check(cert, t->ca_pub, key, t->overlay, now_s);
	if (r == IPOP_CERT_OK && ipop_trust_revoked(t, cert->serial))
		r = IPOP_CERT_REJ_REVOKED;
	if (r != IPOP_CERT_OK)
		return refuse(t, why, (enum ipop_trust_reject)r);
	if (owner_of(t, jid, key) != NULL)
		return refuse(t, why, IPOP_TRUST_REJ_KEY_OF_ANOTHER);
	bind_key(t, jid, key, cert);
	return 0;
}

int ipop_trust_check(struct ipop_trust *t, const char *jid, const uint8_t key[32],
		     const struct ipop_cert *cert, uint64_t now_s, enum ipop_trust_reject *why)
{
	struct binding *b;

	*why = 0;
	if (sodium_memcmp(key, t->own_key, 32) == 0)
		return 0;
	if (is_static(t, key))
		return refuse(t, why, IPOP_TRUST_REJ_STATIC_KEY);
	if (t->has_ca) {
		int r = check_ca(t, jid, key, cert, now_s, why);
		if (r == 0)
			t->st.accepted++;
		return r;
	}
	if (owner_of(t, jid, key) != NULL)
		return refuse(t, why, IPOP_TRUST_REJ_KEY_OF_ANOTHER);
	b = g_hash_table_lookup(t->bind, jid);
	if (b != NULL && sodium_memcmp(b->key, key, 32) != 0) {
		note_pending(t, jid, b, key, now_s);
		return refuse(t, why, IPOP_TRUST_REJ_KEY_CHANGE);
	}
	if (b == NULL)
		bind_key(t, jid, key, NULL);
	t->st.accepted++;
	return 0;
}

int ipop_trust_check_link(struct ipop_trust *t, const char *jid, const uint8_t key[32],
			  const char *cert_b64, uint64_t now_s, enum ipop_trust_reject *why)
{
	struct ipop_cert cert;

	if (!t->has_ca || cert_b64[0] == '\0' || sodium_memcmp(key, t->own_key, 32) == 0)
		return ipop_trust_check(t, jid, key, NULL, now_s, why);
	if (ipop_cert_from_base64(cert_b64, &cert) != 0)
		return refuse(t, why, (enum ipop_trust_reject)IPOP_CERT_REJ_BAD_ENCODING);
	return ipop_trust_check(t, jid, key, &cert, now_s, why);
}

int ipop_trust_count(struct ipop_trust *t, enum ipop_trust_reject why)
{
	if ((unsigned)why < IPOP_TRUST_REJ_MAX)
		t->st.refused[why]++;
	return -EPERM;
}

bool ipop_trust_is_bound(const struct ipop_trust *t, const char *jid, const uint8_t key[32])
{
	const struct binding *b = g_hash_table_lookup(t->bind, jid);

	return b != NULL && sodium_memcmp(b->key, key, 32) == 0;
}

/* Take every other member's unproven, uncertified claim of key away. */
static void drop_claims(struct ipop_trust *t, const char *owner, const uint8_t key[32])
{
	GHashTableIter it;
	gpointer k, v;
	GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);
	char why[IPOP_NODE_ID_HEX_LEN + 320];

	g_hash_table_iter_init(&it, t->bind);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const struct binding *b = v;
		if (strcmp(k, owner) != 0 && !b->proven && !b->certified &&
		    sodium_memcmp(b->key, key, 32) == 0) {
			g_ptr_array_add(gone, g_strdup(k));
			g_hash_table_iter_remove(&it);
		}
	}
	snprintf(why, sizeof(why), "its key was proven by %s", owner);
	for (unsigned i = 0; i < gone->len; i++) {
		t->st.claims_dropped++;
		LOG_WARN("trust: member %s loses its claim of a key: %s", (char *)gone->pdata[i], why);
		if (t->lost != NULL)
			t->lost(t->hook_ctx, gone->pdata[i], key, why);
	}
	g_ptr_array_free(gone, TRUE);
}

void ipop_trust_proven(struct ipop_trust *t, const char *jid, const uint8_t key[32])
{
	struct binding *b = g_hash_table_lookup(t->bind, jid);

	if (b == NULL || sodium_memcmp(b->key, key, 32) != 0 || b->proven)
		return;
	b->proven = true;
	t->st.proven++;
	drop_claims(t, jid, key);
	persist(t);
}

void ipop_trust_failed(struct ipop_trust *t, const char *jid, const uint8_t key[32])
{
	struct binding *b = g_hash_table_lookup(t->bind, jid);
	const char *other;
	char why[320];

	if (b == NULL || b->proven || b->certified || sodium_memcmp(b->key, key, 32) != 0 ||
	    (other = claimant_of(t, jid, key)) == NULL)
		return;
	/* Two members claim the key and this one could not prove it: it goes,
	 * so the other is not held off by a member that announced a key it
	 * does not hold. A failure without a rival keeps the binding: a
	 * network fault must not open the member's place to the next key. */
	snprintf(why, sizeof(why), "its handshake with the key failed while %s claims it", other);
	g_hash_table_remove(t->bind, jid);
	t->st.claims_dropped++;
	persist(t);
	LOG_WARN("trust: member %s loses its claim of a key: %s", jid, why);
	if (t->lost != NULL)
		t->lost(t->hook_ctx, jid, key, why);
}

int ipop_trust_accept(struct ipop_trust *t, const char *jid, const char *fp)
{
	struct pending *p = g_hash_table_lookup(t->pending, jid);
	char hex[IPOP_NODE_ID_HEX_LEN + 1];
	size_t l = strlen(fp);

	if (l < FP_MIN || l > IPOP_NODE_ID_HEX_LEN || strspn(fp, "0123456789abcdef") != l)
		return -EINVAL;
	if (p == NULL)
		return -ENOENT;
	fingerprint(p->key, hex);
	if (strncmp(hex, fp, l) != 0)
		return -ENOENT;
	uint8_t key[32];
	memcpy(key, p->key, 32);
	g_hash_table_remove(t->pending, jid);
	bind_key(t, jid, key, NULL);
	((struct binding *)g_hash_table_lookup(t->bind, jid))->accepted = true;
	t->st.key_changes_accepted++;
	persist(t);
	LOG_WARN("trust: operator accepted member %s's key change to %s", jid, hex);
	return 0;
}

void ipop_trust_tick(struct ipop_trust *t, uint64_t now_s)
{
	GHashTableIter it;
	gpointer k, v;
	GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);
	GArray *keys = g_array_new(FALSE, FALSE, 32);
	GArray *revoked = g_array_new(FALSE, FALSE, sizeof(bool));

	g_hash_table_iter_init(&it, t->bind);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const struct binding *b = v;
		bool rev = b->certified && ipop_trust_revoked(t, b->serial);
		if (!b->certified || (!rev && now_s < b->not_after))
			continue;
		g_ptr_array_add(gone, g_strdup(k));
		g_array_append_vals(keys, b->key, 1);
		g_array_append_val(revoked, rev);
		g_hash_table_iter_remove(&it);
	}
	for (unsigned i = 0; i < gone->len; i++) {
		bool rev = g_array_index(revoked, bool, i);
		const char *why = rev ? "its certificate was revoked" : "its certificate expired";
		if (rev)
			t->st.certs_revoked++;
		else
			t->st.certs_expired++;
		LOG_WARN("trust: member %s dropped: %s", (char *)gone->pdata[i], why);
		if (t->lost != NULL)
			t->lost(t->hook_ctx, gone->pdata[i], (const uint8_t *)keys->data + 32 * i, why);
	}
	g_ptr_array_free(gone, TRUE);
	g_array_free(keys, TRUE);
	g_array_free(revoked, TRUE);
}

static json_object *binding_json(const char *jid, const struct binding *b, uint64_t now_s)
{
	json_object *o = json_object_new_object();
	char hex[IPOP_NODE_ID_HEX_LEN + 1];

	fingerprint(b->key, hex);
	json_object_object_add(o, "jid", json_object_new_string(jid));
	json_object_object_add(o, "node_id", json_object_new_string(hex));
	json_object_object_add(o, "proven", json_object_new_boolean(b->proven));
	json_object_object_add(o, "certified", json_object_new_boolean(b->certified));
	if (b->certified) {
		json_object_object_add(o, "serial", json_object_new_int64((int64_t)b->serial));
		json_object_object_add(o, "expires_in_s", json_object_new_int64(
			(int64_t)b->not_after - (int64_t)now_s));
	}
	return o;
}

static json_object *pending_json(const struct ipop_trust *t, const char *jid,
				 const struct pending *p, uint64_t now_s)
{
	json_object *o = json_object_new_object();
	const struct binding *b = g_hash_table_lookup(t->bind, jid);
	char hex[IPOP_NODE_ID_HEX_LEN + 1];

	json_object_object_add(o, "jid", json_object_new_string(jid));
	fingerprint(p->key, hex);
	json_object_object_add(o, "node_id", json_object_new_string(hex));
	if (b != NULL)
		fingerprint(b->key, hex);
	json_object_object_add(o, "bound_node_id", b ? json_object_new_string(hex) : NULL);
	json_object_object_add(o, "refusals", json_object_new_int64((int64_t)p->refusals));
	json_object_object_add(o, "since_s", json_object_new_int64((int64_t)(now_s - p->first_s)));
	return o;
}

json_object *ipop_trust_json(const struct ipop_trust *t, uint64_t now_s)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	json_object *pend = json_object_new_array(), *rej = json_object_new_object();
	GHashTableIter it;
	gpointer k, v;
	char b64[64];

	sodium_bin2base64(b64, sizeof(b64), t->ca_pub, 32, sodium_base64_VARIANT_ORIGINAL);
	json_object_object_add(o, "ca", t->has_ca ? json_object_new_string(b64) : NULL);
	json_object_object_add(o, "revoked_serials", json_object_new_int64((int64_t)t->n_revoked));
	g_hash_table_iter_init(&it, t->bind);
	while (g_hash_table_iter_next(&it, &k, &v))
		json_object_array_add(arr, binding_json(k, v, now_s));
	json_object_object_add(o, "bindings", arr);
	g_hash_table_iter_init(&it, t->pending);
	while (g_hash_table_iter_next(&it, &k, &v))
		json_object_array_add(pend, pending_json(t, k, v, now_s));
	json_object_object_add(o, "pending_key_changes", pend);
	json_object *c = json_object_new_object();
	ipop_counters_json(c, &ipop_trust_family, &t->st);
	uint64_t total = ipop_counters_json(rej, &ipop_trust_reject_family, &t->st);
	json_object_object_add(rej, "total", json_object_new_int64((int64_t)total));
	json_object_object_add(c, "refused", rej);
	json_object_object_add(o, "counters", c);
	return o;
}

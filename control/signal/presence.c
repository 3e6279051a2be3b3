/* presence.c - see presence.h. Thread: control.
 *
 * A member's presence is where every other node learns its node ID, so the
 * parser checks everything a hostile member controls, as linkmsg.c does for
 * link stanzas: the presence's size, the element layout, the exact attribute
 * set and each value's syntax; the node ID must be the hash of the key and the
 * key must be usable, so an announced identity is always one real key (the
 * Noise handshake later proves the member holds it). The table then keeps one
 * identity to one member: announcing is not proving, so the first member seen
 * with an identity keeps it until it goes offline.
 */
#include "control/signal/presence.h"
#include "control/signal/linkmsg.h"
#include "control/config/identity.h"

#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#define MAX_ATTRS 8
#define ELEMENT "identity"

#define X(id, name, doc) [IPOP_PRES_REJ_##id] = #name,
static const char *const reject_names[IPOP_PRES_REJ_MAX] = {
	[IPOP_PRES_REJ_NONE] = "none",
	IPOP_PRESENCE_REJECTS(X)
};
#undef X

const char *ipop_presence_reject_name(enum ipop_presence_reject r)
{
	return (unsigned)r < IPOP_PRES_REJ_MAX ? reject_names[r] : "?";
}

/* ---- the element ---- */

static int reject(struct ipop_member_ident *out, enum ipop_presence_reject *why,
		  enum ipop_presence_reject r)
{
	memset(out, 0, sizeof(*out));   /* a refused identity is never half used */
	*why = r;
	return -EBADMSG;
}

/* node and key, each once, and cert at most once (judged by trust, not
 * here); xmlns aside, any other attribute is refused. */
static int collect(xmpp_stanza_t *el, const char **node, const char **key)
{
	const char *kv[2 * MAX_ATTRS], *cert = NULL;
	int n = xmpp_stanza_get_attribute_count(el);

	*node = *key = NULL;
	if (n < 0 || n > MAX_ATTRS)
		return -EINVAL;
	n = xmpp_stanza_get_attributes(el, kv, 2 * MAX_ATTRS);
	for (int i = 0; i + 1 < n; i += 2) {
		const char **slot = NULL;
		if (strcmp(kv[i], "xmlns") == 0)
			continue;
		if (strcmp(kv[i], "node") == 0)
			slot = node;
		else if (strcmp(kv[i], "key") == 0)
			slot = key;
		else if (strcmp(kv[i], "cert") == 0)
			slot = &cert;
		if (slot == NULL || *slot != NULL || kv[i + 1] == NULL)
			return -EINVAL;
		*slot = kv[i + 1];
	}
	return *node != NULL && *key != NULL ? 0 : -EINVAL;
}

static int parse_identity(xmpp_stanza_t *el, struct ipop_member_ident *out,
			  enum ipop_presence_reject *why)
{
	const char *node, *key;

	if (xmpp_stanza_get_children(el) != NULL)   /* text is a child too */
		return reject(out, why, IPOP_PRES_REJ_BAD_STRUCTURE);
	if (collect(el, &node, &key) != 0)
		return reject(out, why, IPOP_PRES_REJ_BAD_ATTR);
	if (ipop_linkmsg_parse_node(node, &out->node) != 0)
		return reject(out, why, IPOP_PRES_REJ_BAD_NODE);
	if (ipop_key_from_base64(key, out->key) != 0)
		return reject(out, why, IPOP_PRES_REJ_BAD_KEY);
	if (!ipop_node_id_eq(ipop_node_id_of_key(out->key), out->node))
		return reject(out, why, IPOP_PRES_REJ_NODE_KEY_MISMATCH);
	/* The hash matches, but no handshake could ever complete with this key:
	 * it gets no place on the ring. */
	if (ipop_key_check_public(out->key) != 0)
		return reject(out, why, IPOP_PRES_REJ_WEAK_KEY);
	out->known = true;
	return 0;
}

/* The one element in our namespace: NULL if none, *several when more. */
static xmpp_stanza_t *find_element(xmpp_stanza_t *presence, bool *several)
{
	xmpp_stanza_t *found = NULL;

	*several = false;
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(presence); c; c = xmpp_stanza_get_next(c)) {
		const char *ns = xmpp_stanza_get_ns(c);
		if (ns == NULL || strcmp(ns, IPOP_NODE_NS) != 0)
			continue;
		if (found != NULL)
			*several = true;
		found = c;
	}
	return found;
}

int ipop_presence_parse(xmpp_stanza_t *presence, struct ipop_member_ident *out,
			enum ipop_presence_reject *why)
{
	bool several;
	char *text = NULL;
	size_t len = 0;

	*why = IPOP_PRES_REJ_NONE;
	memset(out, 0, sizeof(*out));
	xmpp_stanza_t *el = find_element(presence, &several);
	if (el == NULL)
		return -ENOENT;
	if (several)
		return reject(out, why, IPOP_PRES_REJ_BAD_STRUCTURE);
	/* Size first: nothing of an oversized stanza is looked at any further. */
	if (xmpp_stanza_to_text(presence, &text, &len) != XMPP_EOK)
		return reject(out, why, IPOP_PRES_REJ_TOO_BIG);
	xmpp_free(xmpp_stanza_get_context(presence), text);
	if (len > IPOP_PRESENCE_MAX)
		return reject(out, why, IPOP_PRES_REJ_TOO_BIG);
	const char *name = xmpp_stanza_get_name(el);
	if (name == NULL || strcmp(name, ELEMENT) != 0)
		return reject(out, why, IPOP_PRES_REJ_BAD_STRUCTURE);
	return parse_identity(el, out, why);
}

int ipop_presence_cert(xmpp_stanza_t *presence, struct ipop_cert *cert)
{
	bool several;
	xmpp_stanza_t *el = find_element(presence, &several);
	const char *v = el != NULL ? xmpp_stanza_get_attribute(el, "cert") : NULL;

	memset(cert, 0, sizeof(*cert));
	if (v == NULL)
		return -ENOENT;
	return ipop_cert_from_base64(v, cert) == 0 ? 0 : -EINVAL;
}

xmpp_stanza_t *ipop_presence_build(xmpp_ctx_t *ctx, struct ipop_node_id node, const uint8_t key[32],
				   const char *cert_b64)
{
	char hex[IPOP_NODE_ID_HEX_LEN + 1], b64[IPOP_KEY_B64_LEN];
	xmpp_stanza_t *pres = xmpp_presence_new(ctx);
	xmpp_stanza_t *el = xmpp_stanza_new(ctx);

	if (pres == NULL || el == NULL) {
		if (pres)
			xmpp_stanza_release(pres);
		if (el)
			xmpp_stanza_release(el);
		return NULL;
	}
	ipop_node_id_format(node, hex, sizeof(hex));
	ipop_key_to_base64(key, b64);
	xmpp_stanza_set_name(el, ELEMENT);
	xmpp_stanza_set_ns(el, IPOP_NODE_NS);
	xmpp_stanza_set_attribute(el, "node", hex);
	xmpp_stanza_set_attribute(el, "key", b64);
	if (cert_b64 != NULL && cert_b64[0] != '\0')
		xmpp_stanza_set_attribute(el, "cert", cert_b64);
	xmpp_stanza_add_child(pres, el);
	xmpp_stanza_release(el);
	return pres;
}

/* ---- who holds which identity ---- */

struct ipop_idents {
	GHashTable *by_jid;            /* bare JID -> struct held_ident */
	struct ipop_member_ident own;
	ipop_ident_hook hold, release;
	void *hook_ctx;
};

/* A table value: the identity (first: ipop_idents_get returns it) and the
 * table, so the value's destructor can tell the release hook. */
struct held_ident {
	struct ipop_member_ident id;
	struct ipop_idents *t;
};

static void held_free(gpointer v)
{
	struct held_ident *h = v;

	if (h->t->release != NULL)
		h->t->release(h->t->hook_ctx, h->id.node);
	g_free(h);
}

void ipop_idents_set_hooks(struct ipop_idents *t, ipop_ident_hook hold, ipop_ident_hook release,
			   void *ctx)
{
	t->hold = hold;
	t->release = release;
	t->hook_ctx = ctx;
}

struct ipop_idents *ipop_idents_new(const uint8_t own_key[32])
{
	struct ipop_idents *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->by_jid = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, held_free);
	memcpy(t->own.key, own_key, 32);
	t->own.node = ipop_node_id_of_key(own_key);
	t->own.known = true;
	return t;
}

void ipop_idents_free(struct ipop_idents *t)
{
	if (t == NULL)
		return;
	t->release = NULL;   /* the node goes down with it */
	g_hash_table_destroy(t->by_jid);
	free(t);
}

/* The parser made node the hash of key, so either equal means one identity;
 * both are compared so the table never depends on that. */
static bool same_identity(const struct ipop_member_ident *a, const struct ipop_member_ident *b)
{
	return ipop_node_id_eq(a->node, b->node) || sodium_memcmp(a->key, b->key, 32) == 0;
}

/* Another JID holding id's node or key, or NULL. A linear walk: the table is
 * the overlay's members, and presences arrive at human rates. */
static const char *other_holder(const struct ipop_idents *t, const char *jid,
				const struct ipop_member_ident *id)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, t->by_jid);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (strcmp(k, jid) != 0 && same_identity(v, id))
			return k;
	return NULL;
}

int ipop_idents_claim(struct ipop_idents *t, const char *jid, const struct ipop_member_ident *id,
		      enum ipop_presence_reject *why)
{
	*why = IPOP_PRES_REJ_NONE;
	if (!id->known)
		return -EINVAL;
	if (same_identity(&t->own, id))
		*why = IPOP_PRES_REJ_OWN_NODE;
	else if (other_holder(t, jid, id) != NULL)
		*why = IPOP_PRES_REJ_DUPLICATE;
	if (*why != IPOP_PRES_REJ_NONE) {
		ipop_idents_release(t, jid);
		return -EEXIST;
	}
	struct held_ident *copy = g_new(struct held_ident, 1);
	copy->id = *id;
	copy->t = t;
	g_hash_table_replace(t->by_jid, g_strdup(jid), copy);
	if (t->hold != NULL)
		t->hold(t->hook_ctx, id->node);
	return 0;
}

void ipop_idents_release(struct ipop_idents *t, const char *jid)
{
	g_hash_table_remove(t->by_jid, jid);
}

void ipop_idents_clear(struct ipop_idents *t)
{
	g_hash_table_remove_all(t->by_jid);
}

const struct ipop_member_ident *ipop_idents_get(const struct ipop_idents *t, const char *jid)
{
	const struct held_ident *h = g_hash_table_lookup(t->by_jid, jid);

	return h != NULL ? &h->id : NULL;
}

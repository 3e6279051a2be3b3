/* test_trust.c - member certificates (control/config/cert.c) and the key
 * binding rules (control/signal/trust.c): who may hold which key. */
#include "control/config/cert.h"
#include "control/config/identity.h"
#include "control/signal/trust.h"
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#define NOW 1800000000ULL

static uint8_t ca_pk[32], ca_sk[64], other_pk[32], other_sk[64];

struct lost_log {
	unsigned n;
	char jid[64];
	char why[128];
};

static void on_lost(void *ctx, const char *jid, const uint8_t key[32], const char *why)
{
	struct lost_log *l = ctx;

	l->n++;
	snprintf(l->jid, sizeof(l->jid), "%s", jid);
	snprintf(l->why, sizeof(l->why), "%s", why);
}

static void keypair(uint8_t pub[32])
{
	uint8_t priv[32];

	ipop_identity_generate(priv, pub);
}

static struct ipop_cert make_cert(const uint8_t key[32], const char *overlay, uint64_t serial,
				  uint64_t nb, uint64_t na, const uint8_t sk[64])
{
	struct ipop_cert c = { .serial = serial, .not_before = nb, .not_after = na };

	memcpy(c.key, key, 32);
	c.node = ipop_node_id_of_key(key);
	snprintf(c.overlay, sizeof(c.overlay), "%s", overlay);
	CHECK(ipop_cert_sign(&c, sk) == 0);
	return c;
}

static void test_cert_codec(void)
{
	uint8_t k[32], buf[IPOP_CERT_MAX];
	struct ipop_cert c, d;
	char b64[IPOP_CERT_B64_MAX];

	keypair(k);
	c = make_cert(k, "lab", 0x0102030405060708ULL, NOW - 10, NOW + 10, ca_sk);
	int n = ipop_cert_encode(&c, buf, sizeof(buf));
	CHECK(n == IPOP_CERT_FIXED + 3 + IPOP_CERT_SIG);
	/* The documented layout. */
	CHECK(buf[0] == 1 && buf[1] == 0 && buf[2] == 1 && buf[9] == 8 && buf[74] == 3);
	CHECK(memcmp(buf + 42, k, 32) == 0 && memcmp(buf + 75, "lab", 3) == 0);
	CHECK(ipop_cert_decode(buf, (size_t)n, &d) == 0);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0);
	CHECK(ipop_cert_decode(buf, (size_t)n - 1, &d) == -EINVAL);
	buf[1] = 1;
	CHECK(ipop_cert_decode(buf, (size_t)n, &d) == -EINVAL);   /* flags */
	buf[1] = 0;
	buf[0] = 2;
	CHECK(ipop_cert_decode(buf, (size_t)n, &d) == -EINVAL);   /* version */
	buf[0] = 1;
	buf[75] = ' ';
	CHECK(ipop_cert_decode(buf, (size_t)n, &d) == -EINVAL);   /* overlay not printable */
	CHECK(ipop_cert_to_base64(&c, b64) == 0);
	CHECK(ipop_cert_from_base64(b64, &d) == 0 && memcmp(&c, &d, sizeof(c)) == 0);
	CHECK(ipop_cert_from_base64("AAAA", &d) == -EINVAL);
	CHECK(ipop_cert_from_base64("", &d) == -EINVAL);
	b64[strlen(b64) - 1] = '!';
	CHECK(ipop_cert_from_base64(b64, &d) == -EINVAL);
	struct ipop_cert e = c;
	e.overlay[0] = '\0';
	CHECK(ipop_cert_encode(&e, buf, sizeof(buf)) == -EINVAL);
	CHECK(ipop_cert_sign(&e, ca_sk) == -EINVAL);
	/* The largest certificate (a 63-character overlay name) is 202 bytes,
	 * 272 characters of base64, and round-trips. */
	char big[IPOP_CERT_OVERLAY_MAX + 1];
	memset(big, 'o', IPOP_CERT_OVERLAY_MAX);
	big[IPOP_CERT_OVERLAY_MAX] = '\0';
	c = make_cert(k, big, 3, NOW - 10, NOW + 10, ca_sk);
	CHECK(ipop_cert_encode(&c, buf, sizeof(buf)) == IPOP_CERT_MAX);
	CHECK(ipop_cert_to_base64(&c, b64) == 0 && strlen(b64) == 272);
	CHECK(ipop_cert_from_base64(b64, &d) == 0 && memcmp(&c, &d, sizeof(c)) == 0);
}

static void test_cert_check(void)
{
	uint8_t k[32], k2[32];
	struct ipop_cert c;

	keypair(k);
	keypair(k2);
	c = make_cert(k, "lab", 1, NOW - 10, NOW + 10, ca_sk);
	CHECK(ipop_cert_check(&c, ca_pk, k, "lab", NOW) == IPOP_CERT_OK);
	CHECK(ipop_cert_check(&c, other_pk, k, "lab", NOW) == IPOP_CERT_REJ_BAD_SIGNATURE);
	CHECK(ipop_cert_check(&c, ca_pk, k, "lab2", NOW) == IPOP_CERT_REJ_WRONG_OVERLAY);
	CHECK(ipop_cert_check(&c, ca_pk, k2, "lab", NOW) == IPOP_CERT_REJ_WRONG_KEY);
	CHECK(ipop_cert_check(&c, ca_pk, k, "lab", NOW - 11) == IPOP_CERT_REJ_NOT_YET_VALID);
	CHECK(ipop_cert_check(&c, ca_pk, k, "lab", NOW + 10) == IPOP_CERT_REJ_EXPIRED);
	CHECK(ipop_cert_check(&c, ca_pk, k, "lab", NOW + 9) == IPOP_CERT_OK);
	/* Every signed field is covered by the signature. */
	struct ipop_cert t = c;
	t.not_after++;
	CHECK(ipop_cert_check(&t, ca_pk, k, "lab", NOW) == IPOP_CERT_REJ_BAD_SIGNATURE);
	t = c;
	t.serial++;
	CHECK(ipop_cert_check(&t, ca_pk, k, "lab", NOW) == IPOP_CERT_REJ_BAD_SIGNATURE);
	t = c;
	memcpy(t.key, k2, 32);
	t.node = ipop_node_id_of_key(k2);
	CHECK(ipop_cert_check(&t, ca_pk, k2, "lab", NOW) == IPOP_CERT_REJ_BAD_SIGNATURE);
	/* Signed by a rogue key */
	t = make_cert(k, "lab", 1, NOW - 10, NOW + 10, other_sk);
	CHECK(ipop_cert_check(&t, ca_pk, k, "lab", NOW) == IPOP_CERT_REJ_BAD_SIGNATURE);
	/* A CA that signed a node ID not the key's hash: refused. */
	t = c;
	t.node.lo ^= 1;
	CHECK(ipop_cert_sign(&t, ca_sk) == 0);
	CHECK(ipop_cert_check(&t, ca_pk, k, "lab", NOW) == IPOP_CERT_REJ_WRONG_KEY);
}

/* Without a CA: first key binds; a change waits for the operator; a proven
 * key is nobody else's; static keys are nobody's. */
static void test_binding_rules(void)
{
	uint8_t own[32], a[32], a2[32], v[32], st[32];
	struct lost_log lost = { 0 };
	enum ipop_trust_reject why;
	char fp[IPOP_NODE_ID_HEX_LEN + 1];

	keypair(own);
	keypair(a);
	keypair(a2);
	keypair(v);
	keypair(st);
	struct ipop_trust *t = ipop_trust_new(own, "lab");
	ipop_trust_set_hook(t, on_lost, &lost);
	CHECK(ipop_trust_add_static(t, st) == 0);
	CHECK(!ipop_trust_has_ca(t));

	CHECK(ipop_trust_check(t, "a@x", own, NULL, NOW, &why) == 0);   /* ours: not judged here */
	CHECK(ipop_trust_check(t, "a@x", st, NULL, NOW, &why) == -EPERM && why == IPOP_TRUST_REJ_STATIC_KEY);
	CHECK(!ipop_trust_is_bound(t, "a@x", st));
	CHECK(ipop_trust_check(t, "a@x", a, NULL, NOW, &why) == 0);
	CHECK(ipop_trust_is_bound(t, "a@x", a));
	CHECK(ipop_trust_check(t, "a@x", a, NULL, NOW, &why) == 0);
	/* (a) a new key for a known member waits for an operator */
	CHECK(ipop_trust_check(t, "a@x", a2, NULL, NOW, &why) == -EPERM && why == IPOP_TRUST_REJ_KEY_CHANGE);
	CHECK(ipop_trust_check(t, "a@x", a2, NULL, NOW, &why) == -EPERM && why == IPOP_TRUST_REJ_KEY_CHANGE);
	CHECK(ipop_trust_is_bound(t, "a@x", a) && !ipop_trust_is_bound(t, "a@x", a2));
	CHECK(ipop_trust_stats(t)->refused[IPOP_TRUST_REJ_KEY_CHANGE] == 2);
	json_object *j = ipop_trust_json(t, NOW);
	json_object *pend = json_object_object_get(j, "pending_key_changes");
	CHECK(json_object_array_length(pend) == 1);
	CHECK(json_object_get_int(json_object_object_get(json_object_array_get_idx(pend, 0), "refusals")) == 2);
	json_object_put(j);
	ipop_node_id_format(ipop_node_id_of_key(a2), fp, sizeof(fp));
	CHECK(ipop_trust_accept(t, "a@x", "1234567") == -EINVAL);          /* too short */
	CHECK(ipop_trust_accept(t, "a@x", "XYZXYZXYZ") == -EINVAL);
	CHECK(ipop_trust_accept(t, "b@x", fp) == -ENOENT);
	char wrong[IPOP_NODE_ID_HEX_LEN + 1];
	snprintf(wrong, sizeof(wrong), "%s", fp);
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	CHECK(ipop_trust_accept(t, "a@x", wrong) == -ENOENT);
	fp[12] = '\0';
	CHECK(ipop_trust_accept(t, "a@x", fp) == 0);
	CHECK(ipop_trust_is_bound(t, "a@x", a2));
	CHECK(ipop_trust_check(t, "a@x", a2, NULL, NOW, &why) == 0);
	CHECK(ipop_trust_check(t, "a@x", a, NULL, NOW, &why) == -EPERM && why == IPOP_TRUST_REJ_KEY_CHANGE);
	CHECK(ipop_trust_stats(t)->key_changes_accepted == 1);

	/* (b) squatting: h claims v's key before v; both unproven, both bound. */
	CHECK(ipop_trust_check(t, "h@x", v, NULL, NOW, &why) == 0);
	CHECK(ipop_trust_check(t, "v@x", v, NULL, NOW, &why) == 0);
	/* h's handshake with v's key fails while v claims it: h keeps nothing. */
	ipop_trust_failed(t, "h@x", v);
	CHECK(lost.n == 1 && strcmp(lost.jid, "h@x") == 0);
	CHECK(!ipop_trust_is_bound(t, "h@x", v));
	/* v proves it: the key is v's alone from now on. */
	ipop_trust_proven(t, "v@x", v);
	CHECK(ipop_trust_check(t, "h@x", v, NULL, NOW, &why) == -EPERM && why == IPOP_TRUST_REJ_KEY_OF_ANOTHER);
	/* A failure without a rival claim keeps the binding (a network fault). */
	uint8_t w[32];
	keypair(w);
	CHECK(ipop_trust_check(t, "w@x", w, NULL, NOW, &why) == 0);
	ipop_trust_failed(t, "w@x", w);
	CHECK(ipop_trust_is_bound(t, "w@x", w) && lost.n == 1);
	/* A proven key's failure keeps it too. */
	ipop_trust_failed(t, "v@x", v);
	CHECK(ipop_trust_is_bound(t, "v@x", v));

	/* h squats again before v's proof: v proving takes it from h. */
	uint8_t z[32];
	keypair(z);
	CHECK(ipop_trust_check(t, "h2@x", z, NULL, NOW, &why) == 0);
	CHECK(ipop_trust_check(t, "z@x", z, NULL, NOW, &why) == 0);
	ipop_trust_proven(t, "z@x", z);
	CHECK(lost.n == 2 && strcmp(lost.jid, "h2@x") == 0);
	CHECK(!ipop_trust_is_bound(t, "h2@x", z) && ipop_trust_is_bound(t, "z@x", z));
	CHECK(ipop_trust_stats(t)->claims_dropped == 2);
	/* Certificates mean nothing without a CA configured, and nothing expires. */
	ipop_trust_tick(t, NOW + 1000000);
	CHECK(lost.n == 2);
	ipop_trust_free(t);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_ca_rules(void)
{
	uint8_t own[32], m[32], m2[32], s[32];
	struct lost_log lost = { 0 };
	enum ipop_trust_reject why;
	char path[] = "/tmp/ipop-test-trust-XXXXXX", err[256];
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	keypair(own);
	keypair(m);
	keypair(m2);
	keypair(s);
	struct ipop_trust *t = ipop_trust_new(own, "lab");
	ipop_trust_set_hook(t, on_lost, &lost);
	ipop_trust_set_ca(t, ca_pk);
	CHECK(ipop_trust_add_static(t, s) == 0);
	struct ipop_cert c = make_cert(m, "lab", 5, NOW - 10, NOW + 100, ca_sk);
	struct ipop_cert c2 = make_cert(m2, "lab", 6, NOW - 10, NOW + 1000, ca_sk);
	struct ipop_cert cs = make_cert(s, "lab", 9, NOW - 10, NOW + 1000, ca_sk);

	/* No certificate, or a link stanza before any certified presence. */
	CHECK(ipop_trust_check(t, "m@x", m, NULL, NOW, &why) == -EPERM && why == (int)IPOP_CERT_REJ_MISSING);
	struct ipop_cert bad = make_cert(m, "lab", 5, NOW - 10, NOW + 100, other_sk);
	CHECK(ipop_trust_check(t, "m@x", m, &bad, NOW, &why) == -EPERM && why == (int)IPOP_CERT_REJ_BAD_SIGNATURE);
	CHECK(ipop_trust_check(t, "m@x", m2, &c, NOW, &why) == -EPERM && why == (int)IPOP_CERT_REJ_WRONG_KEY);
	struct ipop_cert ov = make_cert(m, "other", 5, NOW - 10, NOW + 100, ca_sk);
	CHECK(ipop_trust_check(t, "m@x", m, &ov, NOW, &why) == -EPERM && why == (int)IPOP_CERT_REJ_WRONG_OVERLAY);
	CHECK(ipop_trust_check(t, "m@x", m, &c, NOW + 100, &why) == -EPERM && why == (int)IPOP_CERT_REJ_EXPIRED);
	/* A static peer's key, even certified, is not a member's. */
	CHECK(ipop_trust_check(t, "s@x", s, &cs, NOW, &why) == -EPERM && why == IPOP_TRUST_REJ_STATIC_KEY);
	/* Valid: the presence binds, and link stanzas with that key pass. */
	CHECK(ipop_trust_check(t, "m@x", m, &c, NOW, &why) == 0);
	CHECK(ipop_trust_check(t, "m@x", m, NULL, NOW, &why) == 0);
	CHECK(ipop_trust_check(t, "m@x", m2, NULL, NOW, &why) == -EPERM && why == (int)IPOP_CERT_REJ_MISSING);
	/* A certified key change needs no operator: the CA vouches for it. */
	CHECK(ipop_trust_check(t, "m@x", m2, &c2, NOW, &why) == 0);
	CHECK(ipop_trust_is_bound(t, "m@x", m2));
	CHECK(ipop_trust_check(t, "m@x", m, &c, NOW, &why) == 0);
	/* Another member cannot take a certified key. */
	CHECK(ipop_trust_check(t, "h@x", m, &c, NOW, &why) == -EPERM && why == IPOP_TRUST_REJ_KEY_OF_ANOTHER);

	/* Expiry: the binding goes at the tick after not_after. */
	ipop_trust_tick(t, NOW + 99);
	CHECK(lost.n == 0);
	ipop_trust_tick(t, NOW + 100);
	CHECK(lost.n == 1 && strcmp(lost.jid, "m@x") == 0 && strstr(lost.why, "expired") != NULL);
	CHECK(ipop_trust_stats(t)->certs_expired == 1);
	CHECK(ipop_trust_check(t, "m@x", m, NULL, NOW + 100, &why) == -EPERM);

	/* Revocation: a list file, reread; the revoked member goes and stays out. */
	CHECK(ipop_trust_check(t, "n@x", m2, &c2, NOW, &why) == 0);
	write_file(path, "# revoked\n\n 6 # m2\n123\n");
	CHECK(ipop_trust_load_revocations(t, path, err, sizeof(err)) == 0);
	CHECK(ipop_trust_revoked(t, 6) && ipop_trust_revoked(t, 123) && !ipop_trust_revoked(t, 5));
	ipop_trust_tick(t, NOW);
	CHECK(lost.n == 2 && strcmp(lost.jid, "n@x") == 0 && strstr(lost.why, "revoked") != NULL);
	CHECK(ipop_trust_check(t, "n@x", m2, &c2, NOW, &why) == -EPERM && why == (int)IPOP_CERT_REJ_REVOKED);
	CHECK(ipop_trust_stats(t)->certs_revoked == 1);
	write_file(path, "6\nseven\n");
	CHECK(ipop_trust_load_revocations(t, path, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, ":2:") != NULL);
	CHECK(ipop_trust_revoked(t, 123));   /* a bad file leaves the old list */
	write_file(path, "");
	CHECK(ipop_trust_load_revocations(t, path, err, sizeof(err)) == 0 && !ipop_trust_revoked(t, 6));
	CHECK(ipop_trust_load_revocations(t, "/nonexistent/ipop", err, sizeof(err)) == -ENOENT);
	unlink(path);
	ipop_trust_free(t);
}

static void b64_of(const struct ipop_cert *c, char out[IPOP_CERT_B64_MAX])
{
	CHECK(ipop_cert_to_base64(c, out) == 0);
}

/* Link stanzas that carry the sender's certificate (ipop_trust_check_link):
 * with a CA a request needs no presence seen first, is judged exactly as a
 * presence's certificate and binds the key; a failing one is refused with
 * its reason; without a certificate the presence's binding must vouch; and
 * without a CA a certificate changes nothing. */
static void test_link_certs(void)
{
	uint8_t own[32], m[32], m2[32], h[32];
	enum ipop_trust_reject why;
	char path[] = "/tmp/ipop-test-trust-XXXXXX", err[256];
	char good[IPOP_CERT_B64_MAX], good2[IPOP_CERT_B64_MAX], bad_sig[IPOP_CERT_B64_MAX];
	char expired[IPOP_CERT_B64_MAX], other_ov[IPOP_CERT_B64_MAX], future[IPOP_CERT_B64_MAX];
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	keypair(own);
	keypair(m);
	keypair(m2);
	keypair(h);
	struct ipop_cert c = make_cert(m, "lab", 11, NOW - 10, NOW + 1000, ca_sk);
	b64_of(&c, good);
	struct ipop_cert c2 = make_cert(m2, "lab", 12, NOW - 10, NOW + 1000, ca_sk);
	b64_of(&c2, good2);
	struct ipop_cert x = make_cert(m, "lab", 11, NOW - 10, NOW + 1000, other_sk);
	b64_of(&x, bad_sig);
	x = make_cert(m, "lab", 13, NOW - 100, NOW - 1, ca_sk);
	b64_of(&x, expired);
	x = make_cert(m, "other", 14, NOW - 10, NOW + 1000, ca_sk);
	b64_of(&x, other_ov);
	x = make_cert(m, "lab", 15, NOW + 50, NOW + 1000, ca_sk);
	b64_of(&x, future);

	struct ipop_trust *t = ipop_trust_new(own, "lab");
	ipop_trust_set_ca(t, ca_pk);
	/* Before any presence: no certificate is missing, a bad one says why. */
	CHECK(ipop_trust_check_link(t, "m@x", m, "", NOW, &why) == -EPERM &&
	      why == (int)IPOP_CERT_REJ_MISSING);
	CHECK(ipop_trust_check_link(t, "m@x", m, bad_sig, NOW, &why) == -EPERM &&
	      why == (int)IPOP_CERT_REJ_BAD_SIGNATURE);
	CHECK(ipop_trust_check_link(t, "m@x", m2, good, NOW, &why) == -EPERM &&
	      why == (int)IPOP_CERT_REJ_WRONG_KEY);   /* another key's certificate */
	CHECK(ipop_trust_check_link(t, "m@x", m, expired, NOW, &why) == -EPERM &&
	      why == (int)IPOP_CERT_REJ_EXPIRED);
	CHECK(ipop_trust_check_link(t, "m@x", m, other_ov, NOW, &why) == -EPERM &&
	      why == (int)IPOP_CERT_REJ_WRONG_OVERLAY);
	CHECK(ipop_trust_check_link(t, "m@x", m, future, NOW, &why) == -EPERM &&
	      why == (int)IPOP_CERT_REJ_NOT_YET_VALID);
	CHECK(ipop_trust_check_link(t, "m@x", m, "AAAA", NOW, &why) == -EPERM &&
	      why == (int)IPOP_CERT_REJ_BAD_ENCODING);
	CHECK(!ipop_trust_is_bound(t, "m@x", m));
	const struct ipop_trust_stats *st = ipop_trust_stats(t);
	CHECK(st->refused[IPOP_CERT_REJ_MISSING] == 1 && st->refused[IPOP_CERT_REJ_BAD_SIGNATURE] == 1 &&
	      st->refused[IPOP_CERT_REJ_WRONG_KEY] == 1 && st->refused[IPOP_CERT_REJ_EXPIRED] == 1 &&
	      st->refused[IPOP_CERT_REJ_WRONG_OVERLAY] == 1 &&
	      st->refused[IPOP_CERT_REJ_NOT_YET_VALID] == 1 &&
	      st->refused[IPOP_CERT_REJ_BAD_ENCODING] == 1 && st->accepted == 0);
	/* A good one: accepted and bound, certified, with no presence seen. */
	CHECK(ipop_trust_check_link(t, "m@x", m, good, NOW, &why) == 0);
	CHECK(ipop_trust_is_bound(t, "m@x", m) && st->accepted == 1 && st->bindings == 1);
	json_object *j = ipop_trust_json(t, NOW);
	json_object *b0 = json_object_array_get_idx(json_object_object_get(j, "bindings"), 0);
	CHECK(b0 != NULL && json_object_get_boolean(json_object_object_get(b0, "certified")) &&
	      json_object_get_int64(json_object_object_get(b0, "serial")) == 11);
	json_object_put(j);
	/* Its later stanzas need no certificate (the binding is certified);
	 * another key without one is still refused. */
	CHECK(ipop_trust_check_link(t, "m@x", m, "", NOW, &why) == 0);
	CHECK(ipop_trust_check_link(t, "m@x", m2, "", NOW, &why) == -EPERM &&
	      why == (int)IPOP_CERT_REJ_MISSING);
	/* Another member cannot take the key, certificate or not. */
	CHECK(ipop_trust_check_link(t, "h@x", m, good, NOW, &why) == -EPERM &&
	      why == IPOP_TRUST_REJ_KEY_OF_ANOTHER);
	/* A certified key change needs no operator, as in a presence. */
	CHECK(ipop_trust_check_link(t, "m@x", m2, good2, NOW, &why) == 0);
	CHECK(ipop_trust_is_bound(t, "m@x", m2) && !ipop_trust_is_bound(t, "m@x", m));
	/* Revoked: refused with the reason, in the stanza as in the binding. */
	write_file(path, "11\n");
	CHECK(ipop_trust_load_revocations(t, path, err, sizeof(err)) == 0);
	CHECK(ipop_trust_check_link(t, "n@x", m, good, NOW, &why) == -EPERM &&
	      why == (int)IPOP_CERT_REJ_REVOKED);
	CHECK(!ipop_trust_is_bound(t, "n@x", m) && st->refused[IPOP_CERT_REJ_REVOKED] == 1);
	/* Our own key is the presence table's to refuse, never a refusal here. */
	CHECK(ipop_trust_check_link(t, "o@x", own, "AAAA", NOW, &why) == 0);
	ipop_trust_free(t);

	/* Without a CA the certificate is not used: the binding rules decide
	 * (garbage passes, a valid certificate does not make a key change). */
	t = ipop_trust_new(own, "lab");
	CHECK(ipop_trust_check_link(t, "m@x", m, "AAAA", NOW, &why) == 0);
	CHECK(ipop_trust_check_link(t, "m@x", m2, good2, NOW, &why) == -EPERM &&
	      why == IPOP_TRUST_REJ_KEY_CHANGE);
	CHECK(ipop_trust_stats(t)->refused[IPOP_CERT_REJ_BAD_ENCODING] == 0);
	ipop_trust_free(t);
	unlink(path);
}

/* Write text to path. */
static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

static bool file_has(const char *path, const char *needle)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* signal.bindings_file: what a handshake proved or an operator accepted
 * survives a restart (a new trust object reading the file), so a member's
 * key cannot be taken by whoever announces it first after a restart; the
 * first-seen, unproven binding does not; a bad file is refused with its
 * line; an unwritable one fails at once. */
static void test_store(void)
{
	char dir[] = "/tmp/test_trust.XXXXXX", path[256], line[256], b64[IPOP_KEY_B64_LEN];
	char err[512], fp[IPOP_NODE_ID_HEX_LEN + 1];
	uint8_t own[32], a[32], a2[32], b[32], c[32], st[32];
	enum ipop_trust_reject why;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/bindings", dir);
	keypair(own);
	keypair(a);
	keypair(a2);
	keypair(b);
	keypair(c);
	keypair(st);

	/* first life: a proves its key, b only announces one, c's change is accepted */
	struct ipop_trust *t = ipop_trust_new(own, "lab");
	CHECK(ipop_trust_add_static(t, st) == 0);
	CHECK(ipop_trust_set_store(t, path, err, sizeof(err)) == 0);   /* no file yet: empty */
	CHECK(access(path, F_OK) == 0);                                  /* written back at once */
	CHECK(ipop_trust_check(t, "a@x", a, NULL, NOW, &why) == 0);
	ipop_trust_proven(t, "a@x", a);
	CHECK(ipop_trust_check(t, "b@x", b, NULL, NOW, &why) == 0);
	CHECK(ipop_trust_check(t, "c@x", c, NULL, NOW, &why) == 0);
	ipop_trust_proven(t, "c@x", c);
	CHECK(ipop_trust_check(t, "c@x", a2, NULL, NOW, &why) == -EPERM);
	ipop_node_id_format(ipop_node_id_of_key(a2), fp, sizeof(fp));
	CHECK(ipop_trust_accept(t, "c@x", fp) == 0);
	CHECK(ipop_trust_stats(t)->store_writes >= 4);
	ipop_key_to_base64(a, b64);
	snprintf(line, sizeof(line), "a@x %s proven", b64);
	CHECK(file_has(path, line));
	ipop_key_to_base64(a2, b64);
	snprintf(line, sizeof(line), "c@x %s accepted", b64);
	CHECK(file_has(path, line));
	CHECK(!file_has(path, "b@x"));
	ipop_trust_free(t);

	/* second life: the file holds a and c */
	t = ipop_trust_new(own, "lab");
	CHECK(ipop_trust_add_static(t, st) == 0);
	CHECK(ipop_trust_set_store(t, path, err, sizeof(err)) == 0);
	CHECK(ipop_trust_stats(t)->store_loaded == 2);
	CHECK(ipop_trust_check(t, "a@x", a2, NULL, NOW, &why) == -EPERM &&
	      why == IPOP_TRUST_REJ_KEY_CHANGE);                           /* no new first use */
	CHECK(ipop_trust_check(t, "a@x", a, NULL, NOW, &why) == 0);
	CHECK(ipop_trust_check(t, "z@x", a, NULL, NOW, &why) == -EPERM &&
	      why == IPOP_TRUST_REJ_KEY_OF_ANOTHER);                       /* still a's, proven */
	CHECK(ipop_trust_check(t, "c@x", a2, NULL, NOW, &why) == 0);       /* the accepted key */
	CHECK(ipop_trust_check(t, "b@x", c, NULL, NOW, &why) == 0);        /* b starts over */
	ipop_trust_proven(t, "c@x", a2);
	ipop_key_to_base64(a2, b64);
	snprintf(line, sizeof(line), "c@x %s proven", b64);
	CHECK(file_has(path, line));
	ipop_trust_free(t);

	/* bad files: the line and what is wrong */
	static const struct { const char *text, *msg; } bad[] = {
		{ "a@x\n", ":1: expected three fields" },
		{ "# c\n\nnot-a-jid KEY proven\n", ":3: not a bare JID" },
		{ "a@x/res KEY proven\n", ":1: not a bare JID" },
		{ "a@x short proven\n", ":1: not a public key" },
		{ "a@x %s maybe\n", ":1: the third field must be proven or accepted" },
		{ "a@x %s proven\nb@x %s proven\n", ":2: a second binding for this JID or this key" },
		{ "s@x %S proven\n", ":1: a static peer's key or this node's own key" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512], kb[IPOP_KEY_B64_LEN], sb[IPOP_KEY_B64_LEN];
		const char *s = bad[i].text;
		size_t o = 0;
		ipop_key_to_base64(a, kb);
		ipop_key_to_base64(st, sb);
		for (; *s && o < sizeof(text) - 64; s++) {
			if (s[0] == '%' && (s[1] == 's' || s[1] == 'S')) {
				o += (size_t)snprintf(text + o, sizeof(text) - o, "%s", s[1] == 's' ? kb : sb);
				s++;
			} else {
				text[o++] = *s;
			}
		}
		text[o] = '\0';
		put_file(path, text);
		t = ipop_trust_new(own, "lab");
		CHECK(ipop_trust_add_static(t, st) == 0);
		err[0] = '\0';
		CHECK(ipop_trust_set_store(t, path, err, sizeof(err)) < 0);
		CHECK(strstr(err, bad[i].msg) != NULL);
		if (strstr(err, bad[i].msg) == NULL)
			fprintf(stderr, "case %zu: %s\n", i, err);
		ipop_trust_free(t);
	}

	/* a directory that does not exist: refused at once */
	snprintf(line, sizeof(line), "%s/no/such/dir/bindings", dir);
	t = ipop_trust_new(own, "lab");
	CHECK(ipop_trust_set_store(t, line, err, sizeof(err)) < 0 && strstr(err, "No such file") != NULL);
	ipop_trust_free(t);

	unlink(path);
	rmdir(dir);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(ca_pk, ca_sk);
	crypto_sign_keypair(other_pk, other_sk);
	test_cert_codec();
	test_cert_check();
	test_binding_rules();
	test_ca_rules();
	test_link_certs();
	test_store();
	return check_report("trust");
}

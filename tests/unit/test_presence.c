/* test_presence.c - the node identity in presence (control/signal/presence.c): a
 * built presence parses back to the same node ID and key, the node ID is
 * BLAKE2b-128 of the key, every malformed variant is refused with its own reason
 * (never accepted, never half filled), and the identity table keeps one identity
 * to one member: a duplicate or our own is refused, the first holder keeps it,
 * and a refused member holds nothing. Thread: single. */
#include "control/config/identity.h"
#include "control/signal/presence.h"
#include "check.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

static xmpp_ctx_t *ctx;
static uint8_t pk[32];
static char key_b64[IPOP_KEY_B64_LEN], node_hex[IPOP_NODE_ID_HEX_LEN + 1];

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* Parse XML text; returns the result, *why and *out as the parser left them. */
static int try(const char *xml, struct ipop_member_ident *out, enum ipop_presence_reject *why)
{
	xmpp_stanza_t *s = xmpp_stanza_new_from_string(ctx, xml);
	int r;

	if (s == NULL)
		return -999;
	r = ipop_presence_parse(s, out, why);
	xmpp_stanza_release(s);
	return r;
}

/* The reason an <identity> with these attributes and inner text is refused
 * (IPOP_PRES_REJ_NONE if accepted); a refusal must leave nothing behind. */
static enum ipop_presence_reject with_attrs(const char *attrs, const char *inner)
{
	char xml[8192];
	struct ipop_member_ident out;
	enum ipop_presence_reject why = IPOP_PRES_REJ_NONE;

	if (inner != NULL)
		snprintf(xml, sizeof(xml), "<presence><identity xmlns='urn:ipop:node:1' %s>%s"
			 "</identity></presence>", attrs, inner);
	else
		snprintf(xml, sizeof(xml), "<presence><identity xmlns='urn:ipop:node:1' %s/>"
			 "</presence>", attrs);
	int r = try(xml, &out, &why);
	if (r == 0)
		return out.known ? IPOP_PRES_REJ_NONE : IPOP_PRES_REJ_MAX;
	if (r != -EBADMSG || out.known || !all_zero(&out, sizeof(out)))
		return IPOP_PRES_REJ_MAX;
	return why;
}

static enum ipop_presence_reject node_key(const char *node, const char *key)
{
	char attrs[4096];

	snprintf(attrs, sizeof(attrs), "node='%s' key='%s'", node, key);
	return with_attrs(attrs, NULL);
}

static void round_trip(void)
{
	struct ipop_node_id nid = ipop_node_id_of_key(pk);
	struct ipop_member_ident out;
	enum ipop_presence_reject why;
	char *text;
	size_t len;

	xmpp_stanza_t *s = ipop_presence_build(ctx, nid, pk, NULL);
	CHECK(s != NULL && xmpp_stanza_get_type(s) == NULL);   /* available */
	CHECK(xmpp_stanza_to_text(s, &text, &len) == XMPP_EOK);
	xmpp_stanza_release(s);
	CHECK(len < IPOP_PRESENCE_MAX);
	CHECK(strstr(text, "urn:ipop:node:1") != NULL && strstr(text, node_hex) != NULL &&
	      strstr(text, key_b64) != NULL);
	CHECK(try(text, &out, &why) == 0 && why == IPOP_PRES_REJ_NONE && out.known);
	CHECK(ipop_node_id_eq(out.node, nid) && memcmp(out.key, pk, 32) == 0);
	xmpp_free(ctx, text);

	/* Other elements beside ours (capabilities, a server's delay stamp) are fine. */
	char xml[1024];
	snprintf(xml, sizeof(xml), "<presence><c xmlns='http://jabber.org/protocol/caps' "
		 "node='x' ver='y' hash='sha-1'/><identity xmlns='urn:ipop:node:1' node='%s' "
		 "key='%s'/><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/>"
		 "<status>here</status></presence>", node_hex, key_b64);
	CHECK(try(xml, &out, &why) == 0 && out.known);

	/* An older node: no element in our namespace, an all-zero unknown identity. */
	memset(&out, 0xa5, sizeof(out));
	CHECK(try("<presence><status>hi</status></presence>", &out, &why) == -ENOENT);
	CHECK(!out.known && all_zero(&out, sizeof(out)) && why == IPOP_PRES_REJ_NONE);
	CHECK(try("<presence/>", &out, &why) == -ENOENT);
	/* Our element's name in another namespace is not ours either. */
	snprintf(xml, sizeof(xml), "<presence><identity xmlns='urn:other' node='%s' key='%s'/>"
		 "</presence>", node_hex, key_b64);
	CHECK(try(xml, &out, &why) == -ENOENT);
}

/* The node ID is the 16-byte BLAKE2b of the key, not a truncated 32-byte one. */
static void blake2b_128(void)
{
	uint8_t h16[16], h32[32], id[16];
	char hex[33];

	crypto_generichash(h16, 16, pk, 32, NULL, 0);
	crypto_generichash(h32, 32, pk, 32, NULL, 0);
	ipop_node_id_to_bytes(ipop_node_id_of_key(pk), id);
	CHECK(memcmp(h16, id, 16) == 0 && memcmp(h32, id, 16) != 0);
	sodium_bin2hex(hex, sizeof(hex), h16, 16);
	CHECK(strcmp(hex, node_hex) == 0);
	/* Published BLAKE2b-128 of the empty string with no key. */
	crypto_generichash(h16, 16, NULL, 0, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h16, 16);
	CHECK(strcmp(hex, "cae66941d9efbd404e4d88758ea67670") == 0);
}

static void refusals(void)
{
	uint8_t other[32], zero[32] = { 0 };
	char other_hex[33], zero_hex[33], zero_b64[IPOP_KEY_B64_LEN], upper[33];
	char attrs[512];

	crypto_box_keypair(other, (uint8_t[32]){ 0 });
	ipop_node_id_format(ipop_node_id_of_key(other), other_hex, sizeof(other_hex));
	ipop_node_id_format(ipop_node_id_of_key(zero), zero_hex, sizeof(zero_hex));
	ipop_key_to_base64(zero, zero_b64);
	for (int i = 0; i < 33; i++)
		upper[i] = (char)(node_hex[i] >= 'a' && node_hex[i] <= 'f' ? node_hex[i] - 32 :
				  node_hex[i]);

	CHECK(node_key(node_hex, key_b64) == IPOP_PRES_REJ_NONE);
	/* attributes: missing, unknown, empty */
	snprintf(attrs, sizeof(attrs), "node='%s'", node_hex);
	CHECK(with_attrs(attrs, NULL) == IPOP_PRES_REJ_BAD_ATTR);
	snprintf(attrs, sizeof(attrs), "key='%s'", key_b64);
	CHECK(with_attrs(attrs, NULL) == IPOP_PRES_REJ_BAD_ATTR);
	CHECK(with_attrs("", NULL) == IPOP_PRES_REJ_BAD_ATTR);
	snprintf(attrs, sizeof(attrs), "node='%s' key='%s' overlay='testnet'", node_hex, key_b64);
	CHECK(with_attrs(attrs, NULL) == IPOP_PRES_REJ_BAD_ATTR);
	snprintf(attrs, sizeof(attrs), "node='%s' key='%s' a='1' b='2' c='3' d='4' e='5' f='6' "
		 "g='7' h='8'", node_hex, key_b64);
	CHECK(with_attrs(attrs, NULL) == IPOP_PRES_REJ_BAD_ATTR);
	/* node */
	CHECK(node_key("", key_b64) == IPOP_PRES_REJ_BAD_NODE);
	CHECK(node_key("abc", key_b64) == IPOP_PRES_REJ_BAD_NODE);
	CHECK(node_key(upper, key_b64) == IPOP_PRES_REJ_BAD_NODE);
	CHECK(node_key("0123456789abcdef0123456789abcdeg", key_b64) == IPOP_PRES_REJ_BAD_NODE);
	CHECK(node_key("0123456789abcdef-0123456789abcdef", key_b64) == IPOP_PRES_REJ_BAD_NODE);
	/* key */
	CHECK(node_key(node_hex, "") == IPOP_PRES_REJ_BAD_KEY);
	CHECK(node_key(node_hex, "AAAA") == IPOP_PRES_REJ_BAD_KEY);
	CHECK(node_key(node_hex, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!=") == IPOP_PRES_REJ_BAD_KEY);
	CHECK(node_key(node_hex, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == IPOP_PRES_REJ_BAD_KEY);
	CHECK(node_key(node_hex, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") ==
	      IPOP_PRES_REJ_BAD_KEY);
	/* non-canonical padding bits: the same 32 bytes spelt another way */
	CHECK(node_key(zero_hex, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=") == IPOP_PRES_REJ_BAD_KEY);
	/* node and key disagree: another key's ID, or the ID of a key we do not send */
	CHECK(node_key(other_hex, key_b64) == IPOP_PRES_REJ_NODE_KEY_MISMATCH);
	CHECK(node_key("00000000000000000000000000000000", key_b64) ==
	      IPOP_PRES_REJ_NODE_KEY_MISMATCH);
	/* a small-order key with its own, matching hash */
	CHECK(node_key(zero_hex, zero_b64) == IPOP_PRES_REJ_WEAK_KEY);
	/* structure: a child, text, a wrong name, two elements */
	snprintf(attrs, sizeof(attrs), "node='%s' key='%s'", node_hex, key_b64);
	CHECK(with_attrs(attrs, "<x/>") == IPOP_PRES_REJ_BAD_STRUCTURE);
	CHECK(with_attrs(attrs, "text") == IPOP_PRES_REJ_BAD_STRUCTURE);
	char xml[4096];
	struct ipop_member_ident out;
	enum ipop_presence_reject why;
	snprintf(xml, sizeof(xml), "<presence><ident xmlns='urn:ipop:node:1' %s/></presence>", attrs);
	CHECK(try(xml, &out, &why) == -EBADMSG && why == IPOP_PRES_REJ_BAD_STRUCTURE && !out.known);
	snprintf(xml, sizeof(xml), "<presence><identity xmlns='urn:ipop:node:1' %s/>"
		 "<identity xmlns='urn:ipop:node:1' %s/></presence>", attrs, attrs);
	CHECK(try(xml, &out, &why) == -EBADMSG && why == IPOP_PRES_REJ_BAD_STRUCTURE && !out.known);
}

/* The size limit: the whole presence, and an oversized value inside ours. */
static void size_limit(void)
{
	static char pad[4096], xml[8192];
	struct ipop_member_ident out;
	enum ipop_presence_reject why;
	const char *fmt = "<presence><status>%s</status><identity xmlns='urn:ipop:node:1' "
			  "node='%s' key='%s'/></presence>";
	size_t base = strlen(fmt) - 6 + 32 + 44;   /* without the padding */

	memset(pad, 'a', IPOP_PRESENCE_MAX - base);   /* exactly at the limit */
	snprintf(xml, sizeof(xml), fmt, pad, node_hex, key_b64);
	CHECK(strlen(xml) == IPOP_PRESENCE_MAX);
	CHECK(try(xml, &out, &why) == 0 && out.known);
	pad[IPOP_PRESENCE_MAX - base] = 'a';   /* one byte over */
	snprintf(xml, sizeof(xml), fmt, pad, node_hex, key_b64);
	CHECK(try(xml, &out, &why) == -EBADMSG && why == IPOP_PRES_REJ_TOO_BIG && !out.known);
	memset(pad, 'b', 3000);
	snprintf(xml, sizeof(xml), "<presence><identity xmlns='urn:ipop:node:1' node='%s' key='%s' "
		 "x='%s'/></presence>", node_hex, key_b64, pad);
	CHECK(try(xml, &out, &why) == -EBADMSG && why == IPOP_PRES_REJ_TOO_BIG);
}

static struct ipop_member_ident ident_of(const uint8_t key[32])
{
	struct ipop_member_ident id = { .known = true };

	memcpy(id.key, key, 32);
	id.node = ipop_node_id_of_key(key);
	return id;
}

static void table(void)
{
	uint8_t own[32], k1[32], k2[32], sk[32];
	enum ipop_presence_reject why;

	crypto_box_keypair(own, sk);
	crypto_box_keypair(k1, sk);
	crypto_box_keypair(k2, sk);
	struct ipop_member_ident a = ident_of(k1), b = ident_of(k2), mine = ident_of(own);
	struct ipop_idents *t = ipop_idents_new(own);
	CHECK(t != NULL);

	CHECK(ipop_idents_get(t, "a@x") == NULL);
	CHECK(ipop_idents_claim(t, "a@x", &a, &why) == 0 && why == IPOP_PRES_REJ_NONE);
	CHECK(ipop_idents_get(t, "a@x") != NULL &&
	      ipop_node_id_eq(ipop_idents_get(t, "a@x")->node, a.node));
	/* The same member announcing it again keeps it. */
	CHECK(ipop_idents_claim(t, "a@x", &a, &why) == 0);
	/* Another member claiming it is refused; the first keeps it. */
	CHECK(ipop_idents_claim(t, "evil@x", &a, &why) == -EEXIST && why == IPOP_PRES_REJ_DUPLICATE);
	CHECK(ipop_idents_get(t, "evil@x") == NULL);
	CHECK(ipop_node_id_eq(ipop_idents_get(t, "a@x")->node, a.node));
	/* The same key under another node ID (only possible past the parser) is
	 * still a duplicate, and so is the same node ID with another key. */
	struct ipop_member_ident bent = a;
	bent.node = b.node;
	CHECK(ipop_idents_claim(t, "evil@x", &bent, &why) == -EEXIST && why == IPOP_PRES_REJ_DUPLICATE);
	bent = b;
	bent.node = a.node;
	CHECK(ipop_idents_claim(t, "evil@x", &bent, &why) == -EEXIST && why == IPOP_PRES_REJ_DUPLICATE);
	/* Our own identity, from anyone. */
	CHECK(ipop_idents_claim(t, "evil@x", &mine, &why) == -EEXIST && why == IPOP_PRES_REJ_OWN_NODE);
	/* A member that held one and is refused for another holds nothing. */
	CHECK(ipop_idents_claim(t, "b@x", &b, &why) == 0);
	CHECK(ipop_idents_claim(t, "b@x", &a, &why) == -EEXIST && why == IPOP_PRES_REJ_DUPLICATE);
	CHECK(ipop_idents_get(t, "b@x") == NULL);
	/* ... so its old one is free for others; a new identity replaces the old. */
	CHECK(ipop_idents_claim(t, "c@x", &b, &why) == 0);
	CHECK(ipop_idents_claim(t, "c@x", &mine, &why) == -EEXIST && ipop_idents_get(t, "c@x") == NULL);
	CHECK(ipop_idents_claim(t, "c@x", &b, &why) == 0);
	CHECK(ipop_idents_claim(t, "a@x", &b, &why) == -EEXIST && ipop_idents_get(t, "a@x") == NULL);
	CHECK(ipop_idents_claim(t, "c@x", &a, &why) == 0);   /* c moves from b to a */
	CHECK(ipop_idents_claim(t, "b@x", &b, &why) == 0);   /* b is free again */
	/* Released (offline): the ID is free. */
	ipop_idents_release(t, "c@x");
	ipop_idents_release(t, "nobody@x");
	CHECK(ipop_idents_get(t, "c@x") == NULL);
	CHECK(ipop_idents_claim(t, "a@x", &a, &why) == 0);
	/* An unknown identity is nothing to claim. */
	struct ipop_member_ident none = { .known = false };
	CHECK(ipop_idents_claim(t, "d@x", &none, &why) == -EINVAL);
	/* A new login: nobody holds anything. */
	ipop_idents_clear(t);
	CHECK(ipop_idents_get(t, "a@x") == NULL && ipop_idents_get(t, "b@x") == NULL);
	CHECK(ipop_idents_claim(t, "evil@x", &a, &why) == 0);
	ipop_idents_free(t);
	ipop_idents_free(NULL);
}

int main(void)
{
	uint8_t sk[32];

	if (sodium_init() < 0)
		return 1;
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
	crypto_box_keypair(pk, sk);
	ipop_node_id_format(ipop_node_id_of_key(pk), node_hex, sizeof(node_hex));
	ipop_key_to_base64(pk, key_b64);

	round_trip();
	blake2b_128();
	refusals();
	size_limit();
	table();
	for (int r = 0; r < IPOP_PRES_REJ_MAX; r++)
		CHECK(strcmp(ipop_presence_reject_name((enum ipop_presence_reject)r), "?") != 0);
	CHECK(strcmp(ipop_presence_reject_name(IPOP_PRES_REJ_MAX), "?") == 0);
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	return check_report("presence");
}

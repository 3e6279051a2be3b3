/* test_signal_codec.c - the link negotiation stanza (control/signal/linkmsg.c): a built
 * message parses back to the same fields, the node ID is BLAKE2b-128 of the key,
 * and every malformed variant is refused with its own reason, never accepted.
 * Also the signal { } configuration group (control/config/config.c): defaults, every
 * refusal with its line, and configs/signalling.conf.example (argv[1]). */
#include "control/config/cert.h"
#include "control/config/config.h"
#include "control/config/identity.h"
#include "control/signal/linkmsg.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

static xmpp_ctx_t *ctx;
static char key_b64[48], node_hex[40], other_hex[40];

/* Parse XML text; returns the parse result and the reason. */
static int try(const char *xml, struct ipop_link_msg *m, enum ipop_linkmsg_reject *why)
{
	xmpp_stanza_t *s = xmpp_stanza_new_from_string(ctx, xml);
	int r;

	if (s == NULL)
		return -999;
	r = ipop_linkmsg_parse(s, "testnet", m, why);
	xmpp_stanza_release(s);
	return r;
}

/* A request whose attribute ATTR is replaced by VALUE (NULL: left out); EXTRA is
 * appended inside the tag. */
static enum ipop_linkmsg_reject variant(const char *attr, const char *value, const char *extra)
{
	const char *names[] = { "op", "overlay", "node", "key", "ip", "port", "type" };
	const char *vals[] = { "request", "testnet", node_hex, key_b64, "10.1.2.3", "5800", "long" };
	char xml[4096];
	size_t n = 0;
	struct ipop_link_msg m;
	enum ipop_linkmsg_reject why = IPOP_REJ_NONE;

	n += (size_t)snprintf(xml + n, sizeof(xml) - n,
			      "<message type='normal'><link xmlns='urn:ipop:link:1'");
	for (int i = 0; i < 7; i++) {
		const char *v = vals[i];
		if (attr && strcmp(attr, names[i]) == 0)
			v = value;
		if (v)
			n += (size_t)snprintf(xml + n, sizeof(xml) - n, " %s='%s'", names[i], v);
	}
	snprintf(xml + n, sizeof(xml) - n, "%s/></message>", extra ? extra : "");
	int r = try(xml, &m, &why);
	if (r == 0)
		return IPOP_REJ_NONE;
	return r == -EBADMSG ? why : IPOP_REJ_MAX;
}

static struct ipop_cfg cfg;   /* large: off the stack */

#define BASE "node = { overlay = \"lab\"; key_file = \"/k\"; };\n" \
	     "wan = { device = \"net_null0\"; address = \"10.1.0.2/24\"; };\n"

/* Load BASE + line 3 TEXT; returns the result, err holds the message. */
static int cfg_try(const char *text, char *err, size_t len)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), BASE "%s\n", text);
	err[0] = '\0';
	int r = ipop_cfg_load_string(&cfg, buf, "t.conf", err, len);
	ipop_cfg_free(&cfg);
	return r;
}

static bool cfg_refused(const char *text, const char *needle)
{
	char err[512];
	bool ok = cfg_try(text, err, sizeof(err)) != 0 && strstr(err, "t.conf:3") != NULL &&
		  strstr(err, needle) != NULL;

	if (!ok)
		fprintf(stderr, "config case '%s': got '%s'\n", text, err);
	return ok;
}

static void config_checks(const char *example)
{
	char err[512];

	/* Defaults; server defaults to the JID's domain; no peers needed. */
	CHECK(cfg_try("signal = { jid = \"gw1@example.org\"; password = \"pw\"; };", err,
		      sizeof(err)) == 0);
	CHECK(ipop_cfg_load_string(&cfg, BASE "signal = { jid = \"gw1@example.org/r\"; "
				   "password = \"pw\"; };\n", "t.conf", err, sizeof(err)) == 0);
	CHECK(cfg.signal_enabled && cfg.sig_tls && !cfg.sig_tls_trust && cfg.sig_port == 5222);
	CHECK(strcmp(cfg.sig_server, "example.org") == 0 && cfg.n_peers == 0);
	CHECK(cfg.sig_offline_grace_s == 10 && cfg.sig_link_timeout_s == 20);
	ipop_cfg_free(&cfg);
	CHECK(ipop_cfg_load_string(&cfg, BASE, "t.conf", err, sizeof(err)) == 0 && !cfg.signal_enabled);
	ipop_cfg_free(&cfg);
	CHECK(ipop_cfg_load_string(&cfg, BASE "signal = { jid = \"a@b\"; password = \"p\"; "
				   "server = \"10.9.0.2\"; port = 5223; tls = true; tls_trust = true; "
				   "offline_grace = 0; link_timeout = 2; };\n", "t.conf", err,
				   sizeof(err)) == 0);
	CHECK(strcmp(cfg.sig_server, "10.9.0.2") == 0 && cfg.sig_port == 5223 && cfg.sig_tls_trust);
	CHECK(cfg.sig_offline_grace_s == 0 && cfg.sig_link_timeout_s == 2);
	ipop_cfg_free(&cfg);

	CHECK(cfg_refused("signal = { jid = \"a@b\"; password = \"p\"; passwd = \"x\"; };",
			  "unknown setting"));
	CHECK(cfg_refused("signal = { password = \"p\"; };", "jid"));
	CHECK(cfg_refused("signal = { jid = \"a@b\"; };", "password"));
	CHECK(cfg_refused("signal = { jid = \"nodomain\"; password = \"p\"; };", "user@domain"));
	CHECK(cfg_refused("signal = { jid = \"a@b c\"; password = \"p\"; };", "user@domain"));
	CHECK(cfg_refused("signal = { jid = \"@b\"; password = \"p\"; };", "user@domain"));
	CHECK(cfg_refused("signal = { jid = \"a@b/\"; password = \"p\"; };", "user@domain"));
	CHECK(cfg_refused("signal = { jid = \"a@b\"; password = \"\"; };", "empty"));
	CHECK(cfg_refused("signal = { jid = \"a@b\"; password = \"p\"; port = 0; };", "between"));
	CHECK(cfg_refused("signal = { jid = \"a@b\"; password = \"p\"; tls = 1; };", "true or false"));
	CHECK(cfg_refused("signal = { jid = \"a@b\"; password = \"p\"; tls = false; "
			  "tls_trust = true; };", "no meaning"));
	CHECK(cfg_refused("signal = { jid = \"a@b\"; password = \"p\"; link_timeout = 1; };",
			  "between"));
	CHECK(cfg_refused("signal = { jid = \"a@b\"; password = \"p\"; server = \"a b\"; };",
			  "address or a host"));
	CHECK(cfg_refused("signal = 5;", "group"));
	if (example != NULL) {
		int r = ipop_cfg_load(&cfg, example, err, sizeof(err));
		if (r != 0)
			fprintf(stderr, "%s\n", err);
		CHECK(r == 0 && cfg.signal_enabled && cfg.n_peers == 0);
		CHECK(strcmp(cfg.sig_jid, "gw1@example.org") == 0 && cfg.sig_tls && !cfg.sig_tls_trust);
		ipop_cfg_free(&cfg);
	}
}

/* The certificate attribute of a request or reply: the largest certificate
 * (a 63-character overlay name) round-trips beside ICE credentials and stays
 * well under the size limit; the codec bounds it and keeps to base64's
 * alphabet (bad_cert), and refuses it on every other op (bad_attribute).
 * Whether it decodes and vouches for the key is trust's (test_trust.c). */
static void cert_attribute(const uint8_t pk[32], struct ipop_node_id nid)
{
	uint8_t ca_pk[32], ca_sk[64];
	struct ipop_cert c = { .serial = 7, .not_before = 1, .not_after = 2 };
	struct ipop_link_msg m, out;
	enum ipop_linkmsg_reject why;
	char b64[IPOP_CERT_B64_MAX], attr[IPOP_CERT_B64_MAX + 32], x[2048], jid[300];
	char *text;
	size_t len;

	crypto_sign_keypair(ca_pk, ca_sk);
	memcpy(c.key, pk, 32);
	c.node = nid;
	memset(c.overlay, 'o', IPOP_CERT_OVERLAY_MAX);
	CHECK(ipop_cert_sign(&c, ca_sk) == 0 && ipop_cert_to_base64(&c, b64) == 0);
	CHECK(strlen(b64) == IPOP_CERT_B64_MAX - 1);
	memset(&m, 0, sizeof(m));
	m.op = IPOP_LINK_REQUEST;
	m.type = IPOP_LINK_SUCC;
	memcpy(m.key, pk, 32);
	m.node = nid;
	inet_pton(AF_INET, "10.91.1.2", &m.ip);
	m.port = 5800;
	memset(m.ufrag, 'u', IPOP_LINK_UFRAG_LEN - 1);
	memset(m.pwd, 'p', IPOP_LINK_PWD_LEN - 1);
	m.ice_restart = true;
	memcpy(m.cert, b64, sizeof(b64));
	memset(jid, 'j', sizeof(jid) - 1);
	jid[sizeof(jid) - 1] = '\0';
	jid[20] = '@';
	jid[120] = '/';
	xmpp_stanza_t *s = ipop_linkmsg_build(ctx, jid, "testnet", &m);
	CHECK(s != NULL && xmpp_stanza_to_text(s, &text, &len) == XMPP_EOK);
	xmpp_stanza_release(s);
	CHECK(len < IPOP_LINKMSG_MAX - 700);   /* room for a long sender JID */
	CHECK(try(text, &out, &why) == 0 && strcmp(out.cert, b64) == 0 && out.ice_restart);
	struct ipop_cert back;
	CHECK(ipop_cert_from_base64(out.cert, &back) == 0 && back.serial == 7 &&
	      memcmp(back.key, pk, 32) == 0);
	xmpp_free(ctx, text);
	/* A reply too; close, refuse and candidate never carry one. */
	m.op = IPOP_LINK_REPLY;
	m.ice_restart = false;
	s = ipop_linkmsg_build(ctx, "x@y", "testnet", &m);
	xmpp_stanza_to_text(s, &text, &len);
	xmpp_stanza_release(s);
	CHECK(try(text, &out, &why) == 0 && strcmp(out.cert, b64) == 0);
	xmpp_free(ctx, text);
	m.op = IPOP_LINK_CLOSE;
	s = ipop_linkmsg_build(ctx, "x@y", "testnet", &m);
	xmpp_stanza_to_text(s, &text, &len);
	xmpp_stanza_release(s);
	CHECK(try(text, &out, &why) == 0 && strstr(text, "cert=") == NULL);
	xmpp_free(ctx, text);
	const char *others[] = { "op='close'", "op='refuse' reason='no'",
				 "op='candidate' ufrag='abcd' cand='candidate:1 1 UDP 1 10.0.0.1 5 typ host'" };
	for (unsigned i = 0; i < 3; i++) {
		snprintf(x, sizeof(x), "<message><link xmlns='urn:ipop:link:1' %s overlay='testnet' "
			 "node='%s' cert='%s'/></message>", others[i], node_hex, b64);
		CHECK(try(x, &out, &why) == -EBADMSG && why == IPOP_REJ_BAD_ATTR);
	}
	/* Bounds and alphabet. A certificate that is base64 but not one (bad
	 * padding, wrong length) passes the codec: trust says bad_encoding. */
	snprintf(attr, sizeof(attr), " cert='%s'", b64);
	CHECK(variant(NULL, NULL, attr) == IPOP_REJ_NONE);
	snprintf(attr, sizeof(attr), " cert='%sA'", b64);
	CHECK(variant(NULL, NULL, attr) == IPOP_REJ_BAD_CERT);   /* 273 characters */
	CHECK(variant(NULL, NULL, " cert=''") == IPOP_REJ_BAD_CERT);
	CHECK(variant(NULL, NULL, " cert='AAAA AAAA'") == IPOP_REJ_BAD_CERT);
	CHECK(variant(NULL, NULL, " cert='AAA!'") == IPOP_REJ_BAD_CERT);
	CHECK(variant(NULL, NULL, " cert='AAAA'") == IPOP_REJ_NONE);
	CHECK(variant("op", "reply", " cert='AAAA'") == IPOP_REJ_NONE);
	/* A huge one: the stanza's size limit refuses it before anything. */
	{
		static char huge[3000];
		memset(huge, 'A', sizeof(huge) - 1);
		memcpy(huge, " cert='", 7);
		huge[sizeof(huge) - 2] = '\'';
		CHECK(variant(NULL, NULL, huge) == IPOP_REJ_TOO_BIG);
	}
}

int main(int argc, char **argv)
{
	uint8_t pk[32], sk[32], id[16], other_pk[32], other_id[16];
	struct ipop_node_id nid;
	struct ipop_link_msg m, out;
	enum ipop_linkmsg_reject why;
	char *text;
	size_t len;

	if (sodium_init() < 0)
		return 1;
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
	crypto_box_keypair(pk, sk);
	crypto_box_keypair(other_pk, sk);
	nid = ipop_node_id_of_key(pk);
	ipop_node_id_to_bytes(nid, id);
	ipop_node_id_to_bytes(ipop_node_id_of_key(other_pk), other_id);
	sodium_bin2hex(node_hex, sizeof(node_hex), id, 16);
	sodium_bin2hex(other_hex, sizeof(other_hex), other_id, 16);
	/* The ring's own text form is the same 32 lowercase digits. */
	char ring_hex[IPOP_NODE_ID_HEX_LEN + 1];
	CHECK(ipop_node_id_format(nid, ring_hex, sizeof(ring_hex)) == 0 &&
	      strcmp(ring_hex, node_hex) == 0);
	sodium_bin2base64(key_b64, sizeof(key_b64), pk, 32, sodium_base64_VARIANT_ORIGINAL);

	/* The node ID is the 16-byte BLAKE2b of the key (not a truncated 32-byte one). */
	uint8_t h32[32];
	crypto_generichash(h32, 32, pk, 32, NULL, 0);
	CHECK(memcmp(h32, id, 16) != 0);
	CHECK(strlen(node_hex) == 32);
	/* Published BLAKE2b-128 of the empty string with no key. */
	uint8_t e[16];
	char ehex[33];
	crypto_generichash(e, 16, NULL, 0, NULL, 0);
	sodium_bin2hex(ehex, sizeof(ehex), e, 16);
	CHECK(strcmp(ehex, "cae66941d9efbd404e4d88758ea67670") == 0);

	/* Round trip. */
	memset(&m, 0, sizeof(m));
	m.op = IPOP_LINK_REPLY;
	memcpy(m.key, pk, 32);
	m.node = nid;
	inet_pton(AF_INET, "10.91.1.2", &m.ip);
	m.port = 5800;
	xmpp_stanza_t *s = ipop_linkmsg_build(ctx, "gw2@example.org/r", "testnet", &m);
	CHECK(s != NULL);
	CHECK(xmpp_stanza_to_text(s, &text, &len) == XMPP_EOK);
	CHECK(len < IPOP_LINKMSG_MAX);
	xmpp_stanza_release(s);
	CHECK(try(text, &out, &why) == 0);
	xmpp_free(ctx, text);
	CHECK(out.op == IPOP_LINK_REPLY && out.port == 5800 && out.ip == m.ip);
	CHECK(memcmp(out.key, pk, 32) == 0 && ipop_node_id_eq(out.node, nid));
	/* The same message for another overlay is refused. */
	s = ipop_linkmsg_build(ctx, "x@y", "othernet", &m);
	xmpp_stanza_to_text(s, &text, &len);
	xmpp_stanza_release(s);
	CHECK(try(text, &out, &why) == -EBADMSG && why == IPOP_REJ_BAD_OVERLAY);
	xmpp_free(ctx, text);
	/* close carries only op, overlay, node. */
	m.op = IPOP_LINK_CLOSE;
	s = ipop_linkmsg_build(ctx, "x@y", "testnet", &m);
	xmpp_stanza_to_text(s, &text, &len);
	xmpp_stanza_release(s);
	CHECK(try(text, &out, &why) == 0 && out.op == IPOP_LINK_CLOSE);
	CHECK(strstr(text, "key=") == NULL);
	xmpp_free(ctx, text);
	/* A request carries its type, a refusal its reason; both round-trip. */
	m.op = IPOP_LINK_REQUEST;
	m.type = IPOP_LINK_LONG;
	s = ipop_linkmsg_build(ctx, "x@y", "testnet", &m);
	xmpp_stanza_to_text(s, &text, &len);
	xmpp_stanza_release(s);
	CHECK(try(text, &out, &why) == 0 && out.op == IPOP_LINK_REQUEST && out.type == IPOP_LINK_LONG);
	CHECK(strstr(text, "type='long'") != NULL || strstr(text, "type=\"long\"") != NULL);
	xmpp_free(ctx, text);
	m.op = IPOP_LINK_REFUSE;
	snprintf(m.reason, sizeof(m.reason), "incoming long links at their cap of 8");
	s = ipop_linkmsg_build(ctx, "x@y", "testnet", &m);
	xmpp_stanza_to_text(s, &text, &len);
	xmpp_stanza_release(s);
	CHECK(try(text, &out, &why) == 0 && out.op == IPOP_LINK_REFUSE &&
	      strcmp(out.reason, m.reason) == 0 && strstr(text, "key=") == NULL);
	xmpp_free(ctx, text);

	/* Not ours: no element in our namespace. */
	CHECK(try("<message type='chat'><body>hi</body></message>", &out, &why) == -ENOENT);

	CHECK(variant(NULL, NULL, NULL) == IPOP_REJ_NONE);
	CHECK(variant("op", "hello", NULL) == IPOP_REJ_BAD_OP);
	CHECK(variant("op", "", NULL) == IPOP_REJ_BAD_OP);
	CHECK(variant("op", NULL, NULL) == IPOP_REJ_BAD_ATTR);
	CHECK(variant("overlay", "other", NULL) == IPOP_REJ_BAD_OVERLAY);
	CHECK(variant("overlay", NULL, NULL) == IPOP_REJ_BAD_ATTR);
	CHECK(variant("node", NULL, NULL) == IPOP_REJ_BAD_ATTR);
	CHECK(variant("node", "abc", NULL) == IPOP_REJ_BAD_NODE);
	CHECK(variant("node", "0123456789ABCDEF0123456789ABCDEF", NULL) == IPOP_REJ_BAD_NODE);
	CHECK(variant("node", "0123456789abcdef0123456789abcdeg", NULL) == IPOP_REJ_BAD_NODE);
	CHECK(variant("node", other_hex, NULL) == IPOP_REJ_NODE_KEY_MISMATCH);
	CHECK(variant("key", NULL, NULL) == IPOP_REJ_BAD_ATTR);
	CHECK(variant("key", "AAAA", NULL) == IPOP_REJ_BAD_KEY);
	CHECK(variant("key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!", NULL) == IPOP_REJ_BAD_KEY);
	CHECK(variant("key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL) == IPOP_REJ_BAD_KEY);
	CHECK(variant("ip", "256.1.1.1", NULL) == IPOP_REJ_BAD_IP);
	CHECK(variant("ip", "10.1.2", NULL) == IPOP_REJ_BAD_IP);
	CHECK(variant("ip", "127.0.0.1", NULL) == IPOP_REJ_BAD_IP);
	CHECK(variant("ip", "224.0.0.1", NULL) == IPOP_REJ_BAD_IP);
	CHECK(variant("ip", "0.1.2.3", NULL) == IPOP_REJ_BAD_IP);
	CHECK(variant("ip", "010.1.2.3", NULL) == IPOP_REJ_BAD_IP);
	CHECK(variant("ip", NULL, NULL) == IPOP_REJ_BAD_ATTR);
	CHECK(variant("port", "0", NULL) == IPOP_REJ_BAD_PORT);
	CHECK(variant("port", "65536", NULL) == IPOP_REJ_BAD_PORT);
	CHECK(variant("port", "0580", NULL) == IPOP_REJ_BAD_PORT);
	CHECK(variant("port", "58x", NULL) == IPOP_REJ_BAD_PORT);
	CHECK(variant("port", "-1", NULL) == IPOP_REJ_BAD_PORT);
	CHECK(variant("port", "65535", NULL) == IPOP_REJ_NONE);
	CHECK(variant(NULL, NULL, " extra='1'") == IPOP_REJ_BAD_ATTR);
	/* type: required in a request, a known name, never "none" there. */
	CHECK(variant("type", NULL, NULL) == IPOP_REJ_BAD_ATTR);
	CHECK(variant("type", "none", NULL) == IPOP_REJ_BAD_TYPE);
	CHECK(variant("type", "sideways", NULL) == IPOP_REJ_BAD_TYPE);
	CHECK(variant("type", "Long", NULL) == IPOP_REJ_BAD_TYPE);
	CHECK(variant("type", "successor", NULL) == IPOP_REJ_NONE);
	CHECK(variant("type", "static", NULL) == IPOP_REJ_NONE);
	CHECK(variant("type", "ondemand", NULL) == IPOP_REJ_NONE);
	CHECK(variant(NULL, NULL, " reason='x'") == IPOP_REJ_BAD_ATTR);   /* refuse only */
	/* A reply may say "none": the replier does not want the link itself. */
	CHECK(variant("op", "reply", " ") == IPOP_REJ_NONE);
	{
		char x[1024];
		snprintf(x, sizeof(x), "<message><link xmlns='urn:ipop:link:1' op='reply' "
			 "overlay='testnet' node='%s' key='%s' ip='10.1.2.3' port='5800' "
			 "type='none'/></message>", node_hex, key_b64);
		CHECK(try(x, &out, &why) == 0 && out.op == IPOP_LINK_REPLY &&
		      out.type == IPOP_LINK_NONE);
	}
	/* refuse: op, overlay, node and a printable reason; nothing else. */
	{
		char x[1024], long_reason[80];
		const char *tail[] = { "reason='at the cap'", "", "reason=''", "reason='a&#10;b'",
				       "reason='at the cap' type='long'",
				       "reason='at the cap' key='AAAA'", long_reason };
		const int expect[] = { IPOP_REJ_NONE, IPOP_REJ_BAD_ATTR, IPOP_REJ_BAD_REASON,
				       IPOP_REJ_BAD_REASON, IPOP_REJ_BAD_ATTR, IPOP_REJ_BAD_ATTR,
				       IPOP_REJ_BAD_REASON };
		memset(long_reason, 0, sizeof(long_reason));
		memcpy(long_reason, "reason='", 8);
		memset(long_reason + 8, 'r', IPOP_LINK_REASON_LEN);
		long_reason[8 + IPOP_LINK_REASON_LEN] = '\'';
		for (unsigned i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
			snprintf(x, sizeof(x), "<message><link xmlns='urn:ipop:link:1' op='refuse' "
				 "overlay='testnet' node='%s' %s/></message>", node_hex, tail[i]);
			int r = try(x, &out, &why);
			CHECK(expect[i] == IPOP_REJ_NONE ? r == 0 : (r == -EBADMSG && (int)why == expect[i]));
		}
		snprintf(x, sizeof(x), "<message><link xmlns='urn:ipop:link:1' op='refuse' "
			 "overlay='testnet' node='%s' %s/></message>", node_hex, tail[0]);
		CHECK(try(x, &out, &why) == 0 && out.op == IPOP_LINK_REFUSE &&
		      strcmp(out.reason, "at the cap") == 0);
	}

	/* ICE: credentials in a request or reply (both or neither, ice-chars,
	 * 4-32 and 22-63 of them) and the candidate op round-trip; a candidate
	 * is one UDP IPv4 component-1 SDP value, nothing else. */
	memset(&m, 0, sizeof(m));
	m.op = IPOP_LINK_REQUEST;
	m.type = IPOP_LINK_SUCC;
	memcpy(m.key, pk, 32);
	m.node = nid;
	inet_pton(AF_INET, "10.91.1.2", &m.ip);
	m.port = 5800;
	snprintf(m.ufrag, sizeof(m.ufrag), "wX3+");
	snprintf(m.pwd, sizeof(m.pwd), "abcdefghijklmnopqrstu/");
	s = ipop_linkmsg_build(ctx, "x@y", "testnet", &m);
	xmpp_stanza_to_text(s, &text, &len);
	xmpp_stanza_release(s);
	CHECK(try(text, &out, &why) == 0 && strcmp(out.ufrag, m.ufrag) == 0 &&
	      strcmp(out.pwd, m.pwd) == 0 && out.cand[0] == '\0');
	xmpp_free(ctx, text);
	CHECK(variant(NULL, NULL, " ufrag='abcd' pwd='abcdefghijklmnopqrstuv'") == IPOP_REJ_NONE);
	CHECK(variant("op", "reply", " ufrag='abcd' pwd='abcdefghijklmnopqrstuv'") == IPOP_REJ_NONE);
	CHECK(variant(NULL, NULL, " ufrag='abcd'") == IPOP_REJ_BAD_ICE_CREDENTIALS);
	CHECK(variant(NULL, NULL, " pwd='abcdefghijklmnopqrstuv'") == IPOP_REJ_BAD_ICE_CREDENTIALS);
	CHECK(variant(NULL, NULL, " ufrag='abc' pwd='abcdefghijklmnopqrstuv'") ==
	      IPOP_REJ_BAD_ICE_CREDENTIALS);
	CHECK(variant(NULL, NULL, " ufrag='ab-d' pwd='abcdefghijklmnopqrstuv'") ==
	      IPOP_REJ_BAD_ICE_CREDENTIALS);
	CHECK(variant(NULL, NULL, " ufrag='abcd' pwd='short'") == IPOP_REJ_BAD_ICE_CREDENTIALS);
	CHECK(variant(NULL, NULL, " ufrag='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' "
		      "pwd='abcdefghijklmnopqrstuv'") == IPOP_REJ_BAD_ICE_CREDENTIALS);
	CHECK(variant(NULL, NULL, " cand='candidate:1 1 UDP 1 10.0.0.1 5 typ host'") ==
	      IPOP_REJ_BAD_ATTR);   /* candidate op only */
	memset(&m, 0, sizeof(m));
	m.op = IPOP_LINK_CANDIDATE;
	m.node = nid;
	snprintf(m.ufrag, sizeof(m.ufrag), "wX3+");
	snprintf(m.cand, sizeof(m.cand), "candidate:2 1 UDP 1677721855 203.0.113.7 40001 typ srflx "
		 "raddr 10.0.0.2 rport 5801");
	s = ipop_linkmsg_build(ctx, "x@y", "testnet", &m);
	xmpp_stanza_to_text(s, &text, &len);
	xmpp_stanza_release(s);
	CHECK(try(text, &out, &why) == 0 && out.op == IPOP_LINK_CANDIDATE &&
	      strcmp(out.cand, m.cand) == 0 && strcmp(out.ufrag, "wX3+") == 0);
	CHECK(strstr(text, "key=") == NULL && strstr(text, "pwd=") == NULL);
	xmpp_free(ctx, text);
	{
		char x[1024], long_cand[320];
		snprintf(long_cand, sizeof(long_cand), "candidate:1 1 UDP 1 10.0.0.1 5801 typ host%0260d", 0);
		const char *cands[] = {
			"candidate:1 1 UDP 2013266431 10.0.0.2 5801 typ host",
			"candidate:Ab+/ 1 udp 2013266431 10.0.0.2 5801 typ host",
			"candidate:3 1 UDP 16777215 198.51.100.9 50000 typ relay raddr 0.0.0.0 rport 0",
			/* refused: */
			/* prflx: learnt in the checks; libnice ignores a signalled one */
			"candidate:4 1 UDP 1862270975 10.0.0.9 60000 typ prflx raddr 10.0.0.9 rport 60000",
			"candidate:1 1 UDP 2013266431 10.0.0.2 5801 typ host raddr 1.2.3.4 rport 5",
			"candidate:1 2 UDP 2013266431 10.0.0.2 5801 typ host",
			"candidate:1 1 TCP 2013266431 10.0.0.2 5801 typ host",
			"candidate:1 1 UDP 2013266431 fe80::1 5801 typ host",
			"candidate:1 1 UDP 2013266431 127.0.0.1 5801 typ host",
			"candidate:1 1 UDP 2013266431 10.0.0.2 0 typ host",
			"candidate:1 1 UDP 2013266431 10.0.0.2 65536 typ host",
			"candidate:1 1 UDP 4294967296 10.0.0.2 5801 typ host",
			"candidate:1 1 UDP 0 10.0.0.2 5801 typ host",
			"candidate:1 1 UDP 2013266431 10.0.0.2 5801 typ nat",
			"candidate:1 1 UDP 2013266431 10.0.0.2 5801 typ host generation 0",
			"candidate:1 1 UDP 2013266431 10.0.0.2 5801 typ host ",
			"candidate:1  1 UDP 2013266431 10.0.0.2 5801 typ host",
			"candidate:1 1 UDP 2013266431 10.0.0.2 5801",
			"candidate: 1 UDP 2013266431 10.0.0.2 5801 typ host",
			"candidate:a-b 1 UDP 2013266431 10.0.0.2 5801 typ host",
			"candidate:1 1 UDP 2013266431 10.0.0.2 05801 typ host",
			"candidate:1 1 UDP 2013266431 10.0.0.2 5801 typ srflx raddr 10.0.0.2",
			"candidate:1 1 UDP 2013266431 10.0.0.2 5801 typ srflx raddr x rport 1",
			"a=candidate:1 1 UDP 2013266431 10.0.0.2 5801 typ host",
			"hello", "", long_cand,
		};
		for (unsigned i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
			snprintf(x, sizeof(x), "<message><link xmlns='urn:ipop:link:1' op='candidate' "
				 "overlay='testnet' node='%s' ufrag='wX3+' cand='%s'/></message>",
				 node_hex, cands[i]);
			int r = try(x, &out, &why);
			bool good = i < 3;
			CHECK(good ? r == 0 : (r == -EBADMSG && why == IPOP_REJ_BAD_CANDIDATE));
			/* refused: the rest parsed, the value kept (cut to 255) for
			 * the member's link (links[].ice.last_error) */
			CHECK(good ? !out.cand_refused :
			      out.cand_refused && strncmp(out.cand, cands[i], 255) == 0 &&
			      strcmp(out.ufrag, "wX3+") == 0 && ipop_node_id_eq(out.node, nid));
			if (good ? r != 0 : r == 0)
				fprintf(stderr, "candidate case %u: %s\n", i, cands[i]);
		}
		/* what is not printable ASCII is kept as '?' */
		snprintf(x, sizeof(x), "<message><link xmlns='urn:ipop:link:1' op='candidate' "
			 "overlay='testnet' node='%s' ufrag='wX3+' cand='candidate:1&#9;1 UDP&#10;"
			 "\xc3\xa9'/></message>", node_hex);
		CHECK(try(x, &out, &why) == -EBADMSG && why == IPOP_REJ_BAD_CANDIDATE &&
		      out.cand_refused && strcmp(out.cand, "candidate:1?1 UDP???") == 0);
		/* the candidate op: ufrag and cand required, nothing of request/refuse */
		const char *tail[] = { "cand='candidate:1 1 UDP 1 10.0.0.1 5 typ host'",
				       "ufrag='wX3+'",
				       "ufrag='wX3+' pwd='abcdefghijklmnopqrstuv' cand='candidate:1 1 UDP 1 10.0.0.1 5 typ host'",
				       "ufrag='wX3+' type='long' cand='candidate:1 1 UDP 1 10.0.0.1 5 typ host'",
				       "ufrag='w' cand='candidate:1 1 UDP 1 10.0.0.1 5 typ host'" };
		const int expect[] = { IPOP_REJ_BAD_ATTR, IPOP_REJ_BAD_ATTR, IPOP_REJ_BAD_ATTR,
				       IPOP_REJ_BAD_ATTR, IPOP_REJ_BAD_ICE_CREDENTIALS };
		for (unsigned i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
			snprintf(x, sizeof(x), "<message><link xmlns='urn:ipop:link:1' op='candidate' "
				 "overlay='testnet' node='%s' %s/></message>", node_hex, tail[i]);
			CHECK(try(x, &out, &why) == -EBADMSG && (int)why == expect[i]);
		}
		/* close and refuse carry no ICE attribute */
		snprintf(x, sizeof(x), "<message><link xmlns='urn:ipop:link:1' op='close' "
			 "overlay='testnet' node='%s' ufrag='wX3+'/></message>", node_hex);
		CHECK(try(x, &out, &why) == -EBADMSG && why == IPOP_REJ_BAD_ATTR);
	}

	/* Structure: a child or text inside <link>, two <link>s, a wrong element name. */
	char xml[8192];
	snprintf(xml, sizeof(xml), "<message><link xmlns='urn:ipop:link:1' op='close' "
		 "overlay='testnet' node='%s'><x/></link></message>", node_hex);
	CHECK(try(xml, &out, &why) == -EBADMSG && why == IPOP_REJ_BAD_STRUCTURE);
	snprintf(xml, sizeof(xml), "<message><link xmlns='urn:ipop:link:1' op='close' "
		 "overlay='testnet' node='%s'>text</link></message>", node_hex);
	CHECK(try(xml, &out, &why) == -EBADMSG && why == IPOP_REJ_BAD_STRUCTURE);
	snprintf(xml, sizeof(xml), "<message><link xmlns='urn:ipop:link:1' op='close' "
		 "overlay='testnet' node='%s'/><link xmlns='urn:ipop:link:1' op='close' "
		 "overlay='testnet' node='%s'/></message>", node_hex, node_hex);
	CHECK(try(xml, &out, &why) == -EBADMSG && why == IPOP_REJ_BAD_STRUCTURE);
	snprintf(xml, sizeof(xml), "<message><lnk xmlns='urn:ipop:link:1' op='close' "
		 "overlay='testnet' node='%s'/></message>", node_hex);
	CHECK(try(xml, &out, &why) == -EBADMSG && why == IPOP_REJ_BAD_STRUCTURE);
	snprintf(xml, sizeof(xml), "<message><link xmlns='urn:ipop:link:1' op='close' "
		 "overlay='testnet' node='%s' key='%s'/></message>", node_hex, key_b64);
	CHECK(try(xml, &out, &why) == -EBADMSG && why == IPOP_REJ_BAD_ATTR);

	/* Size: a valid link in a message padded past the limit, and just under it. */
	char pad[4096];
	memset(pad, 'a', sizeof(pad));
	pad[2100] = '\0';
	snprintf(xml, sizeof(xml), "<message><body>%s</body><link xmlns='urn:ipop:link:1' "
		 "op='close' overlay='testnet' node='%s'/></message>", pad, node_hex);
	CHECK(try(xml, &out, &why) == -EBADMSG && why == IPOP_REJ_TOO_BIG);
	pad[1800] = '\0';
	snprintf(xml, sizeof(xml), "<message><body>%s</body><link xmlns='urn:ipop:link:1' "
		 "op='close' overlay='testnet' node='%s'/></message>", pad, node_hex);
	CHECK(try(xml, &out, &why) == 0);
	/* An oversized attribute value inside <link> itself. */
	pad[3000] = 'a';
	pad[3000] = '\0';
	memset(pad, 'b', 3000);
	snprintf(xml, sizeof(xml), "<message><link xmlns='urn:ipop:link:1' op='close' "
		 "overlay='%s' node='%s'/></message>", pad, node_hex);
	CHECK(try(xml, &out, &why) == -EBADMSG && why == IPOP_REJ_TOO_BIG);

	for (int r = 0; r < IPOP_REJ_MAX; r++)
		CHECK(strcmp(ipop_linkmsg_reject_name((enum ipop_linkmsg_reject)r), "?") != 0);
	cert_attribute(pk, nid);
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	config_checks(argc > 1 ? argv[1] : NULL);
	return check_report("signal_codec");
}

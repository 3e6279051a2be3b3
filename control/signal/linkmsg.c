/* linkmsg.c - see linkmsg.h. Thread: control.
 *
 * The parser checks everything a hostile member controls: the whole message's
 * size, the element layout, the exact attribute set of the op, and every value's
 * syntax; the node ID must be the hash of the key, so an announced identity is
 * always one key (the handshake later proves the sender holds it).
 */
#include "control/signal/linkmsg.h"
#include "control/config/identity.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#define MAX_ATTRS 16

#define X(id, name, doc) [IPOP_REJ_##id] = #name,
static const char *const reject_names[IPOP_REJ_MAX] = {
	[IPOP_REJ_NONE] = "none",
	IPOP_LINKMSG_REJECTS(X)
};
#undef X

const char *ipop_linkmsg_reject_name(enum ipop_linkmsg_reject r)
{
	return r < IPOP_REJ_MAX ? reject_names[r] : "?";
}

/* The op attribute's values: the one name table of enum ipop_link_op. */
static const char *const link_op_names[IPOP_LINK_OP__MAX] = {
	[IPOP_LINK_REQUEST] = "request",
	[IPOP_LINK_REPLY] = "reply",
	[IPOP_LINK_CLOSE] = "close",
	[IPOP_LINK_REFUSE] = "refuse",
	[IPOP_LINK_CANDIDATE] = "candidate",
};

const char *ipop_link_op_name(enum ipop_link_op op)
{
	return (unsigned)op < IPOP_LINK_OP__MAX ? link_op_names[op] : "?";
}

static int parse_op(const char *v, enum ipop_link_op *op)
{
	for (unsigned i = 0; i < IPOP_LINK_OP__MAX; i++) {
		if (strcmp(v, link_op_names[i]) == 0) {
			*op = (enum ipop_link_op)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Exactly 32 lowercase hex digits (the ring's text form, no UUID dashes). */
int ipop_linkmsg_parse_node(const char *v, struct ipop_node_id *id)
{
	if (strlen(v) != IPOP_NODE_ID_HEX_LEN)
		return -EINVAL;
	for (const char *c = v; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return -EINVAL;
	return ipop_node_id_parse(v, id);
}

/* Standard base64 of exactly 32 bytes: 44 characters with one '='. */
static int parse_key(const char *v, uint8_t key[32])
{
	size_t n = 0;

	if (strlen(v) != 44)
		return -EINVAL;
	if (sodium_base642bin(key, 32, v, 44, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != 32)
		return -EINVAL;
	return 0;
}

/* A unicast IPv4 address a peer could send from: not 0/8, loopback, multicast
 * or broadcast. inet_pton accepts dotted decimal only (no octal or hex). */
static int parse_ip(const char *v, uint32_t *ip)
{
	struct in_addr a;

	if (strlen(v) > 15 || inet_pton(AF_INET, v, &a) != 1)
		return -EINVAL;
	uint32_t h = ntohl(a.s_addr);
	if ((h >> 24) == 0 || (h >> 24) == 127 || (h >> 28) >= 14)
		return -EINVAL;
	*ip = a.s_addr;
	return 0;
}

static int parse_port(const char *v, uint16_t *port)
{
	unsigned long x = 0;
	size_t n = strlen(v);

	if (n == 0 || n > 5 || v[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	if (x > 65535)
		return -EINVAL;
	*port = (uint16_t)x;
	return 0;
}

struct attrs {
	const char *op, *node, *key, *ip, *port, *overlay, *type, *reason, *ufrag, *pwd, *cand;
	const char *restart, *cert;
};

/* Collect the known attributes; any other one, or a repeated one, is refused. */
static int collect(xmpp_stanza_t *link, struct attrs *a)
{
	const char *kv[2 * MAX_ATTRS];
	int n = xmpp_stanza_get_attribute_count(link);

	memset(a, 0, sizeof(*a));
	if (n < 0 || n > MAX_ATTRS)
		return -EINVAL;
	n = xmpp_stanza_get_attributes(link, kv, 2 * MAX_ATTRS);
	for (int i = 0; i + 1 < n; i += 2) {
		const char *k = kv[i], *v = kv[i + 1];
		const char **slot = NULL;
		if (strcmp(k, "xmlns") == 0)
			continue;
		if (strcmp(k, "op") == 0) slot = &a->op;
		else if (strcmp(k, "node") == 0) slot = &a->node;
		else if (strcmp(k, "key") == 0) slot = &a->key;
		else if (strcmp(k, "ip") == 0) slot = &a->ip;
		else if (strcmp(k, "port") == 0) slot = &a->port;
		else if (strcmp(k, "overlay") == 0) slot = &a->overlay;
		else if (strcmp(k, "type") == 0) slot = &a->type;
		else if (strcmp(k, "reason") == 0) slot = &a->reason;
		else if (strcmp(k, "ufrag") == 0) slot = &a->ufrag;
		else if (strcmp(k, "pwd") == 0) slot = &a->pwd;
		else if (strcmp(k, "cand") == 0) slot = &a->cand;
		else if (strcmp(k, "restart") == 0) slot = &a->restart;
		else if (strcmp(k, "cert") == 0) slot = &a->cert;
		if (slot == NULL || *slot != NULL || v == NULL)
			return -EINVAL;
		*slot = v;
	}
	return 0;
}

static int reject(enum ipop_linkmsg_reject *why, enum ipop_linkmsg_reject r)
{
	*why = r;
	return -EBADMSG;
}

/* request: a real type; reply: a type or "none" (the replier does not want
 * the link for itself). */
static int parse_type(const char *v, enum ipop_link_op op, uint8_t *type)
{
	int t = ipop_link_type_parse(v);

	if (t < 0 || (t == IPOP_LINK_NONE && op == IPOP_LINK_REQUEST))
		return -EINVAL;
	*type = (uint8_t)t;
	return 0;
}

/* 1 to IPOP_LINK_REASON_LEN - 1 printable ASCII characters: it is shown as is. */
static int parse_reason(const char *v, char out[IPOP_LINK_REASON_LEN])
{
	size_t n = strlen(v);

	if (n == 0 || n >= IPOP_LINK_REASON_LEN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return -EINVAL;
	memcpy(out, v, n + 1);
	return 0;
}

/* RFC 8445 15.4: ice-char is ALPHA / DIGIT / "+" / "/"; min..max of them. */
static int parse_ice_chars(const char *v, size_t min, size_t max, char *out)
{
	size_t n = strlen(v);

	if (n < min || n > max)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '+' && v[i] != '/')
			return -EINVAL;
	memcpy(out, v, n + 1);
	return 0;
}

static int parse_ufrag(const char *v, char out[IPOP_LINK_UFRAG_LEN])
{
	return parse_ice_chars(v, 4, IPOP_LINK_UFRAG_LEN - 1, out);
}

/* Decimal without leading zeros (a lone "0" only if zero_ok), at most max. */
static int parse_dec(const char *v, size_t len, uint64_t max, bool zero_ok, uint64_t *out)
{
	uint64_t x = 0;

	if (len == 0 || len > 10 || (v[0] == '0' && (len > 1 || !zero_ok)))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

/* Dotted-decimal IPv4 (any address: a related address may be 0.0.0.0). */
static int parse_any_ip(const char *v, size_t len)
{
	char buf[16];
	struct in_addr a;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, &a) == 1 ? 0 : -EINVAL;
}

/* An SDP candidate value as libnice writes it for a UDP IPv4 component 1
 * (RFC 8839 5.1 without extensions, which ipop never sends):
 *   candidate:FOUNDATION 1 UDP PRIORITY ADDRESS PORT typ TYPE [raddr ADDR rport PORT]
 * one space between fields; FOUNDATION 1-32 ice-chars; PRIORITY 1 to 2^32-1;
 * ADDRESS unicast (parse_ip); TYPE host, srflx or relay; raddr/rport only for
 * the last two. Not prflx: a peer-reflexive candidate is learnt from the
 * checks, and libnice ignores one that is signalled. The agent parses it
 * again (control/ice). */
int ipop_linkmsg_parse_candidate(const char *v, char out[IPOP_LINK_CAND_LEN])
{
	const char *tok[12];
	size_t len[12], n = 0, vl = strlen(v);
	const char *p = v;
	uint64_t x;
	uint32_t ip;
	char fnd[IPOP_LINK_UFRAG_LEN], buf[16];

	if (vl == 0 || vl >= IPOP_LINK_CAND_LEN || strncmp(v, "candidate:", 10) != 0)
		return -EINVAL;
	p += 10;
	while (n < 12) {
		const char *e = strchr(p, ' ');
		tok[n] = p;
		len[n] = e ? (size_t)(e - p) : strlen(p);
		if (len[n] == 0)
			return -EINVAL;    /* two spaces, or a trailing one */
		n++;
		if (e == NULL)
			break;
		p = e + 1;
	}
	if ((n != 8 && n != 12) || tok[n - 1][len[n - 1]] != '\0')
		return -EINVAL;
	if (len[0] >= sizeof(fnd))
		return -EINVAL;
	memcpy(fnd, tok[0], len[0]);
	fnd[len[0]] = '\0';
	if (parse_ice_chars(fnd, 1, 32, fnd) != 0)
		return -EINVAL;
	if (len[1] != 1 || tok[1][0] != '1' || len[2] != 3 || strncasecmp(tok[2], "UDP", 3) != 0)
		return -EINVAL;
	if (parse_dec(tok[3], len[3], UINT32_MAX, false, &x) != 0 || x == 0)
		return -EINVAL;
	if (len[4] >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, tok[4], len[4]);
	buf[len[4]] = '\0';
	if (parse_ip(buf, &ip) != 0 || parse_dec(tok[5], len[5], 65535, false, &x) != 0)
		return -EINVAL;
	if (len[6] != 3 || strncmp(tok[6], "typ", 3) != 0)
		return -EINVAL;
	bool host = len[7] == 4 && strncmp(tok[7], "host", 4) == 0;
	if (!host && !(len[7] == 5 && (strncmp(tok[7], "srflx", 5) == 0 ||
				       strncmp(tok[7], "relay", 5) == 0)))
		return -EINVAL;
	if (n == 12 && (host || len[8] != 5 || strncmp(tok[8], "raddr", 5) != 0 ||
			parse_any_ip(tok[9], len[9]) != 0 || len[10] != 5 ||
			strncmp(tok[10], "rport", 5) != 0 ||
			parse_dec(tok[11], len[11], 65535, true, &x) != 0))
		return -EINVAL;
	memcpy(out, v, vl + 1);
	return 0;
}

/* ufrag and pwd of a request or reply: both or neither. */
static int parse_credentials(const struct attrs *a, struct ipop_link_msg *out,
			     enum ipop_linkmsg_reject *why)
{
	if (a->ufrag == NULL && a->pwd == NULL)
		return 0;
	if (a->ufrag == NULL || a->pwd == NULL || parse_ufrag(a->ufrag, out->ufrag) != 0 ||
	    parse_ice_chars(a->pwd, 22, IPOP_LINK_PWD_LEN - 1, out->pwd) != 0)
		return reject(why, IPOP_REJ_BAD_ICE_CREDENTIALS);
	return 0;
}

/* cert of a request or reply: bounded and in base64's alphabet, copied as
 * it came. Whether it decodes is trust's question (a CA's receiver counts a
 * certificate that does not as bad_encoding and tells the sender); without
 * a CA it is not used at all. */
static int parse_cert(const char *v, char out[IPOP_CERT_B64_MAX])
{
	size_t n = strlen(v);

	if (n == 0 || n >= IPOP_CERT_B64_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '+' && v[i] != '/' && v[i] != '=')
			return -EINVAL;
	memcpy(out, v, n + 1);
	return 0;
}

/* candidate: the sender's ufrag and one candidate, nothing else. */
static int parse_cand_msg(const struct attrs *a, struct ipop_link_msg *out,
			  enum ipop_linkmsg_reject *why)
{
	if (a->key || a->ip || a->port || a->type || a->reason || a->pwd || a->restart || a->cert ||
	    !a->ufrag || !a->cand)
		return reject(why, IPOP_REJ_BAD_ATTR);
	if (parse_ufrag(a->ufrag, out->ufrag) != 0)
		return reject(why, IPOP_REJ_BAD_ICE_CREDENTIALS);
	if (ipop_linkmsg_parse_candidate(a->cand, out->cand) != 0) {
		/* Shown on the member's link, so made safe to print. */
		size_t i;
		for (i = 0; a->cand[i] != '\0' && i < IPOP_LINK_CAND_LEN - 1; i++)
			out->cand[i] = a->cand[i] >= 0x20 && a->cand[i] <= 0x7e ? a->cand[i] : '?';
		out->cand[i] = '\0';
		out->cand_refused = true;
		return reject(why, IPOP_REJ_BAD_CANDIDATE);
	}
	return 0;
}

/* close and refuse name the sender only (endpoint, key and type have no
 * meaning there); refuse says why. */
static int parse_release(const struct attrs *a, struct ipop_link_msg *out,
			 enum ipop_linkmsg_reject *why)
{
	if (a->key || a->ip || a->port || a->type || a->ufrag || a->pwd || a->cand || a->restart ||
	    a->cert)
		return reject(why, IPOP_REJ_BAD_ATTR);
	if (out->op == IPOP_LINK_CLOSE)
		return a->reason ? reject(why, IPOP_REJ_BAD_ATTR) : 0;
	if (a->reason == NULL)
		return reject(why, IPOP_REJ_BAD_ATTR);
	return parse_reason(a->reason, out->reason) == 0 ? 0 : reject(why, IPOP_REJ_BAD_REASON);
}

static int parse_link(xmpp_stanza_t *link, const char *overlay, struct ipop_link_msg *out,
		      enum ipop_linkmsg_reject *why)
{
	struct attrs a;

	if (xmpp_stanza_get_children(link) != NULL)
		return reject(why, IPOP_REJ_BAD_STRUCTURE);
	if (collect(link, &a) != 0 || a.op == NULL || a.node == NULL || a.overlay == NULL)
		return reject(why, IPOP_REJ_BAD_ATTR);
	if (parse_op(a.op, &out->op) != 0)
		return reject(why, IPOP_REJ_BAD_OP);
	if (strcmp(a.overlay, overlay) != 0)
		return reject(why, IPOP_REJ_BAD_OVERLAY);
	if (ipop_linkmsg_parse_node(a.node, &out->node) != 0)
		return reject(why, IPOP_REJ_BAD_NODE);
	if (out->op == IPOP_LINK_CLOSE || out->op == IPOP_LINK_REFUSE)
		return parse_release(&a, out, why);
	if (out->op == IPOP_LINK_CANDIDATE)
		return parse_cand_msg(&a, out, why);
	if (a.key == NULL || a.ip == NULL || a.port == NULL || a.type == NULL || a.reason ||
	    a.cand)
		return reject(why, IPOP_REJ_BAD_ATTR);
	if (parse_type(a.type, out->op, &out->type) != 0)
		return reject(why, IPOP_REJ_BAD_TYPE);
	if (parse_key(a.key, out->key) != 0)
		return reject(why, IPOP_REJ_BAD_KEY);
	if (parse_ip(a.ip, &out->ip) != 0)
		return reject(why, IPOP_REJ_BAD_IP);
	if (parse_port(a.port, &out->port) != 0)
		return reject(why, IPOP_REJ_BAD_PORT);
	if (parse_credentials(&a, out, why) != 0)
		return -EBADMSG;
	/* restart='ice': a request that only replaces the sender's ICE agent on a
	 * live link (its sessions stay); it needs the new agent's credentials. */
	if (a.restart != NULL) {
		if (out->op != IPOP_LINK_REQUEST || strcmp(a.restart, "ice") != 0 || a.ufrag == NULL)
			return reject(why, IPOP_REJ_BAD_ATTR);
		out->ice_restart = true;
	}
	if (a.cert != NULL && parse_cert(a.cert, out->cert) != 0)
		return reject(why, IPOP_REJ_BAD_CERT);
	if (!ipop_node_id_eq(ipop_node_id_of_key(out->key), out->node))
		return reject(why, IPOP_REJ_NODE_KEY_MISMATCH);
	return 0;
}

int ipop_linkmsg_parse(xmpp_stanza_t *message, const char *overlay, struct ipop_link_msg *out,
		       enum ipop_linkmsg_reject *why)
{
	xmpp_stanza_t *c, *link = NULL;
	char *text = NULL;
	size_t len = 0;

	*why = IPOP_REJ_NONE;
	memset(out, 0, sizeof(*out));
	for (c = xmpp_stanza_get_children(message); c != NULL; c = xmpp_stanza_get_next(c)) {
		const char *ns = xmpp_stanza_get_ns(c);
		if (ns == NULL || strcmp(ns, IPOP_LINK_NS) != 0)
			continue;
		if (link != NULL)
			return reject(why, IPOP_REJ_BAD_STRUCTURE);
		link = c;
	}
	if (link == NULL)
		return -ENOENT;
	/* Size first: nothing of an oversized stanza is looked at any further. */
	if (xmpp_stanza_to_text(message, &text, &len) != XMPP_EOK)
		return reject(why, IPOP_REJ_TOO_BIG);
	xmpp_free(xmpp_stanza_get_context(message), text);
	if (len > IPOP_LINKMSG_MAX)
		return reject(why, IPOP_REJ_TOO_BIG);
	const char *name = xmpp_stanza_get_name(link);
	if (name == NULL || strcmp(name, "link") != 0)
		return reject(why, IPOP_REJ_BAD_STRUCTURE);
	return parse_link(link, overlay, out, why);
}

xmpp_stanza_t *ipop_linkmsg_build(xmpp_ctx_t *ctx, const char *to, const char *overlay,
				  const struct ipop_link_msg *m)
{
	char hex[IPOP_NODE_ID_HEX_LEN + 1], b64[48], ip[INET_ADDRSTRLEN], port[8];
	xmpp_stanza_t *msg = xmpp_message_new(ctx, "normal", to, NULL);
	xmpp_stanza_t *link = xmpp_stanza_new(ctx);

	if (msg == NULL || link == NULL) {
		if (msg)
			xmpp_stanza_release(msg);
		if (link)
			xmpp_stanza_release(link);
		return NULL;
	}
	ipop_node_id_format(m->node, hex, sizeof(hex));
	xmpp_stanza_set_name(link, "link");
	xmpp_stanza_set_ns(link, IPOP_LINK_NS);
	xmpp_stanza_set_attribute(link, "op", ipop_link_op_name(m->op));
	xmpp_stanza_set_attribute(link, "overlay", overlay);
	xmpp_stanza_set_attribute(link, "node", hex);
	if (m->op == IPOP_LINK_REFUSE)
		xmpp_stanza_set_attribute(link, "reason", m->reason);
	if (m->op == IPOP_LINK_CANDIDATE) {
		xmpp_stanza_set_attribute(link, "ufrag", m->ufrag);
		xmpp_stanza_set_attribute(link, "cand", m->cand);
	}
	if (m->op == IPOP_LINK_REQUEST || m->op == IPOP_LINK_REPLY) {
		struct in_addr a = { .s_addr = m->ip };
		xmpp_stanza_set_attribute(link, "type", ipop_link_type_name(m->type));
		sodium_bin2base64(b64, sizeof(b64), m->key, 32, sodium_base64_VARIANT_ORIGINAL);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		snprintf(port, sizeof(port), "%u", m->port);
		xmpp_stanza_set_attribute(link, "key", b64);
		xmpp_stanza_set_attribute(link, "ip", ip);
		xmpp_stanza_set_attribute(link, "port", port);
		if (m->ufrag[0] != '\0') {
			xmpp_stanza_set_attribute(link, "ufrag", m->ufrag);
			xmpp_stanza_set_attribute(link, "pwd", m->pwd);
			if (m->op == IPOP_LINK_REQUEST && m->ice_restart)
				xmpp_stanza_set_attribute(link, "restart", "ice");
		}
		if (m->cert[0] != '\0')
			xmpp_stanza_set_attribute(link, "cert", m->cert);
	}
	xmpp_stanza_add_child(msg, link);
	xmpp_stanza_release(link);
	return msg;
}

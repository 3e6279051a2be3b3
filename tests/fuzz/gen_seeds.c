/* gen_seeds.c - writes the seed corpora of the fuzz targets: valid (and a few
 * almost valid) inputs made with the same fixtures the targets use, so that
 * the sealed packets authenticate and the handshake messages open.
 *
 *   gen_seeds DIR     writes DIR/{wire,encap,mss,handshake,wan_rx,signal,candidate,config}/NAME
 *
 * Deterministic: the same files every run (the handshake fixture replaces
 * libsodium's random source). Thread: one. Test tool only. */
#include "control/config/identity.h"
#include "control/session/noise.h"
#include "control/config/cert.h"
#include "control/signal/linkmsg.h"
#include "control/signal/presence.h"
#include "dataplane/aead.h"
#include "dataplane/encap.h"
#include "dataplane/ring.h"
#include "dataplane/wire.h"
#include "tests/fuzz/dp_fixture.h"
#include "tests/fuzz/hs_fixture.h"
#include "control/session/cookie.h"
#include "tests/unit/refsum.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>

static const char *root;
static int failures;

static void put(const char *target, const char *name, const void *a, size_t alen,
		const void *b, size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen)) {
		perror(path);
		failures++;
	}
	if (f)
		fclose(f);
}

/* Same, with a one-byte mode prefix. */
static void put_mode(const char *target, const char *name, uint8_t mode, const void *p, size_t len)
{
	put(target, name, &mode, 1, p, len);
}

/* An inner Ethernet frame with a patterned body. */
static uint32_t inner(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint32_t len)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08, f[13] = 0x00;
	for (uint32_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * 13 + 5);
	return len;
}

/* Outer Ethernet/IPv4/UDP from A to B around payload. */
static uint32_t outer(uint8_t *f, uint16_t dport, const void *payload, uint32_t plen)
{
	struct ipop_encap_addr a;

	memcpy(a.src_mac.addr_bytes, dp_fixture_a_mac, 6);
	memcpy(a.dst_mac.addr_bytes, dp_fixture_b_mac, 6);
	a.src_ip = htonl(DP_FIXTURE_A_IP);
	a.dst_ip = htonl(DP_FIXTURE_B_IP);
	a.src_port = htons(DP_FIXTURE_A_PORT);
	a.dst_port = htons(dport);
	ipop_encap_write(f, &a, (uint16_t)plen, 9);
	memcpy(f + IPOP_OUTER_HDR_LEN, payload, plen);
	return IPOP_OUTER_HDR_LEN + plen;
}

/* A TCP SYN with the given options (length a multiple of 4). */
static uint32_t syn(uint8_t *f, const uint8_t *opts, uint32_t optlen, uint8_t flags,
		    uint32_t ip_optlen)
{
	uint32_t ihl = 20 + ip_optlen, thl = 20 + optlen, tot = ihl + thl;
	uint8_t *ip = f + 14, *tcp = ip + ihl;
	static const uint8_t h1[6] = { 0x52, 0x54, 0, 0, 0xa0, 0x01 };

	inner(f, dp_fixture_lan_mac, h1, 14);
	memset(ip, 0, ihl);
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
	ip[6] = 0x40, ip[8] = 64, ip[9] = 6;
	memcpy(ip + 12, "\xc0\xa8\x01\x0a\xc0\xa8\x01\x14", 8);
	memset(ip + 20, 1, ip_optlen);
	ref_ip_csum_set(ip);
	memset(tcp, 0, thl);
	tcp[0] = 0xc3, tcp[1] = 0x50, tcp[3] = 80;
	tcp[4] = 0x12, tcp[5] = 0x34, tcp[6] = 0x56, tcp[7] = 0x78;
	tcp[12] = (uint8_t)(thl / 4 << 4);
	tcp[13] = flags;
	tcp[14] = 0xfa, tcp[15] = 0xf0;
	memcpy(tcp + 20, opts, optlen);
	uint16_t c = (uint16_t)~ref_l4_sum(ip, tcp, thl);
	tcp[16] = (uint8_t)(c >> 8), tcp[17] = (uint8_t)c;
	return 14 + tot;
}

static void seeds_mss(void)
{
	static const uint8_t linux_opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4,
						0, 0, 0, 0, 1, 3, 3, 7 };
	static const uint8_t odd[8] = { 1, 2, 4, 0x23, 0x28, 1, 1, 0 };
	static const uint8_t small[4] = { 2, 4, 0x02, 0x18 };
	uint8_t f[128], mss[2] = { 1386 >> 8, 1386 & 0xff };
	uint32_t n;

	n = syn(f, linux_opts, 20, 0x02, 0);
	put("mss", "syn_linux", mss, 2, f, n);
	n = syn(f, odd, 8, 0x02, 0);
	put("mss", "syn_odd_offset", mss, 2, f, n);
	n = syn(f, odd, 8, 0x12, 4);
	put("mss", "synack_ip_options", mss, 2, f, n);
	n = syn(f, small, 4, 0x02, 0);
	put("mss", "syn_small_mss", mss, 2, f, n);
	n = syn(f, linux_opts, 20, 0x10, 0);
	put("mss", "ack", mss, 2, f, n);
}

/* The responder's cookie reply to the fixture's initiation (from 10.0.0.1:5800). */
static int cookie_reply(const struct hs_fixture *hs, struct ipop_cookie_reply *out)
{
	struct ipop_cookie_checker c;
	int rc = ipop_cookie_checker_init(&c, hs->resp.pub, 1);

	if (rc == 0)
		rc = ipop_cookie_reply_create(&c, hs->msg1.sender_index, hs->msg1.mac1,
					      htonl(0x0a000001u), htons(5800), 1, out);
	ipop_cookie_checker_wipe(&c);
	return rc;
}

static void seeds_wire(const struct hs_fixture *hs, const struct ipop_hs_resp *resp)
{
	uint8_t d[200];

	put("wire", "hs_init", &hs->msg1, sizeof(hs->msg1), NULL, 0);
	put("wire", "hs_resp", resp, sizeof(*resp), NULL, 0);
	struct ipop_cookie_reply cr;
	if (cookie_reply(hs, &cr) == 0)
		put("wire", "cookie_reply", &cr, sizeof(cr), NULL, 0);
	memset(d, 0, sizeof(d));
	d[0] = IPOP_MSG_DATA, d[1] = IPOP_WIRE_VERSION;
	put("wire", "keepalive", d, IPOP_DATA_OVERHEAD, NULL, 0);
	put("wire", "data", d, sizeof(d), NULL, 0);
	d[0] = IPOP_MSG_FLOOD;
	put("wire", "flood", d, 64, NULL, 0);
	d[0] = IPOP_MSG_TRANSIT;
	put("wire", "transit", d, 90, NULL, 0);
}

static void seeds_handshake(const struct hs_fixture *hs, const struct ipop_hs_resp *resp)
{
	put_mode("handshake", "init", 0, &hs->msg1, sizeof(hs->msg1));
	put_mode("handshake", "init_mac1", 2, &hs->msg1, sizeof(hs->msg1));
	put_mode("handshake", "resp", 1, resp, sizeof(*resp));
	put_mode("handshake", "resp_mac1", 3, resp, sizeof(*resp));
	struct ipop_cookie_reply cr;
	if (cookie_reply(hs, &cr) == 0)
		put_mode("handshake", "cookie_reply", 4, &cr, sizeof(cr));
}

/* Cut a tunnel packet (Ethernet frame) into two IPv4 fragments. */
static void fragment(const uint8_t *p, uint32_t len, uint8_t *f1, uint32_t *l1, uint8_t *f2,
		     uint32_t *l2)
{
	uint32_t first = 1480, rest = len - 34 - first;

	memcpy(f1, p, 34 + first);
	f1[14 + 2] = (uint8_t)((20 + first) >> 8), f1[14 + 3] = (uint8_t)(20 + first);
	f1[14 + 6] = 0x20, f1[14 + 7] = 0;
	ref_ip_csum_set(f1 + 14);
	*l1 = 34 + first;
	memcpy(f2, p, 34);
	memcpy(f2 + 34, p + 34 + first, rest);
	f2[14 + 2] = (uint8_t)((20 + rest) >> 8), f2[14 + 3] = (uint8_t)(20 + rest);
	f2[14 + 6] = 0, f2[14 + 7] = (uint8_t)(first / 8);
	ref_ip_csum_set(f2 + 14);
	*l2 = 34 + rest;
}

/* Append one length-prefixed record to a burst. */
static size_t rec(uint8_t *b, size_t at, int flags, const uint8_t *p, uint32_t len)
{
	if (flags >= 0)
		b[at++] = (uint8_t)flags;
	b[at++] = (uint8_t)(len >> 8);
	b[at++] = (uint8_t)len;
	memcpy(b + at, p, len);
	return at + len;
}

/* A fabric header (wire.h) in front of the frame f[0..len) already at
 * p + IPOP_FABRIC_HDR_LEN: origin and bound (or destination) as node IDs
 * ipop_node_id_make(hi, 0). Returns the plaintext's length. */
static uint32_t fabric(uint8_t *p, uint64_t origin_hi, uint64_t bound_hi, uint8_t hops,
		       uint32_t len)
{
	struct ipop_fabric_hdr *h = (struct ipop_fabric_hdr *)p;

	ipop_node_id_to_bytes(ipop_node_id_make(origin_hi, 0), h->origin);
	ipop_node_id_to_bytes(ipop_node_id_make(bound_hi, 0), h->bound);
	h->hops = hops;
	memset(h->reserved, 0, sizeof(h->reserved));
	return IPOP_FABRIC_HDR_LEN + len;
}

/* Flood copies and transit messages (types 4 and 5) that authenticate: sealed
 * here (mode 0) and sealed by the target (mode 3: flags bits 0-1 session,
 * bit 2 transit, bits 3-7 counter), one for each way through the fabric
 * checks of receive.c. Sessions 0 and 1 are A's peer slots 0 and 1. */
static void seeds_fabric(struct ipop_aead_mgr *mgr, uint8_t *pk, uint8_t *burst)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t src[6] = { 0x52, 0x54, 0, 0, 0xa0, 0x02 };
	static uint8_t pl[2048];
	const uint64_t peer0 = DP_FIXTURE_PEER_ID_HI, peer1 = DP_FIXTURE_PEER_ID_HI + 1,
		       self = DP_FIXTURE_SELF_ID_HI, routed = DP_FIXTURE_ROUTED_ID_HI,
		       unrouted = DP_FIXTURE_UNROUTED_ID_HI;
	const int F = 0, T = 4;   /* mode 3 flags: flood, transit */
	uint32_t n, l;
	size_t b;
	int p;

	/* From its origin (peer slot 0), B inside (peer 0, routed): delivered. */
	n = inner(pl + IPOP_FABRIC_HDR_LEN, bcast, src, 60);
	l = fabric(pl, peer0, routed, 0, n);
	p = dp_fixture_seal_type(mgr, 0, IPOP_MSG_FLOOD, 3, pl, l, pk);
	put_mode("wan_rx", "flood_origin", 0, pk, (size_t)p);
	/* For B from peer slot 1, its origin: delivered to the LAN. */
	n = inner(pl + IPOP_FABRIC_HDR_LEN, dp_fixture_lan_mac, src, 80);
	l = fabric(pl, peer1, self, 0, n);
	p = dp_fixture_seal_type(mgr, 1, IPOP_MSG_TRANSIT, 4, pl, l, pk);
	put_mode("wan_rx", "transit_self", 0, pk, (size_t)p);

	/* Sealed by the target. A relayed copy from the routed gateway through
	 * peer 1 covering the whole ring: learnt, delivered, relayed to peer 0. */
	n = inner(pl + IPOP_FABRIC_HDR_LEN, bcast, src, 60);
	l = fabric(pl, routed, peer1, 2, n);
	b = rec(burst, 0, 1 << 3 | F | 1, pl, l);
	put_mode("wan_rx", "fabric_flood_relay", 3, burst, b);
	/* Each flood check fails once: reserved bytes, hops, own origin, bound. */
	b = 0;
	l = fabric(pl, peer0, routed, 0, n);
	pl[IPOP_FABRIC_HDR_LEN - 1] = 1;
	b = rec(burst, b, 2 << 3 | F | 0, pl, l);
	l = fabric(pl, routed, routed, IPOP_FABRIC_MAX_HOPS, n);
	b = rec(burst, b, 3 << 3 | F | 0, pl, l);
	l = fabric(pl, self, routed, 1, n);
	b = rec(burst, b, 4 << 3 | F | 0, pl, l);
	l = fabric(pl, peer0, self, 0, n);
	b = rec(burst, b, 5 << 3 | F | 0, pl, l);
	put_mode("wan_rx", "fabric_flood_drops", 3, burst, b);
	/* Transit: through B towards the routed gateway (relayed by peer 1), the
	 * same from peer 1 (a loop), to the unrouted one, to one not in the
	 * directory, to peer 0 (a direct tunnel), and for B itself. */
	b = 0;
	n = inner(pl + IPOP_FABRIC_HDR_LEN, dp_fixture_far_mac, src, 70);
	l = fabric(pl, peer0, routed, 0, n);
	b = rec(burst, b, 6 << 3 | T | 0, pl, l);
	l = fabric(pl, peer1, routed, 0, n);
	b = rec(burst, b, 7 << 3 | T | 1, pl, l);
	l = fabric(pl, peer0, unrouted, 0, n);
	b = rec(burst, b, 8 << 3 | T | 0, pl, l);
	l = fabric(pl, peer0, 0x4000, 0, n);
	b = rec(burst, b, 9 << 3 | T | 0, pl, l);
	l = fabric(pl, peer1, peer0, 0, n);
	b = rec(burst, b, 10 << 3 | T | 1, pl, l);
	n = inner(pl + IPOP_FABRIC_HDR_LEN, dp_fixture_lan_mac, src, 70);
	l = fabric(pl, routed, self, 1, n);
	b = rec(burst, b, 11 << 3 | T | 1, pl, l);
	put_mode("wan_rx", "fabric_transit_mix", 3, burst, b);
	/* Transit drops before any lookup: reserved bytes, hops, own origin. */
	b = 0;
	l = fabric(pl, peer0, routed, 0, n);
	pl[IPOP_FABRIC_HDR_LEN - 2] = 1;
	b = rec(burst, b, 12 << 3 | T | 0, pl, l);
	l = fabric(pl, peer0, routed, IPOP_FABRIC_MAX_HOPS, n);
	b = rec(burst, b, 13 << 3 | T | 0, pl, l);
	l = fabric(pl, self, routed, 1, n);
	b = rec(burst, b, 14 << 3 | T | 0, pl, l);
	put_mode("wan_rx", "fabric_transit_drops", 3, burst, b);
}

static void seeds_dp(struct ipop_aead_mgr *mgr, const struct hs_fixture *hs)
{
	static uint8_t fr[2048], pk[2048], f1[2048], f2[2048], burst[8192];
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t src[6] = { 0x52, 0x54, 0, 0, 0xa0, 0x01 };
	uint32_t n, l1, l2;
	int p;

	/* Sealed data, both ciphers; a keepalive. */
	n = inner(fr, dp_fixture_lan_mac, src, 100);
	p = dp_fixture_seal(mgr, 0, 0, fr, n, pk);
	put_mode("wan_rx", "data_aes", 0, pk, (size_t)p);
	put("encap", "data_aes", pk, (size_t)p, NULL, 0);
	p = dp_fixture_seal(mgr, 1, 5, fr, n, pk);
	put_mode("wan_rx", "data_chacha", 0, pk, (size_t)p);
	p = dp_fixture_seal(mgr, 0, 1, fr, 0, pk);
	put_mode("wan_rx", "keepalive", 0, pk, (size_t)p);
	/* The same packet twice in one burst. */
	p = dp_fixture_seal(mgr, 1, 7, fr, n, pk);
	size_t b = rec(burst, 0, -1, pk, (uint32_t)p);
	b = rec(burst, b, -1, pk, (uint32_t)p);
	put_mode("wan_rx", "replay_burst", 1, burst, b);

	/* A full-size frame in two outer fragments, in both orders. */
	n = inner(fr, dp_fixture_lan_mac, src, 1514);
	p = dp_fixture_seal(mgr, 0, 2, fr, n, pk);
	fragment(pk, (uint32_t)p, f1, &l1, f2, &l2);
	b = rec(burst, 0, -1, f1, l1);
	b = rec(burst, b, -1, f2, l2);
	put_mode("wan_rx", "fragments", 1, burst, b);
	put("encap", "fragment", f1, l1, NULL, 0);
	b = rec(burst, 0, -1, f2, l2);
	b = rec(burst, b, -1, f1, l1);
	put_mode("wan_rx", "fragments_reversed", 1, burst, b);

	/* Handshake messages, ARP, other host traffic. */
	n = outer(pk, DP_FIXTURE_B_PORT, &hs->msg1, sizeof(hs->msg1));
	put_mode("wan_rx", "hs_init", 0, pk, n);
	put("encap", "hs_init", pk, n, NULL, 0);
	struct ipop_cookie_reply cr;
	if (cookie_reply(hs, &cr) == 0) {
		n = outer(pk, DP_FIXTURE_B_PORT, &cr, sizeof(cr));
		put_mode("wan_rx", "cookie_reply", 0, pk, n);
	}
	n = outer(pk, 53, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	put_mode("wan_rx", "dns", 0, pk, n);
	memset(pk + n, 0, 8);
	put("encap", "padded", pk, n + 8, NULL, 0);
	n = inner(fr, bcast, dp_fixture_a_mac, 42);
	fr[12] = 0x08, fr[13] = 0x06;
	put_mode("wan_rx", "arp", 0, fr, n);
	put("encap", "arp", fr, n, NULL, 0);

	/* Sealed by the target: unicast to the LAN, broadcast, to a MAC behind
	 * another peer, a runt, an expired session; one burst of all. */
	b = 0;
	n = inner(fr, dp_fixture_lan_mac, src, 80);
	size_t one = rec(burst, 0, 0 << 2 | 0, fr, n);
	put_mode("wan_rx", "sealed_unicast", 2, burst, one);
	b = rec(burst, b, 1 << 2 | 0, fr, n);
	n = inner(fr, bcast, src, 60);
	b = rec(burst, b, 2 << 2 | 1, fr, n);
	n = inner(fr, dp_fixture_far_mac, src, 60);
	b = rec(burst, b, 3 << 2 | 0, fr, n);
	b = rec(burst, b, 4 << 2 | 1, fr, 10);
	b = rec(burst, b, 5 << 2 | 2, fr, 60);
	put_mode("wan_rx", "sealed_mix", 2, burst, b);
	seeds_fabric(mgr, pk, burst);
}

/* Append a token (with its NUL) to the seed being made. */
static void tok(uint8_t *b, size_t *at, const char *t)
{
	size_t l = strlen(t) + 1;

	memcpy(b + *at, t, l);
	*at += l;
}

/* A stanza as fuzz_signal's tokens (its header), with its mode byte: each
 * child element of the stanza with its namespace and attributes. */
static void put_stanza(const char *name, uint8_t mode, xmpp_stanza_t *st)
{
	static uint8_t b[4096];
	size_t at = 0;

	if (st == NULL) {
		fprintf(stderr, "gen_seeds: %s: cannot build the stanza\n", name);
		failures++;
		return;
	}
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c; c = xmpp_stanza_get_next(c)) {
		const char *attrs[64];
		int na = xmpp_stanza_get_attributes(c, attrs, 64);
		char el[128];

		snprintf(el, sizeof(el), "<%s", xmpp_stanza_get_name(c));
		tok(b, &at, el);
		tok(b, &at, xmpp_stanza_get_ns(c) ? xmpp_stanza_get_ns(c) : "");
		for (int i = 0; i + 1 < na; i += 2) {
			if (strcmp(attrs[i], "xmlns") == 0)
				continue;
			tok(b, &at, attrs[i]);
			tok(b, &at, attrs[i + 1]);
		}
	}
	put_mode("signal", name, mode, b, at);
	xmpp_stanza_release(st);
}

/* Every link op and a presence, built by the codecs themselves (so each one
 * parses), from a fixed key. */
static void seeds_signal(void)
{
	xmpp_ctx_t *ctx;
	struct ipop_link_msg m = { .ip = htonl(0x0a000001), .port = 51820, .type = IPOP_LINK_SUCC };
	static const char *const names[IPOP_LINK_OP__MAX] = {
		[IPOP_LINK_REQUEST] = "link-request", [IPOP_LINK_REPLY] = "link-reply",
		[IPOP_LINK_CLOSE] = "link-close", [IPOP_LINK_REFUSE] = "link-refuse",
		[IPOP_LINK_CANDIDATE] = "link-candidate",
	};

	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
	for (int i = 0; i < 32; i++)
		m.key[i] = (uint8_t)(i * 7 + 1);
	m.node = ipop_node_id_of_key(m.key);
	snprintf(m.reason, sizeof(m.reason), "incoming long links at their cap");
	/* ICE: request and reply carry the agent's credentials, candidate one
	 * candidate (the codec writes only the attributes of each op). */
	snprintf(m.ufrag, sizeof(m.ufrag), "Ab3+");
	snprintf(m.pwd, sizeof(m.pwd), "0123456789abcdefABCDEF");
	snprintf(m.cand, sizeof(m.cand),
		 "candidate:2 1 UDP 1677721855 198.51.100.7 21034 typ srflx raddr 10.92.1.2 rport 51821");
	for (int op = 0; op < IPOP_LINK_OP__MAX; op++) {
		m.op = (enum ipop_link_op)op;
		if (m.op == IPOP_LINK_CANDIDATE) {   /* the last op: the others carry no ICE */
			snprintf(m.ufrag, sizeof(m.ufrag), "Xq3w");
			snprintf(m.cand, sizeof(m.cand),
				 "candidate:1 1 UDP 2130706431 10.0.0.1 51820 typ host");
		}
		put_stanza(names[op], 0, ipop_linkmsg_build(ctx, "gw-2@example.org/ipop", "testnet", &m));
	}
	/* Request and reply with the sender's certificate (a fixed CA), the
	 * largest one: a 63-character overlay name. */
	uint8_t seed[32], ca_pk[32], ca_sk[64];
	struct ipop_cert c = { .serial = 42, .not_before = 1700000000, .not_after = 1900000000 };
	memset(seed, 0x5c, sizeof(seed));
	ipop_ca_keypair(seed, ca_pk, ca_sk);
	memcpy(c.key, m.key, 32);
	c.node = m.node;
	memset(c.overlay, 'o', IPOP_CERT_OVERLAY_MAX);
	if (ipop_cert_sign(&c, ca_sk) != 0 || ipop_cert_to_base64(&c, m.cert) != 0) {
		fprintf(stderr, "gen_seeds: cannot make the certificate seed\n");
		failures++;
	}
	snprintf(m.ufrag, sizeof(m.ufrag), "Ab3+");
	m.op = IPOP_LINK_REQUEST;
	put_stanza("link-request-cert", 0, ipop_linkmsg_build(ctx, "gw-2@example.org/ipop", "testnet", &m));
	m.op = IPOP_LINK_REPLY;
	put_stanza("link-reply-cert", 0, ipop_linkmsg_build(ctx, "gw-2@example.org/ipop", "testnet", &m));
	put_stanza("presence", 1, ipop_presence_build(ctx, m.node, m.key, NULL));
	xmpp_ctx_free(ctx);
}

/* Candidate values as libnice writes them (every type, with and without
 * raddr/rport, with "a="), and a few that one of the two parsers refuses. */
static void seeds_candidate(void)
{
	static const char *const seeds[][2] = {
		{ "host", "candidate:1 1 UDP 2013266431 10.92.1.2 51821 typ host" },
		{ "srflx", "candidate:2 1 UDP 1677721855 198.51.100.7 21034 typ srflx raddr 10.92.1.2 rport 51821" },
		{ "prflx", "candidate:3 1 UDP 1862270975 198.51.100.7 21035 typ prflx raddr 10.92.1.2 rport 51821" },
		{ "relay", "candidate:4 1 UDP 16777215 10.91.0.2 49160 typ relay raddr 198.51.100.7 rport 21034" },
		{ "a-host", "a=candidate:1 1 UDP 2013266431 10.92.1.2 51821 typ host" },
		{ "tcp", "candidate:5 1 TCP 2013266431 10.92.1.2 9 typ host tcptype active" },
		{ "ipv6", "candidate:6 1 UDP 2013266431 2001:db8::1 51821 typ host" },
		{ "component2", "candidate:7 2 UDP 2013266431 10.92.1.2 51822 typ host" },
		{ "port-too-big", "candidate:8 1 UDP 2013266431 10.92.1.2 99999 typ host" },
	};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		put("candidate", seeds[i][0], seeds[i][1], strlen(seeds[i][1]), NULL, 0);
}

/* Configurations: the smallest valid one, one with every group, one with an error. */
static void seeds_config(void)
{
	static const char minimal[] =
		"wan: { port = \"net_af_packet0\"; address = \"192.0.2.1/24\"; gateway = \"192.0.2.254\"; };\n"
		"lan: { port = \"net_af_packet1\"; };\n";
	static const char bad[] = "wan: { port = 5; };\n";

	put("config", "minimal", minimal, sizeof(minimal) - 1, NULL, 0);
	put("config", "bad-type", bad, sizeof(bad) - 1, NULL, 0);
}

int main(int argc, char **argv)
{
	struct hs_fixture hs;
	struct ipop_hs_resp resp;
	struct ipop_aead_mgr *mgr;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	mkdir(root, 0755);
	if (hs_fixture_rng_install() != 0 || hs_fixture_setup(&hs) != 0 ||
	    hs_fixture_response(&hs, &resp) != 0 || ipop_aead_mgr_create(&mgr) != 0) {
		fprintf(stderr, "gen_seeds: fixture setup failed\n");
		return 1;
	}
	seeds_wire(&hs, &resp);
	seeds_handshake(&hs, &resp);
	seeds_mss();
	seeds_dp(mgr, &hs);
	seeds_signal();
	seeds_candidate();
	seeds_config();
	ipop_aead_mgr_free(mgr);
	return failures ? 1 : 0;
}

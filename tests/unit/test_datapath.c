/* test_datapath.c - the LAN->WAN (send.c) and WAN->LAN (receive.c) paths on
 * real mbufs, between three simulated gateways A, B and C.
 *
 * Each gateway has its own bridge, stats, AEAD manager, reassembly table, and
 * output queues whose flush callback moves the mbufs into arrays the test reads.
 * Its fast-path table is built here by hand, as control/fib/table.c would publish it:
 * A has peers B (slot 1) and C (slot 2) and a session-less slot 0; B has A in
 * slot 3; C has A in slot 0. Every packet A puts on its WAN queue is copied
 * into one fresh contiguous mbuf ("the wire") before it is given to the
 * receiver, as a NIC would deliver it.
 *
 * Every drop the test provokes is checked on the drop counters, and the other
 * counters must not move. At the end all mbufs must be back in their pools.
 * Runs the EAL with --no-pci --no-huge --no-shconf -m 256 --no-telemetry. */
#include "tests/unit/check.h"
#include "tests/unit/refsum.h"
#include "tests/unit/test_eal.h"
#include "dataplane/datapath.h"
#include "dataplane/encap.h"
#include "dataplane/flood.h"
#include "dataplane/hsmac.h"
#include "dataplane/wire.h"
#include "dataplane/turn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <rte_eal.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <pthread.h>
#include <rte_ip_frag.h>
#include <sodium.h>

#define POOL_N   8191
#define IND_N    2047
#define JUMBO_N  63
#define SINK_CAP 1024
#define WAN_MTU  1500
#define NOW_S    1000
#define REASM_CAP 256   /* mbufs B's reassembly may hold */
#define MAX_UNFRAG (WAN_MTU - IPOP_IP_OVERHEAD)   /* largest frame sent unfragmented */

static struct rte_mempool *pool, *ind_pool, *jumbo_pool;

/* ---- output queues into arrays ---- */

enum { Q_WAN, Q_LAN, Q_HOST, Q_EXC, Q_CTRL, Q_N };
static const char *const q_name[Q_N] = { "wan", "lan", "host", "exc", "ctrl" };

struct sink {
	unsigned n;
	struct rte_mbuf *m[SINK_CAP];
};

static void sink_flush(struct ipop_pktq *q)
{
	struct sink *s = q->arg;

	for (uint16_t i = 0; i < q->n; i++) {
		if (s->n < SINK_CAP)
			s->m[s->n++] = q->pkts[i];
		else
			rte_pktmbuf_free(q->pkts[i]);
	}
	q->n = 0;
}

/* ---- gateways ---- */

struct gw {
	const char *name;
	struct ipop_dp_ctx c;
	struct ipop_bridge br;
	struct ipop_routes routes;
	struct ipop_lcore_stats *st;
	struct ipop_fp_table *t;
	struct ipop_pktq q[Q_N];
	struct sink s[Q_N];
	uint64_t want_drops[IPOP_DROP__MAX];   /* every drop the test expects */
};

static struct gw A, B, C;

/* The tests below move an entry's last-seen time backwards (learning "at"
 * NOW_S - 301) while the clock stands still: time travel that no lcore can do,
 * and that the lcore's bridge cache, whose answers hold for the current second,
 * does not see. Such a test starts the gateway's cache afresh. */
static void forget_cache(struct gw *g)
{
	memset(&g->c.mac_cache, 0, sizeof(g->c.mac_cache));
}
/* Sessions: kAB is A's session with B, kBA is B's with A, and so on. */
static struct ipop_keypair *kAB, *kBA, *kAC, *kCA;

/* Receiver indices (host order here; wire order in the keypairs). The low 12
 * bits are the by_index slot; the high bits are random in control/session/keypair.c. */
#define IDX_AB 0x5A5A5011u
#define IDX_BA 0xC3C3C7FFu
#define IDX_AC 0x12345022u
#define IDX_CA 0x0000F000u

#define SLOT_B_IN_A 1
#define SLOT_C_IN_A 2
#define SLOT_A_IN_B 3
#define SLOT_A_IN_C 0

static const struct rte_ether_addr mac_wan[3] = {
	{ { 0x02, 0xaa, 0, 0, 0, 0x01 } }, { { 0x02, 0xbb, 0, 0, 0, 0x02 } },
	{ { 0x02, 0xcc, 0, 0, 0, 0x03 } } };
/* LAN hosts behind A, B and C, and one more behind A. */
static const uint8_t HA[6] = { 0x52, 0x54, 0, 0, 0xa0, 0x01 };
static const uint8_t HA2[6] = { 0x52, 0x54, 0, 0, 0xa0, 0x02 };
static const uint8_t HB[6] = { 0x52, 0x54, 0, 0, 0xb0, 0x01 };
static const uint8_t HC[6] = { 0x52, 0x54, 0, 0, 0xc0, 0x01 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return htonl((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

/* Gateway me's place on the ring (as every table names it). */
static struct ipop_node_id gw_id(int me)
{
	return ipop_node_id_make((uint64_t)(me + 1) << 60, 0);
}

static struct ipop_fp_table *table_new(int me)
{
	/* aligned_alloc wants a multiple of the alignment (ASan enforces it). */
	struct ipop_fp_table *t = aligned_alloc(64, RTE_ALIGN_CEIL(sizeof(*t), 64));

	memset(t, 0, sizeof(*t));
	t->version = 1;
	t->wan_ip = ip4(10, 0, 0, (uint8_t)(1 + me));
	t->wan_port = htons((uint16_t)(51820 + me));
	t->wan_mac = mac_wan[me];
	t->wan_mtu = WAN_MTU;
	t->mss_clamp = WAN_MTU - IPOP_IP_OVERHEAD - 14 - 40;      /* as control/fib/table.c */
	t->tsc_hz = rte_get_tsc_hz();
	t->self_id = gw_id(me);
	return t;
}

/* The outer header template of a peer slot, as ipop_table_publish (control/fib/table.c) builds it. */
static void tmpl_set(struct ipop_fp_table *t, uint16_t slot)
{
	struct ipop_fp_peer *p = &t->peers[slot];
	struct ipop_encap_addr a = {
		.src_mac = t->wan_mac, .dst_mac = p->nh_mac, .src_ip = t->wan_ip,
		.dst_ip = p->ip, .src_port = t->wan_port, .dst_port = p->port,
	};

	p->hdr_sum = ipop_encap_template(p->hdr, &a);
	p->hdr_ok = 1;
}

static void peer_set(struct ipop_fp_table *t, uint16_t slot, int other, struct ipop_keypair *kp)
{
	struct ipop_fp_peer *p = &t->peers[slot];

	p->tx = kp;
	p->ip = ip4(10, 0, 0, (uint8_t)(1 + other));
	p->port = htons((uint16_t)(51820 + other));
	p->nh_mac = mac_wan[other];
	p->nh_valid = 1;
	p->up = 1;
	p->id = gw_id(other);
	tmpl_set(t, slot);
	if (slot >= t->n_peers)
		t->n_peers = (uint16_t)(slot + 1);
	ipop_fp_table_adjacency(t);
	t->by_index[ntohl(kp->local_index) & IPOP_INDEX_MASK] = kp;
}

static struct ipop_keypair *kp_new(uint32_t local, uint32_t remote, uint16_t slot)
{
	/* Room for keys of any cipher: send key's storage, then receive key's. */
	struct ipop_keypair *kp = aligned_alloc(64, sizeof(*kp) + 2 * IPOP_AEAD_KEY_MAX);

	memset(kp, 0, sizeof(*kp));
	kp->local_index = htonl(local);
	kp->remote_index = htonl(remote);
	kp->peer_slot = slot;
	kp->expire_tsc = UINT64_MAX;
	ipop_replay_init(&kp->replay);
	return kp;
}

/* Give a pair of sessions fresh keys: x sends with cipher cx what y receives,
 * y sends with cy. Counters and replay windows restart. */
static void keys_set(struct gw *gx, struct ipop_keypair *x, struct gw *gy,
		     struct ipop_keypair *y, int cx, int cy, uint8_t seed)
{
	uint8_t k1[IPOP_KEY_LEN], k2[IPOP_KEY_LEN];

	for (int i = 0; i < IPOP_KEY_LEN; i++) {
		k1[i] = (uint8_t)(seed + i * 13);
		k2[i] = (uint8_t)(seed ^ (i * 29 + 7));
	}
	CHECK(ipop_aead_key_init(gx->c.aead, &x->send_key, x->key_store, IPOP_AEAD_KEY_MAX,
				 cx, k1) == 0);
	CHECK(ipop_aead_key_init(gy->c.aead, &y->recv_key, y->key_store + IPOP_AEAD_KEY_MAX,
				 IPOP_AEAD_KEY_MAX, cx, k1) == 0);
	CHECK(ipop_aead_key_init(gy->c.aead, &y->send_key, y->key_store, IPOP_AEAD_KEY_MAX,
				 cy, k2) == 0);
	CHECK(ipop_aead_key_init(gx->c.aead, &x->recv_key, x->key_store + IPOP_AEAD_KEY_MAX,
				 IPOP_AEAD_KEY_MAX, cy, k2) == 0);
	x->send_counter = y->send_counter = 0;
	ipop_replay_init(&x->replay);
	ipop_replay_init(&y->replay);
}

static void gw_init(struct gw *g, const char *name, int me, int with_host)
{
	memset(g, 0, sizeof(*g));
	g->name = name;
	g->st = aligned_alloc(64, sizeof(*g->st));
	memset(g->st, 0, sizeof(*g->st));
	CHECK(ipop_bridge_init(&g->br, 4096, 300) == 0);
	CHECK(ipop_aead_mgr_create(&g->c.aead) == 0);
	g->c.bridge = &g->br;
	ipop_routes_init(&g->routes, 300);
	g->c.routes = &g->routes;
	g->c.st = g->st;
	g->c.pool = pool;
	g->c.indirect_pool = ind_pool;
	CHECK(ipop_reasm_init(&g->c.reasm, REASM_CAP, rte_get_tsc_hz(), SOCKET_ID_ANY) == 0);
	g->c.ip_id = (uint16_t)(me << 12);
	for (int i = 0; i < Q_N; i++) {
		g->q[i].flush = sink_flush;
		g->q[i].arg = &g->s[i];
	}
	g->c.q_wan = &g->q[Q_WAN];
	g->c.q_lan = &g->q[Q_LAN];
	g->c.q_host = with_host ? &g->q[Q_HOST] : NULL;
	g->c.q_exc = &g->q[Q_EXC];
	g->c.q_ctrl = &g->q[Q_CTRL];
	g->t = table_new(me);
}

static void gw_fini(struct gw *g)
{
	ipop_reasm_fini(&g->c.reasm);
	ipop_aead_mgr_free(g->c.aead);
	ipop_bridge_free(&g->br);
	free(g->t);
	free(g->st);
}

static void setup(void)
{
	gw_init(&A, "A", 0, 1);
	gw_init(&B, "B", 1, 0);
	gw_init(&C, "C", 2, 0);
	kAB = kp_new(IDX_AB, IDX_BA, SLOT_B_IN_A);
	kBA = kp_new(IDX_BA, IDX_AB, SLOT_A_IN_B);
	kAC = kp_new(IDX_AC, IDX_CA, SLOT_C_IN_A);
	kCA = kp_new(IDX_CA, IDX_AC, SLOT_A_IN_C);
	/* A's slot 0: a configured peer without a session (never flooded to). */
	A.t->peers[0].ip = ip4(10, 0, 0, 9);
	A.t->peers[0].port = htons(51829);
	peer_set(A.t, SLOT_B_IN_A, 1, kAB);
	peer_set(A.t, SLOT_C_IN_A, 2, kAC);
	peer_set(B.t, SLOT_A_IN_B, 0, kBA);
	peer_set(C.t, SLOT_A_IN_C, 0, kCA);
	keys_set(&A, kAB, &B, kBA, IPOP_CIPHER_AES256GCM, IPOP_CIPHER_CHACHA20POLY1305, 1);
	keys_set(&A, kAC, &C, kCA, IPOP_CIPHER_CHACHA20POLY1305, IPOP_CIPHER_AES256GCM, 2);
}

/* ---- running the paths ---- */

static void flush_all(struct gw *g)
{
	for (int i = 0; i < Q_N; i++)
		ipop_pktq_flush(&g->q[i]);
}

static void tick(struct gw *g)
{
	g->c.now_tsc = rte_rdtsc();
	g->c.now_s = NOW_S;
}

static void local_rx(struct gw *g, struct rte_mbuf **m, uint16_t n, uint16_t in_loc)
{
	tick(g);
	ipop_dp_local_rx(&g->c, g->t, m, n, in_loc);
	flush_all(g);
}

static void wan_rx(struct gw *g, struct rte_mbuf **m, uint16_t n)
{
	tick(g);
	ipop_dp_wan_rx(&g->c, g->t, m, n);
	flush_all(g);
}

/* Take everything from one output queue. */
static unsigned take(struct gw *g, int q, struct rte_mbuf **out, unsigned cap)
{
	struct sink *s = &g->s[q];
	unsigned n = s->n < cap ? s->n : cap;

	memcpy(out, s->m, n * sizeof(out[0]));
	for (unsigned i = n; i < s->n; i++)
		rte_pktmbuf_free(s->m[i]);
	s->n = 0;
	return n;
}

static void free_all(struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

/* All output queues empty? (reports which is not) */
static int quiet(struct gw *g, const char *what)
{
	int ok = 1;

	for (int i = 0; i < Q_N; i++) {
		if (g->s[i].n) {
			fprintf(stderr, "  %s: %s left %u packet(s) on %s\n", what, g->name,
				g->s[i].n, q_name[i]);
			ok = 0;
			free_all(g->s[i].m, g->s[i].n);
			g->s[i].n = 0;
		}
	}
	return ok;
}

static void all_quiet(const char *what)
{
	CHECK(quiet(&A, what));
	CHECK(quiet(&B, what));
	CHECK(quiet(&C, what));
}

static struct rte_mbuf *mk(struct rte_mempool *mp, const uint8_t *bytes, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	if (m == NULL)
		return NULL;
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(d, bytes, len);
	return m;
}

/* The wire: a contiguous copy of a (possibly chained) packet; frees m. */
static struct rte_mbuf *wire(struct rte_mbuf *m)
{
	struct rte_mbuf *w = rte_pktmbuf_alloc(pool);
	uint32_t len = rte_pktmbuf_pkt_len(m);
	uint8_t *d = w ? (uint8_t *)rte_pktmbuf_append(w, (uint16_t)len) : NULL;

	CHECK(d != NULL);
	if (d == NULL) {
		rte_pktmbuf_free(w);
		rte_pktmbuf_free(m);
		return NULL;
	}
	for (struct rte_mbuf *s = m; s != NULL; s = s->next) {
		memcpy(d, rte_pktmbuf_mtod(s, uint8_t *), s->data_len);
		d += s->data_len;
	}
	rte_pktmbuf_free(m);
	return w;
}

static int same(struct rte_mbuf *m, const uint8_t *bytes, uint32_t len)
{
	return m != NULL && m->nb_segs == 1 && rte_pktmbuf_pkt_len(m) == len &&
	       memcmp(rte_pktmbuf_mtod(m, uint8_t *), bytes, len) == 0;
}

/* ---- drop accounting ---- */

/* Record the drops a step is expected to cause at g and check the counters:
 * every reason must equal the running expectation (so no other reason moved). */
static void drops_expect(struct gw *g, enum ipop_drop why, uint64_t n, const char *what)
{
	g->want_drops[why] += n;
	for (unsigned r = 0; r < IPOP_DROP__MAX; r++) {
		CHECK(g->st->drops[r] == g->want_drops[r]);
		if (g->st->drops[r] != g->want_drops[r])
			fprintf(stderr, "  %s: %s drops[%s] = %lu, expected %lu\n", what, g->name,
				ipop_drop_name(r), (unsigned long)g->st->drops[r],
				(unsigned long)g->want_drops[r]);
	}
}

static void drops_none(struct gw *g, const char *what)
{
	drops_expect(g, IPOP_DROP_WAN_SHORT, 0, what);
}

/* ---- frame builders (independent of the code under test) ---- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* An Ethernet frame of len bytes with ethertype type and a patterned body. */
static uint32_t frame_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type,
			  uint32_t len, uint32_t seed)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	for (uint32_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
	return len;
}

/* An Ethernet + IPv4 + UDP frame of len bytes (inner traffic of a LAN). */
static uint32_t frame_udp4(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint32_t len,
			   int df, uint32_t seed)
{
	frame_eth(f, dst, src, 0x0800, len, seed);
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint32_t tot = len - 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
	ip[4] = (uint8_t)(seed >> 8), ip[5] = (uint8_t)seed;
	ip[6] = df ? 0x40 : 0;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, "\xc0\xa8\x01\x0a\xc0\xa8\x01\x14", 8);
	ref_ip_csum_set(ip);
	udp[0] = 0x30, udp[1] = 0x39, udp[2] = 0x13, udp[3] = 0x89;
	udp[4] = (uint8_t)((tot - 20) >> 8), udp[5] = (uint8_t)(tot - 20);
	udp[6] = udp[7] = 0;
	return len;
}

/* An outer Ethernet/IPv4 packet to g's WAN address carrying payload; proto 17
 * adds a UDP header with dport. */
static uint32_t frame_outer(uint8_t *f, const struct gw *to, uint8_t proto, uint16_t dport,
			    const uint8_t *payload, uint32_t plen)
{
	uint32_t l4 = proto == 17 ? 8 : 0;
	uint32_t tot = 20 + l4 + plen;
	uint8_t *ip = f + 14;

	memcpy(f, to->t->wan_mac.addr_bytes, 6);
	memcpy(f + 6, mac_wan[0].addr_bytes, 6);
	f[12] = 0x08, f[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &A.t->wan_ip, 4);
	memcpy(ip + 16, &to->t->wan_ip, 4);
	ref_ip_csum_set(ip);
	if (l4) {
		uint8_t *u = ip + 20;
		memcpy(u, &A.t->wan_port, 2);
		u[2] = (uint8_t)(dport >> 8), u[3] = (uint8_t)dport;
		u[4] = (uint8_t)((plen + 8) >> 8), u[5] = (uint8_t)(plen + 8);
		u[6] = u[7] = 0;
	}
	memcpy(ip + 20 + l4, payload, plen);
	return 14 + tot;
}

/* Check the outer headers of an unfragmented tunnel packet from g to peer slot
 * of g's table (a data message, or a flood or transit message with its
 * fabric header);
 * returns the data header or NULL. */
static const uint8_t *check_outer(struct rte_mbuf *m, const struct gw *g, uint16_t slot,
				  uint32_t inner_len)
{
	const struct ipop_fp_peer *p = &g->t->peers[slot];
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *ip = f + 14, *udp = ip + 20;
	uint32_t len = rte_pktmbuf_pkt_len(m);

	bool flood = f[14 + 20 + 8] == IPOP_MSG_FLOOD || f[14 + 20 + 8] == IPOP_MSG_TRANSIT;

	CHECK(m->nb_segs == 1);
	CHECK(len == 14 + 20 + 8 + IPOP_DATA_OVERHEAD + (flood ? IPOP_FABRIC_HDR_LEN : 0) + inner_len);
	CHECK(memcmp(f, p->nh_mac.addr_bytes, 6) == 0);
	CHECK(memcmp(f + 6, g->t->wan_mac.addr_bytes, 6) == 0);
	CHECK(be16(f + 12) == 0x0800);
	CHECK(ip[0] == 0x45);
	CHECK(be16(ip + 2) == len - 14);
	CHECK((be16(ip + 6) & 0xbfff) == 0);          /* not a fragment */
	CHECK((be16(ip + 6) & 0x4000) == 0);          /* DF clear: ipop fragments itself */
	CHECK(ip[8] == 64);
	CHECK(ip[9] == 17);
	CHECK(ref_ip_csum_ok(ip));
	CHECK(memcmp(ip + 12, &g->t->wan_ip, 4) == 0);
	CHECK(memcmp(ip + 16, &p->ip, 4) == 0);
	CHECK(memcmp(udp, &g->t->wan_port, 2) == 0);
	CHECK(memcmp(udp + 2, &p->port, 2) == 0);
	CHECK(be16(udp + 4) == len - 14 - 20);
	CHECK(be16(udp + 6) == 0);                    /* UDP checksum 0 (AEAD covers it) */
	const uint8_t *h = udp + 8;
	CHECK((h[0] == IPOP_MSG_DATA || flood) && h[1] == IPOP_WIRE_VERSION && h[2] == 0 && h[3] == 0);
	CHECK(memcmp(h + 4, &p->tx->remote_index, 4) == 0);
	return h;
}

/* Wire the whole WAN output of g into out (contiguous copies). */
static unsigned wan_out(struct gw *g, struct rte_mbuf **out, unsigned cap)
{
	unsigned n = take(g, Q_WAN, out, cap);

	for (unsigned i = 0; i < n; i++)
		out[i] = wire(out[i]);
	return n;
}

/* Which gateway a tunnel packet is addressed to. */
static struct gw *dest_of(struct rte_mbuf *m)
{
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, 14);

	if (memcmp(ip + 16, &B.t->wan_ip, 4) == 0)
		return &B;
	if (memcmp(ip + 16, &C.t->wan_ip, 4) == 0)
		return &C;
	if (memcmp(ip + 16, &A.t->wan_ip, 4) == 0)
		return &A;
	return NULL;
}

/* Send one frame from g's LAN; return its sealed packets (wired). */
static unsigned send1(struct gw *g, const uint8_t *f, uint32_t len, struct rte_mbuf **out,
		      unsigned cap)
{
	struct rte_mbuf *m = mk(pool, f, len);

	CHECK(m != NULL);
	local_rx(g, &m, 1, IPOP_LOC_LAN);
	return wan_out(g, out, cap);
}

/* ---- tests ---- */

/* B's LAN host broadcasts (an ARP request): A learns HB behind B and delivers
 * the broadcast to its LAN and to its host port. */
static void test_learn_from_broadcast(void)
{
	uint8_t f[60];
	struct rte_mbuf *out[8], *got[8];

	frame_eth(f, BCAST, HB, 0x0806, 60, 1);
	unsigned n = send1(&B, f, 60, out, 8);
	CHECK(n == 1);                                  /* B's flood set: A only */
	CHECK(B.st->flooded == 1);
	CHECK(ipop_bridge_lookup(&B.br, HB, NOW_S) == IPOP_LOC_LAN);
	if (n != 1)
		return;
	const uint8_t *h = check_outer(out[0], &B, SLOT_A_IN_B, 60);
	CHECK(be64(h + 8) == 0);                        /* B's first counter */
	CHECK(dest_of(out[0]) == &A);
	wan_rx(&A, out, 1);
	CHECK(take(&A, Q_LAN, got, 8) == 1 && same(got[0], f, 60));
	free_all(got, 1);
	CHECK(take(&A, Q_HOST, got, 8) == 1 && same(got[0], f, 60));
	free_all(got, 1);
	CHECK(ipop_bridge_lookup(&A.br, HB, NOW_S) == SLOT_B_IN_A);
	CHECK(A.st->decrypted == 1 && A.st->peer[SLOT_B_IN_A].rx_packets == 1);
	CHECK(A.st->peer[SLOT_B_IN_A].rx_bytes == 60);
	CHECK(kAB->rx_confirmed == 1);
	all_quiet("bcast");
	drops_none(&A, "bcast");
	drops_none(&B, "bcast");
}

/* Unicast A -> B: sealed, right headers, counters 0,1,2, byte-identical out of
 * B's LAN queue, B learns HA behind A's slot. */
static void test_unicast(void)
{
	static const uint32_t lens[3] = { 60, 333, 1000 };
	uint8_t f[3][1024];
	struct rte_mbuf *m[3], *out[8], *got[8];

	for (int i = 0; i < 3; i++) {
		frame_udp4(f[i], HB, HA, lens[i], 1, (uint32_t)i);
		m[i] = mk(pool, f[i], lens[i]);
	}
	uint64_t enc0 = A.st->encrypted;
	local_rx(&A, m, 3, IPOP_LOC_LAN);
	CHECK(ipop_bridge_lookup(&A.br, HA, NOW_S) == IPOP_LOC_LAN);
	unsigned n = wan_out(&A, out, 8);
	CHECK(n == 3);
	CHECK(A.st->encrypted - enc0 == 3);
	CHECK(A.st->peer[SLOT_B_IN_A].tx_packets == 3);
	CHECK(A.st->peer[SLOT_B_IN_A].tx_bytes == 60 + 333 + 1000);
	CHECK(kAB->send_counter == 3);
	if (n != 3)
		return;
	for (unsigned i = 0; i < 3; i++) {
		const uint8_t *h = check_outer(out[i], &A, SLOT_B_IN_A, lens[i]);
		CHECK(be64(h + 8) == i);
		CHECK(be32(h + 4) == IDX_BA);
		/* Encrypted: the plaintext is not in the packet. */
		CHECK(memcmp(h + 16 + 14, f[i] + 14, lens[i] - 14) != 0);
		CHECK(dest_of(out[i]) == &B);
	}
	wan_rx(&B, out, 3);
	n = take(&B, Q_LAN, got, 8);
	CHECK(n == 3);
	for (unsigned i = 0; i < n; i++)
		CHECK(same(got[i], f[i], lens[i]));
	free_all(got, n);
	CHECK(ipop_bridge_lookup(&B.br, HA, NOW_S) == SLOT_A_IN_B);
	CHECK(B.st->decrypted == 3);
	CHECK(B.st->peer[SLOT_A_IN_B].rx_packets == 3);
	CHECK(B.st->peer[SLOT_A_IN_B].rx_bytes == 60 + 333 + 1000);
	CHECK(kBA->rx_confirmed == 1);
	all_quiet("unicast");
	drops_none(&A, "unicast");
	drops_none(&B, "unicast");

	/* And back: B -> A unicast to HA goes to A's LAN only (HA is known there). */
	uint8_t r[200];
	frame_udp4(r, HA, HB, 200, 0, 9);
	n = send1(&B, r, 200, out, 8);
	CHECK(n == 1);
	if (n != 1)
		return;
	CHECK(be64(check_outer(out[0], &B, SLOT_A_IN_B, 200) + 8) == 1);
	wan_rx(&A, out, 1);
	CHECK(take(&A, Q_LAN, got, 8) == 1 && same(got[0], r, 200));
	free_all(got, 1);
	all_quiet("reverse");
	drops_none(&A, "reverse");
	drops_none(&B, "reverse");
}

/* Frames between local ports, and frames that must not leave. */
static void test_local(void)
{
	uint8_t f[100];
	struct rte_mbuf *m, *got[4];

	/* HA2 speaks first (learnt on the LAN); HA -> HA2 is the switch's job. */
	frame_eth(f, BCAST, HA2, 0x88b5, 100, 3);
	m = mk(pool, f, 100);
	local_rx(&A, &m, 1, IPOP_LOC_LAN);
	CHECK(A.s[Q_WAN].n == 2 && A.s[Q_HOST].n == 1);   /* B, C and the host */
	for (int q = 0; q < Q_N; q++) {
		free_all(A.s[q].m, A.s[q].n);
		A.s[q].n = 0;
	}
	frame_eth(f, HA2, HA, 0x88b5, 100, 4);
	m = mk(pool, f, 100);
	local_rx(&A, &m, 1, IPOP_LOC_LAN);
	drops_expect(&A, IPOP_DROP_LAN_LOCAL, 1, "lan_local");
	all_quiet("lan_local");

	/* From the host port to a LAN MAC: to the LAN queue, not to a peer. */
	frame_eth(f, HA, HA2, 0x88b5, 100, 5);
	memcpy(f + 6, "\x02\x00\x00\x00\x11\x11", 6);
	m = mk(pool, f, 100);
	local_rx(&A, &m, 1, IPOP_LOC_HOST);
	CHECK(take(&A, Q_LAN, got, 4) == 1 && same(got[0], f, 100));
	free_all(got, 1);
	all_quiet("host->lan");

	/* Source MAC multicast or zero: dropped, nothing learnt. */
	frame_eth(f, HB, BCAST, 0x88b5, 100, 6);
	m = mk(pool, f, 100);
	local_rx(&A, &m, 1, IPOP_LOC_LAN);
	memset(f + 6, 0, 6);
	m = mk(pool, f, 100);
	local_rx(&A, &m, 1, IPOP_LOC_LAN);
	drops_expect(&A, IPOP_DROP_LAN_SRC, 2, "lan_src");
	/* Shorter than an Ethernet header. */
	m = mk(pool, f, 13);
	local_rx(&A, &m, 1, IPOP_LOC_LAN);
	drops_expect(&A, IPOP_DROP_INNER_SHORT, 1, "lan short");
	all_quiet("lan bad");
}

/* Broadcast and unknown unicast from A's LAN: a sealed copy to every peer in
 * the flood set and one to the host port; B and C deliver them. */
static void test_flood(void)
{
	uint8_t f[2][300];
	uint8_t unknown[6] = { 0x52, 0x54, 0, 0, 0xee, 0xee };
	struct rte_mbuf *out[8], *got[8];

	frame_eth(f[0], BCAST, HA, 0x0806, 60, 7);
	frame_udp4(f[1], unknown, HA, 300, 0, 8);
	for (int k = 0; k < 2; k++) {
		uint32_t len = k ? 300 : 60;
		uint64_t fl = A.st->flooded;
		unsigned n = send1(&A, f[k], len, out, 8);
		CHECK(A.st->flooded == fl + 1);
		CHECK(n == 2);
		CHECK(take(&A, Q_HOST, got, 8) == 1 && same(got[0], f[k], len));
		free_all(got, 1);
		if (n != 2)
			continue;
		int seen_b = 0, seen_c = 0;
		for (unsigned i = 0; i < n; i++) {
			struct gw *d = dest_of(out[i]);
			uint16_t slot = d == &B ? SLOT_B_IN_A : SLOT_C_IN_A;
			check_outer(out[i], &A, slot, len);
			seen_b += d == &B;
			seen_c += d == &C;
			if (d == NULL) {
				rte_pktmbuf_free(out[i]);
				continue;
			}
			wan_rx(d, &out[i], 1);
			CHECK(take(d, Q_LAN, got, 8) == 1 && same(got[0], f[k], len));
			free_all(got, 1);
			CHECK(ipop_bridge_lookup(&d->br, HA, NOW_S) ==
			      (d == &B ? SLOT_A_IN_B : SLOT_A_IN_C));
		}
		CHECK(seen_b == 1 && seen_c == 1);
	}
	all_quiet("flood");
	drops_none(&A, "flood");
	drops_none(&B, "flood");
	drops_none(&C, "flood");

	/* Without a host port the broadcast goes to the peers only. */
	struct ipop_pktq *host = A.c.q_host;
	A.c.q_host = NULL;
	unsigned n = send1(&A, f[0], 60, out, 8);
	CHECK(n == 2);
	free_all(out, n);
	all_quiet("flood nohost");
	/* No peers and no host port: nowhere to go. */
	uint16_t nf = A.t->n_adj;
	A.t->n_adj = 0;
	n = send1(&A, f[0], 60, out, 8);
	CHECK(n == 0);
	drops_expect(&A, IPOP_DROP_NO_FLOOD_TARGET, 1, "no flood target");
	A.t->n_adj = nf;
	A.c.q_host = host;
	all_quiet("flood");

	/* A burst of broadcasts interleaves the sessions in the seal batch (B, C,
	 * B, C, ...): each session's counters are still consecutive, in frame
	 * order, and its send counter moves by exactly its share. */
	{
		enum { NB = 5 };
		struct rte_mbuf *in[NB], *o[2 * NB + 2];
		uint64_t b0 = kAB->send_counter, c0 = kAC->send_counter;
		for (int i = 0; i < NB; i++) {
			frame_eth(f[0], BCAST, HA, 0x0806, 60, 100 + (uint32_t)i);
			in[i] = mk(pool, f[0], 60);
		}
		local_rx(&A, in, NB, IPOP_LOC_LAN);
		unsigned no = wan_out(&A, o, RTE_DIM(o));
		CHECK(no == 2 * NB);
		CHECK(kAB->send_counter == b0 + NB && kAC->send_counter == c0 + NB);
		uint64_t next_b = b0, next_c = c0;
		for (unsigned i = 0; i < no; i++) {
			struct gw *d = dest_of(o[i]);
			const uint8_t *msg = rte_pktmbuf_mtod(o[i], uint8_t *) + IPOP_OUTER_HDR_LEN;
			uint64_t ctr = be64(msg + 8);
			CHECK(d == &B || d == &C);
			if (d == &B)
				CHECK(ctr == next_b++);
			else if (d == &C)
				CHECK(ctr == next_c++);
		}
		CHECK(next_b == b0 + NB && next_c == c0 + NB);
		free_all(o, no);
		unsigned nh = take(&A, Q_HOST, o, RTE_DIM(o));
		CHECK(nh == NB);
		free_all(o, nh);
	}
	all_quiet("flood burst");
}

/* One sealed A -> B packet for HB (wired), with a given inner length. */
static struct rte_mbuf *sealed_ab(uint8_t *f, uint32_t len, uint32_t seed)
{
	struct rte_mbuf *out[4];

	frame_udp4(f, HB, HA, len, 1, seed);
	unsigned n = send1(&A, f, len, out, 4);
	CHECK(n == 1);
	if (n != 1) {
		free_all(out, n);
		return NULL;
	}
	return out[0];
}

static int deliver_b(struct rte_mbuf *m, const uint8_t *f, uint32_t len)
{
	struct rte_mbuf *got[4];

	wan_rx(&B, &m, 1);
	unsigned n = take(&B, Q_LAN, got, 4);
	int ok = n == 1 && same(got[0], f, len);
	free_all(got, n);
	return ok;
}

static struct rte_mbuf *dup(struct rte_mbuf *m)
{
	return rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
}

static void test_tamper_replay(void)
{
	uint8_t f[200];
	struct rte_mbuf *m = sealed_ab(f, 200, 20), *t[6];

	if (m == NULL)
		return;
	for (int i = 0; i < 6; i++)
		t[i] = dup(m);
	rte_pktmbuf_mtod(t[0], uint8_t *)[IPOP_OUTER_HDR_LEN + 16 + 50] ^= 0x01;  /* ciphertext */
	rte_pktmbuf_mtod(t[1], uint8_t *)[rte_pktmbuf_pkt_len(m) - 1] ^= 0x80;   /* tag */
	rte_pktmbuf_mtod(t[2], uint8_t *)[IPOP_OUTER_HDR_LEN + 15] ^= 0x40;      /* counter */
	rte_pktmbuf_mtod(t[3], uint8_t *)[IPOP_OUTER_HDR_LEN + 16] ^= 0x02;      /* first byte */
	/* Truncated by one byte at the end (the UDP length says so too). */
	rte_pktmbuf_trim(t[4], 1);
	uint8_t *ip4h = rte_pktmbuf_mtod(t[4], uint8_t *) + 14;
	ip4h[3]--, ip4h[20 + 5]--;                /* IPv4 and UDP lengths */
	ref_ip_csum_set(ip4h);
	/* Reserved header byte set: not even a data message. */
	rte_pktmbuf_mtod(t[5], uint8_t *)[IPOP_OUTER_HDR_LEN + 3] = 1;
	wan_rx(&B, t, 6);
	B.want_drops[IPOP_DROP_WAN_TYPE] += 1;                   /* t[5] */
	drops_expect(&B, IPOP_DROP_WAN_AUTH, 5, "tampered");
	all_quiet("tampered");

	/* The forgeries moved nothing: the genuine packet still goes through, once. */
	struct rte_mbuf *again = dup(m);
	CHECK(deliver_b(m, f, 200));
	wan_rx(&B, &again, 1);
	drops_expect(&B, IPOP_DROP_WAN_REPLAY, 1, "replay");
	all_quiet("replay");

	/* The same packet twice in one burst: the second is caught after opening. */
	m = sealed_ab(f, 120, 21);
	if (m == NULL)
		return;
	struct rte_mbuf *pair[2] = { m, dup(m) };
	wan_rx(&B, pair, 2);
	struct rte_mbuf *got[4];
	unsigned n = take(&B, Q_LAN, got, 4);
	CHECK(n == 1 && same(got[0], f, 120));
	free_all(got, n);
	drops_expect(&B, IPOP_DROP_WAN_REPLAY, 1, "replay in burst");

	/* Counters: jump ahead, then one far behind (outside the window) is too
	 * old, one inside the window that was never seen is accepted. */
	kAB->send_counter = 10000;
	CHECK((m = sealed_ab(f, 100, 22)) && deliver_b(m, f, 100));
	kAB->send_counter = 10000 - IPOP_REPLAY_WINDOW - 100;
	m = sealed_ab(f, 100, 23);
	wan_rx(&B, &m, 1);
	drops_expect(&B, IPOP_DROP_WAN_OLD, 1, "too old");
	kAB->send_counter = 9000;
	CHECK((m = sealed_ab(f, 100, 24)) && deliver_b(m, f, 100));
	kAB->send_counter = 10001;
	all_quiet("window");
}

/* A's next packet to B sealed with session kp instead of kAB (another of A's
 * sessions with B, e.g. the one before a rekey). */
static struct rte_mbuf *sealed_ab_with(struct ipop_keypair *kp, uint8_t *f, uint32_t len,
				       uint32_t seed)
{
	struct ipop_keypair *cur = A.t->peers[SLOT_B_IN_A].tx;

	A.t->peers[SLOT_B_IN_A].tx = kp;
	struct rte_mbuf *m = sealed_ab(f, len, seed);
	A.t->peers[SLOT_B_IN_A].tx = cur;
	return m;
}

#define IDX_AB2 0x0BADC033u
#define IDX_BA2 0x7E57A044u
#define RUNS_N 14

/* The receive batch takes each run of one session's authenticated ops in one
 * ipop_replay_accept_run: one burst at B mixing two of A's sessions (runs
 * A1 A1 A1 | A2 A2 | A1 A1 ...), a forged copy of a genuine packet inside a
 * run, in front of it (the forgery must not mark its counter: the genuine one
 * after it is delivered), duplicates in the same run and across runs, and a
 * counter the same run's newest moved out of the window. Frames are still
 * handled in batch order. */
static void test_replay_runs(void)
{
	struct ipop_keypair *kAB2 = kp_new(IDX_AB2, IDX_BA2, SLOT_B_IN_A);
	struct ipop_keypair *kBA2 = kp_new(IDX_BA2, IDX_AB2, SLOT_A_IN_B);
	uint8_t f[RUNS_N][160];
	struct rte_mbuf *m[RUNS_N], *p[RUNS_N + 8], *got[RUNS_N + 8];
	unsigned n = 0, want[RUNS_N], nwant = 0;

	keys_set(&A, kAB2, &B, kBA2, IPOP_CIPHER_AES256GCM, IPOP_CIPHER_AES256GCM, 9);
	B.t->by_index[IDX_BA2 & IPOP_INDEX_MASK] = kBA2;
	uint64_t c1 = kAB->send_counter;
	for (unsigned i = 0; i < RUNS_N; i++) {
		struct ipop_keypair *kp = i % 2 ? kAB2 : kAB;
		if (i == 10)     /* far ahead of the run's others: then 12 is too old */
			kAB->send_counter = c1 + 40 + IPOP_REPLAY_WINDOW;
		if (i == 12)
			kAB->send_counter = c1 + 30;
		m[i] = sealed_ab_with(kp, f[i], 100 + i, 300 + i);
		if (m[i] == NULL) {
			free_all(m, i);
			free(kAB2), free(kBA2);
			return;
		}
	}
	kAB->send_counter = c1 + 41 + IPOP_REPLAY_WINDOW;
	/* Even i: kAB, counters c1 .. c1 + 4, then c1 + 40 + W and c1 + 30; odd
	 * i: kAB2, counters 0 .. 6. */
	struct rte_mbuf *forged = dup(m[4]);
	rte_pktmbuf_mtod(forged, uint8_t *)[IPOP_OUTER_HDR_LEN + 16 + 20] ^= 0x10;
#define PUT(i) (p[n++] = m[i], want[nwant++] = (i))
	PUT(0); PUT(2);                  /* run 1: kAB */
	p[n++] = forged;                 /* the counter of m[4], forged */
	PUT(4);
	p[n++] = dup(m[0]);              /* in the same run */
	PUT(1); PUT(3);                  /* run 2: kAB2 */
	p[n++] = dup(m[1]);              /* in the same run */
	p[n++] = dup(m[2]);              /* run 3: kAB; from an earlier run */
	PUT(6); PUT(8);
	p[n++] = dup(m[8]);
	PUT(10);
	p[n++] = m[12];                  /* moved out of the window by m[10] */
	PUT(7); PUT(5); PUT(13); PUT(9); PUT(11);   /* run 4: kAB2, reordered */
#undef PUT
	CHECK(n <= IPOP_DP_BATCH);
	wan_rx(&B, p, (uint16_t)n);
	unsigned k = take(&B, Q_LAN, got, RUNS_N + 8);
	CHECK(k == nwant);
	for (unsigned i = 0; i < k && i < nwant; i++) {
		uint32_t id = want[i];
		CHECK(same(got[i], f[id], 100 + id));
	}
	free_all(got, k);
	B.want_drops[IPOP_DROP_WAN_AUTH] += 1;       /* the forgery */
	B.want_drops[IPOP_DROP_WAN_OLD] += 1;        /* m[12] */
	drops_expect(&B, IPOP_DROP_WAN_REPLAY, 4, "runs");
	all_quiet("runs");
	/* Each session's window holds what it accepted, and nothing else. */
	CHECK(ipop_replay_check(&kBA2->replay, 7) == 0);
	for (uint64_t c = 0; c < 7; c++)
		CHECK(ipop_replay_check(&kBA2->replay, c) == -EALREADY);
	CHECK(ipop_replay_check(&kBA->replay, c1 + 40 + IPOP_REPLAY_WINDOW) == -EALREADY);
	CHECK(ipop_replay_check(&kBA->replay, c1 + 30) == -ERANGE);
	CHECK(ipop_replay_check(&kBA->replay, c1 + 41 + IPOP_REPLAY_WINDOW) == 0);
	B.t->by_index[IDX_BA2 & IPOP_INDEX_MASK] = NULL;
	free(kAB2), free(kBA2);
}

static void set_index(struct rte_mbuf *m, uint32_t idx)
{
	uint32_t w = htonl(idx);

	memcpy(rte_pktmbuf_mtod(m, uint8_t *) + IPOP_OUTER_HDR_LEN + 4, &w, 4);
}

/* STUN to an agent's port is copied to control at most
 * IPOP_DP_STUN_COPIES_PER_S a second per worker (the rest counted, all of it
 * still to the kernel); indications are not copied; a new second starts a
 * new budget. */
/* B's WAN rx in second sec of the workers' clock. */
static void wan_rx_sec(struct rte_mbuf **m, uint16_t n, uint32_t sec)
{
	B.c.now_s = sec;
	ipop_dp_wan_rx(&B.c, B.t, m, n);
	flush_all(&B);
	B.c.now_s = NOW_S;
}

static void test_stun_copies(uint16_t base)
{
	uint8_t raw[400], pl[28];
	struct rte_mbuf *in[IPOP_DP_STUN_COPIES_PER_S + 44], *got[64];
	const unsigned n = RTE_DIM(in);
	unsigned copies = 0, exc = 0, g;

	memset(pl, 0, sizeof(pl));
	memcpy(pl, "\x00\x01\x00\x08\x21\x12\xa4\x42", 8);
	uint64_t sc = B.st->stun_ctrl, shed = B.st->stun_ctrl_shed;
	for (unsigned i = 0; i < n; i++)
		in[i] = mk(pool, raw, frame_outer(raw, &B, 17, (uint16_t)(base + 9), pl, 28));
	for (unsigned i = 0; i < n; i += 32) {
		wan_rx_sec(in + i, (uint16_t)RTE_MIN(32u, n - i), NOW_S + 7);
		while ((g = take(&B, Q_CTRL, got, 64)) > 0) {
			copies += g;
			free_all(got, g);
		}
		while ((g = take(&B, Q_EXC, got, 64)) > 0) {
			exc += g;
			free_all(got, g);
		}
	}
	CHECK(copies == IPOP_DP_STUN_COPIES_PER_S && exc == n);
	CHECK(B.st->stun_ctrl == sc + IPOP_DP_STUN_COPIES_PER_S);
	CHECK(B.st->stun_ctrl_shed == shed + 44);
	/* The next second: copied again; a Binding indication never. */
	in[0] = mk(pool, raw, frame_outer(raw, &B, 17, (uint16_t)(base + 9), pl, 28));
	pl[1] = 0x11;
	in[1] = mk(pool, raw, frame_outer(raw, &B, 17, (uint16_t)(base + 9), pl, 28));
	wan_rx_sec(in, 2, NOW_S + 8);
	g = take(&B, Q_CTRL, got, 64);
	CHECK(g == 1);
	free_all(got, g);
	g = take(&B, Q_EXC, got, 64);
	CHECK(g == 2);
	free_all(got, g);
	/* From the TURN server (A's address stands for it): a Data indication (a
	 * member's check through our relay before a channel is bound) is copied
	 * like a check (stun_ctrl), a success response for the TURN watch
	 * (turn_ctrl), a Binding indication not at all; all go to the kernel. */
	uint32_t tip = B.t->turn_ip;
	uint64_t tc = B.st->turn_ctrl;
	B.t->turn_ip = A.t->wan_ip;
	sc = B.st->stun_ctrl;
	pl[0] = 0x00, pl[1] = 0x17;
	in[0] = mk(pool, raw, frame_outer(raw, &B, 17, (uint16_t)(base + 9), pl, 28));
	pl[1] = 0x11;
	in[1] = mk(pool, raw, frame_outer(raw, &B, 17, (uint16_t)(base + 9), pl, 28));
	pl[0] = 0x01, pl[1] = 0x01;
	in[2] = mk(pool, raw, frame_outer(raw, &B, 17, (uint16_t)(base + 9), pl, 28));
	wan_rx_sec(in, 3, NOW_S + 9);
	B.t->turn_ip = tip;
	CHECK(B.st->stun_ctrl == sc + 1 && B.st->turn_ctrl == tc + 1);
	g = take(&B, Q_CTRL, got, 64);
	CHECK(g == 2);
	if (g == 2)
		CHECK(rte_pktmbuf_mtod_offset(got[0], const uint8_t *, IPOP_OUTER_HDR_LEN)[1] == 0x17);
	free_all(got, g);
	g = take(&B, Q_EXC, got, 64);
	CHECK(g == 3);
	free_all(got, g);
}

/* With ICE (wan_port_span > 0) tunnel messages are taken on the agents' ports
 * after wan.port too: the selected pair's 5-tuple carries the data. STUN there
 * goes to the kernel (stun_exc), anything else that is not ipop's too
 * (ice_port_exc: TURN ChannelData for the agent); past the span it is not a
 * tunnel port at all. */
static void test_ice_ports(void)
{
	uint8_t f[200], stun_pl[32], raw[400];
	struct rte_mbuf *m, *got[4];
	uint16_t base = ntohs(B.t->wan_port);

	B.t->wan_port_span = 64;
	/* A's data sealed for B, readdressed to an agent's port (the outer UDP
	 * checksum is zero; the IPv4 header does not cover ports). */
	CHECK((m = sealed_ab(f, 100, 30)) != NULL);
	if (m == NULL)
		return;
	uint8_t *u = rte_pktmbuf_mtod(m, uint8_t *) + 14 + 20;
	u[2] = (uint8_t)((base + 5) >> 8), u[3] = (uint8_t)(base + 5);
	CHECK(deliver_b(m, f, 100));
	CHECK((m = sealed_ab(f, 100, 31)) != NULL);
	if (m == NULL)
		return;
	u = rte_pktmbuf_mtod(m, uint8_t *) + 14 + 20;
	u[2] = (uint8_t)((base + 64) >> 8), u[3] = (uint8_t)(base + 64);
	CHECK(deliver_b(m, f, 100));                       /* the last port of the span */
	memset(stun_pl, 0, sizeof(stun_pl));
	memcpy(stun_pl, "\x00\x01\x00\x08\x21\x12\xa4\x42", 8);
	uint64_t exc = B.st->exc_tx, se = B.st->stun_exc, ie = B.st->ice_port_exc;
	struct rte_mbuf *in[3];
	in[0] = mk(pool, raw, frame_outer(raw, &B, 17, (uint16_t)(base + 5), stun_pl, 28));
	stun_pl[0] = 0x40;                                 /* ChannelData 0x4000 */
	stun_pl[3] = 24;                                   /* its length: not an ipop message */
	stun_pl[4] = 0;
	in[1] = mk(pool, raw, frame_outer(raw, &B, 17, (uint16_t)(base + 5), stun_pl, 28));
	CHECK((m = sealed_ab(f, 100, 32)) != NULL);
	if (m == NULL)
		return;
	u = rte_pktmbuf_mtod(m, uint8_t *) + 14 + 20;
	u[2] = (uint8_t)((base + 65) >> 8), u[3] = (uint8_t)(base + 65);
	in[2] = m;                                         /* past the span: the host's */
	uint64_t sc = B.st->stun_ctrl;
	wan_rx(&B, in, 3);
	CHECK(B.st->stun_exc == se + 1 && B.st->ice_port_exc == ie + 1 && B.st->exc_tx == exc + 3);
	unsigned g = take(&B, Q_EXC, got, 4);
	CHECK(g == 3);
	free_all(got, g);
	/* The STUN request is also copied to control, for its integrity check. */
	CHECK(B.st->stun_ctrl == sc + 1);
	g = take(&B, Q_CTRL, got, 4);
	CHECK(g == 1);
	free_all(got, g);
	/* A member's Binding request through our relay (ChannelData holding
	 * STUN): to the kernel for the agent, and a copy to control; a Binding
	 * indication inside (a keepalive) only to the kernel. */
	uint8_t cd[24];
	memset(cd, 0, sizeof(cd));
	memcpy(cd, "\x40\x01\x00\x14\x00\x01\x00\x00\x21\x12\xa4\x42", 12);
	uint64_t tce = B.st->turn_chan_exc;
	in[0] = mk(pool, raw, frame_outer(raw, &B, 17, (uint16_t)(base + 5), cd, 24));
	cd[5] = 0x11;
	in[1] = mk(pool, raw, frame_outer(raw, &B, 17, (uint16_t)(base + 5), cd, 24));
	wan_rx(&B, in, 2);
	CHECK(B.st->turn_chan_exc == tce + 2 && B.st->stun_ctrl == sc + 2);
	g = take(&B, Q_EXC, got, 4);
	CHECK(g == 2);
	free_all(got, g);
	g = take(&B, Q_CTRL, got, 4);
	CHECK(g == 1);
	if (g == 1)
		CHECK(rte_pktmbuf_mtod_offset(got[0], const uint8_t *, IPOP_OUTER_HDR_LEN)[0] == 0x40);
	free_all(got, g);
	test_stun_copies(base);
	/* Without ICE the agents' ports are the host's, as any other port. */
	B.t->wan_port_span = 0;
	CHECK((m = sealed_ab(f, 100, 33)) != NULL);
	if (m == NULL)
		return;
	u = rte_pktmbuf_mtod(m, uint8_t *) + 14 + 20;
	u[2] = (uint8_t)((base + 5) >> 8), u[3] = (uint8_t)(base + 5);
	exc = B.st->exc_tx;
	wan_rx(&B, &m, 1);
	CHECK(B.st->exc_tx == exc + 1 && take(&B, Q_LAN, got, 4) == 0);
	g = take(&B, Q_EXC, got, 4);
	CHECK(g == 1);
	free_all(got, g);
	all_quiet("ice ports");
}

/* A relayed pair (dataplane/turn.h): A sends to B as ChannelData on B's
 * channel; B takes ChannelData on the channel published for the agent port
 * from the server (here A's address stands for it) and processes the ipop
 * message inside as usual (replay window included); a wrong channel, another
 * source and a length beyond the datagram are dropped and counted. */
static void test_turn_relay(void)
{
	uint8_t f[2048];
	struct ipop_fp_peer *p = &A.t->peers[SLOT_B_IN_A];
	struct ipop_fp_peer save = *p;
	uint16_t base = ntohs(B.t->wan_port);
	uint64_t tx0 = A.st->turn_tx, rx0 = B.st->turn_rx;
	struct rte_mbuf *m, *c[4];

	p->hdr_ok = IPOP_HDR_TURN;
	p->chan = htons(0x4001);
	m = sealed_ab(f, 100, 40);
	*p = save;
	if (m == NULL)
		return;
	uint8_t *h = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t plen = rte_pktmbuf_pkt_len(m) - IPOP_OUTER_HDR_LEN;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(h + 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(h + 34);
	CHECK(h[42] == 0x40 && h[43] == 0x01 && (uint32_t)(h[44] << 8 | h[45]) == plen - 4);
	CHECK(ntohs(udp->dgram_len) == plen + 8 && ntohs(ip->total_length) == plen + 28);
	CHECK(rte_ipv4_cksum(ip) == 0 || ip->hdr_checksum == rte_ipv4_cksum(ip));
	CHECK(h[46] == IPOP_MSG_DATA);
	CHECK(A.st->turn_tx == tx0 + 1);
	B.t->wan_port_span = 64;
	udp->dst_port = htons((uint16_t)(base + 5));
	B.t->relay_rx[5] = (struct ipop_fp_relay){ ip->src_addr, udp->src_port, htons(0x4001) };
	for (int i = 0; i < 4; i++)
		c[i] = dup(m);
	CHECK(deliver_b(m, f, 100));
	CHECK(B.st->turn_rx == rx0 + 1);
	drops_none(&B, "ChannelData on the published channel");
	rte_pktmbuf_mtod(c[0], uint8_t *)[43] = 0x02;                     /* another channel */
	((struct rte_udp_hdr *)(rte_pktmbuf_mtod(c[1], uint8_t *) + 34))->src_port ^= 1;
	rte_pktmbuf_mtod(c[2], uint8_t *)[45]++;                          /* past the datagram */
	wan_rx(&B, c, 2);
	drops_expect(&B, IPOP_DROP_TURN_CHANNEL, 2, "ChannelData: wrong channel or source");
	wan_rx(&B, &c[2], 1);
	drops_expect(&B, IPOP_DROP_TURN_LENGTH, 1, "ChannelData: bad length");
	wan_rx(&B, &c[3], 1);                                              /* a replay */
	drops_expect(&B, IPOP_DROP_WAN_REPLAY, 1, "ChannelData: replayed message");
	B.t->relay_rx[5] = (struct ipop_fp_relay){ 0 };
	B.t->wan_port_span = 0;
}

static void test_index_expiry(void)
{
	uint8_t f[150];
	struct rte_mbuf *m;

	/* An index whose slot holds no session, and the right slot with other
	 * high bits (a stale index from an older session of that slot). */
	m = sealed_ab(f, 150, 30);
	if (m == NULL)
		return;
	struct rte_mbuf *x[3] = { m, dup(m), dup(m) };
	set_index(x[0], (IDX_BA & ~IPOP_INDEX_MASK) | 0x123);
	set_index(x[1], IDX_BA ^ 0x80000000u);
	set_index(x[2], IDX_BA ^ (1u << IPOP_INDEX_BITS));
	wan_rx(&B, x, 3);
	drops_expect(&B, IPOP_DROP_WAN_INDEX, 3, "unknown index");
	all_quiet("index");

	/* B's session expired: its packets are refused before decryption. */
	m = sealed_ab(f, 150, 31);
	kBA->expire_tsc = 1;
	wan_rx(&B, &m, 1);
	drops_expect(&B, IPOP_DROP_WAN_EXPIRED, 1, "expired rx");
	kBA->expire_tsc = UINT64_MAX;
	/* A's session expired: nothing is sealed. */
	kAB->expire_tsc = 1;
	struct rte_mbuf *out[4];
	frame_udp4(f, HB, HA, 150, 1, 32);
	CHECK(send1(&A, f, 150, out, 4) == 0);
	drops_expect(&A, IPOP_DROP_NO_SESSION, 1, "expired tx");
	kAB->expire_tsc = UINT64_MAX;
	/* Counter exhausted (REJECT_AFTER_MESSAGES): not sent either. */
	uint64_t save = kAB->send_counter;
	kAB->send_counter = IPOP_REJECT_AFTER_MESSAGES;
	CHECK(send1(&A, f, 150, out, 4) == 0);
	drops_expect(&A, IPOP_DROP_NO_SESSION, 1, "counter exhausted");
	kAB->send_counter = save;
	/* Next hop not resolved. */
	A.t->peers[SLOT_B_IN_A].nh_valid = 0;
	CHECK(send1(&A, f, 150, out, 4) == 0);
	drops_expect(&A, IPOP_DROP_NO_NEXTHOP, 1, "no nexthop");
	A.t->peers[SLOT_B_IN_A].nh_valid = 1;
	all_quiet("expiry");
	/* And things work again. */
	CHECK((m = sealed_ab(f, 150, 33)) && deliver_b(m, f, 150));
}

/* A keepalive as the control thread sends it: an empty sealed data message
 * through ipop_dp_encap_out. Counted at B, not delivered. */
static void test_keepalive(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool), *out[4];
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, IPOP_DATA_OVERHEAD);
	uint64_t ctr = __atomic_fetch_add(&kAB->send_counter, 1, __ATOMIC_RELAXED);

	ipop_wire_data_hdr((struct ipop_data_hdr *)p, kAB->remote_index, ctr);
	CHECK(ipop_aead_seal(A.c.aead, &kAB->send_key, ctr, p, p + IPOP_DATA_HDR_LEN, 0,
			     p + IPOP_DATA_HDR_LEN) == 0);
	tick(&A);
	ipop_dp_encap_out(&A.c, A.t, &A.t->peers[SLOT_B_IN_A], m);
	flush_all(&A);
	unsigned n = wan_out(&A, out, 4);
	CHECK(n == 1);
	if (n != 1)
		return;
	check_outer(out[0], &A, SLOT_B_IN_A, 0);
	uint64_t ka = B.st->keepalives_rx, dec = B.st->decrypted;
	wan_rx(&B, out, 1);
	CHECK(B.st->keepalives_rx == ka + 1);
	CHECK(B.st->decrypted == dec + 1);
	all_quiet("keepalive");
	drops_none(&B, "keepalive");
}

/* B's worker queued exactly the three handshake messages of the tests below
 * to control (an initiation, a response, a cookie reply, in that order),
 * ctrl being its ctrl_tx before them; they are taken and freed. */
static void ctrl_got_hs3(uint64_t ctrl)
{
	struct rte_mbuf *got[8];

	CHECK(B.st->ctrl_tx == ctrl + 3);
	unsigned g = take(&B, Q_CTRL, got, 8);
	CHECK(g == 3);
	if (g == 3) {
		CHECK(rte_pktmbuf_pkt_len(got[0]) == IPOP_OUTER_HDR_LEN + 152);
		CHECK(rte_pktmbuf_pkt_len(got[1]) == IPOP_OUTER_HDR_LEN + 108);
		CHECK(rte_pktmbuf_pkt_len(got[2]) == IPOP_OUTER_HDR_LEN + 64);
	}
	free_all(got, g);
}

/* Malformed ipop messages to the tunnel port, and traffic that is not ours. */
static void test_wan_garbage(void)
{
	uint8_t f[400], pl[300];
	static uint8_t big[1700], big_pl[1600] = { IPOP_MSG_DATA, IPOP_WIRE_VERSION };
	struct rte_mbuf *m[16];
	uint16_t port = ntohs(B.t->wan_port);
	unsigned n = 0;

	memset(pl, 0, sizeof(pl));
	/* Too short for the common header. */
	for (uint32_t len = 0; len < 4; len++)
		m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, (const uint8_t *)"\x03\x01\x00", len));
	wan_rx(&B, m, (uint16_t)n);
	drops_expect(&B, IPOP_DROP_WAN_SHORT, 4, "short");
	n = 0;
	/* Version 0 and 2; then garbage starting with a bad version. */
	pl[0] = IPOP_MSG_DATA, pl[1] = 0;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 64));
	pl[1] = 2;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 64));
	for (int i = 0; i < 200; i++)
		pl[i] = (uint8_t)(i * 151 + 17);
	pl[1] = 0x99;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 200));
	wan_rx(&B, m, (uint16_t)n);
	drops_expect(&B, IPOP_DROP_WAN_VERSION, 3, "version");
	n = 0;
	/* Unknown types, reserved bytes set. */
	memset(pl, 0, sizeof(pl));
	pl[1] = IPOP_WIRE_VERSION;
	uint8_t types[4] = { 0, 9, 255, IPOP_MSG_COOKIE_REPLY + 1 };
	for (int i = 0; i < 4; i++) {
		pl[0] = types[i];
		m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 64));
	}
	pl[0] = IPOP_MSG_DATA, pl[2] = 1;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 64));
	pl[2] = 0, pl[3] = 0x80;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 64));
	pl[3] = 0;
	wan_rx(&B, m, (uint16_t)n);
	drops_expect(&B, IPOP_DROP_WAN_TYPE, 6, "type");
	n = 0;
	/* Wrong lengths: data shorter than header + tag, handshakes off by one. */
	pl[0] = IPOP_MSG_DATA;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, IPOP_DATA_OVERHEAD - 1));
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 4));
	pl[0] = IPOP_MSG_HANDSHAKE_INIT;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 151));
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 153));
	pl[0] = IPOP_MSG_HANDSHAKE_RESP;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 109));
	pl[0] = IPOP_MSG_COOKIE_REPLY;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 65));
	pl[0] = IPOP_MSG_FLOOD;                  /* a flood copy always holds a frame */
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl,
					 IPOP_DATA_OVERHEAD + IPOP_FABRIC_HDR_LEN + 13));
	pl[0] = IPOP_MSG_DATA;                                        /* above 1518 inner */
	m[n++] = mk(pool, big, frame_outer(big, &B, 17, port, big_pl,
					   IPOP_DATA_OVERHEAD + IPOP_MAX_INNER_FRAME + 1));
	wan_rx(&B, m, (uint16_t)n);
	drops_expect(&B, IPOP_DROP_WAN_LENGTH, 8, "length");
	n = 0;
	all_quiet("garbage");

	/* Handshakes and cookie replies go to control. */
	uint64_t ctrl = B.st->ctrl_tx;
	pl[0] = IPOP_MSG_HANDSHAKE_INIT;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 152));
	pl[0] = IPOP_MSG_HANDSHAKE_RESP;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 108));
	pl[0] = IPOP_MSG_COOKIE_REPLY;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 64));
	wan_rx(&B, m, (uint16_t)n);
	n = 0;
	ctrl_got_hs3(ctrl);
	struct rte_mbuf *got[8];
	unsigned g;
	all_quiet("handshake");

	/* Not tunnel traffic: to the kernel (exception queue), unchanged. */
	uint8_t keep[6][400];
	uint32_t klen[6];
	pl[0] = IPOP_MSG_DATA;
	klen[0] = frame_outer(keep[0], &B, 17, 53, pl, 64);           /* other UDP port */
	klen[1] = frame_outer(keep[1], &B, 1, 0, pl, 64);             /* ICMP */
	klen[2] = frame_outer(keep[2], &B, 17, port, pl, 64);         /* other address */
	memcpy(keep[2] + 14 + 16, "\x0a\x00\x00\x63", 4);
	ref_ip_csum_set(keep[2] + 14);
	klen[3] = frame_eth(keep[3], mac_wan[1].addr_bytes, mac_wan[0].addr_bytes, 0x86dd, 90, 1);
	klen[4] = frame_outer(keep[4], &B, 6, 0, pl, 40);             /* TCP */
	memset(keep[5], 0x42, 10);
	klen[5] = 10;                                                 /* runt */
	for (int i = 0; i < 6; i++)
		m[n++] = mk(pool, keep[i], klen[i]);
	uint64_t exc = B.st->exc_tx;
	wan_rx(&B, m, (uint16_t)n);
	n = 0;
	CHECK(B.st->exc_tx == exc + 6);
	g = take(&B, Q_EXC, got, 8);
	CHECK(g == 6);
	for (unsigned i = 0; i < g && i < 6; i++)
		CHECK(same(got[i], keep[i], klen[i]));
	free_all(got, g);
	/* STUN on the tunnel's port: to the kernel (the ICE agent's socket) and
	 * counted; a datagram that only looks like STUN in part is an ipop drop. */
	uint8_t stun[3][400], stun_pl[64];
	uint32_t slen[3];
	memset(stun_pl, 0, sizeof(stun_pl));
	memcpy(stun_pl, "\x00\x01\x00\x08\x21\x12\xa4\x42", 8);     /* binding request */
	slen[0] = frame_outer(stun[0], &B, 17, port, stun_pl, 28);
	memcpy(stun_pl, "\x01\x01\x00\x0c\x21\x12\xa4\x42", 8);     /* binding success */
	slen[1] = frame_outer(stun[1], &B, 17, port, stun_pl, 32);
	slen[2] = frame_outer(stun[2], &B, 17, port, stun_pl, IPOP_STUN_HDR_LEN);
	for (int i = 0; i < 3; i++)
		m[n++] = mk(pool, stun[i], slen[i]);
	stun_pl[0] = 0x41;                                      /* top bits set: not STUN */
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, stun_pl, 32));
	stun_pl[0] = 0x01;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, stun_pl, IPOP_STUN_HDR_LEN - 1));
	stun_pl[7] = 0x43;                                      /* not the cookie */
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, stun_pl, 32));
	exc = B.st->exc_tx;
	uint64_t stun_exc = B.st->stun_exc;
	wan_rx(&B, m, (uint16_t)n);
	n = 0;
	CHECK(B.st->stun_exc == stun_exc + 3 && B.st->exc_tx == exc + 3);
	/* The look-alikes have non-zero reserved bytes (STUN's length field). */
	drops_expect(&B, IPOP_DROP_WAN_TYPE, 3, "STUN look-alikes");
	g = take(&B, Q_EXC, got, 8);
	CHECK(g == 3);
	for (unsigned i = 0; i < g && i < 3; i++)
		CHECK(same(got[i], stun[i], slen[i]));
	free_all(got, g);
	/* ARP: to the kernel, and a copy to control. */
	uint8_t arp[60];
	frame_eth(arp, BCAST, mac_wan[0].addr_bytes, 0x0806, 60, 2);
	m[0] = mk(pool, arp, 60);
	wan_rx(&B, m, 1);
	g = take(&B, Q_EXC, got, 8);
	CHECK(g == 1 && same(got[0], arp, 60));
	free_all(got, g);
	g = take(&B, Q_CTRL, got, 8);
	CHECK(g == 1 && same(got[0], arp, 60));
	free_all(got, g);
	all_quiet("exception");
	drops_none(&B, "exception");
}

/* Inner frames that fail after authentication: too short, bad source MAC, a
 * destination behind another peer. Sealed by hand with A's session. */
static void test_inner_bad(void)
{
	uint8_t f[100];
	struct rte_mbuf *m, *out[4];

	/* Sealed by A with a 10-byte body: A refuses it at its own LAN port, so
	 * build the message here. */
	struct {
		uint32_t len;
		const uint8_t *src;
		const uint8_t *dst;
		enum ipop_drop why;
	} cases[] = {
		{ 10, HA, HB, IPOP_DROP_INNER_SHORT },
		{ 60, BCAST, HB, IPOP_DROP_INNER_SRC },
		{ 60, (const uint8_t *)"\0\0\0\0\0\0", HB, IPOP_DROP_INNER_SRC },
		{ 60, HA, HC, IPOP_DROP_NOT_LOCAL },
	};
	/* B learns HC behind A's slot first (as if A had relayed it). */
	ipop_bridge_learn(&B.br, HC, SLOT_A_IN_B, NOW_S);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		frame_eth(f, cases[i].dst, cases[i].src, 0x88b5, 100, (uint32_t)i);
		m = rte_pktmbuf_alloc(pool);
		uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(IPOP_DATA_OVERHEAD + cases[i].len));
		uint64_t ctr = __atomic_fetch_add(&kAB->send_counter, 1, __ATOMIC_RELAXED);
		ipop_wire_data_hdr((struct ipop_data_hdr *)p, kAB->remote_index, ctr);
		memcpy(p + IPOP_DATA_HDR_LEN, f, cases[i].len);
		CHECK(ipop_aead_seal(A.c.aead, &kAB->send_key, ctr, p, p + IPOP_DATA_HDR_LEN,
				     cases[i].len, p + IPOP_DATA_HDR_LEN + cases[i].len) == 0);
		tick(&A);
		ipop_dp_encap_out(&A.c, A.t, &A.t->peers[SLOT_B_IN_A], m);
		flush_all(&A);
		CHECK(wan_out(&A, out, 4) == 1);
		wan_rx(&B, out, 1);
		drops_expect(&B, cases[i].why, 1, "inner bad");
	}
	CHECK(ipop_bridge_flush_loc(&B.br, SLOT_A_IN_B) >= 1);   /* forget HC and HA */
	all_quiet("inner bad");
}

/* Deliver packets to B in the given order; expect exactly one frame out. */
static int deliver_frags(struct rte_mbuf **p, unsigned n, const int *order,
			 const uint8_t *f, uint32_t len)
{
	struct rte_mbuf *got[4];

	for (unsigned i = 0; i < n; i++)
		wan_rx(&B, &p[order[i]], 1);
	unsigned g = take(&B, Q_LAN, got, 4);
	int ok = g == 1 && same(got[0], f, len);
	free_all(got, g);
	return ok;
}

/* A 1514-byte frame with DF: sealed whole, then the outer datagram (1574
 * bytes) is cut into two IPv4 fragments for a 1500-byte underlay MTU; B
 * reassembles them in either order. */
static void test_outer_frag(void)
{
	static uint8_t f[1514];
	struct rte_mbuf *out[8];
	static const int fwd[2] = { 0, 1 }, rev[2] = { 1, 0 };

	/* k = 0..2 with the peer's header template, 3..5 without (the fallback
	 * that writes the header field by field). */
	for (int k = 0; k < 6; k++) {
		A.t->peers[SLOT_B_IN_A].hdr_ok = k < 3;
		frame_udp4(f, HB, HA, 1514, 1, 40 + (uint32_t)k);
		uint64_t fo = A.st->frag_out, ri = B.st->reasm_in;
		unsigned n = send1(&A, f, 1514, out, 8);
		CHECK(n == 2);
		CHECK(A.st->frag_out == fo + 2);
		if (n != 2) {
			free_all(out, n);
			continue;
		}
		const uint8_t *ip0 = rte_pktmbuf_mtod(out[0], uint8_t *) + 14;
		const uint8_t *ip1 = rte_pktmbuf_mtod(out[1], uint8_t *) + 14;
		uint32_t total = 20 + 8 + IPOP_DATA_OVERHEAD + 1514;
		CHECK(rte_pktmbuf_pkt_len(out[0]) == 14 + 1500);
		CHECK(be16(ip0 + 2) == 1500);
		CHECK(be16(ip0 + 6) == 0x2000);                       /* MF, offset 0 */
		CHECK(be16(ip1 + 2) == 20 + total - 1500);
		CHECK(be16(ip1 + 6) == 1480 / 8);                     /* last, offset 1480 */
		CHECK(rte_pktmbuf_pkt_len(out[1]) == 14u + be16(ip1 + 2));
		CHECK(be16(ip0 + 4) == be16(ip1 + 4));                /* same IP ID */
		CHECK(ref_ip_csum_ok(ip0) && ref_ip_csum_ok(ip1));
		for (int i = 0; i < 2; i++) {
			const uint8_t *e = rte_pktmbuf_mtod(out[i], uint8_t *);
			CHECK(memcmp(e, mac_wan[1].addr_bytes, 6) == 0);
			CHECK(memcmp(e + 6, mac_wan[0].addr_bytes, 6) == 0);
			CHECK(be16(e + 12) == 0x0800);
			CHECK(memcmp(e + 14 + 12, &A.t->wan_ip, 4) == 0);
			CHECK(memcmp(e + 14 + 16, &B.t->wan_ip, 4) == 0);
		}
		if (k % 3 < 2) {
			CHECK(deliver_frags(out, 2, k % 3 ? rev : fwd, f, 1514));
			CHECK(B.st->reasm_in == ri + 1);
		} else {
			/* Only the first fragment: held, nothing delivered (the table
			 * frees it at the end; the leak check proves it). */
			wan_rx(&B, out, 1);
			rte_pktmbuf_free(out[1]);
			CHECK(B.st->reasm_in == ri);
		}
	}
	A.t->peers[SLOT_B_IN_A].hdr_ok = 1;
	all_quiet("outer frag");
	drops_none(&A, "outer frag");
	drops_none(&B, "outer frag");
}

/* Check that frames got[0..n) are the IPv4 fragments of the UDP frame f. */
static void check_inner_frags(struct rte_mbuf **got, unsigned n, const uint8_t *f, uint32_t len)
{
	uint32_t inner_mtu = WAN_MTU - IPOP_IP_OVERHEAD - 14;
	uint32_t covered = 0;

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = rte_pktmbuf_mtod(got[i], const uint8_t *), *ip = e + 14;
		uint32_t tot = be16(ip + 2), off = (uint32_t)(be16(ip + 6) & 0x1fff) * 8;
		int mf = (be16(ip + 6) & 0x2000) != 0;
		CHECK(got[i]->nb_segs == 1);
		CHECK(memcmp(e, f, 14) == 0);                         /* same Ethernet header */
		CHECK(tot <= inner_mtu);
		CHECK(rte_pktmbuf_pkt_len(got[i]) == 14 + tot);
		CHECK(ref_ip_csum_ok(ip));
		CHECK(be16(ip + 4) == be16(f + 14 + 4));             /* same IP ID */
		CHECK(mf == (i + 1 < n));
		CHECK(off == covered);
		CHECK(off + tot - 20 <= len - 34);
		if (off + tot - 20 <= len - 34)
			CHECK(memcmp(ip + 20, f + 34 + off, tot - 20) == 0);
		covered += tot - 20;
	}
	CHECK(covered == len - 34);
}

/* IPv4 without DF that does not fit the overlay: A fragments it at its LAN
 * edge, each fragment travels in its own tunnel packet, B delivers them all. */
static void test_inner_frag(void)
{
	static uint8_t f[3000];
	struct rte_mbuf *out[8], *got[8];
	static const uint32_t lens[2] = { 1514, 3000 };

	for (int k = 0; k < 2; k++) {
		uint32_t len = lens[k];
		uint64_t fi = A.st->frag_inner, fo = A.st->frag_out;
		frame_udp4(f, HB, HA, len, 0, 50 + (uint32_t)k);
		/* The 3000-byte frame (as a kernel's GRO/reassembly hands it to
		 * af_packet) comes in one mbuf of a jumbo pool. */
		struct rte_mbuf *m = mk(len > 2000 ? jumbo_pool : pool, f, len);
		CHECK(m != NULL);
		local_rx(&A, &m, 1, IPOP_LOC_LAN);
		unsigned n = wan_out(&A, out, 8);
		unsigned want = (len - 34 + 1399) / 1400;
		CHECK(n == want);
		CHECK(A.st->frag_inner - fi == want);
		CHECK(A.st->frag_out == fo);                          /* no outer fragments */
		for (unsigned i = 0; i < n; i++)
			CHECK(rte_pktmbuf_pkt_len(out[i]) <= 14 + WAN_MTU);
		wan_rx(&B, out, (uint16_t)n);
		unsigned g = take(&B, Q_LAN, got, 8);
		CHECK(g == want);
		check_inner_frags(got, g, f, len);
		free_all(got, g);
	}
	/* The same 3000-byte frame as a chain of two 2 KB mbufs (memif delivers
	 * big frames so; af_packet never chains): it cannot be linearised, but
	 * inner fragmentation takes chains, so it arrives as fragments. With DF
	 * set it cannot be fragmented: dropped and counted as multiseg. */
	{
		uint32_t len = 3000;
		uint64_t fi = A.st->frag_inner;
		frame_udp4(f, HB, HA, len, 0, 52);
		struct rte_mbuf *m = mk(pool, f, 1800), *t = mk(pool, f + 1800, len - 1800);
		CHECK(rte_pktmbuf_chain(m, t) == 0);
		local_rx(&A, &m, 1, IPOP_LOC_LAN);
		unsigned n = wan_out(&A, out, 8);
		CHECK(n == 3 && A.st->frag_inner - fi == 3);
		wan_rx(&B, out, (uint16_t)n);
		unsigned g = take(&B, Q_LAN, got, 8);
		CHECK(g == 3);
		check_inner_frags(got, g, f, len);
		free_all(got, g);
		frame_udp4(f, HB, HA, len, 1, 52);
		m = mk(pool, f, 1800), t = mk(pool, f + 1800, len - 1800);
		CHECK(rte_pktmbuf_chain(m, t) == 0);
		local_rx(&A, &m, 1, IPOP_LOC_LAN);
		drops_expect(&A, IPOP_DROP_MULTISEG, 1, "chained 3000 DF");
		/* A chain that fits one mbuf once linearised goes through. */
		frame_udp4(f, HB, HA, 1200, 1, 53);
		m = mk(pool, f, 700);
		t = mk(pool, f + 700, 500);
		CHECK(rte_pktmbuf_chain(m, t) == 0);
		CHECK(m->nb_segs == 2);
		local_rx(&A, &m, 1, IPOP_LOC_LAN);
		n = wan_out(&A, out, 8);
		CHECK(n == 1);
		if (n == 1)
			CHECK(deliver_b(out[0], f, 1200));
	}
	all_quiet("inner frag");
	drops_none(&A, "inner frag");
	drops_none(&B, "inner frag");

	/* Too big: DF set above 1518, or not IPv4 above 1518. At exactly 1518
	 * (a VLAN-tagged full frame) it is sealed and sent in outer fragments. */
	struct rte_mbuf *m = mk(pool, f, frame_udp4(f, HB, HA, 1600, 1, 53));
	local_rx(&A, &m, 1, IPOP_LOC_LAN);
	m = mk(pool, f, frame_eth(f, HB, HA, 0x88b5, 1519, 54));
	local_rx(&A, &m, 1, IPOP_LOC_LAN);
	m = mk(pool, f, frame_eth(f, HB, HA, 0x8100, 2000, 55));
	local_rx(&A, &m, 1, IPOP_LOC_LAN);
	drops_expect(&A, IPOP_DROP_TOO_BIG, 3, "too big");
	all_quiet("too big");
	frame_eth(f, HB, HA, 0x8100, 1518, 56);
	unsigned n = send1(&A, f, 1518, out, 8);
	CHECK(n == 2);
	CHECK(deliver_frags(out, n, (const int[]){ 0, 1 }, f, 1518));
	all_quiet("1518");
	drops_none(&A, "1518");
	drops_none(&B, "1518");
}

/* A key the AEAD cannot use (wiped here): the frame is dropped as a seal
 * failure, a local fault, not as a frame without a session. */
static void test_seal_failed(void)
{
	static uint8_t f[100];
	struct rte_mbuf *out[4];

	ipop_aead_key_wipe(&kAB->send_key);
	frame_udp4(f, HB, HA, sizeof(f), 1, 9);
	CHECK(send1(&A, f, sizeof(f), out, 4) == 0);
	drops_expect(&A, IPOP_DROP_SEAL_FAILED, 1, "seal failed");
	keys_set(&A, kAB, &B, kBA, IPOP_CIPHER_AES256GCM, IPOP_CIPHER_CHACHA20POLY1305, 1);
	struct rte_mbuf *m = sealed_ab(f, sizeof(f), 10);   /* the restored key works */
	CHECK(m != NULL && deliver_b(m, f, sizeof(f)));
	all_quiet("seal failed");
}

/* ---- two workers on one session ---- */

#define TW_ROUNDS 20
#define TW_N      1024  /* packets per round, each given to both workers (<= SINK_CAP) */
#define TW_BURST  1     /* packets per call: the two workers in step, packet by packet */

static struct gw B2;   /* a second worker of gateway B: B's table and bridge */
static struct rte_mbuf *tw_in[2][TW_N];
static pthread_barrier_t tw_done;
static unsigned tw_round;   /* the round the workers may run: they spin on it, so start together */

static void twin_init(struct gw *t, const struct gw *g)
{
	memset(t, 0, sizeof(*t));
	t->name = "B'";
	t->st = aligned_alloc(64, sizeof(*t->st));
	memset(t->st, 0, sizeof(*t->st));
	CHECK(ipop_aead_mgr_create(&t->c.aead) == 0);
	t->c.bridge = g->c.bridge;
	t->c.routes = g->c.routes;
	t->c.st = t->st;
	t->c.pool = pool;
	t->c.indirect_pool = ind_pool;
	CHECK(ipop_reasm_init(&t->c.reasm, REASM_CAP, rte_get_tsc_hz(), SOCKET_ID_ANY) == 0);
	for (int i = 0; i < Q_N; i++) {
		t->q[i].flush = sink_flush;
		t->q[i].arg = &t->s[i];
	}
	t->c.q_wan = &t->q[Q_WAN];
	t->c.q_lan = &t->q[Q_LAN];
	t->c.q_exc = &t->q[Q_EXC];
	t->c.q_ctrl = &t->q[Q_CTRL];
	t->t = g->t;
}

static void twin_fini(struct gw *t)
{
	ipop_reasm_fini(&t->c.reasm);
	ipop_aead_mgr_free(t->c.aead);
	free(t->st);
}

/* One worker: every round, its copy of the round's packets in bursts of 32. */
static void *tw_worker(void *arg)
{
	unsigned w = (unsigned)(uintptr_t)arg;
	struct gw *g = w ? &B2 : &B;

	for (unsigned r = 1; r <= TW_ROUNDS; r++) {
		while (__atomic_load_n(&tw_round, __ATOMIC_ACQUIRE) < r)
			;
		for (unsigned i = 0; i < TW_N; i += TW_BURST)
			wan_rx(g, &tw_in[w][i], TW_BURST);
		pthread_barrier_wait(&tw_done);
	}
	return NULL;
}

/* Count the frames a worker delivered, by the sequence number they carry. */
static unsigned tw_collect(struct gw *g, uint8_t *seen, unsigned *dups)
{
	struct rte_mbuf *got[TW_N];
	unsigned n = take(g, Q_LAN, got, TW_N);

	for (unsigned i = 0; i < n; i++) {
		uint32_t seq;
		memcpy(&seq, rte_pktmbuf_mtod_offset(got[i], uint8_t *, 42), 4);
		if (seq < TW_ROUNDS * TW_N && seen[seq]++)
			(*dups)++;
	}
	free_all(got, n);
	return n;
}

/* Both of B's workers receive every packet of one session at the same time
 * (a replay from another address, or datagrams of one session on two queues):
 * each frame reaches the LAN exactly once, the other copy is a replay. */
static void test_two_workers(void)
{
	static uint8_t seen[TW_ROUNDS * TW_N];
	static uint8_t f[64];
	pthread_t th[2];
	unsigned by[2] = { 0, 0 }, dups = 0;
	uint64_t rb0 = B.st->drops[IPOP_DROP_WAN_REPLAY] + B.st->drops[IPOP_DROP_WAN_OLD];

	twin_init(&B2, &B);
	tw_round = 0;
	CHECK(pthread_barrier_init(&tw_done, NULL, 3) == 0);
	for (unsigned w = 0; w < 2; w++)
		CHECK(pthread_create(&th[w], NULL, tw_worker, (void *)(uintptr_t)w) == 0);
	for (unsigned r = 0; r < TW_ROUNDS; r++) {
		for (unsigned i = 0; i < TW_N; i += 32) {
			struct rte_mbuf *m[32];
			for (unsigned k = 0; k < 32; k++) {
				uint32_t seq = r * TW_N + i + k;
				frame_udp4(f, HB, HA, sizeof(f), 1, seq);
				memcpy(f + 42, &seq, 4);
				m[k] = mk(pool, f, sizeof(f));
			}
			local_rx(&A, m, 32, IPOP_LOC_LAN);
			CHECK(wan_out(&A, &tw_in[0][i], 32) == 32);
			for (unsigned k = 0; k < 32; k++)
				tw_in[1][i + k] = dup(tw_in[0][i + k]);
		}
		__atomic_store_n(&tw_round, r + 1, __ATOMIC_RELEASE);   /* both workers run it */
		pthread_barrier_wait(&tw_done);
		by[0] += tw_collect(&B, seen, &dups);
		by[1] += tw_collect(&B2, seen, &dups);
	}
	for (unsigned w = 0; w < 2; w++)
		pthread_join(th[w], NULL);
	pthread_barrier_destroy(&tw_done);
	uint64_t rb = B.st->drops[IPOP_DROP_WAN_REPLAY] + B.st->drops[IPOP_DROP_WAN_OLD] - rb0 +
		      B2.st->drops[IPOP_DROP_WAN_REPLAY] + B2.st->drops[IPOP_DROP_WAN_OLD];
	printf("datapath: two workers, %u packets each: %u delivered by B, %u by B', %u twice, "
	       "%lu refused as replays\n", TW_ROUNDS * TW_N, by[0], by[1], dups, (unsigned long)rb);
	CHECK(dups == 0);
	CHECK(by[0] + by[1] == TW_ROUNDS * TW_N);
	CHECK(rb == TW_ROUNDS * TW_N);
	B.want_drops[IPOP_DROP_WAN_REPLAY] += B.st->drops[IPOP_DROP_WAN_REPLAY] - B.want_drops[IPOP_DROP_WAN_REPLAY];
	B.want_drops[IPOP_DROP_WAN_OLD] += B.st->drops[IPOP_DROP_WAN_OLD] - B.want_drops[IPOP_DROP_WAN_OLD];
	for (unsigned d = 0; d < IPOP_DROP__MAX; d++)
		CHECK(d == IPOP_DROP_WAN_REPLAY || d == IPOP_DROP_WAN_OLD || B2.st->drops[d] == 0);
	CHECK(quiet(&B2, "two workers"));
	twin_fini(&B2);
	all_quiet("two workers");
	drops_none(&B, "two workers");
}

/* ---- outer reassembly, bounded (dataplane/reasm.h) ---- */

static void wan_rx_at(struct gw *g, struct rte_mbuf **m, uint16_t n, uint64_t tsc)
{
	g->c.now_tsc = tsc;
	g->c.now_s = NOW_S;
	ipop_dp_wan_rx(&g->c, g->t, m, n);
	flush_all(g);
}

/* The first fragment of a tunnel datagram from A to B (its second is freed). */
static struct rte_mbuf *first_frag(uint32_t seed)
{
	static uint8_t f[1514];
	struct rte_mbuf *out[4];

	frame_udp4(f, HB, HA, 1514, 1, seed);
	unsigned n = send1(&A, f, 1514, out, 4);
	CHECK(n == 2);
	if (n > 1)
		free_all(out + 1, n - 1);
	return n ? out[0] : NULL;
}

/* Lone first fragments (what a spoofing flood sends) cannot hold more than
 * the cap; a genuine datagram still gets through a full table; what nobody
 * completes goes on time with no other fragment arriving; every fragment shed
 * is counted once, by reason. Time is B's now_tsc, set per call. */
static void test_reasm_bounded(void)
{
	static uint8_t f[1514];
	struct rte_mbuf *out[4], *m, *got[4];
	struct ipop_reasm *r = &B.c.reasm;
	uint64_t hz = rte_get_tsc_hz(), ms = hz / 1000;
	uint64_t t0 = rte_rdtsc() + 10 * hz;   /* after everything earlier tests left */
	const unsigned flood = REASM_CAP + 64;

	/* test_outer_frag's lone fragments (on real time) go first. */
	uint32_t left = r->held;
	ipop_reasm_expire(r, t0, B.st);
	CHECK(r->held == 0 && B.st->reasm_held == 0);
	drops_expect(&B, IPOP_DROP_REASM_TIMEOUT, left, "reasm leftovers");
	unsigned base = rte_mempool_avail_count(pool);
	uint64_t ri = B.st->reasm_in;

	/* 1. The cap: at one instant, REASM_CAP are held, the rest refused. */
	unsigned over = 0;
	for (unsigned k = 0; k < flood; k++) {
		if ((m = first_frag(2000 + k)) == NULL)
			continue;
		wan_rx_at(&B, &m, 1, t0);
		over += r->held > REASM_CAP;
	}
	CHECK(over == 0);
	CHECK(r->held == REASM_CAP && B.st->reasm_held == REASM_CAP);
	CHECK(base - rte_mempool_avail_count(pool) == REASM_CAP);
	drops_expect(&B, IPOP_DROP_REASM_FULL, flood - REASM_CAP, "reasm cap");

	/* 2. 2 ms later a genuine datagram: its first fragment evicts what is
	 * older than 1 ms, its second completes it. */
	frame_udp4(f, HB, HA, 1514, 1, 77);
	CHECK(send1(&A, f, 1514, out, 4) == 2);
	wan_rx_at(&B, &out[0], 1, t0 + 2 * ms);
	wan_rx_at(&B, &out[1], 1, t0 + 2 * ms + 100);
	unsigned g = take(&B, Q_LAN, got, 4);
	CHECK(g == 1 && same(got[0], f, 1514));
	free_all(got, g);
	CHECK(B.st->reasm_in == ri + 1);
	CHECK(r->held == 0);
	drops_expect(&B, IPOP_DROP_REASM_EVICTED, REASM_CAP, "reasm evict");
	CHECK(rte_mempool_avail_count(pool) == base);

	/* 3. On time: 100 lone first fragments, then none; the timer alone frees
	 * them once 1 s old, not before. */
	uint64_t t1 = t0 + 10 * ms;
	for (unsigned k = 0; k < 100; k++) {
		if ((m = first_frag(3000 + k)) != NULL)
			wan_rx_at(&B, &m, 1, t1 + k);
	}
	CHECK(r->held == 100);
	ipop_reasm_expire(r, t1 + (IPOP_REASM_TTL_MS - 1) * ms, B.st);
	CHECK(r->held == 100);
	drops_none(&B, "reasm before ttl");
	ipop_reasm_expire(r, t1 + (IPOP_REASM_TTL_MS + 1) * ms, B.st);
	CHECK(r->held == 0 && B.st->reasm_held == 0);
	drops_expect(&B, IPOP_DROP_REASM_TIMEOUT, 100, "reasm ttl");
	CHECK(rte_mempool_avail_count(pool) == base);

	/* 4. Counted per fragment: a first fragment that comes twice fails
	 * its datagram; both copies are dropped. */
	uint64_t t2 = t1 + 2 * hz;
	if ((m = first_frag(4000)) != NULL) {
		struct rte_mbuf *d = dup(m);
		wan_rx_at(&B, &m, 1, t2);
		wan_rx_at(&B, &d, 1, t2 + 1);
	}
	CHECK(r->held == 0);
	drops_expect(&B, IPOP_DROP_REASM, 2, "reasm duplicate");
	CHECK(rte_mempool_avail_count(pool) == base);
	all_quiet("reasm bounded");
	drops_none(&A, "reasm bounded");
}

/* A frame of 1441..1447 bytes makes an outer datagram whose last fragment
 * carries 1..7 bytes: valid (only the other fragments carry multiples of 8),
 * shorter than a UDP header, and it completes the datagram. */
static void test_reasm_short_last(void)
{
	static uint8_t f[1448];
	static const int fwd[2] = { 0, 1 }, rev[2] = { 1, 0 };
	struct rte_mbuf *out[4];

	for (uint32_t k = 1; k <= 7; k++) {
		uint32_t len = 1440 + k;
		frame_udp4(f, HB, HA, len, 1, 50 + k);
		unsigned n = send1(&A, f, len, out, 4);
		CHECK(n == 2);
		if (n != 2) {
			free_all(out, n);
			continue;
		}
		CHECK(be16(rte_pktmbuf_mtod_offset(out[1], uint8_t *, 14 + 2)) == 20 + k);
		uint64_t ri = B.st->reasm_in;
		CHECK(deliver_frags(out, 2, k % 2 ? fwd : rev, f, len));
		CHECK(B.st->reasm_in == ri + 1);
	}
	all_quiet("short last fragment");
	drops_none(&B, "short last fragment");
}

/* UDP to B's address but not its tunnel port, in fragments: reassembled and
 * handed to the kernel whole, with a valid IPv4 checksum (DPDK leaves it 0),
 * as a chain when it does not fit one mbuf. */
static void test_reasm_to_kernel(void)
{
	static uint8_t f[14 + 20 + 8 + 3000], payload[3000], fr[1600];
	static const uint32_t sizes[2] = { 2000, 3000 };

	for (unsigned i = 0; i < 2; i++) {
		for (uint32_t j = 0; j < sizes[i]; j++)
			payload[j] = (uint8_t)(j * 13 + i);
		uint32_t len = frame_outer(f, &B, 17, 53, payload, sizes[i]);
		uint32_t body = len - 34, off = 0;
		uint64_t ri = B.st->reasm_in, ex = B.st->exc_tx;
		uint16_t id = (uint16_t)(0x4d00 + i);
		while (off < body) {
			uint32_t part = body - off > 1480 ? 1480 : body - off;
			uint8_t *ip = fr + 14;
			memcpy(fr, f, 34);
			ip[2] = (uint8_t)((20 + part) >> 8), ip[3] = (uint8_t)(20 + part);
			ip[4] = (uint8_t)(id >> 8), ip[5] = (uint8_t)id;
			uint16_t fo = (uint16_t)(off / 8 | (off + part < body ? 0x2000 : 0));
			ip[6] = (uint8_t)(fo >> 8), ip[7] = (uint8_t)fo;
			ref_ip_csum_set(ip);
			memcpy(fr + 34, f + 34 + off, part);
			struct rte_mbuf *m = mk(pool, fr, 34 + part);
			wan_rx(&B, &m, 1);
			off += part;
		}
		struct rte_mbuf *got[4];
		unsigned g = take(&B, Q_EXC, got, 4);
		CHECK(g == 1 && B.st->reasm_in == ri + 1 && B.st->exc_tx == ex + 1);
		if (g != 1) {
			free_all(got, g);
			continue;
		}
		CHECK(rte_pktmbuf_pkt_len(got[0]) == len);
		static uint8_t back[sizeof(f)];
		const uint8_t *b = rte_pktmbuf_read(got[0], 0, len, back);
		CHECK(b != NULL);
		if (b != NULL) {
			CHECK(ref_ip_csum_ok(b + 14));
			CHECK(be16(b + 14 + 2) == len - 14 && be16(b + 14 + 6) == 0);
			CHECK(memcmp(b + 34, f + 34, len - 34) == 0);
		}
		CHECK(i == 0 || got[0]->nb_segs > 1);   /* 3000 bytes: a chain */
		rte_pktmbuf_free(got[0]);
	}
	all_quiet("reasm to kernel");
	drops_none(&B, "reasm to kernel");
}

static uint16_t tcp_sum(const uint8_t *ip)
{
	uint32_t tot = be16(ip + 2), ihl = (uint32_t)(ip[0] & 0xf) * 4;

	return ref_l4_sum(ip, ip + ihl, tot - ihl);
}

/* A TCP SYN from A's LAN arrives at B with the MSS clamped and a valid
 * checksum; the clamp value is the table's. */
static void test_mss(void)
{
	uint8_t f[80];
	struct rte_mbuf *out[4], *got[4];

	for (int nops = 0; nops < 2; nops++) {
		frame_eth(f, HB, HA, 0x0800, 14 + 20 + 28, 60);
		uint8_t *ip = f + 14, *tcp = ip + 20;
		memset(ip, 0, 20);
		ip[0] = 0x45, ip[3] = 48, ip[6] = 0x40, ip[8] = 64, ip[9] = 6;
		memcpy(ip + 12, "\xc0\xa8\x01\x0a\xc0\xa8\x01\x14", 8);
		ref_ip_csum_set(ip);
		memset(tcp, 0, 28);
		tcp[0] = 0xc0, tcp[1] = 0x01, tcp[3] = 80;
		tcp[12] = 7 << 4;
		tcp[13] = 0x02;                                       /* SYN */
		tcp[14] = 0xff, tcp[15] = 0xff;
		memset(tcp + 20, 1, 8);
		memcpy(tcp + 20 + nops, "\x02\x04\x23\x28", 4);       /* MSS 9000 */
		uint16_t c = (uint16_t)~tcp_sum(ip);
		tcp[16] = (uint8_t)(c >> 8), tcp[17] = (uint8_t)c;
		CHECK(tcp_sum(ip) == 0xffff);
		unsigned n = send1(&A, f, 62, out, 4);
		CHECK(n == 1);
		if (n != 1)
			continue;
		wan_rx(&B, out, 1);
		unsigned g = take(&B, Q_LAN, got, 4);
		CHECK(g == 1);
		if (g != 1)
			continue;
		const uint8_t *rip = rte_pktmbuf_mtod(got[0], uint8_t *) + 14;
		CHECK(be16(rip + 20 + 20 + nops + 2) == A.t->mss_clamp);
		CHECK(A.t->mss_clamp == 1386);
		CHECK(tcp_sum(rip) == 0xffff);
		CHECK(memcmp(rip, ip, 20 + 16) == 0);                 /* rest untouched */
		free_all(got, g);
	}
	all_quiet("mss");
	drops_none(&A, "mss");
	drops_none(&B, "mss");
}

/* Every pair of ciphers, each direction on its own. */
static void test_ciphers(void)
{
	static const int ciphers[2] = { IPOP_CIPHER_AES256GCM, IPOP_CIPHER_CHACHA20POLY1305 };
	uint8_t f[700], r[400];
	struct rte_mbuf *out[4], *got[4];

	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++) {
			keys_set(&A, kAB, &B, kBA, ciphers[i], ciphers[j], (uint8_t)(100 + i * 2 + j));
			frame_udp4(f, HB, HA, 700, 1, 70);
			frame_udp4(r, HA, HB, 400, 1, 71);
			CHECK(send1(&A, f, 700, out, 4) == 1);
			CHECK(be64(rte_pktmbuf_mtod(out[0], uint8_t *) + IPOP_OUTER_HDR_LEN + 8) == 0);
			wan_rx(&B, out, 1);
			CHECK(take(&B, Q_LAN, got, 4) == 1 && same(got[0], f, 700));
			free_all(got, 1);
			CHECK(send1(&B, r, 400, out, 4) == 1);
			wan_rx(&A, out, 1);
			CHECK(take(&A, Q_LAN, got, 4) == 1 && same(got[0], r, 400));
			free_all(got, 1);
			/* A packet sealed under the other cipher with the same key
			 * bytes does not open. */
			static struct ipop_aead_keybuf other;
			struct ipop_aead_key save = kBA->recv_key;
			uint8_t k1[IPOP_KEY_LEN];
			for (int b = 0; b < IPOP_KEY_LEN; b++)
				k1[b] = (uint8_t)(100 + i * 2 + j + b * 13);
			CHECK(ipop_aead_keybuf_init(B.c.aead, &other, ciphers[1 - i], k1) == 0);
			kBA->recv_key = other.key;
			CHECK(send1(&A, f, 700, out, 4) == 1);
			wan_rx(&B, out, 1);
			drops_expect(&B, IPOP_DROP_WAN_AUTH, 1, "cipher mismatch");
			kBA->recv_key = save;
			all_quiet("cipher");
		}
	}
	drops_none(&A, "ciphers");
}

/* The outer header from the peer's template is byte for byte the one written
 * field by field (the fallback for tables built without templates), for every
 * frame length the path takes and for IP ids across the wrap; the checksum is
 * right in each. */
static void test_outer_template(void)
{
	static uint8_t f[1518];
	struct rte_mbuf *out[4];
	struct ipop_fp_peer *p = &A.t->peers[SLOT_B_IN_A];
	unsigned bad = 0, n_ok = 0;
	uint16_t id0 = A.c.ip_id;

	for (uint32_t len = 14; len <= MAX_UNFRAG; len += len < 200 ? 1 : 37) {
		uint8_t hdr[2][IPOP_OUTER_HDR_LEN];
		for (int mode = 0; mode < 2; mode++) {
			p->hdr_ok = (uint8_t)mode;
			/* Same IP id both times; ids sweep through the 16-bit wrap. */
			A.c.ip_id = (uint16_t)(0xff00u + len * 7);
			frame_eth(f, HB, HA, 0x88b5, len, len);
			unsigned n = send1(&A, f, len, out, 4);
			CHECK(n == 1);
			if (n != 1) {
				free_all(out, n);
				bad++;
				continue;
			}
			check_outer(out[0], &A, SLOT_B_IN_A, len);
			memcpy(hdr[mode], rte_pktmbuf_mtod(out[0], uint8_t *), IPOP_OUTER_HDR_LEN);
			n_ok += ref_ip_csum_ok(hdr[mode] + 14);
			CHECK(deliver_b(out[0], f, len));
		}
		bad += memcmp(hdr[0], hdr[1], IPOP_OUTER_HDR_LEN) != 0;
	}
	p->hdr_ok = 1;
	A.c.ip_id = id0;
	CHECK(bad == 0);
	printf("datapath: outer headers from template = written field by field, %u checksums ok\n",
	       n_ok);
	all_quiet("template");
	drops_none(&A, "template");
	drops_none(&B, "template");
}

/* The room checks of the way out: a frame without 16 + 42 bytes of headroom
 * or 16 of tailroom is dropped before sealing (nothing counted as sent); a
 * chain that reaches to_peer (a flood copy into a pool of small buffers) is
 * linearised, or dropped as multiseg when it cannot be. */
static void test_room(void)
{
	uint8_t f[1200];
	struct rte_mbuf *out[4], *got[4];
	uint64_t enc = A.st->encrypted, ctr = kAB->send_counter;

	/* Frames stay 2-byte aligned (as drivers deliver them; DPDK's header
	 * structs require it). Headroom 56: short of 58. */
	frame_udp4(f, HB, HA, 300, 1, 90);
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	m->data_off = 56;
	memcpy(rte_pktmbuf_append(m, 300), f, 300);
	local_rx(&A, &m, 1, IPOP_LOC_LAN);
	drops_expect(&A, IPOP_DROP_NOMEM, 1, "headroom 56");
	/* Headroom 58: fits exactly. */
	m = rte_pktmbuf_alloc(pool);
	m->data_off = 58;
	memcpy(rte_pktmbuf_append(m, 300), f, 300);
	local_rx(&A, &m, 1, IPOP_LOC_LAN);
	CHECK(wan_out(&A, out, 4) == 1 && deliver_b(out[0], f, 300));
	/* Tailroom 15 (a 301-byte frame), then 16 (300 bytes). */
	for (int tr = 15; tr <= 16; tr++) {
		uint32_t len = 316 - (uint32_t)tr;
		frame_udp4(f, HB, HA, len, 1, 90 + (uint32_t)tr);
		m = rte_pktmbuf_alloc(pool);
		m->data_off = (uint16_t)(m->buf_len - len - (uint32_t)tr);
		memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
		CHECK(rte_pktmbuf_tailroom(m) == tr && (m->data_off & 1) == 0);
		local_rx(&A, &m, 1, IPOP_LOC_LAN);
		if (tr == 15)
			drops_expect(&A, IPOP_DROP_NOMEM, 1, "tailroom 15");
		else
			CHECK(wan_out(&A, out, 4) == 1 && deliver_b(out[0], f, len));
	}
	CHECK(A.st->encrypted == enc + 2 && kAB->send_counter == ctr + 2);
	all_quiet("room");

	/* Flood copies into a pool whose buffers hold 512 bytes: a 1000-byte
	 * broadcast's copies for B and C are chains that cannot be linearised
	 * (dropped as multiseg); the host port gets the original. A 400-byte
	 * one fits one buffer and goes everywhere. */
	struct rte_mempool *small = rte_pktmbuf_pool_create("dp_small", 63, 0, 0,
							    512 + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
	CHECK(small != NULL);
	if (small == NULL)
		return;
	struct rte_mempool *save = A.c.pool;
	A.c.pool = small;
	frame_eth(f, BCAST, HA, 0x88b5, 1000, 91);
	unsigned n = send1(&A, f, 1000, out, 4);
	CHECK(n == 0);
	drops_expect(&A, IPOP_DROP_MULTISEG, 2, "chained flood copies");
	CHECK(take(&A, Q_HOST, got, 4) == 1 && same(got[0], f, 1000));
	free_all(got, 1);
	frame_eth(f, BCAST, HA, 0x88b5, 400, 92);
	n = send1(&A, f, 400, out, 4);
	CHECK(n == 2);
	free_all(out, n);
	CHECK(take(&A, Q_HOST, got, 4) == 1 && same(got[0], f, 400));
	free_all(got, 1);
	A.c.pool = save;
	all_quiet("room");
	CHECK(rte_mempool_avail_count(small) == 63);
	rte_mempool_free(small);
	drops_none(&B, "room");
}

/* A data message for B with any inner frame, sealed and encapsulated by hand
 * with A's session (A's own send path would not send a frame whose source and
 * destination it has just learnt on its LAN). Wired. */
static struct rte_mbuf *seal_direct(const uint8_t *f, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool), *out[2];
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(IPOP_DATA_OVERHEAD + len));
	uint64_t ctr = __atomic_fetch_add(&kAB->send_counter, 1, __ATOMIC_RELAXED);

	ipop_wire_data_hdr((struct ipop_data_hdr *)p, kAB->remote_index, ctr);
	memcpy(p + IPOP_DATA_HDR_LEN, f, len);
	CHECK(ipop_aead_seal(A.c.aead, &kAB->send_key, ctr, p, p + IPOP_DATA_HDR_LEN, len,
			     p + IPOP_DATA_HDR_LEN + len) == 0);
	tick(&A);
	ipop_dp_encap_out(&A.c, A.t, &A.t->peers[SLOT_B_IN_A], m);
	flush_all(&A);
	unsigned n = wan_out(&A, out, 2);
	CHECK(n == 1);
	return n == 1 ? out[0] : NULL;
}

/* L2 hygiene between sites (issue 14 item 4), through both paths: IEEE
 * link-local frames neither leave a LAN nor are delivered from a peer; a peer
 * cannot take the MAC of a host on B's LAN; a peer sending frames from 300
 * new source MACs in one second gets 128 learnt, and every frame delivered. */
static void test_l2_hygiene(void)
{
	static uint8_t f[80];
	static const uint8_t STP[6] = { 0x01, 0x80, 0xC2, 0, 0, 0 };
	static const uint8_t EAPOL[6] = { 0x01, 0x80, 0xC2, 0, 0, 3 };
	struct rte_mbuf *m, *out[4], *got[SINK_CAP];

	/* From A's LAN: to STP's and EAPOL's groups, nothing leaves. */
	frame_eth(f, STP, HA, 0x0026, 60, 1);
	CHECK(send1(&A, f, 60, out, 4) == 0);
	frame_eth(f, EAPOL, HA, 0x888e, 60, 2);
	CHECK(send1(&A, f, 60, out, 4) == 0);
	drops_expect(&A, IPOP_DROP_LAN_LINK_LOCAL, 2, "lan link-local");

	/* Sealed by A's session all the same (a hostile peer): B delivers none. */
	frame_eth(f, STP, HA, 0x0026, 60, 3);
	if ((m = seal_direct(f, 60)) != NULL)
		wan_rx(&B, &m, 1);
	drops_expect(&B, IPOP_DROP_INNER_LINK_LOCAL, 1, "inner link-local");

	/* HB speaks on B's LAN; then A's session claims HB. */
	frame_eth(f, BCAST, HB, 0x0806, 60, 4);
	m = mk(pool, f, 60);
	local_rx(&B, &m, 1, IPOP_LOC_LAN);
	free_all(got, take(&B, Q_WAN, got, RTE_DIM(got)));
	CHECK(ipop_bridge_lookup(&B.br, HB, NOW_S) == IPOP_LOC_LAN);
	frame_eth(f, HA, HB, 0x0800, 60, 5);
	if ((m = seal_direct(f, 60)) != NULL)
		wan_rx(&B, &m, 1);
	drops_expect(&B, IPOP_DROP_INNER_SRC_LOCAL, 1, "mac held");
	CHECK(ipop_bridge_lookup(&B.br, HB, NOW_S) == IPOP_LOC_LAN);
	CHECK(take(&B, Q_LAN, got, RTE_DIM(got)) == 0);

	/* 300 new source MACs from A in one second. */
	forget_cache(&B);
	memset(B.c.learn_budget, 0, sizeof(B.c.learn_budget));
	uint64_t learned = B.st->learned, limited = B.st->learn_limited;
	unsigned delivered = 0;
	for (unsigned i = 0; i < 300; i++) {
		uint8_t src[6] = { 0x02, 0x66, 0, 0, (uint8_t)(i >> 8), (uint8_t)i };
		frame_eth(f, HB, src, 0x0800, 60, 100 + i);
		if ((m = seal_direct(f, 60)) != NULL)
			wan_rx(&B, &m, 1);
		unsigned g = take(&B, Q_LAN, got, RTE_DIM(got));
		delivered += g;
		free_all(got, g);
	}
	printf("datapath: 300 new MACs from one peer in a second: %lu learnt, %lu limited, "
	       "%u delivered\n", (unsigned long)(B.st->learned - learned),
	       (unsigned long)(B.st->learn_limited - limited), delivered);
	CHECK(B.st->learned - learned == IPOP_LEARN_PER_S);
	CHECK(B.st->learn_limited - limited == 300 - IPOP_LEARN_PER_S);
	CHECK(delivered == 300);
	/* The next second has a budget again. */
	B.c.now_s = NOW_S + 1;
	CHECK(ipop_bridge_flush_loc(&B.br, SLOT_A_IN_B) >= IPOP_LEARN_PER_S);
	memset(B.c.learn_budget, 0, sizeof(B.c.learn_budget));
	forget_cache(&B);
	all_quiet("l2 hygiene");
	drops_none(&A, "l2 hygiene");
	drops_none(&B, "l2 hygiene");
}

/* Learning once per run of one source within a burst and reusing the last
 * lookup must not change what the bridge says or where frames go. */
static void test_bridge_burst(void)
{
	static const uint8_t HN[6] = { 0x52, 0x54, 0, 0, 0xa0, 0x77 };
	static const uint8_t HM[6] = { 0x52, 0x54, 0, 0, 0xd0, 0x01 };
	uint8_t f[4][128];
	struct rte_mbuf *m[4], *out[8], *got[8];

	/* A, LAN side. [HA -> HN] floods (HN unknown); [HN -> HN] then learns HN
	 * on the LAN, so the same destination now looks up as LAN-local: the
	 * first frame's lookup must not be reused. */
	frame_eth(f[0], HN, HA, 0x88b5, 100, 1);
	frame_eth(f[1], HN, HN, 0x88b5, 100, 2);
	for (int i = 0; i < 2; i++)
		m[i] = mk(pool, f[i], 100);
	uint64_t fl = A.st->flooded, learned = A.st->learned;
	local_rx(&A, m, 2, IPOP_LOC_LAN);
	CHECK(A.st->flooded == fl + 1);
	CHECK(A.st->learned == learned + 1);
	CHECK(ipop_bridge_lookup(&A.br, HN, NOW_S) == IPOP_LOC_LAN);
	drops_expect(&A, IPOP_DROP_LAN_LOCAL, 1, "learnt in burst");
	free_all(out, wan_out(&A, out, 8));
	free_all(got, take(&A, Q_HOST, got, 8));
	all_quiet("bridge burst");

	/* The same with an aged entry: HN sits on the LAN but was last seen
	 * more than the ageing time ago, so it looks up as unknown (flood);
	 * [HN -> HN] refreshes it without moving it (learn returns false), and
	 * the destination is live again. */
	CHECK(ipop_bridge_learn(&A.br, HN, IPOP_LOC_LAN, NOW_S - 301) == false);
	CHECK(ipop_bridge_lookup(&A.br, HN, NOW_S) == IPOP_LOC_NONE);
	forget_cache(&A);
	for (int i = 0; i < 2; i++)
		m[i] = mk(pool, f[i], 100);
	fl = A.st->flooded;
	learned = A.st->learned;
	local_rx(&A, m, 2, IPOP_LOC_LAN);
	CHECK(A.st->flooded == fl + 1);
	CHECK(A.st->learned == learned);
	CHECK(ipop_bridge_lookup(&A.br, HN, NOW_S) == IPOP_LOC_LAN);
	drops_expect(&A, IPOP_DROP_LAN_LOCAL, 1, "refreshed in burst");
	free_all(out, wan_out(&A, out, 8));
	free_all(got, take(&A, Q_HOST, got, 8));
	all_quiet("bridge burst");

	/* A run of one source with an aged entry in between others: learnt (and
	 * refreshed) once, everything delivered to B, B learns HA once. */
	CHECK(ipop_bridge_learn(&A.br, HA, IPOP_LOC_LAN, NOW_S - 10) == false);
	forget_cache(&A);
	for (int i = 0; i < 4; i++) {
		frame_udp4(f[i], HB, HA, 128, 1, 300 + (uint32_t)i);
		m[i] = mk(pool, f[i], 128);
	}
	learned = A.st->learned;
	uint64_t learned_b = B.st->learned;
	local_rx(&A, m, 4, IPOP_LOC_LAN);
	CHECK(A.st->learned == learned);
	unsigned n = wan_out(&A, out, 8);
	CHECK(n == 4);
	wan_rx(&B, out, (uint16_t)n);
	CHECK(take(&B, Q_LAN, got, 8) == 4);
	for (int i = 0; i < 4; i++)
		CHECK(same(got[i], f[i], 128));
	free_all(got, 4);
	CHECK(B.st->learned == learned_b);             /* HA was already behind A */
	/* The refresh happened: aged by 10 s before, seen now. */
	int found = 0;
	for (uint32_t i = 0; i <= A.br.mask; i++) {
		for (int w = 0; w < IPOP_BRIDGE_WAYS; w++) {
			if (A.br.b[i].ent[w] >> 16 == ipop_mac_key(HA)) {
				found++;
				CHECK(A.br.b[i].seen[w] == NOW_S);
			}
		}
	}
	CHECK(found == 1);
	all_quiet("bridge burst");

	/* WAN side, B: [HA -> HM] is delivered to the LAN (HM unknown: B has no
	 * host port); [HM -> HM] learns HM behind A in the same burst, so HM is
	 * no longer local: dropped as not local, not delivered. */
	frame_eth(f[0], HM, HA, 0x88b5, 100, 5);
	frame_eth(f[1], HM, HM, 0x88b5, 100, 6);
	for (int i = 0; i < 2; i++)
		out[i] = seal_direct(f[i], 100);
	learned_b = B.st->learned;
	wan_rx(&B, out, 2);
	CHECK(take(&B, Q_LAN, got, 8) == 1 && same(got[0], f[0], 100));
	free_all(got, 1);
	drops_expect(&B, IPOP_DROP_NOT_LOCAL, 1, "learnt in rx burst");
	CHECK(B.st->learned == learned_b + 1);
	CHECK(ipop_bridge_lookup(&B.br, HM, NOW_S) == SLOT_A_IN_B);
	all_quiet("bridge burst");

	/* The same source from two peers in one burst: A receives HM from B,
	 * then from C; it must end up behind C (the slot differs, so the second
	 * frame is learnt). */
	frame_eth(f[0], HA, HM, 0x88b5, 100, 7);
	CHECK(send1(&B, f[0], 100, &out[0], 1) == 1);
	CHECK(send1(&C, f[0], 100, &out[1], 1) == 1);
	uint64_t learned_a = A.st->learned;
	wan_rx(&A, out, 2);
	CHECK(take(&A, Q_LAN, got, 8) == 2 && same(got[0], f[0], 100) && same(got[1], f[0], 100));
	free_all(got, 2);
	CHECK(A.st->learned == learned_a + 2);
	CHECK(ipop_bridge_lookup(&A.br, HM, NOW_S) == SLOT_C_IN_A);
	CHECK(ipop_bridge_flush_loc(&A.br, SLOT_C_IN_A) >= 1);
	CHECK(ipop_bridge_flush_loc(&B.br, SLOT_A_IN_B) >= 1);
	all_quiet("bridge burst");
	drops_none(&A, "bridge burst");
	drops_none(&B, "bridge burst");
	drops_none(&C, "bridge burst");
}

/* Bursts longer than the seal/open batch (64), with several sessions mixed. */
static void test_big_burst(void)
{
	enum { N = 150 };
	static uint8_t f[N][128];
	struct rte_mbuf *m[N], *out[N + 8], *got[N + 8];

	keys_set(&A, kAB, &B, kBA, IPOP_CIPHER_CHACHA20POLY1305, IPOP_CIPHER_AES256GCM, 77);
	keys_set(&A, kAC, &C, kCA, IPOP_CIPHER_AES256GCM, IPOP_CIPHER_CHACHA20POLY1305, 78);
	ipop_bridge_learn(&A.br, HC, SLOT_C_IN_A, NOW_S);
	for (int i = 0; i < N; i++) {
		frame_udp4(f[i], (i % 3) ? HB : HC, HA, 128, 1, 200 + (uint32_t)i);
		m[i] = mk(pool, f[i], 128);
	}
	local_rx(&A, m, N, IPOP_LOC_LAN);
	unsigned n = wan_out(&A, out, N + 8);
	CHECK(n == N);
	CHECK(kAB->send_counter == 100 && kAC->send_counter == 50);
	/* Deliver each to its gateway in one burst; every frame arrives. */
	struct rte_mbuf *tb[N], *tc[N];
	unsigned nb = 0, nc = 0;
	for (unsigned i = 0; i < n; i++) {
		if (dest_of(out[i]) == &B)
			tb[nb++] = out[i];
		else
			tc[nc++] = out[i];
	}
	CHECK(nb == 100 && nc == 50);
	wan_rx(&B, tb, (uint16_t)nb);
	wan_rx(&C, tc, (uint16_t)nc);
	unsigned gb = take(&B, Q_LAN, got, N + 8);
	CHECK(gb == 100);
	unsigned k = 0;
	for (int i = 0; i < N && k < gb; i++)
		if (i % 3)
			CHECK(same(got[k++], f[i], 128));
	free_all(got, gb);
	unsigned gc = take(&C, Q_LAN, got, N + 8);
	CHECK(gc == 50);
	k = 0;
	for (int i = 0; i < N && k < gc; i++)
		if (i % 3 == 0)
			CHECK(same(got[k++], f[i], 128));
	free_all(got, gc);
	all_quiet("burst");
	drops_none(&A, "burst");
	drops_none(&B, "burst");
	drops_none(&C, "burst");
}

/* ---- Bounded Flood across a gateway ---- */

/* Place the three gateways on the ring as A (1), C (2), B (3) (top nibble):
 * then B's successor A is its neighbour and A's arc from B's copy, (A, B),
 * holds C, so A must relay. Restored by ring_ids(false). */
static void ring_ids(bool relay_order)
{
	struct ipop_node_id a = gw_id(0), b = relay_order ? gw_id(2) : gw_id(1),
			    c = relay_order ? gw_id(1) : gw_id(2);

	A.t->self_id = a;
	B.t->self_id = b;
	C.t->self_id = c;
	A.t->peers[SLOT_B_IN_A].id = b;
	A.t->peers[SLOT_C_IN_A].id = c;
	B.t->peers[SLOT_A_IN_B].id = a;
	C.t->peers[SLOT_A_IN_C].id = a;
	ipop_fp_table_adjacency(A.t);
	ipop_fp_table_adjacency(B.t);
	ipop_fp_table_adjacency(C.t);
}

/* Where fabric_from_b's packets come from (NULL: the common pool). */
static struct rte_mempool *fabric_pool;

/* A flood copy (or another fabric message type) of frame f from B to A,
 * sealed by hand with B's session (fabric header as given), as it arrives on
 * A's WAN port. */
static struct rte_mbuf *fabric_from_b(uint8_t type, const struct ipop_fabric_hdr *fh,
				      const uint8_t *f, uint32_t len)
{
	static uint8_t pl[2048], out[2200];
	uint32_t body = IPOP_FABRIC_HDR_LEN + len;
	uint64_t ctr = __atomic_fetch_add(&kBA->send_counter, 1, __ATOMIC_RELAXED);

	ipop_wire_data_hdr_type((struct ipop_data_hdr *)pl, type, kBA->remote_index, ctr);
	memcpy(pl + IPOP_DATA_HDR_LEN, fh, IPOP_FABRIC_HDR_LEN);
	memcpy(pl + IPOP_DATA_HDR_LEN + IPOP_FABRIC_HDR_LEN, f, len);
	CHECK(ipop_aead_seal(B.c.aead, &kBA->send_key, ctr, pl, pl + IPOP_DATA_HDR_LEN, body,
			     pl + IPOP_DATA_HDR_LEN + body) == 0);
	return mk(fabric_pool != NULL ? fabric_pool : pool, out,
		  frame_outer(out, &A, 17, ntohs(A.t->wan_port), pl, IPOP_DATA_OVERHEAD + body));
}

static struct rte_mbuf *flood_from_b(const struct ipop_fabric_hdr *fh, const uint8_t *f,
				     uint32_t len)
{
	return fabric_from_b(IPOP_MSG_FLOOD, fh, f, len);
}

static void test_bounded_flood(void)
{
	uint8_t f[128];
	struct rte_mbuf *out[8], *got[8];

	ring_ids(true);
	frame_eth(f, BCAST, HB, 0x0806, 60, 7);
	uint64_t b_tx = B.st->flood_tx, a_rx = A.st->flood_rx, a_rel = A.st->flood_relayed;
	uint64_t c_rx = C.st->flood_rx;
	uint64_t a_h1 = A.st->flood_rx_hops[0], c_h2 = C.st->flood_rx_hops[1];
	unsigned n = send1(&B, f, 60, out, 8);
	CHECK(n == 1 && B.st->flood_tx == b_tx + 1);       /* one copy: to A */
	if (n != 1)
		return;
	const uint8_t *h = check_outer(out[0], &B, SLOT_A_IN_B, 60);
	CHECK(h[0] == IPOP_MSG_FLOOD);
	wan_rx(&A, out, 1);
	CHECK(take(&A, Q_LAN, got, 8) == 1 && same(got[0], f, 60));
	free_all(got, 1);
	CHECK(take(&A, Q_HOST, got, 8) == 1 && same(got[0], f, 60));
	free_all(got, 1);
	CHECK(A.st->flood_rx == a_rx + 1 && A.st->flood_relayed == a_rel + 1);
	CHECK(ipop_bridge_lookup(&A.br, HB, NOW_S) == SLOT_B_IN_A);   /* from its origin */
	n = wan_out(&A, out, 8);
	CHECK(n == 1 && dest_of(out[0]) == &C);                     /* relayed to C only */
	if (n != 1)
		return;
	h = check_outer(out[0], &A, SLOT_C_IN_A, 60);
	CHECK(h[0] == IPOP_MSG_FLOOD);
	forget_cache(&C);
	wan_rx(&C, out, 1);
	CHECK(take(&C, Q_LAN, got, 8) == 1 && same(got[0], f, 60));
	free_all(got, 1);
	CHECK(C.st->flood_rx == c_rx + 1);
	/* Path lengths: A got it straight from its origin, C two gateways on. */
	CHECK(A.st->flood_rx_hops[0] == a_h1 + 1 && C.st->flood_rx_hops[1] == c_h2 + 1);
	/* C got it from A, not from its origin B: nothing learnt about HB. */
	CHECK(ipop_bridge_lookup(&C.br, HB, NOW_S) == IPOP_LOC_NONE);
	CHECK(wan_out(&C, out, 8) == 0);                            /* C's arc is empty */
	all_quiet("bounded flood");
	drops_none(&A, "bounded flood");
	drops_none(&C, "bounded flood");

	/* Bad copies from B, each refused and counted, nothing delivered or relayed. */
	struct ipop_fabric_hdr fh, bad;
	memset(&fh, 0, sizeof(fh));
	ipop_node_id_to_bytes(B.t->self_id, fh.origin);
	ipop_node_id_to_bytes(B.t->self_id, fh.bound);
	static const enum ipop_drop why[4] = { IPOP_DROP_FLOOD_HDR, IPOP_DROP_FLOOD_HOPS,
					       IPOP_DROP_FLOOD_OWN, IPOP_DROP_FLOOD_BOUND };
	for (unsigned i = 0; i < 4; i++) {
		bad = fh;
		if (i == 0)
			bad.reserved[1] = 1;
		else if (i == 1)
			bad.hops = IPOP_FABRIC_MAX_HOPS;
		else if (i == 2)
			ipop_node_id_to_bytes(A.t->self_id, bad.origin);
		else
			ipop_node_id_to_bytes(A.t->self_id, bad.bound);   /* A outside (B, A) */
		struct rte_mbuf *m = flood_from_b(&bad, f, 60);
		wan_rx(&A, &m, 1);
		drops_expect(&A, why[i], 1, "bad flood copy");
	}
	/* From a peer A does not count as a neighbour (its next hop unresolved). */
	A.t->peers[SLOT_B_IN_A].up = 0;
	struct rte_mbuf *m = flood_from_b(&fh, f, 60);
	wan_rx(&A, &m, 1);
	A.t->peers[SLOT_B_IN_A].up = 1;
	drops_expect(&A, IPOP_DROP_FLOOD_NOT_NBR, 1, "not nbr");
	/* The genuine header still goes through (delivered and relayed once). */
	m = flood_from_b(&fh, f, 60);
	wan_rx(&A, &m, 1);
	CHECK(take(&A, Q_LAN, got, 8) == 1);
	free_all(got, 1);
	CHECK(take(&A, Q_HOST, got, 8) == 1);
	free_all(got, 1);
	CHECK(wan_out(&A, out, 8) == 1);
	free_all(out, 1);
	all_quiet("bad flood copies");
	ring_ids(false);
}

/* ---- transit: unicast across a gateway ---- */

/* Every gateway's directory names the other two (slots 0, 1, 2 = A, B, C, as
 * control's would: members only, not itself); ipop_fp_table_gateways maps
 * the ones with a tunnel to their peer slots. */
static void directory_set(bool on)
{
	struct gw *gs[3] = { &A, &B, &C };

	for (int i = 0; i < 3; i++) {
		memset(gs[i]->t->gw, 0, sizeof(gs[i]->t->gw));
		for (int j = 0; on && j < 3; j++) {
			if (j == i)
				continue;
			gs[i]->t->gw[j].used = 1;
			gs[i]->t->gw[j].id = gs[j]->t->self_id;
		}
		ipop_fp_table_gateways(gs[i]->t);
	}
}

/* What g sent on its WAN port: exactly one packet, to peer slot, of this type. */
static bool one_out(struct gw *g, uint16_t slot, uint8_t type, uint32_t inner_len,
		    struct rte_mbuf **out)
{
	unsigned n = wan_out(g, out, 8);

	CHECK(n == 1);
	if (n != 1) {
		free_all(out, n);
		return false;
	}
	const uint8_t *h = check_outer(out[0], g, slot, inner_len);
	CHECK(h[0] == type);
	return h[0] == type;
}

/* The line B - A - C (B and C hold no tunnel to each other), ring order A, C,
 * B: after B's broadcast, C reaches B's host through A as transit frames,
 * re-sealed by A; the answer learns the way back; bad transit frames are
 * dropped, each with its counter; a lost route floods. */
static void test_transit(void)
{
	uint8_t f[128];
	struct rte_mbuf *out[8], *got[8];

	ring_ids(true);
	directory_set(true);
	CHECK(A.t->n_gw == 2 && A.t->gw[1].peer == SLOT_B_IN_A && A.t->gw[2].peer == SLOT_C_IN_A);
	CHECK(C.t->gw[1].peer == IPOP_GW_NO_PEER && C.t->gw[0].peer == SLOT_A_IN_C);
	CHECK(ipop_fp_gw_find(C.t, B.t->self_id) == 1 && ipop_fp_gw_find(C.t, C.t->self_id) < 0);
	forget_cache(&A), forget_cache(&B), forget_cache(&C);

	/* B's ARP request floods B -> A -> C. C learns HB behind gateway B, and
	 * A as its way there. */
	frame_eth(f, BCAST, HB, 0x0806, 60, 9);
	CHECK(send1(&B, f, 60, out, 8) == 1);
	wan_rx(&A, out, 1);
	free_all(got, take(&A, Q_LAN, got, 8));
	free_all(got, take(&A, Q_HOST, got, 8));
	CHECK(wan_out(&A, out, 8) == 1);
	wan_rx(&C, out, 1);
	free_all(got, take(&C, Q_LAN, got, 8));
	CHECK(ipop_bridge_lookup(&C.br, HB, NOW_S) == IPOP_LOC_GW_BASE + 1);
	CHECK(ipop_routes_lookup(&C.routes, 1, NOW_S) == SLOT_A_IN_C);
	CHECK(ipop_bridge_lookup(&A.br, HB, NOW_S) == SLOT_B_IN_A);   /* A: from its origin */

	/* C's host answers HB: a transit frame to A, which forwards it to B. */
	uint64_t c_tx = C.st->transit_tx, a_rel = A.st->transit_relayed, b_rx = B.st->transit_rx;
	uint64_t flooded = C.st->flooded;
	frame_udp4(f, HB, HC, 100, 1, 42);
	CHECK(send1(&C, f, 100, out, 8) == 1);
	CHECK(C.st->transit_tx == c_tx + 1 && C.st->flooded == flooded);
	const uint8_t *h = check_outer(out[0], &C, SLOT_A_IN_C, 100);
	CHECK(h[0] == IPOP_MSG_TRANSIT);
	wan_rx(&A, out, 1);
	CHECK(take(&A, Q_LAN, got, 8) == 0 && take(&A, Q_HOST, got, 8) == 0);  /* not A's */
	CHECK(A.st->transit_relayed == a_rel + 1);
	CHECK(ipop_bridge_lookup(&A.br, HC, NOW_S) == SLOT_C_IN_A);   /* from its origin, direct */
	if (!one_out(&A, SLOT_B_IN_A, IPOP_MSG_TRANSIT, 100, out))
		return;
	wan_rx(&B, out, 1);
	CHECK(take(&B, Q_LAN, got, 8) == 1 && same(got[0], f, 100));
	free_all(got, 1);
	CHECK(B.st->transit_rx == b_rx + 1);
	CHECK(ipop_bridge_lookup(&B.br, HC, NOW_S) == IPOP_LOC_GW_BASE + 2);
	CHECK(ipop_routes_lookup(&B.routes, 2, NOW_S) == SLOT_A_IN_B);

	/* And back: B's host to HC goes as transit, A forwards, C delivers. */
	frame_udp4(f, HC, HB, 90, 2, 43);
	if (!(send1(&B, f, 90, out, 8) == 1))
		return;
	h = check_outer(out[0], &B, SLOT_A_IN_B, 90);
	CHECK(h[0] == IPOP_MSG_TRANSIT);
	wan_rx(&A, out, 1);
	if (!one_out(&A, SLOT_C_IN_A, IPOP_MSG_TRANSIT, 90, out))
		return;
	wan_rx(&C, out, 1);
	CHECK(take(&C, Q_LAN, got, 8) == 1 && same(got[0], f, 90));
	free_all(got, 1);
	all_quiet("transit");
	drops_none(&A, "transit");
	drops_none(&B, "transit");
	drops_none(&C, "transit");

	/* Bad transit frames from B at A: each dropped and counted, nothing
	 * delivered or forwarded. */
	struct ipop_fabric_hdr fh, bad;
	memset(&fh, 0, sizeof(fh));
	ipop_node_id_to_bytes(B.t->self_id, fh.origin);
	ipop_node_id_to_bytes(C.t->self_id, fh.bound);
	static const enum ipop_drop why[5] = { IPOP_DROP_TRANSIT_HDR, IPOP_DROP_TRANSIT_HOPS,
					       IPOP_DROP_TRANSIT_OWN, IPOP_DROP_TRANSIT_UNKNOWN,
					       IPOP_DROP_TRANSIT_LOOP };
	for (unsigned i = 0; i < 5; i++) {
		bad = fh;
		if (i == 0)
			bad.reserved[2] = 1;
		else if (i == 1)
			bad.hops = IPOP_FABRIC_MAX_HOPS;
		else if (i == 2)
			ipop_node_id_to_bytes(A.t->self_id, bad.origin);
		else if (i == 3)
			ipop_node_id_to_bytes(ipop_node_id_make(0x77, 0x77), bad.bound);
		else
			ipop_node_id_to_bytes(B.t->self_id, bad.bound);   /* back where it came from */
		struct rte_mbuf *m = fabric_from_b(IPOP_MSG_TRANSIT, &bad, f, 90);
		wan_rx(&A, &m, 1);
		drops_expect(&A, why[i], 1, "bad transit frame");
	}
	/* For a gateway A knows but has neither a tunnel nor a route to. */
	A.t->gw[3].used = 1;
	A.t->gw[3].id = ipop_node_id_make(0x99, 0x99);
	ipop_fp_table_gateways(A.t);
	ipop_node_id_to_bytes(A.t->gw[3].id, bad.bound);
	bad = fh;
	ipop_node_id_to_bytes(A.t->gw[3].id, bad.bound);
	struct rte_mbuf *m = fabric_from_b(IPOP_MSG_TRANSIT, &bad, f, 90);
	wan_rx(&A, &m, 1);
	drops_expect(&A, IPOP_DROP_TRANSIT_NO_ROUTE, 1, "no route");
	all_quiet("bad transit frames");

	/* B's route through A dies with A's link (control flushes it): the next
	 * frame for HC is flooded, and counted as a route miss. */
	CHECK(ipop_routes_flush_nbr(&B.routes, SLOT_A_IN_B) == 1);
	uint64_t miss = B.st->transit_route_miss, b_fl = B.st->flooded;
	frame_udp4(f, HC, HB, 90, 2, 44);
	if (!(send1(&B, f, 90, out, 8) == 1))
		return;
	CHECK(B.st->transit_route_miss == miss + 1 && B.st->flooded == b_fl + 1);
	h = check_outer(out[0], &B, SLOT_A_IN_B, 90);
	CHECK(h[0] == IPOP_MSG_FLOOD);
	free_all(out, 1);
	/* A route older than the ageing time is no route. */
	ipop_routes_learn(&B.routes, 2, SLOT_A_IN_B, NOW_S - 301);
	CHECK(ipop_routes_lookup(&B.routes, 2, NOW_S) == IPOP_GW_NO_PEER);
	CHECK(ipop_routes_lookup(&B.routes, 2, NOW_S - 300) == SLOT_A_IN_B);
	all_quiet("route miss");

	/* A MAC behind a gateway that has a direct tunnel goes by the tunnel
	 * as plain data, whatever its route says. */
	ipop_bridge_learn(&A.br, HC, IPOP_LOC_GW_BASE + 2, NOW_S);
	forget_cache(&A);
	frame_udp4(f, HC, HA, 80, 3, 45);
	struct rte_mbuf *x = mk(pool, f, 80);
	local_rx(&A, &x, 1, IPOP_LOC_LAN);
	if (one_out(&A, SLOT_C_IN_A, IPOP_MSG_DATA, 80, out))
		free_all(out, 1);
	ipop_bridge_flush_loc(&A.br, IPOP_LOC_GW_BASE + 2);
	ipop_bridge_flush_loc(&B.br, IPOP_LOC_GW_BASE + 2);
	ipop_bridge_flush_loc(&C.br, IPOP_LOC_GW_BASE + 1);
	ipop_bridge_flush_loc(&A.br, SLOT_B_IN_A);
	ipop_bridge_flush_loc(&A.br, SLOT_C_IN_A);
	forget_cache(&A), forget_cache(&B), forget_cache(&C);
	directory_set(false);
	ring_ids(false);
	all_quiet("transit end");
}

/* ---- a flood's copies sealed out of the one frame ---- */

#define FS_FLOODS 40          /* 1 direct op + 2 per flood: the batch fills mid-flood */
#define FS_POOL   255

/* Open tunnel packet w (from A to the peer in A's slot) with the receiver's
 * key, in place; returns the body (fabric header and frame, or a frame) and
 * its length in *blen, or NULL. */
static const uint8_t *fs_open(struct rte_mbuf *w, uint16_t slot, uint32_t inner, uint32_t *blen)
{
	const uint8_t *h = check_outer(w, &A, slot, inner);
	struct gw *to = slot == SLOT_B_IN_A ? &B : &C;
	struct ipop_keypair *rx = slot == SLOT_B_IN_A ? kBA : kCA;

	if (h == NULL)
		return NULL;
	*blen = (h[0] == IPOP_MSG_DATA ? 0 : IPOP_FABRIC_HDR_LEN) + inner;
	uint8_t *body = (uint8_t *)h + IPOP_DATA_HDR_LEN;
	if (ipop_aead_open(to->c.aead, &rx->recv_key, be64(h + 8), h, body, *blen,
			   body + *blen) != 0)
		return NULL;
	return body;
}

/* ipop_dp_flood_out on A (neighbours B and C) straight into a seal batch
 * that already holds one direct frame, FS_FLOODS broadcasts of different
 * sizes and hop counts, so that the batch fills (and is sealed) in the middle
 * of a flood. keep false: the frame itself is the last copy, sealed in place
 * after the copies sealed out of it. keep true: the caller keeps the frame
 * and frees every other one before the flush, as a LAN queue that is sent
 * first would; the pool is then emptied and every buffer it gives scribbled,
 * so a frame that went back to the pool too early would be sealed as
 * garbage. Each neighbour opens each copy: origin, its own bound, the hop
 * count, the reserved bytes and the frame byte for byte; the kept frames are
 * unchanged; the pool is back to its count. cipher_c: C's tunnel (ChaCha20:
 * its copies are whole copies, sealed in place). */
static void flood_sealed_case(bool keep, int cipher_c)
{
	static struct ipop_seal_batch b;
	static uint8_t f[FS_FLOODS][1500], d[200];
	static struct rte_mbuf *kept[FS_FLOODS], *drain[FS_POOL], *out[1 + 2 * FS_FLOODS + 8];
	uint32_t flen[FS_FLOODS];
	struct ipop_flood_fwd fwd[4];
	struct ipop_node_id bound_of[2];
	struct rte_mempool *fp = rte_pktmbuf_pool_create("dp_fsealed", FS_POOL, 0, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);

	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	keys_set(&A, kAC, &C, kCA, cipher_c, IPOP_CIPHER_AES256GCM, 3);
	struct rte_mempool *save = A.c.pool;
	A.c.pool = fp;
	memset(&b, 0, sizeof(b));
	tick(&A);
	/* Who gets which share of the ring: the copies' order in the batch. */
	int n = ipop_flood_next_hops(A.t->self_id, A.t->adj_id, A.t->n_adj, NULL, fwd, 4);
	CHECK(n == 2);
	if (n != 2)
		goto out;
	uint16_t slot_of[2] = { A.t->adj_slot[fwd[0].nbr], A.t->adj_slot[fwd[1].nbr] };
	bound_of[0] = fwd[0].bound;
	bound_of[1] = fwd[1].bound;
	CHECK(slot_of[0] != slot_of[1]);

	frame_udp4(d, HB, HA, 150, 1, 300);
	struct rte_mbuf *dm = mk(fp, d, 150);
	ipop_dp_seal_to(&A.c, A.t, &b, dm, SLOT_B_IN_A, IPOP_MSG_DATA);
	uint64_t tx0 = A.st->flood_tx;
	for (unsigned k = 0; k < FS_FLOODS; k++) {
		struct ipop_fabric_hdr fh;
		uint8_t buf[1600];
		flen[k] = 60 + k * 33;
		frame_eth(f[k], BCAST, HA, 0x88b5, flen[k], 400 + k);
		memset(&fh, 0, sizeof(fh));
		ipop_node_id_to_bytes(A.t->self_id, fh.origin);
		memcpy(buf, &fh, sizeof(fh));
		memcpy(buf + sizeof(fh), f[k], flen[k]);
		struct rte_mbuf *m = mk(fp, buf, IPOP_FABRIC_HDR_LEN + flen[k]);
		CHECK(m != NULL);
		if (m == NULL)
			goto out;
		CHECK(ipop_dp_flood_out(&A.c, A.t, &b, m, NULL, (uint8_t)(k % 7), keep) == 2);
		kept[k] = NULL;
		if (keep && k % 2 == 0)
			kept[k] = m;
		else if (keep)
			rte_pktmbuf_free(m);       /* the caller's reference: gone before the flush */
	}
	CHECK(A.st->flood_tx == tx0 + 2 * FS_FLOODS);
	CHECK(b.n == 1 + 2 * FS_FLOODS - IPOP_DP_BATCH);   /* one flush happened, mid-flood */
	unsigned nd = 0;
	if (keep) {
		while (nd < FS_POOL && (drain[nd] = rte_pktmbuf_alloc(fp)) != NULL) {
			memset(rte_pktmbuf_mtod(drain[nd], uint8_t *) - RTE_PKTMBUF_HEADROOM, 0x5a,
			       drain[nd]->buf_len);
			nd++;
		}
		CHECK(nd > 0);
	}
	ipop_dp_seal_flush(&A.c, A.t, &b);
	flush_all(&A);
	free_all(drain, nd);
	CHECK(b.n == 0 && b.n_held == 0 && b.fab == 0);

	unsigned got = take(&A, Q_WAN, out, RTE_DIM(out)), bad = 0;
	CHECK(got == 1 + 2 * FS_FLOODS);
	for (unsigned i = 0; i < got && got == 1 + 2 * FS_FLOODS; i++) {
		uint32_t blen = 0;
		if (i == 0) {
			const uint8_t *body = fs_open(out[0], SLOT_B_IN_A, 150, &blen);
			bad += body == NULL || blen != 150 || memcmp(body, d, 150) != 0;
			continue;
		}
		unsigned k = (i - 1) / 2, j = (i - 1) % 2;
		const uint8_t *body = fs_open(out[i], slot_of[j], flen[k], &blen);
		if (body == NULL) {
			bad++;
			continue;
		}
		const struct ipop_fabric_hdr *fh = (const struct ipop_fabric_hdr *)body;
		uint8_t want[IPOP_NODE_ID_BYTES];
		ipop_node_id_to_bytes(A.t->self_id, want);
		bad += memcmp(fh->origin, want, sizeof(want)) != 0;
		ipop_node_id_to_bytes(bound_of[j], want);
		bad += memcmp(fh->bound, want, sizeof(want)) != 0;
		bad += fh->hops != k % 7;
		bad += (fh->reserved[0] | fh->reserved[1] | fh->reserved[2]) != 0;
		bad += memcmp(body + IPOP_FABRIC_HDR_LEN, f[k], flen[k]) != 0;
	}
	CHECK(bad == 0);
	if (bad != 0)
		fprintf(stderr, "  flood sealed from the frame (keep %d, C cipher %d): %u bad copies\n",
			keep, cipher_c, bad);
	free_all(out, got);
	for (unsigned k = 0; k < FS_FLOODS; k++) {
		if (kept[k] == NULL)
			continue;
		/* The caller's frame as it gave it (the fabric header's variable
		 * bytes are the batch's scratch while the copies are sealed). */
		CHECK(rte_mbuf_refcnt_read(kept[k]) == 1);
		CHECK(memcmp(rte_pktmbuf_mtod_offset(kept[k], uint8_t *, IPOP_FABRIC_HDR_LEN),
			     f[k], flen[k]) == 0);
		rte_pktmbuf_free(kept[k]);
	}
out:
	A.c.pool = save;
	all_quiet("flood sealed from the frame");
	CHECK(rte_mempool_avail_count(fp) == FS_POOL);
	rte_mempool_free(fp);
	keys_set(&A, kAC, &C, kCA, IPOP_CIPHER_CHACHA20POLY1305, IPOP_CIPHER_AES256GCM, 2);
}

/* A's LAN port as a driver: what it is given is sent and freed at once, and
 * the buffers that then sit free in fabric_pool are reused (scribbled): a
 * frame whose last reference went with it would be garbage afterwards. */
static void lan_send_free(struct ipop_pktq *q)
{
	struct rte_mbuf *re[128];   /* the whole pool: it hands buffers out in order */
	unsigned n = 0;

	for (uint16_t i = 0; i < q->n; i++)
		rte_pktmbuf_free(q->pkts[i]);
	q->n = 0;
	while (n < RTE_DIM(re) && (re[n] = rte_pktmbuf_alloc(fabric_pool)) != NULL) {
		memset(re[n]->buf_addr, 0xa5, re[n]->buf_len);
		n++;
	}
	free_all(re, n);
}

/* The relay path itself (flood_in, keep): A gets a burst of flood copies
 * from B to deliver to its LAN and relay to C, with its LAN queue already
 * holding frames, so the queue is sent (and its frames freed, their buffers
 * reused) while the relay batch still holds the copies sealed out of them.
 * C opens every relayed copy and delivers the frame byte for byte. */
static void test_flood_relay_lan_first(void)
{
	enum { K = 60, PRE = 20 };
	static uint8_t f[K][200];
	struct rte_mbuf *in[K], *out[K + 8], *got[K + 8];
	struct ipop_fabric_hdr fh;
	struct rte_mempool *fp = rte_pktmbuf_pool_create("dp_relayfirst", 127, 0, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);

	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	ring_ids(true);                       /* B's copies reach C through A */
	keys_set(&A, kAC, &C, kCA, IPOP_CIPHER_AES256GCM, IPOP_CIPHER_AES256GCM, 4);
	memset(&fh, 0, sizeof(fh));
	ipop_node_id_to_bytes(B.t->self_id, fh.origin);
	ipop_node_id_to_bytes(B.t->self_id, fh.bound);
	fabric_pool = fp;
	for (unsigned k = 0; k < K; k++) {
		frame_eth(f[k], BCAST, HB, 0x88b5, 60 + k, 500 + k);
		in[k] = flood_from_b(&fh, f[k], 60 + k);
		CHECK(in[k] != NULL);
	}
	struct ipop_pktq *host = A.c.q_host;
	A.c.q_host = NULL;
	A.q[Q_LAN].flush = lan_send_free;
	for (unsigned k = 0; k < PRE; k++)   /* the LAN queue fills before the relay batch */
		ipop_pktq_put(&A.q[Q_LAN], rte_pktmbuf_alloc(pool));
	uint64_t rel = A.st->flood_relayed;
	wan_rx(&A, in, K);
	A.q[Q_LAN].flush = sink_flush;
	A.c.q_host = host;
	fabric_pool = NULL;
	CHECK(A.st->flood_relayed == rel + K);
	unsigned n = wan_out(&A, out, RTE_DIM(out));
	CHECK(n == K);
	forget_cache(&C);
	wan_rx(&C, out, (uint16_t)n);
	unsigned g = take(&C, Q_LAN, got, RTE_DIM(got)), bad = 0;
	CHECK(g == K);
	for (unsigned k = 0; k < g && g == K; k++)
		bad += !same(got[k], f[k], 60 + k);
	CHECK(bad == 0);
	free_all(got, g);
	all_quiet("relay with the LAN sent first");
	drops_none(&A, "relay with the LAN sent first");
	drops_none(&C, "relay with the LAN sent first");
	CHECK(rte_mempool_avail_count(fp) == 127);
	rte_mempool_free(fp);
	keys_set(&A, kAC, &C, kCA, IPOP_CIPHER_CHACHA20POLY1305, IPOP_CIPHER_AES256GCM, 2);
	ring_ids(false);
	printf("datapath: %u flood copies relayed with the LAN queue sent first: %u bad\n", K, bad);
}

static void test_flood_sealed_from(void)
{
	ring_ids(false);
	for (int keep = 0; keep < 2; keep++) {
		flood_sealed_case(keep, IPOP_CIPHER_AES256GCM);
		flood_sealed_case(keep, IPOP_CIPHER_CHACHA20POLY1305);
	}
	drops_none(&A, "flood sealed from the frame");
	printf("datapath: flood copies sealed out of the frame: 4 cases of %u floods opened\n",
	       FS_FLOODS);
}

/* mac1 keyed with key, written into msg's field at off (the formula of
 * docs/handshake.md, computed here with libsodium directly). */
static void mac1_set(const uint8_t key[32], uint8_t *msg, size_t off)
{
	CHECK(crypto_generichash(msg + off, IPOP_MAC1_LEN, msg, off, key, 32) == 0);
}

/* With a mac1 key in its table, B's worker queues to control only the
 * initiations and responses whose mac1 verifies for it, directly or as
 * ChannelData from our TURN server, and drops the others (IPOP_DROP_HS_MAC1);
 * cookie replies carry no mac1 and still go to control. */
static void test_hs_mac1(void)
{
	uint8_t f[400], pl[sizeof(struct ipop_hs_init) + IPOP_CHANDATA_HDR_LEN];
	struct rte_mbuf *m[8], *got[8];
	uint16_t port = ntohs(B.t->wan_port);
	uint64_t ctrl = B.st->ctrl_tx;
	unsigned n = 0;

	randombytes_buf(B.t->mac1_key, sizeof(B.t->mac1_key));
	B.t->mac1_set = 1;
	randombytes_buf(pl, sizeof(pl));
	pl[1] = IPOP_WIRE_VERSION, pl[2] = pl[3] = 0;
	pl[0] = IPOP_MSG_HANDSHAKE_INIT;
	mac1_set(B.t->mac1_key, pl, offsetof(struct ipop_hs_init, mac1));
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 152));            /* to control */
	pl[100] ^= 0x04;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 152));            /* one bit */
	pl[100] ^= 0x04;
	pl[offsetof(struct ipop_hs_init, mac1)] ^= 0x01;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 152));            /* in mac1 */
	pl[0] = IPOP_MSG_HANDSHAKE_RESP;
	mac1_set(B.t->mac1_key, pl, offsetof(struct ipop_hs_resp, mac1));
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 108));            /* to control */
	pl[5] ^= 0x80;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 108));
	pl[0] = IPOP_MSG_COOKIE_REPLY;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 64));             /* to control */
	wan_rx(&B, m, (uint16_t)n);
	drops_expect(&B, IPOP_DROP_HS_MAC1, 3, "handshakes whose mac1 is not for us");
	ctrl_got_hs3(ctrl);
	unsigned g;

	/* Through our TURN relay: ChannelData on the published channel. */
	n = 0;
	B.t->wan_port_span = 64;
	B.t->relay_rx[5] = (struct ipop_fp_relay){ A.t->wan_ip, A.t->wan_port, htons(0x4001) };
	uint8_t *in = pl + IPOP_CHANDATA_HDR_LEN;
	randombytes_buf(in, sizeof(struct ipop_hs_init));
	in[0] = IPOP_MSG_HANDSHAKE_INIT, in[1] = IPOP_WIRE_VERSION, in[2] = in[3] = 0;
	pl[0] = 0x40, pl[1] = 0x01, pl[2] = 0, pl[3] = 152;
	mac1_set(B.t->mac1_key, in, offsetof(struct ipop_hs_init, mac1));
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, (uint16_t)(port + 5), pl, 156));
	in[7] ^= 0x10;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, (uint16_t)(port + 5), pl, 156));
	ctrl = B.st->ctrl_tx;
	uint64_t trx = B.st->turn_rx;
	wan_rx(&B, m, (uint16_t)n);
	drops_expect(&B, IPOP_DROP_HS_MAC1, 1, "a relayed handshake whose mac1 is not for us");
	CHECK(B.st->ctrl_tx == ctrl + 1 && B.st->turn_rx == trx + 2);
	g = take(&B, Q_CTRL, got, 8);
	CHECK(g == 1);
	if (g == 1)   /* unwrapped: the datagram without its ChannelData header */
		CHECK(rte_pktmbuf_pkt_len(got[0]) == IPOP_OUTER_HDR_LEN + 152);
	free_all(got, g);
	B.t->relay_rx[5] = (struct ipop_fp_relay){ 0 };
	B.t->wan_port_span = 0;
	B.t->mac1_set = 0;
	all_quiet("handshake mac1");
}

/* Under load (a deadline and a secret in its table), B's worker checks mac2
 * of initiations whose mac1 verified (docs/handshake.md, "mac2 in the
 * workers"): one with mac2 made with the cookie of its source under the
 * secret goes to control flagged mac2_ok; unproven ones go flagged mac2_bad
 * within the budget for their kind of source (another source's, then a
 * peer endpoint's), the rest are dropped as IPOP_DROP_HS_UNPROVEN (mac2 is
 * checked first: over the budget mac1 is not looked at, a valid mac2 over a
 * bad mac1 is dropped on mac1); a response is not touched; after the
 * deadline nothing is shed. */
static void test_hs_mac2(void)
{
	uint8_t f[400], pl[sizeof(struct ipop_hs_init)], cookie[IPOP_COOKIE_LEN];
	struct rte_mbuf *m[8], *got[8];
	uint16_t port = ntohs(B.t->wan_port);
	const size_t m1 = offsetof(struct ipop_hs_init, mac1), m2 = offsetof(struct ipop_hs_init, mac2);
	unsigned n = 0, g;
	struct ipop_lcore_stats s0 = *B.st;

	CHECK(ipop_hsmac_fl_mac2_ok != 0);
	randombytes_buf(B.t->mac1_key, sizeof(B.t->mac1_key));
	B.t->mac1_set = 1;
	randombytes_buf(B.t->cookie_secret, sizeof(B.t->cookie_secret));
	B.t->cookie_set = 1;
	B.t->hs_load_until_tsc = UINT64_MAX;
	B.t->hs_budget_tsc = 1000;   /* one refill a burst: a burst shares its now_tsc */
	B.t->hs_budget_other = 2;
	B.t->hs_budget_known = 5;
	B.t->n_known = 0;
	B.c.hs_budget_at = 0;
	randombytes_buf(pl, sizeof(pl));
	pl[0] = IPOP_MSG_HANDSHAKE_INIT, pl[1] = IPOP_WIRE_VERSION, pl[2] = pl[3] = 0;
	mac1_set(B.t->mac1_key, pl, m1);
	/* mac2 from the definition: cookie of A's address and port (frame_outer's source). */
	uint8_t src[6];
	memcpy(src, &A.t->wan_ip, 4);
	memcpy(src + 4, &A.t->wan_port, 2);
	CHECK(crypto_shorthash_siphashx24(cookie, src, 6, B.t->cookie_secret) == 0);
	CHECK(crypto_generichash(pl + m2, IPOP_MAC2_LEN, pl, m2, cookie, sizeof(cookie)) == 0);
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 152));            /* proven */
	pl[m2] ^= 1;
	for (int i = 0; i < 4; i++)
		m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 152));    /* 2 pass, 2 shed */
	pl[0] = IPOP_MSG_HANDSHAKE_RESP;
	mac1_set(B.t->mac1_key, pl, offsetof(struct ipop_hs_resp, mac1));
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 108));            /* untouched */
	wan_rx(&B, m, (uint16_t)n);
	drops_expect(&B, IPOP_DROP_HS_UNPROVEN, 2, "unproven initiations over the budget");
	CHECK(B.st->ctrl_tx == s0.ctrl_tx + 4);
	CHECK(B.st->wan_hs_mac2_ok == s0.wan_hs_mac2_ok + 1);
	CHECK(B.st->wan_hs_unproven_tx == s0.wan_hs_unproven_tx + 2);
	g = take(&B, Q_CTRL, got, 8);
	CHECK(g == 4);
	if (g == 4) {
		CHECK((got[0]->ol_flags & ipop_hsmac_fl_mac2_ok) && (got[0]->ol_flags & ipop_hsmac_fl_mac1_ok));
		CHECK(!(got[0]->ol_flags & ipop_hsmac_fl_mac2_bad));
		CHECK((got[1]->ol_flags & ipop_hsmac_fl_mac2_bad) && (got[2]->ol_flags & ipop_hsmac_fl_mac2_bad));
		CHECK(rte_pktmbuf_pkt_len(got[3]) == IPOP_OUTER_HDR_LEN + 108);
		CHECK((got[3]->ol_flags & ipop_hsmac_fl_mac1_ok) &&
		      !(got[3]->ol_flags & (ipop_hsmac_fl_mac2_ok | ipop_hsmac_fl_mac2_bad)));
	}
	free_all(got, g);

	/* Under load mac2 is checked first: a valid mac2 over a bad mac1 is
	 * still dropped on mac1; a bad mac1 over the budget is shed unlooked at. */
	pl[0] = IPOP_MSG_HANDSHAKE_INIT;
	CHECK(crypto_generichash(pl + m2, IPOP_MAC2_LEN, pl, m2, cookie, sizeof(cookie)) == 0);
	pl[m1] ^= 1;
	CHECK(crypto_generichash(pl + m2, IPOP_MAC2_LEN, pl, m2, cookie, sizeof(cookie)) == 0);
	n = 0;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 152));
	pl[m2] ^= 1;
	m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 152));
	s0 = *B.st;
	B.t->hs_budget_other = 0;   /* this burst's refill gives nothing */
	wan_rx(&B, m, (uint16_t)n);
	B.t->hs_budget_other = 2;
	pl[m1] ^= 1;
	B.want_drops[IPOP_DROP_HS_MAC1]++;   /* the valid mac2 over a bad mac1 */
	drops_expect(&B, IPOP_DROP_HS_UNPROVEN, 1, "mac1 dropped, and shed without mac1 looked at");
	CHECK(B.st->ctrl_tx == s0.ctrl_tx);

	/* From a peer's endpoint: its own budget (5), not the spent one. */
	B.t->known_ip[0] = A.t->wan_ip;
	B.t->n_known = 1;
	B.c.hs_budget_at = 0;
	B.c.hs_left_other = 0;
	pl[0] = IPOP_MSG_HANDSHAKE_INIT;
	mac1_set(B.t->mac1_key, pl, m1);
	n = 0;
	for (int i = 0; i < 6; i++)
		m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 152));
	s0 = *B.st;
	wan_rx(&B, m, (uint16_t)n);
	drops_expect(&B, IPOP_DROP_HS_UNPROVEN, 1, "a peer endpoint's unproven initiations over theirs");
	CHECK(B.st->ctrl_tx == s0.ctrl_tx + 5);
	free_all(got, take(&B, Q_CTRL, got, 8));

	/* The deadline passed: nothing shed, no mac2 looked at. */
	B.t->hs_load_until_tsc = 1;
	n = 0;
	for (int i = 0; i < 6; i++)
		m[n++] = mk(pool, f, frame_outer(f, &B, 17, port, pl, 152));
	s0 = *B.st;
	wan_rx(&B, m, (uint16_t)n);
	CHECK(B.st->ctrl_tx == s0.ctrl_tx + 6);
	CHECK(B.st->wan_hs_unproven_tx == s0.wan_hs_unproven_tx);
	g = take(&B, Q_CTRL, got, 8);
	CHECK(g == 6);
	for (unsigned i = 0; i < g; i++)
		CHECK(!(got[i]->ol_flags & (ipop_hsmac_fl_mac2_ok | ipop_hsmac_fl_mac2_bad)));
	free_all(got, g);
	B.t->hs_load_until_tsc = 0;
	B.t->cookie_set = 0;
	B.t->n_known = 0;
	B.t->mac1_set = 0;
	all_quiet("handshake mac2");
}

int main(int argc, char **argv)
{
	(void)argc;
	if (test_eal_start(argv[0], "warning") < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	CHECK(ipop_hsmac_flags_register() == 0);   /* as ipopd does before its workers start */
	pool = rte_pktmbuf_pool_create("dp_test", POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	ind_pool = rte_pktmbuf_pool_create("dp_ind", IND_N, 0, 0, 0, SOCKET_ID_ANY);
	jumbo_pool = rte_pktmbuf_pool_create("dp_jumbo", JUMBO_N, 0, 0, 4096 + RTE_PKTMBUF_HEADROOM,
					     SOCKET_ID_ANY);
	CHECK(pool && ind_pool && jumbo_pool);
	if (!pool || !ind_pool || !jumbo_pool)
		return check_report("datapath");
	setup();

	test_learn_from_broadcast();
	test_unicast();
	test_local();
	test_flood();
	test_tamper_replay();
	test_replay_runs();
	test_ice_ports();
	test_turn_relay();
	test_index_expiry();
	test_keepalive();
	test_wan_garbage();
	test_hs_mac1();
	test_hs_mac2();
	test_inner_bad();
	test_outer_frag();
	test_inner_frag();
	test_mss();
	test_ciphers();
	test_big_burst();
	test_outer_template();
	test_room();
	test_bridge_burst();
	test_seal_failed();
	test_l2_hygiene();
	test_two_workers();
	test_reasm_bounded();
	test_reasm_short_last();
	test_reasm_to_kernel();
	test_flood_sealed_from();
	test_flood_relay_lan_first();
	test_bounded_flood();
	test_transit();

	/* Everything the test triggered, and nothing else, was counted. */
	drops_none(&A, "end");
	drops_none(&B, "end");
	drops_none(&C, "end");
	gw_fini(&A);
	gw_fini(&B);
	gw_fini(&C);
	free(kAB), free(kBA), free(kAC), free(kCA);
	/* Leak check: every mbuf is back (the pools have no per-lcore cache). */
	printf("datapath: pool %u/%u, indirect %u/%u, jumbo %u/%u mbufs back\n",
	       rte_mempool_avail_count(pool), POOL_N, rte_mempool_avail_count(ind_pool), IND_N,
	       rte_mempool_avail_count(jumbo_pool), JUMBO_N);
	CHECK(rte_mempool_avail_count(pool) == POOL_N);
	CHECK(rte_mempool_avail_count(ind_pool) == IND_N);
	CHECK(rte_mempool_avail_count(jumbo_pool) == JUMBO_N);
	rte_mempool_free(pool);
	rte_mempool_free(ind_pool);
	rte_mempool_free(jumbo_pool);
	rte_eal_cleanup();
	return check_report("datapath");
}

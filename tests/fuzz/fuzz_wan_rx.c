/* fuzz_wan_rx.c - libFuzzer target: the whole WAN receive path
 * (ipop_dp_wan_rx, dataplane/receive.c) of a gateway B that has sessions with
 * A (dp_fixture.h), on real mbufs. The EAL starts once, in LLVMFuzzerInitialize,
 * with --no-pci --no-huge --no-shconf -m 256 --no-telemetry.
 *
 * Input: one mode byte, then
 *   mode 0: one frame (one mbuf);
 *   mode 1: a burst of up to 16 frames, each as a 2-byte big-endian length
 *           and the bytes (fragments to reassemble, replays within a burst);
 *   mode 2: a burst of up to 16 inner frames that the target seals as A
 *           would, each as a flags byte (bits 0-1: session, bits 2-7: the
 *           counter), a 2-byte length and the frame; so fuzzing reaches what
 *           happens after authentication (bridge, delivery, inner checks);
 *   mode 3: the same for Bounded Flood copies and transit messages (wire
 *           types 4 and 5): a flags byte (bits 0-1: session, bit 2: transit,
 *           else flood, bits 3-7: the counter), a 2-byte length, and the
 *           plaintext the target seals: the fabric header (origin, bound or
 *           destination, hops, reserved) and the frame; so fuzzing reaches
 *           the fabric checks, relaying, transit forwarding and routes.
 * Bit 2 of the mode byte: B's table has no mac1 key (handshakes go to the
 * control queue unchecked, as with a table a test builds); clear: it has a
 * fixed one, so handshakes meet the workers' mac1 check (dataplane/hsmac.h).
 * B has a gateway directory and routes (dp_fixture.h) for the fabric types.
 * Per input, B's replay windows, bridge and routes restart (deterministic
 * runs), and afterwards every mbuf must be back in the pool: a leak aborts.
 * FUZZ_WAN_RX_COUNTERS=1 in the environment prints, after each input, the
 * counters it moved (to see which checks a seed reaches). Thread: one. */
#define ALLOW_EXPERIMENTAL_API 1

#include "dataplane/datapath.h"
#include "tests/fuzz/dp_fixture.h"
#include "tests/unit/test_eal.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ip_frag.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POOL_N 2047
#define IND_N 511
#define BURST 16

static struct rte_mempool *pool, *ind_pool;
static struct ipop_dp_ctx ctx;
static struct ipop_bridge bridge;
static struct ipop_lcore_stats *stats;
static struct ipop_fp_table *table;
static struct ipop_routes *routes;
static struct ipop_keypair *kps[DP_FIXTURE_N_SESS];
static struct ipop_pktq queues[5];
static bool show_counters;

static void drop_all(struct ipop_pktq *q)
{
	for (uint16_t i = 0; i < q->n; i++)
		rte_pktmbuf_free(q->pkts[i]);
	q->n = 0;
}

static struct ipop_keypair *session(unsigned s)
{
	const struct dp_fixture_sess *fs = &dp_fixture_sess[s];
	size_t ksz = ipop_aead_key_size(ctx.aead, fs->cipher);
	struct ipop_keypair *kp = aligned_alloc(64, sizeof(*kp) + 2 * ksz);

	if (kp == NULL)
		return NULL;
	memset(kp, 0, sizeof(*kp));
	if (ipop_aead_key_init(ctx.aead, &kp->send_key, kp->key_store, ksz, fs->cipher,
			       fs->key) != 0 ||
	    ipop_aead_key_init(ctx.aead, &kp->recv_key, kp->key_store + ksz, ksz, fs->cipher,
			       fs->key) != 0)
		return NULL;
	kp->local_index = htonl(fs->b_index);
	kp->remote_index = htonl(0x0a0b0c0du + s);
	kp->peer_slot = fs->slot;
	kp->expire_tsc = fs->expired ? 0 : UINT64_MAX;
	return kp;
}

static int gateway_setup(void)
{
	size_t tsz = RTE_ALIGN_CEIL(sizeof(*table), 64);

	stats = aligned_alloc(64, sizeof(*stats));
	table = aligned_alloc(64, tsz);
	routes = aligned_alloc(64, RTE_ALIGN_CEIL(sizeof(*routes), 64));
	if (stats == NULL || table == NULL || routes == NULL || ipop_aead_mgr_create(&ctx.aead) != 0 ||
	    ipop_bridge_init(&bridge, 256, 300) != 0)
		return -1;
	memset(stats, 0, sizeof(*stats));
	memset(table, 0, tsz);
	ctx.bridge = &bridge;
	ctx.routes = routes;
	ctx.st = stats;
	ctx.pool = pool;
	ctx.indirect_pool = ind_pool;
	if (ipop_reasm_init(&ctx.reasm, 64, rte_get_tsc_hz(), SOCKET_ID_ANY) != 0)
		return -1;
	for (int i = 0; i < 5; i++)
		queues[i].flush = drop_all;
	ctx.q_wan = &queues[0];
	ctx.q_lan = &queues[1];
	ctx.q_host = &queues[2];
	ctx.q_exc = &queues[3];
	ctx.q_ctrl = &queues[4];
	table->wan_ip = htonl(DP_FIXTURE_B_IP);
	table->wan_port = htons(DP_FIXTURE_B_PORT);
	memcpy(table->wan_mac.addr_bytes, dp_fixture_b_mac, 6);
	table->wan_mtu = 1500;
	table->mss_clamp = 1386;
	table->tsc_hz = rte_get_tsc_hz();
	for (unsigned i = 0; i < sizeof(table->mac1_key); i++)
		table->mac1_key[i] = (uint8_t)(0x80 + i);
	for (unsigned s = 0; s < DP_FIXTURE_N_SESS; s++) {
		struct ipop_keypair *kp = kps[s] = session(s);
		if (kp == NULL)
			return -1;
		struct ipop_fp_peer *p = &table->peers[kp->peer_slot];
		p->tx = kp;
		p->ip = htonl(DP_FIXTURE_A_IP);
		p->port = htons(DP_FIXTURE_A_PORT);
		memcpy(p->nh_mac.addr_bytes, dp_fixture_a_mac, 6);
		p->nh_valid = p->up = 1;
		p->id = ipop_node_id_make(DP_FIXTURE_PEER_ID_HI + s, 0);   /* A's ring ID as each slot sees it */
		table->by_index[dp_fixture_sess[s].b_index & IPOP_INDEX_MASK] = kp;
		table->gw[s].id = p->id;
		table->gw[s].used = 1;
	}
	table->n_peers = DP_FIXTURE_N_SESS;
	table->self_id = ipop_node_id_make(DP_FIXTURE_SELF_ID_HI, 0);
	table->gw[DP_FIXTURE_N_SESS].id = ipop_node_id_make(DP_FIXTURE_ROUTED_ID_HI, 0);
	table->gw[DP_FIXTURE_N_SESS + 1].id = ipop_node_id_make(DP_FIXTURE_UNROUTED_ID_HI, 0);
	table->gw[DP_FIXTURE_N_SESS].used = table->gw[DP_FIXTURE_N_SESS + 1].used = 1;
	ipop_fp_table_adjacency(table);
	ipop_fp_table_gateways(table);
	ipop_routes_init(routes, 300);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	show_counters = getenv("FUZZ_WAN_RX_COUNTERS") != NULL;
	if (test_eal_start("fuzz_wan_rx", "error") < 0) {
		fprintf(stderr, "fuzz_wan_rx: EAL init failed\n");
		abort();
	}
	/* No per-lcore cache, so the free count is exact for the leak check. */
	pool = rte_pktmbuf_pool_create("fz_pool", POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	ind_pool = rte_pktmbuf_pool_create("fz_ind", IND_N, 0, 0, 0, SOCKET_ID_ANY);
	if (pool == NULL || ind_pool == NULL || gateway_setup() != 0) {
		fprintf(stderr, "fuzz_wan_rx: setup failed\n");
		abort();
	}
	return 0;
}

static struct rte_mbuf *frame_mbuf(const uint8_t *p, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	if (m == NULL)
		abort();                        /* the leak check makes this impossible */
	if (len > rte_pktmbuf_tailroom(m))
		len = rte_pktmbuf_tailroom(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), p, len);
	return m;
}

static uint16_t parse_raw_burst(const uint8_t *d, size_t n, struct rte_mbuf **m)
{
	uint16_t k = 0;

	while (k < BURST && n >= 2) {
		size_t len = (size_t)(d[0] << 8 | d[1]);
		d += 2, n -= 2;
		if (len > n)
			len = n;
		m[k++] = frame_mbuf(d, len);
		d += len, n -= len;
	}
	return k;
}

/* Mode 2 (fabric false: data messages) and mode 3 (fabric true: flood and
 * transit messages), see the header. */
static uint16_t parse_sealed_burst(const uint8_t *d, size_t n, struct rte_mbuf **m, bool fabric)
{
	static uint8_t pkt[DP_FIXTURE_OVERHEAD + IPOP_FABRIC_HDR_LEN + IPOP_MAX_INNER_FRAME];
	size_t max = IPOP_MAX_INNER_FRAME + (fabric ? IPOP_FABRIC_HDR_LEN : 0);
	uint16_t k = 0;

	while (k < BURST && n >= 3) {
		unsigned s = d[0] & 3;
		uint8_t type = !fabric ? IPOP_MSG_DATA : d[0] & 4 ? IPOP_MSG_TRANSIT : IPOP_MSG_FLOOD;
		uint64_t ctr = d[0] >> (fabric ? 3 : 2);
		size_t len = (size_t)(d[1] << 8 | d[2]);
		d += 3, n -= 3;
		if (len > n)
			len = n;
		if (len > max)
			len = max;
		int plen = dp_fixture_seal_type(ctx.aead, s % DP_FIXTURE_N_SESS, type, ctr, d,
						(uint32_t)len, pkt);
		if (plen < 0)
			abort();
		m[k++] = frame_mbuf(pkt, (size_t)plen);
		d += len, n -= len;
	}
	return k;
}

/* Known state before each input: fresh windows, a bridge that knows one LAN
 * MAC and one MAC behind peer slot 1, one route (dp_fixture.h). */
static void reset(void)
{
	for (unsigned s = 0; s < DP_FIXTURE_N_SESS; s++)
		ipop_replay_init(&kps[s]->replay);
	memset(bridge.b, 0, (size_t)(bridge.mask + 1) * sizeof(*bridge.b));
	ctx.now_s = 1000;
	ctx.now_tsc = rte_rdtsc();
	ipop_bridge_learn(&bridge, dp_fixture_lan_mac, IPOP_LOC_LAN, ctx.now_s);
	ipop_bridge_learn(&bridge, dp_fixture_far_mac, 1, ctx.now_s);
	/* Only the directory's slots can hold a route (learn_origin finds the
	 * gateway in it): clearing those, not all 4096, keeps the loop's
	 * instrumented compares out of every input. */
	for (unsigned g = 0; g < table->n_gw; g++)
		ipop_routes_forget(routes, g);
	ipop_routes_learn(routes, DP_FIXTURE_N_SESS, DP_FIXTURE_ROUTE_SLOT, ctx.now_s);
}

/* The counters the last input moved, on stderr; then zero them all. */
static void print_counters(void)
{
	for (size_t i = 0; i < ipop_lcore_family.n; i++) {
		uint64_t v = ipop_counter_get(stats, &ipop_lcore_family.c[i]);
		if (v != 0)
			fprintf(stderr, " %s=%" PRIu64, ipop_lcore_family.c[i].name, v);
	}
	for (unsigned i = 0; i < IPOP_DROP__MAX; i++)
		if (stats->drops[i] != 0)
			fprintf(stderr, " drop:%s=%" PRIu64, ipop_drop_name(i), stats->drops[i]);
	fprintf(stderr, "\n");
	memset(stats, 0, sizeof(*stats));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m[BURST];
	uint16_t n;

	if (size < 1)
		return 0;
	reset();
	table->mac1_set = (data[0] & 4) == 0;
	switch (data[0] % 4) {
	case 0:
		m[0] = frame_mbuf(data + 1, size - 1);
		n = 1;
		break;
	case 1:
		n = parse_raw_burst(data + 1, size - 1, m);
		break;
	case 2:
		n = parse_sealed_burst(data + 1, size - 1, m, false);
		break;
	default:
		n = parse_sealed_burst(data + 1, size - 1, m, true);
		break;
	}
	ipop_dp_wan_rx(&ctx, table, m, n);
	for (int i = 0; i < 5; i++)
		ipop_pktq_flush(&queues[i]);
	/* Forget fragments still waiting for their peers, then check for leaks. */
	ipop_reasm_expire(&ctx.reasm, UINT64_MAX, stats);
	if (ctx.reasm.held != 0) {
		fprintf(stderr, "fuzz_wan_rx: reassembly says it holds %u mbufs after expiring all\n",
			ctx.reasm.held);
		abort();
	}
	if (rte_mempool_avail_count(pool) != POOL_N || rte_mempool_avail_count(ind_pool) != IND_N) {
		fprintf(stderr, "fuzz_wan_rx: mbuf leak: %u/%u, %u/%u\n",
			rte_mempool_avail_count(pool), POOL_N, rte_mempool_avail_count(ind_pool), IND_N);
		abort();
	}
	if (show_counters)
		print_counters();
	return 0;
}

/* test_hs_flood.c - the control thread under a flood of handshake initiations
 * (control/ctrl_rx.c and the handshake admission in control/session/): one
 * tick does a bounded amount of X25519 work however full the ring from the
 * workers is, ARP and responses to our own initiations are handled before
 * initiations and never shed, and what is over the budget is dropped and
 * counted.
 *
 * Thread: one; a real node's control side (ring, pool, RCU publisher, AEAD
 * manager, peers) on an EAL with --no-huge, no workers and no ports.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_eal.h"
#include "control/config/identity.h"
#include "control/ctrl_rx.h"
#include "control/fib/neigh.h"
#include "control/fib/publish.h"
#include "control/node.h"
#include "control/session/noise.h"
#include "control/session/peer.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/encap.h"

static struct ipop_cfg cfg;
static struct ipop_node node;
static struct ipop_noise_keypair peer_id;   /* a configured peer's static key */

static uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return rte_cpu_to_be_32((uint32_t)(a << 24 | b << 16 | c << 8 | d));
}

static int node_setup(void)
{
	struct ipop_node *n = &node;
	struct ipop_cfg_peer cp;

	cfg.cipher = IPOP_CIPHER_AES256GCM;
	cfg.wan_addr.s_addr = ip4(10, 91, 2, 2);
	cfg.wan_prefix = 24;
	cfg.wan_gateway.s_addr = ip4(10, 91, 2, 1);
	cfg.wan_port = 5800;
	cfg.wan_mtu = 1500;
	cfg.reject_after_s = 180;
	cfg.handshake_retry_ms = 500;
	n->cfg = &cfg;
	n->n_workers = 1;
	n->tsc_hz = rte_get_tsc_hz();
	randombytes_buf(n->id.priv, 32);
	randombytes_buf(peer_id.priv, 32);
	if (ipop_noise_pubkey(n->id.priv, n->id.pub) != 0 ||
	    ipop_noise_pubkey(peer_id.priv, peer_id.pub) != 0)
		return -1;
	ipop_noise_mac1_key(n->id.pub, n->mac1_self);
	n->node_id = ipop_node_id_of_key(n->id.pub);
	n->prologue_len = (size_t)snprintf((char *)n->prologue, sizeof(n->prologue),
					   "ipop v1 overlay=test");
	n->pool = rte_pktmbuf_pool_create("test_pool", 4095, 0, 0, 2048, 0);
	n->sh.to_ctrl = rte_ring_create("to_ctrl", IPOP_CTRL_RX_MAX, 0, RING_F_SC_DEQ);
	n->sh.from_ctrl = rte_ring_create("from_ctrl", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	n->sh.qsbr = rte_zmalloc("qsbr", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	if (n->pool == NULL || n->sh.to_ctrl == NULL || n->sh.from_ctrl == NULL ||
	    n->sh.qsbr == NULL || rte_rcu_qsbr_init(n->sh.qsbr, 1) != 0 ||
	    ipop_aead_mgr_create(&n->aead) != 0)
		return -1;
	ipop_publish_init(&n->pub, n->sh.qsbr, &n->sh.table);
	/* The next hop (the WAN gateway) is resolved, as ARP would have made it. */
	n->neigh[0].ip = cfg.wan_gateway.s_addr;
	n->neigh[0].valid = true;
	n->neigh[0].used_ms = ipop_now_ms();
	memcpy(n->neigh[0].mac.addr_bytes, "\x02\x00\x00\x00\x00\x01", 6);
	n->n_neigh = 1;
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "peer");
	memcpy(cp.public_key, peer_id.pub, 32);
	return ipop_peer_add(n, &cp);
}

/* Drop what control sent to the workers' WAN; returns how many. */
static unsigned sent_count(void)
{
	void *objs[64];
	unsigned k, total = 0;

	while ((k = rte_ring_dequeue_burst(node.sh.from_ctrl, objs, 64, NULL)) > 0) {
		rte_pktmbuf_free_bulk((struct rte_mbuf **)objs, k);
		total += k;
	}
	return total;
}

/* The source MAC of the frames put_udp makes (the WAN gateway's, as set up). */
static uint8_t udp_src_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

/* A UDP datagram from src to our WAN port, as the workers hand it over. */
static void put_udp(uint32_t src, const void *payload, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(node.pool);
	struct ipop_encap_addr a = {
		.src_ip = src, .dst_ip = cfg.wan_addr.s_addr,
		.src_port = rte_cpu_to_be_16(5800), .dst_port = rte_cpu_to_be_16(cfg.wan_port),
	};
	uint8_t *p;

	memcpy(a.src_mac.addr_bytes, udp_src_mac, 6);
	CHECK(m != NULL);
	if (m == NULL)
		return;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(IPOP_OUTER_HDR_LEN + len));
	CHECK(p != NULL);
	if (p == NULL)
		return;
	ipop_encap_write(p, &a, len, 1);
	memcpy(p + IPOP_OUTER_HDR_LEN, payload, len);
	CHECK(rte_ring_enqueue(node.sh.to_ctrl, m) == 0);
}

/* What an attacker who knows our public key makes at will: random content
 * with a valid mac1. It costs the responder one X25519 before the AEAD fails. */
static void put_forged_init(uint32_t src)
{
	struct ipop_hs_init msg;

	randombytes_buf(&msg, sizeof(msg));
	msg.type = IPOP_MSG_HANDSHAKE_INIT;
	msg.version = IPOP_WIRE_VERSION;
	msg.reserved = 0;
	ipop_noise_mac1(node.mac1_self, (const uint8_t *)&msg, offsetof(struct ipop_hs_init, mac1),
			msg.mac1);
	put_udp(src, &msg, sizeof(msg));
}

/* A response to no handshake of ours (unknown receiver index). */
static void put_forged_resp(uint32_t src)
{
	struct ipop_hs_resp msg;

	randombytes_buf(&msg, sizeof(msg));
	msg.type = IPOP_MSG_HANDSHAKE_RESP;
	msg.version = IPOP_WIRE_VERSION;
	msg.reserved = 0;
	ipop_noise_mac1(node.mac1_self, (const uint8_t *)&msg, offsetof(struct ipop_hs_resp, mac1),
			msg.mac1);
	put_udp(src, &msg, sizeof(msg));
}

/* A genuine initiation from the static key id (fresh timestamp). */
static void put_init_from(const struct ipop_noise_keypair *id, uint32_t src)
{
	struct ipop_noise_hs hs;
	struct ipop_hs_payload pl;
	struct ipop_hs_init msg;

	memset(&pl, 0, sizeof(pl));
	ipop_tai64n_now(pl.timestamp);
	pl.rx_cipher = IPOP_CIPHER_AES256GCM;
	CHECK(ipop_noise_init_create(&hs, id, node.id.pub, node.prologue, node.prologue_len,
				     &pl, randombytes_random(), &msg) == 0);
	ipop_noise_hs_wipe(&hs);
	put_udp(src, &msg, sizeof(msg));
}

/* A genuine initiation from the configured peer. */
static void put_peer_init(uint32_t src)
{
	put_init_from(&peer_id, src);
}

static void put_arp(uint32_t sip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(node.pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	CHECK(m != NULL);
	if (m == NULL)
		return;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*arp));
	CHECK(eth != NULL);
	if (eth == NULL)
		return;
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(eth, 0, sizeof(*eth) + sizeof(*arp));
	memset(&eth->dst_addr, 0xff, 6);
	memcpy(eth->src_addr.addr_bytes, "\x02\x00\x00\x00\x00\x07", 6);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = eth->src_addr;
	arp->arp_data.arp_sip = sip;
	arp->arp_data.arp_tip = cfg.wan_addr.s_addr;
	CHECK(rte_ring_enqueue(node.sh.to_ctrl, m) == 0);
}

static double drain_ms(void)
{
	uint64_t t0 = rte_rdtsc();

	ipop_ctrl_rx_drain(&node);
	return (double)(rte_rdtsc() - t0) * 1000.0 / (double)rte_get_tsc_hz();
}

/* A ring full of forged initiations from many sources, with ARP and responses
 * behind them: one tick reads it all, runs the Noise code for at most the
 * budget, handles every ARP copy and response, and counts the rest as shed. */
static void test_budget(void)
{
	struct ipop_ctrl_stats before = node.cs;
	const unsigned n_init = 900, n_arp = 8, n_resp = 8;

	for (unsigned i = 0; i < n_init; i++)
		put_forged_init(ip4(10, 50, i >> 8, i & 0xff));
	for (unsigned i = 0; i < n_arp; i++)
		put_arp(ip4(10, 91, 2, 100 + i));
	for (unsigned i = 0; i < n_resp; i++)
		put_forged_resp(ip4(10, 60, 0, i));
	double ms = drain_ms();
	printf("one tick over %u forged initiations: %.2f ms\n", n_init, ms);
	CHECK(rte_ring_count(node.sh.to_ctrl) == 0);
	CHECK(node.cs.ring_rx - before.ring_rx == n_init + n_arp + n_resp);
	CHECK(node.cs.arp_rx - before.arp_rx == n_arp);
	CHECK(node.cs.hs_resp_rx - before.hs_resp_rx == n_resp);
	CHECK(node.cs.hs_bad_index - before.hs_bad_index == n_resp);
	unsigned done = (unsigned)(node.cs.hs_init_rx - before.hs_init_rx);
	CHECK(done < n_init / 4);   /* most of the flood never reaches X25519 this tick */
	CHECK(done + n_resp <= IPOP_CTRL_HS_BUDGET);
	CHECK(done == IPOP_CTRL_HS_BUDGET - n_resp);
	CHECK(node.cs.hs_init_shed - before.hs_init_shed == n_init - done);
	CHECK(node.cs.hs_bad_auth - before.hs_bad_auth == done);
	/* The next tick starts afresh. */
	for (unsigned i = 0; i < 4; i++)
		put_forged_init(ip4(10, 51, 0, i));
	drain_ms();
	CHECK(node.cs.hs_init_rx - before.hs_init_rx == done + 4);
	CHECK(sent_count() == 0);
}

/* The set-up is a working responder: a genuine initiation is answered, its
 * session published, the response sent once the table has its index. */
static void test_genuine(void)
{
	struct ipop_ctrl_stats before = node.cs;
	struct ipop_peer *p = node.peers[0];

	put_peer_init(ip4(10, 91, 3, 2));
	drain_ms();
	CHECK(node.cs.hs_init_rx - before.hs_init_rx == 1);
	CHECK(node.cs.hs_resp_tx - before.hs_resp_tx == 1);
	CHECK(node.cs.tables_published > before.tables_published);
	CHECK(p != NULL && p->next != NULL && p->ip == ip4(10, 91, 3, 2));
	CHECK(sent_count() == 1);
}

/* The per-source bucket on a clock of our own: a burst, then the rate; a
 * table of fixed size whatever the number of senders; a sender that keeps
 * sending keeps its bucket among a crowd of one-off senders. */
static void test_srclim(void)
{
	static struct ipop_srclim l;
	uint32_t a = ip4(192, 0, 2, 1);
	unsigned ok = 0;

	for (unsigned i = 0; i < 100; i++)
		ok += ipop_srclim_allow(&l, a, 1000);
	CHECK(ok == IPOP_SRCLIM_BURST);
	CHECK(!ipop_srclim_allow(&l, a, 1000 + 1000 / IPOP_SRCLIM_RATE - 1));
	CHECK(ipop_srclim_allow(&l, a, 1000 + 1000 / IPOP_SRCLIM_RATE));
	CHECK(!ipop_srclim_allow(&l, a, 1000 + 1000 / IPOP_SRCLIM_RATE));
	/* Ten seconds of 1000 a second from one source: RATE a second get in. */
	ok = 0;
	for (uint64_t t = 2000; t < 12000; t++)
		ok += ipop_srclim_allow(&l, a, t);
	CHECK(ok >= 10 * IPOP_SRCLIM_RATE - 1 && ok <= 10 * IPOP_SRCLIM_RATE + IPOP_SRCLIM_BURST);
	/* Idle long enough: a full burst again, never more. */
	ok = 0;
	for (unsigned i = 0; i < 100; i++)
		ok += ipop_srclim_allow(&l, a, 1000000);
	CHECK(ok == IPOP_SRCLIM_BURST);
	/* 200,000 other senders, one packet each, interleaved with the hot one:
	 * every newcomer gets in (a full bucket), the hot one stays limited. */
	unsigned hot = 0, cold = 0;
	for (uint32_t i = 0; i < 200000; i++) {
		cold += ipop_srclim_allow(&l, rte_cpu_to_be_32(0x0b000000u + i), 2000000);
		hot += ipop_srclim_allow(&l, a, 2000000);
	}
	CHECK(cold == 200000);
	CHECK(hot <= 2 * IPOP_SRCLIM_BURST);
	printf("hot source among 200000 one-off senders: %u of 200000 allowed\n", hot);
	CHECK(sizeof(l) <= 32 * 1024);   /* fixed, whatever the senders */
}

/* One address floods: it gets its burst, the rest is refused before the
 * budget, so a genuine initiation from elsewhere in the same tick is answered. */
static void test_src_flood(void)
{
	struct ipop_ctrl_stats before = node.cs;

	usleep(IPOP_HS_PEER_MIN_MS * 1000 + 50000);   /* the peer may initiate again */
	for (unsigned i = 0; i < 100; i++)
		put_forged_init(ip4(10, 52, 0, 1));
	put_peer_init(ip4(10, 91, 3, 2));
	drain_ms();
	CHECK(node.cs.hs_src_limited - before.hs_src_limited == 100 - IPOP_SRCLIM_BURST);
	CHECK(node.cs.hs_init_rx - before.hs_init_rx == IPOP_SRCLIM_BURST + 1);
	CHECK(node.cs.hs_init_shed - before.hs_init_shed == 0);
	CHECK(node.cs.hs_resp_tx - before.hs_resp_tx == 1);
	CHECK(sent_count() == 1);
}

static unsigned indices_used(void)
{
	unsigned u = 0;

	for (unsigned i = 0; i < IPOP_MAX_KEYPAIRS; i++)
		u += node.index_used[i] != 0;
	return u;
}

/* An authenticated peer initiating from many addresses at once: one is
 * answered, the rest refused after authentication and before any receiver
 * index, session or response; after the interval it may again. */
static void test_peer_limit(void)
{
	struct ipop_ctrl_stats before = node.cs;

	usleep(IPOP_HS_PEER_MIN_MS * 1000 + 50000);
	unsigned used = indices_used();
	for (unsigned i = 0; i < 20; i++)
		put_peer_init(ip4(10, 53, 0, i));
	drain_ms();
	CHECK(node.cs.hs_init_rx - before.hs_init_rx == 20);
	CHECK(node.cs.hs_resp_tx - before.hs_resp_tx == 1);
	CHECK(node.cs.hs_peer_limited - before.hs_peer_limited == 19);
	CHECK(indices_used() <= used + 1);
	CHECK(sent_count() == 1);
	usleep(IPOP_HS_PEER_MIN_MS * 1000 + 50000);
	put_peer_init(ip4(10, 53, 1, 0));
	drain_ms();
	CHECK(node.cs.hs_resp_tx - before.hs_resp_tx == 2);
	CHECK(sent_count() == 1);
}

/* Lines of stderr written by fn. */
static unsigned stderr_lines(void (*fn)(void), const char *must, unsigned *with)
{
	char path[] = "/tmp/test_hs_flood.XXXXXX", line[512];
	int fd = mkstemp(path), saved = dup(2);
	unsigned lines = 0;

	CHECK(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	FILE *f = fdopen(fd, "r");
	rewind(f);
	*with = 0;
	while (fgets(line, sizeof(line), f)) {
		lines++;
		*with += strstr(line, must) != NULL;
	}
	fclose(f);
	unlink(path);
	return lines;
}

static void unknown_keys_20(void)
{
	for (unsigned i = 0; i < 20; i++) {
		struct ipop_noise_keypair k;
		randombytes_buf(k.priv, 32);
		ipop_noise_pubkey(k.priv, k.pub);
		put_init_from(&k, ip4(10, 54, 0, i));
	}
	drain_ms();
}

static void unknown_key_1(void)
{
	struct ipop_noise_keypair k;

	randombytes_buf(k.priv, 32);
	ipop_noise_pubkey(k.priv, k.pub);
	put_init_from(&k, ip4(10, 54, 1, 1));
	drain_ms();
}

/* Refused handshakes are logged at most once a second, the next line saying
 * how many were left out. */
static void test_log_bounded(void)
{
	struct ipop_ctrl_stats before = node.cs;
	unsigned with;

	usleep(IPOP_HS_LOG_MS * 1000 + 50000);
	unsigned lines = stderr_lines(unknown_keys_20, "refused", &with);
	printf("20 initiations from unknown keys: %u log line(s)\n", lines);
	CHECK(node.cs.hs_unknown_peer - before.hs_unknown_peer == 20);
	CHECK(lines == 1 && with == 1);
	CHECK(node.cs.hs_refusals_not_logged - before.hs_refusals_not_logged == 19);
	usleep(IPOP_HS_LOG_MS * 1000 + 50000);
	lines = stderr_lines(unknown_key_1, "and 19 more since the last line", &with);
	CHECK(lines == 1 && with == 1);
}

/* Forged handshakes from many addresses of the WAN's subnet (each its own
 * next hop) and spoofed MACs leave the neighbour table alone: it learns from
 * authenticated handshakes only. A genuine initiation from an address on the
 * subnet is then answered at once, through the MAC its frame came from. */
static void test_neigh_unauth(void)
{
	struct ipop_ctrl_stats before = node.cs;
	unsigned n0 = node.n_neigh;
	const unsigned n_forged = 200;

	memcpy(udp_src_mac, "\x02\xba\xd0\x00\x00\x01", 6);
	for (unsigned i = 0; i < n_forged; i++) {
		put_forged_init(ip4(10, 91, 2, 20 + i));
		if (i % 16 == 15)
			drain_ms();
	}
	drain_ms();
	CHECK(node.cs.hs_bad_auth - before.hs_bad_auth == n_forged);
	CHECK(node.n_neigh == n0);
	CHECK(sent_count() == 0);   /* not even an ARP request for them */
	usleep((IPOP_HS_PEER_MIN_MS + 50) * 1000);   /* test_genuine's was accepted */
	memcpy(udp_src_mac, "\x02\x00\x00\x00\x02\xfa", 6);
	put_peer_init(ip4(10, 91, 2, 250));
	drain_ms();
	CHECK(node.cs.hs_resp_tx - before.hs_resp_tx == 1);
	CHECK(node.n_neigh == n0 + 1);
	CHECK(node.neigh[n0].ip == ip4(10, 91, 2, 250) && node.neigh[n0].valid &&
	      memcmp(node.neigh[n0].mac.addr_bytes, udp_src_mac, 6) == 0);
	CHECK(sent_count() == 1);
	memcpy(udp_src_mac, node.neigh[0].mac.addr_bytes, 6);
}

/* A genuine initiation we cannot answer for a reason of our own (here: a
 * receive cipher our AEAD manager has no key size for, as a broken
 * configuration would be) is counted as ours, not as the sender's bad
 * authentication. */
static void test_local_fail(void)
{
	struct ipop_ctrl_stats before = node.cs;
	int cipher = cfg.cipher;

	usleep((IPOP_HS_PEER_MIN_MS + 50) * 1000);   /* test_neigh_unauth's was accepted */
	cfg.cipher = 99;
	put_peer_init(ip4(10, 91, 2, 250));
	drain_ms();
	cfg.cipher = cipher;
	CHECK(node.cs.hs_init_rx - before.hs_init_rx == 1);
	CHECK(node.cs.hs_local_fail - before.hs_local_fail == 1);
	CHECK(node.cs.hs_bad_auth == before.hs_bad_auth);
	CHECK(node.cs.hs_resp_tx == before.hs_resp_tx);
	CHECK(sent_count() == 0);
}

/* The table never refuses a next hop: full, it drops its least recently used
 * entry; what nothing needs for 60 s is forgotten, a peer's next hop is not. */
static void test_neigh_evict(void)
{
	struct ipop_ctrl_stats before = node.cs;
	uint64_t now = ipop_now_ms();
	unsigned n0 = node.n_neigh;
	const unsigned n_dst = 100;
	struct ipop_peer *p = node.peers[0];

	for (unsigned i = 0; i < n_dst; i++)
		CHECK(ipop_neigh_lookup(&node, ip4(10, 91, 2, 100 + i), now + 1 + i) != NULL);
	CHECK(node.n_neigh == IPOP_MAX_NEIGH);
	CHECK(node.cs.neigh_evicted - before.neigh_evicted == n0 + n_dst - IPOP_MAX_NEIGH);
	/* The peer (10.91.2.250, test_neigh_unauth) needs its next hop again. */
	CHECK(p != NULL && p->ip == ip4(10, 91, 2, 250));
	CHECK(ipop_neigh_lookup(&node, p->ip, now + 1 + n_dst) != NULL);
	sent_count();
	ipop_neigh_timers(&node, now + 1 + n_dst + 60000);
	CHECK(node.n_neigh == 1 && node.neigh[0].ip == p->ip);
	CHECK(node.cs.neigh_expired - before.neigh_expired == IPOP_MAX_NEIGH - 1);
	sent_count();
}

int main(int argc, char **argv)
{
	(void)argc;
	if (test_eal_start(argv[0], "error") < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	CHECK(sodium_init() >= 0);
	CHECK(node_setup() == 0);
	test_srclim();
	test_genuine();
	test_budget();
	test_src_flood();
	test_peer_limit();
	test_log_bounded();
	test_neigh_unauth();
	test_local_fail();
	test_neigh_evict();
	return check_report("hs_flood");
}

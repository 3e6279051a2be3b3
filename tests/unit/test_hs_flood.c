/* test_hs_flood.c - the control thread under a flood of handshake initiations
 * (control/ctrl_rx.c and the handshake admission in control/session/): one
 * tick does a bounded amount of X25519 work however full the ring from the
 * workers is, ARP and responses to our own initiations are handled before
 * initiations and never shed, and what is over the budget is dropped and
 * counted; under load, initiations that do not prove their source address
 * with mac2 get cookie replies (control/session/cookie.c) instead, and an
 * initiator keeps a cookie it is given and uses it at its next retry.
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
#include "control/fib/table.h"
#include "control/node.h"
#include "control/session/cookie.h"
#include "control/session/handshake.h"
#include "control/session/noise.h"
#include "control/session/peer.h"
#include "control/session/timers.h"
#include "lcore/worker.h"

#include <inttypes.h>
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

#include "dataplane/bridge.h"
#include "dataplane/encap.h"
#include "dataplane/hsmac.h"
#include "dataplane/routes.h"
#include "dataplane/tables.h"

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
	/* A peer reset (dead_after) flushes what the tables learnt behind it. */
	if (ipop_bridge_init(&n->sh.bridge, 1024, 300) != 0)
		return -1;
	ipop_routes_init(&n->sh.routes, n->sh.bridge.age_s);
	if (ipop_cookie_checker_init(&n->cookie, n->id.pub, ipop_now_ms()) != 0)
		return -1;
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

/* Whether the initiations the put_* functions make carry a valid mac2 for
 * their source (a sender that holds our cookie: it receives at that address). */
static bool with_mac2;

/* The node leaves the load state a previous test left it in. */
static void calm(void)
{
	node.hs_load_until_ms = 0;
}

/* The UDP ports of the frames put_udp makes, host order: the sender's, and
 * ours it reached (wan.port; an ICE agent's for a relayed pair). */
static uint16_t udp_sport = 5800, udp_dport = 5800;

static void add_mac2(struct ipop_hs_init *msg, uint32_t src)
{
	uint8_t cookie[IPOP_COOKIE_LEN];

	if (!with_mac2)
		return;
	CHECK(ipop_cookie_make(&node.cookie, src, rte_cpu_to_be_16(udp_sport), ipop_now_ms(),
			       cookie) == 0);
	ipop_cookie_mac2(cookie, msg, offsetof(struct ipop_hs_init, mac2), msg->mac2);
}

/* The source MAC of the frames put_udp makes (the WAN gateway's, as set up). */
static uint8_t udp_src_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

/* The workers' verdicts (dataplane/hsmac.h) the frames put_udp makes carry:
 * none but in test_worker_verdicts, as from a ring nothing else checked. */
static uint64_t put_flags;

/* A UDP datagram from src:udp_sport to our port udp_dport, as the workers
 * hand it over (one that came as TURN ChannelData: with its header cut out,
 * from the TURN server's address). */
static void put_udp(uint32_t src, const void *payload, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(node.pool);
	struct ipop_encap_addr a = {
		.src_ip = src, .dst_ip = cfg.wan_addr.s_addr,
		.src_port = rte_cpu_to_be_16(udp_sport), .dst_port = rte_cpu_to_be_16(udp_dport),
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
	m->ol_flags |= put_flags;
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
	memset(msg.mac2, 0, sizeof(msg.mac2));
	add_mac2(&msg, src);
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

/* A genuine initiation from the static key id (fresh timestamp), with mac2
 * made with cookie if it is not NULL (else as with_mac2 says); a copy in *out
 * if out is not NULL. */
static void put_init_cookie(const struct ipop_noise_keypair *id, uint32_t src,
			    const uint8_t *cookie, struct ipop_hs_init *out)
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
	if (cookie != NULL)
		ipop_cookie_mac2(cookie, &msg, offsetof(struct ipop_hs_init, mac2), msg.mac2);
	else
		add_mac2(&msg, src);
	if (out != NULL)
		*out = msg;
	put_udp(src, &msg, sizeof(msg));
}

static void put_init_from(const struct ipop_noise_keypair *id, uint32_t src)
{
	put_init_cookie(id, src, NULL, NULL);
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

	/* 900 initiations put the node under load: these prove their addresses
	 * (mac2), as a flood from addresses its sender receives at would, so
	 * what holds them is the budget. */
	with_mac2 = true;

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
	/* Responses to no handshake of ours cost none of the budget. */
	CHECK(done == IPOP_CTRL_HS_BUDGET);
	CHECK(node.cs.hs_resp_shed == before.hs_resp_shed);
	CHECK(node.cs.hs_init_shed - before.hs_init_shed == n_init - done);
	CHECK(node.cs.hs_bad_auth - before.hs_bad_auth == done);
	CHECK(node.cs.hs_load_ticks - before.hs_load_ticks == 1);
	CHECK(node.cs.hs_mac2_ok - before.hs_mac2_ok == n_init);
	CHECK(node.cs.hs_cookie_tx == before.hs_cookie_tx);
	/* The next tick starts afresh. */
	for (unsigned i = 0; i < 4; i++)
		put_forged_init(ip4(10, 51, 0, i));
	drain_ms();
	CHECK(node.cs.hs_init_rx - before.hs_init_rx == done + 4);
	CHECK(sent_count() == 0);
	with_mac2 = false;
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

/* A tick reads its clock, then drains the ring: a handshake from a peer whose
 * old session is still up here (it restarted) stamps last_rx_ms later than
 * the tick's clock. The timers must not take that for dead_after's worth of
 * silence and reset the peer, which retired the session just answered (seen
 * in test_hs_flood.sh's restart stage: gw-b declared gw-a dead 2 ms before
 * gw-a's new session came up, and never confirmed it). */
static void test_tick_clock(void)
{
	struct ipop_peer *p = node.peers[0];
	enum ipop_peer_state was = p->state;
	unsigned dead_after = cfg.dead_after_s;
	uint64_t tick_now = ipop_now_ms();

	cfg.dead_after_s = 3;
	usleep(IPOP_HS_PEER_MIN_MS * 1000 + 50000);
	p->state = IPOP_PEER_UP;
	put_peer_init(ip4(10, 91, 3, 2));
	drain_ms();
	CHECK(p->next != NULL && p->last_rx_ms > tick_now);
	uint64_t deaths = p->deaths;
	struct ipop_keypair *answered = p->next;
	ipop_timers_run(&node, tick_now);
	CHECK(p->deaths == deaths && p->state == IPOP_PEER_UP && p->next == answered);
	/* Real silence still kills it. */
	ipop_timers_run(&node, p->last_rx_ms + (uint64_t)cfg.dead_after_s * 1000 + 1);
	CHECK(p->deaths == deaths + 1 && p->state != IPOP_PEER_UP && p->next == NULL);
	ipop_hs_abandon(&node, p);   /* the initiation that reset queued: not ours to test */
	p->state = was;
	cfg.dead_after_s = dead_after;
	sent_count();
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
	with_mac2 = true;   /* under load, the rate applies to proven addresses */
	for (unsigned i = 0; i < 100; i++)
		put_forged_init(ip4(10, 52, 0, 1));
	put_peer_init(ip4(10, 91, 3, 2));
	drain_ms();
	with_mac2 = false;
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
	calm();
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
	calm();
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

	calm();
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
	calm();
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

/* The cookie codec on a clock of our own: a cookie per source address and
 * port, stable while the secret lives and changed when it rotates; mac2 made
 * with it verifies for that source only; a cookie reply opens for whoever
 * holds the initiation's mac1 and the responder's public key, and nothing
 * tampered with opens. */
static void test_cookie_codec(void)
{
	struct ipop_cookie_checker c;
	struct ipop_cookie_reply r, bad;
	uint8_t c1[IPOP_COOKIE_LEN], c2[IPOP_COOKIE_LEN], got[IPOP_COOKIE_LEN], key[32];
	uint8_t mac1[IPOP_MAC1_LEN], msg[152];
	const uint32_t a = ip4(192, 0, 2, 7);
	const uint16_t pa = rte_cpu_to_be_16(5800), pb = rte_cpu_to_be_16(5801);
	const uint64_t t0 = 1000000;

	CHECK(ipop_cookie_checker_init(&c, node.id.pub, t0) == 0);
	CHECK(ipop_cookie_make(&c, a, pa, t0, c1) == 0);
	CHECK(ipop_cookie_make(&c, a, pa, t0 + IPOP_COOKIE_SECRET_MS - 1, c2) == 0);
	CHECK(memcmp(c1, c2, sizeof(c1)) == 0);
	CHECK(ipop_cookie_make(&c, a, pb, t0, c2) == 0);
	CHECK(memcmp(c1, c2, sizeof(c1)) != 0);
	CHECK(ipop_cookie_make(&c, ip4(192, 0, 2, 8), pa, t0, c2) == 0);
	CHECK(memcmp(c1, c2, sizeof(c1)) != 0);

	/* mac2 over a message: for its source only. */
	randombytes_buf(msg, sizeof(msg));
	CHECK(ipop_cookie_mac2(c1, msg, 136, msg + 136) == 0);
	CHECK(ipop_cookie_check_mac2(&c, msg, 136, a, pa, t0 + 10) == 0);
	CHECK(ipop_cookie_check_mac2(&c, msg, 136, a, pb, t0 + 10) == -EKEYREJECTED);
	CHECK(ipop_cookie_check_mac2(&c, msg, 136, ip4(192, 0, 2, 9), pa, t0 + 10) == -EKEYREJECTED);
	msg[5] ^= 1;
	CHECK(ipop_cookie_check_mac2(&c, msg, 136, a, pa, t0 + 10) == -EKEYREJECTED);
	msg[5] ^= 1;
	memset(msg + 136, 0, 16);   /* no cookie held */
	CHECK(ipop_cookie_check_mac2(&c, msg, 136, a, pa, t0 + 10) == -EKEYREJECTED);
	CHECK(ipop_cookie_mac2(c1, msg, 136, msg + 136) == 0);

	/* Rotation: after IPOP_COOKIE_SECRET_MS the secret is new, the old cookie
	 * (and every mac2 made with it) no longer verifies. */
	CHECK(ipop_cookie_check_mac2(&c, msg, 136, a, pa, t0 + IPOP_COOKIE_SECRET_MS - 1) == 0);
	CHECK(ipop_cookie_check_mac2(&c, msg, 136, a, pa, t0 + IPOP_COOKIE_SECRET_MS) == -EKEYREJECTED);
	CHECK(ipop_cookie_make(&c, a, pa, t0 + IPOP_COOKIE_SECRET_MS, c2) == 0);
	CHECK(memcmp(c1, c2, sizeof(c1)) != 0);
	CHECK(c.secret_ms == t0 + IPOP_COOKIE_SECRET_MS);
	const uint64_t t1 = t0 + IPOP_COOKIE_SECRET_MS;

	/* A reply opens with the responder's key and the initiation's mac1. */
	randombytes_buf(mac1, sizeof(mac1));
	CHECK(ipop_cookie_reply_create(&c, 0x11223344u, mac1, a, pa, t1, &r) == 0);
	CHECK(r.type == IPOP_MSG_COOKIE_REPLY && r.version == IPOP_WIRE_VERSION && r.reserved == 0);
	CHECK(r.receiver_index == 0x11223344u);
	CHECK(ipop_wire_classify((const uint8_t *)&r, sizeof(r)) == IPOP_MSG_COOKIE_REPLY);
	CHECK(ipop_cookie_reply_key(node.id.pub, key) == 0);
	CHECK(ipop_cookie_reply_open(key, mac1, &r, got) == 0);
	CHECK(memcmp(got, c2, sizeof(got)) == 0);
	/* Two replies to the same sender: fresh nonces. */
	CHECK(ipop_cookie_reply_create(&c, 0x11223344u, mac1, a, pa, t1, &bad) == 0);
	CHECK(memcmp(bad.nonce, r.nonce, sizeof(r.nonce)) != 0);
	/* Another initiation's mac1, another responder's key: refused. */
	mac1[0] ^= 1;
	CHECK(ipop_cookie_reply_open(key, mac1, &r, got) == -EBADMSG);
	mac1[0] ^= 1;
	CHECK(ipop_cookie_reply_key(peer_id.pub, key) == 0);
	CHECK(ipop_cookie_reply_open(key, mac1, &r, got) == -EBADMSG);
	CHECK(ipop_cookie_reply_key(node.id.pub, key) == 0);
	/* Every bit of the header, the nonce and the sealed cookie matters; the
	 * index (bytes 4..7) is routing only: the caller matched it. */
	unsigned refused = 0;
	for (size_t i = 0; i < sizeof(r); i++) {
		if (i >= 4 && i < 8)
			continue;
		bad = r;
		((uint8_t *)&bad)[i] ^= 0x01;
		refused += ipop_cookie_reply_open(key, mac1, &bad, got) == -EBADMSG;
	}
	CHECK(refused == sizeof(r) - 4);
	ipop_cookie_checker_wipe(&c);
	CHECK(!c.ready && sodium_is_zero(c.secret, sizeof(c.secret)));
	CHECK(ipop_cookie_make(&c, a, pa, t1, c2) == -EINVAL);
}

/* Take what control sent to the workers' WAN; the ipop message of the one to
 * dst (network order) goes to out (len bytes). Returns how many were sent. */
static unsigned take_sent(uint32_t dst, void *out, size_t len, unsigned *found)
{
	void *objs[64];
	unsigned k, total = 0;

	*found = 0;
	while ((k = rte_ring_dequeue_burst(node.sh.from_ctrl, objs, 64, NULL)) > 0) {
		for (unsigned i = 0; i < k; i++) {
			struct rte_mbuf *m = objs[i];
			const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
			const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + 14);
			if (ip->dst_addr == dst && m->data_len == IPOP_OUTER_HDR_LEN + len) {
				memcpy(out, f + IPOP_OUTER_HDR_LEN, len);
				(*found)++;
			}
			rte_pktmbuf_free(m);
		}
		total += k;
	}
	return total;
}

/* Under load, an initiation without a valid mac2 costs no X25519: it gets a
 * cookie reply (at most IPOP_CTRL_COOKIE_BUDGET_OTHER a tick to addresses
 * that are no peer's endpoint), sent back through the MAC its frame came
 * from; the genuine peer behind 300 spoofed senders (from its endpoint, so
 * the spoofed ones cannot use up its reply) opens its reply, initiates again
 * with mac2 and is answered. Not under load (1 s after the last tick over
 * the budget), initiations without mac2 are answered. */
static void test_under_load(void)
{
	struct ipop_ctrl_stats before = node.cs;
	struct ipop_cookie_reply r;
	struct ipop_hs_init first, bad;
	uint8_t key[32], cookie[IPOP_COOKIE_LEN];
	const uint32_t gen = ip4(10, 91, 2, 250);   /* the peer's, as test_neigh_unauth left it */
	const unsigned n_forged = 300;
	unsigned found;

	usleep((IPOP_HS_PEER_MIN_MS + 50) * 1000);
	calm();
	sent_count();
	unsigned n_neigh = node.n_neigh;
	CHECK(node.peers[0]->ip == gen && ipop_known_src_has(&node.known_src, gen));
	for (unsigned i = 0; i < n_forged; i++)
		put_forged_init(ip4(10, 70, i >> 8, i & 0xff));
	put_init_cookie(&peer_id, gen, NULL, &first);
	uint64_t t0 = rte_rdtsc();
	drain_ms();
	double us = (double)(rte_rdtsc() - t0) * 1e6 / (double)rte_get_tsc_hz();
	printf("one tick over %u initiations under load: %.0f us (%.1f us each)\n", n_forged + 1,
	       us, us / (n_forged + 1));
	unsigned sent = take_sent(gen, &r, sizeof(r), &found);
	CHECK(node.cs.hs_load_ticks - before.hs_load_ticks == 1);
	CHECK(node.cs.hs_init_rx == before.hs_init_rx);   /* no X25519 at all */
	CHECK(node.cs.hs_mac2_missing - before.hs_mac2_missing == n_forged + 1);
	CHECK(node.cs.hs_cookie_tx - before.hs_cookie_tx == IPOP_CTRL_COOKIE_BUDGET_OTHER + 1);
	CHECK(node.cs.hs_cookie_known - before.hs_cookie_known == 1);
	CHECK(node.cs.hs_cookie_shed - before.hs_cookie_shed == n_forged - IPOP_CTRL_COOKIE_BUDGET_OTHER);
	CHECK(sent == IPOP_CTRL_COOKIE_BUDGET_OTHER + 1);
	CHECK(found == 1);   /* the genuine one, last in the tick, got its reply */
	CHECK(node.cs.hs_no_nexthop == before.hs_no_nexthop);   /* no neighbour needed */
	CHECK(node.n_neigh == n_neigh);                          /* nor learnt */

	/* The peer opens its reply and retries with mac2: answered under load. */
	CHECK(r.receiver_index == first.sender_index);
	CHECK(ipop_cookie_reply_key(node.id.pub, key) == 0);
	CHECK(ipop_cookie_reply_open(key, first.mac1, &r, cookie) == 0);
	put_init_cookie(&peer_id, gen, cookie, NULL);
	drain_ms();
	CHECK(ipop_now_ms() < node.hs_load_until_ms);
	CHECK(node.cs.hs_mac2_ok - before.hs_mac2_ok == 1);
	CHECK(node.cs.hs_init_rx - before.hs_init_rx == 1);
	CHECK(node.cs.hs_resp_tx - before.hs_resp_tx == 1);
	CHECK(sent_count() == 1);
	/* Its cookie is for its own address and port: from elsewhere, mac2
	 * fails and a cookie reply goes there instead. */
	put_init_cookie(&peer_id, ip4(10, 91, 3, 3), cookie, NULL);
	/* A valid mac2 over a bad mac1 is nothing: mac1 is checked first. */
	put_init_cookie(&peer_id, gen, cookie, &bad);
	drain_ms();
	CHECK(node.cs.hs_mac2_missing - before.hs_mac2_missing == n_forged + 2);
	CHECK(node.cs.hs_cookie_tx - before.hs_cookie_tx == IPOP_CTRL_COOKIE_BUDGET_OTHER + 2);
	CHECK(node.cs.hs_peer_limited - before.hs_peer_limited == 1);   /* the second, < 200 ms */
	CHECK(sent_count() == 1);
	bad.mac1[0] ^= 1;
	ipop_cookie_mac2(cookie, &bad, offsetof(struct ipop_hs_init, mac2), bad.mac2);
	uint64_t mac1_bad = node.cs.hs_bad_mac1;
	put_udp(gen, &bad, sizeof(bad));
	drain_ms();
	CHECK(node.cs.hs_bad_mac1 - mac1_bad == 1);
	CHECK(sent_count() == 0);

	/* Load over: as before cookies. */
	usleep((IPOP_CTRL_LOAD_HOLD_MS + 50) * 1000);
	struct ipop_ctrl_stats mid = node.cs;
	put_peer_init(gen);
	drain_ms();
	CHECK(node.cs.hs_mac2_missing == mid.hs_mac2_missing);
	CHECK(node.cs.hs_init_rx - mid.hs_init_rx == 1);
	CHECK(node.cs.hs_resp_tx - mid.hs_resp_tx == 1);
	CHECK(sent_count() == 1);
}

/* The workers' part under load (docs/handshake.md, "mac2 in the workers"),
 * from control's side: a tick under load publishes a table that tells the
 * workers so (deadline, the secret, budgets from the cookie budgets, the
 * peers' endpoints), again when the secret is redrawn, and none once the
 * load is over; the workers' sheds keep the node under load though its
 * ring carries no more than their budget; and control takes their verdicts
 * instead of checking again: an initiation flagged mac1_ok is not checked
 * for mac1 (here its mac1 is bad and nothing counts it), one flagged
 * mac2_ok is proven (its mac2 is zero here) and answered, one flagged
 * mac2_bad gets a cookie reply though its mac2 is valid. */
static void test_worker_verdicts(void)
{
	const uint32_t gen = ip4(10, 91, 2, 250);
	struct ipop_hs_init msg;
	uint8_t cookie[IPOP_COOKIE_LEN];
	unsigned found;
	struct ipop_cookie_reply r;

	CHECK(ipop_hsmac_fl_mac1_ok != 0 && ipop_hsmac_fl_mac2_ok != 0 && ipop_hsmac_fl_mac2_bad != 0);
	usleep((IPOP_HS_PEER_MIN_MS + 50) * 1000);
	calm();
	sent_count();
	ipop_table_publish(&node);
	CHECK(node.sh.table->cookie_set == 0 && node.sh.table->hs_load_until_tsc == 0);
	/* A flood puts the node under load; the table says so. */
	for (unsigned i = 0; i < 100; i++)
		put_forged_init(ip4(10, 72, 0, (uint8_t)i));
	drain_ms();
	sent_count();
	const struct ipop_fp_table *t = node.sh.table;
	CHECK(t->cookie_set == 1);
	CHECK(t->hs_load_until_tsc > rte_rdtsc());
	CHECK(memcmp(t->cookie_secret, node.cookie.secret, sizeof(t->cookie_secret)) == 0);
	CHECK(t->hs_budget_other == IPOP_CTRL_COOKIE_BUDGET_OTHER);   /* one worker */
	CHECK(t->hs_budget_known == IPOP_CTRL_COOKIE_BUDGET - IPOP_CTRL_COOKIE_BUDGET_OTHER);
	CHECK(t->hs_budget_tsc == node.tsc_hz * IPOP_CTRL_TICK_MS / 1000);
	CHECK(ipop_fp_known_ip(t, gen) && !ipop_fp_known_ip(t, ip4(10, 72, 0, 1)));
	/* The next ticks under load do not republish (the deadline is still
	 * more than half a hold ahead)... */
	uint64_t pubs = node.cs.tables_published;
	put_forged_init(ip4(10, 72, 1, 1));
	drain_ms();
	CHECK(node.cs.tables_published == pubs);
	/* ...but a redrawn secret does, at once. */
	node.cookie.secret_ms -= IPOP_COOKIE_SECRET_MS;
	uint8_t old_secret[32];
	memcpy(old_secret, node.cookie.secret, sizeof(old_secret));
	put_forged_init(ip4(10, 72, 1, 2));
	drain_ms();
	sent_count();
	t = node.sh.table;
	CHECK(node.cs.tables_published == pubs + 1);
	CHECK(memcmp(node.cookie.secret, old_secret, sizeof(old_secret)) != 0);
	CHECK(memcmp(t->cookie_secret, node.cookie.secret, sizeof(t->cookie_secret)) == 0);

	/* The workers shedding keeps the node under load with an empty ring. */
	struct ipop_worker *w = calloc(1, sizeof(*w));
	CHECK(w != NULL);
	if (w == NULL)
		return;
	node.workers = w;
	uint64_t until = node.hs_load_until_ms, ticks = node.cs.hs_load_ticks;
	usleep(20000);
	w->stats.drops[IPOP_DROP_HS_UNPROVEN] += 1000;
	ipop_ctrl_rx_drain(&node);   /* nothing in the ring */
	CHECK(node.hs_load_until_ms > until);
	CHECK(node.cs.hs_load_ticks == ticks + 1);
	until = node.hs_load_until_ms;
	usleep(20000);
	ipop_ctrl_rx_drain(&node);   /* no more sheds: the hold runs down */
	CHECK(node.hs_load_until_ms == until && node.cs.hs_load_ticks == ticks + 1);

	/* Verdicts. A bad mac1 a worker vouched for is not looked at again. */
	struct ipop_ctrl_stats before = node.cs;
	put_flags = ipop_hsmac_fl_mac1_ok | ipop_hsmac_fl_mac2_bad;
	randombytes_buf(&msg, sizeof(msg));
	msg.type = IPOP_MSG_HANDSHAKE_INIT;
	msg.version = IPOP_WIRE_VERSION;
	msg.reserved = 0;
	put_udp(ip4(10, 72, 2, 1), &msg, sizeof(msg));
	drain_ms();
	CHECK(node.cs.hs_bad_mac1 == before.hs_bad_mac1);
	CHECK(node.cs.hs_mac2_missing - before.hs_mac2_missing == 1);
	CHECK(node.cs.hs_cookie_tx - before.hs_cookie_tx == 1);
	CHECK(take_sent(ip4(10, 72, 2, 1), &r, sizeof(r), &found) == 1 && found == 1);
	/* mac2_bad: a cookie reply, though its mac2 is valid for its source. */
	with_mac2 = true;
	put_init_cookie(&peer_id, gen, NULL, &msg);
	with_mac2 = false;
	drain_ms();
	CHECK(node.cs.hs_mac2_missing - before.hs_mac2_missing == 2);
	CHECK(node.cs.hs_init_rx == before.hs_init_rx);
	CHECK(take_sent(gen, &r, sizeof(r), &found) == 1 && found == 1);
	/* mac2_ok: proven, answered, though its mac2 is zero. */
	put_flags = ipop_hsmac_fl_mac1_ok | ipop_hsmac_fl_mac2_ok;
	put_init_cookie(&peer_id, gen, NULL, &msg);
	CHECK(sodium_is_zero(msg.mac2, sizeof(msg.mac2)));
	drain_ms();
	put_flags = 0;
	CHECK(node.cs.hs_mac2_ok - before.hs_mac2_ok == 1);
	CHECK(node.cs.hs_init_rx - before.hs_init_rx == 1);
	CHECK(node.cs.hs_resp_tx - before.hs_resp_tx == 1);
	CHECK(sent_count() == 1);
	(void)cookie;

	/* Load over: the next table carries no secret. */
	node.workers = NULL;
	free(w);
	calm();
	node.dirty = true;
	ipop_table_flush(&node);
	CHECK(node.sh.table->cookie_set == 0);
	CHECK(sodium_is_zero(node.sh.table->cookie_secret, sizeof(node.sh.table->cookie_secret)));
}

/* Our node as the initiator: a cookie reply to its initiation in flight is
 * kept, nothing is sent at once, and the next initiation (the retry) carries
 * mac2 that the responder's checker accepts for our address; a forged reply,
 * one for another index or another initiation, and a replay are refused; a
 * cookie past IPOP_COOKIE_FRESH_MS is not used. */
static void test_initiator_cookie(void)
{
	struct ipop_ctrl_stats before = node.cs;
	struct ipop_peer *p = node.peers[0];
	struct ipop_cookie_checker pc;    /* the peer's, as its responder */
	struct ipop_cookie_reply r, forged;
	struct ipop_hs_init init, retry;
	const uint32_t us_ip = cfg.wan_addr.s_addr;
	const uint16_t us_port = rte_cpu_to_be_16(cfg.wan_port);
	uint64_t now = ipop_now_ms();
	unsigned found;

	CHECK(p != NULL);
	if (p == NULL)
		return;
	calm();
	sent_count();
	CHECK(ipop_cookie_checker_init(&pc, peer_id.pub, now) == 0);
	CHECK(ipop_hs_initiate(&node, p, now) == 0);
	take_sent(p->ip, &init, sizeof(init), &found);
	CHECK(found == 1);
	CHECK(sodium_is_zero(init.mac2, sizeof(init.mac2)));   /* no cookie yet */
	CHECK(ipop_cookie_check_mac2(&pc, &init, offsetof(struct ipop_hs_init, mac2), us_ip,
				     us_port, now) == -EKEYREJECTED);

	/* Refused: another index, a forged seal, a reply to another mac1. */
	CHECK(ipop_cookie_reply_create(&pc, init.sender_index ^ 0x00010000u, init.mac1, us_ip,
				       us_port, now, &r) == 0);
	put_udp(p->ip, &r, sizeof(r));
	forged = r;
	forged.receiver_index = init.sender_index;
	randombytes_buf(forged.enc_cookie, sizeof(forged.enc_cookie));
	put_udp(p->ip, &forged, sizeof(forged));
	uint8_t other_mac1[IPOP_MAC1_LEN];
	memcpy(other_mac1, init.mac1, sizeof(other_mac1));
	other_mac1[7] ^= 0x80;
	CHECK(ipop_cookie_reply_create(&pc, init.sender_index, other_mac1, us_ip, us_port, now,
				       &forged) == 0);
	put_udp(p->ip, &forged, sizeof(forged));
	drain_ms();
	CHECK(node.cs.hs_cookie_bad_index - before.hs_cookie_bad_index == 1);
	CHECK(node.cs.hs_cookie_bad_auth - before.hs_cookie_bad_auth == 2);
	CHECK(node.cs.hs_cookie_rx == before.hs_cookie_rx);
	CHECK(p->cookie_ms == 0);

	/* The genuine reply: kept, nothing sent; its replay: refused. */
	CHECK(ipop_cookie_reply_create(&pc, init.sender_index, init.mac1, us_ip, us_port, now,
				       &r) == 0);
	put_udp(p->ip, &r, sizeof(r));
	drain_ms();
	CHECK(node.cs.hs_cookie_rx - before.hs_cookie_rx == 1);
	CHECK(p->cookie_ms != 0);
	CHECK(sent_count() == 0);
	put_udp(p->ip, &r, sizeof(r));
	drain_ms();
	CHECK(node.cs.hs_cookie_replayed - before.hs_cookie_replayed == 1);
	CHECK(node.cs.hs_cookie_rx - before.hs_cookie_rx == 1);

	/* The retry carries mac2 the peer's checker takes for our address. */
	now = ipop_now_ms();
	CHECK(ipop_hs_initiate(&node, p, now) == 0);
	take_sent(p->ip, &retry, sizeof(retry), &found);
	CHECK(found == 1);
	CHECK(ipop_cookie_check_mac2(&pc, &retry, offsetof(struct ipop_hs_init, mac2), us_ip,
				     us_port, now) == 0);
	/* The old reply does not fit the new initiation (its mac1). */
	put_udp(p->ip, &r, sizeof(r));
	drain_ms();
	CHECK(node.cs.hs_cookie_bad_index - before.hs_cookie_bad_index == 2);

	/* A cookie older than IPOP_COOKIE_FRESH_MS is not used. */
	p->cookie_ms = now - IPOP_COOKIE_FRESH_MS;
	CHECK(ipop_hs_initiate(&node, p, now) == 0);
	take_sent(p->ip, &retry, sizeof(retry), &found);
	CHECK(found == 1 && sodium_is_zero(retry.mac2, sizeof(retry.mac2)));
	ipop_hs_abandon(&node, p);
	ipop_cookie_checker_wipe(&pc);
}

/* The peer's side of a handshake we initiated: its genuine response. */
static void peer_respond(const struct ipop_hs_init *init, struct ipop_hs_resp *resp)
{
	struct ipop_noise_hs hs;
	struct ipop_hs_payload pl, mypl;
	struct ipop_noise_session keys;
	uint8_t remote[32];

	memset(&hs, 0, sizeof(hs));
	CHECK(ipop_noise_init_consume(&hs, &peer_id, node.prologue, node.prologue_len, init, remote,
				      &pl) == 0);
	CHECK(memcmp(remote, node.id.pub, 32) == 0);
	memset(&mypl, 0, sizeof(mypl));
	mypl.rx_cipher = IPOP_CIPHER_AES256GCM;
	CHECK(ipop_noise_resp_create(&hs, &mypl, randombytes_random(), init->sender_index, resp,
				     &keys) == 0);
	sodium_memzero(&keys, sizeof(keys));
}

/* A flood of responses to no handshake of ours (anyone can make them: random
 * bytes with the type and a valid mac1) costs a scan of the peers each and
 * none of the handshake budget: the genuine response to our initiation in
 * flight, behind 900 of them in one tick, completes our session in that tick
 * (the first 32 forgeries used to take the whole budget and shed it). */
static void test_resp_flood(void)
{
	struct ipop_ctrl_stats before = node.cs;
	struct ipop_peer *p = node.peers[0];
	const unsigned n_forged = 900;
	struct ipop_hs_init init;
	struct ipop_hs_resp resp;
	unsigned found;

	usleep((IPOP_HS_PEER_MIN_MS + 50) * 1000);
	calm();
	sent_count();
	/* Cost, against a baseline of the same run (the machine is shared):
	 * a tick of as many datagrams that are no handshake at all (a look at
	 * the header, a count, a free), then one of forged responses alone. */
	uint8_t junk[sizeof(struct ipop_hs_resp)];
	randombytes_buf(junk, sizeof(junk));
	junk[0] = 0xee;
	for (unsigned i = 0; i < n_forged; i++)
		put_udp(ip4(10, 72, i >> 8, i & 0xff), junk, sizeof(junk));
	double base_ms = drain_ms();
	for (unsigned i = 0; i < n_forged; i++)
		put_forged_resp(ip4(10, 72, i >> 8, i & 0xff));
	double resp_ms = drain_ms();
	printf("one tick over %u forged responses: %.0f us (%.2f us each); over %u datagrams"
	       " that are no handshake: %.0f us; ratio %.2f\n", n_forged, resp_ms * 1000,
	       resp_ms * 1000 / n_forged, n_forged, base_ms * 1000, resp_ms / base_ms);
	CHECK(node.cs.hs_bad_index - before.hs_bad_index == n_forged);
	before = node.cs;
	CHECK(ipop_hs_initiate(&node, p, ipop_now_ms()) == 0);
	take_sent(p->ip, &init, sizeof(init), &found);
	CHECK(found == 1);
	peer_respond(&init, &resp);
	for (unsigned i = 0; i < n_forged; i++)
		put_forged_resp(ip4(10, 72, i >> 8, i & 0xff));
	put_udp(p->ip, &resp, sizeof(resp));
	uint64_t handshakes = p->handshakes;
	uint64_t t0 = rte_rdtsc();
	drain_ms();
	double us = (double)(rte_rdtsc() - t0) * 1e6 / (double)rte_get_tsc_hz();
	printf("one tick over %u forged responses and a genuine one: %.0f us (%.2f us each)\n",
	       n_forged, us, us / (n_forged + 1));
	CHECK(node.cs.hs_resp_rx - before.hs_resp_rx == n_forged + 1);
	CHECK(node.cs.hs_bad_index - before.hs_bad_index == n_forged);
	CHECK(node.cs.hs_resp_shed == before.hs_resp_shed);
	CHECK(node.cs.hs_bad_auth == before.hs_bad_auth);
	CHECK(p->handshakes == handshakes + 1 && !p->hs_active && p->state == IPOP_PEER_UP);
	CHECK(node.cs.keepalive_tx - before.keepalive_tx == 1);   /* confirms it to the peer */
	CHECK(sent_count() == 1);
}

/* The responder measures the round trip too: from its response leaving to
 * the initiator's first packet on the new session (a worker sets
 * rx_confirmed on it; set here as the worker does), seen when the control
 * thread promotes the session (ipop_hs_confirm, on every tick). */
static void test_responder_rtt(void)
{
	struct ipop_peer *p = node.peers[0];
	const uint64_t wait_ms = 30;

	usleep((IPOP_HS_PEER_MIN_MS + 50) * 1000);
	calm();
	sent_count();
	put_peer_init(p->ip);
	drain_ms();
	CHECK(sent_count() == 1);
	struct ipop_keypair *kp = p->next;
	CHECK(kp != NULL && p->hs_resp_sent_ms != 0);
	if (kp == NULL)
		return;
	uint64_t rtt_at = p->hs_rtt_at_ms;
	ipop_hs_confirm(&node, p, ipop_now_ms());   /* not confirmed yet: nothing */
	CHECK(p->next == kp && p->hs_rtt_at_ms == rtt_at);
	usleep((useconds_t)wait_ms * 1000);
	__atomic_store_n(&kp->rx_confirmed, 1, __ATOMIC_RELEASE);
	uint64_t now = ipop_now_ms();
	ipop_hs_confirm(&node, p, now);
	printf("responder round trip: %" PRIu64 " ms (the initiator answered after %" PRIu64 " ms)\n",
	       p->hs_rtt_ms, wait_ms);
	CHECK(p->cur == kp && p->next == NULL);
	CHECK(p->hs_rtt_at_ms == now);
	CHECK(p->hs_rtt_ms >= wait_ms && p->hs_rtt_ms < wait_ms + 1000);
	CHECK(p->hs_resp_sent_ms == 0);
	sent_count();
}

/* Take what control sent to the workers' WAN; the one to dst:dport from our
 * port sport (host order) framed as TURN ChannelData with an ipop message of
 * len bytes: its channel to *chan, the message to out. Returns how many
 * frames were sent in all. */
static unsigned take_relayed(uint32_t dst, uint16_t sport, uint16_t dport, uint16_t *chan,
			     void *out, size_t len, unsigned *found)
{
	void *objs[64];
	unsigned k, total = 0;

	*found = 0;
	while ((k = rte_ring_dequeue_burst(node.sh.from_ctrl, objs, 64, NULL)) > 0) {
		for (unsigned i = 0; i < k; i++) {
			struct rte_mbuf *m = objs[i];
			const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
			const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + 14);
			const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(f + 34);
			const uint8_t *cd = f + IPOP_OUTER_HDR_LEN;
			if (ip->dst_addr == dst && udp->src_port == rte_cpu_to_be_16(sport) &&
			    udp->dst_port == rte_cpu_to_be_16(dport) &&
			    m->data_len == IPOP_OUTER_HDR_LEN + 4 + len &&
			    (size_t)(cd[2] << 8 | cd[3]) == len) {
				*chan = (uint16_t)(cd[0] << 8 | cd[1]);
				memcpy(out, cd + 4, len);
				(*found)++;
			}
			rte_pktmbuf_free(m);
		}
		total += k;
	}
	return total;
}

/* A relayed pair: the peer is reached through our TURN allocation, whose
 * ChannelData on channel 0x4001 the workers take on the agent's port 5803
 * (published in relay_rx) and hand over as a plain datagram from the TURN
 * server. Under load, its initiation without mac2 gets a cookie reply that
 * goes back as ChannelData on that channel from that port to the server (a
 * plain datagram would be dropped by the relay); the cookie is bound to the
 * source control sees (the server's address and port), so the retry through
 * the same relay proves it and is answered, again through the relay. */
static void test_relayed_cookie(void)
{
	struct ipop_ctrl_stats before = node.cs;
	struct ipop_peer *p = node.peers[0];
	const uint32_t srv = ip4(192, 0, 2, 50);
	const uint16_t srv_port = 3478, agent_port = 5803, chan = 0x4001;
	const uint32_t saved_ip = p->ip;
	const uint16_t saved_port = p->port, saved_local = p->local_port;
	struct ipop_hs_init first;
	struct ipop_cookie_reply r;
	struct ipop_hs_resp resp;
	uint8_t key[32], cookie[IPOP_COOKIE_LEN];
	uint16_t got_chan = 0;
	unsigned found;

	usleep((IPOP_HS_PEER_MIN_MS + 50) * 1000);
	calm();
	sent_count();
	cfg.ice_enabled = true;   /* the agents' ports are tunnel ports */
	p->ip = srv;
	p->port = rte_cpu_to_be_16(srv_port);
	p->local_port = rte_cpu_to_be_16(agent_port);
	p->relay_chan = chan;
	node.dirty = true;
	ipop_table_flush(&node);
	CHECK(ipop_table_relay_chan(&node, srv, rte_cpu_to_be_16(srv_port),
				    rte_cpu_to_be_16(agent_port)) == chan);
	CHECK(ipop_table_relay_chan(&node, srv, rte_cpu_to_be_16(srv_port),
				    rte_cpu_to_be_16(agent_port + 1)) == 0);
	CHECK(ipop_table_relay_chan(&node, srv, rte_cpu_to_be_16(srv_port + 1),
				    rte_cpu_to_be_16(agent_port)) == 0);
	CHECK(ipop_table_relay_chan(&node, ip4(192, 0, 2, 51), rte_cpu_to_be_16(srv_port),
				    rte_cpu_to_be_16(agent_port)) == 0);

	/* Under load: the relayed initiation first, 40 spoofed ones behind it. */
	udp_sport = srv_port;
	udp_dport = agent_port;
	put_init_cookie(&peer_id, srv, NULL, &first);
	udp_sport = 5800;
	udp_dport = cfg.wan_port;
	for (unsigned i = 0; i < 40; i++)
		put_forged_init(ip4(10, 73, 0, i));
	drain_ms();
	CHECK(node.cs.hs_load_ticks - before.hs_load_ticks == 1);
	CHECK(node.cs.hs_init_rx == before.hs_init_rx);
	/* The relayed one from the peer's endpoint (the TURN server), and of
	 * the 40 spoofed ones the budget for other addresses. */
	CHECK(node.cs.hs_cookie_tx - before.hs_cookie_tx == 1 + IPOP_CTRL_COOKIE_BUDGET_OTHER);
	CHECK(node.cs.hs_cookie_relayed - before.hs_cookie_relayed == 1);
	unsigned sent = take_relayed(srv, agent_port, srv_port, &got_chan, &r, sizeof(r), &found);
	CHECK(sent == 1 + IPOP_CTRL_COOKIE_BUDGET_OTHER);
	CHECK(found == 1 && got_chan == chan);

	/* The peer opens it and retries through the relay with mac2. */
	CHECK(r.receiver_index == first.sender_index);
	CHECK(ipop_cookie_reply_key(node.id.pub, key) == 0);
	CHECK(ipop_cookie_reply_open(key, first.mac1, &r, cookie) == 0);
	udp_sport = srv_port;
	udp_dport = agent_port;
	put_init_cookie(&peer_id, srv, cookie, NULL);
	udp_sport = 5800;
	udp_dport = cfg.wan_port;
	drain_ms();
	CHECK(ipop_now_ms() < node.hs_load_until_ms);
	CHECK(node.cs.hs_mac2_ok - before.hs_mac2_ok == 1);
	CHECK(node.cs.hs_init_rx - before.hs_init_rx == 1);
	CHECK(node.cs.hs_resp_tx - before.hs_resp_tx == 1);
	CHECK(p->relay_chan == chan && p->ip == srv);   /* the same endpoint: still relayed */
	got_chan = 0;
	sent = take_relayed(srv, agent_port, srv_port, &got_chan, &resp, sizeof(resp), &found);
	CHECK(sent == 1 && found == 1 && got_chan == chan);
	CHECK(resp.type == IPOP_MSG_HANDSHAKE_RESP && resp.receiver_index != 0);

	cfg.ice_enabled = false;
	p->ip = saved_ip;
	p->port = saved_port;
	p->local_port = saved_local;
	p->relay_chan = 0;
	node.dirty = true;
	ipop_table_flush(&node);
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
	CHECK(ipop_hsmac_flags_register() == 0);   /* as ipopd does; unset until a test sets them */
	test_srclim();
	test_genuine();
	test_tick_clock();
	test_budget();
	test_src_flood();
	test_peer_limit();
	test_log_bounded();
	test_neigh_unauth();
	test_local_fail();
	test_cookie_codec();
	test_under_load();
	test_worker_verdicts();
	test_initiator_cookie();
	test_resp_flood();
	test_responder_rtt();
	test_relayed_cookie();
	test_neigh_evict();
	return check_report("hs_flood");
}

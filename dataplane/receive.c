/* receive.c - WAN rx path. Thread: fast path (one lcore owns its ipop_dp_ctx).
 *
 * Order of checks for a data message, cheapest first, so forged traffic costs
 * little: outer parse -> type/length -> session by receiver index and expiry
 * -> AEAD open (batched) -> replay window check and update -> inner frame
 * checks -> learn and deliver. Nothing reaches the LAN or the kernel before
 * the tag verified. There is no replay check before the open: a forger picks
 * any counter, so it would save a decryption only for genuine duplicates, and
 * it cost every packet a look at the window (docs/benchmarks.md, section 7).
 */
#include "dataplane/datapath.h"
#include "dataplane/encap.h"
#include "dataplane/hsmac.h"
#include "dataplane/turn.h"
#include "dataplane/wire.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

struct open_batch {
	uint16_t n;
	struct ipop_bridge_burst bb;   /* this lcore's bridge cache, for this burst */
	struct rte_mbuf *m[IPOP_DP_BATCH];
	struct ipop_keypair *kp[IPOP_DP_BATCH];
	uint8_t type[IPOP_DP_BATCH];
	struct ipop_aead_op op[IPOP_DP_BATCH];
};

static void to_ctrl(struct ipop_dp_ctx *c, struct rte_mbuf *m)
{
	c->st->ctrl_tx++;
	ipop_pktq_put(c->q_ctrl, m);
}

/* ARP goes to the kernel (it answers for our address); a copy goes to control,
 * which resolves the next hops of the tunnels. */
static void wan_arp(struct ipop_dp_ctx *c, struct rte_mbuf *m)
{
	struct rte_mbuf *copy = rte_pktmbuf_copy(m, c->pool, 0, UINT32_MAX);

	if (copy != NULL)
		to_ctrl(c, copy);
	else
		c->st->drops[IPOP_DROP_NOMEM]++;
	c->st->exc_tx++;
	ipop_pktq_put(c->q_exc, m);
}

/* learn_src when this lcore's cache does not already say so: within loc's
 * learning budget, through the table. Out of line: steady traffic never
 * comes here, and the budget's line stays off the per-frame path (transit
 * at 1420 B: +1.6 % when it moved here, docs/benchmarks.md section 10). */
static bool __rte_noinline learn_src_change(struct ipop_dp_ctx *c, struct open_batch *b,
					     const struct rte_ether_hdr *eth, uint16_t loc)
{
	struct ipop_learn_budget *lb = &c->learn_budget[loc % IPOP_LEARN_SLOTS];
	if (lb->sec != c->now_s) {
		lb->sec = c->now_s;
		lb->n = 0;
	}
	switch (ipop_bridge_burst_learn_remote(c->bridge, &b->bb, eth->src_addr.addr_bytes, loc,
					       c->now_s, lb->n < IPOP_LEARN_PER_S)) {
	case IPOP_LEARN_CHANGED:
		lb->n++;
		c->st->learned++;
		return true;
	case IPOP_LEARN_HELD:
		return false;
	case IPOP_LEARN_NO_ROOM:
		c->st->learn_no_room++;
		return true;
	case IPOP_LEARN_LIMITED:
		c->st->learn_limited++;
		return true;
	default:
		return true;
	}
}

/* The frame's source MAC sits at loc (IPOP_LOC_NONE: learn nothing), within
 * loc's learning budget on this lcore. false: a MAC seen on our LAN or host
 * port within IPOP_MAC_HOLD_S, which a peer may not take (drop the frame: the
 * LAN's switch would move the local host's MAC to us). */
static inline bool learn_src(struct ipop_dp_ctx *c, struct open_batch *b,
			     const struct rte_ether_hdr *eth, uint16_t loc)
{
	if (loc == IPOP_LOC_NONE || ipop_bridge_burst_learnt(&b->bb, eth->src_addr.addr_bytes, loc))
		return true;
	return learn_src_change(c, b, eth, loc);
}

/* Is the Ethernet frame at offset off of m for an IEEE link-local group? */
static bool inner_link_local(const struct rte_mbuf *m, uint32_t off)
{
	return rte_pktmbuf_data_len(m) >= off + RTE_ETHER_HDR_LEN &&
	       ipop_mac_link_local(rte_pktmbuf_mtod_offset(m, const uint8_t *, off));
}

/* m's frame, at frame (its data pointer, passed on rather than read back from
 * the mbuf fields just written: that load would wait for those stores). learn:
 * where the frame's source MAC sits (a peer slot for a direct frame or a flood
 * copy from its origin, a gateway location for a frame that crossed
 * gateways), or IPOP_LOC_NONE to learn nothing. */
static void deliver_local(struct ipop_dp_ctx *c, struct open_batch *b, struct rte_mbuf *m,
			  const uint8_t *frame, uint16_t learn)
{
	const struct rte_ether_hdr *eth;
	uint32_t len = rte_pktmbuf_pkt_len(m);

	if (unlikely(len < RTE_ETHER_HDR_LEN)) {
		ipop_dp_drop(c, m, IPOP_DROP_INNER_SHORT);
		return;
	}
	eth = (const struct rte_ether_hdr *)frame;
	if (unlikely(!rte_is_valid_assigned_ether_addr(&eth->src_addr))) {
		ipop_dp_drop(c, m, IPOP_DROP_INNER_SRC);
		return;
	}
	if (unlikely(ipop_mac_link_local(eth->dst_addr.addr_bytes))) {
		ipop_dp_drop(c, m, IPOP_DROP_INNER_LINK_LOCAL);
		return;
	}
	if (unlikely(!learn_src(c, b, eth, learn))) {
		ipop_dp_drop(c, m, IPOP_DROP_INNER_SRC_LOCAL);
		return;
	}
	uint16_t loc = IPOP_LOC_NONE;
	if (!rte_is_multicast_ether_addr(&eth->dst_addr))
		loc = ipop_bridge_burst_lookup(c->bridge, &b->bb, eth->dst_addr.addr_bytes, c->now_s);
	if (loc == IPOP_LOC_LAN && c->q_lan) {
		ipop_pktq_put(c->q_lan, m);
	} else if (loc == IPOP_LOC_HOST && c->q_host) {
		ipop_pktq_put(c->q_host, m);
	} else if (loc != IPOP_LOC_NONE) {
		ipop_dp_drop(c, m, IPOP_DROP_NOT_LOCAL);
	} else if (c->q_lan && c->q_host) {
		struct rte_mbuf *copy = rte_pktmbuf_copy(m, c->pool, 0, UINT32_MAX);
		if (copy)
			ipop_pktq_put(c->q_host, copy);
		else
			c->st->drops[IPOP_DROP_NOMEM]++;
		ipop_pktq_put(c->q_lan, m);
	} else if (c->q_lan || c->q_host) {
		ipop_pktq_put(c->q_lan ? c->q_lan : c->q_host, m);
	} else {
		ipop_dp_drop(c, m, IPOP_DROP_NO_FLOOD_TARGET);
	}
}

/* Authenticated packets of one session in a row (the common case: a batch
 * from one peer). Their session's liveness and the peer's counters are
 * written once per run instead of once per packet. */
struct session_run {
	struct ipop_keypair *kp;
	uint64_t pkts, bytes;
};

static void session_seen(struct ipop_dp_ctx *c, struct session_run *run)
{
	struct ipop_keypair *kp = run->kp;

	if (kp == NULL)
		return;
	kp->rx_last_tsc = c->now_tsc;
	if (unlikely(!kp->rx_confirmed))
		__atomic_store_n(&kp->rx_confirmed, 1, __ATOMIC_RELEASE);
	c->st->decrypted += run->pkts;
	struct ipop_peer_counters *pc = &c->st->peer[kp->peer_slot];
	pc->rx_packets += run->pkts;
	pc->rx_bytes += run->bytes;
	run->pkts = run->bytes = 0;
}

/* Why a flood copy from peer slot must not be accepted, or IPOP_DROP__MAX:
 * a bound that leaves us outside the sender's arc (or is our own ID) would
 * hand us a share of the ring that is not ours, hence duplicates. */
static enum ipop_drop flood_check(const struct ipop_fp_table *t, const struct ipop_fabric_hdr *h,
				  uint16_t slot, struct ipop_node_id *bound)
{
	struct ipop_node_id origin = ipop_node_id_from_bytes(h->origin);

	*bound = ipop_node_id_from_bytes(h->bound);
	if (h->reserved[0] | h->reserved[1] | h->reserved[2])
		return IPOP_DROP_FLOOD_HDR;
	if (h->hops >= IPOP_FABRIC_MAX_HOPS)
		return IPOP_DROP_FLOOD_HOPS;
	if (ipop_node_id_eq(origin, t->self_id))
		return IPOP_DROP_FLOOD_OWN;
	if (slot >= t->n_peers || !t->peers[slot].up)
		return IPOP_DROP_FLOOD_NOT_NBR;
	if (!ipop_ring_in_oo(t->self_id, t->peers[slot].id, *bound))
		return IPOP_DROP_FLOOD_BOUND;
	return IPOP_DROP__MAX;
}

/* A frame from gateway origin reached us through peer slot: that neighbour
 * is a way back to it (routes.h: a flood copy names our parent in the
 * origin's tree and is learnt; a transit frame only confirms), and the frame's
 * source MAC sits behind the origin. Returns where to learn the MAC: the peer
 * itself when it is the origin, the origin's gateway location, or nothing for
 * a gateway not in the directory (not an online member: nothing to name it
 * by). */
static uint16_t __rte_noinline learn_origin_gw(struct ipop_dp_ctx *c,
						const struct ipop_fp_table *t,
						struct ipop_node_id origin, uint16_t slot,
						bool flood)
{
	int g = ipop_fp_gw_find_hinted(t, origin, &c->gw_hint_origin);
	if (g < 0)
		return IPOP_LOC_NONE;
	if (c->routes != NULL && flood)
		ipop_routes_learn(c->routes, (unsigned)g, slot, c->now_s);
	else if (c->routes != NULL)
		ipop_routes_confirm(c->routes, (unsigned)g, slot, c->now_s);
	return (uint16_t)(IPOP_LOC_GW_BASE + (unsigned)g);
}

/* The common case inline (the frame comes from its origin, a neighbour):
 * GCC made the whole function a call per frame, ~1 % of transit at 1420 B. */
static inline uint16_t learn_origin(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
				    struct ipop_node_id origin, uint16_t slot, uint8_t hops,
				    bool flood)
{
	return hops == 0 ? slot : learn_origin_gw(c, t, origin, slot, flood);
}

/* An authenticated flood copy (m: fabric header, frame; body: m's data
 * pointer, as for deliver_local): relay it inside its
 * bound, then deliver the frame here. */
static void flood_in(struct ipop_dp_ctx *c, const struct ipop_fp_table *t, struct open_batch *b,
		     struct rte_mbuf *m, const uint8_t *body, uint16_t slot)
{
	const struct ipop_fabric_hdr *h = (const struct ipop_fabric_hdr *)body;
	struct ipop_node_id bound;
	enum ipop_drop why = flood_check(t, h, slot, &bound);

	if (why == IPOP_DROP__MAX && inner_link_local(m, IPOP_FABRIC_HDR_LEN))
		why = IPOP_DROP_INNER_LINK_LOCAL;   /* not relayed either */
	if (why != IPOP_DROP__MAX) {
		ipop_dp_drop(c, m, why);
		return;
	}
	c->st->flood_rx++;
	c->st->flood_rx_hops[h->hops < IPOP_FLOOD_HOPS_HIST ? h->hops : IPOP_FLOOD_HOPS_HIST - 1]++;
	uint16_t learn = learn_origin(c, t, ipop_node_id_from_bytes(h->origin), slot, h->hops, true);
	/* Copies only for the next hops (a leaf copies nothing); m stays ours. */
	c->st->flood_relayed += ipop_dp_flood_out(c, t, &c->relay, m, &bound,
						  (uint8_t)(h->hops + 1), true);
	rte_pktmbuf_adj(m, IPOP_FABRIC_HDR_LEN);
	deliver_local(c, b, m, body + IPOP_FABRIC_HDR_LEN, learn);
}

/* Why a transit frame must not be accepted, or IPOP_DROP__MAX. */
static enum ipop_drop transit_check(const struct ipop_fp_table *t, const struct ipop_fabric_hdr *h,
				    struct ipop_node_id *origin, struct ipop_node_id *dst)
{
	*origin = ipop_node_id_from_bytes(h->origin);
	*dst = ipop_node_id_from_bytes(h->bound);
	if (h->reserved[0] | h->reserved[1] | h->reserved[2])
		return IPOP_DROP_TRANSIT_HDR;
	if (h->hops >= IPOP_FABRIC_MAX_HOPS)
		return IPOP_DROP_TRANSIT_HOPS;
	if (ipop_node_id_eq(*origin, t->self_id))
		return IPOP_DROP_TRANSIT_OWN;
	return IPOP_DROP__MAX;
}

/* An authenticated transit frame (m: fabric header, frame; body: m's data
 * pointer, as for deliver_local) from peer slot:
 * ours to deliver, or forwarded towards its destination, re-sealed for the
 * next tunnel on this lcore. */
static void transit_in(struct ipop_dp_ctx *c, const struct ipop_fp_table *t, struct open_batch *b,
		       struct rte_mbuf *m, const uint8_t *body, uint16_t slot)
{
	const struct ipop_fabric_hdr *h = (const struct ipop_fabric_hdr *)body;
	struct ipop_node_id origin, dst;
	enum ipop_drop why = transit_check(t, h, &origin, &dst);

	if (why != IPOP_DROP__MAX) {
		ipop_dp_drop(c, m, why);
		return;
	}
	/* The origin sits behind the sender whether or not the frame is ours
	 * (a hop count of 0 from a peer that is not the origin is a lie we do
	 * not learn a MAC from). */
	uint8_t hops = h->hops != 0 || ipop_node_id_eq(origin, t->peers[slot].id) ? h->hops : 1;
	uint16_t learn = learn_origin(c, t, origin, slot, hops, false);
	if (ipop_node_id_eq(dst, t->self_id)) {
		c->st->transit_rx++;
		rte_pktmbuf_adj(m, IPOP_FABRIC_HDR_LEN);
		deliver_local(c, b, m, body + IPOP_FABRIC_HDR_LEN, learn);
		return;
	}
	int g = ipop_fp_gw_find_hinted(t, dst, &c->gw_hint_dst);
	if (g < 0) {
		ipop_dp_drop(c, m, IPOP_DROP_TRANSIT_UNKNOWN);
		return;
	}
	/* Passing through, we learn where the source sits too: our own hosts'
	 * answers then take the short way. (classify made sure the frame's
	 * Ethernet header is there.) */
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)(body + IPOP_FABRIC_HDR_LEN);
	if (rte_is_valid_assigned_ether_addr(&eth->src_addr))
		learn_src(c, b, eth, learn);
	int r = ipop_dp_transit_out(c, t, &c->relay, m, (unsigned)g, (uint8_t)(h->hops + 1), slot);
	if (r == 0)
		c->st->transit_relayed++;
	else
		ipop_dp_drop(c, m, r == -ELOOP ? IPOP_DROP_TRANSIT_LOOP : IPOP_DROP_TRANSIT_NO_ROUTE);
}

/* The replay window, only now that the tags verified: for each run of one
 * session's ops in the batch (the common case: the whole batch), its
 * authenticated counters in one ipop_replay_accept_run (a compare-and-swap
 * per window slot touched, not per frame; a counter may also appear twice
 * within one batch). res[i]: its result for op i (unset for a failed op). */
static void replay_accept_runs(struct open_batch *b, int *res)
{
	uint64_t ctr[IPOP_DP_BATCH];
	int rr[IPOP_DP_BATCH];
	uint16_t at[IPOP_DP_BATCH];

	for (uint16_t i = 0, j; i < b->n; i = j) {
		struct ipop_keypair *kp = b->kp[i];
		unsigned k = 0;
		for (j = i; j < b->n && b->kp[j] == kp; j++) {
			if (b->op[j].status == 0) {
				at[k] = j;
				ctr[k++] = b->op[j].counter;
			}
		}
		if (k == (unsigned)(j - i)) {   /* all authenticated: results in place */
			ipop_replay_accept_run(&kp->replay, ctr, k, res + i);
			continue;
		}
		ipop_replay_accept_run(&kp->replay, ctr, k, rr);
		for (unsigned q = 0; q < k; q++)
			res[at[q]] = rr[q];
	}
}

static void open_flush(struct ipop_dp_ctx *c, const struct ipop_fp_table *t, struct open_batch *b)
{
	struct session_run run = { 0 };
	int res[IPOP_DP_BATCH];

	if (b->n == 0)
		return;
	ipop_aead_open_burst(c->aead, b->op, b->n);
	replay_accept_runs(b, res);
	for (uint16_t i = 0; i < b->n; i++) {
		struct rte_mbuf *m = b->m[i];
		struct ipop_keypair *kp = b->kp[i];
		if (b->op[i].status != 0) {
			ipop_dp_drop(c, m, IPOP_DROP_WAN_AUTH);
			continue;
		}
		int r = res[i];
		if (r != 0) {
			ipop_dp_drop(c, m, r == -EALREADY ? IPOP_DROP_WAN_REPLAY : IPOP_DROP_WAN_OLD);
			continue;
		}
		if (kp != run.kp) {
			session_seen(c, &run);
			run.kp = kp;
		}
		run.pkts++;
		run.bytes += ipop_wire_frame_bytes(b->type[i], b->op[i].len);
		if (b->op[i].len == 0) {
			c->st->keepalives_rx++;
			rte_pktmbuf_free(m);
			continue;
		}
		/* Strip everything up to the inner frame, and the tag (and any
		 * Ethernet padding): one adjustment of the three fields on the
		 * single segment wan_one() made sure of; a chain (not reachable
		 * today) the generic way. */
		uint16_t off = (uint16_t)(b->op[i].buf - rte_pktmbuf_mtod(m, uint8_t *));
		if (likely(m->nb_segs == 1)) {
			m->data_off = (uint16_t)(m->data_off + off);
			m->data_len = (uint16_t)b->op[i].len;
			m->pkt_len = b->op[i].len;
		} else {
			rte_pktmbuf_adj(m, off);
			rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - b->op[i].len));
		}
		if (b->type[i] == IPOP_MSG_FLOOD)
			flood_in(c, t, b, m, b->op[i].buf, kp->peer_slot);
		else if (b->type[i] == IPOP_MSG_TRANSIT)
			transit_in(c, t, b, m, b->op[i].buf, kp->peer_slot);
		else
			deliver_local(c, b, m, b->op[i].buf, kp->peer_slot);
	}
	session_seen(c, &run);
	b->n = 0;
}

/* Inline: a call per packet cost ~0.5 % of transit at 1420 B. */
static __rte_always_inline void wan_data(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
					 struct open_batch *b, struct rte_mbuf *m, uint8_t *p,
					 uint32_t plen)
{
	const struct ipop_data_hdr *h = (const struct ipop_data_hdr *)p;
	struct ipop_keypair *kp = t->by_index[rte_be_to_cpu_32(h->receiver_index) & IPOP_INDEX_MASK];
	uint64_t ctr = rte_be_to_cpu_64(h->counter);

	if (unlikely(kp == NULL || kp->local_index != h->receiver_index)) {
		ipop_dp_drop(c, m, IPOP_DROP_WAN_INDEX);
		return;
	}
	if (unlikely(c->now_tsc > kp->expire_tsc)) {
		ipop_dp_drop(c, m, IPOP_DROP_WAN_EXPIRED);
		return;
	}
	uint16_t i = b->n++;
	b->m[i] = m;
	b->kp[i] = kp;
	b->type[i] = p[0];
	b->op[i] = (struct ipop_aead_op){
		.key = &kp->recv_key, .buf = p + IPOP_DATA_HDR_LEN,
		.len = plen - IPOP_DATA_OVERHEAD, .aad = p,
		.tag = p + plen - IPOP_TAG_LEN, .counter = ctr,
	};
	if (b->n == IPOP_DP_BATCH)
		open_flush(c, t, b);
}

static enum ipop_drop classify_drop(int err, uint32_t plen)
{
	switch (err) {
	case -EPROTO:
		return IPOP_DROP_WAN_VERSION;
	case -EBADMSG:
		return IPOP_DROP_WAN_TYPE;
	default:
		return plen < 4 ? IPOP_DROP_WAN_SHORT : IPOP_DROP_WAN_LENGTH;
	}
}

/* A reassembled datagram that is not ours goes to the kernel. DPDK left its
 * IPv4 checksum 0 for an offload the TAP does not do: the kernel would drop
 * it. It stays a chain: the TAP writes chains, and it may not fit one mbuf. */
static void reasm_to_kernel(struct ipop_dp_ctx *c, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);

	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	m->ol_flags &= ~(RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_IPV4);
	c->st->exc_tx++;
	ipop_pktq_put(c->q_exc, m);
}

/* Is reassembled m UDP to our tunnel port? Its first segment holds the UDP
 * header: every fragment but the last carries a multiple of 8 bytes. */
static bool reasm_is_tunnel(const struct ipop_fp_table *t, const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								 RTE_ETHER_HDR_LEN);
	uint32_t l4 = RTE_ETHER_HDR_LEN + (uint32_t)(ip->version_ihl & 0xf) * 4;

	if (m->data_len < l4 + sizeof(struct rte_udp_hdr))
		return false;
	return rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, l4)->dst_port == t->wan_port;
}

/* Reassemble fragments addressed to us. Returns the whole tunnel datagram
 * (linear), or NULL when more fragments are needed, the datagram went to the
 * kernel, or it was dropped (counted). */
static struct rte_mbuf *reassemble(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
				   struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);

	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = (uint16_t)((ip->version_ihl & 0xf) * 4);
	struct rte_mbuf *r = ipop_reasm_add(&c->reasm, m, ip, c->now_tsc, c->st);
	if (r == NULL)
		return NULL;
	c->st->reasm_in++;
	if (!reasm_is_tunnel(t, r)) {
		reasm_to_kernel(c, r);
		return NULL;
	}
	if (r->nb_segs > 1 && rte_pktmbuf_linearize(r) != 0) {
		/* Counted as its fragments, like every reassembly drop. */
		c->st->drops[IPOP_DROP_REASM] += r->nb_segs;
		rte_pktmbuf_free(r);
		return NULL;
	}
	return r;
}

/* A handshake message at p (plen bytes, classified as type) in m: to control
 * if its mac1 is for our key (or it has none: a cookie reply), else dropped
 * here, so that a flood of them never costs the ring or the control thread
 * anything (docs/handshake.md, "mac1 in the workers"). */
/* Under load, an initiation (at p, plen bytes, from src_ip:src_port, network
 * order): true when it may go to control, with the worker's verdicts in m's
 * flags. Proven ones always go; unproven ones within this
 * worker's budget for the interval (a peer's endpoint and any other source
 * have separate budgets, so a flood from spoofed addresses cannot take the
 * cookie replies a rekeying peer needs), the rest are dropped here: control
 * would answer at most its cookie budget of them a tick and shed the rest
 * after their trip across the ring (docs/handshake.md, "mac2 in the
 * workers"). */
static bool hs_init_admit(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			  struct rte_mbuf *m, const uint8_t *p, uint32_t plen, uint32_t src_ip,
			  uint16_t src_port)
{
	/* mac2 before mac1: most of a flood fails mac2 and is shed over the
	 * budget, and shedding needs no mac1 (two of the five BLAKE2b
	 * compressions a packet would cost; the worker is on the tunnel's
	 * path). What goes on has its mac1 checked as always. */
	bool proven = ipop_hsmac_check_mac2(t->cookie_secret, p, plen, src_ip, src_port) == 0;
	uint16_t *left = NULL;

	if (!proven) {
		if (c->now_tsc - c->hs_budget_at >= t->hs_budget_tsc) {
			c->hs_budget_at = c->now_tsc;
			c->hs_left_known = t->hs_budget_known;
			c->hs_left_other = t->hs_budget_other;
		}
		left = ipop_fp_known_ip(t, src_ip) ? &c->hs_left_known : &c->hs_left_other;
		if (*left == 0) {
			ipop_dp_drop(c, m, IPOP_DROP_HS_UNPROVEN);
			return false;
		}
	}
	if (ipop_hsmac_check(t->mac1_key, p, plen, IPOP_MSG_HANDSHAKE_INIT) != 0) {
		ipop_dp_drop(c, m, IPOP_DROP_HS_MAC1);
		return false;
	}
	if (proven) {
		m->ol_flags |= ipop_hsmac_fl_mac1_ok | ipop_hsmac_fl_mac2_ok;
		c->st->wan_hs_mac2_ok++;
	} else {
		(*left)--;
		m->ol_flags |= ipop_hsmac_fl_mac1_ok | ipop_hsmac_fl_mac2_bad;
		c->st->wan_hs_unproven_tx++;
	}
	return true;
}

/* The workers' checks of a handshake message at p (plen bytes, wire type
 * type) from src_ip:src_port in m: true when it goes to control (with their
 * verdicts in its flags), false when it was dropped (counted). */
static bool hs_check(struct ipop_dp_ctx *c, const struct ipop_fp_table *t, struct rte_mbuf *m,
		     const uint8_t *p, uint32_t plen, int type, uint32_t src_ip, uint16_t src_port)
{
	/* Whatever the mbuf carried before (a PMD that does not reset ol_flags
	 * on a reused buffer): control reads only what is set below. */
	m->ol_flags &= ~(ipop_hsmac_fl_mac1_ok | ipop_hsmac_fl_mac2_ok | ipop_hsmac_fl_mac2_bad);
	if (!t->mac1_set)
		return true;
	if (type == IPOP_MSG_HANDSHAKE_INIT && t->cookie_set && c->now_tsc < t->hs_load_until_tsc &&
	    plen == sizeof(struct ipop_hs_init))
		return hs_init_admit(c, t, m, p, plen, src_ip, src_port);
	if (ipop_hsmac_check(t->mac1_key, p, plen, type) != 0) {
		ipop_dp_drop(c, m, IPOP_DROP_HS_MAC1);
		return false;
	}
	if (type != IPOP_MSG_COOKIE_REPLY)
		m->ol_flags |= ipop_hsmac_fl_mac1_ok;
	return true;
}

static void __rte_noinline hs_to_ctrl(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
				      struct rte_mbuf *m, const uint8_t *p, uint32_t plen, int type)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(p - 8);

	if (hs_check(c, t, m, p, plen, type, ip->src_addr, udp->src_port))
		to_ctrl(c, m);
}

/* A classified ipop message at p (plen bytes) in m: data to the open batch,
 * handshakes to control, the rest dropped. */
static __rte_always_inline void wan_msg(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
					struct open_batch *b, struct rte_mbuf *m, uint8_t *p,
					uint32_t plen, int type)
{
	if (likely(type == IPOP_MSG_DATA || type == IPOP_MSG_FLOOD || type == IPOP_MSG_TRANSIT)) {
		wan_data(c, t, b, m, p, plen);
	} else if (type == IPOP_MSG_HANDSHAKE_INIT || type == IPOP_MSG_HANDSHAKE_RESP ||
		   type == IPOP_MSG_COOKIE_REPLY) {
		hs_to_ctrl(c, t, m, p, plen, type);
	} else {
		ipop_dp_drop(c, m, classify_drop(type, plen));
	}
}

/* A handshake that came as ChannelData goes to control as the UDP datagram the
 * relay would have sent without a channel: the 4-byte header cut out (the
 * headers before it move up), lengths and IPv4 checksum fixed. Control then
 * sees the TURN server's address and the agent's port as its source and
 * destination, which is the peer's endpoint on a relayed pair. */
static void chandata_unwrap(struct rte_mbuf *m, uint32_t poff)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);

	memmove(f + IPOP_CHANDATA_HDR_LEN, f, poff);
	rte_pktmbuf_adj(m, IPOP_CHANDATA_HDR_LEN);
	f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(f + poff - 8);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(ip->total_length) -
						       IPOP_CHANDATA_HDR_LEN));
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(udp->dgram_len) -
						     IPOP_CHANDATA_HDR_LEN));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* TURN ChannelData (plen bytes at poff) to the agent port wan.port + above.
 * An ipop message inside, from our TURN server on the channel control
 * published for that port, is processed as if the peer had sent it directly;
 * anything else inside (the agent's consent checks over its channel) is the
 * agent's: to the kernel as it came. */
static void __rte_noinline wan_chandata(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
					struct open_batch *b, struct rte_mbuf *m, uint32_t poff,
					uint32_t plen, uint16_t above)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *p = f + poff;
	uint32_t dlen = ipop_turn_chandata_len(p);

	if (dlen + IPOP_CHANDATA_HDR_LEN > plen || plen - IPOP_CHANDATA_HDR_LEN - dlen > 3) {
		ipop_dp_drop(c, m, IPOP_DROP_TURN_LENGTH);
		return;
	}
	int type = ipop_wire_classify(p + IPOP_CHANDATA_HDR_LEN, dlen);
	if (type < 0) {
		/* The member's checks and their responses through our relay:
		 * control checks their MESSAGE-INTEGRITY too (stun_to_ctrl). */
		if (ipop_wire_is_stun(p + IPOP_CHANDATA_HDR_LEN, dlen) &&
		    !ipop_turn_stun_is_indication(p + IPOP_CHANDATA_HDR_LEN))
			ipop_dp_stun_copy_to_ctrl(c, m);
		c->st->turn_chan_exc++;
		c->st->ice_port_exc++;
		c->st->exc_tx++;
		ipop_pktq_put(c->q_exc, m);
		return;
	}
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(p - 8);
	const struct ipop_fp_relay *r = &t->relay_rx[above];
	uint16_t chan;
	memcpy(&chan, p, 2);
	if (above > IPOP_FP_ICE_PORTS || r->chan == 0 || chan != r->chan ||
	    ip->src_addr != r->srv_ip || udp->src_port != r->srv_port) {
		ipop_dp_drop(c, m, IPOP_DROP_TURN_CHANNEL);
		return;
	}
	c->st->turn_rx++;
	if (type == IPOP_MSG_HANDSHAKE_INIT || type == IPOP_MSG_HANDSHAKE_RESP ||
	    type == IPOP_MSG_COOKIE_REPLY) {
		/* The source control sees after the unwrap: the server's. */
		if (!hs_check(c, t, m, p + IPOP_CHANDATA_HDR_LEN, dlen, type, ip->src_addr,
			      udp->src_port))
			return;
		chandata_unwrap(m, poff);
		to_ctrl(c, m);
		return;
	}
	wan_msg(c, t, b, m, p + IPOP_CHANDATA_HDR_LEN, dlen, type);
}

/* STUN to an agent's port: the TURN server's responses go to control for
 * the TURN watch (turn_ctrl), other hosts' requests and responses (ICE
 * checks) for their MESSAGE-INTEGRITY (stun_ctrl), and so do the TURN
 * server's Data indications (a member's checks through our relay before a
 * channel is bound: control unwraps them); other indications (keepalives)
 * carry nothing worth checking. */
static void stun_to_ctrl(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			 const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, const uint8_t *p)
{
	if (t->turn_ip != 0 && ip->src_addr == t->turn_ip) {
		if (ipop_turn_stun_is_response(p))
			ipop_dp_turn_copy_to_ctrl(c, m);
		else if (ipop_turn_stun_is_data_indication(p))
			ipop_dp_stun_copy_to_ctrl(c, m);
	} else if (!ipop_turn_stun_is_indication(p)) {
		ipop_dp_stun_copy_to_ctrl(c, m);
	}
}

static void wan_one(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		    struct open_batch *b, struct rte_mbuf *m)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t ip_off = 0, poff = 0, plen = 0;
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)f;

	if (unlikely(m->nb_segs > 1) && rte_pktmbuf_linearize(m) != 0) {
		ipop_dp_drop(c, m, IPOP_DROP_MULTISEG);
		return;
	}
	if (m->data_len >= RTE_ETHER_HDR_LEN &&
	    eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		wan_arp(c, m);
		return;
	}
	int r = ipop_encap_parse(f, m->data_len, &ip_off, &poff, &plen);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
	if (r == -EINPROGRESS && ip->dst_addr == t->wan_ip) {
		m = reassemble(c, t, m);
		if (m == NULL)
			return;
		f = rte_pktmbuf_mtod(m, uint8_t *);
		ip = (const struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);   /* old m may be freed */
		r = ipop_encap_parse(f, m->data_len, &ip_off, &poff, &plen);
	}
	uint16_t dport = r == 0 ? ((const struct rte_udp_hdr *)(f + poff - 8))->dst_port : 0;
	/* wan.port, or one of the ICE agents' ports after it: one subtraction
	 * (host order, wrapping) tells both. */
	uint16_t above = (uint16_t)(rte_be_to_cpu_16(dport) - rte_be_to_cpu_16(t->wan_port));
	if (r != 0 || ip->dst_addr != t->wan_ip || above > t->wan_port_span) {
		/* Not a tunnel packet: the host's own traffic, to the kernel. */
		c->st->exc_tx++;
		ipop_pktq_put(c->q_exc, m);
		return;
	}
	int type = ipop_wire_classify(f + poff, plen);
	if (unlikely(type < 0 && above != 0 && ipop_turn_is_chandata(f + poff, plen))) {
		wan_chandata(c, t, b, m, poff, plen, above);
		return;
	}
	bool stun = type < 0 && ipop_wire_is_stun(f + poff, plen);
	if (unlikely(type < 0 && (stun || above != 0))) {
		/* ICE's checks on the tunnel's port: for the agent's socket. On an
		 * agent's own port, whatever is not ipop's is the agent's (STUN,
		 * and TURN messages from its relay): the kernel's too. Responses
		 * of the TURN server go to control as well (dataplane/turn.h). */
		if (stun) {
			c->st->stun_exc++;
			if (above != 0)
				stun_to_ctrl(c, t, m, ip, f + poff);
		} else {
			c->st->ice_port_exc++;
		}
		c->st->exc_tx++;
		ipop_pktq_put(c->q_exc, m);
		return;
	}
	wan_msg(c, t, b, m, f + poff, plen, type);
}

void ipop_dp_wan_rx(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		    struct rte_mbuf **pkts, uint16_t n)
{
	struct open_batch b;

	b.n = 0;
	ipop_bridge_burst_init(&b.bb, c->bridge, &c->mac_cache, c->now_s);
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		wan_one(c, t, &b, pkts[i]);
	}
	open_flush(c, t, &b);
	ipop_dp_seal_flush(c, t, &c->relay);
}

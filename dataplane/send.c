/* send.c - local rx path: frames from the LAN port or the host TAP go to the other
 * local port or, encrypted and encapsulated, to peers.
 * Thread: fast path (one lcore owns its ipop_dp_ctx).
 *
 * Per burst: learn + classify each frame, collect (frame, peer) pairs in a seal
 * batch, reserve nonces with one atomic add per run of same-session frames, seal
 * the batch with one IPsec-MB call, then write outer headers and queue.
 */
#include "dataplane/datapath.h"
#include "dataplane/encap.h"
#include "dataplane/flood.h"
#include "dataplane/turn.h"
#include "dataplane/wire.h"

#include <errno.h>
#include <stddef.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_prefetch.h>

#define IPOP_MAX_IPV4_HDR 60   /* IHL 15 */

/* A burst from a local port: its seal batch and this lcore's bridge cache. */
struct local_batch {
	struct ipop_seal_batch s;
	struct ipop_bridge_burst bb;
};

/* Cut an outer datagram above the underlay MTU into IPv4 fragments, each
 * with the Ethernet header of the whole (at m's data pointer), and queue them.
 * Out of line: rare (non-TCP frames above 1426 bytes with DF). */
static void __rte_noinline frag_out(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
				    struct rte_mbuf *m)
{
	struct rte_mbuf *frags[8];
	struct rte_ether_hdr eh = *rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN);
	int nf = rte_ipv4_fragment_packet(m, frags, RTE_DIM(frags), t->wan_mtu,
					  c->pool, c->indirect_pool);
	rte_pktmbuf_free(m);
	if (nf < 0) {
		c->st->drops[nf == -ENOMEM ? IPOP_DROP_NOMEM : IPOP_DROP_FRAG]++;
		return;
	}
	for (int i = 0; i < nf; i++) {
		struct rte_mbuf *f = frags[i];
		struct rte_ether_hdr *eth = (struct rte_ether_hdr *)
			rte_pktmbuf_prepend(f, RTE_ETHER_HDR_LEN);
		if (eth == NULL) {
			ipop_dp_drop(c, f, IPOP_DROP_NOMEM);
			continue;
		}
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		*eth = eh;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		f->ol_flags = 0;
		c->st->frag_out++;
		ipop_pktq_put(c->q_wan, f);
	}
}

/* The other ways to write a peer's outer headers, out of line so the common
 * one (a template, IPOP_HDR_TEMPLATE) stays one test: a table built without
 * templates (by hand, in a test or a tool), or a relayed pair
 * (IPOP_HDR_TURN): a 4-byte ChannelData header goes in front of the ipop
 * message, and the template takes it to the TURN server. The caller made room
 * for the outer header (m's data pointer is there); false: m was dropped. */
static bool __rte_noinline encap_other(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
				       const struct ipop_fp_peer *p, struct rte_mbuf *m,
				       uint16_t *plen)
{
	uint8_t *h = rte_pktmbuf_mtod(m, uint8_t *);

	if (p->hdr_ok == IPOP_HDR_NONE) {
		struct ipop_encap_addr a = {
			.src_mac = t->wan_mac, .dst_mac = p->nh_mac,
			.src_ip = t->wan_ip, .dst_ip = p->ip,
			.src_port = t->wan_port, .dst_port = p->port,
		};
		ipop_encap_write(h, &a, *plen, c->ip_id++);
		return true;
	}
	/* The outer header's room is taken; ChannelData needs 4 bytes more. */
	if (unlikely(rte_pktmbuf_headroom(m) < IPOP_CHANDATA_HDR_LEN)) {
		ipop_dp_drop(c, m, IPOP_DROP_NOMEM);
		return false;
	}
	uint16_t dlen = rte_cpu_to_be_16(*plen);
	m->data_off = (uint16_t)(m->data_off - IPOP_CHANDATA_HDR_LEN);
	m->data_len = (uint16_t)(m->data_len + IPOP_CHANDATA_HDR_LEN);
	m->pkt_len += IPOP_CHANDATA_HDR_LEN;
	h = rte_pktmbuf_mtod(m, uint8_t *);
	memcpy(h + IPOP_OUTER_HDR_LEN, &p->chan, 2);
	memcpy(h + IPOP_OUTER_HDR_LEN + 2, &dlen, 2);
	*plen = (uint16_t)(*plen + IPOP_CHANDATA_HDR_LEN);
	ipop_encap_from_template(h, p->hdr, p->hdr_sum, *plen, c->ip_id++);
	c->st->turn_tx++;
	return true;
}

/* Outer headers in front of the ipop message at m's data pointer (plen bytes),
 * then queue on q_wan, fragmenting above the underlay MTU. The caller has
 * checked that the first segment has IPOP_OUTER_HDR_LEN bytes of headroom, so
 * the prepend is three field updates (what rte_pktmbuf_prepend does after its
 * check; the first segment is the same for a chain). */
static __rte_always_inline void encap_out(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
					  const struct ipop_fp_peer *p, struct rte_mbuf *m)
{
	uint16_t plen = (uint16_t)rte_pktmbuf_pkt_len(m);

	m->data_off = (uint16_t)(m->data_off - IPOP_OUTER_HDR_LEN);
	m->data_len = (uint16_t)(m->data_len + IPOP_OUTER_HDR_LEN);
	m->pkt_len += IPOP_OUTER_HDR_LEN;
	uint8_t *h = rte_pktmbuf_mtod(m, uint8_t *);
	if (likely(p->hdr_ok == IPOP_HDR_TEMPLATE))
		ipop_encap_from_template(h, p->hdr, p->hdr_sum, plen, c->ip_id++);
	else if (!encap_other(c, t, p, m, &plen))
		return;
	if (likely((uint32_t)plen + 28 <= t->wan_mtu))
		ipop_pktq_put(c->q_wan, m);
	else  /* oversized (non-TCP, since TCP is MSS-clamped) */
		frag_out(c, t, m);
}

void ipop_dp_encap_out(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		       const struct ipop_fp_peer *p, struct rte_mbuf *m)
{
	if (unlikely(rte_pktmbuf_headroom(m) < IPOP_OUTER_HDR_LEN)) {
		ipop_dp_drop(c, m, IPOP_DROP_NOMEM);
		return;
	}
	encap_out(c, t, p, m);
}

_Static_assert(sizeof(((struct ipop_fp_peer *)0)->hdr) == IPOP_OUTER_HDR_LEN &&
	       IPOP_ENCAP_HDR_LEN == IPOP_OUTER_HDR_LEN, "outer header template size");

/* Reserve nonces: one atomic add per session per batch. A flood interleaves
 * sessions (peer 0, 1, 2, 0, 1, 2, ...), so group by session over the whole
 * batch, not by runs; within a session, counters follow batch order. The
 * group of each op is looked for first where the pattern of a flood (the next
 * group) or of a run (the same group) puts it. */
_Static_assert(IPOP_DP_BATCH <= 64, "reserve_counters keeps the batch in a 64-bit mask");
static void reserve_counters(struct ipop_seal_batch *b)
{
	struct ipop_keypair *kp[IPOP_DP_BATCH];
	uint64_t mask[IPOP_DP_BATCH], cur = 0;   /* cur: group g's ops while in a run */
	unsigned ng = 0, g = 0;

	for (uint16_t k = 0; k < b->n; k++) {
		struct ipop_keypair *x = b->kp[k];
		/* A run stays in a register: mask[g] |= per op was a chain of
		 * stores and reloads of one word (perf: half of this function). */
		if (ng != 0 && kp[g] == x) {
			cur |= UINT64_C(1) << k;
			continue;
		}
		if (ng != 0)
			mask[g] |= cur;
		unsigned next = g + 1 < ng ? g + 1 : 0;
		if (ng != 0 && kp[next] == x) {
			g = next;
		} else {
			for (g = 0; g < ng && kp[g] != x; g++)
				;
			if (g == ng) {
				kp[ng] = x;
				mask[ng++] = 0;
			}
		}
		cur = UINT64_C(1) << k;
	}
	if (ng != 0)
		mask[g] |= cur;
	for (g = 0; g < ng; g++) {
		uint64_t same = mask[g];
		uint64_t ctr = __atomic_fetch_add(&kp[g]->send_counter,
						  (uint64_t)__builtin_popcountll(same), __ATOMIC_RELAXED);
		uint32_t ri = kp[g]->remote_index;
		for (; same != 0; same &= same - 1) {
			uint16_t k = (uint16_t)__builtin_ctzll(same);
			/* The data header sits right before op.buf (to_peer). */
			struct ipop_data_hdr *h = (struct ipop_data_hdr *)
				(b->op[k].buf - IPOP_DATA_HDR_LEN);
			ipop_wire_data_hdr_type(h, b->type[k], ri, ctr);
			b->op[k].counter = ctr++;
		}
	}
}

/* A batch with flood ops (b->fab): each of them alone, right after its
 * fabric header's variable part went into the bytes it reads (the original's
 * header, shared by the flood's ops); the ops between them in runs. */
static void seal_fabric(struct ipop_dp_ctx *c, struct ipop_seal_batch *b)
{
	uint16_t from = 0;

	for (uint64_t f = b->fab; f != 0; f &= f - 1) {
		uint16_t k = (uint16_t)__builtin_ctzll(f);
		if (k > from)
			ipop_aead_seal_burst(c->aead, &b->op[from], k - from);
		memcpy(b->fab_to[k], b->fab_from[k], IPOP_FABRIC_VAR_LEN);
		ipop_aead_seal_burst(c->aead, &b->op[k], 1);
		from = (uint16_t)(k + 1);
	}
	if (from < b->n)
		ipop_aead_seal_burst(c->aead, &b->op[from], b->n - from);
}

/* The originals floods sealed from are read no more. */
static void release_held(struct ipop_seal_batch *b)
{
	rte_pktmbuf_free_bulk(b->held, b->n_held);
	b->n_held = 0;
}

void ipop_dp_seal_flush(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			struct ipop_seal_batch *b)
{
	if (b->n == 0) {
		if (unlikely(b->n_held != 0))
			release_held(b);
		return;
	}
	reserve_counters(b);
	if (likely(b->fab == 0))
		ipop_aead_seal_burst(c->aead, b->op, b->n);
	else
		seal_fabric(c, b);
	for (uint16_t i = 0; i < b->n; i++) {
		struct rte_mbuf *m = b->m[i];
		struct ipop_peer_counters *pc = &c->st->peer[b->slot[i]];
		if (unlikely(b->op[i].counter >= IPOP_REJECT_AFTER_MESSAGES)) {
			ipop_dp_drop(c, m, IPOP_DROP_NO_SESSION);   /* used up: must rekey */
			continue;
		}
		if (unlikely(b->op[i].status != 0)) {
			ipop_dp_drop(c, m, IPOP_DROP_SEAL_FAILED);
			continue;
		}
		pc->tx_packets++;
		pc->tx_bytes += ipop_wire_frame_bytes(b->type[i], b->op[i].len);
		c->st->encrypted++;
		/* to_peer checked the headroom for the outer header too. */
		encap_out(c, t, b->peer[i], m);
	}
	b->n = 0;
	b->fab = 0;
	if (b->n_held != 0)
		release_held(b);
}

/* The slow way to add the data header and the tag: a chain (only a flood copy
 * into a pool with small buffers can be one here; local_one() linearises or
 * fragments everything else) must become one segment, since the AEAD works on
 * contiguous bytes; a single segment short of room fails as before. Returns
 * false if m was dropped. */
static bool grow_slow(struct ipop_dp_ctx *c, struct rte_mbuf *m)
{
	if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
		ipop_dp_drop(c, m, IPOP_DROP_MULTISEG);
		return false;
	}
	if (rte_pktmbuf_headroom(m) < IPOP_DATA_HDR_LEN + IPOP_OUTER_HDR_LEN ||
	    rte_pktmbuf_prepend(m, IPOP_DATA_HDR_LEN) == NULL ||
	    rte_pktmbuf_append(m, IPOP_TAG_LEN) == NULL) {
		ipop_dp_drop(c, m, IPOP_DROP_NOMEM);
		return false;
	}
	return true;
}

/* Queue one message body (owned: a frame, or a fabric header and a frame) for
 * peer slot, to be sealed as a message of this type. Returns its index in the
 * batch, or -1 if m was dropped. The caller flushes a full batch. */
static __rte_always_inline int seal_add(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
					struct ipop_seal_batch *b, struct rte_mbuf *m,
					uint16_t slot, uint8_t type)
{
	const struct ipop_fp_peer *p = &t->peers[slot];
	struct ipop_keypair *kp = p->tx;
	uint32_t len = rte_pktmbuf_pkt_len(m);

	if (unlikely(kp == NULL || c->now_tsc > kp->expire_tsc)) {
		ipop_dp_drop(c, m, IPOP_DROP_NO_SESSION);
		return -1;
	}
	if (unlikely(!p->nh_valid)) {
		ipop_dp_drop(c, m, IPOP_DROP_NO_NEXTHOP);
		return -1;
	}
	/* One room check for everything the packet grows by on the way out: data
	 * header and outer header in front, tag behind; then set the lengths
	 * directly (rte_pktmbuf_prepend + rte_pktmbuf_append, which walks to the
	 * last segment, + rte_pktmbuf_prepend again did three checks). */
	uint16_t off = m->data_off;
	if (likely(m->nb_segs == 1 && off >= IPOP_DATA_HDR_LEN + IPOP_OUTER_HDR_LEN &&
		   (uint32_t)off + m->data_len + IPOP_TAG_LEN <= m->buf_len)) {
		m->data_off = (uint16_t)(off - IPOP_DATA_HDR_LEN);
		m->data_len = (uint16_t)(m->data_len + IPOP_DATA_OVERHEAD);
		m->pkt_len += IPOP_DATA_OVERHEAD;
	} else if (!grow_slow(c, m)) {
		return -1;
	}
	uint8_t *hdr = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t i = b->n++;
	b->m[i] = m;
	b->peer[i] = p;
	b->kp[i] = kp;
	b->slot[i] = slot;
	b->type[i] = type;
	b->op[i] = (struct ipop_aead_op){
		.key = &kp->send_key, .buf = hdr + IPOP_DATA_HDR_LEN, .len = len,
		.aad = hdr, .tag = hdr + IPOP_DATA_HDR_LEN + len,
	};
	return i;
}

void ipop_dp_seal_to(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		     struct ipop_seal_batch *b, struct rte_mbuf *m, uint16_t slot, uint8_t type)
{
	seal_add(c, t, b, m, slot, type);
	if (b->n == IPOP_DP_BATCH)
		ipop_dp_seal_flush(c, t, b);
}

static void to_peer(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		    struct ipop_seal_batch *b, struct rte_mbuf *m, uint16_t slot)
{
	ipop_dp_seal_to(c, t, b, m, slot, IPOP_MSG_DATA);
}

_Static_assert(IPOP_FABRIC_VAR_OFF == offsetof(struct ipop_fabric_hdr, bound) &&
	       IPOP_FABRIC_VAR_LEN == IPOP_FABRIC_HDR_LEN - IPOP_FABRIC_VAR_OFF,
	       "a flood's copies differ from bound to the end of the fabric header");

/* The variable part of a flood copy's fabric header, at v. */
static inline void fabric_var(uint8_t *v, struct ipop_node_id bound, uint8_t hops)
{
	uint8_t tail[4] = { hops, 0, 0, 0 };

	ipop_node_id_to_bytes(bound, v);
	memcpy(v + 16, tail, 4);
}

/* One next hop the way that works for any tunnel and any mbuf: a whole copy
 * of m (or m itself, take), its header rewritten, sealed in place. */
static void flood_copy(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		       struct ipop_seal_batch *b, struct rte_mbuf *m, const struct ipop_flood_fwd *f,
		       uint8_t hops, bool take)
{
	struct rte_mbuf *x = take ? m : rte_pktmbuf_copy(m, c->pool, 0, UINT32_MAX);

	if (x == NULL) {
		c->st->drops[IPOP_DROP_NOMEM]++;
		return;
	}
	fabric_var(rte_pktmbuf_mtod_offset(x, uint8_t *, IPOP_FABRIC_VAR_OFF), f->bound, hops);
	c->st->flood_tx++;
	ipop_dp_seal_to(c, t, b, x, t->adj_slot[f->nbr], IPOP_MSG_FLOOD);
}

/* Op k (just added) reads the header bytes at to, which must hold the
 * variable part at from when it is sealed. */
static inline void fabric_op(struct ipop_seal_batch *b, int k, uint8_t *to, const uint8_t *from)
{
	b->fab_to[k] = to;
	b->fab_from[k] = from;
	b->fab |= UINT64_C(1) << k;
}

/* One more reference on m, which only this lcore holds (refcnt 1: a plain
 * store, as DPDK's own free path does), or which a queue may hold too. */
static inline void hold_ref(struct rte_mbuf *m)
{
	if (likely(rte_mbuf_refcnt_read(m) == 1))
		rte_mbuf_refcnt_set(m, 2);
	else
		rte_mbuf_refcnt_update(m, 1);
}

/* After the last op reading m was added: its extra reference goes with the
 * batch (dropped after the flush that seals those ops), or now if a flush
 * already sealed them all. */
static void hold_until_flush(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			     struct ipop_seal_batch *b, struct rte_mbuf *m)
{
	if (b->n != 0 && b->n_held == IPOP_DP_BATCH)
		ipop_dp_seal_flush(c, t, b);
	if (b->n == 0) {
		rte_pktmbuf_free(m);
		return;
	}
	b->held[b->n_held++] = m;
}

/* Copies sealed out of m (see struct ipop_seal_batch): ncopy bare mbufs
 * (bare, allocated), each holding only its header's variable part until the
 * seal writes the ciphertext over it; with !keep, m itself last, in place.
 * A tunnel with another cipher (whose ops are sealed in groups, not one at a
 * time) gets a whole copy. */
static void flood_sealed_from(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			      struct ipop_seal_batch *b, struct rte_mbuf *m,
			      const struct ipop_flood_fwd *fwd, unsigned n, uint8_t hops, bool keep,
			      struct rte_mbuf **bare, unsigned ncopy)
{
	uint8_t *src = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *var = src + IPOP_FABRIC_VAR_OFF;
	uint32_t len = rte_pktmbuf_pkt_len(m);
	unsigned used = 0;

	hold_ref(m);
	for (unsigned i = 0; i < ncopy; i++) {
		uint16_t slot = t->adj_slot[fwd[i].nbr];
		const struct ipop_keypair *kp = t->peers[slot].tx;
		if (unlikely(kp != NULL && kp->send_key.cipher != IPOP_CIPHER_AES256GCM)) {
			flood_copy(c, t, b, m, &fwd[i], hops, false);
			continue;
		}
		struct rte_mbuf *x = bare[used++];
		x->data_len = (uint16_t)len;
		x->pkt_len = len;
		uint8_t *v = rte_pktmbuf_mtod_offset(x, uint8_t *, IPOP_FABRIC_VAR_OFF);
		fabric_var(v, fwd[i].bound, hops);
		c->st->flood_tx++;
		int k = seal_add(c, t, b, x, slot, IPOP_MSG_FLOOD);
		if (k >= 0) {
			b->op[k].src = src;
			fabric_op(b, k, var, v);
		}
		if (b->n == IPOP_DP_BATCH)
			ipop_dp_seal_flush(c, t, b);
	}
	if (used < ncopy)
		rte_pktmbuf_free_bulk(bare + used, ncopy - used);
	if (!keep) {
		fabric_var(var, fwd[n - 1].bound, hops);
		c->st->flood_tx++;
		int k = seal_add(c, t, b, m, t->adj_slot[fwd[n - 1].nbr], IPOP_MSG_FLOOD);
		if (k >= 0) {
			memcpy(b->fab_stash[k], var, IPOP_FABRIC_VAR_LEN);
			fabric_op(b, k, var, b->fab_stash[k]);
		}
		if (b->n == IPOP_DP_BATCH)
			ipop_dp_seal_flush(c, t, b);
	}
	hold_until_flush(c, t, b, m);
}

unsigned ipop_dp_flood_out(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			   struct ipop_seal_batch *b, struct rte_mbuf *m,
			   const struct ipop_node_id *bound, uint8_t hops, bool keep)
{
	struct ipop_flood_fwd relay[IPOP_MAX_PEERS];
	struct rte_mbuf *bare[IPOP_MAX_PEERS];
	const struct ipop_flood_fwd *fwd = t->orig_fwd;
	int n = t->n_orig;

	if (bound != NULL) {
		n = ipop_flood_next_hops(t->self_id, t->adj_id, t->n_adj, bound, relay,
					 IPOP_MAX_PEERS);
		fwd = relay;
	}
	if (n <= 0) {
		/* A leaf of the flood: nothing further. (n < 0: an adjacency not
		 * in order, which the table builder never publishes.) */
		if (n < 0)
			c->st->drops[IPOP_DROP_NO_FLOOD_TARGET]++;
		if (!keep)
			rte_pktmbuf_free(m);
		return 0;
	}
	unsigned ncopy = keep ? (unsigned)n : (unsigned)n - 1;
	/* Out of place needs m in one piece and each copy in one buffer; else
	 * (or with the pool empty) copy by copy, each failure counted. */
	if (ncopy > 0 && likely(m->nb_segs == 1) &&
	    rte_pktmbuf_data_room_size(c->pool) >=
	    RTE_PKTMBUF_HEADROOM + rte_pktmbuf_pkt_len(m) + IPOP_TAG_LEN &&
	    rte_pktmbuf_alloc_bulk(c->pool, bare, ncopy) == 0) {
		flood_sealed_from(c, t, b, m, fwd, (unsigned)n, hops, keep, bare, ncopy);
		return (unsigned)n;
	}
	for (int i = 0; i < n; i++)
		flood_copy(c, t, b, m, &fwd[i], hops, !keep && i + 1 == n);
	return (unsigned)n;
}

static void flood(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		  struct local_batch *lb, struct rte_mbuf *m, uint16_t in_loc);

int ipop_dp_transit_out(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			struct ipop_seal_batch *b, struct rte_mbuf *m, unsigned g, uint8_t hops,
			uint16_t not_via)
{
	uint16_t nbr = t->gw[g].peer;

	/* A direct tunnel first; else the learnt route. */
	if (nbr == IPOP_GW_NO_PEER || t->peers[nbr].tx == NULL)
		nbr = c->routes ? ipop_routes_lookup(c->routes, g, c->now_s) : IPOP_GW_NO_PEER;
	if (nbr >= t->n_peers || t->peers[nbr].tx == NULL)
		return -ENOENT;
	if (nbr == not_via)
		return -ELOOP;
	rte_pktmbuf_mtod(m, struct ipop_fabric_hdr *)->hops = hops;
	ipop_dp_seal_to(c, t, b, m, nbr, IPOP_MSG_TRANSIT);
	return 0;
}

/* Unicast for a MAC behind gateway slot g: by the direct tunnel if there is
 * one, else as a transit frame through the neighbour the route names; with
 * neither, flooded (the flood reaches it, and its answer teaches the route). */
static void to_gateway(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		       struct local_batch *b, struct rte_mbuf *m, unsigned g, uint16_t in_loc)
{
	const struct ipop_fp_gw *gw = &t->gw[g];

	if (gw->used && gw->peer != IPOP_GW_NO_PEER && t->peers[gw->peer].tx != NULL) {
		to_peer(c, t, &b->s, m, gw->peer);
		return;
	}
	struct ipop_fabric_hdr *h = gw->used ? (struct ipop_fabric_hdr *)
		rte_pktmbuf_prepend(m, IPOP_FABRIC_HDR_LEN) : NULL;
	if (h != NULL) {
		memset(h, 0, sizeof(*h));
		ipop_node_id_to_bytes(t->self_id, h->origin);
		ipop_node_id_to_bytes(gw->id, h->bound);
		uint32_t frame = rte_pktmbuf_pkt_len(m) - IPOP_FABRIC_HDR_LEN;
		if (ipop_dp_transit_out(c, t, &b->s, m, g, 0, IPOP_GW_NO_PEER) == 0) {
			c->st->transit_tx++;
			c->st->transit_bytes[g] += frame;
			return;
		}
		rte_pktmbuf_adj(m, IPOP_FABRIC_HDR_LEN);
	}
	c->st->transit_route_miss++;
	flood(c, t, b, m, in_loc);
}

/* Originate a Bounded Flood of frame m: a fabric header in front, then a
 * copy to each neighbour with its share of the ring. keep: m stays the
 * caller's, its header taken off again (the copies are sealed out of it).
 * Returns 0, or -ENOSPC when m has no headroom for the header: nothing was
 * sent and m is still the caller's. */
static int flood_originate(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			   struct ipop_seal_batch *b, struct rte_mbuf *m, bool keep)
{
	struct ipop_fabric_hdr *h = (struct ipop_fabric_hdr *)
		rte_pktmbuf_prepend(m, IPOP_FABRIC_HDR_LEN);

	if (h == NULL)
		return -ENOSPC;
	memset(h, 0, sizeof(*h));
	ipop_node_id_to_bytes(t->self_id, h->origin);
	ipop_dp_flood_out(c, t, b, m, NULL, 0, keep);
	if (keep)
		rte_pktmbuf_adj(m, IPOP_FABRIC_HDR_LEN);
	return 0;
}

/* Deliver a frame to every flood target: a Bounded Flood over the ring's
 * adjacency, and the other local port. The local port takes the original,
 * which the flood's copies are sealed from (a whole copy to flood only when
 * the original has no headroom for the fabric header). */
static void flood(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		  struct local_batch *lb, struct rte_mbuf *m, uint16_t in_loc)
{
	struct ipop_pktq *local = in_loc == IPOP_LOC_LAN ? c->q_host : c->q_lan;

	if (t->n_adj == 0 && local == NULL) {
		ipop_dp_drop(c, m, IPOP_DROP_NO_FLOOD_TARGET);
		return;
	}
	c->st->flooded++;
	if (t->n_adj > 0 && local == NULL) {
		if (flood_originate(c, t, &lb->s, m, false) != 0)
			ipop_dp_drop(c, m, IPOP_DROP_NOMEM);
		return;
	}
	if (t->n_adj > 0 && flood_originate(c, t, &lb->s, m, true) != 0) {
		struct rte_mbuf *x = rte_pktmbuf_copy(m, c->pool, 0, UINT32_MAX);
		if (x == NULL)
			c->st->drops[IPOP_DROP_NOMEM]++;
		else if (flood_originate(c, t, &lb->s, x, false) != 0)
			ipop_dp_drop(c, x, IPOP_DROP_NOMEM);
	}
	ipop_pktq_put(local, m);
}

/* After learning: deliver one frame by its destination MAC. */
static void forward_local(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			  struct local_batch *b, struct rte_mbuf *m, uint16_t in_loc)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	if (rte_is_multicast_ether_addr(&eth->dst_addr)) {
		flood(c, t, b, m, in_loc);
		return;
	}
	uint16_t loc = ipop_bridge_burst_lookup(c->bridge, &b->bb, eth->dst_addr.addr_bytes,
						c->now_s);
	if (loc == in_loc) {
		ipop_dp_drop(c, m, IPOP_DROP_LAN_LOCAL);
	} else if (loc == IPOP_LOC_LAN && c->q_lan) {
		ipop_pktq_put(c->q_lan, m);
	} else if (loc == IPOP_LOC_HOST && c->q_host) {
		ipop_pktq_put(c->q_host, m);
	} else if (loc < IPOP_MAX_PEERS && loc < t->n_peers && t->peers[loc].tx != NULL) {
		to_peer(c, t, &b->s, m, loc);
	} else if (loc >= IPOP_LOC_GW_BASE && loc < IPOP_LOC_GW_BASE + IPOP_MAX_GATEWAYS) {
		to_gateway(c, t, b, m, loc - IPOP_LOC_GW_BASE, in_loc);
	} else {
		flood(c, t, b, m, in_loc);
	}
}

/* An IPv4 packet without DF that does not fit the overlay (or that a kernel
 * reassembled for us, as af_packet's fanout does) is fragmented here, at the
 * overlay's edge, exactly as a router would; the fragments then fit the
 * underlay without outer fragmentation. Returns true if m was consumed. */
static bool inner_fragment(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			   struct local_batch *b, struct rte_mbuf *m, uint16_t in_loc)
{
	struct rte_ether_hdr eh = *rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint32_t len = rte_pktmbuf_pkt_len(m);
	uint16_t inner_mtu = (uint16_t)(t->wan_mtu - IPOP_IP_OVERHEAD - RTE_ETHER_HDR_LEN);

	if (eh.ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    len <= (uint32_t)inner_mtu + RTE_ETHER_HDR_LEN)
		return false;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								RTE_ETHER_HDR_LEN);
	if (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_DF_FLAG)
		return false;
	struct rte_mbuf *frags[64];
	rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN);
	int nf = rte_ipv4_fragment_packet(m, frags, RTE_DIM(frags), inner_mtu,
					  c->pool, c->indirect_pool);
	rte_pktmbuf_free(m);
	if (nf < 0) {
		c->st->drops[nf == -ENOMEM ? IPOP_DROP_NOMEM : IPOP_DROP_FRAG]++;
		return true;
	}
	for (int i = 0; i < nf; i++) {
		struct rte_mbuf *f = frags[i];
		if (rte_pktmbuf_linearize(f) != 0) {
			ipop_dp_drop(c, f, IPOP_DROP_MULTISEG);
			continue;
		}
		struct rte_ether_hdr *e = (struct rte_ether_hdr *)rte_pktmbuf_prepend(f, RTE_ETHER_HDR_LEN);
		if (e == NULL) {
			ipop_dp_drop(c, f, IPOP_DROP_NOMEM);
			continue;
		}
		*e = eh;
		struct rte_ipv4_hdr *fip = (struct rte_ipv4_hdr *)(e + 1);
		fip->hdr_checksum = 0;
		fip->hdr_checksum = rte_ipv4_cksum(fip);
		c->st->frag_inner++;
		forward_local(c, t, b, f, in_loc);
	}
	return true;
}

static void local_one(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		      struct local_batch *b, struct rte_mbuf *m, uint16_t in_loc)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	/* A chain too long for one mbuf (a jumbo frame, or a packet the kernel
	 * reassembled) can still leave as inner fragments, which accept chains;
	 * everything below needs the Ethernet and IPv4 headers in the first segment. */
	bool chained = unlikely(m->nb_segs > 1) && rte_pktmbuf_linearize(m) != 0;

	if (unlikely(chained && m->data_len < RTE_ETHER_HDR_LEN + IPOP_MAX_IPV4_HDR)) {
		ipop_dp_drop(c, m, IPOP_DROP_MULTISEG);
		return;
	}
	if (unlikely(len < RTE_ETHER_HDR_LEN)) {
		ipop_dp_drop(c, m, IPOP_DROP_INNER_SHORT);
		return;
	}
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (unlikely(!rte_is_valid_assigned_ether_addr(&eth->src_addr))) {
		ipop_dp_drop(c, m, IPOP_DROP_LAN_SRC);
		return;
	}
	if (ipop_bridge_burst_learn(c->bridge, &b->bb, eth->src_addr.addr_bytes, in_loc, c->now_s))
		c->st->learned++;
	if (unlikely(ipop_mac_link_local(eth->dst_addr.addr_bytes))) {
		ipop_dp_drop(c, m, IPOP_DROP_LAN_LINK_LOCAL);   /* for this link only */
		return;
	}
	if (t->mss_clamp && !chained)
		ipop_mss_clamp((uint8_t *)eth, len, t->mss_clamp);
	if (unlikely(len > (uint32_t)(t->wan_mtu - IPOP_IP_OVERHEAD)) && inner_fragment(c, t, b, m, in_loc))
		return;
	if (unlikely(chained)) {
		ipop_dp_drop(c, m, IPOP_DROP_MULTISEG);
		return;
	}
	if (unlikely(len > IPOP_MAX_INNER_FRAME)) {
		ipop_dp_drop(c, m, IPOP_DROP_TOO_BIG);
		return;
	}
	forward_local(c, t, b, m, in_loc);
}

/* The frame's first line and the line before it, where the data and outer
 * headers will be written (a frame at the default headroom starts on a line
 * boundary, so the headers land in a line nothing has touched since the mbuf
 * was last used). Three frames ahead: measured in docs/benchmarks.md, section 6. */
#define PREFETCH_AHEAD 3
static inline void prefetch_frame(struct rte_mbuf *m)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);

	rte_prefetch0(d);
	rte_prefetch0(d - RTE_CACHE_LINE_SIZE);
}

void ipop_dp_local_rx(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		      struct rte_mbuf **pkts, uint16_t n, uint16_t in_loc)
{
	struct local_batch b;

	b.s.n = 0;
	b.s.n_held = 0;
	b.s.fab = 0;
	ipop_bridge_burst_init(&b.bb, c->bridge, &c->mac_cache, c->now_s);
	for (uint16_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
		prefetch_frame(pkts[i]);
	for (uint16_t i = 0; i < n; i++) {
		if (i + PREFETCH_AHEAD < n)
			prefetch_frame(pkts[i + PREFETCH_AHEAD]);
		local_one(c, t, &b, pkts[i], in_loc);
	}
	ipop_dp_seal_flush(c, t, &b.s);
}

/* datapath.h - the two packet paths of a gateway, on bursts of mbufs.
 *
 *   local rx (LAN port or host TAP) -> learn, clamp MSS, bridge lookup,
 *       encrypt and encapsulate towards peers, or deliver to the other local port;
 *   WAN rx -> classify; handshakes and ARP to control; other host traffic to the
 *       kernel exception TAP; data: authenticate, replay check, learn, deliver;
 *       flood copies: also relay inside their bound; transit frames for another
 *       gateway: forward to the next neighbour (re-sealed, no control thread).
 *
 * Thread: fast path. One struct ipop_dp_ctx per lcore, owned by it, zeroed
 * before its fields are set (its bridge cache relies on that); the table
 * pointer passed in is an RCU-protected snapshot valid for the whole call.
 */
#ifndef IPOP_DATAPLANE_DATAPATH_H
#define IPOP_DATAPLANE_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_mbuf.h>

#include "dataplane/aead.h"
#include "dataplane/bridge.h"
#include "dataplane/hsmac.h"
#include "dataplane/pktq.h"
#include "dataplane/reasm.h"
#include "dataplane/routes.h"
#include "dataplane/stats.h"
#include "dataplane/tables.h"

#define IPOP_DP_BATCH 64

/* Learning from peers, rate limited per location (a peer slot, or a gateway
 * behind one) and lcore: at most IPOP_LEARN_PER_S table changes a second, so
 * a peer sending random source MACs cannot churn the table. Locations share
 * IPOP_LEARN_SLOTS budgets by their low bits. */
#define IPOP_LEARN_PER_S 128
#define IPOP_LEARN_SLOTS 1024
struct ipop_learn_budget {
	uint32_t sec, n;
};

/* The bytes of a fabric header that differ between the copies of one flood:
 * bound, hops, reserved (the origin is the same in all). */
#define IPOP_FABRIC_VAR_OFF 16
#define IPOP_FABRIC_VAR_LEN 20

/* Frames waiting to be sealed for peers with one IPsec-MB call: each with its
 * peer, the message type its header gets, and the AEAD operation.
 *
 * A flood seals one frame for several neighbours (ipop_dp_flood_out): each
 * copy's op reads the frame in the original mbuf (op.src) and writes into a
 * bare mbuf of its own; the original itself may be the last op, in place.
 * Their fabric headers differ, so the ops of a flood share the original's
 * header bytes: an op with bit i in `fab` gets its variable part written
 * there (fab_to[i], from fab_from[i]) right before it is sealed, ops being
 * sealed one at a time in batch order. `held`: references on originals that
 * ops still read, dropped at the end of the next flush. Written and read by
 * the owning lcore only. */
struct ipop_seal_batch {
	uint16_t n;
	uint16_t n_held;
	uint64_t fab;
	struct rte_mbuf *m[IPOP_DP_BATCH];
	const struct ipop_fp_peer *peer[IPOP_DP_BATCH];
	struct ipop_keypair *kp[IPOP_DP_BATCH];      /* peer's tx session, read once */
	uint16_t slot[IPOP_DP_BATCH];
	uint8_t type[IPOP_DP_BATCH];
	struct ipop_aead_op op[IPOP_DP_BATCH] __rte_cache_aligned;   /* an op per line */
	uint8_t *fab_to[IPOP_DP_BATCH];
	const uint8_t *fab_from[IPOP_DP_BATCH];
	uint8_t fab_stash[IPOP_DP_BATCH][IPOP_FABRIC_VAR_LEN];
	struct rte_mbuf *held[IPOP_DP_BATCH];
};

struct ipop_dp_ctx {
	struct ipop_aead_mgr *aead;
	struct ipop_bridge *bridge;          /* shared, lock-free */
	struct ipop_routes *routes;          /* shared, lock-free; NULL: no transit */
	struct ipop_lcore_stats *st;         /* this lcore's */
	struct rte_mempool *pool;            /* copies and fragment headers */
	struct rte_mempool *indirect_pool;   /* fragment payload references */
	struct ipop_reasm reasm;             /* this lcore's outer reassembly */
	uint64_t now_tsc;                    /* set by the caller per burst */
	uint32_t now_s;
	uint16_t ip_id;
	/* Outputs; lan/host are NULL when that port does not exist. */
	struct ipop_pktq *q_wan, *q_lan, *q_host, *q_exc, *q_ctrl;
	struct ipop_mac_cache mac_cache;     /* this lcore's answers of the bridge */
	struct ipop_seal_batch relay;        /* flood copies the WAN path relays */
	struct ipop_learn_budget learn_budget[IPOP_LEARN_SLOTS];   /* zeroed at start */
	/* Directory slots found last (ipop_fp_gw_find_hinted): a transit
	 * frame's destination, a fabric frame's origin. */
	uint16_t gw_hint_dst, gw_hint_origin;
	/* STUN copies to control this second (ipop_dp_stun_copy_to_ctrl). */
	uint32_t stun_copy_s, stun_copy_n;
	/* Unproven initiations under load this worker may still queue to
	 * control in the interval that began at hs_budget_at (now_tsc units;
	 * the table's hs_budget_*). */
	uint64_t hs_budget_at;
	uint16_t hs_left_known, hs_left_other;
};

/* Frames that entered on a local port: in_loc is IPOP_LOC_LAN or IPOP_LOC_HOST. */
void ipop_dp_local_rx(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		      struct rte_mbuf **pkts, uint16_t n, uint16_t in_loc);

/* Frames that entered on the WAN port. */
void ipop_dp_wan_rx(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		    struct rte_mbuf **pkts, uint16_t n);

/* Clamp the MSS option of an IPv4 TCP SYN in an Ethernet frame to mss (fixing
 * the checksum incrementally). Returns 1 if changed, 0 if not applicable. */
int ipop_mss_clamp(uint8_t *frame, uint32_t len, uint16_t mss);

/* Queue m (owned; a fabric header and a frame) for peer slot as a sealed
 * message of this type; sealed when the batch fills or at ipop_dp_seal_flush. */
void ipop_dp_seal_to(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		     struct ipop_seal_batch *b, struct rte_mbuf *m, uint16_t slot, uint8_t type);
void ipop_dp_seal_flush(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			struct ipop_seal_batch *b);
/* Send a Bounded Flood copy of the frame m (starting with its fabric header,
 * whose origin is set) to every neighbour inside (self, bound): bound NULL
 * originates (the whole ring). hops is written into each copy. keep: m stays
 * the caller's (every neighbour gets a copy); else m is taken (the last
 * neighbour gets it, or it is freed). The copies of an AES-GCM tunnel are
 * sealed out of m: until b's next flush m holds an extra reference, and its
 * bytes (fabric header and frame) must not change; the caller may free or
 * queue m. Returns the number of next hops. */
/* Queue frame m (a fabric header with origin and destination in front) for
 * gateway slot g as a transit message with this hop count: to its direct
 * tunnel if it has one, else to the neighbour its route names. 0: queued (m
 * taken); -ENOENT: no usable tunnel or route; -ELOOP: the next hop would be
 * peer slot not_via (where the frame came from). On error m is still the
 * caller's. */
int ipop_dp_transit_out(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			struct ipop_seal_batch *b, struct rte_mbuf *m, unsigned g, uint8_t hops,
			uint16_t not_via);
unsigned ipop_dp_flood_out(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
			   struct ipop_seal_batch *b, struct rte_mbuf *m,
			   const struct ipop_node_id *bound, uint8_t hops, bool keep);

/* Build the outer Ethernet/IPv4/UDP headers in front of an ipop message that
 * starts at the mbuf's data pointer, then queue it on q_wan (fragmenting when it
 * exceeds the underlay MTU). Used for data and by the control thread's messages. */
void ipop_dp_encap_out(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		       const struct ipop_fp_peer *p, struct rte_mbuf *m);

static inline void ipop_dp_drop(struct ipop_dp_ctx *c, struct rte_mbuf *m, enum ipop_drop why)
{
	c->st->drops[why]++;
	rte_pktmbuf_free(m);
}

#endif

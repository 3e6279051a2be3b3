/* tables.h - the tables the control thread publishes to the fast path.
 *
 * Ownership and protection:
 *  - struct ipop_fp_table is an immutable snapshot. The control thread builds a new
 *    one, publishes it with a release store of the global pointer, and frees the
 *    old one only after every worker lcore has passed a quiescent state
 *    (rte_rcu_qsbr). Lcores load the pointer once per burst (acquire) and never
 *    keep it across a quiescent-state report.
 *  - struct ipop_keypair is created by control (key material, indices: immutable
 *    after publication) and freed, after being unpublished, through the same RCU
 *    grace period. Its mutable fast-path fields are grouped by writer:
 *      send_counter  - any tx lcore, atomic fetch-add once per burst per session;
 *      replay, rx_*  - the single lcore that receives this session (RSS keeps one
 *                      underlay 5-tuple on one queue); control only reads rx_*.
 *  - Peer counters live in per-lcore stats (stats.h), not here.
 */
#ifndef IPOP_DATAPLANE_TABLES_H
#define IPOP_DATAPLANE_TABLES_H

#include <stddef.h>
#include <stdint.h>
#include <rte_ether.h>

#include "dataplane/aead.h"
#include "dataplane/bridge.h"
#include "dataplane/flood.h"
#include "dataplane/hsmac.h"
#include "dataplane/replay.h"
#include "dataplane/ring.h"
#include "dataplane/stats.h"

#define IPOP_INDEX_BITS   12
#define IPOP_MAX_KEYPAIRS (1u << IPOP_INDEX_BITS)   /* live sessions of a node */
#define IPOP_INDEX_MASK   (IPOP_MAX_KEYPAIRS - 1)

/* One session. Allocated as sizeof(struct ipop_keypair) + the send key's
 * storage + the receive key's storage (ipop_aead_key_size() of each cipher for
 * the node's IPsec-MB code path), 64-byte aligned; key_store holds the send
 * key's material, then the receive key's. The handles, which every packet
 * reads, sit in the first cache line next to the indices and the expiry. */
struct ipop_keypair {
	/* Immutable after publication. */
	struct ipop_aead_key send_key;    /* material in key_store[] */
	struct ipop_aead_key recv_key;
	uint32_t local_index;     /* wire order; low IPOP_INDEX_BITS = by_index slot */
	uint32_t remote_index;    /* wire order; goes into our data headers */
	uint16_t peer_slot;
	uint8_t initiator;        /* 1 if we initiated the handshake */
	uint64_t created_tsc;
	uint64_t expire_tsc;      /* reject-after time: rx and tx stop using it after */

	/* Written by tx lcores (and control's keepalives): one fetch-add per burst. */
	uint64_t send_counter __attribute__((aligned(64)));

	/* Written only by the receiving lcore. */
	struct ipop_replay replay __attribute__((aligned(64)));
	uint64_t rx_last_tsc;     /* last authenticated packet */
	uint8_t rx_confirmed;     /* set on the first authenticated packet */

	/* Expanded keys, immutable after publication (see above). */
	uint8_t key_store[] __attribute__((aligned(IPOP_AEAD_KEY_ALIGN)));
} __attribute__((aligned(64)));
_Static_assert(offsetof(struct ipop_keypair, send_counter) == 64,
	       "everything a packet reads besides counter and window: one cache line");
_Static_assert(sizeof(struct ipop_keypair) == 704 &&
	       offsetof(struct ipop_keypair, key_store) == sizeof(struct ipop_keypair),
	       "fixed part of a keypair (docs/crypto.md), keys right after it");

/* Fast-path view of one peer. The first cache line holds all the send path
 * reads per packet (tx, nh_valid, the header template); 128 bytes per slot. */
struct ipop_fp_peer {
	/* Outer Ethernet/IPv4/UDP header (IPOP_OUTER_HDR_LEN = 42 bytes) towards
	 * this peer, with IPv4 total length, packet id, checksum and UDP length 0,
	 * and the folded ones'-complement sum of its IPv4 header: built by
	 * ipop_encap_template() (encap.h) from the table's wan_mac/wan_ip/wan_port
	 * and nh_mac/ip/port below, whenever the table is built
	 * (ipop_table_publish, control/fib/table.c). hdr_ok IPOP_HDR_NONE: not
	 * built, the fast path writes the header field by field from those fields
	 * instead; IPOP_HDR_TURN: the template is towards our TURN server (ip and
	 * port are the server's) and a ChannelData header with channel chan goes
	 * between it and the ipop message (a relayed pair, docs/wire-format.md). */
	uint8_t hdr[42];
	uint8_t hdr_ok;
	uint8_t nh_valid;
	uint16_t hdr_sum;
	uint16_t port;                    /* underlay UDP port, network order */
	struct ipop_keypair *tx;          /* session to send with; NULL: none */
	uint32_t ip;                      /* underlay address, network order */
	uint8_t up;                       /* session and next hop: in the adjacency */
	uint16_t chan;                    /* IPOP_HDR_TURN: TURN channel, network order */
	struct rte_ether_addr nh_mac;     /* next-hop MAC towards ip */
	struct ipop_node_id id;           /* the peer's ring ID (BLAKE2b-128 of its key) */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct ipop_fp_peer) == 128, "two cache lines per peer slot");

/* hdr_ok values: how the send path writes a peer's outer headers. */
#define IPOP_HDR_NONE     0
#define IPOP_HDR_TEMPLATE 1
#define IPOP_HDR_TURN     2

/* The ICE agents' ports: wan_port + 1 .. + IPOP_FP_ICE_PORTS (control checks it
 * equals its configuration's count). */
#define IPOP_FP_ICE_PORTS 64

/* A TURN channel ChannelData may arrive on, for the agent port wan_port + i
 * (relay_rx[i]): from our TURN server (ip, port: network order) with channel
 * chan (network order); chan 0: none on that port. */
struct ipop_fp_relay {
	uint32_t srv_ip;
	uint16_t srv_port;
	uint16_t chan;
};

/* The gateway directory: every gateway of the overlay this node knows by node
 * ID (the online signalled members), in slots that stay put while the member
 * does (control/fib/gateways.c), so a MAC learnt behind gateway slot g keeps
 * meaning that gateway: its bridge location is IPOP_LOC_GW_BASE + g. */
#define IPOP_MAX_GATEWAYS 4096
#define IPOP_LOC_GW_BASE  0x8000u
#define IPOP_GW_NO_PEER   0xFFFFu
_Static_assert(IPOP_MAX_GATEWAYS == IPOP_MAX_GATEWAYS_STATS, "per-gateway counters, one per slot");

struct ipop_fp_gw {
	struct ipop_node_id id;
	uint16_t peer;            /* the peer slot of a direct tunnel to it, else IPOP_GW_NO_PEER */
	uint8_t used;
	uint8_t pad[5];
};

struct ipop_fp_table {
	uint64_t version;
	/* Local underlay identity. */
	uint32_t wan_ip;                  /* network order */
	uint16_t wan_port;                /* network order */
	/* Tunnel messages are taken on wan.port and the next wan_port_span ports
	 * (the ICE agents', with ice { }; 0 without): host order. */
	uint16_t wan_port_span;
	struct rte_ether_addr wan_mac;
	uint16_t wan_mtu;                 /* underlay IP MTU */
	uint16_t mss_clamp;               /* max TCP MSS for inner IPv4 SYNs; 0 = off */
	uint64_t tsc_hz;
	/* mac1_key keys mac1 of the handshakes sent to us: BLAKE2b-256("mac1----"
	 * || our static public key), derived once by control. With mac1_set the
	 * workers drop an initiation or response whose mac1 does not verify
	 * (dataplane/hsmac.h, IPOP_DROP_HS_MAC1) instead of queueing it to
	 * control; without it (a table built by a test) they queue it and
	 * control checks. Not a secret: anyone with our public key derives it. */
	uint8_t mac1_key[32];
	uint8_t mac1_set;
	/* Under load (docs/handshake.md, "mac2 in the workers"): written by
	 * control into a table it then publishes like any other (immutable
	 * afterwards, RCU as above), when the node comes under load, every
	 * IPOP_CTRL_LOAD_HOLD_MS / 2 while it stays there, and when its cookie
	 * secret is redrawn. While now_tsc < hs_load_until_tsc (and cookie_set),
	 * a worker checks mac2 of every initiation with cookie_secret
	 * (dataplane/hsmac.h), before mac1: one with a valid mac2 (and mac1)
	 * goes to control; one without goes only within the worker's budget of
	 * hs_budget_known (from a peer's endpoint, known_ip) or hs_budget_other
	 * (any other source) per hs_budget_tsc, the rest are dropped
	 * (IPOP_DROP_HS_UNPROVEN). The budgets are control's cookie replies a
	 * tick shared out over the workers, so what crosses the ring is what
	 * control can answer. After hs_load_until_tsc the workers stop by
	 * themselves, without a new table.
	 * cookie_secret is a secret (it makes every cookie): only in tables
	 * built while the node is under load, never logged or counted, and
	 * wiped when the table is freed (control/fib/publish.c). */
	uint64_t hs_load_until_tsc;
	uint64_t hs_budget_tsc;
	uint16_t hs_budget_known, hs_budget_other;
	uint8_t cookie_set;
	uint8_t cookie_secret[IPOP_HSMAC_SECRET_LEN];
	/* The peers' endpoint addresses (network order), sorted, n_known of
	 * them (ipop_fp_known_ip). */
	uint16_t n_known;
	uint32_t known_ip[IPOP_MAX_PEERS];
	/* TURN (ice.turn configured; else 0): the server, network order. The
	 * workers copy STUN between it and the agents' ports to control
	 * (dataplane/turn.h), and take ChannelData on the channels of relay_rx. */
	uint32_t turn_ip;
	uint16_t turn_port;
	struct ipop_fp_relay relay_rx[IPOP_FP_ICE_PORTS + 1];

	/* This node on the ring and its adjacency there: the peers that are up,
	 * in increasing node-ID order (adj_id strictly increasing, as
	 * ipop_flood_next_hops wants it; adj_slot[i] is adj_id[i]'s peer slot).
	 * Broadcast and unknown unicast go out as Bounded Flood copies over it. */
	struct ipop_node_id self_id;
	uint16_t n_adj;
	uint16_t adj_slot[IPOP_MAX_PEERS];
	struct ipop_node_id adj_id[IPOP_MAX_PEERS];
	/* The copies of a flood this node originates (bound: the whole ring),
	 * ipop_flood_next_hops over adj_id, computed with it: the same for
	 * every frame, so an originating lcore does not walk the adjacency per
	 * frame (35 cycles a frame at 8 neighbours, docs/benchmarks.md section
	 * 10). n_orig < 0: an adjacency out of order (never published). */
	int32_t n_orig;
	struct ipop_flood_fwd orig_fwd[IPOP_MAX_PEERS];

	uint16_t n_peers;                 /* slots in use are < n_peers */
	struct ipop_fp_peer peers[IPOP_MAX_PEERS];
	struct ipop_keypair *by_index[IPOP_MAX_KEYPAIRS];

	/* The directory (above): gw[] by slot (used set, id filled by the
	 * builder; peer by ipop_fp_table_gateways), and the used slots in
	 * increasing node-ID order for ipop_fp_gw_find. */
	uint16_t n_gw;
	uint16_t gw_sorted[IPOP_MAX_GATEWAYS];
	struct ipop_fp_gw gw[IPOP_MAX_GATEWAYS];
};
_Static_assert(IPOP_MAX_PEERS <= IPOP_LOC_GW_BASE &&
	       IPOP_LOC_GW_BASE + IPOP_MAX_GATEWAYS <= IPOP_LOC_PEER_MAX,
	       "peer slots, gateway locations and the bridge's special locations do not overlap");

/* Fill t->adj_id/adj_slot/n_adj from the peers that are up (peers[].id, .up,
 * n_peers and self_id set), and the originated flood's copies
 * (orig_fwd/n_orig) from them. Pure; tables.c. */
void ipop_fp_table_adjacency(struct ipop_fp_table *t);
/* Fill t->gw_sorted/n_gw from the used gw[] slots, and each one's peer: the
 * slot of a peer with that node ID (peers[] set). Pure; tables.c. */
void ipop_fp_table_gateways(struct ipop_fp_table *t);

/* The directory slot of the gateway with this node ID, or -1. Binary search:
 * ~12 comparisons at 4096 gateways, no allocation; any thread. */
static inline int ipop_fp_gw_find(const struct ipop_fp_table *t, struct ipop_node_id id)
{
	int lo = 0, hi = (int)t->n_gw - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		uint16_t g = t->gw_sorted[mid];
		int c = ipop_node_id_cmp(t->gw[g].id, id);
		if (c == 0)
			return g;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* ipop_fp_gw_find with a hint: *hint is the slot a previous call found (any
 * value at first). A transit stream names the same gateway frame after frame;
 * checking the hinted slot costs one line of the directory instead of a
 * search. The check makes any hint safe, stale or from another table: a used
 * slot holding this ID is the answer. *hint is updated on a find. */
static inline int ipop_fp_gw_find_hinted(const struct ipop_fp_table *t, struct ipop_node_id id,
					 uint16_t *hint)
{
	uint16_t h = *hint;

	if (h < IPOP_MAX_GATEWAYS && t->gw[h].used && ipop_node_id_eq(t->gw[h].id, id))
		return h;
	int g = ipop_fp_gw_find(t, id);
	if (g >= 0)
		*hint = (uint16_t)g;
	return g;
}

/* Whether ip (network order) is one of our peers' endpoints (t->known_ip):
 * binary search, ~10 comparisons at 1024 peers; any thread. */
static inline int ipop_fp_known_ip(const struct ipop_fp_table *t, uint32_t ip)
{
	int lo = 0, hi = (int)t->n_known - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		uint32_t v = t->known_ip[mid];
		if (v == ip)
			return 1;
		if (v < ip)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

/* Memory budget of issue 4: at most 2 KiB of fast-path state per tunnel: one
 * session with AES-256-GCM in both directions on the sse/avx code path (the
 * largest compact keys; avx2 needs 256 bytes less, ChaCha20-Poly1305 less
 * again), the fast-path peer and the tunnel's counters in two workers. AVX-512
 * keeps IPsec-MB's whole 1 KiB gcm_key_data per direction and exceeds it. */
_Static_assert(sizeof(struct ipop_keypair) + 2 * IPOP_AEAD_KEY_SIZE_GCM_SSE +
	       sizeof(struct ipop_fp_peer) + 2 * sizeof(struct ipop_peer_counters) <= 2048,
	       "fast-path state of one tunnel <= 2 KiB (docs/crypto.md)");

#endif

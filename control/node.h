/* node.h - the control thread's state of one gateway: identity, ports, workers,
 * peers and their sessions, next hops, counters.
 *
 * Thread: control. Everything here is owned and written by the control thread
 * alone; the fast path sees only what ipop_node_publish() copies into an
 * immutable struct ipop_fp_table, plus keypairs it shares by pointer (see
 * dataplane/tables.h for the rules on those).
 */
#ifndef IPOP_CONTROL_NODE_H
#define IPOP_CONTROL_NODE_H

#include <stdint.h>
#include <stdbool.h>
#include <glib.h>

#include "control/config.h"
#include "control/noise.h"
#include "control/publish.h"
#include "dataplane/wire.h"
#include "drivers/port.h"
#include "lcore/worker.h"

enum ipop_peer_state { IPOP_PEER_DOWN, IPOP_PEER_HANDSHAKE, IPOP_PEER_UP };

struct ipop_peer {
	uint16_t slot;
	char name[IPOP_CFG_NAME_LEN];
	uint8_t pub[32];
	uint8_t mac1_key[32];          /* keys mac1 of messages we send to this peer */
	uint32_t ip;                   /* underlay endpoint, network order; 0 unknown */
	uint16_t port;                 /* network order */
	int send_cipher;               /* the peer's rx preference */
	enum ipop_peer_state state;

	/* Sessions: current (we send with it), previous (still received), next
	 * (responder side, until the initiator's first packet confirms it). */
	struct ipop_keypair *cur, *prev, *next;

	/* Our handshake as initiator. */
	struct ipop_noise_hs hs;
	bool hs_active;
	uint32_t hs_index;             /* wire order */
	uint64_t hs_sent_ms, hs_next_ms;
	unsigned hs_attempts;

	uint8_t last_ts[IPOP_TIMESTAMP_LEN];   /* newest accepted initiation */
	bool have_ts;

	uint64_t rx_pkts_seen;         /* sum over workers at last check */
	/* The slot's counts when this peer took it: workers' per-slot counters
	 * are never reset (only their lcore writes them), so a reused slot
	 * starts with its last owner's numbers; ipop_peer_counters() subtracts. */
	struct ipop_peer_counters base;
	uint64_t last_rx_ms, last_keepalive_ms, up_since_ms;
	uint64_t handshakes, rekeys, hs_failures, deaths;
	char last_error[128];
};

/* Handshake and control-plane counters (control thread only). */
struct ipop_ctrl_stats {
	uint64_t hs_init_rx, hs_resp_rx, hs_init_tx, hs_resp_tx;
	uint64_t hs_bad_mac1, hs_bad_auth, hs_unknown_peer, hs_replayed, hs_bad_index;
	uint64_t hs_bad_payload, hs_no_nexthop, hs_no_index, hs_collisions;
	uint64_t hs_resp_dropped;      /* responses not sent: their publication failed */
	uint64_t keepalive_tx, arp_rx, arp_tx, ring_rx, ring_bad, tx_ring_full, tx_nomem;
	uint64_t tables_published;
};

struct ipop_neigh {
	uint32_t ip;                   /* network order */
	struct rte_ether_addr mac;
	bool valid;
	uint64_t last_req_ms, updated_ms;
};

#define IPOP_MAX_NEIGH 64
#define IPOP_PENDING_RESP 64   /* handshake responses held for one publication */

struct ipop_node {
	struct ipop_cfg *cfg;
	struct ipop_noise_keypair id;
	uint8_t mac1_self[32];         /* keys mac1 of messages sent to us */
	uint8_t prologue[128];
	size_t prologue_len;

	struct ipop_port lan, wan, exc, host;
	bool have_lan, have_host;
	struct rte_mempool *pool, *indirect_pool;
	struct ipop_shared sh;
	unsigned n_workers;
	struct ipop_worker *workers;   /* n_workers, cache aligned */
	struct ipop_aead_mgr *aead;    /* control's own, for keepalives and key set-up */
	struct ipop_publisher pub;
	uint64_t tsc_hz;
	uint64_t table_version;
	bool dirty;                    /* peers/sessions changed: republish */

	uint16_t n_peers;
	struct ipop_peer *peers[IPOP_MAX_PEERS];
	uint8_t index_used[IPOP_MAX_KEYPAIRS];   /* receiver-index slots in use */

	unsigned n_neigh;
	struct ipop_neigh neigh[IPOP_MAX_NEIGH];

	struct ipop_ctrl_stats cs;
	uint64_t start_ms;
	GMainLoop *loop;
	int api_fd;

	/* Keypairs unlinked from their peers but perhaps still in the published
	 * table: the next ipop_node_publish() hands them to RCU reclamation, so a
	 * burst of handshakes costs one publication, not one each. */
	struct ipop_retired *retiring;
	/* Handshake responses that wait for the publication making their session's
	 * index live (ipop_node_flush()). */
	unsigned n_pending_resp;
	struct ipop_pending_resp {
		uint32_t ip;                   /* network order */
		uint16_t port;                 /* network order */
		struct ipop_hs_resp msg;
	} pending_resp[IPOP_PENDING_RESP];

	/* Controller modules (signal { } configured); NULL otherwise. */
	struct ipop_fw *fw;
	struct ipop_module *mod_signal, *mod_linkmgr, *mod_topology;
};

uint64_t ipop_now_ms(void);

/* peer.c */
int ipop_node_add_peer(struct ipop_node *n, const struct ipop_cfg_peer *cp);
/* Reset (unpublish, then wipe after RCU) and remove the peer with key pub; its
 * slot becomes empty, other slots keep their numbers. */
int ipop_node_remove_peer(struct ipop_node *n, const uint8_t pub[32], const char *why);
struct ipop_peer *ipop_node_find_peer(struct ipop_node *n, const uint8_t pub[32]);
int ipop_node_publish(struct ipop_node *n);
/* Publish if anything changed, then send the queued handshake responses. Called
 * after each burst of control messages and on every tick. */
void ipop_node_flush(struct ipop_node *n);
/* Queue a handshake response until the next ipop_node_flush(). */
void ipop_node_queue_resp(struct ipop_node *n, uint32_t ip, uint16_t port,
			  const struct ipop_hs_resp *msg);
/* Create a keypair from handshake keys; returns NULL and sets *err on failure. */
struct ipop_keypair *ipop_keypair_new(struct ipop_node *n, struct ipop_peer *p,
				      const struct ipop_noise_session *keys,
				      uint32_t local_index, uint32_t remote_index,
				      bool initiator, int *err);
int ipop_index_alloc(struct ipop_node *n, uint32_t *wire_index);
void ipop_index_free(struct ipop_node *n, uint32_t wire_index);
/* Unpublish and free (after RCU) a keypair; pointer set to NULL. */
void ipop_keypair_retire(struct ipop_node *n, struct ipop_keypair **kp);
/* Drop every session of a peer (dead, or shutting down). */
void ipop_peer_reset(struct ipop_node *n, struct ipop_peer *p, const char *why);
/* Sum of a peer's counters over all workers. */
void ipop_peer_counters(const struct ipop_node *n, const struct ipop_peer *p,
			struct ipop_peer_counters *out);
const char *ipop_peer_state_name(enum ipop_peer_state s);

/* handshake.c */
void ipop_hs_handle(struct ipop_node *n, struct rte_mbuf *m);
void ipop_hs_timers(struct ipop_node *n, uint64_t now_ms);

/* neigh.c */
void ipop_neigh_handle_arp(struct ipop_node *n, struct rte_mbuf *m);
/* Next-hop MAC for an underlay destination; starts resolution if unknown. */
const struct ipop_neigh *ipop_neigh_lookup(struct ipop_node *n, uint32_t dst_ip, uint64_t now_ms);
void ipop_neigh_learn(struct ipop_node *n, uint32_t ip, const struct rte_ether_addr *mac, uint64_t now_ms);
void ipop_neigh_timers(struct ipop_node *n, uint64_t now_ms);
/* A frame from dst_ip arrived from mac: if dst_ip's next hop is unresolved,
 * take mac as its MAC until ARP answers. */
void ipop_neigh_learn_via(struct ipop_node *n, uint32_t src_ip, const struct rte_ether_addr *mac,
			  uint64_t now_ms);
uint32_t ipop_neigh_nexthop(const struct ipop_node *n, uint32_t dst_ip);

/* txq: control -> worker 0 -> WAN. Takes m; counts failures. */
int ipop_ctrl_send(struct ipop_node *n, struct rte_mbuf *m);
/* Send an ipop message (payload bytes) to ip:port through the WAN. */
int ipop_ctrl_send_udp(struct ipop_node *n, uint32_t ip, uint16_t port,
		       const void *payload, uint16_t len);

#endif

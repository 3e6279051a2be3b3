/* node.h - the control thread's state of one gateway (identity, ports, workers,
 * peers and their sessions, next hops, counters) and its lifetime: starting the
 * ports, workers and tables, and stopping them in order. Thread: control.
 *
 * Ownership: everything here is owned and written by the control thread alone;
 * the fast path sees only what ipop_table_publish() copies into an immutable
 * struct ipop_fp_table, plus keypairs it shares by pointer (dataplane/tables.h
 * has the rules on those), and struct ipop_shared (lcore/worker.h).
 */
#ifndef IPOP_CONTROL_NODE_H
#define IPOP_CONTROL_NODE_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#include "control/config/config.h"
#include "control/fib/neigh.h"
#include "control/fib/publish.h"
#include "control/session/handshake.h"
#include "control/session/noise.h"
#include "control/session/peer.h"
#include "dataplane/tables.h"
#include "drivers/port.h"
#include "lcore/worker.h"

/* Handshake and control-plane counters (control thread only). */
struct ipop_ctrl_stats {
	uint64_t hs_init_rx, hs_resp_rx, hs_init_tx, hs_resp_tx;
	uint64_t hs_bad_mac1, hs_bad_auth, hs_unknown_peer, hs_replayed, hs_bad_index;
	uint64_t hs_bad_payload, hs_no_nexthop, hs_no_index, hs_collisions;
	uint64_t hs_resp_dropped;      /* responses not sent: their publication failed */
	uint64_t keepalive_tx, arp_rx, arp_tx, ring_rx, ring_bad, tx_ring_full, tx_nomem;
	uint64_t tables_published;
};

struct ipop_retired;
struct ipop_fw;
struct ipop_module;

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
	 * table: the next ipop_table_publish() hands them to RCU reclamation, so a
	 * burst of handshakes costs one publication, not one each. */
	struct ipop_retired *retiring;
	/* Handshake responses that wait for the publication making their session's
	 * index live (ipop_table_flush()). */
	unsigned n_pending_resp;
	struct ipop_pending_resp pending_resp[IPOP_PENDING_RESP];

	/* Controller modules (signal { } configured); NULL otherwise. */
	struct ipop_fw *fw;
	struct ipop_module *mod_signal, *mod_linkmgr, *mod_topology;
};

/* The control thread's clock: CLOCK_MONOTONIC in milliseconds. */
uint64_t ipop_now_ms(void);

/* After rte_eal_init, with n->cfg, n->id and n->n_workers set: mbuf pools,
 * AEAD manager, RCU and rings, ports, the kernel side of the TAPs, the static
 * peers, the first table, then the workers. err says what failed. */
int ipop_node_start(struct ipop_node *n, char *err, size_t errlen);
/* Stop the workers, wipe every session and peer, free the tables after their
 * grace periods, stop the ports. Safe after a partial ipop_node_start. */
void ipop_node_stop(struct ipop_node *n);

#endif

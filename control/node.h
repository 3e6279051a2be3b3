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
#include "control/config/cert.h"
#include "control/fib/gateways.h"
#include "control/fib/neigh.h"
#include "control/fib/publish.h"
#include "control/session/cookie.h"
#include "control/session/handshake.h"
#include "control/session/hslimit.h"
#include "control/session/noise.h"
#include "control/session/peer.h"
#include "dataplane/counters.h"
#include "dataplane/tables.h"
#include "drivers/port.h"
#include "lcore/worker.h"

/* Handshake and control-plane counters (control thread only; `show`: control).
 * X(name, meaning): dataplane/counters.h. */
#define IPOP_CTRL_COUNTERS(X) \
	X(hs_init_rx, "handshake initiations received") \
	X(hs_resp_rx, "handshake responses received") \
	X(hs_init_tx, "handshake initiations sent") \
	X(hs_resp_tx, "handshake responses sent") \
	X(hs_bad_mac1, "handshake messages not addressed to our key (mac1 did not verify)") \
	X(hs_bad_auth, "handshake messages that failed authentication") \
	X(hs_local_fail, "handshakes we could not complete for a reason of our own (key generation, a session's keys or memory), not the sender's") \
	X(hs_unknown_peer, "initiations from a key that is not in `peers` (also logged with the key)") \
	X(hs_replayed, "initiations not newer than the peer's last one") \
	X(hs_bad_index, "responses to no handshake of ours") \
	X(hs_bad_payload, "handshakes whose payload asked for an unknown cipher") \
	X(hs_no_nexthop, "packets the control thread could not send: next hop unresolved (ARP unanswered)") \
	X(hs_no_index, "handshakes refused: no free receiver index") \
	X(hs_collisions, "initiations ignored while ours to the same peer was in flight (one session results)") \
	X(hs_init_shed, "initiations dropped unread: over the per-tick handshake budget (`IPOP_CTRL_HS_BUDGET`, docs/handshake.md)") \
	X(hs_src_limited, "initiations dropped unread: their source address was over its rate (docs/handshake.md)") \
	X(hs_peer_limited, "initiations refused from a peer that had one accepted less than 200 ms before") \
	X(hs_refusals_not_logged, "refused handshakes not logged: at most one line a second is") \
	X(hs_resp_shed, "responses dropped unread: over the per-tick handshake budget") \
	X(hs_load_ticks, "ticks that found more initiations than the per-tick handshake budget, or found that the workers had shed unproven initiations since the last tick: each keeps the node under load (cookie replies, mac2 checked by the workers) for 1 s") \
	X(hs_mac2_missing, "initiations under load whose mac2 did not prove their source address: answered with a cookie reply, no X25519") \
	X(hs_mac2_ok, "initiations under load whose mac2 proved their source address (then the per-source rate and the budget apply)") \
	X(hs_cookie_tx, "cookie replies sent") \
	X(hs_cookie_relayed, "cookie replies sent back through our TURN relay: as ChannelData on the channel their initiation came on (included in hs_cookie_tx)") \
	X(hs_cookie_shed, "cookie replies not sent: over the per-tick cookie budget (`IPOP_CTRL_COOKIE_BUDGET` for a known peer's address, `IPOP_CTRL_COOKIE_BUDGET_OTHER` for any other)") \
	X(hs_cookie_known, "cookie replies sent to the address of a peer we know (its current endpoint), from the budget other sources cannot use up (included in hs_cookie_tx)") \
	X(hs_cookie_rx, "cookie replies accepted: the cookie is kept for mac2 of the next initiation to that peer") \
	X(hs_cookie_bad_index, "cookie replies for no initiation of ours in flight") \
	X(hs_cookie_bad_auth, "cookie replies that did not authenticate (forged, or for another initiation)") \
	X(hs_cookie_replayed, "cookie replies for an initiation whose reply was already taken") \
	X(hs_resp_dropped, "responses not sent: the table making their session live was not published (the initiator retries)") \
	X(keepalive_tx, "keepalives sent by the control thread") \
	X(arp_rx, "ARP frames received (copies from the workers)") \
	X(arp_tx, "ARP requests sent for next hops") \
	X(ring_rx, "packets received from the workers' ring") \
	X(ring_bad, "packets from the workers' ring that were neither a handshake nor valid ARP") \
	X(tx_ring_full, "packets not sent: the ring to the workers was full") \
	X(tx_nomem, "packets not sent: no mbuf") \
	X(nomem, "control-thread allocations that failed (a session, a table, a retirement queue entry, an API client): each is refused or falls back") \
	X(tables_published, "fast-path tables published (at most one per burst of control messages)") \
	X(neigh_evicted, "next hops dropped from the full neighbour table (64) to make room: the least recently used") \
	X(neigh_expired, "next hops forgotten: neither a peer nor a send needed them for 60 s") \
	X(api_requests, "management API requests answered (or being answered)") \
	X(api_timeouts, "management API clients closed at their deadline (2 s from connecting to the end of the answer): too slow to ask or to read") \
	X(api_evicted, "management API clients closed to make room for a new one: 16 were being served, the oldest went") \
	X(ticks_slowed, "times the control thread slowed its 10 ms tick to 100 ms: nothing to do for 1 s (docs/architecture.md, \"Idle back-off\")")

struct ipop_ctrl_stats {
	IPOP_CTRL_COUNTERS(IPOP_COUNTER_FIELD)
};

struct ipop_retired;
struct ipop_trust;
struct ipop_api_conn;
struct ipop_fw;

/* Management API (control/api/api.c): clients served at once, and each one's
 * time from connecting to the end of its answer. */
#define IPOP_API_MAX_CONNS 16
#define IPOP_API_DEADLINE_MS 2000
struct ipop_module;

struct ipop_turn_watch;
struct ipop_ice_links;

struct ipop_node {
	struct ipop_cfg *cfg;
	struct ipop_noise_keypair id;
	struct ipop_node_id node_id;   /* our place on the ring: BLAKE2b-128 of id.pub */
	uint8_t mac1_self[32];         /* keys mac1 of messages sent to us */
	uint8_t prologue[128];
	size_t prologue_len;

	struct ipop_port lan, wan, exc, host;
	bool have_lan, have_host;
	struct ipop_vtap vtap;                 /* the host TAP when host.offload (fd -1 otherwise) */
	uint64_t port_stats_ms;        /* last ipop_node_ports_poll */
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
	uint64_t neigh_swept_ms;

	struct ipop_gw_dir gws;        /* the gateway directory (fib/gateways.h) */

	struct ipop_ctrl_stats cs;
	/* Handshake admission (session/hslimit.h): per-source buckets, and the
	 * limit on logging refusals. */
	struct ipop_srclim srclim;
	struct ipop_ratelog hs_log;
	struct ipop_known_src known_src;   /* peers' endpoints: rebuilt at each publication */
	/* Cookie replies (session/cookie.h): our secret, and until when the
	 * node counts as under load (control/ctrl_rx.c says when it is). */
	struct ipop_cookie_checker cookie;
	uint64_t hs_load_until_ms;
	/* What the last published table told the workers (fib/table.c): under
	 * load until hs_load_pub_ms, with the secret drawn at hs_secret_pub_ms;
	 * and the workers' wan_hs_unproven_shed summed at the last tick. */
	uint64_t hs_load_pub_ms, hs_secret_pub_ms, hs_wshed_seen;
	uint64_t start_ms;
	GMainLoop *loop;
	int api_fd;
	/* The management socket's clients being served (control/api/api.c). */
	struct ipop_api_conn *api_conns[IPOP_API_MAX_CONNS];
	uint64_t api_seq;

	/* Keypairs unlinked from their peers but perhaps still in the published
	 * table: the next ipop_table_publish() hands them to RCU reclamation, so a
	 * burst of handshakes costs one publication, not one each. */
	struct ipop_retired *retiring;
	/* Handshake responses that wait for the publication making their session's
	 * index live (ipop_table_flush()). */
	unsigned n_pending_resp;
	struct ipop_pending_resp pending_resp[IPOP_PENDING_RESP];

	/* Who may hold which key (signal { } configured; NULL otherwise): the
	 * signalling and link manager modules check and update it, the API shows
	 * it and takes operators' decisions (control/signal/trust.h). With a CA,
	 * cert_b64 is our own certificate, announced in our presence. */
	struct ipop_trust *trust;
	char cert_b64[IPOP_CERT_B64_MAX];

	/* Controller modules (signal { } configured); NULL otherwise. */
	struct ipop_fw *fw;
	struct ipop_module *mod_signal, *mod_linkmgr, *mod_topology;
	/* The TURN exchanges the workers copy to control (ice.turn configured,
	 * owned by the link manager's ICE part, control/link/ice_link.c); NULL
	 * otherwise. */
	struct ipop_turn_watch *turn;
	/* The links' ICE agents (ice { } configured, owned by the link manager's
	 * module); NULL otherwise. The STUN copies from the workers go to its
	 * STUN watch (control/link/stun_watch.c). */
	struct ipop_ice_links *ice;
};

/* The control thread's clock: CLOCK_MONOTONIC in milliseconds. */
uint64_t ipop_now_ms(void);

/* After rte_eal_init, with n->cfg, n->id and n->n_workers set: mbuf pools,
 * AEAD manager, RCU and rings, ports, the kernel side of the TAPs, the static
 * peers, the first table, then the workers. err says what failed. */
int ipop_node_start(struct ipop_node *n, char *err, size_t errlen);
/* Fold the kernel's reset-on-read port counts (net_af_packet's PACKET_STATISTICS)
 * into the ports: before reading the ports' statistics, and at least once a
 * second (the daemon's tick), so the kernel's 32-bit counts never wrap unseen. */
void ipop_node_ports_poll(struct ipop_node *n);

/* Stop the workers, wipe every session and peer, free the tables after their
 * grace periods, stop the ports. Safe after a partial ipop_node_start. */
void ipop_node_stop(struct ipop_node *n);

#endif

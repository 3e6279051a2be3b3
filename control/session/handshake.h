/* handshake.h - the session state machine of every peer (handshake.c has the
 * diagram): Noise IK initiations and responses, installing and rotating
 * session keys, the keepalive that confirms a new session. Thread: control.
 */
#ifndef IPOP_CONTROL_SESSION_HANDSHAKE_H
#define IPOP_CONTROL_SESSION_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_mbuf.h>

#include "dataplane/wire.h"

struct ipop_node;
struct ipop_peer;

#define IPOP_PENDING_RESP 64   /* handshake responses held for one publication */

/* A handshake response that waits for the publication making its session's
 * index live (the node holds IPOP_PENDING_RESP of them). */
struct ipop_pending_resp {
	uint16_t peer_slot;            /* whose: its send time is kept (hs_resp_sent_ms) */
	uint32_t ip;                   /* network order */
	uint16_t port;                 /* network order */
	uint16_t src_port;             /* ours, network order; 0: wan.port */
	uint16_t chan;                 /* TURN channel, host order; 0: none */
	struct ipop_hs_resp msg;
};

/* A handshake message (initiation or response) the workers handed over, as a
 * whole frame; the caller frees m. Bad input is counted, never fatal. */
void ipop_hs_handle(struct ipop_node *n, struct rte_mbuf *m);
/* Whether m (a handshake response the workers handed over) names an
 * initiation of ours in flight by its receiver index: one scan of the peers,
 * no crypto. The caller spends its handshake budget only on those; any other
 * is refused by ipop_hs_handle as cheaply (hs_bad_index). */
bool ipop_hs_resp_in_flight(const struct ipop_node *n, const struct rte_mbuf *m);
/* Start (or restart) our initiation to p; 0 when sent. */
int ipop_hs_initiate(struct ipop_node *n, struct ipop_peer *p, uint64_t now);
/* Send an empty data message on p's current session. */
int ipop_hs_keepalive(struct ipop_node *n, struct ipop_peer *p, uint64_t now);
/* Forget our initiation in flight, if any. */
void ipop_hs_abandon(struct ipop_node *n, struct ipop_peer *p);
/* Promote a responder session the initiator has confirmed (its first packet
 * authenticated on it) to current. */
void ipop_hs_confirm(struct ipop_node *n, struct ipop_peer *p, uint64_t now);
/* How long to wait before the next attempt: exponential up to 16x the
 * configured retry, with jitter. */
uint64_t ipop_hs_retry_delay(const struct ipop_node *n, const struct ipop_peer *p);
/* Log a refused handshake from src_ip (network order) and why, at most one
 * line per IPOP_HS_LOG_MS over all reasons; the next line says how many were
 * not logged (counted in hs_refusals_not_logged too). */
void ipop_hs_log_refusal(struct ipop_node *n, uint64_t now, uint32_t src_ip, const char *why);
/* Queue p's handshake response until the next ipop_table_flush(). */
void ipop_hs_queue_resp(struct ipop_node *n, const struct ipop_peer *p,
			const struct ipop_hs_resp *msg);
/* Send (live: the table with their indices is published) or drop and count
 * (not live) the queued responses. Called by ipop_table_flush. */
void ipop_hs_send_queued(struct ipop_node *n, bool live);

#endif

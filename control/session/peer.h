/* peer.h - the peers of this node: one struct ipop_peer per remote gateway,
 * in a numbered slot that is its index in the fast-path table. Thread: control.
 *
 * Ownership: the control thread alone creates, changes and frees peers; the
 * workers see a peer only through the slot of the published table (its tx
 * session, endpoint and outer header) and count into their own per-slot
 * counters, which control sums (ipop_peer_counters).
 */
#ifndef IPOP_CONTROL_SESSION_PEER_H
#define IPOP_CONTROL_SESSION_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "control/config/config.h"
#include "control/session/noise.h"
#include "dataplane/ring.h"
#include "dataplane/stats.h"
#include "dataplane/wire.h"

struct ipop_node;
struct ipop_keypair;

enum ipop_peer_state { IPOP_PEER_DOWN, IPOP_PEER_HANDSHAKE, IPOP_PEER_UP };

/* A peer's session events (`show`: peers[], after its traffic counters). */
#define IPOP_PEER_SESSION_COUNTERS(X) \
	X(handshakes, "handshakes completed, as initiator or responder (each makes a new session)") \
	X(rekeys, "handshakes that replaced a current session") \
	X(handshake_failures, "initiations that timed out unanswered (each is retried)") \
	X(deaths, "times the peer was declared dead (nothing received within `timers.dead_after`)")

struct ipop_peer {
	uint16_t slot;
	char name[IPOP_CFG_NAME_LEN];
	uint8_t pub[32];
	struct ipop_node_id node_id;   /* its ring ID: BLAKE2b-128 of pub */
	uint8_t mac1_key[32];          /* keys mac1 of messages we send to this peer */
	uint32_t ip;                   /* underlay endpoint, network order; 0 unknown */
	uint16_t port;                 /* network order */
	/* Our UDP source port towards it, network order; 0: wan.port. The port
	 * its last authenticated handshake reached us on, or the local port of
	 * the pair ICE selected (control/link/ice_link.c): a NAT binding is one
	 * 5-tuple, so the tunnel must keep to the one that was opened. */
	uint16_t local_port;
	/* A relayed pair (control/link/ice_link.c): the TURN channel libnice bound
	 * for the peer on our allocation, host order; ip:port above are then the
	 * TURN server's, and the tunnel's messages travel as ChannelData. 0: none. */
	uint16_t relay_chan;
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
	/* Cookie replies (session/cookie.h): the mac1 of our initiation in
	 * flight, whether a cookie reply to it may still be taken (one per
	 * initiation, so a replayed reply is refused), the key such replies use,
	 * and the last cookie the peer gave us with when it came (0: none). */
	uint8_t hs_mac1[IPOP_MAC1_LEN];
	bool hs_cookie_open;
	uint8_t cookie_key[32];
	uint8_t cookie[IPOP_COOKIE_LEN];
	uint64_t cookie_ms;

	uint8_t last_ts[IPOP_TIMESTAMP_LEN];   /* newest accepted initiation */
	bool have_ts;
	uint64_t hs_accept_ms;         /* when we last accepted its initiation; 0 never */

	uint64_t rx_pkts_seen;         /* sum over workers at last check */
	/* The slot's counts when this peer took it: workers' per-slot counters
	 * are never reset (only their lcore writes them), so a reused slot
	 * starts with its last owner's numbers; ipop_peer_counters() subtracts. */
	struct ipop_peer_counters base;
	uint64_t last_rx_ms, last_keepalive_ms, up_since_ms;
	/* The round trip of the last handshake completed with this peer, and
	 * when it was measured. As initiator: initiation sent to response taken
	 * by the control thread. As responder: response sent to the initiator's
	 * first packet on the new session seen by the control thread (the
	 * keepalive it sends as it takes the response: its processing of the
	 * response is included). Either way the network's round trip plus up to
	 * one control tick of queueing on each side. */
	uint64_t hs_rtt_ms, hs_rtt_at_ms;
	/* When our response to its initiation left (ipop_hs_send_queued), while
	 * that session waits in next for its confirmation; 0 otherwise. */
	uint64_t hs_resp_sent_ms;
	IPOP_PEER_SESSION_COUNTERS(IPOP_COUNTER_FIELD)
	char last_error[128];
};

/* Add a peer in the first fresh slot (a freed one only when none is left):
 * -EEXIST for our own key or a key already a peer, -ENOSPC when full. */
int ipop_peer_add(struct ipop_node *n, const struct ipop_cfg_peer *cp);
/* Reset (unpublish, then wipe after RCU) and remove the peer with key pub; its
 * slot becomes empty, other slots keep their numbers. */
int ipop_peer_remove(struct ipop_node *n, const uint8_t pub[32], const char *why);
struct ipop_peer *ipop_peer_find(struct ipop_node *n, const uint8_t pub[32]);
/* Drop every session of a peer (dead, or shutting down). */
void ipop_peer_reset(struct ipop_node *n, struct ipop_peer *p, const char *why);
/* Sum of a peer's counters over all workers. */
void ipop_peer_counters(const struct ipop_node *n, const struct ipop_peer *p,
			struct ipop_peer_counters *out);
const char *ipop_peer_state_name(enum ipop_peer_state s);

#endif

/* stun_watch.h - the STUN messages the workers copy to control, checked for
 * their authentication: other hosts' connectivity and consent checks to the
 * links' ICE agents and their responses (short-term credentials: the agents'
 * passwords), the TURN server's responses (long-term credentials). Thread:
 * control.
 *
 * libnice (0.1.21) checks every one of these itself and drops what fails its
 * MESSAGE-INTEGRITY check with only a debug line; it still gets every one
 * (the workers hand them to the kernel as before), ipop looks at copies only
 * to count the failures and say which link they hit and from where
 * (`links[].ice.last_error`, one log line a second at most). A check to us is
 * keyed with our agent's password, found by the first half of its USERNAME
 * (our ufrag); a response to one of our checks with the member's password, of
 * the agent on the port it came to (one agent per port). The TURN server's
 * responses are keyed with MD5(turn_user ":" realm ":" turn_password), the
 * realm taken from the agents' own requests; one that fails is not given to
 * the TURN watch (it could name a channel). A member's check that reaches an
 * agent through our relay is checked like a direct one: inside ChannelData
 * once a channel is bound, inside a TURN Data indication before (the member's
 * address from its XOR-PEER-ADDRESS). The work is bounded: the workers
 * copy at most 256 a second each (dataplane/turn.h), control checks at most
 * IPOP_STUN_CHECK_BUDGET per 10 ms and counts the rest as shed.
 */
#ifndef IPOP_CONTROL_LINK_STUN_WATCH_H
#define IPOP_CONTROL_LINK_STUN_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <rte_mbuf.h>

#include "control/ice/stun_check.h"
#include "dataplane/counters.h"

#define IPOP_STUN_CHECK_BUDGET 64     /* messages checked per 10 ms */
#define IPOP_STUN_LOG_EVERY_MS 1000

/* `show`: ice.stun. */
#define IPOP_STUN_WATCH_COUNTERS(X) \
	X(seen, "STUN messages on the agents' ports control looked at: copies of other hosts' checks and responses (dataplane stun_ctrl) and of the TURN server's responses (turn_ctrl)") \
	X(relayed, "of those, members' checks and responses that came through our TURN relay inside ChannelData (checked with the agents' keys like the direct ones)") \
	X(indicated, "of those, members' checks and responses that came through our TURN relay inside Data indications (no channel bound for the member's address yet), checked like the direct ones; the address from XOR-PEER-ADDRESS") \
	X(data_other, "TURN Data indications from our TURN server whose DATA is not a STUN message (a peer's other traffic before a channel is bound): not checked") \
	X(verified, "messages whose MESSAGE-INTEGRITY and/or MESSAGE-INTEGRITY-SHA256 (and FINGERPRINT, when present) matched the key of the agent or TURN allocation they were for") \
	X(turn_verified, "of those, the TURN server's responses, checked with the long-term key MD5(ice.turn_user \":\" realm \":\" ice.turn_password)") \
	X(integrity_failed, "messages whose MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 did not match: a member with a wrong password, or forged (links[].ice.last_error says from where; logged at most once a second); libnice drops them") \
	X(fingerprint_failed, "messages whose FINGERPRINT (CRC-32) did not match: damaged or forged") \
	X(unknown_ufrag, "Binding requests whose USERNAME names no agent of ours (its first half is not one of our agents' ufrags): not checked") \
	X(no_key, "responses with MESSAGE-INTEGRITY that no key is known for: to a port without an agent that has the member's password yet, or from the TURN server before a request told its realm") \
	X(unauthenticated, "messages without MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 (the STUN server's Binding responses, 401 challenges): nothing to check") \
	X(malformed, "copies that are not well-formed STUN: a length not the datagram's, an attribute past the end, an integrity attribute or FINGERPRINT of the wrong size, anything after FINGERPRINT; a TURN Data indication without DATA or a usable XOR-PEER-ADDRESS") \
	X(shed, "messages not checked: over the budget of `IPOP_STUN_CHECK_BUDGET` (64) per 10 ms (the TURN server's still go to the TURN watch)")

struct ipop_stun_watch_stats {
	IPOP_STUN_WATCH_COUNTERS(IPOP_COUNTER_FIELD)
};

struct ipop_stun_watch {
	struct ipop_stun_watch_stats st;
	uint64_t window;               /* now_ms / 10 of the current budget */
	unsigned in_window;
	/* The TURN server's realm, from the agents' requests, and the key. */
	char realm[128];
	uint16_t realm_len;
	uint8_t turn_key[IPOP_STUN_LT_KEY_LEN];
	/* Failures that hit no link: one log line a second at most. */
	uint64_t log_ms;
	unsigned log_quiet;
};

struct ipop_node;

/* A STUN copy from the workers' ring (control/ctrl_rx.c), not freed here:
 * the TURN server's messages also go to the TURN watch. */
void ipop_stun_watch_rx(struct ipop_node *n, const struct rte_mbuf *m);

#endif

/* turn.h - TURN on the fast path: ChannelData framing (RFC 8656 section 12.4)
 * for relayed ICE pairs, and which STUN messages between the ICE agents' ports
 * and the TURN server the workers copy to the control thread (so control sees
 * the channel libnice bound and the server's errors; docs/architecture.md,
 * "Relayed pairs"). Thread: fast path (the inline helpers are pure: either).
 */
#ifndef IPOP_DATAPLANE_TURN_H
#define IPOP_DATAPLANE_TURN_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_mbuf.h>

#include "dataplane/datapath.h"
#include "dataplane/tables.h"
#include "dataplane/wire.h"

#define IPOP_CHANDATA_HDR_LEN 4      /* channel number, length (network order) */
#define IPOP_TURN_CHAN_MIN 0x4000u   /* RFC 8656: 0x4000-0x4FFF; RFC 5766 allowed to 0x7FFF */
#define IPOP_TURN_CHAN_MAX 0x7FFFu

/* Is p (len bytes of UDP payload) ChannelData: first two bits 01? Its channel
 * and the length its header announces; a datagram may carry up to 3 bytes of
 * padding behind the data (RFC 8656 12.5), never less than the length. */
static inline bool ipop_turn_is_chandata(const uint8_t *p, uint32_t len)
{
	return len >= IPOP_CHANDATA_HDR_LEN && (p[0] & 0xc0) == 0x40;
}

static inline uint16_t ipop_turn_chandata_len(const uint8_t *p)
{
	return (uint16_t)(p[2] << 8 | p[3]);
}

/* STUN message classes (RFC 8489 5: bits C1 C0 at 0x0100 and 0x0010). */
static inline bool ipop_turn_stun_is_request(const uint8_t *p)
{
	return (p[0] & 0x01) == 0 && (p[1] & 0x10) == 0;
}

static inline bool ipop_turn_stun_is_response(const uint8_t *p)
{
	return (p[0] & 0x01) != 0;
}

/* Frames the kernel sends through the WAN exception TAP, on their way to the
 * WAN (worker 0): STUN requests from an ICE agent's port to the TURN server
 * (Allocate, Refresh, CreatePermission, ChannelBind: an agent's TURN traffic,
 * a few a minute) are also copied to control (turn_ctrl); everything goes to
 * q_wan. */
void ipop_dp_exc_out(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		     struct rte_mbuf **pkts, uint16_t n);

/* A copy of m to control (stun_ctrl), m itself untouched: a STUN request or
 * response another host sent to an agent's port, or a Data indication from
 * the TURN server (it also goes to the kernel), for control to check its
 * MESSAGE-INTEGRITY (or that of the message the indication carries). At most
 * IPOP_DP_STUN_COPIES_PER_S a second per worker; the rest are counted
 * (stun_ctrl_shed) and not copied: a flood of them must not fill the ring
 * that handshakes and ARP share, nor the mbuf pool. */
#define IPOP_DP_STUN_COPIES_PER_S 256
void ipop_dp_stun_copy_to_ctrl(struct ipop_dp_ctx *c, const struct rte_mbuf *m);

static inline bool ipop_turn_stun_is_indication(const uint8_t *p)
{
	return (p[0] & 0x01) == 0 && (p[1] & 0x10) != 0;
}

/* A TURN Data indication (RFC 8656 11.6: method 0x007, class indication,
 * type 0x0017): the server relays what a peer sent to our relayed address
 * while no channel is bound for that peer. */
static inline bool ipop_turn_stun_is_data_indication(const uint8_t *p)
{
	return p[0] == 0x00 && p[1] == 0x17;
}

/* A copy of m to control (turn_ctrl), m itself untouched: a STUN response from
 * the TURN server to an agent's port, which also goes to the kernel. */
void ipop_dp_turn_copy_to_ctrl(struct ipop_dp_ctx *c, const struct rte_mbuf *m);

#endif

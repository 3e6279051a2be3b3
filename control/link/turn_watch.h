/* turn_watch.h - what the TURN server and the ICE agents say to each other,
 * seen from outside libnice. Thread: control.
 *
 * libnice (0.1.21) owns each agent's TURN allocation: it allocates, refreshes
 * the allocation, installs permissions and, once a pair with a relayed local
 * candidate is selected, binds a channel for the pair's remote address and
 * refreshes it (socket/udp-turn.c); but it tells its user neither the channel
 * number nor the server's error responses. The workers copy to control the
 * STUN messages between an agent's port and the TURN server (requests the
 * kernel sends, responses the server sends: dataplane/turn.h); this module
 * matches them by transaction ID, per agent port, and keeps:
 *  - the channel the server accepted (ChannelBind success): the number and
 *    the peer address from libnice's request, which is what the fast path
 *    needs to frame the tunnel's messages as ChannelData;
 *  - the last error response that is not part of the normal exchange (the
 *    first 401 without credentials and 438 Stale Nonce are): a 401 to a
 *    request that carried credentials means they were refused;
 *  - how many requests and responses it saw (no response at all: the server
 *    does not answer).
 * The parser reads bytes from the network (a copy of what the kernel got):
 * it is strict and bounded; tests/fuzz/fuzz_stun.c is its fuzz target
 * (replayed over its seeds by the unit tests, fuzz_corpus_stun; not yet in the
 * -Dfuzz libFuzzer build).
 */
#ifndef IPOP_CONTROL_LINK_TURN_WATCH_H
#define IPOP_CONTROL_LINK_TURN_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <rte_mbuf.h>

#include "dataplane/counters.h"
#include "dataplane/tables.h"

/* STUN/TURN methods (RFC 8656) and classes. */
#define IPOP_STUN_ALLOCATE 0x003
#define IPOP_STUN_REFRESH 0x004
#define IPOP_STUN_CREATE_PERMISSION 0x008
#define IPOP_STUN_CHANNEL_BIND 0x009
enum ipop_stun_class { IPOP_STUN_REQUEST, IPOP_STUN_INDICATION, IPOP_STUN_SUCCESS, IPOP_STUN_ERROR };

/* One parsed STUN message: what this module uses of it. */
struct ipop_stun_info {
	uint16_t method;
	enum ipop_stun_class cls;
	uint8_t txid[12];
	bool integrity;            /* MESSAGE-INTEGRITY present: sent with credentials */
	uint16_t chan;             /* CHANNEL-NUMBER, host order; 0: absent */
	uint32_t peer_ip;          /* XOR-PEER-ADDRESS (IPv4), network order; 0: absent */
	uint16_t peer_port;        /* host order */
	int error_code;            /* ERROR-CODE: 300..699; 0: absent */
	char reason[64];           /* its reason phrase, printable ASCII only */
};

/* Parse a STUN message (RFC 8489: 20-byte header with the magic cookie, then
 * TLV attributes padded to 4 bytes). 0, or -EBADMSG (not STUN, a length that
 * runs past the buffer, a malformed attribute we use). */
int ipop_stun_parse(const uint8_t *p, size_t len, struct ipop_stun_info *out);

const char *ipop_stun_method_name(uint16_t method);

#define IPOP_TURN_COUNTERS(X) \
	X(requests, "STUN requests from the agents' ports to the TURN server (copies from the workers)") \
	X(responses, "responses of the TURN server matched to one of those requests") \
	X(unmatched, "copies that did not parse as STUN or answered no request seen (dropped)") \
	X(channels_bound, "ChannelBind successes: a channel libnice bound for a relayed pair, which the fast path then uses") \
	X(auth_refused, "error responses refusing the credentials (401 to a request that carried them, 441): ice.turn_user / turn_password are wrong") \
	X(errors, "other error responses (437 Allocation Mismatch, 486 Allocation Quota Reached, 403, 508, ...); 401 challenges and 438 Stale Nonce are the normal exchange and not counted")

struct ipop_turn_stats {
	IPOP_TURN_COUNTERS(IPOP_COUNTER_FIELD)
};

#define IPOP_TURN_TX 8             /* requests remembered per agent port */

struct ipop_turn_tx {
	uint8_t txid[12];
	uint16_t method;
	bool used, integrity;
	uint16_t chan;
	uint32_t peer_ip;
	uint16_t peer_port;
};

/* One agent port (wan.port + i). */
struct ipop_turn_port {
	struct ipop_turn_tx tx[IPOP_TURN_TX];
	unsigned next;
	uint64_t requests, responses;
	bool allocated;                /* an Allocate success since the last reset */
	bool chan_ok;                  /* chan is bound for chan_peer */
	uint16_t chan;                 /* host order */
	uint32_t chan_peer_ip;         /* network order */
	uint16_t chan_peer_port;       /* host order */
	int err_code;                  /* the last error (0: none since the reset) */
	char err[192];
};

struct ipop_turn_watch {
	uint32_t wan_ip, srv_ip;       /* network order */
	uint16_t wan_port, srv_port;   /* host order */
	struct ipop_turn_port port[IPOP_FP_ICE_PORTS + 1];
	struct ipop_turn_stats st;
	char last_logged[192];         /* an error is logged once until another comes */
	/* The first refusal of our credentials (401 to a request that carried
	 * them, 441); "" until one. They stay wrong until ipopd restarts with
	 * others, so new agents go without TURN (control/link/ice_link.c). */
	char auth_err[192];
	void *ctx;
	/* A channel was bound (or an error came) on agent port `port` (host order). */
	void (*changed)(void *ctx, uint16_t port);
};

void ipop_turn_watch_init(struct ipop_turn_watch *w, uint32_t wan_ip, uint16_t wan_port,
			  uint32_t srv_ip, uint16_t srv_port);
/* A new agent took this port (host order): forget what the last one saw. */
void ipop_turn_watch_reset(struct ipop_turn_watch *w, uint16_t port);
/* A copy from the workers (a frame; not freed here). */
void ipop_turn_watch_rx(struct ipop_turn_watch *w, const struct rte_mbuf *m);
/* Agent port's state (host order port), or NULL outside the range. */
const struct ipop_turn_port *ipop_turn_watch_port(const struct ipop_turn_watch *w, uint16_t port);

#endif

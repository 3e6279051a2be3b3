/* ice.h - one ICE agent per signalled link: libnice (RFC 8445 with trickle, RFC
 * 8838) on the control thread's GLib main context. The only user of libnice.
 * Thread: control (every call and every callback runs on the context the agent
 * was created on; nothing here is shared with the workers).
 *
 * An agent has one stream with one component (UDP). Its socket is bound to the
 * given address (the WAN address, held by the kernel on the exception TAP) and
 * to a port from the given range: one port per link, because libnice cannot
 * share a socket between agents and the kernel refuses a second bind of the same
 * address and port. Local candidates are handed out one by one as libnice finds
 * them (trickle) as SDP attribute values ("candidate:1 1 UDP 2013266431 10.0.0.2
 * 5801 typ host"); remote ones are taken the same way. The selected pair is
 * reported once per change.
 *
 * Its owner (control/link/ice_link.c) makes a selected pair the tunnel's
 * path: a direct pair's 5-tuple, or, with our relayed candidate, the TURN
 * server and the channel libnice bound (control/link/turn_watch.c); it
 * restarts ICE by replacing the agent with a new one (new credentials, new
 * gathering).
 */
#ifndef IPOP_CONTROL_ICE_H
#define IPOP_CONTROL_ICE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define IPOP_ICE_CAND_LEN 256        /* an SDP candidate value, with its NUL */
#define IPOP_ICE_UFRAG_LEN 64        /* ufrag and pwd, with the NUL (RFC 8445: 4..256) */
#define IPOP_ICE_MAX_REMOTE 16       /* remote candidates accepted per agent */

enum ipop_ice_cand_type {
	IPOP_ICE_HOST, IPOP_ICE_SRFLX, IPOP_ICE_PRFLX, IPOP_ICE_RELAY, IPOP_ICE_CAND__MAX
};

const char *ipop_ice_cand_type_name(enum ipop_ice_cand_type t);

/* Where the agent's servers are; a zero address means none. */
struct ipop_ice_servers {
	struct in_addr stun_ip;
	uint16_t stun_port;
	struct in_addr turn_ip;
	uint16_t turn_port;
	const char *turn_user, *turn_password;
};

/* The pair ICE selected: addresses in network order, ports in host order. */
struct ipop_ice_pair {
	enum ipop_ice_cand_type local_type, remote_type;
	uint32_t local_ip, remote_ip;       /* local: the candidate's base (our socket) */
	uint16_t local_port, remote_port;
	uint32_t relay_ip;                  /* relay pair: the relayed address; else 0 */
	uint16_t relay_port;
};

/* Counters of one agent; the owner sums them (what it shows is its choice). */
#define IPOP_ICE_COUNTERS(X) \
	X(local_candidates, "local candidates found and handed out (trickled)") \
	X(remote_candidates, "remote candidates accepted") \
	X(remote_bad, "remote candidates refused: the value does not parse, or its component or transport is not ours") \
	X(remote_too_many, "remote candidates refused: the agent already has IPOP_ICE_MAX_REMOTE") \
	X(selected, "selected pairs reported (a change of pair counts again)") \
	X(failed, "agents that reached the failed state") \
	X(non_stun_rx, "datagrams libnice handed over that were not its own STUN: dropped (the data path owns the tunnel's packets)")

#define IPOP_ICE_COUNTER_FIELD(name, doc) uint64_t name;
struct ipop_ice_stats {
	IPOP_ICE_COUNTERS(IPOP_ICE_COUNTER_FIELD)
};

struct ipop_ice;

/* What the agent tells its owner; every callback is optional. */
struct ipop_ice_events {
	void *ctx;
	void (*candidate)(void *ctx, struct ipop_ice *a, const char *cand);
	void (*gathering_done)(void *ctx, struct ipop_ice *a);
	void (*selected)(void *ctx, struct ipop_ice *a, const struct ipop_ice_pair *p);
	void (*failed)(void *ctx, struct ipop_ice *a);
};

struct ipop_ice_params {
	GMainContext *context;             /* NULL: the default context */
	bool controlling;                  /* the side that nominates (the initiator) */
	struct in_addr bind_ip;            /* the WAN address */
	uint16_t port_min, port_max;       /* the socket's port range, inclusive */
	struct ipop_ice_servers servers;
	bool force_relay;                  /* offer and use relayed candidates only */
	struct ipop_ice_events ev;
};

/* A new agent with its stream; gathering starts with ipop_ice_gather().
 * 0 or -ENOMEM / -EINVAL (a parameter), with *out set on success. */
int ipop_ice_new(const struct ipop_ice_params *p, struct ipop_ice **out);

/* Start gathering: host candidates come at once (through ev.candidate),
 * reflexive and relayed ones as the servers answer. -EADDRINUSE if no port of the
 * range could be bound, -EIO otherwise. */
int ipop_ice_gather(struct ipop_ice *a);

/* Our ufrag and password, for the peer (copied into the buffers). */
int ipop_ice_local_credentials(struct ipop_ice *a, char ufrag[IPOP_ICE_UFRAG_LEN],
			       char pwd[IPOP_ICE_UFRAG_LEN]);

/* Which side nominates: the link's handshake initiator, known only once the
 * member's identity is; set before the first remote candidate. 0 or -EINVAL. */
int ipop_ice_set_controlling(struct ipop_ice *a, bool controlling);

/* The peer's ufrag and password: 4 to 63 ice-chars each (RFC 8445 15.4), else
 * -EINVAL. Checks start once they and a remote candidate are known. */
int ipop_ice_set_remote_credentials(struct ipop_ice *a, const char *ufrag, const char *pwd);

/* One remote candidate (an SDP candidate value, with or without "a="):
 * 0, -EINVAL (does not parse, not component 1, not UDP, not IPv4; counted in
 * remote_bad) or -ENOSPC (IPOP_ICE_MAX_REMOTE reached; remote_too_many). */
int ipop_ice_add_remote_candidate(struct ipop_ice *a, const char *cand);

/* A remote candidate as ipop_ice_add_remote_candidate would take it (address
 * in network order, port in host order). */
struct ipop_ice_cand {
	enum ipop_ice_cand_type type;
	uint32_t priority;
	uint32_t ip;
	uint16_t port;
};

/* Parse CAND exactly as ipop_ice_add_remote_candidate does, without adding it
 * or counting anything: 0 with *out filled, or -EINVAL (the fuzz target
 * tests/fuzz/fuzz_candidate.c drives it). */
int ipop_ice_parse_candidate(struct ipop_ice *a, const char *cand, struct ipop_ice_cand *out);

/* The peer has sent its last candidate. */
void ipop_ice_remote_done(struct ipop_ice *a);

/* The selected pair; -ENOENT before there is one. */
int ipop_ice_selected(const struct ipop_ice *a, struct ipop_ice_pair *p);

/* The agent's counters. */
const struct ipop_ice_stats *ipop_ice_stats(const struct ipop_ice *a);

/* Stop: no callback runs after this; libnice frees TURN allocations on its own
 * (asynchronously, on the same context). NULL is a no-op. */
void ipop_ice_free(struct ipop_ice *a);
/* Iterate ctx (the agents' context; NULL: the default one) until every
 * agent freed so far has finished closing (its TURN allocation freed on the
 * server: a Refresh with lifetime 0, answered or given up by libnice), or
 * for at most ms. For the daemon's shutdown, while the workers still carry
 * the agents' traffic: an allocation left behind holds its 5-tuple on the
 * server for its lifetime, and the next run's agent on that port meets 437
 * Allocation Mismatch. Returns the agents still closing (0: all done). */
unsigned ipop_ice_drain(GMainContext *ctx, unsigned ms);

#endif

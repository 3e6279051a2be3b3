/* hslimit.h - admission of handshake initiations before any X25519: a token
 * bucket per source address in a fixed-size table (no memory grows with the
 * number of senders), the minimum interval between initiations accepted from
 * one peer, and a log of refusals limited to one line a second. The per-tick
 * budget that bounds the rest is control/ctrl_rx.h's. docs/handshake.md,
 * "Handshakes under load", says why these numbers. Thread: control.
 */
#ifndef IPOP_CONTROL_SESSION_HSLIMIT_H
#define IPOP_CONTROL_SESSION_HSLIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Per source address: IPOP_SRCLIM_RATE initiations a second, bursts of up to
 * IPOP_SRCLIM_BURST (below the per-tick budget, so one address never takes a
 * whole tick). */
#define IPOP_SRCLIM_RATE  10
#define IPOP_SRCLIM_BURST 20
/* 1024 buckets in sets of 4 (24 KiB); a new address takes its set's least
 * recently seen bucket and starts with a full burst. */
#define IPOP_SRCLIM_SLOTS 1024
#define IPOP_SRCLIM_WAYS  4
/* Per authenticated peer: an initiation is accepted at most once per this
 * many ms (at most 5 a second), like WireGuard's per-peer initiation limit. */
#define IPOP_HS_PEER_MIN_MS 200
/* Refused handshakes are logged at most once per this many ms. */
#define IPOP_HS_LOG_MS 1000

struct ipop_srclim_entry {
	uint32_t ip;                   /* network order */
	uint32_t milli_tokens;         /* tokens x 1000 */
	uint64_t last_ms;              /* last refill; 0 = free */
	uint64_t seen;                 /* the table's clock when last seen: recency */
};

struct ipop_srclim {
	bool keyed;
	uint8_t key[16];               /* SipHash key: senders cannot aim at one set */
	uint64_t clock;                /* counts lookups: orders recency within a ms */
	struct ipop_srclim_entry e[IPOP_SRCLIM_SLOTS];
};

/* Take one token from ip's bucket: true when the initiation may go on. */
bool ipop_srclim_allow(struct ipop_srclim *l, uint32_t ip, uint64_t now_ms);

/* The underlay addresses our peers send from (their current endpoints), so
 * that under a flood of spoofed initiations the cookie replies a tick may
 * send go first to the peers we know (control/ctrl_rx.c): open addressing,
 * twice the peer table's size, rebuilt whenever the table is published. */
#define IPOP_KNOWN_SRC_SLOTS 2048

struct ipop_known_src {
	uint32_t mult;                 /* random odd multiplier: the hash */
	uint32_t ip[IPOP_KNOWN_SRC_SLOTS];   /* network order; 0 = free */
};

/* Empty the set (and key its hash on first use). */
void ipop_known_src_reset(struct ipop_known_src *k);
/* Add ip (0 is ignored); -ENOSPC when the set is full. */
int ipop_known_src_add(struct ipop_known_src *k, uint32_t ip);
bool ipop_known_src_has(const struct ipop_known_src *k, uint32_t ip);

struct ipop_ratelog {
	uint64_t last_ms;              /* when the last line was logged; 0 = never */
	uint64_t suppressed;           /* refusals not logged since */
};

/* Whether to log a refusal now (at most one line per IPOP_HS_LOG_MS); when
 * true, *suppressed says how many were not logged since the last line. */
bool ipop_ratelog_ok(struct ipop_ratelog *rl, uint64_t now_ms, uint64_t *suppressed);

#endif

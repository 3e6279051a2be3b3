/* replay.h - sliding anti-replay window for the data counters of one session
 * direction (RFC 6479 style: a ring of 64-bit bitmap words, no shifting).
 *
 * Thread: fast path, single writer: the state belongs to the one lcore that
 * receives the session; nothing here is atomic or locked. Readers on other
 * threads (stats) may see a torn value and must not rely on it.
 *
 * Use check-then-update: ipop_replay_check() before decrypting (cheap early
 * drop), ipop_replay_update() only once the packet has authenticated, so a
 * forged packet can never move the window or mark a counter as seen.
 *
 * Window: the ring holds IPOP_REPLAY_BITS = 4096 bits; the window is the
 * IPOP_REPLAY_WINDOW = 4032 counters ending at (and including) the highest
 * counter accepted so far. One word less than the ring, because the word that
 * holds the highest counter is only partly in use.
 */
#ifndef IPOP_DATAPLANE_REPLAY_H
#define IPOP_DATAPLANE_REPLAY_H

#include <errno.h>
#include <stdint.h>

#define IPOP_REPLAY_BITS   4096u
#define IPOP_REPLAY_WORDS  (IPOP_REPLAY_BITS / 64)
#define IPOP_REPLAY_WINDOW (IPOP_REPLAY_BITS - 64)

/* Counters at or above this are refused (the session must have rekeyed long
 * before). Same value as WireGuard's REJECT_AFTER_MESSAGES, 2^64 - 2^13 - 1, so
 * a counter near 2^64 can never wrap the window arithmetic. Senders must not
 * use a counter >= this either. */
#define IPOP_REJECT_AFTER_MESSAGES (UINT64_MAX - 8192u)

_Static_assert((IPOP_REPLAY_WORDS & (IPOP_REPLAY_WORDS - 1)) == 0,
	       "ring size must be a power of two");

struct ipop_replay {
	uint64_t top;                            /* highest accepted counter */
	uint64_t bitmap[IPOP_REPLAY_WORDS];      /* bit c%64 of word (c/64)%WORDS */
};

/* Empty window: every counter below the limit is acceptable, 0 included. */
void ipop_replay_init(struct ipop_replay *r);

/* Moves the top to counter (> top), clearing the words it passes. Only for
 * the inline functions below. */
void ipop_replay_advance(struct ipop_replay *r, uint64_t counter);

static inline unsigned ipop_replay_word(uint64_t counter)
{
	return (unsigned)((counter / 64) & (IPOP_REPLAY_WORDS - 1));
}

static inline int ipop_replay_out_of_range(const struct ipop_replay *r, uint64_t counter)
{
	if (counter >= IPOP_REJECT_AFTER_MESSAGES)
		return 1;
	return counter < r->top && r->top - counter >= IPOP_REPLAY_WINDOW;
}

/* May a packet with this counter be accepted? 0 if it is newer than any
 * accepted one, or inside the window and not yet seen; -EALREADY if seen;
 * -ERANGE if older than the window or >= IPOP_REJECT_AFTER_MESSAGES.
 * Does not change the state. */
static inline int ipop_replay_check(const struct ipop_replay *r, uint64_t counter)
{
	if (ipop_replay_out_of_range(r, counter))
		return -ERANGE;
	if (counter > r->top)
		return 0;
	return (r->bitmap[ipop_replay_word(counter)] >> (counter % 64)) & 1 ? -EALREADY : 0;
}

/* Record an authenticated counter (advancing the window if it is the newest).
 * Returns 0, or -ERANGE (state unchanged) for a counter check would refuse as
 * out of range. Recording a counter twice is harmless. */
static inline int ipop_replay_update(struct ipop_replay *r, uint64_t counter)
{
	if (ipop_replay_out_of_range(r, counter))
		return -ERANGE;
	if (counter > r->top)
		ipop_replay_advance(r, counter);
	r->bitmap[ipop_replay_word(counter)] |= UINT64_C(1) << (counter % 64);
	return 0;
}

/* ipop_replay_check, then on 0 ipop_replay_update: the receive path's step
 * once a packet has authenticated. */
static inline int ipop_replay_accept(struct ipop_replay *r, uint64_t counter)
{
	int e = ipop_replay_check(r, counter);

	if (e == 0)
		ipop_replay_update(r, counter);
	return e;
}

#endif

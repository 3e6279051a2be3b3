/* replay.h - sliding anti-replay window for the data counters of one session
 * direction (RFC 6479 style: a ring of 64-bit bitmap words, no shifting).
 *
 * Thread: fast path; safe with several lcores updating one window at once.
 * RSS keeps a 5-tuple on one queue, but one session can still reach two: its
 * reassembled datagrams hash on addresses only, a NAT rebinds, or someone
 * replays captured packets from another address. Each ring slot holds a
 * bitmap word together with the number of the 64-counter block it covers,
 * and is only changed by a 16-byte compare-and-swap (cmpxchg16b): a bit goes
 * from 0 to 1 in exactly one lcore, and a slot only ever moves to a newer
 * block, so no counter is accepted twice whatever the interleaving. `top`
 * (the highest accepted counter) only decides what is too old: lcores store
 * it without a lock, so it may briefly lag behind the newest counter (the
 * window is then a little larger for a moment, never unsafe).
 *
 * Use check-then-update: ipop_replay_check() before decrypting (cheap early
 * drop), ipop_replay_update() only once the packet has authenticated, so a
 * forged packet can never move the window or mark a counter as seen;
 * ipop_replay_accept() does both and is the one that tells concurrent lcores
 * apart (only one of them gets 0 for a counter). ipop_replay_accept_run() is
 * the same for the counters of one session's frames in a row, with one
 * compare-and-swap per ring slot the run touches instead of one per counter.
 *
 * Window: the ring holds IPOP_REPLAY_BITS = 2112 bits in 33 slots of 16
 * bytes (528 bytes: the single-writer window's 4096 bits took 512, and the
 * keypair's size is a budget, docs/crypto.md; 33 is the fewest slots for a
 * window of 2048); the window is the IPOP_REPLAY_WINDOW = 2048 counters
 * ending at (and including) the highest counter accepted so far: one slot
 * less than the ring, because the slot that holds the highest counter is only
 * partly in use. Reordering within a session comes from the senders' lcores
 * reserving nonces per burst (64 each), far below that.
 */
#ifndef IPOP_DATAPLANE_REPLAY_H
#define IPOP_DATAPLANE_REPLAY_H

#include <errno.h>
#include <stdint.h>

#define IPOP_REPLAY_SLOTS  33u
#define IPOP_REPLAY_BITS   (IPOP_REPLAY_SLOTS * 64)
#define IPOP_REPLAY_WINDOW (IPOP_REPLAY_BITS - 64)

/* Counters at or above this are refused (the session must have rekeyed long
 * before). Same value as WireGuard's REJECT_AFTER_MESSAGES, 2^64 - 2^13 - 1, so
 * a counter near 2^64 can never wrap the window arithmetic. Senders must not
 * use a counter >= this either. */
#define IPOP_REJECT_AFTER_MESSAGES (UINT64_MAX - 8192u)

/* One ring slot: the bits of counters block * 64 .. block * 64 + 63. */
struct ipop_replay_slot {
	uint64_t block;
	uint64_t bits;
} __attribute__((aligned(16)));

struct ipop_replay {
	uint64_t top;                                   /* highest accepted counter */
	struct ipop_replay_slot slot[IPOP_REPLAY_SLOTS]; /* block c/64 in slot (c/64)%SLOTS */
};

/* Empty window: every counter below the limit is acceptable, 0 included. */
void ipop_replay_init(struct ipop_replay *r);

static inline unsigned ipop_replay_word(uint64_t counter)
{
	return (unsigned)((counter / 64) % IPOP_REPLAY_SLOTS);   /* a multiply, not a division */
}

static inline int ipop_replay_out_of_range(const struct ipop_replay *r, uint64_t counter)
{
	uint64_t top = __atomic_load_n(&r->top, __ATOMIC_RELAXED);

	if (counter >= IPOP_REJECT_AFTER_MESSAGES)
		return 1;
	return counter < top && top - counter >= IPOP_REPLAY_WINDOW;
}

/* May a packet with this counter be accepted? 0 if it is newer than any
 * accepted one, or inside the window and not yet seen; -EALREADY if seen;
 * -ERANGE if older than the window or >= IPOP_REJECT_AFTER_MESSAGES.
 * Does not change the state. */
static inline int ipop_replay_check(const struct ipop_replay *r, uint64_t counter)
{
	const struct ipop_replay_slot *s = &r->slot[ipop_replay_word(counter)];

	if (ipop_replay_out_of_range(r, counter))
		return -ERANGE;
	if (__atomic_load_n(&s->block, __ATOMIC_ACQUIRE) != counter / 64)
		return 0;
	return (__atomic_load_n(&s->bits, __ATOMIC_RELAXED) >> (counter % 64)) & 1 ? -EALREADY : 0;
}

/* Set the counter's bit, moving its slot to its block if the slot holds an
 * older one. 0 if this call set it; -EALREADY if it was set; -ERANGE if the
 * slot holds a newer block (the window moved past the counter meanwhile). */
static inline int ipop_replay_mark(struct ipop_replay *r, uint64_t counter)
{
	struct ipop_replay_slot *s = &r->slot[ipop_replay_word(counter)];
	uint64_t block = counter / 64, bit = UINT64_C(1) << (counter % 64);
	unsigned __int128 *w = (unsigned __int128 *)s;

	for (;;) {
		/* Two loads may tear: the compare-and-swap below then fails. */
		uint64_t b = __atomic_load_n(&s->block, __ATOMIC_ACQUIRE);
		uint64_t bits = __atomic_load_n(&s->bits, __ATOMIC_RELAXED);
		if (b > block)
			return -ERANGE;
		if (b == block && (bits & bit))
			return -EALREADY;
		uint64_t nbits = b == block ? bits | bit : bit;
		unsigned __int128 old = (unsigned __int128)b | (unsigned __int128)bits << 64;
		unsigned __int128 neu = (unsigned __int128)block | (unsigned __int128)nbits << 64;
		if (__sync_bool_compare_and_swap(w, old, neu))
			return 0;
	}
}

/* Record an authenticated counter (advancing the window if it is the newest).
 * Returns 0, or -ERANGE (state unchanged) for a counter check would refuse as
 * out of range. Recording a counter twice is harmless. */
static inline int ipop_replay_update(struct ipop_replay *r, uint64_t counter)
{
	if (ipop_replay_out_of_range(r, counter))
		return -ERANGE;
	int e = ipop_replay_mark(r, counter);
	if (e == -ERANGE)
		return e;
	if (counter > __atomic_load_n(&r->top, __ATOMIC_RELAXED))
		__atomic_store_n(&r->top, counter, __ATOMIC_RELAXED);
	return 0;
}

/* The receive path's step once a packet has authenticated: 0 for exactly one
 * caller per counter (the counter is then recorded), else -EALREADY or
 * -ERANGE as ipop_replay_check says. */
static inline int ipop_replay_accept(struct ipop_replay *r, uint64_t counter)
{
	if (ipop_replay_out_of_range(r, counter))
		return -ERANGE;
	int e = ipop_replay_mark(r, counter);
	if (e != 0)
		return e;
	if (counter > __atomic_load_n(&r->top, __ATOMIC_RELAXED))
		__atomic_store_n(&r->top, counter, __ATOMIC_RELAXED);
	return 0;
}

/* Most counters one call of ipop_replay_accept_run() takes at once; a longer
 * run is taken in pieces of this size. */
#define IPOP_REPLAY_RUN_MAX 64u

/* ipop_replay_accept() for ctr[0..n-1] in that order, with one 16-byte
 * compare-and-swap per ring slot touched (a run of consecutive counters: one
 * per 64, at most IPOP_REPLAY_SLOTS per piece) instead of one per counter:
 * the run's bits are ORed per slot, the slot moved to the run's newest block
 * for it, and each slot swapped once (redone for that slot alone when another
 * lcore changed it meanwhile). res[i] is what ipop_replay_accept() would have
 * returned for ctr[i] after ctr[0..i-1]: 0 for exactly one caller per counter
 * (across lcores, as ipop_replay_accept), -EALREADY if it was accepted before
 * or appears earlier in the run, -ERANGE if out of range (counters the run
 * accepted move the window for the ones after them) or its slot holds a newer
 * block. Only authenticated counters may be passed. Returns the number of
 * counters accepted. */
unsigned ipop_replay_accept_run(struct ipop_replay *r, const uint64_t *ctr, unsigned n,
				int *res);

#endif

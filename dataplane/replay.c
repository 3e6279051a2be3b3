/* replay.c - sliding anti-replay window (see replay.h for the rules).
 *
 * Thread: fast path, any number of lcores per window. The per-packet work is
 * inline in replay.h; nothing is cleared when the window moves: a slot that
 * holds an older block counts as empty for a newer one. The run form below
 * is out of line: it is called once per run of one session's frames.
 */
#include "dataplane/replay.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

void ipop_replay_init(struct ipop_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* A ring slot a run touches: what it held when loaded (what the
 * compare-and-swap expects) and what it holds with the run's counters. */
struct run_slot {
	unsigned w;
	uint64_t block, bits;
	uint64_t nblock, nbits;
};

#define RUN_OUT 0xffu   /* counter refused by the range check: no slot */

static void run_slot_load(struct ipop_replay *r, struct run_slot *s)
{
	/* Two loads may tear: the compare-and-swap then fails and reloads. */
	s->block = __atomic_load_n(&r->slot[s->w].block, __ATOMIC_ACQUIRE);
	s->bits = __atomic_load_n(&r->slot[s->w].bits, __ATOMIC_RELAXED);
	s->nblock = s->block;
	s->nbits = s->bits;
}

/* ipop_replay_mark() on the run's copy of the slot. */
static int run_slot_mark(struct run_slot *s, uint64_t counter)
{
	uint64_t block = counter / 64, bit = UINT64_C(1) << (counter % 64);

	if (s->nblock > block)
		return -ERANGE;
	if (s->nblock == block) {
		if (s->nbits & bit)
			return -EALREADY;
		s->nbits |= bit;
		return 0;
	}
	s->nblock = block;
	s->nbits = bit;
	return 0;
}

/* The counters c0 + i, i in [from, to), all in block (c0 + from) / 64: one
 * slot, marked with one mask and one compare-and-swap (retried on what the
 * slot holds now if another lcore changed it). Returns the newest accepted
 * counter + 1, or 0 if none was. */
static uint64_t accept_block(struct ipop_replay *r, uint64_t c0, unsigned from, unsigned to,
			     int *res)
{
	uint64_t first = c0 + from, block = first / 64;
	unsigned lo = (unsigned)(first % 64), cnt = to - from;
	uint64_t mask = (cnt == 64 ? UINT64_MAX : (UINT64_C(1) << cnt) - 1) << lo;
	struct ipop_replay_slot *slot = &r->slot[ipop_replay_word(first)];
	unsigned __int128 *wp = (unsigned __int128 *)slot;
	uint64_t sb, sbits, dup;

	for (;;) {
		/* Two loads may tear: the compare-and-swap then fails and reloads. */
		sb = __atomic_load_n(&slot->block, __ATOMIC_ACQUIRE);
		sbits = __atomic_load_n(&slot->bits, __ATOMIC_RELAXED);
		if (sb > block) {   /* the slot moved on: all too old */
			for (unsigned i = from; i < to; i++)
				res[i] = -ERANGE;
			return 0;
		}
		dup = sb == block ? sbits & mask : 0;
		if (dup == mask)
			break;   /* nothing new: nothing to write */
		unsigned __int128 old = (unsigned __int128)sb | (unsigned __int128)sbits << 64;
		unsigned __int128 neu = (unsigned __int128)block |
					(unsigned __int128)((sb == block ? sbits : 0) | mask) << 64;
		if (__sync_bool_compare_and_swap(wp, old, neu))
			break;
	}
	for (unsigned i = from; i < to; i++)
		res[i] = 0;
	for (uint64_t d = dup; d != 0; d &= d - 1)
		res[from + (unsigned)__builtin_ctzll(d) - lo] = -EALREADY;
	uint64_t got = mask & ~dup;
	return got == 0 ? 0 : block * 64 + (uint64_t)(63 - __builtin_clzll(got)) + 1;
}

/* A piece of consecutive counters c0, c0 + 1, ... (a session's frames in
 * order: the common case) whose oldest is inside the window and newest below
 * the limit: decided per block (at most two) instead of per counter, with the
 * results of one at a time (tests/unit/test_replay.c compares them). */
static unsigned accept_consecutive(struct ipop_replay *r, uint64_t c0, unsigned n, int *res)
{
	unsigned split = (unsigned)(64 - c0 % 64), accepted = 0;
	uint64_t newest = accept_block(r, c0, 0, split < n ? split : n, res);

	if (split < n) {
		uint64_t nw = accept_block(r, c0, split, n, res);
		if (nw > newest)
			newest = nw;
	}
	for (unsigned i = 0; i < n; i++)
		accepted += res[i] == 0;
	if (newest != 0 && newest - 1 > __atomic_load_n(&r->top, __ATOMIC_RELAXED))
		__atomic_store_n(&r->top, newest - 1, __ATOMIC_RELAXED);
	return accepted;
}

static bool consecutive(const uint64_t *ctr, unsigned n)
{
	uint64_t diff = 0;

	for (unsigned i = 1; i < n; i++)
		diff |= ctr[i] - ctr[0] - i;
	return diff == 0;
}

static unsigned accept_piece(struct ipop_replay *r, const uint64_t *ctr, unsigned n, int *res)
{
	struct run_slot rs[IPOP_REPLAY_SLOTS];
	uint8_t at[IPOP_REPLAY_RUN_MAX];          /* counter i's entry in rs, or RUN_OUT */
	unsigned ns = 0, k = 0, accepted = 0;
	uint64_t top = __atomic_load_n(&r->top, __ATOMIC_RELAXED), newest = 0;
	uint64_t cur = UINT64_MAX, nblock = 0, nbits = 0;   /* rs[k]'s new state while in use */
	bool retried = false;

	if (n > 0 && (ctr[0] >= top || top - ctr[0] < IPOP_REPLAY_WINDOW) &&
	    ctr[0] < IPOP_REJECT_AFTER_MESSAGES - IPOP_REPLAY_RUN_MAX && consecutive(ctr, n))
		return accept_consecutive(r, ctr[0], n, res);
	/* In order, as ipop_replay_accept() one by one, on copies of the slots;
	 * top is this run's own view, moved by what it accepts. The slot in use
	 * stays in registers while the counters stay in its block (the common
	 * case: a run of consecutive counters changes block once in 64). */
	for (unsigned i = 0; i < n; i++) {
		uint64_t c = ctr[i], block = c / 64, bit = UINT64_C(1) << (c % 64);
		if (c >= IPOP_REJECT_AFTER_MESSAGES || (c < top && top - c >= IPOP_REPLAY_WINDOW)) {
			res[i] = -ERANGE;
			at[i] = RUN_OUT;
			continue;
		}
		if (block != cur) {
			if (cur != UINT64_MAX) {
				rs[k].nblock = nblock;
				rs[k].nbits = nbits;
			}
			unsigned w = ipop_replay_word(c);
			for (k = 0; k < ns && rs[k].w != w; k++)
				;
			if (k == ns) {
				rs[ns].w = w;
				run_slot_load(r, &rs[ns++]);
			}
			cur = block;
			nblock = rs[k].nblock;
			nbits = rs[k].nbits;
		}
		at[i] = (uint8_t)k;
		/* ipop_replay_mark() on the copy. */
		if (nblock > block) {
			res[i] = -ERANGE;
			continue;
		}
		if (nblock == block && (nbits & bit)) {
			res[i] = -EALREADY;
			continue;
		}
		nbits = nblock == block ? nbits | bit : bit;
		nblock = block;
		res[i] = 0;
		accepted++;
		if (c > top)
			top = c;
		if (c > newest)
			newest = c;
	}
	if (cur != UINT64_MAX) {
		rs[k].nblock = nblock;
		rs[k].nbits = nbits;
	}
	/* One compare-and-swap per slot that changed. If another lcore changed
	 * it meanwhile, this slot's counters are marked again on what it holds
	 * now (the range decisions stand: a counter that moved top was accepted
	 * by this run or by the other lcore, or the window moved further). */
	for (unsigned e = 0; e < ns; e++) {
		struct run_slot *s = &rs[e];
		unsigned __int128 *wp = (unsigned __int128 *)&r->slot[s->w];
		while (s->nblock != s->block || s->nbits != s->bits) {
			unsigned __int128 old = (unsigned __int128)s->block |
						(unsigned __int128)s->bits << 64;
			unsigned __int128 neu = (unsigned __int128)s->nblock |
						(unsigned __int128)s->nbits << 64;
			if (__sync_bool_compare_and_swap(wp, old, neu))
				break;
			run_slot_load(r, s);
			for (unsigned i = 0; i < n; i++)
				if (at[i] == e)
					res[i] = run_slot_mark(s, ctr[i]);
			retried = true;
		}
	}
	if (__builtin_expect(retried, 0)) {
		accepted = 0;
		newest = 0;
		for (unsigned i = 0; i < n; i++) {
			if (res[i] == 0) {
				accepted++;
				if (ctr[i] > newest)
					newest = ctr[i];
			}
		}
	}
	if (newest > __atomic_load_n(&r->top, __ATOMIC_RELAXED))
		__atomic_store_n(&r->top, newest, __ATOMIC_RELAXED);
	return accepted;
}

unsigned ipop_replay_accept_run(struct ipop_replay *r, const uint64_t *ctr, unsigned n, int *res)
{
	unsigned accepted = 0;

	for (unsigned i = 0; i < n; i += IPOP_REPLAY_RUN_MAX) {
		unsigned k = n - i < IPOP_REPLAY_RUN_MAX ? n - i : IPOP_REPLAY_RUN_MAX;
		accepted += accept_piece(r, ctr + i, k, res + i);
	}
	return accepted;
}

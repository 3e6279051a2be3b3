/* replay.c - sliding anti-replay window (see replay.h for the rules).
 *
 * Thread: fast path, single writer per window.
 *
 * The window only ever moves forward. When it does, the words between the old
 * and the new top are cleared (at most the whole ring), which is O(jump / 64)
 * instead of shifting the whole bitmap. Bits left over in the oldest word
 * belong to counters already outside the window and are never consulted,
 * because the range test comes first.
 */
#include "dataplane/replay.h"

#include <errno.h>
#include <string.h>

void ipop_replay_init(struct ipop_replay *r)
{
	memset(r, 0, sizeof(*r));
}

static unsigned word_of(uint64_t counter)
{
	return (unsigned)((counter / 64) & (IPOP_REPLAY_WORDS - 1));
}

static uint64_t bit_of(uint64_t counter)
{
	return UINT64_C(1) << (counter % 64);
}

static int out_of_range(const struct ipop_replay *r, uint64_t counter)
{
	if (counter >= IPOP_REJECT_AFTER_MESSAGES)
		return 1;
	return counter < r->top && r->top - counter >= IPOP_REPLAY_WINDOW;
}

int ipop_replay_check(const struct ipop_replay *r, uint64_t counter)
{
	if (out_of_range(r, counter))
		return -ERANGE;
	if (counter > r->top)
		return 0;
	return (r->bitmap[word_of(counter)] & bit_of(counter)) ? -EALREADY : 0;
}

static void advance(struct ipop_replay *r, uint64_t counter)
{
	uint64_t cur = r->top / 64;
	uint64_t steps = counter / 64 - cur;

	if (steps > IPOP_REPLAY_WORDS)
		steps = IPOP_REPLAY_WORDS;
	for (uint64_t i = 1; i <= steps; i++)
		r->bitmap[(cur + i) & (IPOP_REPLAY_WORDS - 1)] = 0;
	r->top = counter;
}

int ipop_replay_update(struct ipop_replay *r, uint64_t counter)
{
	if (out_of_range(r, counter))
		return -ERANGE;
	if (counter > r->top)
		advance(r, counter);
	r->bitmap[word_of(counter)] |= bit_of(counter);
	return 0;
}

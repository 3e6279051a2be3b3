/* replay.c - sliding anti-replay window (see replay.h for the rules).
 *
 * Thread: fast path, single writer per window. The per-packet checks are
 * inline in replay.h (two calls per packet otherwise); moving the window
 * forward is here.
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

void ipop_replay_advance(struct ipop_replay *r, uint64_t counter)
{
	uint64_t cur = r->top / 64;
	uint64_t steps = counter / 64 - cur;

	if (steps > IPOP_REPLAY_WORDS)
		steps = IPOP_REPLAY_WORDS;
	for (uint64_t i = 1; i <= steps; i++)
		r->bitmap[(cur + i) & (IPOP_REPLAY_WORDS - 1)] = 0;
	r->top = counter;
}

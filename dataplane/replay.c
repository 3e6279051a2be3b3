/* replay.c - sliding anti-replay window (see replay.h for the rules).
 *
 * Thread: fast path, any number of lcores per window. The per-packet work is
 * inline in replay.h; nothing is cleared when the window moves: a slot that
 * holds an older block counts as empty for a newer one.
 */
#include "dataplane/replay.h"

#include <errno.h>
#include <string.h>

void ipop_replay_init(struct ipop_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* timers.h - the per-peer session timers (timers.c lists them). Thread:
 * control, from the 10 ms tick.
 */
#ifndef IPOP_CONTROL_SESSION_TIMERS_H
#define IPOP_CONTROL_SESSION_TIMERS_H

#include <stdint.h>

struct ipop_node;

/* Run every peer's timers once; changes are published by the tick's flush. */
void ipop_timers_run(struct ipop_node *n, uint64_t now_ms);

#endif

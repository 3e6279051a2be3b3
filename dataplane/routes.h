/* routes.h - transit routes: for each gateway of the directory (tables.h),
 * the neighbour that frames for it go to when there is no direct tunnel.
 *
 * Learnt on the fast path from what arrives: a flood copy or a transit frame
 * from gateway O that neighbour N handed us means N is on a path to O (the
 * reverse of the path the frame took: a Bounded Flood reaches each gateway
 * exactly once, so each gateway's route to O points at its parent in O's
 * flood tree, and those routes together form a tree towards O: no loop while
 * the adjacency holds still; the hop limit ends one caught in a change).
 *
 * Thread: fast path (learn, lookup on every lcore) and control (flush).
 * Protection: as the bridge (bridge.h), lock-free and lossy. One 64-bit word
 * per directory slot, written with a single relaxed store:
 *   bits 63..32  coarse second of the last confirmation
 *   bits 31..0   neighbour's peer slot + 1 (0: no route)
 * Two lcores learning at once: one wins, the other rewrites on its next frame.
 * Learning writes only on a change or once a second, so steady traffic does
 * not bounce the line. A route older than the ageing time reads as none.
 */
#ifndef IPOP_DATAPLANE_ROUTES_H
#define IPOP_DATAPLANE_ROUTES_H

#include <stdint.h>

#include "dataplane/tables.h"

struct ipop_routes {
	uint32_t age_s;
	uint64_t w[IPOP_MAX_GATEWAYS] __attribute__((aligned(64)));
};

static inline void ipop_routes_init(struct ipop_routes *r, uint32_t age_s)
{
	for (unsigned g = 0; g < IPOP_MAX_GATEWAYS; g++)
		r->w[g] = 0;
	r->age_s = age_s;
}

/* Gateway slot g is reached through peer slot nbr. */
static inline void ipop_routes_learn(struct ipop_routes *r, unsigned g, uint16_t nbr, uint32_t now_s)
{
	uint64_t want = (uint64_t)now_s << 32 | (uint32_t)(nbr + 1u);

	if (__atomic_load_n(&r->w[g], __ATOMIC_RELAXED) != want)
		__atomic_store_n(&r->w[g], want, __ATOMIC_RELAXED);
}

/* The neighbour's peer slot for gateway slot g, or IPOP_GW_NO_PEER. */
static inline uint16_t ipop_routes_lookup(const struct ipop_routes *r, unsigned g, uint32_t now_s)
{
	uint64_t w = __atomic_load_n(&r->w[g], __ATOMIC_RELAXED);
	uint32_t nbr1 = (uint32_t)w, seen = (uint32_t)(w >> 32);

	/* Signed: another lcore's clock may be a second ahead of ours. */
	if (nbr1 == 0 || (int32_t)(now_s - seen) > (int32_t)r->age_s)
		return IPOP_GW_NO_PEER;
	return (uint16_t)(nbr1 - 1);
}

/* Control: forget gateway slot g's route (the slot is freed). */
void ipop_routes_forget(struct ipop_routes *r, unsigned g);
/* Control: forget every route through peer slot nbr (its link went down);
 * returns how many. Frames for those gateways are flooded until relearnt. */
unsigned ipop_routes_flush_nbr(struct ipop_routes *r, uint16_t nbr);

#endif

/* routes.h - transit routes: for each gateway of the directory (tables.h),
 * the neighbour that frames for it go to when there is no direct tunnel.
 *
 * Learnt on the fast path from what arrives. A flood copy from gateway O that
 * neighbour N handed us means N is our parent in O's flood tree (a Bounded
 * Flood reaches each gateway exactly once), so routes learnt from floods
 * together form a tree towards O: no loop while the adjacency holds still; the
 * hop limit ends one caught in a change. A transit frame from O that N handed
 * us says only that N is on some path from O, which need not be O's tree:
 * routes learnt from those freely could point two gateways at each other
 * (seen in test_ring: transit_loop drops). So a transit frame only keeps a
 * route alive that points at the same neighbour, or fills in one where there
 * is none; it never moves a live route, and the next flood from O overrides
 * what it filled in.
 *
 * Thread: fast path (learn, lookup on every lcore) and control (flush).
 * Protection: as the bridge (bridge.h), lock-free and lossy. One 64-bit word
 * per directory slot, written with a single relaxed store:
 *   bits 63..32  coarse second of the last confirmation
 *   bit  16      learnt from a flood (a tree route)
 *   bits 15..0   neighbour's peer slot + 1 (0: no route)
 * Two lcores learning at once: one wins, the other rewrites on its next frame.
 * Learning writes only on a change or once a second, so steady traffic does
 * not bounce the line. A route older than the ageing time reads as none.
 */
#ifndef IPOP_DATAPLANE_ROUTES_H
#define IPOP_DATAPLANE_ROUTES_H

#include <stdbool.h>
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

#define IPOP_ROUTE_NBR_MASK 0xffffu
#define IPOP_ROUTE_TREE (1u << 16)

static inline bool ipop_routes_live(const struct ipop_routes *r, uint64_t w, uint32_t now_s)
{
	/* Signed: another lcore's clock may be a second ahead of ours. */
	return (w & IPOP_ROUTE_NBR_MASK) != 0 && (int32_t)(now_s - (uint32_t)(w >> 32)) <= (int32_t)r->age_s;
}

/* A flood copy from gateway slot g came through peer slot nbr: our parent in
 * g's flood tree. */
static inline void ipop_routes_learn(struct ipop_routes *r, unsigned g, uint16_t nbr, uint32_t now_s)
{
	uint64_t want = (uint64_t)now_s << 32 | IPOP_ROUTE_TREE | (uint32_t)(nbr + 1u);

	if (__atomic_load_n(&r->w[g], __ATOMIC_RELAXED) != want)
		__atomic_store_n(&r->w[g], want, __ATOMIC_RELAXED);
}

/* A transit frame from gateway slot g came through peer slot nbr: refresh the
 * route if it points there, fill it in if there is none, else leave it. */
static inline void ipop_routes_confirm(struct ipop_routes *r, unsigned g, uint16_t nbr, uint32_t now_s)
{
	uint64_t w = __atomic_load_n(&r->w[g], __ATOMIC_RELAXED);
	uint32_t low = (uint32_t)w;

	if (!ipop_routes_live(r, w, now_s))
		low = (uint32_t)(nbr + 1u);
	else if ((low & IPOP_ROUTE_NBR_MASK) != (uint32_t)(nbr + 1u))
		return;
	uint64_t want = (uint64_t)now_s << 32 | low;
	if (w != want)
		__atomic_store_n(&r->w[g], want, __ATOMIC_RELAXED);
}

/* The neighbour's peer slot for gateway slot g, or IPOP_GW_NO_PEER. */
static inline uint16_t ipop_routes_lookup(const struct ipop_routes *r, unsigned g, uint32_t now_s)
{
	uint64_t w = __atomic_load_n(&r->w[g], __ATOMIC_RELAXED);

	if (!ipop_routes_live(r, w, now_s))
		return IPOP_GW_NO_PEER;
	return (uint16_t)((w & IPOP_ROUTE_NBR_MASK) - 1);
}

/* Control: forget gateway slot g's route (the slot is freed). */
void ipop_routes_forget(struct ipop_routes *r, unsigned g);
/* Control: forget every route through peer slot nbr (its link went down);
 * returns how many. Frames for those gateways are flooded until relearnt. */
unsigned ipop_routes_flush_nbr(struct ipop_routes *r, uint16_t nbr);

#endif

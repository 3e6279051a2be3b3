/* routes.c - the control thread's side of the transit routes (routes.h).
 * Thread: control. */
#include "dataplane/routes.h"

void ipop_routes_forget(struct ipop_routes *r, unsigned g)
{
	if (g < IPOP_MAX_GATEWAYS)
		__atomic_store_n(&r->w[g], 0, __ATOMIC_RELAXED);
}

unsigned ipop_routes_flush_nbr(struct ipop_routes *r, uint16_t nbr)
{
	unsigned n = 0;

	for (unsigned g = 0; g < IPOP_MAX_GATEWAYS; g++) {
		uint64_t w = __atomic_load_n(&r->w[g], __ATOMIC_RELAXED);
		if (w != 0 && (w & IPOP_ROUTE_NBR_MASK) == (uint32_t)nbr + 1u &&
		    __atomic_compare_exchange_n(&r->w[g], &w, 0, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			n++;
	}
	return n;
}

/* flood.c - Bounded Flood forwarding decision (see flood.h for the proof).
 *
 * Thread: either (pure, allocation-free). */
#include "dataplane/flood.h"

#include <errno.h>

int ipop_flood_next_hops(struct ipop_node_id self, const struct ipop_node_id *nbrs,
			 size_t n, const struct ipop_node_id *bound,
			 struct ipop_flood_fwd *out, size_t cap)
{
	struct ipop_node_id b, prev_dist = { 0, 0 };
	size_t start, m = 0;

	if (!nbrs || !out || n > INT32_MAX)
		return -EINVAL;
	if (n == 0)
		return 0;
	b = bound ? *bound : self;
	/* Start at the first neighbour clockwise after self, walk at most once
	 * around, stop at the first one outside the arc (self, b). */
	start = ipop_ring_lower_bound(nbrs, n, self);
	for (size_t step = 0, i = start % n; step < n; step++, i = i + 1 < n ? i + 1 : 0) {
		struct ipop_node_id d = ipop_ring_dist(self, nbrs[i]);

		if (ipop_node_id_is_zero(d))
			return -EINVAL;                 /* self listed as a neighbour */
		if (step > 0 && ipop_node_id_cmp(d, prev_dist) <= 0)
			return -EINVAL;                 /* not sorted / duplicate */
		if (!ipop_ring_in_oo(nbrs[i], self, b))
			break;
		if (m == cap)
			return -ENOSPC;
		if (m > 0)
			out[m - 1].bound = nbrs[i];
		out[m].nbr = (uint32_t)i;
		out[m].bound = b;
		prev_dist = d;
		m++;
	}
	return (int)m;
}

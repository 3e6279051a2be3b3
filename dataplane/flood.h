/* flood.h - Bounded Flood: where a broadcast frame goes next, and with which bound.
 *
 * Thread: either (pure, allocation-free, O(log d + f) for d neighbours and f
 * forwards). The lcores call it per broadcast frame with the adjacency of the
 * current table snapshot; the simulator (bench/sim/) calls the same function.
 *
 * The problem. Gateways form a cyclic overlay (successor ring plus Symphony
 * long-distance and on-demand links). A layer-2 broadcast must reach every
 * gateway exactly once, with no spanning tree and no disabled links.
 *
 * The rule (IPOP's Bounded Flood, Subratie's dissertation ch. 6). A copy of
 * the frame carries a bound B, a node ID, in its FRB header. The node that
 * holds a copy owns the open arc (self, B) of the ring, walking clockwise; the
 * originator owns the whole ring but itself, written B = self. It hands the
 * arc out to the neighbours that lie inside it: with n_1 .. n_m those
 * neighbours in clockwise order from self, n_i gets a copy with bound n_{i+1}
 * and n_m gets B. Nothing else is sent.
 *
 * Why no node ever gets two copies (whatever the links are). The arcs given
 * to n_1 .. n_m, (n_i, n_{i+1}) and (n_m, B), are disjoint, lie inside (self,
 * B), and none contains any n_i. So by induction down the forwarding tree,
 * every copy's arc is disjoint from every other copy's arc and from every
 * node that already holds a copy, and a node gets a copy only from a node
 * whose arc contains it. Two copies would need two disjoint arcs containing
 * the same node. This holds for any adjacency, stale or asymmetric views
 * included; churn can only lose copies, never duplicate them.
 *
 * Why every node gets one (on a ring with successor links). The arc (self, B)
 * minus the forwarded arcs and receivers is exactly (self, n_1). If every
 * node is adjacent to its ring successor (the first live node clockwise),
 * that gap is empty: n_1 is the successor whenever the successor lies in the
 * arc, and if the arc holds any node it holds the successor. Every node of
 * the arc is then either some n_i or inside exactly one forwarded arc, and
 * by induction on the number of nodes in the arc, all of them are reached.
 *
 * Why it terminates. A forwarded arc never contains its receiver, so each
 * arc holds strictly fewer nodes than its parent's: at most N - 1 hops, and
 * at most N - 1 copies in total (one per node).
 */
#ifndef IPOP_DATAPLANE_FLOOD_H
#define IPOP_DATAPLANE_FLOOD_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/ring.h"

/* One copy to send: to nbrs[nbr] with this bound in its FRB header. */
struct ipop_flood_fwd {
	uint32_t nbr;
	struct ipop_node_id bound;
};

/* Computes the copies to send.
 *   self   this node's ID;
 *   nbrs   the IDs of the neighbours the frame may go to (tunnels up),
 *          strictly increasing (ipop_ring_is_sorted), self not included;
 *   n      their number (at most INT32_MAX);
 *   bound  the bound from the received FRB header, or NULL when this node
 *          originates the broadcast (it then owns the whole ring);
 *   out    room for cap entries; at most n are ever written.
 * The frame's sender is never chosen (it lies outside (self, bound)).
 * Returns the number of copies (>= 0), or -EINVAL for NULL arguments, a
 * neighbour equal to self, or neighbours found out of order along the walk
 * (checked as they are visited, so a bad table is reported rather than
 * looping frames), or -ENOSPC if cap is too small (nothing is to be sent
 * then). */
int ipop_flood_next_hops(struct ipop_node_id self, const struct ipop_node_id *nbrs,
			 size_t n, const struct ipop_node_id *bound,
			 struct ipop_flood_fwd *out, size_t cap);

#endif

/* symphony.h - Symphony topology: which links a node wants, and in what order
 * to change its links to get there.
 *
 * Thread: control (pure functions; the caller owns every buffer and the RNG).
 *
 * Gateways sit on the node-ID ring (dataplane/ring.h). Each one keeps:
 *  - s successor links to the s nodes that follow it clockwise. They keep
 *    the ring connected through any s-1 adjacent failures, and the first one
 *    is what lets Bounded Flood reach every node (dataplane/flood.h);
 *  - k long-distance links drawn from Symphony's harmonic distribution
 *    (Manku, Bawa, Raghavan, USITS 2003): a fraction x of the ring with
 *    density 1/(x ln n) on [1/n, 1), i.e. x = n^(u-1) for uniform u, and a
 *    link to the manager of self + x (the first node at or after that point).
 *    n is estimated locally from the spacing of neighbouring IDs, and k
 *    defaults to round(log2 n), which gives O(log n) average path length;
 *  - static links from the configuration and on-demand links to chatty
 *    peers, both kept as long as the peer is present.
 * Incoming long-distance requests are capped (default 2k), so no node
 * becomes a hub; the requester draws again elsewhere.
 *
 * A link here is an intent owned by the node that chose it ("outgoing"); a
 * tunnel between two nodes exists while either of them holds a link to the
 * other. The builder decides only this node's outgoing links; incoming ones
 * are the peers' business, answered with ipop_sym_accept().
 *
 * docs/overlay-algorithms.md describes the rules and their measured effect.
 */
#ifndef IPOP_CONTROL_TOPOLOGY_SYMPHONY_H
#define IPOP_CONTROL_TOPOLOGY_SYMPHONY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/ring.h"
#include "control/topology/link_type.h"
#include "control/topology/rng.h"

enum ipop_topo_link_state {
	IPOP_TOPO_PENDING = 0,   /* requested, tunnel not up yet */
	IPOP_TOPO_UP = 1,
};

struct ipop_topo_link {
	struct ipop_node_id peer;
	uint8_t type;            /* enum ipop_link_type */
	uint8_t state;           /* enum ipop_topo_link_state */
	uint8_t outgoing;        /* 1: this node chose it; 0: the peer chose it */
	uint8_t reserved;
	uint32_t n_est;          /* LONG: the size estimate it was drawn for (0: unknown) */
};

enum ipop_topo_op {
	IPOP_TOPO_ADD = 1,       /* request a new link of this type to peer */
	IPOP_TOPO_RETYPE = 2,    /* an existing outgoing link changes type */
	IPOP_TOPO_REMOVE = 3,    /* drop our link to peer */
};

struct ipop_topo_change {
	struct ipop_node_id peer;
	uint8_t op;              /* enum ipop_topo_op */
	uint8_t type;            /* ADD, RETYPE: new type; REMOVE: the type dropped */
	uint32_t n_est;          /* ADD of a LONG link: the estimate it was drawn for */
};

struct ipop_sym_params {
	unsigned successors;     /* s, >= 1 */
	unsigned long_links;     /* k; 0 = round(log2 of the size estimate), >= 1 */
	unsigned max_in_long;    /* cap on accepted incoming long links; 0 = 2k */
	unsigned max_ondemand;   /* cap on on-demand links, each direction */
	unsigned relink_factor;  /* redraw a long link once the size estimate moved
				  * by this factor since it was drawn; 0 = 2 */
	unsigned draw_attempts;  /* draws per wanted long link before giving up
				  * this round; 0 = 8 */
	unsigned est_neighbours; /* ring neighbours on each side whose spacing
				  * estimates n; 0 = max(s, 8) */
};

/* What the builder looks at. Arrays are read only. */
struct ipop_sym_input {
	struct ipop_node_id self;
	const struct ipop_node_id *cand;   /* live peers known (roster), strictly
					    * increasing; may contain self */
	size_t ncand;
	const struct ipop_topo_link *links;  /* current links, both directions,
					      * at most one per (peer, direction) */
	size_t nlinks;
	const struct ipop_node_id *statics;  /* configured static peers, any order */
	size_t nstatic;
	const struct ipop_node_id *ondemand; /* peers wanting an on-demand link */
	size_t nondemand;
	const struct ipop_node_id *refused;  /* peers that lately refused a long link:
					      * never drawn, and a long link to one
					      * that is not up is dropped */
	size_t nrefused;
};

/* What the builder produces, in caller-provided arrays. */
struct ipop_sym_plan {
	struct ipop_topo_link *adj;      /* desired outgoing links */
	size_t adj_cap;
	size_t nadj;
	struct ipop_topo_change *chg;    /* changes, in the order to apply them */
	size_t chg_cap;
	size_t nchg;
	double n_est;                    /* the size estimate used */
	unsigned k;                      /* long links wanted */
};

void ipop_sym_params_default(struct ipop_sym_params *p);
/* 0, or -EINVAL if a field is out of range. */
int ipop_sym_check_params(const struct ipop_sym_params *p);

/* Network size estimate from the spacing of the w nodes on each side:
 * (2w - 1) / (fraction of the ring from the w-th predecessor to the w-th
 * successor), the unbiased estimate for uniformly random IDs (its relative
 * spread is about 1/sqrt(2w): 35% for w = 2, 18% for w = 8). Exact (peers +
 * 1) when at most 2w peers are known. Always >= 1. */
double ipop_sym_estimate_n(struct ipop_node_id self, const struct ipop_node_id *cand,
			   size_t ncand, unsigned w);

/* The w the builder uses: est_neighbours, or max(s, 8). */
unsigned ipop_sym_est_neighbours(const struct ipop_sym_params *p);

/* How many ring neighbours on each side the builder's decisions depend on
 * (successors and the size estimate): a roster change farther away than
 * this cannot change a node's plan except through its own links. */
unsigned ipop_sym_window(const struct ipop_sym_params *p);

/* k and the incoming cap for a size estimate. */
unsigned ipop_sym_k(const struct ipop_sym_params *p, double n_est);
unsigned ipop_sym_max_in_long(const struct ipop_sym_params *p, double n_est);

/* Indices into cand of the first s peers clockwise from self (self skipped).
 * Returns how many were written (< s when fewer peers exist), or -EINVAL. */
int ipop_sym_successors(struct ipop_node_id self, const struct ipop_node_id *cand,
			size_t ncand, unsigned s, size_t *idx, size_t cap);

/* The ring point a long link aims at for uniform u in [0, 1): self + x with
 * x = n_est^(u-1) of the ring. */
struct ipop_node_id ipop_sym_long_point(struct ipop_node_id self, double n_est, double u);

/* The "too close" rule: a long link to peer is wasted if
 *  - peer is no farther clockwise than the s-th successor: a successor link
 *    already covers it (fresh draws that land there are discarded; an
 *    existing long link to a peer that became a successor is retyped), or
 *  - peer is closer than 1/n_est of the ring, the bottom of the harmonic
 *    distribution: a link drawn when the ring was larger has become a
 *    near-neighbour link as the ring shrank, and is redrawn.
 * (IPOP's GraphBuilder applies the second test with its distribution's
 * minimum; the first is implied there by keeping successors separate.) */
bool ipop_sym_too_close(struct ipop_node_id self, struct ipop_node_id peer,
			const struct ipop_node_id *cand, size_t ncand, unsigned s,
			double n_est);

/* Answer a peer's request for a link of this type to us: 0 to accept,
 * -EBUSY when the cap for the type is reached (long-distance: max_in_long,
 * on-demand: max_ondemand), -EINVAL for a bad type. Successor and static
 * requests are always accepted: the ring's correctness depends on them.
 * A request already granted is accepted again (idempotent). */
int ipop_sym_accept(const struct ipop_sym_params *p, double n_est,
		    const struct ipop_topo_link *links, size_t nlinks,
		    struct ipop_node_id peer, enum ipop_link_type type);

/* The graph builder. From in, decides the desired outgoing links (plan->adj)
 * and the changes that lead there from in->links (plan->chg), in this order:
 * additions of successors (nearest first), retypes, other additions, then
 * removals. A successor that is no longer among the s nearest is kept until
 * enough of the new ones are up, so the ring never loses a link before its
 * replacement works. The RNG is used only when a long link must be drawn, so
 * a converged node leaves it untouched and its plan is the identity.
 * Returns 0, -EINVAL for bad input (unsorted candidates, bad params), or
 * -ENOSPC if plan's arrays are too small (ipop_sym_plan_room tells). */
int ipop_sym_build(const struct ipop_sym_params *p, const struct ipop_sym_input *in,
		   struct ipop_rng *rng, struct ipop_sym_plan *plan);

/* Capacities of plan->adj and plan->chg that always suffice for in. */
void ipop_sym_plan_room(const struct ipop_sym_params *p, const struct ipop_sym_input *in,
			size_t *adj_cap, size_t *chg_cap);

#endif

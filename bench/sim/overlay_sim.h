/* overlay_sim.h - a round-based simulator of an ipop overlay: membership,
 * Symphony link management and Bounded Flood broadcasts.
 *
 * Thread: single-threaded tool code (bench and tests), not part of ipopd.
 *
 * It runs the real modules, not models of them: every topology decision is
 * ipop_sym_build()/ipop_sym_accept() (control/topology/symphony.h) and every
 * forwarding decision is ipop_flood_next_hops() (dataplane/flood.h), on the
 * ring arithmetic of dataplane/ring.h. What is simulated is only what lies
 * between them: the roster (XMPP presence), the link protocol (a request and
 * its answer, a removal notice) and time.
 *
 * Time is counted in rounds. One round is one tick of the topology timer,
 * long enough for a requested tunnel to come up and for a dead peer to be
 * noticed. In each round (sim_round):
 *   1. links requested in the previous round come up;
 *   2. nodes that crashed in the previous round are noticed: their links
 *      vanish from their peers and they leave the roster;
 *   3. nodes that asked to join enter the roster;
 *   4. every node whose inputs changed (a roster change within s places, a
 *      link lost, a refusal, a successor link up, a long-link deficit) runs the
 *      builder and its changes are carried out: an ADD is a request the peer
 *      answers at once with ipop_sym_accept (2 messages), the link comes up
 *      next round; RETYPE and REMOVE are one notice each.
 * Broadcasts are instantaneous against this clock and see the tunnels that
 * are up; a copy sent to a crashed node that is not yet noticed is lost.
 */
#ifndef IPOP_BENCH_SIM_OVERLAY_SIM_H
#define IPOP_BENCH_SIM_OVERLAY_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dataplane/ring.h"
#include "control/topology/symphony.h"
#include "control/topology/rng.h"

enum sim_node_state {
	SIM_ABSENT = 0,   /* not joined yet */
	SIM_JOINING,      /* asked to join; enters the roster next round */
	SIM_LIVE,
	SIM_CRASHED,      /* dead, not yet noticed by its peers */
	SIM_GONE,
};

struct sim_refusal {
	struct ipop_node_id peer;
	uint32_t until_round;
};

struct sim_node {
	struct ipop_node_id id;
	uint8_t state;
	bool dirty;
	struct ipop_sym_params p;
	struct ipop_rng rng;
	double n_est;
	unsigned k;                  /* long links wanted at its last build */
	struct ipop_topo_link *links;
	uint32_t nlinks, caplinks;
	struct sim_refusal *refused;
	uint32_t nrefused, caprefused;
};

struct sim_counters {
	uint64_t msgs;               /* link-protocol messages, all kinds */
	uint64_t add_req, add_ok, add_refused, add_dead;
	uint64_t removes, retypes;
	uint64_t builds;
	uint64_t changes;
};

struct sim_pending {
	uint32_t owner, peer;
};

struct sim {
	struct sim_node *nodes;
	uint32_t nnodes;
	/* The roster: IDs of nodes in it (live or crashed-unnoticed), sorted,
	 * with the node index of each. Every builder sees it as its candidates,
	 * as IPOP nodes see the XMPP group's presence. */
	struct ipop_node_id *roster;
	uint32_t *roster_node;
	uint32_t nroster;
	uint32_t *dirty;
	uint32_t ndirty;
	uint32_t *joining;
	uint32_t njoining;
	uint32_t *crashed;
	uint32_t ncrashed;
	struct sim_pending *pending;
	uint32_t npending, cappending;
	unsigned window;             /* largest s of any node: how far a roster change matters */
	uint32_t round;
	uint32_t refusal_rounds;     /* how long a refusal is remembered */
	struct sim_counters c;
	uint64_t changes_this_round;
	FILE *trace;                 /* if set: one line per change applied */
	/* builder scratch */
	struct ipop_topo_link *adj;
	struct ipop_topo_change *chg;
	size_t adj_cap, chg_cap;
};

/* Creates nnodes nodes with random IDs from seed, all SIM_ABSENT, each with
 * params p and its own RNG stream. Returns 0 or -ENOMEM/-EINVAL. */
int sim_init(struct sim *s, uint32_t nnodes, uint64_t seed, const struct ipop_sym_params *p);
void sim_free(struct sim *s);

/* Gives node i its own parameters (before it joins). */
int sim_set_params(struct sim *s, uint32_t i, const struct ipop_sym_params *p);
/* Sets node i's ID (before it joins); -EEXIST if another node has it. */
int sim_set_id(struct sim *s, uint32_t i, struct ipop_node_id id);

/* Events, taking effect at the next sim_round. */
int sim_join(struct sim *s, uint32_t i);
int sim_crash(struct sim *s, uint32_t i);

void sim_round(struct sim *s);
/* Runs rounds until one passes with no change, nothing pending and nobody
 * joining or crashed; returns the rounds run, or -ETIMEDOUT after max. */
int sim_converge(struct sim *s, unsigned max_rounds);

/* Runs every live node's builder on a copy of its RNG and counts nodes whose
 * plan is not the identity, split into deterministic changes (successors,
 * static, on-demand, retypes, removals) and fresh long-link draws (a node
 * short of long links after failed draws). */
void sim_sweep(struct sim *s, uint64_t *nodes_det, uint64_t *nodes_draw);

/* Node index of a roster position, and roster position of an ID. */
int sim_roster_pos(const struct sim *s, struct ipop_node_id id, uint32_t *pos);
uint32_t sim_live_count(const struct sim *s);

/* ---- the data plane: tunnels that are up, as sorted neighbour lists ---- */

struct sim_dp {
	uint32_t n;                  /* roster positions */
	uint32_t *off;               /* n + 1 offsets */
	struct ipop_node_id *nbr_id; /* neighbour IDs, sorted per node */
	uint32_t *nbr_pos;           /* their roster positions */
	uint8_t *down;               /* per position: 0 up, SIM_DP_LOST, SIM_DP_NOTICED */
	uint32_t *node;              /* node index per position */
	struct ipop_node_id *id;     /* ID per position */
	uint8_t *newcomer;           /* per position: joined in the event under study */
};

#define SIM_DP_LOST    1   /* crashed: copies sent to it vanish */
#define SIM_DP_NOTICED 2   /* crashed and noticed: no longer anyone's neighbour */

int sim_dp_build(const struct sim *s, struct sim_dp *dp);
void sim_dp_free(struct sim_dp *dp);

struct sim_bcast {
	uint64_t broadcasts;
	uint64_t receipts;           /* copies that reached a live node */
	uint64_t duplicates;         /* copies beyond the first at one node */
	uint64_t missed;             /* (broadcast, live node) pairs with no copy */
	uint64_t missed_new;         /* the same, for nodes marked newcomer */
	uint64_t lost;               /* copies sent to a crashed node */
	uint64_t hops_sum;           /* over first copies */
	uint32_t hops_max;
	uint64_t incomplete;         /* broadcasts that missed someone */
	uint64_t bad;                /* ipop_flood_next_hops errors (must stay 0) */
};

struct sim_bcast_scratch {
	uint32_t *copies, *queue_pos, *queue_hops;
	struct ipop_node_id *queue_bound;
	uint8_t *queue_has_bound;
	struct ipop_flood_fwd *fwd;
	struct ipop_node_id *tmp_ids;
	uint32_t *tmp_pos;
	uint32_t n, maxdeg;
};

int sim_bcast_scratch_init(struct sim_bcast_scratch *sc, const struct sim_dp *dp);
void sim_bcast_scratch_free(struct sim_bcast_scratch *sc);
/* One broadcast from roster position src with Bounded Flood; accumulates. */
void sim_broadcast(const struct sim_dp *dp, struct sim_bcast_scratch *sc, uint32_t src,
		   struct sim_bcast *out);
/* Shortest-path hops from src over tunnels that are up (BFS); accumulates
 * the sum and max over reachable live nodes, returns how many were reached. */
uint32_t sim_bfs(const struct sim_dp *dp, struct sim_bcast_scratch *sc, uint32_t src,
		 uint64_t *sum, uint32_t *max);

#endif

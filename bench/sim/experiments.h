/* experiments.h - the measurements the simulator reports: growth, broadcast
 * delivery and path length, links per node, adjacent failures, churn.
 *
 * Thread: single-threaded tool code. Shared by bench/sim/ipop_sim.c (large n,
 * JSON and plots) and tests/unit/test_overlay.c (acceptance on small n).
 */
#ifndef IPOP_BENCH_SIM_EXPERIMENTS_H
#define IPOP_BENCH_SIM_EXPERIMENTS_H

#include "bench/sim/overlay_sim.h"

/* Joins nodes first .. first+count-1 (random IDs, so index order is a random
 * ring order) in batches of 1 + n/32 per round, then converges. Returns 0 or
 * -ETIMEDOUT; *rounds gets the rounds from the last join until quiet. */
int exp_grow(struct sim *s, uint32_t first, uint32_t count, unsigned max_rounds,
	     uint32_t *rounds);

struct exp_flood {
	struct sim_bcast b;
	uint32_t sources;
	double avg_hops;             /* Bounded Flood hops to each node, mean */
	uint32_t max_hops;
	uint32_t bfs_sources;
	double bfs_avg;              /* shortest path over the same tunnels */
	uint32_t bfs_max;
	uint64_t bfs_unreached;
};

/* Broadcasts from every live node, or from max_sources random ones. */
int exp_flood(const struct sim *s, uint32_t max_sources, uint32_t bfs_sources, uint64_t seed,
	      struct exp_flood *out);

struct exp_links {
	double out[IPOP_LINK_NTYPES];   /* mean per live node, by type */
	double in[IPOP_LINK_NTYPES];
	uint32_t in_long_max;
	double degree_avg;              /* tunnels up (distinct peers) */
	uint32_t degree_max;
	double k_avg;                   /* long links wanted (auto k) */
	double n_est_ratio;             /* mean n_est / n */
	double n_est_within2;           /* fraction of nodes within 2x of n */
	uint32_t short_of_k;            /* nodes with fewer long links than they want */
	uint32_t live;
};

void exp_links(const struct sim *s, struct exp_links *out);

/* m adjacent nodes fail at a position, for every position (or max_positions
 * random ones); the network is not changed. Broadcasts run before the
 * failure is noticed (copies to the dead are lost) and after it is noticed
 * but before any repair. */
struct exp_adj {
	unsigned m;
	uint32_t positions;
	uint64_t ring_gaps;          /* the node before the gap has no tunnel past it */
	uint64_t graph_split;        /* live nodes no longer all connected */
	struct sim_bcast unnoticed;
	struct sim_bcast noticed;
};

int exp_adjacent(const struct sim *s, unsigned m, uint32_t max_positions, uint32_t sources,
		 uint64_t seed, struct exp_adj *out);

enum exp_event {
	EXP_LEAVE = 0,    /* m nodes at random places crash */
	EXP_LEAVE_ADJ,    /* m adjacent nodes crash */
	EXP_JOIN,         /* m nodes join at random places */
	EXP_JOIN_GAP,     /* m nodes join into the same gap */
	EXP_MIXED,        /* m random crashes and m random joins at once */
};

#define EXP_TIMELINE 12

struct exp_churn {
	enum exp_event ev;
	unsigned m;
	uint32_t trials;
	uint32_t timeouts;
	uint64_t rounds_incomplete_sum;   /* rounds whose broadcasts missed anyone */
	uint32_t rounds_incomplete_max;
	uint64_t rounds_old_missed_sum;   /* ... missed a node that was there before */
	uint32_t rounds_old_missed_max;
	uint64_t rounds_converge_sum;
	uint32_t rounds_converge_max;
	uint64_t msgs;
	uint64_t rounds_connected;        /* rounds where the ring was connected */
	uint64_t rounds_connected_incomplete;  /* ... and yet someone missed (must be 0) */
	struct sim_bcast b;               /* every broadcast of every round */
	double miss_frac[EXP_TIMELINE];   /* mean fraction of (broadcast, node) missed, per round */
	uint32_t miss_count[EXP_TIMELINE];
};

/* Runs `trials` events of one kind, each followed by rounds until the
 * overlay is quiet again, with `sources` broadcasts measured every round.
 * New nodes come from the spare (never joined) nodes *spare .. spare_end-1. */
int exp_churn(struct sim *s, uint32_t *spare, uint32_t spare_end, enum exp_event ev,
	      unsigned m, uint32_t trials, uint32_t sources, uint64_t seed,
	      struct exp_churn *out);

const char *exp_event_name(enum exp_event ev);

#endif

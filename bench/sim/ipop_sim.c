/* ipop_sim.c - the overlay simulator's command: grows Symphony overlays with
 * the real topology and flood modules and reports delivery, path length,
 * links, messages, adjacent failures and churn as JSON (and .dat tables for
 * bench/sim/plots.gp). docs/overlay-algorithms.md shows the results.
 *
 *   ipop-sim [--max-n N] [--seed S] [--json FILE] [--dat DIR] [--sources N]
 *            [--bfs N] [--churn-n N] [--trials N] [--adj-n N]
 *
 * Thread: single-threaded tool. */
#include "bench/sim/experiments.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct opts {
	uint32_t max_n;       /* growth goes 8, 16, ... up to this */
	uint32_t sources;     /* broadcast sources per size (all nodes up to this) */
	uint32_t bfs;         /* BFS sources per size */
	uint32_t churn_n;     /* size of the churn and mixed-parameter runs */
	uint32_t adj_n;       /* size of the every-position adjacent-failure runs */
	uint32_t trials;      /* churn events per kind */
	uint64_t seed;
	const char *json;
	const char *dat;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void usage(void)
{
	fprintf(stderr, "usage: ipop-sim [--max-n N] [--seed S] [--json FILE] [--dat DIR]\n"
			"                [--sources N] [--bfs N] [--churn-n N] [--adj-n N] [--trials N]\n");
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "max-n", required_argument, NULL, 'n' }, { "seed", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' }, { "dat", required_argument, NULL, 'd' },
		{ "sources", required_argument, NULL, 'S' }, { "bfs", required_argument, NULL, 'b' },
		{ "churn-n", required_argument, NULL, 'c' }, { "trials", required_argument, NULL, 't' },
		{ "adj-n", required_argument, NULL, 'a' }, { NULL, 0, NULL, 0 },
	};
	uint32_t seed32;
	int c, rc = 0;

	*o = (struct opts){ .max_n = 4096, .sources = 4096, .bfs = 64, .churn_n = 4096,
			    .adj_n = 1024, .trials = 20, .seed = 1 };
	while (!rc && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n': rc = parse_u32(optarg, &o->max_n); break;
		case 's': rc = parse_u32(optarg, &seed32); o->seed = seed32; break;
		case 'j': o->json = optarg; break;
		case 'd': o->dat = optarg; break;
		case 'S': rc = parse_u32(optarg, &o->sources); break;
		case 'b': rc = parse_u32(optarg, &o->bfs); break;
		case 'c': rc = parse_u32(optarg, &o->churn_n); break;
		case 'a': rc = parse_u32(optarg, &o->adj_n); break;
		case 't': rc = parse_u32(optarg, &o->trials); break;
		default: rc = -EINVAL;
		}
	}
	if (!rc && (o->max_n < 8 || o->churn_n < 16 || o->adj_n < 16 || optind != argc))
		rc = -EINVAL;
	return rc;
}

/* ---- JSON ---- */

static void put_d(json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(round(v * 1e4) / 1e4));
}

static void put_i(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static json_object *bcast_json(const struct sim_bcast *b)
{
	json_object *o = json_object_new_object();

	put_i(o, "broadcasts", (int64_t)b->broadcasts);
	put_i(o, "copies_received", (int64_t)b->receipts);
	put_i(o, "duplicates", (int64_t)b->duplicates);
	put_i(o, "missed", (int64_t)b->missed);
	put_i(o, "missed_newcomers", (int64_t)b->missed_new);
	put_i(o, "copies_lost_to_dead", (int64_t)b->lost);
	put_i(o, "incomplete_broadcasts", (int64_t)b->incomplete);
	put_i(o, "flood_errors", (int64_t)b->bad);
	return o;
}

static json_object *flood_json(const struct exp_flood *f)
{
	json_object *o = json_object_new_object();
	uint64_t pairs = f->b.broadcasts ? f->b.receipts + f->b.missed + f->b.missed_new -
					   f->b.duplicates : 0;

	put_i(o, "sources", f->sources);
	put_d(o, "avg_hops", f->avg_hops);
	put_i(o, "max_hops", f->max_hops);
	put_i(o, "bfs_sources", f->bfs_sources);
	put_d(o, "bfs_avg_hops", f->bfs_avg);
	put_i(o, "bfs_max_hops", f->bfs_max);
	put_i(o, "bfs_unreached", (int64_t)f->bfs_unreached);
	/* copies per (broadcast, node): exactly one unless missed or duplicated */
	put_i(o, "node_copies_0", (int64_t)(f->b.missed + f->b.missed_new));
	put_i(o, "node_copies_1", (int64_t)(pairs - f->b.missed - f->b.missed_new));
	put_i(o, "node_copies_2plus", (int64_t)f->b.duplicates);
	json_object_object_add(o, "delivery", bcast_json(&f->b));
	return o;
}

static json_object *links_json(const struct exp_links *l)
{
	json_object *o = json_object_new_object(), *out = json_object_new_object(),
		    *in = json_object_new_object();

	for (int t = 1; t < IPOP_LINK_NTYPES; t++) {
		put_d(out, ipop_link_type_name((unsigned)t), l->out[t]);
		put_d(in, ipop_link_type_name((unsigned)t), l->in[t]);
	}
	json_object_object_add(o, "out_per_node", out);
	json_object_object_add(o, "in_per_node", in);
	put_i(o, "in_long_max", l->in_long_max);
	put_d(o, "tunnels_avg", l->degree_avg);
	put_i(o, "tunnels_max", l->degree_max);
	put_d(o, "k_avg", l->k_avg);
	put_d(o, "n_est_over_n_avg", l->n_est_ratio);
	put_d(o, "n_est_within_2x", l->n_est_within2);
	put_i(o, "nodes_short_of_k", l->short_of_k);
	return o;
}

static json_object *churn_json(const struct exp_churn *c)
{
	json_object *o = json_object_new_object(), *tl = json_object_new_array();
	double t = c->trials ? c->trials : 1;

	json_object_object_add(o, "event", json_object_new_string(exp_event_name(c->ev)));
	put_i(o, "m", c->m);
	put_i(o, "trials", c->trials);
	put_i(o, "timeouts", c->timeouts);
	put_d(o, "msgs_per_event", c->msgs / t);
	put_d(o, "rounds_incomplete_avg", c->rounds_incomplete_sum / t);
	put_i(o, "rounds_incomplete_max", c->rounds_incomplete_max);
	put_d(o, "rounds_old_nodes_missed_avg", c->rounds_old_missed_sum / t);
	put_i(o, "rounds_old_nodes_missed_max", c->rounds_old_missed_max);
	put_d(o, "rounds_to_quiet_avg", c->rounds_converge_sum / t);
	put_i(o, "rounds_to_quiet_max", c->rounds_converge_max);
	put_i(o, "rounds_ring_connected", (int64_t)c->rounds_connected);
	put_i(o, "rounds_ring_connected_but_incomplete", (int64_t)c->rounds_connected_incomplete);
	for (int r = 0; r < EXP_TIMELINE; r++)
		json_object_array_add(tl, json_object_new_double(round(c->miss_frac[r] * 1e6) / 1e6));
	json_object_object_add(o, "missed_fraction_by_round", tl);
	json_object_object_add(o, "delivery", bcast_json(&c->b));
	return o;
}

static json_object *adj_json(const struct exp_adj *a, unsigned s, uint32_t n)
{
	json_object *o = json_object_new_object();

	put_i(o, "n", n);
	put_i(o, "s", s);
	put_i(o, "m", a->m);
	put_i(o, "positions", a->positions);
	put_i(o, "ring_gaps", (int64_t)a->ring_gaps);
	put_i(o, "graph_split", (int64_t)a->graph_split);
	json_object_object_add(o, "before_noticed", bcast_json(&a->unnoticed));
	json_object_object_add(o, "noticed_before_repair", bcast_json(&a->noticed));
	return o;
}

/* ---- experiment drivers ---- */

static struct ipop_sym_params sym_params(unsigned s, unsigned k)
{
	struct ipop_sym_params p;

	ipop_sym_params_default(&p);
	p.successors = s;
	p.long_links = k;
	return p;
}

static int grown(struct sim *s, uint32_t n, uint64_t seed, const struct ipop_sym_params *p,
		 uint32_t spares, uint32_t *rounds)
{
	int rc = sim_init(s, n + spares, seed, p);

	if (rc)
		return rc;
	rc = exp_grow(s, 0, n, 2000, rounds);
	if (rc)
		sim_free(s);
	return rc;
}

struct growth_row {
	uint32_t n, rounds;
	double msgs_per_join_growth, secs;
	uint64_t sweep_det, sweep_draw;
	struct exp_flood f;
	struct exp_links l;
	struct exp_churn leave, join;
};

static json_object *growth_json(const struct growth_row *g)
{
	json_object *o = json_object_new_object();
	double log2n = log2(g->n), k = g->l.k_avg > 0 ? g->l.k_avg : 1;

	put_i(o, "n", g->n);
	put_i(o, "rounds_quiet_after_last_join", g->rounds);
	put_d(o, "msgs_per_join_while_growing", g->msgs_per_join_growth);
	put_i(o, "sweep_nodes_with_changes", (int64_t)g->sweep_det);
	put_i(o, "sweep_nodes_with_new_draws", (int64_t)g->sweep_draw);
	put_d(o, "log2n_sq_over_k", log2n * log2n / k);
	put_d(o, "avg_hops_over_log2n_sq_over_k", g->f.avg_hops / (log2n * log2n / k));
	json_object_object_add(o, "flood", flood_json(&g->f));
	json_object_object_add(o, "links", links_json(&g->l));
	json_object_object_add(o, "steady_leave", churn_json(&g->leave));
	json_object_object_add(o, "steady_join", churn_json(&g->join));
	put_d(o, "seconds", g->secs);
	return o;
}

static void growth_dat(FILE *f, const struct growth_row *g)
{
	double log2n = log2(g->n), k = g->l.k_avg > 0 ? g->l.k_avg : 1;
	double t = g->leave.trials ? g->leave.trials : 1, tj = g->join.trials ? g->join.trials : 1;
	uint64_t pairs = g->f.b.receipts + g->f.b.missed - g->f.b.duplicates;

	if (!f)
		return;
	fprintf(f, "%u %.4f %u %.4f %u %.4f %.4f %.4f %.4f %.4f %.4f %u %.3f %.3f %.3f %.4f "
		   "%llu %llu %llu %.4f %u\n",
		g->n, g->f.avg_hops, g->f.max_hops, g->f.bfs_avg, g->f.bfs_max,
		g->l.out[IPOP_LINK_SUCC], g->l.out[IPOP_LINK_LONG], g->l.in[IPOP_LINK_SUCC],
		g->l.in[IPOP_LINK_LONG], g->l.k_avg, g->l.degree_avg, g->l.degree_max,
		g->msgs_per_join_growth, g->leave.msgs / t, g->join.msgs / tj, log2n * log2n / k,
		(unsigned long long)(pairs - g->f.b.missed), (unsigned long long)g->f.b.missed,
		(unsigned long long)g->f.b.duplicates, g->l.n_est_ratio, g->l.in_long_max);
}

static int growth_size(struct sim *s, const struct opts *o, uint32_t n, uint32_t *next,
		       uint32_t *spare, uint32_t spare_end, struct growth_row *g)
{
	uint32_t count = n - sim_live_count(s);
	uint64_t msgs0 = s->c.msgs;
	double t0 = now_s();
	int rc;

	memset(g, 0, sizeof(*g));
	g->n = n;
	rc = exp_grow(s, *next, count, 2000, &g->rounds);
	if (rc)
		return rc;
	*next += count;
	g->msgs_per_join_growth = (double)(s->c.msgs - msgs0) / count;
	sim_sweep(s, &g->sweep_det, &g->sweep_draw);
	rc = exp_flood(s, o->sources, o->bfs, o->seed + n, &g->f);
	if (rc)
		return rc;
	exp_links(s, &g->l);
	/* steady state: single leaves, then as many single joins, n unchanged */
	rc = exp_churn(s, spare, spare_end, EXP_LEAVE, 1, 8, 4, o->seed + 2 * n, &g->leave);
	if (!rc)
		rc = exp_churn(s, spare, spare_end, EXP_JOIN, 1, 8, 4, o->seed + 3 * n, &g->join);
	g->secs = now_s() - t0;
	return rc;
}

static int run_growth(const struct opts *o, json_object *arr, FILE *dat)
{
	struct ipop_sym_params p = sym_params(2, 0);
	uint32_t sizes = 0, next = 0, spare, spare_end;
	struct growth_row g;
	struct sim s;
	int rc;

	for (uint32_t n = 8; n <= o->max_n; n *= 2)
		sizes++;
	rc = sim_init(&s, o->max_n + 16 * sizes, o->seed, &p);
	if (rc)
		return rc;
	spare = o->max_n;
	spare_end = o->max_n + 16 * sizes;
	if (dat)
		fprintf(dat, "# n flood_avg flood_max bfs_avg bfs_max out_succ out_long in_succ "
			     "in_long k_avg tunnels_avg tunnels_max msgs_join_growing msgs_leave "
			     "msgs_join_steady log2n^2/k copies1 copies0 copies2+ n_est/n in_long_max\n");
	for (uint32_t n = 8; n <= o->max_n && !rc; n *= 2) {
		rc = growth_size(&s, o, n, &next, &spare, spare_end, &g);
		if (rc)
			break;
		json_object_array_add(arr, growth_json(&g));
		growth_dat(dat, &g);
		fprintf(stderr, "growth n=%u hops %.2f (max %u) bfs %.2f dup %llu missed %llu %.1fs\n",
			n, g.f.avg_hops, g.f.max_hops, g.f.bfs_avg,
			(unsigned long long)g.f.b.duplicates, (unsigned long long)g.f.b.missed, g.secs);
	}
	sim_free(&s);
	return rc;
}

/* The dissertation's measured path lengths at s = 2, k = log2 n (E8). */
static const struct { uint32_t n; double hops; } dissertation[] = {
	{ 32, 1.77 }, { 64, 2.46 }, { 128, 3.55 }, { 225, 4.56 },
};

static int run_dissertation(const struct opts *o, json_object *arr, FILE *dat)
{
	const unsigned seeds = 10;

	if (dat)
		fprintf(dat, "# n avg_hops_mean avg_hops_worst_seed bfs_avg dissertation_hops\n");

	for (size_t i = 0; i < sizeof(dissertation) / sizeof(dissertation[0]); i++) {
		uint32_t n = dissertation[i].n, rounds, k = (uint32_t)floor(log2(n));
		struct ipop_sym_params p = sym_params(2, k);
		double sum = 0, worst = 0, bfs = 0;
		uint64_t dups = 0, missed = 0;
		json_object *row = json_object_new_object();

		for (unsigned sd = 0; sd < seeds; sd++) {
			struct exp_flood f;
			struct sim s;
			int rc = grown(&s, n, o->seed * 1000 + sd, &p, 0, &rounds);

			if (!rc)
				rc = exp_flood(&s, n, n, sd, &f);
			sim_free(&s);
			if (rc)
				return rc;
			sum += f.avg_hops;
			bfs += f.bfs_avg;
			worst = f.avg_hops > worst ? f.avg_hops : worst;
			dups += f.b.duplicates;
			missed += f.b.missed;
		}
		put_i(row, "n", n);
		put_i(row, "s", 2);
		put_i(row, "k", k);
		put_i(row, "seeds", seeds);
		put_d(row, "avg_hops_mean", sum / seeds);
		put_d(row, "avg_hops_worst_seed", worst);
		put_d(row, "bfs_avg_hops_mean", bfs / seeds);
		put_d(row, "dissertation_hops", dissertation[i].hops);
		put_i(row, "duplicates", (int64_t)dups);
		put_i(row, "missed", (int64_t)missed);
		json_object_array_add(arr, row);
		if (dat)
			fprintf(dat, "%u %.4f %.4f %.4f %.2f\n", n, sum / seeds, worst, bfs / seeds,
				dissertation[i].hops);
		fprintf(stderr, "dissertation n=%u k=%u hops %.2f (worst %.2f) vs %.2f\n", n, k,
			sum / seeds, worst, dissertation[i].hops);
	}
	return 0;
}

static int run_adjacent(const struct opts *o, json_object *arr)
{
	for (unsigned s = 1; s <= 3; s++) {
		struct ipop_sym_params p = sym_params(s, 0);
		uint32_t rounds;
		struct sim sm;
		int rc = grown(&sm, o->adj_n, o->seed + s, &p, 0, &rounds);

		if (rc)
			return rc;
		for (unsigned m = s > 1 ? s - 1 : 1; m <= s + 1 && !rc; m++) {
			struct exp_adj a;

			rc = exp_adjacent(&sm, m, o->adj_n, 4, o->seed + 10 * s + m, &a);
			if (!rc)
				json_object_array_add(arr, adj_json(&a, s, o->adj_n));
			fprintf(stderr, "adjacent s=%u m=%u: ring gaps %llu, split %llu, "
					"incomplete after notice %llu/%llu\n", s, m,
				(unsigned long long)a.ring_gaps, (unsigned long long)a.graph_split,
				(unsigned long long)a.noticed.incomplete,
				(unsigned long long)a.noticed.broadcasts);
		}
		sim_free(&sm);
		if (rc)
			return rc;
	}
	return 0;
}

struct churn_case {
	unsigned s;
	enum exp_event ev;
	unsigned m;
};

static const struct churn_case churn_cases[] = {
	{ 2, EXP_LEAVE, 1 }, { 2, EXP_LEAVE_ADJ, 1 }, { 2, EXP_LEAVE_ADJ, 2 },
	{ 2, EXP_LEAVE_ADJ, 3 }, { 2, EXP_JOIN, 1 }, { 2, EXP_JOIN_GAP, 3 },
	{ 2, EXP_MIXED, 2 }, { 2, EXP_LEAVE, 8 },
	{ 1, EXP_LEAVE_ADJ, 1 }, { 3, EXP_LEAVE_ADJ, 2 }, { 3, EXP_LEAVE_ADJ, 3 },
	{ 3, EXP_LEAVE_ADJ, 4 },
};

static void churn_dat(FILE *dat, const struct churn_case *cc, const struct exp_churn *c)
{
	if (!dat)
		return;
	fprintf(dat, "\"s=%u %s m=%u\" \"missed\"\n", cc->s, exp_event_name(cc->ev), cc->m);
	for (int r = 0; r < EXP_TIMELINE; r++)
		fprintf(dat, "%d %.6f\n", r, c->miss_frac[r]);
	fprintf(dat, "\n\n");
}

static int run_churn(const struct opts *o, json_object *arr, FILE *dat)
{
	const size_t ncases = sizeof(churn_cases) / sizeof(churn_cases[0]);
	uint32_t spares = o->trials * 8 * (uint32_t)ncases;
	int rc = 0;

	for (unsigned s = 1; s <= 3 && !rc; s++) {
		struct ipop_sym_params p = sym_params(s, 0);
		uint32_t rounds, spare = o->churn_n, spare_end = o->churn_n + spares;
		struct sim sm;

		rc = grown(&sm, o->churn_n, o->seed + 100 + s, &p, spares, &rounds);
		if (rc)
			break;
		for (size_t i = 0; i < ncases && !rc; i++) {
			const struct churn_case *cc = &churn_cases[i];
			struct exp_churn c;
			json_object *row;

			if (cc->s != s)
				continue;
			rc = exp_churn(&sm, &spare, spare_end, cc->ev, cc->m, o->trials, 16,
				       o->seed + i, &c);
			if (rc)
				break;
			row = churn_json(&c);
			put_i(row, "n", o->churn_n);
			put_i(row, "s", s);
			json_object_array_add(arr, row);
			churn_dat(dat, cc, &c);
			fprintf(stderr, "churn s=%u %s m=%u: incomplete rounds avg %.2f max %u, "
					"dups %llu, msgs/event %.1f\n", s, exp_event_name(cc->ev), cc->m,
				(double)c.rounds_incomplete_sum / c.trials, c.rounds_incomplete_max,
				(unsigned long long)c.b.duplicates, (double)c.msgs / c.trials);
		}
		sim_free(&sm);
	}
	return rc;
}

/* Every node with its own s (1..3) and k (auto or 1..2 log2 n). */
static int run_mixed(const struct opts *o, json_object *obj)
{
	struct ipop_sym_params p = sym_params(2, 0);
	uint32_t n = o->churn_n, rounds, kmax = 2 * (uint32_t)log2(n);
	uint64_t det, draw;
	struct ipop_rng rng;
	struct exp_flood f;
	struct exp_links l;
	struct sim s;
	int rc = sim_init(&s, n, o->seed + 7, &p);

	if (rc)
		return rc;
	ipop_rng_seed(&rng, o->seed + 8);
	for (uint32_t i = 0; i < n && !rc; i++) {
		p = sym_params(1 + (unsigned)ipop_rng_below(&rng, 3),
			       (unsigned)ipop_rng_below(&rng, kmax + 1));
		rc = sim_set_params(&s, i, &p);
	}
	if (!rc)
		rc = exp_grow(&s, 0, n, 2000, &rounds);
	if (!rc)
		rc = exp_flood(&s, o->sources, o->bfs, o->seed + 9, &f);
	if (!rc) {
		sim_sweep(&s, &det, &draw);
		exp_links(&s, &l);
		put_i(obj, "n", n);
		put_i(obj, "rounds_quiet_after_last_join", rounds);
		put_i(obj, "sweep_nodes_with_changes", (int64_t)det);
		put_i(obj, "sweep_nodes_with_new_draws", (int64_t)draw);
		json_object_object_add(obj, "flood", flood_json(&f));
		json_object_object_add(obj, "links", links_json(&l));
		fprintf(stderr, "mixed n=%u quiet %u rounds after the last join, hops %.2f, dups %llu, "
				"missed %llu\n",
			n, rounds, f.avg_hops, (unsigned long long)f.b.duplicates,
			(unsigned long long)f.b.missed);
	}
	sim_free(&s);
	return rc;
}

/* What relinking buys: the same growth with long links redrawn when the
 * size estimate moved 2x (default), 4x, or never. */
static int run_relink(const struct opts *o, json_object *arr, FILE *dat)
{
	static const unsigned factors[] = { 2, 4, 1u << 30 };
	uint32_t n = o->max_n < 4096 ? o->max_n : 4096;

	for (size_t i = 0; i < sizeof(factors) / sizeof(factors[0]); i++) {
		struct ipop_sym_params p = sym_params(2, 0);
		json_object *row = json_object_new_object();
		uint32_t rounds, have = 0;
		uint64_t msgs_last = 0;
		struct exp_flood f;
		struct sim s;
		int rc;

		p.relink_factor = factors[i];
		rc = sim_init(&s, n, o->seed + 200, &p);
		for (uint32_t m = 8; m <= n && !rc; m *= 2) {
			msgs_last = s.c.msgs;
			rc = exp_grow(&s, have, m - have, 2000, &rounds);
			have = m;
		}
		if (!rc)
			rc = exp_flood(&s, 1024, o->bfs, o->seed, &f);
		if (!rc) {
			put_i(row, "n", n);
			put_i(row, "relink_factor", factors[i]);
			put_d(row, "msgs_per_join_whole_growth", (double)s.c.msgs / n);
			put_d(row, "msgs_per_join_last_doubling", (double)(s.c.msgs - msgs_last) / (n / 2));
			put_d(row, "avg_hops", f.avg_hops);
			put_d(row, "bfs_avg_hops", f.bfs_avg);
			json_object_array_add(arr, row);
			if (dat)
				fprintf(dat, "%u %.3f %.3f %.4f %.4f\n", factors[i], (double)s.c.msgs / n,
					(double)(s.c.msgs - msgs_last) / (n / 2), f.avg_hops, f.bfs_avg);
		} else {
			json_object_put(row);
		}
		sim_free(&s);
		if (rc)
			return rc;
	}
	return 0;
}

static FILE *open_dat(const struct opts *o, const char *name)
{
	char path[4096];

	if (!o->dat)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", o->dat, name);
	return fopen(path, "w");
}

static void close_dat(FILE *f)
{
	if (f)
		fclose(f);
}

typedef int (*section_fn)(const struct opts *o, json_object *out, FILE *dat);

static int run_section(const struct opts *o, json_object *root, const char *name,
		       json_object *out, const char *datname, section_fn fn)
{
	FILE *dat = datname ? open_dat(o, datname) : NULL;
	double t0 = now_s();
	char key[64];
	int rc;

	if (datname && o->dat && !dat)
		return -errno;
	rc = fn(o, out, dat);
	close_dat(dat);
	json_object_object_add(root, name, out);
	snprintf(key, sizeof(key), "%s_seconds", name);
	put_d(root, key, now_s() - t0);
	return rc;
}

static int adjacent_section(const struct opts *o, json_object *out, FILE *dat)
{
	(void)dat;
	return run_adjacent(o, out);
}

static int mixed_section(const struct opts *o, json_object *out, FILE *dat)
{
	(void)dat;
	return run_mixed(o, out);
}

static json_object *params_json(const struct opts *o, int argc, char **argv)
{
	json_object *root = json_object_new_object(), *cmd = json_object_new_array();

	for (int i = 0; i < argc; i++)
		json_object_array_add(cmd, json_object_new_string(argv[i]));
	json_object_object_add(root, "command", cmd);
	put_i(root, "seed", (int64_t)o->seed);
	put_i(root, "max_n", o->max_n);
	put_i(root, "churn_n", o->churn_n);
	put_i(root, "adj_n", o->adj_n);
	put_i(root, "max_sources", o->sources);
	return root;
}

int main(int argc, char **argv)
{
	struct opts o;
	json_object *root;
	int rc;

	if (parse_opts(argc, argv, &o)) {
		usage();
		return 2;
	}
	root = params_json(&o, argc, argv);
	rc = run_section(&o, root, "dissertation", json_object_new_array(), "dissertation.dat",
			 run_dissertation);
	if (!rc)
		rc = run_section(&o, root, "growth", json_object_new_array(), "growth.dat",
				 run_growth);
	if (!rc)
		rc = run_section(&o, root, "adjacent_failures", json_object_new_array(), NULL,
				 adjacent_section);
	if (!rc)
		rc = run_section(&o, root, "churn", json_object_new_array(), "churn.dat", run_churn);
	if (!rc)
		rc = run_section(&o, root, "mixed", json_object_new_object(), NULL, mixed_section);
	if (!rc)
		rc = run_section(&o, root, "relink", json_object_new_array(), "relink.dat",
				 run_relink);
	if (rc)
		fprintf(stderr, "ipop-sim: failed: %s\n", strerror(-rc));
	if (o.json && json_object_to_file_ext(o.json, root, JSON_C_TO_STRING_PRETTY)) {
		fprintf(stderr, "ipop-sim: cannot write %s\n", o.json);
		rc = -EIO;
	}
	if (!o.json)
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
	json_object_put(root);
	return rc ? 1 : 0;
}

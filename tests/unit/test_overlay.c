/* test_overlay.c - acceptance of the overlay algorithms on small overlays,
 * through the simulator (bench/sim/), which runs the real Symphony builder
 * and Bounded Flood code:
 *  - every broadcast reaches every node exactly once, for every n tried and
 *    after every churn step, and terminates;
 *  - average path length at s = 2, k = log2 n is no worse than the
 *    dissertation's measurements (1.77, 2.46, 3.55, 4.56 hops at n = 32, 64,
 *    128, 225) and grows no faster than log^2(n)/k;
 *  - with s successors, any s-1 adjacent failures leave the ring connected
 *    and delivery complete even before repair; s or more break it, and it
 *    heals;
 *  - nodes with different s and k converge.
 * docs/overlay-algorithms.md reports the same measurements at large n. */
#include "tests/unit/check.h"
#include "bench/sim/experiments.h"

#include <math.h>
#include <stdio.h>

static struct ipop_sym_params params(unsigned s, unsigned k)
{
	struct ipop_sym_params p;

	ipop_sym_params_default(&p);
	p.successors = s;
	p.long_links = k;
	return p;
}

static int grow(struct sim *s, uint32_t n, uint32_t spares, uint64_t seed,
		const struct ipop_sym_params *p)
{
	uint32_t rounds;
	int rc = sim_init(s, n + spares, seed, p);

	if (rc)
		return rc;
	return exp_grow(s, 0, n, 2000, &rounds);
}

static void check_exactly_once(const struct exp_flood *f)
{
	CHECK(f->b.duplicates == 0);
	CHECK(f->b.missed == 0);
	CHECK(f->b.bad == 0);
	CHECK(f->b.lost == 0);
	CHECK(f->b.broadcasts == f->sources && f->sources > 0);
}

/* Path length against the dissertation, mean of 3 seeds, all sources. */
static void test_path_length(void)
{
	static const struct { uint32_t n; double hops; } want[] = {
		{ 32, 1.77 }, { 64, 2.46 }, { 128, 3.55 }, { 225, 4.56 },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct ipop_sym_params p = params(2, (unsigned)floor(log2(want[i].n)));
		double sum = 0;

		for (uint64_t seed = 1; seed <= 3; seed++) {
			struct exp_flood f;
			uint64_t det, draw;
			struct sim s;

			CHECK(grow(&s, want[i].n, 0, seed, &p) == 0);
			sim_sweep(&s, &det, &draw);
			CHECK(det == 0);   /* converged for real, not just quiet */
			CHECK(exp_flood(&s, want[i].n, 0, seed, &f) == 0);
			check_exactly_once(&f);
			CHECK(f.max_hops < want[i].n);
			sum += f.avg_hops;
			sim_free(&s);
		}
		printf("n=%u k=%u: %.2f hops (dissertation %.2f)\n", want[i].n, p.long_links,
		       sum / 3, want[i].hops);
		CHECK(sum / 3 <= want[i].hops);
	}
}

/* Growth with auto k: exactly once at every size; hops stay under Symphony's
 * log^2(n)/k and grow no faster than it from one doubling to the next. */
static void test_growth_shape(void)
{
	struct ipop_sym_params p = params(2, 0);
	double prev_hops = 0, prev_f = 0;
	uint32_t have = 0, rounds;
	struct sim s;

	CHECK(sim_init(&s, 1024, 11, &p) == 0);
	for (uint32_t n = 8; n <= 1024; n *= 2) {
		struct exp_flood f;
		struct exp_links l;
		double bound;

		CHECK(exp_grow(&s, have, n - have, 2000, &rounds) == 0);
		have = n;
		CHECK(exp_flood(&s, 256, 0, n, &f) == 0);
		check_exactly_once(&f);
		exp_links(&s, &l);
		CHECK(l.out[IPOP_LINK_SUCC] == 2.0);
		bound = log2(n) * log2(n) / l.k_avg;
		printf("n=%u auto k=%.2f: %.2f hops, log2(n)^2/k = %.2f\n", n, l.k_avg, f.avg_hops,
		       bound);
		CHECK(f.avg_hops <= bound);
		if (n >= 64)
			CHECK(f.avg_hops - prev_hops <= bound - prev_f);
		prev_hops = f.avg_hops;
		prev_f = bound;
	}
	sim_free(&s);
}

/* Every position: s-1 adjacent failures keep the ring and full delivery
 * without any repair; s failures do break the successor ring somewhere. */
static void test_adjacent_failures(void)
{
	for (unsigned sc = 2; sc <= 3; sc++) {
		struct ipop_sym_params p = params(sc, 0);
		struct exp_adj a;
		struct sim s;

		CHECK(grow(&s, 128, 0, 20 + sc, &p) == 0);
		CHECK(exp_adjacent(&s, sc - 1, 128, 4, 1, &a) == 0);
		CHECK(a.positions == 128);
		CHECK(a.ring_gaps == 0 && a.graph_split == 0);
		CHECK(a.noticed.incomplete == 0 && a.noticed.duplicates == 0);
		CHECK(a.unnoticed.duplicates == 0);
		CHECK(exp_adjacent(&s, sc, 128, 4, 2, &a) == 0);
		CHECK(a.ring_gaps > 0);                /* s is the limit, not more */
		CHECK(a.noticed.duplicates == 0 && a.unnoticed.duplicates == 0);
		sim_free(&s);
	}
}

/* Churn: crashes of s and s+1 adjacent nodes heal; joins never cut off nodes
 * that were already there; nobody ever gets two copies. */
static void test_churn(void)
{
	static const struct { enum exp_event ev; unsigned m; } cases[] = {
		{ EXP_LEAVE_ADJ, 1 }, { EXP_LEAVE_ADJ, 2 }, { EXP_LEAVE_ADJ, 3 },
		{ EXP_LEAVE, 4 }, { EXP_JOIN, 1 }, { EXP_JOIN_GAP, 3 }, { EXP_MIXED, 2 },
	};
	struct ipop_sym_params p = params(2, 0);
	uint32_t spare = 256;
	struct sim s;

	CHECK(grow(&s, 256, 200, 31, &p) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct exp_churn c;

		CHECK(exp_churn(&s, &spare, 456, cases[i].ev, cases[i].m, 6, 8, i, &c) == 0);
		CHECK(c.trials == 6 && c.timeouts == 0);
		CHECK(c.b.duplicates == 0 && c.b.bad == 0);
		CHECK(c.rounds_connected > 0 && c.rounds_connected_incomplete == 0);
		CHECK(c.rounds_incomplete_max <= 2);
		if (cases[i].ev == EXP_JOIN || cases[i].ev == EXP_JOIN_GAP)
			CHECK(c.rounds_old_missed_max == 0);
		if (cases[i].ev == EXP_LEAVE_ADJ && cases[i].m == 1)
			CHECK(c.rounds_incomplete_max <= 1);   /* only until noticed */
	}
	sim_free(&s);
}

/* Mixed s (1..3) and k (auto or 1..12) per node. */
static void test_mixed(void)
{
	struct ipop_sym_params p = params(2, 0);
	struct ipop_rng rng;
	struct exp_flood f;
	uint64_t det, draw;
	uint32_t rounds;
	struct sim s;

	CHECK(sim_init(&s, 128, 41, &p) == 0);
	ipop_rng_seed(&rng, 42);
	for (uint32_t i = 0; i < 128; i++) {
		p = params(1 + (unsigned)ipop_rng_below(&rng, 3), (unsigned)ipop_rng_below(&rng, 13));
		CHECK(sim_set_params(&s, i, &p) == 0);
	}
	CHECK(exp_grow(&s, 0, 128, 2000, &rounds) == 0);
	sim_sweep(&s, &det, &draw);
	CHECK(det == 0);
	CHECK(exp_flood(&s, 128, 0, 1, &f) == 0);
	check_exactly_once(&f);
	sim_free(&s);
}

int main(void)
{
	test_path_length();
	test_growth_shape();
	test_adjacent_failures();
	test_churn();
	test_mixed();
	return check_report("overlay");
}

/* test_symphony.c - Symphony topology on hand-made small rings: size
 * estimate, successors, the harmonic draw, the too-close rule, the incoming
 * cap, static and on-demand links, refusals, and the graph builder's plans
 * and their order (replacement successors added before old ones are removed). */
#include "tests/unit/check.h"
#include "control/topology/symphony.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Node i of an evenly spaced 16-node ring: i * 2^124. */
static struct ipop_node_id R(unsigned i)
{
	return ipop_node_id_make((uint64_t)(i % 16) << 60, 0);
}

static struct ipop_node_id ring16[16];

static struct ipop_sym_params params(unsigned s, unsigned k)
{
	struct ipop_sym_params p;

	ipop_sym_params_default(&p);
	p.successors = s;
	p.long_links = k;
	return p;
}

static struct ipop_topo_link out_link(struct ipop_node_id peer, enum ipop_link_type t,
				      enum ipop_topo_link_state st, uint32_t n_est)
{
	struct ipop_topo_link l;

	memset(&l, 0, sizeof(l));
	l.peer = peer;
	l.type = (uint8_t)t;
	l.state = (uint8_t)st;
	l.outgoing = 1;
	l.n_est = n_est;
	return l;
}

struct planbuf {
	struct ipop_topo_link adj[64];
	struct ipop_topo_change chg[64];
	struct ipop_sym_plan plan;
};

static int build(const struct ipop_sym_params *p, const struct ipop_sym_input *in, uint64_t seed,
		 struct planbuf *b)
{
	struct ipop_rng rng;

	ipop_rng_seed(&rng, seed);
	memset(b, 0, sizeof(*b));
	b->plan.adj = b->adj;
	b->plan.adj_cap = 64;
	b->plan.chg = b->chg;
	b->plan.chg_cap = 64;
	return ipop_sym_build(p, in, &rng, &b->plan);
}

static const struct ipop_topo_change *find_chg(const struct planbuf *b, struct ipop_node_id peer,
					       int *pos)
{
	for (size_t i = 0; i < b->plan.nchg; i++)
		if (ipop_node_id_eq(b->chg[i].peer, peer)) {
			*pos = (int)i;
			return &b->chg[i];
		}
	*pos = -1;
	return NULL;
}

static const struct ipop_topo_link *find_adj(const struct planbuf *b, struct ipop_node_id peer)
{
	for (size_t i = 0; i < b->plan.nadj; i++)
		if (ipop_node_id_eq(b->adj[i].peer, peer))
			return &b->adj[i];
	return NULL;
}

static unsigned count_type(const struct planbuf *b, enum ipop_link_type t)
{
	unsigned n = 0;

	for (size_t i = 0; i < b->plan.nadj; i++)
		n += b->adj[i].type == t;
	return n;
}

static void test_params(void)
{
	struct ipop_sym_params p = params(2, 0);

	CHECK(ipop_sym_check_params(&p) == 0);
	p.successors = 0;
	CHECK(ipop_sym_check_params(&p) == -EINVAL);
	p = params(2, 0);
	p.relink_factor = 1;
	CHECK(ipop_sym_check_params(&p) == -EINVAL);
	p = params(2, 0);
	CHECK(ipop_sym_k(&p, 1024) == 10);
	CHECK(ipop_sym_k(&p, 1.0) == 1);
	CHECK(ipop_sym_k(&p, 90) == 6);   /* log2 90 = 6.49 */
	CHECK(ipop_sym_max_in_long(&p, 1024) == 20);
	p.long_links = 3;
	p.max_in_long = 5;
	CHECK(ipop_sym_k(&p, 1024) == 3 && ipop_sym_max_in_long(&p, 1024) == 5);
}

static void test_rng_and_window(void)
{
	struct ipop_rng a, b;
	unsigned hist[6] = { 0 }, bad = 0;
	struct ipop_sym_params p = params(2, 0);

	ipop_rng_seed(&a, 123);
	ipop_rng_seed(&b, 123);
	for (int i = 0; i < 60000; i++) {
		uint64_t x = ipop_rng_next(&a);
		double u;

		bad += x != ipop_rng_next(&b);          /* same seed, same stream */
		u = ipop_rng_unit(&a);
		bad += !(u >= 0.0 && u < 1.0);
		ipop_rng_next(&b);
		hist[ipop_rng_below(&a, 6)]++;
		ipop_rng_below(&b, 6);
	}
	CHECK(bad == 0);
	for (int i = 0; i < 6; i++)
		CHECK(hist[i] > 9500 && hist[i] < 10500);
	CHECK(ipop_rng_below(&a, 0) == 0 && ipop_rng_below(&a, 1) == 0);
	ipop_rng_seed(&b, 124);
	CHECK(ipop_rng_next(&a) != ipop_rng_next(&b));

	/* the size estimate looks at max(s, 8) neighbours per side by default */
	CHECK(ipop_sym_est_neighbours(&p) == 8 && ipop_sym_window(&p) == 8);
	p.successors = 12;
	CHECK(ipop_sym_est_neighbours(&p) == 12 && ipop_sym_window(&p) == 12);
	p.est_neighbours = 3;
	CHECK(ipop_sym_est_neighbours(&p) == 3 && ipop_sym_window(&p) == 12);
	p.est_neighbours = 2000;
	CHECK(ipop_sym_check_params(&p) == -EINVAL);
}

static void test_estimate_and_successors(void)
{
	size_t idx[4];

	/* evenly spaced: 4 gaps of 1/16 span 1/4, (2s-1)/span = 12 */
	CHECK(fabs(ipop_sym_estimate_n(R(0), ring16, 16, 2) - 12.0) < 1e-9);
	CHECK(fabs(ipop_sym_estimate_n(R(5), ring16, 16, 1) - 8.0) < 1e-9);
	/* self need not be in the candidates */
	CHECK(fabs(ipop_sym_estimate_n(ipop_node_id_make(1ULL << 59, 0), ring16, 16, 1) - 16.0) < 1e-9);
	/* a ring small enough to see whole is counted, not estimated */
	CHECK(ipop_sym_estimate_n(R(0), ring16, 4, 2) == 4.0);
	CHECK(ipop_sym_estimate_n(R(0), ring16, 1, 2) == 1.0);

	CHECK(ipop_sym_successors(R(15), ring16, 16, 2, idx, 4) == 2);
	CHECK(idx[0] == 0 && idx[1] == 1);   /* wraps */
	CHECK(ipop_sym_successors(R(3), ring16, 16, 3, idx, 4) == 3);
	CHECK(idx[0] == 4 && idx[1] == 5 && idx[2] == 6);
	CHECK(ipop_sym_successors(R(1), ring16, 3, 4, idx, 4) == 2);   /* fewer peers than s */
	CHECK(idx[0] == 2 && idx[1] == 0);
	CHECK(ipop_sym_successors(R(1), ring16, 16, 5, idx, 4) == -EINVAL);   /* no room */
	struct ipop_node_id unsorted[3] = { R(1), R(5), R(3) };
	CHECK(ipop_sym_successors(R(0), unsorted, 3, 3, idx, 4) == -EINVAL);
}

static int cmp_id(const void *a, const void *b)
{
	return ipop_node_id_cmp(*(const struct ipop_node_id *)a, *(const struct ipop_node_id *)b);
}

static void test_estimate_random(void)
{
	enum { N = 4096 };
	static struct ipop_node_id ids[N];
	struct ipop_rng rng;
	double sum = 0;
	unsigned within4 = 0;

	ipop_rng_seed(&rng, 99);
	for (unsigned i = 0; i < N; i++)
		ids[i] = ipop_node_id_make(ipop_rng_next(&rng), ipop_rng_next(&rng));
	qsort(ids, N, sizeof(ids[0]), cmp_id);
	for (unsigned i = 0; i < N; i++) {
		double e = ipop_sym_estimate_n(ids[i], ids, N, 2);

		sum += e;
		within4 += e > N / 4.0 && e < N * 4.0;
	}
	/* unbiased on average, and rarely off by 4x for w = 2 */
	CHECK(fabs(sum / N - N) < 0.08 * N);
	CHECK(within4 > 0.9 * N);
	/* the default w = 8 keeps nearly every node within 2x */
	unsigned within2 = 0;

	sum = 0;
	for (unsigned i = 0; i < N; i++) {
		double e = ipop_sym_estimate_n(ids[i], ids, N, 8);

		sum += e;
		within2 += e > N / 2.0 && e < N * 2.0;
	}
	CHECK(fabs(sum / N - N) < 0.05 * N);
	CHECK(within2 > 0.97 * N);
}

static void test_harmonic_draw(void)
{
	struct ipop_rng rng;
	unsigned below_32 = 0, below_2 = 0, below_min = 0, total = 200000;
	struct ipop_node_id self = ipop_node_id_make(0xfff0000000000000ULL, 0);   /* wraps */

	ipop_rng_seed(&rng, 5);
	for (unsigned i = 0; i < total; i++) {
		struct ipop_node_id pt = ipop_sym_long_point(self, 1024, ipop_rng_unit(&rng));
		double x = ipop_ring_to_fraction(ipop_ring_dist(self, pt));

		below_32 += x < 1.0 / 32;
		below_2 += x < 0.5;
		below_min += x < 1.0 / 1024 * 0.999;
	}
	/* P(x < t) = 1 + ln t / ln n: 0.5 for t = 1/32, 0.9 for t = 1/2 (n = 1024) */
	CHECK(fabs((double)below_32 / total - 0.5) < 0.01);
	CHECK(fabs((double)below_2 / total - 0.9) < 0.01);
	CHECK(below_min == 0);
	/* u = 0 gives 1/n, u = 3/4 gives 16^-1/4 = 1/2 */
	CHECK(fabs(ipop_ring_to_fraction(ipop_sym_long_point(R(0), 16, 0.0)) - 1.0 / 16) < 1e-12);
	CHECK(fabs(ipop_ring_to_fraction(ipop_sym_long_point(R(3), 16, 0.75)) - 11.0 / 16) < 1e-12);
}

static void test_too_close(void)
{
	/* within the successors */
	CHECK(ipop_sym_too_close(R(0), R(1), ring16, 16, 2, 0));
	CHECK(ipop_sym_too_close(R(0), R(2), ring16, 16, 2, 0));
	CHECK(!ipop_sym_too_close(R(0), R(3), ring16, 16, 2, 0));
	CHECK(!ipop_sym_too_close(R(0), R(15), ring16, 16, 2, 0));
	CHECK(ipop_sym_too_close(R(14), R(0), ring16, 16, 2, 0));   /* across the wrap */
	CHECK(!ipop_sym_too_close(R(14), R(1), ring16, 16, 2, 0));
	CHECK(ipop_sym_too_close(R(0), R(0), ring16, 16, 2, 0));
	/* below the harmonic distribution's 1/n: R(2) is 1/8 of the ring away */
	CHECK(!ipop_sym_too_close(R(0), R(2), ring16, 16, 1, 16));
	CHECK(!ipop_sym_too_close(R(0), R(2), ring16, 16, 1, 8));
	CHECK(ipop_sym_too_close(R(0), R(2), ring16, 16, 1, 7));
	CHECK(ipop_sym_too_close(R(14), R(0), ring16, 16, 1, 7));
	CHECK(!ipop_sym_too_close(R(14), R(1), ring16, 16, 1, 7));
}

static void test_accept(void)
{
	struct ipop_sym_params p = params(2, 2);
	struct ipop_topo_link l[5];

	p.max_in_long = 3;
	p.max_ondemand = 1;
	for (unsigned i = 0; i < 5; i++) {
		l[i] = out_link(R(i + 3), IPOP_LINK_LONG, IPOP_TOPO_UP, 0);
		l[i].outgoing = 0;
	}
	l[3].outgoing = 1;                        /* our own: not counted */
	l[4].type = IPOP_LINK_SUCC;               /* not a long link: not counted */
	CHECK(ipop_sym_accept(&p, 16, l, 3, R(9), IPOP_LINK_LONG) == -EBUSY);
	CHECK(ipop_sym_accept(&p, 16, l, 2, R(9), IPOP_LINK_LONG) == 0);
	CHECK(ipop_sym_accept(&p, 16, l, 5, R(9), IPOP_LINK_LONG) == -EBUSY);
	CHECK(ipop_sym_accept(&p, 16, l, 3, R(3), IPOP_LINK_LONG) == 0);    /* already granted */
	CHECK(ipop_sym_accept(&p, 16, l, 5, R(9), IPOP_LINK_SUCC) == 0);
	CHECK(ipop_sym_accept(&p, 16, l, 5, R(9), IPOP_LINK_STATIC) == 0);
	CHECK(ipop_sym_accept(&p, 16, l, 5, R(9), IPOP_LINK_ONDEMAND) == 0);
	l[0].type = IPOP_LINK_ONDEMAND;
	CHECK(ipop_sym_accept(&p, 16, l, 5, R(9), IPOP_LINK_ONDEMAND) == -EBUSY);
	CHECK(ipop_sym_accept(&p, 16, l, 5, R(9), IPOP_LINK_NONE) == -EINVAL);
	p.max_in_long = 0;                        /* auto: 2k = 4 */
	l[0].type = IPOP_LINK_LONG;
	CHECK(ipop_sym_accept(&p, 16, l, 3, R(9), IPOP_LINK_LONG) == 0);
	l[3].outgoing = 0;
	CHECK(ipop_sym_accept(&p, 16, l, 4, R(9), IPOP_LINK_LONG) == -EBUSY);
}

static void test_fresh_node(void)
{
	struct ipop_sym_params p = params(2, 3);
	struct ipop_sym_input in = { .self = R(0), .cand = ring16, .ncand = 16 };
	struct planbuf a, b;
	int pos;

	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(a.plan.nadj == 5 && a.plan.nchg == 5 && a.plan.k == 3);
	CHECK(a.chg[0].op == IPOP_TOPO_ADD && a.chg[0].type == IPOP_LINK_SUCC &&
	      ipop_node_id_eq(a.chg[0].peer, R(1)));
	CHECK(a.chg[1].op == IPOP_TOPO_ADD && a.chg[1].type == IPOP_LINK_SUCC &&
	      ipop_node_id_eq(a.chg[1].peer, R(2)));
	for (unsigned i = 2; i < 5; i++) {
		CHECK(a.chg[i].op == IPOP_TOPO_ADD && a.chg[i].type == IPOP_LINK_LONG);
		CHECK(!ipop_sym_too_close(R(0), a.chg[i].peer, ring16, 16, 2, 16));
		CHECK(a.chg[i].n_est == 16);   /* 15 peers: few enough to count exactly */
		CHECK(find_chg(&a, a.chg[i].peer, &pos) && pos == (int)i);   /* no peer twice */
	}
	CHECK(a.adj[0].state == IPOP_TOPO_PENDING && a.adj[0].outgoing == 1);
	/* deterministic for a seed */
	CHECK(build(&p, &in, 1, &b) == 0);
	CHECK(memcmp(a.chg, b.chg, sizeof(a.chg[0]) * a.plan.nchg) == 0);
}

/* A converged node's plan is the identity and draws nothing. */
static void test_identity(void)
{
	struct ipop_sym_params p = params(2, 3);
	struct ipop_sym_input in = { .self = R(4), .cand = ring16, .ncand = 16 };
	struct planbuf a, b;
	struct ipop_rng rng;

	CHECK(build(&p, &in, 3, &a) == 0);
	for (size_t i = 0; i < a.plan.nadj; i++)
		a.adj[i].state = IPOP_TOPO_UP;
	in.links = a.adj;
	in.nlinks = a.plan.nadj;
	ipop_rng_seed(&rng, 77);
	memset(&b, 0, sizeof(b));
	b.plan.adj = b.adj, b.plan.adj_cap = 64, b.plan.chg = b.chg, b.plan.chg_cap = 64;
	CHECK(ipop_sym_build(&p, &in, &rng, &b.plan) == 0);
	CHECK(b.plan.nchg == 0 && b.plan.nadj == a.plan.nadj);
	CHECK(rng.s == 77);
}

/* A node joins between self and its successor: the new successor is added
 * and the old second successor is kept until the new one is up. */
static void test_join_replaces_after_up(void)
{
	struct ipop_sym_params p = params(2, 1);
	struct ipop_node_id x = ipop_node_id_make(1ULL << 59, 0);   /* between R(0) and R(1) */
	struct ipop_node_id cand[17];
	struct ipop_topo_link links[3] = {
		out_link(R(1), IPOP_LINK_SUCC, IPOP_TOPO_UP, 0),
		out_link(R(2), IPOP_LINK_SUCC, IPOP_TOPO_UP, 0),
		out_link(R(8), IPOP_LINK_LONG, IPOP_TOPO_UP, 12),
	};
	struct ipop_sym_input in = { .self = R(0), .cand = cand, .ncand = 17,
				     .links = links, .nlinks = 3 };
	struct planbuf a;
	int pos_rm;

	cand[0] = R(0);
	cand[1] = x;
	for (unsigned i = 1; i < 16; i++)
		cand[i + 1] = R(i);
	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(a.plan.nchg == 1);
	CHECK(a.chg[0].op == IPOP_TOPO_ADD && a.chg[0].type == IPOP_LINK_SUCC &&
	      ipop_node_id_eq(a.chg[0].peer, x));
	CHECK(find_adj(&a, R(2)) && find_adj(&a, R(2))->type == IPOP_LINK_SUCC);   /* kept */
	CHECK(count_type(&a, IPOP_LINK_SUCC) == 3);
	/* the new successor is requested but not up: still keep R(2) */
	struct ipop_topo_link links2[4] = { links[0], links[1], links[2],
					    out_link(x, IPOP_LINK_SUCC, IPOP_TOPO_PENDING, 0) };
	in.links = links2;
	in.nlinks = 4;
	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(a.plan.nchg == 0);
	/* up: now R(2) goes */
	links2[3].state = IPOP_TOPO_UP;
	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(a.plan.nchg == 1 && a.chg[0].op == IPOP_TOPO_REMOVE &&
	      ipop_node_id_eq(a.chg[0].peer, R(2)));
	/* a long link to the third peer is fine for s = 2; a link no longer
	 * configured as static goes, and nothing replaces it */
	links2[2] = out_link(R(2), IPOP_LINK_LONG, IPOP_TOPO_UP, 12);
	links2[1] = out_link(R(5), IPOP_LINK_STATIC, IPOP_TOPO_UP, 0);
	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(a.plan.nchg == 1);
	CHECK(find_chg(&a, R(5), &pos_rm) && a.chg[pos_rm].op == IPOP_TOPO_REMOVE);
	CHECK(find_adj(&a, R(2)) && find_adj(&a, R(2))->type == IPOP_LINK_LONG);
	/* with s = 3 the same peer is too close for a long link: it becomes a
	 * successor (a retype, no new tunnel), and a new long link is drawn */
	p.successors = 3;
	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(find_chg(&a, R(2), &pos_rm) && a.chg[pos_rm].op == IPOP_TOPO_RETYPE &&
	      a.chg[pos_rm].type == IPOP_LINK_SUCC);
	CHECK(count_type(&a, IPOP_LINK_LONG) == 1 && count_type(&a, IPOP_LINK_SUCC) == 3);
	for (size_t i = 0; i < a.plan.nchg; i++)
		if (a.chg[i].op == IPOP_TOPO_ADD)
			CHECK(a.chg[i].type == IPOP_LINK_LONG &&
			      !ipop_sym_too_close(R(0), a.chg[i].peer, cand, 17, 3, 17));
}

/* The successor dies: the next node becomes a successor, added before the
 * dead one is removed. */
static void test_successor_dies(void)
{
	struct ipop_sym_params p = params(2, 1);
	struct ipop_node_id cand[15];
	struct ipop_topo_link links[3] = {
		out_link(R(1), IPOP_LINK_SUCC, IPOP_TOPO_UP, 0),
		out_link(R(2), IPOP_LINK_SUCC, IPOP_TOPO_UP, 0),
		out_link(R(8), IPOP_LINK_LONG, IPOP_TOPO_UP, 11),
	};
	struct ipop_sym_input in = { .self = R(0), .cand = cand, .ncand = 15,
				     .links = links, .nlinks = 3 };
	struct planbuf a;
	int pos_add, pos_rm;

	cand[0] = R(0);
	for (unsigned i = 2; i < 16; i++)
		cand[i - 1] = R(i);
	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(a.plan.nchg == 2);
	CHECK(find_chg(&a, R(3), &pos_add) && a.chg[pos_add].op == IPOP_TOPO_ADD &&
	      a.chg[pos_add].type == IPOP_LINK_SUCC);
	CHECK(find_chg(&a, R(1), &pos_rm) && a.chg[pos_rm].op == IPOP_TOPO_REMOVE);
	CHECK(pos_add < pos_rm);
	CHECK(find_adj(&a, R(8)) != NULL);   /* the long link stays */
}

static void test_retype_and_relink(void)
{
	struct ipop_sym_params p = params(2, 1);
	struct ipop_topo_link links[3] = {
		out_link(R(1), IPOP_LINK_SUCC, IPOP_TOPO_UP, 0),
		out_link(R(2), IPOP_LINK_LONG, IPOP_TOPO_UP, 12),   /* now a successor */
		out_link(R(8), IPOP_LINK_LONG, IPOP_TOPO_UP, 8),
	};
	struct ipop_sym_input in = { .self = R(0), .cand = ring16, .ncand = 16,
				     .links = links, .nlinks = 3 };
	struct planbuf a;
	int pos;

	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(a.plan.nchg == 1 && a.chg[0].op == IPOP_TOPO_RETYPE &&
	      a.chg[0].type == IPOP_LINK_SUCC && ipop_node_id_eq(a.chg[0].peer, R(2)));
	CHECK(find_adj(&a, R(8))->n_est == 8);   /* 16 / 8 <= 2: kept, estimate kept */
	links[2].n_est = 7;                      /* 16 / 7 > 2: drawn for a smaller ring */
	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(find_chg(&a, R(8), &pos) && a.chg[pos].op == IPOP_TOPO_REMOVE);
	CHECK(count_type(&a, IPOP_LINK_LONG) == 1);
	links[2].n_est = 40;                     /* and for a larger one */
	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(find_chg(&a, R(8), &pos) && a.chg[pos].op == IPOP_TOPO_REMOVE);
	p.relink_factor = 4;
	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(!find_chg(&a, R(8), &pos) || a.chg[pos].op == IPOP_TOPO_RETYPE);
}

/* The ring shrank: a long link drawn for 8 nodes is now closer than 1/n of
 * the ring (n = 6), so it is redrawn although the estimate moved less than
 * the relink factor. */
static void test_too_close_after_shrink(void)
{
	struct ipop_sym_params p = params(1, 1);
	struct ipop_node_id cand[6] = { R(0), R(1), R(2), R(8), R(10), R(12) };
	struct ipop_topo_link links[2] = {
		out_link(R(1), IPOP_LINK_SUCC, IPOP_TOPO_UP, 0),
		out_link(R(2), IPOP_LINK_LONG, IPOP_TOPO_UP, 8),
	};
	struct ipop_sym_input in = { .self = R(0), .cand = cand, .ncand = 6,
				     .links = links, .nlinks = 2 };
	struct planbuf a;
	int pos;

	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(a.plan.n_est == 6.0);
	CHECK(find_chg(&a, R(2), &pos) && a.chg[pos].op == IPOP_TOPO_REMOVE);
	CHECK(count_type(&a, IPOP_LINK_LONG) == 1 && find_adj(&a, R(2)) == NULL);
	cand[2] = R(3);   /* 3/16 > 1/6: fine */
	links[1].peer = R(3);
	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(a.plan.nchg == 0);
}

static void test_static_ondemand_refused(void)
{
	struct ipop_sym_params p = params(2, 2);
	struct ipop_node_id statics[3] = { R(8), R(1), ipop_node_id_make(7, 7) /* absent */ };
	struct ipop_node_id ond[2] = { R(11), R(12) };
	struct ipop_sym_input in = { .self = R(0), .cand = ring16, .ncand = 16,
				     .statics = statics, .nstatic = 3,
				     .ondemand = ond, .nondemand = 2 };
	struct planbuf a;

	p.max_ondemand = 1;
	CHECK(build(&p, &in, 1, &a) == 0);
	CHECK(find_adj(&a, R(8)) && find_adj(&a, R(8))->type == IPOP_LINK_STATIC);
	CHECK(find_adj(&a, R(1))->type == IPOP_LINK_SUCC);
	CHECK(find_adj(&a, ipop_node_id_make(7, 7)) == NULL);
	CHECK(find_adj(&a, R(11)) && find_adj(&a, R(11))->type == IPOP_LINK_ONDEMAND);
	CHECK(find_adj(&a, R(12)) == NULL);
	CHECK(count_type(&a, IPOP_LINK_LONG) == 2);

	/* refused peers, and peers already holding a link to us, are never drawn */
	struct ipop_node_id refused[6] = { R(3), R(4), R(5), R(6), R(7), R(9) };
	struct ipop_topo_link in_link = out_link(R(10), IPOP_LINK_LONG, IPOP_TOPO_UP, 0);
	unsigned hits = 0;

	in_link.outgoing = 0;
	in.statics = NULL, in.nstatic = 0, in.ondemand = NULL, in.nondemand = 0;
	in.refused = refused, in.nrefused = 6;
	in.links = &in_link, in.nlinks = 1;
	for (uint64_t seed = 0; seed < 200; seed++) {
		CHECK(build(&p, &in, seed, &a) == 0);
		for (size_t i = 0; i < a.plan.nadj; i++) {
			if (a.adj[i].type != IPOP_LINK_LONG)
				continue;
			hits++;
			for (unsigned r = 0; r < 6; r++)
				CHECK(!ipop_node_id_eq(a.adj[i].peer, refused[r]));
			CHECK(!ipop_node_id_eq(a.adj[i].peer, R(10)));
		}
	}
	CHECK(hits > 100);   /* the draws do land elsewhere */

	/* A long link the member refused (pending, the member listed as refused)
	 * is dropped and drawn elsewhere; asking again would only be refused. */
	struct ipop_topo_link mine[3] = {
		out_link(R(1), IPOP_LINK_SUCC, IPOP_TOPO_UP, 0),
		out_link(R(2), IPOP_LINK_SUCC, IPOP_TOPO_UP, 0),
		out_link(R(8), IPOP_LINK_LONG, IPOP_TOPO_PENDING, 16),
	};
	struct ipop_node_id r8[1] = { R(8) };
	int pos;

	p = params(2, 1);
	in.links = mine, in.nlinks = 3;
	in.refused = r8, in.nrefused = 1;
	CHECK(build(&p, &in, 5, &a) == 0);
	CHECK(find_chg(&a, R(8), &pos) && a.chg[pos].op == IPOP_TOPO_REMOVE);
	CHECK(find_adj(&a, R(8)) == NULL && count_type(&a, IPOP_LINK_LONG) == 1);
	/* Not refused: kept while pending. Up: kept whatever the list says. */
	in.nrefused = 0;
	CHECK(build(&p, &in, 5, &a) == 0 && a.plan.nchg == 0 && find_adj(&a, R(8)) != NULL);
	in.nrefused = 1;
	mine[2].state = IPOP_TOPO_UP;
	CHECK(build(&p, &in, 5, &a) == 0 && a.plan.nchg == 0 && find_adj(&a, R(8)) != NULL);
}

static void test_errors_and_room(void)
{
	struct ipop_sym_params p = params(2, 3);
	struct ipop_sym_input in = { .self = R(0), .cand = ring16, .ncand = 16 };
	struct ipop_topo_link adj[3];
	struct ipop_topo_change chg[8];
	struct ipop_sym_plan plan = { .adj = adj, .adj_cap = 3, .chg = chg, .chg_cap = 8 };
	struct ipop_rng rng = { 1 };
	size_t adj_cap, chg_cap;

	CHECK(ipop_sym_build(&p, &in, &rng, &plan) == -ENOSPC);
	CHECK(ipop_sym_build(&p, &in, NULL, &plan) == -EINVAL);
	p.successors = 0;
	CHECK(ipop_sym_build(&p, &in, &rng, &plan) == -EINVAL);
	p.successors = 2;
	in.cand = NULL;
	CHECK(ipop_sym_build(&p, &in, &rng, &plan) == -EINVAL);
	in.cand = ring16;
	ipop_sym_plan_room(&p, &in, &adj_cap, &chg_cap);
	CHECK(adj_cap >= 5 && chg_cap >= adj_cap);
	/* alone, or with one peer: successors only, no long links */
	struct planbuf a;

	in.ncand = 1;
	CHECK(build(&p, &in, 1, &a) == 0 && a.plan.nadj == 0 && a.plan.nchg == 0);
	in.ncand = 2;
	CHECK(build(&p, &in, 1, &a) == 0 && a.plan.nadj == 1 && a.plan.k == 0);
	in.ncand = 4;   /* 3 peers, s = 2: one left for a long link */
	CHECK(build(&p, &in, 1, &a) == 0 && a.plan.k == 1);
	CHECK(count_type(&a, IPOP_LINK_SUCC) == 2);
}

int main(void)
{
	for (unsigned i = 0; i < 16; i++)
		ring16[i] = R(i);
	test_params();
	test_rng_and_window();
	test_estimate_and_successors();
	test_estimate_random();
	test_harmonic_draw();
	test_too_close();
	test_accept();
	test_fresh_node();
	test_identity();
	test_join_replaces_after_up();
	test_successor_dies();
	test_retype_and_relink();
	test_too_close_after_shrink();
	test_static_ondemand_refused();
	test_errors_and_room();
	return check_report("symphony");
}

/* experiments.c - growth, delivery, links, adjacent failures and churn
 * measured on the simulated overlay (see experiments.h).
 *
 * Thread: single-threaded tool code. */
#include "bench/sim/experiments.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHURN_MAX_ROUNDS 60

int exp_grow(struct sim *s, uint32_t first, uint32_t count, unsigned max_rounds,
	     uint32_t *rounds)
{
	uint32_t next = first, end = first + count;
	int rc;

	if (end > s->nnodes || end < first)
		return -EINVAL;
	while (next < end) {
		uint32_t batch = 1 + s->nroster / 32;

		for (uint32_t b = 0; b < batch && next < end; b++) {
			rc = sim_join(s, next++);
			if (rc)
				return rc;
		}
		sim_round(s);
	}
	rc = sim_converge(s, max_rounds);
	if (rc < 0)
		return rc;
	*rounds = (uint32_t)rc;
	return 0;
}

/* ---- picking broadcast sources ---- */

static uint32_t live_positions(const struct sim_dp *dp, uint32_t *pos)
{
	uint32_t n = 0;

	for (uint32_t r = 0; r < dp->n; r++)
		if (!dp->down[r])
			pos[n++] = r;
	return n;
}

/* Moves `want` random entries of pos[0..n) to its front (partial shuffle). */
static uint32_t sample(uint32_t *pos, uint32_t n, uint32_t want, struct ipop_rng *rng)
{
	if (want > n)
		want = n;
	for (uint32_t i = 0; i < want; i++) {
		uint32_t j = i + (uint32_t)ipop_rng_below(rng, n - i);
		uint32_t t = pos[i];

		pos[i] = pos[j];
		pos[j] = t;
	}
	return want;
}

struct dp_ctx {
	struct sim_dp dp;
	struct sim_bcast_scratch sc;
	uint32_t *pos;
	uint32_t nlive;
};

static int ctx_open(const struct sim *s, struct dp_ctx *c)
{
	memset(c, 0, sizeof(*c));
	if (sim_dp_build(s, &c->dp))
		return -ENOMEM;
	if (sim_bcast_scratch_init(&c->sc, &c->dp)) {
		sim_dp_free(&c->dp);
		return -ENOMEM;
	}
	c->pos = calloc(c->dp.n ? c->dp.n : 1, sizeof(*c->pos));
	if (!c->pos) {
		sim_bcast_scratch_free(&c->sc);
		sim_dp_free(&c->dp);
		return -ENOMEM;
	}
	c->nlive = live_positions(&c->dp, c->pos);
	return 0;
}

static void ctx_close(struct dp_ctx *c)
{
	free(c->pos);
	sim_bcast_scratch_free(&c->sc);
	sim_dp_free(&c->dp);
}

/* ---- delivery and path length ---- */

int exp_flood(const struct sim *s, uint32_t max_sources, uint32_t bfs_sources, uint64_t seed,
	      struct exp_flood *out)
{
	struct ipop_rng rng;
	struct dp_ctx c;
	uint64_t bfs_sum = 0, first_copies;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	if (ctx_open(s, &c))
		return -ENOMEM;
	ipop_rng_seed(&rng, seed);
	n = sample(c.pos, c.nlive, max_sources, &rng);
	for (uint32_t i = 0; i < n; i++)
		sim_broadcast(&c.dp, &c.sc, c.pos[i], &out->b);
	out->sources = n;
	first_copies = out->b.receipts - out->b.duplicates;
	out->avg_hops = first_copies ? (double)out->b.hops_sum / first_copies : 0;
	out->max_hops = out->b.hops_max;
	n = sample(c.pos, c.nlive, bfs_sources, &rng);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t reached = sim_bfs(&c.dp, &c.sc, c.pos[i], &bfs_sum, &out->bfs_max);

		out->bfs_unreached += c.nlive - 1 - reached;
	}
	out->bfs_sources = n;
	if (n && c.nlive > 1)
		out->bfs_avg = (double)bfs_sum / ((double)n * (c.nlive - 1) - out->bfs_unreached);
	ctx_close(&c);
	return 0;
}

/* ---- links per node ---- */

void exp_links(const struct sim *s, struct exp_links *out)
{
	struct sim_dp dp;
	uint32_t live = 0;
	double est_sum = 0, within = 0, k_sum = 0;

	memset(out, 0, sizeof(*out));
	if (sim_dp_build(s, &dp))
		return;
	for (uint32_t r = 0; r < dp.n; r++)
		live += !dp.down[r];
	for (uint32_t r = 0; r < dp.n; r++) {
		const struct sim_node *v = &s->nodes[dp.node[r]];
		uint32_t in_long = 0, out_long = 0, deg = dp.off[r + 1] - dp.off[r];

		if (dp.down[r])
			continue;
		for (uint32_t i = 0; i < v->nlinks; i++) {
			const struct ipop_topo_link *l = &v->links[i];

			if (l->outgoing)
				out->out[l->type]++;
			else
				out->in[l->type]++;
			in_long += !l->outgoing && l->type == IPOP_LINK_LONG;
			out_long += l->outgoing && l->type == IPOP_LINK_LONG;
		}
		out->short_of_k += out_long < v->k;
		if (in_long > out->in_long_max)
			out->in_long_max = in_long;
		out->degree_avg += deg;
		if (deg > out->degree_max)
			out->degree_max = deg;
		est_sum += v->n_est / live;
		within += v->n_est >= live / 2.0 && v->n_est <= live * 2.0;
		k_sum += v->k;
	}
	for (int t = 0; t < IPOP_LINK_NTYPES && live; t++) {
		out->out[t] /= live;
		out->in[t] /= live;
	}
	if (live) {
		out->degree_avg /= live;
		out->n_est_ratio = est_sum / live;
		out->n_est_within2 = within / live;
		out->k_avg = k_sum / live;
	}
	out->live = live;
	sim_dp_free(&dp);
}

/* ---- adjacent failures, without repair ---- */

static bool has_nbr(const struct sim_dp *dp, uint32_t r, uint32_t q)
{
	for (uint32_t i = dp->off[r]; i < dp->off[r + 1]; i++)
		if (dp->nbr_pos[i] == q)
			return true;
	return false;
}

static void set_gap(struct sim_dp *dp, uint32_t p, unsigned m, uint8_t v)
{
	for (unsigned j = 0; j < m; j++)
		dp->down[(p + j) % dp->n] = v;
}

/* Broadcasts from the node just before the gap and from random live nodes. */
static void gap_broadcasts(struct dp_ctx *c, uint32_t before, uint32_t sources,
			   struct ipop_rng *rng, struct sim_bcast *out)
{
	sim_broadcast(&c->dp, &c->sc, before, out);
	for (uint32_t i = 1; i < sources; i++) {
		uint32_t src = (uint32_t)ipop_rng_below(rng, c->dp.n);

		if (!c->dp.down[src])
			sim_broadcast(&c->dp, &c->sc, src, out);
	}
}

static void one_gap(struct dp_ctx *c, uint32_t p, unsigned m, uint32_t sources,
		    struct ipop_rng *rng, struct exp_adj *out)
{
	uint32_t n = c->dp.n, before = (p + n - 1) % n, after = (p + m) % n;
	uint64_t sum = 0;
	uint32_t max = 0;

	out->ring_gaps += !has_nbr(&c->dp, before, after);
	set_gap(&c->dp, p, m, SIM_DP_NOTICED);
	gap_broadcasts(c, before, sources, rng, &out->noticed);
	if (sim_bfs(&c->dp, &c->sc, after, &sum, &max) < n - m - 1)
		out->graph_split++;
	set_gap(&c->dp, p, m, SIM_DP_LOST);
	gap_broadcasts(c, before, sources, rng, &out->unnoticed);
	set_gap(&c->dp, p, m, 0);
}

int exp_adjacent(const struct sim *s, unsigned m, uint32_t max_positions, uint32_t sources,
		 uint64_t seed, struct exp_adj *out)
{
	struct ipop_rng rng;
	struct dp_ctx c;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	out->m = m;
	if (ctx_open(s, &c))
		return -ENOMEM;
	if (c.nlive != c.dp.n || c.dp.n < m + 2) {
		ctx_close(&c);
		return -EINVAL;   /* needs a quiet overlay with room around the gap */
	}
	ipop_rng_seed(&rng, seed);
	n = sample(c.pos, c.nlive, max_positions, &rng);
	for (uint32_t i = 0; i < n; i++)
		one_gap(&c, c.pos[i], m, sources, &rng, out);
	out->positions = n;
	ctx_close(&c);
	return 0;
}

/* ---- churn ---- */

const char *exp_event_name(enum exp_event ev)
{
	static const char *names[] = { "leave", "leave_adjacent", "join", "join_same_gap",
				       "leave_and_join" };

	return ev <= EXP_MIXED ? names[ev] : "?";
}

struct event_ctx {
	uint32_t newcomers[64];
	uint32_t nnew;
	int32_t anchor;              /* a node next to the event, or -1 */
};

static int crash_random(struct sim *s, unsigned m, struct ipop_rng *rng)
{
	for (unsigned j = 0, tries = 0; j < m && tries < 1000; tries++) {
		uint32_t p = (uint32_t)ipop_rng_below(rng, s->nroster);

		if (sim_crash(s, s->roster_node[p]) == 0)
			j++;
	}
	return 0;
}

static int join_spare(struct sim *s, uint32_t *spare, uint32_t spare_end, struct event_ctx *e)
{
	if (*spare >= spare_end || e->nnew >= 64)
		return -ENOSPC;
	e->newcomers[e->nnew++] = *spare;
	return sim_join(s, (*spare)++);
}

static int join_gap(struct sim *s, uint32_t *spare, uint32_t spare_end, unsigned m,
		    struct ipop_rng *rng, struct event_ctx *e)
{
	uint32_t p = (uint32_t)ipop_rng_below(rng, s->nroster);
	struct ipop_node_id a = s->roster[p], b = s->roster[(p + 1) % s->nroster];
	double gap = ipop_ring_to_fraction(ipop_ring_dist(a, b));
	int rc;

	e->anchor = (int32_t)s->roster_node[p];
	for (unsigned j = 1; j <= m; j++) {
		struct ipop_node_id id = ipop_ring_add(a, ipop_ring_from_fraction(gap * j / (m + 1)));

		if (*spare >= spare_end)
			return -ENOSPC;
		if (!ipop_ring_in_oo(id, a, b) || sim_set_id(s, *spare, id))
			continue;
		rc = join_spare(s, spare, spare_end, e);
		if (rc)
			return rc;
	}
	return 0;
}

static int apply_event(struct sim *s, uint32_t *spare, uint32_t spare_end, enum exp_event ev,
		       unsigned m, struct ipop_rng *rng, struct event_ctx *e)
{
	uint32_t p;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	e->anchor = -1;
	switch (ev) {
	case EXP_LEAVE_ADJ:
		p = (uint32_t)ipop_rng_below(rng, s->nroster);
		e->anchor = (int32_t)s->roster_node[(p + s->nroster - 1) % s->nroster];
		for (unsigned j = 0; j < m; j++)
			sim_crash(s, s->roster_node[(p + j) % s->nroster]);
		return 0;
	case EXP_LEAVE:
		return crash_random(s, m, rng);
	case EXP_JOIN_GAP:
		return join_gap(s, spare, spare_end, m, rng, e);
	case EXP_MIXED:
		crash_random(s, m, rng);
		for (unsigned j = 0; j < m && !rc; j++)
			rc = join_spare(s, spare, spare_end, e);
		return rc;
	case EXP_JOIN:
		for (unsigned j = 0; j < m && !rc; j++)
			rc = join_spare(s, spare, spare_end, e);
		return rc;
	}
	return -EINVAL;
}

/* The ring is connected when no tunnel leads to an unnoticed dead node and
 * every live node has a tunnel to the next live node clockwise: the
 * condition under which Bounded Flood promises delivery to everyone. */
static bool ring_connected(const struct sim_dp *dp)
{
	uint32_t first = UINT32_MAX, prev = UINT32_MAX;

	for (uint32_t r = 0; r < dp->n; r++) {
		if (dp->down[r] == SIM_DP_LOST)
			return false;
		if (dp->down[r])
			continue;
		if (prev != UINT32_MAX && !has_nbr(dp, prev, r))
			return false;
		if (first == UINT32_MAX)
			first = r;
		prev = r;
	}
	return prev == first || prev == UINT32_MAX || has_nbr(dp, prev, first);
}

/* Broadcasts of one round: from the node next to the event, and random ones. */
static int measure_round(const struct sim *s, const struct event_ctx *e, uint32_t sources,
			 struct ipop_rng *rng, struct sim_bcast *bc, uint32_t *live,
			 bool *connected)
{
	struct dp_ctx c;
	uint32_t pos, n;

	memset(bc, 0, sizeof(*bc));
	if (ctx_open(s, &c))
		return -ENOMEM;
	for (uint32_t i = 0; i < e->nnew; i++)
		if (sim_roster_pos(s, s->nodes[e->newcomers[i]].id, &pos) == 0)
			c.dp.newcomer[pos] = 1;
	if (e->anchor >= 0 && sim_roster_pos(s, s->nodes[e->anchor].id, &pos) == 0 &&
	    !c.dp.down[pos])
		sim_broadcast(&c.dp, &c.sc, pos, bc);
	/* Sources are nodes that were there before the event: a newcomer
	 * without tunnels yet reaches nobody, which says nothing about the
	 * others; its own wait is counted as missed_new. */
	n = 0;
	for (uint32_t i = 0; i < c.nlive; i++)
		if (!c.dp.newcomer[c.pos[i]])
			c.pos[n++] = c.pos[i];
	n = sample(c.pos, n, sources, rng);
	for (uint32_t i = 0; i < n; i++)
		sim_broadcast(&c.dp, &c.sc, c.pos[i], bc);
	*live = c.nlive;
	*connected = ring_connected(&c.dp);
	ctx_close(&c);
	return 0;
}

static void add_bcast(struct sim_bcast *to, const struct sim_bcast *b)
{
	to->broadcasts += b->broadcasts;
	to->receipts += b->receipts;
	to->duplicates += b->duplicates;
	to->missed += b->missed;
	to->missed_new += b->missed_new;
	to->lost += b->lost;
	to->hops_sum += b->hops_sum;
	to->hops_max = b->hops_max > to->hops_max ? b->hops_max : to->hops_max;
	to->incomplete += b->incomplete;
	to->bad += b->bad;
}

struct trial {
	uint32_t incomplete, old_missed;
};

static int record_round(const struct sim *s, const struct event_ctx *e, uint32_t sources,
			struct ipop_rng *rng, uint32_t r, struct exp_churn *out,
			struct trial *t, bool *complete)
{
	struct sim_bcast bc;
	uint32_t live;
	bool connected;
	int rc = measure_round(s, e, sources, rng, &bc, &live, &connected);

	if (rc)
		return rc;
	add_bcast(&out->b, &bc);
	*complete = bc.incomplete == 0;
	out->rounds_connected += connected;
	out->rounds_connected_incomplete += connected && bc.incomplete > 0;
	t->incomplete += bc.incomplete > 0;
	t->old_missed += bc.missed > 0;
	if (r < EXP_TIMELINE && bc.broadcasts && live > 1) {
		out->miss_frac[r] += (double)(bc.missed + bc.missed_new) /
				     ((double)bc.broadcasts * (live - 1));
		out->miss_count[r]++;
	}
	return 0;
}

static int one_trial(struct sim *s, uint32_t *spare, uint32_t spare_end, uint32_t sources,
		     struct ipop_rng *rng, struct exp_churn *out)
{
	struct event_ctx e;
	struct trial t = { 0, 0 };
	uint64_t msgs0 = s->c.msgs;
	uint32_t r = 0;
	bool complete;
	int rc;

	rc = apply_event(s, spare, spare_end, out->ev, out->m, rng, &e);
	if (!rc)
		rc = record_round(s, &e, sources, rng, r, out, &t, &complete);
	while (!rc) {
		bool quiet = !(s->njoining || s->ncrashed || s->npending);

		sim_round(s);
		r++;
		rc = record_round(s, &e, sources, rng, r, out, &t, &complete);
		if (quiet && s->changes_this_round == 0 && s->npending == 0 && complete)
			break;
		if (r >= CHURN_MAX_ROUNDS) {
			out->timeouts++;
			break;
		}
	}
	if (rc)
		return rc;
	out->msgs += s->c.msgs - msgs0;
	out->rounds_incomplete_sum += t.incomplete;
	out->rounds_incomplete_max = t.incomplete > out->rounds_incomplete_max
					     ? t.incomplete : out->rounds_incomplete_max;
	out->rounds_old_missed_sum += t.old_missed;
	out->rounds_old_missed_max = t.old_missed > out->rounds_old_missed_max
					     ? t.old_missed : out->rounds_old_missed_max;
	out->rounds_converge_sum += r;
	out->rounds_converge_max = r > out->rounds_converge_max ? r : out->rounds_converge_max;
	out->trials++;
	return 0;
}

int exp_churn(struct sim *s, uint32_t *spare, uint32_t spare_end, enum exp_event ev,
	      unsigned m, uint32_t trials, uint32_t sources, uint64_t seed,
	      struct exp_churn *out)
{
	struct ipop_rng rng;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->ev = ev;
	out->m = m;
	ipop_rng_seed(&rng, seed);
	for (uint32_t i = 0; i < trials && !rc; i++)
		rc = one_trial(s, spare, spare_end, sources, &rng, out);
	for (int r = 0; r < EXP_TIMELINE; r++)
		if (out->miss_count[r])
			out->miss_frac[r] /= out->miss_count[r];
	return rc;
}

/* symphony.c - Symphony successor and long-distance link selection, the
 * incoming-link cap and the graph builder (see symphony.h).
 *
 * Thread: control (pure; all buffers and the RNG belong to the caller). */
#include "control/topology/symphony.h"

#include <errno.h>
#include <math.h>

#define SYM_MAX_S          64    /* bounds the builder's stack arrays */
#define SYM_MAX_K          128   /* a 128-bit ring never needs more */
#define SYM_DEFAULT_RELINK 2
#define SYM_DEFAULT_DRAWS  8
#define SYM_DEFAULT_EST    8     /* neighbours per side for the size estimate */
#define SYM_MAX_EST        1024

void ipop_sym_params_default(struct ipop_sym_params *p)
{
	p->successors = 2;
	p->long_links = 0;
	p->max_in_long = 0;
	p->max_ondemand = 4;
	p->relink_factor = SYM_DEFAULT_RELINK;
	p->draw_attempts = SYM_DEFAULT_DRAWS;
	p->est_neighbours = 0;
}

int ipop_sym_check_params(const struct ipop_sym_params *p)
{
	if (!p)
		return -EINVAL;
	if (p->successors < 1 || p->successors > SYM_MAX_S)
		return -EINVAL;
	if (p->long_links > SYM_MAX_K)
		return -EINVAL;
	if (p->relink_factor == 1)
		return -EINVAL;   /* would redraw on every estimate wobble */
	if (p->draw_attempts > 1000 || p->est_neighbours > SYM_MAX_EST)
		return -EINVAL;
	return 0;
}

/* ---- walking the candidate set, skipping self ---- */

static bool cand_has(const struct ipop_node_id *cand, size_t ncand, struct ipop_node_id x)
{
	size_t i;

	return ipop_ring_find(cand, ncand, x, &i) == 0;
}

static size_t peers_known(struct ipop_node_id self, const struct ipop_node_id *cand,
			  size_t ncand)
{
	return cand_has(cand, ncand, self) ? ncand - 1 : ncand;
}

static size_t step_fwd(struct ipop_node_id self, const struct ipop_node_id *cand,
		       size_t ncand, size_t i)
{
	i = (i + 1) % ncand;
	if (ipop_node_id_eq(cand[i], self))
		i = (i + 1) % ncand;
	return i;
}

static size_t step_back(struct ipop_node_id self, const struct ipop_node_id *cand,
			size_t ncand, size_t i)
{
	i = i == 0 ? ncand - 1 : i - 1;
	if (ipop_node_id_eq(cand[i], self))
		i = i == 0 ? ncand - 1 : i - 1;
	return i;
}

/* Index of the j-th peer (j >= 1) clockwise (fwd) or counter-clockwise from
 * self; requires j <= peers known. */
static size_t nth_peer(struct ipop_node_id self, const struct ipop_node_id *cand,
		       size_t ncand, unsigned j, bool fwd)
{
	size_t i;

	if (fwd)
		ipop_ring_succ(cand, ncand, self, &i);
	else
		ipop_ring_pred(cand, ncand, self, &i);
	for (unsigned t = 1; t < j; t++)
		i = fwd ? step_fwd(self, cand, ncand, i) : step_back(self, cand, ncand, i);
	return i;
}

int ipop_sym_successors(struct ipop_node_id self, const struct ipop_node_id *cand,
			size_t ncand, unsigned s, size_t *idx, size_t cap)
{
	size_t m, want, i;

	if (!cand || !idx)
		return -EINVAL;
	m = peers_known(self, cand, ncand);
	want = s < m ? s : m;
	if (want > cap || want > INT32_MAX)
		return -EINVAL;
	if (want == 0)
		return 0;
	ipop_ring_succ(cand, ncand, self, &i);
	for (size_t t = 0; t < want; t++) {
		if (t > 0) {
			size_t next = step_fwd(self, cand, ncand, i);

			/* A cheap local check of the sortedness precondition. */
			if (!ipop_ring_closer(self, cand[i], cand[next]))
				return -EINVAL;
			i = next;
		}
		idx[t] = i;
	}
	return (int)want;
}

double ipop_sym_estimate_n(struct ipop_node_id self, const struct ipop_node_id *cand,
			   size_t ncand, unsigned w)
{
	size_t m, lo, hi;
	double span;

	if (!cand || w == 0)
		return 1.0;
	m = peers_known(self, cand, ncand);
	if (m <= 2 * (size_t)w)
		return (double)m + 1.0;   /* the whole ring is in view: exact */
	lo = nth_peer(self, cand, ncand, w, false);
	hi = nth_peer(self, cand, ncand, w, true);
	span = ipop_ring_to_fraction(ipop_ring_dist(cand[lo], cand[hi]));
	if (span <= 0.0)
		return (double)m + 1.0;
	/* 2w gaps; with IDs uniform, span ~ Gamma(2w)/n and E[1/span] = n/(2w-1). */
	return fmax(1.0, (2.0 * w - 1.0) / span);
}

unsigned ipop_sym_est_neighbours(const struct ipop_sym_params *p)
{
	if (p->est_neighbours)
		return p->est_neighbours;
	return p->successors > SYM_DEFAULT_EST ? p->successors : SYM_DEFAULT_EST;
}

unsigned ipop_sym_window(const struct ipop_sym_params *p)
{
	unsigned est = ipop_sym_est_neighbours(p);

	return est > p->successors ? est : p->successors;
}

unsigned ipop_sym_k(const struct ipop_sym_params *p, double n_est)
{
	long r;

	if (p->long_links)
		return p->long_links;
	r = lround(log2(fmax(n_est, 1.0)));
	if (r < 1)
		return 1;
	return r > SYM_MAX_K ? SYM_MAX_K : (unsigned)r;
}

unsigned ipop_sym_max_in_long(const struct ipop_sym_params *p, double n_est)
{
	return p->max_in_long ? p->max_in_long : 2 * ipop_sym_k(p, n_est);
}

struct ipop_node_id ipop_sym_long_point(struct ipop_node_id self, double n_est, double u)
{
	double x = exp(log(fmax(n_est, 1.0)) * (u - 1.0));

	return ipop_ring_add(self, ipop_ring_from_fraction(x));
}

static bool below_harmonic_min(struct ipop_node_id self, struct ipop_node_id peer,
			       double n_est)
{
	return n_est > 1.0 &&
	       ipop_ring_to_fraction(ipop_ring_dist(self, peer)) < 1.0 / n_est;
}

bool ipop_sym_too_close(struct ipop_node_id self, struct ipop_node_id peer,
			const struct ipop_node_id *cand, size_t ncand, unsigned s,
			double n_est)
{
	size_t m, far;

	if (!cand || ipop_node_id_eq(self, peer))
		return true;
	m = peers_known(self, cand, ncand);
	if (m == 0)
		return true;
	if (below_harmonic_min(self, peer, n_est))
		return true;
	if (s == 0)
		return false;
	far = nth_peer(self, cand, ncand, s < m ? s : (unsigned)m, true);
	return !ipop_ring_closer(self, cand[far], peer);
}

/* ---- incoming requests ---- */

static unsigned count_incoming(const struct ipop_topo_link *links, size_t nlinks,
			       enum ipop_link_type type, struct ipop_node_id peer,
			       bool *already)
{
	unsigned c = 0;

	*already = false;
	for (size_t i = 0; i < nlinks; i++) {
		if (links[i].outgoing || links[i].type != type)
			continue;
		if (ipop_node_id_eq(links[i].peer, peer))
			*already = true;
		c++;
	}
	return c;
}

int ipop_sym_accept(const struct ipop_sym_params *p, double n_est,
		    const struct ipop_topo_link *links, size_t nlinks,
		    struct ipop_node_id peer, enum ipop_link_type type)
{
	unsigned cap, have;
	bool already;

	if (!p || (!links && nlinks))
		return -EINVAL;
	switch (type) {
	case IPOP_LINK_SUCC:
	case IPOP_LINK_STATIC:
		return 0;
	case IPOP_LINK_LONG:
		cap = ipop_sym_max_in_long(p, n_est);
		break;
	case IPOP_LINK_ONDEMAND:
		cap = p->max_ondemand;
		break;
	default:
		return -EINVAL;
	}
	have = count_incoming(links, nlinks, type, peer, &already);
	if (already)
		return 0;
	return have < cap ? 0 : -EBUSY;
}

/* ---- the builder ---- */

struct build {
	const struct ipop_sym_params *p;
	const struct ipop_sym_input *in;
	struct ipop_sym_plan *plan;
	unsigned s;
	size_t m;                      /* peers known, self excluded */
	struct ipop_node_id far_succ;  /* the s-th successor (or last one) */
	uint32_t n_est_u32;
};

static const struct ipop_topo_link *find_out(const struct ipop_sym_input *in,
					     struct ipop_node_id peer)
{
	for (size_t i = 0; i < in->nlinks; i++)
		if (in->links[i].outgoing && ipop_node_id_eq(in->links[i].peer, peer))
			return &in->links[i];
	return NULL;
}

static bool has_any_link(const struct ipop_sym_input *in, struct ipop_node_id peer)
{
	for (size_t i = 0; i < in->nlinks; i++)
		if (ipop_node_id_eq(in->links[i].peer, peer))
			return true;
	return false;
}

static bool in_adj(const struct ipop_sym_plan *plan, struct ipop_node_id peer)
{
	for (size_t i = 0; i < plan->nadj; i++)
		if (ipop_node_id_eq(plan->adj[i].peer, peer))
			return true;
	return false;
}

static bool id_listed(const struct ipop_node_id *ids, size_t n, struct ipop_node_id x)
{
	for (size_t i = 0; i < n; i++)
		if (ipop_node_id_eq(ids[i], x))
			return true;
	return false;
}

/* Appends a desired link; an existing outgoing link keeps its state (and, for
 * long links, the estimate it was drawn for). */
static int want(struct build *b, struct ipop_node_id peer, enum ipop_link_type type,
		uint32_t n_est)
{
	struct ipop_sym_plan *plan = b->plan;
	const struct ipop_topo_link *cur = find_out(b->in, peer);
	struct ipop_topo_link *l;

	if (plan->nadj == plan->adj_cap)
		return -ENOSPC;
	l = &plan->adj[plan->nadj++];
	l->peer = peer;
	l->type = (uint8_t)type;
	l->state = cur ? cur->state : IPOP_TOPO_PENDING;
	l->outgoing = 1;
	l->reserved = 0;
	l->n_est = cur && cur->type == type ? cur->n_est : n_est;
	return 0;
}

/* ipop_sym_too_close, with the s-th successor already found. */
static bool too_close(const struct build *b, struct ipop_node_id peer)
{
	if (b->m == 0 || ipop_node_id_eq(peer, b->in->self))
		return true;
	if (below_harmonic_min(b->in->self, peer, b->plan->n_est))
		return true;
	return !ipop_ring_closer(b->in->self, b->far_succ, peer);
}

static int want_successors(struct build *b)
{
	size_t idx[SYM_MAX_S];
	int n, rc;
	unsigned up = 0;

	n = ipop_sym_successors(b->in->self, b->in->cand, b->in->ncand, b->s, idx, SYM_MAX_S);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const struct ipop_topo_link *cur = find_out(b->in, b->in->cand[idx[i]]);

		rc = want(b, b->in->cand[idx[i]], IPOP_LINK_SUCC, 0);
		if (rc)
			return rc;
		up += cur && cur->state == IPOP_TOPO_UP;
	}
	if (n > 0)
		b->far_succ = b->in->cand[idx[n - 1]];
	return (int)((unsigned)n - up);   /* old successors still to keep */
}

/* Keeps the nearest `keep` old successors that are up, so the ring keeps s
 * working successor links while the new ones come up. */
static int keep_old_successors(struct build *b, int keep)
{
	const struct ipop_sym_input *in = b->in;

	for (; keep > 0; keep--) {
		const struct ipop_topo_link *best = NULL;

		for (size_t i = 0; i < in->nlinks; i++) {
			const struct ipop_topo_link *l = &in->links[i];

			if (!l->outgoing || l->type != IPOP_LINK_SUCC || l->state != IPOP_TOPO_UP)
				continue;
			if (in_adj(b->plan, l->peer) || !cand_has(in->cand, in->ncand, l->peer))
				continue;
			if (!best || ipop_ring_closer(in->self, l->peer, best->peer))
				best = l;
		}
		if (!best)
			return 0;
		if (want(b, best->peer, IPOP_LINK_SUCC, 0))
			return -ENOSPC;
	}
	return 0;
}

static bool usable_peer(const struct build *b, struct ipop_node_id peer)
{
	return !ipop_node_id_eq(peer, b->in->self) &&
	       cand_has(b->in->cand, b->in->ncand, peer) && !in_adj(b->plan, peer);
}

static int want_listed(struct build *b, const struct ipop_node_id *ids, size_t n,
		       enum ipop_link_type type, unsigned cap)
{
	unsigned taken = 0;

	for (size_t i = 0; i < n && taken < cap; i++) {
		if (!usable_peer(b, ids[i]))
			continue;
		if (want(b, ids[i], type, 0))
			return -ENOSPC;
		taken++;
	}
	return 0;
}

static bool estimate_still_fits(const struct build *b, uint32_t drawn_for)
{
	double f = b->p->relink_factor ? b->p->relink_factor : SYM_DEFAULT_RELINK;
	double ratio;

	if (drawn_for == 0)
		return true;
	ratio = b->plan->n_est / drawn_for;
	return ratio <= f && ratio >= 1.0 / f;
}

/* Returns how many long links were kept, or -ENOSPC. */
static int keep_long_links(struct build *b)
{
	const struct ipop_sym_input *in = b->in;
	int kept = 0;

	for (size_t i = 0; i < in->nlinks && (unsigned)kept < b->plan->k; i++) {
		const struct ipop_topo_link *l = &in->links[i];

		if (!l->outgoing || l->type != IPOP_LINK_LONG)
			continue;
		if (!usable_peer(b, l->peer) || too_close(b, l->peer))
			continue;
		if (!estimate_still_fits(b, l->n_est))
			continue;
		/* Not up and the member refused it (its incoming long links are at
		 * their cap): asking again would be refused again; draw elsewhere. */
		if (l->state != IPOP_TOPO_UP && id_listed(in->refused, in->nrefused, l->peer))
			continue;
		if (want(b, l->peer, IPOP_LINK_LONG, l->n_est))
			return -ENOSPC;
		kept++;
	}
	return kept;
}

/* One harmonic draw; returns true and the peer if it is worth a link. */
static bool draw_long(struct build *b, struct ipop_rng *rng, struct ipop_node_id *peer)
{
	const struct ipop_sym_input *in = b->in;
	struct ipop_node_id pt = ipop_sym_long_point(in->self, b->plan->n_est, ipop_rng_unit(rng));
	size_t i;

	if (ipop_ring_succ_incl(in->cand, in->ncand, pt, &i))
		return false;
	if (ipop_node_id_eq(in->cand[i], in->self))
		i = step_fwd(in->self, in->cand, in->ncand, i);
	*peer = in->cand[i];
	if (!usable_peer(b, *peer) || too_close(b, *peer))
		return false;
	/* A tunnel the peer already holds to us adds no reach; a peer that just
	 * refused would refuse again. */
	return !has_any_link(in, *peer) && !id_listed(in->refused, in->nrefused, *peer);
}

static int want_long_links(struct build *b, struct ipop_rng *rng)
{
	int kept = keep_long_links(b);
	unsigned draws = b->p->draw_attempts ? b->p->draw_attempts : SYM_DEFAULT_DRAWS;
	unsigned have, budget;
	struct ipop_node_id peer;

	if (kept < 0)
		return kept;
	have = (unsigned)kept;
	budget = draws * (b->plan->k - have);

	while (have < b->plan->k && budget > 0) {
		budget--;
		if (!draw_long(b, rng, &peer))
			continue;
		if (want(b, peer, IPOP_LINK_LONG, b->n_est_u32))
			return -ENOSPC;
		have++;
	}
	return 0;
}

static int emit(struct ipop_sym_plan *plan, enum ipop_topo_op op, const struct ipop_topo_link *l)
{
	struct ipop_topo_change *c;

	if (plan->nchg == plan->chg_cap)
		return -ENOSPC;
	c = &plan->chg[plan->nchg++];
	c->peer = l->peer;
	c->op = (uint8_t)op;
	c->type = l->type;
	c->n_est = op == IPOP_TOPO_ADD ? l->n_est : 0;
	return 0;
}

/* Additions (successors or the rest) and retypes, in adjacency order. */
static int emit_adj(struct build *b, bool succ_adds, bool retypes, bool other_adds)
{
	struct ipop_sym_plan *plan = b->plan;

	for (size_t i = 0; i < plan->nadj; i++) {
		const struct ipop_topo_link *l = &plan->adj[i];
		const struct ipop_topo_link *cur = find_out(b->in, l->peer);
		bool is_succ = l->type == IPOP_LINK_SUCC;
		int rc = 0;

		if (!cur && ((is_succ && succ_adds) || (!is_succ && other_adds)))
			rc = emit(plan, IPOP_TOPO_ADD, l);
		else if (cur && cur->type != l->type && retypes)
			rc = emit(plan, IPOP_TOPO_RETYPE, l);
		if (rc)
			return rc;
	}
	return 0;
}

static bool removal_emitted(const struct ipop_sym_plan *plan, struct ipop_node_id peer)
{
	for (size_t i = 0; i < plan->nchg; i++)
		if (plan->chg[i].op == IPOP_TOPO_REMOVE && ipop_node_id_eq(plan->chg[i].peer, peer))
			return true;
	return false;
}

static bool to_remove(const struct build *b, const struct ipop_topo_link *l, bool succ)
{
	if (!l->outgoing || (l->type == IPOP_LINK_SUCC) != succ)
		return false;
	return !in_adj(b->plan, l->peer) && !removal_emitted(b->plan, l->peer);
}

/* Removals: other types first, then successors farthest first, so a partial
 * application of the list drops the least useful ring links first. */
static int emit_removals(struct build *b)
{
	const struct ipop_sym_input *in = b->in;
	int rc;

	for (size_t i = 0; i < in->nlinks; i++) {
		if (!to_remove(b, &in->links[i], false))
			continue;
		rc = emit(b->plan, IPOP_TOPO_REMOVE, &in->links[i]);
		if (rc)
			return rc;
	}
	for (;;) {
		const struct ipop_topo_link *far = NULL;

		for (size_t i = 0; i < in->nlinks; i++) {
			const struct ipop_topo_link *l = &in->links[i];

			if (!to_remove(b, l, true))
				continue;
			if (!far || ipop_ring_closer(in->self, far->peer, l->peer))
				far = l;
		}
		if (!far)
			return 0;
		rc = emit(b->plan, IPOP_TOPO_REMOVE, far);
		if (rc)
			return rc;
	}
}

void ipop_sym_plan_room(const struct ipop_sym_params *p, const struct ipop_sym_input *in,
			size_t *adj_cap, size_t *chg_cap)
{
	size_t k = p->long_links ? p->long_links : SYM_MAX_K;
	size_t peers = in->ncand;

	*adj_cap = 2 * (size_t)p->successors + in->nstatic +
		   (in->nondemand < p->max_ondemand ? in->nondemand : p->max_ondemand) +
		   (k < peers ? k : peers);
	*chg_cap = *adj_cap + in->nlinks;
}

static int check_build_args(const struct ipop_sym_params *p, const struct ipop_sym_input *in,
			    struct ipop_rng *rng, struct ipop_sym_plan *plan)
{
	if (!in || !rng || !plan || ipop_sym_check_params(p))
		return -EINVAL;
	if ((!in->cand && in->ncand) || (!in->links && in->nlinks) ||
	    (!in->statics && in->nstatic) || (!in->ondemand && in->nondemand) ||
	    (!in->refused && in->nrefused))
		return -EINVAL;
	if (!plan->adj || !plan->chg)
		return -EINVAL;
	return 0;
}

int ipop_sym_build(const struct ipop_sym_params *p, const struct ipop_sym_input *in,
		   struct ipop_rng *rng, struct ipop_sym_plan *plan)
{
	struct build b = { .p = p, .in = in, .plan = plan };
	int rc, keep;

	rc = check_build_args(p, in, rng, plan);
	if (rc)
		return rc;
	plan->nadj = 0;
	plan->nchg = 0;
	b.s = p->successors;
	b.m = in->ncand ? peers_known(in->self, in->cand, in->ncand) : 0;
	plan->n_est = ipop_sym_estimate_n(in->self, in->cand, in->ncand,
					  ipop_sym_est_neighbours(p));
	b.n_est_u32 = plan->n_est >= (double)UINT32_MAX ? UINT32_MAX
						       : (uint32_t)lround(plan->n_est);
	plan->k = 0;
	if (b.m > b.s) {
		/* Long links only make sense beyond the successors. */
		plan->k = ipop_sym_k(p, plan->n_est);
		if (plan->k > b.m - b.s)
			plan->k = (unsigned)(b.m - b.s);
	}

	keep = want_successors(&b);
	if (keep < 0)
		return keep;
	rc = keep_old_successors(&b, keep);
	if (!rc)
		rc = want_listed(&b, in->statics, in->nstatic, IPOP_LINK_STATIC, UINT32_MAX);
	if (!rc)
		rc = want_listed(&b, in->ondemand, in->nondemand, IPOP_LINK_ONDEMAND,
				 p->max_ondemand);
	if (!rc)
		rc = want_long_links(&b, rng);
	if (!rc)
		rc = emit_adj(&b, true, false, false);
	if (!rc)
		rc = emit_adj(&b, false, true, false);
	if (!rc)
		rc = emit_adj(&b, false, false, true);
	if (!rc)
		rc = emit_removals(&b);
	return rc;
}

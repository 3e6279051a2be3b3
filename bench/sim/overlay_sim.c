/* overlay_sim.c - membership, link protocol and rounds around the real
 * Symphony builder (see overlay_sim.h). Broadcasts are in sim_flood.c.
 *
 * Thread: single-threaded tool code. */
#include "bench/sim/overlay_sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small arrays ---- */

static int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, (size_t)ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int link_find(const struct sim_node *v, struct ipop_node_id peer, bool outgoing)
{
	for (uint32_t i = 0; i < v->nlinks; i++)
		if (v->links[i].outgoing == outgoing && ipop_node_id_eq(v->links[i].peer, peer))
			return (int)i;
	return -1;
}

static int link_add(struct sim_node *v, struct ipop_node_id peer, uint8_t type,
		    bool outgoing, uint32_t n_est)
{
	struct ipop_topo_link *l;

	if (grow((void **)&v->links, &v->caplinks, v->nlinks + 1, sizeof(*v->links)))
		return -ENOMEM;
	l = &v->links[v->nlinks++];
	memset(l, 0, sizeof(*l));
	l->peer = peer;
	l->type = type;
	l->state = IPOP_TOPO_PENDING;
	l->outgoing = outgoing;
	l->n_est = n_est;
	return 0;
}

static void link_del(struct sim_node *v, int i)
{
	if (i < 0)
		return;
	v->links[i] = v->links[v->nlinks - 1];
	v->nlinks--;
}

/* ---- roster ---- */

int sim_roster_pos(const struct sim *s, struct ipop_node_id id, uint32_t *pos)
{
	size_t i;
	int rc = ipop_ring_find(s->roster, s->nroster, id, &i);

	if (rc)
		return rc;
	*pos = (uint32_t)i;
	return 0;
}

static struct sim_node *node_of(struct sim *s, struct ipop_node_id id)
{
	uint32_t pos;

	if (sim_roster_pos(s, id, &pos))
		return NULL;
	return &s->nodes[s->roster_node[pos]];
}

static void mark_dirty(struct sim *s, uint32_t i)
{
	if (s->nodes[i].dirty)
		return;
	s->nodes[i].dirty = true;
	s->dirty[s->ndirty++] = i;
}

/* A roster change at position pos concerns the nodes within `window` places
 * (ipop_sym_window): their successors, size estimate or too-close limit may
 * move. */
static void mark_window(struct sim *s, uint32_t pos)
{
	uint32_t w = s->window + 1;

	if (s->nroster == 0)
		return;
	for (uint32_t d = 0; d <= w && d < s->nroster; d++) {
		mark_dirty(s, s->roster_node[(pos + d) % s->nroster]);
		mark_dirty(s, s->roster_node[(pos + s->nroster - d % s->nroster) % s->nroster]);
	}
}

static int cmp_by_id(const void *a, const void *b, void *arg)
{
	const struct sim *s = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return ipop_node_id_cmp(s->nodes[x].id, s->nodes[y].id);
}

/* Merges the joining nodes into the sorted roster, from the back, in place. */
static void roster_merge_joining(struct sim *s)
{
	uint32_t i, j, k;

	qsort_r(s->joining, s->njoining, sizeof(uint32_t), cmp_by_id, s);
	i = s->nroster;
	j = s->njoining;
	k = s->nroster + s->njoining;
	while (j > 0) {
		struct ipop_node_id nj = s->nodes[s->joining[j - 1]].id;

		if (i > 0 && ipop_node_id_cmp(s->roster[i - 1], nj) > 0) {
			s->roster[k - 1] = s->roster[i - 1];
			s->roster_node[k - 1] = s->roster_node[i - 1];
			i--;
		} else {
			s->roster[k - 1] = nj;
			s->roster_node[k - 1] = s->joining[j - 1];
			j--;
		}
		k--;
	}
	s->nroster += s->njoining;
}

static void roster_remove_gone(struct sim *s)
{
	uint32_t w = 0;

	for (uint32_t r = 0; r < s->nroster; r++) {
		if (s->nodes[s->roster_node[r]].state == SIM_GONE)
			continue;
		s->roster[w] = s->roster[r];
		s->roster_node[w] = s->roster_node[r];
		w++;
	}
	s->nroster = w;
}

/* ---- setup ---- */

int sim_init(struct sim *s, uint32_t nnodes, uint64_t seed, const struct ipop_sym_params *p)
{
	struct ipop_rng ids;

	memset(s, 0, sizeof(*s));
	if (nnodes == 0 || ipop_sym_check_params(p))
		return -EINVAL;
	s->nodes = calloc(nnodes, sizeof(*s->nodes));
	s->roster = calloc(nnodes, sizeof(*s->roster));
	s->roster_node = calloc(nnodes, sizeof(*s->roster_node));
	s->dirty = calloc(nnodes, sizeof(*s->dirty));
	s->joining = calloc(nnodes, sizeof(*s->joining));
	s->crashed = calloc(nnodes, sizeof(*s->crashed));
	if (!s->nodes || !s->roster || !s->roster_node || !s->dirty || !s->joining || !s->crashed) {
		sim_free(s);
		return -ENOMEM;
	}
	s->nnodes = nnodes;
	s->window = ipop_sym_window(p);
	s->refusal_rounds = 16;
	ipop_rng_seed(&ids, seed ^ 0x1d5eed1d5eedULL);
	for (uint32_t i = 0; i < nnodes; i++) {
		struct sim_node *v = &s->nodes[i];

		/* 128 random bits; a collision among 2^16 draws has probability
		 * ~2^-97, and sim_join refuses one anyway. */
		v->id = ipop_node_id_make(ipop_rng_next(&ids), ipop_rng_next(&ids));
		v->p = *p;
		ipop_rng_seed(&v->rng, seed * 0x9e3779b97f4a7c15ULL + i);
	}
	return 0;
}

void sim_free(struct sim *s)
{
	if (s->nodes)
		for (uint32_t i = 0; i < s->nnodes; i++) {
			free(s->nodes[i].links);
			free(s->nodes[i].refused);
		}
	free(s->nodes);
	free(s->roster);
	free(s->roster_node);
	free(s->dirty);
	free(s->joining);
	free(s->crashed);
	free(s->pending);
	free(s->adj);
	free(s->chg);
	memset(s, 0, sizeof(*s));
}

int sim_set_params(struct sim *s, uint32_t i, const struct ipop_sym_params *p)
{
	if (i >= s->nnodes || ipop_sym_check_params(p) || s->nodes[i].state != SIM_ABSENT)
		return -EINVAL;
	s->nodes[i].p = *p;
	if (p->successors > s->window)
		s->window = ipop_sym_window(p);
	return 0;
}

int sim_set_id(struct sim *s, uint32_t i, struct ipop_node_id id)
{
	if (i >= s->nnodes || s->nodes[i].state != SIM_ABSENT)
		return -EINVAL;
	for (uint32_t j = 0; j < s->nnodes; j++)
		if (j != i && ipop_node_id_eq(s->nodes[j].id, id))
			return -EEXIST;
	s->nodes[i].id = id;
	return 0;
}

int sim_join(struct sim *s, uint32_t i)
{
	uint32_t pos;

	if (i >= s->nnodes || s->nodes[i].state != SIM_ABSENT)
		return -EINVAL;
	if (sim_roster_pos(s, s->nodes[i].id, &pos) == 0)
		return -EEXIST;
	s->nodes[i].state = SIM_JOINING;
	s->joining[s->njoining++] = i;
	return 0;
}

int sim_crash(struct sim *s, uint32_t i)
{
	if (i >= s->nnodes || s->nodes[i].state != SIM_LIVE)
		return -EINVAL;
	s->nodes[i].state = SIM_CRASHED;
	s->crashed[s->ncrashed++] = i;
	return 0;
}

uint32_t sim_live_count(const struct sim *s)
{
	uint32_t n = 0;

	for (uint32_t r = 0; r < s->nroster; r++)
		n += s->nodes[s->roster_node[r]].state == SIM_LIVE;
	return n;
}

/* ---- the link protocol ---- */

static int refuse(struct sim *s, struct sim_node *v, struct ipop_node_id peer)
{
	struct sim_refusal *r;

	if (grow((void **)&v->refused, &v->caprefused, v->nrefused + 1, sizeof(*v->refused)))
		return -ENOMEM;
	r = &v->refused[v->nrefused++];
	r->peer = peer;
	r->until_round = s->round + s->refusal_rounds;
	return 0;
}

static int do_add(struct sim *s, uint32_t vi, const struct ipop_topo_change *c)
{
	struct sim_node *v = &s->nodes[vi];
	struct sim_node *q = node_of(s, c->peer);
	struct sim_pending *pd;

	s->c.add_req++;
	s->c.msgs++;
	mark_dirty(s, vi);   /* look again next round, whatever the answer */
	if (!q || q->state != SIM_LIVE) {
		s->c.add_dead++;    /* no answer: the request times out */
		return refuse(s, v, c->peer);
	}
	s->c.msgs++;            /* the answer */
	if (ipop_sym_accept(&q->p, q->n_est, q->links, q->nlinks, v->id, c->type)) {
		s->c.add_refused++;
		return refuse(s, v, c->peer);
	}
	s->c.add_ok++;
	if (link_add(v, c->peer, c->type, true, c->n_est) ||
	    link_add(q, v->id, c->type, false, 0))
		return -ENOMEM;
	if (grow((void **)&s->pending, &s->cappending, s->npending + 1, sizeof(*s->pending)))
		return -ENOMEM;
	pd = &s->pending[s->npending++];
	pd->owner = vi;
	pd->peer = (uint32_t)(q - s->nodes);
	return 0;
}

static void do_remove(struct sim *s, struct sim_node *v, const struct ipop_topo_change *c)
{
	struct sim_node *q = node_of(s, c->peer);

	s->c.removes++;
	s->c.msgs++;
	link_del(v, link_find(v, c->peer, true));
	if (q)
		link_del(q, link_find(q, v->id, false));
}

static void do_retype(struct sim *s, struct sim_node *v, const struct ipop_topo_change *c)
{
	struct sim_node *q = node_of(s, c->peer);
	int i = link_find(v, c->peer, true);

	s->c.retypes++;
	s->c.msgs++;
	if (i >= 0)
		v->links[i].type = c->type;
	if (q && (i = link_find(q, v->id, false)) >= 0)
		q->links[i].type = c->type;
}

/* ---- running the builder ---- */

static uint32_t live_refusals(struct sim *s, struct sim_node *v, struct ipop_node_id *out)
{
	uint32_t w = 0;

	for (uint32_t i = 0; i < v->nrefused; i++) {
		if (v->refused[i].until_round <= s->round)
			continue;
		v->refused[w] = v->refused[i];
		out[w] = v->refused[i].peer;
		w++;
	}
	v->nrefused = w;
	return w;
}

static int plan_for(struct sim *s, struct sim_node *v, struct ipop_rng *rng,
		    struct ipop_sym_plan *plan)
{
	struct ipop_node_id refused[v->nrefused + 1];
	struct ipop_sym_input in = {
		.self = v->id, .cand = s->roster, .ncand = s->nroster,
		.links = v->links, .nlinks = v->nlinks,
		.refused = refused,
	};
	size_t adj_cap, chg_cap;

	in.nrefused = live_refusals(s, v, refused);
	ipop_sym_plan_room(&v->p, &in, &adj_cap, &chg_cap);
	if (adj_cap > s->adj_cap || chg_cap > s->chg_cap) {
		free(s->adj);
		free(s->chg);
		s->adj_cap = adj_cap * 2;
		s->chg_cap = chg_cap * 2;
		s->adj = calloc(s->adj_cap, sizeof(*s->adj));
		s->chg = calloc(s->chg_cap, sizeof(*s->chg));
		if (!s->adj || !s->chg)
			return -ENOMEM;
	}
	plan->adj = s->adj;
	plan->adj_cap = s->adj_cap;
	plan->chg = s->chg;
	plan->chg_cap = s->chg_cap;
	return ipop_sym_build(&v->p, &in, rng, plan);
}

static unsigned long_links_in(const struct ipop_sym_plan *plan)
{
	unsigned n = 0;

	for (size_t i = 0; i < plan->nadj; i++)
		n += plan->adj[i].type == IPOP_LINK_LONG;
	return n;
}

static void trace_change(const struct sim *s, uint32_t vi, const struct ipop_sym_plan *plan,
			 const struct ipop_topo_change *c)
{
	static const char *ops[] = { "?", "add", "retype", "remove" };
	const struct sim_node *v = &s->nodes[vi];
	uint32_t vp = 0, qp = 0;

	sim_roster_pos(s, v->id, &vp);
	sim_roster_pos(s, c->peer, &qp);
	fprintf(s->trace, "round %u node %u (pos %u, n_est %.0f, k %u): %s type %u peer pos %u"
		" (n_est %u)\n", s->round, vi, vp, plan->n_est, plan->k, ops[c->op < 4 ? c->op : 0],
		c->type, qp, c->n_est);
}

static void run_builder(struct sim *s, uint32_t vi)
{
	struct sim_node *v = &s->nodes[vi];
	struct ipop_sym_plan plan;
	int rc;

	if (v->state != SIM_LIVE)
		return;
	s->c.builds++;
	rc = plan_for(s, v, &v->rng, &plan);
	if (rc) {
		fprintf(stderr, "sim: builder failed for node %u: %d\n", vi, rc);
		abort();   /* a simulator that silently skips a node measures nothing */
	}
	v->n_est = plan.n_est;
	v->k = plan.k;
	for (size_t i = 0; i < plan.nchg; i++) {
		const struct ipop_topo_change *c = &plan.chg[i];

		if (s->trace)
			trace_change(s, vi, &plan, c);

		if (c->op == IPOP_TOPO_ADD && do_add(s, vi, c))
			abort();
		else if (c->op == IPOP_TOPO_REMOVE)
			do_remove(s, v, c);
		else if (c->op == IPOP_TOPO_RETYPE)
			do_retype(s, v, c);
	}
	s->c.changes += plan.nchg;
	s->changes_this_round += plan.nchg;
	/* Short of long links (draws hit refusals or crowded peers): like the
	 * daemon's periodic timer, try again next round. */
	if (long_links_in(&plan) < plan.k)
		mark_dirty(s, vi);
}

/* ---- the round ---- */

static void promote_pending(struct sim *s)
{
	for (uint32_t i = 0; i < s->npending; i++) {
		struct sim_node *v = &s->nodes[s->pending[i].owner];
		struct sim_node *q = &s->nodes[s->pending[i].peer];
		int a, b;

		if (v->state != SIM_LIVE || q->state != SIM_LIVE)
			continue;   /* the tunnel never comes up; noticing the crash cleans up */
		a = link_find(v, q->id, true);
		b = link_find(q, v->id, false);
		if (a < 0 || b < 0)
			continue;
		v->links[a].state = IPOP_TOPO_UP;
		q->links[b].state = IPOP_TOPO_UP;
		if (v->links[a].type == IPOP_LINK_SUCC)
			mark_dirty(s, s->pending[i].owner);   /* may retire an old successor */
	}
	s->npending = 0;
}

static void notice_crash(struct sim *s, uint32_t di)
{
	struct sim_node *d = &s->nodes[di];
	uint32_t pos;

	for (uint32_t i = 0; i < d->nlinks; i++) {
		struct sim_node *q = node_of(s, d->links[i].peer);

		if (!q)
			continue;
		link_del(q, link_find(q, d->id, true));
		link_del(q, link_find(q, d->id, false));
		mark_dirty(s, (uint32_t)(q - s->nodes));
	}
	d->nlinks = 0;
	d->state = SIM_GONE;
	if (sim_roster_pos(s, d->id, &pos) == 0)
		mark_window(s, pos);
}

static void notice_crashes(struct sim *s)
{
	if (s->ncrashed == 0)
		return;
	for (uint32_t i = 0; i < s->ncrashed; i++)
		notice_crash(s, s->crashed[i]);
	roster_remove_gone(s);
	s->ncrashed = 0;
}

static void admit_joiners(struct sim *s)
{
	if (s->njoining == 0)
		return;
	roster_merge_joining(s);
	for (uint32_t i = 0; i < s->njoining; i++) {
		struct sim_node *v = &s->nodes[s->joining[i]];
		uint32_t pos;

		v->state = SIM_LIVE;
		v->n_est = ipop_sym_estimate_n(v->id, s->roster, s->nroster,
					       ipop_sym_est_neighbours(&v->p));
		if (sim_roster_pos(s, v->id, &pos) == 0)
			mark_window(s, pos);
	}
	s->njoining = 0;
}

void sim_round(struct sim *s)
{
	uint32_t n;
	uint32_t *work;

	s->changes_this_round = 0;
	promote_pending(s);
	notice_crashes(s);
	admit_joiners(s);
	/* Builders marked during this round run in the next one. */
	n = s->ndirty;
	work = malloc((n ? n : 1) * sizeof(*work));
	if (!work)
		abort();
	memcpy(work, s->dirty, n * sizeof(*work));
	for (uint32_t i = 0; i < n; i++)
		s->nodes[work[i]].dirty = false;
	s->ndirty = 0;
	for (uint32_t i = 0; i < n; i++)
		run_builder(s, work[i]);
	free(work);
	s->round++;
}

int sim_converge(struct sim *s, unsigned max_rounds)
{
	for (unsigned r = 1; r <= max_rounds; r++) {
		bool busy = s->njoining || s->ncrashed || s->npending;

		sim_round(s);
		if (!busy && s->changes_this_round == 0 && s->npending == 0)
			return (int)r;
	}
	return -ETIMEDOUT;
}

void sim_sweep(struct sim *s, uint64_t *nodes_det, uint64_t *nodes_draw)
{
	*nodes_det = 0;
	*nodes_draw = 0;
	for (uint32_t r = 0; r < s->nroster; r++) {
		struct sim_node *v = &s->nodes[s->roster_node[r]];
		struct ipop_rng copy = v->rng;
		struct ipop_sym_plan plan;
		bool det = false, draw = false;

		if (v->state != SIM_LIVE || plan_for(s, v, &copy, &plan))
			continue;
		for (size_t i = 0; i < plan.nchg; i++) {
			if (plan.chg[i].op == IPOP_TOPO_ADD && plan.chg[i].type == IPOP_LINK_LONG)
				draw = true;
			else
				det = true;
		}
		*nodes_det += det;
		*nodes_draw += draw;
	}
}

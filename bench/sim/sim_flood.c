/* sim_flood.c - the simulated data plane: a snapshot of the tunnels that are
 * up, Bounded Flood broadcasts over it with ipop_flood_next_hops(), and BFS
 * shortest paths for comparison (see overlay_sim.h).
 *
 * Thread: single-threaded tool code. */
#include "bench/sim/overlay_sim.h"
#include "dataplane/flood.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct nbr {
	struct ipop_node_id id;
	uint32_t pos;
};

static int cmp_nbr(const void *a, const void *b)
{
	return ipop_node_id_cmp(((const struct nbr *)a)->id, ((const struct nbr *)b)->id);
}

static uint32_t up_links(const struct sim_node *v)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < v->nlinks; i++)
		n += v->links[i].state == IPOP_TOPO_UP;
	return n;
}

/* Neighbours of one node: peers of its up links, either direction, sorted
 * and without duplicates (two links to one peer share one tunnel). */
static uint32_t collect(const struct sim *s, const struct sim_node *v, struct nbr *tmp)
{
	uint32_t n = 0, w = 0;

	for (uint32_t i = 0; i < v->nlinks; i++) {
		uint32_t pos;

		if (v->links[i].state != IPOP_TOPO_UP)
			continue;
		if (sim_roster_pos(s, v->links[i].peer, &pos))
			continue;
		tmp[n].id = v->links[i].peer;
		tmp[n].pos = pos;
		n++;
	}
	qsort(tmp, n, sizeof(*tmp), cmp_nbr);
	for (uint32_t i = 0; i < n; i++)
		if (w == 0 || !ipop_node_id_eq(tmp[w - 1].id, tmp[i].id))
			tmp[w++] = tmp[i];
	return w;
}

int sim_dp_build(const struct sim *s, struct sim_dp *dp)
{
	uint64_t total = 0;
	uint32_t maxdeg = 0;
	struct nbr *tmp;

	memset(dp, 0, sizeof(*dp));
	for (uint32_t r = 0; r < s->nroster; r++) {
		uint32_t u = up_links(&s->nodes[s->roster_node[r]]);

		total += u;
		maxdeg = u > maxdeg ? u : maxdeg;
	}
	dp->n = s->nroster;
	dp->off = calloc((size_t)dp->n + 1, sizeof(*dp->off));
	dp->nbr_id = calloc(total ? total : 1, sizeof(*dp->nbr_id));
	dp->nbr_pos = calloc(total ? total : 1, sizeof(*dp->nbr_pos));
	dp->down = calloc(dp->n ? dp->n : 1, 1);
	dp->node = calloc(dp->n ? dp->n : 1, sizeof(*dp->node));
	dp->id = calloc(dp->n ? dp->n : 1, sizeof(*dp->id));
	dp->newcomer = calloc(dp->n ? dp->n : 1, 1);
	tmp = calloc(maxdeg ? maxdeg : 1, sizeof(*tmp));
	if (!dp->off || !dp->nbr_id || !dp->nbr_pos || !dp->down || !dp->node || !dp->id || !dp->newcomer || !tmp) {
		free(tmp);
		sim_dp_free(dp);
		return -ENOMEM;
	}
	for (uint32_t r = 0; r < dp->n; r++) {
		const struct sim_node *v = &s->nodes[s->roster_node[r]];
		uint32_t d = collect(s, v, tmp), o = dp->off[r];

		for (uint32_t i = 0; i < d; i++) {
			dp->nbr_id[o + i] = tmp[i].id;
			dp->nbr_pos[o + i] = tmp[i].pos;
		}
		dp->off[r + 1] = o + d;
		dp->down[r] = v->state == SIM_LIVE ? 0 : SIM_DP_LOST;
		dp->node[r] = s->roster_node[r];
		dp->id[r] = s->roster[r];
	}
	free(tmp);
	return 0;
}

void sim_dp_free(struct sim_dp *dp)
{
	free(dp->off);
	free(dp->nbr_id);
	free(dp->nbr_pos);
	free(dp->down);
	free(dp->node);
	free(dp->id);
	free(dp->newcomer);
	memset(dp, 0, sizeof(*dp));
}

int sim_bcast_scratch_init(struct sim_bcast_scratch *sc, const struct sim_dp *dp)
{
	uint32_t n = dp->n ? dp->n : 1, maxdeg = 1;

	memset(sc, 0, sizeof(*sc));
	for (uint32_t r = 0; r < dp->n; r++) {
		uint32_t d = dp->off[r + 1] - dp->off[r];

		maxdeg = d > maxdeg ? d : maxdeg;
	}
	sc->n = n;
	sc->maxdeg = maxdeg;
	sc->copies = calloc(n, sizeof(*sc->copies));
	sc->queue_pos = calloc(n, sizeof(*sc->queue_pos));
	sc->queue_hops = calloc(n, sizeof(*sc->queue_hops));
	sc->queue_bound = calloc(n, sizeof(*sc->queue_bound));
	sc->queue_has_bound = calloc(n, 1);
	sc->fwd = calloc(maxdeg, sizeof(*sc->fwd));
	sc->tmp_ids = calloc(maxdeg, sizeof(*sc->tmp_ids));
	sc->tmp_pos = calloc(maxdeg, sizeof(*sc->tmp_pos));
	if (!sc->copies || !sc->queue_pos || !sc->queue_hops || !sc->queue_bound ||
	    !sc->queue_has_bound || !sc->fwd || !sc->tmp_ids || !sc->tmp_pos) {
		sim_bcast_scratch_free(sc);
		return -ENOMEM;
	}
	return 0;
}

void sim_bcast_scratch_free(struct sim_bcast_scratch *sc)
{
	free(sc->copies);
	free(sc->queue_pos);
	free(sc->queue_hops);
	free(sc->queue_bound);
	free(sc->queue_has_bound);
	free(sc->fwd);
	free(sc->tmp_ids);
	free(sc->tmp_pos);
	memset(sc, 0, sizeof(*sc));
}

/* The neighbours node r can send to: a crashed peer that has been noticed is
 * no longer in the table; one that has not is, and the copy is lost. */
static uint32_t usable_nbrs(const struct sim_dp *dp, struct sim_bcast_scratch *sc, uint32_t r)
{
	uint32_t n = 0;

	for (uint32_t i = dp->off[r]; i < dp->off[r + 1]; i++) {
		if (dp->down[dp->nbr_pos[i]] == SIM_DP_NOTICED)
			continue;
		sc->tmp_ids[n] = dp->nbr_id[i];
		sc->tmp_pos[n] = dp->nbr_pos[i];
		n++;
	}
	return n;
}

static void count_result(const struct sim_dp *dp, struct sim_bcast_scratch *sc, uint32_t src,
			 struct sim_bcast *out)
{
	uint64_t missed = 0, missed_new = 0;

	for (uint32_t r = 0; r < dp->n; r++) {
		if (dp->down[r] || r == src)
			continue;
		if (sc->copies[r] == 0) {
			if (dp->newcomer[r])
				missed_new++;
			else
				missed++;
		}
		if (sc->copies[r] > 1)
			out->duplicates += sc->copies[r] - 1;
	}
	out->missed += missed;
	out->missed_new += missed_new;
	out->incomplete += missed + missed_new > 0;
	out->broadcasts++;
}

void sim_broadcast(const struct sim_dp *dp, struct sim_bcast_scratch *sc, uint32_t src,
		   struct sim_bcast *out)
{
	uint32_t head = 0, tail = 0;

	memset(sc->copies, 0, (size_t)dp->n * sizeof(*sc->copies));
	sc->queue_pos[tail] = src;
	sc->queue_hops[tail] = 0;
	sc->queue_has_bound[tail] = 0;
	tail++;
	/* The queue cannot overflow: only a node's first copy is queued, and
	 * there are n nodes. */
	while (head < tail) {
		uint32_t r = sc->queue_pos[head], hops = sc->queue_hops[head];
		const struct ipop_node_id *bound = sc->queue_has_bound[head] ? &sc->queue_bound[head]
									     : NULL;
		uint32_t nn = usable_nbrs(dp, sc, r);
		int m;

		head++;
		m = ipop_flood_next_hops(dp->id[r], sc->tmp_ids, nn, bound, sc->fwd, sc->maxdeg);
		if (m < 0) {
			out->bad++;
			continue;
		}
		for (int i = 0; i < m; i++) {
			uint32_t q = sc->tmp_pos[sc->fwd[i].nbr];

			if (dp->down[q]) {
				out->lost++;
				continue;
			}
			out->receipts++;
			if (sc->copies[q]++ > 0)
				continue;   /* counted as a duplicate below; never happens */
			out->hops_sum += hops + 1;
			if (hops + 1 > out->hops_max)
				out->hops_max = hops + 1;
			sc->queue_pos[tail] = q;
			sc->queue_hops[tail] = hops + 1;
			sc->queue_bound[tail] = sc->fwd[i].bound;
			sc->queue_has_bound[tail] = 1;
			tail++;
		}
	}
	count_result(dp, sc, src, out);
}

uint32_t sim_bfs(const struct sim_dp *dp, struct sim_bcast_scratch *sc, uint32_t src,
		 uint64_t *sum, uint32_t *max)
{
	uint32_t head = 0, tail = 0, reached = 0;

	memset(sc->copies, 0, (size_t)dp->n * sizeof(*sc->copies));
	sc->queue_pos[tail] = src;
	sc->queue_hops[tail++] = 0;
	sc->copies[src] = 1;
	while (head < tail) {
		uint32_t r = sc->queue_pos[head], hops = sc->queue_hops[head];

		head++;
		for (uint32_t i = dp->off[r]; i < dp->off[r + 1]; i++) {
			uint32_t q = dp->nbr_pos[i];

			if (dp->down[q] || sc->copies[q])
				continue;
			sc->copies[q] = 1;
			*sum += hops + 1;
			if (hops + 1 > *max)
				*max = hops + 1;
			reached++;
			sc->queue_pos[tail] = q;
			sc->queue_hops[tail++] = hops + 1;
		}
	}
	return reached;
}

/* test_flood.c - Bounded Flood: the forwarding decision on hand-made cases,
 * and whole broadcasts over every graph on small rings.
 *
 * Whole broadcasts: a tiny network of N nodes runs ipop_flood_next_hops at
 * every hop (a queue of copies carrying their bound). Claims checked:
 *  - on every graph, no node ever receives two copies and the originator
 *    none (at-most-once needs no topology assumption);
 *  - on every graph that contains the successor ring, every node receives
 *    exactly one copy;
 *  - on graphs missing a successor link, some broadcast loses a node (so
 *    the harness can see losses, and successor links are really needed).
 * Exhaustive: every one of the 2^15 graphs on 6 nodes, from every source;
 * random: larger rings with random IDs near the 128-bit wrap. */
#include "tests/unit/check.h"
#include "dataplane/flood.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAXN 40

struct net {
	unsigned n;
	struct ipop_node_id id[MAXN];       /* sorted: node i is the i-th on the ring */
	bool adj[MAXN][MAXN];
};

struct result {
	unsigned copies[MAXN];
	unsigned hops_max;
	int err;
	unsigned sent;
};

static void neighbours(const struct net *g, unsigned v, struct ipop_node_id *ids, unsigned *map,
		       unsigned *cnt)
{
	*cnt = 0;
	for (unsigned u = 0; u < g->n; u++)   /* ascending index = ascending ID */
		if (u != v && g->adj[v][u]) {
			ids[*cnt] = g->id[u];
			map[*cnt] = u;
			(*cnt)++;
		}
}

static void broadcast(const struct net *g, unsigned src, struct result *r)
{
	unsigned qn[MAXN * MAXN], qh[MAXN * MAXN], head = 0, tail = 0;
	struct ipop_node_id qb[MAXN * MAXN];
	bool qhas[MAXN * MAXN];

	memset(r, 0, sizeof(*r));
	qn[tail] = src, qh[tail] = 0, qhas[tail] = false, tail++;
	while (head < tail) {
		struct ipop_node_id ids[MAXN];
		unsigned map[MAXN], cnt, v = qn[head], h = qh[head];
		struct ipop_flood_fwd out[MAXN];
		int m;

		neighbours(g, v, ids, map, &cnt);
		m = ipop_flood_next_hops(g->id[v], ids, cnt, qhas[head] ? &qb[head] : NULL, out, MAXN);
		head++;
		if (m < 0) {
			r->err = m;
			return;
		}
		for (int i = 0; i < m; i++) {
			unsigned u = map[out[i].nbr];

			r->sent++;
			if (r->sent >= MAXN * MAXN - 1) {   /* would not terminate */
				r->err = -ELOOP;
				return;
			}
			r->copies[u]++;
			if (h + 1 > r->hops_max)
				r->hops_max = h + 1;
			qn[tail] = u, qh[tail] = h + 1, qb[tail] = out[i].bound, qhas[tail] = true;
			tail++;
		}
	}
}

static bool has_ring(const struct net *g)
{
	for (unsigned i = 0; i < g->n; i++)
		if (!g->adj[i][(i + 1) % g->n])
			return false;
	return true;
}

/* Returns 0 if fine, else a bit set: 1 duplicate/originator copy, 2 loss,
 * 4 error or non-termination. */
static unsigned check_all_sources(const struct net *g)
{
	unsigned bad = 0;

	for (unsigned src = 0; src < g->n; src++) {
		struct result r;

		broadcast(g, src, &r);
		if (r.err || r.hops_max > g->n - 1)
			bad |= 4;
		for (unsigned v = 0; v < g->n; v++) {
			if (v == src ? r.copies[v] != 0 : r.copies[v] > 1)
				bad |= 1;
			if (v != src && r.copies[v] == 0)
				bad |= 2;
		}
	}
	return bad;
}

static void set_ids_near_wrap(struct net *g, unsigned n, uint64_t spacing)
{
	/* IDs straddling 2^128: the flood must treat the ring as a ring. */
	g->n = n;
	for (unsigned i = 0; i < n; i++) {
		uint64_t off = spacing * i;
		uint64_t base_lo = UINT64_MAX - spacing * (n / 2);

		g->id[i] = ipop_ring_add(ipop_node_id_make(UINT64_MAX, base_lo),
					 ipop_node_id_make(0, off));
	}
	/* keep node i = i-th in linear order */
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (ipop_node_id_cmp(g->id[j], g->id[i]) < 0) {
				struct ipop_node_id t = g->id[i];

				g->id[i] = g->id[j];
				g->id[j] = t;
			}
}

static void test_exhaustive_6(void)
{
	struct net g;
	unsigned pairs[15][2], np = 0, dup_graphs = 0, ring_lossy = 0, lossy_seen = 0;

	memset(&g, 0, sizeof(g));
	set_ids_near_wrap(&g, 6, 1ULL << 60);
	for (unsigned a = 0; a < 6; a++)
		for (unsigned b = a + 1; b < 6; b++)
			pairs[np][0] = a, pairs[np][1] = b, np++;
	for (unsigned mask = 0; mask < (1u << np); mask++) {
		unsigned bad;

		memset(g.adj, 0, sizeof(g.adj));
		for (unsigned e = 0; e < np; e++)
			if (mask >> e & 1)
				g.adj[pairs[e][0]][pairs[e][1]] = g.adj[pairs[e][1]][pairs[e][0]] = true;
		bad = check_all_sources(&g);
		dup_graphs += (bad & 5) != 0;
		if (has_ring(&g))
			ring_lossy += (bad & 2) != 0;
		else
			lossy_seen += (bad & 2) != 0;
	}
	CHECK(dup_graphs == 0);   /* at most once, always terminating, on all 32768 graphs */
	CHECK(ring_lossy == 0);   /* exactly once whenever the successor ring is there */
	CHECK(lossy_seen > 0);    /* and the harness does see losses without it */
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 11;
}

static void test_random_rings(void)
{
	uint64_t seed = 7;
	unsigned bad_ring = 0, bad_dup = 0;

	for (unsigned t = 0; t < 400; t++) {
		struct net g;
		unsigned n = 2 + t % (MAXN - 1), density = (unsigned)(lcg(&seed) % 100);

		memset(&g, 0, sizeof(g));
		set_ids_near_wrap(&g, n, lcg(&seed) | 1);
		/* asymmetric adjacency on purpose: views need not agree */
		for (unsigned a = 0; a < n; a++)
			for (unsigned b = 0; b < n; b++)
				g.adj[a][b] = a != b && lcg(&seed) % 100 < density;
		bad_dup += (check_all_sources(&g) & 5) != 0;
		for (unsigned a = 0; a < n; a++)
			g.adj[a][(a + 1) % n] = n > 1;   /* each node knows its successor */
		bad_ring += check_all_sources(&g) != 0;
	}
	CHECK(bad_dup == 0);
	CHECK(bad_ring == 0);
}

static void test_decision(void)
{
	struct ipop_node_id self = ipop_node_id_make(0, 100);
	struct ipop_node_id nb[4] = {
		ipop_node_id_make(0, 20), ipop_node_id_make(0, 150),
		ipop_node_id_make(0, 300), ipop_node_id_make(5, 0),
	};
	struct ipop_flood_fwd out[4];
	struct ipop_node_id bound;

	/* originator: clockwise from self, each bounded by the next, last by self */
	CHECK(ipop_flood_next_hops(self, nb, 4, NULL, out, 4) == 4);
	CHECK(out[0].nbr == 1 && ipop_node_id_eq(out[0].bound, nb[2]));
	CHECK(out[1].nbr == 2 && ipop_node_id_eq(out[1].bound, nb[3]));
	CHECK(out[2].nbr == 3 && ipop_node_id_eq(out[2].bound, nb[0]));   /* wraps */
	CHECK(out[3].nbr == 0 && ipop_node_id_eq(out[3].bound, self));
	/* with a bound: only neighbours in (self, bound), the last gets the bound */
	bound = ipop_node_id_make(0, 301);
	CHECK(ipop_flood_next_hops(self, nb, 4, &bound, out, 4) == 2);
	CHECK(out[0].nbr == 1 && ipop_node_id_eq(out[0].bound, nb[2]));
	CHECK(out[1].nbr == 2 && ipop_node_id_eq(out[1].bound, bound));
	bound = nb[2];   /* exclusive bound */
	CHECK(ipop_flood_next_hops(self, nb, 4, &bound, out, 4) == 1);
	CHECK(out[0].nbr == 1 && ipop_node_id_eq(out[0].bound, nb[2]));
	bound = ipop_node_id_make(0, 101);   /* empty arc */
	CHECK(ipop_flood_next_hops(self, nb, 4, &bound, out, 4) == 0);
	bound = ipop_node_id_make(0, 30);    /* arc wrapping past 2^128 */
	CHECK(ipop_flood_next_hops(self, nb, 4, &bound, out, 4) == 4);
	CHECK(ipop_node_id_eq(out[3].bound, bound));
	/* errors */
	CHECK(ipop_flood_next_hops(self, nb, 4, NULL, out, 3) == -ENOSPC);
	CHECK(ipop_flood_next_hops(self, nb, 0, NULL, out, 4) == 0);
	CHECK(ipop_flood_next_hops(self, NULL, 4, NULL, out, 4) == -EINVAL);
	CHECK(ipop_flood_next_hops(nb[1], nb, 4, NULL, out, 4) == -EINVAL);   /* self listed */
	struct ipop_node_id unsorted[3] = { nb[2], nb[1], nb[3] };
	CHECK(ipop_flood_next_hops(self, unsorted, 3, NULL, out, 4) == -EINVAL);
	struct ipop_node_id dup[3] = { nb[1], nb[1], nb[3] };
	CHECK(ipop_flood_next_hops(self, dup, 3, NULL, out, 4) == -EINVAL);
}

int main(void)
{
	test_decision();
	test_exhaustive_6();
	test_random_rings();
	return check_report("flood");
}

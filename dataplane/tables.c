/* tables.c - derived parts of a fast-path table, computed once when it is
 * built (by control, or by hand in tests and benchmarks). Thread: whoever
 * builds the table, before it is published.
 */
#include "dataplane/tables.h"

#include <stdlib.h>

struct id_slot {
	struct ipop_node_id id;
	uint16_t slot;
};

static int cmp_id_slot(const void *a, const void *b)
{
	return ipop_node_id_cmp(((const struct id_slot *)a)->id, ((const struct id_slot *)b)->id);
}

void ipop_fp_table_adjacency(struct ipop_fp_table *t)
{
	struct id_slot up[IPOP_MAX_PEERS];   /* 24 KiB of the builder's stack */
	uint16_t n = 0;

	for (uint16_t i = 0; i < t->n_peers; i++)
		if (t->peers[i].up)
			up[n++] = (struct id_slot){ .id = t->peers[i].id, .slot = i };
	qsort(up, n, sizeof(up[0]), cmp_id_slot);
	for (uint16_t i = 0; i < n; i++) {
		t->adj_id[i] = up[i].id;
		t->adj_slot[i] = up[i].slot;
	}
	t->n_adj = n;
	t->n_orig = ipop_flood_next_hops(t->self_id, t->adj_id, n, NULL, t->orig_fwd,
					 IPOP_MAX_PEERS);
}

static int cmp_gw(const void *a, const void *b, void *arg)
{
	const struct ipop_fp_table *t = arg;

	return ipop_node_id_cmp(t->gw[*(const uint16_t *)a].id, t->gw[*(const uint16_t *)b].id);
}

void ipop_fp_table_gateways(struct ipop_fp_table *t)
{
	uint16_t n = 0;

	for (uint16_t g = 0; g < IPOP_MAX_GATEWAYS; g++) {
		t->gw[g].peer = IPOP_GW_NO_PEER;
		if (t->gw[g].used)
			t->gw_sorted[n++] = g;
	}
	qsort_r(t->gw_sorted, n, sizeof(t->gw_sorted[0]), cmp_gw, t);
	t->n_gw = n;
	for (uint16_t i = 0; i < t->n_peers; i++) {
		int g = ipop_fp_gw_find(t, t->peers[i].id);
		if (g >= 0 && t->peers[i].tx != NULL)
			t->gw[g].peer = i;
	}
}

/* gateways.c - see gateways.h. Thread: control. */
#include "control/fib/gateways.h"
#include "control/node.h"

#include <errno.h>
#include <string.h>

#include "dataplane/bridge.h"
#include "dataplane/routes.h"

static int find(const struct ipop_gw_dir *d, struct ipop_node_id id)
{
	for (unsigned g = 0; g < IPOP_MAX_GATEWAYS; g++)
		if (d->e[g].used && ipop_node_id_eq(d->e[g].id, id))
			return (int)g;
	return -1;
}

/* What the lcores learnt about slot g goes with it. */
static void free_slot(struct ipop_node *n, unsigned g)
{
	struct ipop_gw_dir *d = &n->gws;

	d->e[g].used = false;
	d->e[g].held = false;
	if (d->e[g].tr.hot)
		d->n_hot--;
	memset(&d->e[g].tr, 0, sizeof(d->e[g].tr));
	d->n_used--;
	ipop_bridge_flush_loc(&n->sh.bridge, (uint16_t)(IPOP_LOC_GW_BASE + g));
	ipop_routes_forget(&n->sh.routes, g);
	n->dirty = true;
}

/* A free slot, else the one released longest ago, else -1. */
static int take_slot(struct ipop_node *n)
{
	struct ipop_gw_dir *d = &n->gws;
	int oldest = -1;

	for (unsigned g = 0; g < IPOP_MAX_GATEWAYS; g++) {
		if (!d->e[g].used)
			return (int)g;
		if (!d->e[g].held && (oldest < 0 || d->e[g].released_ms < d->e[oldest].released_ms))
			oldest = (int)g;
	}
	if (oldest >= 0)
		free_slot(n, (unsigned)oldest);
	return oldest;
}

int ipop_gateways_hold(struct ipop_node *n, struct ipop_node_id id)
{
	struct ipop_gw_dir *d = &n->gws;
	int g = find(d, id);

	d->holds++;
	if (g < 0) {
		g = take_slot(n);
		if (g < 0) {
			d->full++;
			return -ENOSPC;
		}
		d->e[g].id = id;
		d->e[g].used = true;
		d->n_used++;
		n->dirty = true;
	}
	d->e[g].held = true;
	return g;
}

void ipop_gateways_release(struct ipop_node *n, struct ipop_node_id id, uint64_t now_ms)
{
	struct ipop_gw_dir *d = &n->gws;
	int g = find(d, id);

	if (g < 0 || !d->e[g].held)
		return;
	d->releases++;
	d->e[g].held = false;
	d->e[g].released_ms = now_ms;
}

void ipop_gateways_expire(struct ipop_node *n, uint64_t now_ms, uint64_t grace_ms)
{
	struct ipop_gw_dir *d = &n->gws;

	if (d->n_used == 0)
		return;
	for (unsigned g = 0; g < IPOP_MAX_GATEWAYS; g++) {
		if (d->e[g].used && !d->e[g].held && now_ms - d->e[g].released_ms >= grace_ms) {
			free_slot(n, g);
			d->expired++;
		}
	}
}

bool ipop_gw_traffic_update(struct ipop_gw_traffic *tr, uint64_t transit, uint64_t direct,
			    uint64_t now_ms, const struct ipop_ondemand_cfg *cfg)
{
	uint64_t total = transit + direct;

	if (tr->window_start_ms == 0) {
		/* First look: what was counted before is history. */
		tr->window_start_ms = now_ms;
		tr->mark = transit;
		tr->last_total = total;
		return tr->hot = false;
	}
	if (total != tr->last_total) {
		tr->last_total = total;
		tr->last_active_ms = now_ms;
	}
	if (cfg->bytes != 0 && transit - tr->mark >= cfg->bytes) {
		if (!tr->hot)
			tr->hot_since_ms = now_ms;
		tr->hot = true;
		tr->last_active_ms = now_ms;
		tr->mark = transit;   /* counted once: the next trigger needs as much again */
	}
	if (now_ms - tr->window_start_ms >= cfg->window_ms) {
		tr->window_start_ms = now_ms;
		tr->mark = transit;
	}
	if (tr->hot && (cfg->bytes == 0 || now_ms - tr->last_active_ms >= cfg->idle_ms))
		tr->hot = false;
	return tr->hot;
}

/* Bytes sent as transit to gateway slot g so far, over all workers. */
static uint64_t transit_bytes(const struct ipop_node *n, unsigned g)
{
	uint64_t b = 0;

	for (unsigned w = 0; w < n->n_workers; w++)
		b += n->workers[w].stats.transit_bytes[g];
	return b;
}

/* Bytes over the direct tunnel to the gateway with this node ID, both ways. */
static uint64_t direct_bytes(const struct ipop_node *n, struct ipop_node_id id)
{
	struct ipop_peer_counters pc;

	for (uint16_t i = 0; i < n->n_peers; i++) {
		const struct ipop_peer *p = n->peers[i];
		if (p != NULL && ipop_node_id_eq(p->node_id, id)) {
			ipop_peer_counters(n, p, &pc);
			return pc.tx_bytes + pc.rx_bytes;
		}
	}
	return 0;
}

void ipop_gateways_traffic(struct ipop_node *n, uint64_t now_ms, const struct ipop_ondemand_cfg *cfg)
{
	struct ipop_gw_dir *d = &n->gws;

	if (d->n_used == 0 || now_ms - d->last_look_ms < 1000)
		return;
	d->last_look_ms = now_ms;
	for (unsigned g = 0; g < IPOP_MAX_GATEWAYS; g++) {
		struct ipop_gw_entry *e = &d->e[g];
		if (!e->used)
			continue;
		uint64_t transit = transit_bytes(n, g);
		bool was = e->tr.hot;
		/* The direct tunnel counts only while hot: before, it is the
		 * transit that decides; after, any traffic keeps it. */
		bool hot = ipop_gw_traffic_update(&e->tr, transit, was ? direct_bytes(n, e->id) : 0,
						  now_ms, cfg);
		if (hot != was) {
			d->n_hot += hot ? 1 : -1;
			d->hot_starts += hot;
		}
	}
}

size_t ipop_gateways_hot(const struct ipop_node *n, struct ipop_node_id *out, size_t cap)
{
	size_t k = 0;

	for (unsigned g = 0; g < IPOP_MAX_GATEWAYS && k < cap; g++)
		if (n->gws.e[g].used && n->gws.e[g].tr.hot)
			out[k++] = n->gws.e[g].id;
	return k;
}

void ipop_gateways_fill(const struct ipop_node *n, struct ipop_fp_table *t)
{
	for (unsigned g = 0; g < IPOP_MAX_GATEWAYS; g++) {
		t->gw[g].used = n->gws.e[g].used;
		t->gw[g].id = n->gws.e[g].id;
	}
}

json_object *ipop_gateways_json(const struct ipop_node *n)
{
	const struct ipop_gw_dir *d = &n->gws;
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	char hex[IPOP_NODE_ID_HEX_LEN + 1];

	json_object_object_add(o, "known", json_object_new_int((int)d->n_used));
	json_object_object_add(o, "holds", json_object_new_int64((int64_t)d->holds));
	json_object_object_add(o, "releases", json_object_new_int64((int64_t)d->releases));
	json_object_object_add(o, "expired", json_object_new_int64((int64_t)d->expired));
	json_object_object_add(o, "directory_full", json_object_new_int64((int64_t)d->full));
	json_object_object_add(o, "hot", json_object_new_int((int)d->n_hot));
	json_object_object_add(o, "hot_starts", json_object_new_int64((int64_t)d->hot_starts));
	for (unsigned g = 0; g < IPOP_MAX_GATEWAYS; g++) {
		if (!d->e[g].used)
			continue;
		json_object *x = json_object_new_object();
		ipop_node_id_format(d->e[g].id, hex, sizeof(hex));
		json_object_object_add(x, "slot", json_object_new_int((int)g));
		json_object_object_add(x, "node_id", json_object_new_string(hex));
		json_object_object_add(x, "online", json_object_new_boolean(d->e[g].held));
		json_object_object_add(x, "transit_tx_bytes",
				       json_object_new_int64((int64_t)transit_bytes(n, g)));
		json_object_object_add(x, "hot", json_object_new_boolean(d->e[g].tr.hot));
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "directory", a);
	return o;
}

/* test_gateways.c - the gateway directory (control/fib/gateways.c) and what
 * the fast path makes of it (dataplane/tables.c, routes.h): stable slots for
 * online members, kept through offline_grace and then freed with the MACs
 * and routes learnt behind them; the published, ID-sorted directory and its
 * lookup; and the on-demand rule (ipop_gw_traffic_update): a gateway is hot
 * when its transit bytes reach the threshold within one window, and stays hot
 * until no byte went to it for the idle time; routes learnt from floods win
 * over what transit frames say.
 *
 * Thread: a plain test program; no EAL, the "workers" are bare structs.
 */
#include "tests/unit/check.h"
#include "control/node.h"
#include "control/fib/gateways.h"
#include "dataplane/routes.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static struct ipop_node node;

static struct ipop_node_id rid(void)
{
	struct ipop_node_id id;

	randombytes_buf(&id, sizeof(id));
	return id;
}

static void test_directory(void)
{
	struct ipop_node *n = &node;
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0x0d, 0x01 };
	struct ipop_node_id a = rid(), b = rid(), c = rid();

	CHECK(ipop_bridge_init(&n->sh.bridge, 1024, 300) == 0);
	ipop_routes_init(&n->sh.routes, 300);
	int ga = ipop_gateways_hold(n, a), gb = ipop_gateways_hold(n, b);
	CHECK(ga >= 0 && gb >= 0 && ga != gb && n->gws.n_used == 2);
	CHECK(ipop_gateways_hold(n, a) == ga);          /* held again: the same slot */
	/* The lcores learn a MAC and a route behind b. */
	ipop_bridge_learn(&n->sh.bridge, mac, (uint16_t)(IPOP_LOC_GW_BASE + gb), 100);
	ipop_routes_learn(&n->sh.routes, (unsigned)gb, 5, 100);
	/* b goes offline: within the grace it keeps its slot and what was learnt. */
	ipop_gateways_release(n, b, 1000);
	ipop_gateways_expire(n, 5000, 10000);
	CHECK(n->gws.e[gb].used && !n->gws.e[gb].held);
	CHECK(ipop_bridge_lookup(&n->sh.bridge, mac, 100) == IPOP_LOC_GW_BASE + gb);
	/* ... and back within the grace: the same slot, nothing forgotten. */
	CHECK(ipop_gateways_hold(n, b) == gb);
	CHECK(ipop_routes_lookup(&n->sh.routes, (unsigned)gb, 100) == 5);
	/* Gone for longer than the grace: freed, its MAC and route forgotten. */
	ipop_gateways_release(n, b, 20000);
	ipop_gateways_expire(n, 29999, 10000);
	CHECK(n->gws.e[gb].used);
	ipop_gateways_expire(n, 30000, 10000);
	CHECK(!n->gws.e[gb].used && n->gws.n_used == 1 && n->gws.expired == 1);
	CHECK(ipop_bridge_lookup(&n->sh.bridge, mac, 100) == IPOP_LOC_NONE);
	CHECK(ipop_routes_lookup(&n->sh.routes, (unsigned)gb, 100) == IPOP_GW_NO_PEER);
	/* Releasing what nobody holds, or twice, changes nothing. */
	ipop_gateways_release(n, c, 1);
	ipop_gateways_release(n, b, 1);
	CHECK(n->gws.releases == 2);

	/* Full: a released slot is reused (the oldest release first); with every
	 * slot held, a new gateway gets -ENOSPC and is counted. */
	for (unsigned i = 0; n->gws.n_used < IPOP_MAX_GATEWAYS; i++)
		CHECK(ipop_gateways_hold(n, rid()) >= 0);
	CHECK(ipop_gateways_hold(n, c) == -ENOSPC && n->gws.full == 1);
	ipop_gateways_release(n, a, 50000);
	CHECK(ipop_gateways_hold(n, c) == ga);            /* a's slot, freed for c */
	CHECK(ipop_gateways_hold(n, a) == -ENOSPC);

	/* Published: the used slots sorted by node ID, found by binary search;
	 * a gateway that is also a peer with a session maps to its slot. */
	static struct ipop_fp_table t;
	memset(&t, 0, sizeof(t));
	ipop_gateways_fill(n, &t);
	static struct ipop_keypair kp;
	t.n_peers = 3;
	t.peers[2].id = c;
	t.peers[2].tx = &kp;
	t.peers[1].id = n->gws.e[7].id;       /* a peer without a session: no mapping */
	ipop_fp_table_gateways(&t);
	CHECK(t.n_gw == IPOP_MAX_GATEWAYS);
	bool sorted = true;
	for (unsigned i = 1; i < t.n_gw; i++)
		sorted = sorted && ipop_node_id_cmp(t.gw[t.gw_sorted[i - 1]].id,
						    t.gw[t.gw_sorted[i]].id) < 0;
	CHECK(sorted);
	bool found = true;
	for (unsigned g = 0; g < IPOP_MAX_GATEWAYS; g += 97)
		found = found && ipop_fp_gw_find(&t, n->gws.e[g].id) == (int)g;
	CHECK(found);
	CHECK(ipop_fp_gw_find(&t, a) == -1);
	/* The hinted lookup: a hit, a hint that is stale (its slot now holds
	 * another gateway, or is free), out of range, or for an ID not there. */
	uint16_t hint = 0xFFFF;
	struct ipop_node_id g5 = n->gws.e[5].id, g9 = n->gws.e[9].id;
	CHECK(ipop_fp_gw_find_hinted(&t, g5, &hint) == 5 && hint == 5);
	CHECK(ipop_fp_gw_find_hinted(&t, g5, &hint) == 5);
	CHECK(ipop_fp_gw_find_hinted(&t, g9, &hint) == 9 && hint == 9);
	t.gw[9].id = g5;                       /* slot 9 now names g5, slot 5 is free */
	t.gw[5].used = 0;
	ipop_fp_table_gateways(&t);
	hint = 5;
	CHECK(ipop_fp_gw_find_hinted(&t, g5, &hint) == 9 && hint == 9);
	CHECK(ipop_fp_gw_find_hinted(&t, g9, &hint) == -1 && hint == 9);
	t.gw[9].id = g9;
	t.gw[5].used = 1;
	ipop_fp_table_gateways(&t);
	CHECK(ipop_fp_gw_find_hinted(&t, a, &hint) == -1 && hint == 9);
	CHECK(t.gw[ga].peer == 2 && t.gw[7].peer == IPOP_GW_NO_PEER);
	ipop_bridge_free(&n->sh.bridge);
	memset(&n->gws, 0, sizeof(n->gws));
}

static void test_traffic_rule(void)
{
	const struct ipop_ondemand_cfg cfg = { .bytes = 1000, .window_ms = 10000, .idle_ms = 5000 };
	struct ipop_gw_traffic tr;

	memset(&tr, 0, sizeof(tr));
	/* The first look takes what was counted before as history. */
	CHECK(!ipop_gw_traffic_update(&tr, 50000, 0, 1000, &cfg));
	/* 999 bytes in the window: not hot; the next window starts over. */
	CHECK(!ipop_gw_traffic_update(&tr, 50999, 0, 2000, &cfg));
	CHECK(!ipop_gw_traffic_update(&tr, 50999, 0, 11000, &cfg));   /* window rolls */
	CHECK(!ipop_gw_traffic_update(&tr, 51500, 0, 12000, &cfg));   /* 501 in this one */
	/* 1000 within the window: hot at once. */
	CHECK(ipop_gw_traffic_update(&tr, 52000, 0, 13000, &cfg));
	/* The direct link takes the traffic: transit stops, direct bytes keep it. */
	CHECK(ipop_gw_traffic_update(&tr, 52000, 100, 15000, &cfg));
	CHECK(ipop_gw_traffic_update(&tr, 52000, 100, 19999, &cfg));   /* idle 4999 ms */
	CHECK(ipop_gw_traffic_update(&tr, 52000, 300, 20000, &cfg));   /* traffic again */
	CHECK(ipop_gw_traffic_update(&tr, 52000, 300, 24999, &cfg));
	/* Idle for the idle time: not hot any more. */
	CHECK(!ipop_gw_traffic_update(&tr, 52000, 300, 25000, &cfg));
	/* Off (bytes 0): never hot, and a hot gateway cools at once. */
	const struct ipop_ondemand_cfg off = { .bytes = 0, .window_ms = 10000, .idle_ms = 5000 };
	CHECK(ipop_gw_traffic_update(&tr, 60000, 300, 26000, &cfg));
	CHECK(!ipop_gw_traffic_update(&tr, 90000, 300, 27000, &off));
}

/* Through the node: the workers' per-gateway transit counters summed, looked
 * at once a second, and the hot gateways listed for the topology. */
static void test_hot_list(void)
{
	struct ipop_node *n = &node;
	const struct ipop_ondemand_cfg cfg = { .bytes = 4096, .window_ms = 30000, .idle_ms = 60000 };
	struct ipop_node_id hot[4], x = rid(), y = rid();

	CHECK(ipop_bridge_init(&n->sh.bridge, 1024, 300) == 0);
	n->n_workers = 2;
	n->workers = aligned_alloc(64, 2 * sizeof(*n->workers));
	CHECK(n->workers != NULL);
	if (n->workers == NULL)
		return;
	memset(n->workers, 0, 2 * sizeof(*n->workers));
	int gx = ipop_gateways_hold(n, x), gy = ipop_gateways_hold(n, y);
	CHECK(gx >= 0 && gy >= 0);
	ipop_gateways_traffic(n, 100000, &cfg);
	n->workers[0].stats.transit_bytes[gx] += 3000;
	n->workers[1].stats.transit_bytes[gx] += 1096;   /* 4096 over both workers */
	n->workers[0].stats.transit_bytes[gy] += 4000;
	ipop_gateways_traffic(n, 100500, &cfg);          /* under a second: not looked at */
	CHECK(ipop_gateways_hot(n, hot, 4) == 0);
	ipop_gateways_traffic(n, 101000, &cfg);
	CHECK(ipop_gateways_hot(n, hot, 4) == 1 && ipop_node_id_eq(hot[0], x));
	CHECK(n->gws.n_hot == 1 && n->gws.hot_starts == 1);
	/* Its slot freed: not hot any more, and the count follows. */
	ipop_gateways_release(n, x, 102000);
	ipop_gateways_expire(n, 200000, 10000);
	CHECK(ipop_gateways_hot(n, hot, 4) == 0 && n->gws.n_hot == 0);
	free(n->workers);
	ipop_bridge_free(&n->sh.bridge);
}

/* Routes from floods are tree routes and win; a transit frame only keeps a
 * route alive that points the same way or fills in a missing one (two
 * gateways must never point at each other: transit_loop). */
static void test_route_learning(void)
{
	struct ipop_routes *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return;
	ipop_routes_init(r, 300);
	ipop_routes_learn(r, 3, 7, 100);                    /* flood via 7 */
	ipop_routes_confirm(r, 3, 9, 101);                  /* transit via 9: ignored */
	CHECK(ipop_routes_lookup(r, 3, 101) == 7);
	ipop_routes_confirm(r, 3, 7, 390);                  /* transit via 7: kept alive */
	CHECK(ipop_routes_lookup(r, 3, 690) == 7);
	CHECK(ipop_routes_lookup(r, 3, 691) == IPOP_GW_NO_PEER);
	ipop_routes_confirm(r, 3, 9, 700);                  /* none live: filled in */
	CHECK(ipop_routes_lookup(r, 3, 700) == 9);
	ipop_routes_confirm(r, 3, 7, 701);                  /* ... and not moved */
	CHECK(ipop_routes_lookup(r, 3, 701) == 9);
	ipop_routes_learn(r, 3, 7, 702);                    /* the next flood overrides */
	CHECK(ipop_routes_lookup(r, 3, 702) == 7);
	ipop_routes_confirm(r, 4, 65534, 702);              /* the highest slot fits */
	CHECK(ipop_routes_lookup(r, 4, 702) == 65534);
	CHECK(ipop_routes_flush_nbr(r, 7) == 1);            /* the link to 7 went down */
	CHECK(ipop_routes_lookup(r, 3, 702) == IPOP_GW_NO_PEER);
	CHECK(ipop_routes_lookup(r, 4, 702) == 65534);
	free(r);
}

int main(void)
{
	CHECK(sodium_init() >= 0);
	test_directory();
	test_traffic_rule();
	test_hot_list();
	test_route_learning();
	return check_report("gateways");
}

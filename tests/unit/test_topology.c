/* test_topology.c - the topology module (control/topology/module.c) with the
 * symphony policy, on the real controller framework with a recording stand-in
 * for the link manager: a burst of presences (as after a login, each one
 * nearer on the ring than the ones before) is planned once, when it settles,
 * so no link is requested and closed again while the members arrive; a member
 * that arrives alone is planned at the next quiet timer tick; presences that
 * never stop are still planned within MAX_DEFER_MS. Uses real time (sleeps of
 * ~1.5 s in all). */
#include "control/framework.h"
#include "control/tasks.h"
#include "control/topology/module.h"
#include "control/topology/policy.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

struct lm_rec {
	unsigned wants, unwants, limits;
	char want_jid[64][64];
	unsigned n_want_jid;
};

static struct lm_rec L;

static void lm_handle(struct ipop_module *m, struct ipop_task *t)
{
	const char *jid = ipop_task_str(t, "jid");

	if (t->op == IPOP_OP_LINK_WANT) {
		L.wants++;
		if (jid && L.n_want_jid < 64)
			snprintf(L.want_jid[L.n_want_jid++], sizeof(L.want_jid[0]), "%s", jid);
	} else if (t->op == IPOP_OP_LINK_UNWANT) {
		L.unwants++;
	} else if (t->op == IPOP_OP_LINK_LIMITS) {
		L.limits++;
	}
	ipop_task_complete(m->fw, t, IPOP_TASK_OK, 0, NULL);
}

static void sig_done(struct ipop_module *m, struct ipop_task *t)
{
}

static bool wanted(const char *jid)
{
	for (unsigned i = 0; i < L.n_want_jid; i++)
		if (strcmp(L.want_jid[i], jid) == 0)
			return true;
	return false;
}

static uint64_t mono_ms(void)
{
	return (uint64_t)(g_get_monotonic_time() / 1000);
}

static struct ipop_node_id self_id;

/* How many times the policy planned (its JSON's "updates"). */
static int64_t updates(struct ipop_module *topo)
{
	json_object *j = ipop_topology_ring_json(topo), *v;
	int64_t n = -1;

	if (json_object_object_get_ex(j, "updates", &v))
		n = json_object_get_int64(v);
	json_object_put(j);
	return n;
}

/* Member i sits `dist` units of 2^120 clockwise from us. */
static void online(struct ipop_fw *fw, unsigned i, unsigned dist)
{
	struct ipop_member_ident id = { .known = true };
	json_object *p = json_object_new_object();
	char jid[64], full[80];

	snprintf(jid, sizeof(jid), "m%02u@x", i);
	snprintf(full, sizeof(full), "%s/r", jid);
	id.node = ipop_ring_add(self_id, ipop_node_id_make((uint64_t)dist << 56, 0));
	memset(id.key, (int)i + 1, sizeof(id.key));
	json_object_object_add(p, "jid", json_object_new_string(jid));
	json_object_object_add(p, "full", json_object_new_string(full));
	struct ipop_task *t = ipop_task_new("signal", "topology", IPOP_OP_MEMBER_ONLINE, p);
	CHECK(t != NULL && ipop_task_set_body(t, &id, sizeof(id)) == 0);
	CHECK(ipop_task_submit(fw, t) > 0);
	while (ipop_fw_dispatch(fw) > 0)
		;
}

static void tick(struct ipop_fw *fw, struct ipop_module *topo)
{
	topo->timer(topo, mono_ms());
	while (ipop_fw_dispatch(fw) > 0)
		;
}

int main(void)
{
	GMainContext *ctx = g_main_context_new();
	struct ipop_fw fw;
	struct ipop_module lm = { .name = "linkmgr", .handle_task = lm_handle };
	struct ipop_module sig = { .name = "signal", .task_done = sig_done };
	struct ipop_topo_settings set = { .successors = 2, .seed = 1 };
	char err[128];

	self_id = ipop_node_id_make(0x1000000000000000ULL, 42);
	snprintf(set.self_jid, sizeof(set.self_jid), "self@x");
	set.self_id = self_id;
	struct ipop_module *topo = ipop_topology_module(&ipop_topology_symphony, &set, 3000);
	CHECK(topo != NULL);
	CHECK(ipop_fw_init(&fw, ctx) == 0);
	CHECK(ipop_fw_register(&fw, &lm) == 0 && ipop_fw_register(&fw, &sig) == 0 &&
	      ipop_fw_register(&fw, topo) == 0);
	CHECK(ipop_fw_start(&fw, err, sizeof(err)) == 0);

	/* ---- a burst of 20 presences, each nearer than all before it */
	for (unsigned i = 0; i < 20; i++)
		online(&fw, i, 200 - 10 * i);
	CHECK(L.wants == 0 && L.unwants == 0);    /* nothing planned while they arrive */
	tick(&fw, topo);                          /* a tick right after: still settling */
	CHECK(L.wants == 0);
	g_usleep(150 * 1000);
	tick(&fw, topo);
	/* 20 peers: k = round(log2 21) = 4, plus s = 2 successors, planned once */
	CHECK(L.wants == 6 && L.unwants == 0);
	CHECK(updates(topo) == 1);
	CHECK(wanted("m19@x") && wanted("m18@x"));   /* the two nearest: the successors */
	printf("burst of 20 presences: %u wants, %u unwants\n", L.wants, L.unwants);
	tick(&fw, topo);
	CHECK(L.wants == 6 && L.unwants == 0);       /* converged: the plan is the identity */

	/* ---- one member more, nearer than every successor */
	int64_t u = updates(topo);
	online(&fw, 20, 1);
	CHECK(L.wants == 6 && updates(topo) == u);
	g_usleep(150 * 1000);
	tick(&fw, topo);
	CHECK(wanted("m20@x") && updates(topo) == u + 1);

	/* ---- presences that never stop are planned within MAX_DEFER_MS (1 s) */
	int64_t u0 = updates(topo);
	uint64_t t0 = mono_ms(), planned_ms = 0, last = t0, gap = 0;
	for (unsigned i = 21; i < 45 && planned_ms == 0; i++) {
		online(&fw, i, 2000 + i);   /* one every 60 ms: never quiet for 100 ms */
		uint64_t t = mono_ms();
		gap = t - last > gap ? t - last : gap;
		last = t;
		g_usleep(60 * 1000);
		tick(&fw, topo);
		if (updates(topo) > u0)
			planned_ms = mono_ms() - t0;
	}
	printf("presences every 60 ms: first plan after %llu ms (longest gap %llu ms)\n",
	       (unsigned long long)planned_ms, (unsigned long long)gap);
	/* A loaded machine can stretch a 60 ms sleep past the 100 ms quiet
	 * period (seen: planned after 183 ms while other tests ran): then a
	 * quiet period did pass and an early plan is right. */
	CHECK(planned_ms > 0 && planned_ms <= 1500);
	CHECK(planned_ms >= 900 || gap >= 100);
	ipop_fw_stop(&fw);
	g_main_context_unref(ctx);
	return check_report("topology");
}

/* test_topology_policy.c - the topology policies (control/topology/
 * symphony_policy.c, alltoall.c) as the topology module drives them: members
 * with their ring identity come and go, the link manager reports links, and
 * the policy says which link it wants to whom and why.
 *
 * Symphony: the s successors are exactly the next s node IDs clockwise; a new
 * member that becomes a successor is wanted at once while the successor it
 * pushes out is kept until the new link is up; long links stay within k and
 * never go to a member that refused one; static members get a static link;
 * members without an identity get none; the incoming cap is 2k; the JSON view
 * names the predecessor and lists successors nearest first. All-to-all: every
 * online member, type mesh. Thread: a plain test program.
 */
#include "control/config/identity.h"
#include "control/topology/policy.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#define N 12

struct who {
	char jid[64];
	struct ipop_member_ident ident;
};

static struct who self, m[N + 1];

static void make(struct who *w, const char *name)
{
	snprintf(w->jid, sizeof(w->jid), "%s@x", name);
	randombytes_buf(w->ident.key, sizeof(w->ident.key));
	w->ident.node = ipop_node_id_of_key(w->ident.key);
	w->ident.known = true;
}

/* Index of the member that is the r-th (1-based) clockwise after self among
 * m[0 .. n-1], by brute force over ring distances. */
static int nth_after_self(int n, int r)
{
	bool used[N + 1] = { false };
	int pick = -1;

	for (int k = 0; k < r; k++) {
		pick = -1;
		for (int i = 0; i < n; i++) {
			if (used[i])
				continue;
			if (pick < 0 || ipop_ring_closer(self.ident.node, m[i].ident.node,
							 m[pick].ident.node))
				pick = i;
		}
		used[pick] = true;
	}
	return pick;
}

static struct ipop_topo_settings settings(unsigned s)
{
	struct ipop_topo_settings set;

	memset(&set, 0, sizeof(set));
	snprintf(set.self_jid, sizeof(set.self_jid), "%s", self.jid);
	set.self_id = self.ident.node;
	set.successors = s;
	set.seed = 42;
	return set;
}

static enum ipop_link_type want(const struct ipop_topology_ops *ops, void *st, int i, char *why)
{
	char buf[IPOP_TOPO_WHY_LEN];

	return ops->want(st, m[i].jid, why ? why : buf);
}

static void report(void *st, int i, bool up, bool refused, uint8_t type, uint8_t remote)
{
	struct ipop_topo_link_info li = { .exists = up || !refused, .up = up, .refused = refused,
					  .type = type, .remote_type = remote };

	ipop_topology_symphony.on_link(st, m[i].jid, &li, 1000);
}

/* Report every wanted link up, as the link manager would once connected. */
static void all_up(void *st, int n)
{
	for (int i = 0; i < n; i++) {
		enum ipop_link_type t = want(&ipop_topology_symphony, st, i, NULL);
		if (t != IPOP_LINK_NONE)
			report(st, i, true, false, (uint8_t)t, IPOP_LINK_NONE);
	}
}

/* An update before any member came online (ipopd's first tick): the ring is
 * empty, nothing is wanted. UBSan once caught qsort given the never-allocated
 * (NULL) placement list here (the ASan build runs this test). */
static void test_empty(void)
{
	const struct ipop_topology_ops *ops = &ipop_topology_symphony;
	struct ipop_topo_settings set = settings(2);
	void *st = ops->create(&set);
	unsigned lim[IPOP_LINK_NTYPES];

	CHECK(st != NULL);
	if (st == NULL)
		return;
	ops->update(st, 1000);
	ops->on_member_online(st, m[0].jid, &m[0].ident);
	ops->update(st, 2000);
	CHECK(want(ops, st, 0, NULL) == IPOP_LINK_SUCC);
	ops->limits(st, lim);
	ops->destroy(st);
}

static void test_successors(void)
{
	const struct ipop_topology_ops *ops = &ipop_topology_symphony;
	struct ipop_topo_settings set = settings(2);
	void *st = ops->create(&set);
	char why[IPOP_TOPO_WHY_LEN];
	unsigned counts[IPOP_LINK_NTYPES] = { 0 }, lim[IPOP_LINK_NTYPES];

	CHECK(st != NULL);
	if (st == NULL)
		return;
	for (int i = 0; i < N; i++)
		ops->on_member_online(st, m[i].jid, &m[i].ident);
	ops->update(st, 1000);
	int s1 = nth_after_self(N, 1), s2 = nth_after_self(N, 2);
	CHECK(want(ops, st, s1, why) == IPOP_LINK_SUCC && strcmp(why, "successor 1 of 2") == 0);
	CHECK(want(ops, st, s2, why) == IPOP_LINK_SUCC && strcmp(why, "successor 2 of 2") == 0);
	for (int i = 0; i < N; i++)
		counts[want(ops, st, i, NULL)]++;
	CHECK(counts[IPOP_LINK_SUCC] == 2);
	/* n = 13 (12 members and us): k = round(log2 13) = 4 at most, some draws
	 * may fail on so small a ring; no member gets two types. */
	CHECK(counts[IPOP_LINK_LONG] <= 4 && counts[IPOP_LINK_LONG] >= 1);
	CHECK(counts[IPOP_LINK_SUCC] + counts[IPOP_LINK_LONG] + counts[IPOP_LINK_NONE] == N);
	ops->limits(st, lim);
	CHECK(lim[IPOP_LINK_LONG] == 8 && lim[IPOP_LINK_SUCC] == 0 && lim[IPOP_LINK_STATIC] == 0);
	all_up(st, N);
	ops->update(st, 2000);
	CHECK(want(ops, st, s1, NULL) == IPOP_LINK_SUCC && want(ops, st, s2, NULL) == IPOP_LINK_SUCC);

	/* The JSON view: predecessor and successors in ring order, nearest first. */
	json_object *j = ops->json(st), *v, *arr;
	int pred = nth_after_self(N, N);
	CHECK(json_object_object_get_ex(j, "predecessor", &v) &&
	      json_object_object_get_ex(v, "member", &v) &&
	      strcmp(json_object_get_string(v), m[pred].jid) == 0);
	CHECK(json_object_object_get_ex(j, "successors", &arr) &&
	      json_object_array_length(arr) == 2);
	v = json_object_array_get_idx(arr, 0);
	CHECK(v && json_object_object_get_ex(v, "member", &v) &&
	      strcmp(json_object_get_string(v), m[s1].jid) == 0);
	CHECK(json_object_object_get_ex(j, "members_on_ring", &v) && json_object_get_int(v) == N);
	json_object_put(j);

	/* A newcomer just after us: successor 1 at once; the old successor 2 is
	 * kept (as a former successor) until the newcomer's link is up. */
	make(&m[N], "newcomer");
	m[N].ident.node = ipop_ring_add(self.ident.node, ipop_node_id_make(0, 1));
	ops->on_member_online(st, m[N].jid, &m[N].ident);
	ops->update(st, 3000);
	CHECK(want(ops, st, N, why) == IPOP_LINK_SUCC && strcmp(why, "successor 1 of 2") == 0);
	CHECK(want(ops, st, s1, why) == IPOP_LINK_SUCC && strcmp(why, "successor 2 of 2") == 0);
	CHECK(want(ops, st, s2, why) == IPOP_LINK_SUCC && strstr(why, "former successor") != NULL);
	report(st, N, true, false, IPOP_LINK_SUCC, IPOP_LINK_NONE);
	ops->update(st, 4000);
	CHECK(want(ops, st, s2, NULL) != IPOP_LINK_SUCC);   /* released (or kept as long) */

	/* The successor leaves: the next one clockwise takes its place. */
	ops->on_member_offline(st, m[N].jid);
	ops->update(st, 5000);
	CHECK(want(ops, st, N, NULL) == IPOP_LINK_NONE);
	CHECK(want(ops, st, s1, why) == IPOP_LINK_SUCC && strcmp(why, "successor 1 of 2") == 0);
	CHECK(want(ops, st, s2, why) == IPOP_LINK_SUCC && strcmp(why, "successor 2 of 2") == 0);
	ops->destroy(st);
}

/* A member that refused a long link is not asked for one again (for a while). */
static void test_refusal(void)
{
	const struct ipop_topology_ops *ops = &ipop_topology_symphony;
	struct ipop_topo_settings set = settings(1);
	void *st = ops->create(&set);

	set.long_links = 1;
	ops->destroy(st);
	st = ops->create(&set);
	for (int i = 0; i < N; i++)
		ops->on_member_online(st, m[i].jid, &m[i].ident);
	ops->update(st, 1000);
	int lng = -1;
	for (int i = 0; i < N; i++)
		if (want(ops, st, i, NULL) == IPOP_LINK_LONG)
			lng = i;
	CHECK(lng >= 0);
	if (lng < 0) {
		ops->destroy(st);
		return;
	}
	/* Refused, over and over: the policy never asks that member again within
	 * the hold time, and finds another one. */
	report(st, lng, false, true, IPOP_LINK_LONG, IPOP_LINK_NONE);
	for (int r = 0; r < 20; r++) {
		ops->update(st, 1000 + 100 * (uint64_t)r);
		CHECK(want(ops, st, lng, NULL) != IPOP_LINK_LONG);
	}
	int other = -1;
	for (int i = 0; i < N; i++)
		if (want(ops, st, i, NULL) == IPOP_LINK_LONG)
			other = i;
	CHECK(other >= 0 && other != lng);   /* drawn elsewhere */
	ops->destroy(st);
}

static void report_at(void *st, int i, struct ipop_topo_link_info li, uint64_t now)
{
	ipop_topology_symphony.on_link(st, m[i].jid, &li, now);
}

static bool held_listed(void *st, int i)
{
	json_object *j = ipop_topology_symphony.json(st), *arr;
	bool found = false;

	if (json_object_object_get_ex(j, "held_off_ring", &arr))
		for (size_t k = 0; k < json_object_array_length(arr); k++) {
			json_object *e = json_object_array_get_idx(arr, k), *v;
			if (json_object_object_get_ex(e, "member", &v) &&
			    strcmp(json_object_get_string(v), m[i].jid) == 0)
				found = true;
		}
	json_object_put(j);
	return found;
}

/* A member whose link fails while it stays online (a crashed gateway the XMPP
 * server still lists) is held off the ring: the next member takes its place;
 * the hold ends by time (doubling), by a link of it coming up, or by a new
 * presence; nobody is held while none of our links is up; statics never. */
static void test_unreachable(void)
{
	const struct ipop_topology_ops *ops = &ipop_topology_symphony;
	struct ipop_topo_settings set = settings(2);
	const struct ipop_topo_link_info failed = { .failed = true, .type = IPOP_LINK_SUCC };
	const struct ipop_topo_link_info trying = { .exists = true, .type = IPOP_LINK_SUCC };
	const struct ipop_topo_link_info up = { .exists = true, .up = true, .type = IPOP_LINK_SUCC };
	char why[IPOP_TOPO_WHY_LEN];
	int s1 = nth_after_self(N, 1), s2 = nth_after_self(N, 2), s3 = nth_after_self(N, 3);

	set.long_links = 1;
	void *st = ops->create(&set);
	for (int i = 0; i < N; i++)
		ops->on_member_online(st, m[i].jid, &m[i].ident);
	ops->update(st, 1000);
	/* Nothing up yet: a failure is most likely ours, nobody is held. */
	report_at(st, s1, failed, 1000);
	ops->update(st, 1100);
	CHECK(want(ops, st, s1, NULL) == IPOP_LINK_SUCC && !held_listed(st, s1));
	report_at(st, s1, trying, 1200);
	report_at(st, s2, up, 1200);
	/* s2 is up; s1 fails: held, s2 and s3 are the successors now. */
	report_at(st, s1, failed, 2000);
	ops->update(st, 2000);
	CHECK(want(ops, st, s1, why) == IPOP_LINK_NONE && strstr(why, "held off the ring") != NULL);
	CHECK(want(ops, st, s2, why) == IPOP_LINK_SUCC && strcmp(why, "successor 1 of 2") == 0);
	CHECK(want(ops, st, s3, why) == IPOP_LINK_SUCC && strcmp(why, "successor 2 of 2") == 0);
	CHECK(held_listed(st, s1));
	json_object *j = ops->json(st), *v;
	CHECK(json_object_object_get_ex(j, "members_on_ring", &v) && json_object_get_int(v) == N - 1);
	CHECK(json_object_object_get_ex(j, "holds", &v) && json_object_get_int(v) == 1);
	json_object_put(j);
	/* The hold ends after 30 s: placed again, wanted again. */
	ops->update(st, 2000 + 29999);
	CHECK(want(ops, st, s1, NULL) == IPOP_LINK_NONE);
	ops->update(st, 2000 + 30000);
	CHECK(want(ops, st, s1, why) == IPOP_LINK_SUCC && strcmp(why, "successor 1 of 2") == 0);
	/* It fails again: held twice as long. */
	report_at(st, s1, trying, 32100);
	report_at(st, s1, failed, 40000);
	ops->update(st, 40000 + 59999);
	CHECK(want(ops, st, s1, NULL) == IPOP_LINK_NONE);
	ops->update(st, 40000 + 60000);
	CHECK(want(ops, st, s1, NULL) == IPOP_LINK_SUCC);
	/* Held again; then a link from it comes up: the hold ends at once. */
	report_at(st, s1, trying, 100100);
	report_at(st, s1, failed, 101000);
	ops->update(st, 101000);
	CHECK(want(ops, st, s1, NULL) == IPOP_LINK_NONE);
	report_at(st, s1, up, 102000);
	ops->update(st, 102000);
	CHECK(want(ops, st, s1, NULL) == IPOP_LINK_SUCC && !held_listed(st, s1));
	/* Held; a new presence (it restarted) ends the hold too. */
	report_at(st, s1, failed, 103000);
	ops->update(st, 103000);
	CHECK(want(ops, st, s1, NULL) == IPOP_LINK_NONE);
	ops->on_member_online(st, m[s1].jid, &m[s1].ident);
	ops->update(st, 103100);
	CHECK(want(ops, st, s1, NULL) == IPOP_LINK_SUCC);
	ops->destroy(st);

	/* A link only the member wanted fails: held too (unreachable either way). */
	st = ops->create(&set);
	for (int i = 0; i < N; i++)
		ops->on_member_online(st, m[i].jid, &m[i].ident);
	ops->update(st, 1000);
	report_at(st, s1, up, 1000);
	int inc = -1;
	for (int i = 0; i < N && inc < 0; i++)
		if (i != s1 && want(ops, st, i, NULL) == IPOP_LINK_NONE)
			inc = i;
	CHECK(inc >= 0);
	if (inc >= 0) {
		report_at(st, inc, (struct ipop_topo_link_info){ .exists = true, .up = true,
				.remote_type = IPOP_LINK_LONG }, 1000);
		report_at(st, inc, (struct ipop_topo_link_info){ .failed = true,
				.remote_type = IPOP_LINK_LONG }, 2000);
		ops->update(st, 2000);
		CHECK(held_listed(st, inc));
		json_object *jj = ops->json(st), *vv;
		CHECK(json_object_object_get_ex(jj, "members_on_ring", &vv) &&
		      json_object_get_int(vv) == N - 1);
		json_object_put(jj);
	}
	ops->destroy(st);
	/* A static member is never held: the operator asked for that link. */
	int far = nth_after_self(N, N / 2);
	set.n_static = 1;
	snprintf(set.statics[0], sizeof(set.statics[0]), "%s", m[far].jid);
	st = ops->create(&set);
	for (int i = 0; i < N; i++)
		ops->on_member_online(st, m[i].jid, &m[i].ident);
	ops->update(st, 1000);
	report_at(st, s1, up, 1000);
	CHECK(want(ops, st, far, NULL) == IPOP_LINK_STATIC);
	report_at(st, far, (struct ipop_topo_link_info){ .exists = true, .type = IPOP_LINK_STATIC }, 1000);
	report_at(st, far, (struct ipop_topo_link_info){ .failed = true, .type = IPOP_LINK_STATIC }, 2000);
	ops->update(st, 2000);
	CHECK(want(ops, st, far, NULL) == IPOP_LINK_STATIC && !held_listed(st, far));
	ops->destroy(st);
}

/* Static members; members without a ring identity; all-to-all. */
static void test_static_and_unknown(void)
{
	const struct ipop_topology_ops *ops = &ipop_topology_symphony;
	struct ipop_topo_settings set = settings(1);
	struct ipop_member_ident none = { .known = false };
	char why[IPOP_TOPO_WHY_LEN];
	int far = nth_after_self(N, N / 2);

	set.long_links = 1;
	set.n_static = 1;
	snprintf(set.statics[0], sizeof(set.statics[0]), "%s", m[far].jid);
	void *st = ops->create(&set);
	for (int i = 0; i < N; i++)
		ops->on_member_online(st, m[i].jid, i == 0 && far != 0 ? &none : &m[i].ident);
	ops->update(st, 1000);
	CHECK(want(ops, st, far, why) == IPOP_LINK_STATIC && strstr(why, "static") != NULL);
	if (far != 0)
		CHECK(want(ops, st, 0, NULL) == IPOP_LINK_NONE);   /* cannot be placed */
	json_object *j = ops->json(st), *v;
	CHECK(json_object_object_get_ex(j, "members_without_id", &v) &&
	      json_object_get_int(v) == (far != 0));
	json_object_put(j);
	ops->destroy(st);

	/* Bad settings make no policy. */
	set = settings(0);
	CHECK(ops->create(&set) == NULL);

	const struct ipop_topology_ops *a2a = &ipop_topology_alltoall;
	set = settings(2);
	st = a2a->create(&set);
	a2a->on_member_online(st, m[1].jid, &m[1].ident);
	a2a->on_member_online(st, self.jid, &self.ident);
	a2a->update(st, 1);
	CHECK(want(a2a, st, 1, why) == IPOP_LINK_MESH);
	CHECK(a2a->want(st, self.jid, why) == IPOP_LINK_NONE);
	CHECK(want(a2a, st, 2, NULL) == IPOP_LINK_NONE);
	a2a->on_member_offline(st, m[1].jid);
	CHECK(want(a2a, st, 1, NULL) == IPOP_LINK_NONE);
	a2a->destroy(st);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	make(&self, "self");
	for (int i = 0; i < N; i++) {
		char name[16];
		snprintf(name, sizeof(name), "gw-%d", i);
		make(&m[i], name);
	}
	test_empty();
	test_successors();
	test_refusal();
	test_unreachable();
	test_static_and_unknown();
	return check_report("topology_policy");
}

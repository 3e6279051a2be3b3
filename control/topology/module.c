/* module.c - see module.h. Thread: control. */
#include "control/topology/module.h"
#include "control/log.h"
#include "control/tasks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct member {
	char full[IPOP_JID_LEN];
	struct ipop_member_ident ident;
	bool online;                   /* as the policy knows it */
	bool present;                  /* as presence says now */
	uint8_t wanted;                /* the link type we asked the link manager for */
	char why[IPOP_TOPO_WHY_LEN];   /* and the reason we gave */
	uint64_t offline_ms;
};

/* Membership arrives one presence at a time: after our login, all of them
 * within a few tens of ms. Planning after each would request links and close
 * them again as each nearer member appears; so a change is planned once the
 * membership has been quiet for SETTLE_MS (or MAX_DEFER_MS after the first
 * unplanned change, should it never be quiet). */
#define SETTLE_MS 100
#define MAX_DEFER_MS 1000

struct topo_module {
	struct ipop_module m;
	const struct ipop_topology_ops *ops;
	struct ipop_topo_settings set;
	void *policy;
	unsigned grace_ms;
	bool frozen;                   /* signalling is down: nobody can be seen leaving */
	bool unplanned;                /* membership changed since the last plan */
	uint64_t changed_ms, first_unplanned_ms;
	GHashTable *members;           /* bare JID -> struct member */
	unsigned limits[IPOP_LINK_NTYPES];   /* last caps sent to the link manager */
	bool limits_sent;
	uint64_t wants, unwants, departures;
};

static uint64_t now_ms(void)
{
	return (uint64_t)(g_get_monotonic_time() / 1000);
}

static void submit(struct topo_module *tm, enum ipop_task_op op, json_object *p,
		   const void *body, size_t len)
{
	struct ipop_task *t = ipop_task_new("topology", "linkmgr", op, p);

	if (t == NULL)
		return;
	if (len > 0 && ipop_task_set_body(t, body, len) != 0) {
		json_object_put(t->params);
		free(t);
		return;
	}
	ipop_task_submit(tm->m.fw, t);
}

static void submit_want(struct topo_module *tm, const char *jid, struct member *mb,
			enum ipop_link_type type, const char *why)
{
	json_object *p = json_object_new_object();
	struct ipop_link_want w = { .type = (uint8_t)type };

	json_object_object_add(p, "jid", json_object_new_string(jid));
	json_object_object_add(p, "full", json_object_new_string(mb->full));
	json_object_object_add(p, "why", json_object_new_string(why));
	submit(tm, IPOP_OP_LINK_WANT, p, &w, sizeof(w));
	mb->wanted = (uint8_t)type;
	g_strlcpy(mb->why, why, sizeof(mb->why));
	tm->wants++;
}

/* left: the member left the overlay, so its own wish for the link goes too. */
static void submit_unwant(struct topo_module *tm, const char *jid, struct member *mb,
			  const char *why, bool left)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "jid", json_object_new_string(jid));
	json_object_object_add(p, "why", json_object_new_string(why));
	if (left)
		json_object_object_add(p, "left", json_object_new_boolean(true));
	submit(tm, IPOP_OP_LINK_UNWANT, p, NULL, 0);
	mb->wanted = IPOP_LINK_NONE;
	mb->why[0] = '\0';
	tm->unwants++;
}

/* Bring the link manager in line with the policy: a new type or a new reason
 * is a new wish; a link no longer wanted is let go. */
static void reconcile(struct topo_module *tm)
{
	GHashTableIter it;
	gpointer k, v;
	char why[IPOP_TOPO_WHY_LEN];

	g_hash_table_iter_init(&it, tm->members);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct member *mb = v;
		enum ipop_link_type type = IPOP_LINK_NONE;
		why[0] = '\0';
		if (mb->online)
			type = tm->ops->want(tm->policy, k, why);
		if (type != IPOP_LINK_NONE && (type != mb->wanted || strcmp(why, mb->why) != 0))
			submit_want(tm, k, mb, type, why);
		else if (type == IPOP_LINK_NONE && mb->wanted != IPOP_LINK_NONE)
			submit_unwant(tm, k, mb, why[0] ? why : mb->online ? "not wanted by the topology" :
						   "member left the overlay", !mb->online);
	}
}

/* Tell the link manager the policy's caps on incoming links when they change. */
static void send_limits(struct topo_module *tm)
{
	unsigned lim[IPOP_LINK_NTYPES];

	tm->ops->limits(tm->policy, lim);
	if (tm->limits_sent && memcmp(lim, tm->limits, sizeof(lim)) == 0)
		return;
	memcpy(tm->limits, lim, sizeof(lim));
	tm->limits_sent = true;
	submit(tm, IPOP_OP_LINK_LIMITS, NULL, lim, sizeof(lim));
}

static void replan(struct topo_module *tm)
{
	tm->unplanned = false;
	tm->ops->update(tm->policy, now_ms());
	reconcile(tm);
	send_limits(tm);
}

static void membership_changed(struct topo_module *tm)
{
	uint64_t t = now_ms();

	if (!tm->unplanned)
		tm->first_unplanned_ms = t;
	tm->unplanned = true;
	tm->changed_ms = t;
}

/* More membership changes are likely on their way: plan later. */
static bool settling(const struct topo_module *tm, uint64_t t)
{
	return tm->unplanned && t - tm->changed_ms < SETTLE_MS &&
	       t - tm->first_unplanned_ms < MAX_DEFER_MS;
}

static void replan_unless_settling(struct topo_module *tm)
{
	if (!settling(tm, now_ms()))
		replan(tm);
}

static struct member *get_member(struct topo_module *tm, const char *jid)
{
	struct member *mb = g_hash_table_lookup(tm->members, jid);

	if (mb == NULL) {
		mb = g_new0(struct member, 1);
		g_hash_table_insert(tm->members, g_strdup(jid), mb);
	}
	return mb;
}

static bool same_ident(const struct ipop_member_ident *a, const struct ipop_member_ident *b)
{
	return a->known == b->known && (!a->known || (ipop_node_id_eq(a->node, b->node) &&
						      memcmp(a->key, b->key, 32) == 0));
}

static int on_online(struct topo_module *tm, const char *jid, const char *full,
		     const struct ipop_member_ident *ident)
{
	struct member *mb = get_member(tm, jid);
	bool moved = strcmp(mb->full, full) != 0;
	bool renewed = moved || !mb->present;   /* a new session, or back within the grace */

	g_strlcpy(mb->full, full, sizeof(mb->full));
	mb->present = true;
	if (mb->online && !same_ident(&mb->ident, ident)) {
		/* Another key at the same JID: the ring position changed too. */
		tm->ops->on_member_offline(tm->policy, jid);
		mb->online = false;
	}
	mb->ident = *ident;
	if (!mb->online) {
		mb->online = true;
		tm->ops->on_member_online(tm->policy, jid, ident);
	} else if (renewed) {
		/* A new session (a restart the grace hid): the policy may try it
		 * again at once, whatever failed before. */
		tm->ops->on_member_online(tm->policy, jid, ident);
		if (moved && mb->wanted != IPOP_LINK_NONE)
			submit_want(tm, jid, mb, mb->wanted, mb->why);   /* tell where it is */
	}
	membership_changed(tm);   /* planned by the timer once presences settle */
	return 0;
}

static int on_offline(struct topo_module *tm, const char *jid, const char *full)
{
	struct member *mb = g_hash_table_lookup(tm->members, jid);

	if (mb == NULL)
		return -ENOENT;
	/* Only the resource we know leaving counts (another session may linger);
	 * no resource means "not seen since our login". */
	if (full != NULL && full[0] && mb->full[0] && strcmp(full, mb->full) != 0)
		return 0;
	if (mb->present) {
		mb->present = false;
		mb->offline_ms = now_ms();
	}
	return 0;
}

static int on_report(struct topo_module *tm, const struct ipop_task *t, const char *jid)
{
	const struct ipop_topo_link_info *li = ipop_task_body(t, sizeof(*li));

	if (li == NULL || jid == NULL)
		return -EINVAL;
	tm->ops->on_link(tm->policy, jid, li, now_ms());
	if (li->refused || !li->exists || li->up)
		replan_unless_settling(tm);   /* a refusal, a loss or a new link can change the plan now */
	return 0;
}

/* The server went away: presences that said "unavailable" just before were
 * most likely the server closing every session, not members leaving. */
static void freeze(struct topo_module *tm, bool on)
{
	GHashTableIter it;
	gpointer k, v;

	tm->frozen = on;
	if (!on)
		return;
	g_hash_table_iter_init(&it, tm->members);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct member *mb = v;
		if (mb->online)
			mb->present = true;
	}
}

static int handle_online(struct topo_module *tm, const struct ipop_task *t, const char *jid,
			 const char *full)
{
	static const struct ipop_member_ident none = { .known = false };
	const struct ipop_member_ident *ident = ipop_task_body(t, sizeof(*ident));

	if (full == NULL || strlen(full) >= IPOP_JID_LEN)
		return -EINVAL;
	return on_online(tm, jid, full, ident != NULL ? ident : &none);
}

static void topo_handle(struct ipop_module *mod, struct ipop_task *t)
{
	struct topo_module *tm = (struct topo_module *)mod;
	const char *jid = ipop_task_str(t, "jid"), *full = ipop_task_str(t, "full");
	bool jid_ok = jid != NULL && strlen(jid) < IPOP_JID_LEN;
	int r = -EINVAL;

	switch (t->op) {
	case IPOP_OP_SIGNAL_UP:
	case IPOP_OP_SIGNAL_DOWN:
		freeze(tm, t->op == IPOP_OP_SIGNAL_DOWN);
		r = 0;
		break;
	case IPOP_OP_MEMBER_ONLINE:
		if (jid_ok)
			r = handle_online(tm, t, jid, full);
		break;
	case IPOP_OP_MEMBER_OFFLINE:
		if (jid_ok)
			r = on_offline(tm, jid, full);
		break;
	case IPOP_OP_LINK_REPORT:
		if (jid_ok)
			r = on_report(tm, t, jid);
		break;
	default:
		r = -EOPNOTSUPP;
		break;
	}
	ipop_task_complete(mod->fw, t, r == 0 ? IPOP_TASK_OK : IPOP_TASK_FAILED, r, NULL);
}

static void topo_timer(struct ipop_module *mod, uint64_t now)
{
	struct topo_module *tm = (struct topo_module *)mod;
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, tm->members);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct member *mb = v;
		if (tm->frozen)
			break;
		if (mb->online && !mb->present && now - mb->offline_ms >= tm->grace_ms) {
			LOG_INFO("member %s: offline for %u s, leaving the topology",
				 (const char *)k, tm->grace_ms / 1000);
			mb->online = false;
			tm->departures++;
			tm->ops->on_member_offline(tm->policy, k);
			/* Its links go, whoever wanted them. */
			submit_unwant(tm, k, mb, "member left the overlay", true);
		}
	}
	if (tm->set.hot != NULL && tm->ops->set_ondemand != NULL) {
		struct ipop_node_id hot[IPOP_TOPO_MAX_ONDEMAND];
		size_t n = tm->set.hot(tm->set.hot_ctx, hot, IPOP_TOPO_MAX_ONDEMAND);
		tm->ops->set_ondemand(tm->policy, hot, n);
	}
	replan_unless_settling(tm);
}

static int topo_init(struct ipop_module *mod, struct ipop_fw *fw)
{
	struct topo_module *tm = (struct topo_module *)mod;

	tm->policy = tm->ops->create(&tm->set);
	return tm->policy ? 0 : -EINVAL;
}

static void topo_stop(struct ipop_module *mod)
{
	struct topo_module *tm = (struct topo_module *)mod;

	if (tm->policy)
		tm->ops->destroy(tm->policy);
	tm->policy = NULL;
	g_hash_table_destroy(tm->members);
	tm->members = NULL;
}

struct ipop_module *ipop_topology_module(const struct ipop_topology_ops *ops,
					 const struct ipop_topo_settings *set,
					 unsigned offline_grace_ms)
{
	struct topo_module *tm = calloc(1, sizeof(*tm));

	if (tm == NULL)
		return NULL;
	tm->ops = ops;
	tm->set = *set;
	tm->set.self_jid[strcspn(tm->set.self_jid, "/")] = '\0';
	tm->grace_ms = offline_grace_ms;
	tm->members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	tm->m = (struct ipop_module){ .name = "topology", .state = tm, .init = topo_init,
				      .stop = topo_stop, .handle_task = topo_handle,
				      .timer = topo_timer, .timer_ms = 250 };
	return &tm->m;
}

static json_object *member_json(const char *jid, const struct member *mb)
{
	json_object *e = json_object_new_object();
	char hex[IPOP_NODE_ID_HEX_LEN + 1];

	json_object_object_add(e, "jid", json_object_new_string(jid));
	json_object_object_add(e, "online", json_object_new_boolean(mb->present));
	json_object_object_add(e, "in_topology", json_object_new_boolean(mb->online));
	if (mb->ident.known) {
		ipop_node_id_format(mb->ident.node, hex, sizeof(hex));
		json_object_object_add(e, "node_id", json_object_new_string(hex));
	}
	json_object_object_add(e, "link_wanted", json_object_new_boolean(mb->wanted != IPOP_LINK_NONE));
	if (mb->wanted != IPOP_LINK_NONE) {
		json_object_object_add(e, "type", json_object_new_string(ipop_link_type_name(mb->wanted)));
		json_object_object_add(e, "why", json_object_new_string(mb->why));
	}
	return e;
}

json_object *ipop_topology_json(struct ipop_module *m)
{
	struct topo_module *tm = (struct topo_module *)m;
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	GHashTableIter it;
	gpointer k, v;

	json_object_object_add(o, "policy", json_object_new_string(tm->ops->name));
	if (tm->members != NULL) {
		g_hash_table_iter_init(&it, tm->members);
		while (g_hash_table_iter_next(&it, &k, &v))
			json_object_array_add(arr, member_json(k, v));
	}
	json_object_object_add(o, "members", arr);
	json_object_object_add(o, "departures", json_object_new_int64((int64_t)tm->departures));
	return o;
}

json_object *ipop_topology_ring_json(struct ipop_module *m)
{
	struct topo_module *tm = (struct topo_module *)m;
	json_object *o = tm->policy ? tm->ops->json(tm->policy) : json_object_new_object();

	json_object_object_add(o, "policy", json_object_new_string(tm->ops->name));
	return o;
}

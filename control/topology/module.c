/* module.c - see module.h. Thread: control. */
#include "control/topology/module.h"
#include "control/log.h"
#include "control/tasks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct member {
	char full[IPOP_JID_LEN];
	bool online;                   /* as the policy knows it */
	bool present;                  /* as presence says now */
	bool wanted;                   /* we asked the link manager for a link */
	uint64_t offline_ms;
};

struct topo_module {
	struct ipop_module m;
	const struct ipop_topology_ops *ops;
	void *policy;
	char self[IPOP_JID_LEN];
	unsigned grace_ms;
	bool frozen;                   /* signalling is down: nobody can be seen leaving */
	GHashTable *members;           /* bare JID -> struct member */
	uint64_t wants, unwants, departures;
};

static uint64_t now_ms(void)
{
	return (uint64_t)(g_get_monotonic_time() / 1000);
}

static void submit(struct topo_module *tm, enum ipop_task_op op, const char *jid,
		   const char *full, const char *why)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "jid", json_object_new_string(jid));
	if (full)
		json_object_object_add(p, "full", json_object_new_string(full));
	if (why)
		json_object_object_add(p, "why", json_object_new_string(why));
	ipop_task_submit(tm->m.fw, ipop_task_new("topology", "linkmgr", op, p));
}

/* Bring the link manager in line with the policy. */
static void reconcile(struct topo_module *tm)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, tm->members);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct member *mb = v;
		bool want = mb->online && tm->ops->want_link(tm->policy, k);
		if (want && !mb->wanted) {
			submit(tm, IPOP_OP_LINK_WANT, k, mb->full, NULL);
			mb->wanted = true;
			tm->wants++;
		} else if (!want && mb->wanted) {
			submit(tm, IPOP_OP_LINK_UNWANT, k, NULL, mb->online ? "not wanted by the topology" :
				   "member left the overlay");
			mb->wanted = false;
			tm->unwants++;
		}
	}
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

static int on_online(struct topo_module *tm, const char *jid, const char *full)
{
	struct member *mb = get_member(tm, jid);
	bool moved = strcmp(mb->full, full) != 0;

	g_strlcpy(mb->full, full, sizeof(mb->full));
	mb->present = true;
	if (!mb->online) {
		mb->online = true;
		tm->ops->on_member_online(tm->policy, jid);
	} else if (moved && mb->wanted) {
		submit(tm, IPOP_OP_LINK_WANT, jid, full, NULL);   /* new resource: tell where it is */
	}
	reconcile(tm);
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

static void topo_handle(struct ipop_module *mod, struct ipop_task *t)
{
	struct topo_module *tm = (struct topo_module *)mod;
	const char *jid = ipop_task_str(t, "jid"), *full = ipop_task_str(t, "full");
	int r = -EINVAL;

	bool jid_ok = jid != NULL && strlen(jid) < IPOP_JID_LEN;

	switch (t->op) {
	case IPOP_OP_SIGNAL_UP:
	case IPOP_OP_SIGNAL_DOWN:
		freeze(tm, t->op == IPOP_OP_SIGNAL_DOWN);
		r = 0;
		break;
	case IPOP_OP_MEMBER_ONLINE:
		if (jid_ok && full != NULL && strlen(full) < IPOP_JID_LEN)
			r = on_online(tm, jid, full);
		break;
	case IPOP_OP_MEMBER_OFFLINE:
		if (jid_ok)
			r = on_offline(tm, jid, full);
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
			if (!mb->wanted)   /* a link it asked for itself goes too */
				submit(tm, IPOP_OP_LINK_UNWANT, k, NULL, "member left the overlay");
		}
	}
	reconcile(tm);
}

static int topo_init(struct ipop_module *mod, struct ipop_fw *fw)
{
	struct topo_module *tm = (struct topo_module *)mod;

	tm->policy = tm->ops->create(tm->self);
	return tm->policy ? 0 : -ENOMEM;
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

struct ipop_module *ipop_topology_module(const struct ipop_topology_ops *ops, const char *self_jid,
					 unsigned offline_grace_ms)
{
	struct topo_module *tm = calloc(1, sizeof(*tm));

	if (tm == NULL)
		return NULL;
	tm->ops = ops;
	g_strlcpy(tm->self, self_jid, sizeof(tm->self));
	tm->self[strcspn(tm->self, "/")] = '\0';
	tm->grace_ms = offline_grace_ms;
	tm->members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	tm->m = (struct ipop_module){ .name = "topology", .state = tm, .init = topo_init,
				      .stop = topo_stop, .handle_task = topo_handle,
				      .timer = topo_timer, .timer_ms = 250 };
	return &tm->m;
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
		while (g_hash_table_iter_next(&it, &k, &v)) {
			struct member *mb = v;
			json_object *e = json_object_new_object();
			json_object_object_add(e, "jid", json_object_new_string(k));
			json_object_object_add(e, "online", json_object_new_boolean(mb->present));
			json_object_object_add(e, "in_topology", json_object_new_boolean(mb->online));
			json_object_object_add(e, "link_wanted", json_object_new_boolean(mb->wanted));
			json_object_array_add(arr, e);
		}
	}
	json_object_object_add(o, "members", arr);
	json_object_object_add(o, "departures", json_object_new_int64((int64_t)tm->departures));
	return o;
}

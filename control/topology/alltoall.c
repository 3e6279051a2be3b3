/* alltoall.c - the all-to-all policy (policy.h). Thread: control.
 *
 * All-to-all needs no state beyond who is online: n members make n(n-1)/2
 * links, fine for a handful of sites, and the reason the symphony policy is
 * the default. It caps nothing: every member wants a link to every other.
 */
#include "control/topology/policy.h"

#include <glib.h>
#include <string.h>

struct a2a {
	char self[IPOP_JID_LEN];
	GHashTable *online;            /* bare JID -> itself */
};

static void *a2a_create(const struct ipop_topo_settings *set)
{
	struct a2a *a = g_new0(struct a2a, 1);

	g_strlcpy(a->self, set->self_jid, sizeof(a->self));
	a->online = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return a;
}

static void a2a_destroy(void *st)
{
	struct a2a *a = st;

	g_hash_table_destroy(a->online);
	g_free(a);
}

static void a2a_online(void *st, const char *jid, const struct ipop_member_ident *ident)
{
	struct a2a *a = st;

	if (strcmp(jid, a->self) != 0)
		g_hash_table_add(a->online, g_strdup(jid));
}

static void a2a_offline(void *st, const char *jid)
{
	g_hash_table_remove(((struct a2a *)st)->online, jid);
}

static void a2a_on_link(void *st, const char *jid, const struct ipop_topo_link_info *li,
			uint64_t now_ms)
{
}

static void a2a_update(void *st, uint64_t now_ms)
{
}

static enum ipop_link_type a2a_want(void *st, const char *jid, char why[IPOP_TOPO_WHY_LEN])
{
	if (!g_hash_table_contains(((struct a2a *)st)->online, jid))
		return IPOP_LINK_NONE;
	g_strlcpy(why, "all-to-all: every online member", IPOP_TOPO_WHY_LEN);
	return IPOP_LINK_MESH;
}

static void a2a_limits(void *st, unsigned max_in[IPOP_LINK_NTYPES])
{
	memset(max_in, 0, sizeof(unsigned) * IPOP_LINK_NTYPES);
}

static json_object *a2a_json(void *st)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "members_online",
			       json_object_new_int((int)g_hash_table_size(((struct a2a *)st)->online)));
	return o;
}

const struct ipop_topology_ops ipop_topology_alltoall = {
	.name = "all-to-all",
	.create = a2a_create,
	.destroy = a2a_destroy,
	.on_member_online = a2a_online,
	.on_member_offline = a2a_offline,
	.on_link = a2a_on_link,
	.update = a2a_update,
	.want = a2a_want,
	.limits = a2a_limits,
	.json = a2a_json,
};

/* alltoall.c - the all-to-all policy (policy.h). Thread: control.
 *
 * All-to-all needs no state beyond who is online: n members make n(n-1)/2
 * links, fine for the tens of sites this issue targets, and the reason the
 * Symphony ring replaces it for large overlays.
 */
#include "control/topology/policy.h"

#include <glib.h>
#include <string.h>

struct a2a {
	char self[IPOP_JID_LEN];
	GHashTable *online;            /* bare JID -> itself */
};

static void *a2a_create(const char *self)
{
	struct a2a *a = g_new0(struct a2a, 1);

	g_strlcpy(a->self, self, sizeof(a->self));
	a->online = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return a;
}

static void a2a_destroy(void *st)
{
	struct a2a *a = st;

	g_hash_table_destroy(a->online);
	g_free(a);
}

static void a2a_online(void *st, const char *jid)
{
	struct a2a *a = st;

	if (strcmp(jid, a->self) != 0)
		g_hash_table_add(a->online, g_strdup(jid));
}

static void a2a_offline(void *st, const char *jid)
{
	g_hash_table_remove(((struct a2a *)st)->online, jid);
}

static bool a2a_want(void *st, const char *jid)
{
	return g_hash_table_contains(((struct a2a *)st)->online, jid);
}

const struct ipop_topology_ops ipop_topology_alltoall = {
	.name = "all-to-all",
	.create = a2a_create,
	.destroy = a2a_destroy,
	.on_member_online = a2a_online,
	.on_member_offline = a2a_offline,
	.want_link = a2a_want,
};

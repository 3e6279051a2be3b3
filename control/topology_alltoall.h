/* topology_alltoall.h - the topology policy interface and its first policy,
 * all-to-all: every online member of the overlay gets a link. Thread: control.
 *
 * A policy only decides which links should exist; the topology module
 * (control/topomod.c) feeds it membership and turns its answer into "want" and
 * "unwant" tasks for the link manager. The Symphony ring (control/topology/)
 * will be another struct ipop_topology_ops.
 */
#ifndef IPOP_CONTROL_TOPOLOGY_ALLTOALL_H
#define IPOP_CONTROL_TOPOLOGY_ALLTOALL_H

#include <stdbool.h>
#include <stdint.h>

#define IPOP_TOPO_JID_LEN 256

struct ipop_topology_ops {
	const char *name;
	/* self: our bare JID. Returns the policy's state or NULL. */
	void *(*create)(const char *self);
	void (*destroy)(void *st);
	void (*on_member_online)(void *st, const char *jid);
	void (*on_member_offline)(void *st, const char *jid);
	/* Whether a link to member jid should exist now. */
	bool (*want_link)(void *st, const char *jid);
};

extern const struct ipop_topology_ops ipop_topology_alltoall;

#endif

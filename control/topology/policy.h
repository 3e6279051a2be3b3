/* policy.h - the topology policy interface, and the policies there are.
 * Thread: control.
 *
 * A policy only decides which links should exist; the topology module
 * (module.c) feeds it membership and turns its answer into link wishes for the
 * link manager. Policies: all-to-all (alltoall.c: every online member of the
 * overlay gets a link). symphony.c holds the Symphony ring's link selection,
 * which the simulator (bench/sim) runs; it is not yet a policy here.
 */
#ifndef IPOP_CONTROL_TOPOLOGY_POLICY_H
#define IPOP_CONTROL_TOPOLOGY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "control/tasks.h"


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

/* alltoall.c */
extern const struct ipop_topology_ops ipop_topology_alltoall;

#endif

/* topomod.h - the topology module ("topology"): membership in, link wishes
 * out. Thread: control.
 *
 * Tasks it handles (from "signal"): member_online {jid, full},
 * member_offline {jid, full}. Tasks it sends (to "linkmgr"): want {jid, full},
 * unwant {jid, why}. A member that goes offline keeps its links for
 * signal.offline_grace seconds (a reconnect or a server restart is not a
 * departure); then the policy hears it left and its links are torn down.
 */
#ifndef IPOP_CONTROL_TOPOMOD_H
#define IPOP_CONTROL_TOPOMOD_H

#include "control/framework.h"
#include "control/topology_alltoall.h"

struct ipop_module *ipop_topology_module(const struct ipop_topology_ops *ops, const char *self_jid,
					 unsigned offline_grace_ms);
json_object *ipop_topology_json(struct ipop_module *m);

#endif

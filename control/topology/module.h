/* module.h - the topology module ("topology"): membership in, link wishes
 * out, with a policy (policy.h) deciding which links should exist. Thread:
 * control.
 *
 * Tasks it handles (from "signal"): IPOP_OP_MEMBER_ONLINE {jid, full},
 * IPOP_OP_MEMBER_OFFLINE {jid, full}, IPOP_OP_SIGNAL_UP/DOWN. Tasks it sends
 * (to "linkmgr"): IPOP_OP_LINK_WANT {jid, full, why} + type, IPOP_OP_LINK_UNWANT
 * {jid, why, left}, IPOP_OP_LINK_LIMITS. From "linkmgr": IPOP_OP_LINK_REPORT.
 * A member that goes offline keeps its links for signal.offline_grace seconds
 * (a reconnect or a server restart is not a departure); then the policy hears
 * it left and its links are torn down. Members coming online are planned for
 * once the presences have been quiet for 100 ms (at most 1 s after the first
 * unplanned one): after a login they all arrive within tens of ms, and a plan
 * per presence would request and close links as each nearer member appears.
 */
#ifndef IPOP_CONTROL_TOPOLOGY_MODULE_H
#define IPOP_CONTROL_TOPOLOGY_MODULE_H

#include "control/framework.h"
#include "control/topology/policy.h"

/* set: who we are and the topology { } settings (copied). */
struct ipop_module *ipop_topology_module(const struct ipop_topology_ops *ops,
					 const struct ipop_topo_settings *set,
					 unsigned offline_grace_ms);
/* `show`'s topology object: the policy and the members. */
json_object *ipop_topology_json(struct ipop_module *m);
/* `ipopctl topology`: this node's view of the overlay (the policy's). */
json_object *ipop_topology_ring_json(struct ipop_module *m);

#endif

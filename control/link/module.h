/* module.h - the link manager as a controller module ("linkmgr"): binds the
 * state machine of linkmgr.h to the node's peers and to the signalling module.
 * Thread: control.
 *
 * Tasks it handles: IPOP_OP_LINK_WANT / IPOP_OP_LINK_UNWANT (from "topology"),
 * IPOP_OP_LINK_MSG (from "signal": a validated link message). Tasks it sends:
 * IPOP_OP_LINK_SEND (to "signal"); one that fails marks the link's send failed.
 */
#ifndef IPOP_CONTROL_LINK_MODULE_H
#define IPOP_CONTROL_LINK_MODULE_H

#include "control/framework.h"
#include "control/link/linkmgr.h"

struct ipop_node;

struct ipop_module *ipop_linkmgr_module(struct ipop_node *n);
struct ipop_linkmgr *ipop_linkmgr_of(struct ipop_module *m);
/* `show`: ice (the agents' counters), or NULL without ice { }. */
json_object *ipop_linkmgr_ice_json(struct ipop_module *m);

#endif

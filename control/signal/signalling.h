/* signalling.h - the signalling module ("signal"): the XMPP client (libstrophe)
 * that logs in, learns the overlay's members from the shared roster group,
 * follows their presence, and carries link negotiation stanzas. Thread: control
 * (libstrophe is driven with xmpp_run_once(ctx, 0) from a 20 ms module timer
 * on the daemon's GMainContext; nothing blocks except a TLS handshake).
 *
 * Tasks it sends: member_online/member_offline to "topology", msg to
 * "linkmgr". Tasks it handles: send_link {to, jid, op} from "linkmgr".
 * docs/signalling.md describes the protocol and the counters.
 */
#ifndef IPOP_CONTROL_SIGNALLING_H
#define IPOP_CONTROL_SIGNALLING_H

#include <json-c/json.h>

#include "control/framework.h"

struct ipop_node;

struct ipop_module *ipop_signal_module(struct ipop_node *n);
json_object *ipop_signal_json(struct ipop_module *m);

#endif

/* signalling.h - the signalling module ("signal"): the XMPP client (libstrophe)
 * that logs in, learns the overlay's members from the shared roster group,
 * follows their presence and the node identity each presence announces
 * (presence.h), and carries link negotiation stanzas. Thread: control
 * (libstrophe is driven with xmpp_run_once(ctx, 0) from a 20 ms module timer
 * on the daemon's GMainContext; nothing blocks except a TLS handshake).
 *
 * Tasks it sends: member_online (body: struct ipop_member_ident) and
 * member_offline to "topology", msg to
 * "linkmgr". Tasks it handles: send_link {to, jid, op} from "linkmgr".
 * docs/signalling.md describes the protocol and the counters.
 */
#ifndef IPOP_CONTROL_SIGNALLING_H
#define IPOP_CONTROL_SIGNALLING_H

#include <json-c/json.h>

#include "control/framework.h"
#include "control/signal/linkmsg.h"
#include "control/signal/presence.h"
#include "dataplane/counters.h"

/* `show`: signalling.counters (with rejected.<reason> from linkmsg.h's list and
 * presence_rejected.<reason> from presence.h's).
 * X(name, meaning): dataplane/counters.h. */
#define IPOP_SIGNAL_COUNTERS(X) \
	X(connects, "connection attempts to the XMPP server") \
	X(logins, "logins that succeeded (online)") \
	X(disconnects, "online sessions lost") \
	X(login_failures, "attempts that ended before login (unreachable, refused, authentication failed)") \
	X(msgs_rx, "message stanzas received") \
	X(link_rx, "link messages accepted and passed to the link manager") \
	X(other_rx, "messages without a link element (not ours, ignored)") \
	X(errors_rx, "bounced messages (type error: the member went away), ignored") \
	X(presences_rx, "presence stanzas received") \
	X(not_member_presence, "presences from a JID that is not a member (ignored)") \
	X(presence_ids, "available presences of members whose node identity was accepted") \
	X(presence_no_id, "available presences of members without a node identity (an older node: online, ID unknown)") \
	X(presence_id_changes, "accepted presences that changed a member's node identity (the old one released)") \
	X(roster_items, "members added from the roster") \
	X(roster_pushes, "roster pushes received") \
	X(link_tx, "link messages sent") \
	X(send_failed, "link messages not sent, or not passed on to the link manager") \
	X(trust_drops, "members taken offline and their link dropped because trust took their key away (another member proved it, their certificate expired or was revoked)") \
	X(untrusted_other_resource, "presences refused by trust from another resource than the member's online one: the online one stays (a stolen password does not knock the member out)") \
	X(probes, "whitespace written to the server because a link's ICE path was lost (a NAT that restarted took our TCP mapping too: the write makes the server reset the dead connection)") \
	X(probe_reconnects, "connections that a probe found dead, reconnected within 200 ms instead of the usual back-off (the path in front of us changed, not the server)")

struct ipop_signal_stats {
	IPOP_SIGNAL_COUNTERS(IPOP_COUNTER_FIELD)
	uint64_t rejected[IPOP_REJ_MAX];   /* by enum ipop_linkmsg_reject */
	uint64_t presence_rejected[IPOP_PRES_REJ_MAX];   /* by enum ipop_presence_reject */
};

struct ipop_node;

struct ipop_module *ipop_signal_module(struct ipop_node *n);
json_object *ipop_signal_json(struct ipop_module *m);
/* Presences that wait (a duplicate, or a key change an operator just
 * accepted) are tried again now. */
void ipop_signal_retry(struct ipop_module *m);

#endif

/* tasks.h - the operations the controller modules ask of each other through the
 * framework (framework.h), in one list with one name table. Thread: control.
 *
 * A task's op is one of these; its JSON parameters carry names (JIDs, reasons)
 * and its body (ipop_task_set_body) carries already-parsed binary data, so
 * nothing that crossed the network edge is parsed a second time inside.
 *
 *   op                     from -> to           params          body
 *   IPOP_OP_MEMBER_ONLINE  signal -> topology   jid, full       struct ipop_member_ident
 *   IPOP_OP_MEMBER_OFFLINE signal -> topology   jid, full       -
 *   IPOP_OP_SIGNAL_UP      signal -> topology   -               -
 *   IPOP_OP_SIGNAL_DOWN    signal -> topology   -               -
 *   IPOP_OP_LINK_WANT      topology -> linkmgr  jid, full, why  struct ipop_link_want
 *   IPOP_OP_LINK_UNWANT    topology -> linkmgr  jid, why        -
 *   IPOP_OP_LINK_MSG       signal -> linkmgr    jid, full       struct ipop_link_msg
 *   IPOP_OP_LINK_SEND      linkmgr -> signal    to, jid         struct ipop_link_msg (op, type, reason)
 *   IPOP_OP_LINK_REPORT    linkmgr -> topology  jid             struct ipop_topo_link_info
 *   IPOP_OP_LINK_LIMITS    topology -> linkmgr  -               unsigned[IPOP_LINK_NTYPES]
 *   IPOP_OP_SIGNAL_PROBE   linkmgr -> signal    -               -
 *
 * (struct ipop_topo_link_info: control/topology/policy.h; a link's state or one
 * side's wish changed. LINK_LIMITS: caps on incoming links by type, 0 = none.
 * SIGNAL_PROBE: a link's ICE path was lost, maybe with the NAT our XMPP
 * connection crosses: write to the server so a dead connection shows at once.)
 */
#ifndef IPOP_CONTROL_TASKS_H
#define IPOP_CONTROL_TASKS_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/ring.h"

/* Room for a JID (bare or full) with its NUL, in every module that keeps one. */
#define IPOP_JID_LEN 256

enum ipop_task_op {
	IPOP_OP_MEMBER_ONLINE,
	IPOP_OP_MEMBER_OFFLINE,
	IPOP_OP_SIGNAL_UP,
	IPOP_OP_SIGNAL_DOWN,
	IPOP_OP_LINK_WANT,
	IPOP_OP_LINK_UNWANT,
	IPOP_OP_LINK_MSG,
	IPOP_OP_LINK_SEND,
	IPOP_OP_LINK_REPORT,
	IPOP_OP_LINK_LIMITS,
	IPOP_OP_SIGNAL_PROBE,
	IPOP_OP__MAX
};

/* Body of IPOP_OP_MEMBER_ONLINE: the ring identity the member's presence
 * announced, already checked by signal (node is BLAKE2b-128 of key, and no
 * other online member holds that node ID or key). */
struct ipop_member_ident {
	struct ipop_node_id node;
	uint8_t key[32];
	bool known;      /* false: the presence carried none (a node of an older version) */
};

/* Body of IPOP_OP_LINK_WANT: why the topology wants the link. */
struct ipop_link_want {
	uint8_t type;    /* enum ipop_link_type (control/topology/link_type.h), not NONE */
};

/* "member_online", ...; "?" for a value outside the list. */
const char *ipop_task_op_name(int op);

#endif

/* stats.c - names of the drop reasons (part of the management API). Thread: either. */
#include "dataplane/stats.h"

#include <stddef.h>

static const char *const drop_names[IPOP_DROP__MAX] = {
	[IPOP_DROP_WAN_SHORT] = "wan_short",
	[IPOP_DROP_WAN_VERSION] = "wan_bad_version",
	[IPOP_DROP_WAN_TYPE] = "wan_bad_type",
	[IPOP_DROP_WAN_LENGTH] = "wan_bad_length",
	[IPOP_DROP_WAN_INDEX] = "wan_unknown_index",
	[IPOP_DROP_WAN_AUTH] = "wan_auth_failed",
	[IPOP_DROP_WAN_REPLAY] = "wan_replay",
	[IPOP_DROP_WAN_OLD] = "wan_too_old",
	[IPOP_DROP_WAN_EXPIRED] = "wan_session_expired",
	[IPOP_DROP_INNER_SHORT] = "inner_short",
	[IPOP_DROP_INNER_SRC] = "inner_bad_src_mac",
	[IPOP_DROP_NOT_LOCAL] = "inner_not_local",
	[IPOP_DROP_LAN_SRC] = "lan_bad_src_mac",
	[IPOP_DROP_LAN_LOCAL] = "lan_local_dst",
	[IPOP_DROP_NO_SESSION] = "no_session",
	[IPOP_DROP_NO_NEXTHOP] = "no_nexthop",
	[IPOP_DROP_TOO_BIG] = "too_big",
	[IPOP_DROP_MULTISEG] = "multiseg",
	[IPOP_DROP_NOMEM] = "no_mbuf",
	[IPOP_DROP_FRAG] = "frag_failed",
	[IPOP_DROP_REASM] = "reasm_failed",
	[IPOP_DROP_CTRL_RING_FULL] = "ctrl_ring_full",
	[IPOP_DROP_TX_FULL] = "tx_full",
	[IPOP_DROP_NO_FLOOD_TARGET] = "no_flood_target",
};

const char *ipop_drop_name(unsigned reason)
{
	if (reason >= IPOP_DROP__MAX || drop_names[reason] == NULL)
		return "unknown";
	return drop_names[reason];
}

/* tasks.c - see tasks.h. Thread: any (a constant table). */
#include "control/tasks.h"

#include <stddef.h>

static const char *const op_names[IPOP_OP__MAX] = {
	[IPOP_OP_MEMBER_ONLINE] = "member_online",
	[IPOP_OP_MEMBER_OFFLINE] = "member_offline",
	[IPOP_OP_SIGNAL_UP] = "signal_up",
	[IPOP_OP_SIGNAL_DOWN] = "signal_down",
	[IPOP_OP_LINK_WANT] = "link_want",
	[IPOP_OP_LINK_UNWANT] = "link_unwant",
	[IPOP_OP_LINK_MSG] = "link_msg",
	[IPOP_OP_LINK_SEND] = "link_send",
	[IPOP_OP_LINK_REPORT] = "link_report",
	[IPOP_OP_LINK_LIMITS] = "link_limits",
};

const char *ipop_task_op_name(int op)
{
	if (op < 0 || op >= IPOP_OP__MAX || op_names[op] == NULL)
		return "?";
	return op_names[op];
}

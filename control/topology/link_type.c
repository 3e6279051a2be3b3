/* link_type.c - see link_type.h. Thread: any. */
#include "control/topology/link_type.h"

#include <errno.h>
#include <string.h>

static const char *const type_names[IPOP_LINK_NTYPES] = {
	[IPOP_LINK_NONE] = "none",
	[IPOP_LINK_SUCC] = "successor",
	[IPOP_LINK_STATIC] = "static",
	[IPOP_LINK_ONDEMAND] = "ondemand",
	[IPOP_LINK_LONG] = "long",
	[IPOP_LINK_MESH] = "mesh",
};

const char *ipop_link_type_name(unsigned type)
{
	return type < IPOP_LINK_NTYPES ? type_names[type] : "?";
}

int ipop_link_type_parse(const char *name)
{
	for (unsigned i = 0; i < IPOP_LINK_NTYPES; i++)
		if (strcmp(name, type_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

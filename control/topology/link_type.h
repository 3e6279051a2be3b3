/* link_type.h - why a link exists, in one enum with one name table, shared by
 * the topology policies, the link manager, the link stanza and the simulator.
 * Thread: any (constants).
 */
#ifndef IPOP_CONTROL_TOPOLOGY_LINK_TYPE_H
#define IPOP_CONTROL_TOPOLOGY_LINK_TYPE_H

enum ipop_link_type {
	IPOP_LINK_NONE = 0,
	IPOP_LINK_SUCC = 1,      /* one of the s successors (or kept until replaced) */
	IPOP_LINK_STATIC = 2,    /* configured */
	IPOP_LINK_ONDEMAND = 3,  /* requested for a peer we exchange much traffic with */
	IPOP_LINK_LONG = 4,      /* Symphony long-distance */
	IPOP_LINK_MESH = 5,      /* all-to-all: every online member */
};
#define IPOP_LINK_NTYPES 6

/* "none", "successor", "static", "ondemand", "long", "mesh"; "?" outside the enum. */
const char *ipop_link_type_name(unsigned type);
/* The type of a name above, or -EINVAL. */
int ipop_link_type_parse(const char *name);

#endif

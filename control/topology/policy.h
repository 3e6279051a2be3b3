/* policy.h - the topology policy interface, and the policies there are.
 * Thread: control.
 *
 * A policy only decides which links should exist and why; the topology module
 * (module.c) feeds it membership and the link manager's reports, and turns its
 * answers into link wishes and incoming caps for the link manager. Policies:
 *  - all-to-all (alltoall.c): every online member gets a link (type mesh);
 *  - symphony (symphony_policy.c): the ring of docs/overlay-algorithms.md,
 *    successors, long-distance and static links chosen by symphony.c.
 */
#ifndef IPOP_CONTROL_TOPOLOGY_POLICY_H
#define IPOP_CONTROL_TOPOLOGY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "control/tasks.h"
#include "control/topology/link_type.h"
#include "dataplane/ring.h"

#define IPOP_TOPO_MAX_STATIC 32
#define IPOP_TOPO_WHY_LEN 96

/* What a policy is created with: who we are and the topology { } settings. */
struct ipop_topo_settings {
	char self_jid[IPOP_JID_LEN];   /* bare */
	struct ipop_node_id self_id;
	unsigned successors;           /* s */
	unsigned long_links;           /* k; 0 = about log2 of the estimated size */
	unsigned max_incoming;         /* cap on incoming long links; 0 = 2k */
	unsigned n_static;
	char statics[IPOP_TOPO_MAX_STATIC][IPOP_JID_LEN];   /* bare JIDs */
	uint64_t seed;                 /* for the long-link draws */
	unsigned max_ondemand;         /* on-demand links at most, each direction; 0 = none */
	/* Optional: the gateways this node sends much traffic to through other
	 * gateways (node IDs, at most cap): wanted as on-demand links. The
	 * module asks on its timer (the node's answer: control/fib/gateways.h). */
	size_t (*hot)(void *ctx, struct ipop_node_id *out, size_t cap);
	void *hot_ctx;
};

#define IPOP_TOPO_MAX_ONDEMAND 16

/* The link manager's view of the link to one member (IPOP_OP_LINK_REPORT). */
struct ipop_topo_link_info {
	bool exists;                   /* the link manager holds a link to it */
	bool up;                       /* connected */
	bool refused;                  /* the member refused our request */
	bool failed;                   /* went down without a refusal: no answer to the
					* request, or no handshake completed in time */
	uint8_t type;                  /* our wish (enum ipop_link_type) */
	uint8_t remote_type;           /* the member's wish */
};

struct ipop_topology_ops {
	const char *name;
	/* Returns the policy's state or NULL. */
	void *(*create)(const struct ipop_topo_settings *set);
	void (*destroy)(void *st);
	/* ident: the ring identity the member's presence announced (known=false:
	 * none). A member that comes back with another identity is online again;
	 * one that logs in again (a new resource) while online is told again. */
	void (*on_member_online)(void *st, const char *jid, const struct ipop_member_ident *ident);
	void (*on_member_offline)(void *st, const char *jid);
	void (*on_link)(void *st, const char *jid, const struct ipop_topo_link_info *li,
			uint64_t now_ms);
	/* Recompute what is wanted (after events, and on the module's timer). */
	void (*update)(void *st, uint64_t now_ms);
	/* The type of link wanted to member jid now (NONE: no link) and why. */
	enum ipop_link_type (*want)(void *st, const char *jid, char why[IPOP_TOPO_WHY_LEN]);
	/* Optional: the members that should get an on-demand link now (hot). */
	void (*set_ondemand)(void *st, const struct ipop_node_id *ids, size_t n);
	/* Caps on links members request that we do not want ourselves (0: none). */
	void (*limits)(void *st, unsigned max_in[IPOP_LINK_NTYPES]);
	/* This node's view of the overlay (ipopctl topology). */
	json_object *(*json)(void *st);
};

/* alltoall.c */
extern const struct ipop_topology_ops ipop_topology_alltoall;
/* symphony_policy.c */
extern const struct ipop_topology_ops ipop_topology_symphony;

#endif

/* gateways.h - the gateway directory: every gateway of the overlay this node
 * knows by node ID (the online signalled members' announced identities), each
 * in a slot that stays put while the member does, published with the table
 * (dataplane/tables.h: struct ipop_fp_gw) so the lcores can name a gateway
 * that is not a neighbour: a MAC learnt behind it, a transit frame's
 * destination, its route (dataplane/routes.h). Thread: control.
 *
 * A member that goes offline keeps its slot for signal.offline_grace (a
 * reconnect, or the XMPP server's restart, is not a departure: its MACs and
 * routes stay); then the slot is freed, the bridge forgets the MACs learnt
 * behind it and its route is dropped. The same node ID held again within the
 * grace gets its old slot back.
 */
#ifndef IPOP_CONTROL_FIB_GATEWAYS_H
#define IPOP_CONTROL_FIB_GATEWAYS_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "dataplane/ring.h"
#include "dataplane/tables.h"

struct ipop_node;

/* On-demand links: how much of our traffic to one gateway crosses other
 * gateways (transit), and whether that makes it worth a direct link. */
struct ipop_ondemand_cfg {
	uint64_t bytes;         /* transit bytes within one window that make a gateway hot; 0 = off */
	uint64_t window_ms;
	uint64_t idle_ms;       /* hot until no byte went to it (transit or direct) for this long */
};

struct ipop_gw_traffic {
	uint64_t window_start_ms;   /* 0: not started */
	uint64_t mark;              /* transit bytes at the window's start */
	uint64_t last_total;        /* transit + direct bytes at the last look */
	uint64_t last_active_ms;    /* when last_total last moved */
	uint64_t hot_since_ms;
	bool hot;
};

/* Feed one look at a gateway's counters (transit: bytes sent to it as transit
 * so far, over all lcores; direct: bytes over our direct tunnel to it, both
 * ways, 0 without one). Returns whether it is hot now: its transit bytes
 * reached cfg->bytes within the current window, and it has not been idle for
 * cfg->idle_ms since. Pure (unit-tested). */
bool ipop_gw_traffic_update(struct ipop_gw_traffic *tr, uint64_t transit, uint64_t direct,
			    uint64_t now_ms, const struct ipop_ondemand_cfg *cfg);

/* One directory slot. Written only by the control thread. */
struct ipop_gw_entry {
	struct ipop_node_id id;
	bool used;              /* the slot names this gateway */
	bool held;              /* an online member holds the ID now */
	uint64_t released_ms;   /* when the last holder let go (held false) */
	struct ipop_gw_traffic tr;
};

struct ipop_gw_dir {
	unsigned n_used;
	unsigned n_hot;
	uint64_t holds, releases, expired, full, hot_starts;   /* `show`: gateways */
	uint64_t last_look_ms;
	struct ipop_gw_entry e[IPOP_MAX_GATEWAYS];
};

/* An online member holds this node ID: give it a slot (its old one if it
 * still has one). Returns the slot, or -ENOSPC when every slot is held. */
int ipop_gateways_hold(struct ipop_node *n, struct ipop_node_id id);
/* Its holder let go (at now_ms); the slot is freed by ipop_gateways_expire. */
void ipop_gateways_release(struct ipop_node *n, struct ipop_node_id id, uint64_t now_ms);
/* Free the slots released more than grace_ms ago. Every control tick. */
void ipop_gateways_expire(struct ipop_node *n, uint64_t now_ms, uint64_t grace_ms);
/* Once a second: look at every gateway's traffic (ipop_gw_traffic_update). */
void ipop_gateways_traffic(struct ipop_node *n, uint64_t now_ms, const struct ipop_ondemand_cfg *cfg);
/* The hot gateways' node IDs (at most cap), for the topology's on-demand links. */
size_t ipop_gateways_hot(const struct ipop_node *n, struct ipop_node_id *out, size_t cap);
/* Copy the used slots into a table being built (gw[]; the caller then runs
 * ipop_fp_table_gateways). */
void ipop_gateways_fill(const struct ipop_node *n, struct ipop_fp_table *t);
/* `show`'s gateways object: counts and the used slots. */
json_object *ipop_gateways_json(const struct ipop_node *n);

#endif

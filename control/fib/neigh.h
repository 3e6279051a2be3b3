/* neigh.h - next-hop resolution on the underlay (ARP). Thread: control.
 *
 * The kernel owns the WAN address (on the exception TAP) and answers ARP for it;
 * the fast path gives control a copy of every ARP frame. Control keeps a small
 * cache of the next hops its tunnels need, asks for them (once a second while
 * unresolved, every 30 s to refresh) and marks the node dirty when one changes,
 * so the next table carries the new outer headers. An entry nothing needed
 * for 60 s is forgotten; a full table (IPOP_MAX_NEIGH) makes room by
 * dropping its least recently used entry.
 */
#ifndef IPOP_CONTROL_FIB_NEIGH_H
#define IPOP_CONTROL_FIB_NEIGH_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#define IPOP_MAX_NEIGH 64

struct ipop_node;

/* One next hop; lives in the node's neigh[] (control only). */
struct ipop_neigh {
	uint32_t ip;                   /* network order */
	struct rte_ether_addr mac;
	bool valid;
	uint64_t last_req_ms, updated_ms;
	uint64_t used_ms;              /* last needed: a lookup, or a peer's (once a second) */
};

/* An ARP frame the workers handed over (the caller frees m). */
void ipop_neigh_handle_arp(struct ipop_node *n, struct rte_mbuf *m);
/* Next-hop entry for an underlay destination (marked used); starts
 * resolution if unknown. Never NULL. */
const struct ipop_neigh *ipop_neigh_lookup(struct ipop_node *n, uint32_t dst_ip, uint64_t now_ms);
void ipop_neigh_learn(struct ipop_node *n, uint32_t ip, const struct rte_ether_addr *mac, uint64_t now_ms);
/* An authenticated handshake from src_ip arrived from mac: if src_ip's next
 * hop is unresolved, take mac as its MAC until ARP answers. Never for
 * unauthenticated packets: anyone can send those, from any address and MAC. */
void ipop_neigh_learn_via(struct ipop_node *n, uint32_t src_ip, const struct rte_ether_addr *mac,
			  uint64_t now_ms);
/* The address to resolve for dst_ip: itself on the WAN subnet, else the gateway. */
uint32_t ipop_neigh_nexthop(const struct ipop_node *n, uint32_t dst_ip);
/* Retry unresolved next hops, refresh resolved ones; once a second forget
 * the ones unused for 60 s. */
void ipop_neigh_timers(struct ipop_node *n, uint64_t now_ms);

#endif

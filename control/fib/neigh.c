/* neigh.c - see neigh.h. Thread: control.
 *
 * Entries are made only for next hops the node needs (a peer's endpoint, a
 * destination control sends to, the source of an authenticated handshake),
 * never from unauthenticated packets, and go when unused: a peer's next hop
 * is marked used once a second, anything else by each send. */
#include "control/fib/neigh.h"
#include "control/fib/tx.h"
#include "control/log.h"
#include "control/node.h"
#include "control/session/peer.h"

#include <errno.h>
#include <string.h>
#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>


#define NEIGH_RETRY_MS   1000
#define NEIGH_REFRESH_MS 30000
#define NEIGH_IDLE_MS    60000

uint32_t ipop_neigh_nexthop(const struct ipop_node *n, uint32_t dst_ip)
{
	uint32_t mask = n->cfg->wan_prefix ? rte_cpu_to_be_32(~0u << (32 - n->cfg->wan_prefix)) : 0;

	if ((dst_ip & mask) == (n->cfg->wan_addr.s_addr & mask) || n->cfg->wan_gateway.s_addr == 0)
		return dst_ip;
	return n->cfg->wan_gateway.s_addr;
}

/* The entry for ip; with create, a new one if there is none, taking the
 * least recently used entry's place when the table is full. */
static struct ipop_neigh *neigh_get(struct ipop_node *n, uint32_t ip, bool create, uint64_t now_ms)
{
	unsigned lru = 0;

	for (unsigned i = 0; i < n->n_neigh; i++) {
		if (n->neigh[i].ip == ip)
			return &n->neigh[i];
		if (n->neigh[i].used_ms < n->neigh[lru].used_ms)
			lru = i;
	}
	if (!create)
		return NULL;
	struct ipop_neigh *e;
	if (n->n_neigh < IPOP_MAX_NEIGH) {
		e = &n->neigh[n->n_neigh++];
	} else {
		e = &n->neigh[lru];
		n->cs.neigh_evicted++;
		n->dirty = true;   /* a table may carry the evicted next hop's MAC */
	}
	memset(e, 0, sizeof(*e));
	e->ip = ip;
	e->used_ms = now_ms;
	return e;
}

static int send_arp_request(struct ipop_node *n, uint32_t target)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (m == NULL) {
		n->cs.tx_nomem++;
		return -ENOMEM;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*arp));
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	eth->src_addr = n->wan.mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = n->wan.mac;
	arp->arp_data.arp_sip = n->cfg->wan_addr.s_addr;
	memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_tip = target;
	n->cs.arp_tx++;
	return ipop_ctrl_send(n, m);
}

const struct ipop_neigh *ipop_neigh_lookup(struct ipop_node *n, uint32_t dst_ip, uint64_t now_ms)
{
	struct ipop_neigh *e = neigh_get(n, ipop_neigh_nexthop(n, dst_ip), true, now_ms);

	e->used_ms = now_ms;
	if (!e->valid && now_ms - e->last_req_ms >= NEIGH_RETRY_MS) {
		e->last_req_ms = now_ms;
		send_arp_request(n, e->ip);
	}
	return e;
}

void ipop_neigh_learn(struct ipop_node *n, uint32_t ip, const struct rte_ether_addr *mac, uint64_t now_ms)
{
	struct ipop_neigh *e = neigh_get(n, ip, false, now_ms);

	if (e == NULL)
		return;   /* not a next hop we need */
	if (!e->valid || !rte_is_same_ether_addr(&e->mac, mac)) {
		e->mac = *mac;
		e->valid = true;
		n->dirty = true;
		LOG_DEBUG("next hop %u.%u.%u.%u resolved", ip & 0xff, (ip >> 8) & 0xff,
			  (ip >> 16) & 0xff, ip >> 24);
	}
	e->updated_ms = now_ms;
}

void ipop_neigh_learn_via(struct ipop_node *n, uint32_t src_ip, const struct rte_ether_addr *mac,
			  uint64_t now_ms)
{
	struct ipop_neigh *e = neigh_get(n, ipop_neigh_nexthop(n, src_ip), true, now_ms);

	e->used_ms = now_ms;
	if (!e->valid)
		ipop_neigh_learn(n, e->ip, mac, now_ms);
}

void ipop_neigh_handle_arp(struct ipop_node *n, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(eth + 1);

	n->cs.arp_rx++;
	if (m->data_len < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != 6 || arp->arp_plen != 4) {
		n->cs.ring_bad++;
		return;
	}
	if (!rte_is_valid_assigned_ether_addr(&arp->arp_data.arp_sha))
		return;
	ipop_neigh_learn(n, arp->arp_data.arp_sip, &arp->arp_data.arp_sha, ipop_now_ms());
}

/* Once a second: the peers' next hops are in use; what nothing used for
 * NEIGH_IDLE_MS goes (neither its ARP refresh nor its slot is needed). */
static void neigh_sweep(struct ipop_node *n, uint64_t now_ms)
{
	if (now_ms - n->neigh_swept_ms < 1000)
		return;
	n->neigh_swept_ms = now_ms;
	for (uint16_t i = 0; i < n->n_peers; i++) {
		const struct ipop_peer *p = n->peers[i];
		struct ipop_neigh *e = p && p->ip ? neigh_get(n, ipop_neigh_nexthop(n, p->ip), false,
							      now_ms) : NULL;
		if (e != NULL)
			e->used_ms = now_ms;
	}
	for (unsigned i = 0; i < n->n_neigh;) {
		if (now_ms - n->neigh[i].used_ms < NEIGH_IDLE_MS) {
			i++;
			continue;
		}
		n->neigh[i] = n->neigh[--n->n_neigh];
		n->cs.neigh_expired++;
	}
}

void ipop_neigh_timers(struct ipop_node *n, uint64_t now_ms)
{
	neigh_sweep(n, now_ms);
	for (unsigned i = 0; i < n->n_neigh; i++) {
		struct ipop_neigh *e = &n->neigh[i];
		uint64_t period = e->valid ? NEIGH_REFRESH_MS : NEIGH_RETRY_MS;
		if (now_ms - e->last_req_ms >= period) {
			e->last_req_ms = now_ms;
			send_arp_request(n, e->ip);
		}
	}
}

/* ctrl_rx.c - see ctrl_rx.h. Thread: control. */
#include "control/ctrl_rx.h"
#include "control/fib/neigh.h"
#include "control/fib/table.h"
#include "control/node.h"
#include "control/session/handshake.h"

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/encap.h"
#include "dataplane/wire.h"

enum rx_kind { RX_ARP, RX_RESP, RX_INIT, RX_OTHER };

static enum rx_kind kind_of(const struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)f;
	uint32_t ip_off, poff, plen;

	if (m->data_len >= sizeof(*eth) && eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		return RX_ARP;
	if (ipop_encap_parse(f, m->data_len, &ip_off, &poff, &plen) != 0)
		return RX_OTHER;
	switch (ipop_wire_classify(f + poff, plen)) {
	case IPOP_MSG_HANDSHAKE_RESP:
		return RX_RESP;
	case IPOP_MSG_HANDSHAKE_INIT:
		return RX_INIT;
	default:
		return RX_OTHER;
	}
}

void ipop_ctrl_rx_drain(struct ipop_node *n)
{
	void *objs[IPOP_CTRL_RX_MAX];
	unsigned k, n_init = 0, budget = IPOP_CTRL_HS_BUDGET;

	k = rte_ring_dequeue_burst(n->sh.to_ctrl, objs, RTE_DIM(objs), NULL);
	if (k == 0)
		return;
	n->cs.ring_rx += k;
	/* First what keeps existing sessions alive and cannot be made by a
	 * stranger in bulk: ARP (cheap) and responses to our own initiations
	 * (they match a handshake of ours before any X25519). Initiations wait,
	 * kept in place at the front of objs. */
	for (unsigned i = 0; i < k; i++) {
		struct rte_mbuf *m = objs[i];
		switch (kind_of(m)) {
		case RX_INIT:
			objs[n_init++] = m;
			continue;
		case RX_ARP:
			ipop_neigh_handle_arp(n, m);
			break;
		case RX_RESP:
			if (budget > 0) {
				budget--;
				ipop_hs_handle(n, m);
			} else {
				n->cs.hs_resp_shed++;
			}
			break;
		case RX_OTHER:
			ipop_hs_handle(n, m);   /* counts it as ring_bad; no crypto */
			break;
		}
		rte_pktmbuf_free(m);
	}
	for (unsigned i = 0; i < n_init; i++) {
		struct rte_mbuf *m = objs[i];
		if (budget > 0) {
			budget--;
			ipop_hs_handle(n, m);
		} else {
			n->cs.hs_init_shed++;
		}
		rte_pktmbuf_free(m);
	}
	/* One publication for the whole tick, then the responses it made valid
	 * (ipop_hs_queue_resp flushes earlier if its queue fills). */
	ipop_table_flush(n);
}

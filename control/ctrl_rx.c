/* ctrl_rx.c - see ctrl_rx.h. Thread: control. */
#include "control/ctrl_rx.h"
#include "control/fib/neigh.h"
#include "control/fib/table.h"
#include "control/node.h"
#include "control/session/handshake.h"

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

void ipop_ctrl_rx_drain(struct ipop_node *n)
{
	void *objs[32];
	unsigned k;

	while ((k = rte_ring_dequeue_burst(n->sh.to_ctrl, objs, RTE_DIM(objs), NULL)) > 0) {
		for (unsigned i = 0; i < k; i++) {
			struct rte_mbuf *m = objs[i];
			const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
			n->cs.ring_rx++;
			if (m->data_len >= sizeof(*eth) &&
			    eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
				ipop_neigh_handle_arp(n, m);
			else
				ipop_hs_handle(n, m);
			rte_pktmbuf_free(m);
		}
		/* One publication per burst, then the responses it made valid. */
		ipop_table_flush(n);
	}
}

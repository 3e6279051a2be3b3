/* ctrl_rx.c - see ctrl_rx.h. Thread: control. */
#include "control/ctrl_rx.h"
#include "control/fib/neigh.h"
#include "control/fib/table.h"
#include "control/link/turn_watch.h"
#include "control/node.h"
#include "control/session/handshake.h"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/encap.h"
#include "dataplane/wire.h"

enum rx_kind { RX_ARP, RX_RESP, RX_INIT, RX_TURN, RX_OTHER };

/* What m is, by its headers alone; for handshakes *src_ip is its source. */
static enum rx_kind kind_of(const struct rte_mbuf *m, uint32_t *src_ip)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)f;
	uint32_t ip_off, poff, plen;

	if (m->data_len >= sizeof(*eth) && eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		return RX_ARP;
	if (ipop_encap_parse(f, m->data_len, &ip_off, &poff, &plen) != 0)
		return RX_OTHER;
	*src_ip = ((const struct rte_ipv4_hdr *)(f + ip_off))->src_addr;
	if (ipop_wire_is_stun(f + poff, plen))
		return RX_TURN;   /* copies of TURN messages (dataplane/turn.h) */
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
	uint32_t init_src[IPOP_CTRL_RX_MAX];
	unsigned k, n_init = 0, budget = IPOP_CTRL_HS_BUDGET;
	uint64_t now = ipop_now_ms();
	uint32_t src = 0;

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
		switch (kind_of(m, &src)) {
		case RX_INIT:
			init_src[n_init] = src;
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
		case RX_TURN:
			if (n->turn != NULL)
				ipop_turn_watch_rx(n->turn, m);
			else
				n->cs.ring_bad++;
			break;
		case RX_OTHER:
			ipop_hs_handle(n, m);   /* counts it as ring_bad; no crypto */
			break;
		}
		rte_pktmbuf_free(m);
	}
	/* A source over its rate is refused before it can use up the budget. */
	for (unsigned i = 0; i < n_init; i++) {
		struct rte_mbuf *m = objs[i];
		src = init_src[i];
		if (!ipop_srclim_allow(&n->srclim, src, now)) {
			n->cs.hs_src_limited++;
			ipop_hs_log_refusal(n, now, src, "source address over its initiation rate");
		} else if (budget > 0) {
			budget--;
			ipop_hs_handle(n, m);
		} else {
			n->cs.hs_init_shed++;
			ipop_hs_log_refusal(n, now, src, "over the control thread's handshake budget");
		}
		rte_pktmbuf_free(m);
	}
	/* One publication for the whole tick, then the responses it made valid
	 * (ipop_hs_queue_resp flushes earlier if its queue fills). */
	ipop_table_flush(n);
}

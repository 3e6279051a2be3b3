/* tx.c - see tx.h. Thread: control. */
#include "control/fib/tx.h"
#include "control/fib/neigh.h"
#include "control/node.h"

#include <errno.h>
#include <string.h>
#include <rte_byteorder.h>
#include <rte_ring.h>

#include "dataplane/encap.h"
#include "dataplane/turn.h"

int ipop_ctrl_send(struct ipop_node *n, struct rte_mbuf *m)
{
	if (rte_ring_enqueue(n->sh.from_ctrl, m) != 0) {
		rte_pktmbuf_free(m);
		n->cs.tx_ring_full++;
		return -ENOBUFS;
	}
	/* Worker 0 drains the ring; an idle one may be waiting in epoll. */
	if (n->workers != NULL)
		ipop_worker_notify(&n->workers[0]);
	return 0;
}

int ipop_ctrl_send_udp_via(struct ipop_node *n, const struct rte_ether_addr *dst_mac, uint32_t ip,
			   uint16_t port, uint16_t src_port, uint16_t chan, const void *payload,
			   uint16_t len)
{
	uint16_t hlen = chan != 0 ? IPOP_CHANDATA_HDR_LEN : 0;
	struct ipop_encap_addr a;
	struct rte_mbuf *m;
	uint8_t *p;

	m = rte_pktmbuf_alloc(n->pool);
	if (m == NULL) {
		n->cs.tx_nomem++;
		return -ENOMEM;
	}
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(IPOP_OUTER_HDR_LEN + hlen + len));
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return -EMSGSIZE;
	}
	a.src_mac = n->wan.mac;
	a.dst_mac = *dst_mac;
	a.src_ip = n->cfg->wan_addr.s_addr;
	a.dst_ip = ip;
	a.src_port = src_port != 0 ? src_port : rte_cpu_to_be_16(n->cfg->wan_port);
	a.dst_port = port;
	ipop_encap_write(p, &a, (uint16_t)(hlen + len), (uint16_t)n->cs.hs_init_tx);
	if (chan != 0) {
		uint16_t h[2] = { rte_cpu_to_be_16(chan), rte_cpu_to_be_16(len) };
		memcpy(p + IPOP_OUTER_HDR_LEN, h, sizeof(h));
	}
	memcpy(p + IPOP_OUTER_HDR_LEN + hlen, payload, len);
	return ipop_ctrl_send(n, m);
}

int ipop_ctrl_send_udp(struct ipop_node *n, uint32_t ip, uint16_t port, uint16_t src_port,
		       uint16_t chan, const void *payload, uint16_t len)
{
	const struct ipop_neigh *nb = ipop_neigh_lookup(n, ip, ipop_now_ms());

	if (nb == NULL || !nb->valid) {
		n->cs.hs_no_nexthop++;
		return -EHOSTUNREACH;
	}
	return ipop_ctrl_send_udp_via(n, &nb->mac, ip, port, src_port, chan, payload, len);
}

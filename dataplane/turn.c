/* turn.c - see turn.h. Thread: fast path (worker 0 for ipop_dp_exc_out). */
#include "dataplane/turn.h"
#include "dataplane/encap.h"

#include <rte_ip.h>
#include <rte_udp.h>

void ipop_dp_turn_copy_to_ctrl(struct ipop_dp_ctx *c, const struct rte_mbuf *m)
{
	struct rte_mbuf *copy = rte_pktmbuf_copy(m, c->pool, 0, UINT32_MAX);

	if (copy == NULL) {
		c->st->drops[IPOP_DROP_NOMEM]++;
		return;
	}
	c->st->turn_ctrl++;
	c->st->ctrl_tx++;
	ipop_pktq_put(c->q_ctrl, copy);
}

void ipop_dp_stun_copy_to_ctrl(struct ipop_dp_ctx *c, const struct rte_mbuf *m)
{
	if (c->stun_copy_s != c->now_s) {
		c->stun_copy_s = c->now_s;
		c->stun_copy_n = 0;
	}
	if (c->stun_copy_n >= IPOP_DP_STUN_COPIES_PER_S) {
		c->st->stun_ctrl_shed++;
		return;
	}
	struct rte_mbuf *copy = rte_pktmbuf_copy(m, c->pool, 0, UINT32_MAX);
	if (copy == NULL) {
		c->st->drops[IPOP_DROP_NOMEM]++;
		return;
	}
	c->stun_copy_n++;
	c->st->stun_ctrl++;
	c->st->ctrl_tx++;
	ipop_pktq_put(c->q_ctrl, copy);
}

/* A STUN request from one of our agents' ports to the TURN server? */
static bool turn_request(const struct ipop_fp_table *t, const struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t ip_off, poff, plen;

	if (m->nb_segs != 1 || ipop_encap_parse(f, m->data_len, &ip_off, &poff, &plen) != 0)
		return false;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + ip_off);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(f + poff - 8);
	uint16_t above = (uint16_t)(rte_be_to_cpu_16(udp->src_port) - rte_be_to_cpu_16(t->wan_port));
	return ip->dst_addr == t->turn_ip && udp->dst_port == t->turn_port &&
	       ip->src_addr == t->wan_ip && above >= 1 && above <= t->wan_port_span &&
	       ipop_wire_is_stun(f + poff, plen) && ipop_turn_stun_is_request(f + poff);
}

void ipop_dp_exc_out(struct ipop_dp_ctx *c, const struct ipop_fp_table *t,
		     struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		if (t->turn_ip != 0 && turn_request(t, pkts[i]))
			ipop_dp_turn_copy_to_ctrl(c, pkts[i]);
		ipop_pktq_put(c->q_wan, pkts[i]);
	}
}

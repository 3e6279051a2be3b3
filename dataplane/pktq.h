/* pktq.h - an output queue of mbufs that the dataplane fills and the lcore layer
 * drains (DPDK's tx_buffer pattern, without knowing what a port is).
 *
 * Thread: fast path; each queue belongs to one lcore. The flush callback, set by
 * the lcore layer, is called when the queue is full and at the end of a burst; it
 * must take every mbuf (transmit it or free it and count the drop) and reset n.
 */
#ifndef IPOP_DATAPLANE_PKTQ_H
#define IPOP_DATAPLANE_PKTQ_H

#include <stdint.h>
#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

#define IPOP_PKTQ_CAP 64

struct ipop_pktq;
typedef void (*ipop_pktq_flush_fn)(struct ipop_pktq *q);

struct ipop_pktq {
	uint16_t n;
	ipop_pktq_flush_fn flush;
	void *arg;            /* for the flush callback */
	uint16_t port, queue; /* for the flush callback */
	struct rte_mbuf *pkts[IPOP_PKTQ_CAP];
};

static inline void ipop_pktq_put(struct ipop_pktq *q, struct rte_mbuf *m)
{
	if (unlikely(q->n == IPOP_PKTQ_CAP))
		q->flush(q);
	q->pkts[q->n++] = m;
}

static inline void ipop_pktq_flush(struct ipop_pktq *q)
{
	if (q->n)
		q->flush(q);
}

#endif

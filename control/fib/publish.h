/* publish.h - RCU publication of fast-path tables and deferred reclamation.
 *
 * Thread: control only. The control thread swaps the table pointer with a
 * release store; objects that readers may still hold (the old table, retired
 * keypairs) are queued with an rte_rcu_qsbr token and freed by
 * ipop_publish_reclaim once every worker has reported a quiescent state (or is
 * offline) since. Keypairs are wiped before they are freed.
 */
#ifndef IPOP_CONTROL_PUBLISH_H
#define IPOP_CONTROL_PUBLISH_H

#include <stdint.h>
#include <rte_rcu_qsbr.h>

struct ipop_fp_table;

typedef void (*ipop_free_fn)(void *obj);

struct ipop_limbo {
	void *obj;
	ipop_free_fn fn;
	uint64_t token;
	struct ipop_limbo *next;
};

struct ipop_publisher {
	struct rte_rcu_qsbr *qsbr;
	struct ipop_fp_table **slot;      /* the shared pointer the lcores read */
	struct ipop_limbo *head, *tail;   /* FIFO: tokens increase */
	uint64_t published, reclaimed, pending;
};

void ipop_publish_init(struct ipop_publisher *p, struct rte_rcu_qsbr *q, struct ipop_fp_table **slot);
/* Publish t; the previous table is freed after a grace period. */
int ipop_publish_table(struct ipop_publisher *p, struct ipop_fp_table *t);
/* Free obj with fn after a grace period. */
int ipop_publish_defer(struct ipop_publisher *p, void *obj, ipop_free_fn fn);
/* Free what is safe now. Non-blocking. */
void ipop_publish_reclaim(struct ipop_publisher *p);
/* Wait for all grace periods and free everything (shutdown, workers stopped). */
void ipop_publish_drain(struct ipop_publisher *p);

#endif

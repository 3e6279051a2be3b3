/* publish.c - see publish.h. Thread: control. */
#include "control/fib/publish.h"

#include <errno.h>
#include <stdlib.h>
#include <sodium.h>

#include "dataplane/tables.h"

static void free_table(void *t)
{
	struct ipop_fp_table *ft = t;

	/* The cookie secret of a table built under load (tables.h). */
	sodium_memzero(ft->cookie_secret, sizeof(ft->cookie_secret));
	free(t);
}

void ipop_publish_init(struct ipop_publisher *p, struct rte_rcu_qsbr *q, struct ipop_fp_table **slot)
{
	p->qsbr = q;
	p->slot = slot;
	p->head = p->tail = NULL;
	p->published = p->reclaimed = p->pending = 0;
}

int ipop_publish_defer(struct ipop_publisher *p, void *obj, ipop_free_fn fn)
{
	struct ipop_limbo *l;

	if (obj == NULL)
		return 0;
	l = malloc(sizeof(*l));
	if (l == NULL) {
		/* Cannot queue: wait for the grace period here instead. */
		rte_rcu_qsbr_synchronize(p->qsbr, RTE_QSBR_THRID_INVALID);
		fn(obj);
		return 0;
	}
	l->obj = obj;
	l->fn = fn;
	l->token = rte_rcu_qsbr_start(p->qsbr);
	l->next = NULL;
	if (p->tail)
		p->tail->next = l;
	else
		p->head = l;
	p->tail = l;
	p->pending++;
	return 0;
}

int ipop_publish_table(struct ipop_publisher *p, struct ipop_fp_table *t)
{
	struct ipop_fp_table *old = __atomic_exchange_n(p->slot, t, __ATOMIC_ACQ_REL);

	p->published++;
	return ipop_publish_defer(p, old, free_table);
}

void ipop_publish_reclaim(struct ipop_publisher *p)
{
	while (p->head && rte_rcu_qsbr_check(p->qsbr, p->head->token, false) == 1) {
		struct ipop_limbo *l = p->head;
		p->head = l->next;
		if (p->head == NULL)
			p->tail = NULL;
		l->fn(l->obj);
		free(l);
		p->pending--;
		p->reclaimed++;
	}
}

void ipop_publish_drain(struct ipop_publisher *p)
{
	while (p->head) {
		rte_rcu_qsbr_check(p->qsbr, p->head->token, true);
		ipop_publish_reclaim(p);
	}
}

/* test_publish.c - RCU publication (control/fib/publish.c): an object is reclaimed only
 * after every reader has passed a quiescent state since it was retired, readers
 * that are offline do not hold reclamation up, and drain frees everything. A real
 * reader thread holds each object it loads for a while and checks it was not
 * reclaimed meanwhile. */
#include "tests/unit/check.h"
#include "control/fib/publish.h"
#include "dataplane/tables.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

struct obj {
	int dead;
	int id;
};

static struct rte_rcu_qsbr *q;
static struct obj *volatile shared;
static volatile int stop, reader_ready;
static unsigned long reader_seen_dead, reader_loads;
static unsigned n_freed;

static void obj_free(void *p)
{
	struct obj *o = p;
	o->dead = 1;      /* poison instead of free(): a reader that still holds it sees it */
	n_freed++;
}

static void *reader(void *arg)
{
	rte_rcu_qsbr_thread_register(q, 0);
	rte_rcu_qsbr_thread_online(q, 0);
	reader_ready = 1;
	while (!stop) {
		struct obj *o = __atomic_load_n(&shared, __ATOMIC_ACQUIRE);
		uint64_t until = rte_get_timer_cycles() + rte_get_timer_hz() / 50000;  /* hold 20 us */
		while (rte_get_timer_cycles() < until) {
			if (o && __atomic_load_n(&o->dead, __ATOMIC_RELAXED))
				reader_seen_dead++;
		}
		reader_loads++;
		rte_rcu_qsbr_quiescent(q, 0);
		if (reader_loads % 64 == 0) {       /* go offline now and then, like idle back-off */
			rte_rcu_qsbr_thread_offline(q, 0);
			usleep(50);
			rte_rcu_qsbr_thread_online(q, 0);
		}
	}
	rte_rcu_qsbr_thread_offline(q, 0);
	rte_rcu_qsbr_thread_unregister(q, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-pci", "--no-huge", "--no-shconf", "-m", "64",
			"--no-telemetry", "-l", "0", "--log-level=*:error", NULL };
	struct ipop_publisher pub;
	struct ipop_fp_table *slot = NULL;
	static struct obj objs[2000];
	pthread_t th;

	(void)argc;
	if (rte_eal_init(10, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	q = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), 64);
	CHECK(q != NULL && rte_rcu_qsbr_init(q, 1) == 0);
	ipop_publish_init(&pub, q, &slot);

	/* No reader registered: a grace period is immediate. */
	struct obj solo = { 0, -1 };
	ipop_publish_defer(&pub, &solo, obj_free);
	ipop_publish_reclaim(&pub);
	CHECK(solo.dead == 1 && pub.pending == 0);

	pthread_create(&th, NULL, reader, NULL);
	while (!reader_ready)
		usleep(10);
	/* Publish 2000 objects: retire the previous one each time. */
	for (int i = 0; i < 2000; i++) {
		struct obj *old = shared;
		objs[i].id = i;
		__atomic_store_n(&shared, &objs[i], __ATOMIC_RELEASE);
		if (old)
			ipop_publish_defer(&pub, old, obj_free);
		ipop_publish_reclaim(&pub);
		rte_delay_us_block(5);
	}
	CHECK(pub.reclaimed > 0);               /* reclamation made progress meanwhile */
	CHECK(pub.pending < 2000);
	stop = 1;
	pthread_join(th, NULL);
	ipop_publish_drain(&pub);
	CHECK(pub.pending == 0);
	CHECK(n_freed == 1 + 1999);
	CHECK(reader_seen_dead == 0);           /* never reclaimed under a reader */
	CHECK(reader_loads > 100);
	CHECK(objs[1999].dead == 0);            /* the current one stays */
	/* The table slot: ipop_publish_table swaps and defers the old table.
	 * Whole tables: the deferred free wipes a table's cookie secret, so a
	 * short allocation here would be written past its end. */
	struct ipop_fp_table *t1 = calloc(1, sizeof(*t1)), *t2 = calloc(1, sizeof(*t2));
	CHECK(t1 != NULL && t2 != NULL);
	if (t1 == NULL || t2 == NULL)
		return 1;
	ipop_publish_table(&pub, t1);
	CHECK(slot == t1 && pub.pending == 0);  /* no previous table to retire */
	ipop_publish_table(&pub, t2);
	CHECK(slot == t2 && pub.pending == 1);
	ipop_publish_drain(&pub);
	CHECK(pub.pending == 0 && pub.published == 2);
	free(t2);
	printf("reader loads %lu, reclaimed %lu\n", reader_loads, (unsigned long)pub.reclaimed);
	rte_eal_cleanup();
	return check_report("publish");
}

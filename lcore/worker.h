/* worker.h - worker lcores: queue mapping, the poll loop, idle back-off (a wait
 * in epoll on the ports' fds, or nanosleep), and the RCU reader side of the
 * published tables.
 *
 * Thread: a worker runs ipop_worker_main on its own lcore. Ownership:
 *  - struct ipop_worker: written by control before launch; afterwards only its
 *    lcore writes it (stats, queues); control reads stats (see stats.h).
 *  - struct ipop_shared: 'table' is written by control (release store) and read
 *    by every worker once per iteration (acquire load); 'stop' is written by
 *    control; the rings are multi-producer (to control) / single-consumer (from
 *    control, drained by worker 0 only).
 */
#ifndef IPOP_LCORE_WORKER_H
#define IPOP_LCORE_WORKER_H

#include <sched.h>
#include <stdint.h>
#include <stdbool.h>
#include <rte_ring.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/datapath.h"
#include "dataplane/tables.h"
#include "dataplane/stats.h"
#include "drivers/vtap.h"

#define IPOP_MAX_WORKERS 16
#define IPOP_RX_BURST 32
#define IPOP_NO_PORT 0xFFFF

struct ipop_shared {
	struct ipop_fp_table *table;      /* RCU-published */
	struct rte_rcu_qsbr *qsbr;
	struct ipop_bridge bridge;
	struct ipop_routes routes;        /* transit routes: lcores learn, control flushes */
	struct rte_ring *to_ctrl;         /* handshakes, ARP copies: workers -> control */
	struct rte_ring *from_ctrl;       /* complete frames control sends on the WAN */
	volatile int stop;
	/* Control's quiet tick (control/daemon.c): while ctrl_waiting is 1, a
	 * worker that enqueued to to_ctrl writes ctrl_evfd (seq_cst fence pair,
	 * as for ipop_worker_notify). Written by control, read by workers. */
	int ctrl_waiting;
	int ctrl_evfd;
	unsigned idle_sleep_max_us;       /* sleep bound after a long quiet spell */
	unsigned idle_sleep_recent_us;    /* sleep bound within IPOP_IDLE_RECENT_MS of traffic */
	const char *aead_path;            /* IPsec-MB code path of every manager, NULL = auto */
	unsigned reasm_cap;               /* mbufs each worker's reassembly may hold (reasm.h) */
	/* The CPUs the process could use before the EAL pinned its lcores; with
	 * any_cpu, an idle-waiting worker moves its thread back onto all of them
	 * (docs/architecture.md "Idle back-off"). Written before the launch. */
	cpu_set_t start_cpus;
	bool any_cpu;
};

/* How long after its last packet a worker keeps its sleeps short. */
#define IPOP_IDLE_RECENT_MS 1000
/* Longest idle wait in epoll. Nothing needs the worker on a timer: this only
 * bounds what a lost wake-up could cost. */
#define IPOP_IDLE_WAIT_MS 1000

struct ipop_worker {
	unsigned idx;                     /* 0..n-1, also the RCU thread id */
	unsigned lcore_id;
	struct ipop_shared *sh;
	uint16_t lan_port, wan_port, exc_port, host_port;   /* IPOP_NO_PORT if absent */
	uint16_t rxq, txq;                /* this worker's queue on LAN/WAN; txq on all */
	bool poll_slow;                   /* worker 0: TAPs and the control ring */
	uint16_t tap_queues;              /* rx queues of each TAP (= workers) */
	/* The offload host TAP (host.offload), NULL with net_tap or no host:
	 * worker 0 reads it, every worker writes it (drivers/vtap.h). */
	struct ipop_vtap *vtap;
	struct ipop_dp_ctx dp;
	struct ipop_pktq q_wan, q_lan, q_host, q_exc, q_ctrl;
	struct ipop_lcore_stats stats;
	/* Idle wait (ipop_worker_wait_init): -1 when the worker uses nanosleep.
	 * 'waiting' is written by the worker around its epoll_wait and read by
	 * control in ipop_worker_notify. */
	int epfd, evfd;
	int waiting;
	unsigned n_wait_fds;
	int wait_fds[2 + 2 * IPOP_MAX_WORKERS];   /* the ports' fds in epfd */
};

/* Fill w's dataplane context and queues. Start-up, control thread. */
int ipop_worker_init(struct ipop_worker *w, struct ipop_shared *sh, unsigned idx,
		     struct rte_mempool *pool, struct rte_mempool *indirect_pool);
void ipop_worker_fini(struct ipop_worker *w);

/* Make w wait in epoll when idle instead of sleeping: on fds (its rx queues'
 * fds from ipop_port_rx_fd, each readable while its queue has frames) and on an
 * eventfd of its own that control writes. Control thread, after
 * ipop_worker_init and before launch; on failure w keeps the nanosleep back-off. */
int ipop_worker_wait_init(struct ipop_worker *w, const int *fds, unsigned n);

/* Wake w if it is waiting in epoll: control calls it after putting frames in
 * from_ctrl (for worker 0, its only consumer). Cheap when w is awake. */
void ipop_worker_notify(struct ipop_worker *w);

/* Wake w unconditionally (control, after setting stop). */
void ipop_worker_kick(struct ipop_worker *w);

/* lcore entry point (rte_eal_remote_launch); arg is a struct ipop_worker. */
int ipop_worker_main(void *arg);

#endif

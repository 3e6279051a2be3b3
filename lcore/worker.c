/* worker.c - the poll loop of a worker lcore. Thread: fast path.
 *
 * Each iteration: load the published table, take one burst from each of this
 * worker's rx queues, run the dataplane on it, flush every output queue, report a
 * quiescent state. An iteration that found nothing counts towards idle back-off:
 * after IDLE_SPINS empty iterations the worker goes RCU-offline and sleeps in
 * doubling steps up to idle_sleep_max_us, so dozens of idle gateways share two
 * cores; any packet resets the back-off, so a loaded worker never sleeps.
 * Within IPOP_IDLE_RECENT_MS of its last packet the bound is the much shorter
 * idle_sleep_recent_us: a conversation (a ping every second, a request and its
 * reply) then finds the worker awake within tens of microseconds, while a
 * gateway that stays quiet still wakes only every idle_sleep_max_us. The worker's
 * timer slack is set to 1 us: the kernel's default 50 us would stretch every
 * short sleep by that much.
 *
 * Idle wait (dpdk.idle_wait, when every rx queue the worker polls has an fd:
 * see ipop_port_rx_fd): instead of the sleeps, the worker blocks in epoll_wait
 * on those fds and on its eventfd, so an idle gateway costs nothing between
 * packets (keepalives included) and the first packet wakes it at once. The
 * from_ctrl ring has no fd: control writes the eventfd after enqueueing, but
 * only while the worker says it is waiting (a Dekker pair of seq_cst fences in
 * idle_wait and ipop_worker_notify makes sure one of the two sees the other).
 * The worker is RCU-offline while it waits, as while it sleeps. net_tap's rx
 * signal is directed at the worker that waits on the TAP (ipop_port_rx_fd_claim).
 */
#include "lcore/worker.h"
#include "dataplane/turn.h"
#include "drivers/port.h"
#include "dataplane/coalesce.h"
#include "dataplane/segment.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#define IDLE_SPINS 256
#define IDLE_SLEEP_MIN_US 8
/* Reads from the offload host TAP per poll: up to 8 x 64 KiB. */
#define VTAP_READS 8

static void flush_port(struct ipop_pktq *q)
{
	struct ipop_worker *w = q->arg;
	uint16_t sent = rte_eth_tx_burst(q->port, q->queue, q->pkts, q->n);

	if (unlikely(sent < q->n)) {
		/* One retry: a virtual port's ring may have drained meanwhile. */
		sent += rte_eth_tx_burst(q->port, q->queue, q->pkts + sent, q->n - sent);
		for (uint16_t i = sent; i < q->n; i++)
			rte_pktmbuf_free(q->pkts[i]);
		w->stats.drops[IPOP_DROP_TX_FULL] += q->n - sent;
	}
	if (q == &w->q_wan)
		w->stats.wan_tx += sent;
	else if (q == &w->q_lan)
		w->stats.lan_tx += sent;
	else if (q == &w->q_host)
		w->stats.host_tx += sent;
	q->n = 0;
}

/* The offload host TAP: runs of one TCP flow's in-order segments leave as
 * one coalesced segment (one write), everything else one frame per write. */
static void flush_vtap(struct ipop_pktq *q)
{
	struct ipop_worker *w = q->arg;
	struct iovec iov[IPOP_PKTQ_CAP];
	struct virtio_net_hdr vh;
	uint32_t hdrs;

	for (unsigned i = 0; i < q->n;) {
		unsigned k = ipop_coalesce_run(q->pkts + i, q->n - i, &vh, &hdrs);
		struct rte_mbuf *m = q->pkts[i];

		/* A chain is never merged (k = 1): it leaves as one buffer. */
		if (unlikely(m->nb_segs > 1) && rte_pktmbuf_linearize(m) != 0) {
			ipop_dp_drop(&w->dp, m, IPOP_DROP_MULTISEG);
			i++;
			continue;
		}
		iov[0].iov_base = rte_pktmbuf_mtod(m, void *);
		iov[0].iov_len = m->data_len;
		for (unsigned j = 1; j < k; j++) {
			struct rte_mbuf *x = q->pkts[i + j];
			iov[j].iov_base = rte_pktmbuf_mtod_offset(x, void *, hdrs);
			iov[j].iov_len = x->data_len - hdrs;
		}
		if (ipop_vtap_write(w->vtap, &vh, iov, k) == 0) {
			w->stats.host_writes++;
			w->stats.host_tx += k;
			if (k > 1) {
				w->stats.host_gro_segments++;
				w->stats.host_gro_merged += k;
			}
		} else {
			w->stats.drops[IPOP_DROP_HOST_WRITE] += k;
		}
		for (unsigned j = 0; j < k; j++)
			rte_pktmbuf_free(q->pkts[i + j]);
		i += k;
	}
	q->n = 0;
}

static void flush_ctrl(struct ipop_pktq *q)
{
	struct ipop_worker *w = q->arg;
	unsigned done = rte_ring_enqueue_burst(w->sh->to_ctrl, (void **)q->pkts, q->n, NULL);

	for (unsigned i = done; i < q->n; i++)
		rte_pktmbuf_free(q->pkts[i]);
	w->stats.drops[IPOP_DROP_CTRL_RING_FULL] += q->n - done;
	q->n = 0;
	if (done == 0)
		return;
	/* Orders the enqueue before the load: either control sees the frames
	 * before it slows its tick, or this sees it waiting and wakes it. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&w->sh->ctrl_waiting, __ATOMIC_RELAXED)) {
		uint64_t one = 1;

		if (write(w->sh->ctrl_evfd, &one, sizeof(one)) < 0)
			return;   /* EAGAIN: the counter is full, control wakes anyway */
	}
}

static void q_init(struct ipop_worker *w, struct ipop_pktq *q, uint16_t port, uint16_t queue)
{
	q->n = 0;
	q->arg = w;
	q->port = port;
	q->queue = queue;
	q->flush = flush_port;
}

int ipop_worker_init(struct ipop_worker *w, struct ipop_shared *sh, unsigned idx,
		     struct rte_mempool *pool, struct rte_mempool *indirect_pool)
{
	struct ipop_dp_ctx *c = &w->dp;
	int r;

	w->sh = sh;
	w->idx = idx;
	w->epfd = -1;
	w->evfd = -1;
	w->waiting = 0;
	w->rxq = (uint16_t)idx;
	w->txq = (uint16_t)idx;
	w->poll_slow = idx == 0;
	q_init(w, &w->q_wan, w->wan_port, w->txq);
	q_init(w, &w->q_lan, w->lan_port, w->txq);
	q_init(w, &w->q_host, w->host_port, w->txq);
	if (w->vtap != NULL)
		w->q_host.flush = flush_vtap;
	q_init(w, &w->q_exc, w->exc_port, w->txq);
	q_init(w, &w->q_ctrl, IPOP_NO_PORT, 0);
	w->q_ctrl.flush = flush_ctrl;

	memset(c, 0, sizeof(*c));
	r = ipop_aead_mgr_create_arch(&c->aead, sh->aead_path);   /* control's path: its keys */
	if (r != 0)
		return r;
	c->bridge = &sh->bridge;
	c->routes = &sh->routes;
	c->st = &w->stats;
	c->pool = pool;
	c->indirect_pool = indirect_pool;
	c->ip_id = (uint16_t)(idx << 12);
	r = ipop_reasm_init(&c->reasm, sh->reasm_cap, rte_get_tsc_hz(), (int)rte_socket_id());
	if (r != 0)
		return r;
	c->q_wan = &w->q_wan;
	c->q_lan = w->lan_port != IPOP_NO_PORT ? &w->q_lan : NULL;
	c->q_host = w->host_port != IPOP_NO_PORT || w->vtap != NULL ? &w->q_host : NULL;
	c->q_exc = &w->q_exc;
	c->q_ctrl = &w->q_ctrl;
	return 0;
}

void ipop_worker_fini(struct ipop_worker *w)
{
	ipop_reasm_fini(&w->dp.reasm);
	ipop_aead_mgr_free(w->dp.aead);
	w->dp.aead = NULL;
	/* The ports' fds in the set belong to the drivers: only ours are closed. */
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->evfd >= 0)
		close(w->evfd);
	w->epfd = w->evfd = -1;
}

int ipop_worker_wait_init(struct ipop_worker *w, const int *fds, unsigned n)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r = 0;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->evfd < 0) {
		r = -errno;
		goto fail;
	}
	ev.data.fd = w->evfd;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev) != 0) {
		r = -errno;
		goto fail;
	}
	if (n > RTE_DIM(w->wait_fds)) {
		r = -E2BIG;
		goto fail;
	}
	w->n_wait_fds = n;
	for (unsigned i = 0; i < n; i++) {
		w->wait_fds[i] = fds[i];
		ev.data.fd = fds[i];
		/* Level-triggered: readable while the queue holds frames, so a frame
		 * that came between the last poll and the wait cannot be missed. */
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fds[i], &ev) != 0 && errno != EEXIST) {
			r = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->evfd >= 0)
		close(w->evfd);
	w->epfd = w->evfd = -1;
	return r;
}

void ipop_worker_kick(struct ipop_worker *w)
{
	uint64_t one = 1;

	/* EAGAIN only when the counter is saturated: the worker is woken anyway. */
	if (w->evfd >= 0 && write(w->evfd, &one, sizeof(one)) < 0)
		return;
}

void ipop_worker_notify(struct ipop_worker *w)
{
	if (w->evfd < 0)
		return;
	/* Orders the caller's enqueue before the load of 'waiting' (see idle_wait). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&w->waiting, __ATOMIC_RELAXED))
		ipop_worker_kick(w);
}

static void flush_all(struct ipop_worker *w)
{
	ipop_pktq_flush(&w->q_wan);
	if (w->dp.q_lan)
		ipop_pktq_flush(&w->q_lan);
	if (w->dp.q_host)
		ipop_pktq_flush(&w->q_host);
	ipop_pktq_flush(&w->q_exc);
	ipop_pktq_flush(&w->q_ctrl);
}

/* One frame or large segment read from the offload host TAP, cut to fit the
 * tunnel, into pkts[*n..]: pkts go to the dataplane whenever they fill. */
static void vtap_frame(struct ipop_worker *w, const struct ipop_fp_table *t,
		       const struct virtio_net_hdr *vh, uint32_t len, struct rte_mbuf **pkts,
		       unsigned *n)
{
	struct rte_mempool *pool = w->dp.pool;
	uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
	struct ipop_seg s;
	int r = ipop_seg_begin(&s, vh, w->vtap->rxbuf, len,
			       (uint32_t)t->wan_mtu - IPOP_IP_OVERHEAD, room);

	if (r != 0) {
		w->stats.drops[r == -EMSGSIZE ? IPOP_DROP_TOO_BIG : IPOP_DROP_VNET_HDR]++;
		return;
	}
	if (s.gso)
		w->stats.host_gso_in++;
	else if (s.needs_csum)
		w->stats.host_csum_done++;
	for (;;) {
		r = ipop_seg_next(&s, pool, pkts + *n, IPOP_DP_BATCH - *n);
		if (r <= 0)
			break;
		*n += (unsigned)r;
		if (s.gso)
			w->stats.host_gso_frames += (unsigned)r;
		if (*n == IPOP_DP_BATCH) {
			w->stats.host_rx += *n;
			ipop_dp_local_rx(&w->dp, t, pkts, (uint16_t)*n, IPOP_LOC_HOST);
			*n = 0;
		}
	}
	if (r < 0)   /* the pool ran dry: the frames not made are lost */
		w->stats.drops[IPOP_DROP_NOMEM] += ipop_seg_count(&s) - s.index;
}

static unsigned poll_vtap(struct ipop_worker *w, const struct ipop_fp_table *t)
{
	struct rte_mbuf *pkts[IPOP_DP_BATCH];
	struct virtio_net_hdr vh;
	unsigned n = 0, reads = 0;

	for (; reads < VTAP_READS; reads++) {
		int len = ipop_vtap_read(w->vtap, &vh);
		if (len == -EINVAL) {   /* shorter than its header */
			w->stats.drops[IPOP_DROP_VNET_HDR]++;
			continue;
		}
		if (len < 0)
			break;   /* -EAGAIN: empty */
		w->stats.host_reads++;
		vtap_frame(w, t, &vh, (uint32_t)len, pkts, &n);
	}
	if (n > 0) {
		w->stats.host_rx += n;
		ipop_dp_local_rx(&w->dp, t, pkts, (uint16_t)n, IPOP_LOC_HOST);
	}
	return reads;
}

/* The TAPs and the control ring: low-rate sources polled by worker 0 only. */
static unsigned poll_slow(struct ipop_worker *w, const struct ipop_fp_table *t)
{
	struct rte_mbuf *pkts[IPOP_RX_BURST];
	unsigned total = 0;
	uint16_t n;

	if (w->vtap != NULL)
		total += poll_vtap(w, t);
	/* net_tap needs as many rx as tx queues and the kernel spreads its
	 * packets over all of them: worker 0 drains every one. */
	for (uint16_t q = 0; q < w->tap_queues; q++) {
		if (w->host_port != IPOP_NO_PORT) {
			n = rte_eth_rx_burst(w->host_port, q, pkts, IPOP_RX_BURST);
			w->stats.host_rx += n;
			total += n;
			if (n)
				ipop_dp_local_rx(&w->dp, t, pkts, n, IPOP_LOC_HOST);
		}
		n = rte_eth_rx_burst(w->exc_port, q, pkts, IPOP_RX_BURST);
		w->stats.exc_rx += n;
		total += n;
		if (n)
			ipop_dp_exc_out(&w->dp, t, pkts, n);
	}
	n = (uint16_t)rte_ring_dequeue_burst(w->sh->from_ctrl, (void **)pkts, IPOP_RX_BURST, NULL);
	w->stats.ctrl_rx += n;
	total += n;
	for (uint16_t i = 0; i < n; i++)
		ipop_pktq_put(&w->q_wan, pkts[i]);
	return total;
}

static unsigned poll_once(struct ipop_worker *w, const struct ipop_fp_table *t)
{
	struct rte_mbuf *pkts[IPOP_RX_BURST];
	unsigned total = 0;
	uint16_t n;

	if (w->lan_port != IPOP_NO_PORT) {
		n = rte_eth_rx_burst(w->lan_port, w->rxq, pkts, IPOP_RX_BURST);
		w->stats.lan_rx += n;
		total += n;
		if (n)
			ipop_dp_local_rx(&w->dp, t, pkts, n, IPOP_LOC_LAN);
	}
	n = rte_eth_rx_burst(w->wan_port, w->rxq, pkts, IPOP_RX_BURST);
	w->stats.wan_rx += n;
	total += n;
	if (n)
		ipop_dp_wan_rx(&w->dp, t, pkts, n);
	if (w->poll_slow)
		total += poll_slow(w, t);
	return total;
}

static void idle_sleep(struct ipop_worker *w, unsigned us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000 };

	rte_rcu_qsbr_thread_offline(w->sh->qsbr, w->idx);
	nanosleep(&ts, NULL);
	rte_rcu_qsbr_thread_online(w->sh->qsbr, w->idx);
	w->stats.sleeps++;
}

static void idle_wait(struct ipop_worker *w)
{
	struct epoll_event ev[8];
	int n = 0;

	rte_rcu_qsbr_thread_offline(w->sh->qsbr, w->idx);
	__atomic_store_n(&w->waiting, 1, __ATOMIC_RELAXED);
	/* Orders the store of 'waiting' before the ring check: either control's
	 * ipop_worker_notify sees waiting = 1 and writes the eventfd, or this
	 * check sees the frame it enqueued. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&w->sh->stop, __ATOMIC_RELAXED) &&
	    !(w->poll_slow && !rte_ring_empty(w->sh->from_ctrl)))
		n = epoll_wait(w->epfd, ev, RTE_DIM(ev), IPOP_IDLE_WAIT_MS);
	__atomic_store_n(&w->waiting, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < n; i++) {
		uint64_t v;

		if (ev[i].data.fd == w->evfd && read(w->evfd, &v, sizeof(v)) < 0)
			break;   /* EAGAIN: already drained */
	}
	rte_rcu_qsbr_thread_online(w->sh->qsbr, w->idx);
	w->stats.waits++;
}

int ipop_worker_main(void *arg)
{
	struct ipop_worker *w = arg;
	struct ipop_shared *sh = w->sh;
	uint64_t hz = rte_get_tsc_hz();
	uint64_t recent_tsc = hz / 1000 * IPOP_IDLE_RECENT_MS, last_pkt_tsc = 0;
	unsigned empty = 0, sleep_us = IDLE_SLEEP_MIN_US;

	/* Best effort: without it sleeps are only longer. */
	(void)prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	/* An idle-waiting worker shares the CPUs with the host's applications:
	 * not pinned, the kernel wakes it where the frame's sender runs (often
	 * the CPU of the thread that wrote it) instead of on one CPU that may
	 * be asleep or busy. Best effort: pinned, it only wakes slower. */
	if (sh->any_cpu && w->epfd >= 0)
		(void)pthread_setaffinity_np(pthread_self(), sizeof(sh->start_cpus), &sh->start_cpus);
	/* Best effort: without it a TAP frame costs spurious wake-ups (port.c). */
	for (unsigned i = 0; w->epfd >= 0 && i < w->n_wait_fds; i++)
		(void)ipop_port_rx_fd_claim(w->wait_fds[i]);
	rte_rcu_qsbr_thread_register(sh->qsbr, w->idx);
	rte_rcu_qsbr_thread_online(sh->qsbr, w->idx);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		uint64_t t0 = rte_rdtsc();
		const struct ipop_fp_table *t = __atomic_load_n(&sh->table, __ATOMIC_ACQUIRE);
		w->dp.now_tsc = t0;
		w->dp.now_s = (uint32_t)(t0 / hz);
		unsigned n = poll_once(w, t);
		/* On time, not only when the next fragment comes. */
		ipop_reasm_expire(&w->dp.reasm, t0, &w->stats);
		flush_all(w);
		rte_rcu_qsbr_quiescent(sh->qsbr, w->idx);
		uint64_t t1 = rte_rdtsc();
		w->stats.polls++;
		w->stats.total_tsc += t1 - t0;
		if (n) {
			w->stats.busy_tsc += t1 - t0;
			empty = 0;
			sleep_us = IDLE_SLEEP_MIN_US;
			last_pkt_tsc = t1;
			continue;
		}
		w->stats.idle_polls++;
		if (++empty < IDLE_SPINS) {
			/* An idle-waiting worker shares its CPU: while it spins for
			 * the next frame, a thread the last frame woke (the ping or
			 * the application a reply went to, a kernel thread) runs at
			 * once instead of waiting out our time slice. */
			if (w->epfd >= 0) {
				sched_yield();
				w->stats.spin_yields++;
			}
			continue;
		}
		if (w->epfd >= 0) {
			/* 'empty' stays: a wake-up without a packet waits again at once. */
			idle_wait(w);
			continue;
		}
		if (sh->idle_sleep_max_us == 0)
			continue;
		unsigned cap = t1 - last_pkt_tsc < recent_tsc ?
			RTE_MIN(sh->idle_sleep_recent_us, sh->idle_sleep_max_us) : sh->idle_sleep_max_us;
		if (cap == 0)
			continue;   /* idle_sleep_recent_us = 0: poll while traffic is recent */
		idle_sleep(w, RTE_MIN(sleep_us, cap));
		if (sleep_us < sh->idle_sleep_max_us)
			sleep_us = RTE_MIN(sleep_us * 2, sh->idle_sleep_max_us);
	}
	rte_rcu_qsbr_thread_offline(sh->qsbr, w->idx);
	rte_rcu_qsbr_thread_unregister(sh->qsbr, w->idx);
	return 0;
}

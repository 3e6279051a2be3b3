/* node.c - see node.h: the node's start-up and orderly shutdown. Thread: the
 * main lcore (the control thread to be), before and after the event loop.
 */
#include "control/node.h"
#include "dataplane/reasm.h"
#include "control/fib/table.h"
#include "control/netif.h"
#include "control/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sodium.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>

#define RING_SIZE 1024
#define EXC_TAP_DEV IPOP_CFG_WAN_TAP_VDEV
#define HOST_TAP_DEV IPOP_CFG_HOST_TAP_VDEV

uint64_t ipop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Descriptors of a LAN or WAN queue; of a TAP queue. net_tap holds one mbuf per
 * rx descriptor for a scattered read, but reads each frame into the first
 * unless rx scatter is on (ipopd never asks for it): 1024 of them per TAP held
 * a quarter of a light node's pool doing nothing (docs/benchmarks.md §14). */
#define PORT_DESC 1024
#define TAP_DESC 64

static int start_port(struct ipop_node *n, struct ipop_port *p, const char *spec,
		      uint16_t nrx, uint16_t ntx, uint16_t desc, char *err, size_t errlen)
{
	int r = ipop_port_lookup(spec, p);

	if (r != 0) {
		snprintf(err, errlen, "device '%s' not found (is it in dpdk.eal or a valid vdev?)", spec);
		return r;
	}
	return ipop_port_start(p, nrx, ntx, n->pool, desc, err, errlen);
}

static int setup_ports(struct ipop_node *n, char *err, size_t errlen)
{
	const struct ipop_cfg *c = n->cfg;
	uint16_t w = (uint16_t)n->n_workers;
	int r;

	if (c->lan_enabled) {
		r = start_port(n, &n->lan, c->lan.device, w, w, PORT_DESC, err, errlen);
		if (r != 0)
			return r;
		n->have_lan = true;
	}
	r = start_port(n, &n->wan, c->wan.device, w, w, PORT_DESC, err, errlen);
	if (r == 0)
		r = start_port(n, &n->exc, EXC_TAP_DEV, w, w, TAP_DESC, err, errlen);
	if (r != 0)
		return r;
	/* The kernel answers ARP for the WAN address: it must use the WAN's MAC. */
	r = ipop_port_set_mac(&n->exc, &n->wan.mac);
	if (r != 0) {
		snprintf(err, errlen, "%s: cannot set MAC: %s", c->wan_tap, strerror(-r));
		return r;
	}
	if (c->host_enabled && c->host_offload) {
		r = ipop_vtap_open(&n->vtap, c->host_tap, err, errlen);
		if (r != 0)
			return r;
		n->have_host = true;
	} else if (c->host_enabled) {
		r = start_port(n, &n->host, HOST_TAP_DEV, w, w, TAP_DESC, err, errlen);
		if (r != 0)
			return r;
		n->have_host = true;
	}
	return 0;
}

static int setup_kernel(struct ipop_node *n, char *err, size_t errlen)
{
	const struct ipop_cfg *c = n->cfg;
	int r = ipop_netif_up(c->wan_tap, c->wan_mtu, err, errlen);

	if (r == 0)
		r = ipop_netif_set_addr(c->wan_tap, c->wan_addr, c->wan_prefix, err, errlen);
	if (r == 0 && c->wan_gateway.s_addr)
		r = ipop_netif_default_route(c->wan_tap, c->wan_gateway, err, errlen);
	if (r != 0 || !c->host_enabled)
		return r;
	r = ipop_netif_up(c->host_tap, 1500, err, errlen);
	if (r == 0 && c->host_addr.s_addr)
		r = ipop_netif_set_addr(c->host_tap, c->host_addr, c->host_prefix, err, errlen);
	return r;
}

static int setup_shared(struct ipop_node *n, char *err, size_t errlen)
{
	size_t sz = rte_rcu_qsbr_get_memsize(n->n_workers);
	int sock = (int)rte_socket_id();
	int r;

	n->sh.qsbr = rte_zmalloc("ipop_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (n->sh.qsbr == NULL || rte_rcu_qsbr_init(n->sh.qsbr, n->n_workers) != 0) {
		snprintf(err, errlen, "RCU init failed");
		return -ENOMEM;
	}
	/* Every worker enqueues to control: relaxed tail sync, so a worker
	 * preempted inside its enqueue does not make the others spin (as the
	 * light-mode pools, pool_ops). */
	n->sh.to_ctrl = rte_ring_create("ipop_to_ctrl", RING_SIZE, sock,
					RING_F_MP_RTS_ENQ | RING_F_SC_DEQ);
	n->sh.from_ctrl = rte_ring_create("ipop_from_ctrl", RING_SIZE, sock,
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (n->sh.to_ctrl == NULL || n->sh.from_ctrl == NULL) {
		snprintf(err, errlen, "ring create failed: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	r = ipop_bridge_init(&n->sh.bridge, 65536, 300);
	if (r != 0) {
		snprintf(err, errlen, "bridge table: %s", strerror(-r));
		return r;
	}
	ipop_routes_init(&n->sh.routes, n->sh.bridge.age_s);   /* a route lives as long as a MAC */
	n->sh.ctrl_waiting = 0;
	n->sh.ctrl_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (n->sh.ctrl_evfd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	n->sh.idle_sleep_max_us = n->cfg->idle_sleep_max_us;
	n->sh.idle_sleep_recent_us = n->cfg->idle_sleep_recent_us;
	n->sh.reasm_cap = ipop_reasm_cap(n->pool->size, n->n_workers);
	ipop_publish_init(&n->pub, n->sh.qsbr, &n->sh.table);
	return 0;
}

/* Appends the fd of each of port's queues [q0, q0 + nq) to fds; on a queue
 * without one, names the port in why and returns its error. */
static int add_rx_fds(const struct ipop_port *p, uint16_t q0, uint16_t nq, int *fds,
		      unsigned *n, const char **why)
{
	for (uint16_t q = q0; q < q0 + nq; q++) {
		int fd = ipop_port_rx_fd(p, q);

		if (fd < 0) {
			*why = p->name;
			return fd;
		}
		fds[(*n)++] = fd;
	}
	return 0;
}

/* dpdk.idle_wait: each worker waits in epoll on the fds of every rx queue it
 * polls; a worker with a queue that has none keeps the nanosleep back-off. */
static void setup_idle_wait(struct ipop_node *n, struct ipop_worker *w)
{
	int fds[2 + 2 * IPOP_MAX_WORKERS];
	const char *why = NULL;
	unsigned nfd = 0;
	int r = 0;

	if (n->have_lan)
		r = add_rx_fds(&n->lan, w->rxq, 1, fds, &nfd, &why);
	if (r == 0)
		r = add_rx_fds(&n->wan, w->rxq, 1, fds, &nfd, &why);
	if (r == 0 && w->poll_slow)
		r = add_rx_fds(&n->exc, 0, w->tap_queues, fds, &nfd, &why);
	if (r == 0 && w->poll_slow && n->vtap.fd >= 0)
		fds[nfd++] = n->vtap.fd;
	else if (r == 0 && w->poll_slow && n->have_host)
		r = add_rx_fds(&n->host, 0, w->tap_queues, fds, &nfd, &why);
	if (r != 0) {
		LOG_INFO("worker %u: idle back-off by nanosleep: %s has no rx fd to wait on "
			 "(idle_wait works with net_af_packet and net_tap)", w->idx, why);
		return;
	}
	r = ipop_worker_wait_init(w, fds, nfd);
	if (r != 0)
		LOG_WARN("worker %u: idle back-off by nanosleep: epoll: %s", w->idx, strerror(-r));
	else
		LOG_DEBUG("worker %u: idle wait on %u rx fds", w->idx, nfd);
}

static int setup_workers(struct ipop_node *n, char *err, size_t errlen)
{
	unsigned i = 0, lcore;
	int r;

	n->workers = rte_zmalloc("ipop_workers", sizeof(*n->workers) * n->n_workers, RTE_CACHE_LINE_SIZE);
	if (n->workers == NULL)
		return -ENOMEM;
	/* Stop and fini may see workers that never reached ipop_worker_init. */
	for (i = 0; i < n->n_workers; i++)
		n->workers[i].epfd = n->workers[i].evfd = -1;
	for (i = 0; i < n->n_workers; i++) {
		struct ipop_worker *w = &n->workers[i];
		w->lan_port = n->have_lan ? n->lan.id : IPOP_NO_PORT;
		w->wan_port = n->wan.id;
		w->exc_port = n->exc.id;
		w->host_port = n->have_host && n->vtap.fd < 0 ? n->host.id : IPOP_NO_PORT;
		w->vtap = n->vtap.fd >= 0 ? &n->vtap : NULL;
		w->tap_queues = (uint16_t)n->n_workers;
		r = ipop_worker_init(w, &n->sh, i, n->pool, n->indirect_pool);
		if (r != 0) {
			snprintf(err, errlen, "worker %u init: %s", i, strerror(-r));
			return r;
		}
		if (ipop_cfg_idle_wait(n->cfg))
			setup_idle_wait(n, w);
	}
	i = 0;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (i == n->n_workers)
			break;
		n->workers[i].lcore_id = lcore;
		r = rte_eal_remote_launch(ipop_worker_main, &n->workers[i], lcore);
		if (r != 0) {
			snprintf(err, errlen, "launch on lcore %u: %s", lcore, strerror(-r));
			return r;
		}
		i++;
	}
	return 0;
}

void ipop_node_ports_poll(struct ipop_node *n)
{
	ipop_port_sock_stats_poll(&n->lan);
	ipop_port_sock_stats_poll(&n->wan);
	ipop_port_sock_stats_poll(&n->exc);
	ipop_port_sock_stats_poll(&n->host);
	n->port_stats_ms = ipop_now_ms();
}

void ipop_node_stop(struct ipop_node *n)
{
	__atomic_store_n(&n->sh.stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; n->workers && i < n->n_workers; i++)
		ipop_worker_kick(&n->workers[i]);   /* out of a wait in epoll */
	rte_eal_mp_wait_lcore();
	for (uint16_t i = 0; i < n->n_peers; i++) {
		if (n->peers[i] == NULL)
			continue;
		ipop_peer_reset(n, n->peers[i], "shutdown");
		sodium_memzero(n->peers[i], sizeof(*n->peers[i]));
		free(n->peers[i]);
		n->peers[i] = NULL;
	}
	n->n_pending_resp = 0;
	n->hs_load_until_ms = 0;   /* the last table carries no cookie secret */
	ipop_table_publish(n);   /* hands the retired keypairs to the limbo */
	ipop_publish_drain(&n->pub);
	for (unsigned i = 0; n->workers && i < n->n_workers; i++)
		ipop_worker_fini(&n->workers[i]);
	if (n->sh.ctrl_evfd > 0)
		close(n->sh.ctrl_evfd);
	n->sh.ctrl_evfd = -1;
	ipop_port_stop(&n->host);
	ipop_vtap_close(&n->vtap);
	ipop_port_stop(&n->exc);
	ipop_port_stop(&n->wan);
	ipop_port_stop(&n->lan);
	sodium_memzero(&n->id, sizeof(n->id));
	ipop_cookie_checker_wipe(&n->cookie);
	ipop_aead_mgr_free(n->aead);
}

/* Without hugepages an mbuf pool whose objects must not cross a page boundary
 * (DPDK's rule while objects must be IOVA-contiguous) puts one 2368-byte mbuf
 * in each 4 KiB page: 42 % of a light node's pool was padding. Packed pools are
 * fine for every device that copies (af_packet, TAP, memif, ring, null); not for
 * af_xdp, whose zero-copy UMEM is the pool itself and whose frames must not
 * cross non-contiguous pages. */
static bool pool_packed(const struct ipop_cfg *c)
{
	if (rte_eal_has_hugepages())
		return false;
	if (strncmp(c->wan.device, "net_af_xdp", 10) == 0)
		return false;
	return !c->lan_enabled || strncmp(c->lan.device, "net_af_xdp", 10) != 0;
}

/* The ring under a pool. Without per-lcore caches (light mode) every get and
 * put of the workers and of control is an operation on the pool's ring. In the
 * default mode (ring_mp_mc) a thread that is preempted between reserving its
 * slots and publishing them makes every other producer or consumer spin until
 * it runs again: on a host where the gateway's threads share CPUs with other
 * work, control spent 62 % of its CPU there during a handshake flood and left
 * `ipopctl ping` unanswered for 5 s (docs/benchmarks.md §18). Relaxed tail
 * sync (ring_mt_rts, DPDK's mode for overcommitted hosts) lets the others
 * finish without waiting for it. With caches, the default. */
static const char *pool_ops(unsigned cache)
{
	return cache == 0 ? "ring_mt_rts" : rte_mbuf_best_mempool_ops();
}

/* rte_pktmbuf_pool_create, with RTE_MEMPOOL_F_NO_IOVA_CONTIG when packed, on
 * the ring of pool_ops. */
static struct rte_mempool *mbuf_pool(const char *name, unsigned n, unsigned cache,
				     uint16_t data_room, int sock, bool packed)
{
	struct rte_pktmbuf_pool_private priv = { .mbuf_data_room_size = data_room };
	struct rte_mempool *mp;

	if (!packed)
		return rte_pktmbuf_pool_create_by_ops(name, n, cache, 0, data_room, sock,
						      pool_ops(cache));
	mp = rte_mempool_create_empty(name, n, sizeof(struct rte_mbuf) + data_room, cache,
				      sizeof(priv), sock, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (mp == NULL)
		return NULL;
	if (rte_mempool_set_ops_byname(mp, pool_ops(cache), NULL) != 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &priv);
	if (rte_mempool_populate_default(mp) < 0)
		goto fail;
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
fail:
	rte_mempool_free(mp);
	return NULL;
}

static int setup_pools(struct ipop_node *n, char *err, size_t errlen)
{
	const struct ipop_cfg *c = n->cfg;
	bool packed = pool_packed(c), light = !rte_eal_has_hugepages();
	int sock = (int)rte_socket_id();

	/* Light mode: no per-lcore caches. A pool with caches has a header of one
	 * cache per possible lcore (RTE_MAX_LCORE 128), 1 MiB resident each; without,
	 * a get or put is an atomic on the pool's ring, a few ns at light mode's
	 * rates. Indirect mbufs only carry fragments' payload references: half as
	 * many as mbufs, at most 2047. */
	n->pool = mbuf_pool("ipop_pool", c->mbufs, light ? 0 : 256, RTE_MBUF_DEFAULT_BUF_SIZE,
			    sock, packed);
	n->indirect_pool = mbuf_pool("ipop_indirect", RTE_MIN(2047u, c->mbufs / 2), light ? 0 : 64,
				     0, sock, packed);
	if (n->pool == NULL || n->indirect_pool == NULL) {
		snprintf(err, errlen, "%s pool of %u: %s", n->pool ? "indirect mbuf" : "mbuf",
			 n->pool ? RTE_MIN(2047u, c->mbufs / 2) : c->mbufs, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

int ipop_node_start(struct ipop_node *n, char *err, size_t errlen)
{
	const struct ipop_cfg *c = n->cfg;
	int r;

	n->tsc_hz = rte_get_tsc_hz();
	n->start_ms = ipop_now_ms();
	n->vtap.fd = -1;   /* before anything can fail: stop closes it */
	if (rte_lcore_count() < n->n_workers + 1) {
		snprintf(err, errlen, "dpdk.workers = %u needs %u lcores, the EAL arguments give %u "
			 "(add e.g. \"-l\", \"0-%u\")", n->n_workers, n->n_workers + 1,
			 rte_lcore_count(), n->n_workers);
		return -EINVAL;
	}
	if ((r = setup_pools(n, err, errlen)) != 0)
		return r;
	/* One code path for every manager: control expands the keys the workers use. */
	if ((r = ipop_aead_path_resolve(c->aead_code_path, &n->sh.aead_path)) != 0) {
		snprintf(err, errlen, "dpdk.aead_code_path = \"%s\": %s", c->aead_code_path,
			 r == -ENOTSUP ? "this CPU cannot run that IPsec-MB code path" :
					 strerror(-r));
		return r;
	}
	if ((r = ipop_aead_mgr_create_arch(&n->aead, n->sh.aead_path)) != 0) {
		snprintf(err, errlen, "IPsec-MB manager (code path %s): %s",
			 n->sh.aead_path ? n->sh.aead_path : "auto", strerror(-r));
		return r;
	}
	if ((r = setup_shared(n, err, errlen)) != 0 || (r = setup_ports(n, err, errlen)) != 0 ||
	    (r = setup_kernel(n, err, errlen)) != 0)
		return r;
	for (unsigned i = 0; i < c->n_peers; i++) {
		r = ipop_peer_add(n, &c->peers[i]);
		if (r != 0) {
			snprintf(err, errlen, "peers[%u]: %s", i,
				 r == -EEXIST ? "duplicate or our own key" : strerror(-r));
			return r;
		}
	}
	if ((r = ipop_table_publish(n)) != 0) {
		snprintf(err, errlen, "publish: %s", strerror(-r));
		return r;
	}
	return setup_workers(n, err, errlen);
}


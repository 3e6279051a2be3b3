/* daemon.c - ipopd's life cycle: configuration, EAL, ports, workers, the control
 * event loop, and an orderly shutdown. Thread: the main lcore, which becomes the
 * control thread once the workers are launched.
 *
 * The control loop is a GLib main loop (libnice needs one, and libstrophe's
 * sockets can be watched from it): a 10 ms tick drains the ring from the
 * workers (handshakes, ARP), runs the session and next-hop timers, republishes
 * the fast-path table when something changed and reclaims what RCU allows; the
 * management socket and SIGTERM/SIGINT are event sources of the same loop.
 */
#include "control/daemon.h"
#include "control/api.h"
#include "control/framework.h"
#include "control/linkmgr.h"
#include "control/signalling.h"
#include "control/topomod.h"
#include "control/identity.h"
#include "control/log.h"
#include "control/netif.h"
#include "control/node.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>
#include <sodium.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane/wire.h"

#define TICK_MS 10
#define RING_SIZE 1024
#define EXC_TAP_DEV IPOP_CFG_WAN_TAP_VDEV
#define HOST_TAP_DEV IPOP_CFG_HOST_TAP_VDEV

static int build_eal_args(const struct ipop_cfg *cfg, unsigned queues, char **argv, int max)
{
	static char vdevs[4][IPOP_CFG_DEV_LEN + 64];
	int argc = 0, nv = 0;

	for (int i = 0; i < cfg->eal_argc && argc < max; i++)
		argv[argc++] = cfg->eal_argv[i];
	if (cfg->lan_enabled && ipop_port_is_vdev(cfg->lan.device) &&
	    ipop_port_vdev_arg(cfg->lan.device, queues, vdevs[nv], sizeof(vdevs[nv])) == 0)
		argv[argc++] = vdevs[nv++];
	if (ipop_port_is_vdev(cfg->wan.device) &&
	    ipop_port_vdev_arg(cfg->wan.device, queues, vdevs[nv], sizeof(vdevs[nv])) == 0)
		argv[argc++] = vdevs[nv++];
	snprintf(vdevs[nv], sizeof(vdevs[nv]), "--vdev=%s,iface=%s", EXC_TAP_DEV, cfg->wan_tap);
	argv[argc++] = vdevs[nv++];
	if (cfg->host_enabled) {
		snprintf(vdevs[nv], sizeof(vdevs[nv]), "--vdev=%s,iface=%s", HOST_TAP_DEV, cfg->host_tap);
		argv[argc++] = vdevs[nv++];
	}
	argv[argc] = NULL;
	return argc;
}

static int start_port(struct ipop_node *n, struct ipop_port *p, const char *spec,
		      uint16_t nrx, uint16_t ntx, char *err, size_t errlen)
{
	int r = ipop_port_lookup(spec, p);

	if (r != 0) {
		snprintf(err, errlen, "device '%s' not found (is it in dpdk.eal or a valid vdev?)", spec);
		return r;
	}
	return ipop_port_start(p, nrx, ntx, n->pool, 1024, err, errlen);
}

static int setup_ports(struct ipop_node *n, char *err, size_t errlen)
{
	const struct ipop_cfg *c = n->cfg;
	uint16_t w = (uint16_t)n->n_workers;
	int r;

	if (c->lan_enabled) {
		r = start_port(n, &n->lan, c->lan.device, w, w, err, errlen);
		if (r != 0)
			return r;
		n->have_lan = true;
	}
	r = start_port(n, &n->wan, c->wan.device, w, w, err, errlen);
	if (r == 0)
		r = start_port(n, &n->exc, EXC_TAP_DEV, w, w, err, errlen);
	if (r != 0)
		return r;
	/* The kernel answers ARP for the WAN address: it must use the WAN's MAC. */
	r = ipop_port_set_mac(&n->exc, &n->wan.mac);
	if (r != 0) {
		snprintf(err, errlen, "%s: cannot set MAC: %s", c->wan_tap, strerror(-r));
		return r;
	}
	if (c->host_enabled) {
		r = start_port(n, &n->host, HOST_TAP_DEV, w, w, err, errlen);
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
	n->sh.to_ctrl = rte_ring_create("ipop_to_ctrl", RING_SIZE, sock, RING_F_SC_DEQ);
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
	n->sh.idle_sleep_max_us = n->cfg->idle_sleep_max_us;
	n->sh.idle_sleep_recent_us = n->cfg->idle_sleep_recent_us;
	ipop_publish_init(&n->pub, n->sh.qsbr, &n->sh.table);
	return 0;
}

static int setup_workers(struct ipop_node *n, char *err, size_t errlen)
{
	unsigned i = 0, lcore;
	int r;

	n->workers = rte_zmalloc("ipop_workers", sizeof(*n->workers) * n->n_workers, RTE_CACHE_LINE_SIZE);
	if (n->workers == NULL)
		return -ENOMEM;
	for (i = 0; i < n->n_workers; i++) {
		struct ipop_worker *w = &n->workers[i];
		w->lan_port = n->have_lan ? n->lan.id : IPOP_NO_PORT;
		w->wan_port = n->wan.id;
		w->exc_port = n->exc.id;
		w->host_port = n->have_host ? n->host.id : IPOP_NO_PORT;
		w->tap_queues = (uint16_t)n->n_workers;
		r = ipop_worker_init(w, &n->sh, i, n->pool, n->indirect_pool);
		if (r != 0) {
			snprintf(err, errlen, "worker %u init: %s", i, strerror(-r));
			return r;
		}
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

static void drain_ring(struct ipop_node *n)
{
	void *objs[32];
	unsigned k;

	while ((k = rte_ring_dequeue_burst(n->sh.to_ctrl, objs, RTE_DIM(objs), NULL)) > 0) {
		for (unsigned i = 0; i < k; i++) {
			struct rte_mbuf *m = objs[i];
			const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
			n->cs.ring_rx++;
			if (m->data_len >= sizeof(*eth) &&
			    eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
				ipop_neigh_handle_arp(n, m);
			else
				ipop_hs_handle(n, m);
			rte_pktmbuf_free(m);
		}
		/* One publication per burst, then the responses it made valid. */
		ipop_node_flush(n);
	}
}

static gboolean on_tick(gpointer data)
{
	struct ipop_node *n = data;
	uint64_t now = ipop_now_ms();

	drain_ring(n);
	ipop_hs_timers(n, now);
	ipop_neigh_timers(n, now);
	ipop_node_flush(n);
	ipop_publish_reclaim(&n->pub);
	return G_SOURCE_CONTINUE;
}

static gboolean on_api(gint fd, GIOCondition cond, gpointer data)
{
	ipop_api_serve(data);
	return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer data)
{
	struct ipop_node *n = data;

	LOG_INFO("shutting down");
	g_main_loop_quit(n->loop);
	return G_SOURCE_REMOVE;
}

/* Controller modules, registered when signal { } is configured: signalling,
 * topology (all-to-all) and the link manager, on the loop's default context. */
static int start_modules(struct ipop_node *n, char *err, size_t errlen)
{
	static struct ipop_fw fw;
	const struct ipop_cfg *c = n->cfg;
	int r;

	if (!c->signal_enabled)
		return 0;
	if ((r = ipop_fw_init(&fw, NULL)) != 0) {
		snprintf(err, errlen, "controller framework: %s", strerror(-r));
		return r;
	}
	n->fw = &fw;
	n->mod_signal = ipop_signal_module(n);
	n->mod_topology = ipop_topology_module(&ipop_topology_alltoall, c->sig_jid,
					       c->sig_offline_grace_s * 1000);
	n->mod_linkmgr = ipop_linkmgr_module(n);
	if (n->mod_signal == NULL || n->mod_topology == NULL || n->mod_linkmgr == NULL) {
		snprintf(err, errlen, "controller modules: out of memory");
		return -ENOMEM;
	}
	if ((r = ipop_fw_register(&fw, n->mod_signal)) != 0 ||
	    (r = ipop_fw_register(&fw, n->mod_topology)) != 0 ||
	    (r = ipop_fw_register(&fw, n->mod_linkmgr)) != 0) {
		snprintf(err, errlen, "controller modules: %s", strerror(-r));
		return r;
	}
	return ipop_fw_start(&fw, err, errlen);
}

static void stop_modules(struct ipop_node *n)
{
	if (n->fw == NULL)
		return;
	ipop_fw_stop(n->fw);
	n->fw = NULL;
	free(n->mod_signal);
	free(n->mod_topology);
	free(n->mod_linkmgr);
	n->mod_signal = n->mod_topology = n->mod_linkmgr = NULL;
}

static void shutdown_node(struct ipop_node *n)
{
	stop_modules(n);
	__atomic_store_n(&n->sh.stop, 1, __ATOMIC_RELEASE);
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
	ipop_node_publish(n);   /* hands the retired keypairs to the limbo */
	ipop_publish_drain(&n->pub);
	for (unsigned i = 0; n->workers && i < n->n_workers; i++)
		ipop_worker_fini(&n->workers[i]);
	ipop_port_stop(&n->host);
	ipop_port_stop(&n->exc);
	ipop_port_stop(&n->wan);
	ipop_port_stop(&n->lan);
	ipop_api_close(n);
	sodium_memzero(&n->id, sizeof(n->id));
	ipop_aead_mgr_free(n->aead);
}

static int node_start(struct ipop_node *n, char *err, size_t errlen)
{
	const struct ipop_cfg *c = n->cfg;
	int sock = (int)rte_socket_id();
	int r;

	n->tsc_hz = rte_get_tsc_hz();
	n->start_ms = ipop_now_ms();
	n->api_fd = -1;
	if (rte_lcore_count() < n->n_workers + 1) {
		snprintf(err, errlen, "dpdk.workers = %u needs %u lcores, the EAL arguments give %u "
			 "(add e.g. \"-l\", \"0-%u\")", n->n_workers, n->n_workers + 1,
			 rte_lcore_count(), n->n_workers);
		return -EINVAL;
	}
	n->pool = rte_pktmbuf_pool_create("ipop_pool", c->mbufs, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, sock);
	n->indirect_pool = rte_pktmbuf_pool_create("ipop_indirect", 2047, 64, 0, 0, sock);
	if (n->pool == NULL || n->indirect_pool == NULL) {
		snprintf(err, errlen, "mbuf pool of %u: %s", c->mbufs, rte_strerror(rte_errno));
		return -ENOMEM;
	}
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
		r = ipop_node_add_peer(n, &c->peers[i]);
		if (r != 0) {
			snprintf(err, errlen, "peers[%u]: %s", i,
				 r == -EEXIST ? "duplicate or our own key" : strerror(-r));
			return r;
		}
	}
	if ((r = ipop_node_publish(n)) != 0) {
		snprintf(err, errlen, "publish: %s", strerror(-r));
		return r;
	}
	if ((r = setup_workers(n, err, errlen)) != 0)
		return r;
	if ((r = ipop_api_open(n, err, errlen)) != 0)
		return r;
	return start_modules(n, err, errlen);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ipopd -c FILE [--check]\n"
		   "  -c, --config FILE  configuration (libconfig format, see docs/configuration.md)\n"
		   "      --check        validate the configuration and the key file, then exit\n");
}

int ipop_daemon_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct ipop_cfg cfg;
	static struct ipop_node node;
	const char *file = NULL;
	bool check_only = false;
	char err[IPOP_CFG_ERR_LEN];
	char *eal_argv[IPOP_CFG_MAX_EAL_ARGS + 8];
	int o, r;

	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (o == 'c')
			file = optarg;
		else if (o == 'k')
			check_only = true;
		else {
			usage(o == 'h' ? stdout : stderr);
			return o == 'h' ? 0 : 2;
		}
	}
	if (file == NULL) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "ipopd: libsodium init failed\n");
		return 1;
	}
	if (ipop_cfg_load(&cfg, file, err, sizeof(err)) != 0) {
		fprintf(stderr, "ipopd: %s\n", err);
		return 2;
	}
	ipop_log_set_level((enum ipop_log_level)ipop_log_parse_level(cfg.log_level));
	if (ipop_identity_load(cfg.key_file, node.id.priv, node.id.pub, err, sizeof(err)) != 0) {
		fprintf(stderr, "ipopd: %s: node.key_file: %s\n", file, err);
		ipop_cfg_free(&cfg);
		return 2;
	}
	if (check_only) {
		printf("%s: configuration OK\n", file);
		ipop_cfg_free(&cfg);
		return 0;
	}
	node.cfg = &cfg;
	node.n_workers = cfg.workers;
	ipop_noise_mac1_key(node.id.pub, node.mac1_self);
	node.prologue_len = (size_t)snprintf((char *)node.prologue, sizeof(node.prologue),
					     "ipop v1 overlay=%s", cfg.overlay);
	int eal_argc = build_eal_args(&cfg, cfg.workers, eal_argv, IPOP_CFG_MAX_EAL_ARGS);
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "ipopd: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	r = node_start(&node, err, sizeof(err));
	if (r != 0) {
		LOG_ERR("%s", err);
		shutdown_node(&node);
		rte_eal_cleanup();
		ipop_cfg_free(&cfg);
		return 1;
	}
	LOG_INFO("node %s up: overlay %s, %u worker(s), %u static peer(s), api %s%s%s",
		 cfg.node_name, cfg.overlay, cfg.workers, cfg.n_peers, cfg.api_socket,
		 cfg.signal_enabled ? ", signalling as " : "",
		 cfg.signal_enabled ? cfg.sig_jid : "");
	node.loop = g_main_loop_new(NULL, FALSE);
	g_timeout_add(TICK_MS, on_tick, &node);
	g_unix_fd_add(node.api_fd, G_IO_IN, on_api, &node);
	g_unix_signal_add(SIGTERM, on_signal, &node);
	g_unix_signal_add(SIGINT, on_signal, &node);
	g_main_loop_run(node.loop);
	g_main_loop_unref(node.loop);
	shutdown_node(&node);
	rte_eal_cleanup();
	ipop_cfg_free(&cfg);
	return 0;
}

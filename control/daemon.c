/* daemon.c - ipopd's life cycle: configuration, EAL, ports, workers, the control
 * event loop, and an orderly shutdown. Thread: the main lcore, which becomes the
 * control thread once the workers are launched.
 *
 * The control loop is a GLib main loop (libnice needs one, and libstrophe's
 * sockets can be watched from it): a 10 ms tick drains the ring from the
 * workers (handshakes, ARP), runs the session and next-hop timers, republishes
 * the fast-path table when something changed and reclaims what RCU allows; the
 * management socket and SIGTERM/SIGINT are event sources of the same loop.
 *
 * Quiet tick: after 1 s in which no tick had anything to do (nothing from the
 * workers, no handshake in flight or answer waiting, every peer up, nothing to
 * publish or reclaim) the tick slows to 100 ms, because on an idle gateway
 * whose workers wait in epoll the wake-ups of the 10 ms tick were nearly all of
 * its CPU. What is left on the slow tick runs on second-scale timers
 * (keepalives, dead peers, rekeying by age, ARP refresh, gateway expiry), which
 * 100 ms does not change; key expiry does not depend on it (the workers check
 * it per packet). Anything from the workers ends it at once: they write an
 * eventfd (sh.ctrl_evfd) after enqueueing to to_ctrl while control says it
 * ticks slowly (sh.ctrl_waiting; seq_cst fence pair, as for the workers' idle
 * wait), and any tick that finds work goes back to 10 ms.
 */
#include "control/daemon.h"
#include "control/api/api.h"
#include "control/config/identity.h"
#include "control/ctrl_rx.h"
#include "control/eal_log.h"
#include "control/fib/neigh.h"
#include "control/fib/publish.h"
#include "control/fib/table.h"
#include "control/ice/ice.h"
#include "control/ice/nice_lib.h"
#include "control/framework.h"
#include "control/link/module.h"
#include "control/log.h"
#include "control/node.h"
#include "control/signal/trust.h"
#include "control/session/handshake.h"
#include "control/session/peer.h"
#include "control/session/timers.h"
#include "control/signal/signalling.h"
#include "control/topology/module.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>
#include <sodium.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane/hsmac.h"
#include "dataplane/wire.h"

#define TICK_MS IPOP_CTRL_TICK_MS
#define QUIET_TICK_MS 100
#define QUIET_AFTER_MS 1000
#define PORT_STATS_MS 1000
#define EXC_TAP_DEV IPOP_CFG_WAN_TAP_VDEV
#define HOST_TAP_DEV IPOP_CFG_HOST_TAP_VDEV

/* Frames per net_af_packet ring when the device spec does not size it. DPDK's
 * own 512 overflowed whenever a worker sharing its CPU was descheduled for a few
 * ms under one TCP stream: 7-10 % of the frames lost through the bridged pair,
 * about 100,000 frames in 20 s into an endpoint's ring; 1024 still lost
 * 46,000-61,000 there; 2048 almost none (docs/benchmarks.md §13). The price is
 * memory: both rings of a queue are resident, 8 MiB at 2048 frames (a light
 * endpoint may choose 512: configs/endpoint.conf.example, §14). */
#define AF_PACKET_FRAMES 2048

static int build_eal_args(const struct ipop_cfg *cfg, unsigned queues, char **argv, int max)
{
	static char vdevs[4][IPOP_CFG_DEV_LEN + 64];
	unsigned frames = AF_PACKET_FRAMES;
	int argc = 0, nv = 0;

	for (int i = 0; i < cfg->eal_argc && argc < max; i++)
		argv[argc++] = cfg->eal_argv[i];
	if (cfg->lan_enabled && ipop_port_is_vdev(cfg->lan.device) &&
	    ipop_port_vdev_arg(cfg->lan.device, queues, frames, vdevs[nv], sizeof(vdevs[nv])) == 0)
		argv[argc++] = vdevs[nv++];
	if (ipop_port_is_vdev(cfg->wan.device) &&
	    ipop_port_vdev_arg(cfg->wan.device, queues, frames, vdevs[nv], sizeof(vdevs[nv])) == 0)
		argv[argc++] = vdevs[nv++];
	snprintf(vdevs[nv], sizeof(vdevs[nv]), "--vdev=%s,iface=%s", EXC_TAP_DEV, cfg->wan_tap);
	argv[argc++] = vdevs[nv++];
	if (cfg->host_enabled && !cfg->host_offload) {
		snprintf(vdevs[nv], sizeof(vdevs[nv]), "--vdev=%s,iface=%s", HOST_TAP_DEV, cfg->host_tap);
		argv[argc++] = vdevs[nv++];
	}
	argv[argc] = NULL;
	return argc;
}

/* The tick's timeout source and since when its ticks found nothing to do. */
static struct {
	guint src;
	bool slow;
	uint64_t quiet_since_ms;
} tick;

static gboolean on_tick(gpointer data);

/* Nothing that needs the 10 ms tick: no handshake of ours in flight, none
 * waiting for its answer, every peer up, no table to publish, nothing in RCU
 * limbo or retiring. */
static bool tick_quiet(const struct ipop_node *n)
{
	if (n->dirty || n->n_pending_resp || n->retiring != NULL || n->pub.head != NULL)
		return false;
	for (uint16_t i = 0; i < n->n_peers; i++) {
		const struct ipop_peer *p = n->peers[i];
		if (p != NULL && (p->hs_active || p->state != IPOP_PEER_UP))
			return false;
	}
	return true;
}

static void tick_set(struct ipop_node *n, bool slow)
{
	if (tick.src)
		g_source_remove(tick.src);
	tick.slow = slow;
	tick.src = g_timeout_add(slow ? QUIET_TICK_MS : TICK_MS, on_tick, n);
	if (slow)
		n->cs.ticks_slowed++;
}

/* One tick's work; true if it found any (then the tick stays or gets fast). */
static bool tick_run(struct ipop_node *n)
{
	uint64_t rx = n->cs.ring_rx;

	/* The clock is read after the drain: a handshake it handled stamps
	 * p->last_rx_ms with a later time than a clock read before it (under a
	 * flood the drain takes milliseconds), and the timers would take that
	 * peer for silent since long ago (test_hs_flood.c test_tick_clock). */
	ipop_ctrl_rx_drain(n);
	uint64_t now = ipop_now_ms();
	ipop_timers_run(n, now);
	ipop_neigh_timers(n, now);
	ipop_gateways_expire(n, now, (uint64_t)n->cfg->sig_offline_grace_s * 1000);
	const struct ipop_ondemand_cfg od = {
		.bytes = (uint64_t)n->cfg->topo_ondemand_kib * 1024,
		.window_ms = (uint64_t)n->cfg->topo_ondemand_window_s * 1000,
		.idle_ms = (uint64_t)n->cfg->topo_ondemand_idle_s * 1000,
	};
	ipop_gateways_traffic(n, now, &od);
	ipop_table_flush(n);
	ipop_publish_reclaim(&n->pub);
	if (now - n->port_stats_ms >= PORT_STATS_MS)
		ipop_node_ports_poll(n);
	bool busy = n->cs.ring_rx != rx || !tick_quiet(n);
	if (busy)
		tick.quiet_since_ms = now;
	return busy;
}

static gboolean on_tick(gpointer data)
{
	struct ipop_node *n = data;
	bool busy = tick_run(n);

	if (tick.slow) {
		if (!busy)
			return G_SOURCE_CONTINUE;
		__atomic_store_n(&n->sh.ctrl_waiting, 0, __ATOMIC_RELAXED);
		tick.src = 0;   /* this source: removed by returning G_SOURCE_REMOVE */
		tick_set(n, false);
		return G_SOURCE_REMOVE;
	}
	if (ipop_now_ms() - tick.quiet_since_ms >= QUIET_AFTER_MS) {
		__atomic_store_n(&n->sh.ctrl_waiting, 1, __ATOMIC_RELAXED);
		/* Orders the store before the ring check; pairs with the fence
		 * after the workers' enqueue (lcore/worker.c, flush_ctrl). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!rte_ring_empty(n->sh.to_ctrl)) {
			__atomic_store_n(&n->sh.ctrl_waiting, 0, __ATOMIC_RELAXED);
			return G_SOURCE_CONTINUE;
		}
		tick.src = 0;
		tick_set(n, true);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* A worker queued something for control while it ticked slowly. */
static gboolean on_ctrl_kick(gint fd, GIOCondition cond, gpointer data)
{
	struct ipop_node *n = data;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOG_WARN("control eventfd: %s", strerror(errno));
	__atomic_store_n(&n->sh.ctrl_waiting, 0, __ATOMIC_RELAXED);
	tick.quiet_since_ms = ipop_now_ms();
	if (tick.slow)
		tick_set(n, false);
	(void)tick_run(n);
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

_Static_assert(IPOP_TOPO_MAX_STATIC >= IPOP_CFG_MAX_STATIC, "topology.static fits the policy");

static size_t hot_gateways(void *ctx, struct ipop_node_id *out, size_t cap)
{
	return ipop_gateways_hot(ctx, out, cap);
}

/* The topology { } settings and who we are, for the policy. */
static void topo_settings(const struct ipop_node *n, struct ipop_topo_settings *set)
{
	const struct ipop_cfg *c = n->cfg;

	memset(set, 0, sizeof(*set));
	g_strlcpy(set->self_jid, c->sig_jid, sizeof(set->self_jid));
	set->self_jid[strcspn(set->self_jid, "/")] = '\0';
	set->self_id = n->node_id;
	set->successors = c->topo_successors;
	set->long_links = c->topo_long_links;
	set->max_incoming = c->topo_max_incoming;
	set->max_ondemand = c->topo_ondemand_max;
	set->hot = hot_gateways;
	set->hot_ctx = (void *)n;
	set->n_static = c->topo_n_static;
	/* Servers fold JIDs to lower case (nodeprep), and so do presences. */
	for (unsigned i = 0; i < c->topo_n_static; i++) {
		g_strlcpy(set->statics[i], c->topo_static[i], sizeof(set->statics[i]));
		for (char *ch = set->statics[i]; *ch; ch++)
			*ch = g_ascii_tolower(*ch);
	}
	randombytes_buf(&set->seed, sizeof(set->seed));
}

/* Our own certificate must be valid now, for our key and overlay, and not
 * revoked: a node that others would refuse does not start. */
static int check_own_cert(struct ipop_node *n, const struct ipop_cfg *c, char *err, size_t errlen)
{
	struct ipop_cert cert;
	char e[IPOP_CFG_ERR_LEN];
	enum ipop_cert_reject r;

	if (ipop_cert_load(c->sig_certificate, &cert, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "signal.certificate: %.400s", e);
		return -EINVAL;
	}
	r = ipop_cert_check(&cert, c->sig_ca, n->id.pub, c->overlay, (uint64_t)time(NULL));
	if (r == IPOP_CERT_OK && ipop_trust_revoked(n->trust, cert.serial))
		r = IPOP_CERT_REJ_REVOKED;
	if (r != IPOP_CERT_OK) {
		snprintf(err, errlen, "signal.certificate: %s: not valid for this node: %s (%s)",
			 c->sig_certificate, ipop_cert_reject_name(r),
			 r == IPOP_CERT_REJ_BAD_SIGNATURE ? "not signed by signal.ca" :
			 r == IPOP_CERT_REJ_WRONG_KEY ? "signed for another key than node.key_file's" :
			 r == IPOP_CERT_REJ_WRONG_OVERLAY ? "signed for another overlay than node.overlay" :
			 r == IPOP_CERT_REJ_REVOKED ? "its serial is in signal.revocations" :
			 "outside its validity window: ipopctl ca-sign a new one");
		return -EINVAL;
	}
	return ipop_cert_to_base64(&cert, n->cert_b64);
}

/* The trust state (signal { } only): static peers' keys, the CA, the
 * revocation list and our own certificate. */
static int load_trust(struct ipop_node *n, const struct ipop_cfg *c, char *err, size_t errlen)
{
	char e[IPOP_CFG_ERR_LEN];

	if (!c->signal_enabled)
		return 0;
	n->trust = ipop_trust_new(n->id.pub, c->overlay);
	if (n->trust == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c->n_peers; i++)
		if (ipop_trust_add_static(n->trust, c->peers[i].public_key) != 0) {
			snprintf(err, errlen, "too many static peers for the trust table");
			return -ENOSPC;
		}
	if (!c->sig_has_ca) {
		if (c->sig_bindings_file[0] != '\0' &&
		    ipop_trust_set_store(n->trust, c->sig_bindings_file, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "signal.bindings_file: %.400s", e);
			return -EINVAL;
		}
		return 0;
	}
	ipop_trust_set_ca(n->trust, c->sig_ca);
	if (c->sig_revocations[0] != '\0' &&
	    ipop_trust_load_revocations(n->trust, c->sig_revocations, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "signal.revocations: %.400s", e);
		return -EINVAL;
	}
	return check_own_cert(n, c, err, errlen);
}

/* Controller modules, registered when signal { } is configured: signalling,
 * topology (topology.policy) and the link manager, on the loop's default context. */
static int start_modules(struct ipop_node *n, char *err, size_t errlen)
{
	static struct ipop_fw fw;
	const struct ipop_cfg *c = n->cfg;
	int r;

	if (!c->signal_enabled)
		return 0;
	if (c->ice_enabled && (r = ipop_nice_load(err, errlen)) != 0)
		return r;
	if ((r = ipop_fw_init(&fw, NULL)) != 0) {
		snprintf(err, errlen, "controller framework: %s", strerror(-r));
		return r;
	}
	n->fw = &fw;
	n->mod_signal = ipop_signal_module(n);
	struct ipop_topo_settings set;
	topo_settings(n, &set);
	n->mod_topology = ipop_topology_module(c->topo_policy == IPOP_TOPO_POLICY_ALLTOALL ?
					       &ipop_topology_alltoall : &ipop_topology_symphony,
					       &set, c->sig_offline_grace_s * 1000);
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

/* The node, then what runs on it: the management socket and the modules. */
static int start_all(struct ipop_node *n, char *err, size_t errlen)
{
	int r = ipop_node_start(n, err, errlen);

	if (r == 0)
		r = ipop_api_open(n, err, errlen);
	if (r == 0)
		r = start_modules(n, err, errlen);
	return r;
}

/* How long a stopping daemon waits for its ICE agents to free their TURN
 * allocations (a round trip to the server each; libnice retransmits for
 * longer when the server is gone, and that wait is not worth it). */
#define ICE_CLOSE_WAIT_MS 1000

static guint api_src;   /* the API socket's source in the main loop; 0 none */

/* The modules first (the link manager frees the ICE agents), then the API;
 * the agents' closes run on the main loop while the workers still carry
 * their traffic, then the node stops. */
static void stop_all(struct ipop_node *n)
{
	stop_modules(n);
	if (api_src != 0) {
		g_source_remove(api_src);
		api_src = 0;
	}
	ipop_api_close(n);
	unsigned left = ipop_ice_drain(NULL, ICE_CLOSE_WAIT_MS);
	if (left != 0)
		LOG_WARN("%u ICE agent(s) did not finish closing within %u ms: their TURN "
			 "allocations stay on the server until their lifetime ends", left,
			 ICE_CLOSE_WAIT_MS);
	ipop_node_stop(n);
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
	if (load_trust(&node, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "ipopd: %s: %s\n", file, err);
		ipop_trust_free(node.trust);
		ipop_cfg_free(&cfg);
		return 2;
	}
	if (check_only) {
		ipop_trust_free(node.trust);
		printf("%s: configuration OK\n", file);
		ipop_cfg_free(&cfg);
		return 0;
	}
	node.cfg = &cfg;
	node.n_workers = cfg.workers;
	if (ipop_noise_mac1_key(node.id.pub, node.mac1_self) != 0) {
		/* The workers would drop every handshake with a wrong key. */
		fprintf(stderr, "ipopd: cannot derive the mac1 key of our public key\n");
		ipop_trust_free(node.trust);
		ipop_cfg_free(&cfg);
		return 1;
	}
	node.node_id = ipop_node_id_of_key(node.id.pub);
	node.prologue_len = (size_t)snprintf((char *)node.prologue, sizeof(node.prologue),
					     "ipop v1 overlay=%s", cfg.overlay);
	int eal_argc = build_eal_args(&cfg, cfg.workers, eal_argv, IPOP_CFG_MAX_EAL_ARGS);
	if ((r = ipop_eal_log_init()) != 0)
		LOG_WARN("DPDK's messages keep DPDK's format: %s", strerror(-r));
	/* With idle wait the threads are not kept on the CPUs the EAL pins them
	 * to (lcore/worker.c, docs/architecture.md "Idle back-off"): what the
	 * process may use is read before the EAL narrows it. */
	node.sh.any_cpu = ipop_cfg_idle_wait(&cfg) &&
		sched_getaffinity(0, sizeof(node.sh.start_cpus), &node.sh.start_cpus) == 0;
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "ipopd: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Before the workers start: they mark what they checked of a handshake
	 * so control does not check it again (dataplane/hsmac.h). */
	r = ipop_hsmac_flags_register();
	if (r != 0)
		LOG_WARN("no mbuf flags for the workers' handshake checks (%s): control checks "
			 "mac1 and mac2 itself", strerror(-r));
	node.api_fd = -1;
	r = start_all(&node, err, sizeof(err));
	if (r != 0) {
		LOG_ERR("%s", err);
		stop_all(&node);
		rte_eal_cleanup();
		ipop_cfg_free(&cfg);
		return 1;
	}
	if (node.sh.any_cpu &&
	    pthread_setaffinity_np(pthread_self(), sizeof(node.sh.start_cpus), &node.sh.start_cpus) == 0)
		LOG_INFO("idle wait: the control thread and idle-waiting workers may run on any of the "
			 "%d CPUs the process started with (not pinned to their lcores' CPUs)",
			 CPU_COUNT(&node.sh.start_cpus));
	LOG_INFO("node %s up: overlay %s, %u worker(s), %u static peer(s), api %s%s%s",
		 cfg.node_name, cfg.overlay, cfg.workers, cfg.n_peers, cfg.api_socket,
		 cfg.signal_enabled ? ", signalling as " : "",
		 cfg.signal_enabled ? cfg.sig_jid : "");
	node.loop = g_main_loop_new(NULL, FALSE);
	tick.quiet_since_ms = ipop_now_ms();
	tick_set(&node, false);
	g_unix_fd_add(node.sh.ctrl_evfd, G_IO_IN, on_ctrl_kick, &node);
	api_src = g_unix_fd_add(node.api_fd, G_IO_IN, on_api, &node);
	g_unix_signal_add(SIGTERM, on_signal, &node);
	g_unix_signal_add(SIGINT, on_signal, &node);
	g_main_loop_run(node.loop);
	/* The loop outlives stop_all: a second SIGTERM during its ICE drain
	 * quits it again (a no-op), not a freed one. */
	stop_all(&node);
	g_main_loop_unref(node.loop);
	rte_eal_cleanup();
	ipop_trust_free(node.trust);
	ipop_cfg_free(&cfg);
	return 0;
}

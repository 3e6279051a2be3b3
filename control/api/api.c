/* api.c - see api.h. Thread: control.
 *
 * One JSON document describes the node; the text form is rendered from the same
 * object so the two never disagree. Every client is served without blocking:
 * its request line and its answer move as the socket allows, on GLib sources
 * of the control thread's loop, and a client gets IPOP_API_DEADLINE_MS from
 * connecting to the end of its answer, however it trickles; at most
 * IPOP_API_MAX_CONNS at a time (a newcomer closes the oldest, counted).
 */
#include "control/api/api.h"
#include "control/api/request.h"
#include "control/counters.h"
#include "control/link/module.h"
#include "control/log.h"
#include "control/signal/signalling.h"
#include "control/signal/trust.h"
#include "control/topology/module.h"

#include <errno.h>
#include <stdlib.h>
#include <glib-unix.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <json-c/json.h>
#include <sodium.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_memzone.h>

#include "dataplane/wire.h"

static json_object *jstr_ip_port(uint32_t ip, uint16_t port_be)
{
	char buf[32];
	struct in_addr a = { .s_addr = ip };

	snprintf(buf, sizeof(buf), "%s:%u", inet_ntoa(a), rte_be_to_cpu_16(port_be));
	return json_object_new_string(buf);
}

static json_object *jkey(const uint8_t k[32])
{
	char b64[48];

	sodium_bin2base64(b64, sizeof(b64), k, 32, sodium_base64_VARIANT_ORIGINAL);
	return json_object_new_string(b64);
}

#define JADD(o, k, v) json_object_object_add((o), (k), (v))
#define JU64(v) json_object_new_int64((int64_t)(v))

static json_object *session_json(const struct ipop_node *n, const struct ipop_keypair *kp)
{
	json_object *o;

	if (kp == NULL)
		return NULL;
	o = json_object_new_object();
	JADD(o, "local_index", JU64(rte_be_to_cpu_32(kp->local_index)));
	JADD(o, "age_s", JU64((rte_rdtsc() - kp->created_tsc) / n->tsc_hz));
	JADD(o, "tx_counter", JU64(__atomic_load_n(&kp->send_counter, __ATOMIC_RELAXED)));
	JADD(o, "initiator", json_object_new_boolean(kp->initiator));
	return o;
}

static json_object *peer_json(const struct ipop_node *n, const struct ipop_peer *p, uint64_t now)
{
	json_object *o = json_object_new_object();
	struct ipop_peer_counters c;

	ipop_peer_counters(n, p, &c);
	JADD(o, "name", json_object_new_string(p->name));
	JADD(o, "public_key", jkey(p->pub));
	JADD(o, "endpoint", p->ip ? jstr_ip_port(p->ip, p->port) : NULL);
	JADD(o, "state", json_object_new_string(ipop_peer_state_name(p->state)));
	JADD(o, "tx_cipher", json_object_new_string(ipop_cipher_name(p->send_cipher)));
	JADD(o, "up_for_s", JU64(p->state == IPOP_PEER_UP ? (now - p->up_since_ms) / 1000 : 0));
	JADD(o, "last_rx_ms_ago", p->last_rx_ms ? JU64(now - p->last_rx_ms) : NULL);
	ipop_counters_json(o, &ipop_peer_family, &c);
	ipop_counters_json(o, &ipop_peer_session_family, p);
	JADD(o, "handshake_in_flight", json_object_new_boolean(p->hs_active));
	JADD(o, "session_current", session_json(n, p->cur));
	JADD(o, "session_previous", session_json(n, p->prev));
	JADD(o, "session_next", session_json(n, p->next));
	JADD(o, "last_error", json_object_new_string(p->last_error));
	return o;
}

/* Sum of the workers' counters (dataplane/stats.h's lists are the management
 * API); of the cycle budget only the busy share. */
static json_object *dataplane_json(const struct ipop_node *n)
{
	struct ipop_lcore_stats s;
	json_object *o = json_object_new_object(), *d = json_object_new_object();
	uint64_t busy = 0, total = 0;

	memset(&s, 0, sizeof(s));
	for (unsigned w = 0; w < n->n_workers; w++) {
		const struct ipop_lcore_stats *x = &n->workers[w].stats;
		ipop_counters_add(&s, x, &ipop_lcore_family);
		ipop_counters_add(&s, x, &ipop_drop_family);
		busy += x->busy_tsc;
		total += x->total_tsc;
	}
	ipop_counters_json(o, &ipop_lcore_family, &s);
	JADD(o, "busy_pct", json_object_new_double(total ? 100.0 * (double)busy / (double)total : 0));
	ipop_counters_json(d, &ipop_drop_family, &s);
	JADD(o, "drops", d);
	/* Flood copies received by path length: [i] = i + 1 gateways crossed,
	 * the last entry that many or more. */
	json_object *h = json_object_new_array();
	for (unsigned i = 0; i < IPOP_FLOOD_HOPS_HIST; i++) {
		uint64_t v = 0;
		for (unsigned w = 0; w < n->n_workers; w++)
			v += n->workers[w].stats.flood_rx_hops[i];
		json_object_array_add(h, JU64(v));
	}
	JADD(o, "flood_rx_by_hops", h);
	return o;
}

/* Per worker: how the load is spread, and each worker's cycle budget. */
static json_object *workers_json(const struct ipop_node *n)
{
	json_object *arr = json_object_new_array();

	for (unsigned i = 0; i < n->n_workers; i++) {
		const struct ipop_worker *w = &n->workers[i];
		const struct ipop_lcore_stats *s = &w->stats;
		json_object *o = json_object_new_object();
		JADD(o, "lcore", JU64(w->lcore_id));
		ipop_counters_json(o, &ipop_worker_family, s);
		json_object_array_add(arr, o);
	}
	return arr;
}

/* One entry of ports[]: who it is, then its statistics (r: how reading them
 * went). */
static json_object *port_entry(const char *role, const char *device, const char *driver,
			       const char *ifname, int r, const struct ipop_port_stats *s)
{
	json_object *o = json_object_new_object();

	JADD(o, "port", json_object_new_string(role));
	JADD(o, "device", json_object_new_string(device));
	JADD(o, "driver", json_object_new_string(driver));
	JADD(o, "interface", ifname[0] ? json_object_new_string(ifname) : NULL);
	if (r != 0)
		JADD(o, "error", json_object_new_string(strerror(-r)));
	else
		ipop_counters_json(o, &ipop_port_family, s);
	return o;
}

static json_object *port_json(const char *role, const struct ipop_port *p)
{
	struct ipop_port_stats s;
	int r = ipop_port_stats(p, &s);

	return port_entry(role, p->name, p->driver, p->ifname, r, &s);
}

/* The offload host TAP (drivers/vtap.h): no ethdev, so its kernel
 * interface's counters; the segments and frames it moved are the dataplane's
 * host_* counters. */
static json_object *vtap_json(const struct ipop_vtap *v)
{
	struct ipop_port_stats s;
	int r = ipop_port_tap_stats(v->ifname, &s);

	return port_entry("host", "vtap", "vtap (IFF_VNET_HDR, TSO)", v->ifname, r, &s);
}

/* Each port's own statistics (drivers/port.h), as of ipop_node_ports_poll. */
static json_object *ports_json(const struct ipop_node *n)
{
	json_object *arr = json_object_new_array();

	if (n->have_lan)
		json_object_array_add(arr, port_json("lan", &n->lan));
	json_object_array_add(arr, port_json("wan", &n->wan));
	json_object_array_add(arr, port_json("wan_tap", &n->exc));
	if (n->have_host && n->host.started)
		json_object_array_add(arr, port_json("host", &n->host));
	if (n->vtap.fd >= 0)
		json_object_array_add(arr, vtap_json(&n->vtap));
	return arr;
}

/* The ring mode under a pool and its per-lcore cache (docs/architecture.md,
 * "Buffers"). */
static void pool_ring_json(json_object *o, const struct rte_mempool *mp)
{
	JADD(o, "ring", json_object_new_string(rte_mempool_get_ops(mp->ops_index)->name));
	JADD(o, "cache_size", JU64(mp->cache_size));
}

static void mempool_visit(struct rte_mempool *mp, void *arg)
{
	json_object *o = json_object_new_object();
	size_t obj = (size_t)mp->header_size + mp->elt_size + mp->trailer_size;

	JADD(o, "name", json_object_new_string(mp->name));
	pool_ring_json(o, mp);
	JADD(o, "size", JU64(mp->size));
	JADD(o, "in_use", JU64(rte_mempool_in_use_count(mp)));
	JADD(o, "object_bytes", JU64(obj));
	JADD(o, "bytes", JU64((uint64_t)mp->size * obj));
	json_object_array_add(arg, o);
}

static void memzone_visit(const struct rte_memzone *mz, void *arg)
{
	json_object *o = json_object_new_object();

	JADD(o, "name", json_object_new_string(mz->name));
	JADD(o, "bytes", JU64(mz->len));
	json_object_array_add(arg, o);
}

/* What lives in DPDK's memory (hugepages, or --no-huge's heap): the malloc
 * heap's totals, the mempools (mbufs) and the memzones (rings, ethdev data,
 * the mempools' own). Gauges, read when asked: docs/benchmarks.md §14. */
static json_object *memory_json(void)
{
	json_object *o = json_object_new_object(), *h = json_object_new_object();
	json_object *pools = json_object_new_array(), *zones = json_object_new_array();
	struct rte_malloc_socket_stats st;

	if (rte_malloc_get_socket_stats((int)rte_socket_id(), &st) == 0) {
		JADD(h, "total_bytes", JU64(st.heap_totalsz_bytes));
		JADD(h, "allocated_bytes", JU64(st.heap_allocsz_bytes));
		JADD(h, "free_bytes", JU64(st.heap_freesz_bytes));
		JADD(h, "allocations", JU64(st.alloc_count));
	}
	JADD(o, "heap", h);
	rte_mempool_walk(mempool_visit, pools);
	JADD(o, "mempools", pools);
	rte_memzone_walk(memzone_visit, zones);
	JADD(o, "memzones", zones);
	return o;
}

/* Gauges of the packet buffers: how much of the pool is out (on rx rings, in
 * flight, in caches, held by reassembly), and what reassembly holds and may
 * hold (dataplane/reasm.h). */
static json_object *pool_json(const struct ipop_node *n)
{
	json_object *o = json_object_new_object();
	uint64_t held = 0;

	for (unsigned w = 0; w < n->n_workers; w++)
		held += n->workers[w].stats.reasm_held;
	JADD(o, "size", JU64(n->pool->size));
	pool_ring_json(o, n->pool);
	JADD(o, "in_use", JU64(rte_mempool_in_use_count(n->pool)));
	JADD(o, "reasm_held", JU64(held));
	JADD(o, "reasm_cap", JU64((uint64_t)n->sh.reasm_cap * n->n_workers));
	return o;
}

static json_object *control_json(const struct ipop_node *n)
{
	json_object *o = json_object_new_object();
	ipop_counters_json(o, &ipop_ctrl_family, &n->cs);
	JADD(o, "rcu_pending", JU64(n->pub.pending));   /* a gauge, not a counter */
	return o;
}

static json_object *node_json(const struct ipop_node *n)
{
	json_object *o = json_object_new_object(), *peers = json_object_new_array();
	uint64_t now = ipop_now_ms();

	JADD(o, "name", json_object_new_string(n->cfg->node_name));
	JADD(o, "overlay", json_object_new_string(n->cfg->overlay));
	JADD(o, "public_key", jkey(n->id.pub));
	JADD(o, "rx_cipher", json_object_new_string(ipop_cipher_name(n->cfg->cipher)));
	JADD(o, "wan", jstr_ip_port(n->cfg->wan_addr.s_addr, rte_cpu_to_be_16(n->cfg->wan_port)));
	JADD(o, "workers", JU64(n->n_workers));
	/* dpdk.aead_code_path as configured ("compact", "auto", ...), then the
	 * path it resolved to on this CPU and what that costs per key. */
	JADD(o, "aead_code_path", json_object_new_string(n->cfg->aead_code_path));
	JADD(o, "ipsec_mb_arch", json_object_new_string(ipop_aead_mgr_arch(n->aead)));
	JADD(o, "aead_key_bytes", JU64(ipop_aead_key_size(n->aead, n->cfg->cipher)));
	JADD(o, "tsc_hz", JU64(n->tsc_hz));
	JADD(o, "uptime_s", JU64((now - n->start_ms) / 1000));
	JADD(o, "table_version", JU64(n->table_version));
	for (uint16_t i = 0; i < n->n_peers; i++)
		if (n->peers[i])
			json_object_array_add(peers, peer_json(n, n->peers[i], now));
	JADD(o, "peers", peers);
	if (n->fw != NULL) {
		/* Signalled links: their states, ages, bytes and last errors. */
		json_object *lm = ipop_linkmgr_json(ipop_linkmgr_of(n->mod_linkmgr)), *v;
		if (json_object_object_get_ex(lm, "links", &v))
			JADD(o, "links", json_object_get(v));
		if (json_object_object_get_ex(lm, "counters", &v))
			JADD(o, "link_counters", json_object_get(v));
		json_object_put(lm);
		json_object *ice = ipop_linkmgr_ice_json(n->mod_linkmgr);
		if (ice != NULL)
			JADD(o, "ice", ice);
		JADD(o, "signalling", ipop_signal_json(n->mod_signal));
		JADD(o, "trust", ipop_trust_json(n->trust, (uint64_t)(g_get_real_time() / G_USEC_PER_SEC)));
		JADD(o, "topology", ipop_topology_json(n->mod_topology));
		JADD(o, "gateways", ipop_gateways_json(n));
		json_object *fw = json_object_new_object();
		ipop_counters_json(fw, &ipop_fw_family, &n->fw->st);
		JADD(o, "framework", fw);
	}
	JADD(o, "dataplane", dataplane_json(n));
	JADD(o, "per_worker", workers_json(n));
	JADD(o, "ports", ports_json(n));
	JADD(o, "memory", memory_json());
	JADD(o, "mbuf_pool", pool_json(n));
	JADD(o, "control", control_json(n));
	return o;
}

static void mac_visit(const uint8_t mac[6], uint16_t loc, uint32_t age_s, void *arg)
{
	json_object *arr = arg, *o = json_object_new_object();
	char buf[24];

	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	JADD(o, "mac", json_object_new_string(buf));
	if (loc == IPOP_LOC_LAN)
		JADD(o, "location", json_object_new_string("lan"));
	else if (loc == IPOP_LOC_HOST)
		JADD(o, "location", json_object_new_string("host"));
	else
		JADD(o, "peer_slot", JU64(loc));
	JADD(o, "age_s", JU64(age_s));
	json_object_array_add(arr, o);
}

/* Render any JSON value as indented "key: value" text. */
static void render_text(FILE *f, json_object *o, int depth, const char *key)
{
	if (json_object_is_type(o, json_type_object)) {
		if (key)
			fprintf(f, "%*s%s:\n", depth * 2, "", key);
		json_object_object_foreach(o, k, v) render_text(f, v, depth + (key != NULL), k);
	} else if (json_object_is_type(o, json_type_array)) {
		fprintf(f, "%*s%s: (%zu)\n", depth * 2, "", key ? key : "", json_object_array_length(o));
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			char idx[24];
			snprintf(idx, sizeof(idx), "[%zu]", i);
			render_text(f, json_object_array_get_idx(o, i), depth + 1, idx);
		}
	} else {
		fprintf(f, "%*s%s: %s\n", depth * 2, "", key ? key : "",
			o ? json_object_get_string(o) : "-");
	}
}

/* "accept-key JID FP": the operator lets JID's pending key change through
 * (docs/signalling.md, "Trust"); its waiting presence is tried again. */
static void accept_key(FILE *f, const char *args, struct ipop_node *n)
{
	char jid[IPOP_JID_LEN], fp[40];
	int r;

	if (n->trust == NULL) {
		fputs("error: no signal { } group: no members to accept keys of\n", f);
		return;
	}
	if (sscanf(args, "%255s %39s", jid, fp) != 2) {
		fputs("error: usage: accept-key JID NODE-ID-PREFIX (ipopctl show: trust.pending_key_changes)\n", f);
		return;
	}
	r = ipop_trust_accept(n->trust, jid, fp);
	if (r == -EINVAL)
		fprintf(f, "error: '%s' is not a node ID prefix (8 to 32 lowercase hex digits)\n", fp);
	else if (r == -ENOENT)
		fprintf(f, "error: no pending key change of %s to a key whose node ID starts with %s\n",
			jid, fp);
	else {
		ipop_signal_retry(n->mod_signal);
		fprintf(f, "ok: %s is bound to the key of node ID %s...\n", jid, fp);
	}
}

/* "reload-revocations": read signal.revocations again; revoked members go now. */
static void reload_revocations(FILE *f, struct ipop_node *n)
{
	char err[IPOP_CFG_ERR_LEN];

	if (n->trust == NULL || !n->cfg->sig_has_ca || n->cfg->sig_revocations[0] == '\0') {
		fputs("error: no signal.revocations configured\n", f);
		return;
	}
	if (ipop_trust_load_revocations(n->trust, n->cfg->sig_revocations, err, sizeof(err)) != 0) {
		fprintf(f, "error: %s (the previous list stays)\n", err);
		return;
	}
	ipop_trust_tick(n->trust, (uint64_t)(g_get_real_time() / G_USEC_PER_SEC));
	fputs("ok\n", f);
}

/* The answer to the request rq (rc: what ipop_api_req_parse returned),
 * rendered into f. */
static void reply(FILE *f, const struct ipop_api_req *rq, int rc, struct ipop_node *n)
{
	json_object *o = NULL;

	if (rc < 0) {
		fprintf(f, "error: unknown request '%s' (try: show, show json, topology, "
			"topology json, macs json, ping, accept-key JID FP, reload-revocations)\n",
			rq->line);
		return;
	}
	switch (rq->what) {
	case IPOP_API_PING:
		fputs("pong\n", f);
		return;
	case IPOP_API_ACCEPT_KEY:
		accept_key(f, rq->line + rq->args, n);
		return;
	case IPOP_API_RELOAD_REVOCATIONS:
		reload_revocations(f, n);
		return;
	case IPOP_API_SHOW:
		o = node_json(n);
		break;
	case IPOP_API_TOPOLOGY:
		if (n->mod_topology == NULL) {
			fputs("error: no topology: this node has no signal { } group\n", f);
			return;
		}
		o = ipop_topology_ring_json(n->mod_topology);
		break;
	case IPOP_API_MACS:
		o = json_object_new_array();
		ipop_bridge_walk(&n->sh.bridge, (uint32_t)(rte_rdtsc() / n->tsc_hz), mac_visit, o);
		break;
	}
	if (rq->json)
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	else
		render_text(f, o, 0, NULL);
	json_object_put(o);
}

/* One client's request: its line as it arrives, then the answer as the
 * client takes it. Both sides are non-blocking GLib sources, so a client that
 * sends one byte at a time or never reads costs the control thread nothing
 * while it waits; one deadline (IPOP_API_DEADLINE_MS from accept) covers the
 * whole request. Owned by n->api_conns[slot]. */
struct ipop_api_conn {
	struct ipop_node *n;
	unsigned slot;
	uint64_t seq;           /* order of arrival */
	int fd;
	guint watch, timer;     /* GLib source ids, 0 when not attached */
	size_t got;
	char req[IPOP_API_REQ_MAX];   /* the request line as it arrives */
	char *out;
	size_t out_len, out_off;
};

static void conn_close(struct ipop_api_conn *c)
{
	if (c->watch)
		g_source_remove(c->watch);
	if (c->timer)
		g_source_remove(c->timer);
	close(c->fd);
	c->n->api_conns[c->slot] = NULL;
	free(c->out);
	free(c);
}

static gboolean conn_deadline(gpointer data)
{
	struct ipop_api_conn *c = data;

	c->timer = 0;   /* this source ends with the G_SOURCE_REMOVE below */
	c->n->cs.api_timeouts++;
	conn_close(c);
	return G_SOURCE_REMOVE;
}

/* Send what the socket takes now. 1: all sent; 0: more later; <0: errno. */
static int conn_send(struct ipop_api_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		c->out_off += (size_t)w;
	}
	return 1;
}

static gboolean conn_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct ipop_api_conn *c = data;

	(void)fd;
	(void)cond;
	if (conn_send(c) == 0)
		return G_SOURCE_CONTINUE;
	c->watch = 0;   /* removed by returning G_SOURCE_REMOVE */
	conn_close(c);
	return G_SOURCE_REMOVE;
}

/* The request line is complete: render the answer and start sending it. */
static gboolean conn_answer(struct ipop_api_conn *c)
{
	FILE *mf = open_memstream(&c->out, &c->out_len);
	struct ipop_api_req rq;
	int rc = ipop_api_req_parse(c->req, c->got, &rq);

	c->n->cs.api_requests++;
	if (mf == NULL) {
		c->n->cs.nomem++;
		c->watch = 0;
		conn_close(c);
		return G_SOURCE_REMOVE;
	}
	ipop_node_ports_poll(c->n);   /* the ports' counters as of now */
	reply(mf, &rq, rc, c->n);
	fclose(mf);
	if (conn_send(c) != 0) {
		c->watch = 0;
		conn_close(c);
		return G_SOURCE_REMOVE;
	}
	/* Replaces this watch: the socket is full, the client reads slowly. */
	c->watch = g_unix_fd_add(c->fd, G_IO_OUT, conn_writable, c);
	return G_SOURCE_REMOVE;
}

static gboolean conn_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct ipop_api_conn *c = data;
	ssize_t r = recv(fd, c->req + c->got, sizeof(c->req) - c->got, MSG_DONTWAIT);

	(void)cond;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return G_SOURCE_CONTINUE;
	if (r <= 0 && c->got == 0) {   /* gone before asking anything */
		c->watch = 0;
		conn_close(c);
		return G_SOURCE_REMOVE;
	}
	if (r > 0)
		c->got += (size_t)r;
	if (r > 0 && !ipop_api_req_complete(c->req, c->got))
		return G_SOURCE_CONTINUE;
	return conn_answer(c);   /* a line, a full buffer, or EOF after a partial line */
}

/* A free slot; when all are taken, the oldest client's, closed: clients that
 * hold connections open cannot lock out the next one (a ping is answered as
 * soon as it is read). */
static unsigned free_slot(struct ipop_node *n)
{
	unsigned oldest = 0;

	for (unsigned i = 0; i < IPOP_API_MAX_CONNS; i++) {
		if (n->api_conns[i] == NULL)
			return i;
		if (n->api_conns[i]->seq < n->api_conns[oldest]->seq)
			oldest = i;
	}
	n->cs.api_evicted++;
	conn_close(n->api_conns[oldest]);
	return oldest;
}

void ipop_api_serve(struct ipop_node *n)
{
	/* Every connection waiting now, but no more than there are slots. */
	for (unsigned k = 0; k < IPOP_API_MAX_CONNS; k++) {
		int fd = accept4(n->api_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		unsigned slot = 0;

		if (fd < 0)
			return;   /* EAGAIN: none left (or an error the next wake-up retries) */
		slot = free_slot(n);
		struct ipop_api_conn *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			n->cs.nomem++;
			close(fd);
			continue;
		}
		c->n = n;
		c->slot = slot;
		c->fd = fd;
		c->seq = ++n->api_seq;
		n->api_conns[slot] = c;
		c->watch = g_unix_fd_add(fd, G_IO_IN, conn_readable, c);
		c->timer = g_timeout_add(IPOP_API_DEADLINE_MS, conn_deadline, c);
	}
}

int ipop_api_open(struct ipop_node *n, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = n->cfg->api_socket;
	char dir[sizeof(n->cfg->api_socket)];

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control.api_socket: path too long");
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0750);   /* may exist already */
	}
	strcpy(sa.sun_path, path);
	n->api_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->api_fd < 0) {
		snprintf(err, errlen, "api socket: %s", strerror(errno));
		return -errno;
	}
	unlink(path);   /* a stale socket of a previous run */
	if (bind(n->api_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(n->api_fd, 8) != 0) {
		int e = errno;
		snprintf(err, errlen, "api socket %s: %s", path, strerror(e));
		close(n->api_fd);
		n->api_fd = -1;
		return -e;
	}
	chmod(path, 0660);
	return 0;
}

void ipop_api_close(struct ipop_node *n)
{
	for (unsigned i = 0; i < IPOP_API_MAX_CONNS; i++)
		if (n->api_conns[i] != NULL)
			conn_close(n->api_conns[i]);
	if (n->api_fd >= 0) {
		close(n->api_fd);
		unlink(n->cfg->api_socket);
		n->api_fd = -1;
	}
}

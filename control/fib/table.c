/* table.c - see table.h. Thread: control. */
#include "control/fib/table.h"
#include "control/config/config.h"
#include "control/ctrl_rx.h"
#include "control/fib/gateways.h"
#include "control/fib/neigh.h"
#include "control/fib/publish.h"
#include "control/session/handshake.h"
#include "control/session/keypair.h"
#include "control/node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>

#include "dataplane/encap.h"
#include "dataplane/tables.h"
#include "dataplane/turn.h"
#include "dataplane/wire.h"

_Static_assert(IPOP_FP_ICE_PORTS == IPOP_CFG_ICE_PORTS, "the agents' ports, both sides");

/* A relayed pair's peer: its outer headers go to the TURN server (ip:port)
 * behind a ChannelData header, and ChannelData on that channel to its agent
 * port is taken as the peer's (dataplane/turn.h). */
static void relay_peer(struct ipop_fp_table *t, const struct ipop_peer *p, struct ipop_fp_peer *fp)
{
	uint16_t above = (uint16_t)(rte_be_to_cpu_16(p->local_port) - rte_be_to_cpu_16(t->wan_port));

	if (p->relay_chan == 0 || above < 1 || above > t->wan_port_span)
		return;
	fp->hdr_ok = IPOP_HDR_TURN;
	fp->chan = rte_cpu_to_be_16(p->relay_chan);
	t->relay_rx[above] = (struct ipop_fp_relay){
		.srv_ip = p->ip, .srv_port = p->port, .chan = fp->chan,
	};
}

static void add_index(struct ipop_fp_table *t, struct ipop_keypair *kp)
{
	if (kp != NULL)
		t->by_index[rte_be_to_cpu_32(kp->local_index) & IPOP_INDEX_MASK] = kp;
}

/* Under load (control/ctrl_rx.c), what the workers need to check mac2 and
 * shed unproven initiations (dataplane/tables.h): the deadline in their clock,
 * the secret, and control's cookie replies a tick shared out over them
 * (rounded up: a tick's worth for each worker may reach control, at most
 * one reply's worth more per worker than it sends). */
static void load_fill(struct ipop_node *n, struct ipop_fp_table *t, uint64_t now)
{
	unsigned w = n->n_workers ? n->n_workers : 1;

	t->hs_budget_tsc = n->tsc_hz * IPOP_CTRL_TICK_MS / 1000;
	t->hs_budget_other = (uint16_t)((IPOP_CTRL_COOKIE_BUDGET_OTHER + w - 1) / w);
	t->hs_budget_known = (uint16_t)((IPOP_CTRL_COOKIE_BUDGET - IPOP_CTRL_COOKIE_BUDGET_OTHER +
					 w - 1) / w);
	if (!n->cookie.ready || now >= n->hs_load_until_ms) {
		n->hs_load_pub_ms = 0;
		return;
	}
	t->hs_load_until_tsc = rte_rdtsc() + (n->hs_load_until_ms - now) * n->tsc_hz / 1000;
	memcpy(t->cookie_secret, n->cookie.secret, sizeof(t->cookie_secret));
	t->cookie_set = 1;
	n->hs_load_pub_ms = n->hs_load_until_ms;
	n->hs_secret_pub_ms = n->cookie.secret_ms;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* known_ip sorted, each address once (peers behind one NAT share one). */
static void known_sort(struct ipop_fp_table *t)
{
	uint16_t k = 0;

	qsort(t->known_ip, t->n_known, sizeof(t->known_ip[0]), cmp_u32);
	for (uint16_t i = 0; i < t->n_known; i++)
		if (k == 0 || t->known_ip[k - 1] != t->known_ip[i])
			t->known_ip[k++] = t->known_ip[i];
	t->n_known = k;
}

int ipop_table_publish(struct ipop_node *n)
{
	struct ipop_fp_table *t = aligned_alloc(64, RTE_ALIGN_CEIL(sizeof(*t), 64));
	uint64_t now = ipop_now_ms();

	if (t == NULL) {
		n->cs.nomem++;
		return -ENOMEM;
	}
	memset(t, 0, sizeof(*t));
	t->version = ++n->table_version;
	t->wan_ip = n->cfg->wan_addr.s_addr;
	t->wan_port = rte_cpu_to_be_16(n->cfg->wan_port);
	t->wan_port_span = n->cfg->ice_enabled ? IPOP_CFG_ICE_PORTS : 0;   /* the links' ICE agents */
	t->wan_mac = n->wan.mac;
	t->wan_mtu = n->cfg->wan_mtu;
	/* Inner IPv4 MTU = underlay MTU - ipop overhead - inner Ethernet header. */
	t->mss_clamp = (uint16_t)(n->cfg->wan_mtu - IPOP_IP_OVERHEAD - 14 - 40);
	/* A relayed pair's messages carry a 4-byte ChannelData header too. */
	if (n->cfg->ice_enabled && n->cfg->ice_turn_ip.s_addr != 0) {
		t->mss_clamp = (uint16_t)(t->mss_clamp - IPOP_CHANDATA_HDR_LEN);
		t->turn_ip = n->cfg->ice_turn_ip.s_addr;
		t->turn_port = rte_cpu_to_be_16(n->cfg->ice_turn_port);
	}
	/* With symphony, TCP between sites without a tunnel crosses gateways as
	 * transit frames, which carry the fabric header too: leave room for it
	 * (a full-size segment would otherwise leave as two outer fragments). */
	if (n->cfg->signal_enabled && n->cfg->topo_policy != IPOP_TOPO_POLICY_ALLTOALL)
		t->mss_clamp = (uint16_t)(t->mss_clamp - IPOP_FABRIC_HDR_LEN);
	t->tsc_hz = n->tsc_hz;
	/* The workers check mac1 of every handshake before it may take a slot
	 * of the control ring (dataplane/hsmac.h). */
	memcpy(t->mac1_key, n->mac1_self, sizeof(t->mac1_key));
	t->mac1_set = 1;
	load_fill(n, t, now);
	t->n_peers = n->n_peers;
	/* Cookie replies under a flood go to these first (control/ctrl_rx.c);
	 * 2048 slots for at most IPOP_MAX_PEERS addresses: never full. */
	ipop_known_src_reset(&n->known_src);
	for (uint16_t i = 0; i < n->n_peers; i++) {
		struct ipop_peer *p = n->peers[i];
		struct ipop_fp_peer *fp = &t->peers[i];
		if (p == NULL)
			continue;
		(void)ipop_known_src_add(&n->known_src, p->ip);
		if (p->ip != 0)
			t->known_ip[t->n_known++] = p->ip;
		fp->tx = p->cur;
		fp->id = p->node_id;
		fp->ip = p->ip;
		fp->port = p->port;
		const struct ipop_neigh *nb = p->ip ? ipop_neigh_lookup(n, p->ip, now) : NULL;
		if (nb && nb->valid) {
			fp->nh_mac = nb->mac;
			fp->nh_valid = 1;
		}
		/* The outer header towards the peer, for the send path to copy
		 * (with a zero MAC while the next hop is unresolved: unused then). */
		struct ipop_encap_addr ea = {
			.src_mac = t->wan_mac, .dst_mac = fp->nh_mac,
			.src_ip = t->wan_ip, .dst_ip = fp->ip,
			.src_port = p->local_port ? p->local_port : t->wan_port,
			.dst_port = fp->port,
		};
		fp->hdr_sum = ipop_encap_template(fp->hdr, &ea);
		fp->hdr_ok = IPOP_HDR_TEMPLATE;
		relay_peer(t, p, fp);
		fp->up = p->cur != NULL && fp->nh_valid;
		add_index(t, p->cur);
		add_index(t, p->prev);
		add_index(t, p->next);
	}
	known_sort(t);
	t->self_id = n->node_id;
	ipop_fp_table_adjacency(t);
	ipop_gateways_fill(n, t);
	ipop_fp_table_gateways(t);
	n->dirty = false;
	n->cs.tables_published++;
	int r = ipop_publish_table(&n->pub, t);
	ipop_keypair_retired_published(n);
	return r;
}

uint16_t ipop_table_relay_chan(const struct ipop_node *n, uint32_t src_ip, uint16_t src_port,
			       uint16_t dst_port)
{
	/* Control's own load of the pointer it stores: no reader protection needed. */
	const struct ipop_fp_table *t = n->sh.table;

	if (t == NULL)
		return 0;
	uint16_t above = (uint16_t)(rte_be_to_cpu_16(dst_port) - rte_be_to_cpu_16(t->wan_port));
	if (above < 1 || above > t->wan_port_span || above > IPOP_FP_ICE_PORTS)
		return 0;
	const struct ipop_fp_relay *r = &t->relay_rx[above];
	if (r->chan == 0 || r->srv_ip != src_ip || r->srv_port != src_port)
		return 0;
	return rte_be_to_cpu_16(r->chan);
}

void ipop_table_flush(struct ipop_node *n)
{
	bool live = !n->dirty || ipop_table_publish(n) == 0;

	ipop_hs_send_queued(n, live);
}

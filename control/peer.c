/* peer.c - peers, their sessions (keypairs), receiver indices, and building the
 * fast-path table from them. Thread: control.
 *
 * A keypair's life: created by a finished handshake, put in a peer's cur/next
 * slot, published (by_index and, for cur, the peer's tx pointer), later retired:
 * removed from the peer, the table republished without it, and only after an RCU
 * grace period wiped and freed, so no lcore can be using it.
 */
#include "control/node.h"
#include "control/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>

#include "dataplane/encap.h"
#include "dataplane/wire.h"

uint64_t ipop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *ipop_peer_state_name(enum ipop_peer_state s)
{
	switch (s) {
	case IPOP_PEER_DOWN:
		return "down";
	case IPOP_PEER_HANDSHAKE:
		return "handshaking";
	case IPOP_PEER_UP:
		return "up";
	}
	return "?";
}

/* Sum of one slot's counters over the workers (none yet: zero). A worker
 * that still counts a just-freed slot's last packets (within one grace
 * period) can add a few of them after the next owner's base was taken. */
static void slot_counters(const struct ipop_node *n, uint16_t slot, struct ipop_peer_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned w = 0; n->workers != NULL && w < n->n_workers; w++) {
		const struct ipop_peer_counters *c = &n->workers[w].stats.peer[slot];
		out->tx_pkts += c->tx_pkts;
		out->tx_bytes += c->tx_bytes;
		out->rx_pkts += c->rx_pkts;
		out->rx_bytes += c->rx_bytes;
	}
}

int ipop_node_add_peer(struct ipop_node *n, const struct ipop_cfg_peer *cp)
{
	struct ipop_peer *p;

	if (memcmp(cp->public_key, n->id.pub, 32) == 0)
		return -EEXIST;   /* our own key in the peer list */
	if (ipop_node_find_peer(n, cp->public_key) != NULL)
		return -EEXIST;
	uint16_t slot = n->n_peers;
	if (slot >= IPOP_MAX_PEERS) {
		/* Reuse an empty slot only when no fresh one is left: a worker may
		 * still count or learn into a just-freed slot for one grace period. */
		for (slot = 0; slot < n->n_peers && n->peers[slot] != NULL; slot++)
			;
		if (slot == n->n_peers)
			return -ENOSPC;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->slot = slot;
	slot_counters(n, slot, &p->base);
	snprintf(p->name, sizeof(p->name), "%s", cp->name);
	memcpy(p->pub, cp->public_key, 32);
	ipop_noise_mac1_key(p->pub, p->mac1_key);
	p->ip = cp->endpoint_ip.s_addr;
	p->port = rte_cpu_to_be_16(cp->endpoint_port);
	p->send_cipher = IPOP_CIPHER_AES256GCM;
	p->state = IPOP_PEER_DOWN;
	/* Spread first attempts so that two static peers rarely collide. */
	p->hs_next_ms = ipop_now_ms() + randombytes_uniform(200);
	n->peers[slot] = p;
	if (slot == n->n_peers)
		n->n_peers++;
	n->dirty = true;
	return 0;
}

int ipop_node_remove_peer(struct ipop_node *n, const uint8_t pub[32], const char *why)
{
	struct ipop_peer *p = ipop_node_find_peer(n, pub);

	if (p == NULL)
		return -ENOENT;
	/* Sessions are unpublished and their keys wiped after the grace period;
	 * then the slot disappears from the next table. */
	ipop_peer_reset(n, p, why);
	n->peers[p->slot] = NULL;
	n->dirty = true;
	ipop_node_publish(n);
	sodium_memzero(p, sizeof(*p));
	free(p);
	return 0;
}

struct ipop_peer *ipop_node_find_peer(struct ipop_node *n, const uint8_t pub[32])
{
	for (uint16_t i = 0; i < n->n_peers; i++)
		if (n->peers[i] && sodium_memcmp(n->peers[i]->pub, pub, 32) == 0)
			return n->peers[i];
	return NULL;
}

int ipop_index_alloc(struct ipop_node *n, uint32_t *wire_index)
{
	uint32_t start = randombytes_uniform(IPOP_MAX_KEYPAIRS);

	for (uint32_t i = 0; i < IPOP_MAX_KEYPAIRS; i++) {
		uint32_t s = (start + i) & IPOP_INDEX_MASK;
		if (n->index_used[s])
			continue;
		n->index_used[s] = 1;
		/* Random high bits: a stale or guessed index rarely hits a live slot. */
		uint32_t v = (randombytes_random() & ~IPOP_INDEX_MASK) | s;
		*wire_index = rte_cpu_to_be_32(v);
		return 0;
	}
	return -ENOSPC;
}

void ipop_index_free(struct ipop_node *n, uint32_t wire_index)
{
	n->index_used[rte_be_to_cpu_32(wire_index) & IPOP_INDEX_MASK] = 0;
}

struct ipop_keypair *ipop_keypair_new(struct ipop_node *n, struct ipop_peer *p,
				      const struct ipop_noise_session *keys,
				      uint32_t local_index, uint32_t remote_index,
				      bool initiator, int *err)
{
	/* The keys' storage follows the struct, each as large as this node's
	 * IPsec-MB code path needs for its cipher (dataplane/tables.h); all sizes
	 * are multiples of 64, as aligned_alloc wants. */
	size_t ssz = ipop_aead_key_size(n->aead, p->send_cipher);
	size_t rsz = ipop_aead_key_size(n->aead, n->cfg->cipher);
	struct ipop_keypair *kp;

	if (ssz == 0 || rsz == 0) {
		*err = -EINVAL;
		return NULL;
	}
	kp = aligned_alloc(64, RTE_ALIGN_CEIL(sizeof(*kp) + ssz + rsz, 64));
	if (kp == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	memset(kp, 0, sizeof(*kp));
	*err = ipop_aead_key_init(n->aead, &kp->send_key, kp->key_store, ssz,
				  p->send_cipher, keys->send);
	if (*err == 0)
		*err = ipop_aead_key_init(n->aead, &kp->recv_key, kp->key_store + ssz, rsz,
					  n->cfg->cipher, keys->recv);
	if (*err != 0) {
		ipop_aead_key_wipe(&kp->send_key);
		ipop_aead_key_wipe(&kp->recv_key);
		free(kp);
		return NULL;
	}
	kp->local_index = local_index;
	kp->remote_index = remote_index;
	kp->peer_slot = p->slot;
	kp->initiator = initiator;
	kp->created_tsc = rte_rdtsc();
	kp->expire_tsc = kp->created_tsc + (uint64_t)n->cfg->reject_after_s * n->tsc_hz;
	ipop_replay_init(&kp->replay);
	return kp;
}

/* A keypair on its way out: first on node->retiring until a table without it
 * is published, then in the publisher's limbo until the grace period ends. */
struct ipop_retired {
	struct ipop_node *n;
	struct ipop_keypair *kp;
	struct ipop_retired *next;
};

static void keypair_destroy(struct ipop_node *n, struct ipop_keypair *kp)
{
	ipop_aead_key_wipe(&kp->send_key);
	ipop_aead_key_wipe(&kp->recv_key);
	ipop_index_free(n, kp->local_index);
	free(kp);
}

static void keypair_free(void *obj)
{
	struct ipop_retired *r = obj;

	keypair_destroy(r->n, r->kp);
	free(r);
}

void ipop_keypair_retire(struct ipop_node *n, struct ipop_keypair **kpp)
{
	struct ipop_keypair *kp = *kpp;
	struct ipop_retired *r;

	if (kp == NULL)
		return;
	*kpp = NULL;
	n->dirty = true;
	r = malloc(sizeof(*r));
	if (r == NULL) {
		/* No room to queue it: take it out of the table and wait here. */
		ipop_node_publish(n);
		rte_rcu_qsbr_synchronize(n->sh.qsbr, RTE_QSBR_THRID_INVALID);
		keypair_destroy(n, kp);
		return;
	}
	r->n = n;
	r->kp = kp;
	r->next = n->retiring;
	n->retiring = r;
}

/* The table just published no longer references the retiring keypairs: their
 * grace period starts now. */
static void retiring_to_limbo(struct ipop_node *n)
{
	while (n->retiring != NULL) {
		struct ipop_retired *r = n->retiring;
		n->retiring = r->next;
		ipop_publish_defer(&n->pub, r, keypair_free);
	}
}

void ipop_peer_reset(struct ipop_node *n, struct ipop_peer *p, const char *why)
{
	if (p->state == IPOP_PEER_UP)
		LOG_INFO("peer %s: down (%s)", p->name, why);
	snprintf(p->last_error, sizeof(p->last_error), "%s", why);
	ipop_keypair_retire(n, &p->cur);
	ipop_keypair_retire(n, &p->prev);
	ipop_keypair_retire(n, &p->next);
	if (p->hs_active) {
		ipop_noise_hs_wipe(&p->hs);
		ipop_index_free(n, p->hs_index);
		p->hs_active = false;
	}
	p->state = IPOP_PEER_DOWN;
	ipop_bridge_flush_loc(&n->sh.bridge, p->slot);
	n->dirty = true;
}

void ipop_peer_counters(const struct ipop_node *n, const struct ipop_peer *p,
			struct ipop_peer_counters *out)
{
	slot_counters(n, p->slot, out);
	out->tx_pkts -= p->base.tx_pkts;
	out->tx_bytes -= p->base.tx_bytes;
	out->rx_pkts -= p->base.rx_pkts;
	out->rx_bytes -= p->base.rx_bytes;
}

static void add_index(struct ipop_fp_table *t, struct ipop_keypair *kp)
{
	if (kp != NULL)
		t->by_index[rte_be_to_cpu_32(kp->local_index) & IPOP_INDEX_MASK] = kp;
}

int ipop_node_publish(struct ipop_node *n)
{
	struct ipop_fp_table *t = aligned_alloc(64, RTE_ALIGN_CEIL(sizeof(*t), 64));
	uint64_t now = ipop_now_ms();

	if (t == NULL)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	t->version = ++n->table_version;
	t->wan_ip = n->cfg->wan_addr.s_addr;
	t->wan_port = rte_cpu_to_be_16(n->cfg->wan_port);
	t->wan_mac = n->wan.mac;
	t->wan_mtu = n->cfg->wan_mtu;
	/* Inner IPv4 MTU = underlay MTU - ipop overhead - inner Ethernet header. */
	t->mss_clamp = (uint16_t)(n->cfg->wan_mtu - IPOP_IP_OVERHEAD - 14 - 40);
	t->tsc_hz = n->tsc_hz;
	t->n_peers = n->n_peers;
	for (uint16_t i = 0; i < n->n_peers; i++) {
		struct ipop_peer *p = n->peers[i];
		struct ipop_fp_peer *fp = &t->peers[i];
		if (p == NULL)
			continue;
		fp->tx = p->cur;
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
			.src_port = t->wan_port, .dst_port = fp->port,
		};
		fp->hdr_sum = ipop_encap_template(fp->hdr, &ea);
		fp->hdr_ok = 1;
		fp->up = p->cur != NULL && fp->nh_valid;
		if (fp->up)
			t->flood[t->n_flood++] = i;
		add_index(t, p->cur);
		add_index(t, p->prev);
		add_index(t, p->next);
	}
	n->dirty = false;
	n->cs.tables_published++;
	int r = ipop_publish_table(&n->pub, t);
	retiring_to_limbo(n);
	return r;
}

void ipop_node_queue_resp(struct ipop_node *n, uint32_t ip, uint16_t port,
			  const struct ipop_hs_resp *msg)
{
	if (n->n_pending_resp == IPOP_PENDING_RESP)
		ipop_node_flush(n);
	struct ipop_pending_resp *q = &n->pending_resp[n->n_pending_resp++];
	q->ip = ip;
	q->port = port;
	q->msg = *msg;
}

void ipop_node_flush(struct ipop_node *n)
{
	bool live = !n->dirty || ipop_node_publish(n) == 0;

	for (unsigned i = 0; i < n->n_pending_resp; i++) {
		struct ipop_pending_resp *q = &n->pending_resp[i];
		/* Unpublished, the index is unknown to the workers: the initiator's
		 * confirmation would be dropped, so it had better retry. */
		if (!live)
			n->cs.hs_resp_dropped++;
		else if (ipop_ctrl_send_udp(n, q->ip, q->port, &q->msg, sizeof(q->msg)) == 0)
			n->cs.hs_resp_tx++;
	}
	n->n_pending_resp = 0;
}

/* keypair.c - see keypair.h. Thread: control. */
#include "control/session/keypair.h"
#include "control/session/peer.h"
#include "control/fib/table.h"
#include "control/node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>

#include "dataplane/tables.h"
#include "dataplane/wire.h"

int ipop_index_alloc(struct ipop_node *n, uint32_t *wire_index)
{
	uint32_t start = randombytes_uniform(IPOP_MAX_KEYPAIRS);

	for (uint32_t i = 0; i < IPOP_MAX_KEYPAIRS; i++) {
		uint32_t s = (start + i) & IPOP_INDEX_MASK;
		if (n->index_used[s])
			continue;
		n->index_used[s] = 1;
		/* Random high bits: a stale or guessed index rarely hits a live slot.
		 * Never STUN's magic cookie, which marks STUN on the tunnel's port
		 * (dataplane/wire.h, ipop_wire_is_stun). */
		uint32_t v;
		do
			v = (randombytes_random() & ~IPOP_INDEX_MASK) | s;
		while (v == IPOP_STUN_MAGIC);
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
		n->cs.nomem++;
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
		n->cs.nomem++;
		ipop_table_publish(n);
		rte_rcu_qsbr_synchronize(n->sh.qsbr, RTE_QSBR_THRID_INVALID);
		keypair_destroy(n, kp);
		return;
	}
	r->n = n;
	r->kp = kp;
	r->next = n->retiring;
	n->retiring = r;
}

void ipop_keypair_retired_published(struct ipop_node *n)
{
	while (n->retiring != NULL) {
		struct ipop_retired *r = n->retiring;
		n->retiring = r->next;
		ipop_publish_defer(&n->pub, r, keypair_free);
	}
}

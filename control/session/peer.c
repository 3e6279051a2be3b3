/* peer.c - see peer.h. Thread: control. */
#include "control/session/peer.h"
#include "control/session/cookie.h"
#include "control/config/identity.h"
#include "control/session/handshake.h"
#include "control/session/keypair.h"
#include "control/fib/table.h"
#include "control/log.h"
#include "control/node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <rte_byteorder.h>

#include "dataplane/bridge.h"

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
	for (unsigned w = 0; n->workers != NULL && w < n->n_workers; w++)
		ipop_counters_add(out, &n->workers[w].stats.peer[slot], &ipop_peer_family);
}

int ipop_peer_add(struct ipop_node *n, const struct ipop_cfg_peer *cp)
{
	struct ipop_peer *p;

	if (memcmp(cp->public_key, n->id.pub, 32) == 0)
		return -EEXIST;   /* our own key in the peer list */
	if (ipop_peer_find(n, cp->public_key) != NULL)
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
	p->node_id = ipop_node_id_of_key(p->pub);
	ipop_noise_mac1_key(p->pub, p->mac1_key);
	ipop_cookie_reply_key(p->pub, p->cookie_key);
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

int ipop_peer_remove(struct ipop_node *n, const uint8_t pub[32], const char *why)
{
	struct ipop_peer *p = ipop_peer_find(n, pub);

	if (p == NULL)
		return -ENOENT;
	/* Sessions are unpublished and their keys wiped after the grace period;
	 * then the slot disappears from the next table. */
	ipop_peer_reset(n, p, why);
	n->peers[p->slot] = NULL;
	n->dirty = true;
	ipop_table_publish(n);
	sodium_memzero(p, sizeof(*p));
	free(p);
	return 0;
}

struct ipop_peer *ipop_peer_find(struct ipop_node *n, const uint8_t pub[32])
{
	for (uint16_t i = 0; i < n->n_peers; i++)
		if (n->peers[i] && sodium_memcmp(n->peers[i]->pub, pub, 32) == 0)
			return n->peers[i];
	return NULL;
}

void ipop_peer_reset(struct ipop_node *n, struct ipop_peer *p, const char *why)
{
	if (p->state == IPOP_PEER_UP)
		LOG_INFO("peer %s: down (%s)", p->name, why);
	snprintf(p->last_error, sizeof(p->last_error), "%s", why);
	ipop_keypair_retire(n, &p->cur);
	ipop_keypair_retire(n, &p->prev);
	ipop_keypair_retire(n, &p->next);
	ipop_hs_abandon(n, p);
	p->state = IPOP_PEER_DOWN;
	ipop_bridge_flush_loc(&n->sh.bridge, p->slot);
	ipop_routes_flush_nbr(&n->sh.routes, p->slot);   /* flooded until relearnt */
	n->dirty = true;
}

void ipop_peer_counters(const struct ipop_node *n, const struct ipop_peer *p,
			struct ipop_peer_counters *out)
{
	slot_counters(n, p->slot, out);
	ipop_counters_sub(out, &p->base, &ipop_peer_family);
}

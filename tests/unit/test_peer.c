/* test_peer.c - peer slots of the control thread (control/session/peer.c): a peer that
 * takes over a slot another peer left starts its counters at zero, although
 * the workers' per-slot counters keep the old owner's numbers (only a worker's
 * own lcore writes them, so control never resets them).
 *
 * Thread: a plain test program; no EAL, the "workers" are bare structs.
 */
#include "tests/unit/check.h"
#include "control/node.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static struct ipop_node node;

static void counts(struct ipop_worker *w, uint16_t slot, uint64_t pkts)
{
	w->stats.peer[slot].tx_packets += pkts;
	w->stats.peer[slot].tx_bytes += pkts * 100;
	w->stats.peer[slot].rx_packets += 2 * pkts;
	w->stats.peer[slot].rx_bytes += 2 * pkts * 100;
}

static struct ipop_cfg_peer cfg_peer(unsigned i)
{
	struct ipop_cfg_peer cp;

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.name, sizeof(cp.name), "peer-%u", i);
	randombytes_buf(cp.public_key, sizeof(cp.public_key));
	cp.endpoint_port = 5800;
	return cp;
}

static void test_slot_reuse(void)
{
	struct ipop_node *n = &node;
	struct ipop_peer_counters c;

	randombytes_buf(n->id.pub, sizeof(n->id.pub));
	n->n_workers = 2;
	n->workers = aligned_alloc(64, 2 * sizeof(*n->workers));
	CHECK(n->workers != NULL);
	if (n->workers == NULL)
		return;
	memset(n->workers, 0, 2 * sizeof(*n->workers));

	/* Fill every slot; the peer in slot 7 sends and receives on both workers. */
	for (unsigned i = 0; i < IPOP_MAX_PEERS; i++) {
		struct ipop_cfg_peer cp = cfg_peer(i);
		CHECK(ipop_peer_add(n, &cp) == 0);
	}
	CHECK(n->n_peers == IPOP_MAX_PEERS);
	struct ipop_cfg_peer extra = cfg_peer(9999);
	CHECK(ipop_peer_add(n, &extra) == -ENOSPC);
	counts(&n->workers[0], 7, 10);
	counts(&n->workers[1], 7, 5);
	ipop_peer_counters(n, n->peers[7], &c);
	CHECK(c.tx_packets == 15 && c.tx_bytes == 1500 && c.rx_packets == 30 && c.rx_bytes == 3000);

	/* It leaves (what ipop_peer_remove does to the slot); a new peer
	 * takes slot 7, the only free one, and starts from zero. */
	free(n->peers[7]);
	n->peers[7] = NULL;
	CHECK(ipop_peer_add(n, &extra) == 0);
	struct ipop_peer *p = ipop_peer_find(n, extra.public_key);
	CHECK(p != NULL && p->slot == 7);
	if (p == NULL)
		return;
	ipop_peer_counters(n, p, &c);
	CHECK(c.tx_packets == 0 && c.tx_bytes == 0 && c.rx_packets == 0 && c.rx_bytes == 0);
	/* Its own traffic counts, on any worker. */
	counts(&n->workers[1], 7, 3);
	ipop_peer_counters(n, p, &c);
	CHECK(c.tx_packets == 3 && c.tx_bytes == 300 && c.rx_packets == 6 && c.rx_bytes == 600);
	/* A peer in a slot nobody else held still reads zero. */
	ipop_peer_counters(n, n->peers[8], &c);
	CHECK(c.tx_packets == 0 && c.rx_packets == 0);

	for (unsigned i = 0; i < n->n_peers; i++)
		free(n->peers[i]);
	free(n->workers);
}

int main(void)
{
	CHECK(sodium_init() >= 0);
	test_slot_reuse();
	return check_report("peer");
}

/* test_peer.c - peer slots of the control thread (control/session/peer.c): a peer that
 * takes over a slot another peer left starts its counters at zero, although
 * the workers' per-slot counters keep the old owner's numbers (only a worker's
 * own lcore writes them, so control never resets them).
 *
 * Thread: a plain test program; no EAL, the "workers" are bare structs.
 */
#include "tests/unit/check.h"
#include "control/node.h"
#include "control/config/identity.h"
#include "control/fib/table.h"
#include "dataplane/flood.h"

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
	/* Every peer knows its place on the ring: the hash of its key. */
	CHECK(ipop_node_id_eq(p->node_id, ipop_node_id_of_key(extra.public_key)));

	for (unsigned i = 0; i < n->n_peers; i++)
		free(n->peers[i]);
	free(n->workers);
}

/* The published adjacency: exactly the up peers, strictly increasing by node
 * ID with their slots, in the form Bounded Flood takes (control/fib/table.c). */
static void test_adjacency(void)
{
	static struct ipop_fp_table t;
	struct ipop_flood_fwd fwd[IPOP_MAX_PEERS];
	unsigned up = 0;

	memset(&t, 0, sizeof(t));
	t.n_peers = 200;
	randombytes_buf(&t.self_id, sizeof(t.self_id));
	for (uint16_t i = 0; i < t.n_peers; i++) {
		randombytes_buf(&t.peers[i].id, sizeof(t.peers[i].id));
		t.peers[i].up = (uint8_t)(randombytes_uniform(3) != 0);
		up += t.peers[i].up;
	}
	ipop_fp_table_adjacency(&t);
	CHECK(t.n_adj == up);
	CHECK(ipop_ring_is_sorted(t.adj_id, t.n_adj));
	bool seen[200] = { false }, ok = true;
	for (uint16_t i = 0; i < t.n_adj; i++) {
		uint16_t s = t.adj_slot[i];
		ok = ok && s < t.n_peers && t.peers[s].up && !seen[s] &&
		     ipop_node_id_eq(t.adj_id[i], t.peers[s].id);
		if (s < 200)
			seen[s] = true;
	}
	CHECK(ok);
	/* An originated flood reaches every neighbour in the adjacency once. */
	CHECK(ipop_flood_next_hops(t.self_id, t.adj_id, t.n_adj, NULL, fwd, IPOP_MAX_PEERS) ==
	      (int)t.n_adj);
	/* The table's copy of it (what an originating lcore uses) is the same. */
	CHECK(t.n_orig == (int32_t)t.n_adj);
	ok = true;
	for (uint16_t i = 0; i < t.n_adj; i++)
		ok = ok && t.orig_fwd[i].nbr == fwd[i].nbr &&
		     ipop_node_id_eq(t.orig_fwd[i].bound, fwd[i].bound);
	CHECK(ok);
	/* Rebuilt after a neighbour goes down: the copies follow. */
	uint16_t gone = t.adj_slot[0];
	t.peers[gone].up = 0;
	ipop_fp_table_adjacency(&t);
	CHECK(t.n_orig == (int32_t)up - 1 && t.n_adj == up - 1);
	ok = true;
	for (int32_t i = 0; i < t.n_orig; i++)
		ok = ok && t.adj_slot[t.orig_fwd[i].nbr] != gone;
	CHECK(ok);
	/* None up: empty. */
	for (uint16_t i = 0; i < t.n_peers; i++)
		t.peers[i].up = 0;
	ipop_fp_table_adjacency(&t);
	CHECK(t.n_adj == 0);
	CHECK(t.n_orig == 0);
}

int main(void)
{
	CHECK(sodium_init() >= 0);
	test_slot_reuse();
	test_adjacency();
	return check_report("peer");
}

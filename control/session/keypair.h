/* keypair.h - sessions (struct ipop_keypair) and the receiver indices that name
 * them on the wire. Thread: control.
 *
 * A keypair's life: created by a finished handshake, put in a peer's cur/next
 * slot, published (by_index and, for cur, the peer's tx pointer), later retired:
 * removed from the peer, the table republished without it, and only after an
 * RCU grace period wiped and freed, so no lcore can be using it. The keypair
 * struct itself is shared with the fast path (dataplane/tables.h says what the
 * lcores may touch).
 */
#ifndef IPOP_CONTROL_SESSION_KEYPAIR_H
#define IPOP_CONTROL_SESSION_KEYPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "control/session/noise.h"

struct ipop_node;
struct ipop_peer;
struct ipop_keypair;

/* Create a keypair from handshake keys; returns NULL and sets *err on failure. */
struct ipop_keypair *ipop_keypair_new(struct ipop_node *n, struct ipop_peer *p,
				      const struct ipop_noise_session *keys,
				      uint32_t local_index, uint32_t remote_index,
				      bool initiator, int *err);
/* Take *kp out of its peer (pointer set to NULL): it leaves the next published
 * table and is wiped and freed one grace period after that. */
void ipop_keypair_retire(struct ipop_node *n, struct ipop_keypair **kp);
/* A table without the retired keypairs was just published: start their grace
 * period (called by ipop_table_publish). */
void ipop_keypair_retired_published(struct ipop_node *n);

/* A free receiver index (wire order, random high bits) or -ENOSPC. */
int ipop_index_alloc(struct ipop_node *n, uint32_t *wire_index);
void ipop_index_free(struct ipop_node *n, uint32_t wire_index);

#endif

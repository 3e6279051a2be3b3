/* flood_policy.h - the one place that decides where a broadcast, multicast or
 * unknown-unicast frame from a local port goes among the peers.
 * Thread: fast path. Today: every peer in the published flood set (full mesh).
 * Bounded Flood (dataplane/flood.h) replaces this body; callers stay the same.
 */
#ifndef IPOP_DATAPLANE_FLOOD_POLICY_H
#define IPOP_DATAPLANE_FLOOD_POLICY_H

#include <stdint.h>
#include <string.h>
#include "dataplane/tables.h"

static inline uint16_t ipop_flood_targets(const struct ipop_fp_table *t, uint16_t *out, uint16_t max)
{
	uint16_t n = t->n_flood < max ? t->n_flood : max;

	memcpy(out, t->flood, n * sizeof(out[0]));
	return n;
}

#endif

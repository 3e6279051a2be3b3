/* bridge.h - the learning table: which MAC is where (LAN, host TAP, or a peer).
 *
 * Thread: fast path (lookup and learn on every lcore) and control (flush).
 * Protection: lock-free and deliberately lossy. Each entry is one 64-bit word
 * (48-bit MAC << 16 | 16-bit location) written with a single relaxed atomic
 * store, so a reader sees either the old or the new entry, never a mix. Two lcores
 * learning into the same bucket at once may overwrite each other; the loser
 * relearns on its next frame. Learning writes only when something changed (new
 * MAC, moved MAC, or a timestamp older than a second) so steady traffic causes no
 * cache-line ping-pong. Entries older than the ageing time read as misses.
 */
#ifndef IPOP_DATAPLANE_BRIDGE_H
#define IPOP_DATAPLANE_BRIDGE_H

#include <stdint.h>
#include <stdbool.h>
#include <string.h>

#define IPOP_LOC_LAN   0xFFFFu
#define IPOP_LOC_HOST  0xFFFEu
#define IPOP_LOC_NONE  0xFFFDu   /* lookup miss */
#define IPOP_LOC_PEER_MAX 0xFFF0u

#define IPOP_BRIDGE_WAYS 4

struct ipop_bridge_bucket {
	uint64_t ent[IPOP_BRIDGE_WAYS];
	uint32_t seen[IPOP_BRIDGE_WAYS];  /* coarse seconds */
	uint32_t pad[IPOP_BRIDGE_WAYS];
} __attribute__((aligned(64)));

struct ipop_bridge {
	uint32_t mask;                    /* n_buckets - 1 */
	uint32_t age_s;
	struct ipop_bridge_bucket *b;
};

/* n_entries is rounded up to a power of two (at least 64). */
int ipop_bridge_init(struct ipop_bridge *br, uint32_t n_entries, uint32_t age_s);
void ipop_bridge_free(struct ipop_bridge *br);

/* mac: 6 bytes. now_s: coarse seconds. */
uint16_t ipop_bridge_lookup(const struct ipop_bridge *br, const uint8_t *mac, uint32_t now_s);
/* Returns true if the table changed (new or moved MAC). */
bool ipop_bridge_learn(struct ipop_bridge *br, const uint8_t *mac, uint16_t loc, uint32_t now_s);
/* Forget every MAC at loc (a peer that went away). Control thread. Returns count. */
unsigned ipop_bridge_flush_loc(struct ipop_bridge *br, uint16_t loc);
/* Visit live entries (for the management API). */
typedef void (*ipop_bridge_visit_fn)(const uint8_t mac[6], uint16_t loc, uint32_t age_s, void *arg);
void ipop_bridge_walk(const struct ipop_bridge *br, uint32_t now_s, ipop_bridge_visit_fn fn, void *arg);

static inline uint64_t ipop_mac_u64(const uint8_t *m)
{
	return ((uint64_t)m[0] << 40) | ((uint64_t)m[1] << 32) | ((uint64_t)m[2] << 24) |
	       ((uint64_t)m[3] << 16) | ((uint64_t)m[4] << 8) | (uint64_t)m[5];
}

/* A MAC as a 48-bit key for equality tests only (two loads, any byte order):
 * the per-burst learn/lookup caches of send.c and receive.c. */
#define IPOP_NO_MAC_KEY UINT64_MAX   /* never a 48-bit key */
static inline uint64_t ipop_mac_key(const uint8_t *m)
{
	uint32_t hi;
	uint16_t lo;

	memcpy(&hi, m, 4);
	memcpy(&lo, m + 4, 2);
	return (uint64_t)hi << 16 | lo;
}

#endif

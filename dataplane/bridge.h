/* bridge.h - the learning table: which MAC is where (LAN, host TAP, or a peer).
 *
 * Thread: fast path (lookup and learn on every lcore) and control (flush).
 * Protection: lock-free and deliberately lossy. Each entry is one 64-bit word
 * (48-bit MAC key of ipop_mac_key << 16 | 16-bit location) written with a
 * single relaxed atomic store, so a reader sees either the old or the new entry, never a mix. Two lcores
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

/* A MAC as a 48-bit key: two loads in host order (the bytes of the MAC in
 * memory order on a little-endian CPU). The bridge stores and hashes MACs in
 * this form; ipop_mac_from_key gives the bytes back. */
#define IPOP_NO_MAC_KEY UINT64_MAX   /* never a 48-bit key */
static inline uint64_t ipop_mac_key(const uint8_t *m)
{
	uint32_t hi;
	uint16_t lo;

	memcpy(&hi, m, 4);
	memcpy(&lo, m + 4, 2);
	return (uint64_t)hi << 16 | lo;
}

static inline void ipop_mac_from_key(uint8_t mac[6], uint64_t key)
{
	uint32_t hi = (uint32_t)(key >> 16);
	uint16_t lo = (uint16_t)key;

	memcpy(mac, &hi, 4);
	memcpy(mac + 4, &lo, 2);
}

/* The bridge work already done in one burst of one lcore (on the stack of the
 * rx function): a learn repeated for the same (MAC, location) is skipped and a
 * lookup repeated for the same MAC reuses its answer. This is invisible:
 * between two learns the lcore writes nothing else to the bridge (lookups
 * only), now_s is fixed for the burst, and the previous learn left the entry
 * with seen = now_s, so the skipped call would find it, write nothing and
 * return false. Another lcore or control changing an entry in between is a race
 * the lock-free bridge allows anyway. The cached lookup is dropped when a learn
 * inserts or moves an entry (an insertion may evict any way of its bucket) or
 * refreshes the cached MAC itself (an aged entry becomes live again); a learn
 * that finds its own MAC unchanged touches only that MAC's way. */
struct ipop_bridge_burst {
	uint64_t learnt;      /* MAC key of the last learn, or IPOP_NO_MAC_KEY */
	uint16_t learnt_loc;  /* ... and its location */
	uint16_t found_loc;   /* answer of the last lookup ... */
	uint64_t found;       /* ... for this MAC key, or IPOP_NO_MAC_KEY */
};

static inline void ipop_bridge_burst_init(struct ipop_bridge_burst *bb)
{
	bb->learnt = IPOP_NO_MAC_KEY;
	bb->learnt_loc = IPOP_LOC_NONE;
	bb->found = IPOP_NO_MAC_KEY;
	bb->found_loc = IPOP_LOC_NONE;
}

/* ipop_bridge_learn through the burst cache. */
static inline bool ipop_bridge_burst_learn(struct ipop_bridge *br, struct ipop_bridge_burst *bb,
					   const uint8_t *mac, uint16_t loc, uint32_t now_s)
{
	uint64_t k = ipop_mac_key(mac);

	if (k == bb->learnt && loc == bb->learnt_loc)
		return false;
	bool changed = ipop_bridge_learn(br, mac, loc, now_s);
	if (changed || k == bb->found)
		bb->found = IPOP_NO_MAC_KEY;
	bb->learnt = k;
	bb->learnt_loc = loc;
	return changed;
}

/* ipop_bridge_lookup through the burst cache. */
static inline uint16_t ipop_bridge_burst_lookup(const struct ipop_bridge *br,
						struct ipop_bridge_burst *bb,
						const uint8_t *mac, uint32_t now_s)
{
	uint64_t k = ipop_mac_key(mac);

	if (k != bb->found) {
		bb->found_loc = ipop_bridge_lookup(br, mac, now_s);
		bb->found = k;
	}
	return bb->found_loc;
}

#endif

/* bridge.h - the learning table: which MAC is where (LAN, host TAP, or a peer).
 *
 * Thread: fast path (lookup and learn on every lcore) and control (flush).
 * Protection: lock-free and deliberately lossy. Each entry is one 64-bit word
 * (48-bit MAC key of ipop_mac_key << 16 | 16-bit location) written with a
 * single relaxed atomic store, so a reader sees either the old or the new
 * entry, never a mix. Two lcores learning into the same bucket at once may
 * overwrite each other; the loser relearns on its next frame. Learning writes only when something changed (new
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
	/* Moves on every change of the table (learn: new or moved MAC; flush):
	 * the per-lcore caches (below) compare it. Written by whoever changes an
	 * entry, right after the change (release); its own line, because lcores
	 * read it once per burst. */
	uint32_t gen __attribute__((aligned(64)));
};

/* n_entries is rounded up to a power of two (at least 64). */
int ipop_bridge_init(struct ipop_bridge *br, uint32_t n_entries, uint32_t age_s);
void ipop_bridge_free(struct ipop_bridge *br);

/* mac: 6 bytes. now_s: coarse seconds. */
uint16_t ipop_bridge_lookup(const struct ipop_bridge *br, const uint8_t *mac, uint32_t now_s);
/* Returns true if the table changed (new or moved MAC). */
bool ipop_bridge_learn(struct ipop_bridge *br, const uint8_t *mac, uint16_t loc, uint32_t now_s);
/* A MAC's link-local group (IEEE 802.1D reserved, 01:80:C2:00:00:00-0F: STP,
 * PAUSE, LACP, EAPOL...): frames to it belong to one link and never cross the
 * overlay. */
static inline bool ipop_mac_link_local(const uint8_t *mac)
{
	return mac[0] == 0x01 && mac[1] == 0x80 && mac[2] == 0xC2 && mac[3] == 0 && mac[4] == 0 &&
	       (mac[5] & 0xF0) == 0;
}

/* How long a MAC seen on a local port (LAN, host) stays there whatever a peer's
 * frames claim: a peer cannot take a local host's MAC; a host that really moved
 * to another site is learnt there this long after its last frame here. */
#define IPOP_MAC_HOLD_S 5

enum ipop_learn_result {
	IPOP_LEARN_SAME,      /* known at loc: refreshed */
	IPOP_LEARN_CHANGED,   /* new, or moved to loc */
	IPOP_LEARN_HELD,      /* seen on a local port within IPOP_MAC_HOLD_S: not moved */
	IPOP_LEARN_NO_ROOM,   /* new, and every way of its bucket holds a live local MAC */
	IPOP_LEARN_LIMITED,   /* a change, but may_change was false: not made */
};

/* Learn mac behind a remote location loc (a peer, or a gateway behind one):
 * as ipop_bridge_learn, except that a MAC seen on a local port within
 * IPOP_MAC_HOLD_S is not moved, a new MAC never takes the way of a live local
 * one, and nothing changes unless may_change (the caller's rate limit). */
enum ipop_learn_result ipop_bridge_learn_remote(struct ipop_bridge *br, const uint8_t *mac,
						uint16_t loc, uint32_t now_s, bool may_change);
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
static inline uint64_t ipop_mac_key(const uint8_t *m)
{
	uint32_t hi;
	uint16_t lo;

	memcpy(&hi, m, 4);
	memcpy(&lo, m + 4, 2);
	return (uint64_t)hi << 16 | lo;
}

/* A 64-bit multiplicative mix of a MAC key (MAC vendor prefixes are highly
 * regular). The table's bucket is the low bits of its two halves folded
 * (ipop_mac_hash); a per-lcore cache slot (below) its top 8 bits, one
 * instruction less on the path every frame takes twice (3 cycles a frame at
 * 1420 bytes, measured). */
static inline uint64_t ipop_mac_mix(uint64_t key)
{
	return key * 0x9E3779B97F4A7C15ull;
}

static inline uint32_t ipop_mac_hash(uint64_t key)
{
	uint64_t h = ipop_mac_mix(key);

	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

static inline void ipop_mac_from_key(uint8_t mac[6], uint64_t key)
{
	uint32_t hi = (uint32_t)(key >> 16);
	uint16_t lo = (uint16_t)key;

	memcpy(mac, &hi, 4);
	memcpy(mac + 4, &lo, 2);
}

/* A small per-lcore cache in front of the table (struct ipop_dp_ctx holds one):
 * what this lcore learnt or looked up in the current second, valid while the
 * table's generation is unchanged. The generation (struct ipop_bridge.gen) moves
 * whenever anything in the table changes (a new or moved MAC, a flush), so a
 * cached answer is exactly what the table would say, except for a change made
 * by another lcore during the burst that read the generation, the race the
 * lossy table allows anyway; and an answer is at most one second old, far
 * below the ageing time. Why: with many hosts in round robin the two table
 * probes per frame cost ~17 cycles at 1420 bytes (the 1 MiB table's lines are
 * pushed out of L1 by the frames), a third of ipop's work per frame on a
 * VAES-AVX512 CPU (docs/benchmarks.md, section 7). Direct-mapped, 256 entries,
 * 4 KiB. The struct must start zeroed (an entry without IPOP_MC_VALID is
 * empty). */
#define IPOP_MAC_CACHE_SIZE 256
#define IPOP_MC_VALID   1u   /* stamp bits: the entry holds an answer */
#define IPOP_MC_LEARNT  2u   /* ... and this lcore learnt ent in second stamp >> 2 */

struct ipop_mac_cache_ent {
	uint64_t ent;       /* as in the table: MAC key << 16 | location */
	uint32_t gen;       /* table generation the answer is valid for */
	uint32_t stamp;     /* now_s << 2 | IPOP_MC_* */
};

struct ipop_mac_cache {
	struct ipop_mac_cache_ent e[IPOP_MAC_CACHE_SIZE];
} __attribute__((aligned(64)));
_Static_assert(IPOP_MAC_CACHE_SIZE == 256, "ipop_mac_cache_slot takes the hash's top 8 bits");

/* The cache as one burst uses it (on the stack of the rx function). */
struct ipop_bridge_burst {
	struct ipop_mac_cache *mc;
	uint32_t gen;       /* the table's generation, read at the start of the burst */
	uint32_t stamp;     /* now_s << 2 | IPOP_MC_VALID */
};

static inline uint32_t ipop_bridge_gen(const struct ipop_bridge *br)
{
	return __atomic_load_n(&br->gen, __ATOMIC_ACQUIRE);
}

static inline void ipop_bridge_burst_init(struct ipop_bridge_burst *bb, const struct ipop_bridge *br,
					  struct ipop_mac_cache *mc, uint32_t now_s)
{
	bb->mc = mc;
	bb->gen = ipop_bridge_gen(br);
	bb->stamp = now_s << 2 | IPOP_MC_VALID;
}

static inline struct ipop_mac_cache_ent *ipop_mac_cache_slot(struct ipop_mac_cache *mc, uint64_t key)
{
	return &mc->e[ipop_mac_mix(key) >> 56];
}

/* ipop_bridge_learn through the cache: skipped when this lcore learnt the same
 * MAC at the same location in this second and the table has not changed since
 * (the table entry then has seen = now_s and would not be written). */
static inline bool ipop_bridge_burst_learn(struct ipop_bridge *br, struct ipop_bridge_burst *bb,
					   const uint8_t *mac, uint16_t loc, uint32_t now_s)
{
	uint64_t k = ipop_mac_key(mac), want = k << 16 | loc;
	struct ipop_mac_cache_ent *e = ipop_mac_cache_slot(bb->mc, k);

	if (e->ent == want && e->gen == bb->gen && e->stamp == (bb->stamp | IPOP_MC_LEARNT))
		return false;
	bool changed = ipop_bridge_learn(br, mac, loc, now_s);
	if (changed)   /* our own change: older answers may be stale */
		bb->gen = ipop_bridge_gen(br);
	e->ent = want;
	e->gen = bb->gen;
	e->stamp = bb->stamp | IPOP_MC_LEARNT;
	return changed;
}

/* Did this lcore learn mac at loc in this second, with the table unchanged
 * since (so learning it again would change nothing)? */
static inline bool ipop_bridge_burst_learnt(const struct ipop_bridge_burst *bb, const uint8_t *mac,
					    uint16_t loc)
{
	uint64_t k = ipop_mac_key(mac);
	const struct ipop_mac_cache_ent *e = ipop_mac_cache_slot(bb->mc, k);

	return e->ent == (k << 16 | loc) && e->gen == bb->gen &&
	       e->stamp == (bb->stamp | IPOP_MC_LEARNT);
}

/* ipop_bridge_learn_remote through the cache, as ipop_bridge_burst_learn. */
static inline enum ipop_learn_result ipop_bridge_burst_learn_remote(struct ipop_bridge *br,
								    struct ipop_bridge_burst *bb,
								    const uint8_t *mac, uint16_t loc,
								    uint32_t now_s, bool may_change)
{
	uint64_t k = ipop_mac_key(mac), want = k << 16 | loc;
	struct ipop_mac_cache_ent *e = ipop_mac_cache_slot(bb->mc, k);

	if (e->ent == want && e->gen == bb->gen && e->stamp == (bb->stamp | IPOP_MC_LEARNT))
		return IPOP_LEARN_SAME;
	enum ipop_learn_result r = ipop_bridge_learn_remote(br, mac, loc, now_s, may_change);
	if (r == IPOP_LEARN_CHANGED)
		bb->gen = ipop_bridge_gen(br);
	if (r != IPOP_LEARN_SAME && r != IPOP_LEARN_CHANGED)
		return r;   /* not at loc: nothing to remember */
	e->ent = want;
	e->gen = bb->gen;
	e->stamp = bb->stamp | IPOP_MC_LEARNT;
	return r;
}

/* ipop_bridge_lookup through the cache (misses are cached too). */
static inline uint16_t ipop_bridge_burst_lookup(const struct ipop_bridge *br,
						struct ipop_bridge_burst *bb,
						const uint8_t *mac, uint32_t now_s)
{
	uint64_t k = ipop_mac_key(mac);
	struct ipop_mac_cache_ent *e = ipop_mac_cache_slot(bb->mc, k);

	if ((e->ent >> 16) == k && e->gen == bb->gen && (e->stamp & ~IPOP_MC_LEARNT) == bb->stamp)
		return (uint16_t)e->ent;
	uint16_t loc = ipop_bridge_lookup(br, mac, now_s);
	e->ent = k << 16 | loc;
	e->gen = bb->gen;
	e->stamp = bb->stamp;
	return loc;
}

#endif

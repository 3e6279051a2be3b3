/* bridge.c - lock-free lossy MAC learning table (see bridge.h for the protocol).
 * Thread: fast path (lookup/learn), control (init, flush, walk). */
#include "dataplane/bridge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ipop_bridge_init(struct ipop_bridge *br, uint32_t n_entries, uint32_t age_s)
{
	uint32_t nb = 16;

	if (n_entries > (1u << 24) || age_s == 0)
		return -EINVAL;
	while (nb * IPOP_BRIDGE_WAYS < n_entries)
		nb <<= 1;
	br->b = aligned_alloc(64, (size_t)nb * sizeof(*br->b));
	if (br->b == NULL)
		return -ENOMEM;
	memset(br->b, 0, (size_t)nb * sizeof(*br->b));
	br->mask = nb - 1;
	br->age_s = age_s;
	br->gen = 0;
	return 0;
}

void ipop_bridge_free(struct ipop_bridge *br)
{
	free(br->b);
	br->b = NULL;
}

static inline bool live(const struct ipop_bridge_bucket *bk, int w, uint32_t now_s, uint32_t age)
{
	uint32_t seen = __atomic_load_n(&bk->seen[w], __ATOMIC_RELAXED);
	/* Signed: another lcore's clock may be a second ahead of ours. */
	return (int32_t)(now_s - seen) <= (int32_t)age;
}

uint16_t ipop_bridge_lookup(const struct ipop_bridge *br, const uint8_t *mac, uint32_t now_s)
{
	uint64_t key = ipop_mac_key(mac);
	const struct ipop_bridge_bucket *bk = &br->b[ipop_mac_hash(key) & br->mask];

	for (int w = 0; w < IPOP_BRIDGE_WAYS; w++) {
		uint64_t e = __atomic_load_n(&bk->ent[w], __ATOMIC_RELAXED);
		if (e != 0 && (e >> 16) == key && live(bk, w, now_s, br->age_s))
			return (uint16_t)e;
	}
	return IPOP_LOC_NONE;
}

static inline bool loc_local(uint16_t loc)
{
	return loc == IPOP_LOC_LAN || loc == IPOP_LOC_HOST;
}

/* The way a new MAC takes: an empty or expired one, else the least recently
 * seen; with spare_local, never a live local entry (-1 if all are). Only on
 * the miss path: a known MAC returns before this is needed. */
static int victim_way(const struct ipop_bridge_bucket *bk, uint32_t now_s, uint32_t age,
		      bool spare_local)
{
	int victim = spare_local ? -1 : 0;
	uint32_t oldest = UINT32_MAX;

	for (int w = 0; w < IPOP_BRIDGE_WAYS; w++) {
		uint64_t e = __atomic_load_n(&bk->ent[w], __ATOMIC_RELAXED);
		uint32_t seen = __atomic_load_n(&bk->seen[w], __ATOMIC_RELAXED);
		bool expired = e == 0 || (int32_t)(now_s - seen) > (int32_t)age;
		if (spare_local && !expired && loc_local((uint16_t)e))
			continue;
		uint32_t rank = expired ? 0 : seen + 1;
		if (rank < oldest) {
			oldest = rank;
			victim = w;
		}
	}
	return victim;
}

/* The way holding key in bk (its entry in *e), or -1. */
static inline int find_way(const struct ipop_bridge_bucket *bk, uint64_t key, uint64_t *e)
{
	for (int w = 0; w < IPOP_BRIDGE_WAYS; w++) {
		*e = __atomic_load_n(&bk->ent[w], __ATOMIC_RELAXED);
		if (*e != 0 && (*e >> 16) == key)
			return w;
	}
	return -1;
}

/* Way w now holds entry want, seen now; readers' caches see the change. */
static inline void put_way(struct ipop_bridge *br, struct ipop_bridge_bucket *bk, int w,
			   uint64_t want, uint32_t now_s)
{
	__atomic_store_n(&bk->seen[w], now_s, __ATOMIC_RELAXED);
	__atomic_store_n(&bk->ent[w], want, __ATOMIC_RELAXED);
	__atomic_fetch_add(&br->gen, 1, __ATOMIC_RELEASE);
}

bool ipop_bridge_learn(struct ipop_bridge *br, const uint8_t *mac, uint16_t loc, uint32_t now_s)
{
	uint64_t key = ipop_mac_key(mac), e;
	uint64_t want = (key << 16) | loc;
	struct ipop_bridge_bucket *bk = &br->b[ipop_mac_hash(key) & br->mask];
	int w = find_way(bk, key, &e);

	if (w < 0) {
		put_way(br, bk, victim_way(bk, now_s, br->age_s, false), want, now_s);
		return true;
	}
	if (e != want) {
		put_way(br, bk, w, want, now_s);
		return true;
	}
	if (__atomic_load_n(&bk->seen[w], __ATOMIC_RELAXED) != now_s)
		__atomic_store_n(&bk->seen[w], now_s, __ATOMIC_RELAXED);
	return false;
}

enum ipop_learn_result ipop_bridge_learn_remote(struct ipop_bridge *br, const uint8_t *mac,
						uint16_t loc, uint32_t now_s, bool may_change)
{
	uint64_t key = ipop_mac_key(mac), e;
	uint64_t want = (key << 16) | loc;
	struct ipop_bridge_bucket *bk = &br->b[ipop_mac_hash(key) & br->mask];
	int w = find_way(bk, key, &e);

	if (w >= 0) {
		uint32_t seen = __atomic_load_n(&bk->seen[w], __ATOMIC_RELAXED);
		if (e == want) {
			if (seen != now_s)
				__atomic_store_n(&bk->seen[w], now_s, __ATOMIC_RELAXED);
			return IPOP_LEARN_SAME;
		}
		if (loc_local((uint16_t)e) && (int32_t)(now_s - seen) <= IPOP_MAC_HOLD_S)
			return IPOP_LEARN_HELD;
	}
	if (!may_change)
		return IPOP_LEARN_LIMITED;
	if (w < 0 && (w = victim_way(bk, now_s, br->age_s, true)) < 0)
		return IPOP_LEARN_NO_ROOM;
	put_way(br, bk, w, want, now_s);
	return IPOP_LEARN_CHANGED;
}

unsigned ipop_bridge_flush_loc(struct ipop_bridge *br, uint16_t loc)
{
	unsigned n = 0;

	for (uint32_t i = 0; i <= br->mask; i++) {
		for (int w = 0; w < IPOP_BRIDGE_WAYS; w++) {
			uint64_t e = __atomic_load_n(&br->b[i].ent[w], __ATOMIC_RELAXED);
			if (e != 0 && (uint16_t)e == loc &&
			    __atomic_compare_exchange_n(&br->b[i].ent[w], &e, 0, false,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED))
				n++;
		}
	}
	if (n != 0)
		__atomic_fetch_add(&br->gen, 1, __ATOMIC_RELEASE);
	return n;
}

void ipop_bridge_walk(const struct ipop_bridge *br, uint32_t now_s, ipop_bridge_visit_fn fn, void *arg)
{
	for (uint32_t i = 0; i <= br->mask; i++) {
		const struct ipop_bridge_bucket *bk = &br->b[i];
		for (int w = 0; w < IPOP_BRIDGE_WAYS; w++) {
			uint64_t e = __atomic_load_n(&bk->ent[w], __ATOMIC_RELAXED);
			uint32_t seen = __atomic_load_n(&bk->seen[w], __ATOMIC_RELAXED);
			if (e == 0 || (int32_t)(now_s - seen) > (int32_t)br->age_s)
				continue;
			uint8_t mac[6];
			ipop_mac_from_key(mac, e >> 16);
			fn(mac, (uint16_t)e, (int32_t)(now_s - seen) > 0 ? now_s - seen : 0, arg);
		}
	}
}

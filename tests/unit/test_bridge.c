/* test_bridge.c - the MAC learning table (dataplane/bridge.c): learn, lookup,
 * moves, ageing (with lcore clocks a second apart), bucket eviction, flush by
 * location, walk, load, and init arguments. Pure: no EAL. */
#include "tests/unit/check.h"
#include "dataplane/bridge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void mac_of(uint8_t mac[6], uint64_t v)
{
	for (int i = 5; i >= 0; i--, v >>= 8)
		mac[i] = (uint8_t)v;
}

/* xorshift64*: reproducible pseudo-random MACs. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static void test_init_args(void)
{
	struct ipop_bridge br;

	CHECK(ipop_bridge_init(&br, 1024, 0) == -EINVAL);            /* no ageing time */
	CHECK(ipop_bridge_init(&br, (1u << 24) + 1, 300) == -EINVAL);
	CHECK(ipop_bridge_init(&br, UINT32_MAX, 300) == -EINVAL);

	/* Sizes round up to a power of two buckets, at least 64 entries. */
	CHECK(ipop_bridge_init(&br, 0, 300) == 0);
	CHECK((br.mask + 1) * IPOP_BRIDGE_WAYS == 64);
	CHECK(br.age_s == 300);
	ipop_bridge_free(&br);
	CHECK(br.b == NULL);
	ipop_bridge_free(&br);                  /* second free is harmless */
	CHECK(ipop_bridge_init(&br, 65, 300) == 0);
	CHECK((br.mask + 1) * IPOP_BRIDGE_WAYS == 128);
	CHECK(((br.mask + 1) & br.mask) == 0);
	CHECK(((uintptr_t)br.b & 63) == 0);     /* buckets are cache-line aligned */
	ipop_bridge_free(&br);
	CHECK(ipop_bridge_init(&br, 65536, 1) == 0);
	CHECK((br.mask + 1) * IPOP_BRIDGE_WAYS == 65536);
	ipop_bridge_free(&br);
	CHECK(ipop_bridge_init(&br, 1u << 24, 1) == 0);   /* the largest allowed */
	CHECK((br.mask + 1) * IPOP_BRIDGE_WAYS == (1u << 24));
	ipop_bridge_free(&br);
}

static void test_learn_lookup_move(void)
{
	struct ipop_bridge br;
	uint8_t a[6] = { 0x02, 0, 0, 0, 0, 0x0a }, b[6] = { 0x02, 0, 0, 0, 0, 0x0b };
	uint8_t c[6] = { 0x02, 0, 0, 0, 0, 0x0c };

	CHECK(ipop_bridge_init(&br, 1024, 300) == 0);
	CHECK(ipop_bridge_lookup(&br, a, 100) == IPOP_LOC_NONE);
	CHECK(ipop_bridge_learn(&br, a, IPOP_LOC_LAN, 100) == true);     /* new */
	CHECK(ipop_bridge_learn(&br, b, 7, 100) == true);
	CHECK(ipop_bridge_learn(&br, c, IPOP_LOC_HOST, 100) == true);
	CHECK(ipop_bridge_lookup(&br, a, 100) == IPOP_LOC_LAN);
	CHECK(ipop_bridge_lookup(&br, b, 100) == 7);
	CHECK(ipop_bridge_lookup(&br, c, 100) == IPOP_LOC_HOST);
	/* Same place again: no change reported, still found. */
	CHECK(ipop_bridge_learn(&br, a, IPOP_LOC_LAN, 100) == false);
	CHECK(ipop_bridge_learn(&br, a, IPOP_LOC_LAN, 101) == false);
	CHECK(ipop_bridge_lookup(&br, a, 101) == IPOP_LOC_LAN);
	/* The MAC moves from the LAN to peer slot 3: found at the new place only. */
	CHECK(ipop_bridge_learn(&br, a, 3, 102) == true);
	CHECK(ipop_bridge_lookup(&br, a, 102) == 3);
	CHECK(ipop_bridge_learn(&br, a, 0, 103) == true);                /* and to slot 0 */
	CHECK(ipop_bridge_lookup(&br, a, 103) == 0);
	CHECK(ipop_bridge_learn(&br, a, IPOP_LOC_LAN, 104) == true);     /* and back */
	CHECK(ipop_bridge_lookup(&br, a, 104) == IPOP_LOC_LAN);
	/* A move never duplicates the MAC: exactly one live entry for it. */
	unsigned copies = 0;
	for (uint32_t i = 0; i <= br.mask; i++)
		for (int w = 0; w < IPOP_BRIDGE_WAYS; w++)
			if (br.b[i].ent[w] >> 16 == ipop_mac_key(a))
				copies++;
	CHECK(copies == 1);
	/* A MAC differing in one bit is a different MAC. */
	uint8_t a2[6];
	memcpy(a2, a, 6);
	a2[0] ^= 0x80;
	CHECK(ipop_bridge_lookup(&br, a2, 104) == IPOP_LOC_NONE);
	/* Highest possible peer slot survives the 16-bit location field. */
	CHECK(ipop_bridge_learn(&br, b, IPOP_LOC_PEER_MAX - 1, 105) == true);
	CHECK(ipop_bridge_lookup(&br, b, 105) == IPOP_LOC_PEER_MAX - 1);
	/* All-ones MAC (broadcast, never learnt by the datapath) still round-trips. */
	uint8_t ff[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	CHECK(ipop_bridge_learn(&br, ff, 9, 105) == true);
	CHECK(ipop_bridge_lookup(&br, ff, 105) == 9);
	ipop_bridge_free(&br);
}

static void test_ageing(void)
{
	struct ipop_bridge br;
	uint8_t a[6] = { 0x02, 1, 2, 3, 4, 5 }, b[6] = { 0x02, 1, 2, 3, 4, 6 };

	CHECK(ipop_bridge_init(&br, 256, 10) == 0);
	ipop_bridge_learn(&br, a, 4, 1000);
	CHECK(ipop_bridge_lookup(&br, a, 1000) == 4);
	CHECK(ipop_bridge_lookup(&br, a, 1010) == 4);                    /* exactly age_s */
	CHECK(ipop_bridge_lookup(&br, a, 1011) == IPOP_LOC_NONE);        /* older: miss */
	CHECK(ipop_bridge_lookup(&br, a, 5000) == IPOP_LOC_NONE);
	/* Another lcore's clock may be a second ahead: an entry it learnt at 1001
	 * is found by an lcore that still reads 1000. */
	ipop_bridge_learn(&br, b, 5, 1001);
	CHECK(ipop_bridge_lookup(&br, b, 1000) == 5);
	CHECK(ipop_bridge_lookup(&br, b, 1001) == 5);
	CHECK(ipop_bridge_lookup(&br, b, 1011) == 5);
	CHECK(ipop_bridge_lookup(&br, b, 1012) == IPOP_LOC_NONE);
	/* Traffic keeps an entry alive: relearning refreshes its timestamp, even
	 * when nothing moved (which learn does not report as a change). */
	ipop_bridge_learn(&br, a, 4, 2000);
	for (uint32_t t = 2001; t < 2100; t += 5) {
		CHECK(ipop_bridge_learn(&br, a, 4, t) == false);
		CHECK(ipop_bridge_lookup(&br, a, t + 10) == 4);
	}
	/* A relearn by an lcore whose clock lags by a second (2095 after 2096)
	 * keeps the entry alive for age_s on that lcore's clock. */
	ipop_bridge_learn(&br, a, 4, 2095);
	CHECK(ipop_bridge_lookup(&br, a, 2105) == 4);
	CHECK(ipop_bridge_lookup(&br, a, 2104) == 4);
	/* Timestamps wrap: ageing is computed modulo 2^32. */
	ipop_bridge_learn(&br, a, 6, UINT32_MAX - 2);
	CHECK(ipop_bridge_lookup(&br, a, UINT32_MAX) == 6);
	CHECK(ipop_bridge_lookup(&br, a, 5) == 6);                       /* wrapped, 8 s */
	CHECK(ipop_bridge_lookup(&br, a, 9) == IPOP_LOC_NONE);           /* 12 s */
	ipop_bridge_free(&br);
}

/* Find n MACs that land in the same bucket as base (by probing the table). */
static unsigned same_bucket(struct ipop_bridge *br, uint64_t base, uint8_t out[][6], unsigned n)
{
	uint8_t probe[6];
	unsigned found = 0;
	uint32_t want;

	/* Learn the base into an empty table, note its bucket, forget it. */
	mac_of(probe, base);
	ipop_bridge_learn(br, probe, 1, 1);
	want = UINT32_MAX;
	for (uint32_t i = 0; i <= br->mask && want == UINT32_MAX; i++)
		for (int w = 0; w < IPOP_BRIDGE_WAYS; w++)
			if (br->b[i].ent[w] >> 16 == ipop_mac_key(probe))
				want = i;
	ipop_bridge_flush_loc(br, 1);
	memcpy(out[found++], probe, 6);
	for (uint64_t v = base + 1; found < n && v < base + 10000000; v++) {
		mac_of(probe, v);
		ipop_bridge_learn(br, probe, 1, 1);
		bool hit = false;
		for (int w = 0; w < IPOP_BRIDGE_WAYS; w++)
			if (br->b[want].ent[w] >> 16 == ipop_mac_key(probe))
				hit = true;
		ipop_bridge_flush_loc(br, 1);
		if (hit)
			memcpy(out[found++], probe, 6);
	}
	return found;
}

static void test_eviction(void)
{
	struct ipop_bridge br;
	uint8_t m[6][6];

	CHECK(ipop_bridge_init(&br, 256, 100) == 0);
	CHECK(same_bucket(&br, 0x020000000000ull, m, 6) == 6);

	/* Four ways fill without evicting anyone. */
	for (int i = 0; i < 4; i++)
		CHECK(ipop_bridge_learn(&br, m[i], (uint16_t)i, 1000 + (uint32_t)i) == true);
	for (int i = 0; i < 4; i++)
		CHECK(ipop_bridge_lookup(&br, m[i], 1003) == i);
	/* A fifth evicts the least recently seen (m[0], seen at 1000). */
	CHECK(ipop_bridge_learn(&br, m[4], 4, 1004) == true);
	CHECK(ipop_bridge_lookup(&br, m[0], 1004) == IPOP_LOC_NONE);
	for (int i = 1; i < 5; i++)
		CHECK(ipop_bridge_lookup(&br, m[i], 1004) == i);
	/* Refresh m[1]: now m[2] is the oldest and goes next. */
	ipop_bridge_learn(&br, m[1], 1, 1005);
	CHECK(ipop_bridge_learn(&br, m[5], 5, 1006) == true);
	CHECK(ipop_bridge_lookup(&br, m[2], 1006) == IPOP_LOC_NONE);
	CHECK(ipop_bridge_lookup(&br, m[1], 1006) == 1);
	CHECK(ipop_bridge_lookup(&br, m[3], 1006) == 3);
	CHECK(ipop_bridge_lookup(&br, m[4], 1006) == 4);
	CHECK(ipop_bridge_lookup(&br, m[5], 1006) == 5);

	/* An empty way (after a flush) is used before any live entry is evicted. */
	CHECK(ipop_bridge_flush_loc(&br, 4) == 1);
	CHECK(ipop_bridge_learn(&br, m[0], 0, 1007) == true);
	CHECK(ipop_bridge_lookup(&br, m[0], 1007) == 0);
	CHECK(ipop_bridge_lookup(&br, m[1], 1007) == 1);
	CHECK(ipop_bridge_lookup(&br, m[3], 1007) == 3);
	CHECK(ipop_bridge_lookup(&br, m[5], 1007) == 5);

	/* An expired way is used before the oldest live one, even when the
	 * expired entry's timestamp is numerically larger (it wrapped). */
	ipop_bridge_free(&br);
	CHECK(ipop_bridge_init(&br, 256, 100) == 0);
	CHECK(same_bucket(&br, 0x020000000000ull, m, 6) == 6);
	ipop_bridge_learn(&br, m[1], 1, 10);                 /* the oldest live at 100 */
	ipop_bridge_learn(&br, m[2], 2, 20);
	ipop_bridge_learn(&br, m[3], 3, 30);
	ipop_bridge_learn(&br, m[0], 0, UINT32_MAX - 500);   /* expired at 100 */
	CHECK(ipop_bridge_lookup(&br, m[0], UINT32_MAX - 500) == 0);
	CHECK(ipop_bridge_lookup(&br, m[1], UINT32_MAX - 500) == 1);   /* all 4 ways full */
	CHECK(ipop_bridge_lookup(&br, m[0], 100) == IPOP_LOC_NONE);
	CHECK(ipop_bridge_learn(&br, m[4], 4, 100) == true);
	CHECK(ipop_bridge_lookup(&br, m[1], 100) == 1);
	CHECK(ipop_bridge_lookup(&br, m[2], 100) == 2);
	CHECK(ipop_bridge_lookup(&br, m[3], 100) == 3);
	CHECK(ipop_bridge_lookup(&br, m[4], 100) == 4);
	/* The oldest entry, here also expired, goes next. */
	CHECK(ipop_bridge_learn(&br, m[5], 5, 115) == true); /* m[1] expired at 111 */
	CHECK(ipop_bridge_lookup(&br, m[2], 115) == 2);
	CHECK(ipop_bridge_lookup(&br, m[3], 115) == 3);
	CHECK(ipop_bridge_lookup(&br, m[4], 115) == 4);
	CHECK(ipop_bridge_lookup(&br, m[5], 115) == 5);
	ipop_bridge_free(&br);
}

static void test_flush(void)
{
	struct ipop_bridge br;
	uint8_t mac[6];

	CHECK(ipop_bridge_init(&br, 4096, 300) == 0);
	for (unsigned i = 0; i < 300; i++) {
		mac_of(mac, 0x0200aa000000ull + i);
		ipop_bridge_learn(&br, mac, (uint16_t)(i % 3), 50);      /* slots 0, 1, 2 */
	}
	unsigned live[3] = { 0, 0, 0 };
	for (unsigned i = 0; i < 300; i++) {
		mac_of(mac, 0x0200aa000000ull + i);
		uint16_t l = ipop_bridge_lookup(&br, mac, 50);
		CHECK(l == i % 3 || l == IPOP_LOC_NONE);
		if (l < 3)
			live[l]++;
	}
	CHECK(live[1] > 90);
	CHECK(ipop_bridge_flush_loc(&br, 1) == live[1]);
	CHECK(ipop_bridge_flush_loc(&br, 1) == 0);
	CHECK(ipop_bridge_flush_loc(&br, 77) == 0);
	for (unsigned i = 0; i < 300; i++) {
		mac_of(mac, 0x0200aa000000ull + i);
		uint16_t l = ipop_bridge_lookup(&br, mac, 50);
		if (i % 3 == 1)
			CHECK(l == IPOP_LOC_NONE);
		else
			CHECK(l == i % 3 || l == IPOP_LOC_NONE);
	}
	/* The others are untouched: flushing them counts what is left. */
	CHECK(ipop_bridge_flush_loc(&br, 0) == live[0]);
	CHECK(ipop_bridge_flush_loc(&br, 2) == live[2]);
	/* Expired entries of the location are flushed too (they are still there). */
	mac_of(mac, 0x02ffff000001ull);
	ipop_bridge_learn(&br, mac, 9, 1);
	CHECK(ipop_bridge_lookup(&br, mac, 1000) == IPOP_LOC_NONE);
	CHECK(ipop_bridge_flush_loc(&br, 9) == 1);
	/* LAN and host are locations like any other. */
	ipop_bridge_learn(&br, mac, IPOP_LOC_LAN, 1);
	CHECK(ipop_bridge_flush_loc(&br, IPOP_LOC_HOST) == 0);
	CHECK(ipop_bridge_flush_loc(&br, IPOP_LOC_LAN) == 1);
	ipop_bridge_free(&br);
}

struct walk_acc {
	unsigned n, bad_age, per_loc[8];
	uint64_t mac_sum;
	uint32_t max_age;
};

static void walk_fn(const uint8_t mac[6], uint16_t loc, uint32_t age_s, void *arg)
{
	struct walk_acc *w = arg;

	w->n++;
	w->mac_sum += ipop_mac_u64(mac);
	if (loc < 8)
		w->per_loc[loc]++;
	if (age_s > w->max_age)
		w->max_age = age_s;
}

static void test_walk(void)
{
	struct ipop_bridge br;
	uint8_t mac[6];
	struct walk_acc w;
	uint64_t sum_live = 0;

	CHECK(ipop_bridge_init(&br, 4096, 60) == 0);
	memset(&w, 0, sizeof(w));
	ipop_bridge_walk(&br, 100, walk_fn, &w);
	CHECK(w.n == 0);
	/* 10 live MACs (learnt at 100..109) and 5 expired ones (learnt at 10). */
	for (unsigned i = 0; i < 10; i++) {
		mac_of(mac, 0x020000001000ull + i * 7919);
		ipop_bridge_learn(&br, mac, (uint16_t)(i % 4), 100 + i);
		sum_live += 0x020000001000ull + i * 7919;
	}
	for (unsigned i = 0; i < 5; i++) {
		mac_of(mac, 0x020000009000ull + i);
		ipop_bridge_learn(&br, mac, 5, 10);
	}
	memset(&w, 0, sizeof(w));
	ipop_bridge_walk(&br, 110, walk_fn, &w);
	CHECK(w.n == 10);
	CHECK(w.mac_sum == sum_live);          /* exactly the live MACs, once each */
	CHECK(w.per_loc[0] == 3 && w.per_loc[1] == 3 && w.per_loc[2] == 2 && w.per_loc[3] == 2);
	CHECK(w.per_loc[5] == 0);
	CHECK(w.max_age == 10);                /* learnt at 100, walked at 110 */
	/* A flushed location disappears from the walk. */
	ipop_bridge_flush_loc(&br, 0);
	memset(&w, 0, sizeof(w));
	ipop_bridge_walk(&br, 110, walk_fn, &w);
	CHECK(w.n == 7 && w.per_loc[0] == 0);
	/* An entry learnt by an lcore whose clock is a second ahead of the walker's
	 * is live (lookup finds it) and its age must read as 0, not as 2^32 - 1. */
	mac_of(mac, 0x02000000f00dull);
	ipop_bridge_learn(&br, mac, 6, 111);
	CHECK(ipop_bridge_lookup(&br, mac, 110) == 6);
	memset(&w, 0, sizeof(w));
	ipop_bridge_walk(&br, 110, walk_fn, &w);
	CHECK(w.n == 8);
	CHECK(w.max_age <= 60);
	ipop_bridge_free(&br);
}

/* Load n MACs into a table of cap entries; returns how many are still found. */
static unsigned load(uint32_t cap, unsigned n, int sequential)
{
	struct ipop_bridge br;
	uint64_t *macs = malloc(n * sizeof(*macs));
	uint8_t mac[6];
	unsigned found = 0, right = 0;

	if (macs == NULL || ipop_bridge_init(&br, cap, 300) != 0) {
		free(macs);
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		/* Locally administered unicast: clear bit 0, set bit 1 of byte 0. */
		macs[i] = sequential ? 0x525400000000ull + i
				     : ((rng() & 0xffffffffffffull) & ~(1ull << 40)) | (1ull << 41);
		mac_of(mac, macs[i]);
		ipop_bridge_learn(&br, mac, (uint16_t)(i & 0x3ff), 7);
	}
	for (unsigned i = 0; i < n; i++) {
		mac_of(mac, macs[i]);
		uint16_t l = ipop_bridge_lookup(&br, mac, 8);
		if (l != IPOP_LOC_NONE) {
			found++;
			right += l == (i & 0x3ff);
		}
	}
	CHECK(right == found);                 /* a hit is never a wrong location */
	ipop_bridge_free(&br);
	free(macs);
	return found;
}

static void test_many(void)
{
	/* 50k MACs into 64k entries (16k buckets of 4). With an ideal hash the
	 * bucket loads are Poisson(3.05), which keeps 88.9% of the MACs; a floor
	 * of 85% catches a hash that clusters. Sequential MACs (one vendor prefix,
	 * as in a VM farm) must do as well as random ones. */
	unsigned r = load(65536, 50000, 0);
	unsigned s = load(65536, 50000, 1);
	printf("bridge: 50000 MACs in 65536 entries: %u random, %u sequential found\n", r, s);
	CHECK(r >= 42500);
	CHECK(s >= 42500);
	/* Well below capacity almost everything is found. */
	unsigned few = load(65536, 4096, 0);
	CHECK(few >= 4096 - 10);
	/* Overfilled: the table keeps at most its capacity. */
	unsigned over = load(64, 1000, 0);
	CHECK(over <= 64 && over >= 32);
}

/* The bridge stores MACs as ipop_mac_key values: every byte must survive the
 * round trip, and distinct MACs must give distinct keys. */
static void test_mac_key(void)
{
	const uint8_t a[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	uint8_t back[6], b[6];

	ipop_mac_from_key(back, ipop_mac_key(a));
	CHECK(memcmp(back, a, 6) == 0);
	CHECK(ipop_mac_key(a) >> 48 == 0);
	for (int i = 0; i < 6; i++) {
		memcpy(b, a, 6);
		b[i] ^= 0x80;
		CHECK(ipop_mac_key(b) != ipop_mac_key(a));
		ipop_mac_from_key(back, ipop_mac_key(b));
		CHECK(memcmp(back, b, 6) == 0);
	}
}

/* The per-lcore cache in front of the table (ipop_bridge_burst_*): answers
 * equal the table's, except for what it deliberately does not see (a change by
 * another lcore during the current burst); any change of the table, by learn
 * or flush, invalidates every cached answer at the next burst; an answer never
 * outlives its second. */
static void test_cache(void)
{
	static struct ipop_mac_cache mc;   /* zeroed: empty */
	struct ipop_bridge br;
	struct ipop_bridge_burst bb;
	const uint8_t a[6] = { 0x02, 0, 0, 0, 0xca, 0x01 }, b[6] = { 0x02, 0, 0, 0, 0xca, 0x02 };

	CHECK(ipop_bridge_init(&br, 1024, 300) == 0);
	uint32_t g0 = ipop_bridge_gen(&br);
	ipop_bridge_burst_init(&bb, &br, &mc, 100);
	CHECK(ipop_bridge_burst_lookup(&br, &bb, a, 100) == IPOP_LOC_NONE);   /* miss, cached */
	CHECK(ipop_bridge_burst_learn(&br, &bb, a, 5, 100) == true);          /* new: gen moves */
	CHECK(ipop_bridge_gen(&br) != g0);
	CHECK(ipop_bridge_burst_lookup(&br, &bb, a, 100) == 5);   /* own change seen at once */
	CHECK(ipop_bridge_burst_learn(&br, &bb, a, 5, 100) == false);         /* skipped */

	/* Another lcore moves a within our burst: not seen until the next one. */
	CHECK(ipop_bridge_learn(&br, a, 6, 100) == true);
	CHECK(ipop_bridge_burst_lookup(&br, &bb, a, 100) == 5);
	ipop_bridge_burst_init(&bb, &br, &mc, 100);
	CHECK(ipop_bridge_burst_lookup(&br, &bb, a, 100) == 6);
	/* ... and our learn moving it back is a real learn, not skipped. */
	CHECK(ipop_bridge_burst_learn(&br, &bb, a, 5, 100) == true);
	CHECK(ipop_bridge_lookup(&br, a, 100) == 5);

	/* A cached miss is not kept across a change made elsewhere. */
	CHECK(ipop_bridge_burst_lookup(&br, &bb, b, 100) == IPOP_LOC_NONE);
	CHECK(ipop_bridge_learn(&br, b, IPOP_LOC_LAN, 100) == true);
	ipop_bridge_burst_init(&bb, &br, &mc, 100);
	CHECK(ipop_bridge_burst_lookup(&br, &bb, b, 100) == IPOP_LOC_LAN);

	/* Control flushes peer 5: gone at the next burst. */
	CHECK(ipop_bridge_burst_lookup(&br, &bb, a, 100) == 5);
	CHECK(ipop_bridge_flush_loc(&br, 5) == 1);
	ipop_bridge_burst_init(&bb, &br, &mc, 100);
	CHECK(ipop_bridge_burst_lookup(&br, &bb, a, 100) == IPOP_LOC_NONE);

	/* Answers hold for one second: a learn in second 100 is not skipped in
	 * 101 (it refreshes seen), and an entry that ages out between seconds is
	 * a miss through the cache too. */
	CHECK(ipop_bridge_burst_learn(&br, &bb, a, 7, 100) == true);
	ipop_bridge_burst_init(&bb, &br, &mc, 101);
	CHECK(ipop_bridge_burst_learn(&br, &bb, a, 7, 101) == false);
	int refreshed = 0;
	for (uint32_t i = 0; i <= br.mask; i++)
		for (int w = 0; w < IPOP_BRIDGE_WAYS; w++)
			if (br.b[i].ent[w] >> 16 == ipop_mac_key(a))
				refreshed += br.b[i].seen[w] == 101;
	CHECK(refreshed == 1);
	CHECK(ipop_bridge_burst_lookup(&br, &bb, b, 101) == IPOP_LOC_LAN);    /* seen 100 */
	ipop_bridge_burst_init(&bb, &br, &mc, 401);                          /* b aged: 301 s */
	CHECK(ipop_bridge_burst_lookup(&br, &bb, b, 401) == IPOP_LOC_NONE);
	CHECK(ipop_bridge_burst_lookup(&br, &bb, a, 401) == 7);               /* seen 101 */
	ipop_bridge_free(&br);
}

/* L2 hygiene (issue 14 item 4): the IEEE link-local groups; a peer cannot
 * take a MAC seen on the LAN within the hold time; a peer's new MACs never
 * evict live LAN ones; the caller's rate limit stops every change. */
static void test_link_local(void)
{
	uint8_t m[6] = { 0x01, 0x80, 0xC2, 0, 0, 0 };

	for (unsigned i = 0; i < 0x10; i++) {
		m[5] = (uint8_t)i;
		CHECK(ipop_mac_link_local(m));
	}
	m[5] = 0x10;
	CHECK(!ipop_mac_link_local(m));
	m[5] = 0x0e, m[4] = 1;
	CHECK(!ipop_mac_link_local(m));
	CHECK(!ipop_mac_link_local((const uint8_t *)"\xff\xff\xff\xff\xff\xff"));
	CHECK(!ipop_mac_link_local((const uint8_t *)"\x01\x00\x5e\x00\x00\x01"));
}

static void test_remote_hold(void)
{
	struct ipop_bridge br;
	uint8_t h[6];
	const uint32_t t = 1000;

	CHECK(ipop_bridge_init(&br, 1024, 300) == 0);
	mac_of(h, 0x020000000101ull);
	CHECK(ipop_bridge_learn(&br, h, IPOP_LOC_LAN, t));
	/* A peer claims the LAN host's MAC: refused while the host is recent. */
	CHECK(ipop_bridge_learn_remote(&br, h, 7, t, true) == IPOP_LEARN_HELD);
	CHECK(ipop_bridge_learn_remote(&br, h, 7, t + IPOP_MAC_HOLD_S, true) == IPOP_LEARN_HELD);
	CHECK(ipop_bridge_lookup(&br, h, t + IPOP_MAC_HOLD_S) == IPOP_LOC_LAN);
	/* The host refreshes it; later silent for longer: it moved. */
	CHECK(!ipop_bridge_learn(&br, h, IPOP_LOC_LAN, t + 3));
	CHECK(ipop_bridge_learn_remote(&br, h, 7, t + 3 + IPOP_MAC_HOLD_S, true) == IPOP_LEARN_HELD);
	CHECK(ipop_bridge_learn_remote(&br, h, 7, t + 4 + IPOP_MAC_HOLD_S, true) ==
	      IPOP_LEARN_CHANGED);
	CHECK(ipop_bridge_lookup(&br, h, t + 4 + IPOP_MAC_HOLD_S) == 7);
	/* Between peers and from the host TAP alike. */
	CHECK(ipop_bridge_learn_remote(&br, h, 8, t + 10, true) == IPOP_LEARN_CHANGED);
	CHECK(ipop_bridge_learn_remote(&br, h, 8, t + 10, true) == IPOP_LEARN_SAME);
	CHECK(ipop_bridge_learn(&br, h, IPOP_LOC_HOST, t + 11));   /* local wins at once */
	CHECK(ipop_bridge_learn_remote(&br, h, 8, t + 12, true) == IPOP_LEARN_HELD);
	/* The caller's rate limit: no change, but a refresh. */
	mac_of(h, 0x020000000202ull);
	CHECK(ipop_bridge_learn_remote(&br, h, 9, t, false) == IPOP_LEARN_LIMITED);
	CHECK(ipop_bridge_lookup(&br, h, t) == IPOP_LOC_NONE);
	CHECK(ipop_bridge_learn_remote(&br, h, 9, t, true) == IPOP_LEARN_CHANGED);
	CHECK(ipop_bridge_learn_remote(&br, h, 9, t + 1, false) == IPOP_LEARN_SAME);
	CHECK(ipop_bridge_learn_remote(&br, h, 10, t + 2, false) == IPOP_LEARN_LIMITED);
	CHECK(ipop_bridge_lookup(&br, h, t + 2) == 9);
	ipop_bridge_free(&br);
}

/* A peer sending random source MACs at its bucket cannot push out a live LAN
 * MAC; once the LAN entries have aged out, its MACs are learnt again. */
static void test_remote_no_evict(void)
{
	struct ipop_bridge br;
	uint8_t lan[IPOP_BRIDGE_WAYS][6], m[6];
	const uint32_t t = 5000;
	unsigned n_lan = 0, no_room = 0, learnt = 0;

	CHECK(ipop_bridge_init(&br, 256, 300) == 0);
	uint32_t target = UINT32_MAX;
	for (unsigned tries = 0; tries < 1000000 && n_lan < IPOP_BRIDGE_WAYS; tries++) {
		mac_of(m, rng() & 0xFEFFFFFFFFFFull);
		uint32_t bucket = ipop_mac_hash(ipop_mac_key(m)) & br.mask;
		if (target == UINT32_MAX)
			target = bucket;
		if (bucket != target)
			continue;
		memcpy(lan[n_lan++], m, 6);
		CHECK(ipop_bridge_learn(&br, m, IPOP_LOC_LAN, t));
	}
	CHECK(n_lan == IPOP_BRIDGE_WAYS);
	for (unsigned tries = 0; tries < 1000000 && no_room < 50; tries++) {
		mac_of(m, rng() & 0xFEFFFFFFFFFFull);
		if ((ipop_mac_hash(ipop_mac_key(m)) & br.mask) != target)
			continue;
		enum ipop_learn_result r = ipop_bridge_learn_remote(&br, m, 3, t + 1, true);
		no_room += r == IPOP_LEARN_NO_ROOM;
		learnt += r == IPOP_LEARN_CHANGED;
	}
	CHECK(no_room == 50 && learnt == 0);
	for (unsigned i = 0; i < n_lan; i++)
		CHECK(ipop_bridge_lookup(&br, lan[i], t + 1) == IPOP_LOC_LAN);
	/* The old, unprotected learning would have evicted them. */
	CHECK(ipop_bridge_learn(&br, m, 3, t + 1));
	unsigned still = 0;
	for (unsigned i = 0; i < n_lan; i++)
		still += ipop_bridge_lookup(&br, lan[i], t + 1) == IPOP_LOC_LAN;
	CHECK(still == n_lan - 1);
	CHECK(ipop_bridge_learn_remote(&br, m, 3, t + 302, true) == IPOP_LEARN_SAME);
	mac_of(m, 0x02aa00000001ull);
	while ((ipop_mac_hash(ipop_mac_key(m)) & br.mask) != target)
		m[5]++;
	CHECK(ipop_bridge_learn_remote(&br, m, 3, t + 302, true) == IPOP_LEARN_CHANGED);
	ipop_bridge_free(&br);
}

int main(void)
{
	test_mac_key();
	test_cache();
	test_link_local();
	test_remote_hold();
	test_remote_no_evict();
	test_init_args();
	test_learn_lookup_move();
	test_ageing();
	test_eviction();
	test_flush();
	test_walk();
	test_many();
	return check_report("bridge");
}

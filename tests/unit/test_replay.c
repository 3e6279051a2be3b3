/* test_replay.c - dataplane/replay against a reference model that keeps every
 * accepted counter in a set plus the highest one, over in-order, reversed,
 * boundary, jump, duplicate, near-limit, adversarial and random sequences.
 * Every check and every update of the window is compared with the model. The
 * run form (ipop_replay_accept_run) is compared with ipop_replay_accept one
 * counter at a time: results and the whole window after. Two threads race on
 * one window, one counter or one run at a time. */
#include "tests/unit/check.h"
#include "dataplane/replay.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W IPOP_REPLAY_WINDOW
#define LIMIT IPOP_REJECT_AFTER_MESSAGES

/* ---- reference model: an open-addressing set of seen counters ---- */

struct model {
	uint64_t *slot;
	uint8_t *used;
	size_t cap, n;
	int any;
	uint64_t top;
};

static void model_init(struct model *m)
{
	free(m->slot);
	free(m->used);
	m->cap = 1024;
	m->n = 0;
	m->slot = calloc(m->cap, sizeof(*m->slot));
	m->used = calloc(m->cap, 1);
	m->any = 0;
	m->top = 0;
}

static size_t model_find(const struct model *m, uint64_t c)
{
	size_t i = (size_t)((c * 0x9e3779b97f4a7c15ull) >> 20) & (m->cap - 1);

	while (m->used[i] && m->slot[i] != c)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void model_insert(struct model *m, uint64_t c);

static void model_grow(struct model *m)
{
	uint64_t *old = m->slot;
	uint8_t *old_used = m->used;
	size_t old_cap = m->cap;

	m->cap *= 2;
	m->n = 0;
	m->slot = calloc(m->cap, sizeof(*m->slot));
	m->used = calloc(m->cap, 1);
	for (size_t i = 0; i < old_cap; i++)
		if (old_used[i])
			model_insert(m, old[i]);
	free(old);
	free(old_used);
}

static void model_insert(struct model *m, uint64_t c)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap)
		model_grow(m);
	i = model_find(m, c);
	if (!m->used[i]) {
		m->used[i] = 1;
		m->slot[i] = c;
		m->n++;
	}
}

static int model_check(const struct model *m, uint64_t c)
{
	if (c >= LIMIT)
		return -ERANGE;
	if (!m->any || c > m->top)
		return 0;
	if (m->top - c >= W)
		return -ERANGE;
	return m->used[model_find(m, c)] ? -EALREADY : 0;
}

static void model_update(struct model *m, uint64_t c)
{
	model_insert(m, c);
	if (!m->any || c > m->top)
		m->top = c;
	m->any = 1;
}

/* ---- driver ---- */

static struct ipop_replay win;
static struct model ref;
static unsigned long steps, mismatches;

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void reset(void)
{
	ipop_replay_init(&win);
	model_init(&ref);
}

/* One received packet: check it; if acceptable and (authentic), record it.
 * Returns the check result. */
static int feed(uint64_t c, int authentic)
{
	int got = ipop_replay_check(&win, c);
	int want = model_check(&ref, c);

	steps++;
	if (got != want) {
		if (mismatches++ < 10)
			fprintf(stderr, "counter %llu: check %d, model %d (top %llu)\n",
				(unsigned long long)c, got, want,
				(unsigned long long)ref.top);
		CHECK(got == want);
	}
	if (want == 0 && authentic) {
		int rc = ipop_replay_update(&win, c);

		model_update(&ref, c);
		if (rc != 0) {
			mismatches++;
			CHECK(rc == 0);
		}
	}
	return got;
}

/* Probe every counter in [lo, hi] without recording anything. */
static void probe(uint64_t lo, uint64_t hi)
{
	for (uint64_t c = lo;; c++) {
		feed(c, 0);
		if (c == hi)
			break;
	}
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void probe_around_top(void)
{
	probe(sub_sat(ref.top, W + 70), ref.top + 70);
}

static void test_basics(void)
{
	reset();
	CHECK(feed(0, 1) == 0);                /* counter 0 is valid once */
	CHECK(feed(0, 1) == -EALREADY);
	CHECK(feed(1, 1) == 0);
	CHECK(feed(1, 1) == -EALREADY);
	CHECK(feed(W + 1, 1) == 0);
	CHECK(feed(1, 1) == -ERANGE);          /* top - 1 == W: just outside */
	CHECK(feed(2, 1) == 0);                /* top - 2 == W - 1: just inside */
	CHECK(feed(2, 1) == -EALREADY);
	/* A forged packet that is checked but never authenticated leaves no
	 * trace: the window does not move and the counter stays acceptable. */
	CHECK(feed(1000000, 0) == 0);
	CHECK(feed(3, 0) == 0);
	CHECK(feed(1000000, 0) == 0);
	CHECK(ipop_replay_update(&win, 1) == -ERANGE);
	CHECK(ipop_replay_update(&win, LIMIT) == -ERANGE);
	CHECK(W >= 2048);
}

static void test_in_order_and_reversed(void)
{
	reset();
	for (uint64_t c = 0; c < 20000; c++) {
		CHECK(feed(c, 1) == 0);
		if (c % 997 == 0)
			probe_around_top();
	}
	reset();
	for (uint64_t c = 20000;; c--) {
		feed(c, 1);
		if (c == 0)
			break;
	}
	probe_around_top();
	reset();
	for (uint64_t c = 0; c < 3 * IPOP_REPLAY_BITS; c += 2)  /* odd ones missing */
		feed(c, 1);
	probe_around_top();
}

/* Jumps of exactly W-1, W, W+1 (and ring-size neighbours) from every bit
 * position of a word, each followed by a full probe of the boundary. */
static void test_jumps(void)
{
	static const uint64_t jumps[] = { 1, 63, 64, 65, W - 1, W, W + 1,
		IPOP_REPLAY_BITS - 1, IPOP_REPLAY_BITS, IPOP_REPLAY_BITS + 1,
		2 * IPOP_REPLAY_BITS + 3 };

	for (size_t j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
		for (uint64_t start = 0; start < 64; start++) {
			reset();
			for (uint64_t c = 0; c <= start + 130; c += 3)
				feed(c, 1);
			feed(start + 130 + jumps[j], 1);
			probe_around_top();
			feed(start + 130 + 2 * jumps[j], 1);
			probe_around_top();
		}
	}
}

static void test_big_jumps(void)
{
	static const uint64_t tops[] = { UINT64_C(1) << 32, (UINT64_C(1) << 32) + 63,
		UINT64_C(1) << 63, (UINT64_C(1) << 63) + 4095, LIMIT - W - 1, LIMIT - 1 };

	reset();
	for (uint64_t c = 0; c < 5000; c++)
		feed(c, 1);
	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		feed(tops[i], 1);
		probe_around_top();
		for (int k = 0; k < 3000; k++)
			feed(tops[i] - rng() % (W + 100), 1);
		probe_around_top();
	}
}

static void test_limit(void)
{
	reset();
	CHECK(feed(LIMIT, 1) == -ERANGE);
	CHECK(feed(UINT64_MAX, 1) == -ERANGE);
	CHECK(feed(LIMIT - 1, 1) == 0);
	CHECK(feed(LIMIT - 1, 1) == -EALREADY);
	CHECK(feed(LIMIT - 2, 1) == 0);
	CHECK(feed(0, 1) == -ERANGE);
	probe(LIMIT - W - 70, UINT64_MAX);
	CHECK(LIMIT == UINT64_MAX - 8192);   /* 2^64 - 2^13 - 1 */
}

/* Each counter arrives, then every earlier one in (and just past) the window
 * is replayed. */
static void test_duplicates(void)
{
	reset();
	for (uint64_t c = 0; c < 6000; c++) {
		CHECK(feed(c, 1) == 0);
		CHECK(feed(c, 1) == -EALREADY);
		if (c % 61 == 0)
			probe(sub_sat(c, W + 5), c);
	}
}

/* Random traffic: mostly forward with reordering, some far-back and
 * far-ahead packets, and forgeries (checked but never authenticated). */
static void test_random(void)
{
	for (int round = 0; round < 20; round++) {
		uint64_t base = round % 2 ? rng() % (LIMIT / 2) : 0;

		reset();
		for (int i = 0; i < 100000; i++) {
			uint64_t r = rng(), c;

			switch (r % 16) {
			case 0:
				c = base + (rng() % 64);          /* duplicates near top */
				break;
			case 1:
				c = sub_sat(base, W - 2 + rng() % 5);  /* window edge */
				break;
			case 2:
				c = base + W + rng() % 3;        /* jump of ~W */
				break;
			case 3:
				c = sub_sat(base, rng() % (3 * W));
				break;
			default:
				c = sub_sat(base + rng() % 300, 200);  /* reordered stream */
				break;
			}
			feed(c, r % 11 != 0);
			if (c > base && ref.top == c)
				base = c;
			if (i % 20000 == 0)
				probe_around_top();
		}
		probe_around_top();
	}
}

/* ---- two lcores on one window ---- */

#define CONC_N 2000000u
static struct ipop_replay cwin;
static uint8_t *hits;             /* accepts per counter, both threads */
static unsigned accepted[2];
static volatile int go;

/* Both threads present every counter, each in order with its own small
 * reordering, as two workers that both receive a session's packets (a replay
 * from another address, reassembled datagrams on another queue). */
static void *conc_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint64_t x = 0x9e3779b97f4a7c15ull * (id + 1);

	while (!go)
		;
	for (uint64_t c = 0; c < CONC_N; c++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* Now and then an older one again, as reordering or a replay. */
		uint64_t k[2] = { c, (x & 7) == 0 && c >= 3 ? c - 3 : c };
		for (unsigned j = 0; j < 2; j++) {
			if (ipop_replay_accept(&cwin, k[j]) == 0) {
				__atomic_fetch_add(&hits[k[j]], 1, __ATOMIC_RELAXED);
				accepted[id]++;
			}
		}
	}
	return NULL;
}

/* Two threads running fn (each offering every counter) against one fresh
 * window; how many counters got through twice and how many never. */
static void race_two(void *(*fn)(void *), unsigned *twice, unsigned *never)
{
	pthread_t t[2];

	*twice = *never = 0;
	hits = calloc(CONC_N, 1);
	CHECK(hits != NULL);
	if (hits == NULL)
		return;
	ipop_replay_init(&cwin);
	go = 0;
	accepted[0] = accepted[1] = 0;
	for (unsigned i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)i) == 0);
	go = 1;
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (uint64_t c = 0; c < CONC_N; c++) {
		*twice += hits[c] > 1;
		*never += hits[c] == 0;
	}
	free(hits);
	hits = NULL;
}

static void test_two_writers(void)
{
	unsigned twice, never;

	race_two(conc_worker, &twice, &never);
	printf("two writers: %u counters, accepted %u + %u, %u accepted twice, %u never\n",
	       CONC_N, accepted[0], accepted[1], twice, never);
	CHECK(twice == 0);                       /* no counter gets through twice */
	CHECK(accepted[0] + accepted[1] + never == CONC_N);
	CHECK(never == 0);                       /* each thread offered every counter */
}

/* ---- the run form against one counter at a time ---- */

#define RUN_CAP 200        /* more than IPOP_REPLAY_RUN_MAX: runs taken in pieces */
static unsigned long run_cases, run_counters, run_res[3];   /* 0, -EALREADY, -ERANGE */

/* Accept ctr[0..n-1] on a copy of w one by one and on another copy as a run:
 * same results, same count, same window after (w gets it). want, if not
 * NULL: the results expected. */
static unsigned long consec_cases;

static void run_vs_single(struct ipop_replay *w, const uint64_t *ctr, unsigned n, const int *want)
{
	static struct ipop_replay one, run;
	int r1[RUN_CAP], r2[RUN_CAP];
	unsigned acc = 0;

	memcpy(&one, w, sizeof(one));
	memcpy(&run, w, sizeof(run));
	for (unsigned i = 0; i < n; i++) {
		r1[i] = ipop_replay_accept(&one, ctr[i]);
		acc += r1[i] == 0;
	}
	unsigned got = ipop_replay_accept_run(&run, ctr, n, r2);
	int same = got == acc && memcmp(&one, &run, sizeof(one)) == 0 &&
		   (n == 0 || memcmp(r1, r2, n * sizeof(r1[0])) == 0);
	for (unsigned i = 0; want != NULL && i < n; i++)
		same &= r2[i] == want[i];
	run_cases++;
	run_counters += n;
	for (unsigned i = 0; i < n; i++)
		run_res[r2[i] == 0 ? 0 : r2[i] == -EALREADY ? 1 : 2]++;
	if (!same) {
		if (mismatches++ < 10) {
			fprintf(stderr, "run of %u (top %llu): accepted %u, one by one %u; state %s\n",
				n, (unsigned long long)w->top, got, acc,
				memcmp(&one, &run, sizeof(one)) ? "differs" : "same");
			for (unsigned i = 0; i < n; i++)
				if (r1[i] != r2[i] || (want && want[i] != r2[i]))
					fprintf(stderr, "  [%u] %llu: run %d, single %d, want %d\n",
						i, (unsigned long long)ctr[i], r2[i], r1[i],
						want ? want[i] : r1[i]);
		}
		CHECK(same);
	}
	memcpy(w, &run, sizeof(run));
}

static void accept_range(struct ipop_replay *w, uint64_t lo, uint64_t hi)
{
	for (uint64_t c = lo; c <= hi; c++)
		CHECK(ipop_replay_accept(w, c) == 0);
}

#define RUN(...) do {                                                          \
		const uint64_t c_[] = { __VA_ARGS__ };                           \
		run_vs_single(&win, c_, sizeof(c_) / sizeof(c_[0]), want_);    \
	} while (0)
#define WANT(...) const int want_[] = { __VA_ARGS__ }

static void test_run_cases(void)
{
	const int EA = -EALREADY, ER = -ERANGE;

	/* Duplicates inside the run: the later one is a replay. */
	ipop_replay_init(&win);
	{ WANT(0, 0, EA, 0, EA, 0, EA); RUN(5, 6, 5, 7, 6, 0, 0); }
	{ WANT(EA, 0); RUN(7, 8); }
	/* Across two slots (counters 60..70: blocks 0 and 1), a duplicate of each. */
	{ WANT(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, EA, EA);
	  RUN(60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 63, 64); }
	for (uint64_t c = 60; c <= 70; c++)
		CHECK(ipop_replay_check(&win, c) == -EALREADY);
	CHECK(ipop_replay_check(&win, 71) == 0 && ipop_replay_check(&win, 59) == 0);

	/* The window moves inside the run: 100 + W leaves 99 behind and keeps
	 * 101 (and 100: exactly W behind); 100 + W + 2112 (the same slot, a newer block) leaves 100 + W
	 * behind in turn. */
	ipop_replay_init(&win);
	accept_range(&win, 0, 99);
	{ WANT(0, 0, ER, 0, ER, 0, ER, ER);
	  RUN(100, 100 + W, 99, 101, 100, 100 + W + IPOP_REPLAY_BITS, 100 + W, 101); }
	CHECK(win.top == 100 + W + IPOP_REPLAY_BITS);

	/* Old and too old: top 3000. 952 is just out, 953 in and seen; once 3001
	 * is accepted 953 is out too. */
	ipop_replay_init(&win);
	accept_range(&win, 0, 3000);
	{ WANT(ER, EA, 0, ER, ER, ER, 0, EA, ER, 0, EA);
	  RUN(952, 953, 3001, 953, LIMIT, UINT64_MAX, 3002, 3001, 954, 1000 + W, 2000); }
	/* Near the limit. */
	{ WANT(0, EA, ER, 0, ER); RUN(LIMIT - 1, LIMIT - 1, LIMIT, LIMIT - 2, 3003); }

	/* top lagging behind a slot (another lcore moved the slot and has not
	 * stored top yet): a counter of the slot's older block is refused by the
	 * slot, not by the range. */
	ipop_replay_init(&win);
	accept_range(&win, 0, 10);
	CHECK(ipop_replay_accept(&win, 5 + IPOP_REPLAY_BITS) == 0);
	__atomic_store_n(&win.top, 10, __ATOMIC_RELAXED);
	{ WANT(ER, ER, 0, EA, 0); RUN(3, 11, 70, 5 + IPOP_REPLAY_BITS, 6 + IPOP_REPLAY_BITS); }

	/* Longer than one piece: a duplicate across the pieces' boundary, every
	 * counter of two pieces, in descending order. */
	ipop_replay_init(&win);
	{
		uint64_t c[RUN_CAP];
		int want[RUN_CAP];
		for (unsigned i = 0; i < RUN_CAP; i++) {
			c[i] = 1000 - i;
			want[i] = 0;
		}
		c[IPOP_REPLAY_RUN_MAX + 3] = c[2];
		want[IPOP_REPLAY_RUN_MAX + 3] = EA;
		run_vs_single(&win, c, RUN_CAP, want);
		run_vs_single(&win, c, 0, NULL);          /* nothing, nothing changes */
		for (unsigned i = 0; i < RUN_CAP; i++)
			want[i] = EA;
		run_vs_single(&win, c, RUN_CAP, want);
	}
}

#undef RUN
#undef WANT

/* One random counter around base, of the kinds a run may hold. */
static uint64_t run_counter(uint64_t base, const uint64_t *prev, unsigned n)
{
	uint64_t r = rng();

	switch (r % 64) {
	case 0: case 1: case 2: case 3: case 4: case 5:
		return n ? prev[rng() % n] : base;                 /* a duplicate in the run */
	case 6: case 7:
		return sub_sat(base, W - 3 + rng() % 7);           /* the window's edge */
	case 8: case 9: case 10:
		return sub_sat(base, rng() % (2 * W));             /* old or too old */
	case 11:
		return base + W - 2 + rng() % 5;                   /* a jump of ~W */
	case 12:
		return base + IPOP_REPLAY_BITS - 2 + rng() % 5;    /* the same slot again */
	case 13:
		return base + rng() % (4 * IPOP_REPLAY_BITS);      /* far ahead */
	default:
		return sub_sat(base + rng() % 96, 32);             /* a reordered stream */
	}
}

/* Random windows (a history accepted one counter at a time, now and then a
 * top that lags, as between another lcore's swap and its store of top), then
 * a random run on it: results and state must equal the counter-at-a-time
 * form's. */
static void test_run_random(void)
{
	for (int round = 0; round < 20000; round++) {
		uint64_t base;
		switch (round % 5) {
		case 0:
			base = 0;
			break;
		case 1:
			base = LIMIT - rng() % (3 * W);
			break;
		default:
			base = rng() % (LIMIT / 2);
			break;
		}
		ipop_replay_init(&win);
		unsigned hist = (unsigned)(rng() % 400);
		for (unsigned i = 0; i < hist; i++) {
			uint64_t c = run_counter(base, NULL, 0);
			if (ipop_replay_accept(&win, c) == 0 && c > base)
				base = c;
		}
		if (rng() % 8 == 0)
			__atomic_store_n(&win.top, sub_sat(win.top, rng() % (3 * 64)), __ATOMIC_RELAXED);
		uint64_t ctr[RUN_CAP];
		unsigned n = (unsigned)(round % 7 == 0 ? rng() % RUN_CAP : 1 + rng() % 64);
		for (unsigned i = 0; i < n; i++) {
			ctr[i] = run_counter(base, ctr, i);
			if (ctr[i] >= LIMIT && rng() % 2)
				ctr[i] = LIMIT - 1 - rng() % 64;
		}
		run_vs_single(&win, ctr, n, NULL);
		/* A second run on the window the first left. */
		for (unsigned i = 0; i < n; i++)
			ctr[i] = run_counter(win.top, ctr, i);
		run_vs_single(&win, ctr, n, NULL);
		/* Consecutive counters (a session's frames in order, which
		 * replay.c decides a block at a time): from any of the places
		 * a run may start, over one block or two, or taken in pieces;
		 * partly seen, seen, too old, at the limit. */
		uint64_t c0 = run_counter(win.top, NULL, 0);
		if (c0 >= LIMIT && rng() % 2)
			c0 = LIMIT - 1 - rng() % 96;
		n = (unsigned)(round % 9 == 0 ? 1 + rng() % RUN_CAP : 1 + rng() % 64);
		for (unsigned i = 0; i < n; i++)
			ctr[i] = c0 + i;
		run_vs_single(&win, ctr, n, NULL);
		consec_cases++;
	}
	printf("run form: %lu runs (%lu of consecutive counters), %lu counters compared with "
	       "one at a time (%lu accepted, %lu replays, %lu out of range)\n",
	       run_cases, consec_cases, run_counters, run_res[0], run_res[1], run_res[2]);
	CHECK(run_res[0] > run_counters / 5 && run_res[1] > run_counters / 10 &&
	      run_res[2] > run_counters / 20);
}
/* ---- two lcores on one window, a run at a time ---- */

/* Thread id 0 (and 1 if both_runs) takes runs: the next 1-16 counters with
 * older ones again (a replay of a counter 0-20 back, within the run too) and
 * the run's two ends swapped now and then, as a receive batch of one session.
 * The other thread, if not both_runs, takes the same counters one at a time. */
static int both_runs;
static int consec_runs;   /* runs of 1-64 consecutive counters only, nothing replayed */

static void *run_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint64_t x = 0x2545f4914f6cdd1dull * (id + 3), ctr[48];
	int res[48];

	while (!go)
		;
	for (uint64_t c = 0; c < CONC_N;) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned len = 1 + (unsigned)(x % (consec_runs ? 48 : 16)), n = 0;
		for (unsigned j = 0; j < len && c < CONC_N; j++, c++) {
			ctr[n++] = c;
			if (!consec_runs && (x >> (8 + j)) & 1 && c >= 20)
				ctr[n++] = c - ((x >> 32) + j) % 21;
		}
		if (!consec_runs && (x >> 60) == 0 && n > 1) {
			uint64_t t = ctr[0];
			ctr[0] = ctr[n - 1];
			ctr[n - 1] = t;
		}
		if (id == 0 || both_runs) {
			unsigned acc = ipop_replay_accept_run(&cwin, ctr, n, res), got = 0;
			for (unsigned j = 0; j < n; j++) {
				if (res[j] == 0) {
					__atomic_fetch_add(&hits[ctr[j]], 1, __ATOMIC_RELAXED);
					got++;
				}
			}
			CHECK(acc == got);
			accepted[id] += got;
		} else {
			for (unsigned j = 0; j < n; j++) {
				if (ipop_replay_accept(&cwin, ctr[j]) == 0) {
					__atomic_fetch_add(&hits[ctr[j]], 1, __ATOMIC_RELAXED);
					accepted[id]++;
				}
			}
		}
	}
	return NULL;
}

static void test_two_writers_runs(int runs_both, int consec)
{
	unsigned twice, never;

	both_runs = runs_both;
	consec_runs = consec;
	race_two(run_worker, &twice, &never);
	printf("two writers, %s%s: %u counters, accepted %u + %u, %u accepted twice, %u never\n",
	       runs_both ? "runs and runs" : "runs and one at a time",
	       consec ? " (consecutive)" : "", CONC_N, accepted[0],
	       accepted[1], twice, never);
	CHECK(twice == 0);
	CHECK(never == 0);
	CHECK(accepted[0] + accepted[1] == CONC_N);
}

int main(void)
{
	test_basics();
	test_in_order_and_reversed();
	test_jumps();
	test_big_jumps();
	test_limit();
	test_duplicates();
	test_random();
	test_two_writers();
	test_run_cases();
	test_run_random();
	test_two_writers_runs(1, 0);
	test_two_writers_runs(0, 0);
	test_two_writers_runs(1, 1);
	test_two_writers_runs(0, 1);
	CHECK(mismatches == 0);
	printf("replay window %u bits, %u counters: %lu packets compared with the "
	       "model, %lu mismatches\n", IPOP_REPLAY_BITS, W, steps, mismatches);
	free(ref.slot);
	free(ref.used);
	return check_report("replay");
}

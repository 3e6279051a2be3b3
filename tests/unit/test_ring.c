/* test_ring.c - ring arithmetic: every pair and triple of an 8-bit ring, run
 * through the real 128-bit code, plus 128-bit wrap-around edge cases, the
 * sorted-set searches, fractions and the text and byte forms.
 *
 * The 8-bit ring is embedded in the 128-bit one as id(x) = R + x * 2^120 +
 * noise(x) with noise(x) < 2^120. Adding R (a rotation) and noise keeps the
 * cyclic order of the 256 points, so every order predicate must give what
 * the 8-bit model gives, while carries, borrows across the two 64-bit words
 * and the wrap at 2^128 all happen inside ring.h. The model is independent
 * of ring.h: intervals are walked step by step. */
#include "tests/unit/check.h"
#include "dataplane/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

struct embedding {
	u128 rot;
	bool noisy;
};

static const struct embedding embeddings[] = {
	{ 0, false },                                         /* plain top byte */
	{ 0, true },                                          /* with low-bit noise */
	{ ((u128)0x7fffffffffffffffULL << 64) | 0xfffffffffffffff0ULL, true }, /* wraps mid-ring */
	{ ((u128)0xffffffffffffffffULL << 64) | 0x8000000000000000ULL, true }, /* wraps near x=0 */
};

static u128 noise(unsigned x)
{
	/* A fixed pseudo-random value below 2^120 per point. */
	u128 v = (u128)(0x9e3779b97f4a7c15ULL * (x + 1)) << 56;

	v ^= (u128)(0xc2b2ae3d27d4eb4fULL * (x + 7));
	return v & (((u128)1 << 120) - 1);
}

static u128 embed128(const struct embedding *e, unsigned x)
{
	return e->rot + ((u128)x << 120) + (e->noisy ? noise(x) : 0);
}

static struct ipop_node_id to_id(u128 v)
{
	return ipop_node_id_make((uint64_t)(v >> 64), (uint64_t)v);
}

static u128 from_id(struct ipop_node_id id)
{
	return ((u128)id.hi << 64) | id.lo;
}

static struct ipop_node_id embed(const struct embedding *e, unsigned x)
{
	return to_id(embed128(e, x));
}

/* walk[a][b]: bit x set iff x is met walking clockwise from a (inclusive) to b
 * (exclusive); a == b walks the whole ring. */
static uint64_t walk[256][256][4];

static void build_walks(void)
{
	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b < 256; b++) {
			unsigned x = a;

			memset(walk[a][b], 0, sizeof(walk[a][b]));
			do {
				walk[a][b][x / 64] |= 1ULL << (x % 64);
				x = (x + 1) & 255;
			} while (x != b);
		}
}

static bool walked(unsigned a, unsigned b, unsigned x)
{
	return walk[a][b][x / 64] >> (x % 64) & 1;
}

static void test_pairs(const struct embedding *e)
{
	unsigned bad = 0;

	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b < 256; b++) {
			struct ipop_node_id ia = embed(e, a), ib = embed(e, b);
			struct ipop_node_id d = ipop_ring_dist(ia, ib);
			u128 want = embed128(e, b) - embed128(e, a);

			bad += from_id(d) != want;
			bad += !ipop_node_id_eq(ipop_ring_add(ia, d), ib);
			bad += !ipop_node_id_eq(ipop_ring_sub(ib, d), ia);
			/* dist(a,b) + dist(b,a) == 0 mod 2^128 */
			bad += !ipop_node_id_is_zero(ipop_ring_add(d, ipop_ring_dist(ib, ia)));
			bad += ipop_node_id_eq(ia, ib) != (a == b);
			if (!e->noisy)
				bad += from_id(d) != (u128)((b - a) & 255) << 120;
			if (e->rot == 0)
				bad += ipop_node_id_cmp(ia, ib) != (a < b ? -1 : a > b ? 1 : 0);
		}
	CHECK(bad == 0);
}

static void test_triples(const struct embedding *e)
{
	unsigned bad = 0;

	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b < 256; b++) {
			struct ipop_node_id ia = embed(e, a), ib = embed(e, b);

			for (unsigned x = 0; x < 256; x++) {
				struct ipop_node_id ix = embed(e, x);
				bool co = walked(a, b, x);                     /* [a, b) */
				bool oc = a == b ? true : walked((a + 1) & 255, (b + 1) & 255, x);
				bool oo = x != a && (a == b || walked(a, b, x));

				bad += ipop_ring_in_co(ix, ia, ib) != co;
				bad += ipop_ring_in_oc(ix, ia, ib) != oc;
				bad += ipop_ring_in_oo(ix, ia, ib) != oo;
				/* closer(a, b, x): b met strictly before x walking from a */
				bad += ipop_ring_closer(ia, ib, ix) !=
				       (b != x && walked(a, x, b) && !(a == x));
			}
		}
	CHECK(bad == 0);
}

/* The oc/oo models above must themselves agree with plain definitions on a
 * few hand-picked cases, so a mistake in the model cannot hide one in ring.h. */
static void test_model_sanity(void)
{
	const struct embedding *e = &embeddings[0];

	CHECK(ipop_ring_in_co(embed(e, 5), embed(e, 5), embed(e, 6)));
	CHECK(!ipop_ring_in_co(embed(e, 6), embed(e, 5), embed(e, 6)));
	CHECK(ipop_ring_in_co(embed(e, 0), embed(e, 250), embed(e, 3)));
	CHECK(!ipop_ring_in_co(embed(e, 3), embed(e, 250), embed(e, 3)));
	CHECK(!ipop_ring_in_oc(embed(e, 250), embed(e, 250), embed(e, 3)));
	CHECK(ipop_ring_in_oc(embed(e, 3), embed(e, 250), embed(e, 3)));
	CHECK(!ipop_ring_in_oo(embed(e, 3), embed(e, 250), embed(e, 3)));
	CHECK(ipop_ring_in_oo(embed(e, 255), embed(e, 250), embed(e, 3)));
	CHECK(ipop_ring_in_oo(embed(e, 9), embed(e, 7), embed(e, 7)));   /* whole ring but 7 */
	CHECK(!ipop_ring_in_oo(embed(e, 7), embed(e, 7), embed(e, 7)));
	CHECK(ipop_ring_in_oc(embed(e, 7), embed(e, 7), embed(e, 7)));   /* (a, a] = ring */
	CHECK(walked(250, 3, 0) && !walked(250, 3, 3) && walked(7, 7, 200));
}

static int cmp_id(const void *a, const void *b)
{
	return ipop_node_id_cmp(*(const struct ipop_node_id *)a, *(const struct ipop_node_id *)b);
}

/* Model searches by walking the 8-bit ring over a member mask. */
static int model_succ(const bool *in, unsigned x, bool incl)
{
	for (unsigned t = incl ? 0 : 1; t < 256 + (incl ? 0 : 1); t++) {
		unsigned y = (x + t) & 255;

		if (in[y] && (incl || y != x))
			return (int)y;
	}
	return -1;
}

static int model_pred(const bool *in, unsigned x)
{
	for (unsigned t = 1; t < 256; t++) {
		unsigned y = (x - t) & 255;

		if (in[y])
			return (int)y;
	}
	return -1;
}

static unsigned check_set(const struct embedding *e, const bool *in)
{
	struct ipop_node_id ids[256];
	size_t n = 0, idx;
	unsigned bad = 0;
	int rc, want;

	for (unsigned x = 0; x < 256; x++)
		if (in[x])
			ids[n++] = embed(e, x);
	qsort(ids, n, sizeof(ids[0]), cmp_id);
	bad += !ipop_ring_is_sorted(ids, n);
	for (unsigned x = 0; x < 256; x++) {
		struct ipop_node_id ix = embed(e, x);

		want = model_succ(in, x, true);
		rc = ipop_ring_succ_incl(ids, n, ix, &idx);
		bad += want < 0 ? rc != -ENOENT : (rc || !ipop_node_id_eq(ids[idx], embed(e, want)));
		want = model_succ(in, x, false);
		if (want == (int)x)
			want = -1;
		rc = ipop_ring_succ(ids, n, ix, &idx);
		bad += want < 0 ? rc != -ENOENT : (rc || !ipop_node_id_eq(ids[idx], embed(e, want)));
		want = model_pred(in, x);
		rc = ipop_ring_pred(ids, n, ix, &idx);
		bad += want < 0 ? rc != -ENOENT : (rc || !ipop_node_id_eq(ids[idx], embed(e, want)));
		rc = ipop_ring_find(ids, n, ix, &idx);
		bad += in[x] ? (rc || !ipop_node_id_eq(ids[idx], ix)) : rc != -ENOENT;
	}
	return bad;
}

static void test_searches(const struct embedding *e)
{
	bool in[256];
	unsigned bad = 0, seed = 12345;

	memset(in, 0, sizeof(in));
	bad += check_set(e, in);                       /* empty */
	for (unsigned a = 0; a < 256; a++) {           /* every singleton */
		in[a] = true;
		bad += check_set(e, in);
		in[a] = false;
	}
	for (unsigned a = 0; a < 256; a += 3)          /* many pairs, incl. adjacent and wrapping */
		for (unsigned b = a + 1; b < 256; b += 7) {
			in[a] = in[b] = true;
			bad += check_set(e, in);
			in[a] = in[b] = false;
		}
	for (unsigned t = 0; t < 300; t++) {           /* random sets of every density */
		unsigned density = t % 16 + 1;

		for (unsigned x = 0; x < 256; x++) {
			seed = seed * 1103515245u + 12345u;
			in[x] = (seed >> 16) % 16 < density;
		}
		bad += check_set(e, in);
	}
	memset(in, 1, sizeof(in));                     /* full ring */
	bad += check_set(e, in);
	CHECK(bad == 0);
}

static void test_wrap_edges(void)
{
	struct ipop_node_id zero = ipop_node_id_make(0, 0);
	struct ipop_node_id one = ipop_node_id_make(0, 1);
	struct ipop_node_id max = ipop_node_id_make(UINT64_MAX, UINT64_MAX);
	struct ipop_node_id lo_max = ipop_node_id_make(0, UINT64_MAX);
	struct ipop_node_id hi_one = ipop_node_id_make(1, 0);
	struct ipop_node_id half = ipop_node_id_make(1ULL << 63, 0);

	CHECK(ipop_node_id_eq(ipop_ring_dist(max, zero), one));
	CHECK(ipop_node_id_eq(ipop_ring_dist(zero, max), max));
	CHECK(ipop_node_id_eq(ipop_ring_add(lo_max, one), hi_one));      /* carry */
	CHECK(ipop_node_id_eq(ipop_ring_sub(hi_one, one), lo_max));      /* borrow */
	CHECK(ipop_node_id_eq(ipop_ring_add(max, one), zero));           /* wrap */
	CHECK(ipop_node_id_eq(ipop_ring_sub(zero, one), max));
	CHECK(ipop_node_id_eq(ipop_ring_dist(half, zero), half));
	CHECK(ipop_ring_in_oo(zero, max, one));
	CHECK(ipop_ring_in_co(max, max, one));
	CHECK(!ipop_ring_in_co(one, max, one));
	CHECK(ipop_ring_in_oc(one, max, one));
	CHECK(!ipop_ring_in_oo(max, zero, max));
	CHECK(ipop_ring_in_oo(half, one, zero));
	CHECK(!ipop_ring_in_oo(half, zero, half));
	CHECK(ipop_ring_closer(max, zero, one));
	CHECK(!ipop_ring_closer(one, zero, max));
	CHECK(ipop_node_id_cmp(lo_max, hi_one) < 0);
	CHECK(ipop_node_id_cmp(max, zero) > 0);

	/* searches whose answer wraps past 2^128 - 1 */
	struct ipop_node_id set[3] = { one, half, ipop_node_id_make(UINT64_MAX, 7) };
	size_t idx = 99;

	CHECK(ipop_ring_succ(set, 3, max, &idx) == 0 && idx == 0);
	CHECK(ipop_ring_succ_incl(set, 3, ipop_node_id_make(UINT64_MAX, 8), &idx) == 0 && idx == 0);
	CHECK(ipop_ring_pred(set, 3, zero, &idx) == 0 && idx == 2);
	CHECK(ipop_ring_pred(set, 3, one, &idx) == 0 && idx == 2);
	CHECK(ipop_ring_succ(set, 3, ipop_node_id_make(UINT64_MAX, 7), &idx) == 0 && idx == 0);
	CHECK(ipop_ring_succ(set, 1, one, &idx) == -ENOENT);
	CHECK(ipop_ring_pred(set, 1, one, &idx) == -ENOENT);
	CHECK(ipop_ring_succ(set, 1, zero, &idx) == 0 && idx == 0);
	CHECK(ipop_ring_succ(NULL, 1, zero, &idx) == -EINVAL);
	CHECK(ipop_ring_succ(set, 0, zero, &idx) == -ENOENT);
	CHECK(ipop_ring_lower_bound(set, 3, max) == 3);
	CHECK(ipop_ring_is_sorted(set, 3));
	set[1] = one;
	CHECK(!ipop_ring_is_sorted(set, 3));   /* duplicate */
	CHECK(ipop_ring_is_sorted(set, 1) && ipop_ring_is_sorted(set, 0));
}

static void test_fractions(void)
{
	struct ipop_node_id half = ipop_node_id_make(1ULL << 63, 0);
	struct ipop_node_id quarter = ipop_node_id_make(1ULL << 62, 0);
	struct ipop_node_id max = ipop_node_id_make(UINT64_MAX, UINT64_MAX);
	struct ipop_node_id tiny = ipop_node_id_make(0, 1ULL << 63);   /* 2^-65 */

	CHECK(ipop_ring_to_fraction(ipop_node_id_make(0, 0)) == 0.0);
	CHECK(ipop_ring_to_fraction(half) == 0.5);
	CHECK(ipop_ring_to_fraction(quarter) == 0.25);
	CHECK(ipop_ring_to_fraction(tiny) == 0x1.0p-65);
	CHECK(ipop_ring_to_fraction(max) < 1.0);
	CHECK(ipop_node_id_eq(ipop_ring_from_fraction(0.5), half));
	CHECK(ipop_node_id_eq(ipop_ring_from_fraction(0.25), quarter));
	CHECK(ipop_node_id_eq(ipop_ring_from_fraction(0x1.0p-65), tiny));  /* reaches lo */
	CHECK(ipop_node_id_eq(ipop_ring_from_fraction(1.0), ipop_node_id_make(0, 0)));
	CHECK(ipop_node_id_eq(ipop_ring_from_fraction(-0.75), quarter));
	CHECK(ipop_node_id_eq(ipop_ring_from_fraction(1.25), quarter));
	for (int i = 1; i < 1000; i++) {
		double f = i / 1000.0;

		CHECK(ipop_ring_to_fraction(ipop_ring_from_fraction(f)) == f);
	}
}

static void test_text_and_bytes(void)
{
	struct ipop_node_id id, back;
	char buf[IPOP_NODE_ID_HEX_LEN + 1];
	uint8_t b[IPOP_NODE_ID_BYTES];

	CHECK(ipop_node_id_parse("0123456789abcdefFEDCBA9876543210", &id) == 0);
	CHECK(id.hi == 0x0123456789abcdefULL && id.lo == 0xfedcba9876543210ULL);
	CHECK(ipop_node_id_format(id, buf, sizeof(buf)) == 0);
	CHECK(strcmp(buf, "0123456789abcdeffedcba9876543210") == 0);
	CHECK(ipop_node_id_parse("01234567-89ab-cdef-fedc-ba9876543210", &back) == 0);
	CHECK(ipop_node_id_eq(id, back));
	CHECK(ipop_node_id_parse("0123456789abcdeffedcba987654321", &back) == -EINVAL);   /* 31 */
	CHECK(ipop_node_id_parse("0123456789abcdeffedcba98765432100", &back) == -EINVAL); /* 33 */
	CHECK(ipop_node_id_parse("0123456789abcdeffedcba987654321g", &back) == -EINVAL);
	CHECK(ipop_node_id_parse("01234567-89ab-cdef-fedc_ba9876543210", &back) == -EINVAL);
	CHECK(ipop_node_id_parse("0123456789-abcdef-fedc-ba98765432", &back) == -EINVAL);
	CHECK(ipop_node_id_parse(NULL, &back) == -EINVAL);
	CHECK(ipop_node_id_format(id, buf, IPOP_NODE_ID_HEX_LEN) == -ENOSPC);
	ipop_node_id_to_bytes(id, b);
	CHECK(b[0] == 0x01 && b[7] == 0xef && b[8] == 0xfe && b[15] == 0x10);
	CHECK(ipop_node_id_eq(ipop_node_id_from_bytes(b), id));
}

int main(void)
{
	build_walks();
	test_model_sanity();
	for (size_t i = 0; i < sizeof(embeddings) / sizeof(embeddings[0]); i++) {
		test_pairs(&embeddings[i]);
		test_triples(&embeddings[i]);
		test_searches(&embeddings[i]);
	}
	test_wrap_edges();
	test_fractions();
	test_text_and_bytes();
	return check_report("ring");
}

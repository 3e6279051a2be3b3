/* ring.h - node IDs and the arithmetic of the identifier ring.
 *
 * Thread: either (pure functions on values; no state, no allocation).
 *
 * Every node has a 128-bit ID; IDs are points on a ring of size 2^128 ordered
 * clockwise by increasing value, wrapping from 2^128-1 to 0. This is the one
 * place that knows how to compare, subtract and search IDs: the Symphony
 * topology (control/topology/), the Bounded Flood bound (dataplane/flood.h)
 * and the simulator (bench/sim/) all call it, so an off-by-one here would show
 * up everywhere at once, and the exhaustive test (tests/unit/test_ring.c)
 * checks it on every pair and triple of an 8-bit ring embedded in the top
 * byte of the 128-bit space, which exercises exactly this code.
 *
 * Conventions used by every interval function:
 *  - distances are clockwise: dist(a, b) = (b - a) mod 2^128;
 *  - an interval whose two ends are equal is the whole ring (so that a
 *    broadcast's originator can use its own ID as the bound for "everything").
 */
#ifndef IPOP_DATAPLANE_RING_H
#define IPOP_DATAPLANE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A node ID, or a clockwise distance between two IDs (same arithmetic).
 * hi holds bits 127..64, lo bits 63..0. On the wire it is 16 bytes,
 * big-endian; as text, 32 hex digits (see ipop_node_id_parse). */
struct ipop_node_id {
	uint64_t hi;
	uint64_t lo;
};

#define IPOP_NODE_ID_HEX_LEN 32   /* digits, without the NUL */
#define IPOP_NODE_ID_BYTES   16

static inline struct ipop_node_id ipop_node_id_make(uint64_t hi, uint64_t lo)
{
	struct ipop_node_id id = { .hi = hi, .lo = lo };
	return id;
}

static inline bool ipop_node_id_eq(struct ipop_node_id a, struct ipop_node_id b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

static inline bool ipop_node_id_is_zero(struct ipop_node_id a)
{
	return (a.hi | a.lo) == 0;
}

/* Linear (not ring) order: -1, 0 or 1. Sorted arrays use this order. */
static inline int ipop_node_id_cmp(struct ipop_node_id a, struct ipop_node_id b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

/* (a + b) mod 2^128 and (a - b) mod 2^128. */
static inline struct ipop_node_id ipop_ring_add(struct ipop_node_id a, struct ipop_node_id b)
{
	struct ipop_node_id r;

	r.lo = a.lo + b.lo;
	r.hi = a.hi + b.hi + (r.lo < a.lo);
	return r;
}

static inline struct ipop_node_id ipop_ring_sub(struct ipop_node_id a, struct ipop_node_id b)
{
	struct ipop_node_id r;

	r.lo = a.lo - b.lo;
	r.hi = a.hi - b.hi - (a.lo < b.lo);
	return r;
}

/* Clockwise distance from a to b: how far one walks from a, increasing,
 * wrapping at 2^128, to reach b. dist(a, a) = 0; dist(a, b) + dist(b, a) = 0
 * mod 2^128. */
static inline struct ipop_node_id ipop_ring_dist(struct ipop_node_id a, struct ipop_node_id b)
{
	return ipop_ring_sub(b, a);
}

/* x in the half-open interval [a, b) walking clockwise; [a, a) is the ring. */
static inline bool ipop_ring_in_co(struct ipop_node_id x, struct ipop_node_id a,
				   struct ipop_node_id b)
{
	if (ipop_node_id_eq(a, b))
		return true;
	return ipop_node_id_cmp(ipop_ring_dist(a, x), ipop_ring_dist(a, b)) < 0;
}

/* x in the half-open interval (a, b] walking clockwise; (a, a] is the ring. */
static inline bool ipop_ring_in_oc(struct ipop_node_id x, struct ipop_node_id a,
				   struct ipop_node_id b)
{
	if (ipop_node_id_eq(a, b))
		return true;
	if (ipop_node_id_eq(x, a))
		return false;
	return ipop_node_id_cmp(ipop_ring_dist(a, x), ipop_ring_dist(a, b)) <= 0;
}

/* x in the open interval (a, b) walking clockwise; (a, a) is the ring minus a.
 * This is the Bounded Flood arc: a node owns (self, bound). */
static inline bool ipop_ring_in_oo(struct ipop_node_id x, struct ipop_node_id a,
				   struct ipop_node_id b)
{
	if (ipop_node_id_eq(x, a))
		return false;
	if (ipop_node_id_eq(a, b))
		return true;
	return ipop_node_id_cmp(ipop_ring_dist(a, x), ipop_ring_dist(a, b)) < 0;
}

/* True if b is strictly closer than c walking clockwise from a. */
static inline bool ipop_ring_closer(struct ipop_node_id a, struct ipop_node_id b,
				    struct ipop_node_id c)
{
	return ipop_node_id_cmp(ipop_ring_dist(a, b), ipop_ring_dist(a, c)) < 0;
}

/* Searches over a sorted set: ids[0..n) strictly increasing in linear order
 * (ipop_ring_is_sorted). All return 0 and the index in *idx, or -ENOENT when
 * no element qualifies (n == 0, or the only element is x where x is excluded),
 * or -EINVAL on NULL arguments. O(log n). */

/* First element at or after x clockwise: the "manager" of point x. */
int ipop_ring_succ_incl(const struct ipop_node_id *ids, size_t n,
			struct ipop_node_id x, size_t *idx);
/* First element strictly after x clockwise (x itself is skipped). */
int ipop_ring_succ(const struct ipop_node_id *ids, size_t n,
		   struct ipop_node_id x, size_t *idx);
/* First element strictly before x counter-clockwise (x itself is skipped). */
int ipop_ring_pred(const struct ipop_node_id *ids, size_t n,
		   struct ipop_node_id x, size_t *idx);
/* Index of x itself. */
int ipop_ring_find(const struct ipop_node_id *ids, size_t n,
		   struct ipop_node_id x, size_t *idx);

/* Number of elements linearly below x (the insertion point of x). */
size_t ipop_ring_lower_bound(const struct ipop_node_id *ids, size_t n,
			     struct ipop_node_id x);

/* True if ids[0..n) is strictly increasing (sorted and free of duplicates). */
bool ipop_ring_is_sorted(const struct ipop_node_id *ids, size_t n);

/* A distance as a fraction of the ring, in [0, 1), and back. Symphony draws
 * its long-distance links in these units. f outside [0, 1) is reduced mod 1. */
double ipop_ring_to_fraction(struct ipop_node_id d);
struct ipop_node_id ipop_ring_from_fraction(double f);

/* Text form: exactly 32 hex digits (either case), or the 36-character UUID
 * form 8-4-4-4-12 with dashes. Returns 0 or -EINVAL. */
int ipop_node_id_parse(const char *s, struct ipop_node_id *out);
/* Writes 32 lowercase hex digits and a NUL; -ENOSPC if len < 33. */
int ipop_node_id_format(struct ipop_node_id id, char *buf, size_t len);

/* 16 bytes big-endian, for wire headers (the FRB bound). Inline: the fast path converts the IDs of
 * every flood copy and transit frame (two 8-byte loads or stores and byte
 * swaps, where a byte loop cost ~20 cycles a frame). */
static inline uint64_t ipop_node_id_be64(uint64_t x)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap64(x);
#else
	return x;
#endif
}

static inline void ipop_node_id_to_bytes(struct ipop_node_id id, uint8_t out[IPOP_NODE_ID_BYTES])
{
	uint64_t hi = ipop_node_id_be64(id.hi), lo = ipop_node_id_be64(id.lo);

	memcpy(out, &hi, 8);
	memcpy(out + 8, &lo, 8);
}

static inline struct ipop_node_id ipop_node_id_from_bytes(const uint8_t in[IPOP_NODE_ID_BYTES])
{
	uint64_t hi, lo;

	memcpy(&hi, in, 8);
	memcpy(&lo, in + 8, 8);
	return (struct ipop_node_id){ ipop_node_id_be64(hi), ipop_node_id_be64(lo) };
}

#endif

/* ring.c - searches, conversions and text form of ring node IDs.
 *
 * Thread: either (pure). The arithmetic itself is inline in ring.h. */
#include "dataplane/ring.h"

#include <errno.h>
#include <math.h>
#include <string.h>

size_t ipop_ring_lower_bound(const struct ipop_node_id *ids, size_t n,
			     struct ipop_node_id x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ipop_node_id_cmp(ids[mid], x) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int ipop_ring_succ_incl(const struct ipop_node_id *ids, size_t n,
			struct ipop_node_id x, size_t *idx)
{
	size_t i;

	if (!ids || !idx)
		return -EINVAL;
	if (n == 0)
		return -ENOENT;
	i = ipop_ring_lower_bound(ids, n, x);
	*idx = i == n ? 0 : i;    /* past the largest ID the ring wraps to 0 */
	return 0;
}

int ipop_ring_succ(const struct ipop_node_id *ids, size_t n,
		   struct ipop_node_id x, size_t *idx)
{
	size_t i;

	if (!ids || !idx)
		return -EINVAL;
	if (n == 0)
		return -ENOENT;
	i = ipop_ring_lower_bound(ids, n, x);
	if (i < n && ipop_node_id_eq(ids[i], x))
		i++;
	if (i == n)
		i = 0;
	if (ipop_node_id_eq(ids[i], x))
		return -ENOENT;   /* x is the only element */
	*idx = i;
	return 0;
}

int ipop_ring_pred(const struct ipop_node_id *ids, size_t n,
		   struct ipop_node_id x, size_t *idx)
{
	size_t i;

	if (!ids || !idx)
		return -EINVAL;
	if (n == 0)
		return -ENOENT;
	i = ipop_ring_lower_bound(ids, n, x);
	i = i == 0 ? n - 1 : i - 1;
	if (ipop_node_id_eq(ids[i], x))
		return -ENOENT;
	*idx = i;
	return 0;
}

int ipop_ring_find(const struct ipop_node_id *ids, size_t n,
		   struct ipop_node_id x, size_t *idx)
{
	size_t i;

	if (!ids || !idx)
		return -EINVAL;
	i = ipop_ring_lower_bound(ids, n, x);
	if (i == n || !ipop_node_id_eq(ids[i], x))
		return -ENOENT;
	*idx = i;
	return 0;
}

bool ipop_ring_is_sorted(const struct ipop_node_id *ids, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (ipop_node_id_cmp(ids[i - 1], ids[i]) >= 0)
			return false;
	return true;
}

double ipop_ring_to_fraction(struct ipop_node_id d)
{
	double f = ldexp((double)d.hi, -64) + ldexp((double)d.lo, -128);

	/* Rounding can reach 1.0 for distances within 2^75 of the full ring;
	 * callers rely on the result staying below 1. */
	return f < 1.0 ? f : nextafter(1.0, 0.0);
}

struct ipop_node_id ipop_ring_from_fraction(double f)
{
	struct ipop_node_id d;
	double scaled, rest;

	f -= floor(f);
	if (!(f >= 0.0 && f < 1.0))   /* NaN, or f so close to 1 that f - floor(f) rounded to 1 */
		f = 0.0;
	scaled = ldexp(f, 64);        /* exact: a power-of-two scaling */
	d.hi = (uint64_t)scaled;
	rest = scaled - (double)d.hi; /* exact fractional part */
	d.lo = (uint64_t)ldexp(rest, 64);
	return d;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_uuid_dash_pos(size_t i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

int ipop_node_id_parse(const char *s, struct ipop_node_id *out)
{
	struct ipop_node_id id = { 0, 0 };
	size_t len, digits = 0;
	bool uuid;

	if (!s || !out)
		return -EINVAL;
	len = strlen(s);
	if (len != IPOP_NODE_ID_HEX_LEN && len != IPOP_NODE_ID_HEX_LEN + 4)
		return -EINVAL;
	uuid = len != IPOP_NODE_ID_HEX_LEN;
	for (size_t i = 0; i < len; i++) {
		int v;

		if (uuid && is_uuid_dash_pos(i)) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		v = hex_value(s[i]);
		if (v < 0)
			return -EINVAL;
		id.hi = (id.hi << 4) | (id.lo >> 60);
		id.lo = (id.lo << 4) | (uint64_t)v;
		digits++;
	}
	if (digits != IPOP_NODE_ID_HEX_LEN)
		return -EINVAL;
	*out = id;
	return 0;
}

int ipop_node_id_format(struct ipop_node_id id, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	if (!buf)
		return -EINVAL;
	if (len < IPOP_NODE_ID_HEX_LEN + 1)
		return -ENOSPC;
	for (int i = 0; i < 16; i++) {
		buf[i] = hex[(id.hi >> (60 - 4 * i)) & 0xf];
		buf[16 + i] = hex[(id.lo >> (60 - 4 * i)) & 0xf];
	}
	buf[IPOP_NODE_ID_HEX_LEN] = '\0';
	return 0;
}


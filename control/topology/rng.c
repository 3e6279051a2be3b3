/* rng.c - SplitMix64 (see rng.h for why this generator).
 *
 * Thread: control (state owned by the caller). */
#include "control/topology/rng.h"

void ipop_rng_seed(struct ipop_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t ipop_rng_next(struct ipop_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double ipop_rng_unit(struct ipop_rng *r)
{
	return (double)(ipop_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t ipop_rng_below(struct ipop_rng *r, uint64_t n)
{
	uint64_t limit, x;

	if (n == 0)
		return 0;
	/* Reject the top partial block so every residue is equally likely. */
	limit = UINT64_MAX - UINT64_MAX % n;
	do {
		x = ipop_rng_next(r);
	} while (x >= limit);
	return x % n;
}

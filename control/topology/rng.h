/* rng.h - a small seeded pseudo-random generator for topology decisions.
 *
 * Thread: control (each user owns its state; no globals).
 *
 * Topology choices must be reproducible from a seed (tests, the simulator,
 * debugging a live overlay from its logs), and the simulator keeps one state
 * per simulated node, so the state must be a few bytes: this is SplitMix64
 * (Steele, Lea and Flood, OOPSLA 2014), 8 bytes of state, written from the
 * published definition. Not for cryptography.
 */
#ifndef IPOP_CONTROL_TOPOLOGY_RNG_H
#define IPOP_CONTROL_TOPOLOGY_RNG_H

#include <stdint.h>

struct ipop_rng {
	uint64_t s;
};

void ipop_rng_seed(struct ipop_rng *r, uint64_t seed);
uint64_t ipop_rng_next(struct ipop_rng *r);
/* Uniform in [0, 1), 53 random bits. */
double ipop_rng_unit(struct ipop_rng *r);
/* Uniform in [0, n), without modulo bias; 0 when n == 0. */
uint64_t ipop_rng_below(struct ipop_rng *r, uint64_t n);

#endif

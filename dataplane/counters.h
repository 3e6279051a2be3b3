/* counters.h - how a counter family describes itself. Thread: any (constant
 * tables; reading a counter follows the owning struct's rules).
 *
 * Each family is one X-macro list, X(name, meaning), in the header that owns its
 * struct. The list generates the struct's fields (IPOP_COUNTER_FIELD) and a table
 * of descriptors, so code that sums, prints or documents counters walks the table
 * instead of typing the names again. The name is the field and the key in the
 * management API; the meaning is one line, shown by `ipopctl counters` and in
 * docs/operations.md. Pure C: no DPDK, so dataplane/ and control/ both use it.
 */
#ifndef IPOP_DATAPLANE_COUNTERS_H
#define IPOP_DATAPLANE_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

struct ipop_counter_desc {
	const char *name;              /* field name, also the API key */
	size_t off;                    /* byte offset of its uint64_t in the family's struct */
	const char *doc;               /* one line: what it counts */
};

struct ipop_counter_family {
	const char *name;              /* "dataplane", "control", ... (ipopctl counters FAMILY) */
	const char *where;             /* where `ipopctl show` has it, e.g. "peers[]" */
	const char *about;             /* one line about the family as a whole */
	const struct ipop_counter_desc *c;
	size_t n;
};

/* Generates one struct field from a list entry. */
#define IPOP_COUNTER_FIELD(name, doc) uint64_t name;

#define IPOP_COUNTER_DIM(a) (sizeof(a) / sizeof((a)[0]))

/* Offsets come from the family's own list, so they are 8-byte aligned: one
 * plain load, which does not tear on x86-64 (see dataplane/stats.h). */
static inline uint64_t ipop_counter_get(const void *base, const struct ipop_counter_desc *d)
{
	return *(const uint64_t *)((const char *)base + d->off);
}

/* dst += src for every counter of f (both are f's struct). */
static inline void ipop_counters_add(void *dst, const void *src, const struct ipop_counter_family *f)
{
	for (size_t i = 0; i < f->n; i++)
		*(uint64_t *)((char *)dst + f->c[i].off) += ipop_counter_get(src, &f->c[i]);
}

/* dst -= src for every counter of f (a baseline taken earlier). */
static inline void ipop_counters_sub(void *dst, const void *src, const struct ipop_counter_family *f)
{
	for (size_t i = 0; i < f->n; i++)
		*(uint64_t *)((char *)dst + f->c[i].off) -= ipop_counter_get(src, &f->c[i]);
}

#endif

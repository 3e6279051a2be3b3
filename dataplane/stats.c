/* stats.c - the fast path's counter families (descriptor tables generated from
 * stats.h's lists) and the drop reasons' names, part of the management API.
 * Thread: any (constant tables). */
#include "dataplane/stats.h"

#include <stddef.h>

#define X(id, name, doc) [IPOP_DROP_##id] = #name,
static const char *const drop_names[IPOP_DROP__MAX] = { IPOP_DROPS(X) };
#undef X

const char *ipop_drop_name(unsigned reason)
{
	if (reason >= IPOP_DROP__MAX || drop_names[reason] == NULL)
		return "unknown";
	return drop_names[reason];
}

/* The lcore lists' meanings by name: per_worker[] repeats fields of both lists
 * and takes their meanings from here, so each is written once. */
#define X(name, doc) static const char doc_##name[] = doc;
IPOP_LCORE_COUNTERS(X)
IPOP_LCORE_CYCLES(X)
#undef X

#define X(name, doc) { #name, offsetof(struct ipop_lcore_stats, name), doc_##name },
static const struct ipop_counter_desc lcore_counters[] = { IPOP_LCORE_COUNTERS(X) };
#undef X

const struct ipop_counter_family ipop_lcore_family = {
	"dataplane", "dataplane", "the workers' packets, summed over the workers",
	lcore_counters, IPOP_COUNTER_DIM(lcore_counters),
};

#define X(id, name, doc) \
	{ #name, offsetof(struct ipop_lcore_stats, drops) + IPOP_DROP_##id * sizeof(uint64_t), doc },
static const struct ipop_counter_desc drop_counters[] = { IPOP_DROPS(X) };
#undef X

const struct ipop_counter_family ipop_drop_family = {
	"drops", "dataplane.drops", "packets the workers dropped, by reason, summed over the workers",
	drop_counters, IPOP_COUNTER_DIM(drop_counters),
};

#define X(name) { #name, offsetof(struct ipop_lcore_stats, name), doc_##name },
static const struct ipop_counter_desc worker_counters[] = { IPOP_WORKER_COUNTERS(X) };
#undef X

const struct ipop_counter_family ipop_worker_family = {
	"per_worker", "per_worker[]", "each worker's load and cycle budget, next to its lcore",
	worker_counters, IPOP_COUNTER_DIM(worker_counters),
};

#define X(name, doc) { #name, offsetof(struct ipop_peer_counters, name), doc },
static const struct ipop_counter_desc peer_counters[] = { IPOP_PEER_COUNTERS(X) };
#undef X

const struct ipop_counter_family ipop_peer_family = {
	"peer_traffic", "peers[]", "each peer's traffic since it was added, over all workers",
	peer_counters, IPOP_COUNTER_DIM(peer_counters),
};

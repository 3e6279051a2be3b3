/* reasm.h - reassembly of the outer IPv4 fragments addressed to this gateway,
 * bounded in time and in mbufs. Thread: fast path; one struct ipop_reasm per
 * lcore, written only by that lcore. Its `held` is also copied into the lcore's
 * stats (reasm_held) for control to read, a plain store like every counter.
 *
 * DPDK's rte_ip_frag table alone frees a stale datagram only when a later
 * fragment happens to land in its hash bucket, and holds up to max_entries x 8
 * fragments: spoofed first fragments that never complete could hold most of
 * the mbuf pool, and kept it after the flood stopped. Here:
 *  - time: a datagram not complete IPOP_REASM_TTL_MS after its first fragment
 *    is dropped by ipop_reasm_expire(), which the worker calls every poll-loop
 *    iteration (it looks at the oldest datagram only), and before each fragment;
 *  - memory: the mbufs the table holds are counted exactly (`held`) and never
 *    pass `cap`: a fragment that finds the table at its cap first evicts every
 *    datagram older than IPOP_REASM_EVICT_US (the fragments of a genuine
 *    datagram leave their sender back to back, so an older partial datagram is
 *    most likely junk), and is refused if that freed nothing.
 * Every fragment that does not leave inside a reassembled datagram is counted
 * once in the lcore's drops, by reason: reasm_timeout, reasm_evicted,
 * reasm_full, reasm_failed (overlap, duplicate, more than 8 fragments, no room
 * in its hash bucket, bad length). docs/architecture.md ("Outer reassembly")
 * says why the cap is an eighth of the pool.
 */
#ifndef IPOP_DATAPLANE_REASM_H
#define IPOP_DATAPLANE_REASM_H

#include <stdint.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include "dataplane/stats.h"

#define IPOP_REASM_TTL_MS 1000
#define IPOP_REASM_EVICT_US 1000
#define IPOP_REASM_MIN_CAP 16
#define IPOP_REASM_MAX_CAP 1024

struct ipop_reasm {
	struct rte_ip_frag_tbl *tbl;
	struct rte_ip_frag_death_row dr;
	uint64_t ttl_tsc, evict_tsc;
	uint32_t cap;    /* most mbufs the table may hold */
	uint32_t held;   /* mbufs it holds now */
};

/* The cap for one of n_workers lcores sharing a pool of pool_size mbufs: an
 * eighth of the pool over all workers, within [MIN_CAP, MAX_CAP]. */
uint32_t ipop_reasm_cap(uint32_t pool_size, unsigned n_workers);

/* A table for at most cap mbufs. 0 or -ENOMEM. */
int ipop_reasm_init(struct ipop_reasm *r, uint32_t cap, uint64_t tsc_hz, int socket);
/* Frees the table and every fragment it holds. */
void ipop_reasm_fini(struct ipop_reasm *r);

/* Take fragment m (one segment, l2_len and l3_len set, ip its IPv4 header).
 * Returns the reassembled datagram (a chain; its IPv4 header checksum is 0)
 * when m completed one, else NULL (m held or dropped and counted in st). */
struct rte_mbuf *ipop_reasm_add(struct ipop_reasm *r, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
				uint64_t now_tsc, struct ipop_lcore_stats *st);

/* Drop the datagrams older than the TTL (counted as reasm_timeout). */
void ipop_reasm_expire(struct ipop_reasm *r, uint64_t now_tsc, struct ipop_lcore_stats *st);

#endif

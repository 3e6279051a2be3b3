/* reasm.c - see reasm.h. Thread: fast path (the lcore that owns the struct).
 *
 * Accounting: every fragment handed to the table counts one mbuf in `held`;
 * whatever leaves it leaves either in the returned datagram (a chain of one
 * segment per fragment) or through the death row, whose entries may be
 * partial chains (a failed reassembly chains some fragments before it finds a
 * hole), so what leaves is counted in segments, never in death-row entries.
 * The death row is emptied after every call into the table, so each batch on
 * it has one reason.
 */
#define ALLOW_EXPERIMENTAL_API 1   /* rte_ip_frag_table_del_expired_entries (DPDK 22.11) */
#include "dataplane/reasm.h"

#include <errno.h>
#include <string.h>
#include <rte_common.h>

/* Rounds of expiry per call: each frees at most a death row's worth
 * (RTE_IP_FRAG_DEATH_ROW_MBUF_LEN mbufs), so this covers a full table. */
#define EXPIRE_ROUNDS (IPOP_REASM_MAX_CAP / RTE_IP_FRAG_DEATH_ROW_LEN + 2)

uint32_t ipop_reasm_cap(uint32_t pool_size, unsigned n_workers)
{
	uint32_t cap = pool_size / 8 / (n_workers ? n_workers : 1);

	return RTE_MIN(RTE_MAX(cap, (uint32_t)IPOP_REASM_MIN_CAP), (uint32_t)IPOP_REASM_MAX_CAP);
}

int ipop_reasm_init(struct ipop_reasm *r, uint32_t cap, uint64_t tsc_hz, int socket)
{
	/* Two ways of 4 per key: twice the slots the entries can use, so a full
	 * bucket rarely refuses a fragment before the cap does. */
	uint32_t buckets = rte_align32pow2(cap / 4 + 1);

	memset(r, 0, sizeof(*r));
	r->cap = cap;
	r->ttl_tsc = tsc_hz / 1000 * IPOP_REASM_TTL_MS;
	r->evict_tsc = tsc_hz / 1000000 * IPOP_REASM_EVICT_US;
	r->tbl = rte_ip_frag_table_create(buckets, 4, cap, r->ttl_tsc, socket);
	return r->tbl != NULL ? 0 : -ENOMEM;
}

void ipop_reasm_fini(struct ipop_reasm *r)
{
	if (r->tbl != NULL)
		rte_ip_frag_table_destroy(r->tbl);
	r->tbl = NULL;
	r->held = 0;
}

/* Count what the last call put on the death row as dropped for why, and free it. */
static unsigned settle(struct ipop_reasm *r, struct ipop_lcore_stats *st, enum ipop_drop why)
{
	unsigned segs = 0;

	for (uint32_t i = 0; i < r->dr.cnt; i++)
		segs += r->dr.row[i]->nb_segs;
	rte_ip_frag_free_death_row(&r->dr, 0);
	st->drops[why] += segs;
	r->held = segs < r->held ? r->held - segs : 0;
	st->reasm_held = r->held;
	return segs;
}

/* Drop every datagram DPDK's test calls expired at time tms (its first
 * fragment came before tms - ttl), oldest first, counted as why. */
static void drop_older(struct ipop_reasm *r, uint64_t tms, struct ipop_lcore_stats *st,
		       enum ipop_drop why)
{
	for (unsigned i = 0; i < EXPIRE_ROUNDS && r->held > 0; i++) {
		rte_ip_frag_table_del_expired_entries(r->tbl, &r->dr, tms);
		if (settle(r, st, why) == 0)
			break;
	}
}

void ipop_reasm_expire(struct ipop_reasm *r, uint64_t now_tsc, struct ipop_lcore_stats *st)
{
	if (r->held > 0)
		drop_older(r, now_tsc, st, IPOP_DROP_REASM_TIMEOUT);
}

struct rte_mbuf *ipop_reasm_add(struct ipop_reasm *r, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
				uint64_t now_tsc, struct ipop_lcore_stats *st)
{
	if (r->tbl == NULL) {   /* a context without reassembly */
		st->drops[IPOP_DROP_REASM]++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	/* Expired datagrams first, so the table never finds one itself (it
	 * would free it without telling us why). */
	ipop_reasm_expire(r, now_tsc, st);
	if (r->held >= r->cap) {
		/* start + ttl < now + ttl - evict: first fragment more than
		 * evict_tsc ago. */
		drop_older(r, now_tsc + r->ttl_tsc - r->evict_tsc, st, IPOP_DROP_REASM_EVICTED);
		if (r->held >= r->cap) {
			st->drops[IPOP_DROP_REASM_FULL]++;
			rte_pktmbuf_free(m);
			return NULL;
		}
	}
	r->held++;
	struct rte_mbuf *out = rte_ipv4_frag_reassemble_packet(r->tbl, &r->dr, m, now_tsc, ip);
	if (out != NULL)
		r->held = out->nb_segs < r->held ? r->held - out->nb_segs : 0;
	settle(r, st, IPOP_DROP_REASM);
	return out;
}

/* bench_choices.c - ipop-bench-choices: an ablation benchmark of the fast
 * path's design choices (issue 4, item 3). For each choice it measures what
 * ipop does ("chosen") and the alternative it rejected, in the same run, on the
 * same lcore(s), in interleaved rounds, and reports the fastest round of each
 * and the ratio rejected / chosen (cycles per packet; > 1: the choice wins).
 *
 * Thread: a command-line tool. One struct th per measuring lcore (EAL lcores
 * 0 and 1); two-thread cases run the same variant on both at once
 * (rte_eal_remote_launch), sharing what the variant shares.
 *
 * The cases use the project's modules wherever the choice lives in one
 * (dataplane/aead.h seal bursts and single seals, dataplane/wire.h data
 * header, dataplane/encap.h outer header template, dataplane/stats.h
 * counters, dataplane/bridge.h learning table, dataplane/pktq.h output queue,
 * ipop_mss_clamp), and re-state the surrounding few lines of dataplane/send.c
 * where the alternative needs them changed (the tool must not patch the
 * dataplane to measure what it does not do):
 *
 *  1 AEAD API: ipop_aead_seal_burst (GCM: direct API per packet; ChaCha20-
 *    Poly1305: burst API) against the GCM job API and burst API for the same
 *    32 packets, and against per-packet ipop_aead_seal for ChaCha (job API).
 *  2 One IPsec-MB manager per lcore against one manager shared by two lcores
 *    behind a spinlock (taken per burst, or per packet).
 *  3 In-place seal in the received mbuf with the headers prepended into its
 *    headroom against copying every frame into a new mbuf first.
 *  4 Nonce reservation: one atomic fetch-add per burst on the session's
 *    send_counter against one per packet; 1 and 2 lcores on one session;
 *    with a GCM seal of each 64-byte packet, and the mechanism alone (data
 *    headers only, back-to-back bursts: the worst case for sharing).
 *  5 Counters: per-lcore struct ipop_lcore_stats against one shared struct
 *    updated with atomics or with plain (racy) increments; 1 and 2 lcores;
 *    with a GCM seal, and the counters alone.
 *  6 TX: ipop_pktq filled per packet and flushed once per burst with one
 *    rte_eth_tx_burst (lcore/worker.c's flush_port) against one
 *    rte_eth_tx_burst per packet, on net_null and net_ring ports.
 *  7 Prefetch: send.c's loop (parse, MSS check, bridge learn + lookup, room
 *    check) with the next frame's first line prefetched, as ipop does, against
 *    no prefetch, then nonce reservation, seal and outer header, over a
 *    working set of mbufs far larger than L2 whose frame bytes were written
 *    long before (as a NIC's DMA would have left them). Two extra variants
 *    also prefetch the headroom line the headers are written into (next
 *    packet, and 3 packets ahead).
 *
 * Timing: rdtsc around each burst of 32; what an RX driver does (fresh frame
 * bytes, mbuf reset) and what TX completion does (draining a port) is done
 * outside the timed region. Bursts slower than 4x the round's median burst were
 * preempted by other tenants and are left out (the JSON keeps the all-bursts
 * figure). In two-thread rows, bursts run while the other thread was off its
 * CPU (a gap of more than OFF_CPU_GAP_US between two of its bursts; the VM is
 * shared) are left out too: nothing was contended then. Per-thread cycles are
 * the mean of the two threads, Mpps their sum. Every variant of a row runs
 * once per round, rounds interleave them,
 * and the fastest round of each is reported; median and slowest are in the
 * JSON. Every loop is bounded in count and in time.
 */
#include "dataplane/aead.h"
#include "dataplane/bridge.h"
#include "dataplane/datapath.h"
#include "dataplane/encap.h"
#include "dataplane/pktq.h"
#include "dataplane/stats.h"
#include "dataplane/tables.h"
#include "dataplane/wire.h"
#include "bench/bench_util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include <json-c/json.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_spinlock.h>

#define BURST        32
#define POOL         256         /* mbufs cycled by the cache-resident cases */
#define MAX_THREADS  2
#define MAX_VARIANTS 4
#define MAX_ROUNDS   15
#define MAX_BURSTS   (1u << 18)  /* per thread and round: bounds every run */
#define FLOWS        256         /* host pairs (MACs, IPs) in the frames */
#define MAX_FRAME    1440
#define MAX_WS       8           /* working-set sizes of case 7 */
#define WAN_PORT     5800
#define WAIT_NS      (5ull * 1000000000ull)   /* bound on every spin-wait */
#define PAYLOAD_MUL  7           /* payload byte i of a frame: i * 7 + flow */

/* ---- options and global state ---- */

struct options {
	double seconds;
	unsigned rounds;
	unsigned cases;              /* bit i: case i+1 */
	unsigned ws[MAX_WS];
	unsigned nws;
	const char *json;
};

static struct options opt;
static uint64_t tsc_hz;
static char loadavg_start[64], loadavg_end[64];

/* What the current row measures; written by the main lcore before it starts
 * the measuring lcores, read-only while they run. */
enum { MODE_ALONE = 0, MODE_SEAL = 1 };

struct row_cfg {
	unsigned size;               /* inner frame bytes */
	int cipher;
	int mode;                    /* case-specific: with seal or mechanism alone */
	uint16_t port;               /* case 6 */
	unsigned ws;                 /* case 7: mbufs in the working set */
};
static struct row_cfg cur;

/* What the threads share: one session (as two workers sending on one tunnel),
 * one IPsec-MB manager with its lock (case 2's rejected variant), one counter
 * struct (case 5's rejected variants), the bridge, the ports. */
struct shared {
	struct ipop_keypair *kp;     /* send key + send_counter of one tunnel */
	struct ipop_fp_peer peer;    /* its outer header template */
	struct ipop_aead_mgr *mgr;   /* shared manager (case 2) */
	rte_spinlock_t mgr_lock;
	struct ipop_lcore_stats *st; /* shared counters (case 5) */
	struct ipop_bridge br;
	uint16_t port_null, port_ring;
	int have_null, have_ring;
	struct rte_mempool *pool;     /* small working sets */
	struct rte_mempool *big_pool; /* case 7 */
};
static struct shared sh;

/* One measuring lcore. */
struct th {
	unsigned id;
	struct ipop_aead_mgr *aead;  /* this lcore's own manager */
	IMB_MGR *imb;
	struct ipop_aead_keybuf key_gcm, key_cc;
	struct ipop_lcore_stats *st; /* this lcore's own counters */
	struct rte_mbuf *m[POOL];
	uint8_t *plain[POOL];        /* frame templates of the current size */
	unsigned pos;
	struct ipop_aead_op ops[BURST];
	IMB_JOB *jobs[IMB_MAX_BURST_SIZE];
	uint8_t nonce[BURST][16] __attribute__((aligned(16)));
	struct gcm_context_data gcm_ctx;
	uint64_t counter;
	uint16_t ip_id;
	struct ipop_pktq q;          /* case 6 */
	struct rte_mbuf *txm[BURST];
	struct rte_mbuf **big;       /* case 7 working set */
	uint8_t *flow_frame[FLOWS];  /* case 7 templates, one per flow */
	unsigned big_pos;
	uint64_t errors;
	uint32_t *burst_cyc;         /* per burst of the current measurement */
	uint64_t *burst_t0;          /* its start (TSC, synchronised across CPUs) */
	unsigned nb;
	uint32_t *sorted;
};
static struct th *ths[MAX_THREADS];

typedef uint64_t (*burst_fn)(struct th *t);

/* ---- small helpers ---- */

/* The nonce as aead.c's nonce16() writes it: one 16-byte store (a nonce built
 * from two smaller stores stalls IPsec-MB's 16-byte load, docs/crypto.md). */
static inline void nonce16(uint8_t out[16], uint64_t counter)
{
	uint64_t be = rte_cpu_to_be_64(counter);

	_mm_storeu_si128((__m128i *)(void *)out,
			 _mm_set_epi64x((long long)(be >> 32), (long long)(be << 32)));
}

/* An Ethernet/IPv4/UDP frame of len bytes from host flow of site 0x0a to host
 * flow of site 0x0b (as bench_dataplane.c builds them). */
static void frame_write(uint8_t *f, uint16_t len, unsigned flow)
{
	bench_frame_write(f, len, 0x0a, 0x0b, flow, PAYLOAD_MUL);
}

/* ---- what an RX driver does (untimed) ---- */

static void refill(struct th *t, unsigned first)
{
	for (unsigned i = first; i < first + BURST; i++) {
		struct rte_mbuf *m = t->m[i];

		rte_pktmbuf_reset(m);
		m->data_len = (uint16_t)cur.size;
		m->pkt_len = cur.size;
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), t->plain[i], cur.size);
	}
}

static unsigned next_burst(struct th *t)
{
	unsigned first = t->pos;

	t->pos = (t->pos + BURST) % POOL;
	refill(t, first);
	return first;
}

/* The mechanism-alone rows of cases 4 and 5 leave the frames as they are (they
 * only write the data header in the headroom): back-to-back bursts with no
 * untimed work between them, the worst case for sharing between lcores. */
static unsigned next_burst_mode(struct th *t)
{
	unsigned first;

	if (cur.mode != MODE_ALONE)
		return next_burst(t);
	first = t->pos;
	t->pos = (t->pos + BURST) % POOL;
	return first;
}

static const struct ipop_aead_key *th_key(struct th *t)
{
	return cur.cipher == IPOP_CIPHER_CHACHA20POLY1305 ? &t->key_cc.key : &t->key_gcm.key;
}

/* The op of a frame at the mbuf's data pointer: AAD in the headroom just in
 * front of it, tag in the tailroom right after it (dataplane/send.c's layout). */
static void op_set(struct ipop_aead_op *op, const struct ipop_aead_key *key, struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);

	op->key = key;
	op->buf = p;
	op->src = NULL;
	op->len = m->data_len;
	op->aad = p - IPOP_DATA_HDR_LEN;
	op->tag = p + m->data_len;
}

/* ---- case 1: AEAD API ---- */

/* ipop: ipop_aead_seal_burst (GCM direct API per packet; ChaCha burst API). */
static uint64_t v_aead_ipop(struct th *t)
{
	unsigned first = next_burst(t);
	const struct ipop_aead_key *key = th_key(t);

	for (unsigned i = 0; i < BURST; i++)
		op_set(&t->ops[i], key, t->m[first + i]);
	uint64_t t0 = rte_rdtsc();
	for (unsigned i = 0; i < BURST; i++)
		t->ops[i].counter = t->counter++;
	t->errors += ipop_aead_seal_burst(t->aead, t->ops, BURST);
	return rte_rdtsc() - t0;
}

/* ipop_aead_seal per packet (ChaCha: one job through the job API each). */
static uint64_t v_aead_single(struct th *t)
{
	unsigned first = next_burst(t);
	const struct ipop_aead_key *key = th_key(t);

	for (unsigned i = 0; i < BURST; i++)
		op_set(&t->ops[i], key, t->m[first + i]);
	uint64_t t0 = rte_rdtsc();
	for (unsigned i = 0; i < BURST; i++) {
		const struct ipop_aead_op *op = &t->ops[i];
		t->errors += ipop_aead_seal(t->aead, key, t->counter++, op->aad, op->buf,
					    op->len, op->tag) != 0;
	}
	return rte_rdtsc() - t0;
}

/* Raw IPsec-MB job API: submit the 32 GCM jobs one by one, flush at the end. */
static uint64_t v_gcm_job(struct th *t)
{
	unsigned first = next_burst(t);

	for (unsigned i = 0; i < BURST; i++)
		op_set(&t->ops[i], &t->key_gcm.key, t->m[first + i]);
	uint64_t t0 = rte_rdtsc();
	for (unsigned i = 0; i < BURST; i++)
		nonce16(t->nonce[i], t->counter++);
	t->errors += bench_imb_job_api(t->imb, t->ops, t->nonce, BURST, IMB_DIR_ENCRYPT);
	return rte_rdtsc() - t0;
}

/* Raw IPsec-MB burst API: one get/submit of 32 GCM jobs, flush the rest. */
static uint64_t v_gcm_burstapi(struct th *t)
{
	unsigned first = next_burst(t);

	for (unsigned i = 0; i < BURST; i++)
		op_set(&t->ops[i], &t->key_gcm.key, t->m[first + i]);
	uint64_t t0 = rte_rdtsc();
	for (unsigned i = 0; i < BURST; i++)
		nonce16(t->nonce[i], t->counter++);
	t->errors += bench_imb_burst_api(t->imb, t->jobs, t->ops, t->nonce, BURST, IMB_DIR_ENCRYPT);
	return rte_rdtsc() - t0;
}

/* ---- case 2: IPsec-MB manager per lcore vs shared behind a lock ---- */

static uint64_t v_mgr_own(struct th *t)
{
	return v_aead_ipop(t);
}

static uint64_t v_mgr_shared_burst(struct th *t)
{
	unsigned first = next_burst(t);

	for (unsigned i = 0; i < BURST; i++)
		op_set(&t->ops[i], &t->key_gcm.key, t->m[first + i]);
	uint64_t t0 = rte_rdtsc();
	for (unsigned i = 0; i < BURST; i++)
		t->ops[i].counter = t->counter++;
	rte_spinlock_lock(&sh.mgr_lock);
	t->errors += ipop_aead_seal_burst(sh.mgr, t->ops, BURST);
	rte_spinlock_unlock(&sh.mgr_lock);
	return rte_rdtsc() - t0;
}

static uint64_t v_mgr_shared_pkt(struct th *t)
{
	unsigned first = next_burst(t);

	for (unsigned i = 0; i < BURST; i++)
		op_set(&t->ops[i], &t->key_gcm.key, t->m[first + i]);
	uint64_t t0 = rte_rdtsc();
	for (unsigned i = 0; i < BURST; i++) {
		const struct ipop_aead_op *op = &t->ops[i];
		rte_spinlock_lock(&sh.mgr_lock);
		t->errors += ipop_aead_seal(sh.mgr, op->key, t->counter++, op->aad, op->buf,
					    op->len, op->tag) != 0;
		rte_spinlock_unlock(&sh.mgr_lock);
	}
	return rte_rdtsc() - t0;
}

/* ---- case 3: in place vs copy into a new mbuf ---- */

/* Nonces for the burst from the shared session, one atomic add, data headers
 * written in front of each op's buffer (send.c's reserve_counters). */
static inline void reserve_burst(struct ipop_aead_op *ops, unsigned n)
{
	struct ipop_keypair *kp = sh.kp;
	uint64_t base = __atomic_fetch_add(&kp->send_counter, n, __ATOMIC_RELAXED);

	for (unsigned k = 0; k < n; k++) {
		ipop_wire_data_hdr((struct ipop_data_hdr *)(ops[k].buf - IPOP_DATA_HDR_LEN),
				   kp->remote_index, base + k);
		ops[k].counter = base + k;
	}
}

/* send.c's encap_out: outer header from the peer's template into the headroom. */
static inline void outer_hdr(struct th *t, struct rte_mbuf *m)
{
	bench_outer_hdr(m, &sh.peer, t->ip_id++);
}

static uint64_t v_inplace(struct th *t)
{
	unsigned first = next_burst(t);
	const struct ipop_aead_key *key = &sh.kp->send_key;
	uint64_t t0 = rte_rdtsc();

	for (unsigned i = 0; i < BURST; i++) {
		struct rte_mbuf *m = t->m[first + i];
		uint32_t len = m->pkt_len;
		if (bench_grow_in_place(m) != 0) {
			t->errors++;
			continue;
		}
		uint8_t *h = rte_pktmbuf_mtod(m, uint8_t *);
		t->ops[i] = (struct ipop_aead_op){ .key = key, .buf = h + IPOP_DATA_HDR_LEN,
			.len = len, .aad = h, .tag = h + IPOP_DATA_HDR_LEN + len };
	}
	reserve_burst(t->ops, BURST);
	t->errors += ipop_aead_seal_burst(t->aead, t->ops, BURST);
	for (unsigned i = 0; i < BURST; i++)
		outer_hdr(t, t->m[first + i]);
	return rte_rdtsc() - t0;
}

/* The rejected way at its best: one bulk allocation per burst, the frame
 * copied behind room for both headers, the originals freed in bulk. */
static uint64_t v_copy(struct th *t)
{
	unsigned first = next_burst(t);
	const struct ipop_aead_key *key = &sh.kp->send_key;
	struct rte_mbuf *nm[BURST];
	uint64_t t0 = rte_rdtsc();

	if (rte_pktmbuf_alloc_bulk(sh.pool, nm, BURST) != 0) {
		t->errors += BURST;
		return rte_rdtsc() - t0;
	}
	for (unsigned i = 0; i < BURST; i++) {
		struct rte_mbuf *m = t->m[first + i], *n = nm[i];
		uint32_t len = m->pkt_len;
		uint8_t *h = rte_pktmbuf_mtod(n, uint8_t *) + IPOP_OUTER_HDR_LEN;
		memcpy(h + IPOP_DATA_HDR_LEN, rte_pktmbuf_mtod(m, const uint8_t *), len);
		n->data_off = (uint16_t)(n->data_off + IPOP_OUTER_HDR_LEN);
		n->data_len = (uint16_t)(len + IPOP_DATA_OVERHEAD);
		n->pkt_len = len + IPOP_DATA_OVERHEAD;
		t->ops[i] = (struct ipop_aead_op){ .key = key, .buf = h + IPOP_DATA_HDR_LEN,
			.len = len, .aad = h, .tag = h + IPOP_DATA_HDR_LEN + len };
	}
	reserve_burst(t->ops, BURST);
	t->errors += ipop_aead_seal_burst(t->aead, t->ops, BURST);
	for (unsigned i = 0; i < BURST; i++)
		outer_hdr(t, nm[i]);
	rte_pktmbuf_free_bulk(&t->m[first], BURST);
	memcpy(&t->m[first], nm, sizeof(nm));
	return rte_rdtsc() - t0;
}

/* ---- case 4: nonce reservation ---- */

static uint64_t nonce_run(struct th *t, int per_packet)
{
	unsigned first = next_burst_mode(t);
	const struct ipop_aead_key *key = &sh.kp->send_key;
	struct ipop_keypair *kp = sh.kp;

	for (unsigned i = 0; i < BURST; i++)
		op_set(&t->ops[i], key, t->m[first + i]);
	uint64_t t0 = rte_rdtsc();
	if (per_packet) {
		for (unsigned k = 0; k < BURST; k++) {
			uint64_t c = __atomic_fetch_add(&kp->send_counter, 1, __ATOMIC_RELAXED);
			ipop_wire_data_hdr((struct ipop_data_hdr *)(void *)t->ops[k].aad,
					   kp->remote_index, c);
			t->ops[k].counter = c;
		}
	} else {
		reserve_burst(t->ops, BURST);
	}
	if (cur.mode == MODE_SEAL)
		t->errors += ipop_aead_seal_burst(t->aead, t->ops, BURST);
	return rte_rdtsc() - t0;
}

static uint64_t v_nonce_burst(struct th *t)
{
	return nonce_run(t, 0);
}

static uint64_t v_nonce_pkt(struct th *t)
{
	return nonce_run(t, 1);
}

/* ---- case 5: counters ---- */

/* A plain increment the compiler cannot merge across packets (the real path
 * has opaque calls between two packets' increments): one load, one store,
 * no lock prefix. */
#define PLAIN_ADD(x, v) __atomic_store_n(&(x), __atomic_load_n(&(x), __ATOMIC_RELAXED) + (v), \
					 __ATOMIC_RELAXED)
#define ATOMIC_ADD(x, v) __atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)

enum cnt_kind { CNT_LCORE, CNT_ATOMIC, CNT_PLAIN };

/* The counters send.c's seal_flush and the worker touch per sealed packet
 * (peer tx_packets, tx_bytes, encrypted) and per burst (lan_rx, wan_tx). */
static uint64_t cnt_run(struct th *t, enum cnt_kind kind)
{
	unsigned first = next_burst_mode(t);
	struct ipop_lcore_stats *st = kind == CNT_LCORE ? t->st : sh.st;
	struct ipop_peer_counters *pc = &st->peer[0];

	for (unsigned i = 0; i < BURST; i++)
		op_set(&t->ops[i], &t->key_gcm.key, t->m[first + i]);
	uint64_t t0 = rte_rdtsc();
	if (cur.mode == MODE_SEAL) {
		for (unsigned i = 0; i < BURST; i++)
			t->ops[i].counter = t->counter++;
		t->errors += ipop_aead_seal_burst(t->aead, t->ops, BURST);
	}
	if (kind == CNT_ATOMIC) {
		ATOMIC_ADD(st->lan_rx, BURST);
		for (unsigned i = 0; i < BURST; i++) {
			ATOMIC_ADD(pc->tx_packets, 1);
			ATOMIC_ADD(pc->tx_bytes, t->ops[i].len);
			ATOMIC_ADD(st->encrypted, 1);
		}
		ATOMIC_ADD(st->wan_tx, BURST);
	} else {
		PLAIN_ADD(st->lan_rx, BURST);
		for (unsigned i = 0; i < BURST; i++) {
			PLAIN_ADD(pc->tx_packets, 1);
			PLAIN_ADD(pc->tx_bytes, t->ops[i].len);
			PLAIN_ADD(st->encrypted, 1);
		}
		PLAIN_ADD(st->wan_tx, BURST);
	}
	return rte_rdtsc() - t0;
}

static uint64_t v_cnt_lcore(struct th *t)
{
	return cnt_run(t, CNT_LCORE);
}

static uint64_t v_cnt_atomic(struct th *t)
{
	return cnt_run(t, CNT_ATOMIC);
}

static uint64_t v_cnt_plain(struct th *t)
{
	return cnt_run(t, CNT_PLAIN);
}

/* ---- case 6: TX ---- */

/* lcore/worker.c's flush_port: one tx_burst, one retry, free and count the rest. */
static void tx_flush(struct ipop_pktq *q)
{
	struct th *t = q->arg;
	uint16_t sent = rte_eth_tx_burst(q->port, q->queue, q->pkts, q->n);

	if (unlikely(sent < q->n)) {
		sent += rte_eth_tx_burst(q->port, q->queue, q->pkts + sent, q->n - sent);
		for (uint16_t i = sent; i < q->n; i++)
			rte_pktmbuf_free(q->pkts[i]);
		t->errors += q->n - sent;
	}
	t->st->wan_tx += sent;
	q->n = 0;
}

/* Untimed: mbufs to send (an RX burst's worth), and afterwards what a TX
 * completion does (net_ring: the frames come back on the port's rx side). */
static int tx_prepare(struct th *t)
{
	if (rte_pktmbuf_alloc_bulk(sh.pool, t->txm, BURST) != 0)
		return -1;
	for (unsigned i = 0; i < BURST; i++) {
		t->txm[i]->data_len = (uint16_t)cur.size;
		t->txm[i]->pkt_len = cur.size;
	}
	return 0;
}

static void tx_drain(void)
{
	struct rte_mbuf *back[BURST];

	if (cur.port != sh.port_ring)
		return;
	for (unsigned k = 0; k < 8; k++) {
		uint16_t n = rte_eth_rx_burst(cur.port, 0, back, BURST);
		if (n == 0)
			break;
		rte_pktmbuf_free_bulk(back, n);
	}
}

static uint64_t v_tx_buffered(struct th *t)
{
	if (tx_prepare(t) != 0) {
		t->errors += BURST;
		return 0;
	}
	t->q.port = cur.port;
	uint64_t t0 = rte_rdtsc();
	for (unsigned i = 0; i < BURST; i++)
		ipop_pktq_put(&t->q, t->txm[i]);
	ipop_pktq_flush(&t->q);
	uint64_t c = rte_rdtsc() - t0;
	tx_drain();
	return c;
}

static uint64_t v_tx_single(struct th *t)
{
	if (tx_prepare(t) != 0) {
		t->errors += BURST;
		return 0;
	}
	uint64_t t0 = rte_rdtsc();
	for (unsigned i = 0; i < BURST; i++) {
		if (rte_eth_tx_burst(cur.port, 0, &t->txm[i], 1) == 1) {
			t->st->wan_tx++;
		} else {
			rte_pktmbuf_free(t->txm[i]);
			t->errors++;
		}
	}
	uint64_t c = rte_rdtsc() - t0;
	tx_drain();
	return c;
}

/* ---- case 7: prefetch over a working set larger than L2 ---- */

enum pf_kind { PF_NONE, PF_NEXT, PF_NEXT_HR, PF_DEEP };
#define PF_DIST 3   /* PF_DEEP: frame line and headroom line, 3 packets ahead */

static uint64_t pf_run(struct th *t, enum pf_kind pf)
{
	const unsigned n = cur.ws;
	unsigned first = t->big_pos;
	struct rte_mbuf **pk = &t->big[first];
	const struct ipop_aead_key *key = &sh.kp->send_key;

	t->big_pos = (first + BURST) % n;
	/* Untimed, as a NIC would: the frame bytes of the mbufs half the working
	 * set ahead are written now (they leave L1/L2 long before their turn);
	 * the mbuf headers of this burst are written now (the RX driver's
	 * descriptor-to-mbuf step, so they are hot, as in a worker). */
	unsigned ahead = (first + n / 2) % n;
	for (unsigned i = 0; i < BURST; i++) {
		struct rte_mbuf *a = t->big[(ahead + i) % n];
		memcpy((uint8_t *)a->buf_addr + RTE_PKTMBUF_HEADROOM,
		       t->flow_frame[(ahead + i) % FLOWS], cur.size);
	}
	for (unsigned i = 0; i < BURST; i++) {
		struct rte_mbuf *m = pk[i];
		m->data_off = RTE_PKTMBUF_HEADROOM;
		m->data_len = (uint16_t)cur.size;
		m->pkt_len = cur.size;
	}

	uint64_t t0 = rte_rdtsc();
	uint32_t now_s = (uint32_t)(t0 / tsc_hz);
	uint64_t learnt = UINT64_MAX, dmac = UINT64_MAX;
	uint16_t dloc = IPOP_LOC_NONE;
	if (pf == PF_DEEP)
		for (unsigned i = 0; i < PF_DIST && i < BURST; i++) {
			uint8_t *d = rte_pktmbuf_mtod(pk[i], uint8_t *);
			rte_prefetch0(d);
			rte_prefetch0(d - RTE_CACHE_LINE_SIZE);
		}
	for (unsigned i = 0; i < BURST; i++) {
		if (pf == PF_NEXT && i + 1 < BURST) {
			rte_prefetch0(rte_pktmbuf_mtod(pk[i + 1], void *));
		} else if (pf == PF_NEXT_HR && i + 1 < BURST) {
			uint8_t *d = rte_pktmbuf_mtod(pk[i + 1], uint8_t *);
			rte_prefetch0(d);
			rte_prefetch0(d - RTE_CACHE_LINE_SIZE);
		} else if (pf == PF_DEEP && i + PF_DIST < BURST) {
			uint8_t *d = rte_pktmbuf_mtod(pk[i + PF_DIST], uint8_t *);
			rte_prefetch0(d);
			rte_prefetch0(d - RTE_CACHE_LINE_SIZE);
		}
		struct rte_mbuf *m = pk[i];
		uint32_t len = m->pkt_len;
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		/* send.c's local_one: source check, learn (once per source in a
		 * burst), MSS check, destination lookup (cached), room check. */
		if (unlikely(!rte_is_valid_assigned_ether_addr(&eth->src_addr) ||
			     eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))) {
			t->errors++;
			continue;
		}
		uint64_t sk = ipop_mac_u64(eth->src_addr.addr_bytes);
		if (sk != learnt) {
			ipop_bridge_learn(&sh.br, eth->src_addr.addr_bytes, IPOP_LOC_LAN, now_s);
			learnt = sk;
		}
		ipop_mss_clamp((uint8_t *)eth, len, 1386);
		uint64_t dk = ipop_mac_u64(eth->dst_addr.addr_bytes);
		if (dk != dmac) {
			dloc = ipop_bridge_lookup(&sh.br, eth->dst_addr.addr_bytes, now_s);
			dmac = dk;
		}
		if (unlikely(dloc != 0 || bench_grow_in_place(m) != 0)) {
			t->errors++;
			continue;
		}
		uint8_t *h = rte_pktmbuf_mtod(m, uint8_t *);
		t->ops[i] = (struct ipop_aead_op){ .key = key, .buf = h + IPOP_DATA_HDR_LEN,
			.len = len, .aad = h, .tag = h + IPOP_DATA_HDR_LEN + len };
	}
	reserve_burst(t->ops, BURST);
	t->errors += ipop_aead_seal_burst(t->aead, t->ops, BURST);
	for (unsigned i = 0; i < BURST; i++)
		outer_hdr(t, pk[i]);
	return rte_rdtsc() - t0;
}

static uint64_t v_pf_next(struct th *t)
{
	return pf_run(t, PF_NEXT);
}

static uint64_t v_pf_none(struct th *t)
{
	return pf_run(t, PF_NONE);
}

static uint64_t v_pf_next_hr(struct th *t)
{
	return pf_run(t, PF_NEXT_HR);
}

static uint64_t v_pf_deep(struct th *t)
{
	return pf_run(t, PF_DEEP);
}

/* ---- rows: what is measured ---- */

enum role { CHOSEN, REJECTED, EXTRA };
static const char *const role_name[] = { "chosen", "rejected", "extra" };

struct variant {
	const char *name;
	burst_fn fn;
	enum role role;
};

struct row {
	unsigned casen;
	const char *what;
	struct row_cfg cfg;
	unsigned threads;
	unsigned nvar;
	struct variant v[MAX_VARIANTS];
};

struct vres {
	double cyc, cyc_all, mpps;   /* fastest round: cycles/pkt per thread, total Mpps */
	double mpps_median, mpps_min;
	double round_mpps[MAX_ROUNDS];
	uint64_t pkts, errors, outliers, alone, bursts;
};

/* One thread, one variant, one round. */
struct meas {
	uint64_t cyc, cyc_all, pkts, pkts_all, outliers;
	uint64_t alone;              /* two threads: bursts run while the other was off CPU */
};

/* A gap this long between two bursts of one thread means it was off its CPU
 * (bursts and their untimed work take < 30 us here). */
#define OFF_CPU_GAP_US 100

static void measure_raw(struct th *t, burst_fn fn)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(opt.seconds * (double)tsc_hz);
	unsigned nb = 0;

	t->pos = 0;
	while (nb < MAX_BURSTS) {
		uint64_t s = rte_rdtsc();
		if (s >= end)
			break;
		t->burst_t0[nb] = s;
		t->burst_cyc[nb++] = (uint32_t)fn(t);
	}
	t->nb = nb;
}

/* Was other running (inside a stretch of bursts without an off-CPU gap, and
 * within its measuring window) during [s, e]? *j walks other's bursts. */
static int other_running(const struct th *o, unsigned *j, uint64_t s, uint64_t e)
{
	const uint64_t gap = OFF_CPU_GAP_US * tsc_hz / 1000000;

	while (*j + 1 < o->nb && o->burst_t0[*j + 1] <= s)
		(*j)++;
	if (o->nb == 0 || o->burst_t0[*j] > s)
		return 0;
	/* o's burst *j started at or before s; o is running until its next burst
	 * starts, unless that is a gap (or o has stopped measuring). */
	if (*j + 1 >= o->nb)
		return e <= o->burst_t0[*j] + o->burst_cyc[*j];
	return o->burst_t0[*j + 1] - o->burst_t0[*j] < gap && e <= o->burst_t0[*j + 1] + gap;
}

/* Cycles of t's bursts (other: the concurrent thread, or NULL): bursts above
 * 4x the median are left out (preempted), and with two threads so are bursts
 * run while the other thread was off its CPU (nothing was shared then). */
static struct meas summarise(struct th *t, const struct th *other)
{
	struct meas r = { 0 };
	unsigned nb = t->nb, j = 0;

	if (nb == 0)
		return r;
	uint64_t limit = bench_outlier_limit(t->burst_cyc, t->sorted, nb);
	for (unsigned i = 0; i < nb; i++) {
		r.cyc_all += t->burst_cyc[i];
		r.pkts_all += BURST;
		if (t->burst_cyc[i] > limit) {
			r.outliers++;
			continue;
		}
		if (other != NULL &&
		    !other_running(other, &j, t->burst_t0[i], t->burst_t0[i] + t->burst_cyc[i])) {
			r.alone++;
			continue;
		}
		r.cyc += t->burst_cyc[i];
		r.pkts += BURST;
	}
	return r;
}

static struct meas measure(struct th *t, burst_fn fn)
{
	measure_raw(t, fn);
	return summarise(t, NULL);
}

/* Two lcores at once. */
static struct {
	burst_fn fn;
	int go, ready;
} duo;

static int duo_main(void *arg)
{
	struct th *t = arg;
	uint64_t deadline = bench_now_ns() + WAIT_NS;

	__atomic_store_n(&duo.ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&duo.go, __ATOMIC_ACQUIRE)) {
		if (bench_now_ns() > deadline)
			return -1;
		rte_pause();
	}
	measure_raw(t, duo.fn);
	return 0;
}

static int run_variant(const struct row *rw, unsigned v, struct meas out[MAX_THREADS])
{
	burst_fn fn = rw->v[v].fn;

	if (rw->threads == 1) {
		out[0] = measure(ths[0], fn);
		return 0;
	}
	unsigned lcore = rte_get_next_lcore(rte_lcore_id(), 1, 0);
	if (lcore >= RTE_MAX_LCORE)
		return -ENODEV;
	duo.fn = fn;
	duo.go = 0;
	duo.ready = 0;
	if (rte_eal_remote_launch(duo_main, ths[1], lcore) != 0)
		return -EBUSY;
	uint64_t deadline = bench_now_ns() + WAIT_NS;
	while (!__atomic_load_n(&duo.ready, __ATOMIC_ACQUIRE)) {
		if (bench_now_ns() > deadline)
			break;
		rte_pause();
	}
	__atomic_store_n(&duo.go, 1, __ATOMIC_RELEASE);
	measure_raw(ths[0], fn);
	if (rte_eal_wait_lcore(lcore) != 0)
		return -ETIMEDOUT;
	out[0] = summarise(ths[0], ths[1]);
	out[1] = summarise(ths[1], ths[0]);
	return 0;
}

/* Per-row preparation (untimed): frames of the row's size, key ciphers,
 * working sets. */
static int row_setup(const struct row *rw)
{
	cur = rw->cfg;
	for (unsigned k = 0; k < MAX_THREADS; k++) {
		struct th *t = ths[k];
		for (unsigned i = 0; i < POOL; i++)
			frame_write(t->plain[i], (uint16_t)cur.size, (i + 17 * k) % FLOWS);
		t->pos = 0;
	}
	if (rw->casen == 7) {
		struct th *t = ths[0];
		t->big = calloc(cur.ws, sizeof(*t->big));
		if (t->big == NULL || rte_pktmbuf_alloc_bulk(sh.big_pool, t->big, cur.ws) != 0)
			return -ENOMEM;
		for (unsigned f = 0; f < FLOWS; f++)
			frame_write(t->flow_frame[f], (uint16_t)cur.size, f);
		for (unsigned i = 0; i < cur.ws; i++)
			memcpy(rte_pktmbuf_mtod(t->big[i], uint8_t *), t->flow_frame[i % FLOWS],
			       cur.size);
		t->big_pos = 0;
	}
	return 0;
}

static void row_teardown(const struct row *rw)
{
	if (rw->casen == 7 && ths[0]->big != NULL) {
		rte_pktmbuf_free_bulk(ths[0]->big, cur.ws);
		free(ths[0]->big);
		ths[0]->big = NULL;
	}
}

static int run_row(const struct row *rw, struct vres res[MAX_VARIANTS])
{
	static struct meas m[MAX_ROUNDS][MAX_VARIANTS][MAX_THREADS];
	int r = row_setup(rw);

	if (r != 0)
		return r;
	for (unsigned k = 0; k < MAX_THREADS; k++)
		ths[k]->errors = 0;
	/* One unmeasured warm-up pass of each variant (caches, pools). */
	for (unsigned v = 0; v < rw->nvar; v++) {
		double s = opt.seconds;
		struct meas tmp[MAX_THREADS];
		opt.seconds = s / 5;
		run_variant(rw, v, tmp);
		opt.seconds = s;
	}
	uint64_t verr[MAX_VARIANTS] = { 0 };
	for (unsigned round = 0; round < opt.rounds; round++)
		for (unsigned v = 0; v < rw->nvar; v++) {
			uint64_t e = ths[0]->errors + ths[1]->errors;
			if ((r = run_variant(rw, v, m[round][v])) != 0) {
				row_teardown(rw);
				return r;
			}
			verr[v] += ths[0]->errors + ths[1]->errors - e;
		}
	for (unsigned v = 0; v < rw->nvar; v++) {
		struct vres *o = &res[v];
		memset(o, 0, sizeof(*o));
		for (unsigned round = 0; round < opt.rounds; round++) {
			double total = 0;
			for (unsigned k = 0; k < rw->threads; k++) {
				const struct meas *x = &m[round][v][k];
				if (x->pkts > 0 && x->cyc > 0)
					total += (double)tsc_hz / ((double)x->cyc / (double)x->pkts) / 1e6;
			}
			o->round_mpps[round] = total;
		}
		unsigned best = bench_fastest(o->round_mpps, opt.rounds, &o->mpps_median, &o->mpps_min);
		double cyc = 0, cyc_all = 0;
		for (unsigned k = 0; k < rw->threads; k++) {
			const struct meas *x = &m[best][v][k];
			if (x->pkts > 0)
				cyc += (double)x->cyc / (double)x->pkts / rw->threads;
			if (x->pkts_all > 0)
				cyc_all += (double)x->cyc_all / (double)x->pkts_all / rw->threads;
			o->pkts += x->pkts;
			o->outliers += x->outliers;
			o->alone += x->alone;
			o->bursts += x->pkts_all / BURST;
		}
		o->cyc = cyc;
		o->cyc_all = cyc_all;
		o->mpps = o->round_mpps[best];
		o->errors = verr[v];
	}
	row_teardown(rw);
	return 0;
}

/* ---- the rows ---- */

#define V(n, f, r) { (n), (f), (r) }

static unsigned build_rows(struct row *rows, unsigned max)
{
	unsigned n = 0;
	static const unsigned sizes[2] = { 64, 1420 };

#define ADD(...) do { if (n < max) rows[n++] = (struct row){ __VA_ARGS__ }; } while (0)
	for (unsigned s = 0; s < 2; s++) {
		unsigned sz = sizes[s];
		ADD(.casen = 1, .what = "AEAD API, AES-256-GCM",
		    .cfg = { .size = sz, .cipher = IPOP_CIPHER_AES256GCM }, .threads = 1, .nvar = 3,
		    .v = { V("ipop seal_burst (direct API/pkt)", v_aead_ipop, CHOSEN),
			   V("job API burst", v_gcm_job, REJECTED),
			   V("burst API", v_gcm_burstapi, REJECTED) });
		ADD(.casen = 1, .what = "AEAD API, ChaCha20-Poly1305",
		    .cfg = { .size = sz, .cipher = IPOP_CIPHER_CHACHA20POLY1305 }, .threads = 1,
		    .nvar = 2,
		    .v = { V("ipop seal_burst (burst API)", v_aead_ipop, CHOSEN),
			   V("ipop_aead_seal per packet (job API)", v_aead_single, REJECTED) });
	}
	for (unsigned s = 0; s < 2; s++)
		for (unsigned nt = 1; nt <= 2; nt++)
			ADD(.casen = 2, .what = "IPsec-MB manager",
			    .cfg = { .size = sizes[s], .cipher = IPOP_CIPHER_AES256GCM }, .threads = nt,
			    .nvar = 3,
			    .v = { V("one manager per lcore", v_mgr_own, CHOSEN),
				   V("shared, spinlock per burst", v_mgr_shared_burst, REJECTED),
				   V("shared, spinlock per packet", v_mgr_shared_pkt, REJECTED) });
	for (unsigned s = 0; s < 2; s++)
		ADD(.casen = 3, .what = "seal in place vs copy",
		    .cfg = { .size = sizes[s], .cipher = IPOP_CIPHER_AES256GCM }, .threads = 1,
		    .nvar = 2,
		    .v = { V("in place, headers into headroom", v_inplace, CHOSEN),
			   V("alloc + memcpy into new mbuf", v_copy, REJECTED) });
	for (int mode = MODE_ALONE; mode <= MODE_SEAL; mode++)
		for (unsigned nt = 1; nt <= 2; nt++)
			ADD(.casen = 4, .what = mode == MODE_SEAL ? "nonce reservation + GCM seal" :
				"nonce reservation + data header",
			    .cfg = { .size = 64, .cipher = IPOP_CIPHER_AES256GCM, .mode = mode },
			    .threads = nt, .nvar = 2,
			    .v = { V("1 atomic add per burst", v_nonce_burst, CHOSEN),
				   V("1 atomic add per packet", v_nonce_pkt, REJECTED) });
	for (int mode = MODE_ALONE; mode <= MODE_SEAL; mode++)
		for (unsigned nt = 1; nt <= 2; nt++)
			ADD(.casen = 5, .what = mode == MODE_SEAL ? "counters + GCM seal" :
				"counters alone",
			    .cfg = { .size = 64, .cipher = IPOP_CIPHER_AES256GCM, .mode = mode },
			    .threads = nt, .nvar = 3,
			    .v = { V("per-lcore struct, plain adds", v_cnt_lcore, CHOSEN),
				   V("shared struct, atomic adds", v_cnt_atomic, REJECTED),
				   V("shared struct, plain adds", v_cnt_plain, REJECTED) });
	if (sh.have_null)
		ADD(.casen = 6, .what = "TX on net_null0",
		    .cfg = { .size = 64, .port = sh.port_null }, .threads = 1, .nvar = 2,
		    .v = { V("pktq, 1 tx_burst per burst", v_tx_buffered, CHOSEN),
			   V("1 tx_burst per packet", v_tx_single, REJECTED) });
	if (sh.have_ring)
		ADD(.casen = 6, .what = "TX on net_ring0",
		    .cfg = { .size = 64, .port = sh.port_ring }, .threads = 1, .nvar = 2,
		    .v = { V("pktq, 1 tx_burst per burst", v_tx_buffered, CHOSEN),
			   V("1 tx_burst per packet", v_tx_single, REJECTED) });
	for (unsigned w = 0; w < opt.nws; w++)
		for (unsigned s = 0; s < 2; s++)
			ADD(.casen = 7, .what = "prefetch, parse+bridge+seal",
			    .cfg = { .size = sizes[s], .cipher = IPOP_CIPHER_AES256GCM, .ws = opt.ws[w] },
			    .threads = 1, .nvar = 4,
			    .v = { V("prefetch frame+headroom 3 ahead (ipop)", v_pf_deep, CHOSEN),
				   V("no prefetch", v_pf_none, REJECTED),
				   V("prefetch next frame", v_pf_next, REJECTED),
				   V("prefetch next frame+headroom", v_pf_next_hr, EXTRA) });
#undef ADD
	return n;
}

/* ---- set-up ---- */

static int th_init(struct th *t, unsigned id)
{
	static const uint8_t raw[IPOP_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
		14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
	int r;

	t->id = id;
	if ((r = ipop_aead_mgr_create(&t->aead)) != 0)
		return r;
	t->imb = ipop_aead_mgr_imb(t->aead);
	if ((r = ipop_aead_keybuf_init(t->aead, &t->key_gcm, IPOP_CIPHER_AES256GCM, raw)) != 0 ||
	    (r = ipop_aead_keybuf_init(t->aead, &t->key_cc, IPOP_CIPHER_CHACHA20POLY1305, raw)) != 0)
		return r;
	t->st = bench_alloc64(sizeof(*t->st));
	t->burst_cyc = calloc(MAX_BURSTS, sizeof(uint32_t));
	t->sorted = calloc(MAX_BURSTS, sizeof(uint32_t));
	t->burst_t0 = calloc(MAX_BURSTS, sizeof(uint64_t));
	if (t->st == NULL || t->burst_cyc == NULL || t->sorted == NULL || t->burst_t0 == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < POOL; i++)
		if ((t->plain[i] = malloc(MAX_FRAME)) == NULL)
			return -ENOMEM;
	for (unsigned f = 0; f < FLOWS; f++)
		if ((t->flow_frame[f] = malloc(MAX_FRAME)) == NULL)
			return -ENOMEM;
	if (rte_pktmbuf_alloc_bulk(sh.pool, t->m, POOL) != 0)
		return -ENOMEM;
	t->q.flush = tx_flush;
	t->q.arg = t;
	t->q.queue = 0;
	return 0;
}

static int port_init(uint16_t port)
{
	struct rte_eth_conf conf;

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 1024, (unsigned)rte_socket_id(), NULL, sh.pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 1024, (unsigned)rte_socket_id(), NULL) != 0 ||
	    rte_eth_dev_start(port) != 0)
		return -EIO;
	return 0;
}

static int setup(void)
{
	static const uint8_t raw[IPOP_KEY_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8, 7, 6, 5, 4,
		3, 2, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8 };
	unsigned maxws = 0;
	int r;

	tsc_hz = rte_get_tsc_hz();
	sh.pool = rte_pktmbuf_pool_create("choices", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  (int)rte_socket_id());
	if (sh.pool == NULL)
		return -ENOMEM;
	for (unsigned w = 0; w < opt.nws; w++)
		if (opt.ws[w] > maxws)
			maxws = opt.ws[w];
	if ((opt.cases & (1u << 6)) && maxws > 0) {
		sh.big_pool = rte_pktmbuf_pool_create("choices_ws", maxws + 1024, 0, 0,
						      RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
		if (sh.big_pool == NULL)
			return -ENOMEM;
	}
	if ((r = ipop_aead_mgr_create(&sh.mgr)) != 0)
		return r;
	rte_spinlock_init(&sh.mgr_lock);
	sh.st = bench_alloc64(sizeof(*sh.st));
	/* One tunnel: keypair as control/session/keypair.c lays it out (send key first). */
	size_t ksz = ipop_aead_key_size(sh.mgr, IPOP_CIPHER_AES256GCM);
	sh.kp = bench_alloc64(sizeof(*sh.kp) + 2 * IPOP_AEAD_KEY_MAX);
	if (sh.st == NULL || sh.kp == NULL)
		return -ENOMEM;
	sh.kp->remote_index = rte_cpu_to_be_32(0x5a5a0456u);
	sh.kp->local_index = rte_cpu_to_be_32(0x5a5a0123u);
	sh.kp->expire_tsc = UINT64_MAX;
	if ((r = ipop_aead_key_init(sh.mgr, &sh.kp->send_key, sh.kp->key_store, ksz,
				    IPOP_CIPHER_AES256GCM, raw)) != 0)
		return r;
	struct ipop_encap_addr ea = {
		.src_ip = bench_gw_ip(0x0a), .dst_ip = bench_gw_ip(0x0b),
		.src_port = rte_cpu_to_be_16(WAN_PORT), .dst_port = rte_cpu_to_be_16(WAN_PORT),
	};
	bench_gw_mac(&ea.src_mac, 0x0a);
	bench_gw_mac(&ea.dst_mac, 0x0b);
	sh.peer.hdr_sum = ipop_encap_template(sh.peer.hdr, &ea);
	sh.peer.hdr_ok = 1;
	/* ipopd's bridge size; the far hosts behind peer 0, ours on the LAN. */
	if ((r = ipop_bridge_init(&sh.br, 65536, 300)) != 0)
		return r;
	uint32_t now_s = (uint32_t)(rte_rdtsc() / tsc_hz);
	for (unsigned f = 0; f < FLOWS; f++) {
		struct rte_ether_addr a;
		bench_host_mac(&a, 0x0b, f);
		ipop_bridge_learn(&sh.br, a.addr_bytes, 0, now_s);
		bench_host_mac(&a, 0x0a, f);
		ipop_bridge_learn(&sh.br, a.addr_bytes, IPOP_LOC_LAN, now_s);
	}
	for (unsigned k = 0; k < MAX_THREADS; k++) {
		ths[k] = bench_alloc64(sizeof(struct th));
		if (ths[k] == NULL)
			return -ENOMEM;
		if ((r = th_init(ths[k], k)) != 0)
			return r;
	}
	uint16_t pid;
	RTE_ETH_FOREACH_DEV(pid) {
		struct rte_eth_dev_info info;
		if (rte_eth_dev_info_get(pid, &info) != 0 || info.driver_name == NULL)
			continue;
		if (strstr(info.driver_name, "null") && !sh.have_null && port_init(pid) == 0) {
			sh.port_null = pid;
			sh.have_null = 1;
		} else if (strstr(info.driver_name, "ring") && !sh.have_ring && port_init(pid) == 0) {
			sh.port_ring = pid;
			sh.have_ring = 1;
		}
	}
	return 0;
}

/* ---- options ---- */

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [EAL args --] [--seconds S] [--rounds R] [--cases 1,2,...,7]\n"
		"          [--ws N[,N]] [--json FILE]\n"
		"  EAL args default to: --no-pci --no-huge --no-shconf -m 1024 --no-telemetry\n"
		"     --log-level=*:error -l 0,1 --vdev net_null0 --vdev net_ring0\n"
		"     (--no-pci and --no-huge are always added)\n"
		"  --seconds  measuring time per variant and round (default 0.05, max 2)\n"
		"  --rounds   interleaved rounds, fastest reported (default 5, max %d)\n"
		"  --cases    which cases to run (default all)\n"
		"  --ws       case 7 working sets in mbufs (default 8192,65536; max %d sets)\n"
		"  --json     write the JSON report to FILE ('-': stdout)\n",
		argv0, MAX_ROUNDS, MAX_WS);
}

/* A comma-separated list of at most max numbers in [lo, hi]. */
struct list {
	unsigned *out, max, *n, lo, hi;
};

static int list_tok(const char *tok, void *ctx)
{
	struct list *l = ctx;
	unsigned long v = strtoul(tok, NULL, 10);

	if (*l->n == l->max || v < l->lo || v > l->hi)
		return -EINVAL;
	l->out[(*l->n)++] = (unsigned)v;
	return 0;
}

static int parse_list(const char *arg, unsigned *out, unsigned max, unsigned *n,
		      unsigned lo, unsigned hi)
{
	struct list l = { out, max, n, lo, hi };

	*n = 0;
	return bench_csv(arg, list_tok, &l);
}

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "cases", required_argument, NULL, 'c' },
		{ "ws", required_argument, NULL, 'w' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned list[8], n;
	int c;

	opt = (struct options){ .seconds = 0.05, .rounds = 5, .cases = 0x7f,
				.ws = { 8192, 65536 }, .nws = 2 };
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.seconds = strtod(optarg, NULL);
			if (opt.seconds <= 0 || opt.seconds > 2)
				return -EINVAL;
			break;
		case 'r':
			opt.rounds = (unsigned)strtoul(optarg, NULL, 10);
			if (opt.rounds < 1 || opt.rounds > MAX_ROUNDS)
				return -EINVAL;
			break;
		case 'c':
			if (parse_list(optarg, list, 7, &n, 1, 7) != 0)
				return -EINVAL;
			opt.cases = 0;
			for (unsigned i = 0; i < n; i++)
				opt.cases |= 1u << (list[i] - 1);
			break;
		case 'w':
			if (parse_list(optarg, opt.ws, MAX_WS, &opt.nws, 2 * BURST, 1u << 20) != 0)
				return -EINVAL;
			for (unsigned i = 0; i < opt.nws; i++)
				if (opt.ws[i] % BURST != 0)
					return -EINVAL;
			break;
		case 'j':
			opt.json = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

/* "EAL args -- options", or only options with the default EAL args. */
static int eal_start(int argc, char **argv, int *opt_argc, char ***opt_argv)
{
	static struct bench_eal e;
	int r = bench_eal_begin(&e, argc, argv, 0, opt_argc, opt_argv);

	if (r > 0 && !bench_eal_has(&e, "--no-huge")) {
		bench_eal_add(&e, "--no-huge");
	} else if (r == 0) {
		if (parse_args(argc, argv) != 0)
			return -EINVAL;
		bench_eal_defaults(&e, "1024", "0,1");
		static const char *const vdevs[] = { "--vdev", "net_null0", "--vdev", "net_ring0" };
		for (unsigned i = 0; i < RTE_DIM(vdevs); i++)
			bench_eal_add(&e, vdevs[i]);
	}
	return bench_eal_init(&e);
}

/* ---- reporting ---- */

static json_object *jd(double v)
{
	return json_object_new_double(v);
}

static json_object *row_json(const struct row *rw, const struct vres *res)
{
	json_object *o = json_object_new_object(), *vs = json_object_new_array();
	json_object *ra = json_object_new_array();

	json_object_object_add(o, "case", json_object_new_int((int)rw->casen));
	json_object_object_add(o, "what", json_object_new_string(rw->what));
	json_object_object_add(o, "size", json_object_new_int((int)rw->cfg.size));
	json_object_object_add(o, "threads", json_object_new_int((int)rw->threads));
	if (rw->casen == 7)
		json_object_object_add(o, "working_set_mbufs", json_object_new_int((int)rw->cfg.ws));
	for (unsigned v = 0; v < rw->nvar; v++) {
		const struct vres *x = &res[v];
		json_object *j = json_object_new_object(), *rounds = json_object_new_array();
		json_object_object_add(j, "variant", json_object_new_string(rw->v[v].name));
		json_object_object_add(j, "role", json_object_new_string(role_name[rw->v[v].role]));
		json_object_object_add(j, "cycles_per_pkt", jd(x->cyc));
		json_object_object_add(j, "cycles_per_pkt_all_bursts", jd(x->cyc_all));
		json_object_object_add(j, "mpps", jd(x->mpps));
		json_object_object_add(j, "mpps_median", jd(x->mpps_median));
		json_object_object_add(j, "mpps_min", jd(x->mpps_min));
		for (unsigned r = 0; r < opt.rounds; r++)
			json_object_array_add(rounds, jd(x->round_mpps[r]));
		json_object_object_add(j, "round_mpps", rounds);
		json_object_object_add(j, "outlier_bursts", json_object_new_int64((int64_t)x->outliers));
		json_object_object_add(j, "bursts", json_object_new_int64((int64_t)x->bursts));
		if (rw->threads > 1)
			json_object_object_add(j, "bursts_other_thread_off_cpu",
					       json_object_new_int64((int64_t)x->alone));
		json_object_object_add(j, "errors", json_object_new_int64((int64_t)x->errors));
		json_object_array_add(vs, j);
		if (v > 0) {
			json_object *q = json_object_new_object();
			json_object_object_add(q, "variant", json_object_new_string(rw->v[v].name));
			json_object_object_add(q, "role", json_object_new_string(role_name[rw->v[v].role]));
			json_object_object_add(q, "ratio_cycles_over_chosen", jd(x->cyc / res[0].cyc));
			json_object_object_add(q, "chosen_cycles_per_pkt", jd(res[0].cyc));
			json_object_object_add(q, "other_cycles_per_pkt", jd(x->cyc));
			json_object_object_add(q, "chosen_mpps", jd(res[0].mpps));
			json_object_object_add(q, "other_mpps", jd(x->mpps));
			json_object_array_add(ra, q);
		}
	}
	json_object_object_add(o, "variants", vs);
	json_object_object_add(o, "ratios", ra);
	return o;
}

static void print_row(const struct row *rw, const struct vres *res)
{
	char label[64];

	if (rw->casen == 7)
		snprintf(label, sizeof(label), "%s, %u mbufs", rw->what, rw->cfg.ws);
	else
		snprintf(label, sizeof(label), "%s", rw->what);
	for (unsigned v = 1; v < rw->nvar; v++) {
		char solo[64] = "";
		if (rw->threads > 1)
			snprintf(solo, sizeof(solo), "  [other thread off CPU: %.0f%%/%.0f%% of bursts]",
				 100.0 * (double)res[0].alone / (double)(res[0].bursts ? res[0].bursts : 1),
				 100.0 * (double)res[v].alone / (double)(res[v].bursts ? res[v].bursts : 1));
		printf("%u %-40s %5u %u | %-33s %7.1f %6.2f | %-37s %7.1f %6.2f | %5.2f%s%s%s\n",
		       rw->casen, label, rw->cfg.size, rw->threads, rw->v[0].name, res[0].cyc,
		       res[0].mpps, rw->v[v].name, res[v].cyc, res[v].mpps, res[v].cyc / res[0].cyc,
		       rw->v[v].role == EXTRA ? " (extra)" : "",
		       res[0].errors + res[v].errors ? "  ERRORS" : "", solo);
	}
	fflush(stdout);
}

static json_object *header_json(void)
{
	json_object *h = bench_header_json("ipop-bench-choices", ipop_aead_mgr_arch(ths[0]->aead));

	json_object_object_add(h, "tsc_hz", json_object_new_int64((int64_t)tsc_hz));
	json_object_object_add(h, "loadavg_at_start", json_object_new_string(loadavg_start));
	json_object_object_add(h, "burst", json_object_new_int(BURST));
	json_object_object_add(h, "seconds_per_variant_round", jd(opt.seconds));
	json_object_object_add(h, "rounds", json_object_new_int((int)opt.rounds));
	json_object_object_add(h, "lcores", json_object_new_int((int)rte_lcore_count()));
	json_object_object_add(h, "statistic", json_object_new_string(
		"per variant the fastest of the interleaved rounds by total Mpps; cycles_per_pkt is "
		"per thread (mean of the threads in two-thread rows), TSC cycles, bursts slower than "
		"4x the round's median burst left out (cycles_per_pkt_all_bursts keeps them); ratio = "
		"other variant's cycles_per_pkt / chosen's (> 1: the choice is faster)"));
	return h;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	int oargc, r;
	char **oargv;
	static struct row rows[64];
	static struct vres res[MAX_VARIANTS];

	bench_loadavg(loadavg_start, sizeof(loadavg_start));
	r = eal_start(argc, argv, &oargc, &oargv);
	if (r < 0 || parse_args(oargc, oargv) != 0) {
		usage(argv[0]);
		return 2;
	}
	if (rte_lcore_count() < 2) {
		fprintf(stderr, "needs two EAL lcores (-l 0,1)\n");
		return 2;
	}
	r = setup();
	if (r != 0) {
		fprintf(stderr, "set-up: %s\n", strerror(-r));
		return 1;
	}
	json_object *root = header_json(), *arr = json_object_new_array();
	json_object_object_add(root, "rows", arr);
	printf("ipop-bench-choices: IPsec-MB %s (%s), TSC %.3f GHz, burst %d, %u rounds x %.3f s, "
	       "loadavg %s\n", imb_get_version_str(), ipop_aead_mgr_arch(ths[0]->aead),
	       (double)tsc_hz / 1e9, BURST, opt.rounds, opt.seconds, loadavg_start);
	if (!sh.have_null || !sh.have_ring)
		printf("note: %s%s port missing, case 6 runs without it\n",
		       sh.have_null ? "" : "net_null ", sh.have_ring ? "" : "net_ring ");
	printf("case what                                      size T | chosen"
	       "                             cyc/pkt  Mpps | rejected"
	       "                              cyc/pkt  Mpps | ratio\n");
	unsigned nrows = build_rows(rows, RTE_DIM(rows));
	for (unsigned i = 0; i < nrows && r == 0; i++) {
		if (!(opt.cases & (1u << (rows[i].casen - 1))))
			continue;
		if (rows[i].casen == 7 && sh.big_pool == NULL)
			continue;
		r = run_row(&rows[i], res);
		if (r != 0) {
			fprintf(stderr, "case %u (%s): %s\n", rows[i].casen, rows[i].what, strerror(-r));
			break;
		}
		print_row(&rows[i], res);
		json_object_array_add(arr, row_json(&rows[i], res));
	}
	bench_loadavg(loadavg_end, sizeof(loadavg_end));
	json_object_object_add(root, "loadavg_at_end", json_object_new_string(loadavg_end));
	json_object_object_add(root, "memory", bench_memory_json(
		"whole process: EAL (--no-huge -m 1024, touched pages only), two mbuf pools "
		"(8191 and the largest case 7 working set + 1024), bridge, per-thread buffers"));
	printf("memory: VmRSS %ld kB, VmHWM %ld kB; loadavg at end %s\n", bench_status_kb("VmRSS"),
	       bench_status_kb("VmHWM"), loadavg_end);
	if (opt.json != NULL && bench_json_write(root, opt.json) != 0)
		r = 1;
	json_object_put(root);
	uint16_t pid;
	RTE_ETH_FOREACH_DEV(pid) {
		rte_eth_dev_stop(pid);
		rte_eth_dev_close(pid);
	}
	rte_eal_cleanup();
	return r == 0 ? 0 : 1;
}

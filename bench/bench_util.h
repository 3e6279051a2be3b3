/* bench_util.h - what the benchmark programs in bench/ share: synthetic
 * frames and the IMIX, the fastest-round and preemption-filter statistics,
 * the raw IPsec-MB reference loops, EAL default arguments, resident memory,
 * command-line lists and JSON output.
 *
 * Thread: any; nothing here keeps state. The functions called inside timed
 * regions (the raw IPsec-MB loops: one call per burst; the send.c
 * restatements: static inline) cost what the copies they replace cost.
 *
 * bench_util.c makes no call into DPDK's libraries (only its inline headers),
 * so ipop-bench-aead, which runs without DPDK, links none of them.
 */
#ifndef IPOP_BENCH_UTIL_H
#define IPOP_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/aead.h"
#include "dataplane/encap.h"
#include "dataplane/tables.h"
#include "dataplane/wire.h"

/* ---- time, memory, load ---- */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* size bytes (rounded up to a multiple of 64, as C11 wants), 64-byte aligned,
 * zeroed; NULL when out of memory. free() releases it. */
void *bench_alloc64(size_t size);

/* A "kB" field of /proc/self/status (VmRSS, VmHWM, ...); -1 if unreadable. */
long bench_status_kb(const char *field);

/* {"vmrss_kb", "vmhwm_kb", "note"}: the process's resident memory now and at
 * its peak, with a note saying what the process holds. */
json_object *bench_memory_json(const char *note);

/* The first line of /proc/loadavg without its newline ("" if unreadable). */
void bench_loadavg(char *out, size_t len);

/* ---- hosts and frames ---- */

/* Host h of site s: MAC 02:ss:00:00:hh:hh. */
void bench_host_mac(struct rte_ether_addr *a, uint8_t site, unsigned host);

/* Gateway of site s on the underlay: MAC 02:fe:00:00:00:ss. */
void bench_gw_mac(struct rte_ether_addr *a, uint8_t site);

/* Gateway of site s on the underlay: 192.168.100.s, network order. */
uint32_t bench_gw_ip(uint8_t site);

/* An Ethernet/IPv4/UDP frame of len bytes (no FCS) from host flow of site
 * src_site to host flow of site dst_site: MACs as bench_host_mac, IPs
 * 10.site.flow (/16), UDP 1024 + flow -> 5001, no UDP checksum. Payload byte i
 * (from offset 42) is (uint8_t)(i * fill_mul + flow): each program keeps the
 * pattern its published numbers were measured with. */
void bench_frame_write(uint8_t *f, uint16_t len, uint8_t src_site, uint8_t dst_site,
		       unsigned flow, unsigned fill_mul);

/* The simple IMIX, 7:4:1 of 64/576/large bytes, in a fixed 12-packet order;
 * large is 1500 (ipop-bench-aead: plaintext bytes) or 1420 (the largest inner
 * frame a 1500-byte underlay carries unfragmented). */
#define BENCH_IMIX_PATTERN 12
static inline uint16_t bench_imix_len(unsigned i, uint16_t large)
{
	static const uint16_t pattern[BENCH_IMIX_PATTERN] = {
		64, 576, 64, 64, 576, 64, 0, 64, 576, 64, 576, 64 };
	uint16_t len = pattern[i % BENCH_IMIX_PATTERN];

	return len != 0 ? len : large;
}

/* Mean bytes of that IMIX: (7 x 64 + 4 x 576 + large) / 12. */
double bench_imix_mean(uint16_t large);

/* {"sizes": [64, 576, large], "weights": [7, 4, 1], "mean_bytes": ...}. */
json_object *bench_imix_json(uint16_t large);

/* The label of a size code: "imix" for 0, else the number. */
void bench_size_label(uint32_t code, char *out, size_t len);

/* ---- statistics ---- */

/* A burst that took more than BENCH_OUTLIER x the median burst of its run was
 * interrupted (the VM's other tenants, an interrupt): its time is not the
 * code's. */
#define BENCH_OUTLIER 4

/* Sorts v[0..n) and returns its median, v[n / 2] (n > 0). */
uint32_t bench_median_u32(uint32_t *v, unsigned n);

/* BENCH_OUTLIER x the median of the n > 0 burst times cyc (sorted into
 * scratch, n entries): bursts above it are left out. */
uint64_t bench_outlier_limit(const uint32_t *cyc, uint32_t *scratch, unsigned n);

/* Rounds kept per case at most by the functions below. */
#define BENCH_MAX_ROUNDS 64

/* Of n rounds' rates (n > 0, at most BENCH_MAX_ROUNDS), the index of the
 * fastest (the first of equals), with the median and the slowest. */
unsigned bench_fastest(const double *mpps, unsigned n, double *median, double *min);

/* Where bench_best_of finds the fields of a program's per-round record. */
struct bench_fields {
	size_t mpps, mpps_min, mpps_median, errors;   /* double x 3, uint64_t */
};
#define BENCH_FIELDS(type) ((struct bench_fields){ offsetof(type, mpps), \
	offsetof(type, mpps_min), offsetof(type, mpps_median), offsetof(type, errors) })

/* The statistic the benchmarks report per case: of n rounds (records of size
 * bytes with the fields f), copies the fastest by mpps to out, with mpps_min
 * and mpps_median of all rounds and errors summed over all rounds. Other
 * tenants of a shared VM only ever slow a round down, so the fastest round is
 * the best estimate of what the code itself costs. */
void bench_best_of(void *out, const void *rounds, unsigned n, size_t size,
		   struct bench_fields f);

/* ---- raw IPsec-MB reference loops ----
 * On n packets described as ipop_aead_ops (key, buf, len, aad, tag; counter
 * and status unused), in place, with the ipop layout: IPOP_DATA_HDR_LEN bytes
 * of AAD, the 12-byte nonce nonce[i] (filled by the caller) for ops[i], an
 * IPOP_TAG_LEN-byte tag written to tag (both directions: no tag check). The
 * job and burst APIs use the cipher of each op's key. */

/* AES-256-GCM direct API (IMB_AES256_GCM_ENC/DEC), one packet at a time, all
 * with key (the ops' key is not read). */
void bench_imb_gcm_direct(IMB_MGR *imb, struct gcm_context_data *ctx,
			  const struct ipop_aead_key *key, const struct ipop_aead_op *ops,
			  uint8_t (*nonce)[16], unsigned n, IMB_CIPHER_DIRECTION dir);

/* Job API: submit one by one, collect what completes, flush at the end.
 * Returns the packets IPsec-MB did not complete. */
unsigned bench_imb_job_api(IMB_MGR *imb, const struct ipop_aead_op *ops, uint8_t (*nonce)[16],
			   unsigned n, IMB_CIPHER_DIRECTION dir);

/* Burst API: one get and submit of n <= IMB_MAX_BURST_SIZE jobs (jobs: room
 * for n), flush what is left. Returns the packets IPsec-MB did not complete. */
unsigned bench_imb_burst_api(IMB_MGR *imb, IMB_JOB **jobs, const struct ipop_aead_op *ops,
			     uint8_t (*nonce)[16], unsigned n, IMB_CIPHER_DIRECTION dir);

/* ---- dataplane/send.c's steps, re-stated where a benchmark times them ---- */

/* to_peer's room check: data header + outer header in front, tag behind; on
 * success the mbuf covers data header, frame and tag. Returns 0, or -1 (mbuf
 * unchanged). */
static inline int bench_grow_in_place(struct rte_mbuf *m)
{
	uint16_t off = m->data_off;

	if (unlikely(m->nb_segs != 1 || off < IPOP_DATA_HDR_LEN + IPOP_OUTER_HDR_LEN ||
		     (uint32_t)off + m->data_len + IPOP_TAG_LEN > m->buf_len))
		return -1;
	m->data_off = (uint16_t)(off - IPOP_DATA_HDR_LEN);
	m->data_len = (uint16_t)(m->data_len + IPOP_DATA_OVERHEAD);
	m->pkt_len += IPOP_DATA_OVERHEAD;
	return 0;
}

/* encap_out: the outer header from the peer's template into the headroom. */
static inline void bench_outer_hdr(struct rte_mbuf *m, const struct ipop_fp_peer *p,
				   uint16_t ip_id)
{
	uint16_t plen = (uint16_t)m->pkt_len;

	m->data_off = (uint16_t)(m->data_off - IPOP_OUTER_HDR_LEN);
	m->data_len = (uint16_t)(m->data_len + IPOP_OUTER_HDR_LEN);
	m->pkt_len += IPOP_OUTER_HDR_LEN;
	ipop_encap_from_template(rte_pktmbuf_mtod(m, uint8_t *), p->hdr, p->hdr_sum, plen, ip_id);
}

/* ---- EAL arguments ----
 * A tool's command line is "EAL args -- options" or only "options". */

#define BENCH_EAL_MAX 96           /* arguments in all */
#define BENCH_EAL_USER_MAX 80      /* of which given on the command line */

/* An EAL argument vector being built. rte_eal_init keeps pointers into it:
 * give it static storage. */
struct bench_eal {
	char *argv[BENCH_EAL_MAX + 1];
	int argc;
	int overflow;
};

/* Starts e with argv[0], then "--no-pci" (never probe the machine's own NICs;
 * with pci_ok only when the EAL args name neither --no-pci nor an allow-list,
 * -a or --allow), then the EAL args before "--", if any. Points *oargc and
 * *oargv at the tool's options (argv[0] in front, for getopt). Returns 1 when
 * EAL args were given, 0 when not (the caller adds its defaults). */
int bench_eal_begin(struct bench_eal *e, int argc, char **argv, int pci_ok, int *oargc,
		    char ***oargv);

/* Appends one argument (kept by pointer). */
void bench_eal_add(struct bench_eal *e, const char *arg);

/* Whether the vector holds arg after argv[0]. */
int bench_eal_has(const struct bench_eal *e, const char *arg);

/* The defaults every tool uses: --no-huge --no-shconf -m mem_mb
 * --no-telemetry --log-level=*:error -l lcores. */
void bench_eal_defaults(struct bench_eal *e, const char *mem_mb, const char *lcores);

/* Terminates the vector. Returns 0, or -E2BIG when more arguments were given
 * than it holds. */
int bench_eal_end(struct bench_eal *e);

/* bench_eal_end, then rte_eal_init with the vector: what rte_eal_init
 * returns, or -E2BIG. (Inline: bench_util.c calls no DPDK library.) */
static inline int bench_eal_init(struct bench_eal *e)
{
	int r = bench_eal_end(e);

	return r != 0 ? r : rte_eal_init(e->argc, e->argv);
}

/* ---- command line and JSON ---- */

/* Calls fn(token, ctx) for each comma-separated token of arg until fn
 * returns non-zero. Returns 0, -EINVAL (fn refused a token, or there was
 * none) or -ENOMEM. */
int bench_csv(const char *arg, int (*fn)(const char *tok, void *ctx), void *ctx);

/* {"tool", "ipsec_mb" (library version), "arch" (IPsec-MB code path)}: the
 * first keys of a report's header. */
json_object *bench_header_json(const char *tool, const char *arch);

/* Writes root, pretty-printed, to the file path, or to stdout if path is "-".
 * Returns 0, or -1 after a message on stderr. */
int bench_json_write(json_object *root, const char *path);

#endif /* IPOP_BENCH_UTIL_H */

/* bench_util.c - what the benchmark programs in bench/ share (bench_util.h).
 *
 * Thread: any. No calls into DPDK's libraries, only its inline headers.
 */
#include "bench/bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

/* ---- time, memory, load ---- */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void *bench_alloc64(size_t size)
{
	size_t sz = (size + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, sz);

	if (p != NULL)
		memset(p, 0, sz);
	return p;
}

long bench_status_kb(const char *field)
{
	char line[256];
	size_t fl = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			v = strtol(line + fl + 1, NULL, 10);
	fclose(f);
	return v;
}

json_object *bench_memory_json(const char *note)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "vmrss_kb", json_object_new_int64(bench_status_kb("VmRSS")));
	json_object_object_add(o, "vmhwm_kb", json_object_new_int64(bench_status_kb("VmHWM")));
	json_object_object_add(o, "note", json_object_new_string(note));
	return o;
}

void bench_loadavg(char *out, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	out[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(out, (int)len, f) != NULL)
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/* ---- hosts and frames ---- */

void bench_host_mac(struct rte_ether_addr *a, uint8_t site, unsigned host)
{
	uint8_t m[6] = { 0x02, site, 0, 0, (uint8_t)(host >> 8), (uint8_t)host };

	memcpy(a->addr_bytes, m, 6);
}

void bench_gw_mac(struct rte_ether_addr *a, uint8_t site)
{
	uint8_t m[6] = { 0x02, 0xfe, 0, 0, 0, site };

	memcpy(a->addr_bytes, m, 6);
}

uint32_t bench_gw_ip(uint8_t site)
{
	return rte_cpu_to_be_32(0xc0a86400u | site);   /* 192.168.100.site */
}

void bench_frame_write(uint8_t *f, uint16_t len, uint8_t src_site, uint8_t dst_site,
		       unsigned flow, unsigned fill_mul)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t ip_len = (uint16_t)(len - RTE_ETHER_HDR_LEN);

	bench_host_mac(&eth->dst_addr, dst_site, flow);
	bench_host_mac(&eth->src_addr, src_site, flow);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(ip_len);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(0x0a000000u | ((uint32_t)src_site << 16) | flow);
	ip->dst_addr = rte_cpu_to_be_32(0x0a000000u | ((uint32_t)dst_site << 16) | flow);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16((uint16_t)(1024 + flow));
	udp->dst_port = rte_cpu_to_be_16(5001);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(ip_len - 20));
	udp->dgram_cksum = 0;
	for (uint16_t i = 42; i < len; i++)
		f[i] = (uint8_t)(i * fill_mul + flow);
}

double bench_imix_mean(uint16_t large)
{
	return (7.0 * 64 + 4.0 * 576 + large) / BENCH_IMIX_PATTERN;
}

json_object *bench_imix_json(uint16_t large)
{
	json_object *imix = json_object_new_object();
	json_object *sz = json_object_new_array(), *wt = json_object_new_array();
	const int isz[3] = { 64, 576, large }, iwt[3] = { 7, 4, 1 };

	for (int i = 0; i < 3; i++) {
		json_object_array_add(sz, json_object_new_int(isz[i]));
		json_object_array_add(wt, json_object_new_int(iwt[i]));
	}
	json_object_object_add(imix, "sizes", sz);
	json_object_object_add(imix, "weights", wt);
	json_object_object_add(imix, "mean_bytes", json_object_new_double(bench_imix_mean(large)));
	return imix;
}

void bench_size_label(uint32_t code, char *out, size_t len)
{
	if (code == 0)
		snprintf(out, len, "imix");
	else
		snprintf(out, len, "%u", code);
}

/* ---- statistics ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

uint32_t bench_median_u32(uint32_t *v, unsigned n)
{
	qsort(v, n, sizeof(v[0]), cmp_u32);
	return v[n / 2];
}

uint64_t bench_outlier_limit(const uint32_t *cyc, uint32_t *scratch, unsigned n)
{
	memcpy(scratch, cyc, n * sizeof(scratch[0]));
	return (uint64_t)bench_median_u32(scratch, n) * BENCH_OUTLIER;
}

unsigned bench_fastest(const double *mpps, unsigned n, double *median, double *min)
{
	double s[BENCH_MAX_ROUNDS];
	unsigned best = 0;

	if (n > BENCH_MAX_ROUNDS)
		n = BENCH_MAX_ROUNDS;
	for (unsigned i = 0; i < n; i++) {
		s[i] = mpps[i];
		if (mpps[i] > mpps[best])
			best = i;
	}
	qsort(s, n, sizeof(s[0]), cmp_double);
	*median = s[n / 2];
	*min = s[0];
	return best;
}

void bench_best_of(void *out, const void *rounds, unsigned n, size_t size,
		   struct bench_fields f)
{
	const uint8_t *rec = rounds;
	double mpps[BENCH_MAX_ROUNDS], median, min;
	uint64_t errors = 0, e;

	if (n > BENCH_MAX_ROUNDS)
		n = BENCH_MAX_ROUNDS;
	for (unsigned i = 0; i < n; i++) {
		memcpy(&mpps[i], rec + i * size + f.mpps, sizeof(double));
		memcpy(&e, rec + i * size + f.errors, sizeof(e));
		errors += e;
	}
	memcpy(out, rec + bench_fastest(mpps, n, &median, &min) * size, size);
	memcpy((uint8_t *)out + f.mpps_min, &min, sizeof(min));
	memcpy((uint8_t *)out + f.mpps_median, &median, sizeof(median));
	memcpy((uint8_t *)out + f.errors, &errors, sizeof(errors));
}

/* ---- raw IPsec-MB reference loops ----
 * Each starts on a cache line: the job-API loop measured 3% slower (ChaCha20-
 * Poly1305, 64 bytes) at one unlucky code address than at another, so the
 * reference must not move with unrelated edits. */
#define HOT_LOOP __attribute__((aligned(64)))

/* One job for op with the cipher of op->key (inlined into the loops below). */
static inline void imb_job(IMB_JOB *job, const struct ipop_aead_op *op, const uint8_t *nonce,
			   IMB_CIPHER_DIRECTION dir)
{
	job->cipher_direction = dir;
	job->chain_order = dir == IMB_DIR_ENCRYPT ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	job->key_len_in_bytes = IMB_KEY_256_BYTES;
	job->src = op->buf;
	job->dst = op->buf;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = op->len;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = op->len;
	job->iv = nonce;
	job->iv_len_in_bytes = 12;
	job->auth_tag_output = op->tag;
	job->auth_tag_output_len_in_bytes = IPOP_TAG_LEN;
	job->enc_keys = op->key->data;
	job->dec_keys = op->key->data;
	if (op->key->cipher == IPOP_CIPHER_AES256GCM) {
		job->cipher_mode = IMB_CIPHER_GCM;
		job->hash_alg = IMB_AUTH_AES_GMAC;
		job->u.GCM.aad = op->aad;
		job->u.GCM.aad_len_in_bytes = IPOP_DATA_HDR_LEN;
	} else {
		job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
		job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
		job->u.CHACHA20_POLY1305.aad = op->aad;
		job->u.CHACHA20_POLY1305.aad_len_in_bytes = IPOP_DATA_HDR_LEN;
	}
}

HOT_LOOP
void bench_imb_gcm_direct(IMB_MGR *imb, struct gcm_context_data *ctx,
			  const struct ipop_aead_key *key, const struct ipop_aead_op *ops,
			  uint8_t (*nonce)[16], unsigned n, IMB_CIPHER_DIRECTION dir)
{
	/* The expanded key: the part of a struct gcm_key_data this arch uses. */
	const struct gcm_key_data *gk = (const struct gcm_key_data *)(const void *)key->data;

	if (dir == IMB_DIR_ENCRYPT)
		for (unsigned i = 0; i < n; i++)
			IMB_AES256_GCM_ENC(imb, gk, ctx, ops[i].buf, ops[i].buf, ops[i].len, nonce[i],
					   ops[i].aad, IPOP_DATA_HDR_LEN, ops[i].tag, IPOP_TAG_LEN);
	else
		for (unsigned i = 0; i < n; i++)
			IMB_AES256_GCM_DEC(imb, gk, ctx, ops[i].buf, ops[i].buf, ops[i].len, nonce[i],
					   ops[i].aad, IPOP_DATA_HDR_LEN, ops[i].tag, IPOP_TAG_LEN);
}

static unsigned not_completed(const IMB_JOB *job)
{
	return job->status != IMB_STATUS_COMPLETED;
}

HOT_LOOP
unsigned bench_imb_job_api(IMB_MGR *imb, const struct ipop_aead_op *ops, uint8_t (*nonce)[16],
			   unsigned n, IMB_CIPHER_DIRECTION dir)
{
	unsigned failed = 0;
	IMB_JOB *job;

	for (unsigned i = 0; i < n; i++) {
		job = IMB_GET_NEXT_JOB(imb);
		imb_job(job, &ops[i], nonce[i], dir);
		job = IMB_SUBMIT_JOB(imb);
		for (unsigned k = 0; job != NULL && k < IMB_MAX_JOBS; k++) {
			failed += not_completed(job);
			job = IMB_GET_COMPLETED_JOB(imb);
		}
	}
	for (unsigned k = 0; k < IMB_MAX_JOBS && (job = IMB_FLUSH_JOB(imb)) != NULL; k++)
		failed += not_completed(job);
	return failed;
}

HOT_LOOP
unsigned bench_imb_burst_api(IMB_MGR *imb, IMB_JOB **jobs, const struct ipop_aead_op *ops,
			     uint8_t (*nonce)[16], unsigned n, IMB_CIPHER_DIRECTION dir)
{
	unsigned failed = 0, done;

	if (IMB_GET_NEXT_BURST(imb, n, jobs) != n)
		return n;
	for (unsigned i = 0; i < n; i++)
		imb_job(jobs[i], &ops[i], nonce[i], dir);
	done = IMB_SUBMIT_BURST(imb, n, jobs);
	for (unsigned i = 0; i < done; i++)
		failed += not_completed(jobs[i]);
	for (unsigned left = n - done, k = 0; left > 0 && k < n; left -= done, k++) {
		done = IMB_FLUSH_BURST(imb, left, jobs);
		if (done == 0)
			return failed + left;
		for (unsigned i = 0; i < done; i++)
			failed += not_completed(jobs[i]);
	}
	return failed;
}

/* ---- EAL arguments ---- */

void bench_eal_add(struct bench_eal *e, const char *arg)
{
	if (e->argc < BENCH_EAL_MAX)
		e->argv[e->argc++] = (char *)(uintptr_t)arg;
	else
		e->overflow = 1;
}

int bench_eal_has(const struct bench_eal *e, const char *arg)
{
	for (int i = 1; i < e->argc; i++)
		if (strcmp(e->argv[i], arg) == 0)
			return 1;
	return 0;
}

int bench_eal_begin(struct bench_eal *e, int argc, char **argv, int pci_ok, int *oargc,
		    char ***oargv)
{
	int sep = -1, pci = 0;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	for (int i = 1; i < sep; i++)
		pci |= strcmp(argv[i], "--no-pci") == 0 || strcmp(argv[i], "-a") == 0 ||
		       strcmp(argv[i], "--allow") == 0;
	e->argc = 0;
	e->overflow = 0;
	bench_eal_add(e, argv[0]);
	if (!pci_ok || !pci)
		bench_eal_add(e, "--no-pci");
	if (sep < 0) {
		*oargc = argc;
		*oargv = argv;
		return 0;
	}
	for (int i = 1; i < sep; i++)
		if (i <= BENCH_EAL_USER_MAX)
			bench_eal_add(e, argv[i]);
		else
			e->overflow = 1;
	argv[sep] = argv[0];
	*oargc = argc - sep;
	*oargv = &argv[sep];
	return 1;
}

void bench_eal_defaults(struct bench_eal *e, const char *mem_mb, const char *lcores)
{
	static const char *const def[] = { "--no-huge", "--no-shconf", "-m", NULL,
		"--no-telemetry", "--log-level=*:error", "-l", NULL };

	for (size_t i = 0; i < sizeof(def) / sizeof(def[0]); i++)
		bench_eal_add(e, def[i] != NULL ? def[i] : i == 3 ? mem_mb : lcores);
}

int bench_eal_end(struct bench_eal *e)
{
	e->argv[e->argc] = NULL;
	return e->overflow ? -E2BIG : 0;
}

/* ---- command line and JSON ---- */

int bench_csv(const char *arg, int (*fn)(const char *tok, void *ctx), void *ctx)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	int rc = 0, n = 0;

	if (copy == NULL)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), n++)
		if (fn(tok, ctx) != 0) {
			rc = -EINVAL;
			break;
		}
	free(copy);
	return n == 0 ? -EINVAL : rc;
}

json_object *bench_header_json(const char *tool, const char *arch)
{
	json_object *h = json_object_new_object();

	json_object_object_add(h, "tool", json_object_new_string(tool));
	json_object_object_add(h, "ipsec_mb", json_object_new_string(imb_get_version_str()));
	json_object_object_add(h, "arch", json_object_new_string(arch));
	return h;
}

int bench_json_write(json_object *root, const char *path)
{
	if (strcmp(path, "-") == 0) {
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
		return 0;
	}
	if (json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		return -1;
	}
	return 0;
}

/* bench_aead.c - ipop-bench-aead: raw Intel IPsec-MB AEAD speed on one core
 * (no DPDK, no mbufs) next to the speed of ipop's dataplane/aead wrappers,
 * measured in the same run so that their ratio means something.
 *
 * Thread: a single-threaded command-line tool.
 *
 * For each cipher and packet size it times, on a pool of in-place buffers
 * processed in bursts, each IPsec-MB API (direct, job, burst; seal and the
 * decrypt direction the wrapper uses) and ipop_aead_seal_burst /
 * ipop_aead_open_burst. Packets carry the ipop layout: 16-byte AAD, 12-byte
 * nonce built from a counter, 16-byte tag. Sizes count plaintext bytes only
 * (no data header, no tag, no outer headers). IMIX is 7:4:1 of 64/576/1500
 * bytes, interleaved in a fixed 12-packet pattern (mean 354.33 bytes).
 * Opening buffers that were not sealed with the current contents fails the tag
 * check, which costs exactly what a success costs (decrypt + constant-time
 * compare), so open rates are valid; failures are not counted as errors.
 * Each case runs in several short rounds interleaved with the other APIs of
 * the same cipher and size, and the fastest round is reported (the VM's other
 * tenants only ever slow a round down); the wrapper/raw ratios come from the
 * same run.
 */
#include "dataplane/aead.h"
#include "dataplane/wire.h"
#include "bench/bench_util.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include <json-c/json.h>

#define POOL      256           /* buffers cycled through (cache-resident, ~0.5 MB) */
#define BUF_SIZE  2048
#define MAX_SIZES 8
#define IMIX      0             /* size code for the IMIX mix */
#define IMIX_LARGE 1500         /* IMIX = 7:4:1 of 64/576/1500 */

struct bench {
	IMB_MGR *imb;
	struct ipop_aead_mgr *mgr;
	struct ipop_aead_key key;   /* material in key_store */
	uint8_t key_store[IPOP_AEAD_KEY_MAX] __attribute__((aligned(64)));
	struct gcm_context_data gcm_ctx;
	struct chacha20_poly1305_context_data cp_ctx;
	uint8_t *buf[POOL];
	uint32_t len[POOL];
	uint8_t aad[POOL][16];
	uint8_t tag[POOL][16];
	uint8_t nonce[POOL][16];
	struct ipop_aead_op ops[POOL];
	IMB_JOB *jobs[IMB_MAX_BURST_SIZE];
	unsigned burst;
	unsigned pos;               /* next buffer of the pool */
	uint64_t counter;
	uint64_t errors;            /* jobs IPsec-MB did not complete */
};

/* One method processes b->burst packets starting at b->pos. */
typedef void (*method_fn)(struct bench *b, unsigned first, unsigned n);

static void nonces(struct bench *b, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n; i++)
		ipop_wire_nonce(b->nonce[i], b->counter++);
}

/* The raw APIs (bench_util.h) on the pool's ops, with the cipher of the
 * current key. */

/* Direct API (AES-256-GCM only). */
static void direct_run(struct bench *b, unsigned first, unsigned n, IMB_CIPHER_DIRECTION dir)
{
	nonces(b, first, n);
	bench_imb_gcm_direct(b->imb, &b->gcm_ctx, &b->key, &b->ops[first], &b->nonce[first], n,
			     dir);
}

/* Job API: submit one by one, collect what completes, flush at burst end. */
static void job_run(struct bench *b, unsigned first, unsigned n, IMB_CIPHER_DIRECTION dir)
{
	nonces(b, first, n);
	b->errors += bench_imb_job_api(b->imb, &b->ops[first], &b->nonce[first], n, dir);
}

/* Burst API: one get/submit per burst, flush what is left. */
static void burst_run(struct bench *b, unsigned first, unsigned n, IMB_CIPHER_DIRECTION dir)
{
	nonces(b, first, n);
	b->errors += bench_imb_burst_api(b->imb, b->jobs, &b->ops[first], &b->nonce[first], n,
					 dir);
}

/* ---- AES-256-GCM ---- */

static void gcm_direct_enc(struct bench *b, unsigned first, unsigned n)
{
	direct_run(b, first, n, IMB_DIR_ENCRYPT);
}

static void gcm_direct_dec(struct bench *b, unsigned first, unsigned n)
{
	direct_run(b, first, n, IMB_DIR_DECRYPT);
}

static void gcm_job_enc(struct bench *b, unsigned first, unsigned n)
{
	job_run(b, first, n, IMB_DIR_ENCRYPT);
}

static void gcm_burst_enc(struct bench *b, unsigned first, unsigned n)
{
	burst_run(b, first, n, IMB_DIR_ENCRYPT);
}

/* ---- ChaCha20-Poly1305 ---- */

static void cp_direct_enc(struct bench *b, unsigned first, unsigned n)
{
	nonces(b, first, n);
	for (unsigned i = first; i < first + n; i++) {
		IMB_CHACHA20_POLY1305_INIT(b->imb, b->key.data, &b->cp_ctx,
					   b->nonce[i], b->aad[i], 16);
		IMB_CHACHA20_POLY1305_ENC_UPDATE(b->imb, b->key.data, &b->cp_ctx,
						 b->buf[i], b->buf[i], b->len[i]);
		IMB_CHACHA20_POLY1305_ENC_FINALIZE(b->imb, &b->cp_ctx, b->tag[i], 16);
	}
}

static void cp_job_enc(struct bench *b, unsigned first, unsigned n)
{
	job_run(b, first, n, IMB_DIR_ENCRYPT);
}

static void cp_burst_enc(struct bench *b, unsigned first, unsigned n)
{
	burst_run(b, first, n, IMB_DIR_ENCRYPT);
}

static void cp_burst_dec(struct bench *b, unsigned first, unsigned n)
{
	burst_run(b, first, n, IMB_DIR_DECRYPT);
}

/* ---- ipop wrappers ---- */

static void wrap_ops(struct bench *b, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n; i++)
		b->ops[i].counter = b->counter++;
}

static void ipop_seal(struct bench *b, unsigned first, unsigned n)
{
	wrap_ops(b, first, n);
	b->errors += ipop_aead_seal_burst(b->mgr, &b->ops[first], n);
}

static void ipop_open(struct bench *b, unsigned first, unsigned n)
{
	wrap_ops(b, first, n);
	ipop_aead_open_burst(b->mgr, &b->ops[first], n);
	for (unsigned i = first; i < first + n; i++)
		b->errors += b->ops[i].status != 0 && b->ops[i].status != -EBADMSG;
}

/* ---- methods table ---- */

struct method {
	const char *api;            /* direct, job, burst, ipop */
	const char *op;             /* seal or open */
	int cipher;
	method_fn fn;
	int raw_enc;                /* a raw IPsec-MB encryption */
	int wrapper_ref;            /* the raw call the wrapper uses (per op) */
};

static const struct method methods[] = {
	{ "direct", "seal", IPOP_CIPHER_AES256GCM, gcm_direct_enc, 1, 1 },
	{ "job", "seal", IPOP_CIPHER_AES256GCM, gcm_job_enc, 1, 0 },
	{ "burst", "seal", IPOP_CIPHER_AES256GCM, gcm_burst_enc, 1, 0 },
	{ "direct", "open", IPOP_CIPHER_AES256GCM, gcm_direct_dec, 0, 1 },
	{ "ipop", "seal", IPOP_CIPHER_AES256GCM, ipop_seal, 0, 0 },
	{ "ipop", "open", IPOP_CIPHER_AES256GCM, ipop_open, 0, 0 },
	{ "direct", "seal", IPOP_CIPHER_CHACHA20POLY1305, cp_direct_enc, 1, 0 },
	{ "job", "seal", IPOP_CIPHER_CHACHA20POLY1305, cp_job_enc, 1, 0 },
	{ "burst", "seal", IPOP_CIPHER_CHACHA20POLY1305, cp_burst_enc, 1, 1 },
	{ "burst", "open", IPOP_CIPHER_CHACHA20POLY1305, cp_burst_dec, 0, 1 },
	{ "ipop", "seal", IPOP_CIPHER_CHACHA20POLY1305, ipop_seal, 0, 0 },
	{ "ipop", "open", IPOP_CIPHER_CHACHA20POLY1305, ipop_open, 0, 0 },
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

struct result {
	double mpps, gbps, ns_per_op, cycles_per_op;
	double mpps_min, mpps_median;  /* spread over the rounds */
	uint64_t ops, errors;
};

#define MAX_ROUNDS 15

/* Buffer lengths for one size code and the ops the wrappers read. */
static void setup_sizes(struct bench *b, uint32_t size)
{
	for (unsigned i = 0; i < POOL; i++) {
		b->len[i] = size == IMIX ? bench_imix_len(i, IMIX_LARGE) : size;
		b->ops[i] = (struct ipop_aead_op){ .key = &b->key, .buf = b->buf[i],
			.len = b->len[i], .aad = b->aad[i], .tag = b->tag[i] };
	}
}

static uint64_t run_for(struct bench *b, method_fn fn, double seconds,
			uint64_t *bytes)
{
	uint64_t end = bench_now_ns() + (uint64_t)(seconds * 1e9), ops = 0;

	*bytes = 0;
	do {
		for (int k = 0; k < 16; k++) {
			fn(b, b->pos, b->burst);
			for (unsigned i = b->pos; i < b->pos + b->burst; i++)
				*bytes += b->len[i];
			ops += b->burst;
			b->pos = (b->pos + b->burst) % POOL;
		}
	} while (bench_now_ns() < end);
	return ops;
}

static struct result measure(struct bench *b, const struct method *m,
			     double seconds)
{
	struct result r = { 0 };
	uint64_t bytes, t0, t1, c0, c1;

	b->pos = 0;
	b->errors = 0;
	run_for(b, m->fn, seconds / 10, &bytes);          /* warm-up */
	b->errors = 0;
	t0 = bench_now_ns();
	c0 = __rdtsc();
	r.ops = run_for(b, m->fn, seconds, &bytes);
	c1 = __rdtsc();
	t1 = bench_now_ns();
	r.errors = b->errors;
	r.mpps = (double)r.ops * 1e3 / (double)(t1 - t0);
	r.gbps = (double)bytes * 8 / (double)(t1 - t0);
	r.ns_per_op = (double)(t1 - t0) / (double)r.ops;
	r.cycles_per_op = (double)(c1 - c0) / (double)r.ops;
	return r;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--seconds S] [--rounds R] [--sizes 64,512,1420,imix]\n"
		"          [--burst N] [--cpu N] [--json FILE]\n"
		"  --seconds  measuring time per case and round (default 0.1)\n"
		"  --rounds   interleaved rounds per case, fastest reported (default 5,\n"
		"             max %d); 12 cases per size\n"
		"  --burst    packets per burst, 1..%d (default 32)\n"
		"  --cpu      pin to this CPU first\n"
		"  --json     also write the JSON report to FILE\n",
		argv0, MAX_ROUNDS, IMB_MAX_BURST_SIZE);
}

struct options {
	double seconds;
	uint32_t sizes[MAX_SIZES];
	unsigned nsizes;
	unsigned burst;
	unsigned rounds;
	int cpu;
	const char *json;
};

static int size_tok(const char *tok, void *ctx)
{
	struct options *o = ctx;
	long v = strcmp(tok, "imix") == 0 ? IMIX : strtol(tok, NULL, 10);

	if (o->nsizes == MAX_SIZES || v < 0 || v > BUF_SIZE - 64 ||
	    (v == 0 && strcmp(tok, "imix") != 0))
		return -EINVAL;
	o->sizes[o->nsizes++] = (uint32_t)v;
	return 0;
}

static int parse_sizes(const char *arg, struct options *o)
{
	o->nsizes = 0;
	return bench_csv(arg, size_tok, o);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "sizes", required_argument, NULL, 'z' },
		{ "burst", required_argument, NULL, 'b' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .seconds = 0.1, .burst = 32, .rounds = 5, .cpu = -1 };
	parse_sizes("64,512,1420,imix", o);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->seconds = strtod(optarg, NULL);
			if (o->seconds <= 0 || o->seconds > 60)
				return -EINVAL;
			break;
		case 'z':
			if (parse_sizes(optarg, o) != 0)
				return -EINVAL;
			break;
		case 'b':
			o->burst = (unsigned)strtoul(optarg, NULL, 10);
			if (o->burst < 1 || o->burst > IMB_MAX_BURST_SIZE ||
			    POOL % o->burst != 0)
				return -EINVAL;
			break;
		case 'r':
			o->rounds = (unsigned)strtoul(optarg, NULL, 10);
			if (o->rounds < 1 || o->rounds > MAX_ROUNDS)
				return -EINVAL;
			break;
		case 'c':
			o->cpu = atoi(optarg);
			break;
		case 'j':
			o->json = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

static int bench_init(struct bench *b, unsigned burst)
{
	int rc = ipop_aead_mgr_create(&b->mgr);

	if (rc != 0)
		return rc;
	b->imb = ipop_aead_mgr_imb(b->mgr);
	b->burst = burst;
	for (unsigned i = 0; i < POOL; i++) {
		b->buf[i] = aligned_alloc(64, BUF_SIZE);
		if (b->buf[i] == NULL)
			return -ENOMEM;
		for (unsigned j = 0; j < BUF_SIZE; j++)
			b->buf[i][j] = (uint8_t)(i * 31 + j);
		memset(b->aad[i], (int)i, 16);
	}
	return 0;
}

static void bench_free(struct bench *b)
{
	for (unsigned i = 0; i < POOL; i++)
		free(b->buf[i]);
	ipop_aead_key_wipe(&b->key);
	ipop_aead_mgr_free(b->mgr);
}

static json_object *result_json(const struct method *m, const char *size,
				const struct result *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "cipher", json_object_new_string(ipop_cipher_name(m->cipher)));
	json_object_object_add(o, "size", json_object_new_string(size));
	json_object_object_add(o, "api", json_object_new_string(m->api));
	json_object_object_add(o, "op", json_object_new_string(m->op));
	json_object_object_add(o, "mpps", json_object_new_double(r->mpps));
	json_object_object_add(o, "gbit_s", json_object_new_double(r->gbps));
	json_object_object_add(o, "ns_per_op", json_object_new_double(r->ns_per_op));
	json_object_object_add(o, "cycles_per_op", json_object_new_double(r->cycles_per_op));
	json_object_object_add(o, "mpps_min", json_object_new_double(r->mpps_min));
	json_object_object_add(o, "mpps_median", json_object_new_double(r->mpps_median));
	json_object_object_add(o, "ops", json_object_new_int64((int64_t)r->ops));
	json_object_object_add(o, "errors", json_object_new_int64((int64_t)r->errors));
	return o;
}

/* Ratios for one cipher and size: wrapper over the raw call it makes, and
 * wrapper seal over the fastest raw encryption API. */
static json_object *ratio_json(int cipher, const char *size,
			       const struct result *res)
{
	json_object *o = json_object_new_object();
	double raw_seal = 0, raw_open = 0, best = 0, w_seal = 0, w_open = 0;
	const char *best_api = "";

	for (unsigned i = 0; i < NMETHODS; i++) {
		const struct method *m = &methods[i];
		int seal = strcmp(m->op, "seal") == 0;

		if (m->cipher != cipher)
			continue;
		if (m->raw_enc && res[i].mpps > best) {
			best = res[i].mpps;
			best_api = m->api;
		}
		if (m->wrapper_ref && seal)
			raw_seal = res[i].mpps;
		if (m->wrapper_ref && !seal)
			raw_open = res[i].mpps;
		if (strcmp(m->api, "ipop") == 0 && seal)
			w_seal = res[i].mpps;
		if (strcmp(m->api, "ipop") == 0 && !seal)
			w_open = res[i].mpps;
	}
	json_object_object_add(o, "cipher", json_object_new_string(ipop_cipher_name(cipher)));
	json_object_object_add(o, "size", json_object_new_string(size));
	json_object_object_add(o, "seal_wrapper_over_same_api",
			       json_object_new_double(w_seal / raw_seal));
	json_object_object_add(o, "open_wrapper_over_same_api",
			       json_object_new_double(w_open / raw_open));
	json_object_object_add(o, "fastest_raw_seal_api", json_object_new_string(best_api));
	json_object_object_add(o, "seal_wrapper_over_fastest_raw",
			       json_object_new_double(w_seal / best));
	return o;
}

static json_object *header_json(const struct bench *b, const struct options *o)
{
	json_object *h = bench_header_json("ipop-bench-aead", ipop_aead_mgr_arch(b->mgr));

	json_object_object_add(h, "burst", json_object_new_int((int)o->burst));
	json_object_object_add(h, "seconds_per_case", json_object_new_double(o->seconds));
	json_object_object_add(h, "rounds", json_object_new_int((int)o->rounds));
	json_object_object_add(h, "statistic", json_object_new_string(
		"fastest round by Mpps (mpps_median, mpps_min: the others); rounds "
		"interleave all APIs of a cipher and size"));
	json_object_object_add(h, "bytes_counted", json_object_new_string(
		"plaintext bytes per packet; AAD 16 B and tag 16 B not counted"));
	json_object_object_add(h, "imix", bench_imix_json(IMIX_LARGE));
	return h;
}

static int key_for(struct bench *b, int cipher)
{
	uint8_t raw[IPOP_KEY_LEN];

	for (unsigned i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(0xa5 ^ i);
	return ipop_aead_key_init(b->mgr, &b->key, b->key_store, sizeof(b->key_store), cipher,
				  raw);
}


/* All methods of one cipher and size, round-robin so that drifts of the VM
 * hit raw and wrapper alike. */
static void run_case(struct bench *b, const struct options *o, int cipher,
		     struct result *res)
{
	static struct result samples[NMETHODS][MAX_ROUNDS];

	key_for(b, cipher);
	for (unsigned r = 0; r < o->rounds; r++)
		for (unsigned i = 0; i < NMETHODS; i++)
			if (methods[i].cipher == cipher)
				samples[i][r] = measure(b, &methods[i], o->seconds);
	for (unsigned i = 0; i < NMETHODS; i++)
		if (methods[i].cipher == cipher)
			bench_best_of(&res[i], samples[i], o->rounds, sizeof(res[i]),
				      BENCH_FIELDS(struct result));
}

static void run_all(struct bench *b, const struct options *o, json_object *root)
{
	static const int ciphers[2] = { IPOP_CIPHER_AES256GCM,
					IPOP_CIPHER_CHACHA20POLY1305 };
	json_object *results = json_object_new_array();
	json_object *ratios = json_object_new_array();
	struct result res[NMETHODS];

	for (unsigned s = 0; s < o->nsizes; s++) {
		char size[16];

		bench_size_label(o->sizes[s], size, sizeof(size));
		setup_sizes(b, o->sizes[s]);
		for (int c = 0; c < 2; c++) {
			run_case(b, o, ciphers[c], res);
			for (unsigned i = 0; i < NMETHODS; i++) {
				if (methods[i].cipher != ciphers[c])
					continue;
				json_object_array_add(results,
						      result_json(&methods[i], size, &res[i]));
				fprintf(stderr, "%-18s %5s %-6s %-4s %7.2f Mpps (min %.2f)"
					" %7.2f Gbit/s %7.1f cyc/op%s\n",
					ipop_cipher_name(ciphers[c]), size, methods[i].api,
					methods[i].op, res[i].mpps, res[i].mpps_min,
					res[i].gbps, res[i].cycles_per_op,
					res[i].errors ? " ERRORS" : "");
			}
			json_object_array_add(ratios, ratio_json(ciphers[c], size, res));
		}
	}
	json_object_object_add(root, "results", results);
	json_object_object_add(root, "ratios", ratios);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		perror("sched_setaffinity");
}

int main(int argc, char **argv)
{
	static struct bench b;
	struct options o;
	json_object *root;
	const char *text;
	int rc;

	if (parse_args(argc, argv, &o) != 0) {
		usage(argv[0]);
		return 2;
	}
	if (o.cpu >= 0)
		pin(o.cpu);
	rc = bench_init(&b, o.burst);
	if (rc != 0) {
		fprintf(stderr, "init: %s\n", strerror(-rc));
		return 1;
	}
	root = header_json(&b, &o);
	run_all(&b, &o, root);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	printf("%s\n", text);
	if (o.json != NULL && json_object_to_file_ext(o.json, root,
						      JSON_C_TO_STRING_PRETTY) != 0) {
		fprintf(stderr, "cannot write %s\n", o.json);
		rc = 1;
	}
	json_object_put(root);
	bench_free(&b);
	return rc;
}

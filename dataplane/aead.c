/* aead.c - data-path AEAD over Intel IPsec-MB: per-lcore manager, key
 * expansion, single-packet and burst seal/open.
 *
 * Thread: fast path for seal/open (per-lcore manager); start-up or control
 * thread for manager creation and key init/wipe.
 *
 * API choice per cipher (measured with ipop-bench-aead, see docs/crypto.md):
 * AES-256-GCM is fastest through the synchronous direct API, one packet at a
 * time, because its VAES code already works on many blocks of one packet at
 * once. ChaCha20-Poly1305 gains from the multi-buffer scheduler, which on
 * AVX-512 runs several packets side by side in SIMD lanes (on AVX2 all three
 * APIs cost the same), so its ops are gathered and handed to the burst API in
 * chunks. Within one burst GCM ops are done as they
 * come and ChaCha ops at the end of each chunk; ops are independent, so the
 * order does not matter.
 */
#include "dataplane/aead.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <x86intrin.h>

struct ipop_aead_mgr {
	IMB_MGR *imb;
	IMB_ARCH arch;
	uint32_t gcm_key_size;     /* ipop_aead_key_size(GCM) for this arch */
	/* Scratch that must outlive a job until the chunk completes. */
	uint8_t nonce[IPOP_AEAD_CHUNK][16] __attribute__((aligned(16)));
	uint8_t tag[IPOP_AEAD_CHUNK][IPOP_TAG_LEN] __attribute__((aligned(16)));
	struct ipop_aead_op *pending[IPOP_AEAD_CHUNK];
	IMB_JOB *jobs[IPOP_AEAD_CHUNK];
	struct gcm_context_data gcm_ctx;
} __attribute__((aligned(64)));

/* Constant time: the result depends on all 16 bytes with no early exit. */
static int tag_differs(const uint8_t *a, const uint8_t *b)
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) != 0;
}

/* Storage of an AES-256-GCM key for managers of arch: see aead.h. Only the
 * code paths this library series was verified on (test_aead.c's canary test)
 * get a compact size; AVX-512 keeps the whole struct (its VAES path uses 48
 * powers of H, and a CPU without VAES, seldom seen, is not worth a separate
 * size), and so does the no-AES-NI path, which this host cannot test. */
static uint32_t gcm_key_size(IMB_ARCH arch)
{
	if ((imb_get_version() >> 8) != (IPOP_AEAD_COMPACT_VERSION >> 8))
		return IPOP_AEAD_KEY_MAX;
	switch (arch) {
	case IMB_ARCH_SSE:
	case IMB_ARCH_AVX:
		return IPOP_AEAD_KEY_SIZE_GCM_SSE;
	case IMB_ARCH_AVX2:
		return IPOP_AEAD_KEY_SIZE_GCM_AVX2;
	default:
		return IPOP_AEAD_KEY_MAX;
	}
}

/* The code paths a test may ask for by name (ipop_aead_mgr_create_arch). */
static const struct code_path {
	const char *name;
	uint64_t need;                 /* IMB_CPUFLAGS_* the path requires */
	void (*init)(IMB_MGR *);
	IMB_ARCH arch;
} code_paths[] = {
	{ "sse", IMB_CPUFLAGS_SSE, init_mb_mgr_sse, IMB_ARCH_SSE },
	{ "avx", IMB_CPUFLAGS_AVX, init_mb_mgr_avx, IMB_ARCH_AVX },
	{ "avx2", IMB_CPUFLAGS_AVX2, init_mb_mgr_avx2, IMB_ARCH_AVX2 },
	{ "avx512", IMB_CPUFLAGS_AVX512, init_mb_mgr_avx512, IMB_ARCH_AVX512 },
};

static const struct code_path *code_path_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(code_paths) / sizeof(code_paths[0]); i++)
		if (strcmp(name, code_paths[i].name) == 0)
			return &code_paths[i];
	return NULL;
}

static int cpu_runs(const struct code_path *cp)
{
	return (imb_get_feature_flags() & cp->need) == cp->need;
}

int ipop_aead_path_known(const char *name)
{
	return strcmp(name, "auto") == 0 || strcmp(name, "compact") == 0 ||
	       code_path_by_name(name) != NULL;
}

int ipop_aead_path_resolve(const char *want, const char **arch)
{
	/* Smallest AES-GCM keys first (gcm_key_size): avx2 384, avx and sse 512;
	 * avx is the faster of the last two. */
	static const char *const compact[] = { "avx2", "avx", "sse" };

	*arch = NULL;
	if (strcmp(want, "auto") == 0)
		return 0;
	if (strcmp(want, "compact") == 0) {
		for (size_t i = 0; i < sizeof(compact) / sizeof(compact[0]); i++) {
			if (cpu_runs(code_path_by_name(compact[i]))) {
				*arch = compact[i];
				return 0;
			}
		}
		return -ENOTSUP;
	}
	const struct code_path *cp = code_path_by_name(want);
	if (cp == NULL)
		return -EINVAL;
	if (!cpu_runs(cp))
		return -ENOTSUP;
	*arch = cp->name;
	return 0;
}

int ipop_aead_mgr_create_arch(struct ipop_aead_mgr **out, const char *arch)
{
	struct ipop_aead_mgr *m;
	void *p;

	*out = NULL;
	/* Header macros index IMB_MGR's function table: an older library would
	 * have a different table. */
	if (imb_get_version() < IMB_VERSION_NUM)
		return -ENOTSUP;
	const struct code_path *cp = NULL;
	if (arch != NULL) {
		if ((cp = code_path_by_name(arch)) == NULL)
			return -EINVAL;
		/* IPsec-MB 1.3's init_mb_mgr_<arch> does not check the CPU: the
		 * avx512 one crashes on a CPU without AVX-512. */
		if (!cpu_runs(cp))
			return -ENOTSUP;
	}
	if (posix_memalign(&p, 64, sizeof(*m)) != 0)
		return -ENOMEM;
	m = p;
	memset(m, 0, sizeof(*m));
	m->imb = alloc_mb_mgr(0);
	if (m->imb == NULL) {
		free(m);
		return -ENOMEM;
	}
	if (cp == NULL) {
		init_mb_mgr_auto(m->imb, &m->arch);
	} else {
		cp->init(m->imb);
		m->arch = cp->arch;
	}
	if (m->arch == IMB_ARCH_NONE || imb_get_errno(m->imb) != 0) {
		free_mb_mgr(m->imb);
		free(m);
		return -ENOTSUP;
	}
	m->gcm_key_size = gcm_key_size(m->arch);
	*out = m;
	return 0;
}

int ipop_aead_mgr_create(struct ipop_aead_mgr **out)
{
	return ipop_aead_mgr_create_arch(out, NULL);
}

void ipop_aead_mgr_free(struct ipop_aead_mgr *mgr)
{
	if (mgr == NULL)
		return;
	free_mb_mgr(mgr->imb);
	explicit_bzero(mgr, sizeof(*mgr));
	free(mgr);
}

const char *ipop_aead_mgr_arch(const struct ipop_aead_mgr *mgr)
{
	switch (mgr->arch) {
	case IMB_ARCH_NOAESNI:
		return "noaesni";
	case IMB_ARCH_SSE:
		return "sse";
	case IMB_ARCH_AVX:
		return "avx";
	case IMB_ARCH_AVX2:
		return "avx2";
	case IMB_ARCH_AVX512:
		return "avx512";
	default:
		return "unknown";
	}
}

IMB_MGR *ipop_aead_mgr_imb(struct ipop_aead_mgr *mgr)
{
	return mgr->imb;
}

size_t ipop_aead_key_size(const struct ipop_aead_mgr *mgr, int cipher)
{
	switch (cipher) {
	case IPOP_CIPHER_AES256GCM:
		return mgr->gcm_key_size;
	case IPOP_CIPHER_CHACHA20POLY1305:
		return IPOP_AEAD_KEY_SIZE_CHACHA;
	default:
		return 0;
	}
}

size_t ipop_aead_key_size_max(const struct ipop_aead_mgr *mgr)
{
	return mgr->gcm_key_size > IPOP_AEAD_KEY_SIZE_CHACHA ? mgr->gcm_key_size :
							       IPOP_AEAD_KEY_SIZE_CHACHA;
}

/* The GCM expansion (H powers) has an arch-specific layout and size: a key must
 * be used with managers of the same arch. init_mb_mgr_auto picks the same arch
 * for every manager of a process, so any manager may expand keys for any
 * lcore. */
int ipop_aead_key_init(struct ipop_aead_mgr *mgr, struct ipop_aead_key *key,
		       void *store, size_t store_len, int cipher,
		       const uint8_t raw[IPOP_KEY_LEN])
{
	size_t need = ipop_aead_key_size(mgr, cipher);

	explicit_bzero(key, sizeof(*key));
	if (store == NULL || ((uintptr_t)store & (IPOP_AEAD_KEY_ALIGN - 1)) != 0)
		return -EINVAL;
	explicit_bzero(store, store_len);
	if (need == 0 || store_len < need)
		return -EINVAL;
	switch (cipher) {
	case IPOP_CIPHER_AES256GCM:
		IMB_AES256_GCM_PRE(mgr->imb, raw, (struct gcm_key_data *)store);
		break;
	case IPOP_CIPHER_CHACHA20POLY1305:
		memcpy(store, raw, IPOP_KEY_LEN);
		break;
	}
	key->data = store;
	key->size = (uint32_t)need;
	key->cipher = cipher;
	return 0;
}

void ipop_aead_key_wipe(struct ipop_aead_key *key)
{
	if (key->data != NULL)
		explicit_bzero(key->data, key->size);
	explicit_bzero(key, sizeof(*key));
}

/* The nonce of ipop_wire_nonce written as one 16-byte store (bytes 12..15 are
 * padding). IPsec-MB loads the IV right after we write it; a load that spans
 * several smaller stores cannot be forwarded from the store buffer and stalls
 * the core for ~15 cycles per packet, 10 % of a 64-byte GCM seal. */
static void nonce16(uint8_t out[16], uint64_t counter)
{
	uint64_t be = rte_cpu_to_be_64(counter);

	_mm_storeu_si128((__m128i *)out, _mm_set_epi64x((long long)(be >> 32),
							(long long)(be << 32)));
}

/* ---- AES-256-GCM: direct API ---- */

/* The key's storage holds the leading part of a struct gcm_key_data: all the
 * library touches on this manager's code path (see ipop_aead_key_size). */
static inline const struct gcm_key_data *gcm_key(const struct ipop_aead_key *key)
{
	return (const struct gcm_key_data *)(const void *)key->data;
}

/* in == buf: in place. One call either way: the single-call VAES code reads
 * in and writes buf block by block, so out of place costs what in place does. */
static void gcm_seal(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		     const uint8_t *nonce, const uint8_t *aad, uint32_t aad_len,
		     const uint8_t *in, uint8_t *buf, uint32_t len, uint8_t *tag)
{
	IMB_AES256_GCM_ENC(mgr->imb, gcm_key(key), &mgr->gcm_ctx, buf, in, len,
			   nonce, aad, aad_len, tag, IPOP_TAG_LEN);
}

static int gcm_open(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		    const uint8_t *nonce, const uint8_t *aad, uint32_t aad_len,
		    const uint8_t *in, uint8_t *buf, uint32_t len, const uint8_t *tag)
{
	uint8_t calc[IPOP_TAG_LEN];

	IMB_AES256_GCM_DEC(mgr->imb, gcm_key(key), &mgr->gcm_ctx, buf, in, len,
			   nonce, aad, aad_len, calc, IPOP_TAG_LEN);
	return tag_differs(calc, tag) ? -EBADMSG : 0;
}

/* ---- ChaCha20-Poly1305: job and burst API ---- */

/* tag_out receives the computed tag in both directions: for open it is
 * scratch that is compared with the received tag afterwards. */
static void chacha_fill(IMB_JOB *job, const struct ipop_aead_key *key,
			const uint8_t *nonce, const uint8_t *aad, uint32_t aad_len,
			const uint8_t *in, uint8_t *buf, uint32_t len, uint8_t *tag_out,
			IMB_CIPHER_DIRECTION dir)
{
	job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
	job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
	job->cipher_direction = dir;
	job->chain_order = dir == IMB_DIR_ENCRYPT ? IMB_ORDER_CIPHER_HASH :
						    IMB_ORDER_HASH_CIPHER;
	job->enc_keys = key->data;
	job->dec_keys = key->data;
	job->key_len_in_bytes = IMB_KEY_256_BYTES;
	job->src = in;
	job->dst = buf;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = len;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = len;
	job->iv = nonce;
	job->iv_len_in_bytes = 12;
	job->u.CHACHA20_POLY1305.aad = aad;
	job->u.CHACHA20_POLY1305.aad_len_in_bytes = aad_len;
	job->auth_tag_output = tag_out;
	job->auth_tag_output_len_in_bytes = IPOP_TAG_LEN;
}

/* One job through the job API; the manager's queue is empty before and after. */
static int chacha_one(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		      const uint8_t *nonce, const uint8_t *aad, uint32_t aad_len,
		      uint8_t *buf, uint32_t len, uint8_t *tag_out,
		      IMB_CIPHER_DIRECTION dir)
{
	IMB_JOB *job = IMB_GET_NEXT_JOB(mgr->imb);

	chacha_fill(job, key, nonce, aad, aad_len, buf, buf, len, tag_out, dir);
	job = IMB_SUBMIT_JOB(mgr->imb);
	if (job == NULL)
		job = IMB_FLUSH_JOB(mgr->imb);
	if (job == NULL || job->status != IMB_STATUS_COMPLETED)
		return -EIO;
	return 0;
}

static int chacha_seal(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		       const uint8_t *nonce, const uint8_t *aad, uint32_t aad_len,
		       uint8_t *buf, uint32_t len, uint8_t *tag)
{
	return chacha_one(mgr, key, nonce, aad, aad_len, buf, len, tag,
			  IMB_DIR_ENCRYPT);
}

static int chacha_open(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		       const uint8_t *nonce, const uint8_t *aad, uint32_t aad_len,
		       uint8_t *buf, uint32_t len, const uint8_t *tag)
{
	uint8_t calc[IPOP_TAG_LEN];
	int rc;

	rc = chacha_one(mgr, key, nonce, aad, aad_len, buf, len, calc,
			IMB_DIR_DECRYPT);
	if (rc != 0)
		return rc;
	return tag_differs(calc, tag) ? -EBADMSG : 0;
}

/* ---- single packet ---- */

int ipop_aead_seal_raw(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		       const uint8_t nonce[12], const uint8_t *aad, uint32_t aad_len,
		       uint8_t *buf, uint32_t len, uint8_t tag[IPOP_TAG_LEN])
{
	switch (key->cipher) {
	case IPOP_CIPHER_AES256GCM:
		gcm_seal(mgr, key, nonce, aad, aad_len, buf, buf, len, tag);
		return 0;
	case IPOP_CIPHER_CHACHA20POLY1305:
		return chacha_seal(mgr, key, nonce, aad, aad_len, buf, len, tag);
	default:
		return -EINVAL;
	}
}

int ipop_aead_open_raw(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		       const uint8_t nonce[12], const uint8_t *aad, uint32_t aad_len,
		       uint8_t *buf, uint32_t len, const uint8_t tag[IPOP_TAG_LEN])
{
	switch (key->cipher) {
	case IPOP_CIPHER_AES256GCM:
		return gcm_open(mgr, key, nonce, aad, aad_len, buf, buf, len, tag);
	case IPOP_CIPHER_CHACHA20POLY1305:
		return chacha_open(mgr, key, nonce, aad, aad_len, buf, len, tag);
	default:
		return -EINVAL;
	}
}

int ipop_aead_seal(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		   uint64_t counter, const uint8_t aad[IPOP_DATA_HDR_LEN],
		   uint8_t *buf, uint32_t len, uint8_t tag[IPOP_TAG_LEN])
{
	uint8_t nonce[16] __attribute__((aligned(16)));

	nonce16(nonce, counter);
	return ipop_aead_seal_raw(mgr, key, nonce, aad, IPOP_DATA_HDR_LEN, buf, len,
				  tag);
}

int ipop_aead_open(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		   uint64_t counter, const uint8_t aad[IPOP_DATA_HDR_LEN],
		   uint8_t *buf, uint32_t len, const uint8_t tag[IPOP_TAG_LEN])
{
	uint8_t nonce[16] __attribute__((aligned(16)));

	nonce16(nonce, counter);
	return ipop_aead_open_raw(mgr, key, nonce, aad, IPOP_DATA_HDR_LEN, buf, len,
				  tag);
}

/* ---- bursts ---- */

static unsigned chunk_fail(struct ipop_aead_mgr *mgr, unsigned from, unsigned n)
{
	for (unsigned i = from; i < n; i++)
		mgr->pending[i]->status = -EIO;
	return n - from;
}

/* A job came back: set its op's status and return 1 if it failed. For open,
 * user_data2 holds the scratch tag the job computed. */
static unsigned chunk_done(const IMB_JOB *job, IMB_CIPHER_DIRECTION dir)
{
	struct ipop_aead_op *op = job->user_data;

	if (job->status != IMB_STATUS_COMPLETED)
		op->status = -EIO;
	else if (dir == IMB_DIR_DECRYPT)
		op->status = tag_differs(job->user_data2, op->tag) ? -EBADMSG : 0;
	else
		op->status = 0;
	return op->status != 0;
}

/* Run the n pending ChaCha ops through the burst API and drain the manager.
 * Returns how many of them failed. */
static unsigned chunk_run(struct ipop_aead_mgr *mgr, unsigned n,
			  IMB_CIPHER_DIRECTION dir)
{
	IMB_JOB **jobs = mgr->jobs;
	unsigned got, done, left, failed = 0;

	/* The queue is empty on entry and holds IMB_MAX_JOBS > IPOP_AEAD_CHUNK
	 * jobs, so a short answer means the library misbehaves. */
	got = IMB_GET_NEXT_BURST(mgr->imb, n, jobs);
	if (got != n)
		return chunk_fail(mgr, 0, n);
	for (unsigned i = 0; i < n; i++) {
		struct ipop_aead_op *op = mgr->pending[i];
		uint8_t *tag_out = dir == IMB_DIR_ENCRYPT ? op->tag : mgr->tag[i];

		nonce16(mgr->nonce[i], op->counter);
		chacha_fill(jobs[i], op->key, mgr->nonce[i], op->aad, IPOP_DATA_HDR_LEN,
			    op->src != NULL ? op->src : op->buf, op->buf, op->len, tag_out, dir);
		jobs[i]->user_data = op;
		jobs[i]->user_data2 = mgr->tag[i];
	}
	done = IMB_SUBMIT_BURST(mgr->imb, n, jobs);
	if (done == 0 && imb_get_errno(mgr->imb) != 0)
		return chunk_fail(mgr, 0, n);
	for (unsigned i = 0; i < done; i++)
		failed += chunk_done(jobs[i], dir);
	left = n - done;
	while (left > 0) {
		done = IMB_FLUSH_BURST(mgr->imb, left, jobs);
		if (done == 0)
			return failed + chunk_fail(mgr, n - left, n);
		for (unsigned i = 0; i < done; i++)
			failed += chunk_done(jobs[i], dir);
		left -= done;
	}
	return failed;
}

/* GCM ops are done on the spot; ChaCha ops wait for a full chunk or the end. */
unsigned ipop_aead_seal_burst(struct ipop_aead_mgr *mgr, struct ipop_aead_op *ops,
			      unsigned n)
{
	unsigned npend = 0, failed = 0;
	uint8_t nonce[16] __attribute__((aligned(16)));

	for (unsigned i = 0; i < n; i++) {
		struct ipop_aead_op *op = &ops[i];
		int cipher = op->key->cipher;

		if (cipher == IPOP_CIPHER_AES256GCM) {
			nonce16(nonce, op->counter);
			gcm_seal(mgr, op->key, nonce, op->aad, IPOP_DATA_HDR_LEN,
				 op->src != NULL ? op->src : op->buf, op->buf, op->len, op->tag);
			op->status = 0;
		} else if (cipher == IPOP_CIPHER_CHACHA20POLY1305) {
			mgr->pending[npend++] = op;
			if (npend == IPOP_AEAD_CHUNK) {
				failed += chunk_run(mgr, npend, IMB_DIR_ENCRYPT);
				npend = 0;
			}
		} else {
			op->status = -EINVAL;
			failed++;
		}
	}
	if (npend > 0)
		failed += chunk_run(mgr, npend, IMB_DIR_ENCRYPT);
	return failed;
}

unsigned ipop_aead_open_burst(struct ipop_aead_mgr *mgr, struct ipop_aead_op *ops,
			      unsigned n)
{
	unsigned npend = 0, failed = 0;
	uint8_t nonce[16] __attribute__((aligned(16)));

	for (unsigned i = 0; i < n; i++) {
		struct ipop_aead_op *op = &ops[i];
		int cipher = op->key->cipher;

		if (cipher == IPOP_CIPHER_AES256GCM) {
			nonce16(nonce, op->counter);
			op->status = gcm_open(mgr, op->key, nonce, op->aad, IPOP_DATA_HDR_LEN,
					      op->src != NULL ? op->src : op->buf, op->buf,
					      op->len, op->tag);
			failed += op->status != 0;
		} else if (cipher == IPOP_CIPHER_CHACHA20POLY1305) {
			mgr->pending[npend++] = op;
			if (npend == IPOP_AEAD_CHUNK) {
				failed += chunk_run(mgr, npend, IMB_DIR_DECRYPT);
				npend = 0;
			}
		} else {
			op->status = -EINVAL;
			failed++;
		}
	}
	if (npend > 0)
		failed += chunk_run(mgr, npend, IMB_DIR_DECRYPT);
	return failed;
}

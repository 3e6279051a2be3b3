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

int ipop_aead_mgr_create(struct ipop_aead_mgr **out)
{
	struct ipop_aead_mgr *m;
	void *p;

	*out = NULL;
	/* Header macros index IMB_MGR's function table: an older library would
	 * have a different table. */
	if (imb_get_version() < IMB_VERSION_NUM)
		return -ENOTSUP;
	if (posix_memalign(&p, 64, sizeof(*m)) != 0)
		return -ENOMEM;
	m = p;
	memset(m, 0, sizeof(*m));
	m->imb = alloc_mb_mgr(0);
	if (m->imb == NULL) {
		free(m);
		return -ENOMEM;
	}
	init_mb_mgr_auto(m->imb, &m->arch);
	if (m->arch == IMB_ARCH_NONE || imb_get_errno(m->imb) != 0) {
		free_mb_mgr(m->imb);
		free(m);
		return -ENOTSUP;
	}
	*out = m;
	return 0;
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

/* The GCM expansion (H powers) has an arch-specific layout: a key must be used
 * with managers of the same arch. init_mb_mgr_auto picks the same arch for
 * every manager of a process, so any manager may expand keys for any lcore. */
int ipop_aead_key_init(struct ipop_aead_mgr *mgr, struct ipop_aead_key *key,
		       int cipher, const uint8_t raw[IPOP_KEY_LEN])
{
	ipop_aead_key_wipe(key);
	switch (cipher) {
	case IPOP_CIPHER_AES256GCM:
		IMB_AES256_GCM_PRE(mgr->imb, raw, &key->u.gcm);
		break;
	case IPOP_CIPHER_CHACHA20POLY1305:
		memcpy(key->u.chacha, raw, IPOP_KEY_LEN);
		break;
	default:
		return -EINVAL;
	}
	key->cipher = cipher;
	return 0;
}

void ipop_aead_key_wipe(struct ipop_aead_key *key)
{
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

static void gcm_seal(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		     const uint8_t *nonce, const uint8_t *aad, uint32_t aad_len,
		     uint8_t *buf, uint32_t len, uint8_t *tag)
{
	IMB_AES256_GCM_ENC(mgr->imb, &key->u.gcm, &mgr->gcm_ctx, buf, buf, len,
			   nonce, aad, aad_len, tag, IPOP_TAG_LEN);
}

static int gcm_open(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		    const uint8_t *nonce, const uint8_t *aad, uint32_t aad_len,
		    uint8_t *buf, uint32_t len, const uint8_t *tag)
{
	uint8_t calc[IPOP_TAG_LEN];

	IMB_AES256_GCM_DEC(mgr->imb, &key->u.gcm, &mgr->gcm_ctx, buf, buf, len,
			   nonce, aad, aad_len, calc, IPOP_TAG_LEN);
	return tag_differs(calc, tag) ? -EBADMSG : 0;
}

/* ---- ChaCha20-Poly1305: job and burst API ---- */

/* tag_out receives the computed tag in both directions: for open it is
 * scratch that is compared with the received tag afterwards. */
static void chacha_fill(IMB_JOB *job, const struct ipop_aead_key *key,
			const uint8_t *nonce, const uint8_t *aad, uint32_t aad_len,
			uint8_t *buf, uint32_t len, uint8_t *tag_out,
			IMB_CIPHER_DIRECTION dir)
{
	job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
	job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
	job->cipher_direction = dir;
	job->chain_order = dir == IMB_DIR_ENCRYPT ? IMB_ORDER_CIPHER_HASH :
						    IMB_ORDER_HASH_CIPHER;
	job->enc_keys = key->u.chacha;
	job->dec_keys = key->u.chacha;
	job->key_len_in_bytes = IMB_KEY_256_BYTES;
	job->src = buf;
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

	chacha_fill(job, key, nonce, aad, aad_len, buf, len, tag_out, dir);
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
		gcm_seal(mgr, key, nonce, aad, aad_len, buf, len, tag);
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
		return gcm_open(mgr, key, nonce, aad, aad_len, buf, len, tag);
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
		chacha_fill(jobs[i], op->key, mgr->nonce[i], op->aad,
			    IPOP_DATA_HDR_LEN, op->buf, op->len, tag_out, dir);
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
				 op->buf, op->len, op->tag);
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
			op->status = gcm_open(mgr, op->key, nonce, op->aad,
					      IPOP_DATA_HDR_LEN, op->buf, op->len,
					      op->tag);
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

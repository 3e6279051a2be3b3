/* aead.h - data-path AEAD (AES-256-GCM, ChaCha20-Poly1305) over Intel IPsec-MB.
 *
 * Thread: fast path (one struct ipop_aead_mgr per lcore; a manager is not
 * thread-safe). Creating a manager and initialising a key allocate or expand key
 * material and belong to start-up / the control thread; seal and open never
 * allocate, lock or make a system call.
 *
 * Every packet is protected as in docs/wire-format.md: the 16-byte data header
 * is the associated data, the 96-bit nonce is 4 zero bytes || the 8-byte
 * big-endian counter (ipop_wire_nonce), the tag is 16 bytes. Encryption and
 * decryption are in place, except a burst op with a source (src), which reads
 * from there and writes to buf. Which IPsec-MB API serves which cipher is chosen by
 * measurement (docs/crypto.md): AES-256-GCM goes through the direct API one
 * packet at a time, ChaCha20-Poly1305 through the multi-buffer burst API.
 */
#ifndef IPOP_DATAPLANE_AEAD_H
#define IPOP_DATAPLANE_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include <intel-ipsec-mb.h>

#include "dataplane/wire.h"

/* Most ChaCha20-Poly1305 jobs handed to IPsec-MB in one burst; bigger bursts
 * are cut into chunks of this size. */
#define IPOP_AEAD_CHUNK 64

struct ipop_aead_mgr;

/* Bytes of key material per cipher and IPsec-MB code path. IPsec-MB's struct
 * gcm_key_data (1008 bytes) is 240 bytes of AES round keys followed by a
 * union of precomputed powers of H whose size depends on the code path:
 * sse/avx 256 bytes (8 powers plus their Karatsuba halves), avx2 and avx512
 * without VAES 128 bytes (8 powers), VAES-avx512 768 bytes (48 powers). A
 * key keeps only the round keys and the part its manager's path uses, rounded
 * up to a cache line; tests/unit/test_aead.c proves with a canary that the
 * library neither writes nor reads beyond that. ChaCha20-Poly1305 keeps the raw
 * 32-byte key. Every size is a multiple of IPOP_AEAD_KEY_ALIGN. */
#define IPOP_AEAD_KEY_ALIGN 64
#define IPOP_AEAD_ROUNDUP(x) \
	(((x) + IPOP_AEAD_KEY_ALIGN - 1) / IPOP_AEAD_KEY_ALIGN * IPOP_AEAD_KEY_ALIGN)
#define IPOP_AEAD_GCM_ROUND_KEYS ((size_t)offsetof(struct gcm_key_data, ghash_keys))
#define IPOP_AEAD_GCM_HKEYS_SSE \
	sizeof(((struct gcm_key_data *)0)->ghash_keys.sse_avx)
#define IPOP_AEAD_GCM_HKEYS_AVX2 \
	sizeof(((struct gcm_key_data *)0)->ghash_keys.avx2_avx512)
#define IPOP_AEAD_KEY_SIZE_CHACHA   IPOP_AEAD_ROUNDUP(IPOP_KEY_LEN)
#define IPOP_AEAD_KEY_SIZE_GCM_AVX2 \
	IPOP_AEAD_ROUNDUP(IPOP_AEAD_GCM_ROUND_KEYS + IPOP_AEAD_GCM_HKEYS_AVX2)
#define IPOP_AEAD_KEY_SIZE_GCM_SSE \
	IPOP_AEAD_ROUNDUP(IPOP_AEAD_GCM_ROUND_KEYS + IPOP_AEAD_GCM_HKEYS_SSE)
/* Enough for any cipher on any code path (the whole struct gcm_key_data). */
#define IPOP_AEAD_KEY_MAX IPOP_AEAD_ROUNDUP(sizeof(struct gcm_key_data))
/* The compact GCM sizes are used only with the IPsec-MB release series they
 * were verified with (1.3.x); with any other library every GCM key gets
 * IPOP_AEAD_KEY_MAX bytes. */
#define IPOP_AEAD_COMPACT_VERSION 0x10300

_Static_assert(IPOP_AEAD_GCM_ROUND_KEYS == 240, "AES-256 round keys: 15 x 16 bytes");
_Static_assert(IPOP_AEAD_KEY_SIZE_GCM_AVX2 == 384 && IPOP_AEAD_KEY_SIZE_GCM_SSE == 512 &&
	       IPOP_AEAD_KEY_SIZE_CHACHA == 64 && IPOP_AEAD_KEY_MAX == 1024,
	       "key sizes documented in docs/crypto.md");

/* Handle of the expanded key of one direction of one session: what seal and
 * open read besides the key material. The material lives in storage the
 * caller supplies to ipop_aead_key_init() (the trailing area of a keypair, see
 * dataplane/tables.h, or struct ipop_aead_keybuf) and must stay there, unmoved,
 * while the key is in use. Copying a handle does not copy the material.
 * cipher == 0 marks a wiped or never initialised key: every operation with it
 * fails. */
struct ipop_aead_key {
	uint8_t *data;           /* key material, IPOP_AEAD_KEY_ALIGN-aligned */
	int cipher;              /* enum ipop_cipher, or 0 */
	uint32_t size;           /* bytes at data that belong to the key (wiped) */
};

/* A key with its own storage, large enough for any cipher on any code path:
 * for tools and tests that keep keys outside a keypair. */
struct ipop_aead_keybuf {
	struct ipop_aead_key key;
	uint8_t store[IPOP_AEAD_KEY_MAX] __attribute__((aligned(IPOP_AEAD_KEY_ALIGN)));
};

/* One packet of a burst. aad points at the IPOP_DATA_HDR_LEN header bytes.
 * seal writes the tag to tag; open reads the expected tag from tag. status is
 * set by the burst call: 0, -EBADMSG (open: authentication failed), -EINVAL
 * (key not initialised) or -EIO (IPsec-MB rejected the job).
 * src NULL: the op works in place on buf. Otherwise the input is read from
 * src[0..len) and the output written to buf[0..len), src left as it was: a
 * flood seals one plaintext into each copy's own buffer without copying it
 * first. src and buf must not overlap. */
struct ipop_aead_op {
	const struct ipop_aead_key *key;
	uint8_t *buf;
	const uint8_t *src;
	uint32_t len;
	const uint8_t *aad;
	uint64_t counter;
	uint8_t *tag;
	int status;
};

/* Allocate and initialise a manager with the best code path for this CPU
 * (init_mb_mgr_auto). Start-up only. Returns 0, -ENOMEM, or -ENOTSUP when the
 * installed library is older than the header built against or finds no code
 * path for this CPU. */
int ipop_aead_mgr_create(struct ipop_aead_mgr **out);
/* The same with a given code path: "sse", "avx", "avx2", "avx512", or NULL for
 * the automatic choice. -ENOTSUP if the CPU lacks what the path needs, -EINVAL
 * for an unknown name. Keys must only be used with managers of the same path:
 * the daemon resolves its configured path once (ipop_aead_path_resolve) and
 * creates every manager with the result. */
int ipop_aead_mgr_create_arch(struct ipop_aead_mgr **out, const char *arch);
/* What a configured code path (dpdk.aead_code_path) means on this CPU:
 * "auto" -> NULL (init_mb_mgr_auto: the fastest path, on AVX-512 CPUs with
 * 1 KiB AES-GCM keys); "compact" -> the path with the smallest AES-GCM keys the
 * CPU runs ("avx2" with 384-byte keys, else "avx", else "sse" with 512), for
 * gateways that count memory per tunnel; "sse", "avx", "avx2", "avx512" ->
 * themselves if the CPU has what they need. Returns 0 and sets *arch, -EINVAL
 * for an unknown name, -ENOTSUP if the CPU cannot run the path. */
int ipop_aead_path_resolve(const char *want, const char **arch);
/* 1 if name is a value dpdk.aead_code_path accepts (on any CPU), else 0. */
int ipop_aead_path_known(const char *name);
void ipop_aead_mgr_free(struct ipop_aead_mgr *mgr);
/* The architecture IPsec-MB chose ("sse", "avx", "avx2", "avx512", ...). */
const char *ipop_aead_mgr_arch(const struct ipop_aead_mgr *mgr);
/* The manager, for callers (the benchmark) that drive IPsec-MB directly. */
IMB_MGR *ipop_aead_mgr_imb(struct ipop_aead_mgr *mgr);

/* Bytes of storage a key of cipher needs with managers of mgr's code path (a
 * multiple of IPOP_AEAD_KEY_ALIGN, at most IPOP_AEAD_KEY_MAX), 0 for an
 * unknown cipher. ipop_aead_key_size_max(): the largest over all ciphers. */
size_t ipop_aead_key_size(const struct ipop_aead_mgr *mgr, int cipher);
size_t ipop_aead_key_size_max(const struct ipop_aead_mgr *mgr);

/* Expand raw into store (store_len bytes, IPOP_AEAD_KEY_ALIGN-aligned) and
 * point key at it; the whole store is cleared first and the key owns its first
 * ipop_aead_key_size(mgr, cipher) bytes. Returns 0 or -EINVAL for an unknown
 * cipher, a store that is too small or misaligned (key is then left wiped, the
 * store cleared). The handle's previous content is overwritten, not wiped:
 * wipe a key before re-initialising it on different storage. Control thread or
 * start-up. */
int ipop_aead_key_init(struct ipop_aead_mgr *mgr, struct ipop_aead_key *key,
		       void *store, size_t store_len, int cipher,
		       const uint8_t raw[IPOP_KEY_LEN]);
/* ipop_aead_key_init() on the keybuf's own storage. */
static inline int ipop_aead_keybuf_init(struct ipop_aead_mgr *mgr,
					struct ipop_aead_keybuf *kb, int cipher,
					const uint8_t raw[IPOP_KEY_LEN])
{
	return ipop_aead_key_init(mgr, &kb->key, kb->store, sizeof(kb->store), cipher,
				  raw);
}
/* Erase the key material (explicit_bzero over the key's whole storage: not
 * optimised away) and the handle, which marks the key unusable. A zeroed
 * handle may be wiped (nothing happens). */
void ipop_aead_key_wipe(struct ipop_aead_key *key);

/* Seal one packet in place: buf[0..len) becomes ciphertext and tag receives the
 * tag. Returns 0, or -EINVAL if key is not initialised (buf untouched). */
int ipop_aead_seal(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		   uint64_t counter, const uint8_t aad[IPOP_DATA_HDR_LEN],
		   uint8_t *buf, uint32_t len, uint8_t tag[IPOP_TAG_LEN]);
/* Open one packet in place. Returns 0 when the tag verifies (buf then holds the
 * plaintext), -EBADMSG when it does not, -EINVAL for an uninitialised key.
 * On any failure the content of buf is garbage (it has been decrypted with
 * an unauthenticated keystream) and the caller must drop the packet. */
int ipop_aead_open(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		   uint64_t counter, const uint8_t aad[IPOP_DATA_HDR_LEN],
		   uint8_t *buf, uint32_t len, const uint8_t tag[IPOP_TAG_LEN]);

/* Burst forms: every op gets its status; ops may mix keys and ciphers. The
 * output of each op equals that of the single-packet call. Return the number
 * of ops whose status is not 0. The failed-open rule above applies per op. */
unsigned ipop_aead_seal_burst(struct ipop_aead_mgr *mgr, struct ipop_aead_op *ops,
			      unsigned n);
unsigned ipop_aead_open_burst(struct ipop_aead_mgr *mgr, struct ipop_aead_op *ops,
			      unsigned n);

/* Raw forms with an explicit 12-byte nonce and any AAD length. The data path
 * does not use them: they exist so that published test vectors (whose nonces
 * and AAD do not follow the ipop layout) can check the same code. Same return
 * values as ipop_aead_seal / ipop_aead_open. */
int ipop_aead_seal_raw(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		       const uint8_t nonce[12], const uint8_t *aad, uint32_t aad_len,
		       uint8_t *buf, uint32_t len, uint8_t tag[IPOP_TAG_LEN]);
int ipop_aead_open_raw(struct ipop_aead_mgr *mgr, const struct ipop_aead_key *key,
		       const uint8_t nonce[12], const uint8_t *aad, uint32_t aad_len,
		       uint8_t *buf, uint32_t len, const uint8_t tag[IPOP_TAG_LEN]);

#endif

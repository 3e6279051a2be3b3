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
 * decryption are in place. Which IPsec-MB API serves which cipher is chosen by
 * measurement (docs/crypto.md): AES-256-GCM goes through the direct API one
 * packet at a time, ChaCha20-Poly1305 through the multi-buffer burst API.
 */
#ifndef IPOP_DATAPLANE_AEAD_H
#define IPOP_DATAPLANE_AEAD_H

#include <stdint.h>

#include <intel-ipsec-mb.h>

#include "dataplane/wire.h"

/* Most ChaCha20-Poly1305 jobs handed to IPsec-MB in one burst; bigger bursts
 * are cut into chunks of this size. */
#define IPOP_AEAD_CHUNK 64

struct ipop_aead_mgr;

/* Expanded key of one direction of one session. Cache-line aligned so that
 * keys in a table never share a line. cipher == 0 marks a wiped or never
 * initialised key: every operation with it fails. */
struct ipop_aead_key {
	union {
		struct gcm_key_data gcm;           /* AES-256-GCM: round keys + H powers */
		uint8_t chacha[IPOP_KEY_LEN];      /* ChaCha20-Poly1305: the raw key */
	} u;
	int cipher;                                /* enum ipop_cipher, or 0 */
} __attribute__((aligned(64)));

/* One packet of a burst. aad points at the IPOP_DATA_HDR_LEN header bytes.
 * seal writes the tag to tag; open reads the expected tag from tag. status is
 * set by the burst call: 0, -EBADMSG (open: authentication failed), -EINVAL
 * (key not initialised) or -EIO (IPsec-MB rejected the job). */
struct ipop_aead_op {
	const struct ipop_aead_key *key;
	uint8_t *buf;
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
void ipop_aead_mgr_free(struct ipop_aead_mgr *mgr);
/* The architecture IPsec-MB chose ("sse", "avx", "avx2", "avx512", ...). */
const char *ipop_aead_mgr_arch(const struct ipop_aead_mgr *mgr);
/* The manager, for callers (the benchmark) that drive IPsec-MB directly. */
IMB_MGR *ipop_aead_mgr_imb(struct ipop_aead_mgr *mgr);

/* Expand raw into key for cipher. Returns 0 or -EINVAL for an unknown cipher
 * (key is then left wiped). Control thread or start-up. */
int ipop_aead_key_init(struct ipop_aead_mgr *mgr, struct ipop_aead_key *key,
		       int cipher, const uint8_t raw[IPOP_KEY_LEN]);
/* Erase the key material (explicit_bzero: not optimised away) and mark the key
 * unusable. */
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

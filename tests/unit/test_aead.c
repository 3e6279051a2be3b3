/* test_aead.c - dataplane/aead: published test vectors (AES-256-GCM from the
 * McGrew-Viega GCM specification, test cases 13-16; ChaCha20-Poly1305 from
 * RFC 8439 section 2.8.2), agreement with libsodium (an independent
 * implementation, used by the test only) on the ipop nonce/AAD layout, round
 * trips, tampering, single vs burst, wrong keys, wiped keys. */
#include "tests/unit/check.h"
#include "dataplane/aead.h"
#include "dataplane/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MAXLEN 2000

static struct ipop_aead_mgr *mgr;
static const int ciphers[2] = { IPOP_CIPHER_AES256GCM, IPOP_CIPHER_CHACHA20POLY1305 };

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

static size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2)
		sscanf(hex, "%2hhx", &out[n++]);
	return n;
}

/* How check_vector() gets its key and manager: by default a keybuf (storage
 * for any arch) expanded by the process's manager; test_canary() substitutes
 * compact storage surrounded by a canary and managers of each code path. */
static const struct ipop_aead_key *keybuf_key(struct ipop_aead_mgr *m, int cipher,
					      const uint8_t raw[32])
{
	static struct ipop_aead_keybuf kb;

	CHECK(ipop_aead_keybuf_init(m, &kb, cipher, raw) == 0);
	return &kb.key;
}

static const struct ipop_aead_key *(*vec_key)(struct ipop_aead_mgr *m, int cipher,
					      const uint8_t raw[32]) = keybuf_key;
static struct ipop_aead_mgr *vec_mgr;

/* One published vector through seal_raw and open_raw, plus a flipped tag. */
static void check_vector(const char *name, int cipher, const char *key_hex,
			 const char *nonce_hex, const char *aad_hex,
			 const char *pt_hex, const char *ct_hex, const char *tag_hex)
{
	struct ipop_aead_mgr *mgr = vec_mgr;
	const struct ipop_aead_key *key;
	uint8_t raw[32], nonce[12], aad[64], pt[256], ct[256], tag[16];
	uint8_t buf[256], out_tag[16];
	size_t aad_len, pt_len, ct_len;

	CHECK(unhex(raw, key_hex) == 32);
	CHECK(unhex(nonce, nonce_hex) == 12);
	aad_len = unhex(aad, aad_hex);
	pt_len = unhex(pt, pt_hex);
	ct_len = unhex(ct, ct_hex);
	CHECK(unhex(tag, tag_hex) == 16);
	CHECK(pt_len == ct_len);
	key = vec_key(mgr, cipher, raw);

	memcpy(buf, pt, pt_len);
	CHECK(ipop_aead_seal_raw(mgr, key, nonce, aad, aad_len, buf, pt_len,
				 out_tag) == 0);
	CHECK(memcmp(buf, ct, ct_len) == 0);
	CHECK(memcmp(out_tag, tag, 16) == 0);

	memcpy(buf, ct, ct_len);
	CHECK(ipop_aead_open_raw(mgr, key, nonce, aad, aad_len, buf, ct_len, tag) == 0);
	CHECK(memcmp(buf, pt, pt_len) == 0);

	tag[15] ^= 0x80;
	memcpy(buf, ct, ct_len);
	CHECK(ipop_aead_open_raw(mgr, key, nonce, aad, aad_len, buf, ct_len, tag) ==
	      -EBADMSG);
	printf("vector %s (%s) ok\n", name, ipop_aead_mgr_arch(mgr));
}

static void test_vectors(void)
{
	static const char *k15 =
		"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
	static const char *p15 =
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
	static const char *c15 =
		"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";
	static const char *p16 =
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
	static const char *c16 =
		"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
	static const char *k_rfc =
		"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
	static const char *ct_rfc =
		"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
		"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
		"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
		"3ff4def08e4b7a9de576d26586cec64b6116";
	static const char *text = "Ladies and Gentlemen of the class of '99: If I "
		"could offer you only one tip for the future, sunscreen would be it.";
	char pt_rfc[2 * 114 + 1];

	check_vector("gcm-tc13", IPOP_CIPHER_AES256GCM,
		     "0000000000000000000000000000000000000000000000000000000000000000",
		     "000000000000000000000000", "", "", "",
		     "530f8afbc74536b9a963b4f1c4cb738b");
	check_vector("gcm-tc14", IPOP_CIPHER_AES256GCM,
		     "0000000000000000000000000000000000000000000000000000000000000000",
		     "000000000000000000000000", "",
		     "00000000000000000000000000000000",
		     "cea7403d4d606b6e074ec5d3baf39d18",
		     "d0d1c8a799996bf0265b98b5d48ab919");
	check_vector("gcm-tc15", IPOP_CIPHER_AES256GCM, k15, "cafebabefacedbaddecaf888",
		     "", p15, c15, "b094dac5d93471bdec1a502270e3cc6c");
	check_vector("gcm-tc16", IPOP_CIPHER_AES256GCM, k15, "cafebabefacedbaddecaf888",
		     "feedfacedeadbeeffeedfacedeadbeefabaddad2", p16, c16,
		     "76fc6ece0f4e1768cddf8853bb2d551b");

	CHECK(strlen(text) == 114);
	for (size_t i = 0; i < 114; i++)
		snprintf(pt_rfc + 2 * i, 3, "%02x", (unsigned char)text[i]);
	check_vector("rfc8439-2.8.2", IPOP_CIPHER_CHACHA20POLY1305, k_rfc,
		     "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7", pt_rfc,
		     ct_rfc, "1ae10b594f09e26a7e902ecbd0600691");
}

/* libsodium's detached seal of the same packet, for comparison. */
static void sodium_seal(int cipher, const uint8_t raw[32], uint64_t counter,
			const uint8_t *aad, const uint8_t *pt, uint32_t len,
			uint8_t *ct, uint8_t tag[16])
{
	uint8_t nonce[12];
	unsigned long long tl;

	ipop_wire_nonce(nonce, counter);
	if (cipher == IPOP_CIPHER_AES256GCM)
		crypto_aead_aes256gcm_encrypt_detached(ct, tag, &tl, pt, len, aad,
						       IPOP_DATA_HDR_LEN, NULL, nonce,
						       raw);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(ct, tag, &tl, pt,
								   len, aad,
								   IPOP_DATA_HDR_LEN,
								   NULL, nonce, raw);
}

/* Every length 0..MAXLEN: seal matches libsodium, open restores the plaintext. */
static void test_roundtrip(void)
{
	static struct ipop_aead_keybuf kb;
	const struct ipop_aead_key *key = &kb.key;
	static uint8_t pt[MAXLEN], buf[MAXLEN], ref[MAXLEN];
	uint8_t raw[32], aad[16], tag[16], ref_tag[16];
	int have_gcm = crypto_aead_aes256gcm_is_available();

	for (int c = 0; c < 2; c++) {
		unsigned bad_ct = 0, bad_open = 0, bad_pt = 0;

		fill(raw, sizeof(raw));
		CHECK(ipop_aead_keybuf_init(mgr, &kb, ciphers[c], raw) == 0);
		for (uint32_t len = 0; len <= MAXLEN; len++) {
			uint64_t counter = rng();

			fill(pt, len);
			fill(aad, sizeof(aad));
			memcpy(buf, pt, len);
			CHECK(ipop_aead_seal(mgr, key, counter, aad, buf, len, tag) == 0);
			if (have_gcm || ciphers[c] != IPOP_CIPHER_AES256GCM) {
				sodium_seal(ciphers[c], raw, counter, aad, pt, len, ref,
					    ref_tag);
				bad_ct += memcmp(buf, ref, len) != 0 ||
					  memcmp(tag, ref_tag, 16) != 0;
			}
			bad_open += ipop_aead_open(mgr, key, counter, aad, buf, len,
						   tag) != 0;
			bad_pt += memcmp(buf, pt, len) != 0;
		}
		CHECK(bad_ct == 0);
		CHECK(bad_open == 0);
		CHECK(bad_pt == 0);
		printf("%s round trips 0..%d: %u mismatches vs libsodium%s\n",
		       ipop_cipher_name(ciphers[c]), MAXLEN, bad_ct,
		       have_gcm ? "" : " (libsodium GCM unavailable, not compared)");
	}
}

/* Reseal pt into buf/tag, then let the caller corrupt one thing. */
static void reseal(const struct ipop_aead_key *key, uint64_t counter,
		   const uint8_t *aad, const uint8_t *pt, uint8_t *buf, uint32_t len,
		   uint8_t *tag)
{
	memcpy(buf, pt, len);
	CHECK(ipop_aead_seal(mgr, key, counter, aad, buf, len, tag) == 0);
}

/* Flipping any single bit position class in any byte of ciphertext, AAD or tag,
 * or changing the counter or the key, must fail the open. */
static void test_tamper(void)
{
	static const uint32_t lens[] = { 0, 1, 15, 16, 17, 63, 64, 65, 257, 1500 };
	static struct ipop_aead_keybuf kb, okb;
	const struct ipop_aead_key *key = &kb.key, *other = &okb.key;
	static uint8_t pt[MAXLEN], buf[MAXLEN];
	uint8_t raw[32], aad[16], aad2[16], tag[16], tag2[16];

	for (int c = 0; c < 2; c++) {
		unsigned accepted = 0, tries = 0;

		fill(raw, sizeof(raw));
		CHECK(ipop_aead_keybuf_init(mgr, &kb, ciphers[c], raw) == 0);
		raw[0] ^= 1;
		CHECK(ipop_aead_keybuf_init(mgr, &okb, ciphers[c], raw) == 0);
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			uint32_t len = lens[l];
			uint64_t counter = rng();

			fill(pt, len);
			fill(aad, sizeof(aad));
			for (uint32_t i = 0; i < len; i++) {
				reseal(key, counter, aad, pt, buf, len, tag);
				buf[i] ^= (uint8_t)(1u << (i % 8));
				accepted += ipop_aead_open(mgr, key, counter, aad, buf,
							   len, tag) != -EBADMSG;
				tries++;
			}
			for (uint32_t i = 0; i < 16; i++) {
				reseal(key, counter, aad, pt, buf, len, tag);
				memcpy(aad2, aad, 16);
				aad2[i] ^= (uint8_t)(1u << (i % 8));
				accepted += ipop_aead_open(mgr, key, counter, aad2, buf,
							   len, tag) != -EBADMSG;
				reseal(key, counter, aad, pt, buf, len, tag);
				memcpy(tag2, tag, 16);
				tag2[i] ^= (uint8_t)(0x80u >> (i % 8));
				accepted += ipop_aead_open(mgr, key, counter, aad, buf,
							   len, tag2) != -EBADMSG;
				tries += 2;
			}
			for (int b = 0; b < 64; b++) {
				reseal(key, counter, aad, pt, buf, len, tag);
				accepted += ipop_aead_open(mgr, key,
							   counter ^ (UINT64_C(1) << b),
							   aad, buf, len, tag) != -EBADMSG;
				tries++;
			}
			reseal(key, counter, aad, pt, buf, len, tag);
			accepted += ipop_aead_open(mgr, other, counter, aad, buf, len,
						   tag) != -EBADMSG;
			tries++;
			/* Control: the untouched packet does open. */
			reseal(key, counter, aad, pt, buf, len, tag);
			CHECK(ipop_aead_open(mgr, key, counter, aad, buf, len, tag) == 0);
		}
		CHECK(accepted == 0);
		printf("%s tampering: %u forgeries tried, %u accepted\n",
		       ipop_cipher_name(ciphers[c]), tries, accepted);
	}
}

#define NOPS 300

/* A burst mixing both ciphers and several keys (more ChaCha ops than one
 * chunk) gives the same bytes as the single-packet calls, in both directions,
 * and reports per-op failures for tampered ops only. */
static void test_burst(void)
{
	static struct ipop_aead_keybuf keys[4];
	static uint8_t pt[NOPS][MAXLEN], single[NOPS][MAXLEN], burst[NOPS][MAXLEN];
	static uint8_t aad[NOPS][16], tag_s[NOPS][16], tag_b[NOPS][16];
	static struct ipop_aead_op ops[NOPS];
	static uint32_t lens[NOPS];
	unsigned diff = 0, wrong_status = 0, nchacha = 0, nbad = 0, failed;
	uint8_t raw[32];

	for (int k = 0; k < 4; k++) {
		fill(raw, sizeof(raw));
		CHECK(ipop_aead_keybuf_init(mgr, &keys[k], ciphers[k % 2], raw) == 0);
	}
	for (int i = 0; i < NOPS; i++) {
		const struct ipop_aead_key *key = &keys[rng() % 4].key;

		lens[i] = (uint32_t)(rng() % (MAXLEN + 1));
		if (i % 37 == 0)
			lens[i] = 0;
		fill(pt[i], lens[i]);
		fill(aad[i], 16);
		memcpy(single[i], pt[i], lens[i]);
		memcpy(burst[i], pt[i], lens[i]);
		ops[i] = (struct ipop_aead_op){ .key = key, .buf = burst[i],
			.len = lens[i], .aad = aad[i], .counter = rng() >> 1,
			.tag = tag_b[i], .status = 12345 };
		nchacha += key->cipher == IPOP_CIPHER_CHACHA20POLY1305;
		CHECK(ipop_aead_seal(mgr, key, ops[i].counter, aad[i], single[i],
				     lens[i], tag_s[i]) == 0);
	}
	CHECK(nchacha > IPOP_AEAD_CHUNK && nchacha < NOPS);
	CHECK(ipop_aead_seal_burst(mgr, ops, NOPS) == 0);
	for (int i = 0; i < NOPS; i++) {
		diff += memcmp(single[i], burst[i], lens[i]) != 0 ||
			memcmp(tag_s[i], tag_b[i], 16) != 0;
		wrong_status += ops[i].status != 0;
	}
	CHECK(diff == 0);
	CHECK(wrong_status == 0);

	/* Open: every 5th op gets a bad tag, every 7th a wrong counter. */
	for (int i = 0; i < NOPS; i++) {
		if (i % 5 == 0)
			tag_b[i][i % 16] ^= 1;
		if (i % 7 == 0)
			ops[i].counter++;
		ops[i].status = 12345;
	}
	failed = ipop_aead_open_burst(mgr, ops, NOPS);
	diff = 0;
	wrong_status = 0;
	for (int i = 0; i < NOPS; i++) {
		int bad = i % 5 == 0 || i % 7 == 0;

		nbad += bad;
		wrong_status += ops[i].status != (bad ? -EBADMSG : 0);
		if (!bad)
			diff += memcmp(burst[i], pt[i], lens[i]) != 0;
	}
	CHECK(failed == nbad);
	CHECK(diff == 0);
	CHECK(wrong_status == 0);
	CHECK(ipop_aead_seal_burst(mgr, ops, 0) == 0);
	printf("burst of %d (%u chacha) matches single calls\n", NOPS, nchacha);
}

/* Ops with a source (op.src): a burst of both ciphers in which groups of
 * ops read one plaintext each (as a flood's copies do) and write their own
 * buffers gives the bytes and tags of in-place single calls and leaves the
 * sources as they were; opening out of place gives the plaintexts back and
 * leaves the ciphertexts as they were. */
static void test_burst_src(void)
{
	enum { NSRC = 8 };
	static struct ipop_aead_keybuf keys[4];
	static uint8_t pt[NSRC][MAXLEN], keep[NSRC][MAXLEN];
	static uint8_t single[NOPS][MAXLEN], out[NOPS][MAXLEN], back[NOPS][MAXLEN];
	static uint8_t aad[NOPS][16], tag_s[NOPS][16], tag_b[NOPS][16];
	static struct ipop_aead_op ops[NOPS];
	static uint32_t lens[NSRC];
	unsigned diff = 0, changed = 0, wrong_status = 0, nchacha = 0;
	uint8_t raw[32];

	for (int k = 0; k < 4; k++) {
		fill(raw, sizeof(raw));
		CHECK(ipop_aead_keybuf_init(mgr, &keys[k], ciphers[k % 2], raw) == 0);
	}
	for (int j = 0; j < NSRC; j++) {
		lens[j] = j == 0 ? 0 : (uint32_t)(rng() % (MAXLEN + 1));
		fill(pt[j], lens[j]);
		memcpy(keep[j], pt[j], lens[j]);
	}
	for (int i = 0; i < NOPS; i++) {
		const struct ipop_aead_key *key = &keys[rng() % 4].key;
		int j = i % NSRC;

		fill(aad[i], 16);
		fill(out[i], MAXLEN);
		memcpy(single[i], pt[j], lens[j]);
		ops[i] = (struct ipop_aead_op){ .key = key, .buf = out[i], .src = pt[j],
			.len = lens[j], .aad = aad[i], .counter = rng() >> 1,
			.tag = tag_b[i], .status = 12345 };
		nchacha += key->cipher == IPOP_CIPHER_CHACHA20POLY1305;
		CHECK(ipop_aead_seal(mgr, key, ops[i].counter, aad[i], single[i], lens[j],
				     tag_s[i]) == 0);
	}
	CHECK(nchacha > IPOP_AEAD_CHUNK && nchacha < NOPS);
	CHECK(ipop_aead_seal_burst(mgr, ops, NOPS) == 0);
	for (int i = 0; i < NOPS; i++) {
		uint32_t len = lens[i % NSRC];
		diff += memcmp(single[i], out[i], len) != 0 || memcmp(tag_s[i], tag_b[i], 16) != 0;
		wrong_status += ops[i].status != 0;
	}
	for (int j = 0; j < NSRC; j++)
		changed += memcmp(pt[j], keep[j], lens[j]) != 0;
	CHECK(diff == 0);
	CHECK(changed == 0);
	CHECK(wrong_status == 0);

	/* Open out of place: out[i] -> back[i]. */
	for (int i = 0; i < NOPS; i++) {
		ops[i].src = out[i];
		ops[i].buf = back[i];
		ops[i].status = 12345;
	}
	CHECK(ipop_aead_open_burst(mgr, ops, NOPS) == 0);
	diff = changed = wrong_status = 0;
	for (int i = 0; i < NOPS; i++) {
		uint32_t len = lens[i % NSRC];
		diff += memcmp(back[i], keep[i % NSRC], len) != 0;
		changed += memcmp(out[i], single[i], len) != 0;
		wrong_status += ops[i].status != 0;
	}
	CHECK(diff == 0);
	CHECK(changed == 0);
	CHECK(wrong_status == 0);
	printf("burst of %d with sources (%u chacha) matches in-place single calls\n", NOPS,
	       nchacha);
}

/* Wiped keys (handle and storage) are zero and refuse every operation, single
 * and burst; bad storage is refused; re-initialising clears old material. */
static void test_wipe(void)
{
	static struct ipop_aead_keybuf kb;
	static const uint8_t zero[sizeof(struct ipop_aead_keybuf)];
	struct ipop_aead_key *key = &kb.key;
	uint8_t raw[32], aad[16] = { 0 }, buf[64] = { 0 }, tag[16] = { 0 };
	struct ipop_aead_op op = { .key = key, .buf = buf, .len = 64, .aad = aad,
				   .tag = tag };
	size_t gsz = ipop_aead_key_size(mgr, IPOP_CIPHER_AES256GCM);

	fill(raw, sizeof(raw));
	CHECK(ipop_aead_keybuf_init(mgr, &kb, 99, raw) == -EINVAL);
	CHECK(key->cipher == 0 && key->data == NULL);
	CHECK(memcmp(&kb, zero, sizeof(kb)) == 0);
	for (int c = 0; c < 2; c++) {
		CHECK(ipop_aead_keybuf_init(mgr, &kb, ciphers[c], raw) == 0);
		CHECK(key->data == kb.store);
		CHECK(key->size == ipop_aead_key_size(mgr, ciphers[c]));
		CHECK(memcmp(kb.store, zero, key->size) != 0);
		ipop_aead_key_wipe(key);
		CHECK(memcmp(&kb, zero, sizeof(kb)) == 0);
		CHECK(ipop_aead_seal(mgr, key, 1, aad, buf, 64, tag) == -EINVAL);
		CHECK(ipop_aead_open(mgr, key, 1, aad, buf, 64, tag) == -EINVAL);
		CHECK(ipop_aead_seal_burst(mgr, &op, 1) == 1 && op.status == -EINVAL);
		CHECK(ipop_aead_open_burst(mgr, &op, 1) == 1 && op.status == -EINVAL);
		ipop_aead_key_wipe(key);                     /* twice: harmless */
	}
	/* Too small, misaligned, missing storage: refused, key left wiped. */
	CHECK(ipop_aead_key_init(mgr, key, kb.store, gsz - 1, IPOP_CIPHER_AES256GCM, raw) ==
	      -EINVAL && key->cipher == 0);
	CHECK(ipop_aead_key_init(mgr, key, kb.store, IPOP_KEY_LEN - 1,
				 IPOP_CIPHER_CHACHA20POLY1305, raw) == -EINVAL && key->cipher == 0);
	CHECK(ipop_aead_key_init(mgr, key, kb.store + 16, gsz, IPOP_CIPHER_AES256GCM, raw) ==
	      -EINVAL && key->cipher == 0);
	CHECK(ipop_aead_key_init(mgr, key, NULL, gsz, IPOP_CIPHER_AES256GCM, raw) == -EINVAL &&
	      key->cipher == 0);
	CHECK(memcmp(&kb, zero, sizeof(kb)) == 0);
	/* GCM material, then a ChaCha key on the same storage: nothing of the
	 * GCM expansion is left behind. */
	CHECK(ipop_aead_keybuf_init(mgr, &kb, IPOP_CIPHER_AES256GCM, raw) == 0);
	CHECK(ipop_aead_keybuf_init(mgr, &kb, IPOP_CIPHER_CHACHA20POLY1305, raw) == 0);
	CHECK(memcmp(kb.store, raw, 32) == 0);
	CHECK(memcmp(kb.store + 32, zero, sizeof(kb.store) - 32) == 0);
	ipop_aead_key_wipe(key);
	CHECK(memcmp(&kb, zero, sizeof(kb)) == 0);
	CHECK(_Alignof(struct ipop_aead_keybuf) == IPOP_AEAD_KEY_ALIGN);
	CHECK(sizeof(struct ipop_aead_key) == 16);
}

/* ---- compact key storage, proved with a canary ---- */

#define CANARY_LEN (IPOP_AEAD_KEY_MAX + 1024)

static uint8_t canary_store[CANARY_LEN] __attribute__((aligned(64)));
static struct ipop_aead_key canary_key;
static size_t canary_used;      /* bytes the code path is allowed to touch */
static uint8_t canary_pat;
static const char *canary_arch;

static uint8_t canary_at(size_t i)
{
	return (uint8_t)(canary_pat ^ (uint8_t)(i * 0x9d));
}

static void canary_fill(size_t from)
{
	for (size_t i = from; i < CANARY_LEN; i++)
		canary_store[i] = canary_at(i);
}

static size_t canary_bad(size_t from)
{
	size_t bad = 0;

	for (size_t i = from; i < CANARY_LEN; i++)
		bad += canary_store[i] != canary_at(i);
	return bad;
}

/* What IPsec-MB 1.3's code paths use of a struct gcm_key_data (its header):
 * the round keys, then sse_avx (256 B), avx2_avx512 (128 B) or, for
 * AVX-512, possibly vaes_avx512 (768 B: the whole struct). */
static size_t used_bytes(const char *arch, int cipher)
{
	if (cipher == IPOP_CIPHER_CHACHA20POLY1305)
		return IPOP_KEY_LEN;
	if (strcmp(arch, "sse") == 0 || strcmp(arch, "avx") == 0)
		return IPOP_AEAD_GCM_ROUND_KEYS + IPOP_AEAD_GCM_HKEYS_SSE;
	if (strcmp(arch, "avx2") == 0)
		return IPOP_AEAD_GCM_ROUND_KEYS + IPOP_AEAD_GCM_HKEYS_AVX2;
	return sizeof(struct gcm_key_data);
}

/* check_vector's key for the canary test: ipop_aead_key_init on exactly
 * ipop_aead_key_size() bytes, then every byte after the used part (padding up
 * to the key size included) set to the canary, so that a read of it would
 * change the result and a write would show. */
static const struct ipop_aead_key *canary_make(struct ipop_aead_mgr *m, int cipher,
					       const uint8_t raw[32])
{
	size_t ksz = ipop_aead_key_size(m, cipher);

	if (canary_key.cipher != 0)                  /* the previous vector's key */
		CHECK(canary_bad(canary_used) == 0);
	canary_used = used_bytes(canary_arch, cipher);
	CHECK(canary_used <= ksz);
	canary_fill(0);
	CHECK(ipop_aead_key_init(m, &canary_key, canary_store, ksz, cipher, raw) == 0);
	CHECK(canary_key.size == ksz && canary_bad(ksz) == 0);
	canary_fill(canary_used);
	return &canary_key;
}

/* Every length 0..MAXLEN, single and burst: the compact key seals exactly as
 * a key with the whole struct (the layout used before) and as libsodium, and
 * opens its own output; the canary is intact afterwards. */
static void canary_sizes(struct ipop_aead_mgr *m, int cipher)
{
	static struct ipop_aead_keybuf full;
	static uint8_t pt[MAXLEN + 1], buf[MAXLEN + 1], ref[MAXLEN + 1], lib[MAXLEN + 1];
	static uint8_t bpt[NOPS][MAXLEN + 1], bbuf[NOPS][MAXLEN + 1], bref[NOPS][MAXLEN + 1];
	static uint8_t btag[NOPS][16], bref_tag[NOPS][16], baad[NOPS][16];
	static struct ipop_aead_op ops[NOPS];
	uint8_t raw[32], aad[16], tag[16], ref_tag[16], lib_tag[16];
	const struct ipop_aead_key *key;
	unsigned bad_ref = 0, bad_lib = 0, bad_open = 0, bad_burst = 0;
	int have_lib = cipher != IPOP_CIPHER_AES256GCM || crypto_aead_aes256gcm_is_available();

	fill(raw, sizeof(raw));
	key = canary_make(m, cipher, raw);
	CHECK(ipop_aead_keybuf_init(m, &full, cipher, raw) == 0);
	for (uint32_t len = 0; len <= MAXLEN; len++) {
		uint64_t counter = rng();

		fill(pt, len);
		fill(aad, sizeof(aad));
		memcpy(buf, pt, len);
		memcpy(ref, pt, len);
		CHECK(ipop_aead_seal(m, key, counter, aad, buf, len, tag) == 0);
		CHECK(ipop_aead_seal(m, &full.key, counter, aad, ref, len, ref_tag) == 0);
		bad_ref += memcmp(buf, ref, len) != 0 || memcmp(tag, ref_tag, 16) != 0;
		if (have_lib) {
			sodium_seal(cipher, raw, counter, aad, pt, len, lib, lib_tag);
			bad_lib += memcmp(buf, lib, len) != 0 || memcmp(tag, lib_tag, 16) != 0;
		}
		bad_open += ipop_aead_open(m, key, counter, aad, buf, len, tag) != 0 ||
			    memcmp(buf, pt, len) != 0;
	}
	/* Bursts (ChaCha20-Poly1305 goes through the multi-buffer burst API). */
	for (uint32_t first = 0; first <= MAXLEN; first += NOPS) {
		unsigned n = 0;

		for (uint32_t len = first; len <= MAXLEN && n < NOPS; len++, n++) {
			fill(bpt[n], len);
			fill(baad[n], 16);
			memcpy(bbuf[n], bpt[n], len);
			memcpy(bref[n], bpt[n], len);
			ops[n] = (struct ipop_aead_op){ .key = key, .buf = bbuf[n], .len = len,
				.aad = baad[n], .counter = rng() >> 1, .tag = btag[n] };
			CHECK(ipop_aead_seal(m, &full.key, ops[n].counter, baad[n], bref[n],
					     len, bref_tag[n]) == 0);
		}
		bad_burst += ipop_aead_seal_burst(m, ops, n);
		for (unsigned i = 0; i < n; i++)
			bad_burst += memcmp(bbuf[i], bref[i], ops[i].len) != 0 ||
				     memcmp(btag[i], bref_tag[i], 16) != 0;
		bad_burst += ipop_aead_open_burst(m, ops, n);
		for (unsigned i = 0; i < n; i++)
			bad_burst += memcmp(bbuf[i], bpt[i], ops[i].len) != 0;
	}
	CHECK(bad_ref == 0);
	CHECK(bad_lib == 0);
	CHECK(bad_open == 0);
	CHECK(bad_burst == 0);
	CHECK(canary_bad(canary_used) == 0);
	ipop_aead_key_wipe(&canary_key);
	for (size_t i = 0; i < canary_used; i++)
		bad_open += canary_store[i] != 0;
	CHECK(bad_open == 0);                        /* wipe covers the used part */
	CHECK(canary_bad(ipop_aead_key_size(m, cipher)) == 0);
	ipop_aead_key_wipe(&full.key);
	printf("  %s, canary 0x%02x: keeps %zu bytes (uses %zu of %zu); lengths 0..%d, single "
	       "and burst: %u mismatches vs whole struct, %u vs libsodium%s, %u failed opens, "
	       "%u burst errors; canary intact\n",
	       ipop_cipher_name(cipher), canary_pat, ipop_aead_key_size(m, cipher), canary_used,
	       cipher == IPOP_CIPHER_AES256GCM ? sizeof(struct gcm_key_data) : (size_t)IPOP_KEY_LEN,
	       MAXLEN, bad_ref, bad_lib, have_lib ? "" : " (n/a)", bad_open, bad_burst);
}

/* The key expansion alone, straight through IPsec-MB: it writes nothing at or
 * after the used part of the storage. */
static void canary_precompute(struct ipop_aead_mgr *m)
{
	uint8_t raw[32];

	fill(raw, sizeof(raw));
	canary_used = used_bytes(canary_arch, IPOP_CIPHER_AES256GCM);
	canary_fill(0);
	IMB_AES256_GCM_PRE(ipop_aead_mgr_imb(m), raw, (struct gcm_key_data *)canary_store);
	CHECK(canary_bad(canary_used) == 0);
	CHECK(canary_bad(0) > 0);                    /* it did write the key */
}

/* On every IPsec-MB code path this CPU can run: the key size ipop gives each
 * cipher, the expansion writing only inside it, the published vectors and every
 * length through keys whose storage ends in a canary (two patterns). */
static void test_canary(void)
{
	static const char *archs[] = { "sse", "avx", "avx2", "avx512" };
	int verified = (imb_get_version() >> 8) == (IPOP_AEAD_COMPACT_VERSION >> 8);
	unsigned tested = 0;
	int auto_tested = 0;

	for (unsigned a = 0; a < sizeof(archs) / sizeof(archs[0]); a++) {
		struct ipop_aead_mgr *m;
		int rc = ipop_aead_mgr_create_arch(&m, archs[a]);
		size_t want_gcm;

		if (rc == -ENOTSUP) {
			printf("canary %s: code path not available on this CPU, skipped\n",
			       archs[a]);
			continue;
		}
		CHECK(rc == 0);
		if (rc != 0)
			continue;
		CHECK(strcmp(ipop_aead_mgr_arch(m), archs[a]) == 0);
		canary_arch = archs[a];
		want_gcm = !verified ? IPOP_AEAD_KEY_MAX :
			   a < 2 ? IPOP_AEAD_KEY_SIZE_GCM_SSE :
			   a == 2 ? IPOP_AEAD_KEY_SIZE_GCM_AVX2 : IPOP_AEAD_KEY_MAX;
		CHECK(ipop_aead_key_size(m, IPOP_CIPHER_AES256GCM) == want_gcm);
		CHECK(ipop_aead_key_size(m, IPOP_CIPHER_CHACHA20POLY1305) == 64);
		CHECK(ipop_aead_key_size(m, 99) == 0);
		CHECK(ipop_aead_key_size_max(m) == want_gcm);
		printf("canary %s: AES-256-GCM key %zu bytes, ChaCha20-Poly1305 %zu\n",
		       archs[a], want_gcm, ipop_aead_key_size(m, IPOP_CIPHER_CHACHA20POLY1305));
		for (int p = 0; p < 2; p++) {
			canary_pat = p == 0 ? 0xa5 : 0x3c;
			canary_precompute(m);
			vec_mgr = m;
			vec_key = canary_make;
			test_vectors();
			CHECK(canary_bad(canary_used) == 0);
			vec_key = keybuf_key;
			vec_mgr = mgr;
			for (int c = 0; c < 2; c++)
				canary_sizes(m, ciphers[c]);
		}
		auto_tested |= strcmp(archs[a], ipop_aead_mgr_arch(mgr)) == 0;
		tested++;
		ipop_aead_mgr_free(m);
	}
	CHECK(tested > 0);
	CHECK(auto_tested);
	CHECK(ipop_aead_mgr_create_arch(&vec_mgr, "bogus") == -EINVAL);
	vec_mgr = mgr;
	printf("canary: %u code paths tested (auto picks %s)\n", tested,
	       ipop_aead_mgr_arch(mgr));
}

/* dpdk.aead_code_path: what each name resolves to on this CPU (expectations
 * from the CPU's flags, so this holds on any x86 host with AES-NI), and that a
 * gateway on the compact path and one on the automatic path talk: a packet
 * sealed with a key expanded for one opens with the same raw key expanded for
 * the other, both ways (keys are per process; the wire is the same). */
static void test_code_paths(void)
{
	static const struct { const char *name; uint64_t need; } paths[] = {
		{ "sse", IMB_CPUFLAGS_SSE }, { "avx", IMB_CPUFLAGS_AVX },
		{ "avx2", IMB_CPUFLAGS_AVX2 }, { "avx512", IMB_CPUFLAGS_AVX512 },
	};
	uint64_t flags = imb_get_feature_flags();
	const char *arch, *want_compact = NULL;
	int verified = (imb_get_version() >> 8) == (IPOP_AEAD_COMPACT_VERSION >> 8);

	CHECK(ipop_aead_path_resolve("auto", &arch) == 0 && arch == NULL);
	CHECK(ipop_aead_path_resolve("bogus", &arch) == -EINVAL && arch == NULL);
	CHECK(ipop_aead_path_known("auto") && ipop_aead_path_known("compact"));
	CHECK(!ipop_aead_path_known("bogus") && !ipop_aead_path_known(""));
	for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int has = (flags & paths[i].need) == paths[i].need;
		int rc = ipop_aead_path_resolve(paths[i].name, &arch);
		CHECK(ipop_aead_path_known(paths[i].name));
		CHECK(has ? rc == 0 && strcmp(arch, paths[i].name) == 0 : rc == -ENOTSUP);
		if (has && i < 3)
			want_compact = paths[i].name;   /* the last of sse, avx, avx2 */
	}
	CHECK(want_compact != NULL);
	CHECK(ipop_aead_path_resolve("compact", &arch) == 0 && arch != NULL &&
	      strcmp(arch, want_compact) == 0);

	struct ipop_aead_mgr *small;
	CHECK(ipop_aead_mgr_create_arch(&small, arch) == 0);
	size_t small_gcm = ipop_aead_key_size(small, IPOP_CIPHER_AES256GCM);
	CHECK(!verified || small_gcm <= IPOP_AEAD_KEY_SIZE_GCM_SSE);
	/* A CPU with AVX2 gets the smallest keys of all: avx2's 384 bytes. */
	if (verified && (flags & IMB_CPUFLAGS_AVX2) == IMB_CPUFLAGS_AVX2)
		CHECK(small_gcm == IPOP_AEAD_KEY_SIZE_GCM_AVX2);
	CHECK(small_gcm <= ipop_aead_key_size(mgr, IPOP_CIPHER_AES256GCM));
	printf("code paths: compact is %s (AES-256-GCM key %zu bytes), auto is %s (%zu)\n", arch,
	       small_gcm, ipop_aead_mgr_arch(mgr), ipop_aead_key_size(mgr, IPOP_CIPHER_AES256GCM));

	static struct ipop_aead_keybuf ka, kc;
	uint8_t raw[32], aad[16], pt[1500], buf[1500], tag[16];
	unsigned bad = 0;
	fill(raw, sizeof(raw));
	for (int c = 0; c < 2; c++) {
		CHECK(ipop_aead_keybuf_init(mgr, &ka, ciphers[c], raw) == 0);
		CHECK(ipop_aead_keybuf_init(small, &kc, ciphers[c], raw) == 0);
		for (uint32_t len = 0; len <= sizeof(pt); len += 61) {
			fill(pt, len);
			fill(aad, sizeof(aad));
			memcpy(buf, pt, len);
			CHECK(ipop_aead_seal(small, &kc.key, len, aad, buf, len, tag) == 0);
			bad += ipop_aead_open(mgr, &ka.key, len, aad, buf, len, tag) != 0;
			bad += memcmp(buf, pt, len) != 0;
			CHECK(ipop_aead_seal(mgr, &ka.key, len + 1, aad, buf, len, tag) == 0);
			bad += ipop_aead_open(small, &kc.key, len + 1, aad, buf, len, tag) != 0;
			bad += memcmp(buf, pt, len) != 0;
		}
	}
	CHECK(bad == 0);
	ipop_aead_mgr_free(small);
}

int main(void)
{
	int rc = ipop_aead_mgr_create(&mgr);

	CHECK(rc == 0);
	if (rc != 0)
		return check_report("aead");
	vec_mgr = mgr;
	CHECK(sodium_init() >= 0);
	printf("IPsec-MB %s, arch %s\n", imb_get_version_str(), ipop_aead_mgr_arch(mgr));
	test_vectors();
	test_roundtrip();
	test_tamper();
	test_burst();
	test_burst_src();
	test_wipe();
	test_canary();
	test_code_paths();
	ipop_aead_mgr_free(mgr);
	return check_report("aead");
}

/* noise.c - Noise_IK_25519_ChaChaPoly_SHA256 (Noise spec revision 34) on
 * libsodium, and the ipop handshake messages built on it.
 *
 * Thread: control. The core half follows the spec's CipherState /
 * SymmetricState / HandshakeState objects, flattened into struct
 * ipop_noise_hs; the message half only frames bytes, draws ephemerals and
 * handles mac1. Every secret intermediate is wiped before returning.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "control/session/noise.h"

/* Exactly HASHLEN bytes, so the initial h is the name itself, unhashed. */
static const char protocol_name[] = "Noise_IK_25519_ChaChaPoly_SHA256";
_Static_assert(sizeof(protocol_name) - 1 == IPOP_NOISE_HASH_LEN, "protocol name length");

static const char mac1_label[] = "mac1----";

/* Noise message 1 and 2 sizes with the 16-byte ipop payload. */
#define MSG1_LEN IPOP_NOISE_IK_MSG1_LEN(IPOP_HS_PAYLOAD_LEN)
#define MSG2_LEN IPOP_NOISE_IK_MSG2_LEN(IPOP_HS_PAYLOAD_LEN)
_Static_assert(MSG1_LEN == 32 + 48 + 32, "msg1 = ephemeral + enc_static + enc_payload");
_Static_assert(MSG2_LEN == 32 + 32, "msg2 = ephemeral + enc_payload");

static int sodium_ready(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

/* ---- keys ---- */

int ipop_noise_pubkey(const uint8_t priv[IPOP_NOISE_KEY_LEN], uint8_t pub[IPOP_NOISE_KEY_LEN])
{
	if (!priv || !pub)
		return -EINVAL;
	if (sodium_ready() < 0)
		return -EIO;
	return crypto_scalarmult_base(pub, priv) == 0 ? 0 : -EINVAL;
}

int ipop_noise_keypair_generate(struct ipop_noise_keypair *kp)
{
	int rc;

	if (!kp)
		return -EINVAL;
	if (sodium_ready() < 0)
		return -EIO;
	randombytes_buf(kp->priv, sizeof(kp->priv));
	rc = ipop_noise_pubkey(kp->priv, kp->pub);
	if (rc < 0)
		sodium_memzero(kp, sizeof(*kp));
	return rc;
}

void ipop_noise_hs_wipe(struct ipop_noise_hs *hs)
{
	if (hs)
		sodium_memzero(hs, sizeof(*hs));
}

/* ---- symmetric state ---- */

/* out = SHA-256(a || b). out may alias a. */
static void hash2(uint8_t out[32], const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, a, alen);
	crypto_hash_sha256_update(&st, b, blen);
	crypto_hash_sha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

static void mix_hash(struct ipop_noise_hs *hs, const uint8_t *data, size_t len)
{
	hash2(hs->h, hs->h, sizeof(hs->h), data, len);
}

/* Noise's HKDF with two outputs over HMAC-SHA256 (all keys are 32 bytes,
 * which is what crypto_auth_hmacsha256 takes). out1 may alias ck. */
static void hkdf2(const uint8_t ck[32], const uint8_t *ikm, size_t len,
		  uint8_t out1[32], uint8_t out2[32])
{
	uint8_t prk[32], buf[33];

	crypto_auth_hmacsha256(prk, ikm, len, ck);
	buf[0] = 0x01;
	crypto_auth_hmacsha256(out1, buf, 1, prk);
	memcpy(buf, out1, 32);
	buf[32] = 0x02;
	crypto_auth_hmacsha256(out2, buf, sizeof(buf), prk);
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(buf, sizeof(buf));
}

static void mix_key(struct ipop_noise_hs *hs, const uint8_t *ikm, size_t len)
{
	hkdf2(hs->ck, ikm, len, hs->ck, hs->k);
	hs->n = 0;
	hs->has_k = true;
}

/* MixKey(DH(priv, pub)). An all-zero result (pub of low order) is refused:
 * libsodium's crypto_scalarmult already returns -1 for it; the explicit
 * check keeps the rule visible. */
static int mix_dh(struct ipop_noise_hs *hs, const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t dh[32];
	int bad;

	bad = crypto_scalarmult(dh, priv, pub) != 0 || sodium_is_zero(dh, sizeof(dh));
	if (!bad)
		mix_key(hs, dh, sizeof(dh));
	sodium_memzero(dh, sizeof(dh));
	return bad ? -EINVAL : 0;
}

/* ChaChaPoly nonce as Noise defines it: 4 zero bytes, then n little-endian.
 * (The data plane's nonce is big-endian; this one never leaves this file.) */
static void noise_nonce(uint8_t out[12], uint64_t n)
{
	memset(out, 0, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(n >> (8 * i));
}

/* EncryptAndHash: out gets len + 16 bytes (or len bytes before any key). */
static int encrypt_and_hash(struct ipop_noise_hs *hs, const uint8_t *pt, size_t len, uint8_t *out)
{
	uint8_t nonce[12];
	unsigned long long clen;

	if (!hs->has_k) {
		memmove(out, pt, len);
		mix_hash(hs, out, len);
		return 0;
	}
	if (hs->n == UINT64_MAX)
		return -EOVERFLOW;
	noise_nonce(nonce, hs->n);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, len, hs->h, sizeof(hs->h),
						  NULL, nonce, hs->k);
	hs->n++;
	mix_hash(hs, out, clen);
	return 0;
}

/* DecryptAndHash: ct of clen bytes (tag included) to out (clen - 16 bytes).
 * The next h is computed before decrypting so out may alias ct. */
static int decrypt_and_hash(struct ipop_noise_hs *hs, const uint8_t *ct, size_t clen, uint8_t *out)
{
	uint8_t nonce[12], next_h[32];
	unsigned long long plen;
	int rc;

	hash2(next_h, hs->h, sizeof(hs->h), ct, clen);
	if (!hs->has_k) {
		memmove(out, ct, clen);
		memcpy(hs->h, next_h, sizeof(hs->h));
		return 0;
	}
	if (clen < IPOP_NOISE_TAG_LEN)
		return -EBADMSG;
	if (hs->n == UINT64_MAX)
		return -EOVERFLOW;
	noise_nonce(nonce, hs->n);
	rc = crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL, ct, clen, hs->h,
						       sizeof(hs->h), nonce, hs->k);
	if (rc != 0)
		return -EBADMSG;
	hs->n++;
	memcpy(hs->h, next_h, sizeof(hs->h));
	return 0;
}

/* InitializeSymmetric + MixHash(prologue). */
static void symmetric_init(struct ipop_noise_hs *hs, const uint8_t *prologue, size_t plen)
{
	memcpy(hs->h, protocol_name, IPOP_NOISE_HASH_LEN);
	memcpy(hs->ck, hs->h, IPOP_NOISE_HASH_LEN);
	mix_hash(hs, prologue, plen);
}

/* ---- core: Noise IK ---- */

static int setup_args_ok(const struct ipop_noise_hs *hs, const struct ipop_noise_keypair *s,
			 const uint8_t *prologue, size_t plen)
{
	return hs && s && (prologue || plen == 0);
}

int ipop_noise_ik_initiator(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *s,
			    const uint8_t rs[IPOP_NOISE_KEY_LEN],
			    const uint8_t *prologue, size_t plen)
{
	ipop_noise_hs_wipe(hs);
	if (!setup_args_ok(hs, s, prologue, plen) || !rs)
		return -EINVAL;
	if (sodium_ready() < 0)
		return -EIO;
	symmetric_init(hs, prologue, plen);
	hs->s = *s;
	memcpy(hs->rs, rs, sizeof(hs->rs));
	mix_hash(hs, rs, IPOP_NOISE_KEY_LEN);           /* pre-message <- s */
	hs->initiator = true;
	hs->stage = IPOP_NOISE_I_READY;
	return 0;
}

int ipop_noise_ik_responder(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *s,
			    const uint8_t *prologue, size_t plen)
{
	ipop_noise_hs_wipe(hs);
	if (!setup_args_ok(hs, s, prologue, plen))
		return -EINVAL;
	if (sodium_ready() < 0)
		return -EIO;
	symmetric_init(hs, prologue, plen);
	hs->s = *s;
	mix_hash(hs, s->pub, IPOP_NOISE_KEY_LEN);       /* pre-message <- s */
	hs->initiator = false;
	hs->stage = IPOP_NOISE_R_READY;
	return 0;
}

/* Write "e": keep the pair, send and hash its public half. */
static void write_e(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *e, uint8_t *out)
{
	hs->e = *e;
	memcpy(out, e->pub, IPOP_NOISE_KEY_LEN);
	mix_hash(hs, e->pub, IPOP_NOISE_KEY_LEN);
}

/* Read "re". */
static void read_e(struct ipop_noise_hs *hs, const uint8_t *in)
{
	memcpy(hs->re, in, IPOP_NOISE_KEY_LEN);
	mix_hash(hs, hs->re, IPOP_NOISE_KEY_LEN);
}

int ipop_noise_ik_write_msg1(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *e,
			     const uint8_t *payload, size_t len, uint8_t *out)
{
	int rc = -EINVAL;

	if (!hs)
		return -EINVAL;
	if (!e || !out || (!payload && len) || hs->stage != IPOP_NOISE_I_READY)
		goto fail;
	write_e(hs, e, out);                                         /* e */
	rc = mix_dh(hs, hs->e.priv, hs->rs);                         /* es */
	if (rc < 0)
		goto fail;
	rc = encrypt_and_hash(hs, hs->s.pub, IPOP_NOISE_KEY_LEN, out + 32);  /* s */
	if (rc < 0)
		goto fail;
	rc = mix_dh(hs, hs->s.priv, hs->rs);                         /* ss */
	if (rc < 0)
		goto fail;
	rc = encrypt_and_hash(hs, payload, len, out + 80);           /* payload */
	if (rc < 0)
		goto fail;
	hs->stage = IPOP_NOISE_I_SENT;
	return 0;
fail:
	ipop_noise_hs_wipe(hs);
	return rc;
}

int ipop_noise_ik_read_msg1(struct ipop_noise_hs *hs, const uint8_t *msg, size_t mlen,
			    uint8_t *payload_out)
{
	int rc = -EINVAL;

	if (!hs)
		return -EINVAL;
	if (!msg || !payload_out || hs->stage != IPOP_NOISE_R_READY)
		goto fail;
	rc = -EBADMSG;
	if (mlen < IPOP_NOISE_IK_MSG1_LEN(0))
		goto fail;
	read_e(hs, msg);                                             /* e */
	if (mix_dh(hs, hs->s.priv, hs->re) < 0)                      /* es */
		goto fail;
	rc = decrypt_and_hash(hs, msg + 32, 48, hs->rs);             /* s */
	if (rc < 0)
		goto fail;
	rc = -EBADMSG;
	if (mix_dh(hs, hs->s.priv, hs->rs) < 0)                      /* ss */
		goto fail;
	rc = decrypt_and_hash(hs, msg + 80, mlen - 80, payload_out); /* payload */
	if (rc < 0)
		goto fail;
	hs->stage = IPOP_NOISE_R_RECEIVED;
	return 0;
fail:
	ipop_noise_hs_wipe(hs);
	return rc;
}

int ipop_noise_ik_write_msg2(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *e,
			     const uint8_t *payload, size_t len, uint8_t *out)
{
	int rc = -EINVAL;

	if (!hs)
		return -EINVAL;
	if (!e || !out || (!payload && len) || hs->stage != IPOP_NOISE_R_RECEIVED)
		goto fail;
	write_e(hs, e, out);                                         /* e */
	rc = mix_dh(hs, hs->e.priv, hs->re);                         /* ee */
	if (rc < 0)
		goto fail;
	rc = mix_dh(hs, hs->e.priv, hs->rs);                         /* se */
	if (rc < 0)
		goto fail;
	rc = encrypt_and_hash(hs, payload, len, out + 32);           /* payload */
	if (rc < 0)
		goto fail;
	hs->stage = IPOP_NOISE_DONE;
	return 0;
fail:
	ipop_noise_hs_wipe(hs);
	return rc;
}

int ipop_noise_ik_read_msg2(struct ipop_noise_hs *hs, const uint8_t *msg, size_t mlen,
			    uint8_t *payload_out)
{
	int rc = -EINVAL;

	if (!hs)
		return -EINVAL;
	if (!msg || !payload_out || hs->stage != IPOP_NOISE_I_SENT)
		goto fail;
	rc = -EBADMSG;
	if (mlen < IPOP_NOISE_IK_MSG2_LEN(0))
		goto fail;
	read_e(hs, msg);                                             /* e */
	if (mix_dh(hs, hs->e.priv, hs->re) < 0)                      /* ee */
		goto fail;
	if (mix_dh(hs, hs->s.priv, hs->re) < 0)                      /* se */
		goto fail;
	rc = decrypt_and_hash(hs, msg + 32, mlen - 32, payload_out); /* payload */
	if (rc < 0)
		goto fail;
	hs->stage = IPOP_NOISE_DONE;
	return 0;
fail:
	ipop_noise_hs_wipe(hs);
	return rc;
}

int ipop_noise_ik_split(struct ipop_noise_hs *hs, struct ipop_noise_session *keys,
			uint8_t hash_out[IPOP_NOISE_HASH_LEN])
{
	uint8_t k1[32], k2[32];
	static const uint8_t empty[1];

	if (!hs)
		return -EINVAL;
	if (!keys || hs->stage != IPOP_NOISE_DONE) {
		ipop_noise_hs_wipe(hs);
		return -EINVAL;
	}
	hkdf2(hs->ck, empty, 0, k1, k2);
	memcpy(keys->send, hs->initiator ? k1 : k2, sizeof(keys->send));
	memcpy(keys->recv, hs->initiator ? k2 : k1, sizeof(keys->recv));
	if (hash_out)
		memcpy(hash_out, hs->h, IPOP_NOISE_HASH_LEN);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	ipop_noise_hs_wipe(hs);
	return 0;
}

/* ---- mac1 ---- */

int ipop_noise_mac1_key(const uint8_t pub[IPOP_NOISE_KEY_LEN], uint8_t key[IPOP_NOISE_KEY_LEN])
{
	crypto_generichash_state st;
	int rc;

	if (!pub || !key)
		return -EINVAL;
	rc = crypto_generichash_init(&st, NULL, 0, IPOP_NOISE_KEY_LEN);
	rc |= crypto_generichash_update(&st, (const uint8_t *)mac1_label, sizeof(mac1_label) - 1);
	rc |= crypto_generichash_update(&st, pub, IPOP_NOISE_KEY_LEN);
	rc |= crypto_generichash_final(&st, key, IPOP_NOISE_KEY_LEN);
	sodium_memzero(&st, sizeof(st));
	return rc == 0 ? 0 : -EIO;
}

int ipop_noise_mac1(const uint8_t key[IPOP_NOISE_KEY_LEN], const uint8_t *msg, size_t len,
		    uint8_t mac[IPOP_MAC1_LEN])
{
	if (!key || !msg || !mac)
		return -EINVAL;
	if (crypto_generichash(mac, IPOP_MAC1_LEN, msg, len, key, IPOP_NOISE_KEY_LEN) != 0)
		return -EIO;
	return 0;
}

int ipop_noise_mac1_check(const uint8_t key[IPOP_NOISE_KEY_LEN], const uint8_t *msg,
			  size_t len, const uint8_t mac[IPOP_MAC1_LEN])
{
	uint8_t want[IPOP_MAC1_LEN];
	int rc;

	if (!mac)
		return -EINVAL;
	rc = ipop_noise_mac1(key, msg, len, want);
	if (rc == 0 && sodium_memcmp(want, mac, IPOP_MAC1_LEN) != 0)
		rc = -EKEYREJECTED;
	sodium_memzero(want, sizeof(want));
	return rc;
}

/* mac1 of a message whose mac1 field starts at offset off, keyed for pub. */
static int mac1_check_for(const uint8_t pub[32], const void *msg, size_t off)
{
	uint8_t key[32];
	int rc;

	rc = ipop_noise_mac1_key(pub, key);
	if (rc == 0)
		rc = ipop_noise_mac1_check(key, msg, off, (const uint8_t *)msg + off);
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int mac1_set_for(const uint8_t pub[32], void *msg, size_t off)
{
	uint8_t key[32];
	int rc;

	rc = ipop_noise_mac1_key(pub, key);
	if (rc == 0)
		rc = ipop_noise_mac1(key, msg, off, (uint8_t *)msg + off);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* ---- ipop message layer ---- */

/* The common header must say exactly this type (wire.c owns the rules). */
static int header_check(const void *msg, size_t len, int type)
{
	int rc = ipop_wire_classify(msg, len);

	if (rc < 0)
		return rc;
	return rc == type ? 0 : -EBADMSG;
}

static bool payload_reserved_zero(const struct ipop_hs_payload *pl)
{
	return (pl->reserved[0] | pl->reserved[1] | pl->reserved[2]) == 0;
}

int ipop_noise_init_create(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *local,
			   const uint8_t remote_pub[IPOP_NOISE_KEY_LEN],
			   const uint8_t *prologue, size_t plen,
			   const struct ipop_hs_payload *pl, uint32_t sender_index,
			   struct ipop_hs_init *out)
{
	struct ipop_noise_keypair e;
	uint8_t msg[MSG1_LEN];
	int rc;

	if (!hs)
		return -EINVAL;
	rc = -EINVAL;
	if (!pl || !out || !payload_reserved_zero(pl))
		goto fail;
	rc = ipop_noise_ik_initiator(hs, local, remote_pub, prologue, plen);
	if (rc < 0)
		goto fail;
	rc = ipop_noise_keypair_generate(&e);
	if (rc < 0)
		goto fail;
	rc = ipop_noise_ik_write_msg1(hs, &e, (const uint8_t *)pl, sizeof(*pl), msg);
	sodium_memzero(&e, sizeof(e));
	if (rc < 0)
		goto fail;

	memset(out, 0, sizeof(*out));
	out->type = IPOP_MSG_HANDSHAKE_INIT;
	out->version = IPOP_WIRE_VERSION;
	out->sender_index = sender_index;
	memcpy(out->ephemeral, msg, sizeof(out->ephemeral));
	memcpy(out->enc_static, msg + 32, sizeof(out->enc_static));
	memcpy(out->enc_payload, msg + 80, sizeof(out->enc_payload));
	rc = mac1_set_for(remote_pub, out, offsetof(struct ipop_hs_init, mac1));
	if (rc < 0)
		goto fail;
	hs->local_index = sender_index;
	return 0;
fail:
	ipop_noise_hs_wipe(hs);
	return rc;
}

int ipop_noise_init_consume(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *local,
			    const uint8_t *prologue, size_t plen,
			    const struct ipop_hs_init *in,
			    uint8_t remote_pub_out[IPOP_NOISE_KEY_LEN],
			    struct ipop_hs_payload *pl_out)
{
	uint8_t msg[MSG1_LEN], pl[IPOP_HS_PAYLOAD_LEN];
	int rc;

	if (!hs)
		return -EINVAL;
	ipop_noise_hs_wipe(hs);
	if (!local || !in || !remote_pub_out || !pl_out)
		return -EINVAL;
	rc = header_check(in, sizeof(*in), IPOP_MSG_HANDSHAKE_INIT);
	if (rc < 0)
		return rc;
	rc = mac1_check_for(local->pub, in, offsetof(struct ipop_hs_init, mac1));
	if (rc < 0)
		return rc;

	rc = ipop_noise_ik_responder(hs, local, prologue, plen);
	if (rc < 0)
		goto fail;
	memcpy(msg, in->ephemeral, 32);
	memcpy(msg + 32, in->enc_static, 48);
	memcpy(msg + 80, in->enc_payload, 32);
	rc = ipop_noise_ik_read_msg1(hs, msg, sizeof(msg), pl);
	if (rc < 0)
		goto fail;
	memcpy(pl_out, pl, sizeof(*pl_out));
	rc = -EBADMSG;
	if (!payload_reserved_zero(pl_out))
		goto fail;
	memcpy(remote_pub_out, hs->rs, IPOP_NOISE_KEY_LEN);
	sodium_memzero(pl, sizeof(pl));
	return 0;
fail:
	sodium_memzero(pl, sizeof(pl));
	ipop_noise_hs_wipe(hs);
	return rc;
}

int ipop_noise_resp_create(struct ipop_noise_hs *hs, const struct ipop_hs_payload *pl,
			   uint32_t sender_index, uint32_t receiver_index,
			   struct ipop_hs_resp *out, struct ipop_noise_session *keys)
{
	struct ipop_noise_keypair e;
	uint8_t msg[MSG2_LEN], rs[32];
	int rc;

	if (!hs)
		return -EINVAL;
	rc = -EINVAL;
	if (!pl || !out || !keys || !payload_reserved_zero(pl) ||
	    hs->stage != IPOP_NOISE_R_RECEIVED)
		goto fail;
	memcpy(rs, hs->rs, sizeof(rs));   /* Split() wipes hs; mac1 needs it */
	rc = ipop_noise_keypair_generate(&e);
	if (rc < 0)
		goto fail;
	rc = ipop_noise_ik_write_msg2(hs, &e, (const uint8_t *)pl, sizeof(*pl), msg);
	sodium_memzero(&e, sizeof(e));
	if (rc < 0)
		goto fail;

	memset(out, 0, sizeof(*out));
	out->type = IPOP_MSG_HANDSHAKE_RESP;
	out->version = IPOP_WIRE_VERSION;
	out->sender_index = sender_index;
	out->receiver_index = receiver_index;
	memcpy(out->ephemeral, msg, sizeof(out->ephemeral));
	memcpy(out->enc_payload, msg + 32, sizeof(out->enc_payload));
	rc = mac1_set_for(rs, out, offsetof(struct ipop_hs_resp, mac1));
	if (rc < 0)
		goto fail;
	return ipop_noise_ik_split(hs, keys, NULL);
fail:
	if (keys)
		sodium_memzero(keys, sizeof(*keys));
	ipop_noise_hs_wipe(hs);
	return rc;
}

int ipop_noise_resp_consume(struct ipop_noise_hs *hs, const struct ipop_hs_resp *in,
			    struct ipop_hs_payload *pl_out, struct ipop_noise_session *keys)
{
	struct ipop_noise_hs work;
	uint8_t msg[MSG2_LEN], pl[IPOP_HS_PAYLOAD_LEN];
	int rc;

	if (!hs || !in || !pl_out || !keys || hs->stage != IPOP_NOISE_I_SENT)
		return -EINVAL;
	rc = header_check(in, sizeof(*in), IPOP_MSG_HANDSHAKE_RESP);
	if (rc < 0)
		return rc;
	if (in->receiver_index != hs->local_index)
		return -EINVAL;
	rc = mac1_check_for(hs->s.pub, in, offsetof(struct ipop_hs_resp, mac1));
	if (rc < 0)
		return rc;

	/* Work on a copy: a failure below must not destroy hs (see noise.h). */
	work = *hs;
	memcpy(msg, in->ephemeral, 32);
	memcpy(msg + 32, in->enc_payload, 32);
	rc = ipop_noise_ik_read_msg2(&work, msg, sizeof(msg), pl);
	if (rc < 0)
		goto out;
	rc = -EBADMSG;
	if (!payload_reserved_zero((const struct ipop_hs_payload *)pl))
		goto out;
	rc = ipop_noise_ik_split(&work, keys, NULL);
	if (rc < 0)
		goto out;
	memcpy(pl_out, pl, sizeof(*pl_out));
	ipop_noise_hs_wipe(hs);
out:
	sodium_memzero(pl, sizeof(pl));
	ipop_noise_hs_wipe(&work);
	return rc;
}

/* ---- TAI64N ---- */

#define TAI64_BASE 0x400000000000000aULL   /* 2^62 + 10 s (TAI - UTC in 1970) */

int ipop_tai64n_now(uint8_t out[IPOP_TIMESTAMP_LEN])
{
	struct timespec ts;
	uint64_t label;

	if (!out)
		return -EINVAL;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -errno;
	if (ts.tv_sec < 0)
		return -ERANGE;
	label = TAI64_BASE + (uint64_t)ts.tv_sec;
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(label >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)((uint32_t)ts.tv_nsec >> (24 - 8 * i));
	return 0;
}

bool ipop_tai64n_newer(const uint8_t a[IPOP_TIMESTAMP_LEN], const uint8_t b[IPOP_TIMESTAMP_LEN])
{
	return memcmp(a, b, IPOP_TIMESTAMP_LEN) > 0;
}

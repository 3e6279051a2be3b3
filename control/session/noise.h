/* noise.h - the tunnel handshake: Noise_IK_25519_ChaChaPoly_SHA256 on libsodium.
 *
 * Thread: control (never on an lcore: the handshake calls do X25519, ~35 us
 * each, and read the kernel's RNG). docs/handshake.md describes the protocol;
 * dataplane/wire.h fixes the two message layouts.
 *
 * Two layers live here:
 *  - the core (ipop_noise_ik_*): plain Noise IK, any payload length, the
 *    ephemeral key pair passed in by the caller, no ipop framing. It is what
 *    the published Noise test vectors check (tests/unit/test_noise.c);
 *  - the message layer (ipop_noise_init_* / ipop_noise_resp_*): what ipopd
 *    calls. It draws fresh ephemerals, puts the Noise bytes into struct
 *    ipop_hs_init / ipop_hs_resp, adds and checks mac1, and outputs the two
 *    transport keys. It is a thin wrapper over the core.
 *
 * Every function returns 0 or a negative errno:
 *   -EINVAL        bad argument or a call out of order for the state;
 *   -EPROTO        unknown wire version (the message header);
 *   -EBADMSG       a message failed: wrong type/nonzero reserved, AEAD
 *                  authentication, a low-order public key, nonzero reserved
 *                  payload bytes;
 *   -EKEYREJECTED  mac1 does not match: the message was not made for our key
 *                  (cheap reject, before any X25519);
 *   -EIO           libsodium could not be initialised.
 */
#ifndef IPOP_CONTROL_NOISE_H
#define IPOP_CONTROL_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/wire.h"

#define IPOP_NOISE_KEY_LEN  32
#define IPOP_NOISE_HASH_LEN 32
#define IPOP_NOISE_TAG_LEN  16

/* Noise message sizes for a payload of p bytes (core layer). */
#define IPOP_NOISE_IK_MSG1_LEN(p) (32 + 32 + IPOP_NOISE_TAG_LEN + (p) + IPOP_NOISE_TAG_LEN)
#define IPOP_NOISE_IK_MSG2_LEN(p) (32 + (p) + IPOP_NOISE_TAG_LEN)

/* An X25519 key pair. priv is the raw 32-byte scalar (clamped by X25519). */
struct ipop_noise_keypair {
	uint8_t priv[IPOP_NOISE_KEY_LEN];
	uint8_t pub[IPOP_NOISE_KEY_LEN];
};

/* The two transport keys of a finished handshake, from Split(). */
struct ipop_noise_session {
	uint8_t send[IPOP_NOISE_KEY_LEN];   /* we encrypt with this */
	uint8_t recv[IPOP_NOISE_KEY_LEN];   /* we decrypt with this */
};

/* Where a handshake state is; each call checks it. A zeroed state is EMPTY. */
enum ipop_noise_stage {
	IPOP_NOISE_EMPTY = 0,
	IPOP_NOISE_I_READY,      /* initiator: set up, message 1 not written */
	IPOP_NOISE_I_SENT,       /* initiator: message 1 written, waiting for 2 */
	IPOP_NOISE_R_READY,      /* responder: set up, message 1 not read */
	IPOP_NOISE_R_RECEIVED,   /* responder: message 1 read, 2 not written */
	IPOP_NOISE_DONE,         /* both messages done: only split is allowed */
};

/* An in-progress handshake. Holds secrets: wipe with ipop_noise_hs_wipe()
 * when abandoning it (the functions below wipe it on completion and on
 * failure, except where noted). Treat it as opaque. */
struct ipop_noise_hs {
	uint8_t ck[IPOP_NOISE_HASH_LEN];    /* chaining key */
	uint8_t h[IPOP_NOISE_HASH_LEN];     /* handshake hash */
	uint8_t k[IPOP_NOISE_KEY_LEN];      /* cipher key, valid when has_k */
	uint64_t n;                         /* cipher nonce */
	bool has_k;
	struct ipop_noise_keypair s;        /* local static (a copy) */
	struct ipop_noise_keypair e;        /* local ephemeral */
	uint8_t rs[IPOP_NOISE_KEY_LEN];     /* remote static */
	uint8_t re[IPOP_NOISE_KEY_LEN];     /* remote ephemeral */
	uint32_t local_index;               /* message layer: our sender_index */
	bool initiator;                     /* our role, for Split() */
	int stage;                          /* enum ipop_noise_stage */
};

/* ---- keys ---- */

/* A fresh random key pair. */
int ipop_noise_keypair_generate(struct ipop_noise_keypair *kp);
/* The public key of a private key (X25519 base-point multiplication). */
int ipop_noise_pubkey(const uint8_t priv[IPOP_NOISE_KEY_LEN],
		      uint8_t pub[IPOP_NOISE_KEY_LEN]);

/* Zero the whole state (sodium_memzero); it is EMPTY afterwards. */
void ipop_noise_hs_wipe(struct ipop_noise_hs *hs);

/* ---- core: generic Noise IK (test vectors use this directly) ---- */

/* Set up as initiator: static key s, the responder's static key rs. */
int ipop_noise_ik_initiator(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *s,
			    const uint8_t rs[IPOP_NOISE_KEY_LEN],
			    const uint8_t *prologue, size_t plen);
/* Set up as responder with static key s. */
int ipop_noise_ik_responder(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *s,
			    const uint8_t *prologue, size_t plen);
/* -> e, es, s, ss, payload. e is the ephemeral key pair to use: the message
 * layer passes a fresh random one; tests pass the vectors' fixed one.
 * out must hold IPOP_NOISE_IK_MSG1_LEN(len) bytes. */
int ipop_noise_ik_write_msg1(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *e,
			     const uint8_t *payload, size_t len, uint8_t *out);
/* Read message 1 of mlen bytes; the payload (mlen - 96 bytes) goes to
 * payload_out, the initiator's static key to hs->rs. */
int ipop_noise_ik_read_msg1(struct ipop_noise_hs *hs, const uint8_t *msg, size_t mlen,
			    uint8_t *payload_out);
/* <- e, ee, se, payload. out must hold IPOP_NOISE_IK_MSG2_LEN(len) bytes. */
int ipop_noise_ik_write_msg2(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *e,
			     const uint8_t *payload, size_t len, uint8_t *out);
/* Read message 2 of mlen bytes; payload (mlen - 48 bytes) to payload_out. */
int ipop_noise_ik_read_msg2(struct ipop_noise_hs *hs, const uint8_t *msg, size_t mlen,
			    uint8_t *payload_out);
/* Split(): the transport keys for our role (initiator sends with k1,
 * responder with k2), and the final handshake hash if hash_out is not NULL.
 * Wipes hs. */
int ipop_noise_ik_split(struct ipop_noise_hs *hs, struct ipop_noise_session *keys,
			uint8_t hash_out[IPOP_NOISE_HASH_LEN]);

/* ---- ipop message layer ---- */

/* Initiator: build message 1 to the peer whose static key is remote_pub.
 * sender_index is opaque (stored as given, like wire.h's indices). On
 * failure hs is wiped. */
int ipop_noise_init_create(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *local,
			   const uint8_t remote_pub[IPOP_NOISE_KEY_LEN],
			   const uint8_t *prologue, size_t plen,
			   const struct ipop_hs_payload *pl, uint32_t sender_index,
			   struct ipop_hs_init *out);

/* Responder: check the header, then mac1 (keyed with local->pub), then run
 * the Noise message. Gives the initiator's static key and payload. The
 * caller must then decide: is remote_pub an authorised peer, and is
 * pl_out->timestamp newer than the last accepted one from that peer? If not,
 * wipe hs; if so, call ipop_noise_resp_create. On failure hs is wiped. */
int ipop_noise_init_consume(struct ipop_noise_hs *hs, const struct ipop_noise_keypair *local,
			    const uint8_t *prologue, size_t plen,
			    const struct ipop_hs_init *in,
			    uint8_t remote_pub_out[IPOP_NOISE_KEY_LEN],
			    struct ipop_hs_payload *pl_out);

/* Responder: build message 2 (receiver_index = the initiator's
 * sender_index) and output the transport keys. hs is wiped afterwards,
 * whether it succeeded or not. */
int ipop_noise_resp_create(struct ipop_noise_hs *hs, const struct ipop_hs_payload *pl,
			   uint32_t sender_index, uint32_t receiver_index,
			   struct ipop_hs_resp *out, struct ipop_noise_session *keys);

/* Initiator: check the header, that receiver_index is ours (-EINVAL if not),
 * mac1 (keyed with our own static public key), then the Noise message, and
 * output the peer's payload and the transport keys. On success hs is wiped.
 * On failure hs is left as it was, so that a forged or corrupted response
 * cannot abort a handshake whose genuine response is still on its way; the
 * working copy is wiped. Abandon it with ipop_noise_hs_wipe(). */
int ipop_noise_resp_consume(struct ipop_noise_hs *hs, const struct ipop_hs_resp *in,
			    struct ipop_hs_payload *pl_out, struct ipop_noise_session *keys);

/* ---- mac1 ----
 * key  = BLAKE2b-256("mac1----" || receiver's static public key)
 * mac1 = BLAKE2b-128 keyed with key, over every message byte before mac1.
 * (BLAKE2b = libsodium crypto_generichash, output 32 resp. 16 bytes.) */
int ipop_noise_mac1_key(const uint8_t pub[IPOP_NOISE_KEY_LEN],
			uint8_t key[IPOP_NOISE_KEY_LEN]);
int ipop_noise_mac1(const uint8_t key[IPOP_NOISE_KEY_LEN], const uint8_t *msg, size_t len,
		    uint8_t mac[IPOP_MAC1_LEN]);
/* 0 if mac matches (constant-time compare), else -EKEYREJECTED. */
int ipop_noise_mac1_check(const uint8_t key[IPOP_NOISE_KEY_LEN], const uint8_t *msg,
			  size_t len, const uint8_t mac[IPOP_MAC1_LEN]);

/* ---- TAI64N timestamps (anti-replay of initiations) ----
 * 8 bytes big-endian TAI64 label (2^62 + 10 + Unix seconds) then 4 bytes
 * big-endian nanoseconds; later times compare greater bytewise. */
int ipop_tai64n_now(uint8_t out[IPOP_TIMESTAMP_LEN]);
/* true if a is strictly later than b (not constant time). */
bool ipop_tai64n_newer(const uint8_t a[IPOP_TIMESTAMP_LEN],
		       const uint8_t b[IPOP_TIMESTAMP_LEN]);

#endif

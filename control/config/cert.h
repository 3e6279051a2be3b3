/* cert.h - overlay member certificates: the overlay administrator's Ed25519
 * key (the CA) signs a member's node ID, X25519 public key and overlay name
 * for a time window, with a serial number for revocation. Thread: either
 * (pure functions; ipopctl signs, ipopd checks on the control thread).
 *
 * Encoding, version 1 (docs/wire-format.md, "Member certificate"), all
 * integers big-endian:
 *
 *   0   1   version (1)
 *   1   1   flags (0; anything else is refused)
 *   2   8   serial
 *   10  8   not_before, Unix seconds
 *   18  8   not_after, Unix seconds (the certificate is valid while
 *           not_before <= now < not_after)
 *   26  16  node ID (BLAKE2b-128 of the key)
 *   42  32  the member's X25519 public key
 *   74  1   L, the overlay name's length, 1..63
 *   75  L   the overlay name (printable ASCII)
 *   75+L 64 Ed25519 signature by the CA over "ipop member certificate v1\0"
 *           followed by bytes 0 .. 75+L-1
 *
 * In files and in presences it travels as standard padded base64 (one line).
 * The CA's secret key file holds the 32-byte Ed25519 seed in the node key
 * file's format (identity.h: base64, mode 0600).
 */
#ifndef IPOP_CONTROL_CERT_H
#define IPOP_CONTROL_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/ring.h"

#define IPOP_CERT_VERSION 1
#define IPOP_CERT_OVERLAY_MAX 63
#define IPOP_CERT_FIXED 75           /* bytes before the overlay name */
#define IPOP_CERT_SIG 64
#define IPOP_CERT_MAX (IPOP_CERT_FIXED + IPOP_CERT_OVERLAY_MAX + IPOP_CERT_SIG)
/* base64 of IPOP_CERT_MAX bytes (272 characters) and the NUL */
#define IPOP_CERT_B64_MAX (4 * ((IPOP_CERT_MAX + 2) / 3) + 1)

struct ipop_cert {
	uint64_t serial;
	uint64_t not_before, not_after;
	struct ipop_node_id node;
	uint8_t key[32];
	char overlay[IPOP_CERT_OVERLAY_MAX + 1];
	uint8_t sig[IPOP_CERT_SIG];
};

/* Why a certificate is refused: X(enum suffix, name, meaning). Each has a
 * counter (family trust_refusals); names are part of the management API. */
#define IPOP_CERT_REJECTS(X) \
	X(MISSING, missing, "no certificate, while a CA is configured") \
	X(BAD_ENCODING, bad_encoding, "not base64 of a version-1 certificate (length, flags, overlay name)") \
	X(BAD_SIGNATURE, bad_signature, "not signed by the configured CA") \
	X(WRONG_OVERLAY, wrong_overlay, "signed for another overlay") \
	X(WRONG_KEY, wrong_key, "signed for another node ID or key than the one announced") \
	X(NOT_YET_VALID, not_yet_valid, "its not_before is in the future") \
	X(EXPIRED, expired, "its not_after has passed") \
	X(REVOKED, revoked, "its serial is in the revocation list")

#define IPOP_CERT_REJECT_ENUM(id, name, doc) IPOP_CERT_REJ_##id,
enum ipop_cert_reject {
	IPOP_CERT_OK,
	IPOP_CERT_REJECTS(IPOP_CERT_REJECT_ENUM)
	IPOP_CERT_REJ_MAX
};

const char *ipop_cert_reject_name(enum ipop_cert_reject r);

/* The signed bytes and the signature; returns the length, or -EINVAL when the
 * overlay name is empty, too long or not printable, or cap is too small. */
int ipop_cert_encode(const struct ipop_cert *c, uint8_t *out, size_t cap);
/* Parse exactly len bytes; 0 or -EINVAL (c zeroed). The signature is not
 * checked here. */
int ipop_cert_decode(const uint8_t *in, size_t len, struct ipop_cert *c);
/* Sign c (all fields but sig set) with the CA's Ed25519 secret key
 * (crypto_sign's 64-byte form). 0 or -EINVAL. */
int ipop_cert_sign(struct ipop_cert *c, const uint8_t ca_sk[64]);

int ipop_cert_to_base64(const struct ipop_cert *c, char out[IPOP_CERT_B64_MAX]);
/* 0, or -EINVAL for anything but canonical padded base64 of a certificate. */
int ipop_cert_from_base64(const char *s, struct ipop_cert *c);

/* Whether c, signed by ca_pub, vouches for key in overlay at now_s (Unix
 * seconds): IPOP_CERT_OK or the first reason it does not (signature, overlay,
 * key and node ID, time window; revocation is the caller's list). */
enum ipop_cert_reject ipop_cert_check(const struct ipop_cert *c, const uint8_t ca_pub[32],
				      const uint8_t key[32], const char *overlay, uint64_t now_s);

/* Read a certificate file (one line of base64). 0, or a negative errno with
 * one line naming PATH and the problem in err. */
int ipop_cert_load(const char *path, struct ipop_cert *c, char *err, size_t errlen);

/* The CA key pair from its 32-byte seed: pk (32) and sk (64, crypto_sign). */
void ipop_ca_keypair(const uint8_t seed[32], uint8_t pk[32], uint8_t sk[64]);

#endif

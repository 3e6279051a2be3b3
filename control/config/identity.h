/* identity.h - a node's long-term identity: an X25519 key pair, and its key file.
 *
 * Thread: control (read at start-up, or by the key-generation tool).
 * The key file holds one line: the 32-byte private key in standard base64 with
 * padding (44 characters), optionally followed by a newline. It must not be
 * readable or writable by group or others; ipop_identity_load refuses it
 * otherwise, as ssh does for private keys. Public keys travel in the same
 * base64 form (configuration files, the management API, logs).
 *
 * Every buffer that held private key material is wiped with sodium_memzero
 * before these functions return, on success and on failure.
 */
#ifndef IPOP_CONTROL_IDENTITY_H
#define IPOP_CONTROL_IDENTITY_H

#include <stdint.h>
#include <stddef.h>

#include "dataplane/ring.h"

#define IPOP_KEY_B64_LEN 45 /* 44 base64 characters and the NUL */

/* A fresh key pair: 32 random bytes clamped as X25519 requires, and the public
 * key derived from them. Returns 0, or -EIO if libsodium cannot initialise. */
int ipop_identity_generate(uint8_t priv[32], uint8_t pub[32]);

/* Read the private key from PATH and derive the public key. On error returns
 * a negative errno and writes one line naming PATH and the problem into err:
 *   -EACCES  the file's mode lets group or others read or write it
 *   -EINVAL  not one line of base64 of exactly 32 bytes, or not a regular file
 *   other    the errno of open/read */
int ipop_identity_load(const char *path, uint8_t priv[32], uint8_t pub[32],
		       char *err, size_t errlen);

/* The same file format and permission rules for any 32-byte secret (the
 * overlay CA's Ed25519 seed, control/config/cert.h): no key derivation. */
int ipop_secret_load(const char *path, uint8_t secret[32], char *err, size_t errlen);

/* Write the private key to a new file PATH with mode 0600. Refuses to replace
 * an existing file (-EEXIST); a half-written file is removed. */
int ipop_identity_save(const char *path, const uint8_t priv[32]);

/* Encode a key as 44 base64 characters (standard alphabet, padded) and a NUL.
 * Returns 0. */
int ipop_key_to_base64(const uint8_t k[32], char out[IPOP_KEY_B64_LEN]);

/* Decode exactly 32 bytes from S (exactly 44 characters, padded, canonical).
 * Returns 0, or -EINVAL for anything else (k is zeroed then). */
int ipop_key_from_base64(const char *s, uint8_t k[32]);

/* A node's place on the ring: BLAKE2b-128 (libsodium's crypto_generichash with a
 * 16-byte output, no key) of its public key, read big-endian. Anyone can check
 * that an announced ID belongs to an announced key. */
struct ipop_node_id ipop_node_id_of_key(const uint8_t pub[32]);

/* Whether PUB can serve as a peer's static key: 0, or -EINVAL if it is a
 * small-order point (Diffie-Hellman with it would give a predictable secret). */
int ipop_key_check_public(const uint8_t pub[32]);

#endif

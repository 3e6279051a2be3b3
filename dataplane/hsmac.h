/* hsmac.h - mac1 of handshake messages, checked by the workers before a
 * handshake may cross the ring to the control thread (docs/handshake.md,
 * "mac1" and "mac1 in the workers"). Thread: either (pure; the fast path
 * calls it per handshake-shaped packet, never per data packet).
 *
 * mac1 = BLAKE2b-128(key = mac1_key, every message byte before mac1), where
 * mac1_key = BLAKE2b-256("mac1----" || our static public key): control
 * derives it once (control/session/noise.c) and publishes it in the
 * fast-path table (dataplane/tables.h: mac1_key, mac1_set). BLAKE2b is
 * libsodium's crypto_generichash, the same function control uses, so both
 * sides agree by construction; it works on the stack and neither allocates
 * nor locks nor makes a system call.
 */
#ifndef IPOP_DATAPLANE_HSMAC_H
#define IPOP_DATAPLANE_HSMAC_H

#include <stddef.h>
#include <stdint.h>

#define IPOP_HSMAC_KEY_LEN 32

/* The message p (len bytes of UDP payload) of wire type `type`, addressed to
 * the holder of key: 0 when its mac1 verifies (constant-time compare), or
 * when the type carries no mac1 (a cookie reply: it is sealed for one
 * initiation of ours, which only control knows); -EKEYREJECTED when mac1
 * does not verify; -EMSGSIZE when len is not the exact length of a
 * handshake of that type (ipop_wire_classify checks it first on the fast
 * path); -EINVAL for any other type or a NULL argument. */
int ipop_hsmac_check(const uint8_t key[IPOP_HSMAC_KEY_LEN], const uint8_t *p, size_t len, int type);

#endif

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
 *
 * Under load the workers also check mac2 of initiations (docs/handshake.md,
 * "mac2 in the workers"): the cookie and mac2 are defined here, once, and
 * control's session/cookie.c computes them with these same functions:
 *   cookie = SipHash-2-4-128(key = secret, source IPv4 address || UDP source port)
 *   mac2   = BLAKE2b-128(key = cookie, every message byte before mac2)
 * The cookie is ours alone (the initiator only receives it, sealed), so its
 * function is not part of the wire: SipHash-2-4 with its 128-bit output
 * (libsodium's crypto_shorthash_siphashx24) is a PRF under a 128-bit key,
 * all a cookie needs, at 27 cycles against keyed BLAKE2b's 894 (two
 * compressions for 6 bytes) on the worker's path under a spoofed flood.
 * The secret is control's (published in the fast-path table while under load,
 * dataplane/tables.h). The functions keep nothing, and every intermediate
 * (the cookie, the expected MAC) is wiped before returning. (A per-worker
 * cache of cookies existed while the cookie was keyed BLAKE2b; with SipHash
 * it would save 27 cycles of about 1,400 a check and keep secret-derived
 * cookies in worker memory: gone.)
 */
#ifndef IPOP_DATAPLANE_HSMAC_H
#define IPOP_DATAPLANE_HSMAC_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/wire.h"

#define IPOP_HSMAC_KEY_LEN 32

/* The message p (len bytes of UDP payload) of wire type `type`, addressed to
 * the holder of key: 0 when its mac1 verifies (constant-time compare), or
 * when the type carries no mac1 (a cookie reply: it is sealed for one
 * initiation of ours, which only control knows); -EKEYREJECTED when mac1
 * does not verify; -EMSGSIZE when len is not the exact length of a
 * handshake of that type (ipop_wire_classify checks it first on the fast
 * path); -EINVAL for any other type or a NULL argument. */
int ipop_hsmac_check(const uint8_t key[IPOP_HSMAC_KEY_LEN], const uint8_t *p, size_t len, int type);

#define IPOP_HSMAC_SECRET_LEN 16   /* SipHash-2-4's key */

/* The cookie of the source (ip, port: network order, as on the wire) under
 * secret. 0, or -EINVAL (NULL argument), -EIO (SipHash refused). */
int ipop_hsmac_cookie(const uint8_t secret[IPOP_HSMAC_SECRET_LEN], uint32_t ip, uint16_t port,
		      uint8_t cookie[IPOP_COOKIE_LEN]);
/* mac2 = BLAKE2b-128(key = cookie, msg[0..len)). 0, -EINVAL or -EIO. */
int ipop_hsmac_mac2(const uint8_t cookie[IPOP_COOKIE_LEN], const void *msg, size_t len,
		    uint8_t mac2[IPOP_MAC2_LEN]);
/* mac2 of msg (its field at mac2_off, over the bytes before it) against the
 * cookie of (ip, port) under secret: 0, -EKEYREJECTED (constant-time
 * compare), -EINVAL or -EIO. The cookie is wiped before returning. */
int ipop_hsmac_verify_mac2(const uint8_t secret[IPOP_HSMAC_SECRET_LEN], const void *msg,
			   size_t mac2_off, uint32_t ip, uint16_t port);
/* The initiation p (len bytes of UDP payload) from (ip, port): 0 when its
 * mac2 is the one the cookie of that source under secret makes (constant-time
 * compare), -EKEYREJECTED when not, -EMSGSIZE when len is not an
 * initiation's, -EINVAL for a NULL argument. */
int ipop_hsmac_check_mac2(const uint8_t secret[IPOP_HSMAC_SECRET_LEN], const uint8_t *p, size_t len,
			  uint32_t ip, uint16_t port);

/* The workers' verdicts on a handshake they queue to control, as mbuf dynamic
 * flags (rte_mbuf_dynflag_register) in ol_flags, so control does not check
 * again what a worker checked (docs/handshake.md, "mac2 in the workers"):
 *   mac1_ok  - its mac1 verified for our key;
 *   mac2_ok  - an initiation under load whose mac2 verified (its source is
 *              proven under the secret of the worker's table);
 *   mac2_bad - an initiation under load whose mac2 did not verify.
 * Registered once by ipop_hsmac_flags_register() before the workers start;
 * 0 (no flag: control checks everything itself) until then and in tests that
 * feed control directly. Written once, read-only afterwards (the lcores'
 * launch orders the write before their reads). The worker clears all three
 * before it checks a handshake, so control reads only verdicts made for that
 * very packet. */
extern uint64_t ipop_hsmac_fl_mac1_ok, ipop_hsmac_fl_mac2_ok, ipop_hsmac_fl_mac2_bad;
/* 0, or a negative errno when DPDK has no room for the flags (then they stay
 * 0 and control checks everything, as before). */
int ipop_hsmac_flags_register(void);

#endif

/* cookie.h - WireGuard-style cookie replies and mac2 (docs/handshake.md,
 * "Cookie replies"): how a responder under a flood of initiations makes a
 * sender prove it receives at its source address before it spends any X25519
 * on it, and how an initiator keeps and uses the cookie it was given.
 * Thread: control (either for the pure functions; no state is shared).
 *
 * The cookie and mac2 themselves are dataplane/hsmac.h's (the workers check
 * mac2 under load with the secret control publishes): these call them.
 *
 * Responder side (struct ipop_cookie_checker, one per node, written by the
 * control thread only): a random secret redrawn every IPOP_COOKIE_SECRET_MS;
 *   cookie = SipHash-2-4-128(key = secret, source IPv4 address || UDP source port)
 * An initiation proves its address when its mac2 verifies:
 *   mac2   = BLAKE2b-128(key = cookie, every message byte before mac2)
 * A cookie reply carries the cookie encrypted with XChaCha20-Poly1305 under
 *   BLAKE2b-256("cookie--" || responder's static public key)
 * with a random 24-byte nonce and the initiation's mac1 as associated data, so
 * only whoever sent that very initiation (and knows our key) can use it.
 *
 * Initiator side: the functions take the peer's reply key and the mac1 it
 * sent; the peer (control/session/peer.h) holds the cookie and when it came.
 *
 * Every function returns 0 or a negative errno: -EKEYREJECTED (a MAC does not
 * verify), -EBADMSG (a cookie reply that does not authenticate, or a wrong
 * header), -EINVAL (bad argument), -EIO (libsodium could not initialise).
 */
#ifndef IPOP_CONTROL_SESSION_COOKIE_H
#define IPOP_CONTROL_SESSION_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/hsmac.h"
#include "dataplane/wire.h"

/* The responder's secret lives this long (WireGuard's 2 minutes): a cookie
 * stays valid at most that long, so a sender proves its address anew at
 * least that often. */
#define IPOP_COOKIE_SECRET_MS 120000
/* An initiator uses a cookie this long after it arrived: less than the
 * secret's life by a margin for the reply's transit and a retry's wait, after
 * which the responder would refuse it anyway. */
#define IPOP_COOKIE_FRESH_MS  (IPOP_COOKIE_SECRET_MS - 5000)

/* Nonces drawn from the kernel this many at a time: one getrandom() costs
 * about as much as the rest of a cookie reply (~7 us measured here). */
#define IPOP_COOKIE_NONCE_POOL 64

struct ipop_cookie_checker {
	bool ready;
	unsigned nonces_left;          /* unused nonces at the end of nonce_pool */
	uint8_t nonce_pool[IPOP_COOKIE_NONCE_POOL][IPOP_COOKIE_NONCE_LEN];
	uint8_t secret[IPOP_HSMAC_SECRET_LEN];   /* secret; wiped by ipop_cookie_checker_wipe */
	uint64_t secret_ms;            /* when it was drawn */
	uint8_t reply_key[32];         /* BLAKE2b-256("cookie--" || our public key) */
	uint8_t mac1_key[32];          /* BLAKE2b-256("mac1----" || our public key) */
};

/* Set up for our static public key, with a fresh secret as of now_ms. */
int ipop_cookie_checker_init(struct ipop_cookie_checker *c, const uint8_t pub[32], uint64_t now_ms);
/* Zero everything (sodium_memzero); not ready afterwards. */
void ipop_cookie_checker_wipe(struct ipop_cookie_checker *c);

/* The cookie of a source (ip, port: network order) under the current secret;
 * draws a new secret first when it is IPOP_COOKIE_SECRET_MS old. */
int ipop_cookie_make(struct ipop_cookie_checker *c, uint32_t ip, uint16_t port, uint64_t now_ms,
		     uint8_t cookie[IPOP_COOKIE_LEN]);
/* Draw a new secret if the current one is IPOP_COOKIE_SECRET_MS old (or the
 * clock went back); true when it did (a table carrying the old one must be
 * republished: the workers check mac2 with it under load). */
bool ipop_cookie_rotate(struct ipop_cookie_checker *c, uint64_t now_ms);
/* mac1 of msg (its field at mac1_off) keyed for our key: 0 or -EKEYREJECTED. */
int ipop_cookie_check_mac1(const struct ipop_cookie_checker *c, const void *msg, size_t mac1_off);
/* mac2 of msg (its field at mac2_off, over the bytes before it) made with the
 * cookie of (ip, port): 0 or -EKEYREJECTED (constant-time compare). */
int ipop_cookie_check_mac2(struct ipop_cookie_checker *c, const void *msg, size_t mac2_off,
			   uint32_t ip, uint16_t port, uint64_t now_ms);
/* The cookie reply to an initiation from (ip, port) with sender index
 * receiver_index (stored as given) and mac1 mac1. */
int ipop_cookie_reply_create(struct ipop_cookie_checker *c, uint32_t receiver_index,
			     const uint8_t mac1[IPOP_MAC1_LEN], uint32_t ip, uint16_t port,
			     uint64_t now_ms, struct ipop_cookie_reply *out);

/* Initiator: the key cookie replies from the peer with static key pub use. */
int ipop_cookie_reply_key(const uint8_t pub[32], uint8_t key[32]);
/* Initiator: open a cookie reply to the initiation whose mac1 we sent; the
 * caller has matched its receiver index. 0 with the cookie, or -EBADMSG. */
int ipop_cookie_reply_open(const uint8_t key[32], const uint8_t mac1[IPOP_MAC1_LEN],
			   const struct ipop_cookie_reply *in, uint8_t cookie[IPOP_COOKIE_LEN]);
/* mac2 = BLAKE2b-128(key = cookie, msg[0..len)). */
int ipop_cookie_mac2(const uint8_t cookie[IPOP_COOKIE_LEN], const void *msg, size_t len,
		     uint8_t mac2[IPOP_MAC2_LEN]);

#endif

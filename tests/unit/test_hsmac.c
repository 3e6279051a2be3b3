/* test_hsmac.c - dataplane/hsmac: the workers' mac1 check on real handshake
 * messages made by control's Noise code (control/session/noise.c), so that
 * the fast path and control agree on what mac1 is: an initiation and a
 * response to us pass, the same with any one bit of their first bytes or
 * their mac1 flipped, or addressed to another key, are refused; wrong
 * lengths are refused; a cookie reply (no mac1) passes; the key control
 * publishes is the one ipop_noise_mac1_key derives; under load, the workers'
 * mac2 check agrees with control's cookie checker (test_mac2). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "control/session/cookie.h"
#include "control/session/noise.h"
#include "dataplane/hsmac.h"
#include "dataplane/wire.h"
#include "check.h"

static const uint8_t prologue[] = "ipop v1 overlay=test";

struct fixture {
	struct ipop_noise_keypair a, b, c;   /* a initiates to b; c is someone else */
	uint8_t key_a[32], key_b[32], key_c[32];
	struct ipop_hs_init init;            /* a -> b */
	struct ipop_hs_resp resp;            /* b -> a */
};

static void payload(struct ipop_hs_payload *pl)
{
	memset(pl, 0, sizeof(*pl));
	CHECK(ipop_tai64n_now(pl->timestamp) == 0);
	pl->rx_cipher = IPOP_CIPHER_AES256GCM;
}

static int fixture_init(struct fixture *f)
{
	struct ipop_noise_hs hi, hr;
	struct ipop_hs_payload pl, got;
	struct ipop_noise_session ki, kr;
	uint8_t rpub[32];

	if (ipop_noise_keypair_generate(&f->a) != 0 || ipop_noise_keypair_generate(&f->b) != 0 ||
	    ipop_noise_keypair_generate(&f->c) != 0)
		return -1;
	CHECK(ipop_noise_mac1_key(f->a.pub, f->key_a) == 0);
	CHECK(ipop_noise_mac1_key(f->b.pub, f->key_b) == 0);
	CHECK(ipop_noise_mac1_key(f->c.pub, f->key_c) == 0);
	payload(&pl);
	CHECK(ipop_noise_init_create(&hi, &f->a, f->b.pub, prologue, sizeof(prologue) - 1, &pl,
				     0x01020304, &f->init) == 0);
	CHECK(ipop_noise_init_consume(&hr, &f->b, prologue, sizeof(prologue) - 1, &f->init, rpub,
				      &got) == 0);
	payload(&pl);
	CHECK(ipop_noise_resp_create(&hr, &pl, 0x0a0b0c0d, f->init.sender_index, &f->resp, &kr) == 0);
	/* The response is genuine: the initiator takes it. */
	CHECK(ipop_noise_resp_consume(&hi, &f->resp, &got, &ki) == 0);
	return 0;
}

/* One message of type `type` (len bytes, mac1 at mac1_off) to the holder of
 * key (other: a third key): passes as made, fails with each of its bits up to
 * the end of mac1 flipped once, fails for the other key; mac2 (after mac1)
 * is not the worker's to check. */
static void check_msg(const uint8_t key[32], const uint8_t other[32], const void *msg, size_t len,
		      size_t mac1_off, int type)
{
	uint8_t m[sizeof(struct ipop_hs_init)];
	unsigned refused = 0, bits = 0;

	memcpy(m, msg, len);
	CHECK(ipop_hsmac_check(key, m, len, type) == 0);
	CHECK(ipop_hsmac_check(other, m, len, type) == -EKEYREJECTED);
	for (size_t i = 0; i < mac1_off + IPOP_MAC1_LEN; i++) {
		for (unsigned b = 0; b < 8; b++) {
			m[i] ^= (uint8_t)(1u << b);
			refused += ipop_hsmac_check(key, m, len, type) == -EKEYREJECTED;
			bits++;
			m[i] ^= (uint8_t)(1u << b);
		}
	}
	CHECK(refused == bits);
	m[mac1_off + IPOP_MAC1_LEN] ^= 0x80;   /* mac2 */
	CHECK(ipop_hsmac_check(key, m, len, type) == 0);
	/* One byte short or long: not a handshake of this type. */
	CHECK(ipop_hsmac_check(key, m, len - 1, type) == -EMSGSIZE);
	CHECK(ipop_hsmac_check(key, m, len + 1, type) == -EMSGSIZE);
	CHECK(ipop_hsmac_check(key, m, 0, type) == -EMSGSIZE);
}

static void test_cookie_reply(const struct fixture *f)
{
	struct ipop_cookie_reply r;

	memset(&r, 0x5a, sizeof(r));
	r.type = IPOP_MSG_COOKIE_REPLY;
	r.version = IPOP_WIRE_VERSION;
	r.reserved = 0;
	/* No mac1 to check: it is sealed for one initiation of ours, which only
	 * control knows, so it goes on whatever its content. */
	CHECK(ipop_hsmac_check(f->key_a, (const uint8_t *)&r, sizeof(r), IPOP_MSG_COOKIE_REPLY) == 0);
	CHECK(ipop_hsmac_check(f->key_c, (const uint8_t *)&r, sizeof(r), IPOP_MSG_COOKIE_REPLY) == 0);
	CHECK(ipop_hsmac_check(f->key_a, (const uint8_t *)&r, sizeof(r) - 1,
			       IPOP_MSG_COOKIE_REPLY) == -EMSGSIZE);
}

static void test_args(const struct fixture *f)
{
	CHECK(ipop_hsmac_check(NULL, (const uint8_t *)&f->init, sizeof(f->init),
			       IPOP_MSG_HANDSHAKE_INIT) == -EINVAL);
	CHECK(ipop_hsmac_check(f->key_b, NULL, sizeof(f->init), IPOP_MSG_HANDSHAKE_INIT) == -EINVAL);
	CHECK(ipop_hsmac_check(f->key_b, (const uint8_t *)&f->init, sizeof(f->init),
			       IPOP_MSG_DATA) == -EINVAL);
	/* An initiation checked as a response (and the reverse): wrong length. */
	CHECK(ipop_hsmac_check(f->key_b, (const uint8_t *)&f->init, sizeof(f->init),
			       IPOP_MSG_HANDSHAKE_RESP) == -EMSGSIZE);
	CHECK(ipop_hsmac_check(f->key_a, (const uint8_t *)&f->resp, sizeof(f->resp),
			       IPOP_MSG_HANDSHAKE_INIT) == -EMSGSIZE);
}

/* Random 152-byte initiations (a flood's `shape`): none passes. */
static void test_random(const struct fixture *f)
{
	uint8_t m[sizeof(struct ipop_hs_init)];
	unsigned passed = 0;

	for (int i = 0; i < 10000; i++) {
		randombytes_buf(m, sizeof(m));
		m[0] = IPOP_MSG_HANDSHAKE_INIT, m[1] = IPOP_WIRE_VERSION, m[2] = m[3] = 0;
		passed += ipop_hsmac_check(f->key_b, m, sizeof(m), IPOP_MSG_HANDSHAKE_INIT) == 0;
	}
	CHECK(passed == 0);
}

/* mac2 under load (the workers' check, dataplane/hsmac.h) against control's
 * cookie checker (control/session/cookie.c) holding the same secret: an
 * initiation whose mac2 control's initiator side made with the cookie of its
 * source passes in both; the cookie is the documented SipHash-2-4-128 of the
 * source under the secret (computed here from the definition); another
 * secret, port or address, or any flipped bit of the message or mac2, fails
 * in both; lengths and arguments are refused. */
static void test_mac2(const struct fixture *f)
{
	struct ipop_cookie_checker ck;
	struct ipop_hs_init m = f->init;
	const size_t off = offsetof(struct ipop_hs_init, mac2);
	const uint32_t ip = 0x0a5b0202u, ip2 = 0x0a5b0203u;   /* network order: any value */
	const uint16_t port = 0xa816u, port2 = 0xa916u;
	uint8_t cookie[IPOP_COOKIE_LEN], ref[IPOP_COOKIE_LEN], other[IPOP_HSMAC_SECRET_LEN];
	uint8_t src[6];
	uint64_t now = 1000;

	CHECK(ipop_cookie_checker_init(&ck, f->b.pub, now) == 0);
	/* The cookie as docs/handshake.md defines it, and as both compute it. */
	memcpy(src, &ip, 4);
	memcpy(src + 4, &port, 2);
	CHECK(sizeof(ck.secret) == crypto_shorthash_siphashx24_KEYBYTES);
	CHECK(crypto_shorthash_siphashx24(ref, src, sizeof(src), ck.secret) == 0);
	CHECK(ipop_hsmac_cookie(ck.secret, ip, port, cookie) == 0);
	CHECK(memcmp(cookie, ref, sizeof(ref)) == 0);
	CHECK(ipop_cookie_make(&ck, ip, port, now, cookie) == 0);
	CHECK(memcmp(cookie, ref, sizeof(ref)) == 0);
	/* The initiator's mac2 with that cookie (control's function). */
	CHECK(ipop_cookie_mac2(cookie, &m, off, m.mac2) == 0);
	CHECK(ipop_hsmac_check_mac2(ck.secret, (const uint8_t *)&m, sizeof(m), ip, port) == 0);
	CHECK(ipop_cookie_check_mac2(&ck, &m, off, ip, port, now) == 0);
	/* mac1 is not mac2's business, but mac1 is still valid for b. */
	CHECK(ipop_hsmac_check(f->key_b, (const uint8_t *)&m, sizeof(m), IPOP_MSG_HANDSHAKE_INIT) == 0);
	/* Another source: refused by both. */
	CHECK(ipop_hsmac_check_mac2(ck.secret, (const uint8_t *)&m, sizeof(m), ip, port2) == -EKEYREJECTED);
	CHECK(ipop_hsmac_check_mac2(ck.secret, (const uint8_t *)&m, sizeof(m), ip2, port) == -EKEYREJECTED);
	CHECK(ipop_cookie_check_mac2(&ck, &m, off, ip, port2, now) == -EKEYREJECTED);
	CHECK(ipop_cookie_check_mac2(&ck, &m, off, ip2, port, now) == -EKEYREJECTED);
	/* Another secret: refused. */
	memcpy(other, ck.secret, sizeof(other));
	other[IPOP_HSMAC_SECRET_LEN - 1] ^= 1;
	CHECK(ipop_hsmac_check_mac2(other, (const uint8_t *)&m, sizeof(m), ip, port) == -EKEYREJECTED);
	/* After control's secret rotates, the old mac2 fails in both; the
	 * workers' check with the new secret agrees with control again. */
	CHECK(!ipop_cookie_rotate(&ck, now + IPOP_COOKIE_SECRET_MS - 1));
	CHECK(ipop_cookie_rotate(&ck, now + IPOP_COOKIE_SECRET_MS));
	CHECK(ipop_cookie_check_mac2(&ck, &m, off, ip, port, now + IPOP_COOKIE_SECRET_MS) == -EKEYREJECTED);
	CHECK(ipop_hsmac_check_mac2(ck.secret, (const uint8_t *)&m, sizeof(m), ip, port) == -EKEYREJECTED);
	CHECK(ipop_cookie_make(&ck, ip, port, now + IPOP_COOKIE_SECRET_MS, cookie) == 0);
	CHECK(ipop_cookie_mac2(cookie, &m, off, m.mac2) == 0);
	CHECK(ipop_hsmac_check_mac2(ck.secret, (const uint8_t *)&m, sizeof(m), ip, port) == 0);
	/* Every bit before and of mac2 matters. */
	unsigned refused = 0, bits = 0;
	uint8_t *b = (uint8_t *)&m;
	for (size_t i = 0; i < off + IPOP_MAC2_LEN; i++) {
		for (unsigned k = 0; k < 8; k++) {
			b[i] ^= (uint8_t)(1u << k);
			refused += ipop_hsmac_check_mac2(ck.secret, b, sizeof(m), ip, port) == -EKEYREJECTED;
			bits++;
			b[i] ^= (uint8_t)(1u << k);
		}
	}
	CHECK(refused == bits);
	/* Lengths, arguments. */
	CHECK(ipop_hsmac_check_mac2(ck.secret, b, sizeof(m) - 1, ip, port) == -EMSGSIZE);
	CHECK(ipop_hsmac_check_mac2(ck.secret, (const uint8_t *)&f->resp, sizeof(f->resp), ip, port) ==
	      -EMSGSIZE);
	CHECK(ipop_hsmac_check_mac2(NULL, b, sizeof(m), ip, port) == -EINVAL);
	CHECK(ipop_hsmac_check_mac2(ck.secret, NULL, sizeof(m), ip, port) == -EINVAL);
	CHECK(ipop_hsmac_cookie(NULL, ip, port, cookie) == -EINVAL);
	ipop_cookie_checker_wipe(&ck);
}

int main(void)
{
	struct fixture f;

	if (sodium_init() < 0 || fixture_init(&f) != 0) {
		fprintf(stderr, "test_hsmac: cannot set up\n");
		return 1;
	}
	check_msg(f.key_b, f.key_c, &f.init, sizeof(f.init), offsetof(struct ipop_hs_init, mac1),
		  IPOP_MSG_HANDSHAKE_INIT);
	check_msg(f.key_a, f.key_c, &f.resp, sizeof(f.resp), offsetof(struct ipop_hs_resp, mac1),
		  IPOP_MSG_HANDSHAKE_RESP);
	/* The initiation is b's, not a's: keyed for the responder. */
	CHECK(ipop_hsmac_check(f.key_a, (const uint8_t *)&f.init, sizeof(f.init),
			       IPOP_MSG_HANDSHAKE_INIT) == -EKEYREJECTED);
	test_cookie_reply(&f);
	test_args(&f);
	test_random(&f);
	test_mac2(&f);
	return check_report("hsmac");
}

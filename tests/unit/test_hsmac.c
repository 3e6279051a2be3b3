/* test_hsmac.c - dataplane/hsmac: the workers' mac1 check on real handshake
 * messages made by control's Noise code (control/session/noise.c), so that
 * the fast path and control agree on what mac1 is: an initiation and a
 * response to us pass, the same with any one bit of their first bytes or
 * their mac1 flipped, or addressed to another key, are refused; wrong
 * lengths are refused; a cookie reply (no mac1) passes; the key control
 * publishes is the one ipop_noise_mac1_key derives. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

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
	return check_report("hsmac");
}

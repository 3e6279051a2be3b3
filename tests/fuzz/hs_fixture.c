/* hs_fixture.c - see hs_fixture.h. Thread: one (the fuzzer's). */
#include "tests/fuzz/hs_fixture.h"

#include <errno.h>
#include <string.h>
#include <sodium.h>

static uint64_t rng_ctr;

/* Each call draws from a fresh keyed stream: ChaCha20 of a fixed seed with the
 * call counter as the nonce. Not random at all: that is the point. */
static void det_buf(void *buf, size_t n)
{
	uint8_t seed[randombytes_SEEDBYTES];

	memset(seed, 0x5e, sizeof(seed));
	memcpy(seed, &rng_ctr, sizeof(rng_ctr));
	rng_ctr++;
	randombytes_buf_deterministic(buf, n, seed);
}

static uint32_t det_random(void)
{
	uint32_t r;

	det_buf(&r, sizeof(r));
	return r;
}

static const char *det_name(void)
{
	return "ipop-fuzz-deterministic";
}

static struct randombytes_implementation det_impl = {
	.implementation_name = det_name,
	.random = det_random,
	.buf = det_buf,
};

int hs_fixture_rng_install(void)
{
	/* libsodium wants this before sodium_init (it then never stirs the
	 * system source). */
	if (randombytes_set_implementation(&det_impl) != 0)
		return -EIO;
	rng_ctr = 0;
	return sodium_init() < 0 ? -EIO : 0;
}

static const struct ipop_hs_payload fixture_payload = {
	.timestamp = { 0x40, 0, 0, 0, 0x65, 0x43, 0x21, 0x0a, 0, 0, 0, 1 },
	.rx_cipher = IPOP_CIPHER_CHACHA20POLY1305,
};

int hs_fixture_setup(struct hs_fixture *f)
{
	int rc;

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 32; i++) {
		f->ini.priv[i] = (uint8_t)(0x10 + i);
		f->resp.priv[i] = (uint8_t)(0xa0 ^ (i * 7));
	}
	if ((rc = ipop_noise_pubkey(f->ini.priv, f->ini.pub)) != 0 ||
	    (rc = ipop_noise_pubkey(f->resp.priv, f->resp.pub)) != 0 ||
	    (rc = ipop_noise_mac1_key(f->ini.pub, f->mac1_key_ini)) != 0 ||
	    (rc = ipop_noise_mac1_key(f->resp.pub, f->mac1_key_resp)) != 0)
		return rc;
	return ipop_noise_init_create(&f->ini_hs, &f->ini, f->resp.pub,
				      (const uint8_t *)HS_FIXTURE_PROLOGUE,
				      sizeof(HS_FIXTURE_PROLOGUE) - 1, &fixture_payload,
				      HS_FIXTURE_INIT_INDEX, &f->msg1);
}

int hs_fixture_response(struct hs_fixture *f, struct ipop_hs_resp *out)
{
	struct ipop_noise_hs hs;
	struct ipop_noise_session keys;
	struct ipop_hs_payload pl, mine = fixture_payload;
	uint8_t remote[32];
	int rc;

	rc = ipop_noise_init_consume(&hs, &f->resp, (const uint8_t *)HS_FIXTURE_PROLOGUE,
				     sizeof(HS_FIXTURE_PROLOGUE) - 1, &f->msg1, remote, &pl);
	if (rc != 0)
		return rc;
	memset(mine.timestamp, 0, sizeof(mine.timestamp));   /* responses carry 0s */
	rc = ipop_noise_resp_create(&hs, &mine, 0x55667788u, f->msg1.sender_index, out, &keys);
	sodium_memzero(&keys, sizeof(keys));
	return rc;
}

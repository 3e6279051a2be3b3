/* cookie.c - see cookie.h. Thread: control. */
#include "control/session/cookie.h"
#include "control/session/noise.h"
#include "dataplane/hsmac.h"

#include <errno.h>
#include <string.h>
#include <sodium.h>

static const char cookie_label[] = "cookie--";

_Static_assert(IPOP_COOKIE_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	       "cookie nonce");
_Static_assert(IPOP_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "cookie tag");

int ipop_cookie_reply_key(const uint8_t pub[32], uint8_t key[32])
{
	crypto_generichash_state st;
	int rc;

	if (sodium_init() < 0)
		return -EIO;
	rc = crypto_generichash_init(&st, NULL, 0, 32);
	rc |= crypto_generichash_update(&st, (const uint8_t *)cookie_label, sizeof(cookie_label) - 1);
	rc |= crypto_generichash_update(&st, pub, 32);
	rc |= crypto_generichash_final(&st, key, 32);
	return rc == 0 ? 0 : -EIO;
}

_Static_assert(sizeof(((struct ipop_cookie_checker *)0)->secret) == IPOP_HSMAC_SECRET_LEN,
	       "the secret the workers get");

static void new_secret(struct ipop_cookie_checker *c, uint64_t now_ms)
{
	randombytes_buf(c->secret, sizeof(c->secret));
	c->secret_ms = now_ms;
}

int ipop_cookie_checker_init(struct ipop_cookie_checker *c, const uint8_t pub[32], uint64_t now_ms)
{
	int rc;

	if (c == NULL || pub == NULL)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	rc = ipop_cookie_reply_key(pub, c->reply_key);
	if (rc == 0)
		rc = ipop_noise_mac1_key(pub, c->mac1_key);
	if (rc != 0)
		return rc;
	new_secret(c, now_ms);
	c->ready = true;
	return 0;
}

void ipop_cookie_checker_wipe(struct ipop_cookie_checker *c)
{
	sodium_memzero(c, sizeof(*c));
}

int ipop_cookie_make(struct ipop_cookie_checker *c, uint32_t ip, uint16_t port, uint64_t now_ms,
		     uint8_t cookie[IPOP_COOKIE_LEN])
{
	if (c == NULL || !c->ready)
		return -EINVAL;
	ipop_cookie_rotate(c, now_ms);
	/* The workers compute the same under load (dataplane/hsmac.h): one definition. */
	return ipop_hsmac_cookie(c->secret, ip, port, cookie);
}

bool ipop_cookie_rotate(struct ipop_cookie_checker *c, uint64_t now_ms)
{
	/* A clock that went back also rotates: never keep a secret longer. */
	if (c == NULL || !c->ready || now_ms - c->secret_ms < IPOP_COOKIE_SECRET_MS)
		return false;
	new_secret(c, now_ms);
	return true;
}

int ipop_cookie_mac2(const uint8_t cookie[IPOP_COOKIE_LEN], const void *msg, size_t len,
		     uint8_t mac2[IPOP_MAC2_LEN])
{
	return ipop_hsmac_mac2(cookie, msg, len, mac2);
}

int ipop_cookie_check_mac1(const struct ipop_cookie_checker *c, const void *msg, size_t mac1_off)
{
	if (c == NULL || !c->ready || msg == NULL)
		return -EINVAL;
	return ipop_noise_mac1_check(c->mac1_key, msg, mac1_off, (const uint8_t *)msg + mac1_off);
}

int ipop_cookie_check_mac2(struct ipop_cookie_checker *c, const void *msg, size_t mac2_off,
			   uint32_t ip, uint16_t port, uint64_t now_ms)
{
	if (c == NULL || !c->ready || msg == NULL)
		return -EINVAL;
	ipop_cookie_rotate(c, now_ms);
	return ipop_hsmac_verify_mac2(c->secret, msg, mac2_off, ip, port);
}

int ipop_cookie_reply_create(struct ipop_cookie_checker *c, uint32_t receiver_index,
			     const uint8_t mac1[IPOP_MAC1_LEN], uint32_t ip, uint16_t port,
			     uint64_t now_ms, struct ipop_cookie_reply *out)
{
	uint8_t cookie[IPOP_COOKIE_LEN];
	int rc;

	if (mac1 == NULL || out == NULL)
		return -EINVAL;
	rc = ipop_cookie_make(c, ip, port, now_ms, cookie);
	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->type = IPOP_MSG_COOKIE_REPLY;
	out->version = IPOP_WIRE_VERSION;
	out->receiver_index = receiver_index;
	if (c->nonces_left == 0) {
		randombytes_buf(c->nonce_pool, sizeof(c->nonce_pool));
		c->nonces_left = IPOP_COOKIE_NONCE_POOL;
	}
	c->nonces_left--;
	memcpy(out->nonce, c->nonce_pool[c->nonces_left], sizeof(out->nonce));
	sodium_memzero(c->nonce_pool[c->nonces_left], sizeof(out->nonce));   /* used once */
	crypto_aead_xchacha20poly1305_ietf_encrypt(out->enc_cookie, NULL, cookie, sizeof(cookie),
						   mac1, IPOP_MAC1_LEN, NULL, out->nonce,
						   c->reply_key);
	sodium_memzero(cookie, sizeof(cookie));
	return 0;
}

int ipop_cookie_reply_open(const uint8_t key[32], const uint8_t mac1[IPOP_MAC1_LEN],
			   const struct ipop_cookie_reply *in, uint8_t cookie[IPOP_COOKIE_LEN])
{
	if (key == NULL || mac1 == NULL || in == NULL || cookie == NULL)
		return -EINVAL;
	if (ipop_wire_classify((const uint8_t *)in, sizeof(*in)) != IPOP_MSG_COOKIE_REPLY)
		return -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL, in->enc_cookie,
						       sizeof(in->enc_cookie), mac1, IPOP_MAC1_LEN,
						       in->nonce, key) != 0) {
		sodium_memzero(cookie, IPOP_COOKIE_LEN);
		return -EBADMSG;
	}
	return 0;
}

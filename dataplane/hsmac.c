/* hsmac.c - see hsmac.h. Thread: either. */
#include "dataplane/hsmac.h"
#include "dataplane/wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include <rte_bitops.h>
#include <rte_errno.h>
#include <rte_mbuf_dyn.h>

/* Where mac1 sits in a message of this type, or 0 for one without mac1. */
static int mac1_offset(int type, size_t len, size_t *off)
{
	switch (type) {
	case IPOP_MSG_HANDSHAKE_INIT:
		*off = offsetof(struct ipop_hs_init, mac1);
		return len == sizeof(struct ipop_hs_init) ? 0 : -EMSGSIZE;
	case IPOP_MSG_HANDSHAKE_RESP:
		*off = offsetof(struct ipop_hs_resp, mac1);
		return len == sizeof(struct ipop_hs_resp) ? 0 : -EMSGSIZE;
	case IPOP_MSG_COOKIE_REPLY:
		*off = 0;
		return len == sizeof(struct ipop_cookie_reply) ? 0 : -EMSGSIZE;
	default:
		return -EINVAL;
	}
}

int ipop_hsmac_check(const uint8_t key[IPOP_HSMAC_KEY_LEN], const uint8_t *p, size_t len, int type)
{
	uint8_t want[IPOP_MAC1_LEN];
	size_t off;
	int rc;

	if (key == NULL || p == NULL)
		return -EINVAL;
	rc = mac1_offset(type, len, &off);
	if (rc != 0 || off == 0)
		return rc;
	if (crypto_generichash(want, sizeof(want), p, off, key, IPOP_HSMAC_KEY_LEN) != 0)
		return -EINVAL;   /* only for lengths out of BLAKE2b's range: not these */
	/* Not a secret (anyone with our public key computes it), but compared
	 * in constant time like every MAC here. */
	return sodium_memcmp(want, p + off, IPOP_MAC1_LEN) == 0 ? 0 : -EKEYREJECTED;
}

_Static_assert(IPOP_HSMAC_SECRET_LEN == crypto_shorthash_siphashx24_KEYBYTES, "SipHash's key");
_Static_assert(IPOP_COOKIE_LEN == crypto_shorthash_siphashx24_BYTES, "SipHash-2-4-128's output");

int ipop_hsmac_cookie(const uint8_t secret[IPOP_HSMAC_SECRET_LEN], uint32_t ip, uint16_t port,
		      uint8_t cookie[IPOP_COOKIE_LEN])
{
	uint8_t src[6];

	if (secret == NULL || cookie == NULL)
		return -EINVAL;
	memcpy(src, &ip, 4);
	memcpy(src + 4, &port, 2);
	return crypto_shorthash_siphashx24(cookie, src, sizeof(src), secret) == 0 ? 0 : -EIO;
}

int ipop_hsmac_mac2(const uint8_t cookie[IPOP_COOKIE_LEN], const void *msg, size_t len,
		    uint8_t mac2[IPOP_MAC2_LEN])
{
	if (cookie == NULL || msg == NULL || mac2 == NULL)
		return -EINVAL;
	return crypto_generichash(mac2, IPOP_MAC2_LEN, msg, len, cookie, IPOP_COOKIE_LEN) == 0 ?
	       0 : -EIO;
}

int ipop_hsmac_verify_mac2(const uint8_t secret[IPOP_HSMAC_SECRET_LEN], const void *msg,
			   size_t mac2_off, uint32_t ip, uint16_t port)
{
	uint8_t cookie[IPOP_COOKIE_LEN], want[IPOP_MAC2_LEN];
	int rc;

	if (secret == NULL || msg == NULL)
		return -EINVAL;
	rc = ipop_hsmac_cookie(secret, ip, port, cookie);
	if (rc == 0)
		rc = ipop_hsmac_mac2(cookie, msg, mac2_off, want);
	if (rc == 0 && sodium_memcmp(want, (const uint8_t *)msg + mac2_off, IPOP_MAC2_LEN) != 0)
		rc = -EKEYREJECTED;
	/* The cookie is what a sender must earn: never left on the stack. */
	sodium_memzero(cookie, sizeof(cookie));
	sodium_memzero(want, sizeof(want));
	return rc;
}

int ipop_hsmac_check_mac2(const uint8_t secret[IPOP_HSMAC_SECRET_LEN], const uint8_t *p, size_t len,
			  uint32_t ip, uint16_t port)
{
	if (secret == NULL || p == NULL)
		return -EINVAL;
	if (len != sizeof(struct ipop_hs_init))
		return -EMSGSIZE;
	return ipop_hsmac_verify_mac2(secret, p, offsetof(struct ipop_hs_init, mac2), ip, port);
}

uint64_t ipop_hsmac_fl_mac1_ok, ipop_hsmac_fl_mac2_ok, ipop_hsmac_fl_mac2_bad;

static int flag_register(const char *name, uint64_t *fl)
{
	struct rte_mbuf_dynflag x = { .flags = 0 };
	int bit;

	snprintf(x.name, sizeof(x.name), "%s", name);
	bit = rte_mbuf_dynflag_register(&x);
	if (bit < 0)
		return -rte_errno;
	*fl = RTE_BIT64(bit);
	return 0;
}

int ipop_hsmac_flags_register(void)
{
	int rc = flag_register("ipop_hs_mac1_ok", &ipop_hsmac_fl_mac1_ok);

	if (rc == 0)
		rc = flag_register("ipop_hs_mac2_ok", &ipop_hsmac_fl_mac2_ok);
	if (rc == 0)
		rc = flag_register("ipop_hs_mac2_bad", &ipop_hsmac_fl_mac2_bad);
	if (rc != 0)
		ipop_hsmac_fl_mac1_ok = ipop_hsmac_fl_mac2_ok = ipop_hsmac_fl_mac2_bad = 0;
	return rc;
}

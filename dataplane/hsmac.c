/* hsmac.c - see hsmac.h. Thread: either. */
#include "dataplane/hsmac.h"
#include "dataplane/wire.h"

#include <errno.h>
#include <sodium.h>

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

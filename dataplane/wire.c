/* wire.c - codecs of the ipop wire format (see wire.h, docs/wire-format.md).
 * Thread: either; pure. */
#include "dataplane/wire.h"

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <rte_byteorder.h>

int ipop_wire_classify(const uint8_t *p, size_t len)
{
	if (len < 4)
		return -EMSGSIZE;
	if (p[1] != IPOP_WIRE_VERSION)
		return -EPROTO;
	if (p[2] != 0 || p[3] != 0)
		return -EBADMSG;
	switch (p[0]) {
	case IPOP_MSG_HANDSHAKE_INIT:
		return len == sizeof(struct ipop_hs_init) ? IPOP_MSG_HANDSHAKE_INIT : -EMSGSIZE;
	case IPOP_MSG_HANDSHAKE_RESP:
		return len == sizeof(struct ipop_hs_resp) ? IPOP_MSG_HANDSHAKE_RESP : -EMSGSIZE;
	case IPOP_MSG_DATA:
		if (len < IPOP_DATA_OVERHEAD)
			return -EMSGSIZE;
		if (len > IPOP_DATA_OVERHEAD + IPOP_MAX_INNER_FRAME)
			return -EMSGSIZE;
		return IPOP_MSG_DATA;
	default:
		return -EBADMSG;
	}
}

void ipop_wire_nonce(uint8_t nonce[12], uint64_t counter)
{
	uint64_t be = rte_cpu_to_be_64(counter);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &be, 8);
}

const char *ipop_cipher_name(int cipher)
{
	switch (cipher) {
	case IPOP_CIPHER_AES256GCM:
		return "aes-256-gcm";
	case IPOP_CIPHER_CHACHA20POLY1305:
		return "chacha20-poly1305";
	default:
		return NULL;
	}
}

int ipop_cipher_parse(const char *name)
{
	if (name == NULL)
		return -EINVAL;
	if (strcmp(name, "aes-256-gcm") == 0)
		return IPOP_CIPHER_AES256GCM;
	if (strcmp(name, "chacha20-poly1305") == 0)
		return IPOP_CIPHER_CHACHA20POLY1305;
	return -EINVAL;
}

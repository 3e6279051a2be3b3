/* wire.c - codecs of the ipop wire format (see wire.h, docs/wire-format.md).
 * Thread: either; pure. */
#include "dataplane/wire.h"

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <rte_byteorder.h>

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

/* fuzz_wire.c - libFuzzer target: ipop_wire_classify (dataplane/wire.c) on any
 * bytes, checking the contract of wire.h on every input. Thread: one. */
#include "dataplane/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int contract_holds(const uint8_t *p, size_t n, int r)
{
	switch (r) {
	case IPOP_MSG_HANDSHAKE_INIT:
		return n == sizeof(struct ipop_hs_init);
	case IPOP_MSG_HANDSHAKE_RESP:
		return n == sizeof(struct ipop_hs_resp);
	case IPOP_MSG_COOKIE_REPLY:
		return n == sizeof(struct ipop_cookie_reply);
	case IPOP_MSG_DATA:
		return n >= IPOP_DATA_OVERHEAD && n <= IPOP_DATA_OVERHEAD + IPOP_MAX_INNER_FRAME;
	case IPOP_MSG_FLOOD:
	case IPOP_MSG_TRANSIT:
		return n >= IPOP_DATA_OVERHEAD + IPOP_FABRIC_HDR_LEN + IPOP_MIN_INNER_FRAME &&
		       n <= IPOP_DATA_OVERHEAD + IPOP_FABRIC_HDR_LEN + IPOP_MAX_INNER_FRAME;
	case -EPROTO:
		return n >= 4 && p[1] != IPOP_WIRE_VERSION;
	case -EBADMSG:
		return n >= 4;
	case -EMSGSIZE:
		return 1;
	default:
		return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy: one byte read too many is an ASan report. */
	uint8_t *p = malloc(size ? size : 1);

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	int r = ipop_wire_classify(p, size);
	if (!contract_holds(p, size, r))
		abort();
	/* A message type is only returned for a well-formed common header. */
	if (r > 0 && (p[0] != r || p[1] != IPOP_WIRE_VERSION || p[2] != 0 || p[3] != 0))
		abort();
	free(p);
	return 0;
}

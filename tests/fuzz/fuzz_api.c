/* fuzz_api.c - libFuzzer target: the management socket's request parser
 * (ipop_api_req_complete and ipop_api_req_parse, control/api/request.c), fed
 * the way api.c feeds it: the bytes arrive in recv()-sized pieces into the
 * connection's IPOP_API_REQ_MAX-byte buffer until a piece completes the
 * request, or the client's EOF ends it.
 *
 * Input: a mode byte (low 4 bits + 1: the size of each piece, 1..16 bytes),
 * then what the client sends. Contract checked: the request is complete at
 * exactly the first newline or when the buffer is full; r->line is the bytes
 * before the first CR, LF or NUL, NUL-terminated; 0 comes only for a line that
 * is one of the nine requests (accept-key with any arguments after its space),
 * with the matching what and json; anything else
 * is -EINVAL. Thread: one. */
#include "control/api/request.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	[IPOP_API_PING] = "ping",
	[IPOP_API_SHOW] = "show",
	[IPOP_API_TOPOLOGY] = "topology",
	[IPOP_API_MACS] = "macs",
	[IPOP_API_RELOAD_REVOCATIONS] = "reload-revocations",
};

/* Bytes a client's stream puts in the buffer before the request completes,
 * as api.c's recv loop would: 0 if the stream ends first. */
static size_t feed(char *buf, const uint8_t *in, size_t len, size_t piece)
{
	size_t got = 0;

	while (got < len) {
		size_t n = piece;
		if (n > len - got)
			n = len - got;
		if (n > IPOP_API_REQ_MAX - got)
			n = IPOP_API_REQ_MAX - got;
		memcpy(buf + got, in + got, n);
		got += n;
		if (ipop_api_req_complete(buf, got))
			return got;
	}
	return 0;
}

static void check_line(const uint8_t *in, size_t len, const struct ipop_api_req *r, int rc)
{
	size_t want = 0;

	if (len > IPOP_API_REQ_MAX)
		len = IPOP_API_REQ_MAX;
	while (want < len && in[want] != '\r' && in[want] != '\n' && in[want] != '\0')
		want++;
	if (strlen(r->line) != want || memcmp(r->line, in, want) != 0)
		abort();
	if (rc == -EINVAL)
		return;
	if (rc != 0 || (unsigned)r->what > IPOP_API_RELOAD_REVOCATIONS)
		abort();
	if (r->what == IPOP_API_ACCEPT_KEY) {
		/* The verb, one space, and the arguments the handler checks. */
		if (strncmp(r->line, "accept-key ", 11) != 0 || r->args != 11 || r->json)
			abort();
		return;
	}
	if (r->args != 0)
		abort();
	size_t nl = strlen(names[r->what]);
	if (strncmp(r->line, names[r->what], nl) != 0)
		abort();
	if (r->json ? strcmp(r->line + nl, " json") != 0 : r->line[nl] != '\0')
		abort();
	if (r->what == IPOP_API_PING && r->json)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(IPOP_API_REQ_MAX);   /* exactly the connection's buffer */
	struct ipop_api_req r;

	if (size < 1 || buf == NULL) {
		free(buf);
		return 0;
	}
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	size_t got = feed(buf, in, len, (size_t)(data[0] & 15) + 1);
	const uint8_t *nl = memchr(in, '\n', len < IPOP_API_REQ_MAX ? len : IPOP_API_REQ_MAX);

	if (got != 0 && got != IPOP_API_REQ_MAX && (nl == NULL || got <= (size_t)(nl - in)))
		abort();   /* complete, but neither full nor past a newline */
	if (got == 0) {   /* EOF: the request is what arrived */
		if (len >= IPOP_API_REQ_MAX || nl != NULL)
			abort();   /* a newline or a full buffer should have completed it */
		got = len;
		memcpy(buf, in, len);
	}
	memset(&r, 0x5a, sizeof(r));
	int rc = ipop_api_req_parse(buf, got, &r);
	check_line(in, got, &r, rc);
	free(buf);
	return 0;
}

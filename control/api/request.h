/* request.h - the management socket's request line: when the bytes a client
 * has sent so far make a request, and which request they are. Pure functions
 * on a buffer (no socket, no node), so that the one parser of API input is the
 * code the libFuzzer target fuzz_api runs. Thread: either (no shared state).
 *
 * A request is one line: "ping", "show", "show json", "topology",
 * "topology json", "macs", "macs json", "accept-key JID FP" or
 * "reload-revocations". It ends at the first CR, LF or NUL;
 * a client that sends no newline has its request end where the buffer is full
 * or where it shuts down its side (EOF).
 */
#ifndef IPOP_CONTROL_API_REQUEST_H
#define IPOP_CONTROL_API_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of a request line kept (the rest of a longer line is never read). */
#define IPOP_API_REQ_MAX 127

enum ipop_api_what {
	IPOP_API_PING,
	IPOP_API_SHOW,
	IPOP_API_TOPOLOGY,
	IPOP_API_MACS,
	IPOP_API_ACCEPT_KEY,            /* arguments at line + args */
	IPOP_API_RELOAD_REVOCATIONS,
};

struct ipop_api_req {
	enum ipop_api_what what;
	bool json;                          /* "... json": the JSON form, else text */
	unsigned args;                      /* where a verb's arguments start in line (0: none) */
	char line[IPOP_API_REQ_MAX + 1];    /* the request as read, up to CR/LF/NUL */
};

/* Whether buf[0..got) (got <= IPOP_API_REQ_MAX) is a whole request without
 * waiting for EOF: it holds a newline or fills the IPOP_API_REQ_MAX bytes. */
bool ipop_api_req_complete(const char *buf, size_t got);

/* Parse the len bytes a client sent (at most IPOP_API_REQ_MAX are read).
 * Fills r->line in every case (NUL-terminated, no CR or LF), so a caller can
 * quote an unknown request. 0: r->what and r->json name the request;
 * -EINVAL: not a request this socket knows. */
int ipop_api_req_parse(const char *buf, size_t len, struct ipop_api_req *r);

#endif

/* request.c - see request.h. Thread: either. */
#include "control/api/request.h"

#include <errno.h>
#include <string.h>

bool ipop_api_req_complete(const char *buf, size_t got)
{
	return got >= IPOP_API_REQ_MAX || memchr(buf, '\n', got) != NULL;
}

static const struct {
	const char *name;
	enum ipop_api_what what;
	bool json;
} requests[] = {
	{ "ping", IPOP_API_PING, false },
	{ "show", IPOP_API_SHOW, false },
	{ "show json", IPOP_API_SHOW, true },
	{ "topology", IPOP_API_TOPOLOGY, false },
	{ "topology json", IPOP_API_TOPOLOGY, true },
	{ "macs", IPOP_API_MACS, false },
	{ "macs json", IPOP_API_MACS, true },
	{ "reload-revocations", IPOP_API_RELOAD_REVOCATIONS, false },
};

/* Verbs that take arguments after one space (the handler checks them). */
#define ACCEPT_KEY "accept-key "

int ipop_api_req_parse(const char *buf, size_t len, struct ipop_api_req *r)
{
	if (len > IPOP_API_REQ_MAX)
		len = IPOP_API_REQ_MAX;
	memcpy(r->line, buf, len);
	r->line[len] = '\0';
	r->line[strcspn(r->line, "\r\n")] = '\0';
	r->args = 0;
	r->json = false;
	if (strncmp(r->line, ACCEPT_KEY, strlen(ACCEPT_KEY)) == 0) {
		r->what = IPOP_API_ACCEPT_KEY;
		r->args = (unsigned)strlen(ACCEPT_KEY);
		return 0;
	}
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		if (strcmp(r->line, requests[i].name) == 0) {
			r->what = requests[i].what;
			r->json = requests[i].json;
			return 0;
		}
	}
	return -EINVAL;
}

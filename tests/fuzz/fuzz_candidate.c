/* fuzz_candidate.c - libFuzzer target: the two parsers a member's ICE candidate
 * string meets, in the order it meets them: the link stanza codec's grammar
 * (ipop_linkmsg_parse_candidate, control/signal/linkmsg.c) and the agent's
 * (ipop_ice_parse_candidate and ipop_ice_add_remote_candidate,
 * control/ice/ice.c, over libnice's SDP parser).
 *
 * Input: the candidate value's bytes (a NUL ends it early), copied to a buffer
 * of exactly its size plus the NUL, so an over-read is an ASan report.
 * Contract checked:
 * - each parser returns 0 or -EINVAL; the codec copies an accepted value as is;
 * - the agent's parse gives a known type and a port of 1 to 65535;
 * - what the codec accepts, the agent accepts too, with the address, port,
 *   type and priority the string says (a stanza that passed the codec and is
 *   then refused by the agent is a disagreement between the two grammars);
 * - adding what the agent's parse accepted succeeds until IPOP_ICE_MAX_REMOTE
 *   are in, then says -ENOSPC (one agent for the whole run: replacing agents
 *   left libnice's asynchronous closes pending on the never-run context, and
 *   the process grew by about 1 KiB an input, down to a tenth of the speed).
 * The agent is never gathered or connected: no socket, no packet. Thread: one. */
#include "control/ice/ice.h"
#include "control/signal/linkmsg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GMainContext *ctx;
static struct ipop_ice *agent;

static struct ipop_ice *new_agent(void)
{
	struct ipop_ice_params p = {
		.context = ctx, .controlling = false, .port_min = 40000, .port_max = 40009,
	};
	struct ipop_ice *a = NULL;

	inet_pton(AF_INET, "127.0.0.1", &p.bind_ip);
	if (ipop_ice_new(&p, &a) != 0)
		abort();
	return a;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ctx = g_main_context_new();
	agent = new_agent();
	return 0;
}

/* The n-th space-separated field of s (0: "candidate:FOUNDATION"), copied. */
static bool field(const char *s, int n, char *out, size_t cap)
{
	for (int i = 0; i < n; i++) {
		s = strchr(s, ' ');
		if (s == NULL)
			return false;
		s++;
	}
	size_t len = strcspn(s, " ");
	if (len >= cap)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

static enum ipop_ice_cand_type type_of(const char *t)
{
	static const char *const names[] = { "host", "srflx", "prflx", "relay" };

	for (int i = 0; i < 4; i++)
		if (strcmp(t, names[i]) == 0)
			return (enum ipop_ice_cand_type)i;
	return IPOP_ICE_CAND__MAX;
}

/* The codec accepted v: the agent must read the same candidate. */
static void check_agreement(const char *v, const struct ipop_ice_cand *c)
{
	char prio[16], addr[16], port[8], typ[8];
	struct in_addr ip;

	if (!field(v, 3, prio, sizeof(prio)) || !field(v, 4, addr, sizeof(addr)) ||
	    !field(v, 5, port, sizeof(port)) || !field(v, 7, typ, sizeof(typ)) ||
	    inet_pton(AF_INET, addr, &ip) != 1)
		abort();   /* the codec's grammar promised these */
	if (c->ip != ip.s_addr || c->port != strtoul(port, NULL, 10) ||
	    c->priority != strtoul(prio, NULL, 10) || c->type != type_of(typ)) {
		fprintf(stderr, "codec and agent disagree on \"%s\"\n", v);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = malloc(size + 1);
	char copy[IPOP_LINK_CAND_LEN];
	struct ipop_ice_cand c;

	if (v == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	int codec = ipop_linkmsg_parse_candidate(v, copy);
	int parsed = ipop_ice_parse_candidate(agent, v, &c);
	if ((codec != 0 && codec != -EINVAL) || (parsed != 0 && parsed != -EINVAL))
		abort();
	if (codec == 0 && strcmp(copy, v) != 0)
		abort();
	if (parsed == 0 && (c.type >= IPOP_ICE_CAND__MAX || c.port == 0))
		abort();
	if (codec == 0) {
		if (parsed != 0) {
			fprintf(stderr, "codec accepts, agent refuses \"%s\"\n", v);
			abort();
		}
		check_agreement(v, &c);
	}
	if (parsed == 0) {
		bool full = ipop_ice_stats(agent)->remote_candidates >= IPOP_ICE_MAX_REMOTE;
		int r = ipop_ice_add_remote_candidate(agent, v);
		if (r != (full ? -ENOSPC : 0)) {
			fprintf(stderr, "parsed, but the agent refused to add \"%s\" (%d)\n", v, r);
			abort();
		}
	}
	free(v);
	return 0;
}

/* test_ice.c - control/ice: two real libnice agents on 127.0.0.1, driven on one
 * GLib context, trickle their candidates to each other through the module's
 * callbacks and select a host pair on the ports of their ranges; the refusals
 * (candidate strings that do not parse or are not ours, too many candidates, bad
 * credentials, a port range that is taken) are errors with counters. */
#include "control/ice/ice.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct side {
	struct ipop_ice *self;
	struct side *peer;
	unsigned candidates, done;
	bool selected;
	struct ipop_ice_pair pair;
	char first_cand[IPOP_ICE_CAND_LEN];
};

static void on_cand(void *ctx, struct ipop_ice *a, const char *cand)
{
	struct side *s = ctx;

	if (s->candidates++ == 0)
		snprintf(s->first_cand, sizeof(s->first_cand), "%s", cand);
	CHECK(ipop_ice_add_remote_candidate(s->peer->self, cand) == 0);
}

static void on_done(void *ctx, struct ipop_ice *a)
{
	struct side *s = ctx;

	s->done++;
	ipop_ice_remote_done(s->peer->self);
}

static void on_selected(void *ctx, struct ipop_ice *a, const struct ipop_ice_pair *p)
{
	struct side *s = ctx;

	s->selected = true;
	s->pair = *p;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Iterate ctx until both sides selected a pair, at most limit_ms. */
static void run_until_selected(GMainContext *ctx, struct side *a, struct side *b,
			       uint64_t limit_ms)
{
	uint64_t end = now_ms() + limit_ms;

	while ((!a->selected || !b->selected) && now_ms() < end) {
		if (!g_main_context_iteration(ctx, FALSE))
			usleep(1000);
	}
}

static struct ipop_ice_params params(GMainContext *ctx, bool controlling, uint16_t lo,
				     uint16_t hi, struct side *s)
{
	struct ipop_ice_params p = {
		.context = ctx, .controlling = controlling, .port_min = lo, .port_max = hi,
		.ev = { .ctx = s, .candidate = on_cand, .gathering_done = on_done,
			.selected = on_selected },
	};

	inet_pton(AF_INET, "127.0.0.1", &p.bind_ip);
	return p;
}

static void exchange_credentials(struct side *a, struct side *b)
{
	char u[IPOP_ICE_UFRAG_LEN], p[IPOP_ICE_UFRAG_LEN];

	CHECK(ipop_ice_local_credentials(a->self, u, p) == 0);
	CHECK(ipop_ice_set_remote_credentials(b->self, u, p) == 0);
	CHECK(ipop_ice_local_credentials(b->self, u, p) == 0);
	CHECK(ipop_ice_set_remote_credentials(a->self, u, p) == 0);
}

static uint16_t base;   /* a random range, away from other tests on the host */

static void test_pair(GMainContext *ctx)
{
	struct side a = { 0 }, b = { 0 };
	struct ipop_ice_params pa = params(ctx, true, base, base + 9, &a);
	struct ipop_ice_params pb = params(ctx, false, base + 10, base + 19, &b);
	uint64_t t0;

	a.peer = &b;
	b.peer = &a;
	CHECK(ipop_ice_new(&pa, &a.self) == 0 && ipop_ice_new(&pb, &b.self) == 0);
	if (a.self == NULL || b.self == NULL)
		return;
	CHECK(ipop_ice_selected(a.self, &a.pair) == -ENOENT);
	exchange_credentials(&a, &b);
	t0 = now_ms();
	CHECK(ipop_ice_gather(a.self) == 0 && ipop_ice_gather(b.self) == 0);
	run_until_selected(ctx, &a, &b, 5000);
	printf("ice: host pair selected on both sides in %llu ms (A's first candidate: %s)\n",
	       (unsigned long long)(now_ms() - t0), a.first_cand);
	CHECK(a.selected && b.selected);
	CHECK(a.candidates >= 1 && b.candidates >= 1 && a.done == 1 && b.done == 1);
	CHECK(strstr(a.first_cand, "candidate:") == a.first_cand);
	CHECK(strstr(a.first_cand, " typ host") != NULL);
	CHECK(a.pair.local_type == IPOP_ICE_HOST && a.pair.remote_type == IPOP_ICE_HOST);
	CHECK(b.pair.local_type == IPOP_ICE_HOST && b.pair.remote_type == IPOP_ICE_HOST);
	CHECK(a.pair.local_ip == htonl(INADDR_LOOPBACK) && a.pair.remote_ip == htonl(INADDR_LOOPBACK));
	CHECK(a.pair.local_port >= base && a.pair.local_port <= base + 9);
	CHECK(a.pair.remote_port >= base + 10 && a.pair.remote_port <= base + 19);
	/* Both ends agree on the 5-tuple. */
	CHECK(a.pair.local_port == b.pair.remote_port && b.pair.local_port == a.pair.remote_port);
	CHECK(a.pair.relay_ip == 0 && a.pair.relay_port == 0);
	struct ipop_ice_pair q;
	CHECK(ipop_ice_selected(a.self, &q) == 0 && q.local_port == a.pair.local_port);
	CHECK(ipop_ice_stats(a.self)->selected >= 1 && ipop_ice_stats(b.self)->selected >= 1);
	CHECK(ipop_ice_stats(a.self)->remote_candidates == b.candidates);
	CHECK(ipop_ice_stats(a.self)->local_candidates == a.candidates);
	CHECK(ipop_ice_stats(a.self)->remote_bad == 0 && ipop_ice_stats(a.self)->failed == 0);

	/* The taken range: the only port is A's socket. */
	struct side c = { 0 };
	struct ipop_ice_params pc = params(ctx, false, a.pair.local_port, a.pair.local_port, &c);
	c.peer = &a;
	CHECK(ipop_ice_new(&pc, &c.self) == 0);
	CHECK(c.self != NULL && ipop_ice_gather(c.self) == -EADDRINUSE);
	ipop_ice_free(c.self);
	ipop_ice_free(a.self);
	ipop_ice_free(b.self);
	/* The asynchronous closes complete on the agents' context, and the
	 * drain waits for exactly those (the daemon's stop: TURN frees). */
	uint64_t t1 = now_ms();
	CHECK(ipop_ice_drain(ctx, 2000) == 0);
	uint64_t dt = now_ms() - t1;
	printf("ice: three agents closed in %llu ms\n", (unsigned long long)dt);
	CHECK(dt < 1000);
	t1 = now_ms();
	CHECK(ipop_ice_drain(ctx, 2000) == 0);   /* nothing closing: at once */
	CHECK(now_ms() - t1 < 100);
}

static void test_refusals(GMainContext *ctx)
{
	struct side s = { 0 };
	struct ipop_ice_params p = params(ctx, false, base + 20, base + 29, &s);
	struct ipop_ice *a = NULL;
	const struct ipop_ice_stats *st;
	char line[IPOP_ICE_CAND_LEN + 16];
	static const char *const bad[] = {
		"",
		"garbage",
		"candidate:",
		"candidate:1 1 UDP 2013266431 10.0.0.2 typ host",           /* no port */
		"candidate:1 1 UDP 2013266431 10.0.0.2 5801 typ bogus",
		"candidate:1 2 UDP 2013266431 10.0.0.2 5801 typ host",      /* component 2 */
		"candidate:1 1 TCP 2013266431 10.0.0.2 5801 typ host tcptype passive",
		"candidate:1 1 UDP 2013266431 fe80::1 5801 typ host",       /* IPv6 */
		"candidate:1 1 UDP 2013266431 10.0.0.2 99999 typ host",
		/* libnice ignores a signalled peer-reflexive candidate */
		"candidate:4 1 UDP 1862270975 10.0.0.9 60000 typ prflx raddr 10.0.0.9 rport 60000",
	};

	s.peer = &s;
	CHECK(ipop_ice_new(&p, &a) == 0);
	if (a == NULL)
		return;
	st = ipop_ice_stats(a);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = ipop_ice_add_remote_candidate(a, bad[i]);
		if (r != -EINVAL)
			fprintf(stderr, "accepted: \"%s\" (%d)\n", bad[i], r);
		CHECK(r == -EINVAL);
	}
	/* Too long to be a candidate, though libnice would parse it. */
	memset(line, 0, sizeof(line));
	snprintf(line, sizeof(line), "candidate:1 1 UDP 2013266431 10.0.0.2 5801 typ host");
	memset(line + strlen(line), ' ', IPOP_ICE_CAND_LEN - strlen(line));
	CHECK(ipop_ice_add_remote_candidate(a, line) == -EINVAL);
	CHECK(st->remote_bad == sizeof(bad) / sizeof(bad[0]) + 1 && st->remote_candidates == 0);
	/* With or without "a=", up to IPOP_ICE_MAX_REMOTE, then refused. */
	for (unsigned i = 0; i < IPOP_ICE_MAX_REMOTE; i++) {
		snprintf(line, sizeof(line), "%scandidate:%u 1 UDP 2013266431 10.0.0.2 %u typ host",
			 i % 2 ? "a=" : "", i + 1, 5801 + i);
		CHECK(ipop_ice_add_remote_candidate(a, line) == 0);
	}
	CHECK(st->remote_candidates == IPOP_ICE_MAX_REMOTE);
	CHECK(ipop_ice_add_remote_candidate(a, "candidate:99 1 UDP 1 10.0.0.3 5900 typ host") ==
	      -ENOSPC);
	CHECK(st->remote_too_many == 1);
	/* Credentials: 4+ and 22+ ice-chars. */
	CHECK(ipop_ice_set_remote_credentials(a, "abc", "0123456789012345678901") == -EINVAL);
	CHECK(ipop_ice_set_remote_credentials(a, "abcd", "012345678901234567890") == -EINVAL);
	CHECK(ipop_ice_set_remote_credentials(a, "ab$d", "0123456789012345678901") == -EINVAL);
	CHECK(ipop_ice_set_remote_credentials(a, "abcd", "0123456789012345678901") == 0);
	ipop_ice_free(a);
	for (int i = 0; i < 100 && g_main_context_iteration(ctx, FALSE); i++)
		;
}

static void test_params(GMainContext *ctx)
{
	struct side s = { 0 };
	struct ipop_ice_params p = params(ctx, true, 6000, 5999, &s);
	struct ipop_ice *a = NULL;

	CHECK(ipop_ice_new(&p, &a) == -EINVAL && a == NULL);
	p = params(ctx, true, base + 30, base + 31, &s);
	inet_pton(AF_INET, "10.9.0.1", &p.servers.turn_ip);
	p.servers.turn_port = 3478;
	CHECK(ipop_ice_new(&p, &a) == -EINVAL && a == NULL);   /* TURN without credentials */
	CHECK(strcmp(ipop_ice_cand_type_name(IPOP_ICE_SRFLX), "srflx") == 0);
	CHECK(strcmp(ipop_ice_cand_type_name(IPOP_ICE_RELAY), "relay") == 0);
	CHECK(strcmp(ipop_ice_cand_type_name(IPOP_ICE_CAND__MAX), "?") == 0);
}

int main(void)
{
	GMainContext *ctx = g_main_context_new();

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	base = (uint16_t)(20000 + (rand() % 4000) * 10);
	test_pair(ctx);
	test_refusals(ctx);
	test_params(ctx);
	g_main_context_unref(ctx);
	return check_report("ice");
}

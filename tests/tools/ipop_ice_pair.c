/* ipop_ice_pair.c - two ICE agents of control/ice, each with its socket in its own
 * network namespace, connected through the NAT testbed: the netns proof that the
 * module gathers host, server-reflexive and relayed candidates through each NAT
 * type and selects the pair ICE should. Single-threaded test tool (no DPDK): one
 * GLib context; each agent's sockets are made while the thread is in that agent's
 * namespace (setns before its gather), and sockets keep their namespace.
 *
 *   ipop-ice-pair NETNS_A IP_A NETNS_B IP_B PORT [options]
 *     NETNS_x    a path, /run/netns/NAME
 *     IP_x       the agent's local address in that namespace
 *     PORT       A binds PORT..PORT+9, B PORT+10..PORT+19
 *   --stun IP:PORT, --turn IP:PORT USER PASS, --relay (force relayed candidates),
 *   --timeout S (default 10)
 *
 * Prints one line, "SELECTED ms=N a=LOCAL/REMOTE b=LOCAL/REMOTE a_to=IP:PORT
 * b_to=IP:PORT" (candidate types of each side's selected pair, and the address
 * each side sends to), and exits 0 once both sides selected a pair; "FAILED ..."
 * and exit 1 if either failed or time ran out; exit 2 on a usage or set-up error.
 */
#include "control/ice/ice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct side {
	const char *name;
	struct ipop_ice *self;
	struct side *peer;
	bool selected, failed;
	struct ipop_ice_pair pair;
	unsigned cands;
};

static void on_cand(void *ctx, struct ipop_ice *a, const char *cand)
{
	struct side *s = ctx;

	s->cands++;
	fprintf(stderr, "%s: %s\n", s->name, cand);
	if (s->peer->self != NULL && ipop_ice_add_remote_candidate(s->peer->self, cand) != 0)
		fprintf(stderr, "%s: the peer refused %s\n", s->name, cand);
}

static void on_done(void *ctx, struct ipop_ice *a)
{
	struct side *s = ctx;

	if (s->peer->self != NULL)
		ipop_ice_remote_done(s->peer->self);
}

static void on_selected(void *ctx, struct ipop_ice *a, const struct ipop_ice_pair *p)
{
	struct side *s = ctx;

	s->selected = true;
	s->pair = *p;
}

static void on_failed(void *ctx, struct ipop_ice *a)
{
	((struct side *)ctx)->failed = true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) != 0)
		r = -errno;
	close(fd);
	return r;
}

static int parse_endpoint(const char *v, struct in_addr *ip, uint16_t *port)
{
	char buf[32];
	char *colon;
	long p;

	if (strlen(v) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, v);
	colon = strchr(buf, ':');
	if (colon == NULL)
		return -EINVAL;
	*colon = '\0';
	p = strtol(colon + 1, NULL, 10);
	if (inet_pton(AF_INET, buf, ip) != 1 || p < 1 || p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

struct opts {
	struct ipop_ice_servers srv;
	bool relay;
	unsigned timeout_s;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	o->timeout_s = 10;
	for (int i = 6; i < argc; i++) {
		if (strcmp(argv[i], "--stun") == 0 && i + 1 < argc) {
			if (parse_endpoint(argv[++i], &o->srv.stun_ip, &o->srv.stun_port) != 0)
				return -EINVAL;
		} else if (strcmp(argv[i], "--turn") == 0 && i + 3 < argc) {
			if (parse_endpoint(argv[++i], &o->srv.turn_ip, &o->srv.turn_port) != 0)
				return -EINVAL;
			o->srv.turn_user = argv[++i];
			o->srv.turn_password = argv[++i];
		} else if (strcmp(argv[i], "--relay") == 0) {
			o->relay = true;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			o->timeout_s = (unsigned)atoi(argv[++i]);
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

/* Make side s's agent inside netns and start its gathering there. */
static int start_side(struct side *s, const char *netns, const char *ip, uint16_t port,
		      bool controlling, const struct opts *o)
{
	struct ipop_ice_params p = {
		.controlling = controlling, .port_min = port, .port_max = (uint16_t)(port + 9),
		.servers = o->srv, .force_relay = o->relay,
		.ev = { .ctx = s, .candidate = on_cand, .gathering_done = on_done,
			.selected = on_selected, .failed = on_failed },
	};
	int r;

	if (inet_pton(AF_INET, ip, &p.bind_ip) != 1)
		return -EINVAL;
	if ((r = enter_netns(netns)) != 0) {
		fprintf(stderr, "%s: setns %s: %s\n", s->name, netns, strerror(-r));
		return r;
	}
	if ((r = ipop_ice_new(&p, &s->self)) != 0)
		return r;
	return 0;
}

static void credentials(struct side *a, struct side *b)
{
	char u[IPOP_ICE_UFRAG_LEN], p[IPOP_ICE_UFRAG_LEN];

	if (ipop_ice_local_credentials(a->self, u, p) == 0)
		ipop_ice_set_remote_credentials(b->self, u, p);
}

static void print_pair(const char *name, const struct ipop_ice_pair *p)
{
	struct in_addr to = { .s_addr = p->remote_ip };

	printf(" %s=%s/%s %s_to=%s:%u", name, ipop_ice_cand_type_name(p->local_type),
	       ipop_ice_cand_type_name(p->remote_type), name, inet_ntoa(to), p->remote_port);
}

int main(int argc, char **argv)
{
	struct side a = { .name = "A" }, b = { .name = "B" };
	struct opts o;
	uint64_t t0, end;
	int port;

	memset(&o, 0, sizeof(o));
	if (argc < 6 || (port = atoi(argv[5])) < 1 || port > 65535 - 20 ||
	    parse_opts(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: ipop-ice-pair NETNS_A IP_A NETNS_B IP_B PORT [--stun IP:PORT] "
				"[--turn IP:PORT USER PASS] [--relay] [--timeout S]\n");
		return 2;
	}
	a.peer = &b;
	b.peer = &a;
	if (start_side(&a, argv[1], argv[2], (uint16_t)port, true, &o) != 0 ||
	    start_side(&b, argv[3], argv[4], (uint16_t)(port + 10), false, &o) != 0)
		return 2;
	credentials(&a, &b);
	credentials(&b, &a);
	t0 = now_ms();
	/* Gather each in its own namespace: the sockets are made now. */
	if (enter_netns(argv[1]) != 0 || ipop_ice_gather(a.self) != 0 ||
	    enter_netns(argv[3]) != 0 || ipop_ice_gather(b.self) != 0) {
		fprintf(stderr, "gathering failed\n");
		return 2;
	}
	end = t0 + (uint64_t)o.timeout_s * 1000;
	while ((!a.selected || !b.selected) && !a.failed && !b.failed && now_ms() < end) {
		if (!g_main_context_iteration(NULL, FALSE))
			usleep(1000);
	}
	if (!a.selected || !b.selected) {
		printf("FAILED ms=%llu a=%s b=%s\n", (unsigned long long)(now_ms() - t0),
		       a.failed ? "failed" : a.selected ? "selected" : "pending",
		       b.failed ? "failed" : b.selected ? "selected" : "pending");
		ipop_ice_free(a.self);
		ipop_ice_free(b.self);
		return 1;
	}
	printf("SELECTED ms=%llu", (unsigned long long)(now_ms() - t0));
	print_pair("a", &a.pair);
	print_pair("b", &b.pair);
	printf("\n");
	ipop_ice_free(a.self);
	ipop_ice_free(b.self);
	/* Let the closes (TURN deallocations) go out. */
	end = now_ms() + 300;
	while (now_ms() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			usleep(1000);
	return 0;
}

/* pktgen.c - ipop-pktgen: a DPDK packet generator, sink and gateway-pair
 * "wire" that drives ipopd through net_memif and counts what comes out.
 *
 * Thread: one lcore (the EAL main lcore) runs everything in one poll loop, so
 * the tool needs a single CPU next to the gateway's worker(s).
 *
 * Ports are vdev specs given on the command line (the tool adds the --vdev
 * arguments itself); each role is optional:
 *   --tx      generator output: plain Ethernet/IPv4/UDP frames (towards a
 *             gateway's LAN port, which encrypts them);
 *   --rx      sink: counts and frees what arrives (a gateway's LAN output);
 *   --wire-a, --wire-b
 *             the underlay between two gateways' WAN ports: everything is
 *             relayed both ways (ARP, handshakes, keepalives), except ipop
 *             data messages from A to B, which are, by --wire-data:
 *               pass  relayed (end to end through both gateways),
 *               sink  counted and dropped: the output of A's encryption;
 *               hold  queued, then replayed to B at full speed in separate
 *                     phases: the input of B's decryption with A idle.
 *
 * Why hold: a decrypt benchmark needs traffic that B's session accepts, and
 * only A has the keys. Relaying A's output live would make A's and B's
 * workers busy at once (with the generator, three busy pollers on two CPUs).
 * Queuing it and replaying it later feeds B exactly what A sent, in A's
 * counter order, so B's replay window accepts every packet once; A's
 * keepalives go through the same queue, so nothing overtakes the held data.
 *
 * Queues: memif has no RSS; with --queues N the generator spreads its flows
 * over N tx queues (flow f on queue f % N), and the wire keeps every packet of
 * one ipop session on one queue (sessions are numbered as they appear), as RSS
 * on the underlay 5-tuple would: a session is received by one gateway worker.
 *
 * With --api SOCK the tool reads the gateway's management socket before and
 * after the measured window and reports the gateway workers' busy cycles per
 * packet (per_worker busy_tsc / encrypted + decrypted deltas).
 */
#include "dataplane/encap.h"
#include "dataplane/wire.h"
#include "bench/bench_util.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <json-c/json.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#define BURST        32
#define MAX_Q        4
#define PEND_CAP     512          /* unsent mbufs kept per tx queue */
#define NB_DESC      1024
#define MAX_FLOWS    4096
#define MAX_SESS     16
#define QUIET_MS     30           /* a phase ends after this long without traffic */
#define ENC_OVERHEAD (IPOP_OUTER_HDR_LEN + IPOP_DATA_OVERHEAD)   /* 74 bytes */
#define KEEPALIVE_LEN IPOP_DATA_OVERHEAD                         /* UDP payload */

#define IMIX_LARGE   1420         /* IMIX = 7:4:1 of 64/576/1420 */
#define PAYLOAD_MUL  1            /* payload byte i of a frame: i + flow */

enum role { R_TX, R_RX, R_WA, R_WB, R__MAX };
static const char *const role_name[R__MAX] = { "tx", "rx", "wire_a", "wire_b" };
enum wire_data { WD_PASS, WD_SINK, WD_HOLD };

struct pend {
	uint16_t n;
	struct rte_mbuf *m[PEND_CAP];
};

struct port {
	const char *spec;
	char name[64];
	uint16_t id;
	int used;
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_dropped;
	struct pend pend[MAX_Q];
};

struct options {
	const char *spec[R__MAX];
	unsigned queues;
	uint16_t size;               /* 0: IMIX */
	uint64_t rate;               /* pps, 0 = as fast as the port takes */
	uint64_t count;
	double duration, warmup;
	unsigned flows;
	int mode_gen, mode_sink;
	int learn;
	enum wire_data wd;
	size_t hold_bytes;
	const char *api;
	const char *json;
	char **eal;
	int eal_n;
};

/* Counters of the measured window (or of every replay phase, in hold mode). */
struct window {
	uint64_t tx, rx, rx_bytes, out, out_bytes;   /* out: what the measured gateway emitted */
	uint64_t tsc;
};

/* The held A->B data: records [u16 len][u16 queue][bytes] back to back. */
struct hold {
	uint8_t *buf;
	size_t cap, head, tail;
	uint64_t held, dropped, replayed;
	uint32_t sess_idx[MAX_SESS];
	unsigned n_sess;
};

/* One measurement of a run (--case, or the one the other options describe). */
struct pcase {
	char name[32];
	uint16_t size;               /* 0: IMIX */
	enum wire_data wd;
	const char *api;
};

#define MAX_CASES 32

static struct options opt;
static struct pcase cases[MAX_CASES];
static unsigned n_cases;
static struct port ports[R__MAX];
static struct rte_mempool *pool;
static uint64_t hz;
static volatile int stop;
static struct hold hold;
static struct window win;
static int measuring;           /* counts into win */
static uint8_t tmpl[MAX_FLOWS][1536];
static uint64_t gen_seq;        /* frames generated, all phases */
static uint64_t gen_qseq[MAX_Q];
static uint64_t sunk_total;     /* A's data messages counted and dropped (sink) */
static uint64_t gen_blocked;    /* generator bursts cut short by a full ring */
static uint64_t gen_bursts;
static uint64_t wire_relayed[2], keepalives_held;
static uint64_t backflow;       /* frames that came back on the tx port */

/* ---- options ---- */

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [EAL args --] [options]\n"
		"ports (vdev specs, e.g. net_memif0,role=server,socket=/tmp/x.sock,socket-abstract=no):\n"
		"  --tx SPEC --rx SPEC --wire-a SPEC --wire-b SPEC   (see the header of bench/pktgen.c)\n"
		"  --queues N           rx/tx queues per port, 1..%d (default 1)\n"
		"traffic:\n"
		"  --mode gen|sink|both  generate on --tx, count on --rx, or both (default both)\n"
		"  --size N | --imix     frame bytes without FCS, 60..1518 (default 64);\n"
		"                        IMIX = 7:4:1 of 64/576/1420\n"
		"  --rate PPS            0 = as fast as the port accepts (default 0)\n"
		"  --count N             stop after N measured frames (default: no limit)\n"
		"  --duration S          measured seconds (default 2; hold: replay seconds)\n"
		"  --warmup S            unmeasured lead-in (default 0.5)\n"
		"  --flows N             distinct host pairs (MACs, IPs, ports), 1..%d (default 16)\n"
		"  --learn               first send one frame per flow backwards on --rx so that\n"
		"                        gateways learn where the hosts are\n"
		"  --wire-data pass|sink|hold   ipop data A->B on the wire (default pass)\n"
		"  --hold-mb N           hold buffer, MB (default 256)\n"
		"  --api SOCK            the measured gateway's ipopd management socket\n"
		"  --json FILE           write the JSON report ('-': stdout)\n"
		"  --case NAME:SIZE:WIRE-DATA[:API]   a run of several measurements with the\n"
		"                        same ports (repeatable; SIZE n|imix, WIRE-DATA\n"
		"                        none|pass|sink|hold); default: one case from the options\n"
		"EAL args default to --no-pci --no-huge --no-shconf -m 512 --no-telemetry\n"
		"--log-level=*:error -l 0; the port vdevs are always appended.\n",
		argv0, MAX_Q, MAX_FLOWS);
}

static int parse_mode(const char *s)
{
	if (strcmp(s, "gen") == 0)
		opt.mode_gen = 1, opt.mode_sink = 0;
	else if (strcmp(s, "sink") == 0)
		opt.mode_gen = 0, opt.mode_sink = 1;
	else if (strcmp(s, "both") == 0)
		opt.mode_gen = 1, opt.mode_sink = 1;
	else
		return -EINVAL;
	return 0;
}

static int parse_wd(const char *s)
{
	if (strcmp(s, "pass") == 0)
		opt.wd = WD_PASS;
	else if (strcmp(s, "sink") == 0)
		opt.wd = WD_SINK;
	else if (strcmp(s, "hold") == 0)
		opt.wd = WD_HOLD;
	else
		return -EINVAL;
	return 0;
}

/* NAME:SIZE:WIRE-DATA[:API], SIZE a byte count or imix. */
static int parse_case(const char *arg)
{
	char *copy = strdup(arg), *save = NULL;
	char *name, *size, *wd, *api;
	struct pcase *c = &cases[n_cases];
	int rc = -EINVAL;

	if (copy == NULL || n_cases == MAX_CASES) {
		free(copy);
		return -EINVAL;
	}
	name = strtok_r(copy, ":", &save);
	size = strtok_r(NULL, ":", &save);
	wd = strtok_r(NULL, ":", &save);
	api = strtok_r(NULL, "", &save);
	if (name && size && wd && strlen(name) < sizeof(c->name)) {
		snprintf(c->name, sizeof(c->name), "%s", name);
		c->size = strcmp(size, "imix") == 0 ? 0 : (uint16_t)strtoul(size, NULL, 10);
		c->api = api ? strdup(api) : NULL;
		rc = (c->size == 0 && strcmp(size, "imix") != 0) || (c->size && c->size < 60) ||
		     c->size > 1518 ? -EINVAL : 0;
		if (rc == 0 && strcmp(wd, "none") == 0)
			c->wd = WD_PASS;
		else if (rc == 0) {
			enum wire_data keep = opt.wd;
			rc = parse_wd(wd);
			c->wd = opt.wd;
			opt.wd = keep;
		}
	}
	free(copy);
	if (rc == 0)
		n_cases++;
	return rc;
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "tx", required_argument, NULL, 't' }, { "rx", required_argument, NULL, 'r' },
		{ "wire-a", required_argument, NULL, 'a' }, { "wire-b", required_argument, NULL, 'b' },
		{ "queues", required_argument, NULL, 'q' }, { "mode", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 's' }, { "imix", no_argument, NULL, 'i' },
		{ "rate", required_argument, NULL, 'R' }, { "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' }, { "warmup", required_argument, NULL, 'w' },
		{ "flows", required_argument, NULL, 'f' }, { "learn", no_argument, NULL, 'l' },
		{ "wire-data", required_argument, NULL, 'D' }, { "hold-mb", required_argument, NULL, 'H' },
		{ "api", required_argument, NULL, 'A' }, { "json", required_argument, NULL, 'j' },
		{ "case", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;   /* glibc: restart even if the EAL used getopt before */
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 't': opt.spec[R_TX] = optarg; break;
		case 'r': opt.spec[R_RX] = optarg; break;
		case 'a': opt.spec[R_WA] = optarg; break;
		case 'b': opt.spec[R_WB] = optarg; break;
		case 'q':
			opt.queues = (unsigned)strtoul(optarg, NULL, 10);
			if (opt.queues < 1 || opt.queues > MAX_Q)
				return -EINVAL;
			break;
		case 'm':
			if (parse_mode(optarg) != 0)
				return -EINVAL;
			break;
		case 's':
			opt.size = (uint16_t)strtoul(optarg, NULL, 10);
			if (opt.size < 60 || opt.size > 1518)
				return -EINVAL;
			break;
		case 'i': opt.size = 0; break;
		case 'R': opt.rate = strtoull(optarg, NULL, 10); break;
		case 'c': opt.count = strtoull(optarg, NULL, 10); break;
		case 'd':
			opt.duration = strtod(optarg, NULL);
			if (opt.duration <= 0 || opt.duration > 600)
				return -EINVAL;
			break;
		case 'w':
			opt.warmup = strtod(optarg, NULL);
			if (opt.warmup < 0 || opt.warmup > 60)
				return -EINVAL;
			break;
		case 'f':
			opt.flows = (unsigned)strtoul(optarg, NULL, 10);
			if (opt.flows < 1 || opt.flows > MAX_FLOWS)
				return -EINVAL;
			break;
		case 'l': opt.learn = 1; break;
		case 'D':
			if (parse_wd(optarg) != 0)
				return -EINVAL;
			break;
		case 'H':
			opt.hold_bytes = (size_t)strtoul(optarg, NULL, 10) << 20;
			if (opt.hold_bytes == 0 || opt.hold_bytes > (8ul << 30))
				return -EINVAL;
			break;
		case 'A': opt.api = optarg; break;
		case 'j': opt.json = optarg; break;
		case 'C':
			if (parse_case(optarg) != 0)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc)
		return -EINVAL;
	if (opt.spec[R_TX] == NULL)
		opt.mode_gen = 0;             /* nothing to generate on (e.g. testpmd generates) */
	if ((opt.spec[R_WA] == NULL) != (opt.spec[R_WB] == NULL))
		return -EINVAL;
	if (n_cases == 0) {
		cases[0] = (struct pcase){ .name = "run", .size = opt.size, .wd = opt.wd,
					   .api = opt.api };
		n_cases = 1;
	}
	for (unsigned i = 0; i < n_cases; i++)
		if (cases[i].wd == WD_HOLD && (opt.spec[R_WA] == NULL || opt.spec[R_TX] == NULL ||
					       opt.spec[R_RX] == NULL))
			return -EINVAL;
	return 0;
}

/* ---- EAL and ports ---- */

static int eal_start(int argc, char **argv, int *oargc, char ***oargv)
{
	static struct bench_eal e;
	static char vdev[R__MAX][320];

	/* Never probe the machine's own NICs unless told which one. */
	if (bench_eal_begin(&e, argc, argv, 1, oargc, oargv) == 0)
		bench_eal_defaults(&e, "512", "0");
	opt = (struct options){ .queues = 1, .size = 64, .duration = 2, .warmup = 0.5,
				.flows = 16, .mode_gen = 1, .mode_sink = 1, .wd = WD_PASS,
				.hold_bytes = 256ul << 20 };
	if (parse_args(*oargc, *oargv) != 0)
		return -EINVAL;
	for (int r = 0; r < R__MAX; r++) {
		if (opt.spec[r] == NULL)
			continue;
		snprintf(vdev[r], sizeof(vdev[r]), "--vdev=%s", opt.spec[r]);
		bench_eal_add(&e, vdev[r]);
	}
	return bench_eal_init(&e);
}

static int port_start(struct port *p, const char *spec)
{
	struct rte_eth_conf conf;
	size_t len = strcspn(spec, ",");
	int r;

	memset(&conf, 0, sizeof(conf));
	p->spec = spec;
	if (len == 0 || len >= sizeof(p->name))
		return -EINVAL;
	memcpy(p->name, spec, len);
	p->name[len] = '\0';
	if (rte_eth_dev_get_port_by_name(p->name, &p->id) != 0)
		return -ENODEV;
	r = rte_eth_dev_configure(p->id, (uint16_t)opt.queues, (uint16_t)opt.queues, &conf);
	for (uint16_t q = 0; r == 0 && q < opt.queues; q++)
		r = rte_eth_rx_queue_setup(p->id, q, NB_DESC, (unsigned)rte_socket_id(), NULL, pool);
	for (uint16_t q = 0; r == 0 && q < opt.queues; q++)
		r = rte_eth_tx_queue_setup(p->id, q, NB_DESC, (unsigned)rte_socket_id(), NULL);
	if (r == 0)
		r = rte_eth_dev_start(p->id);
	if (r != 0)
		return r;
	rte_eth_promiscuous_enable(p->id);
	p->used = 1;
	return 0;
}

static int links_up(double timeout_s)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(timeout_s * (double)hz);

	for (;;) {
		int all = 1;
		for (int r = 0; r < R__MAX; r++) {
			struct rte_eth_link l;
			if (!ports[r].used)
				continue;
			if (rte_eth_link_get_nowait(ports[r].id, &l) != 0 || !l.link_status)
				all = 0;
		}
		if (all)
			return 0;
		if (rte_rdtsc() > end || stop)
			return -ETIMEDOUT;
		rte_delay_ms(10);
	}
}

/* ---- frames ---- */

static uint16_t frame_len(uint64_t seq)
{
	return opt.size ? opt.size :
			  bench_imix_len((unsigned)(seq % BENCH_IMIX_PATTERN), IMIX_LARGE);
}

/* Host f of site s (bench_frame_write): MAC 02:ss:00:00:ff:ff, IP 10.s.f/16.
 * Site 0x0a hosts sit behind the generator's gateway, site 0x0b hosts behind
 * the sink's. */
static void frame_write(uint8_t *f, uint16_t len, uint8_t src, uint8_t dst, unsigned flow)
{
	bench_frame_write(f, len, src, dst, flow, PAYLOAD_MUL);
}

/* One template per flow at the largest size in use; a shorter frame is the
 * same bytes with the IP/UDP lengths and checksum patched. */
static void templates(void)
{
	for (unsigned f = 0; f < opt.flows; f++)
		frame_write(tmpl[f], 1518, 0x0a, 0x0b, f);
}

static void frame_fill(struct rte_mbuf *m, unsigned flow, uint16_t len)
{
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memcpy(d, tmpl[flow], len);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(len - RTE_ETHER_HDR_LEN));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(len - RTE_ETHER_HDR_LEN - 20));
	m->data_len = len;
	m->pkt_len = len;
}

/* ---- transmit with retry ---- */

/* Try to send what is pending on (p, q); keep the rest for later. */
static void pend_push(struct port *p, uint16_t q)
{
	struct pend *pd = &p->pend[q];
	uint16_t sent;

	if (pd->n == 0)
		return;
	sent = rte_eth_tx_burst(p->id, q, pd->m, pd->n);
	p->tx_pkts += sent;
	if (sent && sent < pd->n)
		memmove(pd->m, pd->m + sent, (size_t)(pd->n - sent) * sizeof(pd->m[0]));
	pd->n = (uint16_t)(pd->n - sent);
}

/* Queue for sending; drops (counted) only when the backlog is full. */
static void pend_add(struct port *p, uint16_t q, struct rte_mbuf *m)
{
	struct pend *pd = &p->pend[q];

	if (pd->n == PEND_CAP) {
		pend_push(p, q);
		if (pd->n == PEND_CAP) {
			rte_pktmbuf_free(m);
			p->tx_dropped++;
			return;
		}
	}
	pd->m[pd->n++] = m;
}

static void push_all(void)
{
	for (int r = 0; r < R__MAX; r++)
		if (ports[r].used)
			for (uint16_t q = 0; q < opt.queues; q++)
				pend_push(&ports[r], q);
}

/* ---- generator ---- */

/* How many frames the rate allows now (all of them without a rate). */
static uint64_t gen_allowance(uint64_t now, uint64_t t0, uint64_t done)
{
	if (opt.rate == 0)
		return UINT64_MAX;
	uint64_t due = (uint64_t)((double)(now - t0) / (double)hz * (double)opt.rate);
	return due > done ? due - done : 0;
}

/* One burst per queue at most; never more than a burst waits per queue, so a
 * full ring throttles the generator instead of dropping. Returns frames made. */
static unsigned gen_step(uint64_t allowance, uint64_t limit)
{
	struct port *p = &ports[R_TX];
	unsigned made = 0;

	for (uint16_t q = 0; q < opt.queues && allowance > 0 && limit > 0; q++) {
		struct rte_mbuf *m[BURST];
		uint64_t want = BURST - (p->pend[q].n < BURST ? p->pend[q].n : BURST);
		if (want > allowance)
			want = allowance;
		if (want > limit)
			want = limit;
		if (want == 0) {
			gen_blocked++;
			continue;
		}
		if (rte_pktmbuf_alloc_bulk(pool, m, (unsigned)want) != 0)
			break;
		/* Flow f always on queue f % queues: the flows of q are q, q + Q, ... */
		unsigned per_q = (opt.flows + opt.queues - 1 - q) / opt.queues;
		for (unsigned i = 0; i < want; i++) {
			unsigned flow = per_q ? q + opt.queues * (unsigned)(gen_qseq[q]++ % per_q) :
						q % opt.flows;
			frame_fill(m[i], flow, frame_len(gen_seq));
			gen_seq++;
			pend_add(p, q, m[i]);
		}
		pend_push(p, q);
		gen_bursts++;
		made += (unsigned)want;
		allowance -= want;
		limit -= want;
	}
	if (measuring && opt.wd != WD_HOLD)   /* hold: the replays are the offered load */
		win.tx += made;
	return made;
}

/* ---- sink ---- */

static void sink_step(void)
{
	struct port *p = &ports[R_RX];
	struct rte_mbuf *m[BURST];

	for (uint16_t q = 0; q < opt.queues; q++) {
		uint16_t n = rte_eth_rx_burst(p->id, q, m, BURST);
		uint64_t bytes = 0;
		for (uint16_t i = 0; i < n; i++)
			bytes += m[i]->pkt_len;
		p->rx_pkts += n;
		p->rx_bytes += bytes;
		if (measuring) {
			win.rx += n;
			win.rx_bytes += bytes;
		}
		rte_pktmbuf_free_bulk(m, n);
	}
}

/* Frames the gateways send back towards the generator (learning floods). */
static void drain_tx_port(void)
{
	struct rte_mbuf *m[BURST];

	for (uint16_t q = 0; q < opt.queues; q++) {
		uint16_t n = rte_eth_rx_burst(ports[R_TX].id, q, m, BURST);
		backflow += n;
		rte_pktmbuf_free_bulk(m, n);
	}
}

/* ---- wire ---- */

/* ipop data message? Sets its UDP payload length and receiver index. */
static int is_data(const struct rte_mbuf *m, uint32_t *plen, uint32_t *rindex)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t ipo, po;

	if (ipop_encap_parse(f, m->data_len, &ipo, &po, plen) != 0)
		return 0;
	if (ipop_wire_classify(f + po, *plen) != IPOP_MSG_DATA)
		return 0;
	memcpy(rindex, f + po + 4, 4);
	return 1;
}

/* Every session on one queue, numbered as they appear. */
static uint16_t sess_queue(uint32_t rindex)
{
	for (unsigned i = 0; i < hold.n_sess; i++)
		if (hold.sess_idx[i] == rindex)
			return (uint16_t)(i % opt.queues);
	if (hold.n_sess < MAX_SESS)
		hold.sess_idx[hold.n_sess++] = rindex;
	return (uint16_t)((hold.n_sess - 1) % opt.queues);
}

static void hold_put(const struct rte_mbuf *m, uint16_t q, int keepalive)
{
	uint16_t len = (uint16_t)m->data_len;

	if (hold.tail + 4 + len > hold.cap) {
		hold.dropped++;
		return;
	}
	memcpy(hold.buf + hold.tail, &len, 2);
	memcpy(hold.buf + hold.tail + 2, &q, 2);
	memcpy(hold.buf + hold.tail + 4, rte_pktmbuf_mtod(m, const void *), len);
	hold.tail += 4 + (size_t)len;
	hold.held++;
	keepalives_held += keepalive;
}

static void wire_a_to_b(struct rte_mbuf *m)
{
	uint32_t plen, rindex;

	if (!is_data(m, &plen, &rindex)) {
		wire_relayed[0]++;
		pend_add(&ports[R_WB], 0, m);
		return;
	}
	uint16_t q = sess_queue(rindex);
	if (opt.wd == WD_HOLD) {
		hold_put(m, q, plen == KEEPALIVE_LEN);
		rte_pktmbuf_free(m);
	} else if (opt.wd == WD_SINK && plen != KEEPALIVE_LEN) {
		sunk_total++;
		if (measuring) {
			win.out++;
			win.out_bytes += m->pkt_len - ENC_OVERHEAD;
		}
		rte_pktmbuf_free(m);
	} else {
		wire_relayed[0]++;
		pend_add(&ports[R_WB], q, m);
	}
}

static void wire_step(void)
{
	struct rte_mbuf *m[BURST];

	for (uint16_t q = 0; q < opt.queues; q++) {
		uint16_t n = rte_eth_rx_burst(ports[R_WA].id, q, m, BURST);
		ports[R_WA].rx_pkts += n;
		for (uint16_t i = 0; i < n; i++)
			wire_a_to_b(m[i]);
		/* B -> A: everything, keeping the queue. */
		n = rte_eth_rx_burst(ports[R_WB].id, q, m, BURST);
		ports[R_WB].rx_pkts += n;
		wire_relayed[1] += n;
		for (uint16_t i = 0; i < n; i++)
			pend_add(&ports[R_WA], q, m[i]);
	}
}

/* Replay up to a burst per queue from the hold buffer; returns records sent. */
static unsigned hold_replay(size_t end)
{
	unsigned sent = 0;

	while (hold.head < end && sent < BURST * opt.queues) {
		uint16_t len, q;
		memcpy(&len, hold.buf + hold.head, 2);
		memcpy(&q, hold.buf + hold.head + 2, 2);
		if (ports[R_WB].pend[q].n >= BURST)
			break;              /* that queue's ring is full: come back later */
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		if (m == NULL)
			break;
		memcpy(rte_pktmbuf_mtod(m, void *), hold.buf + hold.head + 4, len);
		m->data_len = len;
		m->pkt_len = len;
		pend_add(&ports[R_WB], q, m);
		hold.head += 4 + (size_t)len;
		hold.replayed++;
		sent++;
	}
	return sent;
}

/* Drop what was replayed; keep what arrived meanwhile at the front. */
static void hold_compact(void)
{
	size_t rest = hold.tail - hold.head;

	memmove(hold.buf, hold.buf + hold.head, rest);
	hold.head = 0;
	hold.tail = rest;
}

/* ---- one poll iteration ---- */

static void poll_io(void)
{
	if (ports[R_RX].used && opt.mode_sink)
		sink_step();
	if (ports[R_TX].used)
		drain_tx_port();
	if (ports[R_WA].used)
		wire_step();
	push_all();
}

static uint64_t ms_to_tsc(double ms)
{
	return (uint64_t)(ms * (double)hz / 1000.0);
}

/* Poll for ms milliseconds. */
static void idle_ms(double ms)
{
	uint64_t end = rte_rdtsc() + ms_to_tsc(ms);

	while (rte_rdtsc() < end && !stop)
		poll_io();
}

/* Frames from B's hosts towards A's: the gateways learn both ends. */
static void learn(void)
{
	struct port *p = &ports[R_RX];

	for (int rep = 0; rep < 3; rep++) {
		for (unsigned f = 0; f < opt.flows; f++) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
			if (m == NULL)
				break;
			frame_write(rte_pktmbuf_mtod(m, uint8_t *), 64, 0x0b, 0x0a, f);
			m->data_len = m->pkt_len = 64;
			pend_add(p, (uint16_t)(f % opt.queues), m);
			if (f % BURST == BURST - 1)
				idle_ms(0.2);
		}
		idle_ms(30);
	}
}

/* ---- gateway counters over the management socket ---- */

#define MAX_REASONS 48

struct gw_snap {
	int ok;
	unsigned n, n_reasons;
	uint64_t tsc_hz, drops;
	char reason[MAX_REASONS][32];
	uint64_t reason_n[MAX_REASONS];
	uint64_t polls, idle_polls;     /* all workers */
	uint64_t busy[16], total[16], enc[16], dec[16], lcore[16];
};

static int api_read(const char *path, char **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t cap = 1 << 16, len = 0;
	char *buf;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, "show json\n", 10) != 10) {
		close(fd);
		return -errno;
	}
	buf = malloc(cap);
	while (buf != NULL) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 2000) != 1)
			break;
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	if (buf == NULL)
		return -ENOMEM;
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static uint64_t jget_u64(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? (uint64_t)json_object_get_int64(v) : 0;
}

/* All peers of the measured gateway up (sessions and next hops ready)? */
static int gw_peers_up(void)
{
	char *text = NULL;
	json_object *root, *peers;
	int up = 0;

	if (api_read(opt.api, &text) != 0)
		return 0;
	root = json_tokener_parse(text);
	free(text);
	if (root != NULL && json_object_object_get_ex(root, "peers", &peers)) {
		size_t n = json_object_array_length(peers);
		up = n > 0;
		for (size_t i = 0; i < n; i++) {
			json_object *st;
			if (!json_object_object_get_ex(json_object_array_get_idx(peers, i), "state", &st) ||
			    strcmp(json_object_get_string(st), "up") != 0)
				up = 0;
		}
	}
	json_object_put(root);
	return up;
}

static int wait_peers_up(double timeout_s)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(timeout_s * (double)hz);

	while (!stop && rte_rdtsc() < end) {
		if (gw_peers_up())
			return 0;
		idle_ms(100);
	}
	return -ETIMEDOUT;
}

static void gw_snapshot(struct gw_snap *s)
{
	char *text = NULL;
	json_object *root, *dp, *pw, *drops;

	memset(s, 0, sizeof(*s));
	if (opt.api == NULL || api_read(opt.api, &text) != 0)
		return;
	root = json_tokener_parse(text);
	free(text);
	if (root == NULL)
		return;
	s->tsc_hz = jget_u64(root, "tsc_hz");
	if (json_object_object_get_ex(root, "dataplane", &dp) &&
	    json_object_object_get_ex(root, "per_worker", &pw)) {
		s->n = (unsigned)json_object_array_length(pw);
		if (s->n > 16)
			s->n = 16;
		for (unsigned i = 0; i < s->n; i++) {
			json_object *w = json_object_array_get_idx(pw, i);
			s->busy[i] = jget_u64(w, "busy_tsc");
			s->total[i] = jget_u64(w, "total_tsc");
			s->enc[i] = jget_u64(w, "encrypted");
			s->dec[i] = jget_u64(w, "decrypted");
			s->lcore[i] = jget_u64(w, "lcore");
		}
		s->polls = jget_u64(dp, "polls");
		s->idle_polls = jget_u64(dp, "idle_polls");
		if (json_object_object_get_ex(dp, "drops", &drops)) {
			json_object_object_foreach(drops, k, v) {
				uint64_t x = (uint64_t)json_object_get_int64(v);
				s->drops += x;
				if (s->n_reasons < MAX_REASONS) {
					snprintf(s->reason[s->n_reasons], sizeof(s->reason[0]), "%s", k);
					s->reason_n[s->n_reasons++] = x;
				}
			}
		}
		s->ok = s->n > 0;
	}
	json_object_put(root);
}

static json_object *gw_json(const struct gw_snap *a, const struct gw_snap *b)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	uint64_t busy = 0, pkts = 0;

	if (!a->ok || !b->ok || a->n != b->n) {
		json_object_object_add(o, "error", json_object_new_string(
			opt.api ? "management socket not readable" : "no --api given"));
		return o;
	}
	for (unsigned i = 0; i < a->n; i++) {
		json_object *w = json_object_new_object();
		uint64_t db = b->busy[i] - a->busy[i], dt = b->total[i] - a->total[i];
		uint64_t de = b->enc[i] - a->enc[i], dd = b->dec[i] - a->dec[i];
		json_object_object_add(w, "lcore", json_object_new_int64((int64_t)b->lcore[i]));
		json_object_object_add(w, "encrypted", json_object_new_int64((int64_t)de));
		json_object_object_add(w, "decrypted", json_object_new_int64((int64_t)dd));
		json_object_object_add(w, "busy_tsc", json_object_new_int64((int64_t)db));
		json_object_object_add(w, "busy_frac", json_object_new_double(dt ? (double)db / (double)dt : 0));
		json_object_object_add(w, "cycles_per_pkt",
				       json_object_new_double(de + dd ? (double)db / (double)(de + dd) : 0));
		json_object_array_add(arr, w);
		busy += db;
		pkts += de + dd;
	}
	json_object_object_add(o, "workers", arr);
	json_object_object_add(o, "tsc_hz", json_object_new_int64((int64_t)b->tsc_hz));
	json_object_object_add(o, "cycles_per_pkt",
			       json_object_new_double(pkts ? (double)busy / (double)pkts : 0));
	/* Packets per poll iteration that found any: 32 (the rx burst) means the
	 * worker always found a full burst waiting, i.e. it was the bottleneck;
	 * much less means it waited for its input, and its cycles per packet
	 * include the per-iteration overhead spread over few packets. */
	uint64_t busy_polls = (b->polls - a->polls) - (b->idle_polls - a->idle_polls);
	json_object_object_add(o, "pkts_per_busy_poll",
			       json_object_new_double(busy_polls ? (double)pkts / (double)busy_polls : 0));
	json_object_object_add(o, "drops", json_object_new_int64((int64_t)(b->drops - a->drops)));
	json_object *why = json_object_new_object();
	for (unsigned i = 0; i < b->n_reasons && i < a->n_reasons; i++)
		if (b->reason_n[i] != a->reason_n[i])
			json_object_object_add(why, b->reason[i],
					       json_object_new_int64((int64_t)(b->reason_n[i] - a->reason_n[i])));
	json_object_object_add(o, "drops_by_reason", why);
	return o;
}

/* ---- the runs ---- */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Generate (and count) for a time: the live modes. */
static void run_live(double seconds, uint64_t limit)
{
	uint64_t t0 = rte_rdtsc(), end = t0 + (uint64_t)(seconds * (double)hz), made = 0;

	while (!stop) {
		uint64_t now = rte_rdtsc();
		if (now >= end || (limit && made >= limit))
			break;
		if (opt.mode_gen)
			made += gen_step(gen_allowance(now, t0, made), limit ? limit - made : UINT64_MAX);
		poll_io();
	}
	if (measuring)
		win.tsc += rte_rdtsc() - t0;
}

/* Generate n frames into A, wait until A's output is held (or quiet). */
static void hold_fill(uint64_t n)
{
	uint64_t t0 = rte_rdtsc(), made = 0, last = rte_rdtsc(), seen = hold.held;
	uint64_t quiet = ms_to_tsc(QUIET_MS), target = hold.held + n;

	while (!stop) {
		uint64_t now = rte_rdtsc();
		if (made < n)
			made += gen_step(gen_allowance(now, t0, made), n - made);
		poll_io();
		if (hold.held != seen) {
			seen = hold.held;
			last = now;
		}
		if (made >= n && (hold.held >= target || now - last > quiet))
			break;
		if (made < n)
			last = now;
	}
}

/* Replay everything held at full speed into B. The phase is timed from B's
 * first output to its last: B's worker may be asleep (idle back-off) when a
 * replay starts, and its wake-up is not decryption time. */
static void hold_drain(void)
{
	size_t end = hold.tail;
	uint64_t quiet = ms_to_tsc(QUIET_MS), act = rte_rdtsc(), first = 0, last = 0;
	uint64_t rx0 = ports[R_RX].rx_pkts, seen = rx0, replayed0 = hold.replayed;

	while (!stop) {
		uint64_t now = rte_rdtsc();
		if (hold_replay(end) > 0)
			act = now;
		poll_io();
		if (ports[R_RX].rx_pkts != seen) {
			if (seen == rx0)
				first = now;
			seen = ports[R_RX].rx_pkts;
			last = act = now;
		}
		if (hold.head >= end &&
		    (seen - rx0 >= hold.replayed - replayed0 || now - act > quiet))
			break;
	}
	if (measuring && seen - rx0 > 1) {
		win.tsc += last - first;
		win.tx += hold.replayed - replayed0;
		win.out += seen - rx0 - 1;   /* the first one starts the clock */
	}
	hold_compact();
}

static void run_hold(void)
{
	double mean = opt.size ? opt.size : bench_imix_mean(IMIX_LARGE);
	uint64_t per_phase = (uint64_t)((double)hold.cap / (mean + ENC_OVERHEAD + 4) * 0.9);
	uint64_t done = 0;

	if (opt.count && per_phase > opt.count)
		per_phase = opt.count;
	while (!stop && (double)win.tsc / (double)hz < opt.duration &&
	       (!opt.count || done < opt.count)) {
		hold_fill(per_phase);
		hold_drain();
		done += per_phase;
	}
}

/* ---- report ---- */

static json_object *port_json(const struct port *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "device", json_object_new_string(p->name));
	json_object_object_add(o, "rx_pkts", json_object_new_int64((int64_t)p->rx_pkts));
	json_object_object_add(o, "tx_pkts", json_object_new_int64((int64_t)p->tx_pkts));
	json_object_object_add(o, "tx_dropped", json_object_new_int64((int64_t)p->tx_dropped));
	return o;
}

static const char *wd_name(void)
{
	return opt.wd == WD_PASS ? "pass" : opt.wd == WD_SINK ? "sink" : "hold";
}

static json_object *report(const struct gw_snap *g0, const struct gw_snap *g1,
			   uint64_t lost_total)
{
	json_object *root = json_object_new_object(), *cfg = json_object_new_object();
	json_object *w = json_object_new_object(), *pj = json_object_new_object();
	double secs = (double)win.tsc / (double)hz;
	/* What left the system under test: A's encrypted output (sink), B's LAN
	 * output during replays (hold), or the sink port. */
	uint64_t out = opt.wd == WD_SINK || opt.wd == WD_HOLD ? win.out : win.rx;
	double mean = opt.size ? opt.size : bench_imix_mean(IMIX_LARGE);

	json_object_object_add(root, "tool", json_object_new_string("ipop-pktgen"));
	json_object_object_add(cfg, "size", opt.size ? json_object_new_int(opt.size) :
				json_object_new_string("imix"));
	json_object_object_add(cfg, "rate_pps", json_object_new_int64((int64_t)opt.rate));
	json_object_object_add(cfg, "flows", json_object_new_int((int)opt.flows));
	json_object_object_add(cfg, "queues", json_object_new_int((int)opt.queues));
	json_object_object_add(cfg, "duration_s", json_object_new_double(opt.duration));
	json_object_object_add(cfg, "wire_data", json_object_new_string(ports[R_WA].used ? wd_name() : "none"));
	json_object_object_add(cfg, "generate", json_object_new_boolean(opt.mode_gen));
	json_object_object_add(root, "config", cfg);
	json_object_object_add(w, "seconds", json_object_new_double(secs));
	json_object_object_add(w, "offered_pkts", json_object_new_int64((int64_t)win.tx));
	json_object_object_add(w, "out_pkts", json_object_new_int64((int64_t)out));
	json_object_object_add(w, "mpps", json_object_new_double(secs > 0 ? (double)out / secs / 1e6 : 0));
	/* Inner frame bytes, as the micro-benchmark counts them. */
	json_object_object_add(w, "gbit_s", json_object_new_double(
		secs > 0 ? (double)out * mean * 8 / secs / 1e9 : 0));
	json_object_object_add(w, "offered_mpps", json_object_new_double(
		secs > 0 ? (double)win.tx / secs / 1e6 : 0));
	json_object_object_add(w, "lost_pkts", json_object_new_int64((int64_t)lost_total));
	json_object_object_add(w, "generator_blocked_frac", json_object_new_double(
		gen_bursts + gen_blocked ? (double)gen_blocked / (double)(gen_bursts + gen_blocked) : 0));
	json_object_object_add(root, "window", w);
	for (int r = 0; r < R__MAX; r++)
		if (ports[r].used)
			json_object_object_add(pj, role_name[r], port_json(&ports[r]));
	json_object_object_add(root, "ports", pj);
	if (ports[R_WA].used) {
		json_object *wj = json_object_new_object();
		json_object_object_add(wj, "a_to_b_relayed", json_object_new_int64((int64_t)wire_relayed[0]));
		json_object_object_add(wj, "b_to_a_relayed", json_object_new_int64((int64_t)wire_relayed[1]));
		json_object_object_add(wj, "held", json_object_new_int64((int64_t)hold.held));
		json_object_object_add(wj, "held_keepalives", json_object_new_int64((int64_t)keepalives_held));
		json_object_object_add(wj, "hold_overflow", json_object_new_int64((int64_t)hold.dropped));
		json_object_object_add(wj, "replayed", json_object_new_int64((int64_t)hold.replayed));
		json_object_object_add(wj, "sessions", json_object_new_int((int)hold.n_sess));
		json_object_object_add(root, "wire", wj);
	}
	json_object_object_add(root, "backflow_pkts", json_object_new_int64((int64_t)backflow));
	json_object_object_add(root, "gateway", gw_json(g0, g1));
	return root;
}

/* Packets that entered the system under test but never came out, over the
 * whole run, after a drain. */
static uint64_t total_lost(uint64_t gen_total, uint64_t out_total)
{
	return gen_total > out_total ? gen_total - out_total : 0;
}

/* Reset the counters a case reports. */
static void case_reset(void)
{
	memset(&win, 0, sizeof(win));
	hold.head = hold.tail = 0;
	hold.held = hold.dropped = hold.replayed = 0;
	keepalives_held = backflow = gen_blocked = gen_bursts = 0;
	wire_relayed[0] = wire_relayed[1] = 0;
	for (int r = 0; r < R__MAX; r++)
		ports[r].rx_pkts = ports[r].rx_bytes = ports[r].tx_pkts = ports[r].tx_dropped = 0;
}

/* One measurement: learn, warm up, measure, drain. Returns its report. */
static json_object *run_case(const struct pcase *c)
{
	struct gw_snap g0, g1;
	uint64_t gen0, out_before, lost;
	json_object *root;

	opt.size = c->size;
	opt.wd = c->wd;
	opt.api = c->api;
	case_reset();
	if (opt.api && wait_peers_up(20) != 0) {
		fprintf(stderr, "%s: the gateway's peers are not up after 20 s\n", c->name);
		return NULL;
	}
	if (opt.learn && ports[R_RX].used)
		learn();
	/* Warm-up: live traffic, or one fill/replay cycle. */
	if (opt.wd == WD_HOLD) {
		hold_fill(opt.count && opt.count < 100000 ? opt.count : 100000);
		hold_drain();
	} else {
		run_live(opt.warmup, 0);
	}
	gw_snapshot(&g0);
	gen0 = gen_seq;
	out_before = opt.wd == WD_SINK ? sunk_total : ports[R_RX].rx_pkts;
	measuring = 1;
	if (opt.wd == WD_HOLD)
		run_hold();
	else
		run_live(opt.duration, opt.count);
	measuring = 0;
	gw_snapshot(&g1);
	idle_ms(QUIET_MS * 2);       /* let in-flight frames arrive */
	if (opt.wd == WD_HOLD)
		lost = total_lost(win.tx, win.out);
	else if (opt.wd == WD_SINK)
		lost = total_lost(gen_seq - gen0, sunk_total - out_before);
	else
		lost = total_lost(gen_seq - gen0, ports[R_RX].rx_pkts - out_before);
	if (!opt.mode_gen)
		lost = 0;            /* someone else generates: unknown offered load */
	root = report(&g0, &g1, lost);
	json_object_object_add(root, "name", json_object_new_string(c->name));
	json_object *wj = json_object_object_get(root, "window");
	json_object *gj = json_object_object_get(root, "gateway");
	json_object *cj = NULL;
	json_object_object_get_ex(gj, "cycles_per_pkt", &cj);
	printf("ipop-pktgen %s: %.3f s: %.3f Mpps %.2f Gbit/s out (offered %.3f Mpps), lost %llu",
	       c->name, json_object_get_double(json_object_object_get(wj, "seconds")),
	       json_object_get_double(json_object_object_get(wj, "mpps")),
	       json_object_get_double(json_object_object_get(wj, "gbit_s")),
	       json_object_get_double(json_object_object_get(wj, "offered_mpps")),
	       (unsigned long long)lost);
	if (cj != NULL)
		printf(", gateway %.0f cycles/pkt", json_object_get_double(cj));
	printf("\n");
	fflush(stdout);
	return root;
}

static void write_json(json_object *root)
{
	if (opt.json != NULL)
		bench_json_write(root, opt.json);
}

/* Stop our side cleanly: nothing more is sent, pending mbufs are freed, and
 * the ports close (DPDK 22.11's memif may crash when a peer quits while it
 * polls: the script stops the gateways only after this tool has exited). */
static void ports_close(void)
{
	for (int i = 0; i < R__MAX; i++) {
		if (!ports[i].used)
			continue;
		for (uint16_t q = 0; q < opt.queues; q++) {
			rte_pktmbuf_free_bulk(ports[i].pend[q].m, ports[i].pend[q].n);
			ports[i].pend[q].n = 0;
		}
	}
	for (int i = 0; i < R__MAX; i++)
		if (ports[i].used) {
			rte_eth_dev_stop(ports[i].id);
			rte_eth_dev_close(ports[i].id);
		}
}

static int setup(void)
{
	int r;

	pool = rte_pktmbuf_pool_create("pktgen", 32767, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (int i = 0; i < R__MAX; i++) {
		if (opt.spec[i] == NULL)
			continue;
		r = port_start(&ports[i], opt.spec[i]);
		if (r != 0) {
			fprintf(stderr, "port %s (%s): %s\n", role_name[i], opt.spec[i], strerror(-r));
			return r;
		}
	}
	for (unsigned i = 0; i < n_cases; i++)
		if (cases[i].wd == WD_HOLD && hold.buf == NULL) {
			hold.cap = opt.hold_bytes;
			hold.buf = malloc(hold.cap);
			if (hold.buf == NULL) {
				fprintf(stderr, "hold buffer of %zu bytes: out of memory\n", hold.cap);
				return -ENOMEM;
			}
		}
	templates();
	if (links_up(10) != 0) {
		fprintf(stderr, "links did not come up within 10 s (peers running?)\n");
		return -ETIMEDOUT;
	}
	idle_ms(50);
	return 0;
}

int main(int argc, char **argv)
{
	json_object *root, *arr;
	int oargc, rc = 0;
	char **oargv;

	if (eal_start(argc, argv, &oargc, &oargv) < 0) {
		usage(argv[0]);
		return 2;
	}
	hz = rte_get_tsc_hz();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (setup() != 0)
		return 1;
	root = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(root, "tool", json_object_new_string("ipop-pktgen"));
	json_object_object_add(root, "cases", arr);
	for (unsigned i = 0; i < n_cases && !stop; i++) {
		json_object *r = run_case(&cases[i]);
		if (r == NULL) {
			rc = 1;
			break;
		}
		json_object_array_add(arr, r);
		write_json(root);    /* after every case: nothing is lost if a peer fails */
	}
	json_object_put(root);
	ports_close();
	free(hold.buf);
	rte_eal_cleanup();
	return rc;
}

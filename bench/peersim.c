/* peersim.c - many ipop peers in one process, for the memory benchmark
 * (bench/mem_tunnels.sh): each identity runs the Noise IK handshake with one
 * gateway from its own UDP port and keeps its session alive with
 * authenticated keepalives. Single-threaded test tool, no DPDK: the project's
 * own control/session/noise.c (handshake messages, mac1, TAI64N), dataplane/wire.c and
 * dataplane/aead.c (data messages) over plain UDP sockets.
 *
 *   ipop-peersim genkeys N FILE
 *       N new identities: private keys to FILE (base64, one a line, mode 0600);
 *       prints the public keys, one a line, in the same order.
 *   ipop-peersim sizes [CODE_PATH]
 *       JSON: the fast-path bytes of one tunnel of a gateway whose
 *       dpdk.aead_code_path is CODE_PATH (default auto), on this CPU (struct
 *       ipop_keypair with both keys, ipop_fp_peer, per-worker counters).
 *   ipop-peersim run --keys FILE --gw IP:PORT --gw-pub B64 --bind IP --base-port P
 *                    [--overlay NAME] [--cipher NAME] [--keepalive S] [--retry-ms MS]
 *                    [--duration S]
 *       identity i sends from IP:(P+i). It initiates until it has a session, and
 *       answers the gateway's initiations too (the gateway knows the peers'
 *       endpoints and calls them as well; whichever handshake completes first
 *       counts). As initiator it confirms a new session at once with a keepalive,
 *       as the daemon does (control/session/handshake.c); as responder it switches to the
 *       new session when the gateway's first authenticated packet arrives. Every
 *       identity with a session sends a keepalive every --keepalive seconds
 *       (default 1), so the gateway never declares it dead. Prints a line when
 *       every identity has a session ("all N sessions up"), then a JSON summary on
 *       exit: after --duration seconds (default 120) or on SIGTERM/SIGINT.
 *
 * Exit status 0 if every identity had a session at the end, 1 otherwise, 2 on
 * usage or set-up errors.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <sodium.h>

#include "control/session/noise.h"
#include "dataplane/aead.h"
#include "dataplane/tables.h"
#include "dataplane/wire.h"

#define MAX_IDS 1000

struct session {
	bool live;
	uint32_t local_index;               /* wire order: the gateway puts it in data */
	uint32_t remote_index;              /* wire order: we put it in data */
	uint64_t send_counter;
	struct ipop_aead_keybuf send, recv;
};

struct sim_peer {
	struct ipop_noise_keypair id;
	int fd;
	uint16_t port;
	/* our initiation in flight */
	struct ipop_noise_hs hs;
	bool hs_active;
	uint64_t next_init_ms;
	/* gateway initiations: anti-replay of their timestamps */
	uint8_t last_ts[IPOP_TIMESTAMP_LEN];
	bool have_ts;
	struct session cur, next;           /* next: responder side, unconfirmed */
	uint64_t last_ka_ms;
};

static struct sim_peer *peers;
static unsigned n_peers;
static struct ipop_aead_mgr *mgr;
static uint8_t gw_pub[32];
static struct sockaddr_in gw_sa;
static uint8_t prologue[128];
static size_t prologue_len;
static int rx_cipher = IPOP_CIPHER_AES256GCM;
static volatile sig_atomic_t stop;

static struct {
	uint64_t init_tx, init_rx, resp_tx, resp_rx, resp_bad, init_bad, data_ok, data_bad,
		data_unknown, keepalive_tx, send_err;
} st;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: ipop-peersim genkeys N FILE\n"
		"       ipop-peersim sizes [auto|compact|sse|avx|avx2|avx512]\n"
		"       ipop-peersim run --keys FILE --gw IP:PORT --gw-pub B64 --bind IP "
		"--base-port P\n"
		"                        [--overlay NAME] [--cipher NAME] [--keepalive S]\n"
		"                        [--retry-ms MS] [--duration S]\n");
	return 2;
}

/* ---- genkeys, sizes ---- */

static int cmd_genkeys(int argc, char **argv)
{
	char b64[64];
	unsigned n;
	FILE *f;
	int fd;

	if (argc != 4)
		return usage();
	n = (unsigned)atoi(argv[2]);
	if (n < 1 || n > MAX_IDS) {
		fprintf(stderr, "N must be 1..%d\n", MAX_IDS);
		return 2;
	}
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		perror(argv[3]);
		return 2;
	}
	for (unsigned i = 0; i < n; i++) {
		struct ipop_noise_keypair kp;

		if (ipop_noise_keypair_generate(&kp) != 0) {
			fprintf(stderr, "key generation failed\n");
			fclose(f);
			return 2;
		}
		sodium_bin2base64(b64, sizeof(b64), kp.priv, 32, sodium_base64_VARIANT_ORIGINAL);
		fprintf(f, "%s\n", b64);
		sodium_bin2base64(b64, sizeof(b64), kp.pub, 32, sodium_base64_VARIANT_ORIGINAL);
		printf("%s\n", b64);
		sodium_memzero(&kp, sizeof(kp));
	}
	return fclose(f) == 0 ? 0 : 2;
}

/* Sizes for a gateway on IPsec-MB code path `path` (dpdk.aead_code_path). */
static int cmd_sizes(const char *path)
{
	const char *arch;
	size_t kg, kc;
	int rc = ipop_aead_path_resolve(path, &arch);

	if (rc != 0) {
		fprintf(stderr, "code path %s: %s\n", path, strerror(-rc));
		return 2;
	}
	if (ipop_aead_mgr_create_arch(&mgr, arch) != 0) {
		fprintf(stderr, "no IPsec-MB manager\n");
		return 2;
	}
	kg = ipop_aead_key_size(mgr, IPOP_CIPHER_AES256GCM);
	kc = ipop_aead_key_size(mgr, IPOP_CIPHER_CHACHA20POLY1305);
	printf("{\"ipsec_mb\": \"%s\", \"code_path\": \"%s\", \"arch\": \"%s\", \"keypair_fixed\": %zu, "
	       "\"key_aes256gcm\": %zu, \"key_chacha20poly1305\": %zu, "
	       "\"keypair_aes256gcm\": %zu, \"keypair_chacha20poly1305\": %zu, "
	       "\"fp_peer\": %zu, \"peer_counters_per_worker\": %zu, "
	       "\"replay_window\": %u}\n",
	       imb_get_version_str(), path, ipop_aead_mgr_arch(mgr), sizeof(struct ipop_keypair), kg,
	       kc, sizeof(struct ipop_keypair) + 2 * kg, sizeof(struct ipop_keypair) + 2 * kc,
	       sizeof(struct ipop_fp_peer), sizeof(struct ipop_peer_counters),
	       (unsigned)IPOP_REPLAY_WINDOW);
	ipop_aead_mgr_free(mgr);
	return 0;
}

/* ---- run ---- */

static int load_keys(const char *file)
{
	char line[256];
	FILE *f = fopen(file, "r");

	if (f == NULL) {
		perror(file);
		return -1;
	}
	n_peers = 0;
	while (n_peers < MAX_IDS && fgets(line, sizeof(line), f) != NULL) {
		size_t len = 0;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (sodium_base642bin(peers[n_peers].id.priv, 32, line, strlen(line), NULL, &len,
				      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || len != 32 ||
		    ipop_noise_pubkey(peers[n_peers].id.priv, peers[n_peers].id.pub) != 0) {
			fprintf(stderr, "%s: bad key on line %u\n", file, n_peers + 1);
			fclose(f);
			return -1;
		}
		n_peers++;
	}
	fclose(f);
	return n_peers > 0 ? 0 : -1;
}

static int parse_ip_port(const char *s, struct sockaddr_in *sa)
{
	char ip[64];
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= sizeof(ip))
		return -1;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 && sa->sin_port != 0 ? 0 : -1;
}

static void send_gw(struct sim_peer *p, const void *buf, size_t len)
{
	if (sendto(p->fd, buf, len, 0, (const struct sockaddr *)&gw_sa, sizeof(gw_sa)) < 0)
		st.send_err++;
}

static uint32_t new_index(unsigned i)
{
	/* Unique per identity and attempt: random high bits, identity in the low. */
	return htonl((randombytes_random() & 0xffff0000u) | (i & 0xffffu));
}

static void session_wipe(struct session *s)
{
	ipop_aead_key_wipe(&s->send.key);
	ipop_aead_key_wipe(&s->recv.key);
	memset(s, 0, sizeof(*s));
}

/* Keys of a finished handshake: we send with the cipher the gateway asked for
 * (its payload's rx_cipher) and receive with ours. */
static int session_make(struct session *s, const struct ipop_noise_session *keys,
			int send_cipher, uint32_t local, uint32_t remote)
{
	session_wipe(s);
	if (ipop_aead_keybuf_init(mgr, &s->send, send_cipher, keys->send) != 0 ||
	    ipop_aead_keybuf_init(mgr, &s->recv, rx_cipher, keys->recv) != 0) {
		session_wipe(s);
		return -1;
	}
	s->local_index = local;
	s->remote_index = remote;
	s->live = true;
	return 0;
}

static void send_keepalive(struct sim_peer *p, uint64_t now)
{
	uint8_t buf[IPOP_DATA_OVERHEAD];
	struct session *s = &p->cur;
	uint64_t ctr = s->send_counter++;

	ipop_wire_data_hdr((struct ipop_data_hdr *)buf, s->remote_index, ctr);
	if (ipop_aead_seal(mgr, &s->send.key, ctr, buf, buf + IPOP_DATA_HDR_LEN, 0,
			   buf + IPOP_DATA_HDR_LEN) != 0) {
		st.send_err++;
		return;
	}
	send_gw(p, buf, sizeof(buf));
	p->last_ka_ms = now;
	st.keepalive_tx++;
}

static void send_init(struct sim_peer *p, unsigned i, uint64_t now, uint64_t retry_ms)
{
	struct ipop_hs_payload pl;
	struct ipop_hs_init msg;

	if (p->hs_active)
		ipop_noise_hs_wipe(&p->hs);
	p->hs_active = false;
	memset(&pl, 0, sizeof(pl));
	ipop_tai64n_now(pl.timestamp);
	pl.rx_cipher = (uint8_t)rx_cipher;
	if (ipop_noise_init_create(&p->hs, &p->id, gw_pub, prologue, prologue_len, &pl,
				   new_index(i), &msg) != 0) {
		st.send_err++;
	} else {
		p->hs_active = true;
		send_gw(p, &msg, sizeof(msg));
		st.init_tx++;
	}
	p->next_init_ms = now + retry_ms + randombytes_uniform((uint32_t)(retry_ms / 4 + 1));
}

static void on_resp(struct sim_peer *p, const struct ipop_hs_resp *msg, uint64_t now)
{
	struct ipop_noise_session keys;
	struct ipop_hs_payload pl;
	uint32_t local = p->hs.local_index;

	st.resp_rx++;
	if (!p->hs_active || ipop_noise_resp_consume(&p->hs, msg, &pl, &keys) != 0 ||
	    ipop_cipher_name(pl.rx_cipher) == NULL) {
		st.resp_bad++;
		return;
	}
	p->hs_active = false;
	if (session_make(&p->cur, &keys, pl.rx_cipher, local, msg->sender_index) != 0)
		st.send_err++;
	else
		send_keepalive(p, now);      /* confirms the session to the gateway */
	sodium_memzero(&keys, sizeof(keys));
}

static void on_init(struct sim_peer *p, unsigned i, const struct ipop_hs_init *msg)
{
	struct ipop_noise_hs hs;
	struct ipop_noise_session keys;
	struct ipop_hs_payload pl, mypl;
	struct ipop_hs_resp resp;
	uint8_t remote[32];
	uint32_t idx = new_index(i);

	st.init_rx++;
	memset(&hs, 0, sizeof(hs));
	if (ipop_noise_init_consume(&hs, &p->id, prologue, prologue_len, msg, remote, &pl) != 0) {
		st.init_bad++;
		return;
	}
	if (sodium_memcmp(remote, gw_pub, 32) != 0 || ipop_cipher_name(pl.rx_cipher) == NULL ||
	    (p->have_ts && !ipop_tai64n_newer(pl.timestamp, p->last_ts))) {
		ipop_noise_hs_wipe(&hs);
		st.init_bad++;
		return;
	}
	memcpy(p->last_ts, pl.timestamp, sizeof(p->last_ts));
	p->have_ts = true;
	memset(&mypl, 0, sizeof(mypl));
	mypl.rx_cipher = (uint8_t)rx_cipher;
	if (ipop_noise_resp_create(&hs, &mypl, idx, msg->sender_index, &resp, &keys) != 0) {
		st.init_bad++;
		return;
	}
	if (session_make(&p->next, &keys, pl.rx_cipher, idx, msg->sender_index) == 0) {
		send_gw(p, &resp, sizeof(resp));
		st.resp_tx++;
	} else {
		st.send_err++;
	}
	sodium_memzero(&keys, sizeof(keys));
}

static void on_data(struct sim_peer *p, uint8_t *buf, size_t len)
{
	const struct ipop_data_hdr *h = (const struct ipop_data_hdr *)buf;
	struct session *s = NULL;
	uint64_t ctr;

	if (p->cur.live && h->receiver_index == p->cur.local_index)
		s = &p->cur;
	else if (p->next.live && h->receiver_index == p->next.local_index)
		s = &p->next;
	if (s == NULL) {
		st.data_unknown++;
		return;
	}
	memcpy(&ctr, &h->counter, 8);
	ctr = be64toh(ctr);
	if (ipop_aead_open(mgr, &s->recv.key, ctr, buf, buf + IPOP_DATA_HDR_LEN,
			   (uint32_t)(len - IPOP_DATA_OVERHEAD),
			   buf + len - IPOP_TAG_LEN) != 0) {
		st.data_bad++;
		return;
	}
	st.data_ok++;
	if (s == &p->next) {                 /* the gateway has it: switch to it */
		session_wipe(&p->cur);
		p->cur = p->next;
		/* The keys' storage moved with the struct copy: rebind the handles. */
		p->cur.send.key.data = p->cur.send.store;
		p->cur.recv.key.data = p->cur.recv.store;
		sodium_memzero(&p->next, sizeof(p->next));
		if (p->hs_active) {
			ipop_noise_hs_wipe(&p->hs);
			p->hs_active = false;
		}
	}
}

static void on_readable(struct sim_peer *p, unsigned i, uint64_t now)
{
	uint8_t buf[2048];

	for (int k = 0; k < 64; k++) {      /* bounded per wake-up */
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (len < 0)
			return;
		if (from.sin_addr.s_addr != gw_sa.sin_addr.s_addr || from.sin_port != gw_sa.sin_port)
			continue;
		switch (ipop_wire_classify(buf, (size_t)len)) {
		case IPOP_MSG_HANDSHAKE_RESP:
			on_resp(p, (const struct ipop_hs_resp *)buf, now);
			break;
		case IPOP_MSG_HANDSHAKE_INIT:
			on_init(p, i, (const struct ipop_hs_init *)buf);
			break;
		case IPOP_MSG_DATA:
			on_data(p, buf, (size_t)len);
			break;
		default:
			break;
		}
	}
}

static unsigned count_up(void)
{
	unsigned up = 0;

	for (unsigned i = 0; i < n_peers; i++)
		up += peers[i].cur.live;
	return up;
}

static int cmd_run(int argc, char **argv)
{
	const char *keys = NULL, *gw = NULL, *gwpub = NULL, *bind_ip = NULL;
	const char *overlay = "testnet";
	unsigned base_port = 0, keepalive_s = 1, retry_ms = 1000;
	double duration_s = 120;
	struct pollfd *pfd;
	uint64_t start, deadline, all_up_ms = 0;
	size_t len = 0;

	for (int a = 2; a < argc; a++) {
		const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (v == NULL)
			return usage();
		a++;
		if (strcmp(o, "--keys") == 0)
			keys = v;
		else if (strcmp(o, "--gw") == 0)
			gw = v;
		else if (strcmp(o, "--gw-pub") == 0)
			gwpub = v;
		else if (strcmp(o, "--bind") == 0)
			bind_ip = v;
		else if (strcmp(o, "--base-port") == 0)
			base_port = (unsigned)atoi(v);
		else if (strcmp(o, "--overlay") == 0)
			overlay = v;
		else if (strcmp(o, "--cipher") == 0)
			rx_cipher = ipop_cipher_parse(v);
		else if (strcmp(o, "--keepalive") == 0)
			keepalive_s = (unsigned)atoi(v);
		else if (strcmp(o, "--retry-ms") == 0)
			retry_ms = (unsigned)atoi(v);
		else if (strcmp(o, "--duration") == 0)
			duration_s = atof(v);
		else
			return usage();
	}
	if (keys == NULL || gw == NULL || gwpub == NULL || bind_ip == NULL || base_port == 0 ||
	    rx_cipher < 0 || keepalive_s < 1 || retry_ms < 100 || duration_s <= 0 ||
	    duration_s > 3600)
		return usage();
	if (parse_ip_port(gw, &gw_sa) != 0 ||
	    sodium_base642bin(gw_pub, 32, gwpub, strlen(gwpub), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || len != 32) {
		fprintf(stderr, "bad --gw or --gw-pub\n");
		return 2;
	}
	prologue_len = (size_t)snprintf((char *)prologue, sizeof(prologue), "ipop v1 overlay=%s",
					overlay);
	/* Keys need 64-byte aligned storage (struct ipop_aead_keybuf). */
	peers = aligned_alloc(64, MAX_IDS * sizeof(*peers));
	pfd = calloc(MAX_IDS, sizeof(*pfd));
	if (peers == NULL || pfd == NULL)
		return 2;
	memset(peers, 0, MAX_IDS * sizeof(*peers));
	if (load_keys(keys) != 0)
		return 2;
	if (base_port + n_peers > 65536) {
		fprintf(stderr, "ports beyond 65535\n");
		return 2;
	}
	if (ipop_aead_mgr_create(&mgr) != 0) {
		fprintf(stderr, "no IPsec-MB manager\n");
		return 2;
	}
	for (unsigned i = 0; i < n_peers; i++) {
		struct sockaddr_in sa;
		struct sim_peer *p = &peers[i];

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)(base_port + i));
		if (inet_pton(AF_INET, bind_ip, &sa.sin_addr) != 1) {
			fprintf(stderr, "bad --bind %s\n", bind_ip);
			return 2;
		}
		p->port = (uint16_t)(base_port + i);
		p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p->fd < 0 || bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			fprintf(stderr, "bind %s:%u: %s\n", bind_ip, p->port, strerror(errno));
			return 2;
		}
		pfd[i].fd = p->fd;
		pfd[i].events = POLLIN;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	start = now_ms();
	deadline = start + (uint64_t)(duration_s * 1000);
	/* First initiations 5 ms apart: the gateway answers them on its control
	 * thread, ~0.2 ms of X25519 each. */
	for (unsigned i = 0; i < n_peers; i++)
		peers[i].next_init_ms = start + 5 * i;
	printf("peersim: %u identities on %s:%u-%u -> %s, cipher %s, arch %s\n", n_peers, bind_ip,
	       base_port, base_port + n_peers - 1, gw, ipop_cipher_name(rx_cipher),
	       ipop_aead_mgr_arch(mgr));
	while (!stop) {
		uint64_t now = now_ms();

		if (now >= deadline)
			break;
		for (unsigned i = 0; i < n_peers; i++) {
			struct sim_peer *p = &peers[i];

			if (!p->cur.live && now >= p->next_init_ms)
				send_init(p, i, now, retry_ms);
			else if (p->cur.live && now - p->last_ka_ms >= keepalive_s * 1000ull)
				send_keepalive(p, now);
		}
		int nr = poll(pfd, n_peers, 20);
		if (nr < 0 && errno != EINTR)
			break;
		now = now_ms();
		for (unsigned i = 0; nr > 0 && i < n_peers; i++)
			if (pfd[i].revents & POLLIN)
				on_readable(&peers[i], i, now);
		if (all_up_ms == 0 && count_up() == n_peers) {
			all_up_ms = now;
			printf("peersim: all %u sessions up after %.3f s\n", n_peers,
			       (double)(now - start) / 1000);
		}
	}
	unsigned up = count_up();
	printf("{\"identities\": %u, \"sessions_up\": %u, \"all_up_after_s\": %.3f, "
	       "\"init_tx\": %llu, \"resp_rx\": %llu, \"resp_bad\": %llu, \"init_rx\": %llu, "
	       "\"init_bad\": %llu, \"resp_tx\": %llu, \"data_ok\": %llu, \"data_bad\": %llu, "
	       "\"data_unknown\": %llu, \"keepalive_tx\": %llu, \"send_err\": %llu}\n",
	       n_peers, up, all_up_ms ? (double)(all_up_ms - start) / 1000 : -1.0,
	       (unsigned long long)st.init_tx, (unsigned long long)st.resp_rx,
	       (unsigned long long)st.resp_bad, (unsigned long long)st.init_rx,
	       (unsigned long long)st.init_bad, (unsigned long long)st.resp_tx,
	       (unsigned long long)st.data_ok, (unsigned long long)st.data_bad,
	       (unsigned long long)st.data_unknown, (unsigned long long)st.keepalive_tx,
	       (unsigned long long)st.send_err);
	for (unsigned i = 0; i < n_peers; i++) {
		session_wipe(&peers[i].cur);
		session_wipe(&peers[i].next);
		if (peers[i].hs_active)
			ipop_noise_hs_wipe(&peers[i].hs);
		close(peers[i].fd);
	}
	sodium_memzero(peers, MAX_IDS * sizeof(*peers));
	free(peers);
	free(pfd);
	ipop_aead_mgr_free(mgr);
	return up == n_peers ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 2;
	if (argc >= 2 && strcmp(argv[1], "genkeys") == 0)
		return cmd_genkeys(argc, argv);
	if ((argc == 2 || argc == 3) && strcmp(argv[1], "sizes") == 0)
		return cmd_sizes(argc == 3 ? argv[2] : "auto");
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc, argv);
	return usage();
}

/* ipop_inject.c - a hostile sender for the netns tests: sends ipop data messages
 * that must be refused. Single-threaded test tool (no DPDK).
 *
 *   ipop-inject wrongkey IP PORT INDEX COUNTER N   data messages for a live receiver
 *       index, sealed with AES-256-GCM under a random key (what a node without the
 *       session key can produce); the inner frame carries the marker IPOP-INJECTED
 *   ipop-inject garbage IP PORT N                  random payloads of random sizes,
 *       with valid and invalid type/version bytes
 *   ipop-inject hsflood IP PORT PUBKEY SECONDS PPS one|spoof [shape|junk]
 *       handshake initiations with a valid mac1 for the responder's public key
 *       PUBKEY (base64) and random content (mac2 too), so each costs the
 *       responder an X25519 before it fails unless a cookie reply answers it;
 *       with "shape", random content only (mac1 too): handshake-shaped packets
 *       the responder refuses on mac1; with "junk", data messages (type 3) of
 *       the same size with random content, so an unknown receiver index: a
 *       flood that reaches the gateway's worker but is no handshake (it is
 *       dropped on the index lookup); at most PPS a second (0: as fast as it can) for
 *       SECONDS; from this host's address (one) or from a random source in
 *       10.99.0.0/16 per packet (spoof: raw socket, needs CAP_NET_RAW). Prints
 *       "sent N in S s".
 *   ipop-inject fragflood IP PORT SECONDS PPS
 *       first fragments (MF set, offset 0, 1,000 bytes of UDP to PORT) of
 *       datagrams that never complete, each from a random source in
 *       10.99.0.0/16 with a random IP ID (raw socket, needs CAP_NET_RAW): what
 *       pins a reassembly table that is not bounded. Rate and output as hsflood.
 * INDEX is the receiver index as printed by tcpdump-free tools: 8 hex digits of the
 * wire bytes. Exit 0 when everything was sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sodium.h>

#include "dataplane/aead.h"
#include "dataplane/wire.h"
#include "control/session/noise.h"

static int open_to(const char *ip, const char *port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
		fprintf(stderr, "bad address %s\n", ip);
		return -1;
	}
	return socket(AF_INET, SOCK_DGRAM, 0);
}

static int wrongkey(int fd, const struct sockaddr_in *sa, uint32_t index_wire,
		    uint64_t counter, int n)
{
	struct ipop_aead_mgr *mgr;
	static struct ipop_aead_keybuf kb;
	uint8_t raw[32], pkt[IPOP_DATA_OVERHEAD + 64];

	if (ipop_aead_mgr_create(&mgr) != 0)
		return 1;
	getrandom(raw, sizeof(raw), 0);
	ipop_aead_keybuf_init(mgr, &kb, IPOP_CIPHER_AES256GCM, raw);
	for (int i = 0; i < n; i++) {
		uint8_t *frame = pkt + IPOP_DATA_HDR_LEN;
		memset(frame, 0xff, 6);                              /* broadcast */
		memcpy(frame + 6, "\x02\x00\xde\xad\xbe\xef", 6);
		frame[12] = 0x88;
		frame[13] = 0xb5;                                    /* local experimental */
		memset(frame + 14, 0, 50);
		memcpy(frame + 14, "IPOP-INJECTED", 13);
		ipop_wire_data_hdr((struct ipop_data_hdr *)pkt, index_wire, counter + (uint64_t)i);
		ipop_aead_seal(mgr, &kb.key, counter + (uint64_t)i, pkt, frame, 64, frame + 64);
		if (sendto(fd, pkt, sizeof(pkt), 0, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
			perror("sendto");
			return 1;
		}
	}
	ipop_aead_key_wipe(&kb.key);
	ipop_aead_mgr_free(mgr);
	return 0;
}

static int garbage(int fd, const struct sockaddr_in *sa, int n)
{
	uint8_t buf[1600];

	for (int i = 0; i < n; i++) {
		uint16_t len;
		getrandom(&len, sizeof(len), 0);
		len = (uint16_t)(len % sizeof(buf));
		getrandom(buf, sizeof(buf), 0);
		if (i % 4 == 1 && len > 4) {          /* right version, random type */
			buf[1] = IPOP_WIRE_VERSION;
			buf[2] = buf[3] = 0;
		}
		if (i % 4 == 2 && len > 4) {          /* a data header that is too short */
			buf[0] = IPOP_MSG_DATA;
			buf[1] = IPOP_WIRE_VERSION;
			buf[2] = buf[3] = 0;
			len = 20;
		}
		if (sendto(fd, buf, len, 0, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
			perror("sendto");
			return 1;
		}
	}
	return 0;
}

static uint64_t xs_state;

/* xorshift64: random enough to make every initiation different, and cheap
 * enough not to be what limits the rate. */
static uint64_t xs_next(void)
{
	xs_state ^= xs_state << 13;
	xs_state ^= xs_state >> 7;
	xs_state ^= xs_state << 17;
	return xs_state;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until sent packets are due at pps since t0; returns the time. */
static double pace(double t0, double t, uint64_t sent, double pps)
{
	if (pps > 0 && (double)sent > (t - t0) * pps) {
		double ahead = (double)sent / pps - (t - t0);
		struct timespec d = { (time_t)ahead, (long)((ahead - (double)(time_t)ahead) * 1e9) };
		nanosleep(&d, NULL);
		t = now_s();
	}
	return t;
}

static int hsflood(const char *ip, const char *port, const char *pub_b64, double seconds,
		   double pps, int spoof, int with_mac1, int junk)
{
	uint8_t pub[32], key[32];
	size_t len;
	struct sockaddr_in sa;
	struct {
		struct iphdr ip;
		struct udphdr udp;
		struct ipop_hs_init msg;
	} __attribute__((packed)) pkt;
	struct ipop_hs_init *msg = &pkt.msg;
	int fd;

	if (sodium_init() < 0 ||
	    sodium_base642bin(pub, sizeof(pub), pub_b64, strlen(pub_b64), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || len != 32) {
		fprintf(stderr, "bad public key\n");
		return 2;
	}
	ipop_noise_mac1_key(pub, key);
	if ((fd = open_to(ip, port, &sa)) < 0)
		return 1;
	if (spoof) {
		close(fd);
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);   /* implies IP_HDRINCL */
		if (fd < 0) {
			perror("raw socket");
			return 1;
		}
	}
	getrandom(&xs_state, sizeof(xs_state), 0);
	xs_state |= 1;
	memset(&pkt, 0, sizeof(pkt));
	pkt.ip.version = 4;
	pkt.ip.ihl = 5;
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_UDP;
	pkt.ip.tot_len = htons(sizeof(pkt));
	pkt.ip.daddr = sa.sin_addr.s_addr;
	pkt.udp.dest = sa.sin_port;
	pkt.udp.len = htons(sizeof(pkt.udp) + sizeof(pkt.msg));
	double t0 = now_s(), t = t0;
	uint64_t sent = 0;
	while (t - t0 < seconds) {
		for (int b = 0; b < 16; b++) {
			uint64_t r[(sizeof(*msg) + 7) / 8];
			for (unsigned i = 0; i < sizeof(r) / 8; i++)
				r[i] = xs_next();
			memcpy(msg, r, sizeof(*msg));
			msg->type = junk ? IPOP_MSG_DATA : IPOP_MSG_HANDSHAKE_INIT;
			msg->version = IPOP_WIRE_VERSION;
			msg->reserved = 0;
			/* mac2 stays random: no cookie proves these sources. */
			if (with_mac1 && !junk)
				ipop_noise_mac1(key, (const uint8_t *)msg,
						offsetof(struct ipop_hs_init, mac1), msg->mac1);
			ssize_t w;
			if (spoof) {
				pkt.ip.saddr = htonl(0x0a630000u | (uint32_t)(r[0] >> 48));
				pkt.udp.source = htons(5800);
				w = sendto(fd, &pkt, sizeof(pkt), 0, (const struct sockaddr *)&sa, sizeof(sa));
			} else {
				w = sendto(fd, msg, sizeof(*msg), 0, (const struct sockaddr *)&sa, sizeof(sa));
			}
			if (w >= 0)
				sent++;
		}
		t = pace(t0, now_s(), sent, pps);
	}
	printf("sent %llu in %.1f s\n", (unsigned long long)sent, t - t0);
	return 0;
}

static int fragflood(const char *ip, const char *port, double seconds, double pps)
{
	struct sockaddr_in sa;
	struct {
		struct iphdr ip;
		struct udphdr udp;
		uint8_t data[1000 - sizeof(struct udphdr)];
	} __attribute__((packed)) pkt;
	int fd = open_to(ip, port, &sa);

	if (fd < 0)
		return 1;
	close(fd);
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);   /* implies IP_HDRINCL */
	if (fd < 0) {
		perror("raw socket");
		return 1;
	}
	getrandom(&xs_state, sizeof(xs_state), 0);
	xs_state |= 1;
	memset(&pkt, 0, sizeof(pkt));
	getrandom(pkt.data, sizeof(pkt.data), 0);
	pkt.ip.version = 4;
	pkt.ip.ihl = 5;
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_UDP;
	pkt.ip.tot_len = htons(sizeof(pkt));
	pkt.ip.frag_off = htons(IP_MF);                /* offset 0: a first fragment */
	pkt.ip.daddr = sa.sin_addr.s_addr;
	pkt.udp.source = htons(5800);
	pkt.udp.dest = sa.sin_port;
	pkt.udp.len = htons(1400);                     /* the whole datagram's, never sent */
	double t0 = now_s(), t = t0;
	uint64_t sent = 0;
	while (t - t0 < seconds) {
		for (int b = 0; b < 16; b++) {
			uint64_t r = xs_next();
			pkt.ip.saddr = htonl(0x0a630000u | (uint32_t)(r >> 48));
			pkt.ip.id = (uint16_t)(r >> 16) | 1;   /* 0 would let the kernel pick */
			if (sendto(fd, &pkt, sizeof(pkt), 0, (const struct sockaddr *)&sa, sizeof(sa)) >= 0)
				sent++;
		}
		t = pace(t0, now_s(), sent, pps);
	}
	printf("sent %llu in %.1f s\n", (unsigned long long)sent, t - t0);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	int fd;

	if (argc == 7 && strcmp(argv[1], "wrongkey") == 0) {
		uint32_t idx = htonl((uint32_t)strtoul(argv[4], NULL, 16));
		if ((fd = open_to(argv[2], argv[3], &sa)) < 0)
			return 1;
		return wrongkey(fd, &sa, idx, strtoull(argv[5], NULL, 10), atoi(argv[6]));
	}
	if (argc == 5 && strcmp(argv[1], "garbage") == 0) {
		if ((fd = open_to(argv[2], argv[3], &sa)) < 0)
			return 1;
		return garbage(fd, &sa, atoi(argv[4]));
	}
	if (argc == 6 && strcmp(argv[1], "fragflood") == 0)
		return fragflood(argv[2], argv[3], atof(argv[4]), atof(argv[5]));
	if ((argc == 8 || argc == 9) && strcmp(argv[1], "hsflood") == 0)
		return hsflood(argv[2], argv[3], argv[4], atof(argv[5]), atof(argv[6]),
			       strcmp(argv[7], "spoof") == 0,
			       !(argc == 9 && strcmp(argv[8], "shape") == 0),
			       argc == 9 && strcmp(argv[8], "junk") == 0);
	fprintf(stderr, "usage: ipop-inject wrongkey IP PORT INDEX_HEX COUNTER N | garbage IP PORT N"
			" | hsflood IP PORT PUBKEY SECONDS PPS one|spoof [shape|junk] | fragflood IP PORT SECONDS PPS\n");
	return 2;
}

/* ipop_inject.c - a hostile sender for the netns tests: sends ipop data messages
 * that must be refused. Single-threaded test tool (no DPDK).
 *
 *   ipop-inject wrongkey IP PORT INDEX COUNTER N   data messages for a live receiver
 *       index, sealed with AES-256-GCM under a random key (what a node without the
 *       session key can produce); the inner frame carries the marker IPOP-INJECTED
 *   ipop-inject garbage IP PORT N                  random payloads of random sizes,
 *       with valid and invalid type/version bytes
 * INDEX is the receiver index as printed by tcpdump-free tools: 8 hex digits of the
 * wire bytes. Exit 0 when everything was sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "dataplane/aead.h"
#include "dataplane/wire.h"

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
	fprintf(stderr, "usage: ipop-inject wrongkey IP PORT INDEX_HEX COUNTER N | garbage IP PORT N\n");
	return 2;
}

/* ipopctl.c - the operator's tool: identity keys, and a client of ipopd's
 * management socket (docs/operations.md). Thread: single-threaded tool.
 *
 *   ipopctl genkey > node.key        (prints a new private key, base64)
 *   ipopctl pubkey < node.key        (prints its public key)
 *   ipopctl genkey -o FILE           (writes FILE with mode 0600, prints the public key)
 *   ipopctl [-s SOCKET] show [--json]
 *   ipopctl [-s SOCKET] topology [--json]  (this node's view of the ring)
 *   ipopctl [-s SOCKET] macs
 *   ipopctl [-s SOCKET] ping
 *   ipopctl ca-keygen -o FILE        (the overlay CA's Ed25519 key: FILE 0600, prints the public key)
 *   ipopctl ca-sign CA_FILE PUBKEY OVERLAY SERIAL VALIDITY [-o FILE]
 *                                    (a member certificate: docs/operations.md, "Running a CA")
 *   ipopctl [-s SOCKET] accept-key JID NODE-ID-PREFIX   (let a member's key change through)
 *   ipopctl [-s SOCKET] reload-revocations              (read signal.revocations again)
 *   ipopctl counters [FAMILY]        (every counter and its meaning; local, no socket)
 *   ipopctl counters --markdown      (the "Counters" section of docs/operations.md)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <dirent.h>
#include <stdbool.h>
#include <time.h>
#include <sodium.h>

#include "control/config/cert.h"
#include "control/config/identity.h"
#include "control/counters.h"

#define SOCKET_DIR "/run/ipop"

static int usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: ipopctl genkey [-o FILE] | pubkey\n"
		"       ipopctl ca-keygen -o FILE\n"
		"       ipopctl ca-sign CA_FILE PUBKEY OVERLAY SERIAL VALIDITY [-o FILE]\n"
		"         (VALIDITY: N followed by s, m, h or d, from now; prints the certificate)\n"
		"       ipopctl [-s SOCKET] show [--json] | topology [--json] | macs | ping\n"
		"       ipopctl [-s SOCKET] accept-key JID NODE-ID-PREFIX | reload-revocations\n"
		"       ipopctl counters [FAMILY | --markdown]\n"
		"SOCKET is control.api_socket of ipopd's configuration; without -s, the only\n"
		"socket in %s is used.\n", SOCKET_DIR);
	return rc;
}

static int cmd_genkey(const char *out)
{
	uint8_t priv[32], pub[32];
	char b64[IPOP_KEY_B64_LEN];
	int r = ipop_identity_generate(priv, pub);

	if (r != 0) {
		fprintf(stderr, "ipopctl: genkey: %s\n", strerror(-r));
		return 1;
	}
	if (out) {
		r = ipop_identity_save(out, priv);
		sodium_memzero(priv, sizeof(priv));
		if (r != 0) {
			fprintf(stderr, "ipopctl: %s: %s\n", out, strerror(-r));
			return 1;
		}
		ipop_key_to_base64(pub, b64);
		printf("%s\n", b64);
		return 0;
	}
	ipop_key_to_base64(priv, b64);
	sodium_memzero(priv, sizeof(priv));
	printf("%s\n", b64);
	sodium_memzero(b64, sizeof(b64));
	return 0;
}

static int cmd_pubkey(void)
{
	char line[256];
	uint8_t priv[32], pub[32];
	char b64[IPOP_KEY_B64_LEN];

	if (fgets(line, sizeof(line), stdin) == NULL) {
		fprintf(stderr, "ipopctl: pubkey: no key on standard input\n");
		return 1;
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (ipop_key_from_base64(line, priv) != 0) {
		fprintf(stderr, "ipopctl: pubkey: input is not a base64 32-byte key\n");
		sodium_memzero(line, sizeof(line));
		return 1;
	}
	sodium_memzero(line, sizeof(line));
	crypto_scalarmult_base(pub, priv);
	sodium_memzero(priv, sizeof(priv));
	ipop_key_to_base64(pub, b64);
	printf("%s\n", b64);
	return 0;
}

/* The overlay administrator's key: a random Ed25519 seed in a 0600 file. */
static int cmd_ca_keygen(const char *out)
{
	uint8_t seed[32], pk[32], sk[64];
	char b64[IPOP_KEY_B64_LEN];
	int r;

	if (out == NULL) {
		fprintf(stderr, "ipopctl: ca-keygen: give the secret key's file with -o FILE\n");
		return 2;
	}
	randombytes_buf(seed, sizeof(seed));
	ipop_ca_keypair(seed, pk, sk);
	r = ipop_identity_save(out, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	if (r != 0) {
		fprintf(stderr, "ipopctl: %s: %s\n", out, strerror(-r));
		return 1;
	}
	ipop_key_to_base64(pk, b64);
	printf("%s\n", b64);
	return 0;
}

/* "30d", "12h", "5m", "90s": seconds, or -1. */
static long long parse_validity(const char *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || n < 1 || n > 36500LL * 86400 || end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (*end) {
	case 's': return n;
	case 'm': return n * 60;
	case 'h': return n * 3600;
	case 'd': return n * 86400;
	}
	return -1;
}

static int write_cert(const char *out, const char *b64)
{
	FILE *f = fopen(out, "wx");

	if (f == NULL) {
		fprintf(stderr, "ipopctl: %s: %s\n", out, strerror(errno));
		return 1;
	}
	fprintf(f, "%s\n", b64);
	if (fclose(f) != 0) {
		fprintf(stderr, "ipopctl: %s: %s\n", out, strerror(errno));
		return 1;
	}
	return 0;
}

/* A member certificate, valid from a minute ago (clocks differ a little)
 * for VALIDITY from now. */
static int cmd_ca_sign(char **a, const char *out)
{
	struct ipop_cert c = { 0 };
	uint8_t seed[32], pk[32], sk[64];
	char err[512], b64[IPOP_CERT_B64_MAX], *end;
	long long valid = parse_validity(a[4]);
	int r;

	if (ipop_key_from_base64(a[1], c.key) != 0 || ipop_key_check_public(c.key) != 0) {
		fprintf(stderr, "ipopctl: ca-sign: '%s' is not a member's public key (44 base64 "
			"characters: ipopctl genkey prints it)\n", a[1]);
		return 2;
	}
	if (strlen(a[2]) > IPOP_CERT_OVERLAY_MAX) {
		fprintf(stderr, "ipopctl: ca-sign: overlay name longer than %d\n", IPOP_CERT_OVERLAY_MAX);
		return 2;
	}
	errno = 0;
	c.serial = strtoull(a[3], &end, 10);
	if (errno != 0 || *end != '\0' || a[3][0] < '0' || a[3][0] > '9') {
		fprintf(stderr, "ipopctl: ca-sign: serial '%s' is not a decimal number\n", a[3]);
		return 2;
	}
	if (valid < 0) {
		fprintf(stderr, "ipopctl: ca-sign: validity '%s': expected N and s, m, h or d (e.g. 365d)\n", a[4]);
		return 2;
	}
	if (ipop_secret_load(a[0], seed, err, sizeof(err)) != 0) {
		fprintf(stderr, "ipopctl: ca-sign: %s\n", err);
		return 1;
	}
	ipop_ca_keypair(seed, pk, sk);
	sodium_memzero(seed, sizeof(seed));
	snprintf(c.overlay, sizeof(c.overlay), "%s", a[2]);
	c.node = ipop_node_id_of_key(c.key);
	uint64_t now = (uint64_t)time(NULL);
	c.not_before = now - 60;
	c.not_after = now + (uint64_t)valid;
	r = ipop_cert_sign(&c, sk);
	sodium_memzero(sk, sizeof(sk));
	if (r != 0 || ipop_cert_to_base64(&c, b64) != 0) {
		fprintf(stderr, "ipopctl: ca-sign: overlay name '%s' is not 1-63 printable characters\n", a[2]);
		return 2;
	}
	if (out != NULL && write_cert(out, b64) != 0)
		return 1;
	printf("%s\n", b64);
	return 0;
}

/* The counter lists compiled into this binary, the same as ipopd's: no socket. */
static int cmd_counters(const char *arg)
{
	const struct ipop_counter_family *only = NULL;
	bool markdown = arg != NULL && strcmp(arg, "--markdown") == 0;

	if (arg != NULL && !markdown && (only = ipop_counter_family_find(arg)) == NULL) {
		fprintf(stderr, "ipopctl: counters: no family '%s'; families:", arg);
		for (size_t i = 0; ipop_counter_family_at(i) != NULL; i++)
			fprintf(stderr, " %s", ipop_counter_family_at(i)->name);
		fprintf(stderr, "\n");
		return 2;
	}
	if (ipop_counters_print(stdout, only, markdown) != 0 || fflush(stdout) != 0) {
		fprintf(stderr, "ipopctl: counters: cannot write: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

/* Without -s: the one socket in SOCKET_DIR, or an error that lists them. */
static const char *default_socket(void)
{
	static char path[256];
	DIR *d = opendir(SOCKET_DIR);
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		fprintf(stderr, "ipopctl: %s: %s; give the socket with -s\n", SOCKET_DIR, strerror(errno));
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l > 5 && strcmp(e->d_name + l - 5, ".sock") == 0) {
			if (n++ == 0)
				snprintf(path, sizeof(path), "%s/%s", SOCKET_DIR, e->d_name);
			else
				fprintf(stderr, "ipopctl: several sockets in %s (%s/%s): give one with -s\n",
					SOCKET_DIR, SOCKET_DIR, e->d_name);
		}
	}
	closedir(d);
	if (n == 0)
		fprintf(stderr, "ipopctl: no socket in %s (is ipopd running?); give one with -s\n", SOCKET_DIR);
	return n == 1 ? path : NULL;
}

static int cmd_request(const char *path, const char *req)
{
	if (path == NULL && (path = default_socket()) == NULL)
		return 1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	ssize_t n;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ipopctl: socket path too long\n");
		return 1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "ipopctl: %s: %s (is ipopd running?)\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	dprintf(fd, "%s\n", req);
	shutdown(fd, SHUT_WR);
	bool first = true, refused = false;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		/* The daemon's answers to a refused request start with "error:". */
		if (first)
			refused = n >= 6 && memcmp(buf, "error:", 6) == 0;
		first = false;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	return refused ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	int i = 1;

	if (sodium_init() < 0)
		return 1;
	if (i + 1 < argc && strcmp(argv[i], "-s") == 0) {
		sock = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		return usage(2);
	const char *cmd = argv[i];
	bool json = i + 1 < argc && strcmp(argv[i + 1], "--json") == 0;
	if (strcmp(cmd, "genkey") == 0)
		return cmd_genkey(i + 2 < argc && strcmp(argv[i + 1], "-o") == 0 ? argv[i + 2] : NULL);
	if (strcmp(cmd, "pubkey") == 0)
		return cmd_pubkey();
	if (strcmp(cmd, "ca-keygen") == 0)
		return cmd_ca_keygen(i + 2 < argc && strcmp(argv[i + 1], "-o") == 0 ? argv[i + 2] : NULL);
	if (strcmp(cmd, "ca-sign") == 0 && (argc - i == 6 || (argc - i == 8 && strcmp(argv[i + 6], "-o") == 0)))
		return cmd_ca_sign(argv + i + 1, argc - i == 8 ? argv[i + 7] : NULL);
	if (strcmp(cmd, "accept-key") == 0 && argc - i == 3) {
		char req[128];
		if (snprintf(req, sizeof(req), "accept-key %s %s", argv[i + 1], argv[i + 2]) >= (int)sizeof(req)) {
			fprintf(stderr, "ipopctl: accept-key: JID too long\n");
			return 2;
		}
		return cmd_request(sock, req);
	}
	if (strcmp(cmd, "reload-revocations") == 0)
		return cmd_request(sock, "reload-revocations");
	if (strcmp(cmd, "show") == 0)
		return cmd_request(sock, json ? "show json" : "show");
	if (strcmp(cmd, "topology") == 0)
		return cmd_request(sock, json ? "topology json" : "topology");
	if (strcmp(cmd, "macs") == 0)
		return cmd_request(sock, "macs json");
	if (strcmp(cmd, "ping") == 0)
		return cmd_request(sock, "ping");
	if (strcmp(cmd, "counters") == 0 && i + 2 >= argc)
		return cmd_counters(i + 1 < argc ? argv[i + 1] : NULL);
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
		return usage(0);
	return usage(2);
}

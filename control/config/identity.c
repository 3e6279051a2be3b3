/* identity.c - node identity keys (X25519) and the key file that holds them.
 *
 * Thread: control. libsodium does the curve arithmetic, randomness, base64 and
 * wiping; this file adds the file format and its permission rules.
 */
#include "control/config/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define KEY_B64_CHARS (IPOP_KEY_B64_LEN - 1)

static int errf(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int ipop_identity_generate(uint8_t priv[32], uint8_t pub[32])
{
	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(priv, 32);
	/* X25519 clamping (RFC 7748 section 5): a multiple of the cofactor, with
	 * the top bit fixed so every key takes the same ladder length. */
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	if (crypto_scalarmult_base(pub, priv) != 0) {
		sodium_memzero(priv, 32);
		return -EIO;
	}
	return 0;
}

int ipop_key_to_base64(const uint8_t k[32], char out[IPOP_KEY_B64_LEN])
{
	sodium_bin2base64(out, IPOP_KEY_B64_LEN, k, 32, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int ipop_key_from_base64(const char *s, uint8_t k[32])
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (s == NULL || strlen(s) != KEY_B64_CHARS)
		goto bad;
	/* ignore = NULL: no whitespace or other characters are tolerated, and
	 * libsodium rejects non-canonical padding bits. */
	if (sodium_base642bin(k, 32, s, KEY_B64_CHARS, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		goto bad;
	if (bin_len != 32 || end != s + KEY_B64_CHARS)
		goto bad;
	return 0;
bad:
	sodium_memzero(k, 32);
	return -EINVAL;
}

int ipop_key_check_public(const uint8_t pub[32])
{
	/* Any scalar works: libsodium refuses small-order points and all-zero
	 * results, which is exactly the set of unusable peer keys. */
	static const uint8_t probe[32] = { 0x40, 0x01, 0x02, 0x03 };
	uint8_t out[32];
	int rc;

	if (sodium_init() < 0)
		return -EIO;
	rc = crypto_scalarmult(out, probe, pub);
	sodium_memzero(out, sizeof(out));
	return rc == 0 ? 0 : -EINVAL;
}

/* Read at most len bytes, until EOF; returns the count or a negative errno. */
static ssize_t read_upto(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int check_mode(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return errf(err, errlen, -EINVAL, "%s: not a regular file", path);
	if ((st.st_mode & 077) != 0)
		return errf(err, errlen, -EACCES,
			    "%s: permissions %04o are too open: a private key file must not "
			    "be accessible by group or others (chmod 600 %s)",
			    path, (unsigned)(st.st_mode & 07777), path);
	return 0;
}

/* Decode the file's bytes: 44 base64 characters and an optional newline. */
static int parse_key_text(char *text, ssize_t n, const char *path, uint8_t priv[32],
			  char *err, size_t errlen)
{
	if (n == KEY_B64_CHARS + 1 && text[KEY_B64_CHARS] == '\n')
		n = KEY_B64_CHARS;
	if (n != KEY_B64_CHARS)
		return errf(err, errlen, -EINVAL,
			    "%s: expected one line of base64 (%d characters) holding a "
			    "32-byte key", path, KEY_B64_CHARS);
	text[n] = '\0';
	if (ipop_key_from_base64(text, priv) != 0)
		return errf(err, errlen, -EINVAL,
			    "%s: not valid base64 of a 32-byte key", path);
	return 0;
}

int ipop_secret_load(const char *path, uint8_t secret[32], char *err, size_t errlen)
{
	char text[KEY_B64_CHARS + 8];
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	rc = check_mode(fd, path, err, errlen);
	n = rc == 0 ? read_upto(fd, text, sizeof(text) - 1) : 0;
	close(fd);
	if (rc == 0 && n < 0)
		rc = errf(err, errlen, (int)n, "%s: %s", path, strerror((int)-n));
	if (rc == 0)
		rc = parse_key_text(text, n, path, secret, err, errlen);
	sodium_memzero(text, sizeof(text));
	if (rc != 0)
		sodium_memzero(secret, 32);
	return rc;
}

int ipop_identity_load(const char *path, uint8_t priv[32], uint8_t pub[32],
		       char *err, size_t errlen)
{
	int rc = ipop_secret_load(path, priv, err, errlen);

	if (rc == 0 && crypto_scalarmult_base(pub, priv) != 0)
		rc = errf(err, errlen, -EINVAL, "%s: the key is not usable", path);
	if (rc != 0)
		sodium_memzero(priv, 32);
	return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int ipop_identity_save(const char *path, const uint8_t priv[32])
{
	char line[IPOP_KEY_B64_LEN + 1];
	int fd, rc;

	/* O_EXCL: never replace a key (losing an identity is not undoable);
	 * O_NOFOLLOW: never write a secret through a planted symlink. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ipop_key_to_base64(priv, line);
	line[KEY_B64_CHARS] = '\n';
	/* The umask can only clear bits, but make the mode exact anyway. */
	rc = fchmod(fd, 0600) != 0 ? -errno : 0;
	if (rc == 0)
		rc = write_all(fd, line, KEY_B64_CHARS + 1);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc != 0)
		unlink(path);
	sodium_memzero(line, sizeof(line));
	return rc;
}

struct ipop_node_id ipop_node_id_of_key(const uint8_t pub[32])
{
	uint8_t h[IPOP_NODE_ID_BYTES];

	crypto_generichash(h, sizeof(h), pub, 32, NULL, 0);
	return ipop_node_id_from_bytes(h);
}

/* test_identity.c - node identity keys: generation, base64, the key file and its
 * permission rule. Works in a private temporary directory it removes. */
#include "tests/unit/check.h"
#include "control/config/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static char dir[64];

/* RFC 7748 section 6.1: Alice's X25519 key pair. */
static const uint8_t rfc_priv[32] = {
	0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2,
	0x66, 0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5,
	0x1d, 0xb9, 0x2c, 0x2a,
};
static const uint8_t rfc_pub[32] = {
	0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e,
	0xf7, 0x5a, 0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e,
	0xaa, 0x9b, 0x4e, 0x6a,
};

static void path_in_dir(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* Writes CONTENT (len bytes) to DIR/NAME with MODE, replacing any old file. */
static void write_file(const char *name, const char *content, size_t len, mode_t mode)
{
	char path[128];
	FILE *f;

	path_in_dir(path, sizeof(path), name);
	unlink(path);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(fwrite(content, 1, len, f) == len);
	fclose(f);
	CHECK(chmod(path, mode) == 0);
}

static bool all_zero(const uint8_t *k)
{
	uint8_t acc = 0;
	int i;

	for (i = 0; i < 32; i++)
		acc |= k[i];
	return acc == 0;
}

static void test_generate(void)
{
	uint8_t priv[32], pub[32], priv2[32], pub2[32], expect[32];

	CHECK(ipop_identity_generate(priv, pub) == 0);
	CHECK(ipop_identity_generate(priv2, pub2) == 0);
	CHECK(memcmp(priv, priv2, 32) != 0);
	CHECK((priv[0] & 7) == 0);              /* clamped */
	CHECK((priv[31] & 0xc0) == 0x40);
	CHECK(crypto_scalarmult_base(expect, priv) == 0);
	CHECK(memcmp(pub, expect, 32) == 0);
	CHECK(ipop_key_check_public(pub) == 0);
}

static void test_base64(void)
{
	char b64[IPOP_KEY_B64_LEN], bad[IPOP_KEY_B64_LEN + 8];
	uint8_t k[32], raw[33];

	CHECK(ipop_key_to_base64(rfc_pub, b64) == 0);
	CHECK(strlen(b64) == 44 && b64[43] == '=');
	CHECK(ipop_key_from_base64(b64, k) == 0);
	CHECK(memcmp(k, rfc_pub, 32) == 0);

	/* one character short, one too many, a stray newline */
	snprintf(bad, sizeof(bad), "%.43s", b64);
	CHECK(ipop_key_from_base64(bad, k) == -EINVAL);
	CHECK(all_zero(k));
	snprintf(bad, sizeof(bad), "%sA", b64);
	CHECK(ipop_key_from_base64(bad, k) == -EINVAL);
	snprintf(bad, sizeof(bad), "%s\n", b64);
	CHECK(ipop_key_from_base64(bad, k) == -EINVAL);
	/* a character outside the alphabet; the URL-safe alphabet */
	snprintf(bad, sizeof(bad), "%s", b64);
	bad[5] = '*';
	CHECK(ipop_key_from_base64(bad, k) == -EINVAL);
	bad[5] = '-';
	CHECK(ipop_key_from_base64(bad, k) == -EINVAL);
	/* the last character's 2 unused bits set: not canonical */
	snprintf(bad, sizeof(bad), "%s", b64);
	CHECK(bad[42] == 'o');                  /* 40: low 2 bits clear */
	bad[42] = 'p';                          /* 41 */
	CHECK(ipop_key_from_base64(bad, k) == -EINVAL);
	/* 33 bytes also take 44 characters (no padding); 31 bytes too ("==") */
	memset(raw, 0x5a, sizeof(raw));
	sodium_bin2base64(bad, sizeof(bad), raw, 33, sodium_base64_VARIANT_ORIGINAL);
	CHECK(strlen(bad) == 44);
	CHECK(ipop_key_from_base64(bad, k) == -EINVAL);
	sodium_bin2base64(bad, sizeof(bad), raw, 31, sodium_base64_VARIANT_ORIGINAL);
	CHECK(strlen(bad) == 44);
	CHECK(ipop_key_from_base64(bad, k) == -EINVAL);
	CHECK(ipop_key_from_base64(NULL, k) == -EINVAL);
}

static void test_small_order(void)
{
	uint8_t p[32] = { 0 };

	CHECK(ipop_key_check_public(p) == -EINVAL);      /* 0 */
	p[0] = 1;
	CHECK(ipop_key_check_public(p) == -EINVAL);      /* 1 */
	CHECK(ipop_key_check_public(rfc_pub) == 0);
}

static void test_save_load(void)
{
	uint8_t priv[32], pub[32], lpriv[32], lpub[32];
	char path[128], err[256], text[64];
	struct stat st;
	FILE *f;
	size_t n;

	CHECK(ipop_identity_generate(priv, pub) == 0);
	path_in_dir(path, sizeof(path), "node.key");
	CHECK(ipop_identity_save(path, priv) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	f = fopen(path, "r");
	CHECK(f != NULL);
	n = f ? fread(text, 1, sizeof(text), f) : 0;
	if (f)
		fclose(f);
	CHECK(n == 45 && text[44] == '\n');
	CHECK(ipop_identity_load(path, lpriv, lpub, err, sizeof(err)) == 0);
	CHECK(memcmp(lpriv, priv, 32) == 0);
	CHECK(memcmp(lpub, pub, 32) == 0);
	/* never replaces a key */
	CHECK(ipop_identity_save(path, rfc_priv) == -EEXIST);
	CHECK(ipop_identity_load(path, lpriv, lpub, err, sizeof(err)) == 0);
	CHECK(memcmp(lpriv, priv, 32) == 0);
	unlink(path);
}

/* The published vector, from a hand-written file without a trailing newline. */
static void test_load_vector(void)
{
	uint8_t priv[32], pub[32];
	char b64[IPOP_KEY_B64_LEN], path[128], err[256];

	ipop_key_to_base64(rfc_priv, b64);
	write_file("rfc.key", b64, 44, 0600);
	path_in_dir(path, sizeof(path), "rfc.key");
	CHECK(ipop_identity_load(path, priv, pub, err, sizeof(err)) == 0);
	CHECK(memcmp(priv, rfc_priv, 32) == 0);
	CHECK(memcmp(pub, rfc_pub, 32) == 0);
	/* read-only for the owner is fine too */
	CHECK(chmod(path, 0400) == 0);
	CHECK(ipop_identity_load(path, priv, pub, err, sizeof(err)) == 0);
	unlink(path);
}

static void test_permissions(void)
{
	static const mode_t bad_modes[] = { 0640, 0604, 0660, 0644, 0602, 0620, 0610 };
	uint8_t priv[32], pub[32];
	char path[128], err[256], mode_text[8];
	size_t i;

	CHECK(ipop_identity_generate(priv, pub) == 0);
	path_in_dir(path, sizeof(path), "open.key");
	CHECK(ipop_identity_save(path, priv) == 0);
	for (i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		CHECK(chmod(path, bad_modes[i]) == 0);
		memset(priv, 0xaa, sizeof(priv));
		err[0] = '\0';
		CHECK(ipop_identity_load(path, priv, pub, err, sizeof(err)) == -EACCES);
		CHECK(all_zero(priv));
		snprintf(mode_text, sizeof(mode_text), "%04o", (unsigned)bad_modes[i]);
		CHECK(strstr(err, mode_text) != NULL);
		CHECK(strstr(err, path) != NULL);
		CHECK(strstr(err, "too open") != NULL);
	}
	unlink(path);
}

static void test_bad_files(void)
{
	static const struct { const char *text; size_t len; } cases[] = {
		{ "", 0 },
		{ "\n", 1 },
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n\n", 46 },  /* two lines */
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\r\n", 46 },  /* CRLF */
		{ " hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", 45 },     /* space */
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo", 43 },       /* no padding */
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066Spjqqb!mo=", 44 },      /* bad char */
		{ "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=", 44 },      /* url-safe */
		{ "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpa", 44 },      /* 33 bytes */
		{ "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=hVDw", 48 },
	};
	uint8_t priv[32], pub[32];
	char path[128], err[256];
	size_t i;

	path_in_dir(path, sizeof(path), "bad.key");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file("bad.key", cases[i].text, cases[i].len, 0600);
		memset(priv, 0xaa, sizeof(priv));
		err[0] = '\0';
		CHECK(ipop_identity_load(path, priv, pub, err, sizeof(err)) == -EINVAL);
		CHECK(all_zero(priv));
		CHECK(strstr(err, path) != NULL);
	}
	/* the well-formed line the cases above were bent from does load */
	write_file("bad.key", "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n", 45, 0600);
	CHECK(ipop_identity_load(path, priv, pub, err, sizeof(err)) == 0);
	CHECK(memcmp(priv, rfc_pub, 32) == 0);  /* that line is rfc_pub in base64 */
	unlink(path);

	path_in_dir(path, sizeof(path), "missing.key");
	CHECK(ipop_identity_load(path, priv, pub, err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, path) != NULL);
	CHECK(ipop_identity_load(dir, priv, pub, err, sizeof(err)) == -EINVAL); /* a dir */
	CHECK(strstr(err, "regular file") != NULL);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ipop-test-identity.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_generate();
	test_base64();
	test_small_order();
	test_save_load();
	test_load_vector();
	test_permissions();
	test_bad_files();
	CHECK(rmdir(dir) == 0);    /* also proves every test removed its files */
	return check_report("identity");
}

/* test_stun_check.c - control/ice/stun_check: the RFC 5769 test vectors
 * (sample request, IPv4 and IPv6 responses with short-term credentials and
 * FINGERPRINT; the request with long-term credentials), typed in from the
 * RFC; every byte of each vector flipped (refused as malformed, or its
 * MESSAGE-INTEGRITY or FINGERPRINT no longer matching); wrong passwords;
 * a message signed here with one key and checked with another; every
 * truncation; malformed attributes (MESSAGE-INTEGRITY or FINGERPRINT of the
 * wrong size, anything after FINGERPRINT); attributes after
 * MESSAGE-INTEGRITY not covered; CRC-32's check value. */
#include "control/ice/stun_check.h"
#include "check.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

/* RFC 5769 2.1: Binding request, USERNAME "evtj:h6vY" (padded with spaces),
 * password "VOkJxbRl1RmTxUk/WvJxBt", MESSAGE-INTEGRITY and FINGERPRINT. */
static const uint8_t req[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 2.2: Binding success, XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
static const uint8_t resp4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 2.3: the same with an IPv6 XOR-MAPPED-ADDRESS. */
static const uint8_t resp6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

/* RFC 5769 2.4: Binding request with long-term credentials: USERNAME
 * U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9 (UTF-8), NONCE, REALM
 * "example.org", password "TheMatrIX" (after SASLprep); no FINGERPRINT. */
static const uint8_t req_lt[] = {
	0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33,
	0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12,
	0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
	0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
	0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
	0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79,
	0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d,
	0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
	0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71,
	0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
};

static const char pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";

static int integrity(const uint8_t *p, size_t len, const char *key)
{
	struct ipop_stun_msg m;

	if (ipop_stun_msg_parse(p, len, &m) != 0)
		return -EBADMSG;
	return ipop_stun_check_integrity(p, &m, (const uint8_t *)key, strlen(key));
}

static int fingerprint(const uint8_t *p, size_t len)
{
	struct ipop_stun_msg m;

	if (ipop_stun_msg_parse(p, len, &m) != 0)
		return -EBADMSG;
	return ipop_stun_check_fingerprint(p, &m);
}

/* The short-term vectors: parse, check, then every byte flipped. */
static void short_term(const uint8_t *v, size_t len, enum ipop_stun_msg_class cls)
{
	struct ipop_stun_msg m;
	uint8_t b[128];

	CHECK(ipop_stun_msg_parse(v, len, &m) == 0);
	CHECK(m.method == 0x001 && m.cls == cls && m.len == len);
	CHECK(m.mi_off == len - 32 && m.fp_off == len - 8);
	CHECK(integrity(v, len, pwd) == 0);
	CHECK(fingerprint(v, len) == 0);
	CHECK(integrity(v, len, "VOkJxbRl1RmTxUk/WvJxBT") == -EACCES);
	CHECK(integrity(v, len, "") == -EACCES);
	memcpy(b, v, len);
	unsigned bad = 0;
	for (size_t i = 0; i < len; i++) {
		b[i] ^= 0x01;
		int r = integrity(b, len, pwd), f = fingerprint(b, len);
		/* Covered: never authentic (malformed, or MESSAGE-INTEGRITY
		 * missing or not matching); FINGERPRINT's value: authentic but
		 * damaged; its header: no FINGERPRINT (or malformed). */
		if (i < m.fp_off)
			bad += r == 0;
		else if (i >= m.fp_off + 4)
			bad += !(r == 0 && f == -EILSEQ);
		else
			bad += f == 0;
		b[i] ^= 0x01;
	}
	CHECK(bad == 0);
	for (size_t n = 0; n < len; n++)
		bad += ipop_stun_msg_parse(v, n, &m) != -EBADMSG;
	CHECK(bad == 0);
}

static void vectors(void)
{
	struct ipop_stun_msg m;
	uint8_t key[IPOP_STUN_LT_KEY_LEN], wrong[IPOP_STUN_LT_KEY_LEN];

	short_term(req, sizeof(req), IPOP_STUN_CLS_REQUEST);
	CHECK(ipop_stun_msg_parse(req, sizeof(req), &m) == 0);
	CHECK(m.username != NULL && m.username_len == 9 && memcmp(m.username, "evtj:h6vY", 9) == 0);
	short_term(resp4, sizeof(resp4), IPOP_STUN_CLS_SUCCESS);
	short_term(resp6, sizeof(resp6), IPOP_STUN_CLS_SUCCESS);

	CHECK(ipop_stun_msg_parse(req_lt, sizeof(req_lt), &m) == 0);
	CHECK(m.fp_off == 0 && m.mi_off == sizeof(req_lt) - 24);
	CHECK(m.realm != NULL && m.realm_len == 11 && memcmp(m.realm, "example.org", 11) == 0);
	CHECK(m.username != NULL && m.username_len == 18);
	CHECK(ipop_stun_check_fingerprint(req_lt, &m) == -ENOENT);
	ipop_stun_long_term_key(m.username, m.username_len, m.realm, m.realm_len, "TheMatrIX", key);
	CHECK(ipop_stun_check_integrity(req_lt, &m, key, sizeof(key)) == 0);
	ipop_stun_long_term_key(m.username, m.username_len, m.realm, m.realm_len, "TheMatrix", wrong);
	CHECK(ipop_stun_check_integrity(req_lt, &m, wrong, sizeof(wrong)) == -EACCES);
	ipop_stun_long_term_key(m.username, m.username_len, (const uint8_t *)"example.com", 11,
				"TheMatrIX", wrong);
	CHECK(ipop_stun_check_integrity(req_lt, &m, wrong, sizeof(wrong)) == -EACCES);
	/* The short-term password as the key is not the long-term key. */
	CHECK(ipop_stun_check_integrity(req_lt, &m, (const uint8_t *)"TheMatrIX", 9) == -EACCES);
}

/* A message built here: Binding request, USERNAME, MESSAGE-INTEGRITY under
 * key, FINGERPRINT; extra bytes after MESSAGE-INTEGRITY on request. */
struct msg {
	uint8_t b[256];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put16(struct msg *m, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(m, b, 2);
}

static void set_len(struct msg *m, size_t upto)
{
	m->b[2] = (uint8_t)((upto - 20) >> 8);
	m->b[3] = (uint8_t)(upto - 20);
}

static void sign(struct msg *m, const char *key)
{
	gsize dl = 20;

	put16(m, 0x0008);
	put16(m, 20);
	set_len(m, m->n + 20);
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA1, (const guchar *)key, strlen(key));
	g_hmac_update(h, m->b, m->n - 4);
	g_hmac_get_digest(h, m->b + m->n, &dl);
	g_hmac_unref(h);
	m->n += 20;
}

static void add_fingerprint(struct msg *m)
{
	put16(m, 0x8028);
	put16(m, 4);
	set_len(m, m->n + 4);
	uint32_t c = ipop_stun_crc32(m->b, m->n - 4) ^ 0x5354554eu;
	put16(m, (uint16_t)(c >> 16));
	put16(m, (uint16_t)c);
}

static void build(struct msg *m, const char *user, const char *key)
{
	m->n = 0;
	put16(m, 0x0001);
	put16(m, 0);
	put(m, "\x21\x12\xa4\x42" "abcdefghijkl", 16);
	put16(m, 0x0006);
	put16(m, (uint16_t)strlen(user));
	put(m, user, strlen(user));
	while (m->n % 4)
		m->b[m->n++] = 0;
	sign(m, key);
}

static void forged(void)
{
	struct msg m;
	struct ipop_stun_msg s;

	build(&m, "ours:theirs", "the-right-password-1");
	add_fingerprint(&m);
	CHECK(integrity(m.b, m.n, "the-right-password-1") == 0);
	CHECK(fingerprint(m.b, m.n) == 0);
	build(&m, "ours:theirs", "a-wrong-password-22");
	add_fingerprint(&m);
	CHECK(fingerprint(m.b, m.n) == 0);   /* anyone can compute a CRC */
	CHECK(integrity(m.b, m.n, "the-right-password-1") == -EACCES);

	/* An attribute after MESSAGE-INTEGRITY is not covered, and ignored. */
	build(&m, "ours:theirs", "k");
	put16(&m, 0x8022);
	put16(&m, 4);
	put(&m, "evil", 4);
	set_len(&m, m.n);
	CHECK(integrity(m.b, m.n, "k") == 0);
	add_fingerprint(&m);
	CHECK(integrity(m.b, m.n, "k") == 0 && fingerprint(m.b, m.n) == 0);
	/* Nothing may follow FINGERPRINT. */
	put16(&m, 0x8022);
	put16(&m, 0);
	set_len(&m, m.n);
	CHECK(ipop_stun_msg_parse(m.b, m.n, &s) == -EBADMSG);

	/* No MESSAGE-INTEGRITY at all. */
	m.n = 20;
	memcpy(m.b, "\x00\x01\x00\x00\x21\x12\xa4\x42", 8);
	CHECK(ipop_stun_msg_parse(m.b, m.n, &s) == 0 && s.mi_off == 0);
	CHECK(ipop_stun_check_integrity(m.b, &s, (const uint8_t *)"k", 1) == -ENOENT);
	CHECK(ipop_stun_check_fingerprint(m.b, &s) == -ENOENT);
	/* A MESSAGE-INTEGRITY of 16 bytes, a FINGERPRINT of 8, an attribute
	 * running past the end, a length not the datagram's, no cookie, the
	 * first two bits set. */
	m.n = 20;
	put16(&m, 0x0008);
	put16(&m, 16);
	memset(m.b + m.n, 0, 16);
	m.n += 16;
	set_len(&m, m.n);
	CHECK(ipop_stun_msg_parse(m.b, m.n, &s) == -EBADMSG);
	m.n = 20;
	put16(&m, 0x8028);
	put16(&m, 8);
	memset(m.b + m.n, 0, 8);
	m.n += 8;
	set_len(&m, m.n);
	CHECK(ipop_stun_msg_parse(m.b, m.n, &s) == -EBADMSG);
	m.n = 20;
	put16(&m, 0x8022);
	put16(&m, 9);
	memset(m.b + m.n, 'x', 8);
	m.n += 8;
	set_len(&m, m.n);
	CHECK(ipop_stun_msg_parse(m.b, m.n, &s) == -EBADMSG);
	uint8_t b[sizeof(req) + 4];
	memcpy(b, req, sizeof(req));
	memset(b + sizeof(req), 0, 4);
	CHECK(ipop_stun_msg_parse(b, sizeof(b), &s) == -EBADMSG);   /* trailing bytes */
	b[4] = 0x22;
	CHECK(ipop_stun_msg_parse(b, sizeof(req), &s) == -EBADMSG);
	memcpy(b, req, sizeof(req));
	b[0] |= 0x40;
	CHECK(ipop_stun_msg_parse(b, sizeof(req), &s) == -EBADMSG);
}

int main(void)
{
	/* The CRC-32 check value (ISO 3309 / V.42). */
	CHECK(ipop_stun_crc32((const uint8_t *)"123456789", 9) == 0xcbf43926u);
	vectors();
	forged();
	return check_report("stun_check");
}

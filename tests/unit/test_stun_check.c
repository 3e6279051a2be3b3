/* test_stun_check.c - control/ice/stun_check: the RFC 5769 test vectors
 * (sample request, IPv4 and IPv6 responses with short-term credentials and
 * FINGERPRINT; the request with long-term credentials), typed in from the
 * RFC; every byte of each vector flipped (refused as malformed, or its
 * MESSAGE-INTEGRITY or FINGERPRINT no longer matching); wrong passwords;
 * a message signed here with one key and checked with another; every
 * truncation; malformed attributes (MESSAGE-INTEGRITY or FINGERPRINT of the
 * wrong size, anything after FINGERPRINT); attributes after
 * MESSAGE-INTEGRITY not covered; CRC-32's check value.
 * MESSAGE-INTEGRITY-SHA256 (RFC 8489 14.6): RFC 8489's own sample (B.1) needs
 * SASLprep and USERHASH, which ipop does not do, so the vectors here were
 * built with Python's hmac/hashlib/zlib (an implementation independent of
 * glib's) under the key "the-right-password-1": a Binding request with a
 * full 32-byte MESSAGE-INTEGRITY-SHA256, and one with MESSAGE-INTEGRITY
 * followed by a MESSAGE-INTEGRITY-SHA256 truncated to 16 bytes; every byte
 * flipped, each attribute damaged alone, wrong keys, sizes that RFC 8489
 * forbids, what follows it ignored. TURN Data indications (RFC 8656 11.6):
 * one built the same way (XOR-PEER-ADDRESS 10.91.2.1:40000, DATA the first
 * vector above) parsed, its DATA checked with the right and a wrong password;
 * an IPv6 peer; DATA that runs past the message, DATA that is truncated
 * STUN, DATA that is not STUN; XOR-PEER-ADDRESS of an unknown family, of the
 * wrong length, with port 0, missing; no DATA; other methods and classes;
 * every truncation. */
#include "control/ice/stun_check.h"
#include "check.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

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

/* Built with Python (see the top): key "the-right-password-1", transaction
 * ID "abcdefghijkl", USERNAME "ours:theirs". */
static const uint8_t mi256_full[] = {
	0x00, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42,
	0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
	0x69, 0x6a, 0x6b, 0x6c, 0x00, 0x06, 0x00, 0x0b,
	0x6f, 0x75, 0x72, 0x73, 0x3a, 0x74, 0x68, 0x65,
	0x69, 0x72, 0x73, 0x00, 0x00, 0x1c, 0x00, 0x20,
	0xfc, 0x36, 0xd2, 0x02, 0x8e, 0x91, 0x2b, 0x3b,
	0xf1, 0xd1, 0xcb, 0xdd, 0x21, 0x5c, 0x93, 0x2e,
	0xda, 0xf8, 0x84, 0xe8, 0xb1, 0x1a, 0xe3, 0x34,
	0x0d, 0x14, 0x54, 0x71, 0xaf, 0x00, 0x7d, 0xbb,
	0x80, 0x28, 0x00, 0x04, 0x36, 0x58, 0xa0, 0xd2,
};

static const uint8_t mi_and_mi256_16[] = {
	0x00, 0x01, 0x00, 0x44, 0x21, 0x12, 0xa4, 0x42,
	0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
	0x69, 0x6a, 0x6b, 0x6c, 0x00, 0x06, 0x00, 0x0b,
	0x6f, 0x75, 0x72, 0x73, 0x3a, 0x74, 0x68, 0x65,
	0x69, 0x72, 0x73, 0x00, 0x00, 0x08, 0x00, 0x14,
	0x77, 0x3c, 0x16, 0xa4, 0x0e, 0xc2, 0x64, 0xb4,
	0x26, 0x1f, 0xe5, 0xf8, 0x9e, 0x2a, 0xc3, 0x9e,
	0x7f, 0xa6, 0x6c, 0x32, 0x00, 0x1c, 0x00, 0x10,
	0xe6, 0x17, 0x49, 0x9c, 0x9b, 0x6d, 0xf8, 0x97,
	0x48, 0x80, 0xbb, 0x5e, 0x25, 0x7d, 0x4d, 0x53,
	0x80, 0x28, 0x00, 0x04, 0x65, 0x05, 0xd2, 0xac,
};

/* A Data indication from 10.91.2.1:40000 holding mi256_full, FINGERPRINT
 * last; transaction ID "mnopqrstuvwx". */
static const uint8_t data_ind[] = {
	0x00, 0x17, 0x00, 0x68, 0x21, 0x12, 0xa4, 0x42,
	0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74,
	0x75, 0x76, 0x77, 0x78, 0x00, 0x12, 0x00, 0x08,
	0x00, 0x01, 0xbd, 0x52, 0x2b, 0x49, 0xa6, 0x43,
	0x00, 0x13, 0x00, 0x50, 0x00, 0x01, 0x00, 0x3c,
	0x21, 0x12, 0xa4, 0x42, 0x61, 0x62, 0x63, 0x64,
	0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c,
	0x00, 0x06, 0x00, 0x0b, 0x6f, 0x75, 0x72, 0x73,
	0x3a, 0x74, 0x68, 0x65, 0x69, 0x72, 0x73, 0x00,
	0x00, 0x1c, 0x00, 0x20, 0xfc, 0x36, 0xd2, 0x02,
	0x8e, 0x91, 0x2b, 0x3b, 0xf1, 0xd1, 0xcb, 0xdd,
	0x21, 0x5c, 0x93, 0x2e, 0xda, 0xf8, 0x84, 0xe8,
	0xb1, 0x1a, 0xe3, 0x34, 0x0d, 0x14, 0x54, 0x71,
	0xaf, 0x00, 0x7d, 0xbb, 0x80, 0x28, 0x00, 0x04,
	0x36, 0x58, 0xa0, 0xd2, 0x80, 0x28, 0x00, 0x04,
	0x94, 0x5f, 0xd8, 0x54,
};



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

static const char key1[] = "the-right-password-1";

static void sha256(void)
{
	struct ipop_stun_msg s;
	uint8_t b[sizeof(mi_and_mi256_16)];

	CHECK(ipop_stun_msg_parse(mi256_full, sizeof(mi256_full), &s) == 0);
	CHECK(s.mi_off == 0 && s.mi256_off == 36 && s.mi256_len == 32 && s.fp_off == 72);
	CHECK(integrity(mi256_full, sizeof(mi256_full), key1) == 0);
	CHECK(fingerprint(mi256_full, sizeof(mi256_full)) == 0);
	CHECK(integrity(mi256_full, sizeof(mi256_full), "the-right-password-2") == -EACCES);
	CHECK(integrity(mi_and_mi256_16, sizeof(mi_and_mi256_16), key1) == 0);
	CHECK(ipop_stun_msg_parse(mi_and_mi256_16, sizeof(mi_and_mi256_16), &s) == 0);
	CHECK(s.mi_off == 36 && s.mi256_off == 60 && s.mi256_len == 16);
	CHECK(integrity(mi_and_mi256_16, sizeof(mi_and_mi256_16), "x") == -EACCES);
	/* Every byte flipped before FINGERPRINT: refused, or a check fails. */
	for (size_t i = 0; i < sizeof(mi256_full); i++) {
		memcpy(b, mi256_full, sizeof(mi256_full));
		b[i] ^= 0x01;
		int r = integrity(b, sizeof(mi256_full), key1), f = fingerprint(b, sizeof(mi256_full));
		CHECK(r != 0 || f != 0);
		if (i < 72)
			CHECK(r != 0);
	}
	/* With both, each must match: damage one alone. */
	memcpy(b, mi_and_mi256_16, sizeof(b));
	b[40] ^= 0x80;   /* MESSAGE-INTEGRITY (SHA-1) */
	CHECK(ipop_stun_msg_parse(b, sizeof(b), &s) == 0);
	CHECK(ipop_stun_check_integrity(b, &s, (const uint8_t *)key1, strlen(key1)) == -EACCES);
	memcpy(b, mi_and_mi256_16, sizeof(b));
	b[75] ^= 0x80;   /* MESSAGE-INTEGRITY-SHA256's last byte */
	CHECK(ipop_stun_msg_parse(b, sizeof(b), &s) == 0);
	CHECK(ipop_stun_check_integrity(b, &s, (const uint8_t *)key1, strlen(key1)) == -EACCES);

	/* Sizes RFC 8489 forbids: under 16, over 32, not a multiple of 4. */
	static const uint16_t bad[] = { 0, 12, 18, 30, 36 };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct msg m = { .n = 20 };
		memcpy(m.b, "\x00\x01\x00\x00\x21\x12\xa4\x42" "abcdefghijkl", 20);
		put16(&m, 0x001c);
		put16(&m, bad[k]);
		memset(m.b + m.n, 0, 36);
		m.n += ((size_t)bad[k] + 3) & ~(size_t)3;
		set_len(&m, m.n);
		CHECK(ipop_stun_msg_parse(m.b, m.n, &s) == -EBADMSG);
	}
	/* After MESSAGE-INTEGRITY-SHA256 only FINGERPRINT counts: a
	 * MESSAGE-INTEGRITY (of any size) or anything else is ignored. */
	struct msg m = { .n = 0 };
	put(&m, mi256_full, 72);
	put16(&m, 0x0008);
	put16(&m, 4);
	put(&m, "evil", 4);
	set_len(&m, m.n);
	CHECK(ipop_stun_msg_parse(m.b, m.n, &s) == 0 && s.mi_off == 0 && s.mi256_off == 36);
	CHECK(integrity(m.b, m.n, key1) == 0);
}

/* A Data indication: XOR-PEER-ADDRESS of xlen bytes xpa, DATA of dlen bytes. */
static void build_data(struct msg *m, const uint8_t *xpa, uint16_t xlen, const uint8_t *data,
		       uint16_t dlen)
{
	m->n = 0;
	put(m, "\x00\x17\x00\x00\x21\x12\xa4\x42" "mnopqrstuvwx", 20);
	if (xpa != NULL) {
		put16(m, 0x0012);
		put16(m, xlen);
		put(m, xpa, xlen);
		while (m->n % 4)
			m->b[m->n++] = 0;
	}
	if (data != NULL) {
		put16(m, 0x0013);
		put16(m, dlen);
		put(m, data, dlen);
		while (m->n % 4)
			m->b[m->n++] = 0;
	}
	set_len(m, m->n);
}

static void data_indications(void)
{
	struct ipop_stun_data d;
	struct ipop_stun_msg s;
	struct msg m;
	uint8_t b[sizeof(data_ind)];
	/* 10.91.2.1:40000 XORed with the cookie. */
	const uint8_t xpa[8] = { 0x00, 0x01, 0xbd, 0x52, 0x2b, 0x49, 0xa6, 0x43 };

	/* The right password, then a wrong one, on what it carries. */
	CHECK(ipop_stun_data_parse(data_ind, sizeof(data_ind), &d) == 0);
	CHECK(d.family == AF_INET && memcmp(d.addr, "\x0a\x5b\x02\x01", 4) == 0 && d.port == 40000);
	CHECK(d.data_len == sizeof(mi256_full) && d.data == data_ind + 36 &&
	      memcmp(d.data, mi256_full, sizeof(mi256_full)) == 0);
	CHECK(ipop_stun_looks_like(d.data, d.data_len));
	CHECK(ipop_stun_msg_parse(d.data, d.data_len, &s) == 0 && s.cls == IPOP_STUN_CLS_REQUEST);
	CHECK(ipop_stun_check_integrity(d.data, &s, (const uint8_t *)key1, strlen(key1)) == 0);
	CHECK(ipop_stun_check_integrity(d.data, &s, (const uint8_t *)"not-the-password-1", 18) ==
	      -EACCES);
	/* Every truncation: refused (the header's length no longer fits). */
	for (size_t n = 0; n < sizeof(data_ind); n++)
		CHECK(ipop_stun_data_parse(data_ind, n, &d) == -EBADMSG && d.err != NULL);

	/* DATA that runs past the message; DATA that is truncated STUN. */
	build_data(&m, xpa, 8, mi256_full, 40);
	m.b[34] = 0, m.b[35] = 80;   /* DATA's length: 80, 40 there */
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == -EBADMSG);
	build_data(&m, xpa, 8, mi256_full, 40);
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == 0 && d.data_len == 40);
	CHECK(ipop_stun_looks_like(d.data, d.data_len));
	CHECK(ipop_stun_msg_parse(d.data, d.data_len, &s) == -EBADMSG);
	/* DATA that is not STUN: parsed, and said so. */
	static const uint8_t other[20] = "\x01\x00\x00\x00" "an ipop message";
	build_data(&m, xpa, 8, other, sizeof(other));
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == 0 && d.data_len == 20);
	CHECK(!ipop_stun_looks_like(d.data, d.data_len));
	build_data(&m, xpa, 8, (const uint8_t *)"", 0);
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == 0 && d.data_len == 0 &&
	      !ipop_stun_looks_like(d.data, 0));

	/* XOR-PEER-ADDRESS: an unknown family, the wrong length, port 0,
	 * missing; no DATA. */
	uint8_t x[20];
	memcpy(x, xpa, 8);
	x[1] = 0x03;
	build_data(&m, x, 8, mi256_full, 20);
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == -EBADMSG && strstr(d.err, "family") != NULL);
	build_data(&m, xpa, 6, mi256_full, 20);
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == -EBADMSG && strstr(d.err, "length") != NULL);
	memset(x, 0, sizeof(x));
	memcpy(x, xpa, 8);
	build_data(&m, x, 20, mi256_full, 20);   /* IPv4 with 20 bytes */
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == -EBADMSG);
	build_data(&m, xpa, 2, mi256_full, 20);
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == -EBADMSG);
	memcpy(x, xpa, 8);
	x[2] = 0x21, x[3] = 0x12;   /* port 0 */
	build_data(&m, x, 8, mi256_full, 20);
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == -EBADMSG && strstr(d.err, "port") != NULL);
	build_data(&m, NULL, 0, mi256_full, 20);
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == -EBADMSG &&
	      strcmp(d.err, "no XOR-PEER-ADDRESS") == 0);
	build_data(&m, xpa, 8, NULL, 0);
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == -EBADMSG && strcmp(d.err, "no DATA") == 0);
	/* An IPv6 peer: 2001:db8::1 port 3478, XORed with the cookie and the
	 * transaction ID. */
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };
	const uint8_t *pad = (const uint8_t *)"\x21\x12\xa4\x42" "mnopqrstuvwx";
	x[0] = 0, x[1] = 0x02, x[2] = (3478 ^ 0x2112) >> 8, x[3] = (3478 ^ 0x2112) & 0xff;
	for (int i = 0; i < 16; i++)
		x[4 + i] = a6[i] ^ pad[i];
	build_data(&m, x, 20, mi256_full, sizeof(mi256_full));
	CHECK(ipop_stun_data_parse(m.b, m.n, &d) == 0 && d.family == AF_INET6 && d.port == 3478 &&
	      memcmp(d.addr, a6, 16) == 0);
	/* Not a Data indication: a Send indication, a Binding request. */
	memcpy(b, data_ind, sizeof(b));
	b[1] = 0x16;
	CHECK(ipop_stun_data_parse(b, sizeof(b), &d) == -ENOMSG);
	CHECK(ipop_stun_data_parse(mi256_full, sizeof(mi256_full), &d) == -ENOMSG);
}

int main(void)
{
	/* The CRC-32 check value (ISO 3309 / V.42). */
	CHECK(ipop_stun_crc32((const uint8_t *)"123456789", 9) == 0xcbf43926u);
	vectors();
	forged();
	sha256();
	data_indications();
	return check_report("stun_check");
}

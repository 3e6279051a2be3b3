/* stun_check.c - see stun_check.h. Thread: either. */
#include "control/ice/stun_check.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <glib.h>
#include <sodium.h>

#define STUN_HDR 20
#define STUN_COOKIE 0x2112A442u
#define FP_XOR 0x5354554eu
#define ATTR_USERNAME 0x0006
#define ATTR_MESSAGE_INTEGRITY 0x0008
#define ATTR_REALM 0x0014
#define ATTR_XOR_PEER_ADDRESS 0x0012
#define ATTR_DATA 0x0013
#define ATTR_MI_SHA256 0x001C
#define SHA256_LEN 32
#define ATTR_FINGERPRINT 0x8028

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const char *ipop_stun_class_name(enum ipop_stun_msg_class cls)
{
	switch (cls) {
	case IPOP_STUN_CLS_REQUEST:
		return "request";
	case IPOP_STUN_CLS_INDICATION:
		return "indication";
	case IPOP_STUN_CLS_SUCCESS:
		return "success response";
	default:
		return "error response";
	}
}

/* One attribute at offset off (its header) of type t, value v of vlen bytes. */
static int take_attr(struct ipop_stun_msg *m, size_t off, uint16_t t, const uint8_t *v,
		     uint16_t vlen)
{
	if (m->fp_off != 0)
		return -EBADMSG;   /* FINGERPRINT must be the last attribute */
	if (t == ATTR_FINGERPRINT) {
		if (vlen != 4)
			return -EBADMSG;
		m->fp_off = off;
		return 0;
	}
	if (m->mi256_off != 0)
		return 0;          /* not covered by MESSAGE-INTEGRITY-SHA256: ignored */
	if (t == ATTR_MI_SHA256) {
		/* RFC 8489 14.6: it may follow MESSAGE-INTEGRITY, and a truncated
		 * one keeps at least 16 bytes, in steps of 4. */
		if (vlen < IPOP_STUN_MI256_MIN || vlen > IPOP_STUN_MI256_MAX || (vlen & 3) != 0)
			return -EBADMSG;
		m->mi256_off = off;
		m->mi256_len = vlen;
		return 0;
	}
	if (m->mi_off != 0)
		return 0;          /* not covered by MESSAGE-INTEGRITY: ignored */
	switch (t) {
	case ATTR_MESSAGE_INTEGRITY:
		if (vlen != IPOP_STUN_MI_LEN)
			return -EBADMSG;
		m->mi_off = off;
		return 0;
	case ATTR_USERNAME:
		if (m->username == NULL) {
			m->username = v;
			m->username_len = vlen;
		}
		return 0;
	case ATTR_REALM:
		if (m->realm == NULL) {
			m->realm = v;
			m->realm_len = vlen;
		}
		return 0;
	default:
		return 0;
	}
}

int ipop_stun_msg_parse(const uint8_t *p, size_t len, struct ipop_stun_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (len < STUN_HDR || (p[0] & 0xc0) != 0 || rd32(p + 4) != STUN_COOKIE)
		return -EBADMSG;
	uint16_t type = rd16(p), mlen = rd16(p + 2);
	if ((mlen & 3) != 0 || (size_t)mlen + STUN_HDR != len)
		return -EBADMSG;
	m->method = (uint16_t)((type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2));
	m->cls = (enum ipop_stun_msg_class)(((type & 0x0100) >> 7) | ((type & 0x0010) >> 4));
	m->len = len;
	m->txid = p + 8;
	for (size_t off = STUN_HDR; off < len;) {
		if (len - off < 4)
			return -EBADMSG;
		uint16_t t = rd16(p + off), vlen = rd16(p + off + 2);
		size_t step = 4 + (((size_t)vlen + 3) & ~(size_t)3);
		if (step > len - off || take_attr(m, off, t, p + off + 4, vlen) != 0)
			return -EBADMSG;
		off += step;
	}
	return 0;
}

/* The HMAC (type, of dlen bytes) under key of p up to the attribute at off
 * whose value is vlen bytes, the header's length as if that attribute were
 * the last, compared with the attribute's value (its first vlen bytes of the
 * HMAC: MESSAGE-INTEGRITY-SHA256 may be truncated). 0, or -EACCES. */
static int check_hmac(const uint8_t *p, size_t off, size_t vlen, GChecksumType type,
		      size_t dlen, const uint8_t *key, size_t key_len)
{
	uint8_t mac[SHA256_LEN], adj[2];
	gsize mac_len = dlen;
	size_t covered = off + 4 + vlen - STUN_HDR;

	adj[0] = (uint8_t)(covered >> 8);
	adj[1] = (uint8_t)covered;
	GHmac *h = g_hmac_new(type, key, key_len);
	g_hmac_update(h, p, 2);
	g_hmac_update(h, adj, 2);
	g_hmac_update(h, p + 4, off - 4);
	g_hmac_get_digest(h, mac, &mac_len);
	g_hmac_unref(h);
	int same = mac_len == dlen && vlen <= dlen && sodium_memcmp(mac, p + off + 4, vlen) == 0;
	sodium_memzero(mac, sizeof(mac));
	return same ? 0 : -EACCES;
}

int ipop_stun_check_integrity(const uint8_t *p, const struct ipop_stun_msg *m,
			      const uint8_t *key, size_t key_len)
{
	int r1 = 0, r2 = 0;

	if (!ipop_stun_has_integrity(m))
		return -ENOENT;
	if (m->mi_off != 0)
		r1 = check_hmac(p, m->mi_off, IPOP_STUN_MI_LEN, G_CHECKSUM_SHA1, IPOP_STUN_MI_LEN,
				key, key_len);
	if (m->mi256_off != 0)
		r2 = check_hmac(p, m->mi256_off, m->mi256_len, G_CHECKSUM_SHA256, SHA256_LEN, key,
				key_len);
	return r1 == 0 && r2 == 0 ? 0 : -EACCES;
}

uint32_t ipop_stun_crc32(const uint8_t *p, size_t len)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

int ipop_stun_check_fingerprint(const uint8_t *p, const struct ipop_stun_msg *m)
{
	if (m->fp_off == 0)
		return -ENOENT;
	/* FINGERPRINT is last (the parser made sure), so the header's length
	 * already covers it, as the CRC needs. */
	uint32_t want = ipop_stun_crc32(p, m->fp_off) ^ FP_XOR;
	return rd32(p + m->fp_off + 4) == want ? 0 : -EILSEQ;
}

void ipop_stun_long_term_key(const uint8_t *user, size_t user_len, const uint8_t *realm,
			     size_t realm_len, const char *password,
			     uint8_t key[IPOP_STUN_LT_KEY_LEN])
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_MD5);
	gsize n = IPOP_STUN_LT_KEY_LEN;

	g_checksum_update(c, user, (gssize)user_len);
	g_checksum_update(c, (const guchar *)":", 1);
	g_checksum_update(c, realm, (gssize)realm_len);
	g_checksum_update(c, (const guchar *)":", 1);
	g_checksum_update(c, (const guchar *)password, (gssize)strlen(password));
	g_checksum_get_digest(c, key, &n);
	g_checksum_free(c);
}

int ipop_stun_looks_like(const uint8_t *p, size_t len)
{
	return len >= STUN_HDR && (p[0] & 0xc0) == 0 && rd32(p + 4) == STUN_COOKIE;
}

static int data_bad(struct ipop_stun_data *d, const char *why)
{
	d->err = why;
	return -EBADMSG;
}

/* XOR-PEER-ADDRESS (RFC 8489 14.2, the XOR-MAPPED-ADDRESS layout): a
 * reserved byte, the family, the port and the address XORed with the magic
 * cookie (and the transaction ID after it, for IPv6). */
static int peer_address(const uint8_t *p, const uint8_t *v, uint16_t vlen,
			struct ipop_stun_data *d)
{
	static const uint8_t cookie[4] = { 0x21, 0x12, 0xa4, 0x42 };
	size_t alen;

	if (vlen < 4)
		return data_bad(d, "XOR-PEER-ADDRESS shorter than 8 bytes");
	if (v[1] == 0x01) {
		d->family = AF_INET;
		alen = 4;
	} else if (v[1] == 0x02) {
		d->family = AF_INET6;
		alen = 16;
	} else {
		return data_bad(d, "XOR-PEER-ADDRESS of an unknown address family");
	}
	if (vlen != 4 + alen)
		return data_bad(d, "XOR-PEER-ADDRESS of the wrong length for its family");
	d->port = (uint16_t)(rd16(v + 2) ^ (STUN_COOKIE >> 16));
	if (d->port == 0)
		return data_bad(d, "XOR-PEER-ADDRESS with port 0");
	for (size_t i = 0; i < alen; i++)
		d->addr[i] = v[4 + i] ^ (i < 4 ? cookie[i] : p[8 + i - 4]);
	return 0;
}

int ipop_stun_data_parse(const uint8_t *p, size_t len, struct ipop_stun_data *d)
{
	struct ipop_stun_msg m;
	bool have_peer = false;

	memset(d, 0, sizeof(*d));
	if (ipop_stun_msg_parse(p, len, &m) != 0)
		return data_bad(d, "not well-formed STUN (lengths, attributes)");
	if (m.method != IPOP_STUN_DATA || m.cls != IPOP_STUN_CLS_INDICATION)
		return -ENOMSG;
	/* The message parsed: every attribute fits, with its padding. */
	for (size_t off = STUN_HDR; off < len;) {
		uint16_t t = rd16(p + off), vlen = rd16(p + off + 2);
		const uint8_t *v = p + off + 4;
		if (t == ATTR_XOR_PEER_ADDRESS && !have_peer) {
			if (peer_address(p, v, vlen, d) != 0)
				return -EBADMSG;
			have_peer = true;
		} else if (t == ATTR_DATA && d->data == NULL) {
			d->data = v;
			d->data_len = vlen;
		}
		off += 4 + (((size_t)vlen + 3) & ~(size_t)3);
	}
	if (!have_peer)
		return data_bad(d, "no XOR-PEER-ADDRESS");
	if (d->data == NULL)
		return data_bad(d, "no DATA");
	return 0;
}

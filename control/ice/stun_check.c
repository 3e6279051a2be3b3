/* stun_check.c - see stun_check.h. Thread: either. */
#include "control/ice/stun_check.h"

#include <errno.h>
#include <string.h>

#include <glib.h>
#include <sodium.h>

#define STUN_HDR 20
#define STUN_COOKIE 0x2112A442u
#define FP_XOR 0x5354554eu
#define ATTR_USERNAME 0x0006
#define ATTR_MESSAGE_INTEGRITY 0x0008
#define ATTR_REALM 0x0014
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

int ipop_stun_check_integrity(const uint8_t *p, const struct ipop_stun_msg *m,
			      const uint8_t *key, size_t key_len)
{
	uint8_t mac[IPOP_STUN_MI_LEN], adj[2];
	gsize mac_len = sizeof(mac);

	if (m->mi_off == 0)
		return -ENOENT;
	/* The header's length as if MESSAGE-INTEGRITY were the last attribute. */
	size_t covered = m->mi_off + 4 + IPOP_STUN_MI_LEN - STUN_HDR;
	adj[0] = (uint8_t)(covered >> 8);
	adj[1] = (uint8_t)covered;
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA1, key, key_len);
	g_hmac_update(h, p, 2);
	g_hmac_update(h, adj, 2);
	g_hmac_update(h, p + 4, m->mi_off - 4);
	g_hmac_get_digest(h, mac, &mac_len);
	g_hmac_unref(h);
	int same = mac_len == sizeof(mac) &&
		   sodium_memcmp(mac, p + m->mi_off + 4, IPOP_STUN_MI_LEN) == 0;
	sodium_memzero(mac, sizeof(mac));
	return same ? 0 : -EACCES;
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

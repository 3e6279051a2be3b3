/* test_wire.c - wire format layouts and classification. */
#include "tests/unit/check.h"
#include "tests/unit/refsum.h"
#include "dataplane/encap.h"
#include "dataplane/wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>

static void test_layout(void)
{
	CHECK(offsetof(struct ipop_hs_init, sender_index) == 4);
	CHECK(offsetof(struct ipop_hs_init, ephemeral) == 8);
	CHECK(offsetof(struct ipop_hs_init, enc_static) == 40);
	CHECK(offsetof(struct ipop_hs_init, enc_payload) == 88);
	CHECK(offsetof(struct ipop_hs_init, mac1) == 120);
	CHECK(offsetof(struct ipop_hs_resp, receiver_index) == 8);
	CHECK(offsetof(struct ipop_hs_resp, ephemeral) == 12);
	CHECK(offsetof(struct ipop_hs_resp, enc_payload) == 44);
	CHECK(offsetof(struct ipop_hs_resp, mac1) == 76);
	CHECK(offsetof(struct ipop_data_hdr, counter) == 8);
}

static void test_classify(void)
{
	uint8_t b[2048];

	memset(b, 0, sizeof(b));
	CHECK(ipop_wire_classify(b, 3) == -EMSGSIZE);
	b[0] = IPOP_MSG_DATA;
	CHECK(ipop_wire_classify(b, 64) == -EPROTO);           /* version 0 */
	b[1] = IPOP_WIRE_VERSION;
	CHECK(ipop_wire_classify(b, 64) == IPOP_MSG_DATA);
	CHECK(ipop_wire_classify(b, IPOP_DATA_OVERHEAD) == IPOP_MSG_DATA); /* keepalive */
	CHECK(ipop_wire_classify(b, IPOP_DATA_OVERHEAD - 1) == -EMSGSIZE);
	CHECK(ipop_wire_classify(b, IPOP_DATA_OVERHEAD + IPOP_MAX_INNER_FRAME) == IPOP_MSG_DATA);
	CHECK(ipop_wire_classify(b, IPOP_DATA_OVERHEAD + IPOP_MAX_INNER_FRAME + 1) == -EMSGSIZE);
	b[2] = 1;
	CHECK(ipop_wire_classify(b, 64) == -EBADMSG);          /* reserved set */
	b[2] = 0;
	b[0] = IPOP_MSG_HANDSHAKE_INIT;
	CHECK(ipop_wire_classify(b, 152) == IPOP_MSG_HANDSHAKE_INIT);
	CHECK(ipop_wire_classify(b, 136) == -EMSGSIZE);   /* before mac2 */
	CHECK(ipop_wire_classify(b, 151) == -EMSGSIZE);
	CHECK(ipop_wire_classify(b, 153) == -EMSGSIZE);
	b[0] = IPOP_MSG_HANDSHAKE_RESP;
	CHECK(ipop_wire_classify(b, 108) == IPOP_MSG_HANDSHAKE_RESP);
	CHECK(ipop_wire_classify(b, 92) == -EMSGSIZE);
	CHECK(ipop_wire_classify(b, 152) == -EMSGSIZE);
	b[0] = IPOP_MSG_COOKIE_REPLY;
	CHECK(ipop_wire_classify(b, 64) == IPOP_MSG_COOKIE_REPLY);
	CHECK(ipop_wire_classify(b, 63) == -EMSGSIZE);
	CHECK(ipop_wire_classify(b, 65) == -EMSGSIZE);
	CHECK(sizeof(struct ipop_cookie_reply) == 64);
	CHECK(offsetof(struct ipop_hs_init, mac2) == 136);
	CHECK(offsetof(struct ipop_hs_resp, mac2) == 92);
	CHECK(offsetof(struct ipop_cookie_reply, nonce) == 8);
	CHECK(offsetof(struct ipop_cookie_reply, enc_cookie) == 32);
	for (int t = 0; t < 256; t++) {
		b[0] = (uint8_t)t;
		int r = ipop_wire_classify(b, 108);
		if (t == IPOP_MSG_HANDSHAKE_RESP)
			CHECK(r == t);
		else if (t == IPOP_MSG_DATA || t == IPOP_MSG_FLOOD || t == IPOP_MSG_TRANSIT)
			CHECK(r == t);   /* 108 bytes: a frame of 40 behind a fabric header */
		else
			CHECK(r < 0);
	}
	/* A flood copy: data header, fabric header, at least a 14-byte frame and
	 * at most 1518, tag; never a keepalive. */
	b[0] = IPOP_MSG_FLOOD;
	const size_t fmin = IPOP_DATA_OVERHEAD + IPOP_FABRIC_HDR_LEN + IPOP_MIN_INNER_FRAME;
	const size_t fmax = IPOP_DATA_OVERHEAD + IPOP_FABRIC_HDR_LEN + IPOP_MAX_INNER_FRAME;
	CHECK(ipop_wire_classify(b, fmin) == IPOP_MSG_FLOOD);
	CHECK(ipop_wire_classify(b, fmin - 1) == -EMSGSIZE);
	CHECK(ipop_wire_classify(b, IPOP_DATA_OVERHEAD) == -EMSGSIZE);
	CHECK(ipop_wire_classify(b, fmax) == IPOP_MSG_FLOOD);
	CHECK(ipop_wire_classify(b, fmax + 1) == -EMSGSIZE);
	/* A transit frame: the same bounds. */
	b[0] = IPOP_MSG_TRANSIT;
	CHECK(ipop_wire_classify(b, fmin) == IPOP_MSG_TRANSIT);
	CHECK(ipop_wire_classify(b, fmin - 1) == -EMSGSIZE);
	CHECK(ipop_wire_classify(b, fmax) == IPOP_MSG_TRANSIT);
	CHECK(ipop_wire_classify(b, fmax + 1) == -EMSGSIZE);
	CHECK(ipop_wire_frame_bytes(IPOP_MSG_TRANSIT, fmin - IPOP_DATA_OVERHEAD) ==
	      IPOP_MIN_INNER_FRAME);
	/* The fabric header's layout. */
	CHECK(offsetof(struct ipop_fabric_hdr, bound) == 16);
	CHECK(offsetof(struct ipop_fabric_hdr, hops) == 32);
	CHECK(sizeof(struct ipop_fabric_hdr) == 36);
	struct ipop_data_hdr h;
	ipop_wire_data_hdr_type(&h, IPOP_MSG_FLOOD, 7, 1);
	CHECK(((const uint8_t *)&h)[0] == 4);
}

static void test_data_hdr(void)
{
	struct ipop_data_hdr h;
	uint8_t nonce[12];
	const uint8_t *p = (const uint8_t *)&h;

	ipop_wire_data_hdr(&h, 0x11223344u, 0x0102030405060708ull);
	CHECK(p[0] == 3 && p[1] == 1 && p[2] == 0 && p[3] == 0);
	CHECK(memcmp(p + 4, "\x44\x33\x22\x11", 4) == 0);  /* stored as given */
	CHECK(memcmp(p + 8, "\x01\x02\x03\x04\x05\x06\x07\x08", 8) == 0);
	ipop_wire_nonce(nonce, 0x0102030405060708ull);
	CHECK(memcmp(nonce, "\0\0\0\0\x01\x02\x03\x04\x05\x06\x07\x08", 12) == 0);
	CHECK(ipop_cipher_parse("aes-256-gcm") == IPOP_CIPHER_AES256GCM);
	CHECK(ipop_cipher_parse("chacha20-poly1305") == IPOP_CIPHER_CHACHA20POLY1305);
	CHECK(ipop_cipher_parse("aes") == -EINVAL);
	CHECK(ipop_cipher_parse(NULL) == -EINVAL);
}

/* The inline header writer against a field-by-field reference, many values. */
static void test_data_hdr_many(void)
{
	uint64_t x = 0x9E3779B97F4A7C15ull;
	unsigned bad = 0;

	for (unsigned i = 0; i < 100000; i++) {
		uint8_t got[25], want[16];
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint32_t ri = (uint32_t)(x >> 11);
		uint64_t ctr = i < 64 ? (1ull << i) : x * 0x2545F4914F6CDD1Dull;
		want[0] = IPOP_MSG_DATA, want[1] = IPOP_WIRE_VERSION, want[2] = 0, want[3] = 0;
		memcpy(want + 4, &ri, 4);                   /* as given: wire order */
		for (int b = 0; b < 8; b++)
			want[8 + b] = (uint8_t)(ctr >> (56 - 8 * b));
		memset(got, 0xa5, sizeof(got));
		/* Unaligned on purpose: the header sits at odd offsets in mbufs. */
		ipop_wire_data_hdr((struct ipop_data_hdr *)(got + 1 + (i & 7)), ri, ctr);
		bad += memcmp(got + 1 + (i & 7), want, 16) != 0;
		bad += got[i & 7] != 0xa5 || got[17 + (i & 7)] != 0xa5;   /* nothing else */
	}
	CHECK(bad == 0);
}

static unsigned n_zero_cksum, n_ffff_cksum;

/* Template + patch must give exactly ipop_encap_write's bytes. */
static unsigned tmpl_one(const struct ipop_encap_addr *a, const uint8_t *tmpl, uint16_t sum,
			 uint16_t plen, uint16_t id)
{
	uint8_t want[IPOP_ENCAP_HDR_LEN], got[IPOP_ENCAP_HDR_LEN + 2];
	unsigned bad = 0;

	ipop_encap_write(want, a, plen, id);
	memset(got, 0x5a, sizeof(got));
	ipop_encap_from_template(got + 1, tmpl, sum, plen, id);
	bad += memcmp(got + 1, want, IPOP_ENCAP_HDR_LEN) != 0;
	bad += got[0] != 0x5a || got[IPOP_ENCAP_HDR_LEN + 1] != 0x5a;
	bad += ref_ip_sum(got + 1 + 14) != 0xffff;
	bad += ((got[1 + 16] << 8 | got[1 + 17]) != plen + 28);
	bad += ((got[1 + 18] << 8 | got[1 + 19]) != id);
	bad += ((got[1 + 38] << 8 | got[1 + 39]) != plen + 8);
	n_zero_cksum += got[1 + 24] == 0 && got[1 + 25] == 0;
	n_ffff_cksum += got[1 + 24] == 0xff && got[1 + 25] == 0xff;
	return bad;
}

static void test_encap_template(void)
{
	static const struct ipop_encap_addr addrs[] = {
		{ { { 0x02, 0xaa, 0, 0, 0, 0x01 } }, { { 0x02, 0xbb, 0, 0, 0, 0x02 } },
		  0x0100000a, 0x0200000a, 0x6c16, 0x6d16 },           /* 10.0.0.1 -> .2 */
		{ { { 0, 0, 0, 0, 0, 0 } }, { { 0, 0, 0, 0, 0, 0 } }, 0, 0, 0, 0 },
		{ { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } }, { { 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54 } },
		  0xffffffff, 0xffffffff, 0xffff, 0xffff },
		{ { { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } }, { { 0x52, 0x54, 0, 0xab, 0xcd, 0xef } },
		  0x0733a8c0, 0x6433a8c6, 0xa816, 0x0100 },
	};
	static const uint16_t some_ids[] = { 0, 1, 0x00ff, 0x7fff, 0x8000, 0xbeef, 0xfffe, 0xffff };
	static const uint16_t some_lens[] = { 0, 1, 32, 92, 136, 1452, 1472, 1473, 1550, 9000,
					      65535 - 28 };
	uint64_t x = 88172645463325252ull;
	unsigned bad = 0, n = 0;

	for (unsigned k = 0; k < sizeof(addrs) / sizeof(addrs[0]); k++) {
		const struct ipop_encap_addr *a = &addrs[k];
		uint8_t tmpl[IPOP_ENCAP_HDR_LEN], full[IPOP_ENCAP_HDR_LEN];
		uint16_t sum = ipop_encap_template(tmpl, a);

		CHECK(sum != 0);
		/* The template is ipop_encap_write's header with the four variable
		 * fields zero. */
		ipop_encap_write(full, a, 0, 0);
		memset(full + 16, 0, 4);
		memset(full + 24, 0, 2);
		memset(full + 38, 0, 2);
		CHECK(memcmp(tmpl, full, IPOP_ENCAP_HDR_LEN) == 0);
		/* Every length with a few ids, every id with a few lengths. */
		for (uint32_t len = 0; len <= 65535 - 28; len++)
			for (unsigned j = 0; j < sizeof(some_ids) / sizeof(some_ids[0]); j++, n++)
				bad += tmpl_one(a, tmpl, sum, (uint16_t)len, some_ids[j]);
		for (uint32_t id = 0; id <= 0xffff; id++)
			for (unsigned j = 0; j < sizeof(some_lens) / sizeof(some_lens[0]); j++, n++)
				bad += tmpl_one(a, tmpl, sum, some_lens[j], (uint16_t)id);
		for (unsigned r = 0; r < 200000; r++, n++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			bad += tmpl_one(a, tmpl, sum, (uint16_t)((x >> 16) % (65535 - 28 + 1)),
					(uint16_t)x);
		}
	}
	printf("wire: outer header template: %u headers identical to ipop_encap_write "
	       "(%u with checksum 0x0000, %u with 0xffff), %u differ\n", n - bad,
	       n_zero_cksum, n_ffff_cksum, bad);
	CHECK(bad == 0);
	CHECK(n_zero_cksum > 0);          /* the ones'-complement edge case was hit */
}

int main(void)
{
	test_layout();
	test_classify();
	test_data_hdr();
	test_data_hdr_many();
	test_encap_template();
	return check_report("wire");
}

/* test_wire.c - wire format layouts and classification. */
#include "tests/unit/check.h"
#include "dataplane/wire.h"

#include <errno.h>
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
	CHECK(ipop_wire_classify(b, 136) == IPOP_MSG_HANDSHAKE_INIT);
	CHECK(ipop_wire_classify(b, 135) == -EMSGSIZE);
	CHECK(ipop_wire_classify(b, 137) == -EMSGSIZE);
	b[0] = IPOP_MSG_HANDSHAKE_RESP;
	CHECK(ipop_wire_classify(b, 92) == IPOP_MSG_HANDSHAKE_RESP);
	CHECK(ipop_wire_classify(b, 136) == -EMSGSIZE);
	for (int t = 0; t < 256; t++) {
		b[0] = (uint8_t)t;
		int r = ipop_wire_classify(b, 92);
		if (t == IPOP_MSG_HANDSHAKE_RESP)
			CHECK(r == t);
		else if (t == IPOP_MSG_DATA)
			CHECK(r == t);
		else
			CHECK(r < 0);
	}
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

int main(void)
{
	test_layout();
	test_classify();
	test_data_hdr();
	return check_report("wire");
}

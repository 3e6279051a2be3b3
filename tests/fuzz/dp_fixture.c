/* dp_fixture.c - see dp_fixture.h. Thread: one (the fuzzer's). */
#include "tests/fuzz/dp_fixture.h"

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "dataplane/encap.h"

const struct dp_fixture_sess dp_fixture_sess[DP_FIXTURE_N_SESS] = {
	{ 0xC3C3C7FFu, 0, IPOP_CIPHER_AES256GCM, 0,
	  { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 } },
	{ 0x0000F001u, 1, IPOP_CIPHER_CHACHA20POLY1305, 0,
	  { 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b,
	    0x3c, 0x2d, 0x1e, 0x0f, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 } },
	{ 0x12345002u, 2, IPOP_CIPHER_AES256GCM, 1,
	  { 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
	    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
	    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55 } },
};

const uint8_t dp_fixture_a_mac[6] = { 0x02, 0xaa, 0, 0, 0, 0x01 };
const uint8_t dp_fixture_b_mac[6] = { 0x02, 0xbb, 0, 0, 0, 0x02 };
const uint8_t dp_fixture_lan_mac[6] = { 0x52, 0x54, 0, 0, 0xb0, 0x01 };
const uint8_t dp_fixture_far_mac[6] = { 0x52, 0x54, 0, 0, 0xc0, 0x01 };

/* Expanded keys, made on first use with the caller's manager. */
static struct ipop_aead_keybuf keys[DP_FIXTURE_N_SESS];

int dp_fixture_seal(struct ipop_aead_mgr *mgr, unsigned s, uint64_t ctr,
		    const uint8_t *frame, uint32_t len, uint8_t *out)
{
	return dp_fixture_seal_type(mgr, s, IPOP_MSG_DATA, ctr, frame, len, out);
}

int dp_fixture_seal_type(struct ipop_aead_mgr *mgr, unsigned s, uint8_t type, uint64_t ctr,
			 const uint8_t *frame, uint32_t len, uint8_t *out)
{
	struct ipop_encap_addr a;
	uint8_t *d = out + IPOP_OUTER_HDR_LEN;
	int rc;

	if (s >= DP_FIXTURE_N_SESS ||
	    len > IPOP_MAX_INNER_FRAME + (type == IPOP_MSG_DATA ? 0 : IPOP_FABRIC_HDR_LEN))
		return -EINVAL;
	if (keys[s].key.cipher == 0 &&
	    (rc = ipop_aead_keybuf_init(mgr, &keys[s], dp_fixture_sess[s].cipher,
					dp_fixture_sess[s].key)) != 0)
		return rc;
	memcpy(a.src_mac.addr_bytes, dp_fixture_a_mac, 6);
	memcpy(a.dst_mac.addr_bytes, dp_fixture_b_mac, 6);
	a.src_ip = htonl(DP_FIXTURE_A_IP);
	a.dst_ip = htonl(DP_FIXTURE_B_IP);
	a.src_port = htons(DP_FIXTURE_A_PORT);
	a.dst_port = htons(DP_FIXTURE_B_PORT);
	ipop_encap_write(out, &a, (uint16_t)(IPOP_DATA_OVERHEAD + len), 1);
	ipop_wire_data_hdr_type((struct ipop_data_hdr *)d, type, htonl(dp_fixture_sess[s].b_index),
				ctr);
	memmove(d + IPOP_DATA_HDR_LEN, frame, len);
	rc = ipop_aead_seal(mgr, &keys[s].key, ctr, d, d + IPOP_DATA_HDR_LEN, len,
			    d + IPOP_DATA_HDR_LEN + len);
	return rc != 0 ? rc : (int)(DP_FIXTURE_OVERHEAD + len);
}

/* dp_fixture.h - the receiving gateway B of the WAN-rx fuzz target: its
 * addresses, its sessions with A (fixed keys and indices), and a sealer that
 * builds valid tunnel packets from A to B. Shared by the target (its "sealed"
 * input mode) and the seed generator, so that seeds authenticate.
 *
 * Thread: one (the fuzzer's). Sealing needs no EAL. Test code only.
 */
#ifndef IPOP_TESTS_FUZZ_DP_FIXTURE_H
#define IPOP_TESTS_FUZZ_DP_FIXTURE_H

#include <stdint.h>

#include "dataplane/aead.h"
#include "dataplane/wire.h"

#define DP_FIXTURE_A_IP    0x0a000001u   /* host order */
#define DP_FIXTURE_B_IP    0x0a000002u
#define DP_FIXTURE_A_PORT  51820
#define DP_FIXTURE_B_PORT  51821
#define DP_FIXTURE_N_SESS  3
/* Bytes a sealed packet adds around an inner frame: outer headers, data
 * header, tag. */
#define DP_FIXTURE_OVERHEAD (IPOP_OUTER_HDR_LEN + IPOP_DATA_OVERHEAD)

/* One session of B with A. b_index is B's receiver index (host order); slot
 * is A's peer slot in B's table; an expired session is past reject-after. */
struct dp_fixture_sess {
	uint32_t b_index;
	uint16_t slot;
	int cipher;
	uint8_t expired;
	uint8_t key[IPOP_KEY_LEN];
};

extern const struct dp_fixture_sess dp_fixture_sess[DP_FIXTURE_N_SESS];
extern const uint8_t dp_fixture_a_mac[6], dp_fixture_b_mac[6];
/* A MAC on B's LAN, and one B knows behind peer slot 1. */
extern const uint8_t dp_fixture_lan_mac[6], dp_fixture_far_mac[6];

/* Ring node IDs (ipop_node_id_make(hi, 0)): A's peer slot s is seen as
 * DP_FIXTURE_PEER_ID_HI + s, B itself is DP_FIXTURE_SELF_ID_HI. B's gateway
 * directory holds the three peers (slots 0-2) and two gateways it has no
 * tunnel to: ROUTED (slot 3), which B's routes reach through peer slot
 * DP_FIXTURE_ROUTE_SLOT, and UNROUTED (slot 4), with no route. */
#define DP_FIXTURE_PEER_ID_HI     0x1000u
#define DP_FIXTURE_SELF_ID_HI     0x2000u
#define DP_FIXTURE_ROUTED_ID_HI   0x3000u
#define DP_FIXTURE_UNROUTED_ID_HI 0x3001u
#define DP_FIXTURE_ROUTE_SLOT     1

/* Write to out a whole tunnel packet (Ethernet to tag) from A to B holding
 * frame[0..len), sealed with session s and counter ctr. out must hold
 * DP_FIXTURE_OVERHEAD + len bytes. Returns the packet length or a negative
 * errno (-EINVAL: bad session or length). */
int dp_fixture_seal(struct ipop_aead_mgr *mgr, unsigned s, uint64_t ctr,
		    const uint8_t *frame, uint32_t len, uint8_t *out);
/* The same for a message of any sealed type (IPOP_MSG_DATA, _FLOOD,
 * _TRANSIT): p[0..len) is its plaintext, for flood and transit the fabric
 * header and the frame, len at most IPOP_FABRIC_HDR_LEN + IPOP_MAX_INNER_FRAME. */
int dp_fixture_seal_type(struct ipop_aead_mgr *mgr, unsigned s, uint8_t type, uint64_t ctr,
			 const uint8_t *p, uint32_t len, uint8_t *out);

#endif

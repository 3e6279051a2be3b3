/* wire.h - the ipop wire format: message types, byte layouts and their codecs.
 *
 * Thread: either (pure functions on byte buffers). docs/wire-format.md is the
 * normative description; this header must match it byte for byte.
 *
 * Every ipop message travels as the payload of one UDP/IPv4 datagram. All
 * multi-byte integers are big-endian (network order). The first four bytes are
 * common to every message: type, version, and two reserved bytes that must be 0.
 */
#ifndef IPOP_DATAPLANE_WIRE_H
#define IPOP_DATAPLANE_WIRE_H

#include <errno.h>
#include <stdint.h>
#include <stddef.h>

#define IPOP_WIRE_VERSION 1

enum ipop_msg_type {
	IPOP_MSG_HANDSHAKE_INIT = 1,  /* Noise IK message 1 */
	IPOP_MSG_HANDSHAKE_RESP = 2,  /* Noise IK message 2 */
	IPOP_MSG_DATA           = 3,  /* AEAD-protected Ethernet frame (or keepalive) */
	IPOP_MSG_FLOOD          = 4,  /* Bounded Flood copy: fabric header + frame, sealed */
	IPOP_MSG_TRANSIT        = 5,  /* unicast through gateways: fabric header + frame, sealed */
	IPOP_MSG_COOKIE_REPLY   = 6,  /* a responder under load: "prove your address" */
};

/* Sizes of the fixed parts. */
#define IPOP_KEY_LEN        32   /* X25519 keys and session keys */
#define IPOP_TAG_LEN        16   /* AEAD tag (GCM and Poly1305) */
#define IPOP_MAC1_LEN       16   /* keyed BLAKE2b-128 over the preceding bytes */
#define IPOP_MAC2_LEN       16   /* keyed with a cookie, over the bytes before it */
#define IPOP_COOKIE_LEN     16   /* what a cookie reply carries (encrypted) */
#define IPOP_COOKIE_NONCE_LEN 24 /* XChaCha20-Poly1305 nonce */
#define IPOP_HS_PAYLOAD_LEN 16   /* plaintext handshake payload, see below */
#define IPOP_TIMESTAMP_LEN  12   /* TAI64N */

/* Handshake payload (plaintext, encrypted inside the Noise message):
 *   0  12  TAI64N timestamp of the sender (initiation: anti-replay; response: 0s)
 *  12   1  rx cipher: the AEAD the sender wants its peer to encrypt with
 *  13   3  reserved, 0
 */
struct ipop_hs_payload {
	uint8_t timestamp[IPOP_TIMESTAMP_LEN];
	uint8_t rx_cipher;
	uint8_t reserved[3];
} __attribute__((packed));

/* Handshake initiation, 152 bytes:
 *   0   1  type = 1
 *   1   1  version = 1
 *   2   2  reserved, 0
 *   4   4  sender_index   (initiator's local index for the new session)
 *   8  32  ephemeral      (initiator's ephemeral X25519 public key, e)
 *  40  48  enc_static     (initiator's static public key, AEAD: 32 + 16)
 *  88  32  enc_payload    (struct ipop_hs_payload, AEAD: 16 + 16)
 * 120  16  mac1           (BLAKE2b-128 keyed with HASH("mac1----" || S_resp_pub))
 * 136  16  mac2           (BLAKE2b-128 keyed with the responder's cookie, over
 *                          bytes 0..135; zeros when the sender holds no fresh one)
 */
struct ipop_hs_init {
	uint8_t type;
	uint8_t version;
	uint16_t reserved;
	uint32_t sender_index;
	uint8_t ephemeral[IPOP_KEY_LEN];
	uint8_t enc_static[IPOP_KEY_LEN + IPOP_TAG_LEN];
	uint8_t enc_payload[IPOP_HS_PAYLOAD_LEN + IPOP_TAG_LEN];
	uint8_t mac1[IPOP_MAC1_LEN];
	uint8_t mac2[IPOP_MAC2_LEN];
} __attribute__((packed));

/* Handshake response, 108 bytes:
 *   0   1  type = 2
 *   1   1  version = 1
 *   2   2  reserved, 0
 *   4   4  sender_index   (responder's local index)
 *   8   4  receiver_index (the initiator's sender_index)
 *  12  32  ephemeral      (responder's ephemeral public key)
 *  44  32  enc_payload    (struct ipop_hs_payload, AEAD: 16 + 16)
 *  76  16  mac1           (keyed with HASH("mac1----" || S_init_pub))
 *  92  16  mac2           (keyed with the initiator's cookie, over bytes 0..91;
 *                          zeros when the sender holds no fresh one)
 */
struct ipop_hs_resp {
	uint8_t type;
	uint8_t version;
	uint16_t reserved;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t ephemeral[IPOP_KEY_LEN];
	uint8_t enc_payload[IPOP_HS_PAYLOAD_LEN + IPOP_TAG_LEN];
	uint8_t mac1[IPOP_MAC1_LEN];
	uint8_t mac2[IPOP_MAC2_LEN];
} __attribute__((packed));

/* Cookie reply, 64 bytes: a responder under load answers an initiation whose
 * mac2 does not verify with this instead of doing any X25519
 * (control/session/cookie.h, docs/handshake.md "Cookie replies"):
 *   0   1  type = 6
 *   1   1  version = 1
 *   2   2  reserved, 0
 *   4   4  receiver_index (the initiation's sender_index)
 *   8  24  nonce          (random; XChaCha20-Poly1305)
 *  32  32  enc_cookie     (the 16-byte cookie, AEAD: 16 + 16; key
 *                          BLAKE2b-256("cookie--" || S_resp_pub), associated
 *                          data the initiation's mac1)
 */
struct ipop_cookie_reply {
	uint8_t type;
	uint8_t version;
	uint16_t reserved;
	uint32_t receiver_index;
	uint8_t nonce[IPOP_COOKIE_NONCE_LEN];
	uint8_t enc_cookie[IPOP_COOKIE_LEN + IPOP_TAG_LEN];
} __attribute__((packed));

/* Data header, 16 bytes, followed by the ciphertext of one Ethernet frame
 * (0 bytes for a keepalive) and a 16-byte tag:
 *   0   1  type = 3
 *   1   1  version = 1
 *   2   2  reserved, 0
 *   4   4  receiver_index (the receiver's local index of the session)
 *   8   8  counter        (per-session, per-direction; also the nonce)
 * The 16 header bytes are the AEAD's associated data. The 96-bit nonce is
 * 4 zero bytes followed by the 8 counter bytes, as on the wire.
 */
struct ipop_data_hdr {
	uint8_t type;
	uint8_t version;
	uint16_t reserved;
	uint32_t receiver_index;
	uint64_t counter;
} __attribute__((packed));

#define IPOP_DATA_HDR_LEN   16
#define IPOP_DATA_OVERHEAD  (IPOP_DATA_HDR_LEN + IPOP_TAG_LEN)       /* 32 */
#define IPOP_OUTER_HDR_LEN  (14 + 20 + 8)                            /* Eth+IPv4+UDP */
/* Bytes added around an inner Ethernet frame on the underlay IP MTU budget. */
#define IPOP_IP_OVERHEAD    (20 + 8 + IPOP_DATA_OVERHEAD)            /* 60 */
#define IPOP_MAX_INNER_FRAME 1518   /* Ethernet + one VLAN tag, no FCS */
#define IPOP_MIN_INNER_FRAME 14

/* Fabric header, 36 bytes: the first plaintext bytes of a flood message
 * (type 4) or a transit message (type 5), sealed with the frame that follows,
 * so only the data header (type, version, receiver index, counter) is clear:
 *   0  16  origin    node ID of the gateway whose LAN or host sent the frame
 *  16  16  bound     flood: the copy covers the ring arc from its receiver up
 *                    to, not including, this node ID (dataplane/flood.h);
 *                    transit: the destination gateway's node ID
 *  32   1  hops      gateways the frame left before this one (0: the origin's copy)
 *  33   3  reserved, 0
 * Node IDs are big-endian (dataplane/ring.h).
 */
struct ipop_fabric_hdr {
	uint8_t origin[16];
	uint8_t bound[16];
	uint8_t hops;
	uint8_t reserved[3];
} __attribute__((packed));

#define IPOP_FABRIC_HDR_LEN  36
/* A copy is relayed at most this often. A Bounded Flood copy's arc holds
 * fewer gateways at every hop, so a copy dies after n - 1 hops anyway; the
 * limit also ends one caught between tables that disagree. Far above any real
 * overlay's depth (Symphony paths: 7.5 hops on average at 65,536 gateways). */
#define IPOP_FABRIC_MAX_HOPS 64

/* Cipher identifiers carried in ipop_hs_payload.rx_cipher. */
enum ipop_cipher {
	IPOP_CIPHER_AES256GCM = 1,
	IPOP_CIPHER_CHACHA20POLY1305 = 2,
};

_Static_assert(sizeof(struct ipop_hs_init) == 152, "hs init layout");
_Static_assert(sizeof(struct ipop_hs_resp) == 108, "hs resp layout");
_Static_assert(sizeof(struct ipop_cookie_reply) == 64, "cookie reply layout");
_Static_assert(sizeof(struct ipop_data_hdr) == IPOP_DATA_HDR_LEN, "data layout");
_Static_assert(sizeof(struct ipop_fabric_hdr) == IPOP_FABRIC_HDR_LEN, "fabric header layout");

/* Classify a UDP payload. Returns the message type if the common header is
 * well formed and the length is right for that type (exact for handshakes,
 * >= header + tag for data), else a negative errno:
 *   -EPROTO  unknown version, -EBADMSG unknown type or nonzero reserved,
 *   -EMSGSIZE wrong length for the type. */
/* STUN (RFC 8489) on the tunnel's 5-tuple: ICE's connectivity checks and
 * consent freshness share the port with the data. A STUN message has the top
 * two bits of its first byte clear, the magic cookie 0x2112A442 at bytes 4-7 and
 * at least its 20-byte header. ipop messages carry an index at bytes 4-7, and
 * ipop never issues one equal to the cookie (control/session/keypair.c), so the
 * test never takes an ipop message for STUN. */
#define IPOP_STUN_MAGIC 0x2112A442u
#define IPOP_STUN_HDR_LEN 20

static inline int ipop_wire_is_stun(const uint8_t *p, size_t len)
{
	return len >= IPOP_STUN_HDR_LEN && (p[0] & 0xc0) == 0 && p[4] == 0x21 && p[5] == 0x12 &&
	       p[6] == 0xa4 && p[7] == 0x42;
}

static inline int ipop_wire_classify(const uint8_t *p, size_t len)
{
	if (len < 4)
		return -EMSGSIZE;
	if (p[1] != IPOP_WIRE_VERSION)
		return -EPROTO;
	if (p[2] != 0 || p[3] != 0)
		return -EBADMSG;
	switch (p[0]) {
	case IPOP_MSG_HANDSHAKE_INIT:
		return len == sizeof(struct ipop_hs_init) ? IPOP_MSG_HANDSHAKE_INIT : -EMSGSIZE;
	case IPOP_MSG_HANDSHAKE_RESP:
		return len == sizeof(struct ipop_hs_resp) ? IPOP_MSG_HANDSHAKE_RESP : -EMSGSIZE;
	case IPOP_MSG_COOKIE_REPLY:
		return len == sizeof(struct ipop_cookie_reply) ? IPOP_MSG_COOKIE_REPLY : -EMSGSIZE;
	case IPOP_MSG_DATA:
		if (len < IPOP_DATA_OVERHEAD)
			return -EMSGSIZE;
		if (len > IPOP_DATA_OVERHEAD + IPOP_MAX_INNER_FRAME)
			return -EMSGSIZE;
		return IPOP_MSG_DATA;
	case IPOP_MSG_FLOOD:
		/* Always a frame behind the fabric header: no keepalive form. */
		if (len < IPOP_DATA_OVERHEAD + IPOP_FABRIC_HDR_LEN + IPOP_MIN_INNER_FRAME ||
		    len > IPOP_DATA_OVERHEAD + IPOP_FABRIC_HDR_LEN + IPOP_MAX_INNER_FRAME)
			return -EMSGSIZE;
		return IPOP_MSG_FLOOD;
	case IPOP_MSG_TRANSIT:
		if (len < IPOP_DATA_OVERHEAD + IPOP_FABRIC_HDR_LEN + IPOP_MIN_INNER_FRAME ||
		    len > IPOP_DATA_OVERHEAD + IPOP_FABRIC_HDR_LEN + IPOP_MAX_INNER_FRAME)
			return -EMSGSIZE;
		return IPOP_MSG_TRANSIT;
	default:
		return -EBADMSG;
	}
}

/* Fill a data header (type 3, or the type given: flood). receiver_index is
 * stored as given (already in wire order); counter is converted to big-endian. Inline: the send path calls it once per
 * packet. The header is built in registers and written with one 16-byte copy
 * (two 8-byte stores at worst), the bytes exactly as the layout above. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define IPOP_WIRE_HTOBE64(x) __builtin_bswap64(x)
#else
#define IPOP_WIRE_HTOBE64(x) (x)
#endif
static inline void ipop_wire_data_hdr_type(struct ipop_data_hdr *h, uint8_t type,
					   uint32_t receiver_index, uint64_t counter)
{
	const struct ipop_data_hdr v = {
		.type = type, .version = IPOP_WIRE_VERSION, .reserved = 0,
		.receiver_index = receiver_index, .counter = IPOP_WIRE_HTOBE64(counter),
	};

	__builtin_memcpy(h, &v, sizeof(v));
}

static inline void ipop_wire_data_hdr(struct ipop_data_hdr *h, uint32_t receiver_index,
				      uint64_t counter)
{
	ipop_wire_data_hdr_type(h, IPOP_MSG_DATA, receiver_index, counter);
}

/* The inner frame's bytes in a sealed body of this type (a flood or transit
 * body starts with its fabric header; classify made sure it is there). */
static inline uint32_t ipop_wire_frame_bytes(uint8_t type, uint32_t body_len)
{
	return body_len - (type == IPOP_MSG_FLOOD || type == IPOP_MSG_TRANSIT ?
			   IPOP_FABRIC_HDR_LEN : 0);
}

/* Build the 12-byte nonce for a counter. */
void ipop_wire_nonce(uint8_t nonce[12], uint64_t counter);

/* Name of a cipher id for logs and the API, or NULL if unknown. */
const char *ipop_cipher_name(int cipher);
/* Parse "aes-256-gcm" / "chacha20-poly1305"; returns the id or -EINVAL. */
int ipop_cipher_parse(const char *name);

#endif

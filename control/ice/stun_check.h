/* stun_check.h - STUN message authentication as RFC 8489 defines it:
 * MESSAGE-INTEGRITY (HMAC-SHA1, section 14.5) and MESSAGE-INTEGRITY-SHA256
 * (HMAC-SHA256, possibly truncated, section 14.6) with short-term credentials (ICE
 * connectivity and consent checks, RFC 8445 7.2.2 and 7.2.5: the key is the
 * password) or long-term ones (TURN, key MD5(username ":" realm ":" password)),
 * and FINGERPRINT (CRC-32 xor 0x5354554e, section 14.7); and the TURN Data
 * indication (RFC 8656 11.6) that carries a peer's message through a relay
 * before a channel is bound. Pure code over bytes
 * from the network: strict, bounded, no state. Thread: either (control uses
 * it: control/link/stun_watch.c; tests/fuzz/fuzz_stun.c fuzzes it).
 *
 * libnice checks the same messages itself and drops what fails, silently;
 * ipop checks a copy only to count and report the failures (docs/signalling.md,
 * "STUN integrity").
 */
#ifndef IPOP_CONTROL_ICE_STUN_CHECK_H
#define IPOP_CONTROL_ICE_STUN_CHECK_H

#include <stddef.h>
#include <stdint.h>

#define IPOP_STUN_MI_LEN 20        /* MESSAGE-INTEGRITY: an HMAC-SHA1 */
#define IPOP_STUN_MI256_MIN 16     /* MESSAGE-INTEGRITY-SHA256: 16..32 bytes, */
#define IPOP_STUN_MI256_MAX 32     /* a multiple of 4 (RFC 8489 14.6) */
#define IPOP_STUN_LT_KEY_LEN 16    /* long-term key: an MD5 */
#define IPOP_STUN_DATA 0x007       /* TURN method Data (indications only: type 0x0017) */

enum ipop_stun_msg_class {
	IPOP_STUN_CLS_REQUEST,
	IPOP_STUN_CLS_INDICATION,
	IPOP_STUN_CLS_SUCCESS,
	IPOP_STUN_CLS_ERROR,
};

/* What the checks need of one message; pointers into the caller's buffer. */
struct ipop_stun_msg {
	uint16_t method;               /* 0x001: Binding */
	enum ipop_stun_msg_class cls;
	size_t len;                    /* 20 + the header's length: the whole datagram */
	const uint8_t *txid;           /* 12 bytes */
	const uint8_t *username;       /* USERNAME before MESSAGE-INTEGRITY; NULL absent */
	uint16_t username_len;
	const uint8_t *realm;          /* REALM before MESSAGE-INTEGRITY; NULL absent */
	uint16_t realm_len;
	size_t mi_off;                 /* MESSAGE-INTEGRITY's attribute header; 0 absent */
	size_t mi256_off;              /* MESSAGE-INTEGRITY-SHA256's; 0 absent */
	uint16_t mi256_len;            /* its value's length: 16..32, a multiple of 4 */
	size_t fp_off;                 /* FINGERPRINT's attribute header; 0 absent */
};

/* Parse the STUN message that is the whole of p (len bytes, a UDP payload):
 * first two bits zero, the magic cookie, a length that is a multiple of 4
 * and equals len - 20, attributes that fit with their padding, a
 * MESSAGE-INTEGRITY of 20 bytes, a MESSAGE-INTEGRITY-SHA256 of 16 to 32 in
 * steps of 4 (after MESSAGE-INTEGRITY if both), a FINGERPRINT of 4 that comes
 * last. Other attributes after an integrity attribute are skipped (RFC 8489
 * 14.5, 14.6: they are not covered). 0, or -EBADMSG. */
int ipop_stun_msg_parse(const uint8_t *p, size_t len, struct ipop_stun_msg *m);

/* Has m an integrity attribute (either kind)? */
static inline int ipop_stun_has_integrity(const struct ipop_stun_msg *m)
{
	return m->mi_off != 0 || m->mi256_off != 0;
}

/* The integrity of m (parsed from p) under key: MESSAGE-INTEGRITY and
 * MESSAGE-INTEGRITY-SHA256, each one m carries (both must match when it
 * carries both). 0 they match (compared in constant time), -EACCES one does
 * not, -ENOENT m has neither. */
int ipop_stun_check_integrity(const uint8_t *p, const struct ipop_stun_msg *m,
			      const uint8_t *key, size_t key_len);

/* Does p (len bytes) look like STUN: 20 bytes or more, the first two bits
 * zero, the magic cookie? (What a Data indication's DATA holds: a message
 * that does not parse then is malformed STUN, not something else.) */
int ipop_stun_looks_like(const uint8_t *p, size_t len);

/* A TURN Data indication (RFC 8656 11.6, 14.3, 14.4), parsed by
 * ipop_stun_data_parse; pointers into the caller's buffer. */
struct ipop_stun_data {
	int family;                    /* AF_INET or AF_INET6: XOR-PEER-ADDRESS's */
	uint8_t addr[16];              /* the peer's address (4 or 16 bytes), un-XORed */
	uint16_t port;                 /* the peer's port, host order, not 0 */
	const uint8_t *data;           /* DATA's value: what the peer sent */
	uint16_t data_len;
	const char *err;               /* on -EBADMSG: what is wrong, for the log */
};

/* The Data indication that is the whole of p (len bytes): a well-formed STUN
 * message (ipop_stun_msg_parse) of method Data, class indication, with one
 * XOR-PEER-ADDRESS (IPv4: 8 bytes, IPv6: 20; a port other than 0) and one
 * DATA, each the first of its type. 0; -ENOMSG it is well-formed STUN but
 * not a Data indication; -EBADMSG otherwise (d->err says why). */
int ipop_stun_data_parse(const uint8_t *p, size_t len, struct ipop_stun_data *d);

/* FINGERPRINT of m: 0 it matches, -EILSEQ it does not, -ENOENT m has none. */
int ipop_stun_check_fingerprint(const uint8_t *p, const struct ipop_stun_msg *m);

/* The long-term key MD5(user ":" realm ":" password) into key. The password is
 * used as given (ipop's come from its configuration; no SASLprep). */
void ipop_stun_long_term_key(const uint8_t *user, size_t user_len, const uint8_t *realm,
			     size_t realm_len, const char *password,
			     uint8_t key[IPOP_STUN_LT_KEY_LEN]);

/* CRC-32 (ISO 3309 / ITU-T V.42, the one FINGERPRINT uses) of len bytes. */
uint32_t ipop_stun_crc32(const uint8_t *p, size_t len);

const char *ipop_stun_class_name(enum ipop_stun_msg_class cls);

#endif

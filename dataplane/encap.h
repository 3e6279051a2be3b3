/* encap.h - outer Ethernet/IPv4/UDP headers of the underlay.
 * Thread: either; pure. Used by the fast path and by the control thread when it
 * sends handshakes, keepalives and ARP through the WAN port.
 *
 * Outer IPv4: no options, DF clear (ipop fragments oversized datagrams itself,
 * see docs/wire-format.md), TTL 64, header checksum computed. UDP checksum 0: the
 * payload is covered by the AEAD tag and IPv4 allows a zero UDP checksum.
 */
#ifndef IPOP_DATAPLANE_ENCAP_H
#define IPOP_DATAPLANE_ENCAP_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#define IPOP_ENCAP_HDR_LEN 42   /* = IPOP_OUTER_HDR_LEN (wire.h) */

struct ipop_encap_addr {
	struct rte_ether_addr src_mac, dst_mac;
	uint32_t src_ip, dst_ip;       /* network order */
	uint16_t src_port, dst_port;   /* network order */
};

/* Write 42 bytes of headers at hdr for a UDP payload of payload_len bytes. */
void ipop_encap_write(uint8_t *hdr, const struct ipop_encap_addr *a,
		      uint16_t payload_len, uint16_t ip_id);

/* The same headers from a per-peer template (the send path's way, see struct
 * ipop_fp_peer). ipop_encap_template() writes the 42 bytes for a with IPv4
 * total length, packet id, checksum and UDP length 0 and returns the folded
 * ones'-complement sum of that IPv4 header (never 0: it includes 0x4500), in
 * the byte order of a 16-bit load from memory. ipop_encap_from_template()
 * copies the template with one 32-byte and one (overlapping) 16-byte copy and
 * patches the four fields; the checksum is computed incrementally (RFC 1624,
 * RFC 1071 section 2(B): the ones'-complement sum is byte-order independent,
 * so the constant part's sum plus the two variable words in memory order,
 * folded and complemented). The result is byte-identical to ipop_encap_write()
 * for the same addresses, lengths and ids (tests/unit/test_wire.c). */
uint16_t ipop_encap_template(uint8_t tmpl[IPOP_ENCAP_HDR_LEN], const struct ipop_encap_addr *a);

static inline void ipop_encap_from_template(uint8_t *hdr, const uint8_t *tmpl, uint16_t sum,
					    uint16_t payload_len, uint16_t ip_id)
{
	uint16_t tot = rte_cpu_to_be_16((uint16_t)(payload_len + 28));
	uint16_t id = rte_cpu_to_be_16(ip_id);
	uint16_t ulen = rte_cpu_to_be_16((uint16_t)(payload_len + 8));
	uint32_t s = (uint32_t)sum + tot + id;          /* <= 3 * 0xffff */

	s = (s & 0xffff) + (s >> 16);                   /* <= 0x10001 */
	s = (s & 0xffff) + (s >> 16);                   /* <= 0xffff */
	uint16_t ck = (uint16_t)~s;
	memcpy(hdr, tmpl, 32);
	memcpy(hdr + 26, tmpl + 26, 16);
	memcpy(hdr + 14 + 2, &tot, 2);                  /* IPv4 total_length */
	memcpy(hdr + 14 + 4, &id, 2);                   /* packet_id */
	memcpy(hdr + 14 + 10, &ck, 2);                  /* hdr_checksum */
	memcpy(hdr + 14 + 20 + 4, &ulen, 2);            /* UDP dgram_len */
}

/* Parse an Ethernet frame as IPv4/UDP. On success returns 0 and sets the
 * offsets of the IP header and the UDP payload and the payload length; the
 * frame length may include Ethernet padding. Negative errno if it is not a
 * well-formed, unfragmented IPv4/UDP packet (-EINPROGRESS: an IPv4 UDP fragment
 * whose IPv4 header and length are sound, however short). Inline: it runs once per received
 * packet and its results would otherwise go through memory. */
static inline int ipop_encap_parse(const uint8_t *frame, uint32_t len, uint32_t *ip_off,
				   uint32_t *payload_off, uint32_t *payload_len)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *udp;
	uint32_t ihl, tot, ulen;

	if (len < sizeof(*eth) + sizeof(*ip))
		return -EMSGSIZE;
	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return -EPROTONOSUPPORT;
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	if ((ip->version_ihl >> 4) != 4)
		return -EPROTO;
	ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	tot = rte_be_to_cpu_16(ip->total_length);
	if (ihl < 20 || tot < ihl || sizeof(*eth) + tot > len)
		return -EMSGSIZE;
	if (ip->next_proto_id != IPPROTO_UDP)
		return -EPROTONOSUPPORT;
	/* Before any UDP check: a valid last fragment may carry fewer than the
	 * 8 bytes of a UDP header (only the others carry multiples of 8). */
	if (rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
		return -EINPROGRESS;
	if (tot < ihl + sizeof(*udp))
		return -EMSGSIZE;
	udp = (const struct rte_udp_hdr *)((const uint8_t *)ip + ihl);
	ulen = rte_be_to_cpu_16(udp->dgram_len);
	if (ulen < 8 || ulen > tot - ihl)
		return -EMSGSIZE;
	*ip_off = sizeof(*eth);
	*payload_off = (uint32_t)sizeof(*eth) + ihl + 8;
	*payload_len = ulen - 8;
	return 0;
}

#endif

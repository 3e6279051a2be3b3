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

#include <stdint.h>
#include <rte_ether.h>

struct ipop_encap_addr {
	struct rte_ether_addr src_mac, dst_mac;
	uint32_t src_ip, dst_ip;       /* network order */
	uint16_t src_port, dst_port;   /* network order */
};

/* Write 42 bytes of headers at hdr for a UDP payload of payload_len bytes. */
void ipop_encap_write(uint8_t *hdr, const struct ipop_encap_addr *a,
		      uint16_t payload_len, uint16_t ip_id);

/* Parse an Ethernet frame as IPv4/UDP. On success returns 0 and sets the offsets
 * of the IP header and the UDP payload and the payload length; the frame length
 * may include Ethernet padding. Negative errno if it is not a well-formed,
 * unfragmented IPv4/UDP packet. */
int ipop_encap_parse(const uint8_t *frame, uint32_t len, uint32_t *ip_off,
		     uint32_t *payload_off, uint32_t *payload_len);

#endif

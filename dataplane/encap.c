/* encap.c - outer header writer and parser (see encap.h). Thread: either. */
#include "dataplane/encap.h"

#include <errno.h>
#include <string.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_byteorder.h>

void ipop_encap_write(uint8_t *hdr, const struct ipop_encap_addr *a,
		      uint16_t payload_len, uint16_t ip_id)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)hdr;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	eth->dst_addr = a->dst_mac;
	eth->src_addr = a->src_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(payload_len + 28));
	ip->packet_id = rte_cpu_to_be_16(ip_id);
	ip->fragment_offset = 0;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	ip->src_addr = a->src_ip;
	ip->dst_addr = a->dst_ip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = a->src_port;
	udp->dst_port = a->dst_port;
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(payload_len + 8));
	udp->dgram_cksum = 0;
}

uint16_t ipop_encap_template(uint8_t tmpl[IPOP_ENCAP_HDR_LEN], const struct ipop_encap_addr *a)
{
	uint32_t s = 0;

	ipop_encap_write(tmpl, a, 0, 0);
	/* Zero what ipop_encap_from_template() fills in per packet. */
	memset(tmpl + 14 + 2, 0, 4);                    /* total_length, packet_id */
	memset(tmpl + 14 + 10, 0, 2);                   /* hdr_checksum */
	memset(tmpl + 14 + 20 + 4, 0, 2);               /* UDP dgram_len */
	for (unsigned i = 14; i < 14 + 20; i += 2) {
		uint16_t w;
		memcpy(&w, tmpl + i, 2);
		s += w;
	}
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}


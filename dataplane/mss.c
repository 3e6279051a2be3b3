/* mss.c - TCP MSS clamping of IPv4 SYNs entering the overlay, so that TCP never
 * needs the underlay to fragment. Thread: either; pure. */
#include "dataplane/datapath.h"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <string.h>

static inline uint16_t csum_fold_add(uint16_t csum, uint16_t old, uint16_t new_)
{
	/* RFC 1624 incremental update: HC' = ~(~HC + ~m + m'). */
	uint32_t s = (uint16_t)~csum + (uint16_t)~old + new_;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

int ipop_mss_clamp(uint8_t *frame, uint32_t len, uint16_t mss)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;
	uint32_t ihl, thl;

	if (len < 14 + 20 + 20 || eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return 0;
	ip = (struct rte_ipv4_hdr *)(frame + 14);
	ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	if (ip->next_proto_id != IPPROTO_TCP || ihl < 20 || 14 + ihl + 20 > len)
		return 0;
	if (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK)
		return 0;
	tcp = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);
	if (!(tcp->tcp_flags & RTE_TCP_SYN_FLAG))
		return 0;
	thl = (uint32_t)(tcp->data_off >> 4) * 4;
	if (thl < 20 || 14 + ihl + thl > len)
		return 0;
	uint8_t *o = (uint8_t *)(tcp + 1), *end = (uint8_t *)tcp + thl;
	while (o < end) {
		if (o[0] == 0)               /* end of options */
			return 0;
		if (o[0] == 1) {             /* NOP */
			o++;
			continue;
		}
		if (o + 1 >= end || o[1] < 2 || o + o[1] > end)
			return 0;
		if (o[0] == 2 && o[1] == 4) {
			uint16_t cur = (uint16_t)(o[2] << 8 | o[3]);
			if (cur <= mss)
				return 0;
			/* Incremental update of each 16-bit word of the TCP header that
			 * the value touches: one word at an even offset, two at an odd
			 * one. Never recompute from the IP length, which may lie or
			 * describe a first fragment only. The second word at an odd
			 * offset stays inside the header (its length is a multiple of 4). */
			uint32_t off = (uint32_t)(o + 2 - (uint8_t *)tcp);
			uint8_t *w = (uint8_t *)tcp + (off & ~1u);
			unsigned nw = (off & 1) ? 2 : 1;
			uint16_t before[2], after[2];
			memcpy(before, w, nw * 2);
			o[2] = (uint8_t)(mss >> 8);
			o[3] = (uint8_t)mss;
			memcpy(after, w, nw * 2);
			for (unsigned i = 0; i < nw; i++)
				tcp->cksum = csum_fold_add(tcp->cksum, before[i], after[i]);
			return 1;
		}
		o += o[1];
	}
	return 0;
}

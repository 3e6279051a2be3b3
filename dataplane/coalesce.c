/* coalesce.c - TCP segment coalescing before a write to a virtio-net-header
 * TAP (see coalesce.h). Thread: fast path (pure).
 *
 * Each merged segment's own checksum is verified first: the merged whole goes
 * to the kernel as CHECKSUM_PARTIAL, which it treats as verified, so a segment
 * with a wrong checksum must not hide inside it (it is written alone and the
 * kernel drops it as it would have). */
#include "dataplane/coalesce.h"

#include <string.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#define L3 RTE_ETHER_HDR_LEN
#define L4 (L3 + (uint32_t)sizeof(struct rte_ipv4_hdr))

/* A TCP/IPv4 segment without IP options that could take part: its header
 * length and payload length, or 0 if it cannot. */
static uint32_t tcp4_hdrs(const struct rte_mbuf *m, uint32_t *payload)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->data_len;
	uint16_t type;

	if (m->nb_segs != 1 || len < L4 + sizeof(struct rte_tcp_hdr))
		return 0;
	memcpy(&type, d + 12, 2);
	const struct rte_ipv4_hdr *ip = (const void *)(d + L3);
	if (type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || ip->version_ihl != 0x45 ||
	    ip->next_proto_id != IPPROTO_TCP ||
	    rte_be_to_cpu_16(ip->total_length) != len - L3 ||
	    (rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG |
						       RTE_IPV4_HDR_OFFSET_MASK)))
		return 0;
	const struct rte_tcp_hdr *th = (const void *)(d + L4);
	uint32_t hdrs = L4 + (uint32_t)(th->data_off >> 4) * 4;
	if (hdrs < L4 + sizeof(*th) || hdrs > len)
		return 0;
	*payload = len - hdrs;
	return hdrs;
}

static bool flags_ok(uint8_t flags, bool last)
{
	return flags == RTE_TCP_ACK_FLAG || (last && flags == (RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG));
}

/* IPv4 header and TCP checksums both right (the sums over them, fields
 * included, are 0xffff). */
static bool csum_ok(const struct rte_mbuf *m)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ipv4_hdr *ip = (const void *)(d + L3);
	uint32_t s;

	if (rte_raw_cksum(ip, sizeof(*ip)) != 0xffff)
		return false;
	s = (uint32_t)rte_raw_cksum(d + L4, m->data_len - L4) + rte_ipv4_phdr_cksum(ip, 0);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

/* Can b follow a (the last merged, whose payload is a_pay bytes) in the
 * merged segment whose first segment is f? */
static bool follows(const uint8_t *f, const uint8_t *a, uint32_t a_pay, const struct rte_mbuf *bm,
		    uint32_t hdrs)
{
	const uint8_t *b = rte_pktmbuf_mtod(bm, const uint8_t *);
	const struct rte_ipv4_hdr *fi = (const void *)(f + L3), *bi = (const void *)(b + L3);
	const struct rte_tcp_hdr *at = (const void *)(a + L4), *bt = (const void *)(b + L4);
	const struct rte_tcp_hdr *ft = (const void *)(f + L4);

	/* Ethernet header; TOS; TTL and protocol; addresses. */
	if (memcmp(f, b, L3) != 0 || fi->type_of_service != bi->type_of_service ||
	    memcmp(&fi->time_to_live, &bi->time_to_live, 2) != 0 ||
	    memcmp(&fi->src_addr, &bi->src_addr, 8) != 0 ||
	    ((fi->fragment_offset ^ bi->fragment_offset) & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)))
		return false;
	/* Ports; ACK number; header length and window; options. */
	if (memcmp(&ft->src_port, &bt->src_port, 4) != 0 || ft->recv_ack != bt->recv_ack ||
	    ft->data_off != bt->data_off || ft->rx_win != bt->rx_win ||
	    memcmp(f + L4 + sizeof(*ft), b + L4 + sizeof(*bt), hdrs - L4 - sizeof(*ft)) != 0)
		return false;
	return rte_be_to_cpu_32(bt->sent_seq) == rte_be_to_cpu_32(at->sent_seq) + a_pay;
}

unsigned ipop_coalesce_run(struct rte_mbuf **pkts, unsigned n, struct virtio_net_hdr *vh,
			   uint32_t *hdr_len)
{
	uint32_t gso, pay, hdrs, total;
	unsigned k = 1;

	memset(vh, 0, sizeof(*vh));
	*hdr_len = 0;
	if (n < 2)
		return 1;
	hdrs = tcp4_hdrs(pkts[0], &gso);
	const uint8_t *f = rte_pktmbuf_mtod(pkts[0], const uint8_t *);
	if (hdrs == 0 || gso == 0 || !flags_ok(((const struct rte_tcp_hdr *)(f + L4))->tcp_flags, false))
		return 1;
	total = pkts[0]->data_len - L3;
	const uint8_t *a = f;
	uint32_t a_pay = gso;
	for (; k < n; k++) {
		struct rte_mbuf *b = pkts[k];
		uint32_t bh = tcp4_hdrs(b, &pay);
		if (bh != hdrs || pay == 0 || pay > gso || total + pay > IPOP_GRO_MAX_IP ||
		    !follows(f, a, a_pay, b, hdrs))
			break;
		bool last = pay < gso;
		const uint8_t *bd = rte_pktmbuf_mtod(b, const uint8_t *);
		if (!flags_ok(((const struct rte_tcp_hdr *)(bd + L4))->tcp_flags, true) ||
		    (k == 1 && !csum_ok(pkts[0])) || !csum_ok(b))
			break;
		total += pay;
		a = bd;
		a_pay = pay;
		/* PSH or a short payload ends the segment. */
		if (last || ((const struct rte_tcp_hdr *)(bd + L4))->tcp_flags & RTE_TCP_PSH_FLAG) {
			k++;
			break;
		}
	}
	if (k == 1)
		return 1;
	uint8_t *w = rte_pktmbuf_mtod(pkts[0], uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(w + L3);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(w + L4);
	th->tcp_flags |= ((const struct rte_tcp_hdr *)(a + L4))->tcp_flags & RTE_TCP_PSH_FLAG;
	ip->total_length = rte_cpu_to_be_16((uint16_t)total);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->cksum = rte_ipv4_phdr_cksum(ip, 0);
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh->hdr_len = rte_cpu_to_le_16((uint16_t)hdrs);
	vh->gso_size = rte_cpu_to_le_16((uint16_t)gso);
	vh->csum_start = rte_cpu_to_le_16((uint16_t)L4);
	vh->csum_offset = rte_cpu_to_le_16(16);
	*hdr_len = hdrs;
	return k;
}

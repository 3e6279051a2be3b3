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
#define L4_V4 (L3 + (uint32_t)sizeof(struct rte_ipv4_hdr))
#define L4_V6 (L3 + (uint32_t)sizeof(struct rte_ipv6_hdr))

/* A TCP segment that could take part: IPv4 without options or fragmentation,
 * or IPv6 with TCP as its first next header (no extension headers). */
struct tcp_seg {
	uint32_t l4;         /* offset of the TCP header: L4_V4 or L4_V6 */
	uint32_t hdrs;       /* offset of the payload */
	uint32_t pay;        /* payload bytes */
	bool v6;
};

static bool tcp4_seg(const uint8_t *d, uint32_t len, struct tcp_seg *s)
{
	const struct rte_ipv4_hdr *ip = (const void *)(d + L3);

	if (len < L4_V4 + sizeof(struct rte_tcp_hdr) || ip->version_ihl != 0x45 ||
	    ip->next_proto_id != IPPROTO_TCP ||
	    rte_be_to_cpu_16(ip->total_length) != len - L3 ||
	    (rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG |
						       RTE_IPV4_HDR_OFFSET_MASK)))
		return false;
	s->l4 = L4_V4;
	s->v6 = false;
	return true;
}

static bool tcp6_seg(const uint8_t *d, uint32_t len, struct tcp_seg *s)
{
	const struct rte_ipv6_hdr *ip6 = (const void *)(d + L3);

	if (len < L4_V6 + sizeof(struct rte_tcp_hdr) || (d[L3] >> 4) != 6 ||
	    ip6->proto != IPPROTO_TCP || rte_be_to_cpu_16(ip6->payload_len) != len - L4_V6)
		return false;
	s->l4 = L4_V6;
	s->v6 = true;
	return true;
}

/* Fills s for a segment that could take part; false if it cannot. */
static bool tcp_seg(const struct rte_mbuf *m, struct tcp_seg *s)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->data_len;
	uint16_t type;

	if (m->nb_segs != 1 || len < L3)
		return false;
	memcpy(&type, d + 12, 2);
	bool ok = false;
	if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		ok = tcp4_seg(d, len, s);
	else if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6))
		ok = tcp6_seg(d, len, s);
	if (!ok)
		return false;
	const struct rte_tcp_hdr *th = (const void *)(d + s->l4);
	s->hdrs = s->l4 + (uint32_t)(th->data_off >> 4) * 4;
	if (s->hdrs < s->l4 + sizeof(*th) || s->hdrs > len)
		return false;
	s->pay = len - s->hdrs;
	return true;
}

static bool flags_ok(uint8_t flags, bool last)
{
	return flags == RTE_TCP_ACK_FLAG || (last && flags == (RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG));
}

/* The IPv4 header's checksum and the TCP checksum right (the sums over them,
 * fields included, are 0xffff). */
static bool csum_ok(const struct rte_mbuf *m, const struct tcp_seg *s)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t sum;

	if (s->v6) {
		sum = rte_ipv6_phdr_cksum((const struct rte_ipv6_hdr *)(d + L3), 0);
	} else {
		const struct rte_ipv4_hdr *ip = (const void *)(d + L3);
		if (rte_raw_cksum(ip, sizeof(*ip)) != 0xffff)
			return false;
		sum = rte_ipv4_phdr_cksum(ip, 0);
	}
	sum += rte_raw_cksum(d + s->l4, m->data_len - s->l4);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* The network headers of b and f: everything but the lengths, the IPv4
 * identification and checksum must agree (IPv4: TOS, DF, TTL, protocol,
 * addresses; IPv6: version, traffic class, flow label, next header, hop
 * limit, addresses). */
static bool same_l3(const uint8_t *f, const uint8_t *b, bool v6)
{
	if (v6) {
		const struct rte_ipv6_hdr *fi = (const void *)(f + L3), *bi = (const void *)(b + L3);
		return fi->vtc_flow == bi->vtc_flow && fi->proto == bi->proto &&
		       fi->hop_limits == bi->hop_limits &&
		       memcmp(&fi->src_addr, &bi->src_addr, 32) == 0;
	}
	const struct rte_ipv4_hdr *fi = (const void *)(f + L3), *bi = (const void *)(b + L3);
	return fi->type_of_service == bi->type_of_service &&
	       memcmp(&fi->time_to_live, &bi->time_to_live, 2) == 0 &&
	       memcmp(&fi->src_addr, &bi->src_addr, 8) == 0 &&
	       !((fi->fragment_offset ^ bi->fragment_offset) & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG));
}

/* Can b follow a (the last merged, whose payload is a_pay bytes) in the
 * merged segment whose first segment is f (headers fs)? */
static bool follows(const uint8_t *f, const struct tcp_seg *fs, const uint8_t *a, uint32_t a_pay,
		    const struct rte_mbuf *bm)
{
	const uint8_t *b = rte_pktmbuf_mtod(bm, const uint8_t *);
	const struct rte_tcp_hdr *at = (const void *)(a + fs->l4), *bt = (const void *)(b + fs->l4);
	const struct rte_tcp_hdr *ft = (const void *)(f + fs->l4);

	if (memcmp(f, b, L3) != 0 || !same_l3(f, b, fs->v6))
		return false;
	/* Ports; ACK number; header length and window; options. */
	if (memcmp(&ft->src_port, &bt->src_port, 4) != 0 || ft->recv_ack != bt->recv_ack ||
	    ft->data_off != bt->data_off || ft->rx_win != bt->rx_win ||
	    memcmp(f + fs->l4 + sizeof(*ft), b + fs->l4 + sizeof(*bt),
		   fs->hdrs - fs->l4 - sizeof(*ft)) != 0)
		return false;
	return rte_be_to_cpu_32(bt->sent_seq) == rte_be_to_cpu_32(at->sent_seq) + a_pay;
}

/* pkts[0]'s headers describe the merged segment of total bytes after the
 * Ethernet header; its TCP checksum becomes the pseudo-header sum (the kernel
 * completes it: VIRTIO_NET_HDR_F_NEEDS_CSUM). */
static void write_merged(uint8_t *w, const struct tcp_seg *fs, uint32_t total, uint8_t psh,
			 struct virtio_net_hdr *vh)
{
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(w + fs->l4);

	th->tcp_flags |= psh;
	if (fs->v6) {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(w + L3);
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(total - sizeof(*ip6)));
		th->cksum = rte_ipv6_phdr_cksum(ip6, 0);
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(w + L3);
		ip->total_length = rte_cpu_to_be_16((uint16_t)total);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		th->cksum = rte_ipv4_phdr_cksum(ip, 0);
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	}
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->hdr_len = rte_cpu_to_le_16((uint16_t)fs->hdrs);
	vh->csum_start = rte_cpu_to_le_16((uint16_t)fs->l4);
	vh->csum_offset = rte_cpu_to_le_16(16);
}

unsigned ipop_coalesce_run(struct rte_mbuf **pkts, unsigned n, struct virtio_net_hdr *vh,
			   uint32_t *hdr_len)
{
	struct tcp_seg fs, bs;
	uint32_t total;
	unsigned k = 1;

	memset(vh, 0, sizeof(*vh));
	*hdr_len = 0;
	/* A frame someone else still reads is not rewritten: a flood's original,
	 * handed to the local port while its copies are sealed out of it later
	 * (dataplane/send.c, held with a second reference), must reach the peers
	 * with the headers it came with. */
	if (n < 2 || rte_mbuf_refcnt_read(pkts[0]) > 1 || !tcp_seg(pkts[0], &fs) || fs.pay == 0)
		return 1;
	const uint8_t *f = rte_pktmbuf_mtod(pkts[0], const uint8_t *);
	if (!flags_ok(((const struct rte_tcp_hdr *)(f + fs.l4))->tcp_flags, false))
		return 1;
	const uint32_t gso = fs.pay;
	total = pkts[0]->data_len - L3;
	const uint8_t *a = f;
	uint32_t a_pay = gso;
	for (; k < n; k++) {
		struct rte_mbuf *b = pkts[k];
		if (!tcp_seg(b, &bs) || bs.v6 != fs.v6 || bs.hdrs != fs.hdrs || bs.pay == 0 ||
		    bs.pay > gso || total + bs.pay > IPOP_GRO_MAX_IP || !follows(f, &fs, a, a_pay, b))
			break;
		bool last = bs.pay < gso;
		const uint8_t *bd = rte_pktmbuf_mtod(b, const uint8_t *);
		uint8_t bflags = ((const struct rte_tcp_hdr *)(bd + fs.l4))->tcp_flags;
		if (!flags_ok(bflags, true) || (k == 1 && !csum_ok(pkts[0], &fs)) || !csum_ok(b, &bs))
			break;
		total += bs.pay;
		a = bd;
		a_pay = bs.pay;
		/* PSH or a short payload ends the segment. */
		if (last || (bflags & RTE_TCP_PSH_FLAG)) {
			k++;
			break;
		}
	}
	if (k == 1)
		return 1;
	write_merged(rte_pktmbuf_mtod(pkts[0], uint8_t *), &fs, total,
		     ((const struct rte_tcp_hdr *)(a + fs.l4))->tcp_flags & RTE_TCP_PSH_FLAG, vh);
	vh->gso_size = rte_cpu_to_le_16((uint16_t)gso);
	*hdr_len = fs.hdrs;
	return k;
}

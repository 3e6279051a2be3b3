/* segment.c - software TSO for frames from a virtio-net-header TAP (see
 * segment.h). Thread: fast path (pure).
 *
 * The kernel leaves a TSO frame's TCP checksum as the pseudo-header sum
 * (CHECKSUM_PARTIAL); every frame cut from it gets a full checksum computed
 * here, since the tunnel's far end hands it to a kernel or LAN that verifies. */
#include "dataplane/segment.h"

#include <errno.h>
#include <string.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#define TCP_FLAGS_LAST_ONLY (RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG)

/* IPv4 or IPv6 carrying TCP directly: sets s->l3, l4, hdrs, ipv6. */
static int parse_tcp(struct ipop_seg *s, uint32_t len)
{
	const uint8_t *f = s->frame;
	uint16_t type;
	uint32_t l4;

	if (len < RTE_ETHER_HDR_LEN)
		return -EINVAL;
	memcpy(&type, f + 12, 2);
	s->l3 = RTE_ETHER_HDR_LEN;
	if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		const struct rte_ipv4_hdr *ip = (const void *)(f + s->l3);
		if (len < s->l3 + sizeof(*ip))
			return -EINVAL;
		uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
		if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) ||
		    ip->next_proto_id != IPPROTO_TCP ||
		    rte_be_to_cpu_16(ip->total_length) != len - s->l3 ||
		    (rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG |
							       RTE_IPV4_HDR_OFFSET_MASK)))
			return -EINVAL;
		l4 = s->l3 + ihl;
		s->ipv6 = 0;
	} else if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		const struct rte_ipv6_hdr *ip6 = (const void *)(f + s->l3);
		if (len < s->l3 + sizeof(*ip6))
			return -EINVAL;
		if ((rte_be_to_cpu_32(ip6->vtc_flow) >> 28) != 6 || ip6->proto != IPPROTO_TCP ||
		    rte_be_to_cpu_16(ip6->payload_len) != len - s->l3 - sizeof(*ip6))
			return -EINVAL;
		l4 = s->l3 + (uint32_t)sizeof(*ip6);
		s->ipv6 = 1;
	} else {
		return -EINVAL;
	}
	if (len < l4 + sizeof(struct rte_tcp_hdr))
		return -EINVAL;
	const struct rte_tcp_hdr *th = (const void *)(f + l4);
	uint32_t thl = (uint32_t)(th->data_off >> 4) * 4;
	if (thl < sizeof(*th) || len < l4 + thl)
		return -EINVAL;
	s->l4 = (uint16_t)l4;
	s->hdrs = l4 + thl;
	return 0;
}

int ipop_seg_begin(struct ipop_seg *s, const struct virtio_net_hdr *vh, const uint8_t *frame,
		   uint32_t len, uint32_t max_frame, uint32_t mbuf_room)
{
	uint8_t type = vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	int r;

	memset(s, 0, sizeof(*s));
	s->frame = frame;
	s->len = len;
	s->needs_csum = (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
	if (type == VIRTIO_NET_HDR_GSO_NONE) {
		if (len < RTE_ETHER_HDR_LEN)
			return -EINVAL;
		/* Whether it fits the tunnel is the dataplane's to decide: it
		 * fragments IPv4 without DF at the overlay's edge (send.c). */
		if (len > mbuf_room)
			return -EMSGSIZE;
		s->csum_start = rte_le_to_cpu_16(vh->csum_start);
		s->csum_offset = rte_le_to_cpu_16(vh->csum_offset);
		if (s->needs_csum && (uint32_t)s->csum_start + s->csum_offset + 2 > len)
			return -EINVAL;
		return 0;
	}
	if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6)
		return -EINVAL;
	r = parse_tcp(s, len);
	if (r != 0)
		return r;
	if ((type == VIRTIO_NET_HDR_GSO_TCPV6) != (s->ipv6 != 0))
		return -EINVAL;
	uint32_t gso = rte_le_to_cpu_16(vh->gso_size);
	uint32_t room = RTE_MIN(max_frame, mbuf_room);
	if (gso == 0 || room <= s->hdrs)
		return -EINVAL;
	s->seg = RTE_MIN(gso, room - s->hdrs);
	s->gso = 1;
	s->off = s->hdrs;
	return 0;
}

uint32_t ipop_seg_count(const struct ipop_seg *s)
{
	if (!s->gso)
		return 1;
	uint32_t payload = s->len - s->hdrs;
	return payload == 0 ? 1 : (payload + s->seg - 1) / s->seg;
}

/* The frame whole, its checksum completed if the kernel left it: the field
 * holds the pseudo-header sum, so summing from csum_start to the end gives
 * the complement of the checksum. 0 goes out as 0xffff (the same value in
 * ones' complement, and what UDP requires). */
static int plain_next(struct ipop_seg *s, struct rte_mempool *pool, struct rte_mbuf **out)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	if (m == NULL)
		return -ENOMEM;
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)s->len);
	memcpy(d, s->frame, s->len);
	if (s->needs_csum) {
		uint16_t *field = (uint16_t *)(d + s->csum_start + s->csum_offset);
		uint16_t c = (uint16_t)~rte_raw_cksum(d + s->csum_start, s->len - s->csum_start);
		*field = c == 0 ? 0xffff : c;
	}
	s->off = s->len;
	s->index = 1;
	out[0] = m;
	return 1;
}

/* Frame number s->index, carrying payload [s->off, s->off + n). */
static struct rte_mbuf *cut_one(struct ipop_seg *s, struct rte_mempool *pool, uint32_t n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	if (m == NULL)
		return NULL;
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(s->hdrs + n));
	memcpy(d, s->frame, s->hdrs);
	memcpy(d + s->hdrs, s->frame + s->off, n);
	bool last = s->off + n >= s->len;
	uint32_t l4len = s->hdrs - s->l4 + n;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(d + s->l4);
	th->sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(th->sent_seq) +
					(s->off - s->hdrs));
	if (!last)
		th->tcp_flags &= (uint8_t)~TCP_FLAGS_LAST_ONLY;
	if (s->index > 0)
		th->tcp_flags &= (uint8_t)~RTE_TCP_CWR_FLAG;
	th->cksum = 0;
	if (s->ipv6) {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(d + s->l3);
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)l4len);
		th->cksum = rte_ipv6_udptcp_cksum(ip6, th);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + s->l3);
		ip->total_length = rte_cpu_to_be_16((uint16_t)(s->hdrs - s->l3 + n));
		ip->packet_id = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(ip->packet_id) +
							    s->index));
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	}
	s->off += n;
	s->index++;
	return m;
}

int ipop_seg_next(struct ipop_seg *s, struct rte_mempool *pool, struct rte_mbuf **out,
		  unsigned cap)
{
	unsigned k = 0;

	if (cap == 0 || s->off >= s->len) {
		/* A TSO frame with no payload still makes its one frame. */
		if (!(s->gso && s->index == 0 && s->len == s->hdrs && cap > 0))
			return 0;
	}
	if (!s->gso)
		return plain_next(s, pool, out);
	do {
		uint32_t n = RTE_MIN(s->seg, s->len - s->off);
		struct rte_mbuf *m = cut_one(s, pool, n);
		if (m == NULL) {
			if (k > 0)
				return (int)k;   /* the next call reports it */
			s->off = s->len;
			return -ENOMEM;
		}
		out[k++] = m;
	} while (k < cap && s->off < s->len);
	return (int)k;
}

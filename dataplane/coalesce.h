/* coalesce.h - GRO towards a virtio-net-header TAP: consecutive in-order TCP
 * segments of one IPv4 or IPv6 flow, as the tunnel delivers them in a burst,
 * become one large segment that the kernel takes in one write (a virtio-net
 * header with GSO type TCPv4 or TCPv6, the checksum left partial for it:
 * VIRTIO_NET_HDR_F_NEEDS_CSUM).
 *
 * Thread: fast path (pure; works on the caller's mbufs only).
 */
#ifndef IPOP_DATAPLANE_COALESCE_H
#define IPOP_DATAPLANE_COALESCE_H

#include <stdint.h>
#include <linux/virtio_net.h>
#include <rte_mbuf.h>

/* Largest IPv4 packet a merged segment may become; for IPv6, the largest
 * payload length plus its 40-byte header (no jumbograms). */
#define IPOP_GRO_MAX_IP 65535u

/* Look at pkts[0..n) and return k >= 1: pkts[0..k) form one segment. For
 * k == 1, pkts[0] is untouched and *vh says "no offload". For k > 1: pkts[0]'s
 * headers now describe the whole (IPv4 total length and header checksum; TCP
 * flags of the last segment's PSH; its checksum field the pseudo-header sum),
 * *hdr_len is the length of its headers, and the whole is pkts[0]'s bytes
 * followed by the bytes of pkts[1..k) after their first *hdr_len. Segments
 * are merged only when each is a single mbuf, IPv4 without options or
 * fragmentation or IPv6 without extension headers (the first's family),
 * TCP with a checksum that verifies, the same Ethernet header, addresses,
 * ports, TOS, TTL, DF (IPv6: traffic class, flow label, hop limit), ACK
 * number, window and TCP options as the first, flags ACK alone (PSH allowed
 * on the last), the next
 * sequence number, and every payload but the last's exactly the first's
 * size (the gso_size the kernel will cut by if it must). */
unsigned ipop_coalesce_run(struct rte_mbuf **pkts, unsigned n, struct virtio_net_hdr *vh,
			   uint32_t *hdr_len);

#endif

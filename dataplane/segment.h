/* segment.h - cutting a large TCP segment that the kernel handed over with a
 * virtio-net header (a TAP with IFF_VNET_HDR and TSO offloads: up to 64 KiB,
 * its checksum left to us) into frames that fit the tunnel, and completing the
 * checksum of a frame the kernel marked VIRTIO_NET_HDR_F_NEEDS_CSUM.
 *
 * Thread: fast path (pure code, no shared state: one struct ipop_seg per call
 * site, owned by its caller). The frame is read from a linear buffer; each
 * frame out is a fresh single-segment mbuf from the pool with the pool's
 * default headroom, as if a port had received it.
 */
#ifndef IPOP_DATAPLANE_SEGMENT_H
#define IPOP_DATAPLANE_SEGMENT_H

#include <stdint.h>
#include <linux/virtio_net.h>
#include <rte_mbuf.h>

/* A frame being cut: set by ipop_seg_begin, advanced by ipop_seg_next. */
struct ipop_seg {
	const uint8_t *frame;
	uint32_t len;
	uint32_t hdrs;        /* Ethernet + IP + TCP header bytes (GSO), else 0 */
	uint32_t seg;         /* payload bytes per frame out (GSO) */
	uint32_t off;         /* next payload byte (GSO); for a plain frame 0 or len */
	uint16_t l3, l4;      /* IP and TCP header offsets (GSO) */
	uint16_t csum_start, csum_offset;   /* NEEDS_CSUM without GSO */
	uint16_t index;       /* frames made so far */
	uint8_t ipv6;         /* GSO over IPv6 */
	uint8_t gso;          /* 1: cut; 0: one frame, checksum completed if asked */
	uint8_t needs_csum;
};

/* Check the virtio-net header vh against the frame (len bytes at frame) and
 * prepare s. GSO frames: TCPv4 (IPv4 with or without options) and TCPv6 (TCP
 * right after the fixed header), gso_size > 0; each frame out carries at most
 * min(gso_size, max_frame - headers) payload bytes (re-cutting smaller is
 * legal TCP, so a frame never needs outer fragmentation). A frame without GSO
 * passes whole; with NEEDS_CSUM its checksum at csum_start + csum_offset is
 * completed. Returns 0, -EINVAL (a header that does not describe the frame:
 * unknown or UDP GSO type, zero gso_size, headers that do not parse, lengths
 * that disagree, a checksum position outside the frame) or -EMSGSIZE (a
 * frame without GSO larger than one mbuf holds; one larger than max_frame
 * passes: the dataplane fragments it or counts it too big, as for a LAN). */
int ipop_seg_begin(struct ipop_seg *s, const struct virtio_net_hdr *vh, const uint8_t *frame,
		   uint32_t len, uint32_t max_frame, uint32_t mbuf_room);

/* Make up to cap frames of s into out. Returns how many (0 once every byte
 * went out) or -ENOMEM (the pool is empty; frames made before are in out and
 * counted in s->index, the rest of the frame is lost). Each frame: the
 * headers of the original with IPv4 total length, ID (+1 per frame) and header
 * checksum, or IPv6 payload length; TCP sequence number advanced, CWR only on
 * the first, PSH and FIN only on the last, a full TCP checksum. */
int ipop_seg_next(struct ipop_seg *s, struct rte_mempool *pool, struct rte_mbuf **out,
		  unsigned cap);

/* Frames s will make in all (1 without GSO). */
uint32_t ipop_seg_count(const struct ipop_seg *s);

#endif

/* test_offload.c - the host TAP's offloads: the segmenter (dataplane/segment.c,
 * software TSO of a virtio-net GSO frame, checksum completion) and the
 * coalescer (dataplane/coalesce.c, GRO before a write). Checksums are judged
 * with tests/unit/refsum.h, independent of DPDK's. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <rte_mbuf.h>

#include "dataplane/coalesce.h"
#include "dataplane/segment.h"
#include "tests/unit/check.h"
#include "tests/unit/refsum.h"
#include "tests/unit/test_eal.h"

#define ROOM 2048u
static struct rte_mempool *pool;

struct spec {
	int ipv6;
	unsigned ip_opt;     /* IPv4 option bytes (multiple of 4) */
	unsigned tcp_opt;    /* TCP option bytes (multiple of 4) */
	unsigned payload;
	uint8_t flags;
	uint16_t ip_id;
	uint32_t seq;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* Sum over the IPv6 pseudo-header and the segment: 0xffff when right. */
static uint16_t ref_l4_sum6(const uint8_t *ip6, const uint8_t *seg, uint32_t len)
{
	uint8_t ph[40];

	memcpy(ph, ip6 + 8, 32);
	put32(ph + 32, len);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = ip6[6];
	return ref_sum16(seg, len, ref_sum16(ph, sizeof(ph), 0));
}

/* A frame as the kernel hands it over with TSO: full headers, IP lengths of
 * the whole, the TCP checksum field holding the pseudo-header sum. Returns
 * its length; *l4 the TCP header's offset, *hdrs the payload's. */
static uint32_t build(uint8_t *f, const struct spec *s, uint32_t *l4, uint32_t *hdrs)
{
	uint32_t l3 = 14, thl = 20 + s->tcp_opt, iphl = s->ipv6 ? 40 : 20 + s->ip_opt;

	memset(f, 0, 14 + iphl + thl);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	*l4 = l3 + iphl;
	*hdrs = *l4 + thl;
	uint32_t l4len = thl + s->payload;
	if (s->ipv6) {
		put16(f + 12, 0x86dd);
		f[l3] = 0x60;
		put16(f + l3 + 4, (uint16_t)l4len);
		f[l3 + 6] = 6;
		f[l3 + 7] = 64;
		for (int i = 0; i < 16; i++) {
			f[l3 + 8 + i] = (uint8_t)(0x20 + i);
			f[l3 + 24 + i] = (uint8_t)(0x40 + i);
		}
	} else {
		put16(f + 12, 0x0800);
		f[l3] = (uint8_t)(0x40 | (iphl / 4));
		put16(f + l3 + 2, (uint16_t)(iphl + l4len));
		put16(f + l3 + 4, s->ip_id);
		put16(f + l3 + 6, 0x4000);   /* DF */
		f[l3 + 8] = 64;
		f[l3 + 9] = 6;
		memcpy(f + l3 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		for (unsigned i = 0; i < s->ip_opt; i++)
			f[l3 + 20 + i] = 1;   /* NOP */
		ref_ip_csum_set(f + l3);
	}
	uint8_t *t = f + *l4;
	put16(t, 40000);
	put16(t + 2, 5201);
	put32(t + 4, s->seq);
	put32(t + 8, 777);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = s->flags;
	put16(t + 14, 501);
	for (unsigned i = 0; i < s->tcp_opt; i++)
		t[20 + i] = (uint8_t)(i == 0 ? 8 : i == 1 ? 10 : 0x50 + i);   /* timestamp-ish */
	for (unsigned i = 0; i < s->payload; i++)
		f[*hdrs + i] = (uint8_t)(i * 7 + 3);
	/* The pseudo-header sum, not complemented (CHECKSUM_PARTIAL). */
	uint16_t ps;
	if (s->ipv6) {
		uint8_t zero[1] = { 0 };
		ps = ref_l4_sum6(f + l3, zero, 0);
		ps = ref_sum16(zero, 0, (uint32_t)ps + 0);   /* fold only */
		/* length is part of the pseudo-header: recompute with it */
		uint8_t ph[40];
		memcpy(ph, f + l3 + 8, 32);
		put32(ph + 32, l4len);
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = 6;
		ps = ref_sum16(ph, 40, 0);
	} else {
		uint8_t ph[12];
		memcpy(ph, f + l3 + 12, 8);
		ph[8] = 0;
		ph[9] = 6;
		put16(ph + 10, (uint16_t)l4len);
		ps = ref_sum16(ph, 12, 0);
	}
	put16(t + 16, ps);
	return *hdrs + s->payload;
}

static struct virtio_net_hdr gso_hdr(int ipv6, uint16_t gso, uint32_t l4)
{
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = ipv6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = gso, .csum_start = (uint16_t)l4, .csum_offset = 16,
	};
	return vh;
}

static int cut(const struct virtio_net_hdr *vh, const uint8_t *f, uint32_t len, uint32_t max_frame,
	       struct rte_mbuf **out, unsigned cap)
{
	struct ipop_seg s;
	int r = ipop_seg_begin(&s, vh, f, len, max_frame, ROOM);
	unsigned n = 0;

	if (r != 0)
		return r;
	while ((r = ipop_seg_next(&s, pool, out + n, cap - n)) > 0)
		n += (unsigned)r;
	return r < 0 ? r : (int)n;
}

static void free_all(struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static uint8_t big[70000];

/* Cut a TSO frame and check every frame out against the original. */
static void check_cut(const struct spec *sp, uint16_t gso, uint32_t max_frame, unsigned want_seg)
{
	uint32_t l4, hdrs, len = build(big, sp, &l4, &hdrs);
	struct virtio_net_hdr vh = gso_hdr(sp->ipv6, gso, l4);
	struct rte_mbuf *out[128];
	int n = cut(&vh, big, len, max_frame, out, 128);
	unsigned want_n = sp->payload == 0 ? 1 : (sp->payload + want_seg - 1) / want_seg;

	CHECK(n == (int)want_n);
	if (n != (int)want_n) {
		if (n > 0)
			free_all(out, (unsigned)n);
		return;
	}
	uint32_t off = 0;
	for (int i = 0; i < n; i++) {
		const uint8_t *d = rte_pktmbuf_mtod(out[i], const uint8_t *);
		uint32_t pay = RTE_MIN(want_seg, sp->payload - off);
		bool last = i == n - 1;
		CHECK(out[i]->nb_segs == 1 && out[i]->pkt_len == hdrs + pay);
		CHECK(out[i]->pkt_len <= max_frame);
		CHECK(memcmp(d, big, 14) == 0);
		if (sp->ipv6) {
			CHECK(get16(d + 14 + 4) == hdrs - l4 + pay);
			CHECK(ref_l4_sum6(d + 14, d + l4, hdrs - l4 + pay) == 0xffff);
		} else {
			CHECK(ref_ip_csum_ok(d + 14));
			CHECK(get16(d + 14 + 2) == hdrs - 14 + pay);
			CHECK(get16(d + 14 + 4) == (uint16_t)(sp->ip_id + i));
			CHECK(memcmp(d + 14 + 20, big + 14 + 20, sp->ip_opt) == 0);
			CHECK(ref_l4_sum(d + 14, d + l4, hdrs - l4 + pay) == 0xffff);
		}
		CHECK(get32(d + l4 + 4) == sp->seq + off);
		uint8_t fl = d[l4 + 13];
		CHECK(((fl & 0x80) != 0) == ((sp->flags & 0x80) && i == 0));          /* CWR */
		CHECK(((fl & 0x09) != 0) == ((sp->flags & 0x09) != 0 && last));      /* PSH, FIN */
		CHECK((fl & 0x10) == (sp->flags & 0x10));                            /* ACK */
		CHECK(memcmp(d + l4 + 20, big + l4 + 20, sp->tcp_opt) == 0);
		CHECK(memcmp(d + hdrs, big + hdrs + off, pay) == 0);
		off += pay;
	}
	CHECK(off == sp->payload);
	free_all(out, (unsigned)n);
}

static void test_cut(void)
{
	struct spec s = { .tcp_opt = 12, .payload = 3500, .flags = 0x80 | 0x10 | 0x08 | 0x01,
			  .ip_id = 0xfffe, .seq = 0xfffff000u };

	check_cut(&s, 1000, 1500, 1000);            /* last short, ID and seq wrap */
	s.payload = 3000;
	check_cut(&s, 1000, 1500, 1000);            /* an exact multiple */
	s.payload = 1000;
	check_cut(&s, 1000, 1500, 1000);            /* exactly one gso_size */
	s.payload = 0;
	check_cut(&s, 1000, 1500, 1000);            /* no payload: one frame */
	s.payload = 60000;
	s.flags = 0x10;
	check_cut(&s, 1448, 1514, 1448);            /* 64 KiB class, 42 frames */
	check_cut(&s, 1448, 1440, 1440 - 66);       /* gso_size above what fits: cut smaller */
	s.ip_opt = 8;
	s.payload = 5000;
	s.flags = 0x18;
	check_cut(&s, 1200, 1500, 1200);            /* IPv4 options copied into each */
	struct spec s6 = { .ipv6 = 1, .tcp_opt = 12, .payload = 4000, .flags = 0x19, .seq = 5 };
	check_cut(&s6, 1300, 1500, 1300);           /* TCPv6 */
}

/* Resuming with a small cap; a pool that runs dry. */
static void test_cut_cap(void)
{
	struct spec sp = { .payload = 4000, .flags = 0x10, .seq = 1 };
	uint32_t l4, hdrs, len = build(big, &sp, &l4, &hdrs);
	struct virtio_net_hdr vh = gso_hdr(0, 1000, l4);
	struct rte_mbuf *out[8];
	struct ipop_seg s;

	CHECK(ipop_seg_begin(&s, &vh, big, len, 1500, ROOM) == 0);
	CHECK(ipop_seg_count(&s) == 4);
	CHECK(ipop_seg_next(&s, pool, out, 3) == 3);
	CHECK(ipop_seg_next(&s, pool, out + 3, 3) == 1);
	CHECK(ipop_seg_next(&s, pool, out + 4, 3) == 0);
	CHECK(get32(rte_pktmbuf_mtod(out[3], uint8_t *) + l4 + 4) == 3001);
	free_all(out, 4);

	struct rte_mempool *tiny = rte_pktmbuf_pool_create("off_tiny", 2, 0, 0, ROOM + 128, SOCKET_ID_ANY);
	CHECK(tiny != NULL);
	if (tiny == NULL)
		return;
	CHECK(ipop_seg_begin(&s, &vh, big, len, 1500, ROOM) == 0);
	CHECK(ipop_seg_next(&s, tiny, out, 8) == 2);
	CHECK(s.index == 2);
	CHECK(ipop_seg_next(&s, tiny, out + 2, 8) == -ENOMEM);
	CHECK(ipop_seg_next(&s, tiny, out + 2, 8) == 0);
	free_all(out, 2);
	rte_mempool_free(tiny);
}

/* NEEDS_CSUM without GSO: UDP and TCP, checksum completed; a UDP sum of 0 goes out as 0xffff. */
static void test_csum(void)
{
	uint8_t f[200];
	struct spec sp = { .payload = 100, .flags = 0x18, .seq = 9 };
	uint32_t l4, hdrs, len = build(f, &sp, &l4, &hdrs);
	struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				     .csum_start = (uint16_t)l4, .csum_offset = 16 };
	struct rte_mbuf *out[2];

	CHECK(cut(&vh, f, len, 1500, out, 2) == 1);
	const uint8_t *d = rte_pktmbuf_mtod(out[0], const uint8_t *);
	CHECK(out[0]->pkt_len == len && memcmp(d, f, l4 + 16) == 0);
	CHECK(ref_l4_sum(d + 14, d + l4, len - l4) == 0xffff);
	rte_pktmbuf_free(out[0]);

	/* UDP: turn the frame into an 8 + 92 byte UDP datagram. */
	f[14 + 9] = 17;
	ref_ip_csum_set(f + 14);
	uint8_t *u = f + l4;
	put16(u + 4, (uint16_t)(len - l4));
	uint8_t ph[12];
	memcpy(ph, f + 14 + 12, 8);
	ph[8] = 0;
	ph[9] = 17;
	put16(ph + 10, (uint16_t)(len - l4));
	put16(u + 6, ref_sum16(ph, 12, 0));
	vh.csum_offset = 6;
	CHECK(cut(&vh, f, len, 1500, out, 2) == 1);
	d = rte_pktmbuf_mtod(out[0], const uint8_t *);
	CHECK(ref_l4_sum(d + 14, d + l4, len - l4) == 0xffff);
	CHECK(get16(d + l4 + 6) != 0);
	rte_pktmbuf_free(out[0]);

	/* Without NEEDS_CSUM the frame passes byte for byte. */
	vh.flags = 0;
	CHECK(cut(&vh, f, len, 1500, out, 2) == 1);
	CHECK(memcmp(rte_pktmbuf_mtod(out[0], uint8_t *), f, len) == 0);
	rte_pktmbuf_free(out[0]);
}

static void test_bad(void)
{
	struct spec sp = { .payload = 3000, .flags = 0x10 };
	uint32_t l4, hdrs, len = build(big, &sp, &l4, &hdrs);
	struct virtio_net_hdr vh = gso_hdr(0, 1000, l4);
	struct ipop_seg s;

	vh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	CHECK(ipop_seg_begin(&s, &vh, big, len, 1500, ROOM) == -EINVAL);
	vh.gso_type = 5;   /* UDP_L4: not offered */
	CHECK(ipop_seg_begin(&s, &vh, big, len, 1500, ROOM) == -EINVAL);
	vh.gso_type = 2;   /* unknown */
	CHECK(ipop_seg_begin(&s, &vh, big, len, 1500, ROOM) == -EINVAL);
	vh = gso_hdr(0, 0, l4);
	CHECK(ipop_seg_begin(&s, &vh, big, len, 1500, ROOM) == -EINVAL);        /* gso_size 0 */
	vh = gso_hdr(1, 1000, l4);
	CHECK(ipop_seg_begin(&s, &vh, big, len, 1500, ROOM) == -EINVAL);        /* v6 type, v4 frame */
	vh = gso_hdr(0, 1000, l4);
	CHECK(ipop_seg_begin(&s, &vh, big, len - 1, 1500, ROOM) == -EINVAL);    /* IP length disagrees */
	CHECK(ipop_seg_begin(&s, &vh, big, l4 + 10, 1500, ROOM) == -EINVAL);    /* TCP header cut */
	CHECK(ipop_seg_begin(&s, &vh, big, 10, 1500, ROOM) == -EINVAL);         /* not even Ethernet */
	CHECK(ipop_seg_begin(&s, &vh, big, len, hdrs, ROOM) == -EINVAL);        /* no room for payload */
	big[14 + 9] = 17;
	CHECK(ipop_seg_begin(&s, &vh, big, len, 1500, ROOM) == -EINVAL);        /* not TCP */
	big[14 + 9] = 6;
	put16(big + 14 + 6, 0x2000);                                            /* MF */
	CHECK(ipop_seg_begin(&s, &vh, big, len, 1500, ROOM) == -EINVAL);
	struct virtio_net_hdr plain = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.csum_start = 1400, .csum_offset = 16 };
	CHECK(ipop_seg_begin(&s, &plain, big, 1410, 1500, ROOM) == -EINVAL);   /* field outside */
	plain.flags = 0;
	CHECK(ipop_seg_begin(&s, &plain, big, 1514, 1440, ROOM) == 0);         /* the dataplane fragments it */
	CHECK(ipop_seg_begin(&s, &plain, big, 1400, 1500, 1000) == -EMSGSIZE); /* beyond one mbuf */
	CHECK(ipop_seg_begin(&s, &plain, big, 1400, 1500, ROOM) == 0);
}

/* Segments of one flow: cut a TSO frame, then coalesce. */
static int make_run(const struct spec *sp, uint16_t gso, struct rte_mbuf **out, uint32_t *l4,
		    uint32_t *hdrs)
{
	uint32_t len = build(big, sp, l4, hdrs);
	struct virtio_net_hdr vh = gso_hdr(sp->ipv6, gso, *l4);

	return cut(&vh, big, len, 1500, out, 64);
}

/* The merged whole (pkts[0] + the rest's payloads) into buf; its length. */
static uint32_t merged(struct rte_mbuf **p, unsigned k, uint32_t hdrs, uint8_t *buf)
{
	uint32_t n = p[0]->data_len;

	memcpy(buf, rte_pktmbuf_mtod(p[0], uint8_t *), n);
	for (unsigned j = 1; j < k; j++) {
		memcpy(buf + n, rte_pktmbuf_mtod(p[j], uint8_t *) + hdrs, p[j]->data_len - hdrs);
		n += p[j]->data_len - hdrs;
	}
	return n;
}

static uint8_t whole[70000];

/* IPv6: a run merges into one TCPv6 segment the kernel can complete; a
 * different flow label or hop limit, an extension header, a bad checksum
 * or a family change ends it. */
static void test_gro6(void)
{
	struct spec s6 = { .ipv6 = 1, .tcp_opt = 12, .payload = 3500, .flags = 0x18, .seq = 7 };
	struct rte_mbuf *p[64];
	struct virtio_net_hdr vh;
	uint32_t l4, hdrs, hl;
	uint8_t orig[4000];

	int n = make_run(&s6, 1000, p, &l4, &hdrs);
	CHECK(n == 4 && l4 == 54);
	memcpy(orig, big, hdrs + s6.payload);
	/* The first frame shared (a flood's original whose copies are still to be
	 * sealed from it): left as it is, each frame written alone. */
	uint8_t h0[128];
	memcpy(h0, rte_pktmbuf_mtod(p[0], uint8_t *), hdrs);
	rte_mbuf_refcnt_update(p[0], 1);
	unsigned k = ipop_coalesce_run(p, 4, &vh, &hl);
	CHECK(k == 1 && vh.gso_type == VIRTIO_NET_HDR_GSO_NONE);
	CHECK(memcmp(rte_pktmbuf_mtod(p[0], uint8_t *), h0, hdrs) == 0);
	rte_mbuf_refcnt_update(p[0], -1);
	k = ipop_coalesce_run(p, 4, &vh, &hl);
	CHECK(k == 4 && hl == hdrs);
	CHECK(vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV6 && vh.gso_size == 1000);
	CHECK(vh.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM && vh.csum_start == 54 && vh.csum_offset == 16);
	CHECK(vh.hdr_len == hdrs);
	uint32_t len = merged(p, k, hl, whole);
	CHECK(len == hdrs + s6.payload);
	CHECK(memcmp(whole + hdrs, orig + hdrs, s6.payload) == 0);
	CHECK(get16(whole + 14 + 4) == len - 54);   /* payload length of the whole */
	CHECK(memcmp(whole + 14, orig + 14, 4) == 0 && memcmp(whole + 20, orig + 20, 34) == 0);
	CHECK(get32(whole + l4 + 4) == 7 && whole[l4 + 13] == 0x18);
	uint16_t c = (uint16_t)~ref_sum16(whole + l4, len - l4, 0);
	put16(whole + l4 + 16, c);
	CHECK(ref_l4_sum6(whole + 14, whole + l4, len - l4) == 0xffff);
	free_all(p, 4);

	/* 44 full segments: one merged segment, its payload length below 65536. */
	s6.payload = 62000;
	s6.flags = 0x10;
	n = make_run(&s6, 1400, p, &l4, &hdrs);
	k = ipop_coalesce_run(p, (unsigned)n, &vh, &hl);
	CHECK(k == (unsigned)n && merged(p, k, hl, whole) - 54 <= 65535);
	free_all(p, (unsigned)n);

	/* What ends a run: each edit on the third of four (checksums fixed
	 * after it, so only the edit is judged), and a bad checksum. */
	s6.payload = 4000;
	for (int what = 0; what < 5; what++) {
		n = make_run(&s6, 1000, p, &l4, &hdrs);
		uint8_t *x = rte_pktmbuf_mtod(p[2], uint8_t *);
		unsigned want = 2;
		switch (what) {
		case 0: x[14 + 3] ^= 0x01; break;   /* another flow label */
		case 1: x[14 + 7] = 63; break;      /* another hop limit */
		case 2: x[14 + 6] = 0; want = 2; break;   /* hop-by-hop header first: not TCP */
		case 3: x[14 + 1] ^= 0x40; break;   /* another traffic class */
		case 4: x[hdrs + 9] ^= 1; break;    /* a payload bit: wrong checksum */
		}
		if (what != 4) {
			put16(x + l4 + 16, 0);
			put16(x + l4 + 16, (uint16_t)~ref_l4_sum6(x + 14, x + l4, p[2]->data_len - l4));
		}
		unsigned got = ipop_coalesce_run(p, 4, &vh, &hl);
		if (got != want)
			fprintf(stderr, "gro6 case %d: %u merged, want %u\n", what, got, want);
		CHECK(got == want && vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV6);
		free_all(p, (unsigned)n);
	}
	/* An IPv4 run then an IPv6 one: the family ends the first. */
	struct spec s4 = { .payload = 2000, .flags = 0x10, .seq = 7 };
	struct rte_mbuf *q[8];
	n = make_run(&s4, 1000, p, &l4, &hdrs);
	int n6 = make_run(&s6, 1000, q, &l4, &hdrs);
	CHECK(n == 2 && n6 == 4);
	p[2] = q[0];
	CHECK(ipop_coalesce_run(p, 3, &vh, &hl) == 2 && vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV4);
	free_all(p, 3);
	free_all(q + 1, 3);
}

static void test_gro(void)
{
	struct spec sp = { .tcp_opt = 12, .payload = 3500, .flags = 0x18, .ip_id = 10, .seq = 100 };
	struct rte_mbuf *p[160];
	struct virtio_net_hdr vh;
	uint32_t l4, hdrs, hl;
	uint8_t orig[4000];

	int n = make_run(&sp, 1000, p, &l4, &hdrs);
	CHECK(n == 4);
	memcpy(orig, big, hdrs + sp.payload);
	/* The first frame shared (a flood's original whose copies are still to be
	 * sealed from it): left as it is, each frame written alone. */
	uint8_t h0[128];
	memcpy(h0, rte_pktmbuf_mtod(p[0], uint8_t *), hdrs);
	rte_mbuf_refcnt_update(p[0], 1);
	unsigned k = ipop_coalesce_run(p, 4, &vh, &hl);
	CHECK(k == 1 && vh.gso_type == VIRTIO_NET_HDR_GSO_NONE);
	CHECK(memcmp(rte_pktmbuf_mtod(p[0], uint8_t *), h0, hdrs) == 0);
	rte_mbuf_refcnt_update(p[0], -1);
	k = ipop_coalesce_run(p, 4, &vh, &hl);
	CHECK(k == 4 && hl == hdrs);
	CHECK(vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && vh.gso_size == 1000);
	CHECK(vh.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM && vh.csum_start == l4 && vh.csum_offset == 16);
	CHECK(vh.hdr_len == hdrs);
	uint32_t len = merged(p, k, hl, whole);
	CHECK(len == hdrs + sp.payload);
	CHECK(memcmp(whole + hdrs, orig + hdrs, sp.payload) == 0);
	CHECK(get16(whole + 14 + 2) == len - 14 && ref_ip_csum_ok(whole + 14));
	CHECK(get32(whole + l4 + 4) == 100);
	CHECK(whole[l4 + 13] == 0x18);   /* PSH of the last */
	/* The kernel completes it: the sum from csum_start over the whole, the
	 * field holding the pseudo-header sum, complemented. */
	uint16_t c = (uint16_t)~ref_sum16(whole + l4, len - l4, 0);
	put16(whole + l4 + 16, c);
	CHECK(ref_l4_sum(whole + 14, whole + l4, len - l4) == 0xffff);
	free_all(p, 4);

	/* A run of 64 KiB: stops before 65535 bytes of IP. */
	sp.payload = 62000;
	sp.flags = 0x10;
	n = make_run(&sp, 1434, p, &l4, &hdrs);
	CHECK(n == 44);
	k = ipop_coalesce_run(p, (unsigned)n, &vh, &hl);
	CHECK(k == 44 && merged(p, k, hl, whole) - 14 == 62000 + hdrs - 14);
	free_all(p, (unsigned)n);
	/* Two runs back to back (one flow): the first stops below 65535 bytes. */
	n = make_run(&sp, 1434, p, &l4, &hdrs);
	sp.seq += 62000;
	int n2 = make_run(&sp, 1434, p + n, &l4, &hdrs);
	sp.seq = 100;
	CHECK(n2 == 44);
	/* The first run's last (short) frame ends it: it is followed by nothing
	 * in order. Make it full-size by dropping it and asking for the rest. */
	k = ipop_coalesce_run(p + 44, 44, &vh, &hl);
	CHECK(k == 44);
	free_all(p, (unsigned)(n + n2));
	struct rte_mbuf *q[64];
	sp.payload = 40 * 1434;
	n = make_run(&sp, 1434, p, &l4, &hdrs);
	sp.seq += 40 * 1434;
	n2 = make_run(&sp, 1434, q, &l4, &hdrs);
	sp.seq = 100;
	CHECK(n == 40 && n2 == 40);
	struct rte_mbuf *r[64];
	memcpy(r, p, 40 * sizeof(*r));
	memcpy(r + 40, q, 24 * sizeof(*r));
	k = ipop_coalesce_run(r, 64, &vh, &hl);
	CHECK(k == (65535u - (hdrs - 14)) / 1434 && merged(r, k, hl, whole) - 14 <= IPOP_GRO_MAX_IP);
	free_all(p, 40);
	free_all(q, 40);

	/* What breaks a run. */
	sp.payload = 4000;
	sp.flags = 0x10;
	n = make_run(&sp, 1000, p, &l4, &hdrs);
	CHECK(n == 4);
	rte_pktmbuf_mtod(p[2], uint8_t *)[hdrs + 5] ^= 1;   /* wrong checksum in the third */
	CHECK(ipop_coalesce_run(p, 4, &vh, &hl) == 2);
	free_all(p, 4);
	n = make_run(&sp, 1000, p, &l4, &hdrs);
	rte_pktmbuf_mtod(p[0], uint8_t *)[hdrs] ^= 1;       /* ... in the first: nothing merges */
	CHECK(ipop_coalesce_run(p, 4, &vh, &hl) == 1 && vh.gso_type == 0 && hl == 0);
	free_all(p, 4);
	n = make_run(&sp, 1000, p, &l4, &hdrs);
	rte_pktmbuf_mtod(p[1], uint8_t *)[14 + 10] ^= 1;    /* a bad IPv4 header checksum */
	CHECK(ipop_coalesce_run(p, 4, &vh, &hl) == 1);
	free_all(p, 4);
	n = make_run(&sp, 1000, p, &l4, &hdrs);
	CHECK(ipop_coalesce_run(p, 1, &vh, &hl) == 1);    /* one frame */
	CHECK(ipop_coalesce_run(p + 1, 3, &vh, &hl) == 3); /* any start in order */
	free_all(p, 4);

	/* Out of order, another flow, other options, FIN, PSH in the middle. */
	static const struct { int what; unsigned want; } cases[] = {
		{ 0, 1 }, { 1, 2 }, { 2, 2 }, { 3, 3 }, { 4, 2 }, { 5, 1 }, { 6, 2 }, { 7, 1 },
	};
	for (unsigned c2 = 0; c2 < RTE_DIM(cases); c2++) {
		n = make_run(&sp, 1000, p, &l4, &hdrs);
		uint8_t *x = rte_pktmbuf_mtod(p[2], uint8_t *);
		uint8_t *y = rte_pktmbuf_mtod(p[1], uint8_t *);
		switch (cases[c2].what) {
		case 0: { struct rte_mbuf *t = p[0]; p[0] = p[1]; p[1] = t; break; }  /* 2nd then 1st */
		case 1: put16(x + l4, 40001); break;                                   /* other port */
		case 2: x[l4 + 22] ^= 0xff; break;                                     /* other option bytes */
		case 3: x[l4 + 13] |= 0x08; break;                                     /* PSH: ends after it */
		case 4: x[l4 + 13] |= 0x01; break;                                     /* FIN: not merged */
		case 5: put16(rte_pktmbuf_mtod(p[0], uint8_t *) + 12, 0x86dd); break;  /* not IPv4 */
		case 6: x[14 + 1] = 4; break;                                          /* other TOS */
		case 7: y[l4 + 13] |= 0x08; p[0]->data_len = p[0]->data_len; y[l4 + 13] &= (uint8_t)~0x08;
			{ uint8_t *z = rte_pktmbuf_mtod(p[0], uint8_t *); z[l4 + 13] |= 0x08; } break; /* PSH on the first */
		}
		/* Fix the checksums the edits broke, so only the edit is judged. */
		for (int i = 0; i < n && cases[c2].what != 5; i++) {
			uint8_t *d = rte_pktmbuf_mtod(p[i], uint8_t *);
			ref_ip_csum_set(d + 14);
			put16(d + l4 + 16, 0);
			put16(d + l4 + 16, (uint16_t)~ref_l4_sum(d + 14, d + l4, p[i]->data_len - l4));
		}
		unsigned got = ipop_coalesce_run(p, (unsigned)n, &vh, &hl);
		if (got != cases[c2].want)
			fprintf(stderr, "case %d: %u merged, want %u\n", cases[c2].what, got, cases[c2].want);
		CHECK(got == cases[c2].want);
		free_all(p, (unsigned)n);
	}

	test_gro6();
}

int main(int argc, char **argv)
{
	(void)argc;
	if (test_eal_start(argv[0], "warning") < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("off_pool", 1023, 0, 0, ROOM + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
	if (pool == NULL)
		return 1;
	test_cut();
	test_cut_cap();
	test_csum();
	test_bad();
	test_gro();
	CHECK(rte_mempool_avail_count(pool) == 1023);   /* every mbuf back */
	return check_report("offload");
}

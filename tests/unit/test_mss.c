/* test_mss.c - TCP MSS clamping (dataplane/mss.c) on real Ethernet/IPv4/TCP
 * frames. The checksums are built and verified here with a plain RFC 1071 sum
 * over the pseudo-header and the segment, independently of DPDK's helpers.
 * Pure: no EAL. */
#include "tests/unit/check.h"
#include "tests/unit/refsum.h"
#include "dataplane/datapath.h"

#include <stdlib.h>
#include <string.h>

#define CLAMP 1386

/* ---- independent checksum (RFC 1071) ---- */

static int ip_ok(const uint8_t *ip)
{
	return ref_ip_csum_ok(ip);
}

/* Checksum of the frame's TCP segment (length from the IPv4 header). */
static int tcp_ok(const uint8_t *frame)
{
	const uint8_t *ip = frame + 14;
	uint32_t ihl = (uint32_t)(ip[0] & 0xf) * 4;
	uint32_t tot = (uint32_t)ip[2] << 8 | ip[3];

	return ref_l4_sum(ip, ip + ihl, tot - ihl) == 0xffff;
}

static uint16_t mss_at(const uint8_t *frame, uint32_t off)
{
	return (uint16_t)(frame[off] << 8 | frame[off + 1]);
}

/* ---- frame builder ---- */

struct syn {
	const uint8_t *opts;     /* TCP options, padded by the caller to 4 bytes */
	uint32_t optlen;
	uint8_t flags;           /* TCP flags byte */
	uint32_t ip_optlen;      /* IPv4 options (NOPs), multiple of 4 */
	uint32_t payload;        /* TCP payload bytes */
	uint16_t frag;           /* IPv4 flags/fragment offset field, host order */
	uint8_t proto;
	uint32_t seed;           /* varies addresses, ports, sequence numbers */
};

/* Writes the frame to f, returns its length; the MSS value offset (if the
 * options hold one at mss_opt_off) is f + 14 + ihl + 20 + mss_opt_off + 2. */
static uint32_t build(uint8_t *f, const struct syn *s)
{
	uint32_t ihl = 20 + s->ip_optlen, thl = 20 + s->optlen;
	uint32_t tot = ihl + thl + s->payload;
	uint8_t *ip = f + 14, *tcp = ip + ihl;
	uint32_t x = s->seed * 2654435761u;

	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	memset(ip, 0, ihl);
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[4] = (uint8_t)(x >> 3);
	ip[6] = (uint8_t)(s->frag >> 8);
	ip[7] = (uint8_t)s->frag;
	ip[8] = 64;
	ip[9] = s->proto ? s->proto : 6;
	ip[12] = 10, ip[13] = (uint8_t)x, ip[14] = (uint8_t)(x >> 8), ip[15] = 1;
	ip[16] = 10, ip[17] = (uint8_t)(x >> 16), ip[18] = (uint8_t)(x >> 24), ip[19] = 2;
	memset(ip + 20, 1, s->ip_optlen);       /* IP NOP options */
	uint32_t ck = ref_sum16(ip, ihl, 0) ^ 0xffff;
	ip[10] = (uint8_t)(ck >> 8);
	ip[11] = (uint8_t)ck;

	memset(tcp, 0, thl);
	tcp[0] = (uint8_t)(x >> 5), tcp[1] = (uint8_t)(x >> 13);        /* ports */
	tcp[2] = 0x01, tcp[3] = 0xbb;
	for (int i = 0; i < 4; i++)
		tcp[4 + i] = (uint8_t)(x >> (8 * i) ^ 0x5a);               /* seq */
	tcp[12] = (uint8_t)(thl / 4 << 4);
	tcp[13] = s->flags;
	tcp[14] = 0xfa, tcp[15] = (uint8_t)x;                         /* window */
	memcpy(tcp + 20, s->opts, s->optlen);
	for (uint32_t i = 0; i < s->payload; i++)
		tcp[thl + i] = (uint8_t)(i * 7 + x);
	ck = ref_l4_sum(ip, tcp, thl + s->payload) ^ 0xffff;
	tcp[16] = (uint8_t)(ck >> 8);
	tcp[17] = (uint8_t)ck;
	return 14 + tot;
}

#define SYN 0x02
#define ACK 0x10

/* Clamp a copy; check the result, the new MSS and both checksums. */
static void expect_clamp(const struct syn *s, uint32_t mss_off_in_opts, uint16_t want_mss)
{
	uint8_t f[2048], orig[2048];
	uint32_t len = build(f, s);
	uint32_t off = 14 + 20 + s->ip_optlen + 20 + mss_off_in_opts + 2;

	memcpy(orig, f, len);
	CHECK(tcp_ok(f) && ip_ok(f + 14));       /* the builder itself is right */
	CHECK(ipop_mss_clamp(f, len, CLAMP) == 1);
	CHECK(mss_at(f, off) == want_mss);
	CHECK(tcp_ok(f));
	CHECK(ip_ok(f + 14));
	/* Nothing but the MSS value and the TCP checksum changed. */
	uint32_t tcp_off = 14 + 20 + s->ip_optlen;
	for (uint32_t i = 0; i < len; i++)
		if (i != off && i != off + 1 && i != tcp_off + 16 && i != tcp_off + 17 && f[i] != orig[i]) {
			CHECK(!"byte changed");
			break;
		}
}

static void expect_untouched(const uint8_t *f0, uint32_t len, const char *why)
{
	uint8_t f[2048];

	memcpy(f, f0, len);
	int r = ipop_mss_clamp(f, len, CLAMP);
	CHECK(r == 0);
	CHECK(memcmp(f, f0, len) == 0);
	if (r != 0 || memcmp(f, f0, len) != 0)
		fprintf(stderr, "  (case: %s)\n", why);
}

static void test_offsets(void)
{
	/* Linux's SYN: MSS, SACK-permitted, timestamps, NOP, window scale. */
	static const uint8_t linux_opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4,
						0, 0, 0, 0, 1, 3, 3, 7 };
	struct syn s = { .opts = linux_opts, .optlen = 20, .flags = SYN };
	expect_clamp(&s, 0, CLAMP);                               /* even offset */

	/* Shift the MSS by 0..3 NOPs: values at even and odd offsets. */
	for (uint32_t nops = 0; nops < 4; nops++) {
		uint8_t o[12];
		memset(o, 1, sizeof(o));
		o[nops] = 2, o[nops + 1] = 4, o[nops + 2] = 0x05, o[nops + 3] = 0xb4;
		s = (struct syn){ .opts = o, .optlen = 8, .flags = SYN };
		expect_clamp(&s, nops, CLAMP);
		s.flags = SYN | ACK;                                  /* SYN-ACK too */
		expect_clamp(&s, nops, CLAMP);
		s.ip_optlen = 4;                                      /* with IP options */
		expect_clamp(&s, nops, CLAMP);
		s.ip_optlen = 0;
		s.payload = 33;                                       /* odd segment length */
		expect_clamp(&s, nops, CLAMP);
	}
	/* MSS after another option (window scale, 3 bytes) lands at offset 3. */
	static const uint8_t ws_first[8] = { 3, 3, 7, 2, 4, 0xff, 0xff, 0 };
	s = (struct syn){ .opts = ws_first, .optlen = 8, .flags = SYN };
	expect_clamp(&s, 3, CLAMP);
}

/* Many random SYNs, both alignments, many MSS values: the checksum must verify
 * after every clamp (this catches an off-by-one in the 0x0000/0xffff cases). */
static void test_random(void)
{
	unsigned bad = 0, clamped = 0;

	for (uint32_t i = 0; i < 40000; i++) {
		uint8_t o[8], f[256];
		uint32_t nops = i & 3;
		uint16_t mss = (uint16_t)(CLAMP + 1 + (i * 7919u) % (65535 - CLAMP - 1));
		memset(o, 1, sizeof(o));
		o[nops] = 2, o[nops + 1] = 4, o[nops + 2] = (uint8_t)(mss >> 8), o[nops + 3] = (uint8_t)mss;
		struct syn s = { .opts = o, .optlen = 8, .flags = SYN, .seed = i,
				 .payload = i % 5 };
		uint32_t len = build(f, &s);
		if (ipop_mss_clamp(f, len, CLAMP) == 1)
			clamped++;
		if (!tcp_ok(f) || mss_at(f, 14 + 20 + 20 + nops + 2) != CLAMP)
			bad++;
	}
	CHECK(clamped == 40000);
	CHECK(bad == 0);
}

static void test_not_applicable(void)
{
	uint8_t f[2048];
	uint32_t len;
	uint8_t o[8] = { 2, 4, 0x05, 0xb4, 1, 1, 1, 0 };
	struct syn s = { .opts = o, .optlen = 8, .flags = SYN };

	/* MSS at or below the clamp stays. */
	o[2] = 0x04, o[3] = 0xb0;                                     /* 1200 */
	len = build(f, &s);
	expect_untouched(f, len, "mss below");
	o[2] = CLAMP >> 8, o[3] = CLAMP & 0xff;
	len = build(f, &s);
	expect_untouched(f, len, "mss equal");
	o[2] = 0x05, o[3] = 0xb4;

	/* Not a SYN. */
	s.flags = ACK;
	len = build(f, &s);
	expect_untouched(f, len, "ack");
	s.flags = 0x01 | ACK;                                          /* FIN-ACK */
	len = build(f, &s);
	expect_untouched(f, len, "fin");
	s.flags = SYN;

	/* Not TCP: UDP (17) and ICMP (1) whose bytes look like a SYN with MSS. */
	s.proto = 17;
	len = build(f, &s);
	expect_untouched(f, len, "udp");
	s.proto = 1;
	len = build(f, &s);
	expect_untouched(f, len, "icmp");
	s.proto = 0;

	/* Not IPv4: IPv6 ethertype, ARP, and an 802.1Q-tagged IPv4 SYN. VLAN frames
	 * are deliberately not parsed (documented behaviour: a tagged SYN passes
	 * unclamped, its segments then rely on outer fragmentation). */
	len = build(f, &s);
	f[12] = 0x86, f[13] = 0xdd;
	expect_untouched(f, len, "ipv6");
	f[12] = 0x08, f[13] = 0x06;
	expect_untouched(f, len, "arp");
	uint8_t v[2048];
	len = build(f, &s);
	memcpy(v, f, 12);
	memcpy(v + 12, "\x81\x00\x00\x05", 4);
	memcpy(v + 16, f + 12, len - 12);
	expect_untouched(v, len + 4, "vlan");

	/* Too short for Ethernet + IPv4 + TCP, or cut inside the options. */
	len = build(f, &s);
	for (uint32_t cut = 0; cut < len; cut++)
		expect_untouched(f, cut, "truncated");
	/* data_off claims more option bytes than the frame holds. */
	len = build(f, &s);
	f[14 + 20 + 12] = 0xf0;                                       /* 60-byte header */
	expect_untouched(f, len, "data_off beyond frame");
	/* data_off below 5 words, IHL below 5 words. */
	len = build(f, &s);
	f[14 + 20 + 12] = 0x40;
	expect_untouched(f, len, "data_off < 5");
	len = build(f, &s);
	f[14] = 0x44;
	expect_untouched(f, len, "ihl < 5");
}

static void test_bad_options(void)
{
	uint8_t f[2048];
	uint32_t len;
	struct syn s = { .optlen = 8, .flags = SYN };

	/* Each must return (not loop) and leave the frame alone. */
	static const uint8_t cases[][8] = {
		{ 8, 0, 2, 4, 0x05, 0xb4, 0, 0 },       /* option length 0 */
		{ 8, 1, 2, 4, 0x05, 0xb4, 0, 0 },       /* option length 1 */
		{ 1, 1, 1, 1, 1, 1, 1, 2 },             /* kind 2 in the last byte */
		{ 1, 1, 1, 1, 1, 1, 2, 4 },             /* MSS value past the header */
		{ 1, 1, 1, 1, 1, 2, 4, 0x05 },          /* MSS value half past */
		{ 0, 0, 2, 4, 0x05, 0xb4, 0, 0 },       /* end-of-options before MSS */
		{ 2, 3, 0x05, 0xb4, 0, 0, 0, 0 },       /* MSS with length 3 */
		{ 2, 5, 0x05, 0xb4, 0, 0, 0, 0 },       /* MSS with length 5 */
		{ 8, 10, 1, 1, 2, 4, 0x05, 0xb4 },      /* option swallowing the MSS */
		{ 8, 9, 1, 1, 2, 4, 0x05, 0xb4 },       /* option running past the end */
		{ 1, 1, 1, 1, 1, 1, 1, 1 },             /* only NOPs */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s.opts = cases[i];
		len = build(f, &s);
		expect_untouched(f, len, "bad options");
	}
	/* No options at all. */
	s.optlen = 0;
	len = build(f, &s);
	expect_untouched(f, len, "no options");
	/* A SACK block before the MSS is skipped correctly. */
	static const uint8_t sack_first[12] = { 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1 };
	uint8_t o[16];
	memcpy(o, sack_first, 12);
	memcpy(o + 12, "\x02\x04\x05\xb4", 4);
	s = (struct syn){ .opts = o, .optlen = 16, .flags = SYN };
	expect_clamp(&s, 12, CLAMP);
}

static void test_fragments(void)
{
	uint8_t f[2048];
	uint32_t len;
	uint8_t o[8] = { 2, 4, 0x05, 0xb4, 1, 1, 1, 0 };
	struct syn s = { .opts = o, .optlen = 8, .flags = SYN };

	/* A later fragment holds no TCP header: bytes that look like one are data. */
	s.frag = 0x2000 | 185;                                        /* MF, offset 1480 */
	len = build(f, &s);
	expect_untouched(f, len, "later fragment");
	s.frag = 7;                                                   /* last fragment */
	len = build(f, &s);
	expect_untouched(f, len, "last fragment");
	/* DF set is an ordinary unfragmented SYN. */
	s.frag = 0x4000;
	expect_clamp(&s, 0, CLAMP);

	/* The first fragment (MF, offset 0) of a SYN carrying data holds the whole
	 * TCP header. If it is clamped, the TCP checksum must still be right for
	 * the whole segment (which the receiver reassembles), for the MSS at an
	 * even and at an odd offset. Here: a 600-byte segment cut after 64 bytes. */
	for (uint32_t nops = 0; nops < 2; nops++) {
		uint8_t whole[2048], opts[8];
		memset(opts, 1, sizeof(opts));
		memcpy(opts + nops, "\x02\x04\x05\xb4", 4);
		s = (struct syn){ .opts = opts, .optlen = 8, .flags = SYN, .payload = 572 };
		uint32_t wlen = build(whole, &s);
		uint32_t frag_tot = 20 + 64;
		memcpy(f, whole, 14 + frag_tot);
		f[14 + 2] = (uint8_t)(frag_tot >> 8);
		f[14 + 3] = (uint8_t)frag_tot;
		f[14 + 6] = 0x20;                                     /* MF */
		f[14 + 10] = f[14 + 11] = 0;
		uint32_t ck = ref_sum16(f + 14, 20, 0) ^ 0xffff;
		f[14 + 10] = (uint8_t)(ck >> 8);
		f[14 + 11] = (uint8_t)ck;
		int r = ipop_mss_clamp(f, 14 + frag_tot, CLAMP);
		/* Reassemble: clamped first fragment + the rest of the original. */
		memcpy(whole + 14 + 20, f + 14 + 20, 64);
		CHECK(r == 0 || r == 1);
		CHECK(ref_l4_sum(whole + 14, whole + 34, wlen - 34) == 0xffff);
		if (ref_l4_sum(whole + 14, whole + 34, wlen - 34) != 0xffff)
			fprintf(stderr, "  (first fragment, MSS value at %s offset: checksum broken)\n",
				nops ? "odd" : "even");
	}
}

/* The IPv4 total length is not to be trusted: a SYN whose total length claims
 * more bytes than the frame has must not make the clamp read past the frame.
 * Detected without a sanitizer by changing the bytes after the frame: the
 * result must not depend on them. */
static void test_lying_length(void)
{
	for (uint32_t nops = 0; nops < 2; nops++) {
		uint8_t o[8], a[4096], b[4096];
		memset(o, 1, sizeof(o));
		memcpy(o + nops, "\x02\x04\x05\xb4", 4);
		struct syn s = { .opts = o, .optlen = 8, .flags = SYN };
		uint32_t len = build(a, &s);
		a[14 + 2] = 0x0f, a[14 + 3] = 0xa0;                   /* 4000 bytes */
		memset(a + len, 0x00, sizeof(a) - len);
		memcpy(b, a, sizeof(a));
		memset(b + len, 0xa5, sizeof(b) - len);
		int ra = ipop_mss_clamp(a, len, CLAMP);
		int rb = ipop_mss_clamp(b, len, CLAMP);
		CHECK(ra == rb);
		CHECK(memcmp(a, b, len) == 0);
		if (memcmp(a, b, len) != 0)
			fprintf(stderr, "  (MSS value at %s offset: result depends on bytes past the frame)\n",
				nops ? "odd" : "even");
	}
}

int main(void)
{
	test_offsets();
	test_random();
	test_not_applicable();
	test_bad_options();
	test_fragments();
	test_lying_length();
	return check_report("mss");
}

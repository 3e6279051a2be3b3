/* fuzz_encap.c - libFuzzer target: ipop_encap_parse (dataplane/encap.c), the
 * outer Ethernet/IPv4/UDP parser of every WAN packet. Checks that what it
 * accepts lies inside the frame and is what encap.h promises, and that
 * ipop_encap_write's output for the same addresses parses back. Thread: one. */
#include "dataplane/encap.h"
#include "dataplane/wire.h"

#include <stdlib.h>
#include <string.h>
#include <rte_byteorder.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void check_accepted(const uint8_t *p, uint32_t len, uint32_t ip_off, uint32_t off,
			   uint32_t plen)
{
	const uint8_t *ip = p + ip_off;

	if (ip_off != 14 || off < 14 + 20 + 8 || off > len || plen > len - off)
		abort();
	if ((ip[0] >> 4) != 4 || ip[9] != 17 || (rte_be_to_cpu_16(*(const uint16_t *)(ip + 6)) & 0x3fff))
		abort();
	if (off != 14 + (uint32_t)(ip[0] & 0xf) * 4 + 8)
		abort();
	/* Touch every payload byte: an out-of-bounds range is an ASan report. */
	uint8_t x = 0;
	for (uint32_t i = 0; i < plen; i++)
		x ^= p[off + i];
	sink = x;
}

/* Rewrite the accepted packet's headers with ipop_encap_write; it must parse
 * back to the same payload. */
static void check_roundtrip(const uint8_t *p, uint32_t off, uint32_t plen)
{
	struct ipop_encap_addr a;
	uint8_t *q = malloc(IPOP_OUTER_HDR_LEN + plen);
	uint32_t ip_off, off2, plen2;

	if (q == NULL)
		return;
	memcpy(a.dst_mac.addr_bytes, p, 6);
	memcpy(a.src_mac.addr_bytes, p + 6, 6);
	memcpy(&a.src_ip, p + 14 + 12, 4);
	memcpy(&a.dst_ip, p + 14 + 16, 4);
	memcpy(&a.src_port, p + off - 8, 2);
	memcpy(&a.dst_port, p + off - 6, 2);
	ipop_encap_write(q, &a, (uint16_t)plen, 7);
	memcpy(q + IPOP_OUTER_HDR_LEN, p + off, plen);
	if (ipop_encap_parse(q, IPOP_OUTER_HDR_LEN + plen, &ip_off, &off2, &plen2) != 0 ||
	    off2 != IPOP_OUTER_HDR_LEN || plen2 != plen)
		abort();
	free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t ip_off = 0, off = 0, plen = 0;
	uint8_t *p;

	if (size > 65536)
		return 0;
	p = malloc(size ? size : 1);        /* exact size: over-reads are reported */
	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	if (ipop_encap_parse(p, (uint32_t)size, &ip_off, &off, &plen) == 0) {
		check_accepted(p, (uint32_t)size, ip_off, off, plen);
		if (plen <= 65535 - 28)
			check_roundtrip(p, off, plen);
	}
	free(p);
	return 0;
}

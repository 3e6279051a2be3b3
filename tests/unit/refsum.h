/* refsum.h - reference Internet checksums (RFC 1071) for the tests and fuzz
 * targets: written from the RFC, byte by byte, independent of dataplane/ and of
 * DPDK, so that they can judge the checksums the code under test writes. */
#ifndef IPOP_TESTS_REFSUM_H
#define IPOP_TESTS_REFSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Ones'-complement sum of big-endian 16-bit words over p[0..n) added to acc,
 * folded to 16 bits (an odd last byte is the high byte of a word). */
static inline uint16_t ref_sum16(const uint8_t *p, size_t n, uint32_t acc)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The sum over the IPv4 header (its IHL): 0xffff when its checksum is right. */
static inline uint16_t ref_ip_sum(const uint8_t *ip)
{
	return ref_sum16(ip, (size_t)(ip[0] & 0xf) * 4, 0);
}

static inline int ref_ip_csum_ok(const uint8_t *ip)
{
	return ref_ip_sum(ip) == 0xffff;
}

/* Write a right checksum into the IPv4 header at ip. */
static inline void ref_ip_csum_set(uint8_t *ip)
{
	ip[10] = ip[11] = 0;
	uint16_t c = (uint16_t)~ref_ip_sum(ip);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}

/* The sum over the IPv4 pseudo-header (addresses and protocol of ip) and the
 * seg_len bytes of the transport segment at seg: 0xffff when the segment's
 * checksum is right; with the checksum field zero, ~ of it is the checksum. */
static inline uint16_t ref_l4_sum(const uint8_t *ip, const uint8_t *seg, uint32_t seg_len)
{
	uint8_t ph[12];

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = ip[9];
	ph[10] = (uint8_t)(seg_len >> 8);
	ph[11] = (uint8_t)seg_len;
	return ref_sum16(seg, seg_len, ref_sum16(ph, sizeof(ph), 0));
}

#endif

/* fuzz_mss.c - libFuzzer target: ipop_mss_clamp (dataplane/mss.c) on a copy of
 * a fuzzed Ethernet frame. Input: 2 bytes of clamp value (big-endian), then
 * the frame. Checks: nothing outside the MSS value and the TCP checksum ever
 * changes; a change lowers the MSS to the clamp; and a well-formed,
 * unfragmented segment whose checksum verified still verifies (checked with an
 * independent RFC 1071 sum). Thread: one. */
#include "dataplane/datapath.h"
#include "tests/unit/refsum.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 if f is Ethernet/IPv4/TCP, unfragmented, its IPv4 total length inside the
 * frame, and its TCP checksum verifies; 0 otherwise. */
static int tcp_valid(const uint8_t *f, size_t len)
{
	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return 0;
	const uint8_t *ip = f + 14;
	uint32_t ihl = (uint32_t)(ip[0] & 0xf) * 4, tot = (uint32_t)ip[2] << 8 | ip[3];
	if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 || tot < ihl + 20 || 14 + tot > len ||
	    ((ip[6] & 0x3f) | ip[7]) != 0)
		return 0;
	return ref_l4_sum(ip, ip + ihl, tot - ihl) == 0xffff;
}

/* r == 1: the only bytes changed besides the checksum are an MSS option's
 * value, now mss and before larger. */
static int change_ok(const uint8_t *o, const uint8_t *f, size_t len, uint16_t mss)
{
	uint32_t tcp = 14 + (uint32_t)(o[14] & 0xf) * 4;
	size_t lo = SIZE_MAX, hi = 0;

	for (size_t i = 0; i < len; i++) {
		if (f[i] == o[i] || i == tcp + 16 || i == tcp + 17)
			continue;
		if (lo == SIZE_MAX)
			lo = i;
		hi = i;
	}
	if (lo == SIZE_MAX || hi > lo + 1)
		return 0;
	for (size_t v = lo ? lo - 1 : 0; v <= lo; v++) {
		if (v < tcp + 22 || v + 1 >= len || hi > v + 1)
			continue;
		if (o[v - 2] == 2 && o[v - 1] == 4 && (uint16_t)(f[v] << 8 | f[v + 1]) == mss &&
		    (uint16_t)(o[v] << 8 | o[v + 1]) > mss)
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 65536)
		return 0;
	uint16_t mss = (uint16_t)(data[0] << 8 | data[1]);
	size_t len = size - 2;
	const uint8_t *o = data + 2;
	uint8_t *f = malloc(len ? len : 1);   /* exact size: over-reads are reported */
	if (f == NULL)
		return 0;
	memcpy(f, o, len);
	int valid = tcp_valid(f, len);
	int r = ipop_mss_clamp(f, (uint32_t)len, mss);
	if (r == 0 && memcmp(f, o, len) != 0)
		abort();                       /* "not applicable" but bytes changed */
	if (r != 0 && r != 1)
		abort();
	if (r == 1 && !change_ok(o, f, len, mss))
		abort();
	if (r == 1 && valid && !tcp_valid(f, len))
		abort();                       /* clamping broke a valid checksum */
	free(f);
	return 0;
}

/* fuzz_stun.c - libFuzzer target: ipop_stun_parse (control/link/turn_watch.c),
 * the parser of the STUN messages between the ICE agents' ports and the TURN
 * server that the workers copy to control. Checks that what it accepts is
 * what turn_watch.h promises (class and method in range, an error code of
 * 300-699, a printable NUL-terminated reason), and feeds the input to a watch
 * as a request from an agent's port and as a response to it. Thread: one. */
#include "control/link/turn_watch.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/encap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct ipop_stun_info *s)
{
	if (s->cls > IPOP_STUN_ERROR || s->method > 0xfff)
		abort();
	if (s->error_code != 0 && (s->error_code < 300 || s->error_code > 699))
		abort();
	size_t n = strnlen(s->reason, sizeof(s->reason));
	if (n == sizeof(s->reason))
		abort();
	for (size_t i = 0; i < n; i++)
		if (s->reason[i] < 0x20 || s->reason[i] > 0x7e)
			abort();
}

/* data as the UDP payload of a frame between 10.0.0.1:5801 and 10.0.0.2:3478. */
static void feed(struct ipop_turn_watch *w, const uint8_t *data, size_t size, bool out)
{
	static uint8_t buf[IPOP_ENCAP_HDR_LEN + 2048];
	struct rte_mbuf mb;
	struct ipop_encap_addr a = {
		.src_ip = out ? 0x0100000a : 0x0200000a, .dst_ip = out ? 0x0200000a : 0x0100000a,
		.src_port = htons(out ? 5801 : 3478), .dst_port = htons(out ? 3478 : 5801),
	};

	if (size > 2048)
		return;
	ipop_encap_write(buf, &a, (uint16_t)size, 1);
	memcpy(buf + IPOP_ENCAP_HDR_LEN, data, size);
	memset(&mb, 0, sizeof(mb));
	mb.buf_addr = buf;
	mb.nb_segs = 1;
	mb.data_len = (uint16_t)(IPOP_ENCAP_HDR_LEN + size);
	mb.pkt_len = mb.data_len;
	ipop_turn_watch_rx(w, &mb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipop_turn_watch w;
	struct ipop_stun_info s;

	if (ipop_stun_parse(data, size, &s) == 0)
		check(&s);
	/* wan.port 5800: agent port 5801. */
	ipop_turn_watch_init(&w, 0x0100000a, 5800, 0x0200000a, 3478);
	feed(&w, data, size, true);
	feed(&w, data, size, false);
	const struct ipop_turn_port *tp = ipop_turn_watch_port(&w, 5801);
	if (tp == NULL || strnlen(tp->err, sizeof(tp->err)) == sizeof(tp->err))
		abort();
	return 0;
}

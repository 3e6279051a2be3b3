/* fuzz_stun.c - libFuzzer target: the parsers of the STUN messages the
 * workers copy to control. ipop_stun_parse (control/link/turn_watch.c): what
 * it accepts is what turn_watch.h promises (class and method in range, an
 * error code of 300-699, a printable NUL-terminated reason); the input also
 * goes to a watch as a request from an agent's port and as a response to it.
 * ipop_stun_msg_parse and the MESSAGE-INTEGRITY and FINGERPRINT checks
 * (control/ice/stun_check.c): what parses is the whole input, every offset
 * and pointer inside it, MESSAGE-INTEGRITY and FINGERPRINT where their sizes
 * say and FINGERPRINT last; the checks run with a short-term and, when the
 * input has a REALM and USERNAME, a long-term key and answer only what
 * stun_check.h says they may; MESSAGE-INTEGRITY-SHA256 only of a size RFC
 * 8489 allows (16-32, a multiple of 4), inside the input. ipop_stun_data_parse
 * (TURN Data indications): what it accepts has a known family, a port, DATA
 * inside the input (and that DATA goes through the checks above in turn);
 * what it refuses says why; -ENOMSG only for well-formed STUN of another
 * method or class. Thread: one. */
#include "control/ice/stun_check.h"
#include "control/link/turn_watch.h"

#include <errno.h>

#include <arpa/inet.h>
#include <sys/socket.h>
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

static bool inside(const uint8_t *data, size_t size, const uint8_t *p, size_t n)
{
	return p >= data && p + n <= data + size;
}

static void check_auth(const uint8_t *data, size_t size)
{
	struct ipop_stun_msg m;
	uint8_t key[IPOP_STUN_LT_KEY_LEN];

	if (ipop_stun_msg_parse(data, size, &m) != 0)
		return;
	if (m.len != size || m.cls > IPOP_STUN_CLS_ERROR || m.method > 0xfff ||
	    !inside(data, size, m.txid, 12) ||
	    (m.username != NULL && !inside(data, size, m.username, m.username_len)) ||
	    (m.realm != NULL && !inside(data, size, m.realm, m.realm_len)) ||
	    (m.mi_off != 0 && (m.mi_off < 20 || m.mi_off + 24 > size)) ||
	    (m.fp_off != 0 && (m.fp_off < 20 || m.fp_off + 8 != size || m.fp_off < m.mi_off)) ||
	    (m.mi256_off != 0 && (m.mi256_off < 20 || m.mi256_off + 4 + m.mi256_len > size ||
				  m.mi256_len < 16 || m.mi256_len > 32 || m.mi256_len % 4 != 0 ||
				  m.mi256_off < m.mi_off ||
				  (m.fp_off != 0 && m.fp_off < m.mi256_off))))
		abort();
	int r = ipop_stun_check_integrity(data, &m, (const uint8_t *)"fuzz", 4);
	if (ipop_stun_has_integrity(&m) ? r != 0 && r != -EACCES : r != -ENOENT)
		abort();
	r = ipop_stun_check_fingerprint(data, &m);
	if (r != 0 && r != -EILSEQ && r != -ENOENT)
		abort();
	if (m.realm != NULL && m.username != NULL) {
		ipop_stun_long_term_key(m.username, m.username_len, m.realm, m.realm_len, "fuzz", key);
		r = ipop_stun_check_integrity(data, &m, key, sizeof(key));
		if (ipop_stun_has_integrity(&m) ? r != 0 && r != -EACCES : r != -ENOENT)
			abort();
	}
}

/* data as a TURN Data indication; what it carries is checked in turn. */
static void check_data(const uint8_t *data, size_t size)
{
	struct ipop_stun_data d;
	struct ipop_stun_msg m;
	int r = ipop_stun_data_parse(data, size, &d);

	if (r == -EBADMSG) {
		if (d.err == NULL)
			abort();
		return;
	}
	if (r == -ENOMSG) {
		if (ipop_stun_msg_parse(data, size, &m) != 0 ||
		    (m.method == IPOP_STUN_DATA && m.cls == IPOP_STUN_CLS_INDICATION))
			abort();
		return;
	}
	if (r != 0 || (d.family != AF_INET && d.family != AF_INET6) || d.port == 0 ||
	    d.data == NULL || !inside(data, size, d.data, d.data_len))
		abort();
	if (ipop_stun_looks_like(d.data, d.data_len) != (d.data_len >= 20 && (d.data[0] & 0xc0) == 0 &&
		memcmp(d.data + 4, "\x21\x12\xa4\x42", 4) == 0))
		abort();
	check_auth(d.data, d.data_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipop_turn_watch w;
	struct ipop_stun_info s;

	if (ipop_stun_parse(data, size, &s) == 0)
		check(&s);
	check_auth(data, size);
	check_data(data, size);
	/* wan.port 5800: agent port 5801. */
	ipop_turn_watch_init(&w, 0x0100000a, 5800, 0x0200000a, 3478);
	feed(&w, data, size, true);
	feed(&w, data, size, false);
	const struct ipop_turn_port *tp = ipop_turn_watch_port(&w, 5801);
	if (tp == NULL || strnlen(tp->err, sizeof(tp->err)) == sizeof(tp->err))
		abort();
	return 0;
}

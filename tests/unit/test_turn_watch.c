/* test_turn_watch.c - control/link/turn_watch: the STUN parser on messages
 * built here byte by byte (ChannelBind with CHANNEL-NUMBER and
 * XOR-PEER-ADDRESS, error responses), its refusals (truncated, lengths that
 * run past the buffer, a malformed attribute), and the watch matching copies
 * of requests and responses per agent port: the channel a ChannelBind success
 * binds, the first 401 as the normal challenge, a 401 to a request with
 * credentials as refused credentials (logged once), unmatched responses. */
#include "control/link/turn_watch.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "dataplane/encap.h"

#define WAN_IP 0x0100000au      /* 10.0.0.1 */
#define SRV_IP 0x0200000au      /* 10.0.0.2 */
#define WAN_PORT 5800
#define SRV_PORT 3478

struct msg {
	uint8_t b[512];
	size_t n;
};

static void put16(struct msg *m, uint16_t v)
{
	m->b[m->n++] = (uint8_t)(v >> 8);
	m->b[m->n++] = (uint8_t)v;
}

static void start(struct msg *m, uint16_t type, uint8_t tx)
{
	m->n = 0;
	put16(m, type);
	put16(m, 0);
	memcpy(m->b + 4, "\x21\x12\xa4\x42", 4);
	memset(m->b + 8, tx, 12);
	m->n = 20;
}

static void attr(struct msg *m, uint16_t type, const void *v, uint16_t len)
{
	put16(m, type);
	put16(m, len);
	memcpy(m->b + m->n, v, len);
	m->n += len;
	while (m->n % 4)
		m->b[m->n++] = 0;
	m->b[2] = (uint8_t)((m->n - 20) >> 8);
	m->b[3] = (uint8_t)(m->n - 20);
}

static void channel_bind(struct msg *m, uint8_t tx, uint16_t chan, bool integrity)
{
	uint8_t cn[4] = { (uint8_t)(chan >> 8), (uint8_t)chan, 0, 0 };
	/* peer 10.9.8.7:40000, xored with the cookie */
	uint8_t pa[8] = { 0, 1, (40000 >> 8) ^ 0x21, (40000 & 0xff) ^ 0x12,
			  10 ^ 0x21, 9 ^ 0x12, 8 ^ 0xa4, 7 ^ 0x42 };
	uint8_t mi[20] = { 0 };

	start(m, 0x0009, tx);
	attr(m, 0x000C, cn, 4);
	attr(m, 0x0012, pa, 8);
	if (integrity)
		attr(m, 0x0008, mi, 20);
}

static void error_resp(struct msg *m, uint16_t method_type, uint8_t tx, int code, const char *why)
{
	uint8_t v[64] = { 0, 0, (uint8_t)(code / 100), (uint8_t)(code % 100) };

	memcpy(v + 4, why, strlen(why));
	start(m, method_type, tx);
	attr(m, 0x0009, v, (uint16_t)(4 + strlen(why)));
}

static void test_parse(void)
{
	struct msg m;
	struct ipop_stun_info s;

	channel_bind(&m, 7, 0x4000, true);
	CHECK(ipop_stun_parse(m.b, m.n, &s) == 0);
	CHECK(s.method == IPOP_STUN_CHANNEL_BIND && s.cls == IPOP_STUN_REQUEST);
	CHECK(s.chan == 0x4000 && s.integrity);
	CHECK(s.peer_ip == inet_addr("10.9.8.7") && s.peer_port == 40000);
	CHECK(s.txid[0] == 7 && s.txid[11] == 7);
	error_resp(&m, 0x0113, 1, 401, "Unauthorized");
	CHECK(ipop_stun_parse(m.b, m.n, &s) == 0);
	CHECK(s.method == IPOP_STUN_ALLOCATE && s.cls == IPOP_STUN_ERROR);
	CHECK(s.error_code == 401 && strcmp(s.reason, "Unauthorized") == 0);
	start(&m, 0x0103, 1);
	CHECK(ipop_stun_parse(m.b, m.n, &s) == 0 && s.cls == IPOP_STUN_SUCCESS);
	/* Refusals. */
	channel_bind(&m, 7, 0x4000, false);
	for (size_t n = 0; n < 20; n++)
		CHECK(ipop_stun_parse(m.b, n, &s) == -EBADMSG);
	CHECK(ipop_stun_parse(m.b, m.n - 4, &s) == -EBADMSG);   /* length past the buffer */
	m.b[20 + 3] = 200;                                        /* an attribute past the end */
	m.b[3] = (uint8_t)(m.n - 20);
	CHECK(ipop_stun_parse(m.b, m.n, &s) == -EBADMSG);
	channel_bind(&m, 7, 0x4000, false);
	m.b[20 + 3] = 3;                                          /* CHANNEL-NUMBER of 3 bytes */
	CHECK(ipop_stun_parse(m.b, m.n, &s) == -EBADMSG);
	error_resp(&m, 0x0113, 1, 401, "x");
	m.b[20 + 4 + 2] = 7;                                      /* class 7 */
	CHECK(ipop_stun_parse(m.b, m.n, &s) == -EBADMSG);
	m.b[4] = 0;                                               /* no cookie */
	CHECK(ipop_stun_parse(m.b, m.n, &s) == -EBADMSG);
}

/* A frame carrying m from src to dst, in an mbuf made by hand (no pool). */
static struct rte_mbuf *frame(uint8_t *buf, const struct msg *m, bool out, uint16_t agent_port)
{
	static struct rte_mbuf mb;
	struct ipop_encap_addr a = { .src_ip = out ? WAN_IP : SRV_IP, .dst_ip = out ? SRV_IP : WAN_IP,
				     .src_port = htons(out ? agent_port : SRV_PORT),
				     .dst_port = htons(out ? SRV_PORT : agent_port) };

	ipop_encap_write(buf, &a, (uint16_t)m->n, 1);
	memcpy(buf + IPOP_ENCAP_HDR_LEN, m->b, m->n);
	memset(&mb, 0, sizeof(mb));
	mb.buf_addr = buf;
	mb.data_off = 0;
	mb.nb_segs = 1;
	mb.data_len = (uint16_t)(IPOP_ENCAP_HDR_LEN + m->n);
	mb.pkt_len = mb.data_len;
	return &mb;
}

static unsigned changes;
static uint16_t changed_port;

static void on_change(void *ctx, uint16_t port)
{
	changes++;
	changed_port = port;
}

static void test_watch(void)
{
	static struct ipop_turn_watch w;
	uint8_t buf[600];
	struct msg m;
	const uint16_t port = WAN_PORT + 3;

	ipop_turn_watch_init(&w, WAN_IP, WAN_PORT, SRV_IP, SRV_PORT);
	w.changed = on_change;
	ipop_turn_watch_reset(&w, port);
	/* Allocate without credentials, the 401 challenge: normal. */
	start(&m, 0x0003, 1);
	ipop_turn_watch_rx(&w, frame(buf, &m, true, port));
	ipop_turn_watch_rx(&w, frame(buf, &m, true, port));   /* a retransmission */
	error_resp(&m, 0x0113, 1, 401, "Unauthorized");
	ipop_turn_watch_rx(&w, frame(buf, &m, false, port));
	const struct ipop_turn_port *tp = ipop_turn_watch_port(&w, port);
	CHECK(tp != NULL && tp->requests == 1 && tp->responses == 1 && tp->err_code == 0);
	CHECK(w.st.auth_refused == 0 && w.st.errors == 0 && changes == 0);
	CHECK(w.auth_err[0] == '\0');   /* the challenge is no refusal: TURN stays in use */
	/* With credentials (MESSAGE-INTEGRITY), refused: the credentials are wrong. */
	uint8_t mi[20] = { 0 };
	start(&m, 0x0003, 2);
	attr(&m, 0x0008, mi, 20);
	ipop_turn_watch_rx(&w, frame(buf, &m, true, port));
	error_resp(&m, 0x0113, 2, 401, "Unauthorized");
	ipop_turn_watch_rx(&w, frame(buf, &m, false, port));
	CHECK(tp->err_code == 401 && strstr(tp->err, "refused Allocate: 401 Unauthorized") != NULL);
	CHECK(w.st.auth_refused == 1 && changes == 1 && changed_port == port);
	/* Kept for the ICE links: later agents go without TURN. */
	CHECK(strcmp(w.auth_err, tp->err) == 0);
	ipop_turn_watch_rx(&w, frame(buf, &m, false, port));   /* answers nothing pending */
	CHECK(w.st.unmatched == 1 && w.st.auth_refused == 1);
	/* ChannelBind: the channel and the peer become known with the success. */
	channel_bind(&m, 3, 0x4000, true);
	ipop_turn_watch_rx(&w, frame(buf, &m, true, port));
	CHECK(!tp->chan_ok);
	start(&m, 0x0109, 3);
	ipop_turn_watch_rx(&w, frame(buf, &m, false, port));
	CHECK(tp->chan_ok && tp->chan == 0x4000 && tp->chan_peer_ip == inet_addr("10.9.8.7") &&
	      tp->chan_peer_port == 40000);
	CHECK(w.st.channels_bound == 1 && changes == 2);
	/* Its refresh (same channel, same peer) changes nothing. */
	channel_bind(&m, 4, 0x4000, true);
	ipop_turn_watch_rx(&w, frame(buf, &m, true, port));
	start(&m, 0x0109, 4);
	ipop_turn_watch_rx(&w, frame(buf, &m, false, port));
	CHECK(w.st.channels_bound == 1 && changes == 2);
	/* 486 on another port: another error. A port outside the range: unmatched. */
	start(&m, 0x0003, 5);
	attr(&m, 0x0008, mi, 20);
	ipop_turn_watch_rx(&w, frame(buf, &m, true, port + 1));
	error_resp(&m, 0x0113, 5, 486, "Allocation Quota Reached");
	ipop_turn_watch_rx(&w, frame(buf, &m, false, port + 1));
	CHECK(w.st.errors == 1 && ipop_turn_watch_port(&w, port + 1)->err_code == 486);
	CHECK(strstr(w.auth_err, "401") != NULL);   /* another error does not replace it */
	ipop_turn_watch_rx(&w, frame(buf, &m, true, WAN_PORT + 65));
	CHECK(w.st.unmatched == 2 && ipop_turn_watch_port(&w, WAN_PORT + 65) == NULL);
	ipop_turn_watch_reset(&w, port);
	CHECK(!tp->chan_ok && tp->requests == 0);
}

int main(void)
{
	test_parse();
	test_watch();
	return check_report("turn_watch");
}

/* turn_watch.c - see turn_watch.h. Thread: control. */
#include "control/link/turn_watch.h"
#include "control/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "dataplane/encap.h"
#include "dataplane/wire.h"

#define STUN_COOKIE 0x2112A442u
#define ATTR_MESSAGE_INTEGRITY 0x0008
#define ATTR_ERROR_CODE 0x0009
#define ATTR_CHANNEL_NUMBER 0x000C
#define ATTR_XOR_PEER_ADDRESS 0x0012

const char *ipop_stun_method_name(uint16_t method)
{
	switch (method) {
	case IPOP_STUN_ALLOCATE:
		return "Allocate";
	case IPOP_STUN_REFRESH:
		return "Refresh";
	case IPOP_STUN_CREATE_PERMISSION:
		return "CreatePermission";
	case IPOP_STUN_CHANNEL_BIND:
		return "ChannelBind";
	default:
		return "request";
	}
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int attr_error(const uint8_t *v, uint16_t len, struct ipop_stun_info *o)
{
	size_t n = 0;

	if (len < 4 || (v[2] & 0x7) < 3 || (v[2] & 0x7) > 6 || v[3] > 99)
		return -EBADMSG;
	o->error_code = (v[2] & 0x7) * 100 + v[3];
	for (uint16_t i = 4; i < len && n + 1 < sizeof(o->reason); i++)
		o->reason[n++] = v[i] >= 0x20 && v[i] < 0x7f ? (char)v[i] : '?';
	o->reason[n] = '\0';
	return 0;
}

/* XOR-PEER-ADDRESS, IPv4 only (family 1); an IPv6 one is left absent. */
static int attr_peer(const uint8_t *v, uint16_t len, struct ipop_stun_info *o)
{
	uint32_t x;

	if (len < 4)
		return -EBADMSG;
	if (v[1] != 1)
		return 0;
	if (len != 8)
		return -EBADMSG;
	o->peer_port = (uint16_t)(rd16(v + 2) ^ (STUN_COOKIE >> 16));
	memcpy(&x, v + 4, 4);
	o->peer_ip = x ^ rte_cpu_to_be_32(STUN_COOKIE);
	return 0;
}

static int attr(uint16_t type, const uint8_t *v, uint16_t len, struct ipop_stun_info *o)
{
	switch (type) {
	case ATTR_MESSAGE_INTEGRITY:
		o->integrity = true;
		return 0;
	case ATTR_ERROR_CODE:
		return attr_error(v, len, o);
	case ATTR_CHANNEL_NUMBER:
		if (len != 4)
			return -EBADMSG;
		o->chan = rd16(v);
		return 0;
	case ATTR_XOR_PEER_ADDRESS:
		return attr_peer(v, len, o);
	default:
		return 0;
	}
}

int ipop_stun_parse(const uint8_t *p, size_t len, struct ipop_stun_info *o)
{
	memset(o, 0, sizeof(*o));
	if (len < IPOP_STUN_HDR_LEN || !ipop_wire_is_stun(p, len))
		return -EBADMSG;
	uint16_t type = rd16(p), mlen = rd16(p + 2);
	if ((mlen & 3) != 0 || (size_t)mlen + IPOP_STUN_HDR_LEN > len)
		return -EBADMSG;
	o->method = (uint16_t)((type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2));
	o->cls = (enum ipop_stun_class)(((type & 0x0100) >> 7) | ((type & 0x0010) >> 4));
	memcpy(o->txid, p + 8, sizeof(o->txid));
	const uint8_t *a = p + IPOP_STUN_HDR_LEN, *end = a + mlen;
	while (end - a >= 4) {
		uint16_t at = rd16(a), al = rd16(a + 2);
		if ((size_t)(end - a - 4) < al)
			return -EBADMSG;
		if (attr(at, a + 4, al, o) != 0)
			return -EBADMSG;
		size_t step = 4 + (((size_t)al + 3) & ~(size_t)3);
		if ((size_t)(end - a) < step)
			break;   /* the last attribute's padding may be missing */
		a += step;
	}
	return 0;
}

void ipop_turn_watch_init(struct ipop_turn_watch *w, uint32_t wan_ip, uint16_t wan_port,
			  uint32_t srv_ip, uint16_t srv_port)
{
	memset(w, 0, sizeof(*w));
	w->wan_ip = wan_ip;
	w->wan_port = wan_port;
	w->srv_ip = srv_ip;
	w->srv_port = srv_port;
}

static struct ipop_turn_port *port_of(struct ipop_turn_watch *w, uint16_t port)
{
	uint16_t i = (uint16_t)(port - w->wan_port);

	return i >= 1 && i <= IPOP_FP_ICE_PORTS ? &w->port[i] : NULL;
}

const struct ipop_turn_port *ipop_turn_watch_port(const struct ipop_turn_watch *w, uint16_t port)
{
	return port_of((struct ipop_turn_watch *)w, port);
}

void ipop_turn_watch_reset(struct ipop_turn_watch *w, uint16_t port)
{
	struct ipop_turn_port *tp = port_of(w, port);

	if (tp != NULL)
		memset(tp, 0, sizeof(*tp));
}

static void request(struct ipop_turn_watch *w, struct ipop_turn_port *tp,
		    const struct ipop_stun_info *s)
{
	/* A retransmission keeps its slot. */
	for (unsigned i = 0; i < IPOP_TURN_TX; i++)
		if (tp->tx[i].used && memcmp(tp->tx[i].txid, s->txid, sizeof(s->txid)) == 0)
			return;
	struct ipop_turn_tx *t = &tp->tx[tp->next++ % IPOP_TURN_TX];
	*t = (struct ipop_turn_tx){ .method = s->method, .used = true, .integrity = s->integrity,
				    .chan = s->chan, .peer_ip = s->peer_ip, .peer_port = s->peer_port };
	memcpy(t->txid, s->txid, sizeof(t->txid));
	tp->requests++;
	w->st.requests++;
}

static void error_response(struct ipop_turn_watch *w, struct ipop_turn_port *tp, uint16_t port,
			   const struct ipop_turn_tx *t, const struct ipop_stun_info *s)
{
	char srv[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = w->srv_ip };
	bool auth = (s->error_code == 401 && t->integrity) || s->error_code == 441;

	/* The normal exchange: the challenge that gives realm and nonce, and a
	 * nonce that went stale (libnice retries with the new one). */
	if ((s->error_code == 401 && !t->integrity) || s->error_code == 438)
		return;
	if (auth)
		w->st.auth_refused++;
	else
		w->st.errors++;
	inet_ntop(AF_INET, &a, srv, sizeof(srv));
	tp->err_code = s->error_code;
	snprintf(tp->err, sizeof(tp->err), "TURN server %s:%u refused %s: %d %s%s", srv,
		 w->srv_port, ipop_stun_method_name(t->method), s->error_code, s->reason,
		 auth ? " (check ice.turn_user and ice.turn_password)" : "");
	if (auth && w->auth_err[0] == '\0')
		memcpy(w->auth_err, tp->err, sizeof(w->auth_err));
	if (strcmp(tp->err, w->last_logged) != 0) {
		LOG_WARN("agent port %u: %s", port, tp->err);
		memcpy(w->last_logged, tp->err, sizeof(w->last_logged));
	}
	if (w->changed != NULL)
		w->changed(w->ctx, port);
}

static void response(struct ipop_turn_watch *w, struct ipop_turn_port *tp, uint16_t port,
		     const struct ipop_stun_info *s)
{
	struct ipop_turn_tx *t = NULL;

	for (unsigned i = 0; i < IPOP_TURN_TX && t == NULL; i++)
		if (tp->tx[i].used && memcmp(tp->tx[i].txid, s->txid, sizeof(s->txid)) == 0)
			t = &tp->tx[i];
	if (t == NULL || t->method != s->method) {
		w->st.unmatched++;
		return;
	}
	t->used = false;   /* a retransmitted response counts once */
	tp->responses++;
	w->st.responses++;
	if (s->cls == IPOP_STUN_ERROR) {
		error_response(w, tp, port, t, s);
		return;
	}
	if (t->method == IPOP_STUN_ALLOCATE)
		tp->allocated = true;
	if (t->method != IPOP_STUN_CHANNEL_BIND || t->chan == 0)
		return;
	bool same = tp->chan_ok && tp->chan == t->chan && tp->chan_peer_ip == t->peer_ip &&
		    tp->chan_peer_port == t->peer_port;
	tp->chan_ok = true;
	tp->chan = t->chan;
	tp->chan_peer_ip = t->peer_ip;
	tp->chan_peer_port = t->peer_port;
	if (same)
		return;   /* a refresh */
	w->st.channels_bound++;
	if (w->changed != NULL)
		w->changed(w->ctx, port);
}

void ipop_turn_watch_rx(struct ipop_turn_watch *w, const struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t ip_off, poff, plen;
	struct ipop_stun_info s;

	if (m->nb_segs != 1 || ipop_encap_parse(f, m->data_len, &ip_off, &poff, &plen) != 0 ||
	    ipop_stun_parse(f + poff, plen, &s) != 0) {
		w->st.unmatched++;
		return;
	}
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + ip_off);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(f + poff - 8);
	uint16_t sport = rte_be_to_cpu_16(udp->src_port), dport = rte_be_to_cpu_16(udp->dst_port);
	bool out = ip->src_addr == w->wan_ip && ip->dst_addr == w->srv_ip && dport == w->srv_port;
	bool in = ip->src_addr == w->srv_ip && sport == w->srv_port && ip->dst_addr == w->wan_ip;
	struct ipop_turn_port *tp = port_of(w, out ? sport : dport);

	if (tp == NULL || (!out && !in)) {
		w->st.unmatched++;
		return;
	}
	if (out && s.cls == IPOP_STUN_REQUEST)
		request(w, tp, &s);
	else if (in && (s.cls == IPOP_STUN_SUCCESS || s.cls == IPOP_STUN_ERROR))
		response(w, tp, dport, &s);
	else
		w->st.unmatched++;
}

/* stun_watch.c - see stun_watch.h. Thread: control. */
#include "control/link/stun_watch.h"
#include "control/link/ice_link.h"
#include "control/link/turn_watch.h"
#include "control/log.h"
#include "control/node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "dataplane/encap.h"
#include "dataplane/turn.h"

#define STUN_BINDING 0x001

/* Where a copy came from and went to, and its STUN payload. */
struct stun_frame {
	uint32_t src_ip, dst_ip;       /* network order */
	uint16_t sport, dport;         /* host order */
	const uint8_t *p;
	size_t len;
	uint16_t chan;                 /* host order: came inside ChannelData on it; 0: not */
	/* Came inside a TURN Data indication from the peer at this address
	 * (its XOR-PEER-ADDRESS, "ip:port"); "": not. */
	char peer[INET6_ADDRSTRLEN + 8];
};

static int frame_of(const struct rte_mbuf *m, struct stun_frame *s)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t ip_off, poff, plen;

	if (m->nb_segs != 1 || ipop_encap_parse(f, m->data_len, &ip_off, &poff, &plen) != 0)
		return -EBADMSG;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + ip_off);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(f + poff - 8);
	*s = (struct stun_frame){
		.src_ip = ip->src_addr, .dst_ip = ip->dst_addr,
		.sport = rte_be_to_cpu_16(udp->src_port), .dport = rte_be_to_cpu_16(udp->dst_port),
		.p = f + poff, .len = plen,
	};
	/* A member's check through our relay: the STUN message is the
	 * ChannelData's content (the worker checked that it is STUN). */
	if (ipop_turn_is_chandata(s->p, plen)) {
		uint32_t dlen = ipop_turn_chandata_len(s->p);
		if (dlen + IPOP_CHANDATA_HDR_LEN > plen)
			return -EBADMSG;
		s->chan = (uint16_t)(s->p[0] << 8 | s->p[1]);
		s->p += IPOP_CHANDATA_HDR_LEN;
		s->len = dlen;
	}
	return 0;
}

/* A failure that hit no link: logged at most once a second, with the number
 * of those not logged since. */
static void watch_log(struct ipop_stun_watch *sw, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void watch_log(struct ipop_stun_watch *sw, const char *fmt, ...)
{
	uint64_t now = ipop_now_ms();
	char buf[200];
	va_list ap;

	if (sw->log_ms != 0 && now - sw->log_ms < IPOP_STUN_LOG_EVERY_MS) {
		sw->log_quiet++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (sw->log_quiet != 0)
		LOG_WARN("ICE: %s (and %u more STUN failures since the last line)", buf, sw->log_quiet);
	else
		LOG_WARN("ICE: %s", buf);
	sw->log_ms = now;
	sw->log_quiet = 0;
}

/* One more check in this 10-ms window? */
static bool budget(struct ipop_stun_watch *sw)
{
	uint64_t w = ipop_now_ms() / 10;

	if (w != sw->window) {
		sw->window = w;
		sw->in_window = 0;
	}
	if (sw->in_window >= IPOP_STUN_CHECK_BUDGET) {
		sw->st.shed++;
		return false;
	}
	sw->in_window++;
	return true;
}

static const char *method_name(uint16_t method)
{
	return method == STUN_BINDING ? "Binding" : ipop_stun_method_name(method);
}

/* "STUN Binding request from 10.91.1.2:20138" */
static void describe(char *buf, size_t len, const struct ipop_stun_msg *sm,
		     const struct stun_frame *s)
{
	char a[INET_ADDRSTRLEN];
	struct in_addr in = { .s_addr = s->src_ip };

	inet_ntop(AF_INET, &in, a, sizeof(a));
	if (s->chan != 0)
		snprintf(buf, len, "STUN %s %s through TURN channel 0x%04x of %s:%u",
			 method_name(sm->method), ipop_stun_class_name(sm->cls), s->chan, a, s->sport);
	else if (s->peer[0] != '\0')
		snprintf(buf, len, "STUN %s %s from %s through our TURN relay (Data indication)",
			 method_name(sm->method), ipop_stun_class_name(sm->cls), s->peer);
	else
		snprintf(buf, len, "STUN %s %s from %s:%u", method_name(sm->method),
			 ipop_stun_class_name(sm->cls), a, s->sport);
}

/* The link whose agent's ufrag is the first half of USERNAME ("ours:theirs"). */
static struct ipop_link *link_by_ufrag(const struct ipop_ice_links *il,
				       const struct ipop_stun_msg *sm)
{
	const uint8_t *colon;
	size_t n;

	if (sm->username == NULL ||
	    (colon = memchr(sm->username, ':', sm->username_len)) == NULL)
		return NULL;
	n = (size_t)(colon - sm->username);
	for (uint16_t i = 1; i <= IPOP_ICE_LINK_PORTS; i++) {
		struct ipop_link *l = ipop_ice_link_at_port(il, (uint16_t)(il->n->cfg->wan_port + i),
							    NULL);
		if (l != NULL && n > 0 && strlen(l->ice_ufrag) == n &&
		    memcmp(l->ice_ufrag, sm->username, n) == 0)
			return l;
	}
	return NULL;
}

/* A failure on link l (NULL: none known) or on no link. */
static void failure(struct ipop_ice_links *il, struct ipop_link *l, const char *what,
		    const char *check, const char *hint)
{
	if (l != NULL) {
		l->stun_failed++;
		ipop_ice_link_error(il, l, "%s failed its %s check (%s)", what, check, hint);
	} else {
		watch_log(&il->stun, "%s failed its %s check (%s)", what, check, hint);
	}
}

static bool is_request(const struct ipop_stun_msg *sm)
{
	return sm->cls == IPOP_STUN_CLS_REQUEST || sm->cls == IPOP_STUN_CLS_INDICATION;
}

/* The key sm to agent port dport is checked with (NULL: none known) and the
 * link it is for (*l, NULL: none): a check to us is keyed with our agent's
 * password, a response to our agent's check with the member's. */
static const char *key_for(const struct ipop_ice_links *il, const struct ipop_stun_msg *sm,
			   uint16_t dport, struct ipop_link **l)
{
	const char *remote_pwd = NULL;

	if (is_request(sm)) {
		*l = link_by_ufrag(il, sm);
		return *l != NULL ? (*l)->ice_pwd : NULL;
	}
	*l = ipop_ice_link_at_port(il, dport, &remote_pwd);
	return *l != NULL && remote_pwd[0] != '\0' ? remote_pwd : NULL;
}

/* A check or response another host sent to an agent's port. */
static void ice_rx(struct ipop_ice_links *il, const struct stun_frame *s)
{
	struct ipop_stun_watch *sw = &il->stun;
	struct ipop_stun_msg sm;
	struct ipop_link *l;
	char what[128];

	if (ipop_stun_msg_parse(s->p, s->len, &sm) != 0) {
		sw->st.malformed++;
		if (s->peer[0] != '\0')
			watch_log(sw, "a malformed STUN message to agent port %u from %s through our"
				  " TURN relay (Data indication)", s->dport, s->peer);
		else
			watch_log(sw, "a malformed STUN message to agent port %u", s->dport);
		return;
	}
	if (!ipop_stun_has_integrity(&sm) && sm.fp_off == 0) {
		sw->st.unauthenticated++;
		return;
	}
	if (!budget(sw))
		return;
	describe(what, sizeof(what), &sm, s);
	const char *key = key_for(il, &sm, s->dport, &l);
	if (ipop_stun_check_fingerprint(s->p, &sm) == -EILSEQ) {
		sw->st.fingerprint_failed++;
		failure(il, l, what, "FINGERPRINT", "damaged or forged");
	} else if (!ipop_stun_has_integrity(&sm)) {
		sw->st.unauthenticated++;
	} else if (key == NULL && is_request(&sm)) {
		sw->st.unknown_ufrag++;
		watch_log(sw, "%s to agent port %u: its USERNAME names no agent of ours", what,
			  s->dport);
	} else if (key == NULL) {
		sw->st.no_key++;
	} else if (ipop_stun_check_integrity(s->p, &sm, (const uint8_t *)key, strlen(key)) != 0) {
		sw->st.integrity_failed++;
		failure(il, l, what, "MESSAGE-INTEGRITY", is_request(&sm) ? "wrong password?" :
			"wrong password, or not the member's agent?");
	} else {
		sw->st.verified++;
		l->stun_verified++;
	}
}

/* One of our agents' requests to the TURN server: its REALM and USERNAME
 * give the long-term key of the server's responses. */
static void turn_request(struct ipop_ice_links *il, const struct stun_frame *s)
{
	struct ipop_stun_watch *sw = &il->stun;
	struct ipop_stun_msg sm;

	if (ipop_stun_msg_parse(s->p, s->len, &sm) != 0 || !ipop_stun_has_integrity(&sm) ||
	    sm.realm == NULL ||
	    sm.username == NULL || sm.realm_len > sizeof(sw->realm))
		return;
	if (sw->realm_len == sm.realm_len && memcmp(sw->realm, sm.realm, sm.realm_len) == 0)
		return;
	memcpy(sw->realm, sm.realm, sm.realm_len);
	sw->realm_len = sm.realm_len;
	ipop_stun_long_term_key(sm.username, sm.username_len, sm.realm, sm.realm_len,
				il->servers.turn_password, sw->turn_key);
}

/* A response from the TURN server: true if the TURN watch may use it. */
static bool turn_response(struct ipop_ice_links *il, const struct stun_frame *s)
{
	struct ipop_stun_watch *sw = &il->stun;
	struct ipop_stun_msg sm;
	char what[96];

	if (ipop_stun_msg_parse(s->p, s->len, &sm) != 0) {
		sw->st.malformed++;
		return true;   /* the TURN watch counts what it cannot use */
	}
	if (!ipop_stun_has_integrity(&sm) && sm.fp_off == 0) {
		sw->st.unauthenticated++;
		return true;
	}
	if (!budget(sw))
		return true;
	struct ipop_link *l = ipop_ice_link_at_port(il, s->dport, NULL);
	describe(what, sizeof(what), &sm, s);
	if (ipop_stun_check_fingerprint(s->p, &sm) == -EILSEQ) {
		sw->st.fingerprint_failed++;
		failure(il, l, what, "FINGERPRINT", "damaged or forged");
		return false;
	}
	if (!ipop_stun_has_integrity(&sm)) {
		sw->st.unauthenticated++;
		return true;
	}
	if (sw->realm_len == 0) {
		sw->st.no_key++;
		return true;
	}
	if (ipop_stun_check_integrity(s->p, &sm, sw->turn_key, sizeof(sw->turn_key)) != 0) {
		sw->st.integrity_failed++;
		failure(il, l, what, "MESSAGE-INTEGRITY",
			"ice.turn_password, or not the TURN server?");
		return false;
	}
	sw->st.verified++;
	sw->st.turn_verified++;
	if (l != NULL)
		l->stun_verified++;
	return true;
}

/* A TURN Data indication (method 0x007, class indication: type 0x0017)? */
static bool is_data_indication(const struct stun_frame *s)
{
	return s->len >= 20 && s->p[0] == 0x00 && s->p[1] == 0x17;
}

/* A peer's message through our TURN relay before a channel is bound for it:
 * the server wraps it in a Data indication to the agent's port, with the
 * peer's address in XOR-PEER-ADDRESS. A STUN request or response inside is
 * checked as if the peer had sent it to the port directly. */
static void data_rx(struct ipop_ice_links *il, struct stun_frame *s)
{
	struct ipop_stun_watch *sw = &il->stun;
	struct ipop_stun_data d;
	char a[INET6_ADDRSTRLEN];

	if (ipop_stun_data_parse(s->p, s->len, &d) != 0) {
		sw->st.malformed++;
		watch_log(sw, "a malformed TURN Data indication to agent port %u: %s", s->dport,
			  d.err != NULL ? d.err : "not a Data indication");
		return;
	}
	if (!ipop_stun_looks_like(d.data, d.data_len)) {
		sw->st.data_other++;
		return;
	}
	sw->st.indicated++;
	inet_ntop(d.family, d.addr, a, sizeof(a));
	snprintf(s->peer, sizeof(s->peer), d.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, d.port);
	s->p = d.data;
	s->len = d.data_len;
	ice_rx(il, s);
}

void ipop_stun_watch_rx(struct ipop_node *n, const struct rte_mbuf *m)
{
	struct ipop_ice_links *il = n->ice;
	struct stun_frame s;

	if (il == NULL) {
		n->cs.ring_bad++;   /* the workers copy STUN only with ice { } */
		return;
	}
	if (frame_of(m, &s) != 0) {
		il->stun.st.malformed++;
		return;
	}
	const struct ipop_ice_servers *sv = &il->servers;
	bool turn = n->turn != NULL;
	if (turn && s.dst_ip == sv->turn_ip.s_addr && s.dport == sv->turn_port) {
		turn_request(il, &s);   /* our own: nothing to check */
		ipop_turn_watch_rx(n->turn, m);
		return;
	}
	il->stun.st.seen++;
	if (s.chan != 0) {
		il->stun.st.relayed++;
		ice_rx(il, &s);   /* the member's, relayed: its own keys, not the server's */
	} else if (!turn || s.src_ip != sv->turn_ip.s_addr || s.sport != sv->turn_port)
		ice_rx(il, &s);
	else if (is_data_indication(&s))
		data_rx(il, &s);   /* a member's, before a channel: its own keys too */
	else if (turn_response(il, &s))
		ipop_turn_watch_rx(n->turn, m);
}

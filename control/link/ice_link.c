/* ice_link.c - see ice_link.h. Thread: control. */
#include "control/link/ice_link.h"
#include "control/log.h"
#include "control/node.h"
#include "control/session/handshake.h"
#include "control/session/peer.h"

#include <rte_byteorder.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* At most one ICE error line a second per link; the others are counted and
 * their number goes with the next line (a member that sends garbage cannot
 * flood the log). */
#define ICE_LOG_EVERY_MS 1000

/* One link's agent: l->ice. */
struct ice_link {
	struct ipop_ice_links *il;
	struct ipop_link *l;           /* links are heap objects that outlive their agent */
	struct ipop_ice *agent;
	bool gathering;
	bool have_pair, failed;
	struct ipop_ice_pair pair;
	uint64_t opened_ms, selected_ms;
	uint64_t retaken_ms;           /* the pair was last taken back from the bootstrap path */
	uint16_t port;                 /* the agent's socket port (its host candidate's); 0: not yet */
	unsigned relay_cands;          /* relayed local candidates gathered */
	unsigned srflx_cands;          /* server-reflexive local candidates gathered */
	bool reopened;                 /* REOPEN said for this agent (once) */
	bool mismatch;                 /* ... for a 437 Allocation Mismatch */
	char turn_error[224];          /* why gathering ended without a relayed candidate */
	char remote_pwd[IPOP_LINK_PWD_LEN];   /* the member's agent's, once given (STUN checks) */
	uint64_t selected_wall_ms;     /* CLOCK_REALTIME at selection, for `show` */
	/* Our candidates as sent, for ipop_ice_link_resend. */
	char sent[IPOP_LINK_MAX_CANDS][IPOP_ICE_CAND_LEN];
	unsigned n_sent;
};

static void apply_pair(struct ipop_ice_links *il, struct ice_link *k);

#define RETAKE_MS 2000

static struct ice_link **slot_of(struct ipop_ice_links *il, uint16_t port)
{
	uint16_t i = (uint16_t)(port - il->n->cfg->wan_port);

	return i >= 1 && i <= IPOP_ICE_LINK_PORTS ? &il->by_port[i] : NULL;
}

/* The TURN watch saw a channel bound, or an error, on an agent's port. */
static void turn_changed(void *ctx, uint16_t port)
{
	struct ipop_ice_links *il = ctx;
	struct ice_link **s = slot_of(il, port);

	if (s != NULL && *s != NULL)
		apply_pair(il, *s);
}

void ipop_ice_links_init(struct ipop_ice_links *il, struct ipop_node *n, struct ipop_linkmgr *lm)
{
	const struct ipop_cfg *c = n->cfg;

	memset(il, 0, sizeof(*il));
	il->n = n;
	il->lm = lm;
	/* Peers send a keepalive every keepalive_s, so one and a half intervals
	 * without anything from the peer on the pair means at least one is lost
	 * or the path is gone; less than dead_after, or never. */
	il->restart_after_ms = c->keepalive_s * 1500u;
	if (il->restart_after_ms >= c->dead_after_s * 1000u)
		il->restart_after_ms = 0;
	/* A keepalive overdue by a quarter interval: the NAT in front of the
	 * member (or us) may have restarted and taken the XMPP connection with
	 * it; checking it now gets it back by the time the restart needs it. */
	il->probe_after_ms = il->restart_after_ms ? c->keepalive_s * 1250u : 0;
	il->servers = (struct ipop_ice_servers){
		.stun_ip = c->ice_stun_ip, .stun_port = c->ice_stun_port,
		.turn_ip = c->ice_turn_ip, .turn_port = c->ice_turn_port,
		.turn_user = c->ice_turn_user, .turn_password = c->ice_turn_password,
	};
	n->ice = il;
	if (c->ice_turn_ip.s_addr == 0)
		return;
	ipop_turn_watch_init(&il->turn, c->wan_addr.s_addr, c->wan_port, c->ice_turn_ip.s_addr,
			     c->ice_turn_port);
	il->turn.ctx = il;
	il->turn.changed = turn_changed;
	n->turn = &il->turn;
}

/* A local candidate's port and type, from its SDP value. */
static bool cand_port_type(const char *cand, uint16_t *port, char type[8])
{
	return sscanf(cand, "candidate:%*s %*u %*s %*u %*s %hu typ %7s", port, type) == 2;
}

/* Our host candidate names the agent's port: from now on TURN messages on it
 * are this agent's. */
static void note_candidate(struct ice_link *k, const char *cand)
{
	struct ipop_ice_links *il = k->il;
	char type[8];
	uint16_t port;

	if (!cand_port_type(cand, &port, type))
		return;
	if (strcmp(type, "relay") == 0) {
		k->relay_cands++;
		return;
	}
	if (strcmp(type, "srflx") == 0) {
		k->srflx_cands++;
		return;
	}
	struct ice_link **s = slot_of(il, port);
	if (strcmp(type, "host") != 0 || k->port != 0 || s == NULL)
		return;
	k->port = port;
	*s = k;
	if (il->n->turn != NULL)
		ipop_turn_watch_reset(il->n->turn, port);
}

/* Why an agent has no relayed candidate, from what the watch saw on its port
 * (the server's error, or no answer); false: nothing to say yet. */
static bool turn_reason(const struct ipop_ice_links *il, const struct ice_link *k, char *buf,
			size_t len)
{
	const struct ipop_turn_port *tp;
	char srv[INET_ADDRSTRLEN];

	if (il->n->turn == NULL || k->relay_cands > 0)
		return false;
	tp = k->port != 0 ? ipop_turn_watch_port(il->n->turn, k->port) : NULL;
	inet_ntop(AF_INET, &il->servers.turn_ip, srv, sizeof(srv));
	if (tp != NULL && tp->err[0] != '\0')
		snprintf(buf, len, "%s", tp->err);
	else if (tp != NULL && tp->requests > 0 && tp->responses == 0)
		snprintf(buf, len, "TURN server %s:%u did not answer (%llu requests, no response)",
			 srv, il->servers.turn_port, (unsigned long long)tp->requests);
	else
		snprintf(buf, len, "no relayed candidate from TURN server %s:%u (%llu requests, "
			 "%llu responses)", srv, il->servers.turn_port,
			 (unsigned long long)(tp ? tp->requests : 0),
			 (unsigned long long)(tp ? tp->responses : 0));
	return true;
}

/* Once the TURN server refused our credentials, new agents go without TURN:
 * the credentials cannot become right before a restart, and coturn 4.6
 * answered no STUN Binding request on a 5-tuple whose credentials it refused
 * (test_nat_relay.sh stage 5: libnice's bind discovery timed out), so an
 * agent with TURN was left with its host candidate alone, and a
 * port-restricted cone site could not reach a symmetric one through the
 * other's relay. */
static void without_turn(struct ipop_ice_links *il, struct ice_link *k,
			 struct ipop_ice_servers *sv)
{
	const struct ipop_turn_watch *w = il->n->turn;

	if (w == NULL || w->auth_err[0] == '\0')
		return;
	sv->turn_ip.s_addr = 0;
	il->st.turn_skipped++;
	snprintf(k->turn_error, sizeof(k->turn_error), "TURN not used: %s", w->auth_err);
	if (!il->turn_skip_logged) {
		LOG_WARN("ICE: new agents go without TURN until ipopd restarts: %s", w->auth_err);
		il->turn_skip_logged = true;
	}
}

/* The agent's gathering ended, it failed or it closes: with ice.turn and no
 * relayed candidate, say why once (counted per agent; logged once per
 * distinct reason, not per agent or retry). libnice itself reports neither a
 * refusal nor a silent server: gathering just ends without the candidate,
 * after its retransmissions (or never, if the agent closes first). */
static void turn_verdict(struct ice_link *k)
{
	struct ipop_ice_links *il = k->il;

	if (k->turn_error[0] != '\0' || !turn_reason(il, k, k->turn_error, sizeof(k->turn_error)))
		return;
	il->st.turn_no_relay++;
	/* An error response was logged by the watch as it came. */
	const struct ipop_turn_port *tp = ipop_turn_watch_port(il->n->turn, k->port);
	bool logged = tp != NULL && tp->err[0] != '\0';
	if (!logged && strcmp(k->turn_error, il->turn_logged) != 0) {
		LOG_WARN("link %s: ICE has no relayed candidate: %s", k->l->jid, k->turn_error);
		memcpy(il->turn_logged, k->turn_error, sizeof(il->turn_logged));
	}
}

static void on_gathering_done(void *ctx, struct ipop_ice *a)
{
	turn_verdict(ctx);
}

/* Bad input or a failure on l's ICE: recorded for `show` (links[].ice.last_error),
 * counted, logged at most once a second per link. */
static void ice_error(struct ipop_ice_links *il, struct ipop_link *l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void ice_error(struct ipop_ice_links *il, struct ipop_link *l, const char *fmt, ...)
{
	uint64_t now = ipop_now_ms();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->ice_error, sizeof(l->ice_error), fmt, ap);
	va_end(ap);
	l->ice_error_ms = now;
	il->st.errors++;
	if (l->ice_log_ms != 0 && now - l->ice_log_ms < ICE_LOG_EVERY_MS) {
		l->ice_log_quiet++;
		il->st.errors_unlogged++;
		return;
	}
	if (l->ice_log_quiet != 0)
		LOG_WARN("link %s: ICE: %s (and %u more since the last line)", l->jid, l->ice_error,
			 l->ice_log_quiet);
	else
		LOG_WARN("link %s: ICE: %s", l->jid, l->ice_error);
	l->ice_log_ms = now;
	l->ice_log_quiet = 0;
}

void ipop_ice_link_error(struct ipop_ice_links *il, struct ipop_link *l, const char *fmt, ...)
{
	char buf[sizeof(l->ice_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ice_error(il, l, "%s", buf);
}

struct ipop_link *ipop_ice_link_at_port(const struct ipop_ice_links *il, uint16_t port,
					const char **remote_pwd)
{
	uint16_t i = (uint16_t)(port - il->n->cfg->wan_port);
	const struct ice_link *k = i >= 1 && i <= IPOP_ICE_LINK_PORTS ? il->by_port[i] : NULL;

	if (k == NULL)
		return NULL;
	if (remote_pwd != NULL)
		*remote_pwd = k->remote_pwd;
	return k->l;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_candidate(void *ctx, struct ipop_ice *a, const char *cand)
{
	struct ice_link *k = ctx;

	LOG_DEBUG("link %s: ICE candidate %s", k->l->jid, cand);
	note_candidate(k, cand);
	if (k->n_sent < IPOP_LINK_MAX_CANDS)
		snprintf(k->sent[k->n_sent++], sizeof(k->sent[0]), "%s", cand);
	/* Trickled: each goes as it is found; the member takes it once our
	 * request or reply (sent before gathering started) told it our ufrag. */
	ipop_linkmgr_send_candidate(k->il->lm, k->l, cand);
}

/* The tunnel takes the selected pair's 5-tuple: the peer's endpoint is its
 * remote address and port, our source port its local one (the workers take
 * tunnel messages on the agents' ports too: dataplane/receive.c), so the data
 * rides the NAT bindings ICE's checks opened. A pair whose local candidate is
 * relayed goes through the TURN server instead: the server is the endpoint,
 * the agent's port our source port (the allocation's 5-tuple), and the
 * channel libnice bound for the remote address frames the messages as
 * ChannelData (dataplane/turn.h); until the server accepted that channel
 * (control/link/turn_watch.c) the pair waits. */
struct pair_target {
	uint32_t ip;
	uint16_t port, local_port;     /* network order */
	uint16_t chan;                 /* host order; 0: direct */
};

static bool pair_target(const struct ipop_ice_links *il, const struct ice_link *k,
			struct pair_target *t)
{
	t->local_port = rte_cpu_to_be_16(k->pair.local_port);
	if (k->pair.local_type != IPOP_ICE_RELAY) {
		*t = (struct pair_target){ k->pair.remote_ip, rte_cpu_to_be_16(k->pair.remote_port),
					   t->local_port, 0 };
		return true;
	}
	const struct ipop_turn_port *tp = il->n->turn != NULL ?
		ipop_turn_watch_port(il->n->turn, k->pair.local_port) : NULL;
	if (tp == NULL || !tp->chan_ok || tp->chan_peer_ip != k->pair.remote_ip ||
	    tp->chan_peer_port != k->pair.remote_port)
		return false;
	*t = (struct pair_target){ il->servers.turn_ip.s_addr, rte_cpu_to_be_16(il->servers.turn_port),
				   t->local_port, tp->chan };
	return true;
}

/* Whether peer p's endpoint, source port and channel are the pair's. */
static bool pair_is_peers(const struct ipop_ice_links *il, const struct ice_link *k,
			  const struct ipop_peer *p)
{
	struct pair_target t;

	return pair_target(il, k, &t) && p->ip == t.ip && p->port == t.port &&
	       p->local_port == t.local_port && p->relay_chan == t.chan;
}

/* A live session moved to a new pair (an ICE restart keeps the keys): the
 * initiator runs a handshake over it at once, which proves the pair carries
 * authenticated traffic both ways and measures its round trip on both sides
 * (peer.h: hs_rtt_ms; libnice 0.1.21 has no API for a pair's RTT). */
static void rekey_on_pair(struct ipop_ice_links *il, struct ice_link *k, struct ipop_peer *p)
{
	if (!k->l->initiator || p->cur == NULL || p->hs_active)
		return;
	if (ipop_hs_initiate(il->n, p, ipop_now_ms()) == 0)
		il->st.pair_handshakes++;
}

static void apply_pair(struct ipop_ice_links *il, struct ice_link *k)
{
	struct ipop_node *n = il->n;
	struct ipop_peer *p;
	struct pair_target t;

	if (!k->have_pair || !k->l->peer_added || !pair_target(il, k, &t) ||
	    (p = ipop_peer_find(n, k->l->key)) == NULL)
		return;
	/* (An authenticated handshake through the pair may have set it first.) */
	if (pair_is_peers(il, k, p))
		return;
	p->ip = t.ip;
	p->port = t.port;
	p->local_port = t.local_port;
	p->relay_chan = t.chan;
	/* A handshake due to the old (unreachable) endpoint goes now. */
	p->hs_next_ms = ipop_now_ms();
	n->dirty = true;
	il->st.pairs_applied++;
	if (t.chan != 0) {
		il->st.relay_applied++;
		LOG_INFO("link %s: the tunnel goes through TURN channel 0x%04x", k->l->jid, t.chan);
	}
	rekey_on_pair(il, k, p);
}

void ipop_ice_link_peer_added(struct ipop_ice_links *il, struct ipop_link *l)
{
	if (l->ice != NULL)
		apply_pair(il, l->ice);
}

static void on_selected(void *ctx, struct ipop_ice *a, const struct ipop_ice_pair *p)
{
	struct ice_link *k = ctx;
	char lip[INET_ADDRSTRLEN], rip[INET_ADDRSTRLEN];

	k->il->st.pairs_selected++;
	k->pair = *p;
	k->have_pair = true;
	k->selected_ms = ipop_now_ms();
	k->selected_wall_ms = wall_ms();
	inet_ntop(AF_INET, &p->local_ip, lip, sizeof(lip));
	inet_ntop(AF_INET, &p->remote_ip, rip, sizeof(rip));
	LOG_INFO("link %s: ICE selected %s %s:%u -> %s %s:%u after %llu ms", k->l->jid,
		 ipop_ice_cand_type_name(p->local_type), lip, p->local_port,
		 ipop_ice_cand_type_name(p->remote_type), rip, p->remote_port,
		 (unsigned long long)(ipop_now_ms() - k->opened_ms));
	apply_pair(k->il, k);
}

static void on_failed(void *ctx, struct ipop_ice *a)
{
	struct ice_link *k = ctx;

	k->il->st.ice_failed++;
	k->failed = true;
	turn_verdict(k);
	ice_error(k->il, k->l, k->have_pair ? "the agent failed: its selected pair lost consent" :
		  "failed: no candidate pair answered");
}

/* A session that came up on the signalled endpoints (our wan.port, the
 * member's signalled ip:port) before ICE selected its pair can be moved back
 * there after the pair was applied: a handshake sent that way before the
 * selection arrives later and the endpoint roams to where it came from (seen
 * in test_nat_matrix.sh: two gateways without NAT carried their tunnel on
 * wan.port for good, the pair unused; and in test_nat_link.sh a 5-tuple of
 * our agent's port and the member's wan.port). The pair is taken again, at
 * most every RETAKE_MS, and the initiator's handshake over it moves the
 * member too. Only from those bootstrap endpoints: an endpoint that roamed to
 * another address or agent port is the peer's doing and is left alone. */
static bool on_bootstrap_path(const struct ipop_ice_links *il, const struct ice_link *k,
			      const struct ipop_peer *p)
{
	return p->local_port == rte_cpu_to_be_16(il->n->cfg->wan_port) ||
	       (p->ip == k->l->ip && p->port == rte_cpu_to_be_16(k->l->port));
}

static bool retake_pair(struct ipop_ice_links *il, struct ice_link *k, const struct ipop_peer *p)
{
	uint64_t now = ipop_now_ms();

	if (!k->have_pair || k->failed || !on_bootstrap_path(il, k, p) ||
	    pair_is_peers(il, k, p) || (k->retaken_ms != 0 && now - k->retaken_ms < RETAKE_MS))
		return false;
	k->retaken_ms = now;
	il->st.pairs_retaken++;
	apply_pair(il, k);
	return true;
}

/* The TURN watch's record of this agent's port while an early TURN error
 * can still matter: TURN configured, no pair yet, not replaced yet. NULL
 * otherwise. */
static const struct ipop_turn_port *early_turn(const struct ipop_ice_links *il,
					       const struct ice_link *k)
{
	if (il->n->turn == NULL || k->port == 0 || k->have_pair || k->reopened)
		return NULL;
	return ipop_turn_watch_port(il->n->turn, k->port);
}

/* The TURN server refused this agent's credentials before the agent had a
 * server-reflexive candidate: coturn then answers no Binding request on that
 * 5-tuple (see without_turn), so the agent stays with its host candidate and
 * cannot link a port-restricted cone site to a symmetric one. The agents
 * opened after the refusal go without TURN; this one is replaced at once. */
static bool turn_refused_stuck(const struct ice_link *k, const struct ipop_turn_port *tp)
{
	return k->srflx_cands == 0 && (tp->err_code == 401 || tp->err_code == 441);
}

/* The TURN server answered our Allocate with 437 Allocation Mismatch: an
 * allocation it still holds has this agent's 5-tuple. That is an agent of
 * ours from before a restart that did not stop cleanly (killed, or its
 * allocation's free did not get out: ipop_ice_drain), behind a NAT that kept
 * its mapping (seen in test_nat_relay.sh, when a stopping ipopd did not free
 * its allocations yet). The server keeps it until its lifetime
 * ends (10 minutes by default, RFC 8656), so this agent never gets a relay.
 * A new agent cannot take the same port: the old one's socket stays bound
 * until libnice's close completes, after the new one has gathered. */
static bool turn_mismatch(const struct ice_link *k, const struct ipop_turn_port *tp)
{
	return k->relay_cands == 0 && tp->err_code == 437;
}

/* REOPEN for a mismatch, unless the link's agents before this one met it
 * IPOP_ICE_MISMATCH_REOPENS times in a row lately: the ports may be stale by
 * the dozen (a gateway with many links restarted), and restarting ICE for
 * ever would keep the link from the pair its agent can still find without a
 * relay of its own. */
static enum ipop_path_verdict mismatch_verdict(struct ipop_ice_links *il, const struct ipop_link *l,
					       struct ice_link *k, const struct ipop_turn_port *tp,
					       char *why, size_t len)
{
	k->reopened = true;
	if (l->turn_mismatches >= IPOP_ICE_MISMATCH_REOPENS &&
	    ipop_now_ms() - l->turn_mismatch_ms < IPOP_ICE_MISMATCH_WINDOW_MS) {
		il->st.turn_mismatch_kept++;
		LOG_WARN("link %s: ICE agent on port %u kept without a relay of its own: %s "
			 "(its %u agents before met it too)", l->jid, k->port, tp->err,
			 l->turn_mismatches);
		return IPOP_PATH_OK;
	}
	k->mismatch = true;
	il->st.turn_mismatch_reopened++;
	LOG_INFO("link %s: ICE agent on port %u replaced: %s", l->jid, k->port, tp->err);
	snprintf(why, len, "TURN allocation mismatch (437) on port %u: a new agent on another port",
		 k->port);
	return IPOP_PATH_REOPEN;
}

enum ipop_path_verdict ipop_ice_link_path_check(struct ipop_ice_links *il,
						const struct ipop_link *l, char *why, size_t len)
{
	struct ice_link *k = l->ice;
	const struct ipop_turn_port *tp = k != NULL ? early_turn(il, k) : NULL;
	const struct ipop_peer *p;

	if (tp != NULL && turn_refused_stuck(k, tp)) {
		k->reopened = true;
		il->st.turn_reopened++;
		snprintf(why, len, "TURN refused our credentials before a srflx candidate: no TURN now");
		return IPOP_PATH_REOPEN;
	}
	if (tp != NULL && turn_mismatch(k, tp))
		return mismatch_verdict(il, l, k, tp, why, len);
	if (k == NULL || !l->peer_added || (p = ipop_peer_find(il->n, l->key)) == NULL ||
	    p->state != IPOP_PEER_UP)
		return IPOP_PATH_OK;
	if (k->have_pair && k->failed) {
		snprintf(why, len, "the agent's selected pair lost consent (libnice: failed)");
		return IPOP_PATH_LOST;
	}
	if (retake_pair(il, l->ice, p))
		return IPOP_PATH_OK;
	/* A pair that does not carry the tunnel (an endpoint that roamed since,
	 * a relayed pair whose channel is not known yet) says nothing about it. */
	if (il->restart_after_ms == 0 || (k->have_pair && !pair_is_peers(il, k, p)))
		return IPOP_PATH_OK;
	/* Silence counts from the later of the peer's last packet and this
	 * agent's pair (or, without one yet, its opening): an agent that a
	 * restart opened and that found no pair while the peer stays silent is
	 * replaced again. */
	uint64_t now = ipop_now_ms();
	uint64_t mark = k->have_pair ? k->selected_ms : k->opened_ms;
	uint64_t since = p->last_rx_ms > mark ? p->last_rx_ms : mark;
	/* An agent without a pair gets twice as long: its request is sent again
	 * meanwhile (linkmgr.c ice_resend), within the member's request budget. */
	uint64_t quiet = now - since;
	if (k->have_pair && quiet >= il->probe_after_ms && quiet < il->restart_after_ms)
		return IPOP_PATH_QUIET;
	if (quiet < (k->have_pair ? 1u : 2u) * il->restart_after_ms)
		return IPOP_PATH_OK;
	if (k->have_pair)
		snprintf(why, len, "nothing authenticated from the peer on the selected pair for %llu ms",
			 (unsigned long long)(now - since));
	else
		snprintf(why, len, "no pair and nothing from the peer for %llu ms",
			 (unsigned long long)(now - since));
	return IPOP_PATH_LOST;
}

void ipop_ice_link_resend(struct ipop_ice_links *il, struct ipop_link *l)
{
	struct ice_link *k = l->ice;

	for (unsigned i = 0; k != NULL && i < k->n_sent; i++)
		ipop_linkmgr_send_candidate(il->lm, l, k->sent[i]);
}

void ipop_ice_link_refused(struct ipop_ice_links *il, struct ipop_link *l, const char *cand,
			   int err)
{
	const char *why = err == -ENOSPC ? "the member already sent its 16" :
			  err == -EBADMSG ? "not in the candidate grammar of docs/signalling.md" :
			  strerror(-err);

	ice_error(il, l, "candidate from %s refused (%s): %.100s", l->jid, why, cand);
}

int ipop_ice_link_open(struct ipop_ice_links *il, struct ipop_link *l)
{
	const struct ipop_cfg *c = il->n->cfg;
	struct ice_link *k;
	int r;

	if (l->ice != NULL)
		return 0;
	if ((unsigned)c->wan_port + IPOP_ICE_LINK_PORTS > 65535) {
		il->st.agents_failed++;
		LOG_WARN("link %s: no ICE agent: wan.port %u leaves no room for its %u ports",
			 l->jid, c->wan_port, IPOP_ICE_LINK_PORTS);
		return -ERANGE;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		il->st.agents_failed++;
		LOG_WARN("link %s: no ICE agent: out of memory", l->jid);
		return -ENOMEM;
	}
	struct ipop_ice_params p = {
		.context = NULL,   /* the daemon's main loop runs the default context */
		.controlling = false,   /* known with the member's identity (ice_remote) */
		.bind_ip = c->wan_addr,
		.port_min = (uint16_t)(c->wan_port + 1),
		.port_max = (uint16_t)(c->wan_port + IPOP_ICE_LINK_PORTS),
		.servers = il->servers,
		.ev = { .ctx = k, .candidate = on_candidate, .selected = on_selected,
			.failed = on_failed, .gathering_done = on_gathering_done },
	};
	k->il = il;
	k->l = l;
	k->opened_ms = ipop_now_ms();
	without_turn(il, k, &p.servers);
	if ((r = ipop_ice_new(&p, &k->agent)) != 0) {
		il->st.agents_failed++;
		LOG_WARN("link %s: no ICE agent: %s", l->jid, strerror(-r));
		free(k);
		return r;
	}
	char u[IPOP_ICE_UFRAG_LEN], pw[IPOP_ICE_UFRAG_LEN];
	if ((r = ipop_ice_local_credentials(k->agent, u, pw)) != 0 ||
	    strlen(u) >= sizeof(l->ice_ufrag) || strlen(pw) >= sizeof(l->ice_pwd)) {
		il->st.agents_failed++;
		LOG_WARN("link %s: no ICE agent: its credentials do not fit the link stanza", l->jid);
		ipop_ice_free(k->agent);
		free(k);
		return r != 0 ? r : -EOVERFLOW;
	}
	memcpy(l->ice_ufrag, u, strlen(u) + 1);
	memcpy(l->ice_pwd, pw, strlen(pw) + 1);
	l->ice = k;
	il->st.agents_opened++;
	return 0;
}

void ipop_ice_link_sent(struct ipop_ice_links *il, struct ipop_link *l)
{
	struct ice_link *k = l->ice;
	int r;

	if (k == NULL || k->gathering)
		return;
	k->gathering = true;
	if ((r = ipop_ice_gather(k->agent)) != 0) {
		il->st.agents_failed++;
		LOG_WARN("link %s: ICE agent cannot gather on ports %u-%u: %s", l->jid,
			 il->n->cfg->wan_port + 1, il->n->cfg->wan_port + IPOP_ICE_LINK_PORTS,
			 strerror(-r));
		ipop_ice_link_close(il, l);
	}
}

void ipop_ice_link_remote(struct ipop_ice_links *il, struct ipop_link *l,
			  const struct ipop_link_msg *m)
{
	struct ice_link *k = l->ice;

	if (k == NULL)
		return;
	/* The handshake's initiator (the smaller node ID) nominates. */
	ipop_ice_set_controlling(k->agent, ipop_node_id_cmp(il->n->node_id, l->node) < 0);
	if (ipop_ice_set_remote_credentials(k->agent, m->ufrag, m->pwd) != 0) {
		il->st.bad_credentials++;
		ice_error(il, l, "the member's ufrag/pwd were refused by the agent");
		return;
	}
	snprintf(k->remote_pwd, sizeof(k->remote_pwd), "%s", m->pwd);
}

int ipop_ice_link_candidate(struct ipop_ice_links *il, struct ipop_link *l, const char *cand)
{
	struct ice_link *k = l->ice;
	int r;

	if (k == NULL)
		return -ENOENT;
	r = ipop_ice_add_remote_candidate(k->agent, cand);
	if (r != 0)
		ice_error(il, l, "candidate from %s refused (%s): %.100s", l->jid,
			  r == -ENOSPC ? "the agent has its 16" : "libnice cannot parse or use it", cand);
	return r;
}

void ipop_ice_link_close(struct ipop_ice_links *il, struct ipop_link *l)
{
	struct ice_link *k = l->ice;

	if (k == NULL)
		return;
	/* A young agent may still be in the middle of its allocation. */
	if (ipop_now_ms() - k->opened_ms >= 3000)
		turn_verdict(k);
	if (k->mismatch) {
		uint64_t now = ipop_now_ms();
		if (now - l->turn_mismatch_ms >= IPOP_ICE_MISMATCH_WINDOW_MS)
			l->turn_mismatches = 0;   /* a new run */
		l->turn_mismatches++;
		l->turn_mismatch_ms = now;
	} else if (k->have_pair || k->relay_cands > 0) {
		l->turn_mismatches = 0;
	}
	struct ice_link **s = k->port != 0 ? slot_of(il, k->port) : NULL;
	if (s != NULL && *s == k)
		*s = NULL;
	ipop_ice_free(k->agent);
	free(k);
	l->ice = NULL;
	il->st.agents_closed++;
}

static json_object *addr_json(uint32_t ip, uint16_t port)
{
	char a[INET_ADDRSTRLEN], buf[32];

	inet_ntop(AF_INET, &ip, a, sizeof(a));
	snprintf(buf, sizeof(buf), "%s:%u", a, port);
	return json_object_new_string(buf);
}

/* A relayed pair: our relayed address, the server, the channel (null until
 * the server accepted libnice's ChannelBind). */
static json_object *relay_json(const struct ipop_ice_links *il, const struct ice_link *k)
{
	json_object *o = json_object_new_object();
	struct pair_target t;
	char ch[8];

	json_object_object_add(o, "address", addr_json(k->pair.relay_ip, k->pair.relay_port));
	json_object_object_add(o, "server", addr_json(il->servers.turn_ip.s_addr, il->servers.turn_port));
	snprintf(ch, sizeof(ch), "0x%04x", pair_target(il, k, &t) ? t.chan : 0);
	json_object_object_add(o, "channel", pair_target(il, k, &t) ? json_object_new_string(ch) : NULL);
	return o;
}

/* With ice.turn: the agent's TURN exchange (requests, responses, the last error). */
static void turn_json(const struct ipop_ice_links *il, const struct ice_link *k, json_object *o)
{
	const struct ipop_turn_port *tp = il->n->turn != NULL && k->port != 0 ?
		ipop_turn_watch_port(il->n->turn, k->port) : NULL;

	if (il->n->turn == NULL)
		return;
	json_object_object_add(o, "turn_requests", json_object_new_int64(tp ? (int64_t)tp->requests : 0));
	json_object_object_add(o, "turn_responses", json_object_new_int64(tp ? (int64_t)tp->responses : 0));
	json_object_object_add(o, "relay_candidates", json_object_new_int64((int64_t)k->relay_cands));
	/* Before the verdict: the server's error, or silence 2 s after the
	 * first request (libnice retransmits for longer). */
	char live[sizeof(k->turn_error)];
	const char *err = k->turn_error[0] ? k->turn_error : NULL;
	if (err == NULL && tp != NULL && (tp->err[0] || (tp->requests > 0 && tp->responses == 0 &&
							   ipop_now_ms() - k->opened_ms > 2000)) &&
	    turn_reason(il, k, live, sizeof(live)))
		err = live;
	json_object_object_add(o, "turn_error", err ? json_object_new_string(err) : NULL);
}

static json_object *wall_json(uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[80];

	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
	return json_object_new_string(buf);
}

/* Restarts and the last error: they outlive the agent (kept in the link). */
static void restart_json(json_object *o, const struct ipop_link *l, uint64_t now)
{
	json_object_object_add(o, "restarts", json_object_new_int64(l->ice_restarts));
	json_object_object_add(o, "last_restart", l->ice_restarts == 0 ? NULL :
			       json_object_new_string(l->ice_restart_why));
	json_object_object_add(o, "last_restart_s_ago", l->ice_restarts == 0 ? NULL :
			       json_object_new_int64((int64_t)((now - l->ice_restart_ms) / 1000)));
	json_object_object_add(o, "last_error", l->ice_error[0] == '\0' ? NULL :
			       json_object_new_string(l->ice_error));
	json_object_object_add(o, "last_error_s_ago", l->ice_error[0] == '\0' ? NULL :
			       json_object_new_int64((int64_t)((now - l->ice_error_ms) / 1000)));
}

/* The round trip of the last handshake with the peer, measured by either
 * role (peer.h: hs_rtt_ms), if it went over this pair (after it was selected,
 * while it is the tunnel's 5-tuple); null otherwise. */
static void rtt_json(json_object *o, const struct ipop_ice_links *il, const struct ice_link *k,
		     const struct ipop_peer *peer, uint64_t now)
{
	bool on_pair = peer != NULL && peer->hs_rtt_at_ms >= k->selected_ms &&
		       pair_is_peers(il, k, peer);

	json_object_object_add(o, "rtt_ms", on_pair ? json_object_new_int64((int64_t)peer->hs_rtt_ms) :
			       NULL);
	json_object_object_add(o, "rtt_s_ago", on_pair ?
			       json_object_new_int64((int64_t)((now - peer->hs_rtt_at_ms) / 1000)) : NULL);
}

json_object *ipop_ice_link_json(const struct ipop_ice_links *il, const struct ipop_link *l)
{
	const struct ice_link *k = l->ice;
	json_object *o = json_object_new_object();
	uint64_t now = ipop_now_ms();

	if (k == NULL)
		return o;
	turn_json(il, k, o);
	restart_json(o, l, now);
	const struct ipop_ice_stats *st = ipop_ice_stats(k->agent);
	const char *state = k->have_pair ? "selected" : k->failed ? "failed" :
			    l->remote_ufrag[0] ? "checking" : "gathering";
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "ufrag", json_object_new_string(l->ice_ufrag));
	json_object_object_add(o, "port", k->port != 0 ? json_object_new_int(k->port) : NULL);
	json_object_object_add(o, "turn_mismatches", json_object_new_int64(l->turn_mismatches));
	json_object_object_add(o, "stun_verified", json_object_new_int64((int64_t)l->stun_verified));
	json_object_object_add(o, "stun_failed", json_object_new_int64((int64_t)l->stun_failed));
	json_object_object_add(o, "local_candidates", json_object_new_int64((int64_t)st->local_candidates));
	json_object_object_add(o, "remote_candidates",
			       json_object_new_int64((int64_t)st->remote_candidates));
	json_object_object_add(o, "age_ms", json_object_new_int64((int64_t)(now - k->opened_ms)));
	if (!k->have_pair)
		return o;
	const struct ipop_ice_pair *p = &k->pair;
	json_object_object_add(o, "local_type",
			       json_object_new_string(ipop_ice_cand_type_name(p->local_type)));
	json_object_object_add(o, "remote_type",
			       json_object_new_string(ipop_ice_cand_type_name(p->remote_type)));
	json_object_object_add(o, "local", addr_json(p->local_ip, p->local_port));
	json_object_object_add(o, "remote_endpoint", addr_json(p->remote_ip, p->remote_port));
	if (p->local_type == IPOP_ICE_RELAY)
		json_object_object_add(o, "relay", relay_json(il, k));
	/* The tunnel's 5-tuple is the pair's now (false: the peer not added
	 * yet, a relayed pair whose channel is not bound yet, or it roamed
	 * since), whoever set it: this pair, or an authenticated handshake that
	 * came through it first. */
	const struct ipop_peer *peer = l->peer_added ? ipop_peer_find(il->n, l->key) : NULL;
	json_object_object_add(o, "in_use", json_object_new_boolean(peer != NULL &&
								    pair_is_peers(il, k, peer)));
	json_object_object_add(o, "selected_after_ms",
			       json_object_new_int64((int64_t)(k->selected_ms - k->opened_ms)));
	json_object_object_add(o, "selected_s_ago",
			       json_object_new_int64((int64_t)((now - k->selected_ms) / 1000)));
	json_object_object_add(o, "selected_at", wall_json(k->selected_wall_ms));
	rtt_json(o, il, k, peer, now);
	return o;
}

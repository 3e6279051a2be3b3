/* linkmgr.c - see linkmgr.h. Thread: control.
 *
 * Identity binding: a link's peer is added with the key the member announced
 * (whose hash is its node ID, checked by linkmsg.c), so the Noise IK handshake
 * can only complete with whoever holds that key. A member that announces a key
 * it does not hold never reaches connected; after link_timeout its link is
 * failed with the reason, its peer removed, and it is retried with back-off.
 * A failed link whose key never completed a handshake keeps nothing of it
 * (have_remote goes), so a member that announced another's key holds no
 * claim on it after its handshake failed (key_in_use is only for a key
 * another link uses now or proved).
 */
#include "control/link/linkmgr.h"
#include "control/config/identity.h"
#include "control/counters.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sodium.h>

#define RETRY_BASE_MS 1000
#define RETRY_MAX_MS 60000
#define CLOSED_KEEP_MS 60000       /* unwanted closed/failed links stay visible this long */
/* A handshake we answered just before link_timeout: the member's session is
 * up already and its first packet is on the way. */
#define CONFIRM_GRACE_MS 2000
#define CONFIRM_GRACES 4           /* deadline extensions per handshaking spell */
/* A member asks again after a restart, a lost reply or a refusal's back-off:
 * a few requests in a window are normal, a stream of them is not, and each one
 * may cost a peer reset and a handshake. */
#define REQ_WINDOW_MS 10000
#define REQ_PER_WINDOW 8
/* A restart='ice' request lost with a dead XMPP connection (the NAT that took
 * the pair took our TCP mapping too; it comes back within 1-2 s, see
 * probe_signal) is sent again, with our candidates, every 500 ms while no
 * answer came, a few times: within the member's request budget above. */
#define ICE_RESEND_MS 500
#define ICE_RESENDS 4

const char *ipop_link_state_name(enum ipop_link_state s)
{
	switch (s) {
	case IPOP_LINK_REQUESTED: return "requested";
	case IPOP_LINK_NEGOTIATING: return "negotiating";
	case IPOP_LINK_HANDSHAKING: return "handshaking";
	case IPOP_LINK_CONNECTED: return "connected";
	case IPOP_LINK_FAILED: return "failed";
	case IPOP_LINK_CLOSED: return "closed";
	}
	return "?";
}

void ipop_linkmgr_init(struct ipop_linkmgr *lm, const struct ipop_link_env *env,
		       const uint8_t self_key[32], unsigned link_timeout_ms)
{
	memset(lm, 0, sizeof(*lm));
	lm->env = *env;
	memcpy(lm->self_key, self_key, 32);
	lm->self_id = ipop_node_id_of_key(self_key);
	lm->link_timeout_ms = link_timeout_ms;
	lm->retry_base_ms = RETRY_BASE_MS;
	lm->retry_max_ms = RETRY_MAX_MS;
}

static void ice_close(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	if (l->ice != NULL && lm->env.ice_close != NULL)
		lm->env.ice_close(lm->env.ctx, l);
	l->ice_ufrag[0] = l->ice_pwd[0] = l->remote_ufrag[0] = '\0';
	l->cands_rx = 0;
}

static void ice_open(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	if (lm->env.ice_open != NULL)
		lm->env.ice_open(lm->env.ctx, l);
}

static void ice_sent(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	if (l->ice != NULL && lm->env.ice_sent != NULL)
		lm->env.ice_sent(lm->env.ctx, l);
}

void ipop_linkmgr_free(struct ipop_linkmgr *lm)
{
	for (unsigned i = 0; i < lm->n_links; i++) {
		ice_close(lm, lm->links[i]);
		free(lm->links[i]);
	}
	lm->n_links = 0;
}

static uint64_t now(struct ipop_linkmgr *lm)
{
	return lm->env.now_ms(lm->env.ctx);
}

/* Capped exponential back-off with +-25% jitter. */
static uint64_t backoff(struct ipop_linkmgr *lm, unsigned attempts)
{
	unsigned shift = attempts < 16 ? attempts : 16;
	uint64_t d = (uint64_t)lm->retry_base_ms << shift;

	if (d > lm->retry_max_ms)
		d = lm->retry_max_ms;
	return d - d / 4 + lm->env.random(lm->env.ctx, (uint32_t)(d / 2 + 1));
}

struct ipop_link *ipop_linkmgr_find(struct ipop_linkmgr *lm, const char *jid)
{
	for (unsigned i = 0; i < lm->n_links; i++)
		if (strcmp(lm->links[i]->jid, jid) == 0)
			return lm->links[i];
	return NULL;
}

static struct ipop_link *find_key(struct ipop_linkmgr *lm, const uint8_t key[32])
{
	for (unsigned i = 0; i < lm->n_links; i++)
		if (lm->links[i]->have_remote && sodium_memcmp(lm->links[i]->key, key, 32) == 0)
			return lm->links[i];
	return NULL;
}


static void set_state(struct ipop_linkmgr *lm, struct ipop_link *l, enum ipop_link_state s)
{
	enum ipop_link_state old = l->state;

	l->state = s;
	l->state_ms = now(lm);
	if (s == IPOP_LINK_HANDSHAKING)
		l->graces = 0;
	if (old != s && lm->env.on_state != NULL)
		lm->env.on_state(lm->env.ctx, l, old);
}

/* One side's wish changed: the topology hears it like a state change. */
static void notify(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	if (lm->env.on_state != NULL)
		lm->env.on_state(lm->env.ctx, l, l->state);
}

static bool wanted(const struct ipop_link *l)
{
	return l->type != IPOP_LINK_NONE;
}

static void set_error(struct ipop_link *l, const char *why)
{
	snprintf(l->last_error, sizeof(l->last_error), "%s", why);
}

static struct ipop_link *create(struct ipop_linkmgr *lm, const char *jid)
{
	struct ipop_link *l;

	if (strlen(jid) >= IPOP_JID_LEN || lm->n_links == IPOP_MAX_LINKS)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	snprintf(l->jid, sizeof(l->jid), "%s", jid);
	l->created_ms = now(lm);
	set_state(lm, l, IPOP_LINK_REQUESTED);
	lm->links[lm->n_links++] = l;
	return l;
}

static void destroy(struct ipop_linkmgr *lm, unsigned i)
{
	ice_close(lm, lm->links[i]);
	free(lm->links[i]);
	lm->links[i] = lm->links[--lm->n_links];
	lm->links[lm->n_links] = NULL;
}

static void drop_peer(struct ipop_linkmgr *lm, struct ipop_link *l, const char *why)
{
	if (l->peer_added && !l->peer_static)
		lm->env.remove_peer(lm->env.ctx, l, why);
	l->peer_added = false;
	l->peer_static = false;
	l->endpoint_set = false;
}

static void send_msg_ice(struct ipop_linkmgr *lm, struct ipop_link *l, enum ipop_link_op op,
			 const char *reason, bool ice_restart)
{
	struct ipop_link_msg m = { .op = op, .type = l->type, .ice_restart = ice_restart };

	if (reason != NULL)
		snprintf(m.reason, sizeof(m.reason), "%s", reason);
	if ((op == IPOP_LINK_REQUEST || op == IPOP_LINK_REPLY) && l->ice != NULL) {
		memcpy(m.ufrag, l->ice_ufrag, sizeof(m.ufrag));
		memcpy(m.pwd, l->ice_pwd, sizeof(m.pwd));
	}
	if (l->full[0] == '\0' || lm->env.send(lm->env.ctx, l, &m) != 0) {
		lm->st.send_failed++;
		return;
	}
	lm->st.sent++;
	l->told_type = op == IPOP_LINK_REQUEST || op == IPOP_LINK_REPLY ? l->type : IPOP_LINK_NONE;
}

static void send_msg(struct ipop_linkmgr *lm, struct ipop_link *l, enum ipop_link_op op,
		     const char *reason)
{
	send_msg_ice(lm, l, op, reason, false);
}

static void note_ice_restart(struct ipop_linkmgr *lm, struct ipop_link *l, const char *why)
{
	lm->st.ice_restarts++;
	l->ice_restarts++;
	l->ice_restart_ms = now(lm);
	snprintf(l->ice_restart_why, sizeof(l->ice_restart_why), "%s", why);
}

/* Our wish changed on a link that is set up (retyped, or wanted again after
 * our close): tell the member with a reply, which updates its remote_type and
 * nothing else, so it neither closes a link we want nor counts it against the
 * wrong incoming cap. A link still negotiating tells it once the answer came. */
static void tell_wish(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	if (l->type == IPOP_LINK_NONE || l->type == l->told_type || !l->have_remote ||
	    !l->peer_added || (l->state != IPOP_LINK_HANDSHAKING && l->state != IPOP_LINK_CONNECTED))
		return;
	lm->st.wish_updates++;
	send_msg(lm, l, IPOP_LINK_REPLY, NULL);
}

static void send_request(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	if (l->full[0] == '\0') {
		set_state(lm, l, IPOP_LINK_REQUESTED);   /* wait until the member is online */
		return;
	}
	ice_open(lm, l);
	send_msg(lm, l, IPOP_LINK_REQUEST, NULL);
	ice_sent(lm, l);
	set_state(lm, l, IPOP_LINK_NEGOTIATING);
	l->deadline_ms = now(lm) + lm->link_timeout_ms;
}

static void fail(struct ipop_linkmgr *lm, struct ipop_link *l, const char *why)
{
	drop_peer(lm, l, why);
	ice_close(lm, l);
	set_error(l, why);
	set_state(lm, l, IPOP_LINK_FAILED);
	if (!l->key_proven)
		l->have_remote = false;   /* an unproven key is nobody's claim */
	l->failures++;
	lm->st.failed++;
	l->next_ms = now(lm) + backoff(lm, l->attempts++);
}

static void close_link(struct ipop_linkmgr *lm, struct ipop_link *l, const char *why, bool tell)
{
	if (tell && l->state != IPOP_LINK_CLOSED && l->state != IPOP_LINK_FAILED)
		send_msg(lm, l, IPOP_LINK_CLOSE, NULL);
	drop_peer(lm, l, why);
	ice_close(lm, l);
	if (l->state != IPOP_LINK_CLOSED)
		lm->st.closed++;
	/* A link already down keeps the reason it went down: a refusal, for one,
	 * is why the topology lets it go, and the only place the reason shows. */
	if ((l->state != IPOP_LINK_FAILED && l->state != IPOP_LINK_CLOSED) || l->last_error[0] == '\0')
		set_error(l, why);
	set_state(lm, l, IPOP_LINK_CLOSED);
	l->have_remote = false;
	l->remote_type = IPOP_LINK_NONE;
}

/* Incoming links of this type we hold only because members asked (l aside). */
static unsigned incoming_of_type(const struct ipop_linkmgr *lm, const struct ipop_link *l,
				 uint8_t type)
{
	unsigned n = 0;

	for (unsigned i = 0; i < lm->n_links; i++) {
		const struct ipop_link *o = lm->links[i];
		if (o != l && o->remote_type == type && !wanted(o) &&
		    o->state != IPOP_LINK_CLOSED && o->state != IPOP_LINK_FAILED)
			n++;
	}
	return n;
}

/* Whether holding l only for the member would put its type over the cap:
 * the other links we hold only for members already fill it. */
static bool over_cap(const struct ipop_linkmgr *lm, const struct ipop_link *l, uint8_t type)
{
	unsigned cap = type < IPOP_LINK_NTYPES ? lm->max_in[type] : 0;

	return cap != 0 && !wanted(l) && incoming_of_type(lm, l, type) >= cap;
}

/* Refuse l with a reason both sides show and close our side of it. */
static void refuse(struct ipop_linkmgr *lm, struct ipop_link *l, uint8_t type)
{
	char why[IPOP_LINK_REASON_LEN];

	snprintf(why, sizeof(why), "incoming %s links at their cap of %u",
		 ipop_link_type_name(type), lm->max_in[type]);
	send_msg(lm, l, IPOP_LINK_REFUSE, why);
	lm->st.refusals_tx++;
	close_link(lm, l, why, false);
}

/* A request we would hold only for the member, over its type's cap: refuse
 * it. A link we want ourselves, or one already granted, is not refused here
 * (a repeated request on a granted link is a restart, not a new claim). */
static bool refuse_over_cap(struct ipop_linkmgr *lm, struct ipop_link *l, uint8_t type)
{
	if ((l->remote_type == type && l->peer_added) || !over_cap(lm, l, type))
		return false;
	refuse(lm, l, type);
	return true;
}

/* The link just became one we hold only for the member (we let go of our
 * wish, or the member retyped it): over the cap, it is shed like a request
 * over the cap would have been, or the cap would only bound requests and not
 * what a gateway holds (a node that redraws its long links while the ring
 * forms would collect incoming links without end). */
static bool shed_over_cap(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	if (l->remote_type == IPOP_LINK_NONE || !over_cap(lm, l, l->remote_type))
		return false;
	lm->st.shed_over_cap++;
	refuse(lm, l, l->remote_type);
	return true;
}

/* The member signed in again (a new full JID) on a live link whose ICE we
 * restarted a moment ago: that request, and the candidates trickled after
 * it, went to its old session, likely dead with the NAT mapping that the
 * restart is about. Send them again, now: without our candidates the
 * member's agent has nothing to check, and our checks cannot open its NAT
 * (seen in test_nat_path.sh: the request went again, the candidates did not,
 * and the new agents never found a pair). */
static void ice_member_moved(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	if (l->ice == NULL || !l->initiator || l->ice_restarts == 0 ||
	    l->state != IPOP_LINK_CONNECTED || now(lm) - l->ice_restart_ms >= lm->link_timeout_ms)
		return;
	lm->st.ice_restarts_resent++;
	send_msg_ice(lm, l, IPOP_LINK_REQUEST, NULL, true);
	if (lm->env.ice_resend != NULL)
		lm->env.ice_resend(lm->env.ctx, l);
}

int ipop_linkmgr_want(struct ipop_linkmgr *lm, const char *jid, const char *full,
		      enum ipop_link_type type, const char *why)
{
	struct ipop_link *l = ipop_linkmgr_find(lm, jid);

	if (type == IPOP_LINK_NONE || type >= IPOP_LINK_NTYPES)
		return -EINVAL;
	if (l == NULL && (l = create(lm, jid)) == NULL)
		return -ENOSPC;
	bool moved = full != NULL && strlen(full) < sizeof(l->full) && strcmp(full, l->full) != 0;
	if (full != NULL && strlen(full) < sizeof(l->full))
		snprintf(l->full, sizeof(l->full), "%s", full);
	if (moved)
		ice_member_moved(lm, l);
	snprintf(l->why, sizeof(l->why), "%s", why ? why : ipop_link_type_name(type));
	if (l->type != type) {
		l->type = (uint8_t)type;
		notify(lm, l);
	}
	if (l->state == IPOP_LINK_CLOSED || l->state == IPOP_LINK_FAILED) {
		l->refused = false;
		l->attempts = 0;
		set_state(lm, l, IPOP_LINK_REQUESTED);
	}
	if (l->state == IPOP_LINK_REQUESTED)
		send_request(lm, l);
	else
		tell_wish(lm, l);
	return 0;
}

int ipop_linkmgr_unwant(struct ipop_linkmgr *lm, const char *jid, const char *why)
{
	struct ipop_link *l = ipop_linkmgr_find(lm, jid);

	if (l == NULL)
		return -ENOENT;
	l->type = IPOP_LINK_NONE;
	l->why[0] = '\0';
	notify(lm, l);
	if (l->remote_type != IPOP_LINK_NONE && l->peer_added) {
		if (shed_over_cap(lm, l))
			return 0;
		/* The member still wants it: release our wish, keep the tunnel. */
		send_msg(lm, l, IPOP_LINK_CLOSE, NULL);
		return 0;
	}
	close_link(lm, l, why, true);
	return 0;
}

int ipop_linkmgr_drop(struct ipop_linkmgr *lm, const char *jid, const char *why)
{
	struct ipop_link *l = ipop_linkmgr_find(lm, jid);

	if (l == NULL)
		return -ENOENT;
	l->type = IPOP_LINK_NONE;
	l->why[0] = '\0';
	/* Nobody to tell: a close to a member that left only comes back as an
	 * error from the server (one per link it had, at every leave). */
	close_link(lm, l, why, false);
	return 0;
}

/* The incoming-only link of this type (held only for its member) made last,
 * or NULL. */
static struct ipop_link *newest_incoming(struct ipop_linkmgr *lm, uint8_t type)
{
	struct ipop_link *best = NULL;

	for (unsigned i = 0; i < lm->n_links; i++) {
		struct ipop_link *o = lm->links[i];
		if (o->remote_type == type && !wanted(o) && o->state != IPOP_LINK_CLOSED &&
		    o->state != IPOP_LINK_FAILED && (best == NULL || o->created_ms > best->created_ms))
			best = o;
	}
	return best;
}

void ipop_linkmgr_set_limits(struct ipop_linkmgr *lm, const unsigned max_in[IPOP_LINK_NTYPES])
{
	memcpy(lm->max_in, max_in, sizeof(lm->max_in));
	/* A cap that went down (k follows the size estimate, which a leave can
	 * move across a rounding boundary) bounds what we hold now, not only the
	 * next request: the newest links over it are shed, their members draw
	 * elsewhere. */
	for (uint8_t type = 0; type < IPOP_LINK_NTYPES; type++) {
		if (max_in[type] == 0)
			continue;
		struct ipop_link *l;
		while (incoming_of_type(lm, NULL, type) > max_in[type] &&
		       (l = newest_incoming(lm, type)) != NULL) {
			lm->st.shed_over_cap++;
			refuse(lm, l, type);
		}
	}
}

/* The member's key and endpoint are known: add its peer and handshake. */
static void start_handshake(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	int r;

	l->initiator = ipop_node_id_cmp(lm->self_id, l->node) < 0;
	r = lm->env.add_peer(lm->env.ctx, l, l->initiator);
	if (r != 0 && r != -EEXIST) {
		fail(lm, l, "cannot add the peer to the node");
		return;
	}
	l->peer_added = true;
	l->peer_static = r == -EEXIST;
	if (l->ice != NULL && lm->env.ice_peer_added != NULL)
		lm->env.ice_peer_added(lm->env.ctx, l);
	l->endpoint_set = l->initiator || l->peer_static;
	set_state(lm, l, IPOP_LINK_HANDSHAKING);
	l->deadline_ms = now(lm) + lm->link_timeout_ms;
	struct ipop_link_peer_status st = { 0 };
	if (lm->env.peer_status(lm->env.ctx, l, &st) == 0)
		l->deaths_seen = st.deaths;
}

/* Take the remote's identity; false if it must be refused. */
static bool take_remote(struct ipop_linkmgr *lm, struct ipop_link *l, const struct ipop_link_msg *m)
{
	struct ipop_link *other = find_key(lm, m->key);

	if (sodium_memcmp(m->key, lm->self_key, 32) == 0) {
		lm->st.own_key++;
		return false;
	}
	if (other != NULL && other != l) {
		lm->st.key_in_use++;   /* a second member claims a key already bound */
		return false;
	}
	if (l->have_remote && (memcmp(l->key, m->key, 32) != 0 || l->ip != m->ip ||
			       l->port != m->port)) {
		/* The member came back with another key or address: start over. */
		drop_peer(lm, l, "member changed its key or endpoint");
		l->have_remote = false;
	}
	if (!l->have_remote || memcmp(l->key, m->key, 32) != 0)
		l->key_proven = false;
	memcpy(l->key, m->key, 32);
	l->node = m->node;
	l->ip = m->ip;
	l->port = m->port;
	l->have_remote = true;
	return true;
}

/* Whether the member is over its request budget; the excess is ignored. */
static bool rate_limited(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	uint64_t t = now(lm);

	if (t - l->req_window_ms >= REQ_WINDOW_MS) {
		l->req_window_ms = t;
		l->req_in_window = 0;
	}
	if (++l->req_in_window <= REQ_PER_WINDOW)
		return false;
	lm->st.rate_limited++;
	return true;
}

/* The member's agent, from its request or reply. A request answers with our
 * agent's credentials, so it opens ours if needed, and one announcing another
 * agent than before (the member started over) replaces ours too; a reply only
 * completes what our request started (a reply never restarts anything, so two
 * sides can never make each other restart in turn). No ufrag: the member runs
 * no ICE, and the link uses its signalled endpoint only. */
static void ice_take(struct ipop_linkmgr *lm, struct ipop_link *l, const struct ipop_link_msg *m,
		     bool request)
{
	if (lm->env.ice_open == NULL)
		return;
	if (m->ufrag[0] == '\0') {
		ice_close(lm, l);
		return;
	}
	if (strcmp(m->ufrag, l->remote_ufrag) == 0)
		return;
	if (l->remote_ufrag[0] != '\0') {
		if (!request)
			return;
		note_ice_restart(lm, l, m->ice_restart ? "the member's selected pair stopped answering" :
				 "the member started over with a new agent");
		ice_close(lm, l);
	}
	if (request)
		ice_open(lm, l);
	if (l->ice == NULL)
		return;
	memcpy(l->remote_ufrag, m->ufrag, sizeof(l->remote_ufrag));
	l->cands_rx = 0;
	if (lm->env.ice_remote != NULL)
		lm->env.ice_remote(lm->env.ctx, l, m);
}

/* One candidate of the member's agent, for ours. */
static int on_candidate(struct ipop_linkmgr *lm, struct ipop_link *l, const struct ipop_link_msg *m)
{
	if (l == NULL || !l->have_remote || !ipop_node_id_eq(l->node, m->node)) {
		lm->st.unsolicited++;
		return -ENOENT;
	}
	if (m->cand_refused) {
		/* The signalling codec refused it (and counted it): shown on the
		 * link, whichever agent of the member's it was for. */
		lm->st.candidates_unparsed++;
		if (lm->env.ice_refused != NULL)
			lm->env.ice_refused(lm->env.ctx, l, m->cand, -EBADMSG);
		return -EBADMSG;
	}
	if (l->ice == NULL || lm->env.ice_candidate == NULL || strcmp(m->ufrag, l->remote_ufrag) != 0) {
		lm->st.candidates_stale++;
		return -ESTALE;
	}
	if (l->cands_rx >= IPOP_LINK_MAX_CANDS) {
		lm->st.candidates_too_many++;
		if (lm->env.ice_refused != NULL)
			lm->env.ice_refused(lm->env.ctx, l, m->cand, -ENOSPC);
		return -ENOSPC;
	}
	l->cands_rx++;
	if (lm->env.ice_candidate(lm->env.ctx, l, m->cand) != 0) {
		lm->st.candidates_bad++;
		return -EINVAL;
	}
	lm->st.candidates_rx++;
	return 0;
}

int ipop_linkmgr_send_candidate(struct ipop_linkmgr *lm, struct ipop_link *l, const char *cand)
{
	struct ipop_link_msg m = { .op = IPOP_LINK_CANDIDATE };

	memcpy(m.ufrag, l->ice_ufrag, sizeof(m.ufrag));
	snprintf(m.cand, sizeof(m.cand), "%s", cand);
	if (l->full[0] == '\0' || lm->env.send(lm->env.ctx, l, &m) != 0) {
		lm->st.send_failed++;
		return -ENOTCONN;
	}
	lm->st.sent++;
	lm->st.candidates_tx++;
	return 0;
}

static int on_request(struct ipop_linkmgr *lm, struct ipop_link *l, const struct ipop_link_msg *m)
{
	bool fresh = !l->have_remote || !l->peer_added;

	lm->st.requests_rx++;
	if (!take_remote(lm, l, m))
		return -EPERM;
	if (refuse_over_cap(lm, l, m->type))
		return -EBUSY;
	if (l->remote_type != m->type) {
		l->remote_type = m->type;
		notify(lm, l);
	}
	ice_take(lm, l, m, true);
	send_msg(lm, l, IPOP_LINK_REPLY, NULL);
	ice_sent(lm, l);
	if (!fresh && m->ice_restart && l->peer_added &&
	    (l->state == IPOP_LINK_CONNECTED || l->state == IPOP_LINK_HANDSHAKING)) {
		/* Only the path went: the sessions stay, the new pair becomes
		 * their 5-tuple once the new agents select it. */
		lm->st.ice_restarts_rx++;
		return 0;
	}
	if (!fresh && (l->state == IPOP_LINK_CONNECTED || l->state == IPOP_LINK_HANDSHAKING) &&
	    l->peer_added) {
		/* A request on a live link: the member lost its side (restart);
		 * our sessions are stale, handshake again. */
		lm->env.reset_peer(lm->env.ctx, l, "member renegotiated the link");
		set_state(lm, l, IPOP_LINK_HANDSHAKING);
		l->deadline_ms = now(lm) + lm->link_timeout_ms;
		return 0;
	}
	if (!l->peer_added || l->state != IPOP_LINK_HANDSHAKING)
		start_handshake(lm, l);
	return 0;
}

static int on_reply(struct ipop_linkmgr *lm, struct ipop_link *l, const struct ipop_link_msg *m)
{
	lm->st.replies_rx++;
	if (!take_remote(lm, l, m))
		return -EPERM;
	ice_take(lm, l, m, false);
	if (l->remote_type != m->type) {
		l->remote_type = m->type;   /* the member's own wish, "none" if it has none */
		notify(lm, l);
		if (l->peer_added && shed_over_cap(lm, l))
			return 0;
	}
	if (!l->peer_added)
		start_handshake(lm, l);   /* first answer, or the key changed */
	tell_wish(lm, l);             /* our wish changed while we waited for it */
	return 0;
}

/* The member let go of its wish; the link goes only if we have none either. */
static int on_close(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	lm->st.closes_rx++;
	l->remote_type = IPOP_LINK_NONE;
	if (wanted(l) && l->state != IPOP_LINK_CLOSED && l->state != IPOP_LINK_FAILED &&
	    l->state != IPOP_LINK_NEGOTIATING) {
		notify(lm, l);
		return 0;
	}
	close_link(lm, l, "closed by the member", false);
	l->next_ms = now(lm) + backoff(lm, l->attempts++);
	return 0;
}

/* The member will not hold the link we asked for: fail it with its reason;
 * the topology hears of it and may choose another member. */
static int on_refuse(struct ipop_linkmgr *lm, struct ipop_link *l, const struct ipop_link_msg *m)
{
	char why[sizeof(l->last_error)];

	lm->st.refusals_rx++;
	/* Connected too: a member sheds a granted link it no longer wants itself
	 * when its incoming links are over their cap (see shed_over_cap). */
	if (l->state != IPOP_LINK_NEGOTIATING && l->state != IPOP_LINK_HANDSHAKING &&
	    l->state != IPOP_LINK_CONNECTED) {
		lm->st.unsolicited++;
		return -EALREADY;
	}
	snprintf(why, sizeof(why), "refused by the member: %s", m->reason);
	l->refused = true;
	fail(lm, l, why);
	return 0;
}

int ipop_linkmgr_on_msg(struct ipop_linkmgr *lm, const char *jid, const char *full,
			const struct ipop_link_msg *m)
{
	struct ipop_link *l = ipop_linkmgr_find(lm, jid);

	if (m->op == IPOP_LINK_CANDIDATE)
		return on_candidate(lm, l, m);
	if (m->op == IPOP_LINK_CLOSE || m->op == IPOP_LINK_REFUSE) {
		/* A refusal answers our request, which we may have sent before
		 * hearing anything from the member (no identity yet): it needs only
		 * a link we are negotiating (on_refuse), and the sender's node ID
		 * when we know it. A close is for a link set up with that node. */
		bool known = l != NULL && l->have_remote;
		if (l == NULL || (known && !ipop_node_id_eq(l->node, m->node)) ||
		    (!known && m->op == IPOP_LINK_CLOSE)) {
			lm->st.unsolicited++;
			return -ENOENT;
		}
		return m->op == IPOP_LINK_CLOSE ? on_close(lm, l) : on_refuse(lm, l, m);
	}
	if (l == NULL) {
		if (m->op == IPOP_LINK_REPLY) {
			lm->st.unsolicited++;
			return -ENOENT;
		}
		if ((l = create(lm, jid)) == NULL)
			return -ENOSPC;
	}
	if (m->op == IPOP_LINK_REQUEST && rate_limited(lm, l))
		return -EAGAIN;
	if (strlen(full) < sizeof(l->full))
		snprintf(l->full, sizeof(l->full), "%s", full);
	if (l->state == IPOP_LINK_CLOSED || l->state == IPOP_LINK_FAILED) {
		if (m->op == IPOP_LINK_REPLY) {
			lm->st.unsolicited++;
			return -EALREADY;
		}
		l->attempts = 0;   /* the member asks again: answer now */
		set_state(lm, l, IPOP_LINK_REQUESTED);
	}
	return m->op == IPOP_LINK_REQUEST ? on_request(lm, l, m) : on_reply(lm, l, m);
}

void ipop_linkmgr_send_failed(struct ipop_linkmgr *lm, const char *jid)
{
	struct ipop_link *l = ipop_linkmgr_find(lm, jid);

	lm->st.send_failed++;
	if (l != NULL && l->state == IPOP_LINK_NEGOTIATING) {
		set_state(lm, l, IPOP_LINK_REQUESTED);
		l->next_ms = now(lm) + backoff(lm, l->attempts++);
	}
}

static void update_counters(struct ipop_link *l, const struct ipop_link_peer_status *st)
{
	l->tx_bytes = st->tx_bytes;
	l->rx_bytes = st->rx_bytes;
}

/* The session over ICE's pair died: the pair is likely gone too (a NAT that
 * restarted or moved its ports). The initiator starts over with a new agent
 * and a request, which makes the member replace its own (ice_take) and answer
 * with it; only one side, or two new agents would each wait for the other's
 * answer to a request it never saw. */
static void ice_restart(struct ipop_linkmgr *lm, struct ipop_link *l, const char *why, bool live)
{
	note_ice_restart(lm, l, why);
	ice_close(lm, l);
	ice_open(lm, l);
	live = live && l->ice != NULL;
	send_msg_ice(lm, l, IPOP_LINK_REQUEST, NULL, live);
	ice_sent(lm, l);
	l->ice_resends = 0;
	l->ice_resend_ms = live ? now(lm) + ICE_RESEND_MS : 0;
}

/* Our restart='ice' request has no answer yet (the member's new agent is
 * unknown: ice_close cleared remote_ufrag): send it again. A member that took
 * the first only answers again with the same agent. */
static void ice_resend(struct ipop_linkmgr *lm, struct ipop_link *l, uint64_t t)
{
	if (l->ice_resend_ms == 0 || t < l->ice_resend_ms)
		return;
	if (l->ice == NULL || !l->initiator || l->remote_ufrag[0] != '\0' ||
	    l->ice_resends >= ICE_RESENDS) {
		l->ice_resend_ms = 0;
		return;
	}
	l->ice_resends++;
	l->ice_resend_ms = t + ICE_RESEND_MS;
	lm->st.ice_restarts_resent++;
	/* To the bare JID: the server hands it to every session of the member.
	 * The full JID we know may be a session the same NAT restart killed
	 * (the server keeps it until its TCP times out), the member's new one
	 * unknown to us until its presence arrives. */
	char full[IPOP_JID_LEN];
	memcpy(full, l->full, sizeof(full));
	memcpy(l->full, l->jid, sizeof(l->full));
	send_msg_ice(lm, l, IPOP_LINK_REQUEST, NULL, true);
	if (lm->env.ice_resend != NULL)
		lm->env.ice_resend(lm->env.ctx, l);
	memcpy(l->full, full, sizeof(l->full));
}

/* Our agent cannot find a pair whatever the member does (the env's REOPEN:
 * its TURN credentials were refused before it had a server-reflexive
 * candidate, or a stale allocation holds its 5-tuple): a new agent now, from
 * either side, as a restart='ice' request (the sessions stay). Waiting for
 * the session to die or the link to time out cost a restarted gateway 6-25 s
 * before its link came back. Not a turn taking: the member's answer carries
 * an agent we take as it is, and the env bounds its REOPENs (once for each
 * agent opened before a refusal; 3 agents of a link in a row for 437). */
static bool ice_reopen(struct ipop_linkmgr *lm, struct ipop_link *l, enum ipop_path_verdict v,
		       const char *why)
{
	if (v != IPOP_PATH_REOPEN)
		return false;
	lm->st.ice_reopened++;
	ice_restart(lm, l, why, true);
	return true;
}

static enum ipop_path_verdict path_verdict(struct ipop_linkmgr *lm, struct ipop_link *l,
					   char *why, size_t len)
{
	if (l->ice == NULL || lm->env.ice_path_check == NULL)
		return IPOP_PATH_OK;
	return lm->env.ice_path_check(lm->env.ctx, l, why, len);
}

/* The session still counts as up, but the env sees its pair carry nothing:
 * restart ICE now, keeping the sessions (a NAT that restarted or moved its
 * ports took the 5-tuple, not the keys). Only the initiator, as above. */
static bool ice_check_path(struct ipop_linkmgr *lm, struct ipop_link *l)
{
	char why[80] = "";
	enum ipop_path_verdict v = path_verdict(lm, l, why, sizeof(why));

	if (v == IPOP_PATH_OK)
		return false;
	if (ice_reopen(lm, l, v, why))
		return true;
	/* Before the restart: the member's connection (or ours) may be dead
	 * with the same NAT mapping, and the restart needs it back. */
	if (lm->env.probe_signal != NULL)
		lm->env.probe_signal(lm->env.ctx);
	if (v != IPOP_PATH_LOST || !l->initiator)
		return false;
	lm->st.ice_path_lost++;
	ice_restart(lm, l, why, true);
	return true;
}

/* The link's peer as the node sees it now, its byte counters taken; false
 * (and the link failed) when the node has no such peer any more. */
static bool peer_status(struct ipop_linkmgr *lm, struct ipop_link *l,
			struct ipop_link_peer_status *st)
{
	if (lm->env.peer_status(lm->env.ctx, l, st) != 0) {
		fail(lm, l, "peer vanished from the node");
		return false;
	}
	update_counters(l, st);
	return true;
}

static void tick_handshaking(struct ipop_linkmgr *lm, struct ipop_link *l, uint64_t t)
{
	struct ipop_link_peer_status st = { 0 };

	if (!peer_status(lm, l, &st))
		return;
	if (st.up) {
		l->key_proven = true;
		set_state(lm, l, IPOP_LINK_CONNECTED);
		l->connected_ms = t;
		l->attempts = 0;
		l->connects++;
		l->deaths_seen = st.deaths;
		l->last_error[0] = '\0';
		lm->st.connected++;
		return;
	}
	char why[80] = "";
	if (ice_reopen(lm, l, path_verdict(lm, l, why, sizeof(why)), why))
		return;
	if (!l->endpoint_set && t - l->state_ms >= lm->link_timeout_ms / 4) {
		/* The initiator has not called: maybe it lost its state; call it. */
		lm->env.set_endpoint(lm->env.ctx, l);
		l->endpoint_set = true;
	}
	if (t >= l->deadline_ms && st.confirming && l->graces < CONFIRM_GRACES) {
		/* We answered the member's handshake a moment ago: its side is
		 * up. Failing now would remove the peer under a session the member
		 * holds as connected until dead_after; wait for its first packet.
		 * More than once: a confirmation lost on a path that is just coming
		 * back (an underlay cut lifted) makes the member initiate again, and
		 * failing right after answering that one left it half-open (seen in
		 * test_ring's healing stage). Only a member that completed the
		 * handshake with the announced key gets here, and only a few times. */
		l->graces++;
		l->deadline_ms = t + CONFIRM_GRACE_MS;
		return;
	}
	if (t >= l->deadline_ms)
		fail(lm, l, "handshake with the announced key did not complete "
			    "(the member may not hold that key)");
}

static void tick_connected(struct ipop_linkmgr *lm, struct ipop_link *l, uint64_t t)
{
	struct ipop_link_peer_status st = { 0 };

	if (!peer_status(lm, l, &st))
		return;
	if (st.deaths != l->deaths_seen || !st.up) {
		/* session/timers.c reset the session (nothing received within dead_after)
		 * and retries by itself; give it link_timeout before failing. */
		l->deaths_seen = st.deaths;
		set_error(l, "session died: nothing received within dead_after");
		set_state(lm, l, IPOP_LINK_HANDSHAKING);
		l->deadline_ms = t + lm->link_timeout_ms;
		if (l->ice != NULL && l->initiator)
			ice_restart(lm, l, "the session died (nothing received within dead_after)",
				    false);
		return;
	}
	if (!ice_check_path(lm, l))
		ice_resend(lm, l, t);
}

void ipop_linkmgr_tick(struct ipop_linkmgr *lm)
{
	uint64_t t = now(lm);

	for (unsigned i = 0; i < lm->n_links; i++) {
		struct ipop_link *l = lm->links[i];
		switch (l->state) {
		case IPOP_LINK_REQUESTED:
			if (wanted(l) && l->full[0] && t >= l->next_ms)
				send_request(lm, l);
			break;
		case IPOP_LINK_NEGOTIATING:
			if (t >= l->deadline_ms)
				fail(lm, l, "no answer to the link request");
			break;
		case IPOP_LINK_HANDSHAKING:
			tick_handshaking(lm, l, t);
			break;
		case IPOP_LINK_CONNECTED:
			tick_connected(lm, l, t);
			break;
		case IPOP_LINK_FAILED:
		case IPOP_LINK_CLOSED:
			if (wanted(l) && t >= l->next_ms) {
				set_state(lm, l, IPOP_LINK_REQUESTED);
				send_request(lm, l);
			} else if (!wanted(l) && t - l->state_ms >= CLOSED_KEEP_MS) {
				destroy(lm, i--);
			}
			break;
		}
	}
}

static json_object *link_json(const struct ipop_linkmgr *lm, const struct ipop_link *l,
			      uint64_t t)
{
	json_object *o = json_object_new_object();
	char hex[IPOP_NODE_ID_HEX_LEN + 1], b64[48], ep[32];
	struct in_addr a = { .s_addr = l->ip };

	json_object_object_add(o, "member", json_object_new_string(l->jid));
	json_object_object_add(o, "state", json_object_new_string(ipop_link_state_name(l->state)));
	json_object_object_add(o, "age_s", json_object_new_int64((int64_t)((t - l->created_ms) / 1000)));
	json_object_object_add(o, "in_state_s",
			       json_object_new_int64((int64_t)((t - l->state_ms) / 1000)));
	if (l->have_remote) {
		ipop_node_id_format(l->node, hex, sizeof(hex));
		sodium_bin2base64(b64, sizeof(b64), l->key, 32, sodium_base64_VARIANT_ORIGINAL);
		snprintf(ep, sizeof(ep), "%s:%u", inet_ntoa(a), l->port);
		json_object_object_add(o, "node_id", json_object_new_string(hex));
		/* Where the member sits on the ring seen from us: the clockwise
		 * distance as a fraction of the ring. */
		json_object_object_add(o, "ring_distance", json_object_new_double(
			ipop_ring_to_fraction(ipop_ring_dist(lm->self_id, l->node))));
		json_object_object_add(o, "public_key", json_object_new_string(b64));
		json_object_object_add(o, "endpoint", json_object_new_string(ep));
		json_object_object_add(o, "role", json_object_new_string(l->initiator ? "initiator" :
									   "responder"));
	}
	json_object_object_add(o, "wanted", json_object_new_boolean(wanted(l)));
	json_object_object_add(o, "type", json_object_new_string(ipop_link_type_name(l->type)));
	json_object_object_add(o, "remote_type",
			       json_object_new_string(ipop_link_type_name(l->remote_type)));
	json_object_object_add(o, "why", l->why[0] ? json_object_new_string(l->why) : NULL);
	json_object_object_add(o, "tx_bytes", json_object_new_int64((int64_t)l->tx_bytes));
	json_object_object_add(o, "rx_bytes", json_object_new_int64((int64_t)l->rx_bytes));
	json_object_object_add(o, "connects", json_object_new_int64((int64_t)l->connects));
	json_object_object_add(o, "failures", json_object_new_int64((int64_t)l->failures));
	json_object_object_add(o, "last_error",
			       l->last_error[0] ? json_object_new_string(l->last_error) : NULL);
	if (l->ice != NULL && lm->env.ice_json != NULL)
		json_object_object_add(o, "ice", lm->env.ice_json(lm->env.ctx, l));
	return o;
}

json_object *ipop_linkmgr_json(const struct ipop_linkmgr *lm)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	json_object *st = json_object_new_object();
	uint64_t t = lm->env.now_ms(lm->env.ctx);

	for (unsigned i = 0; i < lm->n_links; i++)
		json_object_array_add(arr, link_json(lm, lm->links[i], t));
	json_object_object_add(o, "links", arr);
	ipop_counters_json(st, &ipop_linkmgr_family, &lm->st);
	json_object_object_add(o, "counters", st);
	return o;
}

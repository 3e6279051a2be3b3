/* signalling.c - see signalling.h. Thread: control.
 *
 * Membership is the shared roster group named like the overlay (Prosody's
 * mod_groups): the roster is fetched at every login, roster pushes update it,
 * and only contacts in that group count. Presence of a member's full JID says
 * it is online, and with which node identity (presence.h): a presence whose
 * identity is refused (malformed, or another member's) leaves the member not
 * online, so the topology only ever sees one member per ID, and an ID it saw
 * is one key; one refused as a duplicate waits for the ID to be released.
 * A lost connection is not a departure: members are reported offline at the
 * next login and come back within the topology's grace period
 * when their presence arrives again, so a server restart tears nothing down.
 * Reconnects back off exponentially (1 s doubling to 60 s, +-25% jitter).
 */
#include "control/signal/signalling.h"
#include "control/signal/linkmsg.h"
#include "control/signal/presence.h"
#include "control/signal/trust.h"
#include "control/config/identity.h"
#include "control/counters.h"
#include "control/log.h"
#include "control/node.h"
#include "control/tasks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <strophe.h>

#define RUN_MS 20
#define RECONNECT_BASE_MS 1000
#define RECONNECT_MAX_MS 60000
#define PROBE_RECENT_MS 5000       /* a loss this soon after a probe is the probe's finding */
#define PROBE_RECONNECT_MS 200
#define ROSTER_NS "jabber:iq:roster"
#define LOG_REJECTS_FIRST 20

enum sig_state { SIG_IDLE, SIG_CONNECTING, SIG_ONLINE, SIG_WAIT };

struct sig_member {
	char full[IPOP_JID_LEN];
	bool available;
	/* A presence refused as a duplicate waits for its identity to be
	 * released, so the member does not stay refused until it logs in again. */
	struct ipop_member_ident waiting;    /* known: waiting */
	char waiting_full[IPOP_JID_LEN];
	bool waiting_trust;                  /* the wait is for an operator's accept-key */
};

struct sig_module {
	struct ipop_module m;
	struct ipop_node *n;
	const struct ipop_cfg *cfg;
	xmpp_ctx_t *ctx;
	xmpp_conn_t *conn;
	xmpp_log_t logger;
	enum sig_state state;
	bool release_conn;             /* the connection ended: free it outside its handler */
	bool stopping;
	bool auth_refused;             /* libstrophe saw a SASL failure on this attempt */
	unsigned attempts;
	uint64_t next_connect_ms, online_since_ms;
	uint64_t probe_ms;             /* last probe_conn write, 0: none */
	char self_bare[IPOP_JID_LEN];
	char bound[IPOP_JID_LEN];
	GHashTable *members;           /* bare JID -> struct sig_member */
	struct ipop_idents *idents;    /* the available members' node identities */
	struct ipop_node_id node_id;   /* ours, from our key */
	struct ipop_signal_stats st;
	char last_error[160];
	struct ipop_trust *trust;      /* the node's (trust.h) */
	uint64_t trust_tick_ms;
};

static uint64_t now_ms(void)
{
	return (uint64_t)(g_get_monotonic_time() / 1000);
}

static void bare_of(const char *jid, char *out, size_t len)
{
	snprintf(out, len, "%.*s", (int)strcspn(jid, "/"), jid);
}

/* libstrophe's own messages: errors and warnings are worth an operator's eye.
 * Its debug output is dropped, never logged: it contains the raw stream, SASL
 * exchange included. It is only read for one fact: the server refused our
 * authentication (libstrophe's "auth failed", or a SASL <failure> received). */
static void strophe_log(void *ud, xmpp_log_level_t level, const char *area, const char *msg)
{
	struct sig_module *sm = ud;

	if (level >= XMPP_LEVEL_WARN) {
		LOG_WARN("xmpp %s: %.300s", area, msg);
		return;
	}
	if (strncmp(msg, "SENT:", 5) == 0)
		return;
	if (strstr(msg, "auth failed") != NULL ||
	    (strncmp(msg, "RECV:", 5) == 0 && strstr(msg, "<failure") != NULL &&
	     strstr(msg, "xmpp-sasl") != NULL))
		sm->auth_refused = true;
}

static struct ipop_task *submit(struct sig_module *sm, const char *target, enum ipop_task_op op,
				json_object *p)
{
	struct ipop_task *t = ipop_task_new("signal", target, op, p);

	if (t != NULL)
		ipop_task_submit(sm->m.fw, t);
	return t;
}

_Static_assert(sizeof(struct ipop_member_ident) <= IPOP_TASK_BODY_MAX, "member ident body");
_Static_assert(sizeof(struct ipop_link_msg) <= IPOP_TASK_BODY_MAX, "link message body");

/* A task whose body is what was parsed at the edge (bodies fit: see above). */
static int submit_body(struct sig_module *sm, const char *target, enum ipop_task_op op,
		       json_object *p, const void *body, size_t len)
{
	struct ipop_task *t = ipop_task_new("signal", target, op, p);

	if (t == NULL)
		return -ENOMEM;
	ipop_task_set_body(t, body, len);
	ipop_task_submit(sm->m.fw, t);
	return 0;
}

static void member_event(struct sig_module *sm, enum ipop_task_op op, const char *jid,
			 const char *full)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "jid", json_object_new_string(jid));
	json_object_object_add(p, "full", json_object_new_string(full));
	submit(sm, "topology", op, p);
}

static void member_online(struct sig_module *sm, const char *jid, const char *full,
			  const struct ipop_member_ident *id)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "jid", json_object_new_string(jid));
	json_object_object_add(p, "full", json_object_new_string(full));
	submit_body(sm, "topology", IPOP_OP_MEMBER_ONLINE, p, id, sizeof(*id));
}

static void retry_waiting(struct sig_module *sm);

/* The gateway directory (fib/gateways.h) follows the members' identities. */
static void gateway_held(void *ctx, struct ipop_node_id node)
{
	if (ipop_gateways_hold(ctx, node) == -ENOSPC)
		LOG_WARN("signal: gateway directory full (%u gateways): frames for this member's "
			 "LAN are flooded", IPOP_MAX_GATEWAYS);
}

static void gateway_released(void *ctx, struct ipop_node_id node)
{
	ipop_gateways_release(ctx, node, ipop_now_ms());
}

/* Trust took a member's key away: it is not online with it any more, and
 * its link goes now (not after offline_grace: the key is not its). */
static void trust_lost(void *ctx, const char *jid, const uint8_t key[32], const char *why)
{
	struct sig_module *sm = ctx;
	struct sig_member *mb = g_hash_table_lookup(sm->members, jid);
	const struct ipop_member_ident *held = ipop_idents_get(sm->idents, jid);
	json_object *p;

	if (mb == NULL)
		return;
	if (mb->waiting.known && sodium_memcmp(mb->waiting.key, key, 32) == 0)
		mb->waiting.known = false;
	if (held != NULL && sodium_memcmp(held->key, key, 32) == 0) {
		ipop_idents_release(sm->idents, jid);
		if (mb->available) {
			mb->available = false;
			member_event(sm, IPOP_OP_MEMBER_OFFLINE, jid, mb->full);
		}
	}
	sm->st.trust_drops++;
	LOG_WARN("signal: member %s dropped: %s", jid, why);
	p = json_object_new_object();
	json_object_object_add(p, "jid", json_object_new_string(jid));
	json_object_object_add(p, "why", json_object_new_string(why));
	json_object_object_add(p, "left", json_object_new_int(1));
	submit(sm, "linkmgr", IPOP_OP_LINK_UNWANT, p);
	retry_waiting(sm);
}

void ipop_signal_retry(struct ipop_module *m)
{
	retry_waiting((struct sig_module *)m);
}

/* ---- roster: who is a member ---- */

static bool item_in_group(xmpp_stanza_t *item, const char *group)
{
	for (xmpp_stanza_t *g = xmpp_stanza_get_children(item); g; g = xmpp_stanza_get_next(g)) {
		const char *name = xmpp_stanza_get_name(g);
		if (name == NULL || strcmp(name, "group") != 0)
			continue;
		char *text = xmpp_stanza_get_text(g);
		bool match = text != NULL && strcmp(text, group) == 0;
		if (text)
			xmpp_free(xmpp_stanza_get_context(g), text);
		if (match)
			return true;
	}
	return false;
}

/* Apply one roster item; a member that leaves the group goes offline. */
static void roster_item(struct sig_module *sm, xmpp_stanza_t *item)
{
	const char *jid = xmpp_stanza_get_attribute(item, "jid");
	const char *sub = xmpp_stanza_get_attribute(item, "subscription");
	char bare[IPOP_JID_LEN];

	if (jid == NULL || strlen(jid) >= IPOP_JID_LEN)
		return;
	bare_of(jid, bare, sizeof(bare));
	bool member = item_in_group(item, sm->cfg->overlay) &&
		      !(sub != NULL && strcmp(sub, "remove") == 0) && strcmp(bare, sm->self_bare) != 0;
	struct sig_member *mb = g_hash_table_lookup(sm->members, bare);
	if (member && mb == NULL) {
		g_hash_table_insert(sm->members, g_strdup(bare), g_new0(struct sig_member, 1));
		sm->st.roster_items++;
	} else if (!member && mb != NULL) {
		if (mb->available)
			member_event(sm, IPOP_OP_MEMBER_OFFLINE, bare, mb->full);
		ipop_idents_release(sm->idents, bare);
		g_hash_table_remove(sm->members, bare);
		retry_waiting(sm);
	}
}

/* Our available presence: it tells every member our node ID and key. */
static void send_presence(struct sig_module *sm)
{
	xmpp_stanza_t *pres = ipop_presence_build(sm->ctx, sm->node_id, sm->n->id.pub, sm->n->cert_b64);

	if (pres == NULL) {
		snprintf(sm->last_error, sizeof(sm->last_error), "cannot build our presence");
		LOG_WARN("signal: cannot build our presence (out of memory); members do not see us");
		return;
	}
	xmpp_send(sm->conn, pres);
	xmpp_stanza_release(pres);
}

static int on_roster_result(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
	struct sig_module *sm = ud;
	const char *type = xmpp_stanza_get_type(st);
	xmpp_stanza_t *q = xmpp_stanza_get_child_by_ns(st, ROSTER_NS);

	if (type == NULL || strcmp(type, "result") != 0 || q == NULL) {
		snprintf(sm->last_error, sizeof(sm->last_error), "roster request failed");
		LOG_WARN("signal: roster request failed; no members known");
	} else {
		for (xmpp_stanza_t *it = xmpp_stanza_get_children(q); it; it = xmpp_stanza_get_next(it)) {
			const char *name = xmpp_stanza_get_name(it);
			if (name && strcmp(name, "item") == 0)
				roster_item(sm, it);
		}
	}
	LOG_INFO("signal: overlay %s has %u other member(s) in the roster", sm->cfg->overlay,
		 g_hash_table_size(sm->members));
	/* Presence only now: members' presences are judged against the roster. */
	send_presence(sm);
	return 0;
}

/* Roster push (RFC 6121 2.1.6): only from our own account. */
static int on_roster_push(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
	struct sig_module *sm = ud;
	const char *from = xmpp_stanza_get_from(st), *type = xmpp_stanza_get_type(st);
	xmpp_stanza_t *q = xmpp_stanza_get_child_by_ns(st, ROSTER_NS);
	char bare[IPOP_JID_LEN] = "";

	if (from != NULL)
		bare_of(from, bare, sizeof(bare));
	if (type == NULL || strcmp(type, "set") != 0 || q == NULL ||
	    (from != NULL && strcmp(bare, sm->self_bare) != 0))
		return 1;
	sm->st.roster_pushes++;
	for (xmpp_stanza_t *it = xmpp_stanza_get_children(q); it; it = xmpp_stanza_get_next(it)) {
		const char *name = xmpp_stanza_get_name(it);
		if (name && strcmp(name, "item") == 0)
			roster_item(sm, it);
	}
	xmpp_stanza_t *res = xmpp_stanza_reply(st);
	if (res) {
		xmpp_stanza_set_type(res, "result");
		xmpp_send(conn, res);
		xmpp_stanza_release(res);
	}
	return 1;
}

/* ---- presence: who is online, with which identity ---- */

static void count_presence_reject(struct sig_module *sm, enum ipop_presence_reject why,
				  const char *from)
{
	uint64_t n = ++sm->st.presence_rejected[why];

	if (n <= LOG_REJECTS_FIRST || n % 1000 == 0)
		LOG_WARN("signal: presence of %.100s refused: %s (%llu so far); it is not online for "
			 "the topology", from, ipop_presence_reject_name(why), (unsigned long long)n);
}

/* A refused presence replaces what the member announced before, as any new
 * presence does: it is not online any more, and holds no identity. */
static void member_refused(struct sig_module *sm, const char *bare, struct sig_member *mb,
			   const char *from, enum ipop_presence_reject why)
{
	count_presence_reject(sm, why, from);
	ipop_idents_release(sm->idents, bare);
	if (mb->available) {
		mb->available = false;
		member_event(sm, IPOP_OP_MEMBER_OFFLINE, bare, mb->full);
	}
}

/* The identity an available presence announces, now held by bare: 0 with *id
 * (known, or not for a node that announces none); otherwise refused with *why. */
/* Trust's verdict on the announced identity (its certificate with a CA). */
static int trust_identity(struct sig_module *sm, const char *bare, xmpp_stanza_t *st,
			  const struct ipop_member_ident *id, enum ipop_trust_reject *tw)
{
	struct ipop_cert cert;
	int c = -ENOENT;

	if (ipop_trust_has_ca(sm->trust)) {
		c = ipop_presence_cert(st, &cert);
		if (c == -EINVAL)
			*tw = (enum ipop_trust_reject)IPOP_CERT_REJ_BAD_ENCODING;
		/* Without one, even the member's certified key is refused: a
		 * presence is where a member shows its certificate, and one that
		 * does not could move the member to a resource of the sender's. */
		else if (c == -ENOENT && sodium_memcmp(id->key, sm->n->id.pub, 32) != 0)
			*tw = (enum ipop_trust_reject)IPOP_CERT_REJ_MISSING;
		if (c != 0 && *tw != 0)
			return ipop_trust_count(sm->trust, *tw);
	}
	return ipop_trust_check(sm->trust, bare, id->key, c == 0 ? &cert : NULL,
				(uint64_t)(g_get_real_time() / G_USEC_PER_SEC), tw);
}

/* The identity an available presence announces, now held by bare: 0 with *id
 * (known, or not for a node that announces none); otherwise refused with *why
 * (and *tw when trust refused it). */
static int take_identity(struct sig_module *sm, const char *bare, xmpp_stanza_t *st,
			 struct ipop_member_ident *id, enum ipop_presence_reject *why,
			 enum ipop_trust_reject *tw)
{
	int r = ipop_presence_parse(st, id, why);

	*tw = 0;
	if (r == -ENOENT && ipop_trust_has_ca(sm->trust)) {
		/* With a CA, a member shows its certificate or is not one. */
		*tw = (enum ipop_trust_reject)IPOP_CERT_REJ_MISSING;
		*why = IPOP_PRES_REJ_UNTRUSTED;
		return ipop_trust_count(sm->trust, *tw);
	}
	if (r == -ENOENT) {
		ipop_idents_release(sm->idents, bare);
		sm->st.presence_no_id++;
		return 0;
	}
	if (r == 0 && trust_identity(sm, bare, st, id, tw) != 0) {
		*why = IPOP_PRES_REJ_UNTRUSTED;
		return -EPERM;
	}
	if (r == 0)
		r = ipop_idents_claim(sm->idents, bare, id, why);
	if (r == 0)
		sm->st.presence_ids++;
	return r;
}

static void id_text(const struct ipop_member_ident *id, char out[IPOP_NODE_ID_HEX_LEN + 1])
{
	if (id->known)
		ipop_node_id_format(id->node, out, IPOP_NODE_ID_HEX_LEN + 1);
	else
		snprintf(out, IPOP_NODE_ID_HEX_LEN + 1, "none");
}

/* A member that announces another identity is a new identity: the old one
 * was released when the new one was taken. */
static void note_change(struct sig_module *sm, const char *bare, const struct ipop_member_ident *old,
			const struct ipop_member_ident *now)
{
	char a[IPOP_NODE_ID_HEX_LEN + 1], b[IPOP_NODE_ID_HEX_LEN + 1];

	if (!old->known || (now->known && ipop_node_id_eq(old->node, now->node)))
		return;
	sm->st.presence_id_changes++;
	id_text(old, a);
	id_text(now, b);
	LOG_INFO("signal: member %s announces node ID %s (was %s): a new identity", bare, b, a);
}

static void member_available(struct sig_module *sm, const char *bare, struct sig_member *mb,
			     const char *from, xmpp_stanza_t *st)
{
	struct ipop_member_ident id, old = { .known = false };
	enum ipop_presence_reject why;
	enum ipop_trust_reject tw;
	const struct ipop_member_ident *held = ipop_idents_get(sm->idents, bare);

	if (held != NULL)
		old = *held;
	mb->waiting.known = false;   /* this presence replaces the one that waited */
	if (take_identity(sm, bare, st, &id, &why, &tw) != 0) {
		if (why == IPOP_PRES_REJ_DUPLICATE || tw == IPOP_TRUST_REJ_KEY_CHANGE) {
			mb->waiting = id;
			mb->waiting_trust = tw == IPOP_TRUST_REJ_KEY_CHANGE;
			snprintf(mb->waiting_full, sizeof(mb->waiting_full), "%s", from);
		}
		if (why == IPOP_PRES_REJ_UNTRUSTED && mb->available && strcmp(mb->full, from) != 0) {
			/* Another resource of the member's account (a stolen
			 * password?) must not knock the online one out. */
			count_presence_reject(sm, why, from);
			sm->st.untrusted_other_resource++;
			return;
		}
		member_refused(sm, bare, mb, from, why);
		return;
	}
	note_change(sm, bare, &old, &id);
	snprintf(mb->full, sizeof(mb->full), "%s", from);
	mb->available = true;
	member_online(sm, bare, from, &id);
}

/* Only the resource we know leaving counts; the one whose presence waits
 * leaving ends the wait. */
static void member_unavailable(struct sig_module *sm, const char *bare, struct sig_member *mb,
			       const char *from)
{
	if (mb->waiting.known && strcmp(mb->waiting_full, from) == 0)
		mb->waiting.known = false;
	if (strcmp(mb->full, from) != 0)
		return;
	mb->available = false;
	ipop_idents_release(sm->idents, bare);
	member_event(sm, IPOP_OP_MEMBER_OFFLINE, bare, from);
}

/* An identity may have been released: a member whose presence was refused as
 * its duplicate takes it now, as if that presence had just arrived. */
static void retry_waiting(struct sig_module *sm)
{
	GHashTableIter it;
	gpointer k, v;
	enum ipop_presence_reject why;
	char hex[IPOP_NODE_ID_HEX_LEN + 1];

	g_hash_table_iter_init(&it, sm->members);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct sig_member *mb = v;
		if (!mb->waiting.known ||
		    (mb->waiting_trust && !ipop_trust_is_bound(sm->trust, k, mb->waiting.key)) ||
		    ipop_idents_claim(sm->idents, k, &mb->waiting, &why) != 0)
			continue;
		ipop_node_id_format(mb->waiting.node, hex, sizeof(hex));
		LOG_INFO("signal: member %s takes node ID %s (%s)", (const char *)k, hex,
			 mb->waiting_trust ? "an operator accepted its key" :
			 "released by the member that held it");
		sm->st.presence_ids++;
		snprintf(mb->full, sizeof(mb->full), "%s", mb->waiting_full);
		mb->available = true;
		mb->waiting.known = false;
		member_online(sm, k, mb->full, ipop_idents_get(sm->idents, k));
	}
}

static int on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
	struct sig_module *sm = ud;
	const char *from = xmpp_stanza_get_from(st), *type = xmpp_stanza_get_type(st);
	char bare[IPOP_JID_LEN];

	sm->st.presences_rx++;
	if (from == NULL || strlen(from) >= IPOP_JID_LEN || strchr(from, '/') == NULL)
		return 1;
	bare_of(from, bare, sizeof(bare));
	if (strcmp(bare, sm->self_bare) == 0)
		return 1;
	struct sig_member *mb = g_hash_table_lookup(sm->members, bare);
	if (mb == NULL) {
		sm->st.not_member_presence++;
		return 1;
	}
	if (type == NULL)
		member_available(sm, bare, mb, from, st);
	else if (strcmp(type, "unavailable") == 0)
		member_unavailable(sm, bare, mb, from);
	retry_waiting(sm);
	return 1;
}

/* ---- link messages ---- */

static void count_reject(struct sig_module *sm, enum ipop_linkmsg_reject why, const char *from)
{
	uint64_t n = ++sm->st.rejected[why];

	if (n <= LOG_REJECTS_FIRST || n % 1000 == 0)
		LOG_WARN("signal: link message from %.100s refused: %s (%llu so far)", from,
			 ipop_linkmsg_reject_name(why), (unsigned long long)n);
}

static void forward_link(struct sig_module *sm, const char *bare, const char *from,
			 const struct ipop_link_msg *m)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "jid", json_object_new_string(bare));
	json_object_object_add(p, "full", json_object_new_string(from));
	/* The message as parsed at the edge; the link manager takes it as is. */
	if (submit_body(sm, "linkmgr", IPOP_OP_LINK_MSG, p, m, sizeof(*m)) != 0)
		sm->st.send_failed++;
}

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
	struct sig_module *sm = ud;
	const char *from = xmpp_stanza_get_from(st), *type = xmpp_stanza_get_type(st);
	struct ipop_link_msg m;
	enum ipop_linkmsg_reject why;
	char bare[IPOP_JID_LEN];

	sm->st.msgs_rx++;
	if (type != NULL && strcmp(type, "error") == 0) {
		sm->st.errors_rx++;   /* a bounce: the member went away; liveness handles it */
		return 1;
	}
	if (from == NULL || strlen(from) >= IPOP_JID_LEN) {
		count_reject(sm, IPOP_REJ_NOT_MEMBER, from ? "(too long)" : "(no sender)");
		return 1;
	}
	bare_of(from, bare, sizeof(bare));
	if (g_hash_table_lookup(sm->members, bare) == NULL) {
		count_reject(sm, IPOP_REJ_NOT_MEMBER, from);
		return 1;
	}
	int r = ipop_linkmsg_parse(st, sm->cfg->overlay, &m, &why);
	if (r == -ENOENT) {
		sm->st.other_rx++;
		return 1;
	}
	if (r != 0) {
		count_reject(sm, why, from);
		/* The member's link shows it (links[].ice.last_error). */
		if (why == IPOP_REJ_BAD_CANDIDATE && m.cand_refused)
			forward_link(sm, bare, from, &m);
		return 1;
	}
	sm->st.link_rx++;
	forward_link(sm, bare, from, &m);
	return 1;
}

/* ---- connection ---- */

static uint64_t reconnect_delay(struct sig_module *sm)
{
	unsigned shift = sm->attempts < 6 ? sm->attempts : 6;
	uint64_t d = (uint64_t)RECONNECT_BASE_MS << shift;

	if (d > RECONNECT_MAX_MS)
		d = RECONNECT_MAX_MS;
	return d - d / 4 + randombytes_uniform((uint32_t)(d / 2 + 1));
}

/* A connection that our own probe_conn found dead was lost to a path change
 * in front of us (a NAT that restarted or moved its ports), not to the
 * server: the links waiting on a restart='ice' exchange need it back now, so
 * the first attempt goes within PROBE_RECONNECT_MS (jittered: every gateway
 * behind that NAT lost its connection at once). Later attempts back off. */
static uint64_t first_delay(struct sig_module *sm, bool was_online)
{
	if (was_online && sm->probe_ms != 0 && now_ms() - sm->probe_ms < PROBE_RECENT_MS) {
		sm->st.probe_reconnects++;
		return randombytes_uniform(PROBE_RECONNECT_MS + 1);
	}
	return reconnect_delay(sm);
}

static const char *stream_error_name(const xmpp_stream_error_t *se)
{
	switch (se->type) {
	case XMPP_SE_NOT_AUTHORIZED: return "not-authorized";
	case XMPP_SE_CONFLICT: return "conflict";
	case XMPP_SE_SYSTEM_SHUTDOWN: return "system-shutdown";
	case XMPP_SE_HOST_UNKNOWN: return "host-unknown";
	case XMPP_SE_POLICY_VIOLATION: return "policy-violation";
	default: return "stream error";
	}
}

/* At login, every member we knew is reported offline ("not seen since"); the
 * ones still there come back with their presence within the grace period. */
static void members_unknown(struct sig_module *sm)
{
	GHashTableIter it;
	gpointer k, v;

	submit(sm, "topology", IPOP_OP_SIGNAL_UP, NULL);
	ipop_idents_clear(sm->idents);   /* each comes back with its presence */
	g_hash_table_iter_init(&it, sm->members);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct sig_member *mb = v;
		member_event(sm, IPOP_OP_MEMBER_OFFLINE, k, "");
		mb->available = false;
		mb->waiting.known = false;
	}
}

static void on_conn(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error,
		    xmpp_stream_error_t *se, void *ud)
{
	struct sig_module *sm = ud;

	if (ev == XMPP_CONN_CONNECT) {
		const char *b = xmpp_conn_get_bound_jid(conn);
		snprintf(sm->bound, sizeof(sm->bound), "%s", b ? b : sm->cfg->sig_jid);
		sm->state = SIG_ONLINE;
		sm->attempts = 0;
		sm->online_since_ms = now_ms();
		sm->st.logins++;
		sm->last_error[0] = '\0';
		LOG_INFO("signal: logged in as %s (%s)", sm->bound,
			 xmpp_conn_is_secured(conn) ? "TLS" : "no TLS");
		members_unknown(sm);
		xmpp_handler_add(conn, on_message, NULL, "message", NULL, sm);
		xmpp_handler_add(conn, on_presence, NULL, "presence", NULL, sm);
		xmpp_handler_add(conn, on_roster_push, ROSTER_NS, "iq", "set", sm);
		xmpp_id_handler_add(conn, on_roster_result, "ipop-roster", sm);
		xmpp_stanza_t *iq = xmpp_iq_new(sm->ctx, "get", "ipop-roster");
		xmpp_stanza_t *q = xmpp_stanza_new(sm->ctx);
		xmpp_stanza_set_name(q, "query");
		xmpp_stanza_set_ns(q, ROSTER_NS);
		xmpp_stanza_add_child(iq, q);
		xmpp_stanza_release(q);
		xmpp_send(conn, iq);
		xmpp_stanza_release(iq);
		return;
	}
	/* Disconnected or failed. */
	bool was_online = sm->state == SIG_ONLINE;
	if (was_online) {
		sm->st.disconnects++;
		if (!sm->stopping)
			submit(sm, "topology", IPOP_OP_SIGNAL_DOWN, NULL);
		snprintf(sm->last_error, sizeof(sm->last_error), "connection lost%s%s",
			 se ? ": " : "", se ? stream_error_name(se) : "");
	} else {
		sm->st.login_failures++;
		snprintf(sm->last_error, sizeof(sm->last_error), "login failed: %s",
			 sm->auth_refused ? "the server refused the password (SASL authentication failed)" :
			 se ? stream_error_name(se) : error ? strerror(error) :
			 "stream closed by the server before login");
	}
	sm->state = SIG_WAIT;
	sm->release_conn = true;
	if (sm->stopping)
		return;
	uint64_t d = first_delay(sm, was_online);
	sm->probe_ms = 0;
	sm->attempts++;
	sm->next_connect_ms = now_ms() + d;
	LOG_WARN("signal: %s as %s to %s:%u; retrying in %llu ms", sm->last_error, sm->cfg->sig_jid,
		 sm->cfg->sig_server, sm->cfg->sig_port, (unsigned long long)d);
}

static int connect_now(struct sig_module *sm)
{
	long flags;

	sm->conn = xmpp_conn_new(sm->ctx);
	if (sm->conn == NULL)
		return -ENOMEM;
	if (!sm->cfg->sig_tls)
		flags = XMPP_CONN_FLAG_DISABLE_TLS;
	else
		flags = XMPP_CONN_FLAG_MANDATORY_TLS | (sm->cfg->sig_tls_trust ? XMPP_CONN_FLAG_TRUST_TLS : 0);
	xmpp_conn_set_flags(sm->conn, flags);
	xmpp_conn_set_jid(sm->conn, sm->cfg->sig_jid);
	xmpp_conn_set_pass(sm->conn, sm->cfg->sig_password);
	xmpp_conn_set_sockopt_callback(sm->conn, xmpp_sockopt_cb_keepalive);
	sm->state = SIG_CONNECTING;
	sm->auth_refused = false;
	sm->st.connects++;
	if (xmpp_connect_client(sm->conn, sm->cfg->sig_server, sm->cfg->sig_port, on_conn, sm) != XMPP_EOK) {
		/* No handler call follows a synchronous failure. */
		xmpp_conn_release(sm->conn);
		sm->conn = NULL;
		sm->state = SIG_WAIT;
		sm->st.login_failures++;
		sm->next_connect_ms = now_ms() + reconnect_delay(sm);
		sm->attempts++;
		snprintf(sm->last_error, sizeof(sm->last_error), "cannot connect to %.100s:%u",
			 sm->cfg->sig_server, sm->cfg->sig_port);
		return -ECONNREFUSED;
	}
	return 0;
}

static void sig_timer(struct ipop_module *mod, uint64_t now)
{
	struct sig_module *sm = (struct sig_module *)mod;

	if (sm->conn != NULL)
		xmpp_run_once(sm->ctx, 0);
	if (sm->release_conn && sm->conn != NULL) {
		xmpp_conn_release(sm->conn);
		sm->conn = NULL;
		sm->release_conn = false;
	}
	if (sm->state == SIG_WAIT && sm->conn == NULL && now >= sm->next_connect_ms)
		connect_now(sm);
	if (now - sm->trust_tick_ms >= 1000) {
		/* Certificates expire and serials get revoked while members stay. */
		sm->trust_tick_ms = now;
		ipop_trust_tick(sm->trust, (uint64_t)(g_get_real_time() / G_USEC_PER_SEC));
	}
}

/* ---- tasks ---- */

static int send_link(struct sig_module *sm, const struct ipop_task *t)
{
	const char *to = ipop_task_str(t, "to");
	const struct ipop_link_msg *want = ipop_task_body(t, sizeof(*want));
	struct ipop_link_msg m;

	if (sm->state != SIG_ONLINE)
		return -ENOTCONN;
	if (to == NULL || want == NULL || (unsigned)want->op >= IPOP_LINK_OP__MAX)
		return -EINVAL;
	/* The link manager says what (op, type, reason); who and where are ours. */
	m = *want;
	m.reason[sizeof(m.reason) - 1] = '\0';
	m.ufrag[sizeof(m.ufrag) - 1] = '\0';
	m.pwd[sizeof(m.pwd) - 1] = '\0';
	m.cand[sizeof(m.cand) - 1] = '\0';
	m.node = sm->node_id;
	memcpy(m.key, sm->n->id.pub, 32);
	m.ip = sm->cfg->wan_addr.s_addr;
	m.port = sm->cfg->wan_port;
	/* Our certificate (with a CA) travels with every request and reply, so
	 * a member that has not seen our presence yet can still judge our key. */
	m.cert[0] = '\0';
	if (m.op == IPOP_LINK_REQUEST || m.op == IPOP_LINK_REPLY)
		snprintf(m.cert, sizeof(m.cert), "%s", sm->n->cert_b64);
	xmpp_stanza_t *msg = ipop_linkmsg_build(sm->ctx, to, sm->cfg->overlay, &m);
	if (msg == NULL)
		return -ENOMEM;
	xmpp_send(sm->conn, msg);
	xmpp_stanza_release(msg);
	sm->st.link_tx++;
	return 0;
}

/* A link lost its ICE path: if the NAT in front of us restarted, our TCP
 * mapping went with it and the connection is dead without knowing it (the
 * server's segments are dropped at the NAT). A whitespace keepalive (RFC 6120
 * 4.6.1) leaves through a new mapping; the server answers it with a reset, so
 * libstrophe reports the loss now and we reconnect, instead of at the next
 * stanza we send. */
static int probe_conn(struct sig_module *sm)
{
	if (sm->state != SIG_ONLINE)
		return 0;
	xmpp_send_raw_string(sm->conn, " ");
	sm->probe_ms = now_ms();
	sm->st.probes++;
	return 0;
}

static void sig_handle(struct ipop_module *mod, struct ipop_task *t)
{
	struct sig_module *sm = (struct sig_module *)mod;
	int r = t->op == IPOP_OP_LINK_SEND ? send_link(sm, t) :
		t->op == IPOP_OP_SIGNAL_PROBE ? probe_conn(sm) : -EOPNOTSUPP;

	if (r != 0)
		sm->st.send_failed++;
	ipop_task_complete(mod->fw, t, r == 0 ? IPOP_TASK_OK : IPOP_TASK_FAILED, r, NULL);
}

static int sig_start(struct ipop_module *mod)
{
	struct sig_module *sm = (struct sig_module *)mod;

	xmpp_initialize();
	sm->logger.handler = strophe_log;
	sm->logger.userdata = sm;
	sm->ctx = xmpp_ctx_new(NULL, &sm->logger);
	if (sm->ctx == NULL)
		return -ENOMEM;
	connect_now(sm);   /* a failure retries from the timer */
	return 0;
}

static void sig_stop(struct ipop_module *mod)
{
	struct sig_module *sm = (struct sig_module *)mod;

	sm->stopping = true;
	if (sm->conn != NULL && sm->state == SIG_ONLINE) {
		xmpp_stanza_t *pres = xmpp_presence_new(sm->ctx);
		xmpp_stanza_set_type(pres, "unavailable");
		xmpp_send(sm->conn, pres);
		xmpp_stanza_release(pres);
		xmpp_disconnect(sm->conn);
		for (int i = 0; i < 50 && sm->state == SIG_ONLINE; i++)
			xmpp_run_once(sm->ctx, 10);
	}
	if (sm->conn != NULL)
		xmpp_conn_release(sm->conn);
	sm->conn = NULL;
	if (sm->ctx != NULL)
		xmpp_ctx_free(sm->ctx);
	sm->ctx = NULL;
	xmpp_shutdown();
	g_hash_table_destroy(sm->members);
	sm->members = NULL;
	ipop_idents_free(sm->idents);
	sm->idents = NULL;
	ipop_trust_set_hook(sm->trust, NULL, NULL);
}

struct ipop_module *ipop_signal_module(struct ipop_node *n)
{
	struct sig_module *sm = calloc(1, sizeof(*sm));

	if (sm == NULL || n->trust == NULL) {
		free(sm);
		return NULL;
	}
	sm->n = n;
	sm->cfg = n->cfg;
	bare_of(n->cfg->sig_jid, sm->self_bare, sizeof(sm->self_bare));
	sm->node_id = n->node_id;
	sm->members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	sm->idents = ipop_idents_new(n->id.pub);
	if (sm->idents == NULL) {
		g_hash_table_destroy(sm->members);
		free(sm);
		return NULL;
	}
	ipop_idents_set_hooks(sm->idents, gateway_held, gateway_released, n);
	sm->trust = n->trust;
	ipop_trust_set_hook(sm->trust, trust_lost, sm);
	sm->m = (struct ipop_module){ .name = "signal", .state = sm, .start = sig_start,
				      .stop = sig_stop, .handle_task = sig_handle,
				      .timer = sig_timer, .timer_ms = RUN_MS };
	return &sm->m;
}

static const char *state_name(enum sig_state s)
{
	switch (s) {
	case SIG_IDLE: return "idle";
	case SIG_CONNECTING: return "connecting";
	case SIG_ONLINE: return "online";
	case SIG_WAIT: return "waiting to reconnect";
	}
	return "?";
}

json_object *ipop_signal_json(struct ipop_module *m)
{
	struct sig_module *sm = (struct sig_module *)m;
	json_object *o = json_object_new_object(), *c = json_object_new_object();
	json_object *rej = json_object_new_object(), *mem = json_object_new_array();
	char hex[IPOP_NODE_ID_HEX_LEN + 1];
	GHashTableIter it;
	gpointer k, v;

	ipop_node_id_format(sm->node_id, hex, sizeof(hex));
	json_object_object_add(o, "jid", json_object_new_string(sm->state == SIG_ONLINE ? sm->bound :
								  sm->cfg->sig_jid));
	json_object_object_add(o, "node_id", json_object_new_string(hex));
	json_object_object_add(o, "server", json_object_new_string(sm->cfg->sig_server));
	json_object_object_add(o, "state", json_object_new_string(state_name(sm->state)));
	json_object_object_add(o, "online_for_s", sm->state == SIG_ONLINE ?
			       json_object_new_int64((int64_t)((now_ms() - sm->online_since_ms) / 1000)) : NULL);
	json_object_object_add(o, "last_error",
			       sm->last_error[0] ? json_object_new_string(sm->last_error) : NULL);
	if (sm->members != NULL) {
		g_hash_table_iter_init(&it, sm->members);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			const struct sig_member *mb = v;
			const struct ipop_member_ident *id = ipop_idents_get(sm->idents, k);
			json_object *e = json_object_new_object();
			json_object_object_add(e, "jid", json_object_new_string(k));
			json_object_object_add(e, "online", json_object_new_boolean(mb->available));
			if (id != NULL)
				ipop_node_id_format(id->node, hex, sizeof(hex));
			/* null: offline, or online without announcing one (older node) */
			json_object_object_add(e, "node_id", id ? json_object_new_string(hex) : NULL);
			json_object_array_add(mem, e);
		}
	}
	json_object_object_add(o, "members", mem);
	ipop_counters_json(c, &ipop_signal_family, &sm->st);
	uint64_t total = ipop_counters_json(rej, &ipop_reject_family, &sm->st);
	json_object_object_add(rej, "total", json_object_new_int64((int64_t)total));
	json_object_object_add(c, "rejected", rej);
	json_object *prej = json_object_new_object();
	total = ipop_counters_json(prej, &ipop_presence_reject_family, &sm->st);
	json_object_object_add(prej, "total", json_object_new_int64((int64_t)total));
	json_object_object_add(c, "presence_rejected", prej);
	json_object_object_add(o, "counters", c);
	return o;
}

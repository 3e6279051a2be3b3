/* module.c - see module.h. Thread: control. */
#include "control/link/module.h"
#include "control/link/ice_link.h"
#include "control/counters.h"
#include "control/log.h"
#include "control/node.h"
#include "control/session/peer.h"
#include "control/signal/trust.h"
#include "control/tasks.h"
#include "control/topology/policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <rte_byteorder.h>

/* Refuses for refused certificates: at most one per sender (full JID) per
 * CERT_REFUSE_GAP_MS. A member whose certificate is refused retries at the
 * link timer's pace, so one answer a second tells it why; a hostile one that
 * sends stanzas as fast as the server forwards them gets no more. The table is
 * fixed (bounded memory): two senders whose JIDs hash to one slot share a
 * limit. */
#define CERT_REFUSE_SLOTS 64
#define CERT_REFUSE_GAP_MS 1000

struct lm_module {
	struct ipop_module m;          /* first: the framework hands us &m */
	struct ipop_linkmgr lm;
	struct ipop_node *n;
	struct ipop_ice_links ice;     /* used only with ice { } configured */
	uint64_t trust_refusals;       /* link stanzas trust refused (for the log's limit) */
	uint64_t probe_ms;             /* last IPOP_OP_SIGNAL_PROBE sent */
	uint64_t cert_refused_ms[CERT_REFUSE_SLOTS];   /* refuse_cert's limit, by hash of the sender */
};

static struct ipop_peer *peer_of(struct ipop_node *n, const struct ipop_link *l)
{
	return ipop_peer_find(n, l->key);
}

static struct ipop_node *node_of(void *ctx)
{
	return ((struct lm_module *)ctx)->n;
}

static int node_add_peer(void *ctx, const struct ipop_link *l, bool with_endpoint)
{
	struct ipop_node *n = node_of(ctx);
	struct ipop_cfg_peer cp;

	memset(&cp, 0, sizeof(cp));
	/* The peer's label is the JID's local part (gw-2 of gw-2@example.org). */
	snprintf(cp.name, sizeof(cp.name), "%.*s", (int)strcspn(l->jid, "@"), l->jid);
	memcpy(cp.public_key, l->key, 32);
	if (with_endpoint) {
		cp.endpoint_ip.s_addr = l->ip;
		cp.endpoint_port = l->port;
	}
	int r = ipop_peer_add(n, &cp);
	if (r == 0)
		LOG_INFO("link %s: peer added (%s)", l->jid, with_endpoint ? "initiator" : "responder");
	return r;
}

static void node_set_endpoint(void *ctx, const struct ipop_link *l)
{
	struct ipop_node *n = node_of(ctx);
	struct ipop_peer *p = peer_of(n, l);

	if (p == NULL || p->ip != 0)
		return;
	p->ip = l->ip;
	p->port = rte_cpu_to_be_16(l->port);
	p->hs_next_ms = ipop_now_ms();
	n->dirty = true;
}

static void node_reset_peer(void *ctx, const struct ipop_link *l, const char *why)
{
	struct ipop_node *n = node_of(ctx);
	struct ipop_peer *p = peer_of(n, l);

	if (p == NULL)
		return;
	ipop_peer_reset(n, p, why);
	p->hs_next_ms = ipop_now_ms();
}

static void node_remove_peer(void *ctx, const struct ipop_link *l, const char *why)
{
	struct ipop_node *n = node_of(ctx);

	if (ipop_peer_remove(n, l->key, why) == 0)
		LOG_INFO("link %s: peer removed (%s)", l->jid, why);
}

static int node_peer_status(void *ctx, const struct ipop_link *l, struct ipop_link_peer_status *st)
{
	struct ipop_node *n = node_of(ctx);
	struct ipop_peer *p = peer_of(n, l);
	struct ipop_peer_counters c;

	if (p == NULL)
		return -ENOENT;
	ipop_peer_counters(n, p, &c);
	st->up = p->state == IPOP_PEER_UP;
	st->confirming = p->state != IPOP_PEER_UP && p->next != NULL;
	st->deaths = p->deaths;
	st->tx_bytes = c.tx_bytes;
	st->rx_bytes = c.rx_bytes;
	return 0;
}

static uint64_t node_now(void *ctx)
{
	return ipop_now_ms();
}

static uint32_t node_random(void *ctx, uint32_t upper)
{
	return randombytes_uniform(upper);
}

/* Hand m to the signalling module for FULL (JID's resource). */
static int send_to(struct lm_module *lmm, const char *jid, const char *full,
		   const struct ipop_link_msg *m)
{
	json_object *p = json_object_new_object();
	struct ipop_task *t;

	json_object_object_add(p, "to", json_object_new_string(full));
	json_object_object_add(p, "jid", json_object_new_string(jid));
	t = ipop_task_new("linkmgr", "signal", IPOP_OP_LINK_SEND, p);
	if (t == NULL)
		return -ENOMEM;
	if (ipop_task_set_body(t, m, sizeof(*m)) != 0) {
		json_object_put(t->params);
		free(t);
		return -EMSGSIZE;
	}
	int64_t id = ipop_task_submit(lmm->m.fw, t);
	return id > 0 ? 0 : (int)id;
}

static int module_send(void *ctx, const struct ipop_link *l, const struct ipop_link_msg *m)
{
	return send_to(ctx, l->jid, l->full, m);
}

/* A request or reply whose own certificate trust refused: the sender (the
 * resource it came from, which may not be the one our link knows) is told
 * why with a refuse, so its link fails with the reason instead of waiting
 * out link_timeout. Our link, if any, is left as it is: the stanza may come
 * from another resource of the account than the member's. At most one refuse
 * per sender a second (CERT_REFUSE_GAP_MS), never more than one per stanza. */
static void refuse_cert(struct lm_module *lmm, const char *jid, const char *full,
			enum ipop_trust_reject why)
{
	struct ipop_link_msg r = { .op = IPOP_LINK_REFUSE };
	uint64_t h = 0xcbf29ce484222325ULL, now = ipop_now_ms();

	for (const char *c = full; *c != '\0'; c++)
		h = (h ^ (uint8_t)*c) * 0x100000001b3ULL;   /* FNV-1a */
	uint64_t *last = &lmm->cert_refused_ms[h % CERT_REFUSE_SLOTS];
	if (*last != 0 && now - *last < CERT_REFUSE_GAP_MS) {
		lmm->lm.st.cert_refusals_limited++;
		return;
	}
	*last = now;
	snprintf(r.reason, sizeof(r.reason), "certificate refused: %s", ipop_trust_reject_name(why));
	if (send_to(lmm, jid, full, &r) == 0)
		lmm->lm.st.cert_refusals_tx++;
	else
		lmm->lm.st.send_failed++;
}

/* The key of a request or reply must be one trust lets the member hold: not
 * a static peer's, not another member's, not a change an operator has not
 * accepted, and with a CA the one the certificate the stanza carries vouches
 * for, or without one the one its presence's certificate vouched for. */
static int trust_msg(struct lm_module *lmm, const char *jid, const char *full,
		     const struct ipop_link_msg *m)
{
	struct ipop_trust *tr = lmm->n->trust;
	enum ipop_trust_reject why;
	uint64_t n;

	if (ipop_trust_check_link(tr, jid, m->key, m->cert,
				  (uint64_t)(g_get_real_time() / G_USEC_PER_SEC), &why) == 0)
		return 0;
	n = ++lmm->trust_refusals;
	if (n <= 20 || n % 1000 == 0)
		LOG_WARN("link %s: %s refused by trust: %s%s (%llu so far)", jid,
			 ipop_link_op_name(m->op), ipop_trust_reject_name(why),
			 m->cert[0] != '\0' ? " (certificate in the stanza)" : "",
			 (unsigned long long)n);
	if (m->cert[0] != '\0' && ipop_trust_has_ca(tr))
		refuse_cert(lmm, jid, full, why);
	return -EPERM;
}

static int handle_msg(struct lm_module *lmm, const struct ipop_task *t, const char *jid,
		      const char *full)
{
	/* signal parsed and validated the stanza; the body is that result. */
	const struct ipop_link_msg *m = ipop_task_body(t, sizeof(*m));
	int r;

	if (m == NULL || full == NULL)
		return -EINVAL;
	if ((m->op == IPOP_LINK_REQUEST || m->op == IPOP_LINK_REPLY) &&
	    (r = trust_msg(lmm, jid, full, m)) != 0)
		return r;
	r = ipop_linkmgr_on_msg(&lmm->lm, jid, full, m);
	if (r == -EPERM)
		LOG_WARN("link %s: %s refused: key is ours or bound to another member",
			 jid, ipop_link_op_name(m->op));
	return r;
}

static int handle_want(struct lm_module *lmm, const struct ipop_task *t, const char *jid,
		       const char *full, const char *why)
{
	const struct ipop_link_want *w = ipop_task_body(t, sizeof(*w));

	if (w == NULL)
		return -EINVAL;
	return ipop_linkmgr_want(&lmm->lm, jid, full, (enum ipop_link_type)w->type, why);
}

static int handle_limits(struct lm_module *lmm, const struct ipop_task *t)
{
	const unsigned *lim = ipop_task_body(t, sizeof(unsigned) * IPOP_LINK_NTYPES);

	if (lim == NULL)
		return -EINVAL;
	ipop_linkmgr_set_limits(&lmm->lm, lim);
	return 0;
}

static void lm_handle(struct ipop_module *mod, struct ipop_task *t)
{
	struct lm_module *lmm = (struct lm_module *)mod;
	const char *jid = ipop_task_str(t, "jid"), *full = ipop_task_str(t, "full");
	const char *why = ipop_task_str(t, "why");
	int r;

	if (t->op == IPOP_OP_LINK_LIMITS) {
		r = handle_limits(lmm, t);
		ipop_task_complete(mod->fw, t, r == 0 ? IPOP_TASK_OK : IPOP_TASK_FAILED, r, NULL);
		return;
	}
	if (jid == NULL) {
		ipop_task_complete(mod->fw, t, IPOP_TASK_FAILED, -EINVAL, NULL);
		return;
	}
	switch (t->op) {
	case IPOP_OP_LINK_WANT:
		r = handle_want(lmm, t, jid, full, why);
		break;
	case IPOP_OP_LINK_UNWANT:
		why = why ? why : "not wanted by the topology";
		r = ipop_task_int(t, "left", 0) ? ipop_linkmgr_drop(&lmm->lm, jid, why) :
						  ipop_linkmgr_unwant(&lmm->lm, jid, why);
		break;
	case IPOP_OP_LINK_MSG:
		r = handle_msg(lmm, t, jid, full);
		break;
	default:
		r = -EOPNOTSUPP;
		break;
	}
	ipop_task_complete(mod->fw, t, r == 0 ? IPOP_TASK_OK : IPOP_TASK_FAILED, r, NULL);
}

static void lm_done(struct ipop_module *mod, struct ipop_task *t)
{
	struct lm_module *lmm = (struct lm_module *)mod;
	const char *jid = ipop_task_str(t, "jid");

	if (t->op == IPOP_OP_LINK_SEND && t->status != IPOP_TASK_OK && jid != NULL)
		ipop_linkmgr_send_failed(&lmm->lm, jid);
}

static void lm_timer(struct ipop_module *mod, uint64_t now_ms)
{
	ipop_linkmgr_tick(&((struct lm_module *)mod)->lm);
}

/* The topology hears every change of a link's state or of either side's wish. */
static void report(struct lm_module *lmm, const struct ipop_link *l)
{
	struct ipop_topo_link_info li = {
		.exists = l->state != IPOP_LINK_CLOSED && l->state != IPOP_LINK_FAILED,
		.up = l->state == IPOP_LINK_CONNECTED,
		.refused = l->refused, .type = l->type, .remote_type = l->remote_type,
		.failed = l->state == IPOP_LINK_FAILED && !l->refused,
	};
	json_object *p = json_object_new_object();
	struct ipop_task *t;

	json_object_object_add(p, "jid", json_object_new_string(l->jid));
	t = ipop_task_new("linkmgr", "topology", IPOP_OP_LINK_REPORT, p);
	if (t == NULL || ipop_task_set_body(t, &li, sizeof(li)) != 0) {
		if (t != NULL)
			json_object_put(t->params);
		free(t);
		return;
	}
	ipop_task_submit(lmm->m.fw, t);
}

/* linkmgr.c's reason for a handshake that did not complete with the key. */
#define HS_FAILED "handshake with the announced key did not complete"

static void on_state(void *ctx, const struct ipop_link *l, enum ipop_link_state old)
{
	struct lm_module *lmm = ctx;

	report(lmm, l);
	if (old == l->state)
		return;   /* a wish changed, not the state: nothing to log */
	if (l->state == IPOP_LINK_CONNECTED)
		ipop_trust_proven(lmm->n->trust, l->jid, l->key);
	else if (l->state == IPOP_LINK_FAILED && old == IPOP_LINK_HANDSHAKING && !l->key_proven &&
		 strncmp(l->last_error, HS_FAILED, strlen(HS_FAILED)) == 0)
		ipop_trust_failed(lmm->n->trust, l->jid, l->key);
	if (l->state == IPOP_LINK_FAILED || l->state == IPOP_LINK_CLOSED)
		LOG_INFO("link %s: %s -> %s: %s", l->jid, ipop_link_state_name(old),
			 ipop_link_state_name(l->state), l->last_error);
	else
		LOG_INFO("link %s: %s -> %s", l->jid, ipop_link_state_name(old),
			 ipop_link_state_name(l->state));
}

static int ice_open(void *ctx, struct ipop_link *l)
{
	return ipop_ice_link_open(&((struct lm_module *)ctx)->ice, l);
}

static void ice_sent(void *ctx, struct ipop_link *l)
{
	ipop_ice_link_sent(&((struct lm_module *)ctx)->ice, l);
}

static void ice_remote(void *ctx, struct ipop_link *l, const struct ipop_link_msg *m)
{
	ipop_ice_link_remote(&((struct lm_module *)ctx)->ice, l, m);
}

static void ice_close(void *ctx, struct ipop_link *l)
{
	ipop_ice_link_close(&((struct lm_module *)ctx)->ice, l);
}

static void ice_peer_added(void *ctx, struct ipop_link *l)
{
	ipop_ice_link_peer_added(&((struct lm_module *)ctx)->ice, l);
}

static json_object *ice_json(void *ctx, const struct ipop_link *l)
{
	return ipop_ice_link_json(&((struct lm_module *)ctx)->ice, l);
}

static enum ipop_path_verdict ice_path_check(void *ctx, const struct ipop_link *l, char *why,
					     size_t len)
{
	return ipop_ice_link_path_check(&((struct lm_module *)ctx)->ice, l, why, len);
}

/* At most one probe a second: every lost link of the node asks each tick. */
static void probe_signal(void *ctx)
{
	struct lm_module *lmm = ctx;
	uint64_t now = ipop_now_ms();
	struct ipop_task *t;

	if (lmm->probe_ms != 0 && now - lmm->probe_ms < 1000)
		return;
	lmm->probe_ms = now;
	if ((t = ipop_task_new("linkmgr", "signal", IPOP_OP_SIGNAL_PROBE,
				 json_object_new_object())) != NULL)
		ipop_task_submit(lmm->m.fw, t);
}

static void ice_resend(void *ctx, struct ipop_link *l)
{
	ipop_ice_link_resend(&((struct lm_module *)ctx)->ice, l);
}

static void ice_refused(void *ctx, struct ipop_link *l, const char *cand, int err)
{
	ipop_ice_link_refused(&((struct lm_module *)ctx)->ice, l, cand, err);
}

static int ice_candidate(void *ctx, struct ipop_link *l, const char *cand)
{
	return ipop_ice_link_candidate(&((struct lm_module *)ctx)->ice, l, cand);
}

static void lm_stop(struct ipop_module *mod)
{
	struct lm_module *lmm = (struct lm_module *)mod;

	/* Peers stay for the daemon's shutdown, which resets them all. */
	ipop_linkmgr_free(&lmm->lm);
	if (lmm->n->turn == &lmm->ice.turn)
		lmm->n->turn = NULL;   /* the watch goes with the module */
	if (lmm->n->ice == &lmm->ice)
		lmm->n->ice = NULL;
}

struct ipop_module *ipop_linkmgr_module(struct ipop_node *n)
{
	struct lm_module *lmm = calloc(1, sizeof(*lmm));
	struct ipop_link_env env = {
		.ctx = NULL, .add_peer = node_add_peer, .set_endpoint = node_set_endpoint,
		.reset_peer = node_reset_peer, .remove_peer = node_remove_peer,
		.peer_status = node_peer_status, .send = module_send, .now_ms = node_now,
		.random = node_random, .on_state = on_state,
	};

	if (lmm == NULL)
		return NULL;
	env.ctx = lmm;
	lmm->n = n;
	if (n->cfg->ice_enabled) {
		ipop_ice_links_init(&lmm->ice, n, &lmm->lm);
		env.ice_open = ice_open;
		env.ice_sent = ice_sent;
		env.ice_remote = ice_remote;
		env.ice_close = ice_close;
		env.ice_candidate = ice_candidate;
		env.ice_peer_added = ice_peer_added;
		env.ice_json = ice_json;
		env.ice_path_check = ice_path_check;
		env.ice_refused = ice_refused;
		env.probe_signal = probe_signal;
		env.ice_resend = ice_resend;
	}
	lmm->m = (struct ipop_module){ .name = "linkmgr", .state = lmm, .stop = lm_stop,
				       .handle_task = lm_handle, .task_done = lm_done,
				       .timer = lm_timer, .timer_ms = 100 };
	ipop_linkmgr_init(&lmm->lm, &env, n->id.pub, n->cfg->sig_link_timeout_s * 1000);
	return &lmm->m;
}

json_object *ipop_linkmgr_ice_json(struct ipop_module *m)
{
	struct lm_module *lmm = (struct lm_module *)m;
	json_object *o, *c;

	if (!lmm->n->cfg->ice_enabled)
		return NULL;
	o = json_object_new_object();
	c = json_object_new_object();
	ipop_counters_json(c, &ipop_ice_link_family, &lmm->ice.st);
	json_object_object_add(o, "counters", c);
	c = json_object_new_object();
	ipop_counters_json(c, &ipop_stun_watch_family, &lmm->ice.stun.st);
	json_object_object_add(o, "stun", c);
	if (lmm->n->turn != NULL) {
		json_object *t = json_object_new_object();
		ipop_counters_json(t, &ipop_turn_family, &lmm->ice.turn.st);
		json_object_object_add(o, "turn", t);
	}
	return o;
}

struct ipop_linkmgr *ipop_linkmgr_of(struct ipop_module *m)
{
	return &((struct lm_module *)m)->lm;
}

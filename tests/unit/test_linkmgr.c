/* test_linkmgr.c - the link state machine (control/link/linkmgr.c) with a fake clock,
 * a fake node and two managers wired to each other: negotiation, exactly one
 * initiator for simultaneous requests, identity binding (a key that never
 * completes a handshake fails the link; a key bound to another member or our
 * own is refused), liveness, capped back-off, a member that restarts, the
 * responder's fallback, link types on both sides, a close that releases only one
 * side's wish, a wish that changes on a set-up link told to the member,
 * and requests over the incoming cap refused with a reason that stays on the
 * requester's link after its topology lets it go; a granted link that becomes
 * one held only for the member while the cap is full is shed the same way. */
#include "control/config/identity.h"
#include "control/link/ice_link.h"
#include "control/link/linkmgr.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#define TIMEOUT_MS 8000

struct fake_peer {
	uint8_t key[32];
	bool present, up, with_endpoint, confirming;
	uint64_t deaths;
	unsigned resets;
};

struct sent {
	char to[64];
	enum ipop_link_op op;
	uint8_t type;
	char reason[IPOP_LINK_REASON_LEN];
	char ufrag[IPOP_LINK_UFRAG_LEN], pwd[IPOP_LINK_PWD_LEN], cand[IPOP_LINK_CAND_LEN];
	bool ice_restart;
};

/* One side: its manager, its node's peers, and what it sent. */
struct side {
	struct ipop_linkmgr lm;
	const char *jid, *full;
	uint8_t pub[32];
	struct fake_peer peers[8];
	unsigned adds, removes, set_endpoints;
	struct sent out[64];
	unsigned n_out;
	bool send_fails;
	/* ICE hooks (with_ice): agents open and closed, gathers started (and how
	 * many messages were out by then), members' answers seen. */
	bool with_ice;
	unsigned ice_opens, ice_closes, ice_sents, ice_remotes, ice_live, out_at_sent;
	unsigned ice_cands;
	bool cand_refused;
	enum ipop_path_verdict path;   /* what ice_path_check answers */
	unsigned probes, refused_hooks;
	int refused_err;                /* the last ice_refused hook's */
	char refused_cand[IPOP_LINK_CAND_LEN];
	unsigned cand_resends;          /* ice_resend: our candidates sent again */
};

static uint64_t clock_ms = 1000000;

static struct fake_peer *fpeer(struct side *s, const uint8_t key[32], bool create)
{
	for (int i = 0; i < 8; i++)
		if (s->peers[i].present && memcmp(s->peers[i].key, key, 32) == 0)
			return &s->peers[i];
	if (!create)
		return NULL;
	for (int i = 0; i < 8; i++)
		if (!s->peers[i].present) {
			memset(&s->peers[i], 0, sizeof(s->peers[i]));
			memcpy(s->peers[i].key, key, 32);
			s->peers[i].present = true;
			return &s->peers[i];
		}
	return NULL;
}

static int f_add(void *ctx, const struct ipop_link *l, bool ep)
{
	struct side *s = ctx;

	if (fpeer(s, l->key, false))
		return -EEXIST;
	struct fake_peer *p = fpeer(s, l->key, true);
	p->with_endpoint = ep;
	s->adds++;
	return 0;
}

static void f_set_ep(void *ctx, const struct ipop_link *l)
{
	struct side *s = ctx;
	struct fake_peer *p = fpeer(s, l->key, false);

	s->set_endpoints++;
	if (p)
		p->with_endpoint = true;
}

static void f_reset(void *ctx, const struct ipop_link *l, const char *why)
{
	struct fake_peer *p = fpeer(ctx, l->key, false);

	if (p) {
		p->up = false;
		p->resets++;
	}
}

static void f_remove(void *ctx, const struct ipop_link *l, const char *why)
{
	struct side *s = ctx;
	struct fake_peer *p = fpeer(s, l->key, false);

	if (p)
		p->present = false;
	s->removes++;
}

static int f_status(void *ctx, const struct ipop_link *l, struct ipop_link_peer_status *st)
{
	struct fake_peer *p = fpeer(ctx, l->key, false);

	if (p == NULL)
		return -ENOENT;
	st->up = p->up;
	st->confirming = p->confirming;
	st->deaths = p->deaths;
	st->tx_bytes = p->up ? 100 : 0;
	st->rx_bytes = 0;
	return 0;
}

static int f_send(void *ctx, const struct ipop_link *l, const struct ipop_link_msg *m)
{
	struct side *s = ctx;

	if (s->send_fails)
		return -ENOTCONN;
	if (s->n_out < 64) {
		snprintf(s->out[s->n_out].to, sizeof(s->out[0].to), "%.63s", l->full);
		s->out[s->n_out].type = m->type;
		memcpy(s->out[s->n_out].reason, m->reason, sizeof(m->reason));
		memcpy(s->out[s->n_out].ufrag, m->ufrag, sizeof(m->ufrag));
		memcpy(s->out[s->n_out].pwd, m->pwd, sizeof(m->pwd));
		memcpy(s->out[s->n_out].cand, m->cand, sizeof(m->cand));
		s->out[s->n_out].ice_restart = m->ice_restart;
		s->out[s->n_out++].op = m->op;
	}
	return 0;
}

static uint64_t f_now(void *ctx)
{
	return clock_ms;
}

static uint32_t f_rand(void *ctx, uint32_t upper)
{
	return upper ? upper - 1 : 0;   /* worst case: the longest jittered delay */
}

/* A fake agent: a heap object, so ASan reports one the manager never closes. */
static int f_ice_open(void *ctx, struct ipop_link *l)
{
	struct side *s = ctx;

	if (l->ice != NULL)
		return 0;
	l->ice = malloc(16);
	s->ice_opens++;
	snprintf(l->ice_ufrag, sizeof(l->ice_ufrag), "%.1s%04u", s->jid, s->ice_opens);
	snprintf(l->ice_pwd, sizeof(l->ice_pwd), "pppppppppppppppppppppp");
	s->ice_live++;
	return 0;
}

static void f_ice_sent(void *ctx, struct ipop_link *l)
{
	struct side *s = ctx;

	s->ice_sents++;
	s->out_at_sent = s->n_out;
}

static void f_ice_resend(void *ctx, struct ipop_link *l)
{
	((struct side *)ctx)->cand_resends++;
}

static void f_ice_remote(void *ctx, struct ipop_link *l, const struct ipop_link_msg *m)
{
	((struct side *)ctx)->ice_remotes++;
}

static int f_ice_cand(void *ctx, struct ipop_link *l, const char *cand)
{
	struct side *s = ctx;

	s->ice_cands++;
	return s->cand_refused ? -EINVAL : 0;
}

static void f_ice_close(void *ctx, struct ipop_link *l)
{
	struct side *s = ctx;

	free(l->ice);
	l->ice = NULL;
	s->ice_closes++;
	s->ice_live--;
}

static enum ipop_path_verdict f_path_check(void *ctx, const struct ipop_link *l, char *why,
					   size_t len)
{
	snprintf(why, len, "test: path lost");
	return ((struct side *)ctx)->path;
}

static void f_probe(void *ctx)
{
	((struct side *)ctx)->probes++;
}

static void f_refused(void *ctx, struct ipop_link *l, const char *cand, int err)
{
	struct side *s = ctx;

	s->refused_hooks++;
	s->refused_err = err;
	snprintf(s->refused_cand, sizeof(s->refused_cand), "%s", cand);
}

static void side_init_ice(struct side *s, const char *jid, const char *full, bool ice)
{
	struct ipop_link_env env = { .ctx = s, .add_peer = f_add, .set_endpoint = f_set_ep,
				     .reset_peer = f_reset, .remove_peer = f_remove,
				     .peer_status = f_status, .send = f_send, .now_ms = f_now,
				     .random = f_rand };
	uint8_t sk[32];

	if (ice) {
		env.ice_open = f_ice_open;
		env.ice_sent = f_ice_sent;
		env.ice_remote = f_ice_remote;
		env.ice_close = f_ice_close;
		env.ice_candidate = f_ice_cand;
		env.ice_path_check = f_path_check;
		env.probe_signal = f_probe;
		env.ice_refused = f_refused;
		env.ice_resend = f_ice_resend;
	}
	ipop_linkmgr_free(&s->lm);
	memset(s, 0, sizeof(*s));
	s->with_ice = ice;
	s->jid = jid;
	s->full = full;
	crypto_box_keypair(s->pub, sk);
	ipop_linkmgr_init(&s->lm, &env, s->pub, TIMEOUT_MS);
}

static void side_init(struct side *s, const char *jid, const char *full)
{
	side_init_ice(s, jid, full, false);
}

/* The message side `from` sends with op (its identity, endpoint 10.0.0.x:5800). */
static struct ipop_link_msg msg_of(const struct side *from, enum ipop_link_op op)
{
	/* A request must name a type; a hand-made one asks for a successor link. */
	struct ipop_link_msg m = { .op = op, .port = 5800,
				   .type = op == IPOP_LINK_REQUEST ? IPOP_LINK_SUCC : IPOP_LINK_NONE };

	memcpy(m.key, from->pub, 32);
	m.node = ipop_node_id_of_key(from->pub);
	inet_pton(AF_INET, "10.0.0.1", &m.ip);
	return m;
}

/* Deliver everything a sent to b, in order. */
static void deliver(struct side *a, struct side *b)
{
	unsigned n = a->n_out;

	a->n_out = 0;
	for (unsigned i = 0; i < n; i++) {
		struct ipop_link_msg m = msg_of(a, a->out[i].op);
		m.type = a->out[i].type;
		memcpy(m.reason, a->out[i].reason, sizeof(m.reason));
		memcpy(m.ufrag, a->out[i].ufrag, sizeof(m.ufrag));
		memcpy(m.pwd, a->out[i].pwd, sizeof(m.pwd));
		memcpy(m.cand, a->out[i].cand, sizeof(m.cand));
		m.ice_restart = a->out[i].ice_restart;
		ipop_linkmgr_on_msg(&b->lm, a->jid, a->full, &m);
	}
}

static enum ipop_link_state st(struct side *s, const char *jid)
{
	struct ipop_link *l = ipop_linkmgr_find(&s->lm, jid);

	return l ? l->state : (enum ipop_link_state)-1;
}

static void advance(unsigned ms, struct side *a, struct side *b)
{
	for (unsigned t = 0; t < ms; t += 100) {
		clock_ms += 100;
		ipop_linkmgr_tick(&a->lm);
		if (b)
			ipop_linkmgr_tick(&b->lm);
	}
}

int main(void)
{
	static struct side A, B, C, D;

	if (sodium_init() < 0)
		return 1;

	/* ---- simultaneous requests end in one link with one initiator */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	CHECK(ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, NULL) == 0);
	CHECK(ipop_linkmgr_want(&B.lm, "a@x", "a@x/r", IPOP_LINK_SUCC, NULL) == 0);
	CHECK(st(&A, "b@x") == IPOP_LINK_NEGOTIATING && A.n_out == 1 && A.out[0].op == IPOP_LINK_REQUEST);
	CHECK(strcmp(A.out[0].to, "b@x/r") == 0);
	deliver(&A, &B);   /* B: request -> reply, handshaking */
	deliver(&B, &A);   /* A: B's request and reply */
	deliver(&A, &B);   /* B: A's reply */
	CHECK(st(&A, "b@x") == IPOP_LINK_HANDSHAKING && st(&B, "a@x") == IPOP_LINK_HANDSHAKING);
	CHECK(A.adds == 1 && B.adds == 1);
	struct ipop_link *la = ipop_linkmgr_find(&A.lm, "b@x"), *lb = ipop_linkmgr_find(&B.lm, "a@x");
	CHECK(la->initiator != lb->initiator);
	CHECK(fpeer(&A, B.pub, false)->with_endpoint == la->initiator);
	CHECK(fpeer(&B, A.pub, false)->with_endpoint == lb->initiator);
	/* The session comes up on both sides. */
	fpeer(&A, B.pub, false)->up = true;
	fpeer(&B, A.pub, false)->up = true;
	advance(200, &A, &B);
	CHECK(st(&A, "b@x") == IPOP_LINK_CONNECTED && st(&B, "a@x") == IPOP_LINK_CONNECTED);
	CHECK(la->tx_bytes == 100);
	CHECK(A.lm.st.connected == 1);
	/* Duplicate replies change nothing. */
	struct ipop_link_msg rep = msg_of(&B, IPOP_LINK_REPLY);
	CHECK(ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &rep) == 0);
	CHECK(st(&A, "b@x") == IPOP_LINK_CONNECTED && A.adds == 1);

	/* ---- liveness: the session dies, then never comes back */
	fpeer(&A, B.pub, false)->deaths++;
	fpeer(&A, B.pub, false)->up = false;
	advance(200, &A, NULL);
	CHECK(st(&A, "b@x") == IPOP_LINK_HANDSHAKING);
	CHECK(strstr(la->last_error, "died") != NULL);
	advance(TIMEOUT_MS + 200, &A, NULL);
	CHECK(st(&A, "b@x") == IPOP_LINK_FAILED);
	CHECK(A.removes == 1 && fpeer(&A, B.pub, false) == NULL);   /* torn down */

	/* ---- the failed link is retried with back-off: a new request */
	A.n_out = 0;
	advance(3000, &A, NULL);   /* first back-off: 1 s + 25% at most */
	CHECK(st(&A, "b@x") == IPOP_LINK_NEGOTIATING && A.n_out == 1);

	/* ---- a member that restarted: request on a live link resets the session */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, NULL);
	deliver(&A, &B);
	deliver(&B, &A);
	fpeer(&A, B.pub, false)->up = true;
	advance(200, &A, NULL);
	CHECK(st(&A, "b@x") == IPOP_LINK_CONNECTED);
	struct ipop_link_msg req = msg_of(&B, IPOP_LINK_REQUEST);
	A.n_out = 0;
	CHECK(ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r2", &req) == 0);
	CHECK(fpeer(&A, B.pub, false)->resets == 1);
	CHECK(st(&A, "b@x") == IPOP_LINK_HANDSHAKING);
	CHECK(A.n_out == 1 && A.out[0].op == IPOP_LINK_REPLY && strcmp(A.out[0].to, "b@x/r2") == 0);

	/* ---- identity binding: C claims B's key; our own key is refused */
	side_init(&C, "c@x", "c@x/r");
	struct ipop_link_msg stolen = msg_of(&B, IPOP_LINK_REQUEST);
	CHECK(ipop_linkmgr_on_msg(&A.lm, "c@x", "c@x/r", &stolen) == -EPERM);
	CHECK(A.lm.st.key_in_use == 1);
	CHECK(ipop_linkmgr_find(&A.lm, "c@x") == NULL ||
	      !ipop_linkmgr_find(&A.lm, "c@x")->have_remote);
	struct ipop_link_msg mine = msg_of(&A, IPOP_LINK_REQUEST);
	CHECK(ipop_linkmgr_on_msg(&A.lm, "c@x", "c@x/r", &mine) == -EPERM);
	CHECK(A.lm.st.own_key == 1);

	/* ---- a key nobody answers for: handshaking, then failed with the reason */
	side_init(&A, "a@x", "a@x/r");
	side_init(&C, "c@x", "c@x/r");
	struct ipop_link_msg fake = msg_of(&C, IPOP_LINK_REQUEST);
	CHECK(ipop_linkmgr_on_msg(&A.lm, "c@x", "c@x/r", &fake) == 0);
	CHECK(st(&A, "c@x") == IPOP_LINK_HANDSHAKING);
	struct ipop_link *lc = ipop_linkmgr_find(&A.lm, "c@x");
	advance(TIMEOUT_MS / 4 + 200, &A, NULL);
	/* The responder calls the member itself after a quarter of the limit. */
	CHECK(lc->initiator || A.set_endpoints == 1);
	advance(TIMEOUT_MS, &A, NULL);
	CHECK(st(&A, "c@x") == IPOP_LINK_FAILED);
	CHECK(strstr(lc->last_error, "announced key") != NULL);
	CHECK(fpeer(&A, C.pub, false) == NULL);
	CHECK(lc->failures == 1);
	/* The failed link keeps no claim on the key it could not prove: the
	 * member that holds it ("d@x" announcing C's key) is not key_in_use. */
	CHECK(!lc->have_remote && !lc->key_proven);
	uint64_t kiu = A.lm.st.key_in_use;
	CHECK(ipop_linkmgr_on_msg(&A.lm, "d@x", "d@x/r", &fake) == 0);
	CHECK(A.lm.st.key_in_use == kiu);
	CHECK(st(&A, "d@x") == IPOP_LINK_HANDSHAKING);
	/* Once proven (its session came up), a failure keeps the key bound. */
	fpeer(&A, C.pub, false)->up = true;
	advance(200, &A, NULL);
	struct ipop_link *ldx = ipop_linkmgr_find(&A.lm, "d@x");
	CHECK(st(&A, "d@x") == IPOP_LINK_CONNECTED && ldx->key_proven);
	fpeer(&A, C.pub, false)->up = false;
	fpeer(&A, C.pub, false)->deaths++;
	advance(200, &A, NULL);
	advance(TIMEOUT_MS + 200, &A, NULL);
	CHECK(st(&A, "d@x") == IPOP_LINK_FAILED && ldx->have_remote);
	CHECK(ipop_linkmgr_on_msg(&A.lm, "e@x", "e@x/r", &fake) == -EPERM);
	CHECK(A.lm.st.key_in_use == kiu + 1);

	/* ---- a member that left the overlay: its link goes, both wishes with it,
	 * and nothing is sent to it (it is gone; the server would bounce it) */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, NULL);
	ipop_linkmgr_want(&B.lm, "a@x", "a@x/r", IPOP_LINK_LONG, NULL);
	deliver(&A, &B);
	deliver(&B, &A);
	fpeer(&A, B.pub, false)->up = true;
	advance(200, &A, NULL);
	CHECK(st(&A, "b@x") == IPOP_LINK_CONNECTED);
	A.n_out = 0;
	unsigned sent0 = (unsigned)A.lm.st.sent;
	CHECK(ipop_linkmgr_drop(&A.lm, "b@x", "member left the overlay") == 0);
	CHECK(st(&A, "b@x") == IPOP_LINK_CLOSED && fpeer(&A, B.pub, false) == NULL);
	CHECK(A.n_out == 0 && A.lm.st.sent == sent0);
	CHECK(ipop_linkmgr_find(&A.lm, "b@x")->remote_type == IPOP_LINK_NONE);

	/* ---- a handshake answered just before the deadline: the member's side is
	 * up, its first packet due; the link waits for it (a few times) rather than
	 * removing the peer under the member's session */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	ipop_linkmgr_want(&B.lm, "a@x", "a@x/r", IPOP_LINK_SUCC, NULL);
	deliver(&B, &A);
	CHECK(st(&A, "b@x") == IPOP_LINK_HANDSHAKING);
	advance(TIMEOUT_MS - 200, &A, NULL);
	fpeer(&A, B.pub, false)->confirming = true;
	advance(400, &A, NULL);
	CHECK(st(&A, "b@x") == IPOP_LINK_HANDSHAKING && fpeer(&A, B.pub, false) != NULL);
	fpeer(&A, B.pub, false)->up = true;
	advance(200, &A, NULL);
	CHECK(st(&A, "b@x") == IPOP_LINK_CONNECTED);
	/* More than once (the member initiated again after a lost confirmation),
	 * but bounded: a confirmation that never comes fails the link after 4
	 * extensions of 2 s. */
	fpeer(&A, B.pub, false)->deaths++;
	fpeer(&A, B.pub, false)->up = false;
	advance(200, &A, NULL);
	CHECK(st(&A, "b@x") == IPOP_LINK_HANDSHAKING);
	advance(TIMEOUT_MS + 2500, &A, NULL);
	CHECK(st(&A, "b@x") == IPOP_LINK_HANDSHAKING);   /* in its second extension */
	advance(4 * 2000, &A, NULL);
	CHECK(st(&A, "b@x") == IPOP_LINK_FAILED);

	/* ---- capped back-off: many failures never wait longer than max + 25% */
	ipop_linkmgr_want(&A.lm, "d@x", "d@x/r", IPOP_LINK_SUCC, NULL);
	struct ipop_link *ld = ipop_linkmgr_find(&A.lm, "d@x");
	for (int i = 0; i < 12; i++) {
		CHECK(ld->state == IPOP_LINK_NEGOTIATING);
		advance(TIMEOUT_MS + 100, &A, NULL);   /* no answer: failed */
		CHECK(ld->state == IPOP_LINK_FAILED);
		CHECK(ld->next_ms - clock_ms <= A.lm.retry_max_ms + A.lm.retry_max_ms / 4 + 100);
		uint64_t wait = ld->next_ms - clock_ms + 100;
		advance((unsigned)wait, &A, NULL);
	}
	CHECK(ld->failures == 12);
	CHECK(strstr(ld->last_error, "no answer") != NULL);

	/* ---- sending impossible (signalling down): back to requested */
	side_init(&A, "a@x", "a@x/r");
	A.send_fails = true;
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, NULL);
	ipop_linkmgr_send_failed(&A.lm, "b@x");
	CHECK(st(&A, "b@x") == IPOP_LINK_REQUESTED);
	A.send_fails = false;
	advance(2000, &A, NULL);
	CHECK(st(&A, "b@x") == IPOP_LINK_NEGOTIATING);

	/* ---- a close releases one side's wish: the link stays while the other wants it */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, "successor 1 of 2");
	ipop_linkmgr_want(&B.lm, "a@x", "a@x/r", IPOP_LINK_LONG, NULL);
	deliver(&A, &B);
	deliver(&B, &A);
	deliver(&A, &B);
	fpeer(&A, B.pub, false)->up = true;
	fpeer(&B, A.pub, false)->up = true;
	advance(200, &A, &B);
	la = ipop_linkmgr_find(&A.lm, "b@x");
	lb = ipop_linkmgr_find(&B.lm, "a@x");
	CHECK(st(&A, "b@x") == IPOP_LINK_CONNECTED && st(&B, "a@x") == IPOP_LINK_CONNECTED);
	CHECK(la->type == IPOP_LINK_SUCC && la->remote_type == IPOP_LINK_LONG);
	CHECK(lb->type == IPOP_LINK_LONG && lb->remote_type == IPOP_LINK_SUCC);
	CHECK(strcmp(la->why, "successor 1 of 2") == 0);
	/* B lets go: it tells A but keeps the tunnel, which A still wants. */
	B.n_out = 0;
	CHECK(ipop_linkmgr_unwant(&B.lm, "a@x", "not wanted by the topology") == 0);
	CHECK(B.n_out == 1 && B.out[0].op == IPOP_LINK_CLOSE);
	CHECK(st(&B, "a@x") == IPOP_LINK_CONNECTED && fpeer(&B, A.pub, false) != NULL);
	deliver(&B, &A);
	CHECK(st(&A, "b@x") == IPOP_LINK_CONNECTED && la->remote_type == IPOP_LINK_NONE);
	CHECK(A.lm.st.closes_rx == 1 && fpeer(&A, B.pub, false) != NULL);
	/* Now A lets go too: nobody wants it, both ends close. */
	A.n_out = 0;
	CHECK(ipop_linkmgr_unwant(&A.lm, "b@x", "member left") == 0);
	CHECK(st(&A, "b@x") == IPOP_LINK_CLOSED && A.n_out == 1 && A.out[0].op == IPOP_LINK_CLOSE);
	CHECK(fpeer(&A, B.pub, false) == NULL);
	deliver(&A, &B);
	CHECK(st(&B, "a@x") == IPOP_LINK_CLOSED && fpeer(&B, A.pub, false) == NULL);
	struct ipop_link_msg unsol = msg_of(&C, IPOP_LINK_REPLY);
	CHECK(ipop_linkmgr_on_msg(&A.lm, "z@x", "z@x/r", &unsol) == -ENOENT);
	CHECK(A.lm.st.unsolicited == 1);
	advance(61000, &A, &B);
	CHECK(ipop_linkmgr_find(&A.lm, "b@x") == NULL && ipop_linkmgr_find(&B.lm, "a@x") == NULL);
	CHECK(ipop_linkmgr_unwant(&A.lm, "b@x", "x") == -ENOENT);

	/* ---- a link only the member wanted goes when the member closes it */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_LONG, NULL);
	deliver(&A, &B);
	deliver(&B, &A);
	lb = ipop_linkmgr_find(&B.lm, "a@x");
	CHECK(lb != NULL && lb->type == IPOP_LINK_NONE && lb->remote_type == IPOP_LINK_LONG);
	CHECK(ipop_linkmgr_find(&A.lm, "b@x")->remote_type == IPOP_LINK_NONE);
	ipop_linkmgr_unwant(&A.lm, "b@x", "redrawn");
	deliver(&A, &B);
	CHECK(st(&B, "a@x") == IPOP_LINK_CLOSED && fpeer(&B, A.pub, false) == NULL);

	/* ---- the incoming cap: a long link over it is refused with a reason that
	 * both sides show; successor requests and links we want are never refused */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	side_init(&C, "c@x", "c@x/r");
	unsigned caps[IPOP_LINK_NTYPES] = { [IPOP_LINK_LONG] = 1 };
	ipop_linkmgr_set_limits(&B.lm, caps);
	ipop_linkmgr_want(&C.lm, "b@x", "b@x/r", IPOP_LINK_LONG, NULL);
	deliver(&C, &B);
	CHECK(st(&B, "c@x") == IPOP_LINK_HANDSHAKING);
	B.n_out = 0;   /* (its reply to C) A hears only the refusal below */
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_LONG, NULL);
	deliver(&A, &B);
	CHECK(B.lm.st.refusals_tx == 1 && st(&B, "a@x") == IPOP_LINK_CLOSED);
	CHECK(strstr(ipop_linkmgr_find(&B.lm, "a@x")->last_error, "cap of 1") != NULL);
	CHECK(fpeer(&B, A.pub, false) == NULL);
	/* The member leaves: the closed link keeps the reason it was closed for. */
	CHECK(ipop_linkmgr_drop(&B.lm, "a@x", "member left the overlay") == 0);
	CHECK(strstr(ipop_linkmgr_find(&B.lm, "a@x")->last_error, "cap of 1") != NULL);
	CHECK(B.n_out >= 1 && B.out[B.n_out - 1].op == IPOP_LINK_REFUSE);
	deliver(&B, &A);
	la = ipop_linkmgr_find(&A.lm, "b@x");
	CHECK(st(&A, "b@x") == IPOP_LINK_FAILED && la->refused && A.lm.st.refusals_rx == 1);
	CHECK(strstr(la->last_error, "refused by the member: incoming long links at their cap of 1") != NULL);
	/* The topology lets the refused link go: closed, and the reason stays. */
	CHECK(ipop_linkmgr_unwant(&A.lm, "b@x", "not wanted by the topology") == 0);
	CHECK(st(&A, "b@x") == IPOP_LINK_CLOSED);
	CHECK(strstr(la->last_error, "refused by the member: incoming long links at their cap of 1") != NULL);
	/* The same request as a successor is accepted. */
	struct ipop_link_msg succ = msg_of(&A, IPOP_LINK_REQUEST);
	B.n_out = 0;
	CHECK(ipop_linkmgr_on_msg(&B.lm, "a@x", "a@x/r", &succ) == 0);
	CHECK(st(&B, "a@x") == IPOP_LINK_HANDSHAKING && B.out[0].op == IPOP_LINK_REPLY);
	/* A refusal from a node other than the one the link is bound to is not
	 * for this link; a close for a link we never heard the member on neither. */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	side_init(&C, "c@x", "c@x/r");
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_LONG, NULL);
	struct ipop_link_msg cl = msg_of(&B, IPOP_LINK_CLOSE);
	CHECK(ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &cl) == -ENOENT);
	CHECK(st(&A, "b@x") == IPOP_LINK_NEGOTIATING && A.lm.st.unsolicited == 1);
	deliver(&A, &B);   /* B's reply binds the link to B's key */
	deliver(&B, &A);
	struct ipop_link_msg other = msg_of(&C, IPOP_LINK_REFUSE);
	snprintf(other.reason, sizeof(other.reason), "not me");
	CHECK(ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &other) == -ENOENT);
	CHECK(st(&A, "b@x") == IPOP_LINK_HANDSHAKING && A.lm.st.unsolicited == 2);
	/* A refusal for a link we are not negotiating is ignored and counted. */
	struct ipop_link_msg late = msg_of(&B, IPOP_LINK_REFUSE);
	snprintf(late.reason, sizeof(late.reason), "late");
	CHECK(ipop_linkmgr_on_msg(&C.lm, "b@x", "b@x/r", &late) == -ENOENT ||
	      C.lm.st.unsolicited >= 1);

	/* ---- a wish that changes on a set-up link is told to the member, so both
	 * ends agree on why the link exists */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	ipop_linkmgr_want(&B.lm, "a@x", "a@x/r", IPOP_LINK_SUCC, NULL);
	deliver(&B, &A);   /* A has no wish yet: its reply says none */
	deliver(&A, &B);
	fpeer(&A, B.pub, false)->up = true;
	fpeer(&B, A.pub, false)->up = true;
	advance(200, &A, &B);
	la = ipop_linkmgr_find(&A.lm, "b@x");
	lb = ipop_linkmgr_find(&B.lm, "a@x");
	CHECK(st(&A, "b@x") == IPOP_LINK_CONNECTED && st(&B, "a@x") == IPOP_LINK_CONNECTED);
	CHECK(la->remote_type == IPOP_LINK_SUCC && lb->remote_type == IPOP_LINK_NONE);
	/* A's topology wants the link too now (a long link drawn before it heard
	 * of B's request): B must hear it, or it would close a link A wants. */
	A.n_out = 0;
	CHECK(ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_LONG, "long") == 0);
	CHECK(A.n_out == 1 && A.out[0].op == IPOP_LINK_REPLY && A.out[0].type == IPOP_LINK_LONG);
	CHECK(A.lm.st.wish_updates == 1);
	deliver(&A, &B);
	CHECK(lb->remote_type == IPOP_LINK_LONG && st(&B, "a@x") == IPOP_LINK_CONNECTED);
	CHECK(B.adds == 1 && fpeer(&B, A.pub, false)->resets == 0);
	/* So when B lets go, the tunnel stays for A. */
	CHECK(ipop_linkmgr_unwant(&B.lm, "a@x", "not wanted by the topology") == 0);
	CHECK(st(&B, "a@x") == IPOP_LINK_CONNECTED && fpeer(&B, A.pub, false) != NULL);
	deliver(&B, &A);
	CHECK(st(&A, "b@x") == IPOP_LINK_CONNECTED && la->remote_type == IPOP_LINK_NONE);
	/* A retypes its link (the long link's member became a successor). */
	A.n_out = 0;
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, "successor 1 of 2");
	CHECK(A.n_out == 1 && A.out[0].op == IPOP_LINK_REPLY && A.out[0].type == IPOP_LINK_SUCC);
	deliver(&A, &B);
	CHECK(lb->remote_type == IPOP_LINK_SUCC);
	/* A new reason for the same type is not news to the member. */
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, "successor 2 of 2");
	CHECK(A.n_out == 0);
	/* B wants the link again after its close: A hears it. */
	ipop_linkmgr_want(&B.lm, "a@x", "a@x/r", IPOP_LINK_LONG, NULL);
	CHECK(B.n_out == 1 && B.out[0].op == IPOP_LINK_REPLY && B.out[0].type == IPOP_LINK_LONG);
	deliver(&B, &A);
	CHECK(la->remote_type == IPOP_LINK_LONG && st(&A, "b@x") == IPOP_LINK_CONNECTED);
	CHECK(fpeer(&A, B.pub, false)->resets == 0 && A.adds == 1);
	/* A wish changed while our request is unanswered goes out with the answer. */
	side_init(&C, "c@x", "c@x/r");
	ipop_linkmgr_want(&A.lm, "c@x", "c@x/r", IPOP_LINK_SUCC, NULL);
	ipop_linkmgr_want(&A.lm, "c@x", "c@x/r", IPOP_LINK_LONG, NULL);
	CHECK(st(&A, "c@x") == IPOP_LINK_NEGOTIATING);
	CHECK(A.n_out == 1 && A.out[0].op == IPOP_LINK_REQUEST && A.out[0].type == IPOP_LINK_SUCC);
	deliver(&A, &C);
	deliver(&C, &A);
	CHECK(A.n_out == 1 && A.out[0].op == IPOP_LINK_REPLY && A.out[0].type == IPOP_LINK_LONG);
	deliver(&A, &C);
	CHECK(ipop_linkmgr_find(&C.lm, "a@x")->remote_type == IPOP_LINK_LONG);

	/* ---- the cap bounds what a gateway holds, not only what it accepts: a
	 * link B stops wanting while its incoming long links fill the cap is shed
	 * (refused, both sides show why), and so is one a member retypes to long */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	side_init(&C, "c@x", "c@x/r");
	side_init(&D, "d@x", "d@x/r");
	ipop_linkmgr_set_limits(&B.lm, caps);
	ipop_linkmgr_want(&C.lm, "b@x", "b@x/r", IPOP_LINK_LONG, NULL);
	deliver(&C, &B);
	deliver(&B, &C);
	fpeer(&B, C.pub, false)->up = true;
	fpeer(&C, B.pub, false)->up = true;
	ipop_linkmgr_want(&B.lm, "a@x", "a@x/r", IPOP_LINK_LONG, NULL);
	deliver(&B, &A);
	deliver(&A, &B);
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_LONG, NULL);
	deliver(&A, &B);
	fpeer(&A, B.pub, false)->up = true;
	fpeer(&B, A.pub, false)->up = true;
	advance(200, &A, &B);
	advance(200, &C, NULL);
	lb = ipop_linkmgr_find(&B.lm, "a@x");
	CHECK(st(&B, "a@x") == IPOP_LINK_CONNECTED && st(&B, "c@x") == IPOP_LINK_CONNECTED);
	CHECK(st(&A, "b@x") == IPOP_LINK_CONNECTED && lb->remote_type == IPOP_LINK_LONG);
	CHECK(B.lm.st.refusals_tx == 0);   /* B wanted a's link: never over the cap */
	B.n_out = 0;
	CHECK(ipop_linkmgr_unwant(&B.lm, "a@x", "redrawn") == 0);
	CHECK(B.lm.st.shed_over_cap == 1 && B.lm.st.refusals_tx == 1);
	CHECK(B.n_out == 1 && B.out[0].op == IPOP_LINK_REFUSE);
	CHECK(st(&B, "a@x") == IPOP_LINK_CLOSED && fpeer(&B, A.pub, false) == NULL);
	CHECK(strstr(lb->last_error, "cap of 1") != NULL);
	CHECK(st(&B, "c@x") == IPOP_LINK_CONNECTED);   /* the one within the cap stays */
	deliver(&B, &A);
	la = ipop_linkmgr_find(&A.lm, "b@x");
	CHECK(st(&A, "b@x") == IPOP_LINK_FAILED && la->refused && A.lm.st.unsolicited == 0);
	CHECK(strstr(la->last_error, "refused by the member: incoming long links at their cap of 1") != NULL);
	/* Under the cap, letting go keeps the tunnel for the member (C's link). */
	caps[IPOP_LINK_LONG] = 2;
	ipop_linkmgr_set_limits(&B.lm, caps);
	/* D holds a successor link to B, then retypes it long: over the cap of 2?
	 * No: c's is the only incoming long link, so d's is kept ... */
	ipop_linkmgr_want(&D.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, NULL);
	deliver(&D, &B);
	deliver(&B, &D);
	fpeer(&B, D.pub, false)->up = true;
	fpeer(&D, B.pub, false)->up = true;
	advance(200, &B, &D);
	CHECK(st(&D, "b@x") == IPOP_LINK_CONNECTED && st(&B, "d@x") == IPOP_LINK_CONNECTED);
	ipop_linkmgr_want(&D.lm, "b@x", "b@x/r", IPOP_LINK_LONG, NULL);
	deliver(&D, &B);
	CHECK(st(&B, "d@x") == IPOP_LINK_CONNECTED && B.lm.st.shed_over_cap == 1);
	/* ... and with the cap back at 1, the next retype to long is shed. */
	ipop_linkmgr_want(&D.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, NULL);
	deliver(&D, &B);
	caps[IPOP_LINK_LONG] = 1;
	ipop_linkmgr_set_limits(&B.lm, caps);
	CHECK(st(&B, "d@x") == IPOP_LINK_CONNECTED && B.lm.st.shed_over_cap == 1);
	B.n_out = 0;
	ipop_linkmgr_want(&D.lm, "b@x", "b@x/r", IPOP_LINK_LONG, NULL);
	deliver(&D, &B);
	CHECK(B.lm.st.shed_over_cap == 2 && st(&B, "d@x") == IPOP_LINK_CLOSED);
	CHECK(B.n_out == 1 && B.out[0].op == IPOP_LINK_REFUSE);
	deliver(&B, &D);
	CHECK(st(&D, "b@x") == IPOP_LINK_FAILED && ipop_linkmgr_find(&D.lm, "b@x")->refused);
	CHECK(st(&B, "c@x") == IPOP_LINK_CONNECTED);

	/* ---- a cap that goes down sheds the newest incoming links over it */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	side_init(&C, "c@x", "c@x/r");
	side_init(&D, "d@x", "d@x/r");
	caps[IPOP_LINK_LONG] = 3;
	ipop_linkmgr_set_limits(&B.lm, caps);
	struct side *rq[3] = { &A, &C, &D };
	for (int i = 0; i < 3; i++) {
		ipop_linkmgr_want(&rq[i]->lm, "b@x", "b@x/r", IPOP_LINK_LONG, NULL);
		deliver(rq[i], &B);
		deliver(&B, rq[i]);
		fpeer(&B, rq[i]->pub, false)->up = true;
		fpeer(rq[i], B.pub, false)->up = true;
		advance(200, &B, rq[i]);   /* created in this order: A, C, D */
	}
	CHECK(st(&B, "a@x") == IPOP_LINK_CONNECTED && st(&B, "c@x") == IPOP_LINK_CONNECTED &&
	      st(&B, "d@x") == IPOP_LINK_CONNECTED);
	uint64_t shed0 = B.lm.st.shed_over_cap;
	B.n_out = 0;
	caps[IPOP_LINK_LONG] = 3;
	ipop_linkmgr_set_limits(&B.lm, caps);   /* unchanged: nothing shed */
	CHECK(B.lm.st.shed_over_cap == shed0 && B.n_out == 0);
	caps[IPOP_LINK_LONG] = 1;
	ipop_linkmgr_set_limits(&B.lm, caps);
	CHECK(B.lm.st.shed_over_cap == shed0 + 2 && B.n_out == 2);
	CHECK(st(&B, "a@x") == IPOP_LINK_CONNECTED);   /* the oldest stays */
	CHECK(st(&B, "c@x") == IPOP_LINK_CLOSED && st(&B, "d@x") == IPOP_LINK_CLOSED);
	CHECK(B.out[0].op == IPOP_LINK_REFUSE && B.out[1].op == IPOP_LINK_REFUSE);
	CHECK(strstr(ipop_linkmgr_find(&B.lm, "d@x")->last_error, "cap of 1") != NULL);

	/* ---- a member that floods requests: 8 per 10 s are answered, the rest
	 * ignored and counted, and it is served again in the next window */
	side_init(&A, "a@x", "a@x/r");
	side_init(&B, "b@x", "b@x/r");
	struct ipop_link_msg flood = msg_of(&B, IPOP_LINK_REQUEST);
	unsigned answered = 0;
	for (int i = 0; i < 100; i++) {
		A.n_out = 0;
		if (ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &flood) == 0)
			answered++;
		clock_ms += 10;
	}
	CHECK(answered == 8 && A.lm.st.rate_limited == 92 && A.lm.st.requests_rx == 8);
	CHECK(ipop_linkmgr_find(&A.lm, "b@x") != NULL);
	clock_ms += 10000;
	CHECK(ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &flood) == 0 && A.lm.st.requests_rx == 9);

	/* ---- ICE hooks: each side opens one agent per negotiation (the
	 * requester before its request, the responder before its reply), starts
	 * gathering once that message is out, hears the member's answer, and the
	 * agent is closed when the link fails, closes or is freed */
	side_init_ice(&A, "a@x", "a@x/r", true);
	side_init_ice(&B, "b@x", "b@x/r", true);
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, NULL);
	CHECK(A.ice_opens == 1 && A.ice_sents == 1 && A.out_at_sent == 1);
	deliver(&A, &B);
	CHECK(B.ice_opens == 1 && B.ice_remotes == 1 && B.ice_sents == 1 && B.out_at_sent == 1);
	deliver(&B, &A);
	CHECK(A.ice_remotes == 1 && A.ice_opens == 1);
	CHECK(st(&A, "b@x") == IPOP_LINK_HANDSHAKING && ipop_linkmgr_find(&A.lm, "b@x")->ice);
	struct ipop_link *ia = ipop_linkmgr_find(&A.lm, "b@x");
	struct ipop_link *ib = ipop_linkmgr_find(&B.lm, "a@x");
	CHECK(strcmp(ia->remote_ufrag, ib->ice_ufrag) == 0 && strcmp(ib->remote_ufrag, ia->ice_ufrag) == 0);
	/* trickled candidates: taken for the agent the member announced, at most
	 * IPOP_LINK_MAX_CANDS of them; one for another agent of its is stale, one
	 * the agent refuses is counted */
	for (int i = 0; i < IPOP_LINK_MAX_CANDS + 3; i++)
		ipop_linkmgr_send_candidate(&B.lm, ib, "candidate:1 1 UDP 2013266431 10.0.0.2 5801 typ host");
	CHECK(B.lm.st.candidates_tx == IPOP_LINK_MAX_CANDS + 3 && B.out[0].op == IPOP_LINK_CANDIDATE &&
	      strcmp(B.out[0].ufrag, ib->ice_ufrag) == 0);
	deliver(&B, &A);
	CHECK(A.ice_cands == IPOP_LINK_MAX_CANDS && A.lm.st.candidates_rx == IPOP_LINK_MAX_CANDS);
	CHECK(A.lm.st.candidates_too_many == 3);
	struct ipop_link_msg cm = msg_of(&B, IPOP_LINK_CANDIDATE);
	snprintf(cm.ufrag, sizeof(cm.ufrag), "zzzz");
	CHECK(ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &cm) == -ESTALE && A.lm.st.candidates_stale == 1);
	memcpy(cm.ufrag, ia->remote_ufrag, sizeof(cm.ufrag));
	B.cand_refused = A.cand_refused = true;
	ia->cands_rx = 0;
	CHECK(ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &cm) == -EINVAL && A.lm.st.candidates_bad == 1);
	/* one the signalling codec refused (cand_refused, the value as
	 * received): not the agent's, counted and handed to ice_refused for
	 * the link's last_error, whichever agent of the member's it names */
	struct ipop_link_msg bad = cm;
	bad.cand_refused = true;
	snprintf(bad.cand, sizeof(bad.cand), "candidate:1 1 UDP 1 10.0.0.2 5801 typ nat");
	unsigned hooks = A.refused_hooks, cands = A.ice_cands;
	CHECK(ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &bad) == -EBADMSG);
	CHECK(A.lm.st.candidates_unparsed == 1 && A.lm.st.candidates_bad == 1 && A.ice_cands == cands);
	CHECK(A.refused_hooks == hooks + 1 && A.refused_err == -EBADMSG &&
	      strcmp(A.refused_cand, bad.cand) == 0);
	snprintf(bad.ufrag, sizeof(bad.ufrag), "zzzz");
	CHECK(ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &bad) == -EBADMSG &&
	      A.lm.st.candidates_unparsed == 2 && A.lm.st.candidates_stale == 1);
	CHECK(ipop_linkmgr_on_msg(&A.lm, "c@x", "c@x/r", &bad) == -ENOENT &&
	      A.lm.st.candidates_unparsed == 2);   /* no link with that member */
	/* the text links[].ice.last_error gets: which member, which candidate, why */
	static struct ipop_ice_links il;
	static struct ipop_link el;
	snprintf(el.jid, sizeof(el.jid), "b@x");
	ipop_ice_link_refused(&il, &el, bad.cand, -EBADMSG);
	CHECK(strcmp(el.ice_error, "candidate from b@x refused (not in the candidate grammar of "
		     "docs/signalling.md): candidate:1 1 UDP 1 10.0.0.2 5801 typ nat") == 0);
	CHECK(il.st.errors == 1 && el.ice_error_ms != 0);
	cm.node = ipop_node_id_of_key(A.pub);   /* not the member's node */
	CHECK(ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &cm) == -ENOENT);
	/* the member starts over (a request with a new agent): ours is replaced
	 * and the reply carries the new one; a reply never restarts */
	struct ipop_link_msg irq = msg_of(&B, IPOP_LINK_REQUEST);
	snprintf(irq.ufrag, sizeof(irq.ufrag), "new1");
	snprintf(irq.pwd, sizeof(irq.pwd), "qqqqqqqqqqqqqqqqqqqqqq");
	char before[IPOP_LINK_UFRAG_LEN];
	memcpy(before, ia->ice_ufrag, sizeof(before));
	A.n_out = 0;
	CHECK(ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &irq) == 0 && A.lm.st.ice_restarts == 1);
	CHECK(strcmp(ia->remote_ufrag, "new1") == 0 && strcmp(ia->ice_ufrag, before) != 0);
	CHECK(A.n_out >= 1 && A.out[0].op == IPOP_LINK_REPLY && strcmp(A.out[0].ufrag, ia->ice_ufrag) == 0);
	struct ipop_link_msg rp = msg_of(&B, IPOP_LINK_REPLY);
	snprintf(rp.ufrag, sizeof(rp.ufrag), "new2");
	snprintf(rp.pwd, sizeof(rp.pwd), "qqqqqqqqqqqqqqqqqqqqqq");
	ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &rp);
	CHECK(strcmp(ia->remote_ufrag, "new1") == 0 && A.lm.st.ice_restarts == 1);
	/* a member without ICE (no ufrag): our agent goes, the link goes on */
	struct ipop_link_msg plain = msg_of(&B, IPOP_LINK_REQUEST);
	ipop_linkmgr_on_msg(&A.lm, "b@x", "b@x/r", &plain);
	CHECK(ia->ice == NULL && ia->remote_ufrag[0] == '\0' && A.ice_live == 0);
	B.cand_refused = A.cand_refused = false;
	A.n_out = B.n_out = 0;
	advance(TIMEOUT_MS + 200, &A, &B);   /* no session: both fail, agents go */
	CHECK(st(&A, "b@x") == IPOP_LINK_FAILED && A.ice_live == 0);
	CHECK(B.ice_live == 0 && ipop_linkmgr_find(&A.lm, "b@x")->ice == NULL);
	unsigned opens = A.ice_opens;
	advance(5000, &A, &B);               /* the retry opens a new agent */
	CHECK(A.ice_opens == opens + 1 && A.ice_live == 1);
	ipop_linkmgr_unwant(&A.lm, "b@x", "test");
	CHECK(st(&A, "b@x") == IPOP_LINK_CLOSED && A.ice_live == 0);
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, NULL);
	CHECK(A.ice_live == 1);
	ipop_linkmgr_free(&A.lm);            /* freed with the link */
	CHECK(A.ice_live == 0);

	/* the session over ICE's pair dies (a NAT restarted): the initiator
	 * replaces its agent and asks again; the member replaces its own on
	 * that request and answers with it; the initiator takes the answer */
	side_init_ice(&A, "a@x", "a@x/r", true);
	side_init_ice(&B, "b@x", "b@x/r", true);
	ipop_linkmgr_want(&A.lm, "b@x", "b@x/r", IPOP_LINK_SUCC, NULL);
	deliver(&A, &B);
	deliver(&B, &A);
	fpeer(&A, B.pub, false)->up = true;
	fpeer(&B, A.pub, false)->up = true;
	advance(200, &A, &B);
	CHECK(st(&A, "b@x") == IPOP_LINK_CONNECTED && st(&B, "a@x") == IPOP_LINK_CONNECTED);
	struct side *ini = ipop_linkmgr_find(&A.lm, "b@x")->initiator ? &A : &B;
	struct side *rsp = ini == &A ? &B : &A;
	struct ipop_link *li = ipop_linkmgr_find(&ini->lm, ini == &A ? "b@x" : "a@x");
	struct ipop_link *lr = ipop_linkmgr_find(&rsp->lm, rsp == &A ? "b@x" : "a@x");
	char old_i[IPOP_LINK_UFRAG_LEN], old_r[IPOP_LINK_UFRAG_LEN];
	memcpy(old_i, li->ice_ufrag, sizeof(old_i));
	memcpy(old_r, lr->ice_ufrag, sizeof(old_r));
	ini->n_out = rsp->n_out = 0;
	fpeer(ini, rsp->pub, false)->deaths++;
	fpeer(ini, rsp->pub, false)->up = false;
	ipop_linkmgr_tick(&ini->lm);
	CHECK(ini->lm.st.ice_restarts == 1 && ini->n_out == 1 && ini->out[0].op == IPOP_LINK_REQUEST);
	CHECK(strcmp(li->ice_ufrag, old_i) != 0 && strcmp(ini->out[0].ufrag, li->ice_ufrag) == 0);
	deliver(ini, rsp);
	CHECK(rsp->lm.st.ice_restarts == 1 && strcmp(lr->ice_ufrag, old_r) != 0);
	CHECK(strcmp(lr->remote_ufrag, li->ice_ufrag) == 0);
	deliver(rsp, ini);
	CHECK(strcmp(li->remote_ufrag, lr->ice_ufrag) == 0);
	/* the member's own death (it is not the initiator) restarts nothing */
	fpeer(rsp, ini->pub, false)->deaths++;
	rsp->n_out = 0;
	ipop_linkmgr_tick(&rsp->lm);
	CHECK(rsp->lm.st.ice_restarts == 1 && rsp->n_out == 0);

	/* ---- ICE: the selected pair stops answering while the session is up:
	 * both sides probe signalling; the initiator restarts ICE at once with
	 * restart='ice' and sends it again every 500 ms while unanswered (4
	 * times); the member replaces its agent but keeps its sessions */
	fpeer(ini, rsp->pub, false)->up = true;
	fpeer(rsp, ini->pub, false)->up = true;
	advance(200, ini, rsp);
	CHECK(st(ini, rsp->jid) == IPOP_LINK_CONNECTED && st(rsp, ini->jid) == IPOP_LINK_CONNECTED);
	ini->n_out = rsp->n_out = 0;
	unsigned restarts0 = ini->lm.st.ice_restarts, resets0 = fpeer(rsp, ini->pub, false)->resets;
	memcpy(old_r, lr->ice_ufrag, sizeof(old_r));
	/* a keepalive overdue: both sides check signalling, nobody restarts */
	ini->path = rsp->path = IPOP_PATH_QUIET;
	ipop_linkmgr_tick(&ini->lm);
	ipop_linkmgr_tick(&rsp->lm);
	CHECK(ini->probes == 1 && rsp->probes == 1);
	CHECK(ini->lm.st.ice_path_lost == 0 && ini->n_out == 0 && rsp->n_out == 0);
	CHECK(ini->lm.st.ice_restarts == restarts0);
	ini->probes = rsp->probes = 0;
	ini->path = rsp->path = IPOP_PATH_LOST;
	ipop_linkmgr_tick(&ini->lm);
	ipop_linkmgr_tick(&rsp->lm);
	ini->path = rsp->path = IPOP_PATH_OK;
	CHECK(ini->probes == 1 && rsp->probes == 1);
	CHECK(ini->lm.st.ice_path_lost == 1 && rsp->lm.st.ice_path_lost == 0 && rsp->n_out == 0);
	CHECK(ini->lm.st.ice_restarts == restarts0 + 1 && li->ice_restarts >= 1);
	CHECK(strcmp(li->ice_restart_why, "test: path lost") == 0);
	CHECK(ini->n_out == 1 && ini->out[0].op == IPOP_LINK_REQUEST && ini->out[0].ice_restart);
	CHECK(st(ini, rsp->jid) == IPOP_LINK_CONNECTED);
	/* unanswered (lost with a dead XMPP connection): sent again, 3 times */
	ini->n_out = 0;
	advance(5000, ini, NULL);
	CHECK(ini->lm.st.ice_restarts_resent == 4 && ini->n_out == 4 && ini->out[3].ice_restart);
	CHECK(strcmp(ini->out[3].to, rsp->jid) == 0);   /* to the bare JID */
	CHECK(ini->lm.st.ice_restarts == restarts0 + 1);
	CHECK(ini->cand_resends == 4);
	/* the member signs in again (a new full JID) before it answered: the
	 * request goes to its new session at once, and so do the candidates
	 * that went to the dead one (without them its agent has nothing to
	 * check, and our checks cannot cross its NAT first) */
	char moved_full[] = "member-new-session";
	snprintf(moved_full, sizeof(moved_full), "%s/2", rsp->jid);
	ini->n_out = 0;
	/* (ini is A or B by the random keys: the one that wants no link of
	 * its own, B, asks for one now; the request still goes first) */
	CHECK(ipop_linkmgr_want(&ini->lm, rsp->jid, moved_full,
				li->type != IPOP_LINK_NONE ? li->type : IPOP_LINK_SUCC, "test") == 0);
	CHECK(ini->lm.st.ice_restarts_resent == 5 && ini->cand_resends == 5);
	CHECK(ini->n_out >= 1 && ini->out[0].op == IPOP_LINK_REQUEST && ini->out[0].ice_restart);
	CHECK(strcmp(ini->out[0].to, moved_full) == 0);
	ini->n_out = 1;   /* that copy arrives */
	deliver(ini, rsp);
	CHECK(rsp->lm.st.ice_restarts_rx == 1 && strcmp(lr->ice_ufrag, old_r) != 0);
	CHECK(fpeer(rsp, ini->pub, false)->resets == resets0);   /* sessions kept */
	CHECK(st(rsp, ini->jid) == IPOP_LINK_CONNECTED);
	CHECK(strcmp(lr->ice_restart_why, "the member's selected pair stopped answering") == 0);
	deliver(rsp, ini);
	CHECK(strcmp(li->remote_ufrag, lr->ice_ufrag) == 0);
	ini->n_out = 0;
	advance(3000, ini, NULL);
	CHECK(ini->n_out == 0);   /* answered: no more copies */
	/* ---- ICE: our agent cannot find a pair (the env's REOPEN: the TURN
	 * server refused our credentials before it had a srflx candidate):
	 * either side, here the responder, replaces it at once with
	 * restart='ice'; the member replaces its own and keeps the sessions */
	unsigned rx0 = ini->lm.st.ice_restarts_rx, rr0 = rsp->lm.st.ice_restarts;
	unsigned probes0 = rsp->probes;
	resets0 = fpeer(ini, rsp->pub, false)->resets;
	memcpy(old_r, lr->ice_ufrag, sizeof(old_r));
	memcpy(old_i, li->ice_ufrag, sizeof(old_i));
	ini->n_out = rsp->n_out = 0;
	rsp->path = IPOP_PATH_REOPEN;
	ipop_linkmgr_tick(&rsp->lm);
	rsp->path = IPOP_PATH_OK;
	CHECK(rsp->lm.st.ice_reopened == 1 && rsp->lm.st.ice_restarts == rr0 + 1);
	CHECK(rsp->probes == probes0 && rsp->lm.st.ice_path_lost == 0);
	CHECK(rsp->n_out == 1 && rsp->out[0].op == IPOP_LINK_REQUEST && rsp->out[0].ice_restart);
	CHECK(strcmp(lr->ice_ufrag, old_r) != 0 && lr->remote_ufrag[0] == '\0');
	CHECK(st(rsp, ini->jid) == IPOP_LINK_CONNECTED);
	deliver(rsp, ini);
	CHECK(ini->lm.st.ice_restarts_rx == rx0 + 1 && strcmp(li->ice_ufrag, old_i) != 0);
	CHECK(fpeer(ini, rsp->pub, false)->resets == resets0);   /* sessions kept */
	CHECK(st(ini, rsp->jid) == IPOP_LINK_CONNECTED);
	deliver(ini, rsp);
	CHECK(strcmp(lr->remote_ufrag, li->ice_ufrag) == 0 && strcmp(li->remote_ufrag, lr->ice_ufrag) == 0);
	/* a handshaking link (no session: a gateway that just restarted) too;
	 * there LOST restarts nothing */
	fpeer(rsp, ini->pub, false)->up = false;
	ipop_linkmgr_tick(&rsp->lm);
	CHECK(st(rsp, ini->jid) == IPOP_LINK_HANDSHAKING);
	rsp->n_out = 0;
	rsp->path = IPOP_PATH_LOST;
	ipop_linkmgr_tick(&rsp->lm);
	CHECK(rsp->n_out == 0 && rsp->lm.st.ice_reopened == 1);
	memcpy(old_r, lr->ice_ufrag, sizeof(old_r));
	rsp->path = IPOP_PATH_REOPEN;
	ipop_linkmgr_tick(&rsp->lm);
	rsp->path = IPOP_PATH_OK;
	CHECK(rsp->lm.st.ice_reopened == 2 && rsp->n_out == 1 && rsp->out[0].ice_restart);
	CHECK(strcmp(lr->ice_ufrag, old_r) != 0 && st(rsp, ini->jid) == IPOP_LINK_HANDSHAKING);
	deliver(rsp, ini);
	deliver(ini, rsp);
	CHECK(strcmp(lr->remote_ufrag, li->ice_ufrag) == 0 && strcmp(li->remote_ufrag, lr->ice_ufrag) == 0);
	fpeer(rsp, ini->pub, false)->up = true;
	advance(200, ini, rsp);
	CHECK(st(rsp, ini->jid) == IPOP_LINK_CONNECTED && st(ini, rsp->jid) == IPOP_LINK_CONNECTED);
	/* a candidate over the member's 16 reaches the env's report hook */
	for (unsigned i = 0; i <= IPOP_LINK_MAX_CANDS; i++) {
		struct ipop_link_msg cm = msg_of(rsp, IPOP_LINK_CANDIDATE);
		memcpy(cm.ufrag, lr->ice_ufrag, sizeof(cm.ufrag));
		snprintf(cm.cand, sizeof(cm.cand), "candidate:1 1 UDP 1 10.0.0.1 %u typ host", 5000 + i);
		ipop_linkmgr_on_msg(&ini->lm, rsp->jid, rsp->full, &cm);
	}
	CHECK(ini->refused_hooks == 1 && ini->lm.st.candidates_too_many == 1);

	ipop_linkmgr_free(&B.lm);
	CHECK(B.ice_live == 0);
	side_init(&B, "b@x", "b@x/r");
	ipop_linkmgr_free(&A.lm);
	side_init(&A, "a@x", "a@x/r");

	json_object *j = ipop_linkmgr_json(&A.lm);
	CHECK(j != NULL);
	json_object_put(j);
	ipop_linkmgr_free(&A.lm);
	ipop_linkmgr_free(&B.lm);
	ipop_linkmgr_free(&C.lm);
	ipop_linkmgr_free(&D.lm);
	return check_report("linkmgr");
}

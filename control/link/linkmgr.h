/* linkmgr.h - the link manager: owns each tunnel's life, from the topology's
 * wish to a running session and back. Thread: control.
 *
 *   requested --(request sent)--> negotiating --(request or reply received:
 *   key and endpoint known, peer added)--> handshaking --(session UP)--> connected
 *   connected --(session died)--> handshaking
 *   negotiating/handshaking --(timeout)--> failed --(back-off, still wanted)--> requested
 *   any --(topology drops it, or the member sends close)--> closed
 *
 * Each side tells the other its wish: in its request or reply, and, when the
 * wish changes on a link that is already set up (a retype, or a wish taken up
 * again after a close), in another reply, so both ends always agree on why the
 * link exists (who may close it, and which incoming cap it counts against).
 *
 * The state machine (struct ipop_linkmgr) talks to the rest through struct
 * ipop_link_env callbacks, so the unit test drives it without DPDK or XMPP;
 * link/module.c (the framework module "linkmgr") binds it to the node's peers
 * (session/peer.h) and to the signalling module (tasks). Exactly one session per link:
 * the side with the smaller node ID initiates the handshake, the other adds the
 * peer without an endpoint and only answers (after link_timeout/4 it may
 * initiate too; session/handshake.c's tie-break still keeps one session).
 */
#ifndef IPOP_CONTROL_LINKMGR_H
#define IPOP_CONTROL_LINKMGR_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "control/framework.h"
#include "control/tasks.h"
#include "control/signal/linkmsg.h"
#include "dataplane/counters.h"

#define IPOP_MAX_LINKS 1024

enum ipop_link_state {
	IPOP_LINK_REQUESTED, IPOP_LINK_NEGOTIATING, IPOP_LINK_HANDSHAKING,
	IPOP_LINK_CONNECTED, IPOP_LINK_FAILED, IPOP_LINK_CLOSED,
};

/* What the node reports about a link's peer. */
struct ipop_link_peer_status {
	bool up;
	bool confirming;               /* we answered its handshake; its first packet,
					* which makes the session up here, is due */
	uint64_t deaths;
	uint64_t tx_bytes, rx_bytes;
};

struct ipop_link {
	char jid[IPOP_JID_LEN];        /* the member's bare JID: the link's name */
	char full[IPOP_JID_LEN];       /* where its messages go; "" unknown */
	enum ipop_link_state state;
	/* Why each side wants the link (enum ipop_link_type). The tunnel exists
	 * while either wants it: a close from one side only releases its wish. */
	uint8_t type;                  /* ours, from the topology; NONE: we do not */
	uint8_t remote_type;           /* the member's, from its request or reply */
	uint8_t told_type;             /* ours as the member last heard it (request,
					* reply; NONE after our close) */
	bool refused;                  /* the member refused our request (last_error says why) */
	char why[96];                  /* the topology's reason for our type */
	bool have_remote, peer_added, peer_static, initiator, endpoint_set;
	bool key_proven;               /* a session with key came up (since it was taken) */
	unsigned graces;               /* times this handshaking spell's deadline was extended */
	uint8_t key[32];
	struct ipop_node_id node;      /* the member's ring ID (checked against key) */
	uint32_t ip;                   /* network order */
	uint16_t port;                 /* host order */
	uint64_t created_ms, state_ms, connected_ms, next_ms, deadline_ms;
	unsigned attempts;             /* consecutive failures, for the back-off */
	uint64_t deaths_seen, failures, connects;
	uint64_t req_window_ms;        /* start of the member's current request window */
	unsigned req_in_window;        /* requests it sent in that window */
	uint64_t tx_bytes, rx_bytes;   /* since the peer was added */
	char last_error[128];
	/* ICE (only with env.ice_open): the link's agent, owned by the env
	 * (control/link/ice_link.c); the state machine only says when a
	 * negotiation starts and ends. ice_ufrag/ice_pwd: the agent's, set by
	 * the env when it opens one, sent in our request and reply; remote_ufrag:
	 * the member's agent, from its request or reply ("" none); cands_rx: its
	 * candidates taken for that agent. */
	void *ice;
	char ice_ufrag[IPOP_LINK_UFRAG_LEN], ice_pwd[IPOP_LINK_PWD_LEN];
	char remote_ufrag[IPOP_LINK_UFRAG_LEN];
	unsigned cands_rx;
	/* Agents of this link in a row that the env replaced because the TURN
	 * server's stale allocation held their 5-tuple (437), the last one's
	 * time: written by the env when it closes an agent, read for its bound
	 * (control/link/ice_link.c). */
	unsigned turn_mismatches;
	uint64_t turn_mismatch_ms;
	/* ICE restarts on this link (either side's), the last one's time and why. */
	unsigned ice_restarts;
	uint64_t ice_restart_ms;
	/* Our restart='ice' request, sent again until the member answers it
	 * (ice_resend_ms: when next; 0 none pending), ice_resends times so far. */
	uint64_t ice_resend_ms;
	unsigned ice_resends;
	char ice_restart_why[96];
	/* The last bad ICE input or failure on this link (the env's text, for
	 * `show`) and when; its log lines are rate-limited by the env. */
	char ice_error[256];
	uint64_t ice_error_ms, ice_log_ms;
	unsigned ice_log_quiet;        /* errors not logged since the last line */
	/* STUN messages to its agents that control checked (control/link/
	 * stun_watch.c): authentic, and failing their MESSAGE-INTEGRITY or
	 * FINGERPRINT check. */
	uint64_t stun_verified, stun_failed;
};

#define IPOP_LINK_MAX_CANDS 16     /* a member's candidates taken per agent of its */

/* What a connected link's ICE path looks like from its traffic. */
enum ipop_path_verdict {
	IPOP_PATH_OK,
	IPOP_PATH_QUIET,   /* a keepalive is overdue: worth checking signalling */
	IPOP_PATH_LOST,    /* the pair stopped carrying the tunnel */
	IPOP_PATH_REOPEN,  /* the agent cannot find a pair: replace it now, either side */
};

struct ipop_link_env {
	void *ctx;
	/* Add the peer of l (endpoint only if l->initiator); -EEXIST if the key is
	 * a peer already (a static one: the link uses it but never removes it). */
	int (*add_peer)(void *ctx, const struct ipop_link *l, bool with_endpoint);
	void (*set_endpoint)(void *ctx, const struct ipop_link *l);
	/* Drop the sessions of l's peer (the member restarted its side). */
	void (*reset_peer)(void *ctx, const struct ipop_link *l, const char *why);
	void (*remove_peer)(void *ctx, const struct ipop_link *l, const char *why);
	int (*peer_status)(void *ctx, const struct ipop_link *l, struct ipop_link_peer_status *st);
	/* Send a link message to l->full; 0 when queued. m has op, type and (for
	 * refuse) reason; the signalling module adds identity and endpoint. */
	int (*send)(void *ctx, const struct ipop_link *l, const struct ipop_link_msg *m);
	uint64_t (*now_ms)(void *ctx);
	uint32_t (*random)(void *ctx, uint32_t upper);   /* uniform in [0, upper) */
	/* Optional: l moved from old to l->state, or one side's type changed
	 * (old == l->state then). */
	void (*on_state)(void *ctx, const struct ipop_link *l, enum ipop_link_state old);
	/* Optional, ICE (NULL: links use the signalled endpoint only). ice_open:
	 * a negotiation starts; give l an agent if it has none (an error is the
	 * env's to report: the link goes on with the signalled endpoint).
	 * ice_sent: our request or reply is out; candidates may follow it.
	 * ice_remote: the member's request or reply was taken (its identity, so
	 * the controlling side, is known). ice_close: the negotiation is over
	 * (failed, closed, link freed); free the agent. */
	int (*ice_open)(void *ctx, struct ipop_link *l);
	void (*ice_sent)(void *ctx, struct ipop_link *l);
	void (*ice_remote)(void *ctx, struct ipop_link *l, const struct ipop_link_msg *m);
	void (*ice_close)(void *ctx, struct ipop_link *l);
	/* Optional: a member's candidate refused before it reached the agent
	 * (err -ENOSPC: IPOP_LINK_MAX_CANDS already taken); the env reports it. */
	void (*ice_refused)(void *ctx, struct ipop_link *l, const char *cand, int err);
	/* A member's candidate for our agent: 0, or -EINVAL if the agent refused it. */
	int (*ice_candidate)(void *ctx, struct ipop_link *l, const char *cand);
	/* l's peer was added (a pair ICE selected before may apply now). */
	void (*ice_peer_added)(void *ctx, struct ipop_link *l);
	/* Optional: whether the selected pair of l's agent still carries the
	 * tunnel (the env's evidence; why says what it saw). Asked on connected
	 * links: QUIET or LOST probes signalling (either side); LOST on a link
	 * of which we are the initiator restarts ICE at once (restart='ice', the
	 * sessions stay), not waiting for dead_after. Asked on handshaking links
	 * too, where only REOPEN counts: it restarts ICE at once on either side. */
	enum ipop_path_verdict (*ice_path_check)(void *ctx, const struct ipop_link *l, char *why,
						 size_t len);
	/* Optional: our restart='ice' request was sent again; send the agent's
	 * candidates found so far again too (they may have been lost with it). */
	void (*ice_resend)(void *ctx, struct ipop_link *l);
	/* Optional: a path was lost (either side): have signalling check that its
	 * own connection still works (the same NAT may have dropped it). */
	void (*probe_signal)(void *ctx);
	/* `show`: the link's "ice" object (l->ice is set). */
	json_object *(*ice_json)(void *ctx, const struct ipop_link *l);
};

/* `show`: link_counters. X(name, meaning): dataplane/counters.h. */
#define IPOP_LINKMGR_COUNTERS(X) \
	X(requests_rx, "link requests received") \
	X(replies_rx, "link replies received") \
	X(closes_rx, "link closes received (the member released its wish; the link stays if we want it)") \
	X(refusals_rx, "link refusals received (the member would not accept our request)") \
	X(refusals_tx, "link refusals sent (incoming links of that type at their cap), shed links included") \
	X(shed_over_cap, "links refused after they were granted: we let go of our own wish, or the member retyped the link, while our incoming links of its type were at their cap; or the cap went down (the newest go)") \
	X(rate_limited, "link requests ignored: the member sent more than 8 in 10 s") \
	X(cert_refusals_tx, "refusals sent for requests or replies whose own certificate trust refused (with a CA; the reason names trust's: docs/signalling.md)") \
	X(cert_refusals_limited, "refusals for refused certificates not sent: the sender had one within the last second") \
	X(unsolicited, "replies or closes for no link of ours (ignored)") \
	X(key_in_use, "link messages announcing a key already bound to another member's link (refused)") \
	X(own_key, "link messages announcing this node's own key (refused)") \
	X(wish_updates, "replies sent on a set-up link to tell the member our wish changed (retype, or wanted again after our close)") \
	X(sent, "link messages handed to the signalling module") \
	X(send_failed, "link messages not sent (member not online, or signalling could not send)") \
	X(connected, "times a link reached connected (its session came up)") \
	X(failed, "times a link failed (no answer, handshake not completed, peer lost); retried after back-off") \
	X(closed, "links closed (no longer wanted, or closed by the member)") \
	X(candidates_rx, "ICE candidates from members handed to the link's agent") \
	X(candidates_tx, "ICE candidates of our agents sent to members") \
	X(candidates_stale, "ICE candidates ignored: no agent on the link, or for another agent of the member's than the one its last request or reply announced (a restart crossed them)") \
	X(candidates_too_many, "ICE candidates refused: the member already sent IPOP_LINK_MAX_CANDS (16) for its agent") \
	X(candidates_bad, "ICE candidates the agent refused (libnice could not parse or use it; logged)") \
	X(candidates_unparsed, "ICE candidates the signalling codec refused (not in the grammar of docs/signalling.md; also in signalling.counters.rejected.bad_candidate), shown on the member's link (links[].ice.last_error)") \
	X(ice_restarts, "ICE agents replaced on a link: the member's request announced a new agent of its own, or (initiator) the link's session died or its selected pair stopped answering and we started over with a new agent and a request") \
	X(ice_path_lost, "ICE restarts we started on a live link because its selected pair stopped answering (restart='ice'; the sessions stay)") \
	X(ice_restarts_resent, "restart='ice' requests sent again: no answer after 500 ms (up to 4 times, with our candidates; our own XMPP connection may have died with the NAT's mappings and come back since), or at once because the member signed in again (a new full JID)") \
	X(ice_restarts_rx, "requests with restart='ice' taken on a live link: the member replaced its agent, we replaced ours, the sessions stayed") \
	X(ice_reopened, "ICE agents we replaced at once (either side, restart='ice') because they could not find a pair: the TURN server refused our credentials before the agent had a server-reflexive candidate")

struct ipop_linkmgr_stats {
	IPOP_LINKMGR_COUNTERS(IPOP_COUNTER_FIELD)
};

struct ipop_linkmgr {
	struct ipop_link_env env;
	uint8_t self_key[32];
	struct ipop_node_id self_id;
	unsigned link_timeout_ms;      /* negotiating or handshaking longer: failed */
	unsigned retry_base_ms, retry_max_ms;
	/* Caps on links a member requests and we do not want ourselves, by type
	 * (0: no cap); set by the topology (ipop_linkmgr_set_limits). */
	unsigned max_in[IPOP_LINK_NTYPES];
	unsigned n_links;
	struct ipop_link *links[IPOP_MAX_LINKS];
	struct ipop_linkmgr_stats st;
};

void ipop_linkmgr_init(struct ipop_linkmgr *lm, const struct ipop_link_env *env,
		       const uint8_t self_key[32], unsigned link_timeout_ms);
void ipop_linkmgr_free(struct ipop_linkmgr *lm);
struct ipop_link *ipop_linkmgr_find(struct ipop_linkmgr *lm, const char *jid);
/* The topology wants a link of this type to JID (full = where it is online
 * now; why = its reason, shown by the API); a new type for a link it already
 * wants just changes the type. */
int ipop_linkmgr_want(struct ipop_linkmgr *lm, const char *jid, const char *full,
		      enum ipop_link_type type, const char *why);
/* The topology no longer wants it: close it, or, while the member still
 * wants it, only tell the member (it closes the link when it lets go too). */
int ipop_linkmgr_unwant(struct ipop_linkmgr *lm, const char *jid, const char *why);
/* The member left the overlay: its link goes, whoever wanted it (nothing is
 * sent: the member is gone). */
int ipop_linkmgr_drop(struct ipop_linkmgr *lm, const char *jid, const char *why);
/* Caps on incoming links by type (0: none); requests over a cap are refused. */
void ipop_linkmgr_set_limits(struct ipop_linkmgr *lm, const unsigned max_in[IPOP_LINK_NTYPES]);
/* A validated link message from member JID at FULL. */
int ipop_linkmgr_on_msg(struct ipop_linkmgr *lm, const char *jid, const char *full,
			const struct ipop_link_msg *m);
/* Send our agent's candidate to l's member (trickle). 0 or -ENOTCONN. */
int ipop_linkmgr_send_candidate(struct ipop_linkmgr *lm, struct ipop_link *l, const char *cand);
/* Our message to JID could not be sent. */
void ipop_linkmgr_send_failed(struct ipop_linkmgr *lm, const char *jid);
void ipop_linkmgr_tick(struct ipop_linkmgr *lm);
const char *ipop_link_state_name(enum ipop_link_state s);
json_object *ipop_linkmgr_json(const struct ipop_linkmgr *lm);

#endif

/* ice_link.h - a signalled link's ICE agent (control/ice): opened when the link's
 * negotiation starts, freed when it ends or the link goes. Thread: control (the
 * agents run on the daemon's GLib default context, which its main loop
 * iterates; nothing here is shared with the workers).
 *
 * Each agent's socket is bound to the WAN address (the kernel holds it on the
 * WAN exception TAP, so the agent's STUN and TURN traffic crosses the workers'
 * exception path) and to the first free port of [wan.port + 1, wan.port +
 * IPOP_ICE_LINK_PORTS]: one port per link, since libnice cannot share a socket
 * between agents. A direct pair the agents select becomes the link's peer's
 * endpoint and source port, so the tunnel rides the NAT bindings ICE opened.
 * A pair whose local candidate is relayed makes the TURN server the peer's
 * endpoint and the agent's port our source port, with the channel libnice
 * bound for the pair's remote address (learnt by control/link/turn_watch.c):
 * the workers then send and receive the tunnel's messages as ChannelData.
 * It also judges whether that pair still carries the tunnel (path lost:
 * the link manager then restarts ICE, docs/signalling.md "Path changes"),
 * and records and logs (rate-limited) each link's bad ICE input.
 * Without ice { } in the configuration nothing here runs.
 */
#ifndef IPOP_CONTROL_LINK_ICE_LINK_H
#define IPOP_CONTROL_LINK_ICE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "control/config/config.h"
#include "control/ice/ice.h"
#include "control/link/stun_watch.h"
#include "control/link/turn_watch.h"
#include "control/link/linkmgr.h"
#include "dataplane/counters.h"

#define IPOP_ICE_LINK_PORTS IPOP_CFG_ICE_PORTS   /* agents' ports: wan.port + 1 .. + 64 */
/* A link's agents in a row replaced for 437 Allocation Mismatch, and the time
 * after which that run is forgotten (docs/configuration.md `ice`). */
#define IPOP_ICE_MISMATCH_REOPENS 3
#define IPOP_ICE_MISMATCH_WINDOW_MS 60000

/* `show`: ice.counters. X(name, meaning): dataplane/counters.h. */
#define IPOP_ICE_LINK_COUNTERS(X) \
	X(agents_opened, "ICE agents opened (one per link negotiation)") \
	X(agents_failed, "ICE agents that could not be opened or gather (no free port in the range, libnice refused): the link goes on with the signalled endpoint") \
	X(agents_closed, "ICE agents freed (the negotiation ended or the link went)") \
	X(bad_credentials, "members' ufrag/pwd the agent refused (logged): that link's checks cannot succeed") \
	X(pairs_selected, "pairs ICE selected (a change of pair counts again)") \
	X(pairs_applied, "selected pairs that became a peer's endpoint and source port (the tunnel's 5-tuple)") \
	X(relay_applied, "relayed pairs (our candidate the relay's) that became a peer's path: the TURN server as its endpoint, the tunnel's messages as ChannelData on the channel libnice bound") \
	X(turn_no_relay, "agents whose gathering ended without a relayed candidate although ice.turn is configured (why: links[].ice.turn_error, logged once per distinct reason)") \
	X(turn_skipped, "agents made without TURN because the server refused our credentials earlier (wrong until a restart; coturn then answers no Binding on that 5-tuple: no srflx)") \
	X(turn_reopened, "agents replaced at once by one without TURN: the server refused our credentials on them before they had a server-reflexive candidate (see turn_skipped), so they could not find a pair") \
	X(turn_mismatch_reopened, "agents replaced at once by one on another port: the TURN server answered 437 Allocation Mismatch (a stale allocation, ours before a restart, holds the port's 5-tuple) before they had a relay or a pair") \
	X(turn_mismatch_kept, "agents kept although they met 437 Allocation Mismatch: their link's three agents before them had, within a minute (they link without a relay of their own)") \
	X(ice_failed, "agents that reached the failed state (no pair answered)") \
	X(pairs_retaken, "selected pairs taken back from the signalled endpoints (our wan.port or the member's signalled ip:port), where a handshake sent before the selection had moved the session") \
	X(pair_handshakes, "handshakes started over a newly selected pair of a live session (by the link's initiator; proves the pair and measures its round trip, on both sides)") \
	X(errors, "ICE errors recorded on links (`links[].ice.last_error`): candidates refused, credentials refused, agents failed") \
	X(errors_unlogged, "ICE errors not logged: a link had one logged less than a second before (the next line gives their number)")

struct ipop_ice_link_stats {
	IPOP_ICE_LINK_COUNTERS(IPOP_COUNTER_FIELD)
};

struct ipop_node;
struct ice_link;

/* Every link's agent of one node. */
struct ipop_ice_links {
	struct ipop_node *n;
	struct ipop_linkmgr *lm;       /* sends our candidates in the link stanzas */
	struct ipop_ice_servers servers;
	unsigned restart_after_ms;     /* no rx on the pair this long: path lost; 0 never */
	unsigned probe_after_ms;       /* this long: probe signalling; 0 never */
	struct ipop_ice_link_stats st;
	struct ipop_turn_watch turn;   /* with ice.turn: node->turn points here */
	struct ipop_stun_watch stun;   /* the STUN checks the workers copy (node->ice) */
	/* The agent holding each port (wan.port + i), once its host candidate
	 * told the port; NULL: none. */
	struct ice_link *by_port[IPOP_ICE_LINK_PORTS + 1];
	char turn_logged[224];         /* the last "no relayed candidate" line logged */
	bool turn_skip_logged;         /* "new agents go without TURN" said once */
};

void ipop_ice_links_init(struct ipop_ice_links *il, struct ipop_node *n, struct ipop_linkmgr *lm);

/* The linkmgr env's ICE hooks (linkmgr.h says when each is called). */
int ipop_ice_link_open(struct ipop_ice_links *il, struct ipop_link *l);
void ipop_ice_link_sent(struct ipop_ice_links *il, struct ipop_link *l);
void ipop_ice_link_remote(struct ipop_ice_links *il, struct ipop_link *l,
			  const struct ipop_link_msg *m);
void ipop_ice_link_close(struct ipop_ice_links *il, struct ipop_link *l);
/* l's peer was just added to the node: give it the selected pair if there is one. */
void ipop_ice_link_peer_added(struct ipop_ice_links *il, struct ipop_link *l);
/* `show`: links[].ice, the link's agent: state, the pair in use, when. */
json_object *ipop_ice_link_json(const struct ipop_ice_links *il, const struct ipop_link *l);
int ipop_ice_link_candidate(struct ipop_ice_links *il, struct ipop_link *l, const char *cand);
/* The linkmgr env's ice_path_check. LOST: l's selected pair carries the
 * tunnel and nothing authenticated came from the peer for restart_after_ms
 * (1.5 keepalive intervals; never when that is not below dead_after), or the
 * agent failed after selecting it. QUIET: the silence passed probe_after_ms
 * (1.25 intervals: a keepalive is overdue). REOPEN (whatever the link's
 * state, once per agent): the TURN server refused our credentials on the
 * agent before it had a server-reflexive candidate, so it cannot find a pair;
 * or it answered 437 Allocation Mismatch before the agent had a relay or a
 * pair (at most IPOP_ICE_MISMATCH_REOPENS agents of a link in a row, within
 * IPOP_ICE_MISMATCH_WINDOW_MS). */
enum ipop_path_verdict ipop_ice_link_path_check(struct ipop_ice_links *il,
						const struct ipop_link *l, char *why, size_t len);
/* The linkmgr env's ice_resend: our candidates sent so far, sent again. */
void ipop_ice_link_resend(struct ipop_ice_links *il, struct ipop_link *l);
/* The link whose agent holds port (host order), and (remote_pwd not NULL) the
 * member's password that agent was given ("" none yet); NULL: no agent there. */
struct ipop_link *ipop_ice_link_at_port(const struct ipop_ice_links *il, uint16_t port,
					const char **remote_pwd);
/* Bad input or a failure on l's ICE: recorded for `show`
 * (links[].ice.last_error), counted (ice.counters.errors), logged at most
 * once a second per link. */
void ipop_ice_link_error(struct ipop_ice_links *il, struct ipop_link *l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The linkmgr env's ice_refused: a candidate the link manager refused. */
void ipop_ice_link_refused(struct ipop_ice_links *il, struct ipop_link *l, const char *cand,
			   int err);

#endif

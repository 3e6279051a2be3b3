/* linkmsg.h - the link negotiation stanza (urn:ipop:link:1): building it and
 * parsing it strictly. Thread: control (pure functions over libstrophe stanzas;
 * no connection needed, so the unit tests drive them directly).
 *
 *   <message type='normal' to='gw2@example.org/ipop-…'>
 *     <link xmlns='urn:ipop:link:1' op='request' overlay='testnet' type='long'
 *           node='<32 hex>' key='<base64 of 32 bytes>' ip='A.B.C.D' port='N'
 *           ufrag='…' pwd='…' cert='<base64 member certificate>'/>
 *   </message>
 *   (op='candidate': node, ufrag and cand='candidate:1 1 UDP 2013266431 …';
 *    a request may add restart='ice': docs/signalling.md)
 *
 * docs/signalling.md is the schema: attribute set per op, value syntax, size
 * limit. Anything else is refused with a reason that the caller counts.
 */
#ifndef IPOP_CONTROL_LINKMSG_H
#define IPOP_CONTROL_LINKMSG_H

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>

#include "control/config/cert.h"
#include "control/topology/link_type.h"
#include "dataplane/ring.h"

#define IPOP_LINK_NS "urn:ipop:link:1"
#define IPOP_LINKMSG_MAX 2048     /* serialized <message> size limit, bytes */
#define IPOP_LINK_OVERLAY_LEN 64
#define IPOP_LINK_REASON_LEN 64   /* a refusal's reason, with its NUL */
#define IPOP_LINK_UFRAG_LEN 33    /* ICE ufrag: 4..32 ice-chars, with its NUL */
#define IPOP_LINK_PWD_LEN 64      /* ICE password: 22..63 ice-chars, with its NUL */
#define IPOP_LINK_CAND_LEN 256    /* an SDP candidate value: at most 255 characters */

/* request: "I want a link of this type"; reply: "here I am" (with the type the
 * replier wants the link for itself, "none" if only the requester does);
 * close: "I no longer want it"; refuse: "not from me" (with a reason);
 * candidate: one ICE candidate of the sender's agent (trickled). */
enum ipop_link_op {
	IPOP_LINK_REQUEST, IPOP_LINK_REPLY, IPOP_LINK_CLOSE, IPOP_LINK_REFUSE,
	IPOP_LINK_CANDIDATE, IPOP_LINK_OP__MAX
};

struct ipop_link_msg {
	enum ipop_link_op op;
	struct ipop_node_id node;      /* the sender's ring ID: BLAKE2b-128 of key */
	uint8_t key[32];               /* request/reply only */
	uint32_t ip;                   /* network order; request/reply only */
	uint16_t port;                 /* host order; request/reply only */
	uint8_t type;                  /* enum ipop_link_type; request/reply only */
	char reason[IPOP_LINK_REASON_LEN];   /* refuse only: printable ASCII */
	/* ICE: the sender's agent's ufrag (request/reply, optional, then with
	 * pwd; candidate: which agent the candidate belongs to) and password;
	 * "" when absent. */
	char ufrag[IPOP_LINK_UFRAG_LEN];
	char pwd[IPOP_LINK_PWD_LEN];
	char cand[IPOP_LINK_CAND_LEN];       /* candidate only: "candidate:..." */
	/* candidate only, with -EBADMSG and IPOP_REJ_BAD_CANDIDATE: the rest of
	 * the stanza parsed (node, ufrag) but cand did not; cand then holds the
	 * value as received, for the link's last_error (printable ASCII: other
	 * bytes as '?'; cut to IPOP_LINK_CAND_LEN - 1). */
	bool cand_refused;
	/* request only, with ufrag: restart='ice', the sender replaced its ICE
	 * agent on a live link because the selected pair stopped answering;
	 * the sessions stay (control/link/linkmgr.c). */
	bool ice_restart;
	/* request/reply, optional: the sender's member certificate as it came
	 * (base64, at most IPOP_CERT_B64_MAX - 1 characters of its alphabet;
	 * "" when absent). The codec checks only that; with a CA the link
	 * manager's module decodes and judges it (control/signal/trust.h). */
	char cert[IPOP_CERT_B64_MAX];
};

/* Why a stanza was refused: X(enum suffix, name, meaning). Each has a counter in
 * the signalling module (`show`: signalling.counters.rejected.<name>); the names
 * are part of the management API: never renumber, only append. */
#define IPOP_LINKMSG_REJECTS(X) \
	X(TOO_BIG, too_big, "message above 2048 bytes serialized") \
	X(NOT_MEMBER, not_member, "sender is not a member of the overlay (set by the signalling module)") \
	X(BAD_STRUCTURE, bad_structure, "several `link` elements, or children or text inside `link`") \
	X(BAD_ATTR, bad_attribute, "unknown, missing or forbidden attribute") \
	X(BAD_OP, bad_op, "unknown `op`") \
	X(BAD_NODE, bad_node_id, "`node` is not 32 lowercase hex digits") \
	X(BAD_KEY, bad_key, "`key` does not decode to 32 bytes") \
	X(NODE_KEY_MISMATCH, node_key_mismatch, "`node` is not the hash of `key`") \
	X(BAD_IP, bad_ip, "`ip` is not a usable unicast IPv4 address") \
	X(BAD_PORT, bad_port, "`port` is not a number from 1 to 65535") \
	X(BAD_OVERLAY, bad_overlay, "`overlay` is not this node's overlay") \
	X(BAD_TYPE, bad_type, "`type` is not a link type (or `none` in a request)") \
	X(BAD_REASON, bad_reason, "`reason` is empty, too long or not printable ASCII") \
	X(BAD_ICE_CREDENTIALS, bad_ice_credentials, "`ufrag` or `pwd` is not 4-32 (ufrag) or 22-63 (pwd) ice-chars, or one comes without the other") \
	X(BAD_CANDIDATE, bad_candidate, "`cand` is not a UDP IPv4 candidate of component 1 in the SDP grammar ipop accepts (docs/signalling.md)") \
	X(BAD_CERT, bad_cert, "`cert` is empty, longer than the base64 of the largest certificate (272 characters) or not base64 characters")

#define IPOP_LINKMSG_REJECT_ENUM(id, name, doc) IPOP_REJ_##id,
enum ipop_linkmsg_reject {
	IPOP_REJ_NONE,
	IPOP_LINKMSG_REJECTS(IPOP_LINKMSG_REJECT_ENUM)
	IPOP_REJ_MAX
};

const char *ipop_linkmsg_reject_name(enum ipop_linkmsg_reject r);
const char *ipop_link_op_name(enum ipop_link_op op);

/* A `node` attribute's value (link stanza and presence alike): exactly 32
 * lowercase hex digits. 0, or -EINVAL. */
int ipop_linkmsg_parse_node(const char *v, struct ipop_node_id *id);


/* A `cand` attribute's value (docs/signalling.md's candidate grammar): 0 with
 * the value copied to out, or -EINVAL. */
int ipop_linkmsg_parse_candidate(const char *v, char out[IPOP_LINK_CAND_LEN]);

/* Parse a received <message>. Returns 0 with *out filled; -ENOENT when the
 * message carries no link element (not ours); -EBADMSG with *why set otherwise
 * (a candidate that does not parse: out->cand_refused, see above). */
int ipop_linkmsg_parse(xmpp_stanza_t *message, const char *overlay, struct ipop_link_msg *out,
		       enum ipop_linkmsg_reject *why);

/* A <message type='normal'> to TO carrying m; NULL on allocation failure. */
xmpp_stanza_t *ipop_linkmsg_build(xmpp_ctx_t *ctx, const char *to, const char *overlay,
				  const struct ipop_link_msg *m);

#endif

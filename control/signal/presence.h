/* presence.h - the node identity every available presence carries
 * (urn:ipop:node:1): building it, parsing it strictly, and the table of which
 * online member holds which identity. Thread: control (pure functions over
 * libstrophe stanzas and a GLib table; no connection needed, so the unit tests
 * drive them directly).
 *
 *   <presence>
 *     <identity xmlns='urn:ipop:node:1' node='<32 hex>' key='<base64 of 32 bytes>'
 *               [cert='<base64 member certificate>']/>
 *   </presence>
 *
 * docs/signalling.md is the schema: attributes, value syntax, size limit, and
 * what the signalling module does with each refusal.
 */
#ifndef IPOP_CONTROL_PRESENCE_H
#define IPOP_CONTROL_PRESENCE_H

#include <stdint.h>
#include <strophe.h>

#include "control/config/cert.h"
#include "control/tasks.h"
#include "dataplane/ring.h"

#define IPOP_NODE_NS "urn:ipop:node:1"
#define IPOP_PRESENCE_MAX 2048    /* serialized <presence> size limit, bytes */

/* Why a presence's identity was refused: X(enum suffix, name, meaning). Each has
 * a counter in the signalling module (`show`:
 * signalling.counters.presence_rejected.<name>); the names are part of the
 * management API: never renumber, only append. */
#define IPOP_PRESENCE_REJECTS(X) \
	X(TOO_BIG, too_big, "presence with an identity element above 2048 bytes serialized") \
	X(BAD_STRUCTURE, bad_structure, "several elements in `urn:ipop:node:1`, one not named `identity`, or children or text inside it") \
	X(BAD_ATTR, bad_attribute, "unknown, missing or repeated attribute") \
	X(BAD_NODE, bad_node_id, "`node` is not 32 lowercase hex digits") \
	X(BAD_KEY, bad_key, "`key` is not padded base64 of 32 bytes") \
	X(NODE_KEY_MISMATCH, node_key_mismatch, "`node` is not the hash of `key`") \
	X(WEAK_KEY, weak_key, "`key` is a small-order point (no usable Diffie-Hellman)") \
	X(DUPLICATE, duplicate, "node ID and key already held by another online member (the first keeps them; this presence waits for their release)") \
	X(OWN_NODE, own_node, "node ID and key are this node's own") \
	X(UNTRUSTED, untrusted, "the key is refused by trust (family trust_refusals says why: a static peer's key, another member's, a key change waiting for an operator, a missing or invalid certificate)")

#define IPOP_PRESENCE_REJECT_ENUM(id, name, doc) IPOP_PRES_REJ_##id,
enum ipop_presence_reject {
	IPOP_PRES_REJ_NONE,
	IPOP_PRESENCE_REJECTS(IPOP_PRESENCE_REJECT_ENUM)
	IPOP_PRES_REJ_MAX
};

const char *ipop_presence_reject_name(enum ipop_presence_reject r);

/* Parse the identity of a received available <presence>. Returns 0 with *out
 * filled (known = true); -ENOENT when the presence carries no element in
 * IPOP_NODE_NS (an older node: *out is all zero); -EBADMSG with *why set
 * otherwise. */
int ipop_presence_parse(xmpp_stanza_t *presence, struct ipop_member_ident *out,
			enum ipop_presence_reject *why);

/* The certificate an identity element carries in its optional `cert`
 * attribute (base64, control/config/cert.h): 0 with *cert decoded (its
 * signature not checked), -ENOENT when there is none, -EINVAL when it does
 * not decode. Call after ipop_presence_parse accepted the element. */
int ipop_presence_cert(xmpp_stanza_t *presence, struct ipop_cert *cert);

/* An available <presence> carrying node and key, and cert_b64 when not NULL
 * or empty; NULL on allocation failure. */
xmpp_stanza_t *ipop_presence_build(xmpp_ctx_t *ctx, struct ipop_node_id node, const uint8_t key[32],
				   const char *cert_b64);

/* Which online member holds which identity: bare JID -> struct
 * ipop_member_ident. An identity is one key (node is its hash, checked by the
 * parser), held by at most one member and never by a member when it is ours. */
struct ipop_idents;

struct ipop_idents *ipop_idents_new(const uint8_t own_key[32]);
void ipop_idents_free(struct ipop_idents *t);

/* JID now holds ID (known), replacing what it held. Returns 0; or -EEXIST with
 * *why = IPOP_PRES_REJ_DUPLICATE when another JID holds ID's node or key,
 * IPOP_PRES_REJ_OWN_NODE when they are this node's; JID then holds nothing. */
int ipop_idents_claim(struct ipop_idents *t, const char *jid, const struct ipop_member_ident *id,
		      enum ipop_presence_reject *why);
/* JID holds nothing (no-op if it held nothing). */
void ipop_idents_release(struct ipop_idents *t, const char *jid);
/* Nobody holds anything (a new login: every member must announce again). */
void ipop_idents_clear(struct ipop_idents *t);
/* Called when an identity becomes held (after the claim) and when a holder
 * lets it go (release, clear, or a claim replacing it): the gateway directory
 * follows who is online with it. */
typedef void (*ipop_ident_hook)(void *ctx, struct ipop_node_id node);
void ipop_idents_set_hooks(struct ipop_idents *t, ipop_ident_hook hold, ipop_ident_hook release,
			   void *ctx);
/* What JID holds, or NULL. */
const struct ipop_member_ident *ipop_idents_get(const struct ipop_idents *t, const char *jid);

#endif

/* linkmsg.h - the link negotiation stanza (urn:ipop:link:1): building it and
 * parsing it strictly. Thread: control (pure functions over libstrophe stanzas;
 * no connection needed, so the unit tests drive them directly).
 *
 *   <message type='normal' to='gw2@example.org/ipop-…'>
 *     <link xmlns='urn:ipop:link:1' op='request' overlay='testnet'
 *           node='<32 hex>' key='<base64 of 32 bytes>' ip='A.B.C.D' port='N'/>
 *   </message>
 *
 * docs/signalling.md is the schema: attribute set per op, value syntax, size
 * limit. Anything else is refused with a reason that the caller counts.
 */
#ifndef IPOP_CONTROL_LINKMSG_H
#define IPOP_CONTROL_LINKMSG_H

#include <stdint.h>
#include <strophe.h>

#define IPOP_LINK_NS "urn:ipop:link:1"
#define IPOP_LINKMSG_MAX 2048     /* serialized <message> size limit, bytes */
#define IPOP_NODE_ID_LEN 16
#define IPOP_LINK_OVERLAY_LEN 64

enum ipop_link_op { IPOP_LINK_REQUEST, IPOP_LINK_REPLY, IPOP_LINK_CLOSE, IPOP_LINK_OP__MAX };

struct ipop_link_msg {
	enum ipop_link_op op;
	uint8_t node_id[IPOP_NODE_ID_LEN];
	uint8_t key[32];               /* request/reply only */
	uint32_t ip;                   /* network order; request/reply only */
	uint16_t port;                 /* host order; request/reply only */
};

/* Why a stanza was refused; each has a counter in the signalling module. */
enum ipop_linkmsg_reject {
	IPOP_REJ_NONE,
	IPOP_REJ_TOO_BIG,
	IPOP_REJ_NOT_MEMBER,       /* set by the signalling module, not the codec */
	IPOP_REJ_BAD_STRUCTURE,    /* several <link>, children or text inside <link> */
	IPOP_REJ_BAD_ATTR,         /* unknown, missing or forbidden attribute */
	IPOP_REJ_BAD_OP,
	IPOP_REJ_BAD_NODE,
	IPOP_REJ_BAD_KEY,
	IPOP_REJ_NODE_KEY_MISMATCH,
	IPOP_REJ_BAD_IP,
	IPOP_REJ_BAD_PORT,
	IPOP_REJ_BAD_OVERLAY,
	IPOP_REJ_MAX
};

const char *ipop_linkmsg_reject_name(enum ipop_linkmsg_reject r);
const char *ipop_link_op_name(enum ipop_link_op op);

/* Node ID = BLAKE2b-128 (crypto_generichash, 16-byte output) of the public key. */
void ipop_node_id(const uint8_t key[32], uint8_t id[IPOP_NODE_ID_LEN]);
void ipop_node_id_hex(const uint8_t id[IPOP_NODE_ID_LEN], char hex[2 * IPOP_NODE_ID_LEN + 1]);

/* Parse a received <message>. Returns 0 with *out filled; -ENOENT when the
 * message carries no link element (not ours); -EBADMSG with *why set otherwise. */
int ipop_linkmsg_parse(xmpp_stanza_t *message, const char *overlay, struct ipop_link_msg *out,
		       enum ipop_linkmsg_reject *why);

/* A <message type='normal'> to TO carrying m; NULL on allocation failure. */
xmpp_stanza_t *ipop_linkmsg_build(xmpp_ctx_t *ctx, const char *to, const char *overlay,
				  const struct ipop_link_msg *m);

#endif

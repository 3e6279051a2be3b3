/* trust.h - who may hold which key: the rules that keep a signalled member
 * from taking another's place. Thread: control (pure; the signalling module
 * checks presences with it, the link manager's module link stanzas, and
 * tells it when a handshake proved or failed a key; the unit tests drive it
 * directly). docs/signalling.md, "Trust", is the model.
 *
 * Binding rule (without a CA): a member (bare JID) is bound to the first key
 * it announces; the binding is *proven* once a handshake with that key
 * completed. Then
 *   - a static peer's key is never a member's (static_key);
 *   - a key proven for one member is refused for any other (key_of_another);
 *     when a member proves a key, other members' unproven claims of it go;
 *   - a member announcing another key than its binding is refused
 *     (key_change) and the change waits, logged with both fingerprints, until
 *     an operator accepts it (ipop_trust_accept: `ipopctl accept-key`);
 *   - a member whose handshake with an unproven key failed while another
 *     member claims that key loses it (the lost hook).
 * With a CA configured, a key is accepted only with a certificate for exactly
 * it, the overlay and the node ID, signed by the CA, in its time window and
 * not revoked; a certified key may replace a member's binding (the CA vouches
 * for it), and a binding whose certificate expires or is revoked is dropped
 * (the lost hook) by ipop_trust_tick.
 *
 * Owned and written by the control thread only (struct ipop_node's trust).
 */
#ifndef IPOP_CONTROL_TRUST_H
#define IPOP_CONTROL_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "control/config/cert.h"
#include "dataplane/counters.h"

/* Why trust refused a key: the certificate's reasons (cert.h), then these.
 * X(enum suffix, name, meaning). */
#define IPOP_TRUST_REJECTS(X) \
	X(STATIC_KEY, static_key, "a static peer's key announced by a signalled member (static keys belong to their peers)") \
	X(KEY_OF_ANOTHER, key_of_another, "a key proven (a handshake completed) or certified for another member") \
	X(KEY_CHANGE, key_change, "another key than the member's bound one, without a CA: waits for `ipopctl accept-key`")

#define IPOP_TRUST_REJECT_ENUM(id, name, doc) IPOP_TRUST_REJ_##id,
enum ipop_trust_reject {
	IPOP_TRUST_REJ_CERT_BASE = IPOP_CERT_REJ_MAX - 1,   /* 1..: enum ipop_cert_reject */
	IPOP_TRUST_REJECTS(IPOP_TRUST_REJECT_ENUM)
	IPOP_TRUST_REJ_MAX
};

/* Counters of the family "trust" (`show`: trust.counters). */
#define IPOP_TRUST_COUNTERS(X) \
	X(accepted, "announced keys accepted (presences and link requests or replies)") \
	X(bindings, "members bound to a key for the first time") \
	X(proven, "bindings proven by a completed handshake") \
	X(key_changes_accepted, "key changes an operator accepted (`ipopctl accept-key`)") \
	X(claims_dropped, "unproven claims of a key dropped: another member proved it, or the claimant's handshake failed while another claimed it") \
	X(certs_expired, "members dropped because their certificate expired") \
	X(certs_revoked, "members dropped because their certificate's serial was revoked") \
	X(revocation_loads, "revocation lists read (start, `ipopctl reload-revocations`)") \
	X(store_loaded, "bindings read from signal.bindings_file at start") \
	X(store_writes, "times signal.bindings_file was written (a binding proven, accepted or dropped)") \
	X(store_failures, "writes of signal.bindings_file that failed (logged once until one works; the bindings hold in memory)")

struct ipop_trust_stats {
	IPOP_TRUST_COUNTERS(IPOP_COUNTER_FIELD)
	uint64_t refused[IPOP_TRUST_REJ_MAX];    /* by reason; [0] unused */
};

struct ipop_trust;

/* A member lost its key: its presence identity and link must go (why says
 * which rule). Called from the ipop_trust_* calls named above. */
typedef void (*ipop_trust_lost_hook)(void *ctx, const char *jid, const uint8_t key[32],
				     const char *why);

struct ipop_trust *ipop_trust_new(const uint8_t own_key[32], const char *overlay);
void ipop_trust_free(struct ipop_trust *t);
void ipop_trust_set_hook(struct ipop_trust *t, ipop_trust_lost_hook lost, void *ctx);
/* Configure the overlay CA (its Ed25519 public key). */
void ipop_trust_set_ca(struct ipop_trust *t, const uint8_t ca_pub[32]);
bool ipop_trust_has_ca(const struct ipop_trust *t);
/* Keep the bindings that a handshake proved or an operator accepted in
 * PATH (trust_store.h), read now: call after the static keys are added (a
 * file binding a static or our own key is refused). 0, or a negative errno
 * with err naming path:line, or the write that failed (the file is written
 * back at once, so an unwritable one fails at start). */
int ipop_trust_set_store(struct ipop_trust *t, const char *path, char *err, size_t errlen);
/* A static peer's key (configuration peers). 0, or -ENOSPC. */
int ipop_trust_add_static(struct ipop_trust *t, const uint8_t key[32]);
/* Replace the revoked serials with the list in PATH (one decimal serial a
 * line; '#' starts a comment). 0, or a negative errno with err naming
 * path:line. Bindings certified with a now revoked serial go at the next
 * ipop_trust_tick. */
int ipop_trust_load_revocations(struct ipop_trust *t, const char *path, char *err, size_t errlen);
bool ipop_trust_revoked(const struct ipop_trust *t, uint64_t serial);

/* JID announces KEY with CERT (NULL: none) at now_s, in a presence or a
 * link stanza (ipop_trust_check_link decodes the stanza's; with a CA and
 * cert NULL, the member's certified binding must vouch for key). 0, or -EPERM with *why.
 * Our own key is not judged here (0): the presence table refuses it. */
int ipop_trust_check(struct ipop_trust *t, const char *jid, const uint8_t key[32],
		     const struct ipop_cert *cert, uint64_t now_s, enum ipop_trust_reject *why);
/* JID announces KEY in a link stanza (request or reply) that carries
 * CERT_B64, the sender's certificate as base64 ("" for none). With a CA, a
 * certificate is decoded (bad_encoding when it does not) and judged exactly as
 * a presence's by ipop_trust_check, binding the key on success, so a request
 * needs no presence seen first; without one, the member's certified binding
 * must vouch for key (missing otherwise). Without a CA the certificate is not
 * used (the binding rules alone decide). 0, or -EPERM with *why. */
int ipop_trust_check_link(struct ipop_trust *t, const char *jid, const uint8_t key[32],
			  const char *cert_b64, uint64_t now_s, enum ipop_trust_reject *why);
/* Count a refusal decided outside ipop_trust_check (a presence whose
 * certificate does not decode, or, with a CA, announces no identity);
 * returns -EPERM. */
int ipop_trust_count(struct ipop_trust *t, enum ipop_trust_reject why);
/* Whether JID is bound to KEY now (no side effects). */
bool ipop_trust_is_bound(const struct ipop_trust *t, const char *jid, const uint8_t key[32]);
/* A handshake with KEY completed on JID's link. */
void ipop_trust_proven(struct ipop_trust *t, const char *jid, const uint8_t key[32]);
/* A handshake with KEY on JID's link did not complete. */
void ipop_trust_failed(struct ipop_trust *t, const char *jid, const uint8_t key[32]);
/* The operator accepts JID's pending key change to the key whose node ID
 * starts with FP (hex, at least 8 digits). 0; -ENOENT no such pending change;
 * -EINVAL a malformed FP. */
int ipop_trust_accept(struct ipop_trust *t, const char *jid, const char *fp);
/* Drop bindings whose certificate expired or was revoked (the lost hook). */
void ipop_trust_tick(struct ipop_trust *t, uint64_t now_s);

const char *ipop_trust_reject_name(enum ipop_trust_reject r);
/* `show`: trust { ca, bindings[], pending_key_changes[], counters }. */
json_object *ipop_trust_json(const struct ipop_trust *t, uint64_t now_s);
const struct ipop_trust_stats *ipop_trust_stats(const struct ipop_trust *t);

#endif

/* counters.h - every counter family of the management API in one registry: the
 * control side's descriptor tables (generated from the lists in node.h, link/ice_link.h,
 * session/peer.h, link/linkmgr.h, signal/signalling.h, signal/linkmsg.h,
 * signal/presence.h, framework.h and drivers/port.h; the fast path's are in dataplane/stats.c), their JSON, and the
 * listing `ipopctl counters` prints, whose --markdown form is the "Counters"
 * section of docs/operations.md. Thread: any (constant tables); the JSON is
 * built on the control thread, the listing by ipopctl.
 */
#ifndef IPOP_CONTROL_COUNTERS_H
#define IPOP_CONTROL_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "dataplane/counters.h"

extern const struct ipop_counter_family ipop_peer_session_family;   /* "peer_sessions" */
extern const struct ipop_counter_family ipop_ctrl_family;           /* "control" */
extern const struct ipop_counter_family ipop_linkmgr_family;        /* "links" */
extern const struct ipop_counter_family ipop_signal_family;         /* "signalling" */
extern const struct ipop_counter_family ipop_reject_family;         /* "signal_rejects" */
extern const struct ipop_counter_family ipop_presence_reject_family; /* "presence_rejects" */
extern const struct ipop_counter_family ipop_trust_family;           /* "trust" */
extern const struct ipop_counter_family ipop_trust_reject_family;    /* "trust_refusals" */
extern const struct ipop_counter_family ipop_fw_family;             /* "framework" */
extern const struct ipop_counter_family ipop_port_family;           /* "ports" */
extern const struct ipop_counter_family ipop_ice_link_family;       /* "ice" */
extern const struct ipop_counter_family ipop_turn_family;           /* "turn" */
extern const struct ipop_counter_family ipop_stun_watch_family;     /* "stun" */

/* Add each counter of f, read from base (f's struct), to o in list order, keyed
 * by its name. Returns their sum (for totals). */
uint64_t ipop_counters_json(json_object *o, const struct ipop_counter_family *f, const void *base);

/* The i-th family in the order `ipopctl show` lists them; NULL past the last. */
const struct ipop_counter_family *ipop_counter_family_at(size_t i);
/* The family called name, or NULL. */
const struct ipop_counter_family *ipop_counter_family_find(const char *name);

/* One line per counter, "family counter meaning" in columns; only one family
 * unless only is NULL. With markdown: the "Counters" section of
 * docs/operations.md (all families; only is ignored). 0 or -EIO. */
int ipop_counters_print(FILE *f, const struct ipop_counter_family *only, bool markdown);

#endif

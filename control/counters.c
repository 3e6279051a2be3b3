/* counters.c - see counters.h. Thread: any (constant tables); JSON on control. */
#include "control/counters.h"
#include "control/framework.h"
#include "control/link/linkmgr.h"
#include "control/link/ice_link.h"
#include "control/link/stun_watch.h"
#include "control/link/turn_watch.h"
#include "control/node.h"
#include "control/session/peer.h"
#include "control/signal/linkmsg.h"
#include "control/signal/presence.h"
#include "control/signal/signalling.h"
#include "control/signal/trust.h"
#include "drivers/port.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "dataplane/stats.h"

#define X(name, doc) { #name, offsetof(struct ipop_peer, name), doc },
static const struct ipop_counter_desc peer_session_counters[] = { IPOP_PEER_SESSION_COUNTERS(X) };
#undef X
const struct ipop_counter_family ipop_peer_session_family = {
	"peer_sessions", "peers[]", "each peer's handshakes and failures since it was added",
	peer_session_counters, IPOP_COUNTER_DIM(peer_session_counters),
};

#define X(name, doc) { #name, offsetof(struct ipop_ctrl_stats, name), doc },
static const struct ipop_counter_desc ctrl_counters[] = { IPOP_CTRL_COUNTERS(X) };
#undef X
const struct ipop_counter_family ipop_ctrl_family = {
	"control", "control", "the control thread: handshakes, keepalives, ARP, rings, tables",
	ctrl_counters, IPOP_COUNTER_DIM(ctrl_counters),
};

#define X(name, doc) { #name, offsetof(struct ipop_linkmgr_stats, name), doc },
static const struct ipop_counter_desc linkmgr_counters[] = { IPOP_LINKMGR_COUNTERS(X) };
#undef X
const struct ipop_counter_family ipop_linkmgr_family = {
	"links", "link_counters", "the link manager, over all signalled links (with `signal { }` configured)",
	linkmgr_counters, IPOP_COUNTER_DIM(linkmgr_counters),
};

#define X(name, doc) { #name, offsetof(struct ipop_signal_stats, name), doc },
static const struct ipop_counter_desc signal_counters[] = { IPOP_SIGNAL_COUNTERS(X) };
#undef X
const struct ipop_counter_family ipop_signal_family = {
	"signalling", "signalling.counters", "the XMPP session (with `signal { }` configured)",
	signal_counters, IPOP_COUNTER_DIM(signal_counters),
};

#define X(id, name, doc) \
	{ #name, offsetof(struct ipop_signal_stats, rejected) + IPOP_REJ_##id * sizeof(uint64_t), doc },
static const struct ipop_counter_desc reject_counters[] = { IPOP_LINKMSG_REJECTS(X) };
#undef X
const struct ipop_counter_family ipop_reject_family = {
	"signal_rejects", "signalling.counters.rejected",
	"link messages refused, by reason (with their sum, total; docs/signalling.md has the checks)",
	reject_counters, IPOP_COUNTER_DIM(reject_counters),
};

#define X(id, name, doc) \
	{ #name, offsetof(struct ipop_signal_stats, presence_rejected) + \
		 IPOP_PRES_REJ_##id * sizeof(uint64_t), doc },
static const struct ipop_counter_desc presence_reject_counters[] = { IPOP_PRESENCE_REJECTS(X) };
#undef X
const struct ipop_counter_family ipop_presence_reject_family = {
	"presence_rejects", "signalling.counters.presence_rejected",
	"members' presences refused, by reason: the member is not online for the topology "
	"(with their sum, total; docs/signalling.md has the checks)",
	presence_reject_counters, IPOP_COUNTER_DIM(presence_reject_counters),
};

#define X(name, doc) { #name, offsetof(struct ipop_trust_stats, name), doc },
static const struct ipop_counter_desc trust_counters[] = { IPOP_TRUST_COUNTERS(X) };
#undef X
const struct ipop_counter_family ipop_trust_family = {
	"trust", "trust.counters",
	"who may hold which key: bindings of members to keys, certificates (with `signal { }`; docs/signalling.md, \"Trust\")",
	trust_counters, IPOP_COUNTER_DIM(trust_counters),
};

#define X(id, name, doc) \
	{ #name, offsetof(struct ipop_trust_stats, refused) + IPOP_CERT_REJ_##id * sizeof(uint64_t), doc },
#define Y(id, name, doc) \
	{ #name, offsetof(struct ipop_trust_stats, refused) + IPOP_TRUST_REJ_##id * sizeof(uint64_t), doc },
static const struct ipop_counter_desc trust_reject_counters[] = {
	IPOP_CERT_REJECTS(X) IPOP_TRUST_REJECTS(Y)
};
#undef X
#undef Y
const struct ipop_counter_family ipop_trust_reject_family = {
	"trust_refusals", "trust.counters.refused",
	"announced keys refused by trust, by reason, in presences and link stanzas (with their sum, total)",
	trust_reject_counters, IPOP_COUNTER_DIM(trust_reject_counters),
};

#define X(name, doc) { #name, offsetof(struct ipop_fw_stats, name), doc },
static const struct ipop_counter_desc fw_counters[] = { IPOP_FW_COUNTERS(X) };
#undef X
const struct ipop_counter_family ipop_fw_family = {
	"framework", "framework", "the controller framework's tasks (with `signal { }` configured)",
	fw_counters, IPOP_COUNTER_DIM(fw_counters),
};

#define X(name, doc) { #name, offsetof(struct ipop_port_stats, name), doc },
static const struct ipop_counter_desc port_counters[] = { IPOP_PORT_COUNTERS(X) };
#undef X
const struct ipop_counter_family ipop_port_family = {
	"ports", "ports[]",
	"each DPDK port's own statistics, as the device, the kernel socket and the kernel "
	"interface count them (drivers/port.h): what happened before a frame reached a "
	"worker or after it left one; the offload host TAP (driver `vtap`, no ethdev) "
	"reports its kernel interface's packets, bytes and drops",
	port_counters, IPOP_COUNTER_DIM(port_counters),
};

#define X(name, doc) { #name, offsetof(struct ipop_ice_link_stats, name), doc },
static const struct ipop_counter_desc ice_link_counters[] = { IPOP_ICE_LINK_COUNTERS(X) };
#undef X
const struct ipop_counter_family ipop_ice_link_family = {
	"ice", "ice.counters", "the links' ICE agents (with `ice { }` configured; "
	"each link's agent is in links[].ice)",
	ice_link_counters, IPOP_COUNTER_DIM(ice_link_counters),
};

#define X(name, doc) { #name, offsetof(struct ipop_turn_stats, name), doc },
static const struct ipop_counter_desc turn_counters[] = { IPOP_TURN_COUNTERS(X) };
#undef X
const struct ipop_counter_family ipop_turn_family = {
	"turn", "ice.turn", "the TURN exchanges of the links' ICE agents as control sees them (with "
	"`ice { turn }` configured; control/link/turn_watch.h): channels libnice bound, which "
	"the fast path uses, and the server's errors",
	turn_counters, IPOP_COUNTER_DIM(turn_counters),
};

#define X(name, doc) { #name, offsetof(struct ipop_stun_watch_stats, name), doc },
static const struct ipop_counter_desc stun_watch_counters[] = { IPOP_STUN_WATCH_COUNTERS(X) };
#undef X
const struct ipop_counter_family ipop_stun_watch_family = {
	"stun", "ice.stun", "the STUN messages to the links' ICE agents that control checks for "
	"their MESSAGE-INTEGRITY and FINGERPRINT (with `ice { }` configured; "
	"control/link/stun_watch.h; each link's in links[].ice.stun_verified, stun_failed)",
	stun_watch_counters, IPOP_COUNTER_DIM(stun_watch_counters),
};

/* In the order `show` lists them, which is also the docs' order. */
static const struct ipop_counter_family *const families[] = {
	&ipop_peer_family, &ipop_peer_session_family, &ipop_linkmgr_family, &ipop_ice_link_family,
	&ipop_stun_watch_family, &ipop_turn_family,
	&ipop_signal_family, &ipop_reject_family, &ipop_presence_reject_family,
	&ipop_trust_family, &ipop_trust_reject_family, &ipop_fw_family,
	&ipop_lcore_family, &ipop_drop_family, &ipop_worker_family, &ipop_port_family,
	&ipop_ctrl_family,
};

uint64_t ipop_counters_json(json_object *o, const struct ipop_counter_family *f, const void *base)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < f->n; i++) {
		uint64_t v = ipop_counter_get(base, &f->c[i]);
		json_object_object_add(o, f->c[i].name, json_object_new_int64((int64_t)v));
		sum += v;
	}
	return sum;
}

const struct ipop_counter_family *ipop_counter_family_at(size_t i)
{
	return i < IPOP_COUNTER_DIM(families) ? families[i] : NULL;
}

const struct ipop_counter_family *ipop_counter_family_find(const char *name)
{
	for (size_t i = 0; i < IPOP_COUNTER_DIM(families); i++)
		if (strcmp(families[i]->name, name) == 0)
			return families[i];
	return NULL;
}

/* The section's head: what it is and the one command that regenerates it. */
static const char markdown_head[] =
	"## Counters\n"
	"\n"
	"Every counter `ipopctl show` reports, one table per family, in the order `show`\n"
	"lists them; `ipopctl counters [FAMILY]` prints the same. This section is the\n"
	"output of `ipopctl counters --markdown`, generated from the counter lists in the\n"
	"code, and stays the last one of this file; after changing a list, regenerate it:\n"
	"\n"
	"```\n"
	"sed -i '/^## Counters$/,$d' docs/operations.md && build/tools/ipopctl counters --markdown >> docs/operations.md\n"
	"```\n"
	"\n"
	"tests/unit/test_counters.c fails while it differs from the code.\n";

static void print_markdown(FILE *f, const struct ipop_counter_family *fam)
{
	fprintf(f, "\n### %s\n\n`%s`: %s.\n\n| counter | meaning |\n|---|---|\n",
		fam->name, fam->where, fam->about);
	for (size_t i = 0; i < fam->n; i++)
		fprintf(f, "| `%s` | %s |\n", fam->c[i].name, fam->c[i].doc);
}

static void print_text(FILE *f, const struct ipop_counter_family *fam, int wf, int wc)
{
	for (size_t i = 0; i < fam->n; i++)
		fprintf(f, "%-*s  %-*s  %s\n", wf, fam->name, wc, fam->c[i].name, fam->c[i].doc);
}

/* Column widths: the longest family and counter names printed. */
static void widths(const struct ipop_counter_family *only, int *wf, int *wc)
{
	*wf = *wc = 0;
	for (size_t i = 0; i < IPOP_COUNTER_DIM(families); i++) {
		const struct ipop_counter_family *fam = families[i];
		if (only != NULL && fam != only)
			continue;
		if ((int)strlen(fam->name) > *wf)
			*wf = (int)strlen(fam->name);
		for (size_t k = 0; k < fam->n; k++)
			if ((int)strlen(fam->c[k].name) > *wc)
				*wc = (int)strlen(fam->c[k].name);
	}
}

int ipop_counters_print(FILE *f, const struct ipop_counter_family *only, bool markdown)
{
	int wf, wc;

	if (markdown)
		fputs(markdown_head, f);
	widths(only, &wf, &wc);
	for (size_t i = 0; i < IPOP_COUNTER_DIM(families); i++) {
		if (markdown)
			print_markdown(f, families[i]);
		else if (only == NULL || families[i] == only)
			print_text(f, families[i], wf, wc);
	}
	return ferror(f) ? -EIO : 0;
}

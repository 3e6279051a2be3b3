/* symphony_policy.c - the symphony topology policy (policy.h): the ring of
 * docs/overlay-algorithms.md on live members. Thread: control.
 *
 * The policy keeps what the topology module tells it (members with their ring
 * identity, the link manager's report of each link) and, on every update, asks
 * the graph builder (symphony.c) which outgoing links this node should hold:
 * s successors, k long-distance links, static links. The builder keeps a
 * successor that left the s nearest until its replacement is up, so the ring
 * never loses a link before the new one works; the module applies the answer
 * as link wishes. Members whose presence carried no ring identity cannot be
 * placed and get no link (they are counted in the JSON view).
 */
#include "control/topology/policy.h"
#include "control/topology/symphony.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A member that refused a long link is not asked again for this long: its
 * incoming links stay at the cap for a while, another member will do. */
#define REFUSE_HOLD_MS 30000
/* A member whose link we wanted failed (no answer, no handshake) while its
 * presence stays: most likely a gateway that crashed and whose XMPP session
 * the server has not yet timed out (ipopd's XMPP runs over the exception TAP,
 * which dies with it, so no FIN tells the server), or one cut off on the
 * underlay. Left on the ring it would stay our successor and the ring would
 * stay broken for as long as the server lists it (minutes). So it is held
 * off the ring - the next member takes its place - for a time that doubles
 * with each hold in a row, from HOLD_BASE_MS up to HOLD_MAX_MS; when the hold
 * ends it is placed again and tried once more (our old links are kept until
 * the new one is up, as for any new successor). A link from it that comes up,
 * or a new presence, ends the hold at once. We hold nobody while none of our
 * links is up: then the fault is most likely ours, and holding every member
 * in turn would only churn. */
#define HOLD_BASE_MS 30000
#define HOLD_MAX_MS 300000

struct sym_member {
	char jid[IPOP_JID_LEN];
	struct ipop_member_ident ident;
	bool online;
	struct ipop_topo_link_info li;
	uint64_t refused_until_ms;
	uint64_t held_until_ms;        /* off the ring until then: its link failed */
	unsigned holds;                /* holds in a row (no link up since) */
	uint8_t want;                  /* enum ipop_link_type the last plan chose */
	uint32_t n_est;                /* LONG: the size estimate it was drawn for */
	char why[IPOP_TOPO_WHY_LEN];
};

/* An online member with a ring identity, in ID order for the builder. */
struct placed {
	struct ipop_node_id id;
	struct sym_member *m;
};

struct sym {
	struct ipop_topo_settings set;
	struct ipop_sym_params p;
	struct ipop_rng rng;
	GHashTable *members;           /* bare JID -> struct sym_member */
	/* The last update's view, for want() and the JSON. */
	struct placed *placed;
	size_t n_placed, cap_placed;
	double n_est;
	unsigned k;
	struct ipop_node_id ondemand[IPOP_TOPO_MAX_ONDEMAND];   /* hot gateways */
	size_t n_ondemand;
	uint64_t updates, build_errors;
	uint64_t holds_total;          /* members held off the ring, ever */
	uint64_t now_ms;               /* of the last update */
	int last_error;
};

static void *sym_create(const struct ipop_topo_settings *set)
{
	struct sym *s = g_new0(struct sym, 1);

	s->set = *set;
	ipop_sym_params_default(&s->p);
	s->p.successors = set->successors;
	s->p.long_links = set->long_links;
	s->p.max_in_long = set->max_incoming;
	s->p.max_ondemand = set->max_ondemand;
	if (ipop_sym_check_params(&s->p) != 0) {
		g_free(s);
		return NULL;
	}
	ipop_rng_seed(&s->rng, set->seed);
	s->members = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	return s;
}

static void sym_destroy(void *st)
{
	struct sym *s = st;

	g_hash_table_destroy(s->members);
	free(s->placed);
	g_free(s);
}

static struct sym_member *member(struct sym *s, const char *jid, bool create)
{
	struct sym_member *m = g_hash_table_lookup(s->members, jid);

	if (m != NULL || !create || strlen(jid) >= IPOP_JID_LEN)
		return m;
	m = g_new0(struct sym_member, 1);
	g_strlcpy(m->jid, jid, sizeof(m->jid));
	g_hash_table_insert(s->members, m->jid, m);
	return m;
}

static void sym_online(void *st, const char *jid, const struct ipop_member_ident *ident)
{
	struct sym *s = st;
	struct sym_member *m;

	if (strcmp(jid, s->set.self_jid) == 0 || (m = member(s, jid, true)) == NULL)
		return;
	/* Online again, or a new session of a member already online: whatever
	 * failed before may be fixed; try it at once. */
	m->online = true;
	m->held_until_ms = 0;
	m->holds = 0;
	if (ident != NULL)
		m->ident = *ident;
}

static void sym_offline(void *st, const char *jid)
{
	struct sym_member *m = member(st, jid, false);

	if (m != NULL) {
		m->online = false;
		m->want = IPOP_LINK_NONE;
	}
}

/* Whether any member's link is up (other than m's). */
static bool any_link_up(struct sym *s, const struct sym_member *m)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, s->members);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (v != m && ((struct sym_member *)v)->li.up)
			return true;
	return false;
}

/* A link to the member, wanted by either side, just failed: hold the member
 * off the ring (HOLD_BASE_MS), unless it is static for us. A link only the
 * member wants counts too: its failure says as much about reaching it, and a
 * member we cannot reach should not count in our size estimate or be drawn. */
static void hold_if_unreachable(struct sym *s, struct sym_member *m,
				const struct ipop_topo_link_info *li, uint64_t now_ms)
{
	unsigned shift = m->holds < 4 ? m->holds : 4;
	uint64_t d = (uint64_t)HOLD_BASE_MS << shift;
	bool wished = m->want != IPOP_LINK_NONE || li->type != IPOP_LINK_NONE ||
		      li->remote_type != IPOP_LINK_NONE;

	if (!li->failed || m->li.failed || !wished || m->want == IPOP_LINK_STATIC ||
	    li->type == IPOP_LINK_STATIC || !m->online || !any_link_up(s, m))
		return;
	m->held_until_ms = now_ms + (d < HOLD_MAX_MS ? d : HOLD_MAX_MS);
	m->holds++;
	m->want = IPOP_LINK_NONE;
	s->holds_total++;
}

static void sym_on_link(void *st, const char *jid, const struct ipop_topo_link_info *li,
			uint64_t now_ms)
{
	struct sym *s = st;
	struct sym_member *m = member(s, jid, false);

	if (m == NULL)
		return;
	if (li->refused && !m->li.refused)
		m->refused_until_ms = now_ms + REFUSE_HOLD_MS;
	if (li->up) {
		m->held_until_ms = 0;
		m->holds = 0;
	}
	hold_if_unreachable(s, m, li, now_ms);
	m->li = *li;
}

static bool held(const struct sym_member *m, uint64_t now_ms)
{
	return m->held_until_ms > now_ms;
}

static int cmp_placed(const void *a, const void *b)
{
	return ipop_node_id_cmp(((const struct placed *)a)->id, ((const struct placed *)b)->id);
}

/* The online members with an identity that are not held off the ring, sorted
 * by ID; a second member with the same ID (signal refuses those) is left out
 * rather than confusing the ring. Returns 0 or -ENOMEM. */
static int place_members(struct sym *s, uint64_t now_ms)
{
	size_t need = g_hash_table_size(s->members), w = 0;
	GHashTableIter it;
	gpointer v;

	if (need > s->cap_placed) {
		struct placed *p = realloc(s->placed, need * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		s->placed = p;
		s->cap_placed = need;
	}
	g_hash_table_iter_init(&it, s->members);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct sym_member *m = v;
		if (held(m, now_ms))
			m->want = IPOP_LINK_NONE;
		else if (m->online && m->ident.known && !ipop_node_id_eq(m->ident.node, s->set.self_id))
			s->placed[w++] = (struct placed){ .id = m->ident.node, .m = m };
	}
	/* s->placed is NULL while no member was ever placed (qsort must not
	 * see a null pointer, even for zero elements). */
	if (w > 1)
		qsort(s->placed, w, sizeof(*s->placed), cmp_placed);
	s->n_placed = 0;
	for (size_t i = 0; i < w; i++)
		if (s->n_placed == 0 || !ipop_node_id_eq(s->placed[s->n_placed - 1].id, s->placed[i].id))
			s->placed[s->n_placed++] = s->placed[i];
	return 0;
}

static struct sym_member *by_id(const struct sym *s, struct ipop_node_id id)
{
	struct placed key = { .id = id };
	const struct placed *p = bsearch(&key, s->placed, s->n_placed, sizeof(key), cmp_placed);

	return p ? p->m : NULL;
}

/* The builder's view of our links: what we asked for last time (outgoing) and
 * what members asked of us (incoming), with their state. A link the member
 * refused does not exist: left in, the builder would keep it as one of ours
 * and never draw another. */
static size_t current_links(const struct sym *s, uint64_t now_ms, struct ipop_topo_link *out)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_placed; i++) {
		const struct sym_member *m = s->placed[i].m;
		uint8_t state = m->li.up ? IPOP_TOPO_UP : IPOP_TOPO_PENDING;
		bool refused = m->refused_until_ms > now_ms;
		if (m->want != IPOP_LINK_NONE && !refused)
			out[n++] = (struct ipop_topo_link){ .peer = s->placed[i].id, .type = m->want,
				.state = state, .outgoing = 1, .n_est = m->n_est };
		if (m->li.exists && m->li.remote_type != IPOP_LINK_NONE)
			out[n++] = (struct ipop_topo_link){ .peer = s->placed[i].id,
				.type = m->li.remote_type, .state = state, .outgoing = 0 };
	}
	return n;
}

static size_t static_ids(const struct sym *s, struct ipop_node_id *out)
{
	size_t n = 0;

	for (unsigned i = 0; i < s->set.n_static; i++) {
		const struct sym_member *m = g_hash_table_lookup(s->members, s->set.statics[i]);
		if (m != NULL && m->online && m->ident.known)
			out[n++] = m->ident.node;
	}
	return n;
}

static size_t refused_ids(const struct sym *s, uint64_t now_ms, struct ipop_node_id *out)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_placed; i++)
		if (s->placed[i].m->refused_until_ms > now_ms)
			out[n++] = s->placed[i].id;
	return n;
}

/* Position of id among our first s successors (1-based), 0 if not one. */
static unsigned successor_rank(const struct sym *s, const struct ipop_node_id *cand,
			       struct ipop_node_id id)
{
	size_t idx[16];
	unsigned want = s->p.successors < 16 ? s->p.successors : 16;
	int n = ipop_sym_successors(s->set.self_id, cand, s->n_placed, want, idx, 16);

	for (int i = 0; i < n; i++)
		if (ipop_node_id_eq(cand[idx[i]], id))
			return (unsigned)i + 1;
	return 0;
}

static void explain(const struct sym *s, const struct ipop_node_id *cand,
		    const struct ipop_topo_link *a, struct sym_member *m)
{
	unsigned rank;

	switch (a->type) {
	case IPOP_LINK_SUCC:
		rank = successor_rank(s, cand, a->peer);
		if (rank > 0)
			snprintf(m->why, sizeof(m->why), "successor %u of %u", rank, s->p.successors);
		else
			snprintf(m->why, sizeof(m->why), "former successor, kept until its replacement is up");
		break;
	case IPOP_LINK_LONG:
		snprintf(m->why, sizeof(m->why), "long-distance, %.4f of the ring clockwise (drawn for n=%u)",
			 ipop_ring_to_fraction(ipop_ring_dist(s->set.self_id, a->peer)), a->n_est);
		break;
	case IPOP_LINK_STATIC:
		snprintf(m->why, sizeof(m->why), "static (topology.static)");
		break;
	case IPOP_LINK_ONDEMAND:
		snprintf(m->why, sizeof(m->why), "on demand: our traffic to it crossed other "
			 "gateways (topology.ondemand_kib)");
		break;
	default:
		snprintf(m->why, sizeof(m->why), "%s", ipop_link_type_name(a->type));
		break;
	}
}

/* Run the builder over the inputs gathered in the caller's buffers and
 * apply its desired outgoing links. */
static int build(struct sym *s, struct ipop_sym_input *in)
{
	struct ipop_sym_plan plan = { 0 };
	size_t adj_cap, chg_cap;
	int r;

	ipop_sym_plan_room(&s->p, in, &adj_cap, &chg_cap);
	plan.adj = calloc(adj_cap ? adj_cap : 1, sizeof(*plan.adj));
	plan.chg = calloc(chg_cap ? chg_cap : 1, sizeof(*plan.chg));
	plan.adj_cap = adj_cap;
	plan.chg_cap = chg_cap;
	r = plan.adj && plan.chg ? ipop_sym_build(&s->p, in, &s->rng, &plan) : -ENOMEM;
	if (r == 0) {
		for (size_t i = 0; i < s->n_placed; i++)
			s->placed[i].m->want = IPOP_LINK_NONE;
		for (size_t i = 0; i < plan.nadj; i++) {
			struct sym_member *m = by_id(s, plan.adj[i].peer);
			if (m == NULL)
				continue;
			m->want = plan.adj[i].type;
			m->n_est = plan.adj[i].n_est;
			explain(s, in->cand, &plan.adj[i], m);
		}
		s->n_est = plan.n_est;
		s->k = plan.k;
	}
	free(plan.adj);
	free(plan.chg);
	return r;
}

static void sym_update(void *st, uint64_t now_ms)
{
	struct sym *s = st;
	struct ipop_node_id *cand = NULL, *statics = NULL, *refused = NULL;
	struct ipop_topo_link *links = NULL;
	int r = place_members(s, now_ms);

	s->updates++;
	s->now_ms = now_ms;
	if (r == 0) {
		size_t n = s->n_placed + 1;
		cand = calloc(n, sizeof(*cand));
		statics = calloc(IPOP_TOPO_MAX_STATIC, sizeof(*statics));
		refused = calloc(n, sizeof(*refused));
		links = calloc(2 * n, sizeof(*links));
		r = cand && statics && refused && links ? 0 : -ENOMEM;
	}
	if (r == 0) {
		for (size_t i = 0; i < s->n_placed; i++)
			cand[i] = s->placed[i].id;
		struct ipop_sym_input in = {
			.self = s->set.self_id, .cand = cand, .ncand = s->n_placed,
			.links = links, .nlinks = current_links(s, now_ms, links),
			.statics = statics, .nstatic = static_ids(s, statics),
			.refused = refused, .nrefused = refused_ids(s, now_ms, refused),
			.ondemand = s->ondemand, .nondemand = s->n_ondemand,
		};
		r = build(s, &in);
	}
	if (r != 0)
		s->build_errors++;
	s->last_error = r;
	free(cand);
	free(statics);
	free(refused);
	free(links);
}

static void sym_set_ondemand(void *st, const struct ipop_node_id *ids, size_t n)
{
	struct sym *s = st;

	s->n_ondemand = n < IPOP_TOPO_MAX_ONDEMAND ? n : IPOP_TOPO_MAX_ONDEMAND;
	memcpy(s->ondemand, ids, s->n_ondemand * sizeof(*ids));
}

static enum ipop_link_type sym_want(void *st, const char *jid, char why[IPOP_TOPO_WHY_LEN])
{
	struct sym_member *m = member(st, jid, false);

	if (m != NULL && m->online && held(m, ((struct sym *)st)->now_ms))
		snprintf(why, IPOP_TOPO_WHY_LEN, "held off the ring for now: our link to it "
			 "failed while XMPP lists it (hold %u in a row)", m->holds);
	if (m == NULL || !m->online || m->want == IPOP_LINK_NONE)
		return IPOP_LINK_NONE;
	g_strlcpy(why, m->why, IPOP_TOPO_WHY_LEN);
	return (enum ipop_link_type)m->want;
}

static void sym_limits(void *st, unsigned max_in[IPOP_LINK_NTYPES])
{
	struct sym *s = st;

	memset(max_in, 0, sizeof(unsigned) * IPOP_LINK_NTYPES);
	/* Successor and static requests are never capped: the ring depends on them. */
	max_in[IPOP_LINK_LONG] = ipop_sym_max_in_long(&s->p, s->n_est > 0 ? s->n_est : 1);
	max_in[IPOP_LINK_ONDEMAND] = s->p.max_ondemand;
}

static json_object *id_json(struct ipop_node_id id)
{
	char hex[IPOP_NODE_ID_HEX_LEN + 1];

	ipop_node_id_format(id, hex, sizeof(hex));
	return json_object_new_string(hex);
}

static json_object *peer_json(const struct sym *s, const struct placed *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "member", json_object_new_string(p->m->jid));
	json_object_object_add(o, "node_id", id_json(p->id));
	json_object_object_add(o, "ring_distance", json_object_new_double(
		ipop_ring_to_fraction(ipop_ring_dist(s->set.self_id, p->id))));
	json_object_object_add(o, "up", json_object_new_boolean(p->m->li.up));
	if (p->m->want != IPOP_LINK_NONE)
		json_object_object_add(o, "why", json_object_new_string(p->m->why));
	if (p->m->li.remote_type != IPOP_LINK_NONE)
		json_object_object_add(o, "their_type", json_object_new_string(
			ipop_link_type_name(p->m->li.remote_type)));
	return o;
}

/* Index in placed[] of the first member clockwise after us. */
static size_t first_after_self(const struct sym *s)
{
	for (size_t i = 0; i < s->n_placed; i++)
		if (ipop_node_id_cmp(s->placed[i].id, s->set.self_id) > 0)
			return i;
	return 0;
}

/* The link lists of the ring view, each in ring order from us (so successors
 * come nearest first); incoming_only: links only the member wants. */
static void links_json(const struct sym *s, json_object *o)
{
	static const uint8_t types[] = { IPOP_LINK_SUCC, IPOP_LINK_LONG, IPOP_LINK_STATIC,
					 IPOP_LINK_ONDEMAND, IPOP_LINK_NONE };
	static const char *const keys[] = { "successors", "long", "static", "ondemand",
					    "incoming_only" };
	size_t start = first_after_self(s);

	for (size_t t = 0; t < sizeof(types); t++) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < s->n_placed; i++) {
			const struct placed *p = &s->placed[(start + i) % s->n_placed];
			bool incoming = p->m->li.exists && p->m->li.remote_type != IPOP_LINK_NONE;
			if (p->m->want == types[t] && (types[t] != IPOP_LINK_NONE || incoming))
				json_object_array_add(arr, peer_json(s, p));
		}
		json_object_object_add(o, keys[t], arr);
	}
}

static unsigned members_without_id(const struct sym *s)
{
	unsigned n = 0;
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, s->members);
	while (g_hash_table_iter_next(&it, NULL, &v))
		n += ((struct sym_member *)v)->online && !((struct sym_member *)v)->ident.known;
	return n;
}

/* Members held off the ring (hold_if_unreachable), with the seconds left. */
static json_object *held_json(const struct sym *s)
{
	json_object *arr = json_object_new_array();
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, s->members);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const struct sym_member *m = v;
		if (!m->online || !held(m, s->now_ms))
			continue;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "member", json_object_new_string(m->jid));
		json_object_object_add(o, "seconds_left", json_object_new_double(
			(double)(m->held_until_ms - s->now_ms) / 1000.0));
		json_object_object_add(o, "holds_in_a_row", json_object_new_int((int)m->holds));
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *sym_json(void *st)
{
	struct sym *s = st;
	json_object *o = json_object_new_object();
	size_t start = first_after_self(s);

	json_object_object_add(o, "node_id", id_json(s->set.self_id));
	json_object_object_add(o, "successors_wanted", json_object_new_int((int)s->p.successors));
	json_object_object_add(o, "long_links_wanted", json_object_new_int((int)s->k));
	json_object_object_add(o, "max_incoming_long", json_object_new_int(
		(int)ipop_sym_max_in_long(&s->p, s->n_est > 0 ? s->n_est : 1)));
	json_object_object_add(o, "estimated_n", json_object_new_double(s->n_est));
	json_object_object_add(o, "members_on_ring", json_object_new_int((int)s->n_placed));
	json_object_object_add(o, "members_without_id", json_object_new_int((int)members_without_id(s)));
	json_object_object_add(o, "predecessor", s->n_placed == 0 ? NULL :
			       peer_json(s, &s->placed[(start + s->n_placed - 1) % s->n_placed]));
	links_json(s, o);
	json_object_object_add(o, "held_off_ring", held_json(s));
	json_object_object_add(o, "holds", json_object_new_int64((int64_t)s->holds_total));
	json_object_object_add(o, "updates", json_object_new_int64((int64_t)s->updates));
	json_object_object_add(o, "build_errors", json_object_new_int64((int64_t)s->build_errors));
	return o;
}

const struct ipop_topology_ops ipop_topology_symphony = {
	.name = "symphony",
	.create = sym_create,
	.destroy = sym_destroy,
	.on_member_online = sym_online,
	.set_ondemand = sym_set_ondemand,
	.on_member_offline = sym_offline,
	.on_link = sym_on_link,
	.update = sym_update,
	.want = sym_want,
	.limits = sym_limits,
	.json = sym_json,
};

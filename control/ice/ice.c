/* ice.c - see ice.h. Thread: control (the GLib context the agent runs on).
 *
 * libnice's signals arrive on that context while the owner iterates it (the
 * daemon's main loop); each is translated into the owner's callback with plain
 * C types, so nothing outside this file sees a NiceAgent or a NiceCandidate.
 */
#include "control/ice/ice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nice/agent.h>

#include "control/ice/nice_lib.h"

struct ipop_ice {
	NiceAgent *agent;
	GMainContext *ctx;             /* the agent's (not owned) */
	guint stream;
	struct ipop_ice_events ev;
	struct ipop_ice_stats st;
	bool have_pair;
	struct ipop_ice_pair pair;
};

static const char *const cand_type_names[IPOP_ICE_CAND__MAX] = {
	[IPOP_ICE_HOST] = "host",
	[IPOP_ICE_SRFLX] = "srflx",
	[IPOP_ICE_PRFLX] = "prflx",
	[IPOP_ICE_RELAY] = "relay",
};

const char *ipop_ice_cand_type_name(enum ipop_ice_cand_type t)
{
	return (unsigned)t < IPOP_ICE_CAND__MAX ? cand_type_names[t] : "?";
}

static enum ipop_ice_cand_type cand_type(NiceCandidateType t)
{
	switch (t) {
	case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
		return IPOP_ICE_SRFLX;
	case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
		return IPOP_ICE_PRFLX;
	case NICE_CANDIDATE_TYPE_RELAYED:
		return IPOP_ICE_RELAY;
	default:
		return IPOP_ICE_HOST;
	}
}

/* An IPv4 NiceAddress as network-order address and host-order port. */
static void addr_v4(const NiceAddress *na, uint32_t *ip, uint16_t *port)
{
	*ip = ipop_nice.address_ip_version(na) == 4 ? na->s.ip4.sin_addr.s_addr : 0;
	*port = (uint16_t)ipop_nice.address_get_port(na);
}

static void on_candidate(NiceAgent *agent, NiceCandidate *c, gpointer data)
{
	struct ipop_ice *a = data;

	/* A peer-reflexive candidate is learnt from the checks themselves (RFC
	 * 8445), and libnice ignores one given by signalling: not sent (nor
	 * accepted: parse_remote). */
	if (c->type == NICE_CANDIDATE_TYPE_PEER_REFLEXIVE)
		return;
	gchar *sdp = ipop_nice.agent_generate_local_candidate_sdp(agent, c);
	if (sdp == NULL)
		return;
	a->st.local_candidates++;
	/* "a=candidate:..." -> the attribute's value, as it travels. */
	if (a->ev.candidate != NULL)
		a->ev.candidate(a->ev.ctx, a, strncmp(sdp, "a=", 2) == 0 ? sdp + 2 : sdp);
	g_free(sdp);
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct ipop_ice *a = data;

	if (a->ev.gathering_done != NULL)
		a->ev.gathering_done(a->ev.ctx, a);
}

static void on_state(NiceAgent *agent, guint stream, guint comp, guint state, gpointer data)
{
	struct ipop_ice *a = data;

	if (state != NICE_COMPONENT_STATE_FAILED)
		return;
	a->st.failed++;
	if (a->ev.failed != NULL)
		a->ev.failed(a->ev.ctx, a);
}

static void on_selected(NiceAgent *agent, guint stream, guint comp, NiceCandidate *l,
			NiceCandidate *r, gpointer data)
{
	struct ipop_ice *a = data;
	struct ipop_ice_pair p;

	memset(&p, 0, sizeof(p));
	p.local_type = cand_type(l->type);
	p.remote_type = cand_type(r->type);
	/* Our socket is the local candidate's base; a relayed candidate's own
	 * address is the relay's. */
	addr_v4(&l->base_addr, &p.local_ip, &p.local_port);
	addr_v4(&r->addr, &p.remote_ip, &p.remote_port);
	if (p.local_type == IPOP_ICE_RELAY)
		addr_v4(&l->addr, &p.relay_ip, &p.relay_port);
	a->pair = p;
	a->have_pair = true;
	a->st.selected++;
	if (a->ev.selected != NULL)
		a->ev.selected(a->ev.ctx, a, &p);
}

/* libnice reads the socket only with a receiver attached; STUN never gets here,
 * and anything else belongs to the data path, which took the 5-tuple over. */
static void on_recv(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf,
		    gpointer data)
{
	((struct ipop_ice *)data)->st.non_stun_rx++;
}

/* A closing agent's receiver: libnice must go on reading its socket for the
 * answer to its TURN Refresh with lifetime 0 (without a receiver it gave up
 * only after its retransmissions, 2 s); what is not STUN is dropped. */
static void on_recv_closing(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf,
			    gpointer data)
{
}

static int set_servers(struct ipop_ice *a, const struct ipop_ice_servers *s)
{
	char ip[INET_ADDRSTRLEN];

	if (s->stun_ip.s_addr != 0) {
		inet_ntop(AF_INET, &s->stun_ip, ip, sizeof(ip));
		g_object_set(a->agent, "stun-server", ip, "stun-server-port", (guint)s->stun_port,
			     NULL);
	}
	if (s->turn_ip.s_addr == 0)
		return 0;
	if (s->turn_user == NULL || s->turn_password == NULL)
		return -EINVAL;
	inet_ntop(AF_INET, &s->turn_ip, ip, sizeof(ip));
	if (!ipop_nice.agent_set_relay_info(a->agent, a->stream, 1, ip, s->turn_port, s->turn_user,
				       s->turn_password, NICE_RELAY_TYPE_TURN_UDP))
		return -EINVAL;
	return 0;
}

static int bind_local(struct ipop_ice *a, const struct ipop_ice_params *p)
{
	NiceAddress na;
	char ip[INET_ADDRSTRLEN];

	if (p->port_min == 0 || p->port_max < p->port_min)
		return -EINVAL;
	inet_ntop(AF_INET, &p->bind_ip, ip, sizeof(ip));
	ipop_nice.address_init(&na);
	/* Only the WAN address: libnice would otherwise offer every interface. */
	if (!ipop_nice.address_set_from_string(&na, ip) || !ipop_nice.agent_add_local_address(a->agent, &na))
		return -EINVAL;
	ipop_nice.agent_set_port_range(a->agent, a->stream, 1, p->port_min, p->port_max);
	return 0;
}

static int setup(struct ipop_ice *a, const struct ipop_ice_params *p)
{
	a->ev = p->ev;
	a->agent = ipop_nice.agent_new_full(p->context != NULL ? p->context : g_main_context_default(),
				       NICE_COMPATIBILITY_RFC5245,
				       NICE_AGENT_OPTION_ICE_TRICKLE |
				       NICE_AGENT_OPTION_CONSENT_FRESHNESS);
	if (a->agent == NULL)
		return -ENOMEM;
	g_object_set(a->agent, "controlling-mode", (gboolean)p->controlling, "ice-tcp", FALSE,
		     "upnp", FALSE, "force-relay", (gboolean)p->force_relay, NULL);
	a->stream = ipop_nice.agent_add_stream(a->agent, 1);
	if (a->stream == 0)
		return -ENOMEM;
	int r = bind_local(a, p);
	if (r == 0)
		r = set_servers(a, &p->servers);
	if (r != 0)
		return r;
	g_signal_connect(a->agent, "new-candidate-full", G_CALLBACK(on_candidate), a);
	g_signal_connect(a->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), a);
	g_signal_connect(a->agent, "component-state-changed", G_CALLBACK(on_state), a);
	g_signal_connect(a->agent, "new-selected-pair-full", G_CALLBACK(on_selected), a);
	a->ctx = p->context != NULL ? p->context : g_main_context_default();
	ipop_nice.agent_attach_recv(a->agent, a->stream, 1, a->ctx, on_recv, a);
	return 0;
}

int ipop_ice_new(const struct ipop_ice_params *p, struct ipop_ice **out)
{
	struct ipop_ice *a = calloc(1, sizeof(*a));
	int r;

	/* Loaded at start-up when ice { } is configured (control/daemon.c);
	 * here for tools and tests that make agents directly. */
	if ((r = ipop_nice_load(NULL, 0)) != 0) {
		free(a);
		return r;
	}
	if (a == NULL)
		return -ENOMEM;
	if ((r = setup(a, p)) != 0) {
		ipop_ice_free(a);
		return r;
	}
	*out = a;
	return 0;
}

int ipop_ice_gather(struct ipop_ice *a)
{
	return ipop_nice.agent_gather_candidates(a->agent, a->stream) ? 0 : -EADDRINUSE;
}

static int copy_str(char *dst, const char *src)
{
	if (src == NULL || strlen(src) >= IPOP_ICE_UFRAG_LEN)
		return -EINVAL;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int ipop_ice_local_credentials(struct ipop_ice *a, char ufrag[IPOP_ICE_UFRAG_LEN],
			       char pwd[IPOP_ICE_UFRAG_LEN])
{
	gchar *u = NULL, *p = NULL;
	int r = -EIO;

	if (ipop_nice.agent_get_local_credentials(a->agent, a->stream, &u, &p))
		r = copy_str(ufrag, u) == 0 && copy_str(pwd, p) == 0 ? 0 : -EINVAL;
	g_free(u);
	g_free(p);
	return r;
}

int ipop_ice_set_controlling(struct ipop_ice *a, bool controlling)
{
	g_object_set(a->agent, "controlling-mode", (gboolean)controlling, NULL);
	return 0;
}

/* RFC 8445 15.4: ice-char is ALPHA / DIGIT / "+" / "/". */
static bool ice_chars(const char *s, size_t min)
{
	size_t n = strlen(s);

	if (n < min || n >= IPOP_ICE_UFRAG_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '/')
			return false;
	return true;
}

int ipop_ice_set_remote_credentials(struct ipop_ice *a, const char *ufrag, const char *pwd)
{
	if (!ice_chars(ufrag, 4) || !ice_chars(pwd, 22))
		return -EINVAL;
	return ipop_nice.agent_set_remote_credentials(a->agent, a->stream, ufrag, pwd) ? 0 : -EINVAL;
}

/* The port field (the sixth: "candidate:F C T P ADDR PORT typ ...") is 1 to
 * 65535 in decimal; libnice itself would take 99999 as 34463. */
static bool port_field_ok(const char *cand)
{
	const char *p = cand;
	unsigned long v = 0;
	size_t n = 0;

	for (int field = 0; field < 5; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return false;
		p++;
	}
	for (; p[n] >= '0' && p[n] <= '9'; n++)
		v = v * 10 + (unsigned long)(p[n] - '0');
	return n >= 1 && n <= 5 && p[n] == ' ' && v >= 1 && v <= 65535;
}

/* The candidate as libnice parses it, or NULL; only UDP over IPv4, component 1,
 * not peer-reflexive (libnice would ignore it: found by tests/fuzz/fuzz_candidate). */
static NiceCandidate *parse_remote(struct ipop_ice *a, const char *cand)
{
	char line[IPOP_ICE_CAND_LEN + 2];
	NiceCandidate *c;

	if (strlen(cand) >= IPOP_ICE_CAND_LEN || !port_field_ok(cand))
		return NULL;
	snprintf(line, sizeof(line), "%s%s", strncmp(cand, "a=", 2) == 0 ? "" : "a=", cand);
	c = ipop_nice.agent_parse_remote_candidate_sdp(a->agent, a->stream, line);
	if (c == NULL)
		return NULL;
	if (c->component_id != 1 || c->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
	    ipop_nice.address_ip_version(&c->addr) != 4 || c->type == NICE_CANDIDATE_TYPE_PEER_REFLEXIVE) {
		ipop_nice.candidate_free(c);
		return NULL;
	}
	return c;
}

int ipop_ice_parse_candidate(struct ipop_ice *a, const char *cand, struct ipop_ice_cand *out)
{
	NiceCandidate *c = parse_remote(a, cand);

	if (c == NULL)
		return -EINVAL;
	out->type = cand_type(c->type);
	out->priority = c->priority;
	addr_v4(&c->addr, &out->ip, &out->port);
	ipop_nice.candidate_free(c);
	return 0;
}

int ipop_ice_add_remote_candidate(struct ipop_ice *a, const char *cand)
{
	NiceCandidate *c;
	GSList *l;
	int n;

	if (a->st.remote_candidates >= IPOP_ICE_MAX_REMOTE) {
		a->st.remote_too_many++;
		return -ENOSPC;
	}
	if ((c = parse_remote(a, cand)) == NULL) {
		a->st.remote_bad++;
		return -EINVAL;
	}
	l = g_slist_append(NULL, c);
	n = ipop_nice.agent_set_remote_candidates(a->agent, a->stream, 1, l);
	g_slist_free_full(l, (GDestroyNotify)ipop_nice.candidate_free);
	if (n != 1) {
		a->st.remote_bad++;
		return -EINVAL;
	}
	a->st.remote_candidates++;
	return 0;
}

void ipop_ice_remote_done(struct ipop_ice *a)
{
	ipop_nice.agent_peer_candidate_gathering_done(a->agent, a->stream);
}

int ipop_ice_selected(const struct ipop_ice *a, struct ipop_ice_pair *p)
{
	if (!a->have_pair)
		return -ENOENT;
	*p = a->pair;
	return 0;
}

const struct ipop_ice_stats *ipop_ice_stats(const struct ipop_ice *a)
{
	return &a->st;
}

/* Agents freed whose close has not completed (control thread only). */
static unsigned closing;

static void on_closed(GObject *src, GAsyncResult *res, gpointer data)
{
	(void)src;
	(void)res;
	(void)data;
	if (closing > 0)
		closing--;
}

static gboolean drain_expired(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

unsigned ipop_ice_drain(GMainContext *ctx, unsigned ms)
{
	bool expired = false;
	GSource *t;

	if (closing == 0)
		return 0;
	t = g_timeout_source_new(ms);
	g_source_set_callback(t, drain_expired, &expired, NULL);
	g_source_attach(t, ctx);
	while (closing > 0 && !expired)
		g_main_context_iteration(ctx, TRUE);
	g_source_destroy(t);
	g_source_unref(t);
	return closing;
}

void ipop_ice_free(struct ipop_ice *a)
{
	if (a == NULL)
		return;
	if (a->agent != NULL) {
		g_signal_handlers_disconnect_by_data(a->agent, a);
		if (a->stream != 0)
			ipop_nice.agent_attach_recv(a->agent, a->stream, 1, a->ctx, on_recv_closing,
						    NULL);
		/* Closing frees TURN allocations (a refresh with lifetime 0) and the
		 * sockets on the agent's context; the task holds its own reference. */
		closing++;
		/* The callback runs on the thread-default context of this call
		 * (a GTask): the agent's, as ipop_ice_drain iterates. */
		g_main_context_push_thread_default(a->ctx);
		ipop_nice.agent_close_async(a->agent, on_closed, NULL);
		g_main_context_pop_thread_default(a->ctx);
		g_object_unref(a->agent);
	}
	free(a);
}

/* ice_link.c - see ice_link.h. Thread: control. */
#include "control/link/ice_link.h"
#include "control/log.h"
#include "control/node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One link's agent: l->ice. */
struct ice_link {
	struct ipop_ice_links *il;
	struct ipop_link *l;           /* links are heap objects that outlive their agent */
	struct ipop_ice *agent;
	bool gathering;
	uint64_t opened_ms;
};

void ipop_ice_links_init(struct ipop_ice_links *il, struct ipop_node *n, struct ipop_linkmgr *lm)
{
	const struct ipop_cfg *c = n->cfg;

	memset(il, 0, sizeof(*il));
	il->n = n;
	il->lm = lm;
	il->servers = (struct ipop_ice_servers){
		.stun_ip = c->ice_stun_ip, .stun_port = c->ice_stun_port,
		.turn_ip = c->ice_turn_ip, .turn_port = c->ice_turn_port,
		.turn_user = c->ice_turn_user, .turn_password = c->ice_turn_password,
	};
}

static void on_candidate(void *ctx, struct ipop_ice *a, const char *cand)
{
	struct ice_link *k = ctx;

	LOG_DEBUG("link %s: ICE candidate %s", k->l->jid, cand);
	/* Trickled: each goes as it is found; the member takes it once our
	 * request or reply (sent before gathering started) told it our ufrag. */
	ipop_linkmgr_send_candidate(k->il->lm, k->l, cand);
}

static void on_selected(void *ctx, struct ipop_ice *a, const struct ipop_ice_pair *p)
{
	struct ice_link *k = ctx;
	char lip[INET_ADDRSTRLEN], rip[INET_ADDRSTRLEN];

	k->il->st.pairs_selected++;
	inet_ntop(AF_INET, &p->local_ip, lip, sizeof(lip));
	inet_ntop(AF_INET, &p->remote_ip, rip, sizeof(rip));
	LOG_INFO("link %s: ICE selected %s %s:%u -> %s %s:%u after %llu ms", k->l->jid,
		 ipop_ice_cand_type_name(p->local_type), lip, p->local_port,
		 ipop_ice_cand_type_name(p->remote_type), rip, p->remote_port,
		 (unsigned long long)(ipop_now_ms() - k->opened_ms));
}

static void on_failed(void *ctx, struct ipop_ice *a)
{
	struct ice_link *k = ctx;

	k->il->st.ice_failed++;
	LOG_WARN("link %s: ICE failed: no candidate pair answered", k->l->jid);
}

int ipop_ice_link_open(struct ipop_ice_links *il, struct ipop_link *l)
{
	const struct ipop_cfg *c = il->n->cfg;
	struct ice_link *k;
	int r;

	if (l->ice != NULL)
		return 0;
	if ((unsigned)c->wan_port + IPOP_ICE_LINK_PORTS > 65535) {
		il->st.agents_failed++;
		LOG_WARN("link %s: no ICE agent: wan.port %u leaves no room for its %u ports",
			 l->jid, c->wan_port, IPOP_ICE_LINK_PORTS);
		return -ERANGE;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		il->st.agents_failed++;
		LOG_WARN("link %s: no ICE agent: out of memory", l->jid);
		return -ENOMEM;
	}
	struct ipop_ice_params p = {
		.context = NULL,   /* the daemon's main loop runs the default context */
		.controlling = false,   /* known with the member's identity (ice_remote) */
		.bind_ip = c->wan_addr,
		.port_min = (uint16_t)(c->wan_port + 1),
		.port_max = (uint16_t)(c->wan_port + IPOP_ICE_LINK_PORTS),
		.servers = il->servers,
		.ev = { .ctx = k, .candidate = on_candidate, .selected = on_selected,
			.failed = on_failed },
	};
	k->il = il;
	k->l = l;
	k->opened_ms = ipop_now_ms();
	if ((r = ipop_ice_new(&p, &k->agent)) != 0) {
		il->st.agents_failed++;
		LOG_WARN("link %s: no ICE agent: %s", l->jid, strerror(-r));
		free(k);
		return r;
	}
	char u[IPOP_ICE_UFRAG_LEN], pw[IPOP_ICE_UFRAG_LEN];
	if ((r = ipop_ice_local_credentials(k->agent, u, pw)) != 0 ||
	    strlen(u) >= sizeof(l->ice_ufrag) || strlen(pw) >= sizeof(l->ice_pwd)) {
		il->st.agents_failed++;
		LOG_WARN("link %s: no ICE agent: its credentials do not fit the link stanza", l->jid);
		ipop_ice_free(k->agent);
		free(k);
		return r != 0 ? r : -EOVERFLOW;
	}
	memcpy(l->ice_ufrag, u, strlen(u) + 1);
	memcpy(l->ice_pwd, pw, strlen(pw) + 1);
	l->ice = k;
	il->st.agents_opened++;
	return 0;
}

void ipop_ice_link_sent(struct ipop_ice_links *il, struct ipop_link *l)
{
	struct ice_link *k = l->ice;
	int r;

	if (k == NULL || k->gathering)
		return;
	k->gathering = true;
	if ((r = ipop_ice_gather(k->agent)) != 0) {
		il->st.agents_failed++;
		LOG_WARN("link %s: ICE agent cannot gather on ports %u-%u: %s", l->jid,
			 il->n->cfg->wan_port + 1, il->n->cfg->wan_port + IPOP_ICE_LINK_PORTS,
			 strerror(-r));
		ipop_ice_link_close(il, l);
	}
}

void ipop_ice_link_remote(struct ipop_ice_links *il, struct ipop_link *l,
			  const struct ipop_link_msg *m)
{
	struct ice_link *k = l->ice;

	if (k == NULL)
		return;
	/* The handshake's initiator (the smaller node ID) nominates. */
	ipop_ice_set_controlling(k->agent, ipop_node_id_cmp(il->n->node_id, l->node) < 0);
	if (ipop_ice_set_remote_credentials(k->agent, m->ufrag, m->pwd) != 0) {
		il->st.bad_credentials++;
		LOG_WARN("link %s: ICE: the member's ufrag/pwd were refused by the agent", l->jid);
	}
}

int ipop_ice_link_candidate(struct ipop_ice_links *il, struct ipop_link *l, const char *cand)
{
	struct ice_link *k = l->ice;
	int r;

	if (k == NULL)
		return -ENOENT;
	r = ipop_ice_add_remote_candidate(k->agent, cand);
	if (r != 0)
		LOG_WARN("link %s: ICE candidate refused (%s): %.255s", l->jid, strerror(-r), cand);
	return r;
}

void ipop_ice_link_close(struct ipop_ice_links *il, struct ipop_link *l)
{
	struct ice_link *k = l->ice;

	if (k == NULL)
		return;
	ipop_ice_free(k->agent);
	free(k);
	l->ice = NULL;
	il->st.agents_closed++;
}

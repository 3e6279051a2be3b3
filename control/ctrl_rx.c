/* ctrl_rx.c - see ctrl_rx.h. Thread: control. */
#include "control/ctrl_rx.h"
#include "control/fib/neigh.h"
#include "control/fib/table.h"
#include "control/link/stun_watch.h"
#include "control/node.h"
#include "control/fib/tx.h"
#include "control/session/cookie.h"
#include "control/session/handshake.h"
#include "lcore/worker.h"

#include <stddef.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/encap.h"
#include "dataplane/hsmac.h"
#include "dataplane/turn.h"
#include "dataplane/wire.h"

enum rx_kind { RX_ARP, RX_RESP, RX_INIT, RX_COOKIE, RX_TURN, RX_OTHER };

/* What m is, by its headers alone; for handshakes *src_ip is its source. */
static enum rx_kind kind_of(const struct rte_mbuf *m, uint32_t *src_ip)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)f;
	uint32_t ip_off, poff, plen;

	if (m->data_len >= sizeof(*eth) && eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		return RX_ARP;
	if (ipop_encap_parse(f, m->data_len, &ip_off, &poff, &plen) != 0)
		return RX_OTHER;
	*src_ip = ((const struct rte_ipv4_hdr *)(f + ip_off))->src_addr;
	if (ipop_wire_is_stun(f + poff, plen))
		return RX_TURN;   /* copies of TURN messages (dataplane/turn.h) */
	if (ipop_turn_is_chandata(f + poff, plen) &&
	    ipop_wire_is_stun(f + poff + IPOP_CHANDATA_HDR_LEN, plen - IPOP_CHANDATA_HDR_LEN))
		return RX_TURN;   /* a member's STUN check through our relay, copied */
	switch (ipop_wire_classify(f + poff, plen)) {
	case IPOP_MSG_HANDSHAKE_RESP:
		return RX_RESP;
	case IPOP_MSG_HANDSHAKE_INIT:
		return RX_INIT;
	case IPOP_MSG_COOKIE_REPLY:
		return RX_COOKIE;
	default:
		return RX_OTHER;
	}
}

/* Whether this tick works under load: it found more initiations than the
 * handshake budget can take (some would be shed at random, genuine ones with
 * the flood), or one of the ticks of the last IPOP_CTRL_LOAD_HOLD_MS did (a
 * flood that comes in bursts keeps us in it). */
static bool under_load(struct ipop_node *n, unsigned n_init, uint64_t now)
{
	/* The workers shedding unproven initiations (they do only under load,
	 * docs/handshake.md "mac2 in the workers") is the flood going on, though
	 * this tick sees no more of it than the workers' budgets let through. */
	uint64_t shed = 0;
	for (unsigned w = 0; n->workers != NULL && w < n->n_workers; w++)
		shed += n->workers[w].stats.drops[IPOP_DROP_HS_UNPROVEN];
	bool workers_shed = shed != n->hs_wshed_seen;
	n->hs_wshed_seen = shed;
	if (n_init > IPOP_CTRL_HS_BUDGET || workers_shed) {
		n->cs.hs_load_ticks++;
		n->hs_load_until_ms = now + IPOP_CTRL_LOAD_HOLD_MS;
	}
	return now < n->hs_load_until_ms;
}

/* Under load an initiation must first pass mac1 (one BLAKE2b, as when not
 * under load, unless a worker checked it: a flood of mere handshake-shaped
 * packets costs no more), then
 * prove its source address and port with mac2 to go on to the per-source rate
 * and the budget; any other is answered with a cookie reply (two more BLAKE2b
 * and one XChaCha20-Poly1305, no X25519), at most *cookies of them this tick.
 * True when it goes on. */
/* This tick's cookie replies: any address, and of them, others than our
 * peers' endpoints (ctrl_rx.h). */
struct cookie_budget {
	unsigned any, other;
};

/* Take one reply from the budget for src; false: none left for it. */
static bool cookie_take(struct ipop_node *n, struct cookie_budget *cb, uint32_t src)
{
	bool known = ipop_known_src_has(&n->known_src, src);

	if (cb->any == 0 || (!known && cb->other == 0))
		return false;
	cb->any--;
	if (known)
		n->cs.hs_cookie_known++;
	else
		cb->other--;
	return true;
}

static bool cookie_admit(struct ipop_node *n, struct rte_mbuf *m, uint64_t now,
			 struct cookie_budget *cookies)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t ip_off, poff, plen;
	struct ipop_cookie_reply r;

	if (ipop_encap_parse(f, m->data_len, &ip_off, &poff, &plen) != 0 ||
	    plen != sizeof(struct ipop_hs_init)) {
		n->cs.ring_bad++;   /* kind_of() parsed it: cannot happen */
		return false;
	}
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)f;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + ip_off);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(f + poff - 8);
	const struct ipop_hs_init *msg = (const struct ipop_hs_init *)(f + poff);

	/* What a worker checked is not checked again (dataplane/hsmac.h's
	 * flags; none in tests that feed this ring directly): mac1 of the whole
	 * flood was a third of this thread's BLAKE2b under it. */
	if (!(m->ol_flags & ipop_hsmac_fl_mac1_ok) &&
	    ipop_cookie_check_mac1(&n->cookie, msg, offsetof(struct ipop_hs_init, mac1)) != 0) {
		n->cs.hs_bad_mac1++;
		return false;
	}
	/* A worker's mac2 verdict was made with the secret of its table, which
	 * is ours but for the moment between a rotation and the next publication
	 * (the same tick): a cookie from the secret before is taken then, as it
	 * would have been a tick earlier. */
	bool proven;
	if (m->ol_flags & ipop_hsmac_fl_mac2_ok)
		proven = true;
	else if (m->ol_flags & ipop_hsmac_fl_mac2_bad)
		proven = false;
	else
		proven = ipop_cookie_check_mac2(&n->cookie, msg, offsetof(struct ipop_hs_init, mac2),
						ip->src_addr, udp->src_port, now) == 0;
	if (proven) {
		n->cs.hs_mac2_ok++;
		return true;
	}
	n->cs.hs_mac2_missing++;
	/* Not worked on: a refusal like the others, logged at most once a second. */
	bool reply = cookie_take(n, cookies, ip->src_addr);
	ipop_hs_log_refusal(n, now, ip->src_addr, reply ?
			    "under load and no valid mac2: answered with a cookie reply" :
			    "under load, no valid mac2, and this tick's cookie replies used up");
	if (!reply) {
		n->cs.hs_cookie_shed++;
		return false;
	}
	/* Back the way the frame came (its source MAC, the port it reached, and
	 * the TURN channel if it came through our relay: without the ChannelData
	 * header the server would drop the reply): the sender is unproven, so
	 * neither the neighbour table nor ARP. */
	uint16_t chan = ipop_table_relay_chan(n, ip->src_addr, udp->src_port, udp->dst_port);
	if (ipop_cookie_reply_create(&n->cookie, msg->sender_index, msg->mac1, ip->src_addr,
				     udp->src_port, now, &r) == 0 &&
	    ipop_ctrl_send_udp_via(n, &eth->src_addr, ip->src_addr, udp->src_port, udp->dst_port,
				   chan, &r, sizeof(r)) == 0) {
		n->cs.hs_cookie_tx++;
		n->cs.hs_cookie_relayed += chan != 0;
	}
	return false;
}

/* Under load: a new table when the workers' view of it is out of date: not
 * yet under load, its deadline less than half a hold ahead (so about two
 * publications a second while a flood lasts, not one a tick), or a secret
 * drawn since (ipop_table_publish copies both). */
static void load_publish(struct ipop_node *n, uint64_t now)
{
	if (!n->cookie.ready)
		return;
	if (ipop_cookie_rotate(&n->cookie, now) || n->hs_secret_pub_ms != n->cookie.secret_ms ||
	    n->hs_load_pub_ms < now + IPOP_CTRL_LOAD_HOLD_MS / 2)
		n->dirty = true;
}

void ipop_ctrl_rx_drain(struct ipop_node *n)
{
	void *objs[IPOP_CTRL_RX_MAX];
	uint32_t init_src[IPOP_CTRL_RX_MAX];
	unsigned k, n_init = 0, budget = IPOP_CTRL_HS_BUDGET;
	struct cookie_budget cookies = { IPOP_CTRL_COOKIE_BUDGET, IPOP_CTRL_COOKIE_BUDGET_OTHER };
	uint64_t now = ipop_now_ms();
	uint32_t src = 0;

	k = rte_ring_dequeue_burst(n->sh.to_ctrl, objs, RTE_DIM(objs), NULL);
	if (k == 0) {
		/* The workers may be shedding all of a flood (their budgets used
		 * by earlier ticks' work): the load must not lapse meanwhile. */
		if (under_load(n, 0, now)) {
			load_publish(n, now);
			ipop_table_flush(n);
		}
		return;
	}
	n->cs.ring_rx += k;
	/* First what keeps existing sessions alive and cannot be made by a
	 * stranger in bulk: ARP (cheap) and responses to our own initiations
	 * (they match a handshake of ours before any X25519). Initiations wait,
	 * kept in place at the front of objs. */
	for (unsigned i = 0; i < k; i++) {
		struct rte_mbuf *m = objs[i];
		switch (kind_of(m, &src)) {
		case RX_INIT:
			init_src[n_init] = src;
			objs[n_init++] = m;
			continue;
		case RX_ARP:
			ipop_neigh_handle_arp(n, m);
			break;
		case RX_RESP:
			/* Only one for a handshake of ours in flight costs X25519
			 * and budget; anyone can send the others in bulk. */
			if (!ipop_hs_resp_in_flight(n, m)) {
				ipop_hs_handle(n, m);   /* counted as hs_bad_index */
			} else if (budget > 0) {
				budget--;
				ipop_hs_handle(n, m);
			} else {
				n->cs.hs_resp_shed++;
			}
			break;
		case RX_TURN:   /* and the STUN checks the workers copy */
			ipop_stun_watch_rx(n, m);
			break;
		case RX_COOKIE:   /* one index lookup, one AEAD only if it is ours */
		case RX_OTHER:
			ipop_hs_handle(n, m);   /* RX_OTHER: counted as ring_bad; no crypto */
			break;
		}
		rte_pktmbuf_free(m);
	}
	bool load = under_load(n, n_init, now);
	if (load && !n->cookie.ready && ipop_cookie_checker_init(&n->cookie, n->id.pub, now) != 0)
		n->cs.hs_local_fail++;   /* no cookies: the budget alone holds the flood */
	if (load)
		load_publish(n, now);
	/* A source over its rate is refused before it can use up the budget;
	 * under load, only once its address is proven. */
	for (unsigned i = 0; i < n_init; i++) {
		struct rte_mbuf *m = objs[i];
		src = init_src[i];
		if (load && n->cookie.ready && !cookie_admit(n, m, now, &cookies)) {
			/* answered with a cookie reply, or counted */
		} else if (!ipop_srclim_allow(&n->srclim, src, now)) {
			n->cs.hs_src_limited++;
			ipop_hs_log_refusal(n, now, src, "source address over its initiation rate");
		} else if (budget > 0) {
			budget--;
			ipop_hs_handle(n, m);
		} else {
			n->cs.hs_init_shed++;
			ipop_hs_log_refusal(n, now, src, "over the control thread's handshake budget");
		}
		rte_pktmbuf_free(m);
	}
	/* One publication for the whole tick, then the responses it made valid
	 * (ipop_hs_queue_resp flushes earlier if its queue fills). */
	ipop_table_flush(n);
}

/* timers.c - the clock of every peer's sessions: promoting a confirmed
 * responder session, expiring old keys, declaring silent peers dead, retrying
 * handshakes with back-off, rekeying by age and packet count, keepalives.
 * Thread: control (the 10 ms tick).
 */
#include "control/session/timers.h"
#include "control/session/handshake.h"
#include "control/session/keypair.h"
#include "control/session/peer.h"
#include "control/node.h"

#include <stdio.h>
#include <rte_cycles.h>

#include "dataplane/tables.h"

static bool rekey_due(const struct ipop_node *n, const struct ipop_peer *p, uint64_t now_tsc)
{
	const struct ipop_keypair *kp = p->cur;
	uint64_t age_s = (now_tsc - kp->created_tsc) / n->tsc_hz;

	if (__atomic_load_n(&kp->send_counter, __ATOMIC_RELAXED) >= n->cfg->rekey_after_packets)
		return true;
	/* The initiator of a session rekeys it; the responder steps in later in
	 * case the initiator went quiet, so both never race at the same moment. */
	if (kp->initiator)
		return age_s >= n->cfg->rekey_after_s;
	return age_s >= n->cfg->rekey_after_s + n->cfg->keepalive_s;
}

static void expire_keys(struct ipop_node *n, struct ipop_peer *p, uint64_t now_tsc)
{
	if (p->prev && now_tsc > p->prev->expire_tsc)
		ipop_keypair_retire(n, &p->prev);
	if (p->next && now_tsc > p->next->expire_tsc)
		ipop_keypair_retire(n, &p->next);
	if (p->cur && now_tsc > p->cur->expire_tsc) {
		ipop_keypair_retire(n, &p->cur);
		p->state = p->hs_active ? IPOP_PEER_HANDSHAKE : IPOP_PEER_DOWN;
	}
}

static void check_liveness(struct ipop_node *n, struct ipop_peer *p, uint64_t now)
{
	struct ipop_peer_counters c;

	ipop_peer_counters(n, p, &c);
	if (c.rx_packets != p->rx_pkts_seen) {
		p->rx_pkts_seen = c.rx_packets;
		p->last_rx_ms = now;
	}
	/* last_rx_ms may be later than now: a handshake handled after the
	 * caller read its clock. That peer is not silent. */
	if (p->state == IPOP_PEER_UP && now > p->last_rx_ms &&
	    now - p->last_rx_ms > (uint64_t)n->cfg->dead_after_s * 1000) {
		p->deaths++;
		ipop_peer_reset(n, p, "no packets within dead_after");
		p->hs_next_ms = now;
	}
}

static void peer_timers(struct ipop_node *n, struct ipop_peer *p, uint64_t now, uint64_t now_tsc)
{
	ipop_hs_confirm(n, p, now);
	expire_keys(n, p, now_tsc);
	check_liveness(n, p, now);
	if (p->ip == 0)
		return;   /* endpoint unknown: wait for the peer to call us */
	if (p->hs_active && now - p->hs_sent_ms >= ipop_hs_retry_delay(n, p)) {
		p->hs_attempts++;
		p->handshake_failures++;
		snprintf(p->last_error, sizeof(p->last_error), "handshake timed out");
		if (ipop_hs_initiate(n, p, now) != 0)
			p->hs_next_ms = now + ipop_hs_retry_delay(n, p);
		return;
	}
	if (!p->hs_active && p->cur == NULL && now >= p->hs_next_ms) {
		if (ipop_hs_initiate(n, p, now) != 0)
			p->hs_next_ms = now + ipop_hs_retry_delay(n, p);
		return;
	}
	if (!p->hs_active && p->cur && rekey_due(n, p, now_tsc))
		ipop_hs_initiate(n, p, now);
	if (p->cur && now - p->last_keepalive_ms >= (uint64_t)n->cfg->keepalive_s * 1000)
		ipop_hs_keepalive(n, p, now);
}

void ipop_timers_run(struct ipop_node *n, uint64_t now_ms)
{
	uint64_t now_tsc = rte_rdtsc();

	for (uint16_t i = 0; i < n->n_peers; i++)
		if (n->peers[i])
			peer_timers(n, n->peers[i], now_ms, now_tsc);
	/* What changed is published by the tick's ipop_table_flush(). */
}

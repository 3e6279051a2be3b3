/* handshake.c - the session state machine of every peer, in one place: sending
 * and answering Noise IK handshakes, installing and rotating session keys, the
 * keepalive that confirms a session. When to rekey, keep alive, retry or
 * declare a peer dead is timers.c's. Thread: control.
 *
 *   DOWN --(endpoint known, retry timer)--> HANDSHAKE --(response ok)--> UP
 *   UP --(rekey due)--> UP with a handshake in flight (traffic keeps flowing on
 *        the current session; the new one takes over when complete)
 *   UP --(nothing received for dead_after)--> DOWN (sessions wiped, MACs flushed)
 *
 * Key slots: 'cur' sends; 'prev' and 'next' only receive. An initiator moves a
 * new session straight to 'cur' (the responder has it already) and sends a
 * keepalive at once; a responder parks its new session in 'next' until the
 * first authenticated packet on it proves the initiator has it too.
 */
#include "control/session/handshake.h"
#include "control/session/cookie.h"
#include "control/session/keypair.h"
#include "control/session/peer.h"
#include "control/fib/neigh.h"
#include "control/fib/table.h"
#include "control/fib/tx.h"
#include "control/log.h"
#include "control/node.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "dataplane/encap.h"
#include "dataplane/wire.h"

static void fill_payload(struct ipop_node *n, struct ipop_hs_payload *pl, bool with_ts)
{
	memset(pl, 0, sizeof(*pl));
	if (with_ts)
		ipop_tai64n_now(pl->timestamp);
	pl->rx_cipher = (uint8_t)n->cfg->cipher;
}

void ipop_hs_abandon(struct ipop_node *n, struct ipop_peer *p)
{
	if (!p->hs_active)
		return;
	ipop_noise_hs_wipe(&p->hs);
	ipop_index_free(n, p->hs_index);
	p->hs_active = false;
	p->hs_cookie_open = false;
}

/* mac2 of a message we send to p: with the cookie p gave us while it is fresh,
 * else zeros (noise.c left them so). */
static void set_mac2(const struct ipop_peer *p, void *msg, size_t mac2_off, uint64_t now)
{
	if (p->cookie_ms == 0 || now - p->cookie_ms >= IPOP_COOKIE_FRESH_MS)
		return;
	ipop_cookie_mac2(p->cookie, msg, mac2_off, (uint8_t *)msg + mac2_off);
}

int ipop_hs_initiate(struct ipop_node *n, struct ipop_peer *p, uint64_t now)
{
	struct ipop_hs_payload pl;
	struct ipop_hs_init msg;
	int r;

	ipop_hs_abandon(n, p);
	r = ipop_index_alloc(n, &p->hs_index);
	if (r != 0) {
		n->cs.hs_no_index++;
		return r;
	}
	fill_payload(n, &pl, true);
	r = ipop_noise_init_create(&p->hs, &n->id, p->pub, n->prologue, n->prologue_len,
				   &pl, p->hs_index, &msg);
	if (r != 0) {
		ipop_index_free(n, p->hs_index);
		return r;
	}
	set_mac2(p, &msg, offsetof(struct ipop_hs_init, mac2), now);
	memcpy(p->hs_mac1, msg.mac1, sizeof(p->hs_mac1));
	p->hs_cookie_open = true;
	p->hs_active = true;
	p->hs_sent_ms = now;
	if (p->state == IPOP_PEER_DOWN)
		p->state = IPOP_PEER_HANDSHAKE;
	r = ipop_ctrl_send_udp(n, p->ip, p->port, p->local_port, p->relay_chan, &msg, sizeof(msg));
	if (r == 0)
		n->cs.hs_init_tx++;
	LOG_DEBUG("peer %s: handshake initiation sent (%d)", p->name, r);
	return r;
}

int ipop_hs_keepalive(struct ipop_node *n, struct ipop_peer *p, uint64_t now)
{
	struct ipop_keypair *kp = p->cur;
	uint8_t buf[IPOP_DATA_OVERHEAD];
	struct ipop_data_hdr *h = (struct ipop_data_hdr *)buf;
	uint64_t ctr;

	if (kp == NULL)
		return -ENOTCONN;
	ctr = __atomic_fetch_add(&kp->send_counter, 1, __ATOMIC_RELAXED);
	ipop_wire_data_hdr(h, kp->remote_index, ctr);
	int r = ipop_aead_seal(n->aead, &kp->send_key, ctr, buf, buf + IPOP_DATA_HDR_LEN, 0,
			       buf + IPOP_DATA_HDR_LEN);
	if (r != 0)
		return r;
	p->last_keepalive_ms = now;
	r = ipop_ctrl_send_udp(n, p->ip, p->port, p->local_port, p->relay_chan, buf, sizeof(buf));
	if (r == 0)
		n->cs.keepalive_tx++;
	return r;
}

void ipop_hs_log_refusal(struct ipop_node *n, uint64_t now, uint32_t src_ip, const char *why)
{
	uint64_t more;
	struct in_addr a = { .s_addr = src_ip };
	char ip[INET_ADDRSTRLEN];

	if (!ipop_ratelog_ok(&n->hs_log, now, &more)) {
		n->cs.hs_refusals_not_logged++;
		return;
	}
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	if (more)
		LOG_WARN("handshake from %s refused: %s (and %" PRIu64 " more since the last line, not logged)",
			 ip, why, more);
	else
		LOG_WARN("handshake from %s refused: %s", ip, why);
}

/* A message noise.c refused: mac1 (cheap, checked first), the AEAD or the
 * sender's key material (-EINVAL: a low-order point), or a failure of ours. */
static void count_refused(struct ipop_node *n, int r)
{
	if (r == -EKEYREJECTED)
		n->cs.hs_bad_mac1++;
	else if (r == -EBADMSG || r == -EINVAL)
		n->cs.hs_bad_auth++;
	else
		n->cs.hs_local_fail++;
}

/* A keypair for an authenticated handshake could not be made: ours to count. */
static void count_keypair_fail(struct ipop_node *n, struct ipop_peer *p, int err)
{
	n->cs.hs_local_fail++;
	snprintf(p->last_error, sizeof(p->last_error), "keypair: %s", strerror(-err));
}

/* Where a handshake message came from, and the port of ours it reached. */
struct hs_src {
	uint32_t ip;
	uint16_t port;
	struct rte_ether_addr mac;   /* the frame's source: our next hop towards ip */
	uint16_t local_port;         /* network order: wan.port, or an ICE agent's */
};

/* Roaming: an authenticated handshake tells where the peer is now, and the
 * port of ours it reached (wan.port, or an ICE agent's: the NAT binding in
 * between is that 5-tuple, so our replies and data must leave from it); the
 * frame came through our next hop towards it: its MAC serves until ARP
 * answers (only now that the handshake authenticated). */
static void update_endpoint(struct ipop_node *n, struct ipop_peer *p, const struct hs_src *src,
			    uint64_t now)
{
	uint16_t local_port = src->local_port;

	ipop_neigh_learn_via(n, src->ip, &src->mac, now);
	if (local_port == rte_cpu_to_be_16(n->cfg->wan_port))
		local_port = 0;
	if (p->ip == src->ip && p->port == src->port && p->local_port == local_port)
		return;
	/* Not through our relay's channel (that would be the same endpoint):
	 * the peer is reachable directly now, so the channel is not ours to use. */
	p->relay_chan = 0;
	p->ip = src->ip;
	p->port = src->port;
	p->local_port = local_port;
	n->dirty = true;
}

static void handle_init(struct ipop_node *n, const struct ipop_hs_init *msg,
			const struct hs_src *src, uint64_t now)
{
	struct ipop_noise_hs hs;
	struct ipop_hs_payload pl, mypl;
	struct ipop_hs_resp resp;
	struct ipop_noise_session keys;
	uint8_t remote[32];
	uint32_t idx;
	int r, err;

	n->cs.hs_init_rx++;
	memset(&hs, 0, sizeof(hs));
	r = ipop_noise_init_consume(&hs, &n->id, n->prologue, n->prologue_len, msg, remote, &pl);
	if (r != 0) {
		count_refused(n, r);
		return;
	}
	struct ipop_peer *p = ipop_peer_find(n, remote);
	if (p == NULL) {
		char why[96];
		memcpy(why, "unknown key ", 12);
		sodium_bin2base64(why + 12, sizeof(why) - 12, remote, 32, sodium_base64_VARIANT_ORIGINAL);
		ipop_hs_log_refusal(n, now, src->ip, why);
		n->cs.hs_unknown_peer++;
		ipop_noise_hs_wipe(&hs);
		return;
	}
	if (p->have_ts && !ipop_tai64n_newer(pl.timestamp, p->last_ts)) {
		n->cs.hs_replayed++;
		ipop_noise_hs_wipe(&hs);
		return;
	}
	/* An authenticated peer still may not make us answer (X25519, a receiver
	 * index, a session, a table publication) more often than this; its own
	 * retries are far slower (timers.handshake_retry_ms, back-off). */
	if (p->hs_accept_ms != 0 && now - p->hs_accept_ms < IPOP_HS_PEER_MIN_MS) {
		n->cs.hs_peer_limited++;
		char why[IPOP_CFG_NAME_LEN + 48];
		snprintf(why, sizeof(why), "peer %s initiates too often", p->name);
		ipop_hs_log_refusal(n, now, src->ip, why);
		ipop_noise_hs_wipe(&hs);
		return;
	}
	if (ipop_cipher_name(pl.rx_cipher) == NULL) {
		n->cs.hs_bad_payload++;
		snprintf(p->last_error, sizeof(p->last_error), "peer asked for unknown cipher %u",
			 pl.rx_cipher);
		ipop_noise_hs_wipe(&hs);
		return;
	}
	/* Both sides initiated at once: the side with the smaller public key keeps
	 * its own initiation and ignores the other, which answers ours and drops
	 * its own when our first packet confirms the session. One session results. */
	if (p->hs_active && p->cur == NULL && memcmp(n->id.pub, p->pub, 32) < 0) {
		n->cs.hs_collisions++;
		ipop_noise_hs_wipe(&hs);
		return;
	}
	memcpy(p->last_ts, pl.timestamp, sizeof(p->last_ts));
	p->have_ts = true;
	p->hs_accept_ms = now;
	p->send_cipher = pl.rx_cipher;
	update_endpoint(n, p, src, now);
	if (ipop_index_alloc(n, &idx) != 0) {
		n->cs.hs_no_index++;
		ipop_noise_hs_wipe(&hs);
		return;
	}
	fill_payload(n, &mypl, false);
	r = ipop_noise_resp_create(&hs, &mypl, idx, msg->sender_index, &resp, &keys);
	if (r != 0) {
		/* Our ephemeral key or our own DH: the initiation was fine. */
		ipop_index_free(n, idx);
		n->cs.hs_local_fail++;
		return;
	}
	set_mac2(p, &resp, offsetof(struct ipop_hs_resp, mac2), now);
	struct ipop_keypair *kp = ipop_keypair_new(n, p, &keys, idx, msg->sender_index, false, &err);
	sodium_memzero(&keys, sizeof(keys));
	if (kp == NULL) {
		ipop_index_free(n, idx);
		count_keypair_fail(n, p, err);
		return;
	}
	ipop_keypair_retire(n, &p->next);
	p->next = kp;
	n->dirty = true;
	/* The index must be live before the response leaves: the response waits
	 * for the one publication that covers this whole burst of handshakes. */
	p->hs_resp_sent_ms = 0;   /* set when this response leaves */
	ipop_hs_queue_resp(n, p, &resp);
	p->last_rx_ms = now;
	/* Give the initiator time to confirm before we start one of our own. */
	p->hs_next_ms = now + ipop_hs_retry_delay(n, p);
	LOG_DEBUG("peer %s: answered handshake", p->name);
}

/* A finished handshake's session becomes the one we send with; the current one
 * stays receivable as previous. */
static void make_current(struct ipop_node *n, struct ipop_peer *p, struct ipop_keypair *kp,
			 uint64_t now, const char *role)
{
	ipop_keypair_retire(n, &p->prev);
	p->prev = p->cur;
	p->cur = kp;
	if (p->state != IPOP_PEER_UP) {
		p->up_since_ms = now;
		LOG_INFO("peer %s: up (%s)", p->name, role);
	} else {
		p->rekeys++;
	}
	p->state = IPOP_PEER_UP;
	p->handshakes++;
	p->hs_attempts = 0;
	p->last_error[0] = '\0';
	n->dirty = true;
}

static struct ipop_peer *peer_by_hs_index(const struct ipop_node *n, uint32_t idx)
{
	for (uint16_t i = 0; i < n->n_peers; i++) {
		struct ipop_peer *p = n->peers[i];
		if (p && p->hs_active && p->hs_index == idx)
			return p;
	}
	return NULL;
}

bool ipop_hs_resp_in_flight(const struct ipop_node *n, const struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t ip_off, poff, plen;

	if (ipop_encap_parse(f, m->data_len, &ip_off, &poff, &plen) != 0 ||
	    ipop_wire_classify(f + poff, plen) != IPOP_MSG_HANDSHAKE_RESP)
		return false;
	const struct ipop_hs_resp *msg = (const struct ipop_hs_resp *)(f + poff);
	return peer_by_hs_index(n, msg->receiver_index) != NULL;
}

static void handle_resp(struct ipop_node *n, const struct ipop_hs_resp *msg,
			const struct hs_src *src, uint64_t now)
{
	struct ipop_noise_session keys;
	struct ipop_hs_payload pl;
	int err;

	n->cs.hs_resp_rx++;
	struct ipop_peer *p = peer_by_hs_index(n, msg->receiver_index);
	if (p == NULL) {
		n->cs.hs_bad_index++;
		return;
	}
	int r = ipop_noise_resp_consume(&p->hs, msg, &pl, &keys);
	if (r != 0) {
		count_refused(n, r);
		return;
	}
	p->hs_active = false;   /* hs wiped by resp_consume; the index moves to the keypair */
	p->hs_cookie_open = false;
	if (ipop_cipher_name(pl.rx_cipher) == NULL) {
		n->cs.hs_bad_payload++;
		ipop_index_free(n, p->hs_index);
		sodium_memzero(&keys, sizeof(keys));
		return;
	}
	p->send_cipher = pl.rx_cipher;
	struct ipop_keypair *kp = ipop_keypair_new(n, p, &keys, p->hs_index, msg->sender_index,
						   true, &err);
	sodium_memzero(&keys, sizeof(keys));
	if (kp == NULL) {
		ipop_index_free(n, p->hs_index);
		count_keypair_fail(n, p, err);
		return;
	}
	update_endpoint(n, p, src, now);
	p->hs_rtt_ms = now - p->hs_sent_ms;
	p->hs_rtt_at_ms = now;
	make_current(n, p, kp, now, "initiator");
	p->last_rx_ms = now;
	/* Published by ipop_table_flush() after this burst of control messages;
	 * the keepalive is sealed here, by control, and needs no table. */
	ipop_hs_keepalive(n, p, now);   /* confirms the session to the responder */
}

/* A cookie reply to our initiation in flight: keep the cookie for the mac2 of
 * the next one. Not resent now: the retry timer sends it, so a stream of
 * cookie replies cannot make us send a stream of initiations. */
static void handle_cookie(struct ipop_node *n, const struct ipop_cookie_reply *msg, uint64_t now)
{
	uint8_t cookie[IPOP_COOKIE_LEN];
	struct ipop_peer *p = peer_by_hs_index(n, msg->receiver_index);

	if (p == NULL) {
		n->cs.hs_cookie_bad_index++;
		return;
	}
	if (!p->hs_cookie_open) {
		n->cs.hs_cookie_replayed++;
		return;
	}
	if (ipop_cookie_reply_open(p->cookie_key, p->hs_mac1, msg, cookie) != 0) {
		n->cs.hs_cookie_bad_auth++;
		return;
	}
	memcpy(p->cookie, cookie, sizeof(p->cookie));
	sodium_memzero(cookie, sizeof(cookie));
	p->cookie_ms = now;
	p->hs_cookie_open = false;
	n->cs.hs_cookie_rx++;
	LOG_DEBUG("peer %s: cookie reply taken (it is under load)", p->name);
}

void ipop_hs_handle(struct ipop_node *n, struct rte_mbuf *m)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t ip_off, poff, plen;
	uint64_t now = ipop_now_ms();

	if (ipop_encap_parse(f, m->data_len, &ip_off, &poff, &plen) != 0) {
		n->cs.ring_bad++;
		return;
	}
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)f;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + ip_off);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(f + poff - 8);
	struct hs_src src = { ip->src_addr, udp->src_port, eth->src_addr, udp->dst_port };
	int type = ipop_wire_classify(f + poff, plen);
	if (type == IPOP_MSG_HANDSHAKE_INIT)
		handle_init(n, (const struct ipop_hs_init *)(f + poff), &src, now);
	else if (type == IPOP_MSG_HANDSHAKE_RESP)
		handle_resp(n, (const struct ipop_hs_resp *)(f + poff), &src, now);
	else if (type == IPOP_MSG_COOKIE_REPLY)
		handle_cookie(n, (const struct ipop_cookie_reply *)(f + poff), now);
	else
		n->cs.ring_bad++;
}

uint64_t ipop_hs_retry_delay(const struct ipop_node *n, const struct ipop_peer *p)
{
	unsigned shift = p->hs_attempts < 4 ? p->hs_attempts : 4;   /* cap at 16x */
	uint64_t base = (uint64_t)n->cfg->handshake_retry_ms << shift;

	return base + randombytes_uniform((uint32_t)(base / 4 + 1));  /* jitter */
}


void ipop_hs_confirm(struct ipop_node *n, struct ipop_peer *p, uint64_t now)
{
	if (p->next == NULL || !__atomic_load_n(&p->next->rx_confirmed, __ATOMIC_ACQUIRE))
		return;
	struct ipop_keypair *kp = p->next;
	p->next = NULL;
	/* The responder's round trip: response sent to its confirmation seen
	 * here (the initiator's keepalive, sent as it takes the response). */
	if (p->hs_resp_sent_ms != 0) {
		p->hs_rtt_ms = now > p->hs_resp_sent_ms ? now - p->hs_resp_sent_ms : 0;
		p->hs_rtt_at_ms = now;
		p->hs_resp_sent_ms = 0;
	}
	make_current(n, p, kp, now, "responder");
	ipop_hs_abandon(n, p);   /* a simultaneous initiation of ours is no longer needed */
	n->dirty = true;
}

void ipop_hs_queue_resp(struct ipop_node *n, const struct ipop_peer *p,
			const struct ipop_hs_resp *msg)
{
	if (n->n_pending_resp == IPOP_PENDING_RESP)
		ipop_table_flush(n);
	struct ipop_pending_resp *q = &n->pending_resp[n->n_pending_resp++];
	q->peer_slot = p->slot;
	q->ip = p->ip;
	q->port = p->port;
	q->src_port = p->local_port;
	q->chan = p->relay_chan;
	q->msg = *msg;
}

/* A response left: the responder's round trip runs from now to the
 * initiator's first packet on the session (ipop_hs_confirm). Only if the
 * session waiting in next is still this response's (by our index in it). */
static void resp_sent(struct ipop_node *n, const struct ipop_pending_resp *q)
{
	struct ipop_peer *p = q->peer_slot < n->n_peers ? n->peers[q->peer_slot] : NULL;

	if (p != NULL && p->next != NULL && p->next->local_index == q->msg.sender_index)
		p->hs_resp_sent_ms = ipop_now_ms();
}

void ipop_hs_send_queued(struct ipop_node *n, bool live)
{
	for (unsigned i = 0; i < n->n_pending_resp; i++) {
		struct ipop_pending_resp *q = &n->pending_resp[i];
		/* Unpublished, the index is unknown to the workers: the initiator's
		 * confirmation would be dropped, so it had better retry. */
		if (!live)
			n->cs.hs_resp_dropped++;
		else if (ipop_ctrl_send_udp(n, q->ip, q->port, q->src_port, q->chan, &q->msg,
					    sizeof(q->msg)) == 0) {
			n->cs.hs_resp_tx++;
			resp_sent(n, q);
		}
	}
	n->n_pending_resp = 0;
}

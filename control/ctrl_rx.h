/* ctrl_rx.h - the control thread's receive path: what the workers hand over on
 * the to_ctrl ring (ARP copies, handshake messages), taken once per tick under
 * a budget. Thread: control.
 *
 * Why a budget: a handshake initiation that passes mac1 (anyone who knows our
 * public key can make one) costs X25519 work before it can be refused, so a
 * flood of them used to keep the tick busy for as long as it lasted, and with
 * it the timers, keepalives, the API socket and XMPP (docs/handshake.md,
 * "Handshakes under load").
 */
#ifndef IPOP_CONTROL_CTRL_RX_H
#define IPOP_CONTROL_CTRL_RX_H

struct ipop_node;

/* At most this many packets are taken from the ring per tick: the ring's size
 * (control/node.c), i.e. everything that was there when the tick began and
 * not what the workers keep adding meanwhile. Taking them is cheap (a look at
 * the headers, a free); emptying the ring every tick is what leaves room in it
 * for the workers' ARP copies and our peers' responses during a flood. */
#define IPOP_CTRL_RX_MAX 1024
/* The control thread's tick while it has work (control/daemon.c): the
 * interval of the workers' budgets of unproven initiations under load. */
#define IPOP_CTRL_TICK_MS 10
/* At most this many handshake messages per tick reach the Noise code (any
 * X25519): responses first (only those whose receiver index names an
 * initiation of ours in flight: the others are refused before it, so a flood
 * of them cannot use it up), then initiations; initiations over it are
 * dropped and counted (hs_init_shed). 32 x ~0.2 ms (a valid initiation:
 * consume and respond) is ~6 ms of a 10 ms tick at worst, ~1.3 ms for forged
 * ones (one X25519 each), and still 3,200 handshakes a second, far more than
 * any gateway's peers need (one per peer per rekey_after, or per retry). */
#define IPOP_CTRL_HS_BUDGET 32
/* More initiations in one tick than IPOP_CTRL_HS_BUDGET put the node under
 * load for this long: initiations must then prove their source address with
 * mac2 (a cookie, session/cookie.h) or get a cookie reply instead of X25519
 * work (docs/handshake.md, "Cookie replies"). WireGuard holds its load state
 * for 1 s too. */
#define IPOP_CTRL_LOAD_HOLD_MS 1000
/* At most this many cookie replies per tick (hs_cookie_shed over it): an
 * initiation answered with one costs 10-20 us measured on the shared 2-vCPU
 * VM (three BLAKE2b, one XChaCha20-Poly1305, an mbuf; tests/unit/
 * test_hs_flood prints it), so at most ~2.5-5 ms of a tick, less than the
 * X25519 budget's 6 ms, and 25,600 a second answer the 22,000 flood
 * entirely, so a genuine initiator in it gets its reply. */
#define IPOP_CTRL_COOKIE_BUDGET 256
/* (Under load the workers pass control at most these two budgets' worth of
 * unproven initiations a tick, shared out over them; the rest are shed
 * before the ring: docs/handshake.md, "mac2 in the workers".) */
/* Of those, at most this many to addresses that are not a known peer's
 * current endpoint (session/hslimit.h, ipop_known_src): a flood from spoofed
 * addresses gets 3,200 replies a second, not 25,600, and cannot take the
 * replies our peers need (a rekeying peer's initiation under load). A new or
 * roamed peer still gets one within a few retries of a flood at the
 * issue's 22,000 a second (one in seven per attempt); against a 100,000 a
 * second flood it takes some thirty (docs/handshake.md). */
#define IPOP_CTRL_COOKIE_BUDGET_OTHER 32

/* Take what the workers queued for control (at most IPOP_CTRL_RX_MAX) and
 * handle it: every ARP copy to the next-hop table; cookie replies, handshake
 * responses, then initiations, to the session state machine up to
 * IPOP_CTRL_HS_BUDGET, the rest dropped and counted (under load, initiations
 * without a valid mac2 get cookie replies instead); publish what changed. */
void ipop_ctrl_rx_drain(struct ipop_node *n);

#endif

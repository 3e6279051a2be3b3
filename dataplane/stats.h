/* stats.h - per-lcore counters of the fast path.
 *
 * Ownership: each worker lcore writes only its own struct ipop_lcore_stats (plain
 * increments, no atomics); the control thread reads all of them and sums. 64-bit
 * aligned loads do not tear on x86-64, so readers take no lock; a reader may see a
 * value one burst old, which is fine for counters.
 */
#ifndef IPOP_DATAPLANE_STATS_H
#define IPOP_DATAPLANE_STATS_H

#include <stdint.h>

#define IPOP_MAX_PEERS 1024   /* peer slots in the fast-path table */

/* Every reason the fast path drops a packet. Names (ipop_drop_name) are part of
 * the management API: never renumber, only append. */
enum ipop_drop {
	IPOP_DROP_WAN_SHORT,        /* UDP payload too short for any ipop message */
	IPOP_DROP_WAN_VERSION,      /* unknown protocol version */
	IPOP_DROP_WAN_TYPE,         /* unknown message type / reserved bits set */
	IPOP_DROP_WAN_LENGTH,       /* wrong length for its type */
	IPOP_DROP_WAN_INDEX,        /* receiver index names no live session */
	IPOP_DROP_WAN_AUTH,         /* AEAD authentication failed */
	IPOP_DROP_WAN_REPLAY,       /* counter already seen */
	IPOP_DROP_WAN_OLD,          /* counter older than the replay window */
	IPOP_DROP_WAN_EXPIRED,      /* session past reject-after limits */
	IPOP_DROP_INNER_SHORT,      /* decrypted frame shorter than an Ethernet header */
	IPOP_DROP_INNER_SRC,        /* inner source MAC multicast or zero */
	IPOP_DROP_NOT_LOCAL,        /* unicast for a MAC we know is behind another peer */
	IPOP_DROP_LAN_SRC,          /* LAN frame with multicast/zero source MAC */
	IPOP_DROP_LAN_LOCAL,        /* LAN frame for a LAN-local MAC (the switch delivers it) */
	IPOP_DROP_NO_SESSION,       /* frame for a peer without a session */
	IPOP_DROP_NO_NEXTHOP,       /* next hop MAC not resolved yet */
	IPOP_DROP_TOO_BIG,          /* frame larger than the overlay allows */
	IPOP_DROP_MULTISEG,         /* chained mbuf that could not be linearised */
	IPOP_DROP_NOMEM,            /* mbuf allocation failed (copy, fragment) */
	IPOP_DROP_FRAG,             /* fragmentation failed */
	IPOP_DROP_REASM,            /* reassembly failed or timed out */
	IPOP_DROP_CTRL_RING_FULL,   /* handshake/ARP ring to control full */
	IPOP_DROP_TX_FULL,          /* port TX queue full */
	IPOP_DROP_NO_FLOOD_TARGET,  /* broadcast with nowhere to go */
	IPOP_DROP__MAX
};

const char *ipop_drop_name(unsigned reason);

struct ipop_peer_counters {
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
};

struct ipop_lcore_stats {
	uint64_t lan_rx, lan_tx, wan_rx, wan_tx, host_rx, host_tx;
	uint64_t exc_rx, exc_tx;        /* WAN exception path (kernel TAP) */
	uint64_t ctrl_tx, ctrl_rx;      /* packets to/from the control thread */
	uint64_t encrypted, decrypted, keepalives_rx, flooded, learned;
	uint64_t frag_out, reasm_in, frag_inner;
	uint64_t polls, idle_polls, sleeps;
	uint64_t busy_tsc, total_tsc;   /* cycles in non-empty iterations / all */
	uint64_t drops[IPOP_DROP__MAX];
	struct ipop_peer_counters peer[IPOP_MAX_PEERS];
} __attribute__((aligned(64)));

#endif

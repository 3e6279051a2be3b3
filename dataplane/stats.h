/* stats.h - per-lcore counters of the fast path, and their lists.
 *
 * Ownership: each worker lcore writes only its own struct ipop_lcore_stats (plain
 * increments, no atomics); the control thread reads all of them and sums. 64-bit
 * aligned loads do not tear on x86-64, so readers take no lock; a reader may see a
 * value one burst old, which is fine for counters.
 *
 * Each list below is X(name, meaning) (dataplane/counters.h): it generates the
 * fields, and stats.c's descriptor tables, which the management API walks.
 */
#ifndef IPOP_DATAPLANE_STATS_H
#define IPOP_DATAPLANE_STATS_H

#include <stdint.h>

#include "dataplane/counters.h"

#define IPOP_MAX_PEERS 1024   /* peer slots in the fast-path table */
#define IPOP_MAX_GATEWAYS_STATS 4096   /* = IPOP_MAX_GATEWAYS (tables.h checks) */
#define IPOP_FLOOD_HOPS_HIST 16

/* Summed over the workers in `show`'s dataplane object. */
#define IPOP_LCORE_COUNTERS(X) \
	X(lan_rx, "frames received from the LAN port") \
	X(lan_tx, "frames sent on the LAN port") \
	X(wan_rx, "frames received from the WAN port") \
	X(wan_tx, "frames sent on the WAN port (tunnel packets, the kernel's and the control thread's)") \
	X(host_rx, "frames received from the host TAP (endpoint mode)") \
	X(host_tx, "frames sent to the host TAP") \
	X(exc_rx, "frames the kernel sent through the WAN exception TAP") \
	X(exc_tx, "WAN frames handed to the kernel through the exception TAP (ARP, the host's own traffic)") \
	X(stun_exc, "STUN messages (magic cookie 0x2112A442 at bytes 4-7) to the tunnel's address and port or an ICE agent's port, handed to the kernel for the ICE agent (also counted in exc_tx)") \
	X(ice_port_exc, "datagrams to an ICE agent's port (wan.port + 1 .. + 64, with ice { }) that are neither ipop messages nor STUN, nor ChannelData carrying an ipop message: handed to the kernel for the agent (also counted in exc_tx)") \
	X(turn_tx, "tunnel messages the workers sent as TURN ChannelData to the TURN server (a relayed pair: our local candidate is the relay's)") \
	X(turn_rx, "ipop messages taken out of TURN ChannelData from the TURN server on a channel control published (then processed as any tunnel message)") \
	X(turn_chan_exc, "ChannelData from the TURN server to an agent's port whose content is not an ipop message (the agent's consent checks over its channel): handed to the kernel for the agent (also counted in ice_port_exc)") \
	X(turn_ctrl, "copies of STUN messages between the agents' ports and the TURN server sent to control (requests from the kernel, responses from the server), which learns the channel libnice bound and the server's errors from them") \
	X(stun_ctrl, "copies of STUN requests and responses other hosts sent to an ICE agent's port (checks and their responses) and of the TURN server's Data indications to it, sent to control to check their MESSAGE-INTEGRITY (ice.stun); the originals go to the kernel too") \
	X(stun_ctrl_shed, "such STUN messages not copied: over the worker's budget of 256 copies a second (`IPOP_DP_STUN_COPIES_PER_S`), so a STUN flood costs control bounded work; the originals still go to the kernel") \
	X(ctrl_tx, "packets queued to the control thread (handshakes, copies of ARP)") \
	X(wan_hs_mac2_ok, "initiations under load whose mac2 the worker verified (their source proven by a cookie): queued to control") \
	X(wan_hs_unproven_tx, "initiations under load without a valid mac2 queued to control within the worker's budget, for a cookie reply") \
	X(ctrl_rx, "packets the control thread sent through the workers (handshakes, keepalives, ARP)") \
	X(encrypted, "frames sealed for a peer") \
	X(decrypted, "tunnel packets whose AEAD tag verified") \
	X(keepalives_rx, "keepalives received (authenticated empty data messages)") \
	X(flooded, "broadcast, multicast or unknown-destination frames flooded") \
	X(learned, "MACs learnt (new, or moved to another port or peer)") \
	X(frag_out, "outer IPv4 fragments sent (tunnel datagrams above wan.mtu)") \
	X(reasm_in, "outer datagrams reassembled from fragments") \
	X(frag_inner, "inner IPv4 fragments made at the LAN edge (packets without DF above the overlay MTU)") \
	X(polls, "poll-loop iterations") \
	X(idle_polls, "poll-loop iterations that found no packet") \
	X(sleeps, "idle back-off sleeps") \
	X(waits, "idle waits in epoll on the ports' fds (dpdk.idle_wait), each ended by a frame, control or a 1 s timeout") \
	X(spin_yields, "CPU yields while an idle-waiting worker spins before its wait") \
	X(flood_tx, "Bounded Flood copies sealed for peers (originated here or relayed)") \
	X(flood_rx, "Bounded Flood copies received that passed every check") \
	X(flood_relayed, "Bounded Flood copies relayed onward (one per next hop)") \
	X(transit_tx, "unicast frames sent towards a gateway without a direct tunnel, through the neighbour its route names (wire type 5)") \
	X(transit_rx, "transit frames for this gateway, delivered here") \
	X(transit_relayed, "transit frames for another gateway, forwarded to the next neighbour") \
	X(learn_limited, "MACs not learnt (or not moved) behind a peer: over 128 table changes a second for that peer on that worker") \
	X(learn_no_room, "MACs not learnt behind a peer: every way of their bucket held a live LAN or host MAC, which a peer's MAC never evicts") \
	X(transit_route_miss, "unicast frames for a MAC behind a gateway with neither a direct tunnel nor a live route: flooded instead (the flood relearns the route)") \
	X(host_reads, "reads from the offload host TAP (host.offload): one per frame or large segment the kernel handed over") \
	X(host_gso_in, "large TCP segments (a virtio-net GSO header) read from the host TAP") \
	X(host_gso_frames, "frames cut from those segments before sealing (software TSO; also counted in host_rx)") \
	X(host_csum_done, "frames from the host TAP without GSO whose checksum ipopd completed (VIRTIO_NET_HDR_F_NEEDS_CSUM)") \
	X(host_writes, "writes to the offload host TAP: one per frame or coalesced segment") \
	X(host_gro_segments, "coalesced TCP segments written to the host TAP (GRO: a virtio-net GSO header)") \
	X(host_gro_merged, "frames merged into those segments (each counted, the first of a segment too)")

/* Cycle budget: shown per worker, and summed only as dataplane.busy_pct. */
#define IPOP_LCORE_CYCLES(X) \
	X(busy_tsc, "TSC cycles spent in poll-loop iterations that found packets") \
	X(total_tsc, "TSC cycles spent in all poll-loop iterations")

/* `show`'s per_worker[] entries: fields of the two lists above, in this order. */
#define IPOP_WORKER_COUNTERS(X) \
	X(lan_rx) X(wan_rx) X(encrypted) X(decrypted) X(busy_tsc) X(total_tsc) X(sleeps) X(waits)

/* Every reason the fast path drops a packet: X(enum suffix, name, meaning).
 * Names (ipop_drop_name) are part of the management API: never renumber, only
 * append. */
#define IPOP_DROPS(X) \
	X(WAN_SHORT, wan_short, "UDP payload on the tunnel port too short for any ipop message") \
	X(WAN_VERSION, wan_bad_version, "ipop message of an unknown protocol version") \
	X(WAN_TYPE, wan_bad_type, "ipop message of an unknown type or with reserved bits set") \
	X(WAN_LENGTH, wan_bad_length, "ipop message of the wrong length for its type") \
	X(WAN_INDEX, wan_unknown_index, "receiver index of no live session (old session, restarted peer, forgery)") \
	X(WAN_AUTH, wan_auth_failed, "AEAD tag did not verify (wrong key, corruption, forgery)") \
	X(WAN_REPLAY, wan_replay, "counter already seen") \
	X(WAN_OLD, wan_too_old, "counter behind the 2048-packet replay window") \
	X(WAN_EXPIRED, wan_session_expired, "session older than `timers.reject_after`") \
	X(INNER_SHORT, inner_short, "frame shorter than an Ethernet header") \
	X(INNER_SRC, inner_bad_src_mac, "decrypted frame with a multicast or zero source MAC") \
	X(NOT_LOCAL, inner_not_local, "decrypted unicast frame for a MAC this node knows is behind another peer") \
	X(LAN_SRC, lan_bad_src_mac, "LAN or host TAP frame with a multicast or zero source MAC") \
	X(LAN_LOCAL, lan_local_dst, "LAN frame for a MAC on the same LAN (the switch delivers it)") \
	X(NO_SESSION, no_session, "frame for a peer without a usable session") \
	X(NO_NEXTHOP, no_nexthop, "frame for a peer whose next-hop MAC is not resolved yet") \
	X(TOO_BIG, too_big, "frame above 1518 bytes that cannot be fragmented") \
	X(MULTISEG, multiseg, "chained mbuf that could not be linearised") \
	X(NOMEM, no_mbuf, "mbuf allocation failed (copy, fragment)") \
	X(FRAG, frag_failed, "fragmentation failed") \
	X(REASM, reasm_failed, "outer fragments dropped by reassembly: overlapping, duplicate, more than 8 to a datagram, bad length, or no room in their hash bucket") \
	X(CTRL_RING_FULL, ctrl_ring_full, "the ring to the control thread was full") \
	X(TX_FULL, tx_full, "a port's TX queue was full") \
	X(NO_FLOOD_TARGET, no_flood_target, "broadcast with nowhere to go (no peer up, no other local port)") \
	X(FLOOD_HDR, flood_bad_header, "flood copy whose fabric header has nonzero reserved bytes") \
	X(FLOOD_HOPS, flood_too_many_hops, "flood copy already relayed 64 times (tables that disagree)") \
	X(FLOOD_OWN, flood_own_origin, "flood copy of a frame this gateway originated") \
	X(FLOOD_NOT_NBR, flood_not_neighbour, "flood copy from a peer outside this gateway's adjacency") \
	X(FLOOD_BOUND, flood_bad_bound, "flood copy whose bound leaves this gateway outside its sender's arc") \
	X(TRANSIT_HDR, transit_bad_header, "transit frame whose fabric header has nonzero reserved bytes") \
	X(TRANSIT_HOPS, transit_too_many_hops, "transit frame already forwarded 64 times (routes that disagree)") \
	X(TRANSIT_OWN, transit_own_origin, "transit frame claiming this gateway as its origin") \
	X(TRANSIT_UNKNOWN, transit_unknown_gateway, "transit frame for a gateway this one does not know (not an online member)") \
	X(TRANSIT_NO_ROUTE, transit_no_route, "transit frame for a gateway with neither a direct tunnel nor a live route from here") \
	X(TRANSIT_LOOP, transit_loop, "transit frame whose next hop would be the neighbour it came from") \
	X(REASM_TIMEOUT, reasm_timeout, "outer fragments of a datagram not complete within 1 s of its first fragment") \
	X(REASM_EVICTED, reasm_evicted, "outer fragments evicted, older than 1 ms, to make room when reassembly held its cap of mbufs") \
	X(REASM_FULL, reasm_full, "outer fragments refused: reassembly held its cap of mbufs, none older than 1 ms") \
	X(SEAL_FAILED, seal_failed, "frame the AEAD refused to seal (a key its IPsec-MB manager cannot use): a local fault, not a missing session") \
	X(LAN_LINK_LOCAL, lan_link_local, "LAN or host TAP frame to an IEEE link-local group (01:80:C2:00:00:00-0F: STP, PAUSE, LACP, EAPOL): it stays on its link") \
	X(INNER_LINK_LOCAL, inner_link_local, "decrypted frame or flood copy to an IEEE link-local group: never delivered or relayed") \
	X(INNER_SRC_LOCAL, inner_src_local, "decrypted frame whose source MAC was seen on this gateway's LAN or host port within 5 s: a peer may not take a local host's MAC") \
	X(TURN_CHANNEL, turn_unknown_channel, "TURN ChannelData carrying an ipop message on an agent's port, but not from the TURN server on the channel control published for that port") \
	X(TURN_LENGTH, turn_bad_length, "TURN ChannelData whose length field exceeds the datagram or leaves more than 3 bytes of padding") \
	X(VNET_HDR, host_bad_vnet_hdr, "frame or segment from the offload host TAP whose virtio-net header does not describe it (unknown or UDP GSO type, zero gso_size, headers that do not parse, lengths that disagree, a checksum position outside the frame)") \
	X(HOST_WRITE, host_write_failed, "frame the offload host TAP did not take (the write failed: the kernel's queue full, the interface down); a coalesced segment counts each frame in it") \
	X(HS_MAC1, wan_hs_bad_mac1, "handshake initiation or response (direct or through our TURN relay) whose mac1 is not for our key (another node's, scanning, corruption, a shaped flood): dropped by the worker, not queued to control") \
	X(HS_UNPROVEN, wan_hs_unproven_shed, "initiation under load without a valid mac2 (its mac1 not looked at), over the worker's budget of those it queues to control (control's cookie replies a tick, shared out over the workers): dropped by the worker, no cookie reply")

#define IPOP_DROP_ENUM(id, name, doc) IPOP_DROP_##id,
enum ipop_drop {
	IPOP_DROPS(IPOP_DROP_ENUM)
	IPOP_DROP__MAX
};

const char *ipop_drop_name(unsigned reason);

/* One peer's traffic as one worker counted it (`show`: peers[], over all workers). */
#define IPOP_PEER_COUNTERS(X) \
	X(tx_packets, "frames the workers sealed for the peer") \
	X(tx_bytes, "bytes of those frames (inner Ethernet frames)") \
	X(rx_packets, "authenticated packets received from the peer, keepalives included") \
	X(rx_bytes, "bytes of their inner Ethernet frames")

struct ipop_peer_counters {
	IPOP_PEER_COUNTERS(IPOP_COUNTER_FIELD)
};

struct ipop_lcore_stats {
	IPOP_LCORE_COUNTERS(IPOP_COUNTER_FIELD)
	IPOP_LCORE_CYCLES(IPOP_COUNTER_FIELD)
	uint64_t drops[IPOP_DROP__MAX];
	struct ipop_peer_counters peer[IPOP_MAX_PEERS];   /* the bulk, by slot */
	/* Inner frame bytes this lcore sent as transit towards each gateway of
	 * the directory (tables.h: IPOP_MAX_GATEWAYS slots): control's on-demand
	 * links read them (control/fib/gateways.c). */
	uint64_t transit_bytes[IPOP_MAX_GATEWAYS_STATS];
	/* Flood copies accepted here by the length of the path they took
	 * (gateways crossed: the fabric header's hops + 1), [i] = i + 1 hops, the
	 * last bucket everything longer: `show`'s dataplane.flood_rx_by_hops. */
	uint64_t flood_rx_hops[IPOP_FLOOD_HOPS_HIST];
	/* A gauge, not a counter: mbufs this lcore's outer reassembly holds now
	 * (dataplane/reasm.h), `show`'s dataplane.reasm_held_mbufs summed. */
	uint64_t reasm_held;
} __attribute__((aligned(64)));

/* The families above, for the management API (stats.c). */
extern const struct ipop_counter_family ipop_lcore_family;    /* "dataplane" */
extern const struct ipop_counter_family ipop_drop_family;     /* "drops" */
extern const struct ipop_counter_family ipop_worker_family;   /* "per_worker" */
extern const struct ipop_counter_family ipop_peer_family;     /* "peer_traffic" */

#endif

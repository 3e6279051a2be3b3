/* tx.h - the control thread's transmit path: frames control makes (handshake
 * messages, keepalives, ARP requests) go through a single-producer ring to
 * worker 0, which sends them on the WAN port. Thread: control.
 */
#ifndef IPOP_CONTROL_FIB_TX_H
#define IPOP_CONTROL_FIB_TX_H

#include <stdint.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

struct ipop_node;

/* Queue a whole frame for the WAN. Takes m (freed on failure); -ENOBUFS when
 * the ring is full (counted in tx_ring_full). */
int ipop_ctrl_send(struct ipop_node *n, struct rte_mbuf *m);
/* Send an ipop message (payload bytes) to ip:port from the WAN address and
 * src_port (all network order; src_port 0: wan.port), as TURN ChannelData on
 * channel chan (host order; 0: none) when ip:port is our TURN server on a
 * relayed pair: -EHOSTUNREACH while the next hop is unresolved, -ENOMEM,
 * -EMSGSIZE, or what ipop_ctrl_send returns. */
int ipop_ctrl_send_udp(struct ipop_node *n, uint32_t ip, uint16_t port, uint16_t src_port,
		       uint16_t chan, const void *payload, uint16_t len);
/* The same through the next hop whose MAC is dst_mac, without the neighbour
 * table: an answer to an unauthenticated sender (a cookie reply) goes back the
 * way its frame came and must neither teach the table nor make us ARP. */
int ipop_ctrl_send_udp_via(struct ipop_node *n, const struct rte_ether_addr *dst_mac, uint32_t ip,
			   uint16_t port, uint16_t src_port, uint16_t chan, const void *payload,
			   uint16_t len);

#endif

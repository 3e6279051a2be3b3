/* table.h - building the fast-path table (struct ipop_fp_table, see
 * dataplane/tables.h) from the node's peers, sessions and next hops, and
 * publishing it with publish.h. Thread: control.
 *
 * Control changes peers and sessions freely and only marks the node dirty;
 * one publication then covers a whole burst of changes (ipop_table_flush),
 * and what had to wait for it (handshake responses whose index must be live)
 * goes out right after.
 */
#ifndef IPOP_CONTROL_FIB_TABLE_H
#define IPOP_CONTROL_FIB_TABLE_H

#include <stdint.h>

struct ipop_node;
struct ipop_fp_table;

/* Build a new table from the node's state and publish it; the old one and
 * the retired keypairs are freed after a grace period. 0 or -ENOMEM. */
int ipop_table_publish(struct ipop_node *n);
/* Publish if anything changed, then send the queued handshake responses.
 * Called after each burst of control messages and on every tick. */
void ipop_table_flush(struct ipop_node *n);
/* The TURN channel (host order; 0: none) on which the workers take
 * ChannelData from src_ip:src_port to our port dst_port (all network order)
 * by the table published last: a handshake control got from that 5-tuple came
 * through the relay on it (the workers hand it over with the ChannelData
 * header cut out, dataplane/receive.c), and an answer must go back on it. */
uint16_t ipop_table_relay_chan(const struct ipop_node *n, uint32_t src_ip, uint16_t src_port,
			       uint16_t dst_port);

#endif

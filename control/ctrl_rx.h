/* ctrl_rx.h - the control thread's receive path: what the workers hand over on
 * the to_ctrl ring (ARP copies, handshake messages), taken once per tick.
 * Thread: control.
 */
#ifndef IPOP_CONTROL_CTRL_RX_H
#define IPOP_CONTROL_CTRL_RX_H

struct ipop_node;

/* Take what the workers queued for control and handle it: ARP to the next-hop
 * table, handshakes to the session state machine; publish what changed. */
void ipop_ctrl_rx_drain(struct ipop_node *n);

#endif

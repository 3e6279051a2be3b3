/* port.h - DPDK ethdev set-up for the gateway's ports (NICs and vdevs) and the
 * TAP exception paths, the rx queues' fds an idle worker waits on, and each
 * port's own statistics. Thread: control (start-up, shutdown, statistics);
 * ipop_port_rx_fd_claim: a worker, as it starts.
 */
#ifndef IPOP_DRIVERS_PORT_H
#define IPOP_DRIVERS_PORT_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <rte_ether.h>
#include <rte_mempool.h>

/* A port's own statistics, as the device and the kernel count them (`show`:
 * ports[]): what the fast path's counters cannot see, because it happened before
 * a frame reached a worker or after one left it. X(name, meaning), the shape of
 * dataplane/counters.h's lists; control/counters.c makes the family. */
#define IPOP_PORT_COUNTERS(X) \
	X(ipackets, "frames the port received (rte_eth_stats)") \
	X(opackets, "frames the port sent (net_af_packet: handed to the kernel)") \
	X(ibytes, "bytes received") \
	X(obytes, "bytes sent") \
	X(imissed, "frames the device dropped because its rx queues were full (NICs, net_af_xdp; net_af_packet counts this in `sock_rx_dropped`)") \
	X(ierrors, "frames received with errors") \
	X(oerrors, "frames the device failed to send (net_af_packet: the kernel refused the send)") \
	X(rx_nombuf, "rx mbuf allocation failures") \
	X(sock_rx, "net_af_packet: frames the kernel delivered or tried to deliver to the port's rx rings (PACKET_STATISTICS, drops included)") \
	X(sock_rx_dropped, "net_af_packet: frames the kernel dropped because the port's rx ring was full (PACKET_STATISTICS `tp_drops`)") \
	X(if_rx_dropped, "the kernel interface's rx_dropped (`ip -s link`) since the port started") \
	X(if_tx_dropped, "the kernel interface's tx_dropped since the port started: on a TAP, frames the kernel could not queue to ipopd; on a veth, frames its peer could not take")

#define IPOP_PORT_STAT_FIELD(name, doc) uint64_t name;

struct ipop_port_stats {
	IPOP_PORT_COUNTERS(IPOP_PORT_STAT_FIELD)
};

/* Written by the control thread only (start-up, statistics). */
struct ipop_port {
	uint16_t id;
	char name[64];
	char driver[32];               /* the PMD's name, e.g. "net_af_packet" */
	char ifname[16];               /* the kernel interface behind it ("" for a NIC) */
	unsigned if_index;             /* its index, 0 for a NIC */
	uint16_t n_rxq, n_txq;
	struct rte_ether_addr mac;
	bool started;
	/* net_af_packet's PACKET_STATISTICS, summed over reads: the kernel keeps
	 * 32-bit counts and zeroes them on every read. */
	uint64_t sock_rx, sock_rx_dropped;
	/* The kernel interface's drop counts when the port started. */
	uint64_t if_rx_dropped0, if_tx_dropped0;
};

/* True if spec names a vdev ("net_..."), which ipopd passes to the EAL itself. */
bool ipop_port_is_vdev(const char *spec);

/* Write the EAL --vdev argument for spec into out, adding what ipopd needs for
 * net_af_packet when the spec does not say: qpairs=queues, and framecnt=frames
 * (the frames of each ring of a queue; DPDK 22.11 sizes the rx and tx rings
 * alike) unless it has any of framecnt, blocksz or framesz. Returns 0 or
 * -ENAMETOOLONG. */
int ipop_port_vdev_arg(const char *spec, unsigned queues, unsigned frames, char *out,
		       size_t outlen);

/* Find the port of a device spec (vdev name before the first comma, or a PCI
 * address / device name) after rte_eal_init. */
int ipop_port_lookup(const char *spec, struct ipop_port *p);

/* Configure n_rxq/n_txq queues (RSS on the IP/UDP hash when n_rxq > 1 and the
 * device supports it), promiscuous mode, and start. */
int ipop_port_start(struct ipop_port *p, uint16_t n_rxq, uint16_t n_txq,
		    struct rte_mempool *pool, uint16_t nb_desc, char *err, size_t errlen);

int ipop_port_set_mac(struct ipop_port *p, const struct rte_ether_addr *mac);

/* A file descriptor that becomes readable (level-triggered) when rx queue q of a
 * started port has frames, for a worker that waits in epoll instead of polling
 * (lcore/worker.c, dpdk.idle_wait). The fd stays owned by the driver and closes
 * with the port. net_tap: its queue's TAP fd, through DPDK's rx interrupt
 * vector (ipop_port_start asks for rx interrupts on TAPs). net_af_packet: the
 * queue's PACKET_RX_RING socket (the driver has no rx interrupts; see port.c).
 * -ENOTSUP for every other driver (memif, af_xdp, PCI NICs: they keep the
 * nanosleep back-off). Control thread, after ipop_port_start. */
int ipop_port_rx_fd(const struct ipop_port *p, uint16_t q);

/* Called by the thread that waits on fd (from ipop_port_rx_fd): if the driver
 * asked the kernel for a signal on fd's arrivals (net_tap does, see port.c),
 * direct it to the calling thread. 0, or a negative errno. */
int ipop_port_rx_fd_claim(int fd);

/* The port's statistics into s: the device's (rte_eth_stats_get), the kernel
 * socket's as of the last ipop_port_sock_stats_poll (net_af_packet) and the
 * kernel interface's drops. 0 or a negative errno (the device's statistics
 * could not be read). Control thread. */
int ipop_port_stats(const struct ipop_port *p, struct ipop_port_stats *s);
/* The same for a TAP that is not a DPDK port (the offload host TAP,
 * drivers/vtap.h): from its kernel interface's counters (packets and bytes in
 * each direction, seen from ipopd, and the interface's drops; 32 bits, since
 * the TAP was made). Control thread. */
int ipop_port_tap_stats(const char *ifname, struct ipop_port_stats *s);

/* Fold net_af_packet's PACKET_STATISTICS into p (the kernel's counts are 32 bits
 * and reset on read): control calls it at least once a second. A no-op for other
 * devices. Control thread. */
void ipop_port_sock_stats_poll(struct ipop_port *p);

void ipop_port_stop(struct ipop_port *p);

#endif

/* port.h - DPDK ethdev set-up for the gateway's ports (NICs and vdevs) and the
 * TAP exception paths, and the rx queues' fds an idle worker waits on. Thread:
 * control, at start-up and shutdown only; ipop_port_rx_fd_claim: a worker, as it
 * starts.
 */
#ifndef IPOP_DRIVERS_PORT_H
#define IPOP_DRIVERS_PORT_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <rte_ether.h>
#include <rte_mempool.h>

struct ipop_port {
	uint16_t id;
	char name[64];
	uint16_t n_rxq, n_txq;
	struct rte_ether_addr mac;
	bool started;
};

/* True if spec names a vdev ("net_..."), which ipopd passes to the EAL itself. */
bool ipop_port_is_vdev(const char *spec);

/* Write the EAL --vdev argument for spec into out, adding what ipopd needs
 * (qpairs=queues for af_packet when not given). Returns 0 or -ENAMETOOLONG. */
int ipop_port_vdev_arg(const char *spec, unsigned queues, char *out, size_t outlen);

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

void ipop_port_stop(struct ipop_port *p);

#endif

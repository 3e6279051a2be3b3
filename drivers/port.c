/* port.c - ethdev set-up (see port.h). Thread: control, start-up/shutdown;
 * ipop_port_rx_fd_claim: a worker as it starts. */
#include "drivers/port.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <rte_ethdev.h>

bool ipop_port_is_vdev(const char *spec)
{
	return strncmp(spec, "net_", 4) == 0;
}

int ipop_port_vdev_arg(const char *spec, unsigned queues, char *out, size_t outlen)
{
	int n;

	if (strncmp(spec, "net_af_packet", 13) == 0 && strstr(spec, "qpairs=") == NULL)
		n = snprintf(out, outlen, "--vdev=%s,qpairs=%u", spec, queues);
	else
		n = snprintf(out, outlen, "--vdev=%s", spec);
	return (n < 0 || (size_t)n >= outlen) ? -ENAMETOOLONG : 0;
}

int ipop_port_lookup(const char *spec, struct ipop_port *p)
{
	size_t len = strcspn(spec, ",");
	uint16_t id;

	memset(p, 0, sizeof(*p));
	if (len == 0 || len >= sizeof(p->name))
		return -EINVAL;
	memcpy(p->name, spec, len);
	p->name[len] = '\0';
	if (rte_eth_dev_get_port_by_name(p->name, &id) != 0)
		return -ENODEV;
	p->id = id;
	return 0;
}

int ipop_port_start(struct ipop_port *p, uint16_t n_rxq, uint16_t n_txq,
		    struct rte_mempool *pool, uint16_t nb_desc, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	int r;

	memset(&conf, 0, sizeof(conf));
	r = rte_eth_dev_info_get(p->id, &info);
	if (r != 0) {
		snprintf(err, errlen, "%s: cannot read device info: %s", p->name, strerror(-r));
		return r;
	}
	if (n_rxq > info.max_rx_queues || n_txq > info.max_tx_queues) {
		snprintf(err, errlen, "%s: needs %u rx/%u tx queues, device has %u/%u",
			 p->name, n_rxq, n_txq, info.max_rx_queues, info.max_tx_queues);
		return -EINVAL;
	}
	if (n_rxq > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
	}
	/* A TAP's rx interrupt vector is just its queues' fds: nothing changes on
	 * the data path, and ipop_port_rx_fd can hand them to an idle worker. */
	if (strcmp(info.driver_name, "net_tap") == 0)
		conf.intr_conf.rxq = 1;
	r = rte_eth_dev_configure(p->id, n_rxq, n_txq, &conf);
	if (r != 0) {
		snprintf(err, errlen, "%s: configure failed: %s", p->name, strerror(-r));
		return r;
	}
	uint16_t nrx = nb_desc, ntx = nb_desc;
	rte_eth_dev_adjust_nb_rx_tx_desc(p->id, &nrx, &ntx);
	int sock = rte_eth_dev_socket_id(p->id);
	if (sock < 0)
		sock = 0;
	for (uint16_t q = 0; q < n_rxq; q++) {
		r = rte_eth_rx_queue_setup(p->id, q, nrx, (unsigned)sock, NULL, pool);
		if (r != 0) {
			snprintf(err, errlen, "%s: rx queue %u: %s", p->name, q, strerror(-r));
			return r;
		}
	}
	for (uint16_t q = 0; q < n_txq; q++) {
		r = rte_eth_tx_queue_setup(p->id, q, ntx, (unsigned)sock, NULL);
		if (r != 0) {
			snprintf(err, errlen, "%s: tx queue %u: %s", p->name, q, strerror(-r));
			return r;
		}
	}
	r = rte_eth_dev_start(p->id);
	if (r != 0) {
		snprintf(err, errlen, "%s: start failed: %s", p->name, strerror(-r));
		return r;
	}
	p->started = true;
	/* Bridged LANs carry frames for many MACs; not every vdev supports it. */
	rte_eth_promiscuous_enable(p->id);
	rte_eth_macaddr_get(p->id, &p->mac);
	p->n_rxq = n_rxq;
	p->n_txq = n_txq;
	return 0;
}

int ipop_port_set_mac(struct ipop_port *p, const struct rte_ether_addr *mac)
{
	struct rte_ether_addr m = *mac;
	int r = rte_eth_dev_default_mac_addr_set(p->id, &m);

	if (r == 0)
		p->mac = *mac;
	return r;
}

/* DPDK's af_packet driver has no rx interrupts, but each rx queue reads a
 * PACKET_RX_RING socket, and the kernel wakes that socket's waiters for every
 * frame it puts in the ring (poll() says readable while the newest frame is not
 * handed back). The driver keeps the socket as the first field of its rx queue
 * (struct pkt_rx_queue, DPDK 22.11 to 24.11), which ethdev publishes in
 * rte_eth_fp_ops. Because that layout is private, the fd is only trusted if it
 * is a raw AF_PACKET socket with a TPACKET_V2 ring bound to the port's
 * interface; anything else means "no fd" and the nanosleep back-off. */
static int af_packet_rx_fd(const struct ipop_port *p, uint16_t q, int if_index)
{
	const void *rxq = rte_eth_fp_ops[p->id].rxq.data ? rte_eth_fp_ops[p->id].rxq.data[q] : NULL;
	struct sockaddr_ll sll;
	socklen_t len;
	int fd, v;

	if (rxq == NULL)
		return -ENOTSUP;
	fd = *(const int *)rxq;
	if (fd < 0)
		return -ENOTSUP;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0 || v != AF_PACKET)
		return -ENOTSUP;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) != 0 || v != SOCK_RAW)
		return -ENOTSUP;
	len = sizeof(v);
	if (getsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, &len) != 0 || v != TPACKET_V2)
		return -ENOTSUP;
	len = sizeof(sll);
	memset(&sll, 0, sizeof(sll));
	if (getsockname(fd, (struct sockaddr *)&sll, &len) != 0 || sll.sll_family != AF_PACKET ||
	    sll.sll_ifindex != if_index)
		return -ENOTSUP;
	return fd;
}

int ipop_port_rx_fd(const struct ipop_port *p, uint16_t q)
{
	struct rte_eth_dev_info info;
	int fd;

	if (!p->started || q >= p->n_rxq || rte_eth_dev_info_get(p->id, &info) != 0)
		return -EINVAL;
	if (strcmp(info.driver_name, "net_tap") == 0) {
		fd = rte_eth_dev_rx_intr_ctl_q_get_fd(p->id, q);
		return fd >= 0 ? fd : -ENOTSUP;
	}
	if (strcmp(info.driver_name, "net_af_packet") == 0 && info.if_index > 0)
		return af_packet_rx_fd(p, q, (int)info.if_index);
	return -ENOTSUP;
}

/* DPDK's net_tap reads its queues only after a real-time signal it asked the
 * kernel for (F_SETSIG) has bumped a counter (tap_trigger): an rx burst without
 * a new signal returns nothing, even with frames in the TAP. The kernel raises
 * the signal before it wakes the fd's waiters, but sends it to the process, and
 * the control thread (or any other) may take it: a worker woken by the fd then
 * finds nothing until that thread has run the handler, and waits again at once,
 * many times. Sent to the waiting thread itself, the signal ends its
 * epoll_wait (EINTR) and its handler has run before the worker polls. */
int ipop_port_rx_fd_claim(int fd)
{
	struct f_owner_ex o = { .type = F_OWNER_TID, .pid = gettid() };
	int sig = fcntl(fd, F_GETSIG);

	if (sig < 0)
		return -errno;
	if (sig == 0)
		return 0;   /* no signal-driven I/O on fd (af_packet) */
	return fcntl(fd, F_SETOWN_EX, &o) == 0 ? 0 : -errno;
}

void ipop_port_stop(struct ipop_port *p)
{
	if (!p->started)
		return;
	rte_eth_dev_stop(p->id);
	rte_eth_dev_close(p->id);
	p->started = false;
}

/* port.c - ethdev set-up and port statistics (see port.h). Thread: control,
 * start-up/shutdown and statistics; ipop_port_rx_fd_claim: a worker as it
 * starts. */
#include "drivers/port.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <rte_ethdev.h>

static int if_drops(const char *ifname, uint32_t *rx, uint32_t *tx);

bool ipop_port_is_vdev(const char *spec)
{
	return strncmp(spec, "net_", 4) == 0;
}

/* True if the vdev spec has argument key ("framecnt" matches ",framecnt=..."). */
static bool spec_has_arg(const char *spec, const char *key)
{
	size_t k = strlen(key);

	for (const char *a = strchr(spec, ','); a != NULL; a = strchr(a + 1, ','))
		if (strncmp(a + 1, key, k) == 0 && a[1 + k] == '=')
			return true;
	return false;
}

int ipop_port_vdev_arg(const char *spec, unsigned queues, unsigned frames, char *out,
		       size_t outlen)
{
	char extra[64] = "";
	int n;

	if (strncmp(spec, "net_af_packet", 13) == 0) {
		if (!spec_has_arg(spec, "qpairs"))
			snprintf(extra, sizeof(extra), ",qpairs=%u", queues);
		if (!spec_has_arg(spec, "framecnt") && !spec_has_arg(spec, "blocksz") &&
		    !spec_has_arg(spec, "framesz"))
			snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
				 ",framecnt=%u", frames);
	}
	n = snprintf(out, outlen, "--vdev=%s%s", spec, extra);
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
	snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);
	if (info.if_index > 0 && if_indextoname(info.if_index, p->ifname) != NULL) {
		uint32_t rx, tx;

		p->if_index = info.if_index;
		if (if_drops(p->ifname, &rx, &tx) == 0) {
			p->if_rx_dropped0 = rx;
			p->if_tx_dropped0 = tx;
		}
	}
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

/* The kernel interface's drop counts (rtnl_link_stats through getifaddrs, in
 * this process's network namespace). They are 32 bits: callers subtract in
 * 32 bits, which stays right across one wrap. */
/* The kernel's counters of interface ifname (`ip -s link`). */
static int if_stats(const char *ifname, struct rtnl_link_stats *out)
{
	struct ifaddrs *all, *i;
	int r = -ENODEV;

	if (getifaddrs(&all) != 0)
		return -errno;
	for (i = all; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_PACKET ||
		    i->ifa_data == NULL || strcmp(i->ifa_name, ifname) != 0)
			continue;
		*out = *(const struct rtnl_link_stats *)i->ifa_data;
		r = 0;
		break;
	}
	freeifaddrs(all);
	return r;
}

static int if_drops(const char *ifname, uint32_t *rx, uint32_t *tx)
{
	struct rtnl_link_stats st;
	int r = if_stats(ifname, &st);

	if (r == 0) {
		*rx = st.rx_dropped;
		*tx = st.tx_dropped;
	}
	return r;
}

int ipop_port_tap_stats(const char *ifname, struct ipop_port_stats *s)
{
	struct rtnl_link_stats st;
	int r = if_stats(ifname, &st);

	memset(s, 0, sizeof(*s));
	if (r != 0)
		return r;
	/* The kernel's side turned to ours: what it sent, we received. Its
	 * counts are 32 bits (rtnl_link_stats) and since the TAP was made. */
	s->ipackets = st.tx_packets;
	s->opackets = st.rx_packets;
	s->ibytes = st.tx_bytes;
	s->obytes = st.rx_bytes;
	s->if_rx_dropped = st.rx_dropped;
	s->if_tx_dropped = st.tx_dropped;
	return 0;
}

void ipop_port_sock_stats_poll(struct ipop_port *p)
{
	if (!p->started || strcmp(p->driver, "net_af_packet") != 0 || p->if_index == 0)
		return;
	for (uint16_t q = 0; q < p->n_rxq; q++) {
		struct tpacket_stats st;
		socklen_t len = sizeof(st);
		int fd = af_packet_rx_fd(p, q, (int)p->if_index);

		if (fd < 0 || getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0)
			continue;   /* not the socket we know: no kernel counts for it */
		p->sock_rx += st.tp_packets;
		p->sock_rx_dropped += st.tp_drops;
	}
}

int ipop_port_stats(const struct ipop_port *p, struct ipop_port_stats *s)
{
	struct rte_eth_stats e;
	uint32_t rx, tx;
	int r;

	memset(s, 0, sizeof(*s));
	if (!p->started)
		return -ENODEV;
	r = rte_eth_stats_get(p->id, &e);
	if (r != 0)
		return r;
	s->ipackets = e.ipackets;
	s->opackets = e.opackets;
	s->ibytes = e.ibytes;
	s->obytes = e.obytes;
	s->imissed = e.imissed;
	s->ierrors = e.ierrors;
	s->oerrors = e.oerrors;
	s->rx_nombuf = e.rx_nombuf;
	s->sock_rx = p->sock_rx;
	s->sock_rx_dropped = p->sock_rx_dropped;
	if (p->ifname[0] != '\0' && if_drops(p->ifname, &rx, &tx) == 0) {
		s->if_rx_dropped = (uint32_t)(rx - (uint32_t)p->if_rx_dropped0);
		s->if_tx_dropped = (uint32_t)(tx - (uint32_t)p->if_tx_dropped0);
	}
	return 0;
}

void ipop_port_stop(struct ipop_port *p)
{
	if (!p->started)
		return;
	rte_eth_dev_stop(p->id);
	rte_eth_dev_close(p->id);
	p->started = false;
}

/* netif.c - see netif.h. Thread: control, start-up. */
#include "control/netif.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr, const char *what,
		       char *err, size_t errlen)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	if (ioctl(fd, req, ifr) != 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s: %s", ifr->ifr_name, what, strerror(errno));
	}
	close(fd);
	return r;
}

static int name_ok(struct ifreq *ifr, const char *ifname, char *err, size_t errlen)
{
	memset(ifr, 0, sizeof(*ifr));
	if (strlen(ifname) >= IFNAMSIZ) {
		snprintf(err, errlen, "interface name '%s' too long", ifname);
		return -ENAMETOOLONG;
	}
	strcpy(ifr->ifr_name, ifname);
	return 0;
}

int ipop_netif_up(const char *ifname, unsigned mtu, char *err, size_t errlen)
{
	struct ifreq ifr;
	int r = name_ok(&ifr, ifname, err, errlen);

	if (r != 0)
		return r;
	ifr.ifr_mtu = (int)mtu;
	r = ifreq_ioctl(SIOCSIFMTU, &ifr, "set MTU", err, errlen);
	if (r != 0)
		return r;
	r = ifreq_ioctl(SIOCGIFFLAGS, &ifr, "get flags", err, errlen);
	if (r != 0)
		return r;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ifreq_ioctl(SIOCSIFFLAGS, &ifr, "set up", err, errlen);
}

int ipop_netif_set_addr(const char *ifname, struct in_addr addr, uint8_t prefix,
			char *err, size_t errlen)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int r = name_ok(&ifr, ifname, err, errlen);

	if (r != 0)
		return r;
	sin->sin_family = AF_INET;
	sin->sin_addr = addr;
	r = ifreq_ioctl(SIOCSIFADDR, &ifr, "set address", err, errlen);
	if (r != 0)
		return r;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = prefix ? htonl(~0u << (32 - prefix)) : 0;
	return ifreq_ioctl(SIOCSIFNETMASK, &ifr, "set netmask", err, errlen);
}

int ipop_netif_default_route(const char *ifname, struct in_addr gw, char *err, size_t errlen)
{
	struct rtentry rt;
	char dev[IFNAMSIZ];
	int fd, r = 0;

	memset(&rt, 0, sizeof(rt));
	snprintf(dev, sizeof(dev), "%s", ifname);
	((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
	((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
	((struct sockaddr_in *)&rt.rt_gateway)->sin_family = AF_INET;
	((struct sockaddr_in *)&rt.rt_gateway)->sin_addr = gw;
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = dev;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCADDRT, &rt) != 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, errlen, "%s: add default route: %s", ifname, strerror(errno));
	}
	close(fd);
	return r;
}

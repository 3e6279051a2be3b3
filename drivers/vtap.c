/* vtap.c - the host TAP with virtio-net headers (see vtap.h). Thread: control
 * (open, close); workers (read: the polling worker; write: any). */
#include "drivers/vtap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include <rte_common.h>
#include <rte_malloc.h>

#define VTAP_MAX_IOV 80

int ipop_vtap_open(struct ipop_vtap *v, const char *ifname, char *err, size_t errlen)
{
	struct ifreq ifr;
	int hdr = (int)sizeof(struct virtio_net_hdr);
	unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	const char *step;

	memset(v, 0, sizeof(*v));
	v->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (v->fd < 0) {
		step = "open /dev/net/tun";
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	step = "TUNSETIFF";
	if (ioctl(v->fd, TUNSETIFF, &ifr) != 0)
		goto fail;
	step = "TUNSETVNETHDRSZ";
	if (ioctl(v->fd, TUNSETVNETHDRSZ, &hdr) != 0)
		goto fail;
	/* Without it the kernel would segment and checksum everything itself
	 * before handing it over: the TAP would work, one frame per read. */
	step = "TUNSETOFFLOAD";
	if (ioctl(v->fd, TUNSETOFFLOAD, off) != 0)
		goto fail;
	snprintf(v->ifname, sizeof(v->ifname), "%s", ifr.ifr_name);
	v->rxbuf = rte_malloc("ipop_vtap_rx", RTE_ALIGN_CEIL(IPOP_VTAP_MAX_FRAME, 64), 64);
	if (v->rxbuf == NULL) {
		errno = ENOMEM;
		step = "rx buffer";
		goto fail;
	}
	return 0;
fail:;
	int r = -errno;
	snprintf(err, errlen, "host TAP %s: %s: %s", ifname, step, strerror(errno));
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	return r;
}

int ipop_vtap_read(struct ipop_vtap *v, struct virtio_net_hdr *vh)
{
	struct iovec iov[2] = {
		{ .iov_base = vh, .iov_len = sizeof(*vh) },
		{ .iov_base = v->rxbuf, .iov_len = IPOP_VTAP_MAX_FRAME },
	};
	ssize_t n = readv(v->fd, iov, 2);

	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(*vh))
		return -EINVAL;
	return (int)((size_t)n - sizeof(*vh));
}

int ipop_vtap_write(struct ipop_vtap *v, const struct virtio_net_hdr *vh, const struct iovec *iov,
		    unsigned n)
{
	struct iovec all[VTAP_MAX_IOV + 1];

	if (n > VTAP_MAX_IOV)
		return -E2BIG;
	all[0].iov_base = (void *)(uintptr_t)vh;
	all[0].iov_len = sizeof(*vh);
	memcpy(all + 1, iov, n * sizeof(*iov));
	return writev(v->fd, all, (int)n + 1) < 0 ? -errno : 0;
}

void ipop_vtap_close(struct ipop_vtap *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	rte_free(v->rxbuf);
	v->rxbuf = NULL;
}

/* vtap.h - the host TAP opened by ipopd itself with virtio-net headers and
 * offloads (IFF_VNET_HDR; TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6),
 * so the kernel hands over TCP segments up to 64 KiB with their checksum left
 * to ipopd and takes large coalesced ones back: one system call moves up to
 * 64 KiB instead of one MTU-sized frame. No ethdev: a worker reads and writes
 * the TAP's fd directly (DPDK 22.11's net_tap opens its TAP without the
 * virtio-net header, so large segments never cross through it).
 *
 * Thread: open and close on control; reads by the one worker that polls the
 * host TAP (worker 0: the rx buffer is its own); writes by any worker (each
 * write(2) to a TAP is one frame, whole, so concurrent writers need no lock).
 */
#ifndef IPOP_DRIVERS_VTAP_H
#define IPOP_DRIVERS_VTAP_H

#include <stdint.h>
#include <stddef.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>

/* Largest frame the kernel hands over: a 64 KiB IP packet with its Ethernet
 * header (the read buffer is this, rounded up). */
#define IPOP_VTAP_MAX_FRAME (65535u + 14u)

/* Written by control at open; fd read by workers; rxbuf written by the
 * reading worker only. */
struct ipop_vtap {
	int fd;                 /* -1 when closed */
	char ifname[16];
	uint8_t *rxbuf;         /* IPOP_VTAP_MAX_FRAME bytes, rte_malloc'd */
};

/* Create (or attach to) the TAP ifname with virtio-net headers and the TCP
 * offloads, non-blocking. 0, or a negative errno with the step that failed in
 * err. Control thread. */
int ipop_vtap_open(struct ipop_vtap *v, const char *ifname, char *err, size_t errlen);

/* Read one frame and its header: returns the frame's length, -EAGAIN when
 * there is none, or another negative errno. The frame is in v->rxbuf. */
int ipop_vtap_read(struct ipop_vtap *v, struct virtio_net_hdr *vh);

/* Write one frame: *vh, then the frame's bytes from iov[0..n). 0, or a
 * negative errno (-EAGAIN: the kernel's queue is full). */
int ipop_vtap_write(struct ipop_vtap *v, const struct virtio_net_hdr *vh, const struct iovec *iov,
		    unsigned n);

void ipop_vtap_close(struct ipop_vtap *v);

#endif

/* test_port.c - the vdev arguments ipopd gives the EAL for its ports
 * (drivers/port.c, ipop_port_vdev_arg): what it adds to net_af_packet specs (the
 * queue count, the ring size it is given) and what it leaves alone. Thread: single; no EAL needed.
 */
#include "tests/unit/check.h"
#include "drivers/port.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int arg(const char *spec, unsigned q, char *out, size_t len)
{
	return ipop_port_vdev_arg(spec, q, 2048, out, len);
}

int main(void)
{
	char out[256];

	CHECK(arg("net_af_packet0,iface=eth1", 2, out, sizeof(out)) == 0);
	CHECK(strcmp(out, "--vdev=net_af_packet0,iface=eth1,qpairs=2,framecnt=2048") == 0);
	CHECK(ipop_port_vdev_arg("net_af_packet0,iface=eth1", 1, 512, out, sizeof(out)) == 0);
	CHECK(strcmp(out, "--vdev=net_af_packet0,iface=eth1,qpairs=1,framecnt=512") == 0);

	/* The spec's own qpairs and ring sizes win. */
	CHECK(arg("net_af_packet0,iface=eth1,qpairs=1", 2, out, sizeof(out)) == 0);
	CHECK(strcmp(out, "--vdev=net_af_packet0,iface=eth1,qpairs=1,framecnt=2048") == 0);
	CHECK(arg("net_af_packet0,iface=eth1,framecnt=512", 1, out, sizeof(out)) == 0);
	CHECK(strcmp(out, "--vdev=net_af_packet0,iface=eth1,framecnt=512,qpairs=1") == 0);
	CHECK(arg("net_af_packet0,iface=eth1,blocksz=8192", 1, out, sizeof(out)) == 0);
	CHECK(strcmp(out, "--vdev=net_af_packet0,iface=eth1,blocksz=8192,qpairs=1") == 0);
	CHECK(arg("net_af_packet0,iface=eth1,framesz=4096,qpairs=3", 1, out, sizeof(out)) == 0);
	CHECK(strcmp(out, "--vdev=net_af_packet0,iface=eth1,framesz=4096,qpairs=3") == 0);
	/* An interface called "framecnt" is not a ring size. */
	CHECK(arg("net_af_packet0,iface=framecnt", 1, out, sizeof(out)) == 0);
	CHECK(strstr(out, ",framecnt=") != NULL);

	/* Other vdevs pass through unchanged. */
	CHECK(arg("net_memif0,role=client,socket=/tmp/m", 4, out, sizeof(out)) == 0);
	CHECK(strcmp(out, "--vdev=net_memif0,role=client,socket=/tmp/m") == 0);

	/* Too long for the buffer: refused, not cut. */
	CHECK(arg("net_af_packet0,iface=eth1", 1, out, 30) == -ENAMETOOLONG);
	CHECK(arg("net_tap0,iface=x", 1, out, 10) == -ENAMETOOLONG);
	return check_report("port");
}

/* eal_log.c - see eal_log.h. Thread: whichever thread DPDK logs from; the
 * cookie stream's write runs under stdio's lock on that stream, which is what
 * protects the line buffer below.
 */
#include "control/eal_log.h"
#include "control/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <rte_log.h>

/* DPDK 22.11's net_tap logs these at error level although nothing that ipopd
 * uses failed:
 * - the multiq and ingress qdiscs are only for rte_flow rules on the TAP (ipopd
 *   installs none); a kernel without sch_multiq (this machine kind) refuses the
 *   first, net_tap prints the kernel's netlink explanation (extended ack), and
 *   then says it disables rte_flow;
 * - with multi-process off (--no-shconf, --in-memory) there is no secondary
 *   process to tell that the port started, and the request fails.
 * "Remote feature requires flow support." is not here: it ends the probe. */
static const char *const harmless[] = {
	"tap_nl_dump_ext_ack(): Specified qdisc kind is unknown",
	"Could not add multiq qdisc",
	"failed to create multiq qdisc",
	"Could not add ingress qdisc",
	"failed to create ingress qdisc",
	"Disabling rte flow support",
	"Failed to send start req to secondary",
};

bool ipop_eal_log_harmless(const char *line)
{
	for (size_t i = 0; i < sizeof(harmless) / sizeof(harmless[0]); i++)
		if (strstr(line, harmless[i]) != NULL)
			return true;
	return false;
}

/* DPDK's levels (EMERG 1 .. DEBUG 8) as ipopd's: its INFO lines (CPUs and
 * memory detected, drivers probed) are start-up detail, shown at debug. */
static enum ipop_log_level level_of(int dpdk_level)
{
	if (dpdk_level <= (int)RTE_LOG_ERR)
		return IPOP_LOG_ERROR;
	if (dpdk_level == (int)RTE_LOG_WARNING)
		return IPOP_LOG_WARN;
	if (dpdk_level == (int)RTE_LOG_NOTICE)
		return IPOP_LOG_INFO;
	return IPOP_LOG_DEBUG;
}

static void emit(const char *line)
{
	enum ipop_log_level l = level_of(rte_log_cur_msg_loglevel());

	if (l < IPOP_LOG_DEBUG && ipop_eal_log_harmless(line)) {
		ipop_log(IPOP_LOG_DEBUG, "dpdk: %s (harmless, see docs/operations.md)", line);
		return;
	}
	ipop_log(l, "dpdk: %s", line);
}

/* One line being assembled: DPDK writes a message in one or more pieces, and a
 * message may hold several lines. A longer line is cut at 1023 bytes. */
static char line_buf[1024];
static size_t line_len;

static ssize_t on_write(void *cookie, const char *buf, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if (buf[i] != '\n' && line_len < sizeof(line_buf) - 1) {
			line_buf[line_len++] = buf[i];
			continue;
		}
		if (buf[i] != '\n')
			continue;   /* over-long line: the rest is dropped up to its end */
		line_buf[line_len] = '\0';
		if (line_len > 0)
			emit(line_buf);
		line_len = 0;
	}
	return (ssize_t)size;
}

int ipop_eal_log_init(void)
{
	static const cookie_io_functions_t io = { .write = on_write };
	FILE *f = fopencookie(NULL, "w", io);

	if (f == NULL)
		return -errno;
	/* rte_vlog flushes after every message: a line reaches on_write whole. */
	setvbuf(f, NULL, _IOLBF, 0);
	return rte_openlog_stream(f) == 0 ? 0 : -EINVAL;
}

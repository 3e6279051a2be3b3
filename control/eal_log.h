/* eal_log.h - DPDK's log through ipopd's: every line DPDK (the EAL, the PMDs)
 * writes is printed in ipopd's format at the matching ipopd level and filtered by
 * control.log_level, and the few lines DPDK 22.11's net_tap prints as errors
 * although nothing failed for ipopd are shown at debug level instead
 * (docs/operations.md, "Start-up messages"). Thread: any thread DPDK logs from
 * (the main lcore during start-up and shutdown, the EAL's interrupt thread);
 * stdio's stream lock serialises them.
 */
#ifndef IPOP_CONTROL_EAL_LOG_H
#define IPOP_CONTROL_EAL_LOG_H

#include <stdbool.h>

/* Route DPDK's log into ipopd's: call before rte_eal_init (the PMDs log while
 * the EAL probes them). 0, or a negative errno (then DPDK keeps its own stream). */
int ipop_eal_log_init(void);

/* True if DPDK's line (without its newline) is one of net_tap's known harmless
 * errors. Exposed for the unit test. */
bool ipop_eal_log_harmless(const char *line);

#endif

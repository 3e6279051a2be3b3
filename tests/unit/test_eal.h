/* test_eal.h - EAL start-up for unit tests and fuzz targets: one lcore pinned
 * to the first CPU this process may run on, no PCI, no hugepages, no shared
 * files, so any number of them run side by side on any machine. */
#ifndef IPOP_TESTS_EAL_H
#define IPOP_TESTS_EAL_H

#include <sched.h>
#include <stdio.h>
#include <rte_eal.h>

/* rte_eal_init's result; log_level is an EAL --log-level value ("warning"). */
static inline int test_eal_start(const char *prog, const char *log_level)
{
	cpu_set_t set;
	int cpu = 0;
	char lcores[32], level[48];

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set); cpu++)
			;
	snprintf(lcores, sizeof(lcores), "--lcores=0@%d", cpu);
	snprintf(level, sizeof(level), "--log-level=%s", log_level);
	char *argv[] = { (char *)prog, "--no-pci", "--no-huge", "--no-shconf", "-m", "256",
			 "--no-telemetry", lcores, level, NULL };
	return rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv);
}

#endif

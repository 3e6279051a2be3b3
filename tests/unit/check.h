/* check.h - the unit tests' tiny assertion helper: counts checks and failures,
 * never aborts on the first one, and makes main() return non-zero on failure. */
#ifndef IPOP_TESTS_CHECK_H
#define IPOP_TESTS_CHECK_H

#include <stdio.h>

static unsigned check_n, check_failed;

#define CHECK(cond) do { \
	check_n++; \
	if (!(cond)) { \
		check_failed++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

static inline int check_report(const char *name)
{
	printf("%s: %u checks, %u failed\n", name, check_n, check_failed);
	return check_failed ? 1 : 0;
}

#endif

/* log.c - see log.h. Thread: control. */
#include "control/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum ipop_log_level cur_level = IPOP_LOG_INFO;
static const char *const names[] = { "error", "warn", "info", "debug" };

void ipop_log_set_level(enum ipop_log_level l)
{
	cur_level = l;
}

int ipop_log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -EINVAL;
}

void ipop_log(enum ipop_log_level l, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	if (l > cur_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%ld.%03ld ipopd %s: ", (long)ts.tv_sec, ts.tv_nsec / 1000000, names[l]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

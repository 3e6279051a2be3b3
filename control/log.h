/* log.h - control-thread logging to stderr with levels. The fast path never logs:
 * it counts (dataplane/stats.h). Thread: control (and start-up). */
#ifndef IPOP_CONTROL_LOG_H
#define IPOP_CONTROL_LOG_H

enum ipop_log_level { IPOP_LOG_ERROR, IPOP_LOG_WARN, IPOP_LOG_INFO, IPOP_LOG_DEBUG };

void ipop_log_set_level(enum ipop_log_level l);
int ipop_log_parse_level(const char *s);   /* level or -EINVAL */
void ipop_log(enum ipop_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_ERR(...)   ipop_log(IPOP_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...)  ipop_log(IPOP_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...)  ipop_log(IPOP_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) ipop_log(IPOP_LOG_DEBUG, __VA_ARGS__)

#endif

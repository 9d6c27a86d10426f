/*
 * gq_log.h — the shim's only way to speak.
 *
 * Every line reads "gqshim[PID]: LEVEL: message" and goes to stderr, or to
 * GQSHIM_LOG_FILE when set. Lines are formatted in a stack buffer and written
 * with one write(2), so lines of concurrent threads never interleave and
 * nothing allocates. A thread already inside the logger (a fault while
 * logging) drops the nested line instead of deadlocking.
 */
#ifndef GQ_LOG_H
#define GQ_LOG_H

#include "gq_options.h" /* enum gq_log_level */

#include <stdarg.h>

/* Set the threshold and destination; `path` NULL or "" means stderr. Returns
 * 0, or -1 when the file cannot be opened (stderr is kept then). */
int gq_log_setup(enum gq_log_level level, const char *path);

int gq_log_enabled(enum gq_log_level level);

void gq_log(enum gq_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A warning printed at most GQ_LOG_REPEAT_CAP times for its `site` counter;
 * the last one says further ones are suppressed. */
#define GQ_LOG_REPEAT_CAP 3
void gq_log_capped(int *site, enum gq_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A line of the GQSHIM_TRACE channel ("gqshim[PID]: trace: ..."): written
 * whatever GQSHIM_LOG says, since asking for a trace is asking for it. */
void gq_log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Raw text (the stats table, the trace), already formatted, to the log's
 * destination; no prefix added. */
void gq_log_raw(const char *text, unsigned long len);

#define gq_error(...) gq_log(GQ_LOG_ERROR, __VA_ARGS__)
#define gq_warn(...) gq_log(GQ_LOG_WARN, __VA_ARGS__)
#define gq_info(...) gq_log(GQ_LOG_INFO, __VA_ARGS__)
#define gq_debug(...) gq_log(GQ_LOG_DEBUG, __VA_ARGS__)

/* Warn once per call site: for a fallback that may repeat on every copy
 * (the stats count each one). */
#define gq_warn_once(...)                                                  \
    do {                                                                   \
        static int gq_once_;                                               \
        if (!__atomic_exchange_n(&gq_once_, 1, __ATOMIC_RELAXED))          \
            gq_warn(__VA_ARGS__);                                          \
    } while (0)

/* Warn at most a few times per call site. */
#define gq_warn_capped(...)                                  \
    do {                                                     \
        static int gq_site_;                                 \
        gq_log_capped(&gq_site_, GQ_LOG_WARN, __VA_ARGS__);  \
    } while (0)

#endif

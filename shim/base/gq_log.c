/* The shim's logger (see gq_log.h). */
#define _GNU_SOURCE
#include "base/gq_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

static int log_level = GQ_LOG_WARN;
static int log_fd = 2;
static __thread int in_logger;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int gq_log_setup(enum gq_log_level level, const char *path)
{
    __atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED);
    if (!path || !*path)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        gq_warn("GQSHIM_LOG_FILE=%s: cannot open (%s); logging to stderr", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        gq_warn("GQSHIM_LOG_FILE=%s: is a directory; logging to stderr", path);
        return -1;
    }
    __atomic_store_n(&log_fd, fd, __ATOMIC_RELEASE);
    return 0;
}

int gq_log_enabled(enum gq_log_level level)
{
    return (int)level <= __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

static int write_all(int fd, const char *text, unsigned long len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        text += n;
        len -= (unsigned long)n;
    }
    return 0;
}

void gq_log_raw(const char *text, unsigned long len)
{
    int fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
    if (write_all(fd, text, len) == 0 || fd == 2)
        return;
    /* A log file that takes no writes (/proc/version, a full disk): say so
     * once on stderr and keep logging there, rather than drop lines. */
    int err = errno;
    if (__atomic_compare_exchange_n(&log_fd, &fd, 2, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        char line[256];
        int n = snprintf(line, sizeof line,
                         "gqshim[%d]: warning: GQSHIM_LOG_FILE: cannot write (%s); logging to "
                         "stderr\n", (int)getpid(), strerror(err));
        if (n > 0)
            write_all(2, line, (unsigned long)n < sizeof line ? (unsigned long)n : sizeof line - 1);
    }
    write_all(2, text, len);
}

/* One line "gqshim[PID]: LABEL: message[suffix]", whatever the threshold. */
static void vline(const char *label, const char *suffix, const char *fmt, va_list ap)
{
    if (in_logger)
        return;
    in_logger = 1;
    int saved_errno = errno;
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "gqshim[%d]: %s: ", (int)getpid(), label);
    if (n < 0)
        n = 0;
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof buf - 2)
        len = sizeof buf - 2; /* truncated, but still one whole line */
    if (suffix) {
        size_t s = strlen(suffix);
        if (len + s > sizeof buf - 2)
            s = sizeof buf - 2 - len;
        memcpy(buf + len, suffix, s);
        len += s;
    }
    buf[len++] = '\n';
    gq_log_raw(buf, len);
    errno = saved_errno;
    in_logger = 0;
}

static void vlog(enum gq_log_level level, const char *suffix, const char *fmt, va_list ap)
{
    if (gq_log_enabled(level))
        vline(level_names[level], suffix, fmt, ap);
}

void gq_log_trace(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("trace", NULL, fmt, ap);
    va_end(ap);
}

void gq_log(enum gq_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, NULL, fmt, ap);
    va_end(ap);
}

void gq_log_capped(int *site, enum gq_log_level level, const char *fmt, ...)
{
    int seen = __atomic_fetch_add(site, 1, __ATOMIC_RELAXED);
    if (seen >= GQ_LOG_REPEAT_CAP)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, seen == GQ_LOG_REPEAT_CAP - 1 ? " (further ones suppressed)" : NULL, fmt, ap);
    va_end(ap);
}

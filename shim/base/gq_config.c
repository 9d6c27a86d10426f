/* Reading the configuration once (see gq_config.h). */
#define _GNU_SOURCE
#include "base/gq_config.h"

#include "base/gq_fork.h"
#include "base/gq_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static struct gq_config config;
static int loaded; /* set (release) once `config` is complete */
static int active;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*on_load)(const struct gq_config *);
static int hook_due, hook_fired; /* under hook_lock: loaded; on_load has run */

static const char *env_get(const char *name) { return getenv(name); }

static int standing_aside; /* another copy of the library is loaded first */

/* One line per invalid value, saying what it costs: a lenient option's line
 * already says its default is kept; a strict one switches the shim off. */
static void report_invalid(void)
{
    char consequence[96];
    if (config.strict)
        snprintf(consequence, sizeof consequence, "; exiting with status %u (GQSHIM_STRICT=1)",
                 config.error_exitcode);
    else
        snprintf(consequence, sizeof consequence, "; gqshim passes every CUDA call through");
    for (unsigned i = 0; i < config.errors.count; i++) {
        if (config.error_lenient[i])
            gq_warn("%s", config.errors.line[i]);
        else
            gq_error("%s%s", config.errors.line[i], consequence);
    }
    if (config.errors.dropped)
        gq_error("%u more invalid GQSHIM_* values%s", config.errors.dropped, consequence);
}

/* GQSHIM_STATS=json:PATH is checked now, not at exit: a path that cannot
 * be written costs only itself (one line with the reason; the table goes to
 * the log instead). The file is created, not truncated, until the report. */
static void check_stats_path(void)
{
    if (config.stats != GQ_STATS_JSON)
        return;
    int fd = open(config.stats_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    int err = fd < 0 ? errno : 0;
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        err = EISDIR;
    if (fd >= 0)
        close(fd);
    if (!err)
        return;
    gq_warn("GQSHIM_STATS=json:%s: cannot write the file (%s); the stats table will go to the "
            "log instead", config.stats_path, strerror(err));
    config.stats = GQ_STATS_TEXT;
}

static void load(void)
{
    if (standing_aside) {
        gq_config_defaults(&config);
        config.enable = false;
        __atomic_store_n(&loaded, 1, __ATOMIC_RELEASE);
        return; /* silent: the copy loaded first speaks for the process */
    }
    enum gq_config_status st = gq_config_parse(&config, env_get, environ);
    gq_log_setup(config.log, config.log_file);
    report_invalid();
    check_stats_path();
    for (unsigned i = 0; i < config.warnings.count; i++)
        gq_warn("%s", config.warnings.line[i]);
    if (st != GQ_CONFIG_OK) {
        if (config.strict)
            _exit((int)config.error_exitcode);
        config.enable = false;
    }
    if (config.enable && !config.rules_set && !config.trace)
        gq_warn("GQSHIM_RULES is unset: nothing is compressed unless the program registers "
                "tensors (gq_register); GQSHIM_TRACE=1 (gqrun --trace) shows the offloads and "
                "suggests a rule");
    __atomic_store_n(&active, config.enable && config.rules_set && !gq_forked(), __ATOMIC_RELEASE);
    __atomic_store_n(&loaded, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&hook_lock);
    void (*fn)(const struct gq_config *) = on_load;
    hook_due = 1;
    hook_fired = fn != NULL;
    pthread_mutex_unlock(&hook_lock);
    if (fn)
        fn(&config);
}

void gq_config_stand_aside(void) { standing_aside = 1; }

int gq_config_loaded(void) { return __atomic_load_n(&loaded, __ATOMIC_ACQUIRE); }

struct gq_config *gq_cfg(void)
{
    if (__builtin_expect(!__atomic_load_n(&loaded, __ATOMIC_ACQUIRE), 0))
        pthread_once(&config_once, load);
    return &config;
}

int gq_active(void)
{
    if (__builtin_expect(!__atomic_load_n(&loaded, __ATOMIC_ACQUIRE), 0))
        pthread_once(&config_once, load);
    return __atomic_load_n(&active, __ATOMIC_ACQUIRE);
}

int gq_config_activate(void)
{
    gq_cfg();
    if (!config.enable || gq_forked())
        return -1;
    __atomic_store_n(&active, 1, __ATOMIC_RELEASE);
    return 0;
}

void gq_config_atfork_child(void) { __atomic_store_n(&active, 0, __ATOMIC_RELEASE); }

void gq_config_on_load(void (*fn)(const struct gq_config *cfg))
{
    pthread_mutex_lock(&hook_lock);
    on_load = fn;
    int now = fn && hook_due && !hook_fired;
    if (now)
        hook_fired = 1;
    pthread_mutex_unlock(&hook_lock);
    if (now)
        fn(&config);
}

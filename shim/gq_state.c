/* Reading the configuration once (see gq_state.h). */
#define _GNU_SOURCE
#include "gq_state.h"

#include "gq_fork.h"
#include "gq_log.h"
#include "gq_stats.h"
#include "gq_store.h"
#include "gq_trace.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;

static struct gq_config config;
static int active;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static const char *env_get(const char *name) { return getenv(name); }

/* The trace summary (GQSHIM_TRACE), then the table (GQSHIM_STATS) or the
 * error report alone (GQSHIM_VERIFY). */
static void at_exit(void)
{
    if (gq_forked())
        return; /* the counters are the parent's, and so is the stats file */
    gq_trace_report();
    gq_stats_report();
}

static void load(void)
{
    enum gq_config_status st = gq_config_parse(&config, env_get, environ);
    gq_log_setup(config.log, config.log_file);
    for (unsigned i = 0; i < config.errors.count; i++)
        gq_error("%s", config.errors.line[i]);
    for (unsigned i = 0; i < config.warnings.count; i++)
        gq_warn("%s", config.warnings.line[i]);
    if (st != GQ_CONFIG_OK) {
        if (config.strict) {
            gq_error("GQSHIM_STRICT=1: exiting with status 2 on the invalid settings above");
            _exit(2);
        }
        gq_error("invalid settings above: passing every CUDA call through");
        config.enable = false;
    }
    if (config.enable && !config.rules_set && !config.trace)
        gq_info("GQSHIM_RULES is unset: nothing will be compressed; run with GQSHIM_TRACE=1 "
                "to see the offloads and a suggested rule");
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t ram = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    gq_store_set_budget((size_t)gq_config_pool_bytes(&config, ram));
    active = config.enable && config.rules_set && !gq_forked();
    gq_trace_configure(config.enable && config.trace);
    if (config.stats != GQ_STATS_OFF || config.verify || config.trace)
        atexit(at_exit);
}

struct gq_config *gq_cfg(void)
{
    pthread_once(&config_once, load);
    return &config;
}

int gq_active(void)
{
    pthread_once(&config_once, load);
    return __atomic_load_n(&active, __ATOMIC_ACQUIRE);
}

int gq_state_activate(void)
{
    pthread_once(&config_once, load);
    if (!config.enable || gq_forked())
        return -1;
    __atomic_store_n(&active, 1, __ATOMIC_RELEASE);
    return 0;
}

void gq_state_atfork_child(void)
{
    __atomic_store_n(&active, 0, __ATOMIC_RELEASE);
}

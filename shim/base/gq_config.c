/* Reading the configuration once (see gq_config.h). */
#define _GNU_SOURCE
#include "base/gq_config.h"

#include "base/gq_fork.h"
#include "base/gq_log.h"

#include <pthread.h>
#include <stdlib.h>
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

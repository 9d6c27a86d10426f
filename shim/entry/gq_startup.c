/*
 * Start-up: what ties the layers together, once, when libgqshim.so loads.
 *
 * - The pthread_atfork handlers of every module that owns a lock, in one
 *   list (base/gq_fork.h says why and what the child is left with).
 * - The page filler: the fault thread of shim-owned host memory
 *   (host/gq_hostmem.h) fills a page from the compressed entries
 *   (store/gq_entries.h), a layer above it, through this registration.
 * - The exit report (core/gq_report.h), registered with atexit when the
 *   configuration (read at the program's first CUDA call) asks for one.
 */
#include "base/gq_config.h"
#include "base/gq_fork.h"
#include "base/gq_regions.h"
#include "base/gq_trace.h"
#include "core/gq_api.h"
#include "core/gq_report.h"
#include "gpu/gq_ktime.h"
#include "gpu/gq_modules.h"
#include "gpu/gq_staging.h"
#include "host/gq_hostmem.h"
#include "host/gq_wtrack.h"
#include "store/gq_entries.h"
#include "store/gq_store.h"

#include <pthread.h>
#include <stdlib.h>

static void each(enum gq_fork_phase ph)
{
    gq_trace_atfork(ph);
    gq_store_atfork(ph);
    gq_modules_atfork(ph);
    gq_staging_atfork(ph);
    gq_ktime_atfork(ph);
    gq_api_atfork(ph);
    gq_regions_atfork(ph);
    gq_entries_atfork(ph);
    gq_hostmem_atfork(ph);
}

static void prepare(void) { each(GQ_FORK_PREPARE); }
static void parent(void) { each(GQ_FORK_PARENT); }

static void child(void)
{
    gq_fork_mark_child();
    each(GQ_FORK_CHILD);
    gq_wtrack_atfork_child();
    gq_config_atfork_child();
}

static void at_exit(void) { gq_report_exit(); }

static void on_config(const struct gq_config *cfg)
{
    if (cfg->stats != GQ_STATS_OFF || cfg->verify || cfg->trace)
        atexit(at_exit);
}

/* At load: a fork can come before the program's first CUDA call, and none
 * of this costs anything until used. */
__attribute__((constructor)) static void startup(void)
{
    pthread_atfork(prepare, parent, child);
    gq_hostmem_set_filler(gq_entries_fill_page);
    gq_config_on_load(on_config);
}

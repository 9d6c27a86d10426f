/*
 * Start-up: what ties the layers together, once, when libgqshim.so loads.
 *
 * - The pthread_atfork handlers of every module that owns a lock, in one
 *   list (base/gq_fork.h says why and what the child is left with).
 * - The page filler: the fault thread of shim-owned host memory
 *   (host/gq_hostmem.h) fills a page from the compressed entries
 *   (store/gq_entries.h), a layer above it, through this registration.
 * - The exit report (core/gq_report.h), registered with atexit when the
 *   configuration (read at the program's first CUDA call) asks for one, and
 *   the SIGTERM/SIGINT handlers that write it (gq_signals.c).
 * - The start-up lines when the shim will do nothing useful: the CUDA driver
 *   cannot be loaded (rules set, so the program meant to compress), or a
 *   second copy of the library is loaded (it stands aside, see below).
 * - The host mode (base/gq_mode.h), probed when the configuration is read,
 *   and its one line when it is below full.
 */
#define _GNU_SOURCE
#include "entry/gq_hooks.h"

#include "base/gq_config.h"
#include "base/gq_counters.h"
#include "base/gq_log.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_sym.h"
#include "base/gq_fork.h"
#include "base/gq_log.h"
#include "base/gq_mode.h"
#include "base/gq_pool.h"
#include "base/gq_regions.h"
#include "base/gq_trace.h"
#include "core/gq_api.h"
#include "core/gq_report.h"
#include "gpu/gq_ktime.h"
#include "gpu/gq_modules.h"
#include "gpu/gq_staging.h"
#include "host/gq_hostmem.h"
#include "host/gq_probe.h"
#include "host/gq_wsum.h"
#include "host/gq_wtrack.h"
#include "store/gq_entries.h"
#include "store/gq_store.h"
#include "xfer/gq_verify.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

static void each(enum gq_fork_phase ph)
{
    gq_trace_atfork(ph);
    gq_store_atfork(ph);
    gq_modules_atfork(ph);
    gq_staging_atfork(ph);
    gq_verify_atfork(ph);
    gq_ktime_atfork(ph);
    gq_api_atfork(ph);
    gq_regions_atfork(ph);
    gq_entries_atfork(ph);
    gq_hostmem_atfork(ph);
    gq_wsum_atfork(ph);
    gq_pool_atfork(ph);
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

/* The host mode, probed once the configuration is read; below full, one
 * line at the default log level: the mode, why, what the program gets, and
 * what would give full. Only when something is to be compressed. */
static void say_mode(const struct gq_config *cfg)
{
    if (!cfg->enable || !cfg->rules_set)
        return;
    const struct gq_probe *p = gq_wtrack_probe();
    if (p->mode != GQ_MODE_FULL)
        gq_warn("host mode %s (not full): %s; %s; for full: %s", gq_mode_name(p->mode),
                p->reason, gq_probe_effect(p->mode), p->fix);
}

static void on_config(const struct gq_config *cfg)
{
    say_mode(cfg);
    if (gq_report_due()) {
        atexit(at_exit);
        if (cfg->stats != GQ_STATS_OFF || cfg->verify || cfg->trace)
            gq_signals_install();
    }
    /* A program that meant to compress, on a machine where the driver does
     * not load: say so now (gq_drv logs why, once), not never. */
    if (cfg->enable && (cfg->rules_set || cfg->trace))
        (void)gq_drv();
}

/* Another libgqshim.so earlier in the search order (LD_PRELOAD naming two
 * installs, gqrun run under an LD_PRELOAD that has one): the first one
 * answers the program's calls and reaches this copy's hooks as "the next
 * definition", which then must only pass calls on. 1 when this copy is not
 * the first. */
static int another_copy_first(void)
{
    Dl_info me, first;
    void *sym = gq_sym(RTLD_DEFAULT, "gq_register");
    if (!sym || !dladdr((void *)another_copy_first, &me) || !dladdr(sym, &first) ||
        me.dli_fbase == first.dli_fbase)
        return 0;
    gq_warn("another libgqshim.so is loaded first (%s): this copy (%s) stands aside",
            first.dli_fname ? first.dli_fname : "?", me.dli_fname ? me.dli_fname : "?");
    return 1;
}

/* At load: a fork can come before the program's first CUDA call, and none
 * of this costs anything until used. */
__attribute__((constructor)) static void startup(void)
{
    gq_stats_mark_start();
    gq_signals_note_pid();
    if (another_copy_first()) {
        gq_config_stand_aside();
        return;
    }
    pthread_atfork(prepare, parent, child);
    gq_hostmem_set_filler(gq_entries_fill_span, gq_entries_owned_extent);
    gq_config_on_load(on_config);
}

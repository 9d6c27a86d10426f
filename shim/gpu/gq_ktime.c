/* Kernel time from CUDA events (see gq_ktime.h). */
#define _GNU_SOURCE
#include "gpu/gq_ktime.h"

#include "base/gq_config.h"
#include "base/gq_counters.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_modules.h"

#include <pthread.h>
#include <stdlib.h>

_Static_assert(GQ_KFN_COUNT <= GQ_STATS_KERNELS, "GQ_STATS_KERNELS too small for the kernels");

struct pending {
    CUevent start, end;
    int which;
    struct pending *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *head; /* newest first */

static int timing_on(void) { return gq_cfg()->stats != GQ_STATS_OFF; }

/* Folds p when its end has completed (or always, when `wait`); 1 when p is done with. */
static int fold(const struct gq_drv *d, struct pending *p, int wait)
{
    CUresult r = wait ? d->cuEventSynchronize(p->end) : d->cuEventQuery(p->end);
    if (r == CUDA_ERROR_NOT_READY)
        return 0;
    float ms = 0;
    if (r == CUDA_SUCCESS && d->cuEventElapsedTime && d->cuEventElapsedTime(&ms, p->start, p->end) == CUDA_SUCCESS && ms >= 0) {
        GQ_STAT_ADD(kernel_timed[p->which], 1);
        GQ_STAT_ADD(kernel_ns[p->which], (uint64_t)((double)ms * 1e6 + 0.5));
    }
    d->cuEventDestroy_v2(p->start);
    d->cuEventDestroy_v2(p->end);
    free(p);
    return 1;
}

static void harvest(const struct gq_drv *d, int wait)
{
    pthread_mutex_lock(&lock);
    for (struct pending **pp = &head; *pp;) {
        struct pending *p = *pp, *next = p->next;
        if (fold(d, p, wait)) /* frees p */
            __atomic_store_n(pp, next, __ATOMIC_RELAXED); /* `head` is peeked without the lock */
        else
            pp = &p->next;
    }
    pthread_mutex_unlock(&lock);
}

void gq_ktime_begin(struct gq_ktimer *t, int which, CUstream s)
{
    t->start = NULL;
    t->which = which;
    if (!timing_on())
        return;
    const struct gq_drv *d = gq_drv();
    if (!d || !d->cuEventElapsedTime)
        return; /* a driver without it still runs the shim, untimed */
    if (__atomic_load_n(&head, __ATOMIC_RELAXED))
        harvest(d, 0);
    if (d->cuEventCreate(&t->start, CU_EVENT_DEFAULT) != CUDA_SUCCESS) {
        t->start = NULL;
        return;
    }
    if (d->cuEventRecord(t->start, s) != CUDA_SUCCESS) {
        d->cuEventDestroy_v2(t->start);
        t->start = NULL;
    }
}

void gq_ktime_end(struct gq_ktimer *t, CUstream s, CUresult r)
{
    if (!timing_on())
        return;
    if (r == CUDA_SUCCESS)
        GQ_STAT_ADD(kernel_launches[t->which], 1);
    if (!t->start)
        return;
    const struct gq_drv *d = gq_drv();
    struct pending *p = r == CUDA_SUCCESS ? malloc(sizeof *p) : NULL;
    if (p && d->cuEventCreate(&p->end, CU_EVENT_DEFAULT) == CUDA_SUCCESS) {
        if (d->cuEventRecord(p->end, s) == CUDA_SUCCESS) {
            p->start = t->start;
            p->which = t->which;
            pthread_mutex_lock(&lock);
            p->next = head;
            __atomic_store_n(&head, p, __ATOMIC_RELAXED);
            pthread_mutex_unlock(&lock);
            return;
        }
        d->cuEventDestroy_v2(p->end);
    }
    free(p);
    d->cuEventDestroy_v2(t->start);
}

void gq_ktime_flush(void)
{
    const struct gq_drv *d = __atomic_load_n(&head, __ATOMIC_RELAXED) ? gq_drv() : NULL;
    if (d)
        harvest(d, 1);
}

void gq_ktime_atfork(enum gq_fork_phase ph) { gq_mutex_atfork(&lock, ph); }

/* Staging memory and the shim's own streams, per context (see gq_staging.h). */
#include "gpu/gq_staging.h"

#include "base/gq_config.h"
#include "base/gq_log.h"
#include "gpu/gq_driver.h"

#include <stdlib.h>
#include <string.h>

/* Less than this is not worth staging through: a slot must hold a useful
 * segment (store/gq_segs.h): 2 x 4 lanes x 3 slots of 128 KiB is 3 MiB. */
#define GQ_STAGING_MIN ((size_t)3 << 20)
#define GQ_LANES_ALL (GQ_LANE_COUNT * GQ_LANES)
#define GQ_SLOT_ALIGN 256u

struct gq_staging {
    CUcontext ctx;    /* NULL once retired (the context died) */
    CUdeviceptr base; /* 0: reserving failed here */
    size_t size;
    struct gq_lane lane[GQ_LANES_ALL]; /* direction d: [d * GQ_LANES, (d + 1) * GQ_LANES) */
    struct gq_staging *next;
};

static pthread_mutex_t staging_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gq_staging *stagings;
static __thread struct gq_staging *last_staging;

static CUcontext current_ctx(void)
{
    CUcontext ctx = NULL;
    const struct gq_drv *d = gq_drv();
    if (!d || d->cuCtxGetCurrent(&ctx) != CUDA_SUCCESS)
        return NULL;
    return ctx;
}

/* With staging_lock held: the live record of ctx, or NULL. */
static struct gq_staging *find_locked(CUcontext ctx)
{
    for (struct gq_staging *g = stagings; g; g = g->next)
        if (__atomic_load_n(&g->ctx, __ATOMIC_ACQUIRE) == ctx)
            return g;
    return NULL;
}

static void lane_destroy(const struct gq_drv *d, struct gq_lane *l)
{
    for (unsigned i = 0; i < GQ_LANE_SLOTS; i++) {
        if (l->filled[i])
            d->cuEventDestroy_v2(l->filled[i]);
        if (l->emptied[i])
            d->cuEventDestroy_v2(l->emptied[i]);
    }
    if (l->start)
        d->cuEventDestroy_v2(l->start);
    if (l->end)
        d->cuEventDestroy_v2(l->end);
    if (l->first)
        d->cuStreamDestroy_v2(l->first);
    if (l->second)
        d->cuStreamDestroy_v2(l->second);
    memset(l, 0, sizeof *l);
}

static CUresult lane_init(const struct gq_drv *d, struct gq_lane *l, CUdeviceptr base,
                          size_t slot_size)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->lock, NULL);
    l->slot_size = slot_size;
    CUresult r = d->cuStreamCreate(&l->first, CU_STREAM_NON_BLOCKING);
    if (r == CUDA_SUCCESS)
        r = d->cuStreamCreate(&l->second, CU_STREAM_NON_BLOCKING);
    if (r == CUDA_SUCCESS)
        r = d->cuEventCreate(&l->start, CU_EVENT_DISABLE_TIMING);
    if (r == CUDA_SUCCESS)
        r = d->cuEventCreate(&l->end, CU_EVENT_DISABLE_TIMING);
    for (unsigned i = 0; r == CUDA_SUCCESS && i < GQ_LANE_SLOTS; i++) {
        l->slot[i] = base + i * slot_size;
        r = d->cuEventCreate(&l->filled[i], CU_EVENT_DISABLE_TIMING);
        if (r == CUDA_SUCCESS)
            r = d->cuEventCreate(&l->emptied[i], CU_EVENT_DISABLE_TIMING);
    }
    if (r != CUDA_SUCCESS)
        lane_destroy(d, l);
    return r;
}

/* The slot size of staging of `total` bytes. */
static size_t slot_of(size_t total)
{
    return total / (GQ_LANES_ALL * GQ_LANE_SLOTS) / GQ_SLOT_ALIGN * GQ_SLOT_ALIGN;
}

/* Device memory for staging: `want` bytes, or the most of it the GPU can
 * spare, halving down to GQ_STAGING_MIN. */
static CUresult take_memory(const struct gq_drv *d, size_t want, CUdeviceptr *base, size_t *got)
{
    CUresult r = CUDA_ERROR_OUT_OF_MEMORY;
    for (size_t n = want; n >= GQ_STAGING_MIN; n /= 2) {
        r = d->cuMemAlloc_v2(base, n);
        if (r == CUDA_SUCCESS) {
            *got = n;
            return r;
        }
    }
    return r;
}

static void fill(const struct gq_drv *d, struct gq_staging *g, size_t want)
{
    CUresult r = take_memory(d, want, &g->base, &g->size);
    if (r != CUDA_SUCCESS) {
        g->base = 0;
        gq_warn_once("no device memory for staging (GQSHIM_STAGING_MAX, %s); compressed copies "
                     "go without it, slower (GQSHIM_STATS counts them)", gq_drv_errname(r));
        return;
    }
    if (g->size < want)
        gq_info("staging: %zu of %zu bytes of device memory (GQSHIM_STAGING_MAX)", g->size,
                want);
    size_t slot = slot_of(g->size);
    for (unsigned k = 0; k < GQ_LANES_ALL; k++) {
        r = lane_init(d, &g->lane[k], g->base + k * GQ_LANE_SLOTS * slot, slot);
        if (r != CUDA_SUCCESS) {
            for (unsigned j = 0; j < k; j++)
                lane_destroy(d, &g->lane[j]);
            d->cuMemFree_v2(g->base);
            g->base = 0;
            /* The driver refuses streams or events: the copies that need
             * them say so themselves. */
            gq_info("cannot set up staging (%s); compressed copies go without it",
                    gq_drv_errname(r));
            return;
        }
    }
}

int gq_staging_reserve(void)
{
    const struct gq_drv *d = gq_drv();
    CUcontext ctx = current_ctx();
    size_t want = (size_t)gq_cfg()->staging_max;
    if (!d || !ctx || want == 0)
        return 0;
    pthread_mutex_lock(&staging_lock);
    struct gq_staging *g = find_locked(ctx);
    if (!g && (g = calloc(1, sizeof *g)) != NULL) {
        g->ctx = ctx;
        g->next = stagings;
        stagings = g;
    }
    /* Absent, or refused before: try (again) now, at an allocation event. */
    if (g && !g->base)
        fill(d, g, want);
    int ok = g && g->base;
    pthread_mutex_unlock(&staging_lock);
    return ok;
}

/* The current context's staging, if it has some. Lock-free when this
 * thread used the same context last. */
static struct gq_staging *current(void)
{
    CUcontext ctx = current_ctx();
    if (!ctx)
        return NULL;
    struct gq_staging *g = last_staging;
    if (!g || __atomic_load_n(&g->ctx, __ATOMIC_ACQUIRE) != ctx) {
        pthread_mutex_lock(&staging_lock);
        g = find_locked(ctx);
        int ok = g && g->base;
        pthread_mutex_unlock(&staging_lock);
        if (!ok)
            return NULL;
        last_staging = g;
    }
    return g;
}

size_t gq_staging_nominal_slot(void)
{
    size_t want = (size_t)gq_cfg()->staging_max;
    return want >= GQ_STAGING_MIN ? slot_of(want) : 0;
}

/* 1 when everything queued on lane l has run. */
static int idle(const struct gq_lane *l)
{
    return gq_drv()->cuEventQuery(l->end) != CUDA_ERROR_NOT_READY;
}

struct gq_lane *gq_lane_acquire(enum gq_lane_dir dir, CUstream s)
{
    struct gq_staging *g = current();
    if (!g)
        return NULL;
    struct gq_lane *lanes = &g->lane[dir * GQ_LANES];
    /* The per-thread default stream has one handle for many streams: it
     * names no owner. */
    int named = s != CU_STREAM_PER_THREAD;
    /* Pass 0: the lane s used last (its order is s's anyway); 1: an idle
     * lane; 2: any free one. A lane locked by another thread is queueing a
     * copy right now, for a few microseconds. */
    for (int pass = named ? 0 : 1; pass < 3; pass++) {
        for (unsigned i = 0; i < GQ_LANES; i++) {
            struct gq_lane *l = &lanes[i];
            if (pass == 0 && __atomic_load_n(&l->owner, __ATOMIC_RELAXED) != s)
                continue;
            if (pthread_mutex_trylock(&l->lock) != 0)
                continue;
            if (pass == 1 && !idle(l)) {
                pthread_mutex_unlock(&l->lock);
                continue;
            }
            __atomic_store_n(&l->owner, named ? s : NULL, __ATOMIC_RELAXED);
            return l;
        }
    }
    struct gq_lane *l = &lanes[((uintptr_t)s >> 4) % GQ_LANES];
    pthread_mutex_lock(&l->lock);
    __atomic_store_n(&l->owner, named ? s : NULL, __ATOMIC_RELAXED);
    return l;
}

void gq_lane_release(struct gq_lane *l) { pthread_mutex_unlock(&l->lock); }

CUresult gq_lane_begin(struct gq_lane *l, CUstream s)
{
    const struct gq_drv *d = gq_drv();
    CUresult r = d->cuEventRecord(l->start, s);
    return r == CUDA_SUCCESS ? d->cuStreamWaitEvent(l->first, l->start, 0) : r;
}

CUresult gq_lane_take(struct gq_lane *l, unsigned *i)
{
    *i = l->next;
    l->next = (l->next + 1) % GQ_LANE_SLOTS;
    return gq_drv()->cuStreamWaitEvent(l->first, l->emptied[*i], 0);
}

CUresult gq_lane_handoff(struct gq_lane *l, unsigned i)
{
    const struct gq_drv *d = gq_drv();
    CUresult r = d->cuEventRecord(l->filled[i], l->first);
    return r == CUDA_SUCCESS ? d->cuStreamWaitEvent(l->second, l->filled[i], 0) : r;
}

CUresult gq_lane_emptied(struct gq_lane *l, unsigned i)
{
    return gq_drv()->cuEventRecord(l->emptied[i], l->second);
}

CUresult gq_lane_finish(struct gq_lane *l, CUstream s, CUevent ready)
{
    const struct gq_drv *d = gq_drv();
    CUresult r = ready ? d->cuEventRecord(ready, l->second) : CUDA_SUCCESS;
    if (r == CUDA_SUCCESS)
        r = d->cuEventRecord(l->end, l->second);
    return r == CUDA_SUCCESS ? d->cuStreamWaitEvent(s, l->end, 0) : r;
}

void gq_staging_forget_context(void)
{
    CUcontext ctx = current_ctx();
    if (!ctx)
        return;
    /* Retired, not freed: other threads' caches may still point at it. Its
     * memory and streams die with the context. */
    pthread_mutex_lock(&staging_lock);
    for (struct gq_staging *g = stagings; g; g = g->next)
        if (g->ctx == ctx)
            __atomic_store_n(&g->ctx, NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&staging_lock);
}

void gq_staging_atfork(enum gq_fork_phase ph)
{
    gq_mutex_atfork(&staging_lock, ph);
    /* A lane lock another thread held stays held in the child: make them
     * fresh there (the child makes no compressed copies; see gq_fork.h). */
    if (ph == GQ_FORK_CHILD)
        for (struct gq_staging *g = stagings; g; g = g->next)
            for (unsigned k = 0; k < GQ_LANES_ALL; k++)
                gq_mutex_atfork(&g->lane[k].lock, GQ_FORK_CHILD);
}

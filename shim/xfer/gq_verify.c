/* Measuring the quantization error of offloads (see gq_verify.h). */
#include "xfer/gq_verify.h"

#include "gpu/gq_driver.h"
#include "gq_kernels.h"
#include "gpu/gq_launch.h"
#include "base/gq_log.h"
#include "gq_rules.h"
#include "base/gq_config.h"
#include "base/gq_counters.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Result slots in flight at once, per context; an offload finding none is
 * not measured. */
#define SLOTS 512

/* What the stream callback of a slot needs: written by the offload that
 * took the slot, read by the callback, untouched in between. */
struct job {
    struct area *a;
    unsigned slot, rule, tensor;
    int discard; /* the check was not queued whole: free the slot only */
};

/* A context's result slots: the verify kernels reduce into `dev` (device
 * memory: atomics stay on the GPU), one DMA per check copies its slot into
 * `host` (pinned), where the callback reads it. */
struct area {
    CUcontext ctx;   /* NULL once retired (the context died) */
    CUdeviceptr dev; /* 0: not allocated (yet) */
    struct gq_verify_result *host;
    uint64_t busy[SLOTS / 64]; /* atomic bitmap */
    struct job job[SLOTS];
    struct area *next;
};

static pthread_mutex_t areas_lock = PTHREAD_MUTEX_INITIALIZER;
static struct area *areas;
static __thread struct area *last_area;

/* Per rule, updated from stream callbacks: atomics only, no lock. */
struct totals {
    uint64_t offloads, elements;
    uint64_t sse_bits, ss_bits; /* doubles, added with compare-and-swap */
    uint32_t max_bits;          /* non-negative float: bits order as values */
};
static struct totals tot[GQ_STATS_RULES];
static uint64_t unmeasured;

static CUcontext current_ctx(const struct gq_drv *d)
{
    CUcontext ctx = NULL;
    return d && d->cuCtxGetCurrent(&ctx) == CUDA_SUCCESS ? ctx : NULL;
}

/* With areas_lock held: the live area of ctx, or NULL. */
static struct area *find_locked(CUcontext ctx)
{
    for (struct area *a = areas; a; a = a->next)
        if (__atomic_load_n(&a->ctx, __ATOMIC_ACQUIRE) == ctx)
            return a;
    return NULL;
}

static void fill(const struct gq_drv *d, struct area *a)
{
    const size_t n = SLOTS * sizeof *a->host;
    CUdeviceptr dv = 0;
    void *h = NULL;
    CUresult r = d->cuMemAlloc_v2(&dv, n);
    if (r == CUDA_SUCCESS)
        r = d->cuMemHostAlloc(&h, n, CU_MEMHOSTALLOC_PORTABLE);
    if (r != CUDA_SUCCESS) {
        if (dv)
            d->cuMemFree_v2(dv);
        gq_warn_once("GQSHIM_VERIFY: no memory for results (%s); offloads are not measured "
                     "until an allocation gets some", gq_drv_errname(r));
        return;
    }
    a->host = h;
    a->dev = dv;
}

void gq_verify_reserve(void)
{
    const struct gq_drv *d = gq_drv();
    if (!gq_cfg()->verify || !d)
        return;
    CUcontext ctx = current_ctx(d);
    if (!ctx)
        return;
    pthread_mutex_lock(&areas_lock);
    struct area *a = find_locked(ctx);
    if (!a && (a = calloc(1, sizeof *a)) != NULL) {
        a->ctx = ctx;
        for (unsigned i = 0; i < SLOTS; i++)
            a->job[i] = (struct job){.a = a, .slot = i};
        a->next = areas;
        areas = a;
    }
    /* Absent, or refused before: try (again) now, at an allocation event. */
    if (a && !a->dev)
        fill(d, a);
    pthread_mutex_unlock(&areas_lock);
}

/* The current context's area when it has its memory; lock-free when this
 * thread used the same context last. Never allocates: an offload runs
 * inside the program's copy. */
static struct area *current(const struct gq_drv *d)
{
    CUcontext ctx = current_ctx(d);
    if (!ctx)
        return NULL;
    struct area *a = last_area;
    if (!a || __atomic_load_n(&a->ctx, __ATOMIC_ACQUIRE) != ctx) {
        pthread_mutex_lock(&areas_lock);
        a = find_locked(ctx);
        int ok = a && a->dev;
        pthread_mutex_unlock(&areas_lock);
        if (!ok)
            return NULL;
        last_area = a;
    }
    return a;
}

static int slot_take(struct area *a)
{
    for (unsigned w = 0; w < SLOTS / 64; w++) {
        uint64_t cur = __atomic_load_n(&a->busy[w], __ATOMIC_RELAXED);
        while (~cur) {
            unsigned b = (unsigned)__builtin_ctzll(~cur);
            if (__atomic_compare_exchange_n(&a->busy[w], &cur, cur | (1ull << b), 0,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return (int)(w * 64 + b);
        }
    }
    return -1;
}

static void slot_give(struct area *a, unsigned i)
{
    __atomic_fetch_and(&a->busy[i / 64], ~(1ull << (i % 64)), __ATOMIC_RELEASE);
}

static void add_f64(uint64_t *bits, double v)
{
    uint64_t old = __atomic_load_n(bits, __ATOMIC_RELAXED), upd;
    do {
        double d;
        memcpy(&d, &old, sizeof d);
        d += v;
        memcpy(&upd, &d, sizeof upd);
    } while (!__atomic_compare_exchange_n(bits, &old, upd, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

static void fold(const struct gq_verify_result *r, unsigned idx, unsigned tensor)
{
    if (r->overflow || idx >= GQ_STATS_RULES)
        return;
    struct totals *t = &tot[idx];
    __atomic_fetch_add(&t->offloads, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->elements, r->n_counted, __ATOMIC_RELAXED);
    add_f64(&t->sse_bits, r->sum_sq_err);
    add_f64(&t->ss_bits, r->sum_sq);
    uint32_t cur = __atomic_load_n(&t->max_bits, __ATOMIC_RELAXED);
    while (r->max_abs_bits > cur &&
           !__atomic_compare_exchange_n(&t->max_bits, &cur, r->max_abs_bits, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    gq_stats_tensor_verify(tensor, r->n_counted, r->sum_sq_err, r->sum_sq, r->max_abs_bits);
}

/* Stream callback, after the slot's copy to the host: fold it, free it. The
 * slot is free only now, when no queued work touches it any more. */
static void fold_cb(void *user)
{
    struct job *j = user;
    if (!j->discard)
        fold(&j->a->host[j->slot], j->rule, j->tensor);
    slot_give(j->a, j->slot);
}

void gq_verify_offload(CUstream s, CUdeviceptr src, const struct gq_params *p,
                       const struct gq_layout *l, CUdeviceptr block, const struct gq_rule *rule,
                       unsigned tensor)
{
    if (!gq_cfg()->verify)
        return;
    const struct gq_drv *d = gq_drv();
    struct area *a = d ? current(d) : NULL;
    int slot = a ? slot_take(a) : -1;
    if (slot < 0) {
        __atomic_fetch_add(&unmeasured, 1, __ATOMIC_RELAXED);
        return;
    }
    const size_t n = sizeof *a->host;
    CUdeviceptr out = a->dev + (CUdeviceptr)slot * n;
    struct job *j = &a->job[slot];
    j->rule = rule->index;
    j->tensor = tensor;
    /* The kernel adds into its slot: zero it first, in stream order. */
    CUresult r = d->cuMemsetD8Async(out, 0, n, s);
    if (r != CUDA_SUCCESS) { /* nothing queued: the slot is free again */
        slot_give(a, (unsigned)slot);
        __atomic_fetch_add(&unmeasured, 1, __ATOMIC_RELAXED);
        return;
    }
    r = gq_launch_verify(s, src, p, l, block, out);
    if (r == CUDA_SUCCESS)
        r = d->cuMemcpyDtoHAsync_v2(&a->host[slot], out, n, s);
    /* Whatever was queued may still write the slot: only the callback, in
     * stream order after it, frees it. */
    int lost = r != CUDA_SUCCESS;
    j->discard = lost;
    /* Refused, nothing says when the queued work is done: the slot stays
     * taken for good rather than waiting inside the program's copy. */
    if (d->cuLaunchHostFunc(s, fold_cb, j) != CUDA_SUCCESS)
        lost = 1;
    if (lost)
        __atomic_fetch_add(&unmeasured, 1, __ATOMIC_RELAXED);
}

void gq_verify_forget_context(void)
{
    CUcontext ctx = current_ctx(gq_drv());
    if (!ctx)
        return;
    /* Retired, not freed: callbacks still queued and other threads' caches
     * may point at it. Its device memory dies with the context. */
    pthread_mutex_lock(&areas_lock);
    for (struct area *a = areas; a; a = a->next)
        if (a->ctx == ctx)
            __atomic_store_n(&a->ctx, NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&areas_lock);
}

void gq_verify_atfork(enum gq_fork_phase ph) { gq_mutex_atfork(&areas_lock, ph); }

int gq_verify_rule(unsigned index, struct gq_verify_totals *out)
{
    memset(out, 0, sizeof *out);
    if (index >= GQ_STATS_RULES)
        return 0;
    const struct totals *t = &tot[index];
    out->offloads = __atomic_load_n(&t->offloads, __ATOMIC_RELAXED);
    if (!out->offloads)
        return 0;
    out->elements = __atomic_load_n(&t->elements, __ATOMIC_RELAXED);
    uint64_t a = __atomic_load_n(&t->sse_bits, __ATOMIC_RELAXED);
    uint64_t b = __atomic_load_n(&t->ss_bits, __ATOMIC_RELAXED);
    uint32_t m = __atomic_load_n(&t->max_bits, __ATOMIC_RELAXED);
    float mf;
    memcpy(&out->sum_sq_err, &a, sizeof a);
    memcpy(&out->sum_sq, &b, sizeof b);
    memcpy(&mf, &m, sizeof m);
    out->max_abs = mf;
    out->nmse = out->sum_sq > 0 ? out->sum_sq_err / out->sum_sq : 0.0;
    return 1;
}

uint64_t gq_verify_unmeasured(void) { return __atomic_load_n(&unmeasured, __ATOMIC_RELAXED); }

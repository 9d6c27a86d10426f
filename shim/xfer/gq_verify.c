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
#include <string.h>

/* Result slots in flight at once; an offload finding none is not measured. */
#define SLOTS 512

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int init_done;
static struct gq_verify_result *slot_host;
static CUdeviceptr slot_dev;
static uint64_t busy[SLOTS / 64]; /* atomic bitmap */

/* Per rule, updated from stream callbacks: atomics only, no lock. */
struct totals {
    uint64_t offloads, elements;
    uint64_t sse_bits, ss_bits; /* doubles, added with compare-and-swap */
    uint32_t max_bits;          /* non-negative float: bits order as values */
};
static struct totals tot[GQ_STATS_RULES];
static uint64_t unmeasured;

/* The slot area: one pinned, device-mapped allocation, made on first use
 * (a context is current then: the offload has one). */
static int slots_ready(const struct gq_drv *d)
{
    if (__atomic_load_n(&init_done, __ATOMIC_ACQUIRE))
        return slot_host != NULL;
    pthread_mutex_lock(&init_lock);
    if (!init_done) {
        void *h = NULL;
        CUdeviceptr dv = 0;
        if (d->cuMemHostAlloc(&h, SLOTS * sizeof *slot_host,
                              CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP) == CUDA_SUCCESS &&
            d->cuMemHostGetDevicePointer_v2(&dv, h, 0) == CUDA_SUCCESS) {
            slot_host = h;
            slot_dev = dv;
        } else {
            if (h)
                d->cuMemFreeHost(h);
            gq_warn("GQSHIM_VERIFY: cannot allocate pinned memory for results; offloads are not measured");
        }
        __atomic_store_n(&init_done, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&init_lock);
    return slot_host != NULL;
}

static int slot_take(void)
{
    for (unsigned w = 0; w < SLOTS / 64; w++) {
        uint64_t cur = __atomic_load_n(&busy[w], __ATOMIC_RELAXED);
        while (~cur) {
            unsigned b = (unsigned)__builtin_ctzll(~cur);
            if (__atomic_compare_exchange_n(&busy[w], &cur, cur | (1ull << b), 0,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return (int)(w * 64 + b);
        }
    }
    return -1;
}

static void slot_give(unsigned i)
{
    __atomic_fetch_and(&busy[i / 64], ~(1ull << (i % 64)), __ATOMIC_RELEASE);
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

/* The user word of the callback: tensor row, rule index and slot, no
 * allocation (rows < 2^16, rules < 2^16, slots < 2^16). */
#define PACK(tensor, rule, slot) \
    ((void *)(((uintptr_t)(tensor) << 32) | ((uintptr_t)(rule) << 16) | (uintptr_t)(slot)))

/* Stream callback, after the verify kernel: fold the slot, free it. */
static void fold_cb(void *user)
{
    unsigned slot = (unsigned)((uintptr_t)user & 0xffffu);
    unsigned idx = (unsigned)(((uintptr_t)user >> 16) & 0xffffu);
    unsigned tensor = (unsigned)((uintptr_t)user >> 32);
    const struct gq_verify_result *r = &slot_host[slot];
    if (!r->overflow && idx < GQ_STATS_RULES) {
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
    slot_give(slot);
}

void gq_verify_offload(CUstream s, CUdeviceptr src, const struct gq_params *p,
                       const struct gq_layout *l, CUdeviceptr block, const struct gq_rule *rule,
                       unsigned tensor)
{
    if (!gq_cfg()->verify)
        return;
    const struct gq_drv *d = gq_drv();
    int slot = d && slots_ready(d) ? slot_take() : -1;
    if (slot < 0) {
        __atomic_fetch_add(&unmeasured, 1, __ATOMIC_RELAXED);
        return;
    }
    memset(&slot_host[slot], 0, sizeof slot_host[slot]); /* no GPU work uses a free slot */
    CUresult r = gq_launch_verify(s, src, p, l, block,
                                  slot_dev + (CUdeviceptr)slot * sizeof *slot_host);
    if (r != CUDA_SUCCESS) {
        slot_give((unsigned)slot);
        __atomic_fetch_add(&unmeasured, 1, __ATOMIC_RELAXED);
        return;
    }
    void *user = PACK(tensor, rule->index, slot);
    if (d->cuLaunchHostFunc(s, fold_cb, user) != CUDA_SUCCESS) {
        /* The kernel is queued and writes the slot: wait for it, fold here. */
        d->cuStreamSynchronize(s);
        fold_cb(user);
    }
}

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

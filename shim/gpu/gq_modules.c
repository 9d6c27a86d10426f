/* The shim's kernels, per context (see gq_modules.h). */
#include "gpu/gq_modules.h"

#include "base/gq_log.h"
#include "gpu/gq_driver.h"
#include "gq_kernels.h"

#include <pthread.h>
#include <stdlib.h>

/* One loaded module per context. Contexts are few (one primary context per
 * device), so a short list searched under a lock is enough; the common case
 * (the context used last by this thread) is answered from a thread cache. */
struct ctx_module {
    CUcontext ctx;
    CUmodule module; /* NULL: loading failed in this context */
    CUfunction fn[GQ_KFN_COUNT];
    struct ctx_module *next;
};

static const char *const kernel_names[GQ_KFN_COUNT] = {
    [GQ_KFN_QUANTIZE] = "gq_quantize",
    [GQ_KFN_DEQUANTIZE] = "gq_dequantize",
    [GQ_KFN_SPILL] = "gq_spill",
    [GQ_KFN_VERIFY] = "gq_verify",
};

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctx_module *modules;
static __thread struct ctx_module *last_module;

/* A device's primary context holds the module and the store's pinned
 * blocks: the shim keeps a reference to it for good, so a program that
 * releases its own last one does not destroy them under the shim. Other
 * contexts are the program's to destroy. */
static void keep_primary(CUcontext ctx)
{
    const struct gq_drv *d = gq_drv();
    CUdevice dev;
    CUcontext primary = NULL;
    if (d->cuCtxGetDevice(&dev) != CUDA_SUCCESS ||
        d->cuDevicePrimaryCtxRetain(&primary, dev) != CUDA_SUCCESS)
        return;
    if (primary != ctx)
        d->cuDevicePrimaryCtxRelease_v2(dev);
}

static struct ctx_module *load_module(CUcontext ctx)
{
    struct ctx_module *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->ctx = ctx;
    CUresult r = gq_drv()->cuModuleLoadData(&m->module, gq_kernel_image);
    for (int k = 0; r == CUDA_SUCCESS && k < GQ_KFN_COUNT; k++)
        r = gq_drv()->cuModuleGetFunction(&m->fn[k], m->module, kernel_names[k]);
    if (r != CUDA_SUCCESS) {
        gq_warn_once("cannot load the shim's kernels in context %p (%s); copies there (and in "
                     "any other context where this fails) pass through", (void *)ctx,
                     gq_drv_errname(r));
        m->module = NULL;
    } else {
        keep_primary(ctx);
    }
    m->next = modules;
    modules = m;
    return m;
}

CUfunction gq_drv_kernel(enum gq_kfn which)
{
    if (!gq_drv())
        return NULL;
    CUcontext ctx = NULL;
    if (gq_drv()->cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx)
        return NULL;
    struct ctx_module *m = last_module;
    /* Atomic: gq_drv_forget_context may retire the entry meanwhile. */
    if (!m || __atomic_load_n(&m->ctx, __ATOMIC_ACQUIRE) != ctx) {
        pthread_mutex_lock(&modules_lock);
        for (m = modules; m && m->ctx != ctx; m = m->next)
            ;
        if (!m)
            m = load_module(ctx);
        pthread_mutex_unlock(&modules_lock);
        if (!m)
            return NULL;
        last_module = m;
    }
    return m->module ? m->fn[which] : NULL;
}

void gq_modules_atfork(enum gq_fork_phase ph) { gq_mutex_atfork(&modules_lock, ph); }

void gq_drv_forget_context(void)
{
    CUcontext ctx = NULL;
    if (!gq_drv() || gq_drv()->cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx)
        return;
    /* Retired, not freed: other threads' caches may still point at it, and
     * will see that it no longer names their context. */
    pthread_mutex_lock(&modules_lock);
    for (struct ctx_module *m = modules; m; m = m->next)
        if (m->ctx == ctx)
            __atomic_store_n(&m->ctx, NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&modules_lock);
}

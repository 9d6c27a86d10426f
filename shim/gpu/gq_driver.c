/* Loading the CUDA driver and the shim's kernels (see gq_driver.h). */
#define _GNU_SOURCE
#include "gpu/gq_driver.h"

#include "base/gq_log.h"
#include "gpu/gq_sym.h"

#include <pthread.h>

static struct gq_drv drv;
static const struct gq_drv *drv_ok;
static int drv_done; /* set (release) once drv_ok is final */
static pthread_once_t drv_once = PTHREAD_ONCE_INIT;

static void load_driver(void)
{
    void *h = gq_sym_libcuda();
    if (!h) {
        gq_warn("cannot load the CUDA driver (libcuda.so.1): %s; nothing is compressed, every "
                "call passes through (no GPU here? run on cudasim: gqrun --cudasim, or "
                "LD_LIBRARY_PATH=build/cudasim)",
                gq_sym_libcuda_error());
        return;
    }
    int missing = 0;
#define GQ_DRV_LOAD(name, params)                                         \
    if (!(*(void **)&drv.name = gq_sym(h, #name))) {                      \
        gq_warn("the CUDA driver lacks %s; passing every call through", #name); \
        missing = 1;                                                      \
    }
    GQ_DRV_FUNCS(GQ_DRV_LOAD)
#undef GQ_DRV_LOAD
    if (missing)
        return;
    *(void **)&drv.cuThreadExchangeStreamCaptureMode = gq_sym(h, "cuThreadExchangeStreamCaptureMode");
    *(void **)&drv.cuEventElapsedTime = gq_sym(h, "cuEventElapsedTime_v2");
    if (!drv.cuEventElapsedTime)
        *(void **)&drv.cuEventElapsedTime = gq_sym(h, "cuEventElapsedTime");
    CUresult r = drv.cuInit(0);
    if (r != CUDA_SUCCESS) {
        gq_warn("cuInit failed (%s); passing every call through", gq_drv_errname(r));
        return;
    }
    drv_ok = &drv;
}

static void load_once(void)
{
    load_driver();
    __atomic_store_n(&drv_done, 1, __ATOMIC_RELEASE);
}

const struct gq_drv *gq_drv(void)
{
    if (__builtin_expect(!__atomic_load_n(&drv_done, __ATOMIC_ACQUIRE), 0))
        pthread_once(&drv_once, load_once);
    return drv_ok;
}

const char *gq_drv_errname(CUresult r)
{
    const char *s = NULL;
    if (drv.cuGetErrorName && drv.cuGetErrorName(r, &s) == CUDA_SUCCESS && s)
        return s;
    return "unknown CUDA error";
}


/* Pointer, context and stream queries (see gq_ptr.h). */
#include "gpu/gq_ptr.h"

#include "base/gq_layer.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_real.h"

/* What the driver knows of an address: one cuPointerGetAttributes call.
 * Unlike cuPointerGetAttribute, it succeeds on memory the driver does not
 * know (malloc'd memory, the shim's own host buffers), with the memory type
 * 0, no context and no device pointer (cuda.h: "the attributes are assigned
 * default NULL values and CUDA_SUCCESS is returned"); the range's start and
 * size are then left as they were (seen on an H200, driver 580), so they
 * start at 0 here. A failing call would show in the program's API trace as
 * its own error (compute-sanitizer reports each one), whereas the program
 * did nothing wrong. */
struct attrs {
    unsigned type; /* CUmemorytype, 0 where the driver knows nothing */
    int ordinal;
    CUdeviceptr base;
    size_t size;
};

static int ask(const void *p, CUpointer_attribute *which, void **data, unsigned n)
{
    const struct gq_drv *d = gq_drv();
    return d && d->cuPointerGetAttributes(n, which, data, (CUdeviceptr)(uintptr_t)p) ==
                    CUDA_SUCCESS;
}

/* 1 and *a filled when the driver knows p (device or pinned host memory). */
static int known(const void *p, struct attrs *a)
{
    CUpointer_attribute which[] = {CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                   CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                                   CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
                                   CU_POINTER_ATTRIBUTE_RANGE_SIZE};
    void *data[] = {&a->type, &a->ordinal, &a->base, &a->size};
    *a = (struct attrs){0, -1, 0, 0};
    return p && ask(p, which, data, 4) && a->type != 0;
}

int gq_ptr_query(const void *p, struct gq_ptr_info *out)
{
    struct attrs a;
    if (!known(p, &a))
        return -1;
    out->type = (CUmemorytype)a.type;
    out->base = (uintptr_t)a.base;
    out->size = a.size;
    return 0;
}

int gq_ptr_is_device(const void *p)
{
    struct attrs a;
    return known(p, &a) && a.type == CU_MEMORYTYPE_DEVICE;
}

int gq_ptr_device_range(const void *p, size_t count)
{
    const struct gq_drv *d = gq_drv();
    struct attrs a;
    CUdevice current = -1;
    uintptr_t at = (uintptr_t)p;
    return d && known(p, &a) && a.type == CU_MEMORYTYPE_DEVICE &&
           d->cuCtxGetDevice(&current) == CUDA_SUCCESS && a.ordinal == (int)current &&
           at >= a.base && at - a.base <= a.size && count <= a.size - (at - a.base);
}

CUdeviceptr gq_ptr_device_view(const void *host)
{
    /* 0 where kernels of the current context cannot reach it: unknown to the
     * driver, or no mapping in this context. */
    CUpointer_attribute which[] = {CU_POINTER_ATTRIBUTE_DEVICE_POINTER};
    CUdeviceptr dp = 0;
    void *data[] = {&dp};
    return ask(host, which, data, 1) ? dp : 0;
}

size_t gq_ptr_pinned_extent(const void *p)
{
    struct gq_ptr_info info;
    if (gq_ptr_query(p, &info) != 0 || info.base != (uintptr_t)p)
        return 0;
    return info.size;
}

int gq_ctx_bind(void)
{
    const struct gq_drv *d = gq_drv();
    CUcontext ctx = NULL;
    if (!d)
        return 0;
    if (d->cuCtxGetCurrent(&ctx) == CUDA_SUCCESS && ctx)
        return 1;
    /* The runtime's own cudaFree(NULL) binds its context. Its driver calls
     * are not the program's: the thread is marked inside meanwhile. */
    gq_layer_enter();
    int bound = gq_real()->cudaFree && gq_real()->cudaFree(NULL) == cudaSuccess;
    gq_layer_leave();
    return bound && d->cuCtxGetCurrent(&ctx) == CUDA_SUCCESS && ctx;
}

int gq_capture_relax(void)
{
    const struct gq_drv *d = gq_drv();
    CUstreamCaptureMode m = CU_STREAM_CAPTURE_MODE_RELAXED;
    if (!d || !d->cuThreadExchangeStreamCaptureMode ||
        d->cuThreadExchangeStreamCaptureMode(&m) != CUDA_SUCCESS)
        return -1;
    return (int)m;
}

void gq_capture_restore(int saved)
{
    const struct gq_drv *d = gq_drv();
    CUstreamCaptureMode m = (CUstreamCaptureMode)saved;
    if (saved >= 0 && d && d->cuThreadExchangeStreamCaptureMode)
        d->cuThreadExchangeStreamCaptureMode(&m);
}

int gq_stream_capturing(CUstream s)
{
    const struct gq_drv *d = gq_drv();
    CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;
    return !d || d->cuStreamIsCapturing(s, &st) != CUDA_SUCCESS ||
           st != CU_STREAM_CAPTURE_STATUS_NONE;
}

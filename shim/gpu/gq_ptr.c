/* Pointer, context and stream queries (see gq_ptr.h). */
#include "gpu/gq_ptr.h"

#include "base/gq_layer.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_real.h"

static CUresult attr(const struct gq_drv *d, void *out, CUpointer_attribute a, const void *p)
{
    return d->cuPointerGetAttribute(out, a, (CUdeviceptr)(uintptr_t)p);
}

int gq_ptr_query(const void *p, struct gq_ptr_info *out)
{
    const struct gq_drv *d = gq_drv();
    unsigned type = 0;
    CUdeviceptr base = 0;
    size_t size = 0;
    if (!d || !p || attr(d, &type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p) != CUDA_SUCCESS ||
        attr(d, &base, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, p) != CUDA_SUCCESS ||
        attr(d, &size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, p) != CUDA_SUCCESS)
        return -1;
    out->type = (CUmemorytype)type;
    out->base = (uintptr_t)base;
    out->size = size;
    return 0;
}

int gq_ptr_is_device(const void *p)
{
    const struct gq_drv *d = gq_drv();
    unsigned type = 0;
    return d && attr(d, &type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p) == CUDA_SUCCESS &&
           type == CU_MEMORYTYPE_DEVICE;
}

int gq_ptr_device_range(const void *p, size_t count)
{
    const struct gq_drv *d = gq_drv();
    struct gq_ptr_info info;
    int ordinal = -1;
    CUdevice current = -1;
    uintptr_t a = (uintptr_t)p;
    return d && gq_ptr_query(p, &info) == 0 && info.type == CU_MEMORYTYPE_DEVICE &&
           attr(d, &ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, p) == CUDA_SUCCESS &&
           d->cuCtxGetDevice(&current) == CUDA_SUCCESS && ordinal == (int)current &&
           a >= info.base && a - info.base <= info.size && count <= info.size - (a - info.base);
}

CUdeviceptr gq_ptr_device_view(const void *host)
{
    const struct gq_drv *d = gq_drv();
    CUdeviceptr dp = 0;
    if (!d || attr(d, &dp, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, host) != CUDA_SUCCESS)
        return 0;
    return dp;
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

/*
 * drv.h — shared by the files of libcuda.so.1's API layer (drv_*.c): the
 * checks every driver call starts with, and prototypes for the per-thread
 * default stream variants (_ptsz / _ptds) that cuda.h declares only in
 * per-thread builds.
 */
#ifndef CUDASIM_DRV_H
#define CUDASIM_DRV_H

#include "sim.h"

/* cuInit has run. */
static inline CUresult drv_init_check(void)
{
    return cudasim_is_initialized() ? CUDA_SUCCESS : CUDA_ERROR_NOT_INITIALIZED;
}

/* cuInit has run, a context is current and usable: its device in *dev. */
static inline CUresult drv_ctx_check(int *dev)
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    *dev = cudasim_current_device();
    if (*dev < 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (cudasim_primary_destroyed(*dev)) /* its last reference was released */
        return CUDA_ERROR_CONTEXT_IS_DESTROYED;
    return cudasim_sticky(*dev);
}

/* DRV_ENTRY(name, (params), (args)) { body }: the exported entry point
 * `name`. The body is a function of its own, and its status leaves through
 * cudasim_api_status (CUDASIM_API_ERRORS), named as the caller called it. */
#define DRV_ENTRY(name, params, args)                                               \
    static CUresult name##_body params;                                             \
    CUresult name params                                                            \
    {                                                                               \
        return (CUresult)cudasim_api_status(#name, name##_body args, 0,            \
                                            __builtin_return_address(0));          \
    }                                                                               \
    static CUresult name##_body params

#define DRV_CTX_OR_RETURN(dev)           \
    int dev;                             \
    do {                                 \
        CUresult ctx_r_ = drv_ctx_check(&dev); \
        if (ctx_r_)                      \
            return ctx_r_;               \
    } while (0)

CUresult cuMemcpy_ptds(CUdeviceptr dst, CUdeviceptr src, size_t n);
CUresult cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s);
CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr dst, const void *src, size_t n);
CUresult cuMemcpyDtoH_v2_ptds(void *dst, CUdeviceptr src, size_t n);
CUresult cuMemcpyDtoD_v2_ptds(CUdeviceptr dst, CUdeviceptr src, size_t n);
CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dst, const void *src, size_t n, CUstream s);
CUresult cuMemcpyDtoHAsync_v2_ptsz(void *dst, CUdeviceptr src, size_t n, CUstream s);
CUresult cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s);
CUresult cuMemsetD8_v2_ptds(CUdeviceptr dst, unsigned char uc, size_t n);
CUresult cuMemsetD8Async_ptsz(CUdeviceptr dst, unsigned char uc, size_t n, CUstream s);
CUresult cuStreamSynchronize_ptsz(CUstream s);
CUresult cuStreamQuery_ptsz(CUstream s);
CUresult cuStreamWaitEvent_ptsz(CUstream s, CUevent e, unsigned flags);
CUresult cuStreamIsCapturing_ptsz(CUstream s, CUstreamCaptureStatus *status);
CUresult cuStreamBeginCapture_v2_ptsz(CUstream s, CUstreamCaptureMode mode);
CUresult cuStreamEndCapture_ptsz(CUstream s, CUgraph *graph);
CUresult cuEventRecord_ptsz(CUevent e, CUstream s);
CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                             unsigned by, unsigned bz, unsigned shared, CUstream s, void **params,
                             void **extra);
CUresult cuLaunchHostFunc_ptsz(CUstream s, CUhostFn fn, void *data);

#endif

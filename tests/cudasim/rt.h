/*
 * rt.h — shared by the files of libcudart.so.13's API layer (rt_*.c): entry
 * into the runtime (implicit initialisation, current device, sticky errors),
 * the per-thread last error, and prototypes of the per-thread default stream
 * variants that cuda_runtime_api.h declares only in per-thread builds.
 */
#ifndef CUDASIM_RT_H
#define CUDASIM_RT_H

#include "sim.h"

#include <cuda_runtime_api.h>

/* Initialises on first use and makes the thread's device (0 unless
 * cudaSetDevice chose another) current, as the runtime does on its first
 * call. Returns the device's sticky error, if any (recorded as last error). */
cudaError_t rt_enter(int *dev);
/* Records a failure as the thread's last error; returns it as cudaError_t.
 * cudaErrorNotReady is a status, not an error, and is not recorded. */
cudaError_t rt_result(CUresult r);
cudaError_t rt_error(cudaError_t e);

/* RT_ENTRY(name, (params), (args)) { body }: the exported entry point
 * `name`, as DRV_ENTRY (drv.h) for the driver: its status leaves through
 * cudasim_api_status (CUDASIM_API_ERRORS). */
#define RT_ENTRY(name, params, args)                                                \
    static cudaError_t name##_body params;                                          \
    cudaError_t name params                                                         \
    {                                                                               \
        return (cudaError_t)cudasim_api_status(#name, name##_body args, 1,         \
                                               __builtin_return_address(0));       \
    }                                                                               \
    static cudaError_t name##_body params

#define RT_ENTER(dev)                       \
    int dev;                                \
    do {                                    \
        cudaError_t enter_e_ = rt_enter(&dev); \
        if (enter_e_)                       \
            return enter_e_;                \
    } while (0)

/* The _ptds / _ptsz entry points (stream 0 is the per-thread stream). */
#define RT_PTDS_PROTOS(X)                                                                        \
    X(cudaMemcpy_ptds, (void *d, const void *s, size_t n, enum cudaMemcpyKind k))               \
    X(cudaMemcpyAsync_ptsz,                                                                      \
      (void *d, const void *s, size_t n, enum cudaMemcpyKind k, cudaStream_t st))               \
    X(cudaMemcpy2D_ptds, (void *d, size_t dp, const void *s, size_t sp, size_t w, size_t h,     \
                          enum cudaMemcpyKind k))                                                \
    X(cudaMemcpy2DAsync_ptsz, (void *d, size_t dp, const void *s, size_t sp, size_t w, size_t h, \
                               enum cudaMemcpyKind k, cudaStream_t st))                          \
    X(cudaMemset_ptds, (void *d, int v, size_t n))                                               \
    X(cudaMemsetAsync_ptsz, (void *d, int v, size_t n, cudaStream_t st))                         \
    X(cudaMallocAsync_ptsz, (void **p, size_t n, cudaStream_t st))                               \
    X(cudaFreeAsync_ptsz, (void *p, cudaStream_t st))                                            \
    X(cudaStreamSynchronize_ptsz, (cudaStream_t st))                                             \
    X(cudaStreamQuery_ptsz, (cudaStream_t st))                                                   \
    X(cudaStreamWaitEvent_ptsz, (cudaStream_t st, cudaEvent_t e, unsigned flags))                \
    X(cudaStreamIsCapturing_ptsz, (cudaStream_t st, enum cudaStreamCaptureStatus *status))       \
    X(cudaStreamBeginCapture_ptsz, (cudaStream_t st, enum cudaStreamCaptureMode mode))           \
    X(cudaStreamEndCapture_ptsz, (cudaStream_t st, cudaGraph_t *g))                              \
    X(cudaEventRecord_ptsz, (cudaEvent_t e, cudaStream_t st))                                    \
    X(cudaLaunchHostFunc_ptsz, (cudaStream_t st, cudaHostFn_t fn, void *data))

#define RT_PROTO(name, params) cudaError_t name params;
RT_PTDS_PROTOS(RT_PROTO)
#undef RT_PROTO

#endif

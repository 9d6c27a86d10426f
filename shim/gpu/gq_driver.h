/*
 * gq_driver.h — the CUDA driver as the shim sees it.
 *
 * The shim's own GPU work (its kernels, its pinned store, its events) goes
 * through the driver API, from libcuda.so.1 (gpu/gq_sym.h): the real driver
 * on a GPU machine, tests/cudasim's on a CI machine. Both satisfy the same
 * table below. The shim never links libcudart.
 *
 * gq_drv() loads the table once; it returns NULL (and logs once why) when no
 * driver or a required entry point is missing: the caller then passes the
 * program's call through untouched.
 */
#ifndef GQ_DRIVER_H
#define GQ_DRIVER_H

#include <cuda.h>
#include <stdint.h>

/* X(name, (parameters)) — the real symbol names (the _v2 names that cuda.h's
 * macros expand to) */
#define GQ_DRV_FUNCS(X)                                                                    \
    X(cuInit, (unsigned flags))                                                            \
    X(cuGetErrorName, (CUresult e, const char **s))                                        \
    X(cuCtxGetCurrent, (CUcontext * c))                                                    \
    X(cuCtxGetDevice, (CUdevice * d))                                                      \
    X(cuCtxSetCurrent, (CUcontext c))                                                      \
    X(cuDevicePrimaryCtxRetain, (CUcontext * c, CUdevice d))                               \
    X(cuDevicePrimaryCtxRelease_v2, (CUdevice d))                                          \
    X(cuModuleLoadData, (CUmodule * m, const void *image))                                 \
    X(cuModuleGetFunction, (CUfunction * f, CUmodule m, const char *name))                 \
    X(cuLaunchKernel, (CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,   \
                       unsigned by, unsigned bz, unsigned shmem, CUstream s, void **params, \
                       void **extra))                                                      \
    X(cuMemHostAlloc, (void **p, size_t n, unsigned flags))                                \
    X(cuMemFreeHost, (void *p))                                                            \
    X(cuMemHostRegister_v2, (void *p, size_t n, unsigned flags))                           \
    X(cuMemHostUnregister, (void *p))                                                      \
    X(cuCtxSynchronize, (void))                                                            \
    X(cuMemHostGetDevicePointer_v2, (CUdeviceptr * d, void *p, unsigned flags))            \
    X(cuPointerGetAttributes, (unsigned n, CUpointer_attribute *a, void **data, CUdeviceptr p)) \
    X(cuStreamIsCapturing, (CUstream s, CUstreamCaptureStatus * st))                       \
    X(cuStreamSynchronize, (CUstream s))                                                   \
    X(cuStreamWaitEvent, (CUstream s, CUevent e, unsigned flags))                          \
    X(cuLaunchHostFunc, (CUstream s, CUhostFn fn, void *user))                             \
    X(cuEventCreate, (CUevent * e, unsigned flags))                                        \
    X(cuEventRecord, (CUevent e, CUstream s))                                              \
    X(cuEventQuery, (CUevent e))                                                           \
    X(cuEventSynchronize, (CUevent e))                                                     \
    X(cuEventDestroy_v2, (CUevent e))                                                      \
    X(cuMemcpyHtoDAsync_v2, (CUdeviceptr d, const void *s, size_t n, CUstream st))         \
    X(cuMemcpyDtoHAsync_v2, (void *d, CUdeviceptr s, size_t n, CUstream st))              \
    X(cuMemAlloc_v2, (CUdeviceptr * p, size_t n))                                          \
    X(cuMemFree_v2, (CUdeviceptr p))                                                       \
    X(cuMemsetD8Async, (CUdeviceptr d, unsigned char v, size_t n, CUstream s))             \
    X(cuStreamCreate, (CUstream * s, unsigned flags))                                      \
    X(cuStreamDestroy_v2, (CUstream s))

#define GQ_DRV_FIELD(name, params) CUresult (*name) params;
struct gq_drv {
    GQ_DRV_FUNCS(GQ_DRV_FIELD)
    /* Optional: NULL where the driver lacks it (kernels then go untimed).
     * cuda.h 12.8+ maps cuEventElapsedTime to the _v2 name. */
    CUresult (*cuEventElapsedTime)(float *ms, CUevent a, CUevent b);
    /* Optional (CUDA 10.1+): the shim's own calls in relaxed capture mode. */
    CUresult (*cuThreadExchangeStreamCaptureMode)(CUstreamCaptureMode *mode);
};
#undef GQ_DRV_FIELD

/* The loaded driver, or NULL when none could be loaded. Thread-safe. */
const struct gq_drv *gq_drv(void);

/* The name of a driver status, for messages ("CUDA_ERROR_INVALID_VALUE"). */
const char *gq_drv_errname(CUresult r);

#endif

/*
 * libcuda.so.1: cuGetProcAddress (cudasim's own entry points by their base
 * name, as the real driver answers the runtime) and error text.
 */
#include "drv.h"

#include <string.h>

struct entry {
    const char *name; /* base name, as callers ask for it */
    void *fn;         /* the current version */
    void *ptds_fn;    /* per-thread default stream variant, or NULL */
};

/* E(name): `#name` is the base name; `name` expands (cuda.h) to the current
 * versioned symbol, e.g. cuMemAlloc -> cuMemAlloc_v2. */
#define E(name) {#name, (void *)&name, NULL},
#define P(name, ptds) {#name, (void *)&name, (void *)&ptds},
static const struct entry table[] = {
    E(cuInit) E(cuDriverGetVersion) E(cuDeviceGet) E(cuDeviceGetCount) E(cuDeviceGetAttribute)
    E(cuDeviceGetName) E(cuDeviceTotalMem) E(cuDevicePrimaryCtxRetain)
    E(cuDevicePrimaryCtxRelease) E(cuCtxGetCurrent) E(cuCtxSetCurrent) E(cuCtxGetDevice)
    E(cuCtxSynchronize) E(cuModuleLoadData) E(cuModuleUnload) E(cuModuleGetFunction)
    P(cuLaunchKernel, cuLaunchKernel_ptsz) E(cuMemAlloc) E(cuMemFree) E(cuMemGetInfo)
    E(cuMemAllocHost) E(cuMemHostAlloc) E(cuMemFreeHost) E(cuMemHostRegister)
    E(cuMemHostUnregister) E(cuMemHostGetDevicePointer) E(cuPointerGetAttribute)
    E(cuPointerGetAttributes)
    P(cuMemcpy, cuMemcpy_ptds) P(cuMemcpyAsync, cuMemcpyAsync_ptsz)
    P(cuMemcpyHtoD, cuMemcpyHtoD_v2_ptds) P(cuMemcpyDtoH, cuMemcpyDtoH_v2_ptds)
    P(cuMemcpyDtoD, cuMemcpyDtoD_v2_ptds) P(cuMemcpyHtoDAsync, cuMemcpyHtoDAsync_v2_ptsz)
    P(cuMemcpyDtoHAsync, cuMemcpyDtoHAsync_v2_ptsz)
    P(cuMemcpyDtoDAsync, cuMemcpyDtoDAsync_v2_ptsz) P(cuMemsetD8, cuMemsetD8_v2_ptds)
    P(cuMemsetD8Async, cuMemsetD8Async_ptsz) E(cuStreamCreate) E(cuStreamDestroy)
    P(cuStreamSynchronize, cuStreamSynchronize_ptsz) P(cuStreamQuery, cuStreamQuery_ptsz)
    P(cuStreamWaitEvent, cuStreamWaitEvent_ptsz)
    P(cuStreamIsCapturing, cuStreamIsCapturing_ptsz)
    P(cuStreamBeginCapture, cuStreamBeginCapture_v2_ptsz)
    P(cuStreamEndCapture, cuStreamEndCapture_ptsz) E(cuGraphDestroy) E(cuEventCreate)
    P(cuEventRecord, cuEventRecord_ptsz) E(cuEventQuery) E(cuEventSynchronize)
    E(cuEventDestroy) E(cuEventElapsedTime) P(cuLaunchHostFunc, cuLaunchHostFunc_ptsz)
    E(cuGetErrorString) E(cuGetErrorName) E(cuGetProcAddress)
    E(cuMemGetAllocationGranularity) E(cuMemAddressReserve) E(cuMemAddressFree) E(cuMemCreate)
    E(cuMemRelease) E(cuMemMap) E(cuMemUnmap) E(cuMemSetAccess) E(cuThreadExchangeStreamCaptureMode)
    E(cuDevicePrimaryCtxReset)
};
#undef E
#undef P

DRV_ENTRY(cuGetProcAddress_v2, (const char *symbol, void **pfn, int cuda_version, cuuint64_t flags,
                                CUdriverProcAddressQueryResult *status),
          (symbol, pfn, cuda_version, flags, status))
{
    if (!symbol || !pfn || flags > CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)
        return CUDA_ERROR_INVALID_VALUE;
    *pfn = NULL;
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        if (strcmp(table[i].name, symbol) != 0)
            continue;
        int ptds = flags == CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
        *pfn = ptds && table[i].ptds_fn ? table[i].ptds_fn : table[i].fn;
        if (status)
            *status = CU_GET_PROC_ADDRESS_SUCCESS;
        return CUDA_SUCCESS;
    }
    if (status)
        *status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    return CUDA_ERROR_NOT_FOUND;
}

DRV_ENTRY(cuGetErrorString, (CUresult error, const char **str), (error, str))
{
    if (!str)
        return CUDA_ERROR_INVALID_VALUE;
    *str = cudasim_error_name((int)error, 0) ? cudasim_error_string((int)error) : NULL;
    return *str ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

DRV_ENTRY(cuGetErrorName, (CUresult error, const char **str), (error, str))
{
    if (!str)
        return CUDA_ERROR_INVALID_VALUE;
    *str = cudasim_error_name((int)error, 0);
    return *str ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* libcudart.so.13: runtime entry and the per-thread last error. */
#include "rt.h"

/* The runtime passes the core's codes through: they must mean the same. */
_Static_assert((int)CUDA_ERROR_INVALID_VALUE == (int)cudaErrorInvalidValue, "codes");
_Static_assert((int)CUDA_ERROR_OUT_OF_MEMORY == (int)cudaErrorMemoryAllocation, "codes");
_Static_assert((int)CUDA_ERROR_INVALID_DEVICE == (int)cudaErrorInvalidDevice, "codes");
_Static_assert((int)CUDA_ERROR_INVALID_HANDLE == (int)cudaErrorInvalidResourceHandle, "codes");
_Static_assert((int)CUDA_ERROR_INVALID_IMAGE == (int)cudaErrorInvalidKernelImage, "codes");
_Static_assert((int)CUDA_ERROR_ILLEGAL_STATE == (int)cudaErrorIllegalState, "codes");
_Static_assert((int)CUDA_ERROR_NOT_READY == (int)cudaErrorNotReady, "codes");
_Static_assert((int)CUDA_ERROR_ILLEGAL_ADDRESS == (int)cudaErrorIllegalAddress, "codes");
_Static_assert((int)CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED ==
                   (int)cudaErrorHostMemoryAlreadyRegistered, "codes");
_Static_assert((int)CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED == (int)cudaErrorHostMemoryNotRegistered,
               "codes");
_Static_assert((int)CUDA_ERROR_NOT_PERMITTED == (int)cudaErrorNotPermitted, "codes");
_Static_assert((int)CUDA_ERROR_NOT_SUPPORTED == (int)cudaErrorNotSupported, "codes");
_Static_assert((int)CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED == (int)cudaErrorStreamCaptureUnsupported,
               "codes");
_Static_assert((int)CUDA_ERROR_STREAM_CAPTURE_INVALIDATED == (int)cudaErrorStreamCaptureInvalidated,
               "codes");
_Static_assert((int)CUDA_ERROR_STREAM_CAPTURE_IMPLICIT == (int)cudaErrorStreamCaptureImplicit,
               "codes");

static __thread cudaError_t last_error = cudaSuccess;

cudaError_t rt_error(cudaError_t e)
{
    if (e != cudaSuccess && e != cudaErrorNotReady)
        last_error = e;
    return e;
}

cudaError_t rt_result(CUresult r)
{
    return rt_error((cudaError_t)r);
}

cudaError_t rt_enter(int *dev)
{
    CUresult r = cudasim_init();
    if (r)
        return rt_result(r);
    *dev = cudasim_current_device();
    if (*dev < 0) {
        *dev = 0;
        cudasim_set_current_device(0);
    }
    cudasim_primary_retain(*dev, 1); /* the runtime's reference, for good */
    return rt_result(cudasim_sticky(*dev));
}

/* A sticky error outlives cudaGetLastError: the context stays broken. */
static cudaError_t sticky_error(void)
{
    if (!cudasim_is_initialized())
        return cudaSuccess;
    int dev = cudasim_current_device();
    return dev < 0 ? cudaSuccess : (cudaError_t)cudasim_sticky(dev);
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t s = sticky_error();
    if (s)
        return s;
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void)
{
    cudaError_t s = sticky_error();
    return s ? s : last_error;
}

const char *cudaGetErrorString(cudaError_t e)
{
    const char *s = cudasim_error_name((int)e, 1) ? cudasim_error_string((int)e) : NULL;
    return s ? s : "unrecognized error code";
}

const char *cudaGetErrorName(cudaError_t e)
{
    const char *s = cudasim_error_name((int)e, 1);
    return s ? s : "unrecognized error code";
}

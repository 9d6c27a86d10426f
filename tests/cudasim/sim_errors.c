/*
 * Names and descriptions of the errors cudasim can return (and a few common
 * neighbours). Driver and runtime codes share their numbers; the table holds
 * both spellings of each name (NULL where an API has no such code).
 */
#include "sim.h"

#include <stddef.h>

struct sim_error {
    int code;
    const char *drv_name, *rt_name, *text;
};

#define E(code, drv, rt, text) {code, drv, rt, text},
static const struct sim_error table[] = {
    E(0, "CUDA_SUCCESS", "cudaSuccess", "no error")
    E(1, "CUDA_ERROR_INVALID_VALUE", "cudaErrorInvalidValue", "invalid argument")
    E(2, "CUDA_ERROR_OUT_OF_MEMORY", "cudaErrorMemoryAllocation", "out of memory")
    E(3, "CUDA_ERROR_NOT_INITIALIZED", "cudaErrorInitializationError", "initialization error")
    E(4, "CUDA_ERROR_DEINITIALIZED", "cudaErrorCudartUnloading", "driver shutting down")
    E(12, NULL, "cudaErrorInvalidPitchValue", "invalid pitch argument")
    E(21, NULL, "cudaErrorInvalidMemcpyDirection", "invalid copy direction for memcpy")
    E(100, "CUDA_ERROR_NO_DEVICE", "cudaErrorNoDevice", "no CUDA-capable device is detected")
    E(101, "CUDA_ERROR_INVALID_DEVICE", "cudaErrorInvalidDevice", "invalid device ordinal")
    E(200, "CUDA_ERROR_INVALID_IMAGE", "cudaErrorInvalidKernelImage",
      "device kernel image is invalid")
    E(201, "CUDA_ERROR_INVALID_CONTEXT", "cudaErrorDeviceUninitialized", "invalid device context")
    E(209, "CUDA_ERROR_NO_BINARY_FOR_GPU", "cudaErrorNoKernelImageForDevice",
      "no kernel image is available for execution on the device")
    E(400, "CUDA_ERROR_INVALID_HANDLE", "cudaErrorInvalidResourceHandle", "invalid resource handle")
    E(401, "CUDA_ERROR_ILLEGAL_STATE", "cudaErrorIllegalState",
      "the operation cannot be performed in the present state")
    E(500, "CUDA_ERROR_NOT_FOUND", "cudaErrorSymbolNotFound", "named symbol not found")
    E(600, "CUDA_ERROR_NOT_READY", "cudaErrorNotReady", "device not ready")
    E(700, "CUDA_ERROR_ILLEGAL_ADDRESS", "cudaErrorIllegalAddress",
      "an illegal memory access was encountered")
    E(701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "cudaErrorLaunchOutOfResources",
      "too many resources requested for launch")
    E(716, "CUDA_ERROR_MISALIGNED_ADDRESS", "cudaErrorMisalignedAddress", "misaligned address")
    E(709, "CUDA_ERROR_CONTEXT_IS_DESTROYED", "cudaErrorContextIsDestroyed",
      "context is destroyed")
    E(719, "CUDA_ERROR_LAUNCH_FAILED", "cudaErrorLaunchFailure", "unspecified launch failure")
    E(712, "CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED", "cudaErrorHostMemoryAlreadyRegistered",
      "part or all of the requested memory range is already mapped")
    E(713, "CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED", "cudaErrorHostMemoryNotRegistered",
      "pointer does not correspond to a registered memory region")
    E(800, "CUDA_ERROR_NOT_PERMITTED", "cudaErrorNotPermitted", "operation not permitted")
    E(801, "CUDA_ERROR_NOT_SUPPORTED", "cudaErrorNotSupported", "operation not supported")
    E(900, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", "cudaErrorStreamCaptureUnsupported",
      "operation not permitted when stream is capturing")
    E(901, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", "cudaErrorStreamCaptureInvalidated",
      "operation failed due to a previous error during capture")
    E(906, "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT", "cudaErrorStreamCaptureImplicit",
      "operation would make the legacy stream depend on a capturing blocking stream")
    E(999, "CUDA_ERROR_UNKNOWN", "cudaErrorUnknown", "unknown error")
};
#undef E

static const struct sim_error *find(int code)
{
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (table[i].code == code)
            return &table[i];
    return NULL;
}

const char *cudasim_error_name(int code, int runtime)
{
    const struct sim_error *e = find(code);
    if (!e)
        return NULL;
    return runtime ? e->rt_name : e->drv_name; /* drv_name NULL: runtime-only code */
}

const char *cudasim_error_string(int code)
{
    const struct sim_error *e = find(code);
    return e ? e->text : NULL;
}

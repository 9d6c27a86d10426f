/* libcudart.so.13: devices, versions. */
#include "rt.h"

#include <cuda_profiler_api.h>

#include <stdio.h>
#include <string.h>

RT_ENTRY(cudaGetDeviceCount, (int *count), (count))
{
    if (cudasim_init())
        return rt_error(cudaErrorInitializationError);
    if (!count)
        return rt_error(cudaErrorInvalidValue);
    *count = cudasim_device_count();
    return cudaSuccess;
}

RT_ENTRY(cudaSetDevice, (int device), (device))
{
    if (cudasim_init())
        return rt_error(cudaErrorInitializationError);
    if (device < 0 || device >= cudasim_device_count())
        return rt_error(cudaErrorInvalidDevice);
    return rt_result(cudasim_set_current_device(device));
}

RT_ENTRY(cudaGetDevice, (int *device), (device))
{
    RT_ENTER(dev);
    if (!device)
        return rt_error(cudaErrorInvalidValue);
    *device = dev;
    return cudaSuccess;
}

RT_ENTRY(cudaDeviceSynchronize, (void), ())
{
    cudasim_guard("cudaDeviceSynchronize", SIM_GUARD_IMPLICIT);
    RT_ENTER(dev);
    return rt_result(cudasim_device_sync(dev));
}

/* Profiler ranges: CUDASIM_PROFILE sums the work of each (sim_profile.c). */
RT_ENTRY(cudaProfilerStart, (void), ())
{
    return rt_result(cudasim_profiler_range(1));
}

RT_ENTRY(cudaProfilerStop, (void), ())
{
    return rt_result(cudasim_profiler_range(0));
}

RT_ENTRY(cudaDeviceReset, (void), ())
{
    if (cudasim_init())
        return rt_error(cudaErrorInitializationError);
    int dev = cudasim_current_device();
    return rt_result(cudasim_device_reset(dev < 0 ? 0 : dev));
}

RT_ENTRY(cudaDeviceGetAttribute, (int *value, enum cudaDeviceAttr attr, int device),
         (value, attr, device))
{
    RT_ENTER(dev);
    (void)dev;
    if (device < 0 || device >= cudasim_device_count())
        return rt_error(cudaErrorInvalidDevice);
    /* The attribute enums of both APIs share their values. */
    return rt_result(cuDeviceGetAttribute(value, (CUdevice_attribute)attr, device));
}

RT_ENTRY(cudaGetDeviceProperties, (struct cudaDeviceProp *p, int device), (p, device))
{
    if (cudasim_init())
        return rt_error(cudaErrorInitializationError);
    if (!p)
        return rt_error(cudaErrorInvalidValue);
    if (device < 0 || device >= cudasim_device_count())
        return rt_error(cudaErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "cudasim device %d", device);
    p->uuid.bytes[0] = (char)(device + 1);
    p->totalGlobalMem = cudasim_device_mem();
    p->sharedMemPerBlock = 48 * 1024;
    p->sharedMemPerBlockOptin = 48 * 1024;
    p->regsPerBlock = 65536;
    p->warpSize = 32;
    p->memPitch = (size_t)1 << 31;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 0x7fffffff;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    p->totalConstMem = 65536;
    p->major = 9;
    p->minor = 0;
    p->textureAlignment = 512;
    p->multiProcessorCount = 4;
    p->canMapHostMemory = 1;
    p->concurrentKernels = 1;
    p->pciBusID = device + 1;
    p->asyncEngineCount = 2;
    p->unifiedAddressing = 1;
    p->memoryBusWidth = 5120;
    p->l2CacheSize = 50 * 1024 * 1024;
    p->maxThreadsPerMultiProcessor = 2048;
    p->sharedMemPerMultiprocessor = 228 * 1024;
    p->regsPerMultiprocessor = 65536;
    p->maxBlocksPerMultiProcessor = 32;
    p->hostRegisterSupported = 1;
    p->memoryPoolsSupported = 1;
    return cudaSuccess;
}

RT_ENTRY(cudaRuntimeGetVersion, (int *version), (version))
{
    if (!version)
        return rt_error(cudaErrorInvalidValue);
    *version = CUDART_VERSION;
    return cudaSuccess;
}

RT_ENTRY(cudaDriverGetVersion, (int *version), (version))
{
    if (!version)
        return rt_error(cudaErrorInvalidValue);
    *version = CUDA_VERSION;
    return cudaSuccess;
}

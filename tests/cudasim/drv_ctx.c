/* libcuda.so.1: initialisation, devices, contexts, modules and launches. */
#include "drv.h"

#include <cudaProfiler.h>

#include <stdio.h>
#include <string.h>

DRV_ENTRY(cuInit, (unsigned int flags), (flags))
{
    if (flags)
        return CUDA_ERROR_INVALID_VALUE;
    return cudasim_fault(SIM_FAULT_cuInit) ?: cudasim_init();
}

DRV_ENTRY(cuDriverGetVersion, (int *version), (version))
{
    if (!version)
        return CUDA_ERROR_INVALID_VALUE;
    *version = CUDA_VERSION;
    return CUDA_SUCCESS;
}

DRV_ENTRY(cuDeviceGetCount, (int *count), (count))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (!count)
        return CUDA_ERROR_INVALID_VALUE;
    *count = cudasim_device_count();
    return CUDA_SUCCESS;
}

DRV_ENTRY(cuDeviceGet, (CUdevice *dev, int ordinal), (dev, ordinal))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (!dev)
        return CUDA_ERROR_INVALID_VALUE;
    if (ordinal < 0 || ordinal >= cudasim_device_count())
        return CUDA_ERROR_INVALID_DEVICE;
    *dev = ordinal;
    return CUDA_SUCCESS;
}

DRV_ENTRY(cuDeviceGetAttribute, (int *value, CUdevice_attribute attr, CUdevice dev),
          (value, attr, dev))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (!value)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev < 0 || dev >= cudasim_device_count())
        return CUDA_ERROR_INVALID_DEVICE;
    switch (attr) {
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = 9; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = 0; break;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *value = 4; break;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *value = 1024; break;
    case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *value = 32; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X:
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: *value = 1024; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: *value = 64; break;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *value = 0x7fffffff; break;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y:
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: *value = 65535; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *value = 48 * 1024; break;
    case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING:
    case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY:
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS: *value = 1; break;
    case CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT: *value = 2; break;
    case CU_DEVICE_ATTRIBUTE_INTEGRATED: *value = 0; break;
    case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: *value = dev + 1; break;
    case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID:
    case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID: *value = 0; break;
    default:
        /* Not simulated: say so rather than invent a value. */
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    return CUDA_SUCCESS;
}

DRV_ENTRY(cuDeviceGetName, (char *name, int len, CUdevice dev), (name, len, dev))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (!name || len <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev < 0 || dev >= cudasim_device_count())
        return CUDA_ERROR_INVALID_DEVICE;
    snprintf(name, (size_t)len, "cudasim device %d", dev);
    return CUDA_SUCCESS;
}

DRV_ENTRY(cuDeviceTotalMem_v2, (size_t *bytes, CUdevice dev), (bytes, dev))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (!bytes)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev < 0 || dev >= cudasim_device_count())
        return CUDA_ERROR_INVALID_DEVICE;
    *bytes = cudasim_device_mem();
    return CUDA_SUCCESS;
}

DRV_ENTRY(cuDevicePrimaryCtxRetain, (CUcontext *ctx, CUdevice dev), (ctx, dev))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (!ctx)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev < 0 || dev >= cudasim_device_count())
        return CUDA_ERROR_INVALID_DEVICE;
    cudasim_primary_retain(dev, 0);
    *ctx = cudasim_primary_ctx(dev);
    return CUDA_SUCCESS;
}

/* Destroys everything the primary context holds (memory, streams, modules),
 * as cudaDeviceReset does; the context itself stays usable. */
DRV_ENTRY(cuDevicePrimaryCtxReset_v2, (CUdevice dev), (dev))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (dev < 0 || dev >= cudasim_device_count())
        return CUDA_ERROR_INVALID_DEVICE;
    return cudasim_device_reset(dev);
}

/* The last reference destroys the context (the runtime keeps one from its
 * first call on the device on). */
DRV_ENTRY(cuDevicePrimaryCtxRelease_v2, (CUdevice dev), (dev))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    return dev >= 0 && dev < cudasim_device_count() ? cudasim_primary_release(dev)
                                                    : CUDA_ERROR_INVALID_DEVICE;
}

DRV_ENTRY(cuCtxGetCurrent, (CUcontext *ctx), (ctx))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (!ctx)
        return CUDA_ERROR_INVALID_VALUE;
    int dev = cudasim_current_device();
    *ctx = dev < 0 ? NULL : cudasim_primary_ctx(dev);
    return CUDA_SUCCESS;
}

DRV_ENTRY(cuCtxSetCurrent, (CUcontext ctx), (ctx))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (!ctx)
        return cudasim_set_current_device(-1);
    int dev = cudasim_ctx_device(ctx);
    return dev < 0 ? CUDA_ERROR_INVALID_CONTEXT : cudasim_set_current_device(dev);
}

DRV_ENTRY(cuCtxGetDevice, (CUdevice *device), (device))
{
    if (!device)
        return CUDA_ERROR_INVALID_VALUE;
    DRV_CTX_OR_RETURN(dev);
    *device = dev;
    return CUDA_SUCCESS;
}

DRV_ENTRY(cuProfilerStart, (void), ())
{
    return cudasim_profiler_range(1);
}

DRV_ENTRY(cuProfilerStop, (void), ())
{
    return cudasim_profiler_range(0);
}

DRV_ENTRY(cuCtxSynchronize, (void), ())
{
    cudasim_guard("cuCtxSynchronize", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    return cudasim_device_sync(dev);
}

DRV_ENTRY(cuModuleLoadData, (CUmodule *module, const void *image), (module, image))
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_fault(SIM_FAULT_cuModuleLoadData) ?: cudasim_module_load(image, module);
}

DRV_ENTRY(cuModuleUnload, (CUmodule module), (module))
{
    CUresult r = drv_init_check();
    return r ? r : cudasim_module_unload(module);
}

DRV_ENTRY(cuModuleGetFunction, (CUfunction *f, CUmodule module, const char *name),
          (f, module, name))
{
    CUresult r = drv_init_check();
    return r ? r
             : cudasim_fault(SIM_FAULT_cuModuleGetFunction) ?: cudasim_module_function(module, name, f);
}

static CUresult launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                       unsigned by, unsigned bz, unsigned shared, CUstream s, void **params,
                       void **extra, int ptds)
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    const unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
    CUresult fault = cudasim_fault(SIM_FAULT_cuLaunchKernel);
    if (fault)
        return fault;
    return cudasim_launch(f, grid, block, shared, s, ptds, params, extra);
}

DRV_ENTRY(cuLaunchKernel, (CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                           unsigned by, unsigned bz, unsigned shared, CUstream s, void **params,
                           void **extra), (f, gx, gy, gz, bx, by, bz, shared, s, params, extra))
{
    return launch(f, gx, gy, gz, bx, by, bz, shared, s, params, extra, 0);
}

DRV_ENTRY(cuLaunchKernel_ptsz, (CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                unsigned by, unsigned bz, unsigned shared, CUstream s,
                                void **params, void **extra),
          (f, gx, gy, gz, bx, by, bz, shared, s, params, extra))
{
    return launch(f, gx, gy, gz, bx, by, bz, shared, s, params, extra, 1);
}

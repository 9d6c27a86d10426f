/*
 * cudasim, the driver's virtual-memory API: reserve an address range, make
 * physical memory, map it, grant access; each step refuses what the driver
 * refuses (sizes off the granularity, a range outside a reservation, a
 * mapping over a mapping, access before it is granted, partial unmaps, a
 * reservation freed while mapped).
 */
#include <cuda.h>
#include <cuda_runtime_api.h>

#include "check.h"

#define OK CUDA_SUCCESS
#define MiB ((size_t)1 << 20)

static CUmemAllocationProp prop;
static CUmemAccessDesc rw;

static void setup(void)
{
    CUcontext ctx;
    cuInit(0);
    cuDevicePrimaryCtxRetain(&ctx, 0);
    cuCtxSetCurrent(ctx);
    memset(&prop, 0, sizeof prop);
    prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    prop.location.id = 0;
    memset(&rw, 0, sizeof rw);
    rw.location = prop.location;
    rw.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
}

static void granularity_is_2_mib(void)
{
    size_t g = 0;
    setup();
    EXPECT_CODE(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM), OK);
    EXPECT(g == 2 * MiB);
    EXPECT_CODE(cuMemGetAllocationGranularity(&g, NULL, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
                CUDA_ERROR_INVALID_VALUE);
    CUmemAllocationProp bad = prop;
    bad.location.id = 7;
    EXPECT_CODE(cuMemGetAllocationGranularity(&g, &bad, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
                CUDA_ERROR_INVALID_DEVICE);
}

static void sizes_off_the_granularity_are_invalid(void)
{
    CUdeviceptr va;
    CUmemGenericAllocationHandle h;
    setup();
    EXPECT_CODE(cuMemAddressReserve(&va, MiB, 0, 0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemCreate(&h, 3 * MiB, &prop, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemAddressReserve(&va, 8 * MiB, 0, 0, 0), OK);
    EXPECT_CODE(cuMemCreate(&h, 4 * MiB, &prop, 0), OK);
    EXPECT_CODE(cuMemMap(va + MiB, 2 * MiB, 0, h, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemMap(va, 2 * MiB, MiB, h, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemMap(va, 6 * MiB, 0, h, 0), CUDA_ERROR_INVALID_VALUE); /* past the handle */
    EXPECT_CODE(cuMemRelease(h), OK);
    EXPECT_CODE(cuMemAddressFree(va, 8 * MiB), OK);
}

static void mapped_memory_is_device_memory_once_accessible(void)
{
    CUdeviceptr va, base = 0;
    CUmemGenericAllocationHandle h;
    unsigned char in[4096], out[4096];
    size_t size = 0;
    unsigned type = 0;
    setup();
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 7 + 1);
    EXPECT_CODE(cuMemAddressReserve(&va, 8 * MiB, 0, 0, 0), OK);
    EXPECT_CODE(cuMemCreate(&h, 4 * MiB, &prop, 0), OK);
    EXPECT_CODE(cuMemMap(va + 2 * MiB, 4 * MiB, 0, h, 0), OK);
    /* mapped, no access yet: not usable memory */
    EXPECT(cuMemcpyHtoD(va + 2 * MiB, in, sizeof in) != OK);
    EXPECT_CODE(cuMemSetAccess(va, 8 * MiB, &rw, 1), CUDA_ERROR_INVALID_VALUE); /* not all mapped */
    EXPECT_CODE(cuMemSetAccess(va + 2 * MiB, 4 * MiB, &rw, 1), OK);
    EXPECT_CODE(cuMemcpyHtoD(va + 3 * MiB, in, sizeof in), OK);
    EXPECT_CODE(cuMemcpyDtoH(out, va + 3 * MiB, sizeof out), OK);
    EXPECT(memcmp(in, out, sizeof in) == 0);
    EXPECT_CODE(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, va + 3 * MiB), OK);
    EXPECT(type == CU_MEMORYTYPE_DEVICE);
    EXPECT_CODE(cuPointerGetAttribute(&base, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, va + 3 * MiB), OK);
    EXPECT_CODE(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, va + 3 * MiB), OK);
    EXPECT(base == va + 2 * MiB && size == 4 * MiB);
    /* the reserved but unmapped part is not memory */
    EXPECT(cuMemcpyHtoD(va, in, sizeof in) != OK);
    /* cudaFree is not how mapped memory goes */
    EXPECT(cudaFree((void *)(uintptr_t)(va + 2 * MiB)) != cudaSuccess);
    EXPECT_CODE(cuMemUnmap(va + 2 * MiB, 4 * MiB), OK);
    EXPECT(cuMemcpyHtoD(va + 3 * MiB, in, sizeof in) != OK);
    EXPECT_CODE(cuMemRelease(h), OK);
    EXPECT_CODE(cuMemAddressFree(va, 8 * MiB), OK);
}

static void one_handle_mapped_twice_shows_the_same_bytes(void)
{
    CUdeviceptr va;
    CUmemGenericAllocationHandle h;
    unsigned char in[64] = "the same physical pages", out[64];
    setup();
    EXPECT_CODE(cuMemAddressReserve(&va, 4 * MiB, 0, 0, 0), OK);
    EXPECT_CODE(cuMemCreate(&h, 2 * MiB, &prop, 0), OK);
    EXPECT_CODE(cuMemMap(va, 2 * MiB, 0, h, 0), OK);
    EXPECT_CODE(cuMemMap(va + 2 * MiB, 2 * MiB, 0, h, 0), OK);
    EXPECT_CODE(cuMemSetAccess(va, 4 * MiB, &rw, 1), OK);
    EXPECT_CODE(cuMemcpyHtoD(va + 100, in, sizeof in), OK);
    EXPECT_CODE(cuMemcpyDtoH(out, va + 2 * MiB + 100, sizeof out), OK);
    EXPECT(memcmp(in, out, sizeof in) == 0);
    /* released while mapped: the pages stay until the last unmap */
    EXPECT_CODE(cuMemRelease(h), OK);
    EXPECT_CODE(cuMemcpyDtoH(out, va + 100, sizeof out), OK);
    EXPECT(memcmp(in, out, sizeof in) == 0);
    EXPECT_CODE(cuMemRelease(h), CUDA_ERROR_INVALID_VALUE); /* twice */
    EXPECT_CODE(cuMemUnmap(va, 4 * MiB), OK);
    EXPECT_CODE(cuMemAddressFree(va, 4 * MiB), OK);
}

static void the_driver_refuses_what_it_documents(void)
{
    CUdeviceptr va, other;
    CUmemGenericAllocationHandle h;
    setup();
    EXPECT_CODE(cuMemAddressReserve(&va, 4 * MiB, 0, 0, 0), OK);
    EXPECT_CODE(cuMemAddressReserve(&other, 2 * MiB, 0, 0, 0), OK);
    EXPECT_CODE(cuMemCreate(&h, 4 * MiB, &prop, 0), OK);
    EXPECT_CODE(cuMemMap(va, 4 * MiB, 0, h, 0), OK);
    EXPECT_CODE(cuMemMap(va, 2 * MiB, 0, h, 0), CUDA_ERROR_INVALID_VALUE); /* over a mapping */
    EXPECT_CODE(cuMemMap(other, 4 * MiB, 0, h, 0), CUDA_ERROR_INVALID_VALUE); /* past its reservation */
    EXPECT_CODE(cuMemMap(va, 2 * MiB, 0, (CUmemGenericAllocationHandle)12345, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemUnmap(va, 2 * MiB), CUDA_ERROR_INVALID_VALUE); /* half a mapping */
    EXPECT_CODE(cuMemAddressFree(va, 4 * MiB), CUDA_ERROR_INVALID_VALUE); /* still mapped */
    rw.flags = CU_MEM_ACCESS_FLAGS_PROT_READ;
    EXPECT_CODE(cuMemSetAccess(va, 4 * MiB, &rw, 1), CUDA_ERROR_NOT_SUPPORTED);
    EXPECT_CODE(cuMemUnmap(va, 4 * MiB), OK);
    EXPECT_CODE(cuMemRelease(h), OK);
    EXPECT_CODE(cuMemAddressFree(va, 4 * MiB), OK);
    EXPECT_CODE(cuMemAddressFree(other, 2 * MiB), OK);
    EXPECT_CODE(cuMemAddressFree(other, 2 * MiB), CUDA_ERROR_INVALID_VALUE); /* twice */
}

static void physical_memory_counts_against_the_device(void)
{
    size_t free0, free1, total;
    CUmemGenericAllocationHandle h;
    setup();
    EXPECT_CODE(cuMemGetInfo(&free0, &total), OK);
    EXPECT_CODE(cuMemCreate(&h, 64 * MiB, &prop, 0), OK);
    EXPECT_CODE(cuMemGetInfo(&free1, &total), OK);
    EXPECT(free0 - free1 == 64 * MiB);
    EXPECT_CODE(cuMemRelease(h), OK);
    EXPECT_CODE(cuMemGetInfo(&free1, &total), OK);
    EXPECT(free1 == free0);
}

CHECK_MAIN(CHECK(granularity_is_2_mib), CHECK(sizes_off_the_granularity_are_invalid),
           CHECK(mapped_memory_is_device_memory_once_accessible),
           CHECK(one_handle_mapped_twice_shows_the_same_bytes),
           CHECK(the_driver_refuses_what_it_documents),
           CHECK(physical_memory_counts_against_the_device))

/*
 * cudasim's SIMT executor and profile through the driver API (with
 * CUDASIM_TEST_KERNELS=1): shared memory and __syncthreads in a launch,
 * misuse failing the launch with a sticky error, and (child_profile, run
 * with CUDASIM_PROFILE=json:PATH by t_simt.sh, which reads the numbers) the
 * memory-transaction model and modelled stream overlap, one profiler range
 * per case:
 *   1  32 lanes store 4 contiguous bytes each into device memory
 *   2  the same at a 128-byte stride
 *   3  the contiguous stores into mapped pinned memory (2 warps)
 *   4  a 32 MiB host-to-device copy on one stream, a 32 MiB device-to-host
 *      copy on another: the copy engines overlap them
 *   5  the same two copies on one stream: one after the other
 */
#include <cuda.h>
#include <cudaProfiler.h>

#include "../cudasim_testkern.h"
#include "check.h"

#define OK CUDA_SUCCESS

static const uint64_t tiny_fatbin[] = {
    0x00100001ba55ed50ull, 32, 0x0000001001010002ull, 16, 0, 0,
};

static CUfunction kernel(const char *name)
{
    static CUmodule m;
    static CUcontext ctx;
    CUfunction f = NULL;
    if (!ctx) {
        cuInit(0);
        cuDevicePrimaryCtxRetain(&ctx, 0);
        cuCtxSetCurrent(ctx);
    }
    if (!m)
        cuModuleLoadData(&m, tiny_fatbin);
    cuModuleGetFunction(&f, m, name);
    return f;
}

static void block_sum_through_dynamic_shared_memory(void)
{
    CUfunction f = kernel("cudasim_test_block_sum");
    CUdeviceptr in, out;
    uint32_t h[1000], sums[4];
    for (int i = 0; i < 1000; i++)
        h[i] = (uint32_t)(i * 7 % 101);
    EXPECT_CODE(cuMemAlloc(&in, sizeof h), OK);
    EXPECT_CODE(cuMemAlloc(&out, sizeof sums), OK);
    EXPECT_CODE(cuMemcpyHtoD(in, h, sizeof h), OK);
    struct cudasim_block_sum_params p = {CUDASIM_BLOCK_SUM_MAGIC, 1000,
                                         (const uint32_t *)(uintptr_t)in, (uint32_t *)(uintptr_t)out};
    void *params[] = {&p};
    EXPECT_CODE(cuLaunchKernel(f, 4, 1, 1, 256, 1, 1, 256 * 4, NULL, params, NULL), OK);
    EXPECT_CODE(cuMemcpyDtoH(sums, out, sizeof sums), OK);
    for (int b = 0; b < 4; b++) {
        uint32_t want = 0;
        for (int i = b * 256; i < b * 256 + 256 && i < 1000; i++)
            want += h[i];
        EXPECT(sums[b] == want);
    }
}

/* Too little dynamic shared memory for the block: past the declared size. */
static void child_shared_past_declared(void)
{
    CUdeviceptr in, out;
    EXPECT_CODE(cuInit(0), OK);
    CUfunction f = kernel("cudasim_test_block_sum");
    EXPECT_CODE(cuMemAlloc(&in, 4096), OK);
    EXPECT_CODE(cuMemAlloc(&out, 64), OK);
    struct cudasim_block_sum_params p = {CUDASIM_BLOCK_SUM_MAGIC, 1000,
                                         (const uint32_t *)(uintptr_t)in, (uint32_t *)(uintptr_t)out};
    void *params[] = {&p};
    EXPECT_CODE(cuLaunchKernel(f, 4, 1, 1, 256, 1, 1, 128, NULL, params, NULL), OK);
    EXPECT_CODE(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
}

static void child_bad_barrier(void)
{
    struct cudasim_bad_barrier_params p = {CUDASIM_BAD_BARRIER_MAGIC, 40};
    void *params[] = {&p};
    CUfunction f = kernel("cudasim_test_bad_barrier");
    EXPECT_CODE(cuLaunchKernel(f, 2, 1, 1, 64, 1, 1, 0, NULL, params, NULL), OK);
    EXPECT_CODE(cuCtxSynchronize(), CUDA_ERROR_LAUNCH_FAILED);
    CUdeviceptr d;
    EXPECT_CODE(cuMemAlloc(&d, 16), CUDA_ERROR_LAUNCH_FAILED); /* sticky */
}

static void misuse_fails_the_launch(void)
{
    EXPECT(run_child("child_bad_barrier") == 0);
    EXPECT(run_child("child_ok_barrier") == 0);
    EXPECT(run_child("child_shared_past_declared") == 0);
}

static void child_ok_barrier(void)
{
    struct cudasim_bad_barrier_params p = {CUDASIM_BAD_BARRIER_MAGIC, 9999};
    void *params[] = {&p};
    EXPECT_CODE(cuLaunchKernel(kernel("cudasim_test_bad_barrier"), 2, 1, 1, 64, 1, 1, 0, NULL,
                               params, NULL),
                OK);
    EXPECT_CODE(cuCtxSynchronize(), OK);
}

static void strided(uint32_t *out, uint32_t stride, unsigned threads)
{
    struct cudasim_strided_params p = {CUDASIM_STRIDED_MAGIC, stride, out, threads};
    void *params[] = {&p};
    EXPECT_CODE(cuProfilerStart(), OK);
    EXPECT_CODE(cuLaunchKernel(kernel("cudasim_test_strided"), 1, 1, 1, threads, 1, 1, 0, NULL,
                               params, NULL),
                OK);
    EXPECT_CODE(cuCtxSynchronize(), OK);
    EXPECT_CODE(cuProfilerStop(), OK);
}

static void child_profile(void)
{
    CUdeviceptr d, big;
    uint32_t *mapped;
    void *host;
    CUstream a, b;
    size_t n = 32u << 20;
    kernel("cudasim_test_strided");
    EXPECT_CODE(cuMemAlloc(&d, 32 * 128), OK);
    EXPECT_CODE(cuMemHostAlloc((void **)&mapped, 64 * 4, CU_MEMHOSTALLOC_DEVICEMAP), OK);
    strided((uint32_t *)(uintptr_t)d, 1, 32);
    strided((uint32_t *)(uintptr_t)d, 32, 32);
    strided(mapped, 1, 64);
    EXPECT(mapped[63] == 63);
    EXPECT_CODE(cuMemAlloc(&big, 2 * n), OK);
    EXPECT_CODE(cuMemHostAlloc(&host, 2 * n, 0), OK);
    EXPECT_CODE(cuStreamCreate(&a, CU_STREAM_NON_BLOCKING), OK);
    EXPECT_CODE(cuStreamCreate(&b, CU_STREAM_NON_BLOCKING), OK);
    for (int same = 0; same < 2; same++) {
        EXPECT_CODE(cuProfilerStart(), OK);
        EXPECT_CODE(cuMemcpyHtoDAsync(big, host, n, a), OK);
        EXPECT_CODE(cuMemcpyDtoHAsync((char *)host + n, big + n, n, same ? a : b), OK);
        EXPECT_CODE(cuCtxSynchronize(), OK);
        EXPECT_CODE(cuProfilerStop(), OK);
    }
}

CHECK_MAIN(CHECK(block_sum_through_dynamic_shared_memory), CHECK(misuse_fails_the_launch),
           CHECK(child_bad_barrier), CHECK(child_ok_barrier), CHECK(child_shared_past_declared),
           CHECK(child_profile))

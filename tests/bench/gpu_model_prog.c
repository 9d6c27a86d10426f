/*
 * gpu_model_prog — the CUDA program bench_gpu_model runs on cudasim, with and
 * without the shim: an fp16 tensor in device memory is offloaded to pinned
 * host memory (cudaMemcpy device-to-host) and restored into a second device
 * buffer (host-to-device), each inside its own profiler range (cudaProfilerStart
 * / Stop: CUDASIM_PROFILE sums the ranges apart from the setup).
 *
 *   gpu_model_prog MIB
 *
 * Prints `offload_ms=` and `restore_ms=` (cudaEventElapsedTime: modelled time
 * under CUDASIM_PROFILE) and `max_abs_err=` of the restored tensor (0 without
 * the shim; the 4-bit quantization error with it).
 */
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gq_half.h"

#define CHECK(call)                                                                  \
    do {                                                                             \
        cudaError_t e_ = (call);                                                     \
        if (e_ != cudaSuccess) {                                                     \
            fprintf(stderr, "gpu_model_prog: %s: %s\n", #call, cudaGetErrorString(e_)); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

/* A smooth signal plus noise: groups of 64 have a range quantization can serve.
 * Zero-mean, within +-0.625: no group lies wholly in [0.5, 4), which the
 * dtype check (kernels/gq_dtype.h) reads as bf16 data and refuses. */
static uint16_t sample(uint64_t i, uint64_t *rng)
{
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    float noise = (float)(*rng >> 40) / (float)(1 << 24) - 0.5f;
    return gq_f32_to_f16_rn(0.5f * sinf((float)(i % 4096) * 0.01f) + 0.25f * noise);
}

static float timed_copy(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind)
{
    cudaEvent_t a, b;
    float ms = 0;
    CHECK(cudaEventCreate(&a));
    CHECK(cudaEventCreate(&b));
    CHECK(cudaDeviceSynchronize());
    CHECK(cudaProfilerStart());
    CHECK(cudaEventRecord(a, 0));
    CHECK(cudaMemcpy(dst, src, n, kind));
    CHECK(cudaEventRecord(b, 0));
    CHECK(cudaDeviceSynchronize());
    CHECK(cudaProfilerStop());
    CHECK(cudaEventElapsedTime(&ms, a, b));
    CHECK(cudaEventDestroy(a));
    CHECK(cudaEventDestroy(b));
    return ms;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 0;
    if (mib == 0 || mib > 4096) {
        fprintf(stderr, "usage: gpu_model_prog MIB (1..4096)\n");
        return 2;
    }
    size_t bytes = mib << 20, n = bytes / 2;
    uint16_t *src = malloc(bytes), *back = malloc(bytes), *pinned;
    void *d_src, *d_dst;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    if (!src || !back)
        return 1;
    for (size_t i = 0; i < n; i++)
        src[i] = sample(i, &rng);
    CHECK(cudaMalloc(&d_src, bytes));
    CHECK(cudaMalloc(&d_dst, bytes));
    CHECK(cudaMallocHost((void **)&pinned, bytes));
    CHECK(cudaMemcpy(d_src, src, bytes, cudaMemcpyHostToDevice));

    float off = timed_copy(pinned, d_src, bytes, cudaMemcpyDeviceToHost);
    float res = timed_copy(d_dst, pinned, bytes, cudaMemcpyHostToDevice);

    CHECK(cudaMemcpy(back, d_dst, bytes, cudaMemcpyDeviceToHost));
    double err = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)gq_f16_to_f32(back[i]) - (double)gq_f16_to_f32(src[i]));
        err = e > err ? e : err;
    }
    printf("offload_ms=%.6f\nrestore_ms=%.6f\nmax_abs_err=%.6f\n", off, res, err);
    CHECK(cudaFreeHost(pinned));
    CHECK(cudaFree(d_src));
    CHECK(cudaFree(d_dst));
    free(src);
    free(back);
    return 0;
}

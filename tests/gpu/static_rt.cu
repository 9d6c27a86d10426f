/*
 * static_rt — an offload and a restore from a program that nvcc links the
 * way it does by default: the CUDA runtime linked in statically
 * (`nvcc tests/gpu/static_rt.cu`, no -cudart shared). Such a program has no
 * libcudart.so for a preload to interpose; its runtime reaches the driver
 * through cuGetProcAddress, so only driver-level hooks (issue 10) can see
 * its copies. tests/gpu/run.sh runs it under the shim and reads the stats.
 *
 * 64 MiB of fp16: pinned host buffer (cudaMallocHost), offload with
 * cudaMemcpyAsync + sync, restore into a second device buffer, read back
 * through pageable memory. Prints
 *   static_rt: runtime 13000, exact=1 outside_bound=0 max_abs_err=0
 * exit 0 when the round trip is exact or within the 4-bit bound.
 */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpu_data.h"

#define CK(call)                                                                     \
    do {                                                                             \
        cudaError_t e_ = (call);                                                     \
        if (e_ != cudaSuccess) {                                                     \
            fprintf(stderr, "static_rt: %s: %s\n", #call, cudaGetErrorString(e_));   \
            return 2;                                                                \
        }                                                                            \
    } while (0)

int main(void)
{
    const size_t bytes = (size_t)64 << 20, n = bytes / 2;
    uint16_t *orig = (uint16_t *)malloc(bytes), *back = (uint16_t *)malloc(bytes), *pinned = NULL;
    void *d_a = NULL, *d_b = NULL;
    cudaStream_t s;
    int version = 0;
    double max_err = 0;

    if (!orig || !back)
        return 2;
    gk_fill_f16(orig, n, 3);
    CK(cudaRuntimeGetVersion(&version));
    CK(cudaStreamCreate(&s));
    CK(cudaMalloc(&d_a, bytes));
    CK(cudaMalloc(&d_b, bytes));
    CK(cudaMallocHost((void **)&pinned, bytes));
    CK(cudaMemcpy(d_a, orig, bytes, cudaMemcpyHostToDevice));
    CK(cudaMemcpyAsync(pinned, d_a, bytes, cudaMemcpyDeviceToHost, s));
    CK(cudaStreamSynchronize(s));
    CK(cudaMemcpyAsync(d_b, pinned, bytes, cudaMemcpyHostToDevice, s));
    CK(cudaStreamSynchronize(s));
    CK(cudaMemcpy(back, d_b, bytes, cudaMemcpyDeviceToHost));
    int exact = memcmp(orig, back, bytes) == 0;
    unsigned long long outside = (unsigned long long)gk_f16_outside_bound(orig, back, n, &max_err);
    printf("static_rt: runtime %d, exact=%d outside_bound=%llu max_abs_err=%.6g\n", version, exact,
           outside, max_err);
    CK(cudaFreeHost(pinned));
    CK(cudaFree(d_a));
    CK(cudaFree(d_b));
    CK(cudaStreamDestroy(s));
    free(orig);
    free(back);
    return outside ? 1 : 0;
}

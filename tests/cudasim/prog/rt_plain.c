/*
 * A plain runtime-API program, unaware of cudasim and of the shim: device and
 * pinned buffers, cudaMemcpy both ways, cudaMemcpyAsync on two streams,
 * cudaMemset. Prints "data: exact" and exits 0 when every byte is right,
 * "data: WRONG" and exits 1 otherwise.
 *
 *   rt_plain               synchronises correctly
 *   rt_plain --skip-sync   reads a pinned buffer filled by cudaMemcpyAsync
 *                          without synchronising the stream first (a bug a
 *                          fast GPU may hide; CUDASIM_DELAY_US must expose it)
 */
#include <cuda_runtime_api.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N (1u << 20) /* floats per buffer */

#define TRY(call)                                                                    \
    do {                                                                             \
        cudaError_t e_ = (call);                                                     \
        if (e_ != cudaSuccess) {                                                     \
            fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(e_));              \
            exit(2);                                                                 \
        }                                                                            \
    } while (0)

int main(int argc, char **argv)
{
    int skip_sync = argc > 1 && strcmp(argv[1], "--skip-sync") == 0;
    size_t bytes = N * sizeof(float);
    float *host = malloc(bytes), *back = malloc(bytes);
    float *pinned_in, *pinned_out, *d_a, *d_b, *d_z;
    if (!host || !back)
        return 2;
    for (unsigned i = 0; i < N; i++)
        host[i] = (float)i * 0.5f - 1000.0f;

    TRY(cudaMalloc((void **)&d_a, bytes));
    TRY(cudaMalloc((void **)&d_b, bytes));
    TRY(cudaMalloc((void **)&d_z, bytes));
    TRY(cudaMallocHost((void **)&pinned_in, bytes));
    TRY(cudaMallocHost((void **)&pinned_out, bytes));
    cudaStream_t s1, s2;
    TRY(cudaStreamCreate(&s1));
    TRY(cudaStreamCreate(&s2));

    int ok = 1;
    /* Synchronous copies both ways, pageable memory. */
    TRY(cudaMemcpy(d_a, host, bytes, cudaMemcpyHostToDevice));
    TRY(cudaMemcpy(back, d_a, bytes, cudaMemcpyDeviceToHost));
    ok &= memcmp(back, host, bytes) == 0;

    /* Asynchronous copies through pinned memory on two streams. */
    memcpy(pinned_in, host, bytes);
    memset(pinned_out, 0, bytes);
    TRY(cudaMemcpyAsync(d_b, pinned_in, bytes, cudaMemcpyHostToDevice, s1));
    TRY(cudaStreamSynchronize(s1));
    TRY(cudaMemcpyAsync(pinned_out, d_b, bytes, cudaMemcpyDeviceToHost, s2));
    if (!skip_sync)
        TRY(cudaStreamSynchronize(s2));
    ok &= memcmp(pinned_out, host, bytes) == 0;
    TRY(cudaStreamSynchronize(s2));

    /* Device-to-device, then memset of part of a buffer. */
    TRY(cudaMemcpy(d_z, d_a, bytes, cudaMemcpyDeviceToDevice));
    TRY(cudaMemset(d_z, 0, bytes / 2));
    TRY(cudaMemcpy(back, d_z, bytes, cudaMemcpyDeviceToHost));
    for (unsigned i = 0; i < N; i++)
        ok &= back[i] == (i < N / 2 ? 0.0f : host[i]);

    TRY(cudaStreamDestroy(s1));
    TRY(cudaStreamDestroy(s2));
    TRY(cudaFreeHost(pinned_in));
    TRY(cudaFreeHost(pinned_out));
    TRY(cudaFree(d_a));
    TRY(cudaFree(d_b));
    TRY(cudaFree(d_z));
    TRY(cudaGetLastError());
    free(host);
    free(back);
    printf("data: %s\n", ok ? "exact" : "WRONG");
    return ok ? 0 : 1;
}

/*
 * offload_kv — the pattern of offloaded inference (FlexGen, transformers'
 * offloaded KV cache): a KV cache of several layers lives in pinned host
 * buffers; each layer is offloaded after it is written and brought back to
 * the GPU when the next token needs it, one layer at a time.
 *
 * A plain CUDA program: it knows nothing of gqshim. Run it as is, then with
 *   LD_PRELOAD=build/libgqshim.so GQSHIM_RULES='on=host,min=1M,name=kv' GQSHIM_STATS=1
 * and compare: the same program, its KV traffic and host copies compressed.
 * It reports the error of what comes back against the exact values.
 *
 *   offload_kv [TOKENS]   TOKENS per layer (default 512): fewer make the same
 *                         pattern on a smaller cache (quick runs, the tests)
 */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYERS 8
#define HEADS 32
#define SEQ 512
#define HEAD_DIM 128
#define STEPS 3

#define CK(call)                                                                     \
    do {                                                                             \
        cudaError_t e_ = (call);                                                     \
        if (e_ != cudaSuccess) {                                                     \
            fprintf(stderr, "offload_kv: %s: %s\n", #call, cudaGetErrorString(e_));  \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float f;
    if (exp == 0) {
        f = ldexpf((float)mant, -24);
    } else if (exp == 31) {
        f = mant ? NAN : INFINITY;
    } else {
        uint32_t x = ((exp + 112u) << 23) | (mant << 13);
        memcpy(&f, &x, 4);
    }
    return sign ? -f : f;
}

static uint16_t float_to_half(float f)
{
    /* Truncating conversion is enough for test data in [-8, 8]. */
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    int exp = (int)((x >> 23) & 0xff) - 112;
    if (exp <= 0)
        return (uint16_t)sign;
    return (uint16_t)(sign | ((uint32_t)exp << 10) | ((x >> 13) & 0x3ff));
}

int main(int argc, char **argv)
{
    char *end = NULL;
    long seq = argc == 2 ? strtol(argv[1], &end, 10) : SEQ;
    if (argc > 2 || (end && (*end || end == argv[1])) || seq < 1 || seq > 1 << 20) {
        fprintf(stderr, "usage: offload_kv [TOKENS]   (tokens per layer, 1..1048576, default %d)\n", SEQ);
        return 2;
    }
    const size_t elems = (size_t)HEADS * (size_t)seq * HEAD_DIM, bytes = elems * 2;
    uint16_t *ref[2 * LAYERS], *host[2 * LAYERS];
    uint64_t seed = 1;
    for (int t = 0; t < 2 * LAYERS; t++) {
        ref[t] = malloc(bytes);
        for (size_t i = 0; i < elems; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            float u = (float)((seed >> 40) & 0xffffff) / 16777216.0f - 0.5f;
            ref[t][i] = float_to_half(u * (1.0f + (float)(i % HEAD_DIM) / 32.0f));
        }
        CK(cudaMallocHost((void **)&host[t], bytes));
    }
    void *work, *scratch;
    CK(cudaMalloc(&work, bytes));
    CK(cudaMalloc(&scratch, bytes));
    cudaStream_t s;
    CK(cudaStreamCreate(&s));

    /* Prefill: each layer's K and V are computed on the GPU, then offloaded. */
    for (int t = 0; t < 2 * LAYERS; t++) {
        CK(cudaMemcpyAsync(work, ref[t], bytes, cudaMemcpyHostToDevice, s));
        CK(cudaMemcpyAsync(host[t], work, bytes, cudaMemcpyDeviceToHost, s));
    }
    CK(cudaStreamSynchronize(s));

    /* Decode steps: bring each layer back, one at a time. */
    double max_err = 0, se = 0, ss = 0;
    uint16_t *back = malloc(bytes);
    for (int step = 0; step < STEPS; step++) {
        for (int t = 0; t < 2 * LAYERS; t++) {
            CK(cudaMemcpyAsync(work, host[t], bytes, cudaMemcpyHostToDevice, s));
            if (step == STEPS - 1) {
                /* Look at what the GPU got, through a buffer no rule names. */
                CK(cudaMemcpyAsync(scratch, work, bytes, cudaMemcpyDeviceToDevice, s));
                CK(cudaMemcpyAsync(back, scratch, bytes, cudaMemcpyDeviceToHost, s));
                CK(cudaStreamSynchronize(s));
                for (size_t i = 0; i < elems; i++) {
                    double x = half_to_float(ref[t][i]), y = half_to_float(back[i]);
                    double d = fabs(x - y);
                    if (d > max_err)
                        max_err = d;
                    se += d * d;
                    ss += x * x;
                }
            }
        }
    }
    CK(cudaStreamSynchronize(s));
    double logical = (double)bytes * 2 * LAYERS * (1 + STEPS);
    printf("offload_kv: %d layers x K,V of %d x %ld x %d fp16 (%.0f MiB in pinned host buffers)\n",
           LAYERS, HEADS, seq, HEAD_DIM, (double)bytes * 2 * LAYERS / 1048576.0);
    printf("offload_kv: %.0f MiB offloaded and restored over %d decode steps\n",
           logical / 1048576.0, STEPS);
    printf("offload_kv: restored KV vs exact: max abs error %.3g, NMSE %.3g\n", max_err,
           ss > 0 ? se / ss : 0.0);
    for (int t = 0; t < 2 * LAYERS; t++) {
        CK(cudaFreeHost(host[t]));
        free(ref[t]);
    }
    free(back);
    CK(cudaFree(work));
    CK(cudaFree(scratch));
    CK(cudaStreamDestroy(s));
    return 0;
}

/*
 * gpu_transfer_bench — offload and restore of fp16 tensors through pinned
 * host memory, as an offloading inference program does them. A plain
 * runtime-API program that knows nothing of gqshim: run it as is, then under
 *   LD_PRELOAD=build/libgqshim.so GQSHIM_RULES='on=host,min=1M'
 * and compare (tests/gpu/run.sh does both and prints the speed-up).
 *
 * For each size: a device tensor (cudaMalloc) and a pinned host buffer of
 * the same size (cudaMallocHost);
 *   offload = cudaMemcpyAsync device -> pinned host, cudaStreamSynchronize
 *   restore = cudaMemcpyAsync pinned host -> a second device tensor, sync
 * timed with the wall clock (CLOCK_MONOTONIC) around the pair, best of REPS
 * after one warm-up. Effective GB/s = tensor bytes / time / 1e9: what the
 * program sees, whatever crosses the bus. Afterwards the restored tensor is
 * read back through pageable memory (a buffer no rule names) and compared
 * with the original: exact without the shim; every element within the
 * 4-bit bound of gq_format.h with it.
 *
 *   gpu_transfer_bench [--mib 64,256,1024] [--reps 5] [--cols C]
 * --cols C: the rule groups with dim=0,cols=C: check the bound per column.
 * Prints per size and direction
 *   xfer dir=offload mib=64 best_ms=1.234 gbps=54.3
 * and `check mib=64 exact=0 outside_bound=0 max_abs_err=0.0123`.
 * Exit 0 when every round trip is exact or within the bound.
 */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_data.h"

#define CK(call)                                                                          \
    do {                                                                                  \
        cudaError_t e_ = (call);                                                          \
        if (e_ != cudaSuccess) {                                                          \
            fprintf(stderr, "gpu_transfer_bench: %s: %s\n", #call, cudaGetErrorString(e_)); \
            exit(2);                                                                      \
        }                                                                                 \
    } while (0)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Best wall time of `reps` copies of `bytes` (after one warm-up), each
 * followed by a stream synchronisation. */
static double best_copy(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind,
                        cudaStream_t s, int reps)
{
    double best = 1e30;
    for (int r = 0; r <= reps; r++) {
        double t0 = now_s();
        CK(cudaMemcpyAsync(dst, src, bytes, kind, s));
        CK(cudaStreamSynchronize(s));
        double t = now_s() - t0;
        if (r > 0 && t < best)
            best = t;
    }
    return best;
}

static size_t cols; /* --cols: the rule's dim=0 columns; 0: dim=last */

/* One size: both directions timed, then the round trip checked. 0: good. */
static int bench(size_t mib, int reps, cudaStream_t s)
{
    size_t bytes = mib << 20, n = bytes / 2;
    uint16_t *orig = malloc(bytes), *back = malloc(bytes), *pinned;
    void *d_a, *d_b;
    if (!orig || !back) {
        fprintf(stderr, "gpu_transfer_bench: out of host memory at %zu MiB\n", mib);
        return 1;
    }
    gk_fill_f16(orig, n, 42 + mib);
    CK(cudaMalloc(&d_a, bytes));
    CK(cudaMalloc(&d_b, bytes));
    CK(cudaMallocHost((void **)&pinned, bytes));
    CK(cudaMemcpy(d_a, orig, bytes, cudaMemcpyHostToDevice)); /* the tensor, computed on the GPU */

    double off = best_copy(pinned, d_a, bytes, cudaMemcpyDeviceToHost, s, reps);
    double res = best_copy(d_b, pinned, bytes, cudaMemcpyHostToDevice, s, reps);
    printf("xfer dir=offload mib=%zu best_ms=%.3f gbps=%.2f\n", mib, off * 1e3, (double)bytes / off * 1e-9);
    printf("xfer dir=restore mib=%zu best_ms=%.3f gbps=%.2f\n", mib, res * 1e3, (double)bytes / res * 1e-9);

    double max_err;
    CK(cudaMemcpy(back, d_b, bytes, cudaMemcpyDeviceToHost));
    int exact = memcmp(orig, back, bytes) == 0;
    uint64_t outside = gk_f16_outside_bound_cols(orig, back, n, cols, &max_err);
    printf("check mib=%zu exact=%d outside_bound=%llu max_abs_err=%.6g\n", mib, exact,
           (unsigned long long)outside, max_err);
    CK(cudaFreeHost(pinned));
    CK(cudaFree(d_a));
    CK(cudaFree(d_b));
    free(orig);
    free(back);
    return outside != 0;
}

int main(int argc, char **argv)
{
    const char *sizes = "64,256,1024";
    int reps = 5, bad = 0;
    cudaStream_t s;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--mib") == 0)
            sizes = argv[i + 1];
        else if (strcmp(argv[i], "--reps") == 0)
            reps = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--cols") == 0)
            cols = (size_t)atol(argv[i + 1]);
    }
    if (argc % 2 == 0 || reps < 1) {
        fprintf(stderr, "usage: gpu_transfer_bench [--mib 64,256,1024] [--reps 5] [--cols C]\n");
        return 2;
    }
    CK(cudaStreamCreate(&s));
    for (const char *p = sizes; *p;) {
        char *end;
        size_t mib = strtoull(p, &end, 10);
        if (end == p || mib == 0) {
            fprintf(stderr, "gpu_transfer_bench: bad size list '%s'\n", sizes);
            return 2;
        }
        bad |= bench(mib, reps, s);
        p = *end == ',' ? end + 1 : end;
    }
    CK(cudaStreamDestroy(s));
    return bad;
}

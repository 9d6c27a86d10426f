/*
 * bench_codec.c — the CPU codec against memcpy, one thread, same run.
 *
 * 256 MiB of fp16 (unit Gaussian), 4 bits, G = 64 unless told otherwise:
 *   bench_codec [MiB] [bits] [group] [f16|bf16|f32]
 * Each figure is the best of several runs. memcpy copies the same fp16
 * bytes between two buffers as large as the tensor. Prints GB/s (of fp16
 * bytes) and the two ratios the design's targets are stated in:
 *   dequant_over_memcpy=<time ratio>   (target <= 0.7)
 *   quant_over_memcpy=<time ratio>     (target <= 1.5)
 */
#include "gq_codec.h"
#include "gq_half.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 7

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;

static double gauss(void)
{
    double u, v;
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    u = ((double)(rng >> 11) + 0.5) * 0x1p-53;
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    v = (double)(rng >> 11) * 0x1p-53;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static void *big(size_t n)
{
    void *p = aligned_alloc(4096, (n + 4095) / 4096 * 4096);
    if (!p) {
        fprintf(stderr, "bench_codec: out of memory\n");
        exit(1);
    }
    memset(p, 0, n); /* fault every page in before timing */
    return p;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    if (argc > 2)
        p.bits = (uint32_t)strtoul(argv[2], NULL, 0);
    if (argc > 3)
        p.group = (uint32_t)strtoul(argv[3], NULL, 0);
    if (argc > 4)
        p.dtype = !strcmp(argv[4], "bf16") ? GQ_BF16 : !strcmp(argv[4], "f32") ? GQ_F32 : GQ_F16;
    size_t bytes = mib << 20, es = gq_dtype_size(p.dtype), n = bytes / es;
    uint32_t cap = gq_default_escape_capacity(&p, n);
    size_t csize = gq_compressed_size(&p, n, cap);
    if (csize == 0) {
        fprintf(stderr, "bench_codec: invalid parameters\n");
        return 2;
    }
    uint8_t *src = big(bytes), *dst = big(bytes), *cbuf = big(csize);
    for (size_t i = 0; i < n; i++) {
        float f = (float)gauss();
        if (p.dtype == GQ_F32)
            memcpy(src + i * 4, &f, 4);
        else if (p.dtype == GQ_BF16)
            ((uint16_t *)src)[i] = gq_f32_to_bf16_rn(f);
        else
            ((uint16_t *)src)[i] = gq_f32_to_f16_rn(f);
    }

    double tm = 1e9, tq = 1e9, td = 1e9;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        memcpy(dst, src, bytes);
        double t1 = now();
        int rq = gq_encode(&p, src, n, cap, cbuf, csize);
        double t2 = now();
        int rd = gq_decode(cbuf, csize, dst, bytes);
        double t3 = now();
        if (rq != GQ_OK || rd != GQ_OK) {
            fprintf(stderr, "bench_codec: %s\n", gq_strerror(rq != GQ_OK ? rq : rd));
            return 1;
        }
        tm = fmin(tm, t1 - t0);
        tq = fmin(tq, t2 - t1);
        td = fmin(td, t3 - t2);
    }
    printf("path=%s size=%zuMiB bits=%u group=%u dtype=%s compressed=%.4f\n", gq_path_name(GQ_PATH_AUTO), mib,
           p.bits, p.group, p.dtype == GQ_F16 ? "f16" : p.dtype == GQ_BF16 ? "bf16" : "f32",
           (double)csize / (double)bytes);
    printf("memcpy_GBps=%.2f\nquant_GBps=%.2f\ndequant_GBps=%.2f\n", bytes / tm * 1e-9, bytes / tq * 1e-9,
           bytes / td * 1e-9);
    printf("dequant_over_memcpy=%.3f\nquant_over_memcpy=%.3f\n", td / tm, tq / tm);
    free(src);
    free(dst);
    free(cbuf);
    return 0;
}

/*
 * bench_codec.c — the CPU codec against memcpy, in the same run.
 *
 * 256 MiB of fp16 (unit Gaussian), 4 bits, G = 64 unless told otherwise:
 *   bench_codec [MiB] [bits] [group] [f16|bf16|f32] [auto|avx512|avx2|scalar]
 * Each figure is the best of several rounds; one round times memcpy, then
 * the codec on one thread, then on every CPU this process may use, so all
 * five figures see the same machine state. memcpy copies the same bytes
 * between two buffers as large as the tensor, on one thread (what a program
 * would do without the shim). Prints GB/s (of raw tensor bytes) and time
 * ratios against that memcpy (issue 17: quant <= 1.2, goal 0.9; dequant
 * <= 0.60, goal 0.5):
 *   dequant_over_memcpy=     one thread
 *   quant_over_memcpy=       one thread
 *   quant_over_memcpy_mt=    gq_encode_mt(), all CPUs allowed
 *   dequant_over_memcpy_mt=  gq_decode_mt(), all CPUs allowed
 * The multi-threaded buffer is checked byte for byte against the
 * single-threaded one.
 */
#include "gq_codec.h"
#include "gq_codec_impl.h"
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

static enum gq_path path_arg(const char *s)
{
    if (!strcmp(s, "avx512"))
        return GQ_PATH_AVX512;
    if (!strcmp(s, "avx2"))
        return GQ_PATH_AVX2;
    if (!strcmp(s, "scalar"))
        return GQ_PATH_SCALAR;
    return GQ_PATH_AUTO;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    enum gq_path path = argc > 5 ? path_arg(argv[5]) : GQ_PATH_AUTO;
    unsigned threads = gq_cpu_count();
    if (argc > 2)
        p.bits = (uint32_t)strtoul(argv[2], NULL, 0);
    if (argc > 3)
        p.group = (uint32_t)strtoul(argv[3], NULL, 0);
    if (argc > 4)
        p.dtype = !strcmp(argv[4], "bf16") ? GQ_BF16 : !strcmp(argv[4], "f32") ? GQ_F32 : GQ_F16;
    if (!gq_path_available(path)) {
        fprintf(stderr, "bench_codec: path %s not available on this CPU\n", argc > 5 ? argv[5] : "auto");
        return 2;
    }
    size_t bytes = mib << 20, es = gq_dtype_size(p.dtype), n = bytes / es;
    uint32_t cap = gq_default_escape_capacity(&p, n);
    size_t csize = gq_compressed_size(&p, n, cap);
    if (csize == 0) {
        fprintf(stderr, "bench_codec: invalid parameters\n");
        return 2;
    }
    uint8_t *src = big(bytes), *dst = big(bytes), *cbuf = big(csize), *cbuf_mt = big(csize);
    for (size_t i = 0; i < n; i++) {
        float f = (float)gauss();
        if (p.dtype == GQ_F32)
            memcpy(src + i * 4, &f, 4);
        else if (p.dtype == GQ_BF16)
            ((uint16_t *)src)[i] = gq_f32_to_bf16_rn(f);
        else
            ((uint16_t *)src)[i] = gq_f32_to_f16_rn(f);
    }

    double tm = 1e9, tq = 1e9, td = 1e9, tqm = 1e9, tdm = 1e9;
    for (int r = 0; r < RUNS; r++) {
        double t[6];
        int rc[4];
        t[0] = now();
        memcpy(dst, src, bytes);
        t[1] = now();
        rc[0] = gq_encode_ex(path, &p, src, n, cap, cbuf, csize);
        t[2] = now();
        rc[1] = gq_decode_range_ex(path, cbuf, csize, 0, n, dst);
        t[3] = now();
        rc[2] = path == GQ_PATH_AUTO ? gq_encode_mt(&p, src, n, cap, cbuf_mt, csize, 0)
                                     : gq_encode_parts(path, &p, src, n, cap, cbuf_mt, csize, threads);
        t[4] = now();
        rc[3] = path == GQ_PATH_AUTO ? gq_decode_mt(cbuf_mt, csize, dst, bytes, 0)
                                     : gq_decode_range_parts(path, cbuf_mt, csize, 0, n, dst, threads);
        t[5] = now();
        for (int i = 0; i < 4; i++)
            if (rc[i] != GQ_OK) {
                fprintf(stderr, "bench_codec: %s\n", gq_strerror(rc[i]));
                return 1;
            }
        if (r == 0 && memcmp(cbuf, cbuf_mt, csize) != 0) {
            fprintf(stderr, "bench_codec: the multi-threaded encode wrote other bytes\n");
            return 1;
        }
        tm = fmin(tm, t[1] - t[0]);
        tq = fmin(tq, t[2] - t[1]);
        td = fmin(td, t[3] - t[2]);
        tqm = fmin(tqm, t[4] - t[3]);
        tdm = fmin(tdm, t[5] - t[4]);
    }
    printf("path=%s threads=%u size=%zuMiB bits=%u group=%u dtype=%s compressed=%.4f\n", gq_path_name(path),
           threads, mib, p.bits, p.group, p.dtype == GQ_F16 ? "f16" : p.dtype == GQ_BF16 ? "bf16" : "f32",
           (double)csize / (double)bytes);
    printf("memcpy_GBps=%.2f\nquant_GBps=%.2f\ndequant_GBps=%.2f\nquant_mt_GBps=%.2f\ndequant_mt_GBps=%.2f\n",
           bytes / tm * 1e-9, bytes / tq * 1e-9, bytes / td * 1e-9, bytes / tqm * 1e-9, bytes / tdm * 1e-9);
    printf("dequant_over_memcpy=%.3f\nquant_over_memcpy=%.3f\nquant_over_memcpy_mt=%.3f\ndequant_over_memcpy_mt=%.3f\n",
           td / tm, tq / tm, tqm / tm, tdm / tm);
    free(src);
    free(dst);
    free(cbuf);
    free(cbuf_mt);
    return 0;
}

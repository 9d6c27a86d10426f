/*
 * gpu_codec_check — the codec's CUDA kernels on a real GPU against the CPU
 * codec, byte for byte, and their bandwidth against a device-to-device copy.
 *
 * Loads the shim's own fatbin (gq_kernel_image, from build/kernels/
 * gq_kernel_image.o) through the driver API and launches gq_quantize and
 * gq_dequantize as the shim does (gq_kernels.h). For every dtype, bit width
 * and axis, with partial last groups, on random and edge data (NaN payloads,
 * signalling NaNs, +-Inf, constant and signed-zero groups, full-range fp16,
 * subnormals, bf16/f32 beyond the fp16 range, spans that overflow fp32):
 *   - header, metadata and codes of the GPU's buffer equal gq_encode's (the
 *     GPU may give escaped groups other slots: with more than one escape the
 *     slot bits are skipped and the escapes compared through decoding);
 *   - gq_decode of the GPU's buffer equals gq_decode of the CPU's;
 *   - GPU dequantize of either buffer, whole and over sub-ranges (misaligned
 *     destinations, 3-block grids, meta/codes re-pointed at g_base) equals
 *     gq_decode / gq_decode_range and writes nothing outside its range;
 *   - escape overflow is flagged on both sides, lost groups decode to NaN;
 *     gq_spill then copies the raw tensor, and otherwise writes nothing.
 * Bandwidth, on BW MiB of fp16 at 4 bits, groups of 64: best of 8 rounds
 * (cuEvent), interleaved with cuMemcpyDtoDAsync of the same fp16 bytes B:
 *   bandwidth = (bytes read + bytes written) / time; copy: 2B;
 *   quantize: B + W, dequantize: W + B (W = header + metadata + codes);
 *   quant_over_d2d_bw = quantize bandwidth / copy bandwidth (target >= 0.85).
 *
 *   gpu_codec_check [--quick] [--bw-mib N]      (N = 0: no bandwidth part)
 *   gpu_codec_check --bw-only [--bw-mib N]      (the bandwidth part alone: its
 *       launches are warm-up quantize, dequantize, then 8 timed rounds of
 *       each; tests/gpu/run.sh profiles the first timed pair with ncu)
 * Exit 0: all agree; 1: a mismatch (FAIL lines); 2: setup failed. Runs on
 * cudasim too (LD_LIBRARY_PATH=build/cudasim --quick --bw-mib 4): a
 * self-test of this program where there is no GPU.
 */
#include <cuda.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gq_codec.h"
#include "gq_dtype.h"
#include "gq_half.h"
#include "gq_kernels.h"
#include "gpu_data.h"

#define GUARD 64u /* bytes around a dequantize destination that must stay untouched */

static CUstream st;
static CUfunction fn_quant, fn_dequant, fn_spill; /* fn_spill: NULL when the image lacks it */
static int n_cases, n_failed, case_bad, fail_lines;
static char case_name[128];

static void drv(CUresult r, const char *what, int line)
{
    const char *name = NULL;
    if (r == CUDA_SUCCESS)
        return;
    cuGetErrorName(r, &name);
    fprintf(stderr, "gpu_codec_check: line %d: %s: %s\n", line, what, name ? name : "unknown error");
    exit(2);
}
#define DRV(call) drv((call), #call, __LINE__)

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    va_list ap;
    case_bad = 1;
    if (++fail_lines > 40)
        return;
    printf("FAIL %s: ", case_name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void *xmalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "gpu_codec_check: out of host memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

static long first_diff(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    if (memcmp(a, b, n) == 0)
        return -1;
    for (size_t i = 0;; i++)
        if (x[i] != y[i])
            return (long)i;
}

static uint64_t rng = 0x243f6a8885a308d3ull;

/* ---- the GPU side ------------------------------------------------------------ */
static void launch(CUfunction f, unsigned grid, void *params)
{
    void *args[] = {params};
    DRV(cuLaunchKernel(f, grid, 1, 1, GQ_BLOCK, 1, 1, 0, st, args, NULL));
}

/* Quantizes d_src into d_buf on `grid` blocks (0: the tuned grid). The
 * buffer is first filled with 0xee, so bytes the kernel leaves show. */
static void gpu_quantize(const struct gq_params *p, uint64_t n, uint32_t cap, CUdeviceptr d_src,
                         CUdeviceptr d_buf, size_t size, unsigned grid)
{
    struct gq_quant_params k;
    if (gq_quant_params_init(&k, p, n, cap, (const void *)d_src, (void *)d_buf) != GQ_OK) {
        fprintf(stderr, "gpu_codec_check: gq_quant_params_init refused %s\n", case_name);
        exit(2);
    }
    DRV(cuMemsetD8Async(d_buf, 0xee, size, st));
    DRV(cuMemsetD8Async(d_buf + GQ_HDR_ESCAPE_COUNT_OFF, 0, GQ_HDR_ZEROED_BYTES, st)); /* the contract's zeroed words */
    launch(fn_quant, grid ? grid : gq_launch_grid(gq_quant_items(&k)), &k);
    DRV(cuStreamSynchronize(st));
}

/* Dequantizes elements [e0, e1) of the buffer at d_buf to d_out + GUARD +
 * off elements, then checks the result against `want` and that the guard
 * bytes on either side still hold 0x77. rebase: re-point meta and codes at
 * the first group needed (g_base), as a restore from a partial copy does. */
static void gpu_dequant_check(const struct gq_params *p, const struct gq_layout *l, uint32_t cap,
                              CUdeviceptr d_buf, uint64_t e0, uint64_t e1, CUdeviceptr d_out,
                              uint32_t off, unsigned grid, int rebase, const uint8_t *want,
                              uint8_t *got, const char *what)
{
    struct gq_dequant_params k;
    uint32_t es = l->esize;
    size_t at = GUARD + (size_t)off * es, len = (e1 - e0) * es, span = at + len + GUARD;
    if (gq_dequant_params_init(&k, p, l->n_elems, cap, (const void *)d_buf, e0, e1,
                               (void *)(d_out + at)) != GQ_OK) {
        fail("%s [%llu, %llu): gq_dequant_params_init refused the range", what,
             (unsigned long long)e0, (unsigned long long)e1);
        return;
    }
    if (rebase) {
        uint64_t g0, g1;
        gq_groups_covering(l, p->group, e0, e1, &g0, &g1);
        k.g_base = g0;
        k.meta = (const uint8_t *)k.meta + g0 * l->meta_size;
        k.codes = (const uint8_t *)k.codes + g0 * l->code_stride;
    }
    DRV(cuMemsetD8Async(d_out, 0x77, span, st));
    launch(fn_dequant, grid ? grid : gq_launch_grid(gq_dequant_items(&k)), &k);
    DRV(cuStreamSynchronize(st));
    DRV(cuMemcpyDtoH(got, d_out, span));
    long d = first_diff(got + at, want, len);
    if (d >= 0)
        fail("%s [%llu, %llu) dst+%u grid %u%s: element %llu differs (got %#x, want %#x)", what,
             (unsigned long long)e0, (unsigned long long)e1, off, grid, rebase ? " g_base" : "",
             (unsigned long long)(e0 + (uint64_t)d / es), gk_get_bits(got + at, (uint64_t)d / es, p->dtype),
             gk_get_bits(want, (uint64_t)d / es, p->dtype));
    for (size_t i = 0; i < span; i++)
        if ((i < at || i >= at + len) && got[i] != 0x77) {
            fail("%s [%llu, %llu): wrote outside its range (byte %ld from the start)", what,
                 (unsigned long long)e0, (unsigned long long)e1, (long)i - (long)at);
            break;
        }
}

/* gq_spill after a quantize into d_buf: copies the raw tensor to another
 * buffer only when the quantize overflowed, through its 8-byte path and its
 * byte path (an odd size); writes nothing otherwise. */
static void spill_check(CUdeviceptr d_buf, CUdeviceptr d_src, const uint8_t *src, size_t bytes, int overflowed)
{
    CUdeviceptr d_raw;
    uint8_t *raw = xmalloc(bytes);
    if (!fn_spill)
        return free(raw);
    DRV(cuMemAlloc(&d_raw, bytes));
    for (int path = 0; path < 2; path++) {
        size_t nb = path ? bytes - 1 : bytes & ~(size_t)7, i = 0;
        struct gq_spill_params k = {GQ_SPILL_MAGIC, 0, nb, (const void *)d_buf, (const void *)d_src, (void *)d_raw};
        DRV(cuMemsetD8Async(d_raw, 0x55, bytes, st));
        launch(fn_spill, GQ_SPILL_BLOCKS, &k);
        DRV(cuStreamSynchronize(st));
        DRV(cuMemcpyDtoH(raw, d_raw, bytes));
        size_t copied = overflowed ? nb : 0;
        while (i < copied && raw[i] == src[i])
            i++;
        if (i == copied)
            while (i < bytes && raw[i] == 0x55) /* the rest: untouched */
                i++;
        if (i < bytes)
            fail("gq_spill (%zu bytes, overflow %d): byte %zu wrong", nb, overflowed, i);
    }
    cuMemFree(d_raw);
    free(raw);
}

/* ---- buffer comparison ------------------------------------------------------- */
static int all_ones(const uint8_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (b[i] != 0xff)
            return 0;
    return 1;
}

/* The groups of src the quantize kernel must count as not of the dtype. */
static uint32_t cpu_foreign(const struct gq_params *p, const struct gq_layout *l, const void *src)
{
    uint32_t foreign = 0;
    for (uint64_t g = 0; g < l->n_groups; g++)
        foreign += (uint32_t)gq_dtype_group_foreign(l, p->group, p->dtype, src, g);
    return foreign;
}

/* The GPU's compressed buffer against the CPU's: header; each group's
 * metadata and codes (an escaped group's slot bits only when more than one
 * group escaped, since then the GPU may number them otherwise); slot 0's
 * raw values when exactly one group escaped. */
static void compare_buffers(const struct gq_layout *l, const uint8_t *cpu, const uint8_t *gpu,
                            const char *what, uint32_t foreign)
{
    uint32_t ccount = gq_ld32(cpu + 32), gcount = gq_ld32(gpu + 32), es = l->esize;
    uint32_t cov = gq_ld32(cpu + 36), gov = gq_ld32(gpu + 36);
    /* The GPU alone counts groups that do not look like the dtype
     * (kernels/gq_dtype.h), and marks the buffer overflowed past the limit. */
    if (gq_ld32(gpu + GQ_HDR_FOREIGN_OFF) != foreign)
        fail("%s: foreign groups cpu %u, gpu %u", what, foreign, gq_ld32(gpu + GQ_HDR_FOREIGN_OFF));
    cov |= foreign > gq_dtype_foreign_limit(l->n_groups);
    uint64_t bad_groups = 0, first_bad = 0;
    long d;
    if ((d = first_diff(cpu, gpu, GQ_HDR_ESCAPE_COUNT_OFF)) >= 0)
        fail("%s: header byte %ld differs (cpu %#x, gpu %#x)", what, d, cpu[d], gpu[d]);
    if (ccount != gcount || !cov != !gov)
        fail("%s: escape_count/overflow cpu %u/%u, gpu %u/%u", what, ccount, cov, gcount, gov);
    if ((d = first_diff(cpu + 44, gpu + 44, GQ_HEADER_SIZE - 44)) >= 0)
        fail("%s: reserved header byte %ld differs", what, d + 44);
    for (uint64_t g = 0; g < l->n_groups; g++) {
        const uint8_t *cm = cpu + l->meta_off + g * l->meta_size, *gm = gpu + l->meta_off + g * l->meta_size;
        const uint8_t *cc = cpu + l->code_off + g * l->code_stride, *gc = gpu + l->code_off + g * l->code_stride;
        int skip_slot = ccount > 1 && all_ones(cm, es);
        uint32_t meta_n = skip_slot ? es : l->meta_size, code_skip = skip_slot && es == 2 ? 2 : 0;
        if (memcmp(cm, gm, meta_n) != 0 || memcmp(cc + code_skip, gc + code_skip, l->code_stride - code_skip) != 0) {
            if (bad_groups++ == 0)
                first_bad = g;
        }
    }
    if (bad_groups)
        fail("%s: metadata or codes of %llu of %llu groups differ (first: group %llu)", what,
             (unsigned long long)bad_groups, (unsigned long long)l->n_groups, (unsigned long long)first_bad);
    if (ccount == 1 && l->escape_capacity >= 1 &&
        memcmp(cpu + l->esc_off, gpu + l->esc_off, (l->total - l->esc_off) / l->escape_capacity) != 0)
        fail("%s: the escaped group's raw values differ", what);
}

/* ---- one configuration ------------------------------------------------------- */
static const char *DT_NAME[4] = {"?", "f16", "bf16", "f32"};

static void run_case(const struct gq_params *p, uint64_t n, int ds)
{
    struct gq_layout l = {0};
    uint32_t es = gq_dtype_size(p->dtype), cap;
    size_t bytes = n * es, size;
    CUdeviceptr d_src, d_gbuf, d_cbuf, d_out;

    char axis[48] = "dim=last";
    if (p->axis == GQ_DIM_0)
        snprintf(axis, sizeof axis, "dim=0 cols=%llu", (unsigned long long)p->cols);
    snprintf(case_name, sizeof case_name, "%s bits=%u group=%u %s n=%llu %s", DT_NAME[p->dtype], p->bits,
             p->group, axis, (unsigned long long)n, ds == GK_EDGE ? "edge" : "gauss");
    case_bad = 0;
    gq_layout_init(&l, p, n, 0);
    cap = ds == GK_EDGE ? (uint32_t)l.n_groups : gq_default_escape_capacity(p, n);
    gq_layout_init(&l, p, n, cap);
    size = l.total;

    uint8_t *src = xmalloc(bytes), *cbuf = xmalloc(size), *gbuf = xmalloc(size);
    uint8_t *ref = xmalloc(bytes), *part = xmalloc(bytes), *got = xmalloc(bytes + 2 * GUARD + 2 * es);
    gk_fill(src, p, &l, ds, &rng);
    uint32_t foreign = cpu_foreign(p, &l, src);
    int refused = foreign > gq_dtype_foreign_limit(l.n_groups);
    int rc = gq_encode(p, src, n, cap, cbuf, size);
    if (rc == GQ_OK)
        rc = gq_decode(cbuf, size, ref, bytes);
    if (rc != GQ_OK) {
        fail("the CPU codec refused it: %s", gq_strerror(rc));
        goto out;
    }
    DRV(cuMemAlloc(&d_src, bytes));
    DRV(cuMemAlloc(&d_gbuf, size));
    DRV(cuMemAlloc(&d_cbuf, size));
    DRV(cuMemAlloc(&d_out, bytes + 2 * GUARD + 2 * es));
    DRV(cuMemcpyHtoD(d_src, src, bytes));
    DRV(cuMemcpyHtoD(d_cbuf, cbuf, size));

    for (int small = 1; small >= 0; small--) { /* a 3-block grid, then the tuned one */
        gpu_quantize(p, n, cap, d_src, d_gbuf, size, small ? 3 : 0);
        DRV(cuMemcpyDtoH(gbuf, d_gbuf, size));
        compare_buffers(&l, cbuf, gbuf, small ? "quantize (3 blocks)" : "quantize", foreign);
    }
    spill_check(d_gbuf, d_src, src, bytes, refused);
    rc = gq_decode(gbuf, size, part, bytes);
    if (refused) /* overflowed: the CPU decoder refuses it */
        rc == GQ_ERR_OVERFLOW ? (void)0 : fail("gq_decode of a refused buffer: %s", gq_strerror(rc));
    else if (rc != GQ_OK)
        fail("gq_decode of the GPU's buffer: %s", gq_strerror(rc));
    else if (first_diff(part, ref, bytes) >= 0)
        fail("gq_decode of the GPU's buffer differs from that of the CPU's (element %ld)",
             first_diff(part, ref, bytes) / (long)es);

    gpu_dequant_check(p, &l, cap, d_cbuf, 0, n, d_out, 0, 0, 0, ref, got, "dequantize CPU buffer");
    gpu_dequant_check(p, &l, cap, d_gbuf, 0, n, d_out, 1, 0, 0, ref, got, "dequantize GPU buffer");
    uint64_t G = p->group, R[14][2] = {{0, 1}, {1, G + 1}, {G - 1, 2 * G + 3}, {n - 1, n}, {n / 2, n / 2 + 1},
                                       {n - (G / 2 + 3), n}, {3, n - 2}, {0, n - 1}};
    for (int t = 8; t < 14; t++) {
        R[t][0] = gk_rnd(&rng) % n;
        R[t][1] = R[t][0] + 1 + gk_rnd(&rng) % (n - R[t][0]);
    }
    for (int t = 0; t < 14; t++) {
        uint64_t e0 = R[t][0], e1 = R[t][1];
        if (e0 >= e1 || e1 > n)
            continue;
        rc = gq_decode_range(cbuf, size, e0, e1, part);
        if (rc != GQ_OK) {
            fail("gq_decode_range [%llu, %llu): %s", (unsigned long long)e0, (unsigned long long)e1,
                 gq_strerror(rc));
            continue;
        }
        gpu_dequant_check(p, &l, cap, t % 2 ? d_gbuf : d_cbuf, e0, e1, d_out, t % 3, t % 4 == 2 ? 3 : 0,
                          t % 4 == 3, part, got, "dequantize range");
    }
    cuMemFree(d_src), cuMemFree(d_gbuf), cuMemFree(d_cbuf), cuMemFree(d_out);
out:
    n_cases++;
    n_failed += case_bad;
    free(src), free(cbuf), free(gbuf), free(ref), free(part), free(got);
}

/* More escaped groups than slots: both sides flag the buffer; the GPU decodes
 * a group that found no slot to NaN (or to its raw values if it found one),
 * every other group exactly as the CPU decodes a buffer with room for all. */
static void run_overflow_case(void)
{
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    uint64_t n = 64 * 240 + 17, bad = 0;
    uint32_t cap = 3;
    struct gq_layout l, lf;
    struct gq_dequant_params k;
    CUdeviceptr d_src, d_buf, d_out;

    snprintf(case_name, sizeof case_name, "f16 bits=4 group=64 dim=last n=%llu edge, 3 escape slots",
             (unsigned long long)n);
    case_bad = 0;
    gq_layout_init(&l, &p, n, cap);
    gq_layout_init(&lf, &p, n, (uint32_t)l.n_groups);
    size_t bytes = n * 2;
    uint8_t *src = xmalloc(bytes), *cbuf = xmalloc(l.total), *fbuf = xmalloc(lf.total);
    uint8_t *gbuf = xmalloc(l.total), *ref = xmalloc(bytes), *got = xmalloc(bytes);
    gk_fill(src, &p, &l, GK_EDGE, &rng);
    if (gq_encode(&p, src, n, cap, cbuf, l.total) != GQ_ERR_OVERFLOW)
        fail("the CPU encoder did not report the overflow");
    if (gq_encode(&p, src, n, lf.escape_capacity, fbuf, lf.total) != GQ_OK ||
        gq_decode(fbuf, lf.total, ref, bytes) != GQ_OK)
        fail("the CPU codec refused the data with room for every escape");
    DRV(cuMemAlloc(&d_src, bytes));
    DRV(cuMemAlloc(&d_buf, l.total));
    DRV(cuMemAlloc(&d_out, bytes));
    DRV(cuMemcpyHtoD(d_src, src, bytes));
    gpu_quantize(&p, n, cap, d_src, d_buf, l.total, 0);
    DRV(cuMemcpyDtoH(gbuf, d_buf, l.total));
    compare_buffers(&l, cbuf, gbuf, "quantize", cpu_foreign(&p, &l, src));
    spill_check(d_buf, d_src, src, bytes, 1);
    if (gq_decode(gbuf, l.total, got, bytes) != GQ_ERR_OVERFLOW)
        fail("gq_decode of the GPU's buffer did not refuse it");
    gq_dequant_params_init(&k, &p, n, cap, (const void *)d_buf, 0, n, (void *)d_out);
    launch(fn_dequant, gq_launch_grid(gq_dequant_items(&k)), &k);
    DRV(cuStreamSynchronize(st));
    DRV(cuMemcpyDtoH(got, d_out, bytes));
    for (uint64_t i = 0; i < n; i++) {
        uint32_t a = gk_get_bits(got, i, GQ_F16), w = gk_get_bits(ref, i, GQ_F16);
        int escaped = all_ones(cbuf + l.meta_off + i / 64 * l.meta_size, 2);
        bad += escaped ? a != w && (a & 0x7fffu) <= 0x7c00u : a != w; /* lost: NaN */
    }
    if (bad)
        fail("GPU dequantize of an overflowed buffer: %llu elements wrong", (unsigned long long)bad);
    cuMemFree(d_src), cuMemFree(d_buf), cuMemFree(d_out);
    n_cases++;
    n_failed += case_bad;
    free(src), free(cbuf), free(fbuf), free(gbuf), free(ref), free(got);
}

/* ---- bandwidth (definitions at the top) ------------------------------------------ */
static void bandwidth(uint64_t mib)
{
    enum { ROUNDS = 8 };
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    size_t bytes = (size_t)mib << 20;
    uint64_t n = bytes / 2;
    uint32_t cap = gq_default_escape_capacity(&p, n);
    struct gq_layout l;
    struct gq_quant_params qk;
    struct gq_dequant_params dk;
    CUdeviceptr d_src, d_buf, d_out, d_copy;
    CUevent a, b;
    float best[3] = {1e30f, 1e30f, 1e30f};

    snprintf(case_name, sizeof case_name, "f16 bits=4 group=64 dim=last n=%llu (bandwidth buffers)",
             (unsigned long long)n);
    case_bad = 0;
    gq_layout_init(&l, &p, n, cap);
    size_t size = l.total, written = l.esc_off;
    uint16_t *src = xmalloc(bytes);
    uint8_t *cbuf = xmalloc(size), *gbuf = xmalloc(size), *ref = xmalloc(bytes), *got = xmalloc(bytes);
    gk_fill_f16(src, n, 7);
    DRV(cuMemAlloc(&d_src, bytes));
    DRV(cuMemAlloc(&d_buf, size));
    DRV(cuMemAlloc(&d_out, bytes));
    DRV(cuMemAlloc(&d_copy, bytes));
    DRV(cuMemcpyHtoD(d_src, src, bytes));
    gq_quant_params_init(&qk, &p, n, cap, (const void *)d_src, (void *)d_buf);
    gq_dequant_params_init(&dk, &p, n, cap, (const void *)d_buf, 0, n, (void *)d_out);
    DRV(cuEventCreate(&a, CU_EVENT_DEFAULT));
    DRV(cuEventCreate(&b, CU_EVENT_DEFAULT));
    for (int r = 0; r <= ROUNDS; r++) /* round 0 warms up */
        for (int w = 0; w < 3; w++) {
            float ms;
            if (w == 0)
                DRV(cuMemsetD8Async(d_buf + GQ_HDR_ESCAPE_COUNT_OFF, 0, GQ_HDR_ZEROED_BYTES, st));
            DRV(cuEventRecord(a, st));
            if (w == 0)
                launch(fn_quant, gq_launch_grid(gq_quant_items(&qk)), &qk);
            else if (w == 1)
                launch(fn_dequant, gq_launch_grid(gq_dequant_items(&dk)), &dk);
            else
                DRV(cuMemcpyDtoDAsync(d_copy, d_src, bytes, st));
            DRV(cuEventRecord(b, st));
            DRV(cuEventSynchronize(b));
            DRV(cuEventElapsedTime(&ms, a, b));
            if (r > 0 && ms < best[w])
                best[w] = ms;
        }
    /* The big buffers are checked too: grid-stride loops over 2^26 items. */
    if (gq_encode(&p, src, n, cap, cbuf, size) != GQ_OK || gq_decode(cbuf, size, ref, bytes) != GQ_OK)
        fail("the CPU codec refused the data");
    DRV(cuMemcpyDtoH(gbuf, d_buf, size));
    compare_buffers(&l, cbuf, gbuf, "quantize", cpu_foreign(&p, &l, src));
    DRV(cuMemcpyDtoH(got, d_out, bytes));
    if (first_diff(got, ref, bytes) >= 0)
        fail("dequantize: element %ld differs", first_diff(got, ref, bytes) / 2);

    double copy_bw = 2.0 * (double)bytes / (best[2] * 1e-3);
    double q_bw = (double)(bytes + written) / (best[0] * 1e-3);
    double d_bw = (double)(written + bytes) / (best[1] * 1e-3);
    printf("bandwidth: %llu MiB of fp16, 4-bit groups of 64 (%zu compressed bytes written), best of %d:\n",
           (unsigned long long)mib, written, ROUNDS);
    printf("  d2d copy    %9.3f ms %8.1f GB/s (read + write)\n", best[2], copy_bw * 1e-9);
    printf("  quantize    %9.3f ms %8.1f GB/s\n", best[0], q_bw * 1e-9);
    printf("  dequantize  %9.3f ms %8.1f GB/s\n", best[1], d_bw * 1e-9);
    printf("quant_over_d2d_bw=%.3f\n", q_bw / copy_bw);
    printf("dequant_over_d2d_bw=%.3f\n", d_bw / copy_bw);
    printf("bandwidth target (>= 0.85 of the copy): quantize %s, dequantize %s\n",
           q_bw / copy_bw >= 0.85 ? "met" : "MISSED", d_bw / copy_bw >= 0.85 ? "met" : "MISSED");
    cuEventDestroy(a), cuEventDestroy(b);
    cuMemFree(d_src), cuMemFree(d_buf), cuMemFree(d_out), cuMemFree(d_copy);
    n_cases++;
    n_failed += case_bad;
    free(src), free(cbuf), free(gbuf), free(ref), free(got);
}

int main(int argc, char **argv)
{
    static const uint32_t groups[] = {8, 10, 64, 128, 1024};
    static const struct { uint32_t group; uint64_t cols, rows; } dim0[] = {
        {64, 33, 64 * 20 + 7}, {16, 256, 16 * 30 + 5}, {10, 7, 10 * 50 + 3}};
    int quick = 0, bw_only = 0, major = 0, minor = 0, version = 0;
    uint64_t bw_mib = 1024;
    char name[128] = "?";
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--bw-only") == 0) {
            bw_only = 1;
        } else if (strcmp(argv[i], "--bw-mib") == 0 && i + 1 < argc) {
            bw_mib = strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: gpu_codec_check [--quick] [--bw-only] [--bw-mib N]\n");
            return 2;
        }
    }
    DRV(cuInit(0));
    DRV(cuDeviceGet(&dev, 0));
    DRV(cuDeviceGetName(name, sizeof name, dev));
    DRV(cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
    DRV(cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
    DRV(cuDriverGetVersion(&version));
    printf("device: %s, compute capability %d.%d, driver API %d; CPU codec path: %s\n", name, major,
           minor, version, gq_path_name(GQ_PATH_AUTO));
    DRV(cuDevicePrimaryCtxRetain(&ctx, dev));
    DRV(cuCtxSetCurrent(ctx));
    CUresult r = cuModuleLoadData(&mod, gq_kernel_image);
    if (r != CUDA_SUCCESS) {
        const char *e = NULL;
        cuGetErrorName(r, &e);
        fprintf(stderr, "gpu_codec_check: the shim's fatbin (%zu bytes) does not load here: %s; "
                        "it needs SASS for sm_%d%d or PTX this driver can compile\n",
                gq_kernel_image_size, e ? e : "?", major, minor);
        return 2;
    }
    DRV(cuModuleGetFunction(&fn_quant, mod, "gq_quantize"));
    DRV(cuModuleGetFunction(&fn_dequant, mod, "gq_dequantize"));
    if (cuModuleGetFunction(&fn_spill, mod, "gq_spill") != CUDA_SUCCESS)
        fn_spill = NULL, printf("gq_spill is not in the image: its checks are skipped\n");
    DRV(cuStreamCreate(&st, CU_STREAM_DEFAULT));

    for (uint32_t dt = GQ_F16; dt <= (bw_only ? 0u : GQ_F32); dt++)
        for (uint32_t bits = 2; bits <= 8; bits *= 2)
            for (int ds = GK_GAUSS; ds <= GK_EDGE; ds++) {
                for (unsigned i = 0; i < sizeof groups / sizeof groups[0]; i++) {
                    uint32_t G = groups[i];
                    uint64_t whole = quick ? 40 : G >= 1024 ? 200 : 3000;
                    struct gq_params p = {bits, G, dt, GQ_DIM_LAST, 0};
                    if (!quick || G == 10 || G == 64)
                        run_case(&p, whole * G + G / 2 + 1, ds); /* a partial last group */
                }
                for (unsigned i = 0; i < (quick ? 1u : sizeof dim0 / sizeof dim0[0]); i++) {
                    struct gq_params p = {bits, dim0[i].group, dt, GQ_DIM_0, dim0[i].cols};
                    run_case(&p, dim0[i].rows * dim0[i].cols, ds); /* a partial row-block */
                }
            }
    if (!bw_only) {
        run_overflow_case();
        printf("codec_cases=%d codec_failures=%d\n", n_cases, n_failed);
    }
    if (bw_mib)
        bandwidth(bw_mib);
    printf("codec_check: %s\n", n_failed ? "MISMATCH between GPU and CPU" : "GPU and CPU agree");
    return n_failed ? 1 : 0;
}

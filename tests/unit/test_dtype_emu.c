/*
 * test_dtype_emu.c — the dtype check as the quantize kernel runs it (on the
 * values it loaded to encode them, the lanes of a group adding their scans;
 * kernels/gq_tile.h), under the SIMT executor: the header's `foreign` word
 * is exactly the number of groups gq_dtype_group_foreign() calls foreign
 * one by one on the CPU, and `overflow` is set exactly when that number
 * passes gq_dtype_foreign_limit(). Every axis, dtype and shape the kernel
 * has a path for: chunk widths 16, 8, 4 (the tensor's alignment), groups of
 * one chunk, of more chunks than a lane keeps, partial groups, odd columns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dtype_data.h"
#include "gq_dtype.h"
#include "gq_emu.h"
#include "gq_kernels.h"

static void run_quantize(const struct gq_quant_params *qp, unsigned block)
{
    struct gq_emu_launch l = {.k = gq_emu_kernel_find("gq_quantize"), .params = qp,
                              .grid = {gq_launch_grid(gq_quant_items(qp)), 1, 1}, .block = {block, 1, 1}};
    char msg[256];
    assert_non_null(l.k);
    if (gq_emu_run(&l, msg, sizeof msg) != GQ_EMU_OK)
        fail_msg("%s", msg);
}

/* n elements at src + skew bytes: `frac` of them (from the start) foreign
 * kind k, the rest realistic data of the rule's dtype. Quantized by the
 * kernel; its verdict compared with the CPU's. */
static void check(const struct gq_params *p, uint64_t n, enum dd_foreign k, double frac, unsigned skew,
                  unsigned block)
{
    uint32_t es = gq_dtype_size(p->dtype);
    size_t bytes = n * es, fbytes = (size_t)((double)bytes * frac) / 72 * 72;
    struct gq_layout l = {0};
    uint8_t *mem = aligned_alloc(64, (bytes + 64 + 63) / 64 * 64), *src = mem + skew;
    float *tmp = malloc((bytes / 2 + 64) * sizeof(float));
    uint64_t cpu = 0, g;

    assert_int_equal(gq_layout_init(&l, p, n, 0), GQ_OK);
    uint32_t cap = (uint32_t)l.n_groups; /* no escape overflow: only the dtype sets it */
    size_t size = gq_compressed_size(p, n, cap);
    uint8_t *buf = aligned_alloc(64, (size + 63) / 64 * 64);
    dd_real_fill(DD_GAUSS_1, tmp, n);
    dd_convert(tmp, n, p->dtype, src);
    if (fbytes)
        dd_foreign_fill(k, src, fbytes, tmp);
    for (g = 0; g < l.n_groups; g++)
        cpu += (uint64_t)gq_dtype_group_foreign(&l, p->group, p->dtype, src, g);
    if (dd_foreign_dtype(k) == p->dtype) /* the rule's own dtype: real data, never refused */
        assert_true(cpu <= gq_dtype_foreign_limit(l.n_groups));

    struct gq_quant_params qp;
    const struct gq_header *h = (const struct gq_header *)buf;
    memset(buf, 0, size);
    assert_int_equal(gq_quant_params_init(&qp, p, n, cap, src, buf), GQ_OK);
    run_quantize(&qp, block);
    if (h->foreign != cpu || h->overflow != (cpu > gq_dtype_foreign_limit(l.n_groups)))
        fail_msg("dtype %u G %u axis %u cols %llu skew %u kind %s: kernel foreign %u overflow %u, CPU %llu",
                 p->dtype, p->group, p->axis, (unsigned long long)p->cols, skew, dd_foreign_name[k],
                 h->foreign, h->overflow, (unsigned long long)cpu);
    free(mem);
    free(tmp);
    free(buf);
}

static const enum dd_foreign kinds[] = {DD_AS_BF16, DD_AS_F16, DD_INT32_IDS, DD_AS_F32_UP16, DD_RANDOM};

static void dim_last_kernel_counts_what_the_cpu_counts(void **state)
{
    static const uint32_t groups[] = {8, 10, 64, 128, 1024};
    (void)state;
    dd_seed(1);
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++)
        for (unsigned gi = 0; gi < 5; gi++)
            for (unsigned ki = 0; ki < 5; ki++) {
                struct gq_params p = {4, groups[gi], dt, GQ_DIM_LAST, 0};
                uint64_t n = (uint64_t)groups[gi] * 70 + 6; /* a partial last group */
                check(&p, n, kinds[ki], 0.5, 0, GQ_BLOCK);   /* 16-byte chunks */
                check(&p, n, kinds[ki], 0.02, 0, 64);        /* around the limit */
                check(&p, n, kinds[ki], 1.0, 8, 32);         /* 8-byte chunks */
                check(&p, n, kinds[ki], 0.5, 4, GQ_BLOCK);   /* 4-byte chunks */
            }
}

static void dim0_kernel_counts_what_the_cpu_counts(void **state)
{
    static const uint64_t cols[] = {33, 64, 520};
    (void)state;
    dd_seed(2);
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++)
        for (unsigned ci = 0; ci < 3; ci++)
            for (unsigned ki = 0; ki < 5; ki++) {
                struct gq_params p = {4, 64, dt, GQ_DIM_0, cols[ci]};
                check(&p, cols[ci] * 150, kinds[ki], 0.5, 0, GQ_BLOCK); /* a partial row block */
                check(&p, cols[ci] * 128, kinds[ki], 0.03, 0, 64);
            }
}

/* A thread per group (blocks that are not whole warps): the same counts. */
static void per_thread_kernel_counts_what_the_cpu_counts(void **state)
{
    (void)state;
    dd_seed(3);
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++) {
        struct gq_params last = {4, 64, dt, GQ_DIM_LAST, 0}, dim0 = {4, 64, dt, GQ_DIM_0, 40};
        check(&last, 64 * 50 + 2, DD_AS_BF16, 0.5, 0, 48);
        check(&dim0, 40 * 100, DD_INT32_IDS, 0.5, 0, 48);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dim_last_kernel_counts_what_the_cpu_counts),
        cmocka_unit_test(dim0_kernel_counts_what_the_cpu_counts),
        cmocka_unit_test(per_thread_kernel_counts_what_the_cpu_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

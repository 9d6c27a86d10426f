/*
 * test_dtype.c — kernels/gq_dtype.h, the test the quantize kernel runs on
 * each group: real data of a rule's dtype is almost never called foreign
 * (< 0.1% of groups, per data set), and every foreign kind a caching
 * allocator can bring (the other float types, integers, GGUF blocks,
 * random bytes) makes the tensor foreign. Prints what it measured
 * (dtype_false_reject.<dtype>.<set>=..., dtype_detect.<rule>.<kind>=...).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dtype_data.h"
#include "gq_dtype.h"
#include "gq_half.h"

#define N_BYTES ((size_t)2 << 20) /* 2 MiB per data set: 16384 groups of 64 f16 */
#define GROUP 64u

static const uint32_t dtypes[3] = {GQ_F16, GQ_BF16, GQ_F32};
static const char *const dtype_name[4] = {"?", "f16", "bf16", "f32"};

/* Foreign groups of `bytes` of data read as `dtype` (dim=last, or dim=0
 * over `cols` columns when cols != 0); *n_groups gets their count. */
static uint64_t count_foreign(const void *data, size_t bytes, uint32_t dtype, uint64_t cols,
                              uint64_t *n_groups)
{
    struct gq_params p = {4, GROUP, dtype, cols ? GQ_DIM_0 : GQ_DIM_LAST, cols};
    struct gq_layout l = {0};
    uint64_t n = bytes / gq_dtype_size(dtype), g, bad = 0;
    assert_int_equal(gq_layout_init(&l, &p, n, 0), GQ_OK);
    for (g = 0; g < l.n_groups; g++)
        bad += (uint64_t)gq_dtype_group_foreign(&l, GROUP, dtype, data, g);
    *n_groups = l.n_groups;
    return bad;
}

static void real_data_is_almost_never_foreign(void **state)
{
    uint8_t *buf = malloc(N_BYTES);
    float *tmp = malloc(N_BYTES / 2 * sizeof(float));
    double worst = 0;
    int failed = 0;
    (void)state;
    for (int d = 0; d < 3; d++) {
        uint32_t dt = dtypes[d];
        size_t n = N_BYTES / gq_dtype_size(dt);
        for (int k = 0; k < DD_REAL_COUNT; k++) {
            uint64_t ng, bad;
            dd_seed((uint64_t)(d * 100 + k));
            dd_real_fill((enum dd_real)k, tmp, n);
            dd_convert(tmp, n, dt, buf);
            bad = count_foreign(buf, N_BYTES, dt, 0, &ng);
            double rate = (double)bad / (double)ng;
            printf("dtype_false_reject.%s.%s=%.5f%%\n", dtype_name[dt], dd_real_name[k], 100.0 * rate);
            /* binade_rows is not realistic data, only what an example
             * program makes: it must not be refused as a tensor. */
            failed += (rate >= 0.001 && k != DD_BINADE_ROWS) || bad > gq_dtype_foreign_limit(ng);
            if (k != DD_BINADE_ROWS)
                worst = rate > worst ? rate : worst;
        }
    }
    printf("dtype_false_reject.worst=%.5f%%\n", 100.0 * worst);
    assert_int_equal(failed, 0); /* and no data set refused as a tensor */
    free(tmp);
    free(buf);
}

/* The same data as dim=0 groups (columns of a 4096-wide matrix, and of an
 * odd width): the test reads a column's elements, as the kernel does. */
static void real_data_in_columns_is_almost_never_foreign(void **state)
{
    uint8_t *buf = malloc(N_BYTES);
    float *tmp = malloc(N_BYTES / 2 * sizeof(float));
    static const uint64_t cols[2] = {4096, 4095};
    int failed = 0;
    (void)state;
    for (int d = 0; d < 3; d++) {
        uint32_t dt = dtypes[d];
        for (int c = 0; c < 2; c++) {
            size_t n = N_BYTES / gq_dtype_size(dt) / cols[c] * cols[c];
            for (int k = 0; k < DD_REAL_COUNT; k++) {
                uint64_t ng, bad;
                dd_seed((uint64_t)(d * 100 + k + 7));
                dd_real_fill((enum dd_real)k, tmp, n);
                dd_convert(tmp, n, dt, buf);
                bad = count_foreign(buf, n * gq_dtype_size(dt), dt, cols[c], &ng);
                if ((double)bad / (double)ng >= 0.001 && k != DD_BINADE_ROWS) {
                    printf("dtype_false_reject.%s.%s.cols%llu=%.5f%%\n", dtype_name[dt], dd_real_name[k],
                           (unsigned long long)cols[c], 100.0 * (double)bad / (double)ng);
                    failed++;
                }
            }
        }
    }
    assert_int_equal(failed, 0);
    free(tmp);
    free(buf);
}

/* Foreign kinds that are plausible floats of the rule's dtype by their bits
 * alone (gq_dtype.h says why): printed, not asserted. Post-softmax data is
 * one-signed with no large values: the other 16-bit type's softmax reads as
 * a plausible one. */
static int undetectable(uint32_t rule, enum dd_foreign k)
{
    return (rule == GQ_F16 && k == DD_AS_BF16_SOFTMAX) || (rule == GQ_BF16 && k == DD_AS_F16_SOFTMAX);
}

static void every_foreign_kind_makes_the_tensor_foreign(void **state)
{
    uint8_t *buf = malloc(N_BYTES);
    float *tmp = malloc(N_BYTES / 2 * sizeof(float));
    int failed = 0;
    (void)state;
    for (int d = 0; d < 3; d++) {
        uint32_t dt = dtypes[d];
        for (int k = 0; k < DD_FOREIGN_COUNT; k++) {
            uint64_t ng, bad;
            size_t bytes = N_BYTES / 72 * 72; /* whole GGUF blocks of either kind */
            if (dd_foreign_dtype((enum dd_foreign)k) == dt)
                continue;
            dd_seed((uint64_t)(d * 100 + k + 50));
            dd_foreign_fill((enum dd_foreign)k, buf, bytes, tmp);
            bytes = bytes / 4 * 4;
            bad = count_foreign(buf, bytes, dt, 0, &ng);
            printf("dtype_detect.%s.%s=%.2f%%\n", dtype_name[dt], dd_foreign_name[k],
                   100.0 * (double)bad / (double)ng);
            if (!undetectable(dt, (enum dd_foreign)k))
                failed += bad <= gq_dtype_foreign_limit(ng);
        }
    }
    assert_int_equal(failed, 0);
    free(tmp);
    free(buf);
}

/* The other float dtypes' data, written into the rule's allocation as a
 * small tensor (one page): still foreign. */
static void a_small_foreign_tensor_is_foreign(void **state)
{
    uint8_t buf[4096];
    float tmp[2048];
    (void)state;
    dd_seed(3);
    dd_foreign_fill(DD_AS_BF16, buf, sizeof buf, tmp);
    uint64_t ng, bad = count_foreign(buf, sizeof buf, GQ_F16, 0, &ng);
    assert_true(bad > gq_dtype_foreign_limit(ng));
    dd_foreign_fill(DD_AS_F16, buf, sizeof buf, tmp);
    bad = count_foreign(buf, sizeof buf, GQ_BF16, 0, &ng);
    assert_true(bad > gq_dtype_foreign_limit(ng));
}

static void the_limit_is_a_32nd_of_the_groups(void **state)
{
    (void)state;
    assert_int_equal(gq_dtype_foreign_limit(1), 0);
    assert_int_equal(gq_dtype_foreign_limit(31), 0);
    assert_int_equal(gq_dtype_foreign_limit(64), 2);
}

/* The integer tests, against the value each word stands for: every
 * 15-bit magnitude, read as f16 and as bf16. */
static void the_integer_tests_know_integers(void **state)
{
    int failed = 0;
    (void)state;
    for (uint32_t a = 0; a < 0x8000u; a++) {
        float h = gq_f16_to_f32((uint16_t)a), b = gq_bf16_to_f32((uint16_t)a);
        int h_int = isfinite(h) && h != 0.0f && h == truncf(h);
        int b_int = isfinite(b) && b != 0.0f && b == truncf(b);
        if (gq_dtype_f16_int(a) != h_int && failed++ < 5)
            printf("f16 word 0x%04x (%g): integer test says %d\n", a, (double)h, gq_dtype_f16_int(a));
        if (gq_dtype_bf16_int(a) != b_int && failed++ < 5)
            printf("bf16 word 0x%04x (%g): integer test says %d\n", a, (double)b, gq_dtype_bf16_int(a));
    }
    assert_int_equal(failed, 0);
}

static int scans_equal(const struct gq_dtype_scan *x, const struct gq_dtype_scan *y)
{
    return x->a == y->a && x->b == y->b && x->c == y->c && x->top3 == y->top3 && x->emask == y->emask;
}

/* The chunk scan of the GPU's fast path (two 16-bit words at a time) counts
 * what eight word scans count: every 16-bit word, in each of the 8 places
 * of a chunk (both parities, each half of a 32-bit word), beside
 * neighbours that sit on the edges of every range test (and random ones),
 * for both 16-bit dtypes. A carry that crossed into the other half, or a
 * range test off by one, shows here. */
static void the_chunk_scan_counts_as_the_word_scan_does(void **state)
{
    static const uint16_t edge[] = {0x0000, 0x0001, 0x001f, 0x0020, 0x1fff, 0x2000, 0x3c00, 0x3bff,
                                    0x3800, 0x4400, 0x43ff, 0x5fff, 0x6000, 0x7bff, 0x7c00, 0x7fff,
                                    0x8000, 0x8001, 0x801f, 0x8020, 0xbc00, 0xc000, 0xffdf, 0xffe0,
                                    0xffff, 0x0080, 0x0d00, 0x3380, 0x3f80, 0x4780, 0x4f80, 0x5000};
    const int n_edge = (int)(sizeof edge / sizeof edge[0]);
    uint64_t rng = 0x9e3779b97f4a7c15ull, checked = 0;
    int failed = 0;
    (void)state;
    for (int d = 0; d < 2; d++) {
        uint32_t dt = d == 0 ? GQ_F16 : GQ_BF16;
        for (uint32_t w = 0; w < 0x10000u; w++) {
            for (int k = 0; k < n_edge + 8; k++) {
                uint16_t words[8], other;
                struct gq_dtype_scan one = {0, 0, 0, 0, 0}, chunk = {0, 0, 0, 0, 0};
                struct gq_u32x4 v;
                if (k < n_edge) {
                    other = edge[k];
                } else {
                    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                    other = (uint16_t)rng;
                }
                for (int j = 0; j < 8; j++) /* w in place k % 8, the rest its neighbours */
                    words[j] = j == k % 8 ? (uint16_t)w : (uint16_t)(other + (uint16_t)(j * (k >= n_edge)));
                for (int j = 0; j < 8; j++)
                    gq_dtype_scan_word16(&one, words[j], (uint32_t)j & 1u, dt);
                v.x = words[0] | (uint32_t)words[1] << 16;
                v.y = words[2] | (uint32_t)words[3] << 16;
                v.z = words[4] | (uint32_t)words[5] << 16;
                v.w = words[6] | (uint32_t)words[7] << 16;
                gq_dtype_scan_chunk16(&chunk, &v, dt);
                if (!scans_equal(&one, &chunk) && failed++ < 5)
                    printf("chunk scan differs: dtype %u, word 0x%04x in place %d beside 0x%04x\n", dt, w, k % 8,
                           other);
                checked++;
            }
        }
    }
    printf("dtype_chunk_scan_checked=%llu\n", (unsigned long long)checked);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_data_is_almost_never_foreign),
        cmocka_unit_test(real_data_in_columns_is_almost_never_foreign),
        cmocka_unit_test(every_foreign_kind_makes_the_tensor_foreign),
        cmocka_unit_test(a_small_foreign_tensor_is_foreign),
        cmocka_unit_test(the_limit_is_a_32nd_of_the_groups),
        cmocka_unit_test(the_integer_tests_know_integers),
        cmocka_unit_test(the_chunk_scan_counts_as_the_word_scan_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

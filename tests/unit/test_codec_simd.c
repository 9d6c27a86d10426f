/*
 * test_codec_simd.c — each SIMD path writes the scalar path's bytes and
 * decodes to the scalar path's values: every dtype x bit width x axis, group
 * sizes that are and are not multiples of the vector, groups of every kind
 * (gaussian at several scales, constant, subnormal, full fp16 range, +-0,
 * NaN and Inf escapes with any payload, ranges past FLT_MAX), escapes that
 * fit and escapes that overflow, partial groups, unaligned pointers, and
 * tensors of one block, several blocks and less than a group. A path this
 * CPU (or this build) lacks is reported by cmocka as skipped, not passed.
 */
#include "test_codec_util.h"

struct shape {
    uint64_t n;         /* elements */
    size_t src_off;     /* elements of deliberate misalignment */
    size_t dst_off;
    uint32_t cap;       /* escape capacity; ~0u: one slot per group */
    int specials;       /* draw the escaping kinds too */
};

/* Encodes with the scalar path and with `path`; the buffers must be equal
 * byte for byte, and so must full and partial decodes of them. */
static void compare(enum gq_path path, const struct gq_params *p, const struct shape *s)
{
    uint32_t es = gq_dtype_size(p->dtype);
    uint64_t n = s->n;
    struct gq_layout l = {0};
    uint32_t cap;
    size_t size, src_off = s->src_off * es, dst_off = s->dst_off * es;
    void *sb, *b1, *b2, *o1, *o2;
    uint8_t *src, *ref, *got, *dref, *dgot;
    int rc;
    assert_int_equal(gq_layout_init(&l, p, n, 0), GQ_OK);
    cap = s->cap == ~0u ? (uint32_t)l.n_groups : s->cap;
    size = gq_compressed_size(p, n, cap);
    src = tc_alloc(n * es, src_off, &sb);
    ref = tc_alloc(size, 0, &b1);
    got = tc_alloc(size, 0, &b2);
    dref = tc_alloc(n * es, dst_off, &o1);
    dgot = tc_alloc(n * es, dst_off, &o2);
    tc_fill_kinds(src, p, n, s->specials);
    rc = gq_encode_ex(GQ_PATH_SCALAR, p, src, n, cap, ref, size);
    assert_true(rc == GQ_OK || rc == GQ_ERR_OVERFLOW);
    assert_int_equal(gq_encode_ex(path, p, src, n, cap, got, size), rc);
    if (memcmp(ref, got, size) != 0) {
        size_t i = 0;
        while (ref[i] == got[i])
            i++;
        print_error("%s: bits %u G %u dtype %u axis %u cols %llu n %llu: first difference at byte %zu of %zu\n",
                    gq_path_name(path), p->bits, p->group, p->dtype, p->axis, (unsigned long long)p->cols,
                    (unsigned long long)n, i, size);
        fail();
    }
    if (rc == GQ_OK) {
        uint64_t e0 = tc_next() % n, e1 = e0 + tc_next() % (n - e0 + 1);
        assert_int_equal(gq_decode_range_ex(GQ_PATH_SCALAR, ref, size, 0, n, dref), GQ_OK);
        assert_int_equal(gq_decode_range_ex(path, ref, size, 0, n, dgot), GQ_OK);
        assert_memory_equal(dref, dgot, n * es);
        assert_int_equal(gq_decode_range_ex(path, ref, size, e0, e1, dgot), GQ_OK);
        assert_memory_equal(dref + e0 * es, dgot, (e1 - e0) * es);
    } else {
        assert_int_equal(gq_decode_range_ex(path, got, size, 0, n, dgot), GQ_ERR_OVERFLOW);
    }
    free(sb);
    free(b1);
    free(b2);
    free(o1);
    free(o2);
}

/* Every dtype, width, group size and axis through one path. */
static void compare_all(enum gq_path path)
{
    static const uint32_t groups[] = {8, 10, 16, 32, 48, 64, 80, 128, 1024};
    if (!gq_path_available(path)) {
        print_message("%s: not available on this CPU\n", gq_path_name(path));
        skip();
    }
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++)
        for (uint32_t b = 2; b <= 8; b *= 2)
            for (unsigned gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
                uint32_t G = groups[gi];
                struct gq_params p = {b, G, dt, GQ_DIM_LAST, 0};
                const struct shape last[] = {
                    {37 * G + 6, 0, 0, 4, 0},      /* two blocks of 16, a tail, a partial group */
                    {37 * G + 7, 1, 3, ~0u, 1},    /* unaligned, escapes that fit */
                    {16 * G, 5, 1, ~0u, 1},        /* exactly one block */
                    {48 * G + G / 2, 0, 0, 3, 1},  /* escapes that overflow */
                    {G - 2, 0, 0, 1, 1},           /* less than a group */
                };
                for (unsigned si = 0; si < sizeof last / sizeof last[0]; si++)
                    compare(path, &p, &last[si]);
                p.axis = GQ_DIM_0;
                p.cols = 19;
                compare(path, &p, &(struct shape){19 * (2 * G + 3), 1, 2, ~0u, 1});
                compare(path, &p, &(struct shape){19 * (2 * G + 3), 0, 0, 2, 1});
                p.cols = 70; /* more columns than one run of the GQ_DIM_0 scratch when G >= 128 */
                compare(path, &p, &(struct shape){70 * (2 * G + 1), 0, 1, ~0u, 1});
                p.cols = 1; /* one column: the groups of GQ_DIM_LAST */
                compare(path, &p, &(struct shape){33 * G + 1, 0, 0, ~0u, 1});
            }
}

static void test_avx512_writes_the_scalar_bytes(void **state)
{
    (void)state;
    compare_all(GQ_PATH_AVX512);
}

static void test_avx2_writes_the_scalar_bytes(void **state)
{
    (void)state;
    compare_all(GQ_PATH_AVX2);
}

/* Many escaped groups inside SIMD blocks: the slots are taken in group order
 * on every path, and an overflow is flagged the same way. */
static void escapes_in_blocks(enum gq_path path)
{
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    uint64_t n = 64 * 64;
    if (!gq_path_available(path))
        skip();
    for (uint32_t cap = 1; cap <= 40; cap += 13) {
        size_t size = gq_compressed_size(&p, n, cap);
        uint16_t *src = malloc(n * 2);
        uint8_t *a = aligned_alloc(64, (size + 63) / 64 * 64), *b = aligned_alloc(64, (size + 63) / 64 * 64);
        int rc;
        for (uint64_t i = 0; i < n; i++)
            src[i] = (i % 190 == 3) ? (uint16_t)tc_nan_bits(GQ_F16, i) : (i % 300 == 7) ? 0xfc00 : gq_f32_to_f16_rn((float)tc_gauss());
        rc = gq_encode_ex(GQ_PATH_SCALAR, &p, src, n, cap, a, size);
        assert_int_equal(rc, cap < 35 ? GQ_ERR_OVERFLOW : GQ_OK);
        assert_int_equal(gq_encode_ex(path, &p, src, n, cap, b, size), rc);
        assert_memory_equal(a, b, size);
        free(src);
        free(a);
        free(b);
    }
}

static void test_avx512_takes_escape_slots_in_group_order(void **state)
{
    (void)state;
    escapes_in_blocks(GQ_PATH_AVX512);
}

static void test_avx2_takes_escape_slots_in_group_order(void **state)
{
    (void)state;
    escapes_in_blocks(GQ_PATH_AVX2);
}

/* Outputs of 4 MiB and more take the streaming stores: the same values. */
static void large_decode(enum gq_path path)
{
    if (!gq_path_available(path))
        skip();
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++)
        for (uint32_t b = 2; b <= 8; b *= 2) {
            struct gq_params p = {b, dt == GQ_F32 ? 32 : 64, dt, GQ_DIM_LAST, 0};
            uint32_t es = gq_dtype_size(dt);
            uint64_t n = (5u << 20) / es + 64 * 3 + 17;
            size_t size;
            void *src = malloc(n * es), *buf;
            uint8_t *ref = aligned_alloc(64, (n * es + 63) / 64 * 64), *got = aligned_alloc(64, (n * es + 63) / 64 * 64);
            tc_fill_kinds(src, &p, n, 1);
            buf = tc_encode(&p, src, n, (uint32_t)(n / p.group + 1), &size);
            assert_int_equal(gq_decode_range_ex(GQ_PATH_SCALAR, buf, size, 0, n, ref), GQ_OK);
            assert_int_equal(gq_decode_range_ex(path, buf, size, 0, n, got), GQ_OK);
            assert_memory_equal(ref, got, n * es);
            free(src);
            free(buf);
            free(ref);
            free(got);
        }
}

static void test_avx512_large_decode_gives_the_scalar_values(void **state)
{
    (void)state;
    large_decode(GQ_PATH_AVX512);
}

static void test_avx2_large_decode_gives_the_scalar_values(void **state)
{
    (void)state;
    large_decode(GQ_PATH_AVX2);
}

static void test_auto_path_is_the_best_available(void **state)
{
    (void)state;
    if (gq_path_available(GQ_PATH_AVX512))
        assert_string_equal(gq_path_name(GQ_PATH_AUTO), "avx512");
    else if (gq_path_available(GQ_PATH_AVX2))
        assert_string_equal(gq_path_name(GQ_PATH_AUTO), "avx2");
    else
        assert_string_equal(gq_path_name(GQ_PATH_AUTO), "scalar");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_avx512_writes_the_scalar_bytes),
        cmocka_unit_test(test_avx2_writes_the_scalar_bytes),
        cmocka_unit_test(test_avx512_takes_escape_slots_in_group_order),
        cmocka_unit_test(test_avx2_takes_escape_slots_in_group_order),
        cmocka_unit_test(test_avx512_large_decode_gives_the_scalar_values),
        cmocka_unit_test(test_avx2_large_decode_gives_the_scalar_values),
        cmocka_unit_test(test_auto_path_is_the_best_available),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

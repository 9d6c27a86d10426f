/*
 * test_codec_simd.c — every SIMD path this CPU runs writes the same bytes as
 * the scalar path, for every dtype, bit width, group size and axis, lengths
 * that are not multiples of the group or the vector, unaligned pointers, and
 * data with escapes; and decodes to the same values.
 */
#include "test_codec_util.h"

static const enum gq_path simd_paths[] = {GQ_PATH_AVX2, GQ_PATH_AVX512};

/* Data with a bit of everything: gaussian groups at several scales, a
 * constant group, subnormals, a NaN and an Inf. */
static void fill(void *src, uint64_t n, uint32_t dtype, int specials)
{
    for (uint64_t i = 0; i < n; i++) {
        double scale = pow(10.0, (double)((i / 64) % 7) - 3.0);
        tc_put(src, i, dtype, tc_gauss() * scale);
    }
    if (n > 300) {
        for (uint64_t i = 128; i < 192; i++)
            tc_put(src, i, dtype, 0.25);
        for (uint64_t i = 192; i < 256; i++)
            tc_put(src, i, dtype, (double)(int)(tc_next() % 9) * (dtype == GQ_F16 ? 0x1p-24 : 0x1p-130));
    }
    if (specials && n > 300) {
        tc_put(src, 17, dtype, NAN);
        tc_put(src, n - 5, dtype, -INFINITY);
    }
}

static void compare(enum gq_path path, const struct gq_params *p, uint64_t n, size_t src_off, size_t dst_off,
                    int specials)
{
    uint32_t es = gq_dtype_size(p->dtype), cap = 3;
    size_t size = gq_compressed_size(p, n, cap);
    void *sb, *b1, *b2, *o1, *o2;
    uint8_t *src;
    src_off *= es; /* offsets are in elements: tensors are element-aligned */
    dst_off *= es;
    src = tc_alloc(n * es, src_off, &sb);
    uint8_t *ref = tc_alloc(size, 0, &b1), *got = tc_alloc(size, 0, &b2);
    uint8_t *dref = tc_alloc(n * es, dst_off, &o1), *dgot = tc_alloc(n * es, dst_off, &o2);
    int rc;
    fill(src, n, p->dtype, specials);
    rc = gq_encode_ex(GQ_PATH_SCALAR, p, src, n, cap, ref, size);
    assert_int_equal(gq_encode_ex(path, p, src, n, cap, got, size), rc);
    if (memcmp(ref, got, size) != 0) {
        size_t i = 0;
        while (ref[i] == got[i])
            i++;
        print_error("%s: bits %u G %u dtype %u axis %u n %llu: first difference at byte %zu\n",
                    gq_path_name(path), p->bits, p->group, p->dtype, p->axis, (unsigned long long)n, i);
        fail();
    }
    if (rc == GQ_OK) {
        uint64_t e0 = tc_next() % n;
        assert_int_equal(gq_decode_range_ex(GQ_PATH_SCALAR, ref, size, 0, n, dref), GQ_OK);
        assert_int_equal(gq_decode_range_ex(path, ref, size, 0, n, dgot), GQ_OK);
        assert_memory_equal(dref, dgot, n * es);
        assert_int_equal(gq_decode_range_ex(path, ref, size, e0, n, dgot), GQ_OK);
        assert_memory_equal(dref + e0 * es, dgot, (n - e0) * es);
    }
    free(sb);
    free(b1);
    free(b2);
    free(o1);
    free(o2);
}

static void test_simd_paths_write_the_scalar_bytes(void **state)
{
    static const uint32_t groups[] = {8, 16, 32, 48, 64, 128, 1024, 10};
    int ran = 0;
    (void)state;
    for (unsigned pi = 0; pi < 2; pi++) {
        enum gq_path path = simd_paths[pi];
        if (!gq_path_available(path)) {
            print_message("%s not available on this CPU: skipped\n", pi ? "avx512" : "avx2");
            continue;
        }
        ran++;
        for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++)
            for (uint32_t b = 2; b <= 8; b *= 2)
                for (unsigned gi = 0; gi < 8; gi++) {
                    uint32_t G = groups[gi];
                    struct gq_params p = {b, G, dt, GQ_DIM_LAST, 0};
                    uint64_t n = 37 * G + 6;
                    compare(path, &p, n, 0, 0, 0);
                    compare(path, &p, n + 1, 1, 3, 1);  /* unaligned, with escapes */
                    compare(path, &p, 5 * G, 5, 1, 1); /* no partial group */
                    compare(path, &p, G - 2, 0, 0, 0);  /* shorter than a group */
                    p.axis = GQ_DIM_0;
                    p.cols = 19;
                    compare(path, &p, 19 * (G + 3), 1, 2, 1);
                }
    }
    print_message("%d SIMD path(s) compared\n", ran);
}

static void test_escape_overflow_is_the_same_on_every_path(void **state)
{
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    (void)state;
    for (unsigned pi = 0; pi < 2; pi++)
        if (gq_path_available(simd_paths[pi])) {
            uint64_t n = 64 * 64;
            size_t size = gq_compressed_size(&p, n, 1);
            uint16_t *src = malloc(n * 2);
            uint8_t *a = aligned_alloc(64, (size + 63) / 64 * 64), *b = aligned_alloc(64, (size + 63) / 64 * 64);
            for (uint64_t i = 0; i < n; i++)
                src[i] = (i % 700 == 3) ? 0x7c00 : gq_f32_to_f16_rn((float)tc_gauss());
            assert_int_equal(gq_encode_ex(GQ_PATH_SCALAR, &p, src, n, 1, a, size), GQ_ERR_OVERFLOW);
            assert_int_equal(gq_encode_ex(simd_paths[pi], &p, src, n, 1, b, size), GQ_ERR_OVERFLOW);
            assert_memory_equal(a, b, size);
            free(src);
            free(a);
            free(b);
        }
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
        cmocka_unit_test(test_simd_paths_write_the_scalar_bytes),
        cmocka_unit_test(test_escape_overflow_is_the_same_on_every_path),
        cmocka_unit_test(test_auto_path_is_the_best_available),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

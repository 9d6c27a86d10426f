/*
 * test_codec.c — the format's promises, through the CPU codec's public API:
 * sizes, parameter checks, the error bound of gq_format.h on hard data,
 * exact escapes, overflow reporting, range decode, grouping and NMSE.
 */
#include "test_codec_util.h"

static const uint32_t dtypes[] = {GQ_F16, GQ_BF16, GQ_F32};
static const uint32_t widths[] = {2, 4, 8};

/* Encode, decode, check the bound; n elements of `src`. */
static void roundtrip_bound(const struct gq_params *p, const void *src, uint64_t n)
{
    size_t size;
    uint32_t es = gq_dtype_size(p->dtype);
    void *buf = tc_encode(p, src, n, gq_default_escape_capacity(p, n), &size);
    void *out = malloc(n * es + 1);
    assert_int_equal(gq_decode(buf, size, out, n * es), GQ_OK);
    assert_int_equal(tc_check_bound(src, out, buf, size), 0);
    free(out);
    free(buf);
}

static void test_size_of_default_f16_4bit_is_36_bytes_per_group(void **state)
{
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    (void)state;
    assert_int_equal(gq_compressed_size(&p, 64 * 1024, 0), 64 + 1024 * 4 + 1024 * 32);
    /* 8 escape slots of 64 fp16 */
    assert_int_equal(gq_compressed_size(&p, 64 * 1024, 8), 64 + 1024 * 36 + 8 * 128);
    /* partial group still takes a whole group's place */
    assert_int_equal(gq_compressed_size(&p, 65, 0), 64 + 2 * 4 + (16 - 8) + 2 * 32);
}

static void test_invalid_parameters_are_rejected(void **state)
{
    struct gq_params ok = {4, 64, GQ_F16, GQ_DIM_LAST, 0}, p;
    (void)state;
    assert_int_equal(gq_params_check(&ok, 100), GQ_OK);
    p = ok; p.bits = 3;
    assert_int_equal(gq_params_check(&p, 100), GQ_ERR_PARAM);
    p = ok; p.group = 6;
    assert_int_equal(gq_params_check(&p, 100), GQ_ERR_PARAM);
    p = ok; p.group = 65;
    assert_int_equal(gq_params_check(&p, 100), GQ_ERR_PARAM);
    p = ok; p.group = 1026;
    assert_int_equal(gq_params_check(&p, 100), GQ_ERR_PARAM);
    p = ok; p.dtype = 7;
    assert_int_equal(gq_params_check(&p, 100), GQ_ERR_PARAM);
    p = ok; p.axis = GQ_DIM_0; p.cols = 7;
    assert_int_equal(gq_params_check(&p, 100), GQ_ERR_PARAM);
    p.cols = 10;
    assert_int_equal(gq_params_check(&p, 100), GQ_OK);
    assert_int_equal(gq_compressed_size(&(struct gq_params){5, 64, GQ_F16, 0, 0}, 10, 0), 0);
}

static void test_bound_holds_on_gaussian_data_across_six_decades(void **state)
{
    uint64_t n = 64 * 35 + 22; /* 2262 = 58 x 39 for dim=0 */
    float *src = malloc(n * 4);
    (void)state;
    for (unsigned d = 0; d < 3; d++)
        for (unsigned w = 0; w < 3; w++)
            for (int dec = -3; dec <= 3; dec++) {
                struct gq_params p = {widths[w], 64, dtypes[d], GQ_DIM_LAST, 0};
                double scale = pow(10.0, dec);
                for (uint64_t i = 0; i < n; i++)
                    tc_put(src, i, dtypes[d], tc_gauss() * scale);
                roundtrip_bound(&p, src, n);
                p.axis = GQ_DIM_0;
                p.cols = 39;
                roundtrip_bound(&p, src, n);
            }
    free(src);
}

static void test_full_range_f16_groups_decode_finite_within_bound(void **state)
{
    uint64_t n = 64 * 8;
    uint16_t *src = malloc(n * 2), *out = malloc(n * 2);
    size_t size;
    (void)state;
    for (unsigned w = 0; w < 3; w++) {
        struct gq_params p = {widths[w], 64, GQ_F16, GQ_DIM_LAST, 0};
        void *buf;
        for (uint64_t i = 0; i < n; i++)
            src[i] = gq_f32_to_f16_rn((float)((tc_uniform() * 2 - 1) * 65504.0));
        for (uint64_t g = 0; g < n / 64; g++) {
            src[g * 64 + (g % 64)] = 0x7bff;           /* +65504 */
            src[g * 64 + ((g + 7) % 64)] = 0xfbff;     /* -65504 */
        }
        buf = tc_encode(&p, src, n, 0, &size);
        assert_int_equal(gq_decode(buf, size, out, n * 2), GQ_OK);
        for (uint64_t i = 0; i < n; i++)
            assert_true((out[i] & 0x7c00) != 0x7c00); /* never Inf */
        assert_int_equal(tc_check_bound(src, out, buf, size), 0);
        free(buf);
    }
    free(src);
    free(out);
}

static void test_subnormal_groups_stay_within_bound(void **state)
{
    uint64_t n = 64 * 16 + 10;
    float *src = malloc(n * 4);
    (void)state;
    for (unsigned d = 0; d < 3; d++)
        for (unsigned w = 0; w < 3; w++) {
            struct gq_params p = {widths[w], 64, dtypes[d], GQ_DIM_LAST, 0};
            /* a few units of each dtype's smallest subnormal, and a mix with normals */
            double tiny = dtypes[d] == GQ_F16 ? 0x1p-24 : 0x1p-149;
            if (dtypes[d] == GQ_BF16)
                tiny = 0x1p-133;
            for (uint64_t i = 0; i < n; i++) {
                double v = (double)(int)(tc_next() % 41) - 20.0;
                if (i >= 64 * 8)
                    v *= 1000.0 * tc_uniform();
                tc_put(src, i, dtypes[d], v * tiny);
            }
            roundtrip_bound(&p, src, n);
        }
    free(src);
}

static void test_constant_groups_decode_exactly(void **state)
{
    uint64_t n = 64 * 5;
    float *src = malloc(n * 4), *out = malloc(n * 4);
    const double vals[5] = {0.0, -0.0, 1.5, -3.0e-6, 60000.0};
    size_t size;
    (void)state;
    for (unsigned d = 0; d < 3; d++) {
        struct gq_params p = {4, 64, dtypes[d], GQ_DIM_LAST, 0};
        void *buf;
        for (uint64_t i = 0; i < n; i++)
            tc_put(src, i, dtypes[d], vals[i / 64]);
        buf = tc_encode(&p, src, n, 0, &size);
        assert_int_equal(gq_decode(buf, size, out, n * 4), GQ_OK);
        for (uint64_t i = 128; i < n; i++) /* groups 0, 1: +0 and -0 both decode to +0 */
            assert_int_equal(gq_elem_raw(out, i, dtypes[d]), gq_elem_raw(src, i, dtypes[d]));
        for (uint64_t i = 0; i < 128; i++)
            assert_int_equal(gq_elem_raw(out, i, dtypes[d]), 0);
        free(buf);
    }
    free(src);
    free(out);
}

static void test_bf16_beyond_f16_range_and_f32_extremes_within_bound(void **state)
{
    uint64_t n = 64 * 12;
    float *src = malloc(n * 4);
    (void)state;
    for (unsigned w = 0; w < 3; w++) {
        struct gq_params p = {widths[w], 64, GQ_BF16, GQ_DIM_LAST, 0};
        for (uint64_t i = 0; i < n; i++)
            tc_put(src, i, GQ_BF16, tc_gauss() * 1e30);
        roundtrip_bound(&p, src, n);
        p.dtype = GQ_F32;
        for (uint64_t i = 0; i < n; i++)
            tc_put(src, i, GQ_F32, (tc_uniform() * 2 - 1) * 1.7e38);
        roundtrip_bound(&p, src, n);
    }
    free(src);
}

static void test_nan_payloads_and_infinities_come_back_bit_for_bit(void **state)
{
    uint64_t n = 64 * 10 + 6;
    uint32_t *src = malloc(n * 4), *out = malloc(n * 4);
    size_t size;
    (void)state;
    for (unsigned d = 0; d < 3; d++)
        for (unsigned w = 0; w < 3; w++) {
            struct gq_params p = {widths[w], 64, dtypes[d], GQ_DIM_LAST, 0};
            struct gq_info info;
            void *buf;
            for (uint64_t i = 0; i < n; i++)
                tc_put(src, i, dtypes[d], tc_gauss());
            if (dtypes[d] == GQ_F32) {
                src[3] = 0x7fa12345u;   /* signalling NaN with payload */
                src[200] = 0xff800000u; /* -Inf */
                src[n - 1] = 0x7f800000u;
            } else {
                ((uint16_t *)src)[3] = dtypes[d] == GQ_F16 ? 0x7d23 : 0x7f91;
                ((uint16_t *)src)[200] = dtypes[d] == GQ_F16 ? 0xfc00 : 0xff80;
                ((uint16_t *)src)[n - 1] = dtypes[d] == GQ_F16 ? 0xfe01 : 0xffc1;
            }
            buf = tc_encode(&p, src, n, 4, &size);
            assert_int_equal(gq_info_read(buf, size, &info), GQ_OK);
            assert_int_equal(info.escape_count, 3);
            assert_int_equal(gq_decode(buf, size, out, n * 4), GQ_OK);
            assert_int_equal(tc_check_bound(src, out, buf, size), 0);
            assert_int_equal(gq_elem_raw(out, 3, dtypes[d]), gq_elem_raw(src, 3, dtypes[d]));
            assert_int_equal(gq_elem_raw(out, n - 1, dtypes[d]), gq_elem_raw(src, n - 1, dtypes[d]));
            free(buf);
        }
    free(src);
    free(out);
}

static void test_escape_overflow_is_reported_never_decoded(void **state)
{
    uint64_t n = 64 * 6;
    uint16_t *src = malloc(n * 2), *out = malloc(n * 2);
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    size_t size = gq_compressed_size(&p, n, 2);
    void *buf = aligned_alloc(64, (size + 63) / 64 * 64);
    struct gq_info info;
    (void)state;
    for (uint64_t i = 0; i < n; i++)
        src[i] = gq_f32_to_f16_rn((float)tc_gauss());
    src[10] = src[70] = src[300] = 0x7e00; /* three groups escape, two slots */
    assert_int_equal(gq_encode(&p, src, n, 2, buf, size), GQ_ERR_OVERFLOW);
    assert_int_equal(gq_info_read(buf, size, &info), GQ_OK);
    assert_true(info.overflow);
    assert_int_equal(info.escape_count, 3);
    memset(out, 0, n * 2);
    assert_int_equal(gq_decode(buf, size, out, n * 2), GQ_ERR_OVERFLOW);
    assert_int_equal(gq_decode_range(buf, size, 128, 192, out), GQ_ERR_OVERFLOW);
    for (uint64_t i = 0; i < n; i++)
        assert_int_equal(out[i], 0);
    free(buf);
    free(src);
    free(out);
}

static void test_range_decode_equals_slice_of_full_decode(void **state)
{
    uint64_t n = 60 * 37; /* dim=0: 60 x 37, 60 rows = 3.75 groups of 16 */
    float *src = malloc(n * 4), *full = malloc(n * 4), *part = malloc(n * 4 + 4);
    size_t size;
    (void)state;
    for (unsigned d = 0; d < 3; d++)
        for (unsigned axis = 0; axis < 2; axis++) {
            struct gq_params p = {4, 16, dtypes[d], axis, axis ? 37 : 0};
            uint32_t es = gq_dtype_size(dtypes[d]);
            void *buf;
            for (uint64_t i = 0; i < n; i++)
                tc_put(src, i, dtypes[d], tc_gauss());
            tc_put(src, 77, dtypes[d], INFINITY);
            buf = tc_encode(&p, src, n, 8, &size);
            assert_int_equal(gq_decode(buf, size, full, n * 4), GQ_OK);
            for (int t = 0; t < 200; t++) {
                uint64_t a = tc_next() % (n + 1), b = tc_next() % (n + 1);
                if (a > b) {
                    uint64_t x = a; a = b; b = x;
                }
                memset(part, 0x5a, n * 4);
                assert_int_equal(gq_decode_range(buf, size, a, b, part), GQ_OK);
                assert_memory_equal(part, (uint8_t *)full + a * es, (b - a) * es);
                assert_int_equal(((uint8_t *)part)[(b - a) * es], 0x5a); /* nothing past the end */
            }
            assert_int_equal(gq_decode_range(buf, size, 5, n + 1, part), GQ_ERR_RANGE);
            /* groups: dim=last any range; dim=0 whole row-blocks */
            if (axis == GQ_DIM_LAST) {
                assert_int_equal(gq_decode_groups(buf, size, 3, 9, part), GQ_OK);
                assert_memory_equal(part, (uint8_t *)full + 3 * 16 * es, 6 * 16 * es);
            } else {
                assert_int_equal(gq_decode_groups(buf, size, 37, 4 * 37, part), GQ_OK);
                assert_memory_equal(part, (uint8_t *)full + 16 * 37 * es, (60 - 16) * 37 * es);
                assert_int_equal(gq_decode_groups(buf, size, 3, 37, part), GQ_ERR_RANGE);
            }
            free(buf);
        }
    free(src);
    free(full);
    free(part);
}

/* Reads group g's stored min as fp32. */
static double stored_min(const void *buf, uint32_t dtype, uint64_t g)
{
    const uint8_t *meta = (const uint8_t *)buf + GQ_HEADER_SIZE;
    if (dtype == GQ_F32)
        return gq_bits_f32(((const uint32_t *)meta)[2 * g + 1]);
    return gq_raw_to_f32(((const uint16_t *)meta)[2 * g + 1], dtype);
}

static void test_partial_groups_and_dim0_take_min_over_real_elements_only(void **state)
{
    uint64_t R = 21, C = 5, n = R * C; /* G = 8: row-blocks of 8, 8, 5 rows */
    float *src = malloc(n * 4);
    size_t size;
    (void)state;
    for (uint64_t i = 0; i < n; i++)
        src[i] = (float)(i + 1); /* all positive: a zero pad would show as min 0 */
    {
        struct gq_params p = {4, 8, GQ_F32, GQ_DIM_0, C};
        void *buf = tc_encode(&p, src, n, 0, &size);
        for (uint64_t rb = 0; rb < 3; rb++)
            for (uint64_t c = 0; c < C; c++)
                assert_true(stored_min(buf, GQ_F32, rb * C + c) == (double)(rb * 8 * C + c + 1));
        free(buf);
    }
    {
        struct gq_params p = {4, 8, GQ_F32, GQ_DIM_LAST, 0};
        void *buf = tc_encode(&p, src + 3, 13, 0, &size); /* groups of 8 and 5 */
        assert_true(stored_min(buf, GQ_F32, 1) == 12.0);
        free(buf);
    }
    free(src);
}

static void test_codes_pack_element_2j_in_the_low_nibble(void **state)
{
    float src[16];
    struct gq_params p = {4, 16, GQ_F32, GQ_DIM_LAST, 0};
    size_t size;
    uint8_t *buf;
    (void)state;
    for (int i = 0; i < 16; i++)
        src[i] = (float)(i ^ 1); /* codes 1,0,3,2,... */
    buf = tc_encode(&p, src, 16, 0, &size);
    for (int j = 0; j < 8; j++)
        assert_int_equal(buf[80 + j], (uint8_t)(((2 * j) ^ 1) | (((2 * j + 1) ^ 1) << 4)));
    free(buf);
}

/*
 * NMSE of unit Gaussian data, 4 bits, G = 64, f16. Expected value for
 * uniform quantization over each group's range: inside a group the error is
 * uniform on [-step/2, step/2], variance step^2/12 with step = range/15,
 * except for the group's min and max, which are reproduced (exactly, resp.
 * to within fp16 rounding), so
 *   expected = sum_g (len_g - 2) * (range_g / 15)^2 / 12  /  sum_i x_i^2
 * computed from the same data (for N(0,1) and G = 64 it is about 0.0084:
 * E[range^2] ~ 23.3 from order statistics). The codec must land within 5%.
 */
static void test_nmse_of_unit_gaussian_4bit_g64_matches_uniform_quantization(void **state)
{
    uint64_t ng = 4096, n = 64 * ng;
    uint16_t *src = malloc(n * 2), *out = malloc(n * 2);
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    double err = 0, energy = 0, expect = 0, nmse;
    size_t size;
    void *buf;
    (void)state;
    for (uint64_t i = 0; i < n; i++)
        src[i] = gq_f32_to_f16_rn((float)tc_gauss());
    buf = tc_encode(&p, src, n, 0, &size);
    assert_int_equal(gq_decode(buf, size, out, n * 2), GQ_OK);
    for (uint64_t g = 0; g < ng; g++) {
        double mn = INFINITY, mx = -INFINITY;
        for (uint64_t i = g * 64; i < g * 64 + 64; i++) {
            double x = gq_f16_to_f32(src[i]), y = gq_f16_to_f32(out[i]);
            mn = fmin(mn, x);
            mx = fmax(mx, x);
            err += (y - x) * (y - x);
            energy += x * x;
        }
        expect += 62.0 * ((mx - mn) / 15.0) * ((mx - mn) / 15.0) / 12.0;
    }
    nmse = err / energy;
    expect /= energy;
    print_message("NMSE %.6f, expected %.6f (ratio %.4f)\n", nmse, expect, nmse / expect);
    assert_true(expect > 0.0075 && expect < 0.0095);
    assert_true(fabs(nmse / expect - 1.0) <= 0.05);
    free(buf);
    free(src);
    free(out);
}

static void test_corrupt_or_short_buffers_are_rejected(void **state)
{
    uint64_t n = 256;
    uint16_t *src = calloc(n, 2), *out = malloc(n * 2);
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    size_t size;
    uint8_t *buf;
    (void)state;
    buf = tc_encode(&p, src, n, 1, &size);
    assert_int_equal(gq_decode(buf, size - 1, out, n * 2), GQ_ERR_SIZE);
    assert_int_equal(gq_decode(buf, size, out, n * 2 - 2), GQ_ERR_SIZE);
    buf[0] ^= 1;
    assert_int_equal(gq_decode(buf, size, out, n * 2), GQ_ERR_CORRUPT);
    buf[0] ^= 1;
    buf[5] = 3; /* bits */
    assert_int_equal(gq_decode(buf, size, out, n * 2), GQ_ERR_CORRUPT);
    buf[5] = 4;
    /* an escape marker pointing past the capacity */
    ((uint32_t *)(buf + GQ_HEADER_SIZE))[1] = 0x0005ffffu;
    assert_int_equal(gq_decode(buf, size, out, n * 2), GQ_ERR_CORRUPT);
    free(buf);
    free(src);
    free(out);
}

/* A GQ_DIM_0 range decode writes, for every element, gq_group_elem() of
 * gq_group.h (the definition of a decoded value), and nothing outside the
 * range: column counts below, at and above the decoder's column run. */
static void test_dim0_range_decode_is_the_per_element_definition(void **state)
{
    static const uint64_t cols[] = {1, 5, 64, 100, 130};
    (void)state;
    for (unsigned ci = 0; ci < 6; ci++)
        for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++) {
            /* the last: more columns than one run of the bulk paths' scratch */
            uint32_t G = ci < 5 ? 16 : 256;
            struct gq_params p = {4, G, dt, GQ_DIM_0, ci < 5 ? cols[ci] : 70};
            uint32_t es = gq_dtype_size(dt);
            uint64_t n = p.cols * (2 * G + 13); /* 2 full row-blocks and a partial one */
            struct gq_info info;
            struct gq_dec_ctx c;
            size_t size;
            void *src = malloc(n * es), *buf;
            uint8_t *out = malloc(n * es + 1);
            tc_fill_kinds(src, &p, n, 1);
            buf = tc_encode(&p, src, n, (uint32_t)(n / G + 3), &size);
            assert_int_equal(gq_info_read(buf, size, &info), GQ_OK);
            c.l = info.layout;
            c.bits = 4;
            c.group = G;
            c.dtype = dt;
            c.meta = (const uint8_t *)buf + c.l.meta_off;
            c.codes = (const uint8_t *)buf + c.l.code_off;
            c.esc = (const uint8_t *)buf + c.l.esc_off;
            c.g_base = 0;
            for (int r = 0; r < 8; r++) {
                uint64_t e0 = r == 0 ? 0 : tc_next() % n, e1 = r == 0 ? n : e0 + 1 + tc_next() % (n - e0);
                memset(out, 0x5a, n * es + 1);
                assert_int_equal(gq_decode_range(buf, size, e0, e1, out), GQ_OK);
                for (uint64_t e = e0; e < e1; e++) {
                    uint32_t i;
                    struct gq_gdec d;
                    gq_group_resolve(&c, gq_elem_group(&c.l, G, e, &i), &d);
                    assert_int_equal(gq_elem_raw(out, e - e0, dt), gq_group_elem(&c, &d, i));
                }
                assert_int_equal(out[(e1 - e0) * es], 0x5a);
            }
            free(src);
            free(buf);
            free(out);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_of_default_f16_4bit_is_36_bytes_per_group),
        cmocka_unit_test(test_invalid_parameters_are_rejected),
        cmocka_unit_test(test_bound_holds_on_gaussian_data_across_six_decades),
        cmocka_unit_test(test_full_range_f16_groups_decode_finite_within_bound),
        cmocka_unit_test(test_subnormal_groups_stay_within_bound),
        cmocka_unit_test(test_constant_groups_decode_exactly),
        cmocka_unit_test(test_bf16_beyond_f16_range_and_f32_extremes_within_bound),
        cmocka_unit_test(test_nan_payloads_and_infinities_come_back_bit_for_bit),
        cmocka_unit_test(test_escape_overflow_is_reported_never_decoded),
        cmocka_unit_test(test_range_decode_equals_slice_of_full_decode),
        cmocka_unit_test(test_partial_groups_and_dim0_take_min_over_real_elements_only),
        cmocka_unit_test(test_codes_pack_element_2j_in_the_low_nibble),
        cmocka_unit_test(test_nmse_of_unit_gaussian_4bit_g64_matches_uniform_quantization),
        cmocka_unit_test(test_corrupt_or_short_buffers_are_rejected),
        cmocka_unit_test(test_dim0_range_decode_is_the_per_element_definition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

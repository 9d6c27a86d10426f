/*
 * test_verify_emu.c — the gq_verify kernel (GQSHIM_VERIFY=1), compiled as C
 * (GQ_EMU) and run over a whole grid, against a CPU reference: the CPU codec
 * decodes the same buffer and the error is summed in double here.
 */
#include "test_codec_util.h"
#include "gq_emu.h"
#include "gq_kernels.h"

/* Runs a 1-D grid under the SIMT executor (warps, collectives, seeded warp
 * order), host pointers standing for device memory. */
static void run_grid(const struct gq_emu_kernel *k, const void *params, unsigned grid, unsigned block)
{
    struct gq_emu_launch l = {.k = k, .params = params, .grid = {grid, 1, 1}, .block = {block, 1, 1}};
    char msg[256];
    if (gq_emu_run(&l, msg, sizeof msg) != GQ_EMU_OK)
        fail_msg("%s", msg);
}

struct ref {
    double sse, ss, max_abs;
    uint64_t n;
};

/* The reference: decode on the CPU, compare element by element in double,
 * skipping elements that are not finite in the source. */
static struct ref reference(const struct gq_params *p, const void *src, uint64_t n, const void *buf,
                            size_t size)
{
    uint32_t es = gq_dtype_size(p->dtype);
    void *out = malloc(n * es);
    struct ref r = {0};
    assert_int_equal(gq_decode(buf, size, out, n * es), GQ_OK);
    for (uint64_t i = 0; i < n; i++) {
        if (gq_raw_nonfinite(gq_elem_raw(src, i, p->dtype), p->dtype))
            continue;
        double x = tc_get(src, i, p->dtype), e = tc_get(out, i, p->dtype) - x;
        r.sse += e * e;
        r.ss += x * x;
        if (fabs(e) > r.max_abs)
            r.max_abs = fabs(e);
        r.n++;
    }
    free(out);
    return r;
}

static void run_verify(const struct gq_params *p, const void *src, uint64_t n, const void *buf,
                       uint32_t cap, unsigned grid, struct gq_verify_result *res)
{
    const struct gq_emu_kernel *kv = gq_emu_kernel_find("gq_verify");
    struct gq_verify_params vp;
    assert_non_null(kv);
    assert_int_equal(gq_verify_params_init(&vp, p, n, cap, src, buf, res), GQ_OK);
    if (grid == 0)
        grid = gq_launch_grid(gq_verify_items(&vp));
    run_grid(kv, &vp, grid, 64);
}

static void check_config(const struct gq_params *p, uint64_t n, int with_nan, unsigned grid)
{
    uint32_t es = gq_dtype_size(p->dtype), cap = 4;
    uint8_t *src = malloc(n * es);
    size_t size;
    for (uint64_t i = 0; i < n; i++)
        tc_put(src, i, p->dtype, tc_gauss() * 3.0);
    if (with_nan)
        tc_put(src, n / 2, p->dtype, NAN);
    void *buf = tc_encode(p, src, n, cap, &size);
    struct ref r = reference(p, src, n, buf, size);
    struct gq_verify_result res;
    memset(&res, 0, sizeof res);
    run_verify(p, src, n, buf, cap, grid, &res);

    assert_int_equal(res.overflow, 0);
    assert_int_equal(res.n_counted, r.n);
    assert_int_equal(res.n_counted, n - (with_nan ? 1 : 0));
    /* the largest error is one exact difference, rounded to float once */
    assert_true(gq_bits_f32(res.max_abs_bits) == (float)r.max_abs);
    assert_true(r.max_abs > 0);
    /* sums differ only in the order of additions */
    assert_true(fabs(res.sum_sq_err - r.sse) <= 1e-9 * r.sse);
    assert_true(fabs(res.sum_sq - r.ss) <= 1e-9 * r.ss);
    free(src);
    free(buf);
}

static void test_verify_kernel_is_in_the_emulated_table(void **state)
{
    const struct gq_emu_kernel *k = gq_emu_kernel_find("gq_verify");
    (void)state;
    assert_non_null(k);
    assert_int_equal(k->params_size, sizeof(struct gq_verify_params));
    assert_int_equal(k->params_magic, GQ_VERIFY_MAGIC);
    assert_int_equal(k->n_ptrs, 3);
}

static void test_verify_matches_cpu_reference_dim_last(void **state)
{
    (void)state;
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++)
        for (uint32_t b = 2; b <= 8; b *= 2) {
            struct gq_params p = {b, 64, dt, GQ_DIM_LAST, 0};
            check_config(&p, 64 * 37 + 10, 0, 0); /* a partial last group */
            check_config(&p, 64 * 20, 1, 2);      /* a small grid loops; a NaN group */
        }
}

static void test_verify_matches_cpu_reference_dim0(void **state)
{
    (void)state;
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++) {
        struct gq_params p = {4, 16, dt, GQ_DIM_0, 33};
        check_config(&p, 37 * 33, 0, 0);
        check_config(&p, 32 * 33, 1, 1);
    }
}

/* The tiles' vector paths: dim=0 rows of 16-byte vectors over several
 * column tiles and a partial row block; dim=last groups of more chunks than
 * a lane keeps. */
static void test_verify_matches_cpu_reference_vector_tiles(void **state)
{
    (void)state;
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++) {
        struct gq_params dim0 = {4, 64, dt, GQ_DIM_0, 264}, last = {4, 1024, dt, GQ_DIM_LAST, 0};
        check_config(&dim0, 264 * 150, 0, 0);
        check_config(&dim0, 264 * 64, 1, 3);
        check_config(&last, 1024 * 9 + 300, 1, 0);
    }
}

static void test_verify_of_an_exact_buffer_reports_zero_error(void **state)
{
    /* Constant groups decode exactly: every error is 0, every element counted. */
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    uint16_t src[256];
    size_t size;
    (void)state;
    for (int i = 0; i < 256; i++)
        tc_put(src, (size_t)i, GQ_F16, 1.5 + (i / 64));
    void *buf = tc_encode(&p, src, 256, 0, &size);
    struct gq_verify_result res;
    memset(&res, 0, sizeof res);
    run_verify(&p, src, 256, buf, 0, 0, &res);
    assert_int_equal(res.n_counted, 256);
    assert_int_equal(res.max_abs_bits, 0);
    assert_true(res.sum_sq_err == 0.0);
    assert_true(res.sum_sq > 0.0);
    free(buf);
}

static void test_verify_reports_overflow_and_counts_nothing(void **state)
{
    /* Two NaN groups, no escape slot: the encoder sets overflow. */
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    uint16_t src[256];
    size_t size = gq_compressed_size(&p, 256, 0);
    (void)state;
    for (int i = 0; i < 256; i++)
        tc_put(src, (size_t)i, GQ_F16, i * 0.01);
    tc_put(src, 3, GQ_F16, NAN);
    tc_put(src, 200, GQ_F16, NAN);
    uint8_t *buf = aligned_alloc(64, (size + 63) / 64 * 64);
    gq_encode(&p, src, 256, 0, buf, size); /* reports the overflow; the header says so too */
    assert_int_not_equal(((const struct gq_header *)buf)->overflow, 0);
    struct gq_verify_result res;
    memset(&res, 0, sizeof res);
    run_verify(&p, src, 256, buf, 0, 0, &res);
    assert_int_equal(res.overflow, 1);
    assert_int_equal(res.n_counted, 0);
    free(buf);
}

static void test_verify_launches_add_into_one_result(void **state)
{
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    uint16_t src[640];
    size_t size;
    (void)state;
    for (int i = 0; i < 640; i++)
        tc_put(src, (size_t)i, GQ_F16, tc_gauss());
    void *buf = tc_encode(&p, src, 640, 0, &size);
    struct gq_verify_result one, two;
    memset(&one, 0, sizeof one);
    memset(&two, 0, sizeof two);
    run_verify(&p, src, 640, buf, 0, 0, &one);
    run_verify(&p, src, 640, buf, 0, 0, &two);
    run_verify(&p, src, 640, buf, 0, 3, &two);
    assert_int_equal(two.n_counted, 2 * one.n_counted);
    assert_int_equal(two.max_abs_bits, one.max_abs_bits);
    assert_true(fabs(two.sum_sq_err - 2 * one.sum_sq_err) <= 1e-12 * one.sum_sq_err);
    free(buf);
}

/* Blocks that are not whole warps take the thread-per-group path and add
 * per thread: the same result as whole warps. */
static void test_verify_of_partial_warps_matches_whole_warps(void **state)
{
    const struct gq_emu_kernel *kv = gq_emu_kernel_find("gq_verify");
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    uint16_t src[64 * 30];
    size_t size;
    struct gq_verify_params vp;
    struct gq_verify_result whole, part;
    (void)state;
    for (int i = 0; i < 64 * 30; i++)
        tc_put(src, (size_t)i, GQ_F16, tc_gauss());
    void *buf = tc_encode(&p, src, 64 * 30, 0, &size);
    memset(&whole, 0, sizeof whole);
    memset(&part, 0, sizeof part);
    run_verify(&p, src, 64 * 30, buf, 0, 0, &whole);
    assert_int_equal(gq_verify_params_init(&vp, &p, 64 * 30, 0, src, buf, &part), GQ_OK);
    run_grid(kv, &vp, 1, 48);
    assert_int_equal(part.n_counted, whole.n_counted);
    assert_int_equal(part.max_abs_bits, whole.max_abs_bits);
    assert_true(fabs(part.sum_sq_err - whole.sum_sq_err) <= 1e-12 * whole.sum_sq_err);
    free(buf);
}

static void test_verify_rejects_a_wrong_magic(void **state)
{
    const struct gq_emu_kernel *kv = gq_emu_kernel_find("gq_verify");
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    uint16_t src[128];
    size_t size;
    struct gq_verify_params vp;
    struct gq_verify_result res;
    (void)state;
    for (int i = 0; i < 128; i++)
        tc_put(src, (size_t)i, GQ_F16, i * 0.1);
    void *buf = tc_encode(&p, src, 128, 0, &size);
    memset(&res, 0, sizeof res);
    assert_int_equal(gq_verify_params_init(&vp, &p, 128, 0, src, buf, &res), GQ_OK);
    vp.magic ^= 1;
    run_grid(kv, &vp, 1, 32);
    assert_int_equal(res.n_counted, 0);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_kernel_is_in_the_emulated_table),
        cmocka_unit_test(test_verify_matches_cpu_reference_dim_last),
        cmocka_unit_test(test_verify_matches_cpu_reference_dim0),
        cmocka_unit_test(test_verify_matches_cpu_reference_vector_tiles),
        cmocka_unit_test(test_verify_of_an_exact_buffer_reports_zero_error),
        cmocka_unit_test(test_verify_reports_overflow_and_counts_nothing),
        cmocka_unit_test(test_verify_launches_add_into_one_result),
        cmocka_unit_test(test_verify_of_partial_warps_matches_whole_warps),
        cmocka_unit_test(test_verify_rejects_a_wrong_magic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_codec_emu.c — the CUDA kernels' own source, compiled as C (GQ_EMU),
 * run over a whole grid here with host pointers, against the CPU codec:
 * this is what checks the kernels' index arithmetic and packing in CI,
 * under the SIMT executor (tests/cudasim/simt_exec.c).
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

static void test_kernel_table_matches_the_param_structs(void **state)
{
    const struct gq_emu_kernel *q = gq_emu_kernel_find("gq_quantize");
    const struct gq_emu_kernel *d = gq_emu_kernel_find("gq_dequantize");
    (void)state;
    assert_non_null(q);
    assert_non_null(d);
    assert_null(gq_emu_kernel_find("gq_nope"));
    assert_int_equal(q->params_size, sizeof(struct gq_quant_params));
    assert_int_equal(q->params_magic, GQ_QUANT_MAGIC);
    assert_int_equal(d->params_size, sizeof(struct gq_dequant_params));
    assert_int_equal(d->params_magic, GQ_DEQUANT_MAGIC);
    assert_int_equal(d->n_ptrs, 4);
}

/* One configuration: the kernel's buffer equals the CPU's (metadata, codes,
 * escapes); its full and ranged decodes equal the CPU's. */
static void check_config(const struct gq_params *p, uint64_t n, int with_nan, unsigned grid, unsigned block)
{
    const struct gq_emu_kernel *kq = gq_emu_kernel_find("gq_quantize");
    const struct gq_emu_kernel *kd = gq_emu_kernel_find("gq_dequantize");
    uint32_t es = gq_dtype_size(p->dtype), cap = 4;
    struct gq_layout l = {0};
    struct gq_quant_params qp;
    struct gq_dequant_params dp;
    size_t size = gq_compressed_size(p, n, cap);
    uint8_t *src = malloc(n * es), *cpu = aligned_alloc(64, (size + 63) / 64 * 64);
    uint8_t *gpu = aligned_alloc(64, (size + 63) / 64 * 64);
    uint8_t *a = malloc(n * es + 16), *b = malloc(n * es + 16);

    assert_int_equal(gq_layout_init(&l, p, n, cap), GQ_OK);
    for (uint64_t i = 0; i < n; i++)
        tc_put(src, i, p->dtype, tc_gauss() * 3.0);
    if (with_nan)
        tc_put(src, n / 2, p->dtype, NAN);
    assert_int_equal(gq_encode_ex(GQ_PATH_SCALAR, p, src, n, cap, cpu, size), GQ_OK);
    memset(gpu, 0xee, size);
    memset(gpu + GQ_HDR_ESCAPE_COUNT_OFF, 0, GQ_HDR_ZEROED_BYTES); /* what the shim's memset does */
    assert_int_equal(gq_quant_params_init(&qp, p, n, cap, src, gpu), GQ_OK);
    if (grid == 0)
        grid = gq_launch_grid(gq_quant_items(&qp));
    run_grid(kq, &qp, grid, block);
    assert_memory_equal(gpu, cpu, GQ_HEADER_SIZE);
    /* one escape at most, so even the slot numbers agree */
    assert_memory_equal(gpu + l.meta_off, cpu + l.meta_off, l.n_groups * l.meta_size);
    assert_memory_equal(gpu + l.code_off, cpu + l.code_off, l.n_groups * l.code_stride);
    if (with_nan)
        assert_memory_equal(gpu + l.esc_off, cpu + l.esc_off, (size_t)p->group * es);

    assert_int_equal(gq_decode(cpu, size, a, n * es), GQ_OK);
    assert_int_equal(gq_dequant_params_init(&dp, p, n, cap, cpu, 0, n, b), GQ_OK);
    run_grid(kd, &dp, grid ? gq_launch_grid(gq_dequant_items(&dp)) : 1, block);
    assert_memory_equal(a, b, n * es);
    for (int t = 0; t < 12; t++) {
        uint64_t e0 = tc_next() % n, e1 = e0 + 1 + tc_next() % (n - e0);
        memset(b, 0x77, n * es + 16);
        assert_int_equal(gq_dequant_params_init(&dp, p, n, cap, cpu, e0, e1, b), GQ_OK);
        run_grid(kd, &dp, 3, block); /* a small grid: the grid-stride loop must cover it */
        assert_memory_equal(a + e0 * es, b, (e1 - e0) * es);
        assert_int_equal(b[(e1 - e0) * es], 0x77);
    }
    free(src);
    free(cpu);
    free(gpu);
    free(a);
    free(b);
}

static void test_emulated_kernels_match_cpu_codec_dim_last(void **state)
{
    static const uint32_t groups[] = {8, 10, 64, 128, 1024};
    (void)state;
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++)
        for (uint32_t b = 2; b <= 8; b *= 2)
            for (unsigned gi = 0; gi < 5; gi++) {
                struct gq_params p = {b, groups[gi], dt, GQ_DIM_LAST, 0};
                check_config(&p, 3 * groups[gi] + 6, 0, 0, 64);
                check_config(&p, 5 * groups[gi], 1, 2, 32);
            }
}

static void test_emulated_kernels_match_cpu_codec_dim0(void **state)
{
    (void)state;
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++)
        for (uint32_t b = 2; b <= 8; b *= 2) {
            struct gq_params p = {b, 16, dt, GQ_DIM_0, 33};
            check_config(&p, 37 * 33, 0, 0, 32); /* 37 rows: a partial row-block of 5 */
            check_config(&p, 32 * 33, 1, 1, 64);
        }
}

/* dim=0 tiles whose rows cross memory in 16-byte vectors: columns a
 * multiple of 8, several column tiles (the last one partial), a partial
 * row block, every bits and dtype; the grid the shim launches and a small
 * one that loops over the tiles. */
static void test_emulated_kernels_match_cpu_codec_dim0_vector_tiles(void **state)
{
    (void)state;
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++)
        for (uint32_t b = 2; b <= 8; b *= 2) {
            struct gq_params p = {b, 64, dt, GQ_DIM_0, 264};
            check_config(&p, 264 * 150, 0, 0, GQ_BLOCK);
            check_config(&p, 264 * 64, 1, 2, GQ_BLOCK);
        }
    struct gq_params wide = {4, 32, GQ_F16, GQ_DIM_0, 4096}; /* the shape bench_gpu_model measures */
    check_config(&wide, 4096 * 40, 1, 0, GQ_BLOCK);
}

/* dim=last over groups of more chunks than a lane keeps in registers (f32,
 * G = 1024: 8 chunks a lane), with a partial last group. */
static void test_emulated_kernels_match_cpu_codec_long_groups(void **state)
{
    (void)state;
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++) {
        struct gq_params p = {4, 1024, dt, GQ_DIM_LAST, 0};
        check_config(&p, 1024 * 9 + 300, 0, 0, GQ_BLOCK);
        check_config(&p, 1024 * 4, 1, 1, 64);
    }
}

/* The shape kernels/gq_fast.h takes (f16 and bf16, 4 bits, groups of 64,
 * dim=last): whole tiles of 32 groups, then a partial tile and a partial
 * last group for gq_tile.h's code; a one-warp grid that loops over every
 * tile, the shim's grid, a NaN inside a whole tile (an escaped group there);
 * and check_config's ranged decodes, whose ends are partial tiles. */
static void test_emulated_kernels_match_cpu_codec_fast_shape(void **state)
{
    (void)state;
    for (uint32_t dt = GQ_F16; dt <= GQ_BF16; dt++) {
        struct gq_params p = {4, 64, dt, GQ_DIM_LAST, 0};
        check_config(&p, 64 * 32 * 7 + 64 * 5 + 17, 0, 0, GQ_BLOCK);
        check_config(&p, 64 * 32 * 7 + 64 * 5 + 17, 1, 1, 32);
        check_config(&p, 64 * 32 * 4, 1, 0, 64);
    }
}

static void test_emulated_kernels_reject_a_wrong_magic(void **state)
{
    const struct gq_emu_kernel *kd = gq_emu_kernel_find("gq_dequantize");
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    struct gq_dequant_params dp;
    uint16_t src[128] = {0}, out[128];
    size_t size;
    void *buf = tc_encode(&p, src, 128, 0, &size);
    (void)state;
    assert_int_equal(gq_dequant_params_init(&dp, &p, 128, 0, buf, 0, 128, out), GQ_OK);
    dp.magic ^= 1;
    memset(out, 0x11, sizeof out);
    run_grid(kd, &dp, 1, 32);
    assert_int_equal(out[0], 0x1111); /* nothing written */
    free(buf);
}

/* Many escaped groups (slots taken in any order), and more than the capacity
 * (overflow): the kernels' buffer decodes, group by group, to what the CPU
 * codec's does; a group that found no slot decodes to the dtype's NaN. */
static void check_escapes(const struct gq_params *p, uint64_t n, uint32_t cap, int n_nan)
{
    const struct gq_emu_kernel *kq = gq_emu_kernel_find("gq_quantize");
    const struct gq_emu_kernel *kd = gq_emu_kernel_find("gq_dequantize");
    uint32_t es = gq_dtype_size(p->dtype), big = 64;
    struct gq_layout l = {0};
    struct gq_quant_params qp;
    struct gq_dequant_params dp;
    size_t size = gq_compressed_size(p, n, cap), cpu_size = gq_compressed_size(p, n, big);
    uint8_t *src = malloc(n * es), *cpu = aligned_alloc(64, (cpu_size + 63) / 64 * 64);
    uint8_t *gpu = aligned_alloc(64, (size + 63) / 64 * 64), *a = malloc(n * es), *b = malloc(n * es);
    uint32_t overflow, escaped = 0;

    assert_int_equal(gq_layout_init(&l, p, n, cap), GQ_OK);
    for (uint64_t i = 0; i < n; i++)
        tc_put(src, i, p->dtype, tc_gauss());
    for (int j = 0; j < n_nan; j++) /* one NaN in each of n_nan groups */
        tc_put(src, gq_group_first(&l, p->group, (uint64_t)j * 3 % l.n_groups), p->dtype, NAN);
    assert_int_equal(gq_encode_ex(GQ_PATH_SCALAR, p, src, n, big, cpu, cpu_size), GQ_OK);
    assert_int_equal(gq_decode(cpu, cpu_size, a, n * es), GQ_OK);
    memset(gpu, 0, size);
    assert_int_equal(gq_quant_params_init(&qp, p, n, cap, src, gpu), GQ_OK);
    run_grid(kq, &qp, gq_launch_grid(gq_quant_items(&qp)), GQ_BLOCK);
    memcpy(&overflow, gpu + GQ_HDR_ESCAPE_COUNT_OFF + 4, 4);
    memcpy(&escaped, gpu + GQ_HDR_ESCAPE_COUNT_OFF, 4);
    assert_int_equal(overflow, (uint32_t)n_nan > cap);
    assert_int_equal(gq_dequant_params_init(&dp, p, n, cap, gpu, 0, n, b), GQ_OK);
    run_grid(kd, &dp, gq_launch_grid(gq_dequant_items(&dp)), GQ_BLOCK);
    uint32_t lost = 0;
    for (uint64_t g = 0; g < l.n_groups; g++) {
        uint64_t first = gq_group_first(&l, p->group, g);
        uint32_t len = gq_group_len(&l, p->group, g), nan_all = 1, same = 1;
        for (uint32_t i = 0; i < len; i++) {
            uint64_t e = first + i * l.cols;
            uint32_t got = gq_elem_raw(b, e, p->dtype), want = gq_elem_raw(a, e, p->dtype);
            same &= got == want;
            nan_all &= got == gq_dtype_qnan(p->dtype);
        }
        assert_true(same || nan_all);
        lost += !same;
    }
    assert_int_equal(escaped, (uint32_t)n_nan);
    assert_int_equal(lost, (uint32_t)n_nan > cap ? (uint32_t)n_nan - cap : 0);
    free(src);
    free(cpu);
    free(gpu);
    free(a);
    free(b);
}

static void test_emulated_kernels_many_escapes_and_overflow(void **state)
{
    (void)state;
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++) {
        struct gq_params last = {4, 64, dt, GQ_DIM_LAST, 0}, dim0 = {4, 16, dt, GQ_DIM_0, 40};
        check_escapes(&last, 64 * 300 + 10, 32, 20);
        check_escapes(&last, 64 * 300 + 10, 8, 20);
        check_escapes(&dim0, 40 * 70, 32, 20);
        check_escapes(&dim0, 40 * 70, 8, 20);
        struct gq_params wide = {4, 64, dt, GQ_DIM_0, 264}; /* vector tiles, the warp writes the slots */
        check_escapes(&wide, 264 * 70, 32, 20);
        check_escapes(&wide, 264 * 70, 8, 20);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_table_matches_the_param_structs),
        cmocka_unit_test(test_emulated_kernels_match_cpu_codec_dim_last),
        cmocka_unit_test(test_emulated_kernels_match_cpu_codec_dim0),
        cmocka_unit_test(test_emulated_kernels_match_cpu_codec_dim0_vector_tiles),
        cmocka_unit_test(test_emulated_kernels_match_cpu_codec_long_groups),
        cmocka_unit_test(test_emulated_kernels_match_cpu_codec_fast_shape),
        cmocka_unit_test(test_emulated_kernels_reject_a_wrong_magic),
        cmocka_unit_test(test_emulated_kernels_many_escapes_and_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

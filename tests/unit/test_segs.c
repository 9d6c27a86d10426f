/* A block cut into segments (store/gq_segs.c): the cut covers the tensor
 * in whole groups or row-blocks, each segment within its size, and a block
 * written segment by segment decodes, whole or in any slice, to exactly
 * what the codec gives for the tensor's groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gq_codec.h"
#include "gq_half.h"
#include "store/gq_segs.h"

static const struct gq_params f16_4 = {4, 64, GQ_F16, GQ_DIM_LAST, 0};

static uint16_t *fill_f16(size_t n, unsigned seed)
{
    uint16_t *x = malloc(n * 2);
    srand(seed);
    for (size_t i = 0; i < n; i++)
        x[i] = gq_f32_to_f16_rn((float)(rand() % 2000 - 1000) / 97.0f);
    return x;
}

static void a_tensor_that_fits_is_one_segment_in_the_formats_own_layout(void **state)
{
    (void)state;
    struct gq_segs g;
    assert_int_equal(gq_segs_init(&g, &f16_4, 4096, GQ_SEG_TARGET, 0), GQ_OK);
    assert_int_equal(g.n_segs, 1);
    assert_int_equal(g.total, gq_compressed_size(&f16_4, 4096,
                                                 gq_default_escape_capacity(&f16_4, 4096)));
}

static void segments_cover_the_tensor_in_whole_groups_within_the_size(void **state)
{
    (void)state;
    struct gq_segs g;
    uint64_t n = 1000 * 64 + 10; /* a partial last group */
    assert_int_equal(gq_segs_init(&g, &f16_4, n, 16 * 1024, 0), GQ_OK);
    assert_true(g.n_segs > 1);
    assert_int_equal(g.seg_elems % 64, 0);
    uint64_t next = 0;
    for (uint32_t i = 0; i < g.n_segs; i++) {
        struct gq_seg s;
        gq_segs_at(&g, i, &s);
        assert_int_equal(s.e0, next);
        assert_true(s.l.total <= 16 * 1024);
        assert_int_equal(s.off % GQ_SEG_ALIGN, 0);
        assert_int_equal(gq_segs_index(&g, s.e0), i);
        assert_int_equal(gq_segs_index(&g, s.e0 + s.n - 1), i);
        next = s.e0 + s.n;
    }
    assert_int_equal(next, n);
}

static void dim0_segments_are_whole_row_blocks(void **state)
{
    (void)state;
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_0, 256};
    struct gq_segs g;
    assert_int_equal(gq_segs_init(&g, &p, 256 * 64 * 10, 20 * 1024, 0), GQ_OK);
    assert_true(g.n_segs > 1);
    assert_int_equal(g.seg_elems % (256 * 64), 0);
    /* 24 columns: row-blocks in fours make whole 32-group units. */
    struct gq_params q = {4, 64, GQ_F16, GQ_DIM_0, 24};
    assert_int_equal(gq_segs_init(&g, &q, 24 * 64 * 40, 4 * 1024, 0), GQ_OK);
    assert_true(g.n_segs > 1);
    assert_int_equal(g.seg_elems % (24 * 64 * 4), 0);
}

/* Every segment but the last starts its metadata and codes on 32-byte
 * sectors, so whole-warp 128-byte accesses cover whole sectors. */
static void segments_keep_metadata_and_codes_sector_aligned(void **state)
{
    (void)state;
    struct gq_segs g;
    assert_int_equal(gq_segs_init(&g, &f16_4, 64 * 1000 + 10, 16 * 1024, 0), GQ_OK);
    assert_true(g.n_segs > 2);
    struct gq_seg s;
    gq_segs_at(&g, 0, &s);
    assert_int_equal(s.l.n_groups % 32, 0);
    assert_int_equal(s.l.meta_off % 32, 0);
    assert_int_equal(s.l.code_off % 32, 0);
    assert_int_equal(g.stride % 32, 0);
}

static void a_unit_bigger_than_the_size_is_a_segment_of_one_unit(void **state)
{
    (void)state;
    struct gq_segs g;
    /* A unit is 32 groups (whole 128-byte lines of metadata). */
    assert_int_equal(gq_segs_init(&g, &f16_4, 64 * 100, 16, 0), GQ_OK);
    assert_int_equal(g.seg_elems, 64 * 32);
    assert_int_equal(g.n_segs, 4);
    assert_true(g.max_bytes > 16); /* the caller sees it does not fit */
}

static void bad_parameters_are_refused(void **state)
{
    (void)state;
    struct gq_segs g;
    struct gq_params p = f16_4;
    p.bits = 3;
    assert_int_equal(gq_segs_init(&g, &p, 4096, GQ_SEG_TARGET, 0), GQ_ERR_PARAM);
    assert_int_equal(gq_segs_init(&g, &f16_4, 0, GQ_SEG_TARGET, 0), GQ_ERR_PARAM);
}

/* Every slice of a segmented block decodes as the same slice of one
 * single-buffer block of the tensor. */
static void any_slice_decodes_as_the_codec_does(void **state)
{
    (void)state;
    uint64_t n = 300 * 64 + 22;
    uint16_t *x = fill_f16(n, 7);
    struct gq_segs g;
    assert_int_equal(gq_segs_init(&g, &f16_4, n, 4096, 0), GQ_OK);
    assert_true(g.n_segs > 3);
    unsigned char *block = aligned_alloc(256, (g.total + 255) / 256 * 256);
    assert_int_equal(gq_segs_encode(&g, x, block), GQ_OK);
    uint64_t escaped;
    assert_int_equal(gq_segs_overflowed(&g, block, &escaped), 0);
    assert_int_equal(escaped, 0);

    uint32_t cap = gq_default_escape_capacity(&f16_4, n);
    size_t one_size = gq_compressed_size(&f16_4, n, cap);
    unsigned char *one = aligned_alloc(256, (one_size + 255) / 256 * 256);
    assert_int_equal(gq_encode(&f16_4, x, n, cap, one, one_size), GQ_OK);
    uint16_t *want = malloc(n * 2), *got = malloc(n * 2);
    assert_int_equal(gq_decode(one, one_size, want, n * 2), GQ_OK);
    const uint64_t cuts[][2] = {{0, n}, {1, n - 1}, {63, 4097}, {4000, 9000}, {n - 5, n}};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        uint64_t e0 = cuts[c][0], e1 = cuts[c][1];
        memset(got, 0xff, n * 2);
        assert_int_equal(gq_segs_decode_range(&g, block, e0, e1, got), GQ_OK);
        assert_memory_equal(got, want + e0, (e1 - e0) * 2);
    }
    assert_int_equal(gq_segs_decode_range(&g, block, 5, n + 1, got), GQ_ERR_RANGE);
    free(x), free(block), free(one), free(want), free(got);
}

/* A NaN group is kept raw in its own segment's escape area; more than a
 * segment can keep is reported, never decoded wrongly. */
static void escapes_are_per_segment_and_overflow_is_reported(void **state)
{
    (void)state;
    uint64_t n = 64 * 32 * 4;
    uint16_t *x = fill_f16(n, 3);
    struct gq_segs g;
    assert_int_equal(gq_segs_init(&g, &f16_4, n, 2048, 1), GQ_OK);
    assert_true(g.n_segs > 2);
    x[5] = 0x7e00; /* NaN in the first segment */
    x[n - 3] = 0x7c00; /* +Inf in the last */
    unsigned char *block = aligned_alloc(256, (g.total + 255) / 256 * 256);
    assert_int_equal(gq_segs_encode(&g, x, block), GQ_OK);
    uint64_t escaped;
    assert_int_equal(gq_segs_overflowed(&g, block, &escaped), 0);
    assert_int_equal(escaped, 2);
    uint16_t *got = malloc(n * 2);
    assert_int_equal(gq_segs_decode_range(&g, block, 0, n, got), GQ_OK);
    assert_int_equal(got[5], 0x7e00);
    assert_int_equal(got[n - 3], 0x7c00);
    /* Every group of the first segment NaN: more than its few slots. */
    struct gq_seg s0;
    gq_segs_at(&g, 0, &s0);
    for (uint64_t i = 0; i < s0.n; i++)
        x[i] = 0x7e00;
    assert_int_equal(gq_segs_encode(&g, x, block), GQ_ERR_OVERFLOW);
    assert_int_equal(gq_segs_overflowed(&g, block, &escaped), 1);
    assert_int_equal(gq_segs_decode_range(&g, block, 0, n, got), GQ_ERR_OVERFLOW);
    free(x), free(block), free(got);
}

/* After an overflow, the cut widened to the most escapes a segment counted
 * keeps the same segments, each with that many slots: the tensor encodes
 * without overflow, and decodes as the codec with room for every group
 * would (escaped groups exact). */
static void a_widened_cut_holds_what_the_headers_counted(void **state)
{
    (void)state;
    uint64_t n = 64 * 64;
    uint16_t *x = fill_f16(n, 5);
    struct gq_segs g;
    assert_int_equal(gq_segs_init(&g, &f16_4, n, 2048, 1), GQ_OK);
    struct gq_seg s0, s1;
    gq_segs_at(&g, 0, &s0);
    for (uint64_t i = 0; i < s0.n; i += 64)
        x[i + 7] = (uint16_t)(0x7e00 + i % 64); /* every group of segment 0 */
    x[s0.n + 64 + 1] = 0xfc00;                  /* one group of segment 1 */
    unsigned char *block = aligned_alloc(256, (g.total + 255) / 256 * 256);
    assert_int_equal(gq_segs_encode(&g, x, block), GQ_ERR_OVERFLOW);
    uint32_t most = gq_segs_max_escapes(&g, block);
    assert_int_equal(most, s0.n / 64);
    struct gq_segs w = g;
    gq_segs_widen(&w, most);
    assert_int_equal(w.n_segs, g.n_segs);
    assert_int_equal(w.seg_elems, g.seg_elems);
    assert_true(w.total > g.total);
    gq_segs_at(&w, 1, &s1);
    assert_int_equal(s1.l.escape_capacity, most);
    free(block);
    block = aligned_alloc(256, (w.total + 255) / 256 * 256);
    assert_int_equal(gq_segs_encode(&w, x, block), GQ_OK);
    uint64_t escaped;
    assert_int_equal(gq_segs_overflowed(&w, block, &escaped), 0);
    assert_int_equal(escaped, s0.n / 64 + 1);
    /* Decoded as the codec with a slot for every group decodes it. */
    uint16_t *got = malloc(n * 2), *want = malloc(n * 2);
    size_t csize = gq_compressed_size(&f16_4, n, (uint32_t)(n / 64));
    unsigned char *one = aligned_alloc(256, (csize + 255) / 256 * 256);
    assert_int_equal(gq_encode(&f16_4, x, n, (uint32_t)(n / 64), one, csize), GQ_OK);
    assert_int_equal(gq_decode(one, csize, want, n * 2), GQ_OK);
    assert_int_equal(gq_segs_decode_range(&w, block, 0, n, got), GQ_OK);
    assert_memory_equal(got, want, n * 2);
    assert_int_equal(got[7], 0x7e00);
    free(x), free(block), free(got), free(want), free(one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_tensor_that_fits_is_one_segment_in_the_formats_own_layout),
        cmocka_unit_test(segments_cover_the_tensor_in_whole_groups_within_the_size),
        cmocka_unit_test(dim0_segments_are_whole_row_blocks),
        cmocka_unit_test(segments_keep_metadata_and_codes_sector_aligned),
        cmocka_unit_test(a_unit_bigger_than_the_size_is_a_segment_of_one_unit),
        cmocka_unit_test(bad_parameters_are_refused),
        cmocka_unit_test(any_slice_decodes_as_the_codec_does),
        cmocka_unit_test(escapes_are_per_segment_and_overflow_is_reported),
        cmocka_unit_test(a_widened_cut_holds_what_the_headers_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

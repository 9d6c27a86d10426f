/*
 * test_plan.c — planning a compressed copy (xfer/gq_plan.c): the codec
 * parameters a rule asks for, why a copy cannot be compressed (SMALL,
 * ALIGN), how a copy is cut into segments (store/gq_segs.h) and each
 * segment's escape area, the room an allocation event makes in the store,
 * and the store block taken when the budget is spent (on cudasim's driver).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/gq_entries.h"
#include "xfer/gq_plan.h"
#include "test_sim_util.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static struct gq_rules rules; /* rule() parses into it: one at a time */

static const struct gq_rule *rule(const char *text)
{
    char err[GQ_RULES_ERR_MAX];
    if (gq_rules_parse(text, &rules, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(rules.count, 1);
    return &rules.rule[0];
}

/* Aligned buffers' addresses: gq_plan only looks at them. */
static _Alignas(64) unsigned char src[64], dst[64];

struct planned {
    int ok;
    enum gq_pass_reason why;
    struct gq_segs g;
    struct gq_seg first; /* segment 0, when planned */
};

static struct planned plan(const struct gq_rule *r, const void *s, const void *d, size_t count,
                           int few_escapes)
{
    struct planned x;
    memset(&x, 0, sizeof x);
    x.why = GQ_PASS_COUNT; /* not a reason: shows whether one was given */
    x.ok = gq_plan(r, s, d, count, few_escapes, &x.g, &x.why);
    if (x.ok)
        gq_segs_at(&x.g, 0, &x.first);
    return x;
}

/* An entry's state is atomic: other threads read it (gq_entries.h). */
static void set_state(struct gq_entry *e, enum gq_entry_state st)
{
    __atomic_store_n(&e->state, (int)st, __ATOMIC_RELEASE);
}

static int group_setup(void **state)
{
    (void)state;
    if (ts_load_cudasim() != 0) /* gq_plan_block takes store blocks */
        return -1;
    gq_store_set_budget(0);
    return 0;
}

/* ---- parameters ------------------------------------------------------- */

static void params_take_bits_group_and_dtype_from_the_rule(void **state)
{
    (void)state;
    struct gq_params p;
    gq_plan_params(rule("on=host,dtype=bf16,bits=8,group=32"), &p);
    assert_int_equal(p.bits, 8);
    assert_int_equal(p.group, 32);
    assert_int_equal(p.dtype, GQ_BF16);
    assert_int_equal(p.axis, GQ_DIM_LAST);
    assert_int_equal(p.cols, 0);
    gq_plan_params(rule("on=dev,dtype=f32,bits=2,group=128"), &p);
    assert_int_equal(p.bits, 2);
    assert_int_equal(p.group, 128);
    assert_int_equal(p.dtype, GQ_F32);
}

static void params_default_to_f16(void **state)
{
    (void)state;
    struct gq_params p;
    gq_plan_params(rule("on=host,bits=4,group=64"), &p);
    assert_int_equal(p.dtype, GQ_F16);
}

static void params_of_a_dim_0_rule_group_down_columns(void **state)
{
    (void)state;
    struct gq_params p;
    gq_plan_params(rule("on=host,bits=4,group=64,dim=0,cols=128"), &p);
    assert_int_equal(p.axis, GQ_DIM_0);
    assert_int_equal(p.cols, 128);
}

/* ---- reasons ---------------------------------------------------------- */

static void a_copy_below_GQ_MIN_COPY_is_SMALL(void **state)
{
    (void)state;
    const struct gq_rule *r = rule("on=host,bits=4,group=64");
    struct planned x = plan(r, src, dst, GQ_MIN_COPY - 2, 0);
    assert_false(x.ok);
    assert_int_equal(x.why, GQ_PASS_SMALL);
    x = plan(r, src, dst, GQ_MIN_COPY, 0);
    assert_true(x.ok);
}

static void a_size_that_is_no_whole_number_of_elements_is_ALIGN(void **state)
{
    (void)state;
    struct planned x = plan(rule("on=host,dtype=f32,bits=4,group=64"), src, dst, 8192 + 2, 0);
    assert_false(x.ok);
    assert_int_equal(x.why, GQ_PASS_ALIGN);
}

static void a_source_or_destination_off_element_alignment_is_ALIGN(void **state)
{
    (void)state;
    const struct gq_rule *r = rule("on=host,dtype=f32,bits=4,group=64");
    struct planned x = plan(r, src + 2, dst, 8192, 0);
    assert_false(x.ok);
    assert_int_equal(x.why, GQ_PASS_ALIGN);
    x = plan(r, src, dst + 2, 8192, 0);
    assert_false(x.ok);
    assert_int_equal(x.why, GQ_PASS_ALIGN);
    x = plan(r, src + 4, dst + 4, 8192, 0); /* f32 needs 4 bytes, not more */
    assert_true(x.ok);
}

static void a_dim_0_copy_of_no_whole_number_of_rows_is_ALIGN(void **state)
{
    (void)state;
    const struct gq_rule *r = rule("on=host,bits=4,group=64,dim=0,cols=100"); /* 200-byte rows */
    struct planned x = plan(r, src, dst, 8192, 0);
    assert_false(x.ok);
    assert_int_equal(x.why, GQ_PASS_ALIGN);
    x = plan(r, src, dst, 8200, 0); /* 41 rows */
    assert_true(x.ok);
    assert_int_equal(x.g.n_segs, 1);
    assert_int_equal(x.first.l.rows, 41);
    assert_int_equal(x.first.l.cols, 100);
}

static void a_copy_the_codec_cannot_lay_out_is_ALIGN(void **state)
{
    (void)state;
    /* More elements than the format addresses (gq_params_check). */
    size_t huge = (((size_t)1 << 52) + 1) * 2;
    struct planned x = plan(rule("on=host,bits=4,group=64"), src, dst, huge, 0);
    assert_false(x.ok);
    assert_int_equal(x.why, GQ_PASS_ALIGN);
}

/* ---- segments and their layouts --------------------------------------- */

static void a_copy_whose_block_fits_one_segment_has_the_single_buffer_layout(void **state)
{
    (void)state;
    /* 1 MiB of f16 in groups of 64: 8192 groups, 8192 / 128 + 8 escapes. */
    struct planned x = plan(rule("on=host,bits=4,group=64"), src, dst, MiB, 0);
    assert_true(x.ok);
    assert_int_equal(x.g.n_segs, 1);
    assert_int_equal(x.g.n_elems, MiB / 2);
    assert_int_equal(x.first.e0, 0);
    assert_int_equal(x.first.n, MiB / 2);
    assert_int_equal(x.first.off, 0);
    assert_int_equal(x.first.l.n_groups, 8192);
    assert_int_equal(x.first.l.escape_capacity, 8192 / 128 + 8);
    assert_int_equal(x.first.l.escape_capacity,
                     gq_default_escape_capacity(&x.g.params, MiB / 2));
    assert_int_equal(x.g.total, gq_compressed_size(&x.g.params, MiB / 2, 8192 / 128 + 8));
    assert_int_equal(x.g.total, x.first.l.total);
}

static void few_escapes_when_the_caller_can_fall_back_to_raw_data(void **state)
{
    (void)state;
    struct planned x = plan(rule("on=host,bits=4,group=64"), src, dst, MiB, 1);
    assert_true(x.ok);
    assert_int_equal(x.g.few_escapes, 1);
    assert_int_equal(x.first.l.escape_capacity, 8192 / 1024 + 8);
    assert_int_equal(x.g.total, gq_compressed_size(&x.g.params, MiB / 2, 8192 / 1024 + 8));
}

static void the_escape_area_never_exceeds_the_groups(void **state)
{
    (void)state;
    /* 4 KiB of f32 in groups of 1024: one group. */
    const struct gq_rule *r = rule("on=host,dtype=f32,bits=4,group=1024");
    assert_int_equal(plan(r, src, dst, 4 * KiB, 1).first.l.escape_capacity, 1);
    assert_int_equal(plan(r, src, dst, 4 * KiB, 0).first.l.escape_capacity, 1);
}

/* Segments tile the tensor in order, each at its stride, each no bigger
 * than max (no staging here: GQ_SEG_TARGET), and each with the escape area
 * of its own element count. */
static void check_tiling(const struct gq_segs *g, uint64_t unit, int few)
{
    assert_int_equal(g->seg_elems % unit, 0);
    assert_int_equal(g->stride % GQ_SEG_ALIGN, 0);
    assert_true(g->max_bytes <= GQ_SEG_TARGET);
    assert_true(g->stride >= g->max_bytes);
    uint64_t next = 0;
    struct gq_seg sg;
    for (uint32_t i = 0; i < g->n_segs; i++) {
        gq_segs_at(g, i, &sg);
        assert_int_equal(sg.e0, next);
        assert_int_equal(sg.off, (uint64_t)i * g->stride);
        assert_true(sg.l.total <= g->max_bytes);
        if (i + 1 < g->n_segs)
            assert_int_equal(sg.n, g->seg_elems);
        if (!few)
            assert_int_equal(sg.l.escape_capacity,
                             gq_default_escape_capacity(&g->params, sg.n));
        assert_int_equal(gq_segs_index(g, sg.e0), i);
        assert_int_equal(gq_segs_index(g, sg.e0 + sg.n - 1), i);
        next += sg.n;
    }
    assert_int_equal(next, g->n_elems);
    assert_int_equal(g->total, sg.off + sg.l.total);
}

static void a_big_copy_is_cut_into_segments_of_whole_groups(void **state)
{
    (void)state;
    /* 64 MiB + one group of f16: about 16 MiB compressed, over any segment
     * size (GQ_SEG_TARGET at most, less where the staging slot is smaller). */
    size_t count = 64 * MiB + 128;
    struct planned x = plan(rule("on=host,bits=4,group=64"), src, dst, count, 0);
    assert_true(x.ok);
    assert_true(x.g.n_segs >= 4);
    assert_int_equal(x.g.n_elems, count / 2);
    check_tiling(&x.g, 64, 0);
    /* The next group would not fit: segments are as big as the limit allows. */
    assert_true(x.g.max_bytes <= GQ_SEG_TARGET);
    struct gq_layout more;
    uint64_t n = x.g.seg_elems + 64;
    assert_int_equal(gq_layout_init(&more, &x.g.params, n,
                                    gq_default_escape_capacity(&x.g.params, n)), GQ_OK);
    assert_true(more.total > x.g.max_bytes);
}

static void a_dim_0_copy_is_cut_into_whole_row_blocks(void **state)
{
    (void)state;
    /* Rows of 1000 f16, groups of 64 rows: a unit is 64000 elements. */
    const struct gq_rule *r = rule("on=host,bits=4,group=64,dim=0,cols=1000");
    size_t count = (size_t)64 * 1000 * 2 * 300 + 1000 * 2 * 5; /* 300 row-blocks and 5 rows */
    struct planned x = plan(r, src, dst, count, 1);
    assert_true(x.ok);
    assert_true(x.g.n_segs >= 2);
    check_tiling(&x.g, 64 * 1000, 1);
}

/* ---- store blocks ----------------------------------------------------- */

/* A block for the 4 KiB range those tests publish an entry for. */
static struct gq_segs segs_4k(void)
{
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    struct gq_segs g;
    assert_int_equal(gq_segs_init(&g, &p, 2048, GQ_SEG_TARGET, 0), GQ_OK);
    return g;
}

static void a_block_is_taken_from_the_room_an_allocation_reserved(void **state)
{
    (void)state;
    struct gq_block b;
    gq_store_reserve(10 * KiB); /* the allocation event */
    assert_int_equal(gq_plan_block(10 * KiB, NULL, 0, &b), GQ_STORE_OK);
    assert_true(b.size >= 10 * KiB);
    gq_store_release(&b, NULL);
    gq_store_drop_idle();
}

static void a_spent_budget_first_reaps_entries_that_serve_no_copy_back(void **state)
{
    (void)state;
    gq_store_set_budget(2 * MiB);
    gq_store_reserve(2 * MiB);
    struct gq_block held, b;
    struct gq_segs g = segs_4k();
    static unsigned char range[4096];
    assert_int_equal(gq_plan_block(2 * MiB, NULL, 0, &held), GQ_STORE_OK);
    struct gq_entry *e = gq_entry_new((uintptr_t)range, sizeof range, &g, &held, NULL);
    assert_non_null(e);
    set_state(e, GQ_ENTRY_UNTRACKED); /* its buffer can no longer be trusted */
    gq_entries_publish(e);
    gq_entry_put(e);
    assert_int_equal(gq_plan_block(2 * MiB, NULL, 0, &b), GQ_STORE_OK);
    assert_false(gq_entries_may_hold(range, sizeof range));
    gq_store_release(&b, NULL);
    gq_store_set_budget(0);
    gq_store_drop_idle();
}

static void a_spent_budget_keeps_entries_that_may_serve_a_copy_back(void **state)
{
    (void)state;
    gq_store_set_budget(2 * MiB);
    gq_store_reserve(2 * MiB);
    struct gq_block held, b;
    struct gq_segs g = segs_4k();
    static unsigned char range[4096];
    assert_int_equal(gq_plan_block(2 * MiB, NULL, 0, &held), GQ_STORE_OK);
    struct gq_entry *e = gq_entry_new((uintptr_t)range, sizeof range, &g, &held, NULL);
    assert_non_null(e);
    gq_entries_publish(e); /* pending: its offload is still queued */
    gq_entry_put(e);
    assert_int_equal(gq_plan_block(2 * MiB, NULL, 0, &b), GQ_STORE_OVER_BUDGET);
    assert_true(gq_entries_may_hold(range, sizeof range));
    gq_entries_discard(range, sizeof range);
    gq_store_set_budget(0);
    gq_store_drop_idle();
}

/* Last: it takes the context's staging, which bounds segments from then on. */
static void plan_reserve_makes_room_for_one_offload_of_the_tensor(void **state)
{
    (void)state;
    const struct gq_rule *r = rule("on=host,bits=4,group=64");
    struct gq_store_usage u;
    gq_store_usage(&u);
    assert_int_equal(u.pinned, 0);
    gq_plan_reserve(r, 8 * MiB);
    struct planned x = plan(r, src, dst, 8 * MiB, 1); /* few escape slots, as offloads */
    assert_true(x.ok);
    gq_store_usage(&u);
    size_t pinned = u.pinned;
    assert_true(pinned >= x.g.total);
    struct gq_block b;
    assert_int_equal(gq_plan_block(x.g.total, NULL, 0, &b), GQ_STORE_OK);
    gq_store_usage(&u);
    assert_int_equal(u.pinned, pinned); /* taking it pinned nothing more */
    assert_int_equal(u.in_blocks, b.size);
    gq_store_release(&b, NULL);
    gq_store_drop_idle();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(params_take_bits_group_and_dtype_from_the_rule),
        cmocka_unit_test(params_default_to_f16),
        cmocka_unit_test(params_of_a_dim_0_rule_group_down_columns),
        cmocka_unit_test(a_copy_below_GQ_MIN_COPY_is_SMALL),
        cmocka_unit_test(a_size_that_is_no_whole_number_of_elements_is_ALIGN),
        cmocka_unit_test(a_source_or_destination_off_element_alignment_is_ALIGN),
        cmocka_unit_test(a_dim_0_copy_of_no_whole_number_of_rows_is_ALIGN),
        cmocka_unit_test(a_copy_the_codec_cannot_lay_out_is_ALIGN),
        cmocka_unit_test(a_copy_whose_block_fits_one_segment_has_the_single_buffer_layout),
        cmocka_unit_test(few_escapes_when_the_caller_can_fall_back_to_raw_data),
        cmocka_unit_test(the_escape_area_never_exceeds_the_groups),
        cmocka_unit_test(a_big_copy_is_cut_into_segments_of_whole_groups),
        cmocka_unit_test(a_dim_0_copy_is_cut_into_whole_row_blocks),
        cmocka_unit_test(a_block_is_taken_from_the_room_an_allocation_reserved),
        cmocka_unit_test(a_spent_budget_first_reaps_entries_that_serve_no_copy_back),
        cmocka_unit_test(a_spent_budget_keeps_entries_that_may_serve_a_copy_back),
        cmocka_unit_test(plan_reserve_makes_room_for_one_offload_of_the_tensor),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}

/*
 * test_store.c — the pinned store (store/gq_store.c) on cudasim's driver:
 * slabs added at allocation events (gq_store_reserve) sized to the blocks
 * reserved, blocks carved from them (best fit, 256-byte alignment, holes
 * merging), the budget, blocks released against events, idle slabs given
 * back, the usage counters, and the store's thread adding a slab when a
 * copy finds no room (GQ_STORE_GROWING) — ahead of need from then on.
 *
 * Each test starts from an empty store (no slab pinned, no budget, no
 * reservation outstanding) and leaves it so. The growth tests come last:
 * once a copy has found no room the store grows ahead of need for the rest
 * of the process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/gq_store.h"
#include "test_sim_util.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define GROWER_SLAB_MIN (4 * MiB) /* gq_store.c: GQ_SLAB_MIN */

static struct gq_store_usage usage_now(void)
{
    struct gq_store_usage u;
    gq_store_usage(&u);
    return u;
}

static size_t pinned(void) { return usage_now().pinned; }

static struct gq_block alloc_ok(size_t size)
{
    struct gq_block b;
    assert_int_equal(gq_store_alloc(size, &b), GQ_STORE_OK);
    return b;
}

static void free_now(struct gq_block *b) { gq_store_release(b, NULL); }

/* Wait (up to 10 s, so a broken grower fails rather than hangs) until
 * `want` bytes are pinned; what is pinned then. */
static size_t wait_pinned(size_t want)
{
    const struct timespec tick = {0, 1000 * 1000};
    for (int i = 0; i < 10000 && pinned() != want; i++)
        nanosleep(&tick, NULL);
    return pinned();
}

static int group_setup(void **state)
{
    (void)state;
    if (ts_load_cudasim() != 0)
        return -1;
    gq_store_set_budget(0); /* none, and GQSHIM_POOL_MAX is not read */
    return 0;
}

/* Reservations a test left untaken count for every later reserve: take
 * them. A reserve pins one slab for all of them (and this one); a block of
 * that whole slab takes them all. The budget is what is pinned then, so
 * taking it asks the grower for nothing. */
static void take_every_reservation(void)
{
    gq_store_set_budget(0);
    gq_store_drop_idle();
    size_t before = pinned();
    gq_store_reserve(4 * KiB);
    size_t all = pinned() - before;
    gq_store_set_budget(pinned());
    struct gq_block b;
    if (all && gq_store_alloc(all, &b) == GQ_STORE_OK)
        free_now(&b);
    gq_store_set_budget(0);
    gq_store_drop_idle();
}

/* Setup: clean up after a failed test as far as one can. Teardown: the
 * test left nothing pinned, in blocks or reserved. */
static int clean_store(void **state)
{
    (void)state;
    ts_gates_open_all();
    take_every_reservation();
    return 0;
}

static int empty_store(void **state)
{
    clean_store(state);
    struct gq_store_usage u = usage_now();
    assert_int_equal(u.pinned, 0);
    assert_int_equal(u.in_blocks, 0);
    return 0;
}

/* ---- slabs from allocation events ----------------------------------- */

static void a_reserve_pins_a_slab_of_the_block_rounded_to_4_KiB(void **state)
{
    (void)state;
    gq_store_reserve(10000); /* a 10240-byte block */
    assert_int_equal(pinned(), 12 * KiB);
    struct gq_block b = alloc_ok(10000);
    assert_int_equal(b.size, 10240);
    assert_int_equal(usage_now().in_blocks, 10240);
    assert_int_equal(pinned(), 12 * KiB); /* taking it pinned nothing */
    free_now(&b);
}

static void a_reserve_of_zero_bytes_pins_nothing(void **state)
{
    (void)state;
    gq_store_reserve(0);
    assert_int_equal(pinned(), 0);
}

static void each_reserve_counts_the_ones_before_it(void **state)
{
    (void)state;
    /* Two tensors allocated before either is offloaded: room for both. */
    gq_store_reserve(64 * KiB);
    gq_store_reserve(64 * KiB);
    assert_int_equal(pinned(), 128 * KiB);
    struct gq_block a = alloc_ok(64 * KiB), b = alloc_ok(64 * KiB);
    assert_ptr_not_equal(a.host, b.host);
    assert_int_equal(pinned(), 128 * KiB);
    free_now(&a);
    free_now(&b);
}

static void a_reserve_that_free_room_already_holds_pins_nothing(void **state)
{
    (void)state;
    gq_store_reserve(64 * KiB);
    struct gq_block a = alloc_ok(64 * KiB);
    free_now(&a); /* the slab stays pinned, free */
    gq_store_reserve(64 * KiB); /* the same tensor, allocated again */
    assert_int_equal(pinned(), 64 * KiB);
    struct gq_block b = alloc_ok(64 * KiB);
    assert_int_equal(pinned(), 64 * KiB);
    free_now(&b);
}

static void a_copy_with_no_room_never_waits_for_the_driver_when_over_budget(void **state)
{
    (void)state;
    /* No slab, and a budget that has no room for this block: refused at
     * once, and nothing asked of the grower. */
    gq_store_set_budget(8 * KiB);
    struct gq_block b;
    assert_int_equal(gq_store_alloc(64 * KiB, &b), GQ_STORE_OVER_BUDGET);
    assert_int_equal(pinned(), 0);
}

/* ---- blocks inside a slab --------------------------------------------- */

static void blocks_of_one_slab_lie_back_to_back_for_the_cpu_and_the_gpu(void **state)
{
    (void)state;
    gq_store_reserve(1000);
    gq_store_reserve(3000); /* 1024 + 3072: one 4 KiB slab holds both */
    assert_int_equal(pinned(), 4 * KiB);
    struct gq_block a = alloc_ok(1000), b = alloc_ok(3000);
    assert_ptr_equal(a.chunk, b.chunk);
    assert_ptr_equal(b.host, a.host + 1024);
    assert_true(b.dev - a.dev == 1024); /* the GPU sees the same layout */
    free_now(&a);
    free_now(&b);
}

static void sizes_round_up_to_256_bytes_and_blocks_are_aligned(void **state)
{
    (void)state;
    struct gq_block b[4];
    const size_t want[4] = {0, 1, 257, 4096};
    const size_t got[4] = {256, 256, 512, 4096};
    gq_store_reserve(256 + 256 + 512 + 4096);
    for (int i = 0; i < 4; i++) {
        b[i] = alloc_ok(want[i]);
        assert_int_equal(b[i].size, got[i]);
        assert_int_equal((uintptr_t)b[i].host % 256, 0);
        assert_int_equal(b[i].dev % 256, 0);
    }
    assert_int_equal(usage_now().in_blocks, 256 + 256 + 512 + 4096);
    for (int i = 0; i < 4; i++)
        free_now(&b[i]);
}

static void a_block_goes_to_the_smallest_hole_that_holds_it(void **state)
{
    (void)state;
    gq_store_reserve(4 * KiB);
    struct gq_block a = alloc_ok(1024), b = alloc_ok(512), c = alloc_ok(1024);
    struct gq_block d = alloc_ok(512), e = alloc_ok(1024); /* the slab is full */
    unsigned char *big_hole = a.host, *small_hole = d.host;
    free_now(&a);
    free_now(&d);
    struct gq_block f = alloc_ok(512); /* first fit would split a's hole */
    assert_ptr_equal(f.host, small_hole);
    struct gq_block g = alloc_ok(1024); /* a's hole is still whole */
    assert_ptr_equal(g.host, big_hole);
    free_now(&b);
    free_now(&c);
    free_now(&e);
    free_now(&f);
    free_now(&g);
}

static void neighbouring_holes_merge(void **state)
{
    (void)state;
    gq_store_reserve(4 * KiB);
    struct gq_block a = alloc_ok(1024), b = alloc_ok(1024), c = alloc_ok(1024), d = alloc_ok(1024);
    unsigned char *start = a.host;
    free_now(&a);
    free_now(&c);
    free_now(&b); /* joins a's hole and c's */
    struct gq_block abc = alloc_ok(3072);
    assert_ptr_equal(abc.host, start);
    free_now(&abc);
    free_now(&d);
}

static void a_freed_block_stays_pinned_for_the_next_one(void **state)
{
    (void)state;
    gq_store_reserve(MiB);
    struct gq_block a = alloc_ok(MiB);
    unsigned char *host = a.host;
    free_now(&a);
    struct gq_store_usage u = usage_now();
    assert_int_equal(u.in_blocks, 0);
    assert_int_equal(u.pinned, MiB); /* back in its slab, not to the driver */
    struct gq_block b = alloc_ok(MiB);
    assert_ptr_equal(b.host, host);
    free_now(&b);
}

static void drop_idle_gives_empty_slabs_back(void **state)
{
    (void)state;
    gq_store_reserve(64 * KiB);
    struct gq_block a = alloc_ok(64 * KiB);
    free_now(&a);
    assert_int_equal(pinned(), 64 * KiB);
    gq_store_drop_idle();
    assert_int_equal(pinned(), 0);
}

static void drop_idle_keeps_a_slab_with_a_live_block(void **state)
{
    (void)state;
    gq_store_reserve(64 * KiB); /* slab A */
    struct gq_block a = alloc_ok(64 * KiB);
    gq_store_reserve(32 * KiB); /* slab B */
    struct gq_block b = alloc_ok(16 * KiB), c = alloc_ok(16 * KiB);
    assert_int_equal(pinned(), 96 * KiB);
    free_now(&a); /* A is empty */
    free_now(&b); /* B still holds c */
    gq_store_drop_idle();
    assert_int_equal(pinned(), 32 * KiB);
    free_now(&c);
}

/* ---- the budget ------------------------------------------------------- */

static void a_reserve_pins_no_more_than_the_budget(void **state)
{
    (void)state;
    gq_store_set_budget(64 * KiB);
    gq_store_reserve(48 * KiB);
    gq_store_reserve(48 * KiB); /* room for one more 16 KiB only */
    assert_int_equal(pinned(), 48 * KiB);
    struct gq_block a = alloc_ok(48 * KiB), b;
    assert_int_equal(gq_store_alloc(48 * KiB, &b), GQ_STORE_OVER_BUDGET);
    assert_int_equal(pinned(), 48 * KiB);
    free_now(&a);
}

static void a_block_of_exactly_the_budget_is_served(void **state)
{
    (void)state;
    gq_store_set_budget(2 * MiB);
    gq_store_reserve(2 * MiB);
    assert_int_equal(pinned(), 2 * MiB);
    struct gq_block b = alloc_ok(2 * MiB);
    free_now(&b);
}

static void freeing_a_block_makes_room_under_the_budget(void **state)
{
    (void)state;
    gq_store_set_budget(4 * MiB);
    gq_store_reserve(4 * MiB);
    struct gq_block b[4], more;
    for (int i = 0; i < 4; i++)
        b[i] = alloc_ok(MiB);
    assert_int_equal(gq_store_alloc(MiB, &more), GQ_STORE_OVER_BUDGET);
    unsigned char *hole = b[2].host;
    free_now(&b[2]);
    more = alloc_ok(MiB);
    assert_ptr_equal(more.host, hole);
    free_now(&more);
    for (int i = 0; i < 4; i++)
        if (i != 2)
            free_now(&b[i]);
}

static void budget_zero_means_no_budget(void **state)
{
    (void)state;
    gq_store_set_budget(MiB);
    gq_store_set_budget(0);
    gq_store_reserve(8 * MiB);
    assert_int_equal(pinned(), 8 * MiB);
    struct gq_block b = alloc_ok(8 * MiB);
    free_now(&b);
}

/* ---- release against events ------------------------------------------ */

static void a_block_released_against_an_event_stays_in_use_until_it_completes(void **state)
{
    (void)state;
    CUstream s = ts_stream();
    struct ts_gate *gate = ts_gate_close(s);
    gq_store_reserve(1024);
    gq_store_reserve(1024);
    struct gq_block a = alloc_ok(1024);
    unsigned char *host = a.host;
    gq_store_release(&a, ts_event_on(s));
    assert_null(a.chunk); /* the caller's handle is spent */
    assert_int_equal(usage_now().in_blocks, 1024);
    struct gq_block b = alloc_ok(1024); /* not the block the GPU may still use */
    assert_ptr_not_equal(b.host, host);
    ts_gate_open(gate);
    ts_stream_done(s);
    assert_int_equal(usage_now().in_blocks, 1024); /* b's only */
    struct gq_block c = alloc_ok(1024); /* the best fit: a's place */
    assert_ptr_equal(c.host, host);
    free_now(&b);
    free_now(&c);
}

static void a_block_released_after_several_events_waits_for_all(void **state)
{
    (void)state;
    CUstream s1 = ts_stream(), s2 = ts_stream();
    struct ts_gate *g1 = ts_gate_close(s1);
    struct ts_gate *g2 = ts_gate_close(s2);
    gq_store_reserve(1024);
    struct gq_block a = alloc_ok(1024);
    CUevent done[2] = {ts_event_on(s1), ts_event_on(s2)};
    gq_store_release_after(&a, done, 2);
    ts_gate_open(g1);
    assert_int_equal(gq_drv()->cuStreamSynchronize(s1), CUDA_SUCCESS);
    assert_int_equal(usage_now().in_blocks, 1024);
    ts_gate_open(g2);
    ts_stream_done(s2);
    assert_int_equal(usage_now().in_blocks, 0);
    ts_stream_done(s1);
}

static void drop_idle_waits_for_released_blocks(void **state)
{
    (void)state;
    CUstream s = ts_stream();
    struct ts_gate *gate = ts_gate_close(s);
    gq_store_reserve(2 * MiB);
    struct gq_block a = alloc_ok(2 * MiB);
    gq_store_release(&a, ts_event_on(s));
    ts_gate_open_later(gate, 20);
    gq_store_drop_idle(); /* returns once the block is free, with its slab */
    assert_true(ts_gate_is_open(gate));
    assert_int_equal(pinned(), 0);
    ts_stream_done(s);
}

/* ---- usage ------------------------------------------------------------ */

static void usage_counts_pinned_bytes_bytes_in_blocks_and_the_peak(void **state)
{
    (void)state;
    /* Bigger than any other test pins, so it sets the peak. */
    gq_store_reserve(64 * MiB);
    struct gq_block big = alloc_ok(64 * MiB);
    gq_store_reserve(1000);
    struct gq_block small = alloc_ok(1000);
    struct gq_store_usage u = usage_now();
    assert_int_equal(u.pinned, 64 * MiB + 4 * KiB);
    assert_int_equal(u.in_blocks, 64 * MiB + 1024);
    assert_int_equal(u.peak_pinned, 64 * MiB + 4 * KiB);
    free_now(&big);
    free_now(&small);
    gq_store_drop_idle();
    u = usage_now();
    assert_int_equal(u.pinned, 0);
    assert_int_equal(u.in_blocks, 0);
    assert_int_equal(u.peak_pinned, 64 * MiB + 4 * KiB); /* a peak stays */
}

/* ---- the store's thread (last: see the top) ------------------------- */

static void a_copy_that_finds_no_room_goes_on_while_the_store_adds_a_slab(void **state)
{
    (void)state;
    struct gq_block b;
    assert_int_equal(gq_store_alloc(64 * KiB, &b), GQ_STORE_GROWING);
    /* Nothing was pinned: the grower's first slab is its minimum. */
    assert_int_equal(wait_pinned(GROWER_SLAB_MIN), GROWER_SLAB_MIN);
    b = alloc_ok(64 * KiB);
    assert_int_equal(pinned(), GROWER_SLAB_MIN); /* room for more: no growth */
    free_now(&b);
}

static void the_grower_stays_within_the_budget(void **state)
{
    (void)state;
    gq_store_set_budget(MiB); /* less than the grower's minimum */
    struct gq_block b;
    assert_int_equal(gq_store_alloc(64 * KiB, &b), GQ_STORE_GROWING);
    assert_int_equal(wait_pinned(MiB), MiB);
    b = alloc_ok(64 * KiB);
    free_now(&b);
}

static void once_outgrown_the_store_adds_room_ahead_of_the_next_copy(void **state)
{
    (void)state;
    struct gq_block b, c;
    /* A copy finds no room (again: this test must not lean on the others). */
    assert_int_equal(gq_store_alloc(64 * KiB, &b), GQ_STORE_GROWING);
    assert_int_equal(wait_pinned(GROWER_SLAB_MIN), GROWER_SLAB_MIN);
    /* Two tensors of 4 MiB allocated: the grower's free slab holds the
     * first, a second slab is pinned for the other. */
    gq_store_reserve(GROWER_SLAB_MIN);
    assert_int_equal(pinned(), GROWER_SLAB_MIN);
    gq_store_reserve(GROWER_SLAB_MIN);
    assert_int_equal(pinned(), 2 * GROWER_SLAB_MIN);
    b = alloc_ok(GROWER_SLAB_MIN); /* the other slab still holds one like it */
    c = alloc_ok(GROWER_SLAB_MIN); /* now none would: the grower adds one */
    /* Its share: a quarter of what is pinned, at least its minimum. */
    assert_int_equal(wait_pinned(3 * GROWER_SLAB_MIN), 3 * GROWER_SLAB_MIN);
    gq_store_set_budget(3 * GROWER_SLAB_MIN); /* no more growth after d */
    struct gq_block d = alloc_ok(GROWER_SLAB_MIN); /* served, not GROWING */
    assert_int_equal(pinned(), 3 * GROWER_SLAB_MIN);
    free_now(&b);
    free_now(&c);
    free_now(&d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, clean_store, empty_store)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_reserve_pins_a_slab_of_the_block_rounded_to_4_KiB),
        T(a_reserve_of_zero_bytes_pins_nothing),
        T(each_reserve_counts_the_ones_before_it),
        T(a_reserve_that_free_room_already_holds_pins_nothing),
        T(a_copy_with_no_room_never_waits_for_the_driver_when_over_budget),
        T(blocks_of_one_slab_lie_back_to_back_for_the_cpu_and_the_gpu),
        T(sizes_round_up_to_256_bytes_and_blocks_are_aligned),
        T(a_block_goes_to_the_smallest_hole_that_holds_it),
        T(neighbouring_holes_merge),
        T(a_freed_block_stays_pinned_for_the_next_one),
        T(drop_idle_gives_empty_slabs_back),
        T(drop_idle_keeps_a_slab_with_a_live_block),
        T(a_reserve_pins_no_more_than_the_budget),
        T(a_block_of_exactly_the_budget_is_served),
        T(freeing_a_block_makes_room_under_the_budget),
        T(budget_zero_means_no_budget),
        T(a_block_released_against_an_event_stays_in_use_until_it_completes),
        T(a_block_released_after_several_events_waits_for_all),
        T(drop_idle_waits_for_released_blocks),
        T(usage_counts_pinned_bytes_bytes_in_blocks_and_the_peak),
        T(a_copy_that_finds_no_room_goes_on_while_the_store_adds_a_slab),
        T(the_grower_stays_within_the_budget),
        T(once_outgrown_the_store_adds_room_ahead_of_the_next_copy),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}

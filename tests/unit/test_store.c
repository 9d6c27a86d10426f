/*
 * test_store.c — the pinned store (store/gq_store.c) on cudasim's driver:
 * first fit inside shared chunks, dedicated chunks for big blocks and their
 * cache, the budget, blocks released against events, the usage counters.
 *
 * Each test starts from an empty store (no chunk pinned, no budget) and
 * leaves it so.
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
#define SHARED_CHUNK (4 * MiB) /* gq_store.c: GQ_CHUNK_SHARED */

static struct gq_store_usage usage_now(void)
{
    struct gq_store_usage u;
    gq_store_usage(&u);
    return u;
}

static struct gq_block alloc_ok(size_t size)
{
    struct gq_block b;
    assert_int_equal(gq_store_alloc(size, &b), GQ_STORE_OK);
    return b;
}

static void free_now(struct gq_block *b) { gq_store_release(b, NULL); }

static int group_setup(void **state)
{
    (void)state;
    if (ts_load_cudasim() != 0)
        return -1;
    gq_store_set_budget(0); /* none, and GQSHIM_POOL_MAX is not read */
    return 0;
}

static int empty_store(void **state)
{
    (void)state;
    ts_gates_open_all();
    gq_store_set_budget(0);
    gq_store_drop_idle();
    struct gq_store_usage u = usage_now();
    assert_int_equal(u.pinned, 0);
    assert_int_equal(u.in_blocks, 0);
    return 0;
}

/* ---- shared chunks ---------------------------------------------------- */

static void small_blocks_share_one_chunk_back_to_back(void **state)
{
    (void)state;
    struct gq_block a = alloc_ok(1000), b = alloc_ok(3000);
    assert_ptr_equal(a.chunk, b.chunk);
    assert_ptr_equal(b.host, a.host + 1024);
    assert_true(b.dev - a.dev == 1024); /* the GPU sees the same layout */
    assert_int_equal(usage_now().pinned, SHARED_CHUNK);
    free_now(&a);
    free_now(&b);
}

static void sizes_round_up_to_256_bytes_and_blocks_are_aligned(void **state)
{
    (void)state;
    struct gq_block b[4];
    const size_t want[4] = {0, 1, 257, 4096};
    const size_t got[4] = {256, 256, 512, 4096};
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

static void freed_hole_is_reused_by_the_next_block_that_fits(void **state)
{
    (void)state;
    struct gq_block a = alloc_ok(1024), b = alloc_ok(1024), c = alloc_ok(1024);
    unsigned char *hole = b.host;
    free_now(&b);
    struct gq_block big = alloc_ok(2048); /* does not fit the hole: after c */
    assert_ptr_equal(big.host, c.host + 1024);
    struct gq_block small = alloc_ok(512); /* first fit: the hole */
    assert_ptr_equal(small.host, hole);
    free_now(&a);
    free_now(&c);
    free_now(&big);
    free_now(&small);
}

static void neighbouring_holes_merge(void **state)
{
    (void)state;
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

static void a_block_that_fits_no_shared_chunk_opens_another(void **state)
{
    (void)state;
    struct gq_block b[5];
    for (int i = 0; i < 4; i++) /* just under 1 MiB: still shared */
        b[i] = alloc_ok(MiB - 256);
    assert_int_equal(usage_now().pinned, SHARED_CHUNK);
    b[4] = alloc_ok(MiB - 256);
    assert_ptr_not_equal(b[4].chunk, b[0].chunk);
    assert_int_equal(usage_now().pinned, 2 * SHARED_CHUNK);
    for (int i = 0; i < 5; i++)
        free_now(&b[i]);
}

static void drop_idle_gives_empty_shared_chunks_back(void **state)
{
    (void)state;
    struct gq_block a = alloc_ok(1024);
    free_now(&a);
    assert_int_equal(usage_now().pinned, SHARED_CHUNK); /* kept for the next block */
    gq_store_drop_idle();
    assert_int_equal(usage_now().pinned, 0);
}

static void drop_idle_keeps_a_chunk_with_a_live_block(void **state)
{
    (void)state;
    struct gq_block a = alloc_ok(1024), b = alloc_ok(1024);
    free_now(&b); /* one free extent again, but a is live */
    gq_store_drop_idle();
    assert_int_equal(usage_now().pinned, SHARED_CHUNK);
    free_now(&a);
}

/* ---- dedicated chunks ------------------------------------------------- */

static void a_big_block_gets_a_chunk_of_its_own_rounded_to_4_KiB(void **state)
{
    (void)state;
    struct gq_block small = alloc_ok(1024);
    struct gq_block big = alloc_ok(MiB + 1); /* 1 MiB + 256 in the block */
    assert_int_equal(big.size, MiB + 256);
    assert_ptr_not_equal(big.chunk, small.chunk);
    assert_int_equal((uintptr_t)big.host % (4 * KiB), 0); /* at the chunk's start */
    assert_int_equal(usage_now().pinned, SHARED_CHUNK + MiB + 4 * KiB);
    free_now(&big);
    free_now(&small);
}

static void one_MiB_is_dedicated_and_just_below_is_shared(void **state)
{
    (void)state;
    struct gq_block below = alloc_ok(MiB - 256);
    assert_int_equal(usage_now().pinned, SHARED_CHUNK);
    struct gq_block at = alloc_ok(MiB);
    assert_ptr_not_equal(at.chunk, below.chunk);
    assert_int_equal(usage_now().pinned, SHARED_CHUNK + MiB);
    free_now(&at);
    free_now(&below);
}

static void a_freed_dedicated_chunk_is_cached_and_reused(void **state)
{
    (void)state;
    struct gq_block a = alloc_ok(2 * MiB);
    unsigned char *host = a.host;
    free_now(&a);
    struct gq_store_usage u = usage_now();
    assert_int_equal(u.in_blocks, 0);
    assert_int_equal(u.pinned, 2 * MiB); /* still pinned, in the cache */
    struct gq_block b = alloc_ok(2 * MiB - 100 * KiB);
    assert_ptr_equal(b.host, host);
    assert_int_equal(usage_now().pinned, 2 * MiB);
    free_now(&b);
}

static void the_cache_serves_no_block_that_would_waste_over_an_eighth(void **state)
{
    (void)state;
    struct gq_block a = alloc_ok(2 * MiB);
    unsigned char *host = a.host;
    free_now(&a);
    struct gq_block b = alloc_ok(MiB + 512 * KiB); /* would waste a third */
    assert_ptr_not_equal(b.host, host);
    assert_int_equal(usage_now().pinned, 2 * MiB + MiB + 512 * KiB);
    free_now(&b);
}

static void the_cache_holds_at_most_eight_chunks(void **state)
{
    (void)state;
    struct gq_block b[9];
    for (int i = 0; i < 9; i++)
        b[i] = alloc_ok(MiB);
    assert_int_equal(usage_now().pinned, 9 * MiB);
    for (int i = 0; i < 9; i++)
        free_now(&b[i]);
    assert_int_equal(usage_now().pinned, 8 * MiB); /* the ninth went back */
}

static void drop_idle_empties_the_cache(void **state)
{
    (void)state;
    struct gq_block a = alloc_ok(2 * MiB);
    free_now(&a);
    gq_store_drop_idle();
    assert_int_equal(usage_now().pinned, 0);
}

/* ---- the budget ------------------------------------------------------- */

static void an_allocation_over_budget_fails_and_pins_nothing(void **state)
{
    (void)state;
    gq_store_set_budget(SHARED_CHUNK);
    struct gq_block small = alloc_ok(1024); /* the shared chunk: the whole budget */
    struct gq_block big;
    assert_int_equal(gq_store_alloc(MiB, &big), GQ_STORE_OVER_BUDGET);
    struct gq_store_usage u = usage_now();
    assert_int_equal(u.pinned, SHARED_CHUNK);
    assert_int_equal(u.in_blocks, 1024);
    free_now(&small);
}

static void a_block_within_budget_is_served(void **state)
{
    (void)state;
    gq_store_set_budget(2 * MiB);
    struct gq_block b = alloc_ok(2 * MiB); /* exactly the budget */
    free_now(&b);
}

static void freeing_a_block_makes_room_under_the_budget(void **state)
{
    (void)state;
    gq_store_set_budget(SHARED_CHUNK); /* one shared chunk, no second */
    struct gq_block b[4], more;
    for (int i = 0; i < 4; i++)
        b[i] = alloc_ok(MiB - 256);
    assert_int_equal(gq_store_alloc(MiB - 256, &more), GQ_STORE_OVER_BUDGET);
    free_now(&b[2]);
    more = alloc_ok(MiB - 256);
    assert_ptr_equal(more.host, b[2].host);
    free_now(&more);
    for (int i = 0; i < 4; i++)
        if (i != 2)
            free_now(&b[i]);
}

static void the_cache_is_given_back_before_the_budget_refuses(void **state)
{
    (void)state;
    gq_store_set_budget(3 * MiB);
    struct gq_block a = alloc_ok(2 * MiB);
    free_now(&a); /* cached: 2 MiB still pinned */
    struct gq_block b = alloc_ok(MiB + 512 * KiB); /* not from the cache (waste) */
    assert_int_equal(usage_now().pinned, MiB + 512 * KiB);
    free_now(&b);
}

static void budget_zero_means_no_budget(void **state)
{
    (void)state;
    gq_store_set_budget(MiB);
    gq_store_set_budget(0);
    struct gq_block b = alloc_ok(8 * MiB);
    free_now(&b);
}

/* ---- release against events ------------------------------------------ */

static void a_block_released_against_an_event_stays_in_use_until_it_completes(void **state)
{
    (void)state;
    CUstream s = ts_stream();
    struct ts_gate *gate = ts_gate_close(s);
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
    struct gq_block c = alloc_ok(1024);
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
    struct gq_block a = alloc_ok(2 * MiB);
    gq_store_release(&a, ts_event_on(s));
    ts_gate_open_later(gate, 20);
    gq_store_drop_idle(); /* returns once the block is free, with its chunk */
    assert_int_equal(usage_now().pinned, 0);
    ts_stream_done(s);
}

/* ---- usage ------------------------------------------------------------ */

static void usage_counts_pinned_bytes_bytes_in_blocks_and_the_peak(void **state)
{
    (void)state;
    /* Bigger than any other test pins, so it sets the peak. */
    struct gq_block big = alloc_ok(64 * MiB), small = alloc_ok(1000);
    struct gq_store_usage u = usage_now();
    assert_int_equal(u.pinned, 64 * MiB + SHARED_CHUNK);
    assert_int_equal(u.in_blocks, 64 * MiB + 1024);
    assert_int_equal(u.peak_pinned, 64 * MiB + SHARED_CHUNK);
    free_now(&big);
    free_now(&small);
    gq_store_drop_idle();
    u = usage_now();
    assert_int_equal(u.pinned, 0);
    assert_int_equal(u.in_blocks, 0);
    assert_int_equal(u.peak_pinned, 64 * MiB + SHARED_CHUNK); /* a peak stays */
}

#define T(f) cmocka_unit_test_setup_teardown(f, empty_store, empty_store)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(small_blocks_share_one_chunk_back_to_back),
        T(sizes_round_up_to_256_bytes_and_blocks_are_aligned),
        T(freed_hole_is_reused_by_the_next_block_that_fits),
        T(neighbouring_holes_merge),
        T(a_block_that_fits_no_shared_chunk_opens_another),
        T(drop_idle_gives_empty_shared_chunks_back),
        T(drop_idle_keeps_a_chunk_with_a_live_block),
        T(a_big_block_gets_a_chunk_of_its_own_rounded_to_4_KiB),
        T(one_MiB_is_dedicated_and_just_below_is_shared),
        T(a_freed_dedicated_chunk_is_cached_and_reused),
        T(the_cache_serves_no_block_that_would_waste_over_an_eighth),
        T(the_cache_holds_at_most_eight_chunks),
        T(drop_idle_empties_the_cache),
        T(an_allocation_over_budget_fails_and_pins_nothing),
        T(a_block_within_budget_is_served),
        T(freeing_a_block_makes_room_under_the_budget),
        T(the_cache_is_given_back_before_the_budget_refuses),
        T(budget_zero_means_no_budget),
        T(a_block_released_against_an_event_stays_in_use_until_it_completes),
        T(a_block_released_after_several_events_waits_for_all),
        T(drop_idle_waits_for_released_blocks),
        T(usage_counts_pinned_bytes_bytes_in_blocks_and_the_peak),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}

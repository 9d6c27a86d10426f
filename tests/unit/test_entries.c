/*
 * test_entries.c — compressed entries (store/gq_entries.c) on cudasim's
 * driver: references and lifetime, publishing over older entries, drop and
 * discard, lookups, the lock-free bounds, blocks released only after the GPU
 * work that reads or writes them, the decode callback, a block handed to the
 * next offload of the same buffer, reaping.
 *
 * Each entry's block comes from the real store, so the store's count of
 * bytes in blocks shows whether an entry still exists. Each test starts with
 * no entry published and must end having destroyed every entry it made.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/gq_entries.h"
#include "host/gq_hostmem.h"
#include "host/gq_wtrack.h"
#include "gq_codec.h"
#include "test_sim_util.h"

#define KiB ((size_t)1 << 10)
#define BLOCK 1024 /* each test entry's block, unless it holds real data */

/* Ranges for entries that never touch their bytes: addresses only. */
static unsigned char arena[256 * KiB] __attribute__((aligned(4096)));
#define AT(k) ((uintptr_t)arena + (size_t)(k) * KiB)

static const struct gq_params f32_4bit = {4, 64, GQ_F32, GQ_DIM_LAST, 0};

static size_t in_blocks(void)
{
    struct gq_store_usage u;
    gq_store_usage(&u);
    return u.in_blocks;
}

/* An entry's state is atomic: other threads read it (gq_entries.h). */
static void set_state(struct gq_entry *e, enum gq_entry_state st)
{
    __atomic_store_n(&e->state, (int)st, __ATOMIC_RELEASE);
}

static int state_of(const struct gq_entry *e)
{
    return __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
}

static int refs(const struct gq_entry *e) { return __atomic_load_n(&e->refs, __ATOMIC_ACQUIRE); }

/* How a tensor of len bytes of f32 is cut (store/gq_segs.h). */
static struct gq_segs segs_of(size_t len)
{
    struct gq_segs g;
    assert_int_equal(gq_segs_init(&g, &f32_4bit, len / sizeof(float), GQ_SEG_TARGET, 0), GQ_OK);
    return g;
}

/* An entry for [start, start+len) with a block of BLOCK bytes. */
static struct gq_entry *entry(uintptr_t start, size_t len)
{
    struct gq_segs g = segs_of(len);
    struct gq_block b;
    assert_int_equal(gq_store_alloc(BLOCK, &b), GQ_STORE_OK);
    struct gq_entry *e = gq_entry_new(start, len, &g, &b, NULL);
    assert_non_null(e);
    return e;
}

/* An entry whose block holds [src, src+len) compressed (f32, 4 bits). */
static struct gq_entry *entry_holding(uintptr_t start, const float *src, size_t len)
{
    struct gq_segs g = segs_of(len);
    struct gq_block b;
    assert_int_equal(gq_store_alloc(g.total, &b), GQ_STORE_OK);
    assert_int_equal(gq_segs_encode(&g, src, b.host), GQ_OK);
    struct gq_entry *e = gq_entry_new(start, len, &g, &b, NULL);
    assert_non_null(e);
    return e;
}

static float *ramp(size_t len)
{
    float *v = malloc(len);
    assert_non_null(v);
    for (size_t i = 0; i < len / sizeof *v; i++)
        v[i] = 1.0f + (float)(i % 1000) * 0.25f;
    return v;
}

/* What a restore of e's block delivers. */
static unsigned char *decoded(const struct gq_entry *e)
{
    unsigned char *v = malloc(e->len);
    assert_non_null(v);
    assert_int_equal(gq_segs_decode_range(&e->segs, e->block.host, 0, e->segs.n_elems, v), GQ_OK);
    return v;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static enum gq_lookup lookup(uintptr_t p, size_t len, struct gq_entry **out)
{
    *out = NULL;
    return gq_entries_lookup((const void *)p, len, out);
}

static int group_setup(void **state)
{
    (void)state;
    if (ts_load_cudasim() != 0)
        return -1;
    gq_store_set_budget(0);
    gq_hostmem_set_filler(gq_entries_fill_span, gq_entries_owned_extent); /* as entry/gq_startup.c does */
    return 0;
}

/* Blocks held when a test starts: none, unless an earlier test failed
 * holding some (then each later test is still checked on its own). */
static size_t blocks_before;

/* Bytes in the blocks of this test's entries. */
static size_t held(void) { return in_blocks() - blocks_before; }

static void drop_everything(void)
{
    ts_gates_open_all();
    gq_entries_discard((const void *)1, UINTPTR_MAX - 1);
    gq_store_drop_idle();
    assert_false(gq_entries_may_hold((const void *)1, UINTPTR_MAX - 1));
}

/* The store adds slabs only at allocation events (store/gq_store.h): give
 * it one the tests' blocks fit, as the program's allocation would. The
 * block taken and given back at once leaves no reservation behind. */
#define SLAB ((size_t)1 << 20)
static void prime_store(void)
{
    struct gq_block b;
    gq_store_reserve(SLAB);
    assert_int_equal(gq_store_alloc(SLAB, &b), GQ_STORE_OK);
    gq_store_release(&b, NULL);
}

static int no_entries(void **state)
{
    (void)state;
    drop_everything();
    prime_store();
    blocks_before = in_blocks();
    return 0;
}

static int no_entries_left(void **state)
{
    (void)state;
    drop_everything();
    assert_int_equal(held(), 0); /* every entry was destroyed */
    return 0;
}

/* ---- references and lifetime ---------------------------------------- */

static void a_new_entry_holds_one_reference_and_is_not_published(void **state)
{
    (void)state;
    struct gq_entry *e = entry(AT(0), 4 * KiB), *found;
    assert_int_equal(refs(e), 1);
    assert_int_equal(state_of(e), GQ_ENTRY_PENDING);
    assert_int_equal(lookup(AT(0), 4 * KiB, &found), GQ_LOOKUP_NONE);
    gq_entry_put(e);
}

static void putting_the_last_reference_returns_the_block(void **state)
{
    (void)state;
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    assert_int_equal(held(), BLOCK);
    gq_entry_put(e);
    assert_int_equal(held(), 0);
}

static void publishing_adds_the_maps_reference(void **state)
{
    (void)state;
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    gq_entries_publish(e);
    assert_int_equal(refs(e), 2);
    gq_entry_put(e); /* the map's keeps it */
    assert_int_equal(held(), BLOCK);
    gq_entries_discard((const void *)AT(0), 4 * KiB);
    assert_int_equal(held(), 0);
}

static void an_entry_dropped_from_the_map_lives_while_referenced(void **state)
{
    (void)state;
    struct gq_entry *e = entry(AT(0), 4 * KiB), *found;
    gq_entries_publish(e);
    gq_entry_put(e);
    assert_int_equal(lookup(AT(0), 4 * KiB, &found), GQ_LOOKUP_ONE);
    gq_entries_discard((const void *)AT(0), 4 * KiB);
    assert_int_equal(lookup(AT(0), 4 * KiB, &found), GQ_LOOKUP_NONE);
    assert_int_equal(refs(e), 1); /* the lookup's */
    assert_int_equal(e->start, AT(0));
    assert_int_equal(held(), BLOCK);
    gq_entry_put(e);
    assert_int_equal(held(), 0);
}

/* ---- lookups and bounds ----------------------------------------------- */

static void a_lookup_inside_an_entry_finds_it_and_takes_a_reference(void **state)
{
    (void)state;
    struct gq_entry *e = entry(AT(4), 8 * KiB), *found;
    gq_entries_publish(e);
    assert_int_equal(lookup(AT(6), 2 * KiB, &found), GQ_LOOKUP_ONE);
    assert_ptr_equal(found, e);
    assert_int_equal(refs(e), 3);
    gq_entry_put(found);
    assert_int_equal(lookup(AT(4), 8 * KiB, &found), GQ_LOOKUP_ONE); /* exactly its range */
    gq_entry_put(found);
    gq_entry_put(e);
}

static void a_lookup_outside_every_entry_finds_none(void **state)
{
    (void)state;
    struct gq_entry *a = entry(AT(0), 4 * KiB), *b = entry(AT(8), 4 * KiB), *found;
    gq_entries_publish(a);
    gq_entries_publish(b);
    assert_int_equal(lookup(AT(4), 4 * KiB, &found), GQ_LOOKUP_NONE); /* the gap */
    assert_int_equal(lookup(AT(12), 1, &found), GQ_LOOKUP_NONE);      /* just past b */
    assert_int_equal(lookup(AT(0) - 1, 1, &found), GQ_LOOKUP_NONE);   /* just before a */
    assert_null(found);
    assert_int_equal(refs(a), 2);
    assert_int_equal(refs(b), 2);
    gq_entry_put(a);
    gq_entry_put(b);
}

static void a_lookup_over_an_entrys_edge_spans(void **state)
{
    (void)state;
    struct gq_entry *a = entry(AT(0), 4 * KiB), *b = entry(AT(4), 4 * KiB), *found;
    gq_entries_publish(a);
    gq_entries_publish(b);
    assert_int_equal(lookup(AT(2), 4 * KiB, &found), GQ_LOOKUP_SPANS); /* half a, half b */
    assert_int_equal(lookup(AT(6), 4 * KiB, &found), GQ_LOOKUP_SPANS); /* past b's end */
    assert_int_equal(lookup(AT(0) - 1, 2, &found), GQ_LOOKUP_SPANS);  /* before a's start */
    assert_null(found);
    assert_int_equal(refs(a), 2);
    assert_int_equal(refs(b), 2);
    gq_entry_put(a);
    gq_entry_put(b);
}

static void may_hold_is_zero_exactly_outside_the_entries_bounds(void **state)
{
    (void)state;
    assert_false(gq_entries_may_hold((const void *)AT(0), 64 * KiB));
    struct gq_entry *a = entry(AT(4), 4 * KiB), *b = entry(AT(16), 4 * KiB);
    gq_entries_publish(a);
    gq_entries_publish(b);
    assert_false(gq_entries_may_hold((const void *)AT(0), 4 * KiB)); /* ends at a's start */
    assert_true(gq_entries_may_hold((const void *)AT(0), 4 * KiB + 1));
    assert_false(gq_entries_may_hold((const void *)AT(20), 4 * KiB)); /* starts at b's end */
    assert_true(gq_entries_may_hold((const void *)(AT(20) - 1), 1));
    assert_true(gq_entries_may_hold((const void *)AT(10), 1)); /* between: "may" */
    gq_entry_put(a);
    gq_entry_put(b);
    gq_entries_discard((const void *)AT(0), 64 * KiB);
    assert_false(gq_entries_may_hold((const void *)AT(4), 4 * KiB));
}

/* ---- publish, drop, discard ------------------------------------------ */

static void publishing_replaces_every_overlapping_entry(void **state)
{
    (void)state;
    struct gq_entry *a = entry(AT(0), 8 * KiB), *b = entry(AT(8), 8 * KiB);
    struct gq_entry *c = entry(AT(16), 4 * KiB), *over = entry(AT(4), 8 * KiB), *found;
    gq_entries_publish(a);
    gq_entries_publish(b);
    gq_entries_publish(c);
    gq_entries_publish(over); /* half of a, half of b */
    assert_int_equal(refs(a), 1); /* the map let go */
    assert_int_equal(refs(b), 1);
    assert_int_equal(refs(c), 2); /* only touches: kept */
    assert_int_equal(lookup(AT(0), 4 * KiB, &found), GQ_LOOKUP_NONE);
    assert_int_equal(lookup(AT(12), 4 * KiB, &found), GQ_LOOKUP_NONE);
    assert_int_equal(lookup(AT(4), 8 * KiB, &found), GQ_LOOKUP_ONE);
    assert_ptr_equal(found, over);
    gq_entry_put(found);
    gq_entry_put(a);
    gq_entry_put(b);
    assert_int_equal(held(), 2 * BLOCK); /* a's and b's are back */
    gq_entry_put(c);
    gq_entry_put(over);
}

static void publishing_the_same_range_again_replaces_the_older_entry(void **state)
{
    (void)state;
    struct gq_entry *old = entry(AT(0), 4 * KiB), *new = entry(AT(0), 4 * KiB), *found;
    gq_entries_publish(old);
    gq_entry_put(old);
    gq_entries_publish(new);
    assert_int_equal(held(), BLOCK); /* old's went back */
    assert_int_equal(lookup(AT(0), 4 * KiB, &found), GQ_LOOKUP_ONE);
    assert_ptr_equal(found, new);
    gq_entry_put(found);
    gq_entry_put(new);
}

static void drop_removes_every_entry_the_range_touches_and_no_other(void **state)
{
    (void)state;
    struct gq_entry *a = entry(AT(0), 4 * KiB), *b = entry(AT(4), 4 * KiB);
    struct gq_entry *c = entry(AT(8), 4 * KiB), *found;
    gq_entries_publish(a);
    gq_entries_publish(b);
    gq_entries_publish(c);
    gq_entries_drop((const void *)(AT(4) - 1), 2); /* a's last byte, b's first */
    assert_int_equal(refs(a), 1);
    assert_int_equal(refs(b), 1);
    assert_int_equal(refs(c), 2);
    assert_int_equal(lookup(AT(8), 4 * KiB, &found), GQ_LOOKUP_ONE);
    gq_entry_put(found);
    gq_entry_put(a);
    gq_entry_put(b);
    gq_entry_put(c);
}

static void discard_removes_every_entry_the_range_touches(void **state)
{
    (void)state;
    struct gq_entry *a = entry(AT(0), 4 * KiB), *b = entry(AT(4), 4 * KiB);
    gq_entries_publish(a);
    gq_entries_publish(b);
    gq_entries_discard((const void *)(AT(4) - 1), 1); /* a's last byte */
    assert_int_equal(refs(a), 1);
    assert_int_equal(refs(b), 2);
    gq_entry_put(a);
    gq_entry_put(b);
}

static void drop_and_discard_of_an_empty_range_remove_nothing(void **state)
{
    (void)state;
    struct gq_entry *a = entry(AT(0), 4 * KiB);
    gq_entries_publish(a);
    gq_entries_drop((const void *)AT(0), 0);
    gq_entries_discard((const void *)AT(0), 0);
    gq_entries_drop(NULL, 4 * KiB);
    gq_entries_discard(NULL, 4 * KiB);
    assert_int_equal(refs(a), 2);
    gq_entry_put(a);
}

/* ---- owned host memory (host/gq_hostmem.h) --------------------------- */

/* An owned range of three pages whose bytes live only in a published
 * entry: each page faults in decoded from the block. NULL (test skipped)
 * where this kernel cannot serve faults to the shim. */
static unsigned char *owned_entry(struct gq_entry **out, unsigned char **expect)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *p = gq_hostmem_alloc(3 * ps);
    if (!p)
        return NULL;
    float *src = ramp(3 * ps);
    struct gq_entry *e = entry_holding((uintptr_t)p, src, 3 * ps);
    free(src);
    set_state(e, GQ_ENTRY_OWNED);
    gq_entries_publish(e);
    *expect = decoded(e);
    assert_false(all_zero(*expect, ps));
    *out = e;
    return p;
}

static void drop_keeps_an_owned_entrys_bytes_outside_the_dropped_pages(void **state)
{
    (void)state;
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    struct gq_entry *e;
    unsigned char *expect, *p = owned_entry(&e, &expect);
    if (!p)
        skip();
    gq_entries_drop(p + ps, ps); /* the middle page is being replaced */
    struct gq_entry *found;
    assert_int_equal(lookup((uintptr_t)p, 3 * ps, &found), GQ_LOOKUP_NONE);
    assert_memory_equal(p, expect, ps);
    assert_memory_equal(p + 2 * ps, expect + 2 * ps, ps);
    assert_true(all_zero(p + ps, ps)); /* nobody's bytes: a fresh page */
    gq_entry_put(e);
    free(expect);
    assert_true(gq_hostmem_free(p));
}

static void discard_forgets_an_owned_entrys_bytes(void **state)
{
    (void)state;
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    struct gq_entry *e;
    unsigned char *expect, *p = owned_entry(&e, &expect);
    if (!p)
        skip();
    gq_entries_discard(p + ps, ps);
    assert_true(all_zero(p, 3 * ps));
    gq_entry_put(e);
    free(expect);
    assert_true(gq_hostmem_free(p));
}

static void release_makes_all_of_an_owned_entry_plain_memory(void **state)
{
    (void)state;
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    struct gq_entry *e;
    unsigned char *expect, *p = owned_entry(&e, &expect);
    if (!p)
        skip();
    gq_entries_release(e);
    assert_int_equal(refs(e), 1);
    assert_int_equal(state_of(e), GQ_ENTRY_UNTRACKED);
    assert_memory_equal(p, expect, 3 * ps);
    gq_entry_put(e);
    free(expect);
    assert_true(gq_hostmem_free(p));
}

static void an_owned_page_faults_in_decoded_from_the_entry(void **state)
{
    (void)state;
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    struct gq_entry *e;
    unsigned char *expect, *p = owned_entry(&e, &expect);
    if (!p)
        skip();
    assert_memory_equal(p + ps, expect + ps, ps);
    gq_entry_put(e);
    gq_entries_discard(p, 3 * ps);
    free(expect);
    assert_true(gq_hostmem_free(p));
}

static void an_owned_page_no_entry_covers_reads_zero_after_one_that_did(void **state)
{
    (void)state;
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    struct gq_entry *e;
    unsigned char *expect, *p = owned_entry(&e, &expect);
    if (!p)
        skip();
    unsigned char *other = gq_hostmem_alloc(ps);
    assert_non_null(other);
    assert_memory_equal(p, expect, ps); /* faulted in: decoded bytes */
    assert_true(all_zero(other, ps));   /* faulted in: nobody's */
    gq_entry_put(e);
    gq_entries_discard(p, 3 * ps);
    free(expect);
    assert_true(gq_hostmem_free(p));
    assert_true(gq_hostmem_free(other));
}

static void an_owned_page_never_faults_in_from_an_entry_that_is_not_owned(void **state)
{
    (void)state;
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    struct gq_entry *e;
    unsigned char *expect, *p = owned_entry(&e, &expect);
    if (!p)
        skip();
    set_state(e, GQ_ENTRY_UNTRACKED); /* made plain memory: no longer the page's source */
    assert_true(all_zero(p, ps));
    gq_entry_put(e);
    gq_entries_discard(p, 3 * ps);
    free(expect);
    assert_true(gq_hostmem_free(p));
}

/* ---- GPU work on the block ------------------------------------------- */

static void the_block_outlives_the_offload_writing_it(void **state)
{
    (void)state;
    CUstream s = ts_stream();
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    struct ts_gate *gate = ts_gate_close(s);
    assert_int_equal(gq_drv()->cuEventRecord(e->ready, s), CUDA_SUCCESS);
    gq_entry_put(e);
    assert_int_equal(held(), BLOCK);
    ts_gate_open(gate);
    ts_stream_done(s);
    assert_int_equal(held(), 0);
}

static void the_block_outlives_a_restore_still_reading_it(void **state)
{
    (void)state;
    CUstream s = ts_stream();
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    gq_entries_publish(e);
    struct ts_gate *gate = ts_gate_close(s);
    assert_int_equal(gq_entry_used(e, s), CUDA_SUCCESS);
    gq_entries_discard((const void *)AT(0), 4 * KiB);
    gq_entry_put(e);
    assert_int_equal(held(), BLOCK);
    ts_gate_open(gate);
    ts_stream_done(s);
    assert_int_equal(held(), 0);
}

static void the_block_outlives_every_restore_on_independent_streams(void **state)
{
    (void)state;
    CUstream s1 = ts_stream(), s2 = ts_stream();
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    struct ts_gate *g1 = ts_gate_close(s1);
    struct ts_gate *g2 = ts_gate_close(s2);
    assert_int_equal(gq_entry_used(e, s1), CUDA_SUCCESS);
    assert_int_equal(gq_entry_used(e, s2), CUDA_SUCCESS);
    gq_entry_put(e);
    ts_gate_open(g2);
    assert_int_equal(gq_drv()->cuStreamSynchronize(s2), CUDA_SUCCESS);
    assert_int_equal(held(), BLOCK);
    ts_gate_open(g1);
    ts_stream_done(s1);
    assert_int_equal(held(), 0);
    ts_stream_done(s2);
}

static void wait_ready_queues_a_stream_behind_the_offload(void **state)
{
    (void)state;
    CUstream offload = ts_stream(), restore = ts_stream();
    struct ts_seen seen;
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    struct ts_gate *gate = ts_gate_close(offload);
    assert_int_equal(gq_drv()->cuEventRecord(e->ready, offload), CUDA_SUCCESS);
    assert_int_equal(gq_entry_wait_ready(e, restore), CUDA_SUCCESS);
    ts_note_gate(&seen, gate, restore);
    ts_gate_open_later(gate, 20);
    assert_int_equal(gq_drv()->cuStreamSynchronize(restore), CUDA_SUCCESS);
    assert_true(seen.ran);
    assert_true(seen.gate_was_open); /* the restore's work came after the offload */
    gq_entry_put(e);
    ts_stream_done(restore);
    ts_stream_done(offload);
}

static void used_forgets_the_uses_that_have_completed(void **state)
{
    (void)state;
    CUstream s = ts_stream();
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(gq_entry_used(e, s), CUDA_SUCCESS);
        assert_int_equal(gq_drv()->cuStreamSynchronize(s), CUDA_SUCCESS);
    }
    assert_int_equal(e->n_uses, 1); /* the last one; nine were over */
    gq_entry_put(e);
    ts_stream_done(s);
}

/* A settle waits for `done`: raw reads must see the decoded host range,
 * and the decode callback runs between `ready` and `done`. */
static void settle_without_a_stream_waits_for_pending_offloads(void **state)
{
    (void)state;
    CUstream s = ts_stream();
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    gq_entries_publish(e);
    struct ts_gate *gate = ts_gate_close(s);
    assert_int_equal(gq_drv()->cuEventRecord(e->done, s), CUDA_SUCCESS);
    ts_gate_open_later(gate, 20);
    gq_entries_settle((const void *)AT(1), 1, NULL);
    assert_int_equal(gq_drv()->cuEventQuery(e->done), CUDA_SUCCESS);
    gq_entry_put(e);
    ts_stream_done(s);
}

static void settle_on_a_stream_queues_it_behind_pending_offloads(void **state)
{
    (void)state;
    CUstream offload = ts_stream(), reader = ts_stream();
    struct ts_seen seen;
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    gq_entries_publish(e);
    struct ts_gate *gate = ts_gate_close(offload);
    assert_int_equal(gq_drv()->cuEventRecord(e->done, offload), CUDA_SUCCESS);
    ts_gate_open_later(gate, 20);
    gq_entries_settle((const void *)AT(1), 1, reader);
    ts_note_gate(&seen, gate, reader);
    assert_int_equal(gq_drv()->cuStreamSynchronize(reader), CUDA_SUCCESS);
    assert_true(seen.ran);
    assert_true(seen.gate_was_open);
    gq_entry_put(e);
    ts_stream_done(reader);
    ts_stream_done(offload);
}

static void settle_on_a_stream_does_not_wait_in_the_calling_thread(void **state)
{
    (void)state;
    CUstream offload = ts_stream(), reader = ts_stream();
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    gq_entries_publish(e);
    struct ts_gate *gate = ts_gate_close(offload);
    assert_int_equal(gq_drv()->cuEventRecord(e->done, offload), CUDA_SUCCESS);
    ts_gate_open_later(gate, 1000); /* should settle wait here after all */
    gq_entries_settle((const void *)AT(1), 1, reader);
    assert_false(ts_gate_is_open(gate));
    ts_gate_open(gate);
    gq_entry_put(e);
    ts_stream_done(reader);
    ts_stream_done(offload);
}

static void settle_leaves_a_stream_free_of_offloads_already_decoded(void **state)
{
    (void)state;
    CUstream offload = ts_stream(), reader = ts_stream();
    struct ts_seen seen;
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    set_state(e, GQ_ENTRY_TRACKED); /* decoded: nothing to wait for */
    gq_entries_publish(e);
    struct ts_gate *gate = ts_gate_close(offload);
    assert_int_equal(gq_drv()->cuEventRecord(e->done, offload), CUDA_SUCCESS);
    gq_entries_settle((const void *)AT(1), 1, reader);
    ts_note_gate(&seen, gate, reader);
    assert_int_equal(gq_drv()->cuStreamSynchronize(reader), CUDA_SUCCESS);
    assert_false(seen.gate_was_open);
    ts_gate_open(gate);
    gq_entry_put(e);
    ts_stream_done(reader);
    ts_stream_done(offload);
}

/* ---- the decode callback and reaping --------------------------------- */

static void the_decode_callback_fills_the_host_range_and_the_next_publish_frees_it(void **state)
{
    (void)state;
    size_t len = 16 * KiB;
    unsigned char *host = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(host != MAP_FAILED);
    float *src = ramp(len);
    struct gq_entry *e = entry_holding((uintptr_t)host, src, len);
    free(src);
    unsigned char *expect = decoded(e);
    size_t block = e->block.size;
    gq_entry_decode_cb(e); /* the callback owns the only reference */
    assert_memory_equal(host, expect, len);
    assert_int_equal(held(), block); /* a callback never frees */
    struct gq_entry *next = entry(AT(0), 4 * KiB);
    gq_entries_publish(next);
    assert_int_equal(held(), BLOCK);
    gq_entry_put(next);
    free(expect);
    munmap(host, len);
}

static void the_decode_callback_marks_an_overflowed_block_failed(void **state)
{
    (void)state;
    size_t len = 16 * KiB;
    float *src = ramp(len);
    struct gq_entry *e = entry_holding(AT(0), src, len);
    free(src);
    ((struct gq_header *)e->block.host)->overflow = 1; /* the raw data went to the host */
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED); /* keep it to look at */
    gq_entry_decode_cb(e);
    assert_int_equal(state_of(e), GQ_ENTRY_FAILED);
    assert_true(all_zero(arena, len)); /* nothing decoded into the range */
    gq_entry_put(e);
}

static void reap_drops_the_entries_that_cannot_serve_a_copy_back(void **state)
{
    (void)state;
    struct gq_entry *untracked = entry(AT(0), 4 * KiB), *failed = entry(AT(4), 4 * KiB);
    struct gq_entry *pending = entry(AT(8), 4 * KiB), *owned = entry(AT(12), 4 * KiB);
    set_state(untracked, GQ_ENTRY_UNTRACKED);
    set_state(failed, GQ_ENTRY_FAILED);
    set_state(owned, GQ_ENTRY_OWNED);
    struct gq_entry *all[4] = {untracked, failed, pending, owned};
    for (int i = 0; i < 4; i++)
        gq_entries_publish(all[i]);
    gq_entries_reap();
    assert_int_equal(refs(untracked), 1);
    assert_int_equal(refs(failed), 1);
    assert_int_equal(refs(pending), 2);
    assert_int_equal(refs(owned), 2);
    for (int i = 0; i < 4; i++)
        gq_entry_put(all[i]);
}

/* ---- the same buffer offloaded again (gq_entries_reuse_block) ------- */

static void reuse_hands_the_block_to_the_next_offload_of_the_same_buffer(void **state)
{
    (void)state;
    CUstream s = ts_stream();
    struct gq_entry *old = entry(AT(0), 4 * KiB);
    unsigned char *host = old->block.host;
    gq_entries_publish(old);
    gq_entry_put(old);
    struct gq_segs g = segs_of(4 * KiB);
    struct gq_block b, again;
    assert_int_equal(gq_entries_reuse_block((const void *)AT(0), 4 * KiB, &g, s, &b), 1);
    assert_ptr_equal(b.host, host);
    assert_non_null(b.chunk);
    /* One taker only. */
    assert_int_equal(gq_entries_reuse_block((const void *)AT(0), 4 * KiB, &g, s, &again), 0);
    /* The new entry replaces the old one, whose death frees no block. */
    struct gq_entry *next = gq_entry_new(AT(0), 4 * KiB, &g, &b, NULL);
    assert_non_null(next);
    gq_entries_publish(next);
    assert_int_equal(held(), BLOCK);
    struct gq_entry *found;
    assert_int_equal(lookup(AT(0), 4 * KiB, &found), GQ_LOOKUP_ONE);
    assert_ptr_equal(found, next);
    gq_entry_put(found);
    gq_entry_put(next);
    ts_stream_done(s);
}

static void reuse_needs_exactly_the_same_range_and_cut(void **state)
{
    (void)state;
    CUstream s = ts_stream();
    struct gq_entry *e = entry(AT(0), 8 * KiB);
    gq_entries_publish(e);
    gq_entry_put(e);
    struct gq_segs same = segs_of(8 * KiB), shorter = segs_of(4 * KiB), other;
    const struct gq_params bits8 = {8, 64, GQ_F32, GQ_DIM_LAST, 0};
    assert_int_equal(gq_segs_init(&other, &bits8, 2 * KiB, GQ_SEG_TARGET, 0), GQ_OK);
    struct gq_block b;
    assert_int_equal(gq_entries_reuse_block((const void *)AT(0), 4 * KiB, &shorter, s, &b), 0);
    assert_int_equal(gq_entries_reuse_block((const void *)AT(4), 4 * KiB, &shorter, s, &b), 0);
    assert_int_equal(gq_entries_reuse_block((const void *)AT(0), 8 * KiB, &other, s, &b), 0);
    assert_int_equal(gq_entries_reuse_block((const void *)AT(16), 8 * KiB, &same, s, &b), 0);
    /* Refused every time: the entry still owns its block. */
    assert_non_null(e->block.chunk);
    assert_int_equal(gq_entries_reuse_block((const void *)AT(0), 8 * KiB, &same, s, &b), 1);
    gq_store_release(&b, NULL);
    gq_entries_discard((const void *)AT(0), 8 * KiB);
    ts_stream_done(s);
}

static void reuse_queues_the_new_offload_behind_every_use_of_the_block(void **state)
{
    (void)state;
    CUstream offload = ts_stream(), restore = ts_stream(), next = ts_stream();
    struct gq_entry *e = entry(AT(0), 4 * KiB);
    gq_entries_publish(e);
    struct ts_gate *writing = ts_gate_close(offload);
    assert_int_equal(gq_drv()->cuEventRecord(e->ready, offload), CUDA_SUCCESS);
    struct ts_gate *reading = ts_gate_close(restore);
    assert_int_equal(gq_entry_used(e, restore), CUDA_SUCCESS);
    gq_entry_put(e);
    struct gq_segs g = segs_of(4 * KiB);
    struct gq_block b;
    assert_int_equal(gq_entries_reuse_block((const void *)AT(0), 4 * KiB, &g, next, &b), 1);
    struct ts_seen after_write, after_read;
    ts_note_gate(&after_write, writing, next);
    ts_note_gate(&after_read, reading, next);
    ts_gate_open(writing);
    ts_gate_open_later(reading, 20);
    assert_int_equal(gq_drv()->cuStreamSynchronize(next), CUDA_SUCCESS);
    assert_true(after_write.gate_was_open);
    assert_true(after_read.gate_was_open); /* the restore still read it */
    gq_store_release(&b, NULL);
    gq_entries_discard((const void *)AT(0), 4 * KiB);
    ts_stream_done(next);
    ts_stream_done(restore);
    ts_stream_done(offload);
}

/* len bytes of fresh pages, armed: write tracking sees writes to them. */
static unsigned char *tracked_pages(size_t len)
{
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 1, len);
    assert_int_equal(gq_wtrack_arm(p, len, p), 0);
    return p;
}

static void reap_keeps_a_tracked_entry_until_its_buffer_is_written(void **state)
{
    (void)state;
    if (!gq_wtrack_available())
        skip();
    size_t len = 3 * (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *p = tracked_pages(len);
    struct gq_entry *e = entry((uintptr_t)p, len);
    set_state(e, GQ_ENTRY_TRACKED);
    gq_entries_publish(e);
    gq_entries_reap();
    assert_int_equal(refs(e), 2);
    p[len - 1] = 2;
    gq_entries_reap();
    assert_int_equal(refs(e), 1);
    gq_entry_put(e);
    munmap(p, len);
}

static void reap_drops_a_failed_entry_even_where_its_buffer_is_unchanged(void **state)
{
    (void)state;
    if (!gq_wtrack_available())
        skip();
    size_t len = 3 * (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *p = tracked_pages(len);
    struct gq_entry *e = entry((uintptr_t)p, len);
    set_state(e, GQ_ENTRY_FAILED); /* the buffer holds the raw copy, the block nothing */
    gq_entries_publish(e);
    gq_entries_reap();
    assert_int_equal(refs(e), 1);
    gq_entry_put(e);
    munmap(p, len);
}

#define T(f) cmocka_unit_test_setup_teardown(f, no_entries, no_entries_left)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_new_entry_holds_one_reference_and_is_not_published),
        T(putting_the_last_reference_returns_the_block),
        T(publishing_adds_the_maps_reference),
        T(an_entry_dropped_from_the_map_lives_while_referenced),
        T(a_lookup_inside_an_entry_finds_it_and_takes_a_reference),
        T(a_lookup_outside_every_entry_finds_none),
        T(a_lookup_over_an_entrys_edge_spans),
        T(may_hold_is_zero_exactly_outside_the_entries_bounds),
        T(publishing_replaces_every_overlapping_entry),
        T(publishing_the_same_range_again_replaces_the_older_entry),
        T(drop_removes_every_entry_the_range_touches_and_no_other),
        T(discard_removes_every_entry_the_range_touches),
        T(drop_and_discard_of_an_empty_range_remove_nothing),
        T(drop_keeps_an_owned_entrys_bytes_outside_the_dropped_pages),
        T(discard_forgets_an_owned_entrys_bytes),
        T(release_makes_all_of_an_owned_entry_plain_memory),
        T(an_owned_page_faults_in_decoded_from_the_entry),
        T(an_owned_page_no_entry_covers_reads_zero_after_one_that_did),
        T(an_owned_page_never_faults_in_from_an_entry_that_is_not_owned),
        T(the_block_outlives_the_offload_writing_it),
        T(the_block_outlives_a_restore_still_reading_it),
        T(the_block_outlives_every_restore_on_independent_streams),
        T(wait_ready_queues_a_stream_behind_the_offload),
        T(used_forgets_the_uses_that_have_completed),
        T(settle_without_a_stream_waits_for_pending_offloads),
        T(settle_on_a_stream_queues_it_behind_pending_offloads),
        T(settle_on_a_stream_does_not_wait_in_the_calling_thread),
        T(settle_leaves_a_stream_free_of_offloads_already_decoded),
        T(the_decode_callback_fills_the_host_range_and_the_next_publish_frees_it),
        T(the_decode_callback_marks_an_overflowed_block_failed),
        T(reuse_hands_the_block_to_the_next_offload_of_the_same_buffer),
        T(reuse_needs_exactly_the_same_range_and_cut),
        T(reuse_queues_the_new_offload_behind_every_use_of_the_block),
        T(reap_drops_the_entries_that_cannot_serve_a_copy_back),
        T(reap_keeps_a_tracked_entry_until_its_buffer_is_written),
        T(reap_drops_a_failed_entry_even_where_its_buffer_is_unchanged),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}

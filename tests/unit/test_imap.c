/* The range map behind the registry and the entries: containment, overlap,
 * the lock-free bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/gq_imap.h"

#include <stdlib.h>

static int tag[8];

static void lookup_finds_the_containing_range(void **state)
{
    (void)state;
    struct gq_imap m = GQ_IMAP_INIT;
    assert_int_equal(gq_imap_insert(&m, 1000, 2000, &tag[0]), 0);
    assert_int_equal(gq_imap_insert(&m, 3000, 3500, &tag[1]), 0);
    assert_int_equal(gq_imap_insert(&m, 100, 200, &tag[2]), 0);
    assert_ptr_equal(gq_imap_find(&m, 1000)->val, &tag[0]);
    assert_ptr_equal(gq_imap_find(&m, 1999)->val, &tag[0]);
    assert_null(gq_imap_find(&m, 2000));
    assert_null(gq_imap_find(&m, 999));
    assert_ptr_equal(gq_imap_find(&m, 3499)->val, &tag[1]);
    assert_ptr_equal(gq_imap_find(&m, 150)->val, &tag[2]);
    assert_null(gq_imap_find(&m, 50));
    free(m.v);
}

static void overlapping_insert_is_refused(void **state)
{
    (void)state;
    struct gq_imap m = GQ_IMAP_INIT;
    assert_int_equal(gq_imap_insert(&m, 1000, 2000, &tag[0]), 0);
    assert_int_equal(gq_imap_insert(&m, 1999, 2100, &tag[1]), -1);
    assert_int_equal(gq_imap_insert(&m, 900, 1001, &tag[1]), -1);
    assert_int_equal(gq_imap_insert(&m, 1200, 1300, &tag[1]), -1);
    assert_int_equal(gq_imap_insert(&m, 2000, 2100, &tag[1]), 0); /* adjacent is fine */
    assert_int_equal(gq_imap_insert(&m, 500, 500, &tag[1]), -1); /* empty */
    free(m.v);
}

static void bounds_reject_addresses_outside_every_range(void **state)
{
    (void)state;
    struct gq_imap m = GQ_IMAP_INIT;
    assert_false(gq_imap_may_hold(&m, (void *)1500, 1));
    gq_imap_insert(&m, 1000, 2000, &tag[0]);
    gq_imap_insert(&m, 5000, 6000, &tag[1]);
    assert_true(gq_imap_may_hold(&m, (void *)1500, 1));
    assert_true(gq_imap_may_hold(&m, (void *)900, 101)); /* reaches 1000 */
    assert_false(gq_imap_may_hold(&m, (void *)900, 100));
    assert_false(gq_imap_may_hold(&m, (void *)6000, 10));
    gq_imap_remove_at(&m, 1);
    assert_false(gq_imap_may_hold(&m, (void *)5500, 1));
    gq_imap_remove_at(&m, 0);
    assert_false(gq_imap_may_hold(&m, (void *)1500, 1));
    free(m.v);
}

static void first_overlap_walks_every_overlapping_range(void **state)
{
    (void)state;
    struct gq_imap m = GQ_IMAP_INIT;
    for (int i = 0; i < 8; i++)
        gq_imap_insert(&m, 1000u * (uintptr_t)i, 1000u * (uintptr_t)i + 500, &tag[i]);
    size_t i = gq_imap_first_overlap(&m, 2600);
    assert_ptr_equal(m.v[i].val, &tag[3]); /* [2000,2500) ends before 2600 */
    int n = 0;
    for (; i < m.n && m.v[i].start < 5200; i++)
        n++;
    assert_int_equal(n, 3); /* 3000, 4000, 5000 */
    free(m.v);
}

static void many_ranges_stay_sorted(void **state)
{
    (void)state;
    struct gq_imap m = GQ_IMAP_INIT;
    static int vals[1000];
    for (int i = 0; i < 1000; i++) {
        uintptr_t k = (uintptr_t)((i * 7919) % 1000);
        assert_int_equal(gq_imap_insert(&m, k * 100, k * 100 + 50, &vals[k]), 0);
    }
    for (size_t i = 1; i < m.n; i++)
        assert_true(m.v[i - 1].end <= m.v[i].start);
    for (uintptr_t k = 0; k < 1000; k++)
        assert_ptr_equal(gq_imap_find(&m, k * 100 + 49)->val, &vals[k]);
    free(m.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookup_finds_the_containing_range),
        cmocka_unit_test(overlapping_insert_is_refused),
        cmocka_unit_test(bounds_reject_addresses_outside_every_range),
        cmocka_unit_test(first_overlap_walks_every_overlapping_range),
        cmocka_unit_test(many_ranges_stay_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The registry of allocations: lookups by containment, and lock-free reads
 * that stay correct while other threads register and free allocations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "base/gq_regions.h"

static struct gq_rule rule_a, rule_b;

static void lookup_finds_the_allocation_that_contains_the_copy(void **state)
{
    (void)state;
    char *base = (char *)0x100000000;
    gq_regions_add(GQ_ON_DEV, base, 4096, &rule_a);
    gq_regions_add(GQ_ON_DEV, base + 8192, 4096, &rule_b);
    struct gq_region r;
    assert_true(gq_regions_lookup(GQ_ON_DEV, base + 100, 200, &r));
    assert_ptr_equal(r.rule, &rule_a);
    assert_int_equal(r.start, (uintptr_t)base);
    assert_true(gq_regions_lookup(GQ_ON_DEV, base + 8192, 4096, &r));
    assert_ptr_equal(r.rule, &rule_b);
    assert_false(gq_regions_lookup(GQ_ON_DEV, base + 4000, 200, &r)); /* runs past the end */
    assert_false(gq_regions_lookup(GQ_ON_DEV, base + 5000, 10, &r));  /* in the gap */
    assert_false(gq_regions_lookup(GQ_ON_HOST, base + 100, 10, &r));  /* other map */
    gq_regions_on_free(GQ_ON_DEV, base);
    assert_false(gq_regions_lookup(GQ_ON_DEV, base + 100, 200, &r));
    assert_true(gq_regions_lookup(GQ_ON_DEV, base + 8200, 10, &r));
    gq_regions_on_free(GQ_ON_DEV, base + 8192);
}

static void a_new_allocation_replaces_a_stale_overlapping_one(void **state)
{
    (void)state;
    char *base = (char *)0x200000000;
    gq_regions_add(GQ_ON_HOST, base, 8192, &rule_a);
    gq_regions_add(GQ_ON_HOST, base + 4096, 4096, &rule_b);
    struct gq_region r;
    assert_false(gq_regions_lookup(GQ_ON_HOST, base, 10, &r));
    assert_true(gq_regions_lookup(GQ_ON_HOST, base + 4096, 10, &r));
    assert_ptr_equal(r.rule, &rule_b);
    gq_regions_on_free(GQ_ON_HOST, base + 4096);
}

/* Readers look up a region that always exists and one that comes and goes;
 * every answer must be exactly right or "not found", never torn. */
#define ROUNDS 20000
static volatile int stop;
static char *const stable = (char *)0x300000000, *const flicker = (char *)0x300100000;

static void *reader(void *arg)
{
    (void)arg;
    long bad = 0;
    struct gq_region r;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        if (!gq_regions_lookup(GQ_ON_DEV, stable + 10, 10, &r) || r.rule != &rule_a ||
            r.start != (uintptr_t)stable || r.size != 65536)
            bad++;
        if (gq_regions_lookup(GQ_ON_DEV, flicker + 10, 10, &r) &&
            (r.rule != &rule_b || r.start != (uintptr_t)flicker || r.size != 65536))
            bad++;
    }
    return (void *)bad;
}

static void concurrent_readers_see_whole_answers(void **state)
{
    (void)state;
    gq_regions_add(GQ_ON_DEV, stable, 65536, &rule_a);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, reader, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        gq_regions_add(GQ_ON_DEV, flicker, 65536, &rule_b);
        gq_regions_on_free(GQ_ON_DEV, flicker);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    long bad = 0;
    for (int i = 0; i < 4; i++) {
        void *b;
        pthread_join(t[i], &b);
        bad += (long)b;
    }
    assert_int_equal(bad, 0);
    gq_regions_on_free(GQ_ON_DEV, stable);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookup_finds_the_allocation_that_contains_the_copy),
        cmocka_unit_test(a_new_allocation_replaces_a_stale_overlapping_one),
        cmocka_unit_test(concurrent_readers_see_whole_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

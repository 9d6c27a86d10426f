/*
 * GQSHIM_TRACE's suggestion: which allocations are offload candidates, and a
 * rule that takes exactly those. Events are fed to the trace directly (no
 * CUDA: the pointers are never touched); every suggestion is then checked by
 * replaying the allocations through the rule matcher itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/gq_trace.h"

#define KiB 1024u
#define MiB (1024u * 1024u)
#define MAXA 64

/* The allocations of one scenario, in order, with whether each should be a
 * candidate. */
static struct {
    enum gq_on on;
    size_t size;
    uintptr_t p;
    int want;
} al[MAXA];
static unsigned nal;
static uintptr_t next_host = 0x100000000000u, next_dev = 0x200000000000u;

static int setup(void **state)
{
    (void)state;
    gq_trace_reset();
    nal = 0;
    return 0;
}

static unsigned alloc(enum gq_on on, size_t size, int want)
{
    uintptr_t *next = on == GQ_ON_HOST ? &next_host : &next_dev;
    al[nal] = (typeof(al[0])){on, size, *next, want};
    *next += (size + 2 * MiB) & ~(uintptr_t)(MiB - 1);
    gq_trace_alloc(on, (void *)al[nal].p, size, NULL);
    return nal++;
}

static void *at(unsigned a, size_t off) { return (void *)(al[a].p + off); }

static void d2h(void *dst, const void *src, size_t n)
{
    gq_trace_copy(dst, src, n, cudaMemcpyDeviceToHost, 0, 0, 0);
}

static void h2d(void *dst, const void *src, size_t n)
{
    gq_trace_copy(dst, src, n, cudaMemcpyHostToDevice, 0, 0, 0);
}

/* The suggestion, and proof that it takes exactly the wanted allocations:
 * the matcher sees the same allocations in the same order. */
static void check_suggestion(const char *want_text)
{
    char text[GQ_RULES_INPUT_MAX], err[GQ_RULES_ERR_MAX];
    unsigned want_n = 0;
    for (unsigned i = 0; i < nal; i++)
        want_n += al[i].want;
    unsigned n = gq_trace_suggest(text, sizeof text);
    assert_int_equal(n, want_n);
    if (want_text)
        assert_string_equal(text, want_text);
    if (!want_n) {
        assert_string_equal(text, "");
        return;
    }
    static struct gq_rules rules;
    assert_int_equal(gq_rules_parse(text, &rules, err, sizeof err), 0);
    for (unsigned i = 0; i < nal; i++) {
        const struct gq_rule *r = gq_rules_match(&rules, al[i].on, al[i].size);
        if (al[i].want != (r != NULL))
            fail_msg("allocation %u (%s, %zu bytes): rule '%s' %s it", i, gq_on_name(al[i].on),
                     al[i].size, text, r ? "takes" : "misses");
    }
}

static void test_pinned_buffers_offloaded_and_restored_are_host_candidates(void **state)
{
    (void)state;
    unsigned dev = alloc(GQ_ON_DEV, 4 * MiB, 0);
    unsigned staging = alloc(GQ_ON_HOST, 1 * MiB, 0); /* only uploads from it */
    for (int i = 0; i < 4; i++) {
        unsigned kv = alloc(GQ_ON_HOST, 4 * MiB, 1);
        d2h(at(kv, 0), at(dev, 0), 4 * MiB);
        h2d(at(dev, 0), at(kv, 0), 4 * MiB);
    }
    h2d(at(dev, 0), at(staging, 0), 1 * MiB);
    check_suggestion("on=host,size=4M,name=host_offload");
}

static void test_a_look_alike_of_the_same_size_is_excluded_with_nth(void **state)
{
    (void)state;
    unsigned dev = alloc(GQ_ON_DEV, 2 * MiB, 0);
    unsigned a = alloc(GQ_ON_HOST, 2 * MiB, 1), b = alloc(GQ_ON_HOST, 2 * MiB, 1);
    alloc(GQ_ON_HOST, 2 * MiB, 0); /* never copied */
    for (unsigned k = a; k <= b; k++) {
        d2h(at(k, 0), at(dev, 0), 2 * MiB);
        h2d(at(dev, 0), at(k, 0), 2 * MiB);
    }
    check_suggestion("on=host,size=2M,nth=1-2,name=host_offload");
}

static void test_many_candidate_sizes_above_the_rest_use_min(void **state)
{
    (void)state;
    unsigned dev = alloc(GQ_ON_DEV, 8 * MiB, 0);
    alloc(GQ_ON_HOST, 64 * KiB, 0);
    for (unsigned i = 0; i < GQ_RULE_SIZES_MAX + 2; i++) {
        size_t size = MiB + i * 64 * KiB;
        unsigned h = alloc(GQ_ON_HOST, size, 1);
        d2h(at(h, 0), at(dev, 0), size);
        h2d(at(dev, 0), at(h, 0), size);
    }
    check_suggestion("on=host,min=1M,name=host_offload");
}

static void test_copies_that_never_come_back_make_no_candidate(void **state)
{
    (void)state;
    unsigned dev = alloc(GQ_ON_DEV, 1 * MiB, 0), h = alloc(GQ_ON_HOST, 1 * MiB, 0);
    d2h(at(h, 0), at(dev, 0), 1 * MiB);       /* read back once, never restored */
    h2d(at(dev, 0), at(h, 0), 512 * KiB);     /* a different size: not a restore of it */
    d2h((void *)0x7000000, at(dev, 0), MiB); /* into pageable memory, never back */
    check_suggestion("");
}

static void test_copies_below_a_page_do_not_count(void **state)
{
    (void)state;
    unsigned dev = alloc(GQ_ON_DEV, 1 * MiB, 0), h = alloc(GQ_ON_HOST, 1 * MiB, 0);
    d2h(at(h, 0), at(dev, 0), 2 * KiB);
    h2d(at(dev, 0), at(h, 0), 2 * KiB);
    check_suggestion("");
}

static void test_device_tensor_restored_from_pageable_memory_is_a_dev_candidate(void **state)
{
    (void)state;
    unsigned t = alloc(GQ_ON_DEV, 3 * MiB, 1), work = alloc(GQ_ON_DEV, 3 * MiB, 0);
    alloc(GQ_ON_DEV, 1 * MiB, 0);
    void *pageable = (void *)0x7000000;
    d2h(pageable, at(t, 0), 3 * MiB);
    h2d(at(work, 0), pageable, 3 * MiB);
    d2h((void *)0x9000000, at(work, 0), 3 * MiB); /* work is read back, never restored */
    check_suggestion("on=dev,size=3M,nth=1,name=dev_offload");
}

static void test_host_and_dev_candidates_give_two_rules(void **state)
{
    (void)state;
    unsigned t = alloc(GQ_ON_DEV, 8 * MiB, 1), h = alloc(GQ_ON_HOST, 256 * KiB, 1);
    d2h((void *)0x7000000, at(t, 0), 8 * MiB);
    h2d(at(t, 0), (void *)0x7000000, 8 * MiB);
    d2h(at(h, 0), at(t, 0), 256 * KiB); /* a tensor carved out of t, through pinned memory */
    h2d(at(t, 4096), at(h, 0), 256 * KiB);
    check_suggestion("on=host,size=256K,name=host_offload;on=dev,size=8M,name=dev_offload");
}

static void test_a_freed_allocation_still_counts_and_its_address_is_new_again(void **state)
{
    (void)state;
    unsigned dev = alloc(GQ_ON_DEV, 1 * MiB, 0);
    unsigned a = alloc(GQ_ON_HOST, 1 * MiB, 1);
    d2h(at(a, 0), at(dev, 0), MiB);
    h2d(at(dev, 0), at(a, 0), MiB);
    gq_trace_free(GQ_ON_HOST, at(a, 0));
    /* the same address again: a new allocation, copied one way only */
    al[nal] = (typeof(al[0])){GQ_ON_HOST, MiB, al[a].p, 0};
    gq_trace_alloc(GQ_ON_HOST, at(a, 0), MiB, NULL);
    nal++;
    d2h(at(a, 0), at(dev, 0), MiB);
    check_suggestion("on=host,size=1M,nth=1,name=host_offload");
}

int main(void)
{
    /* Tracing on as a user turns it on: the configuration, once read, rules. */
    setenv("GQSHIM_TRACE", "1", 1);
    setenv("GQSHIM_LOG_FILE", "/dev/null", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pinned_buffers_offloaded_and_restored_are_host_candidates, setup),
        cmocka_unit_test_setup(test_a_look_alike_of_the_same_size_is_excluded_with_nth, setup),
        cmocka_unit_test_setup(test_many_candidate_sizes_above_the_rest_use_min, setup),
        cmocka_unit_test_setup(test_copies_that_never_come_back_make_no_candidate, setup),
        cmocka_unit_test_setup(test_copies_below_a_page_do_not_count, setup),
        cmocka_unit_test_setup(test_device_tensor_restored_from_pageable_memory_is_a_dev_candidate, setup),
        cmocka_unit_test_setup(test_host_and_dev_candidates_give_two_rules, setup),
        cmocka_unit_test_setup(test_a_freed_allocation_still_counts_and_its_address_is_new_again, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_pool.c — the shim's worker pool (shim/base/gq_pool.h): every part
 * runs once, never more workers than GQSHIM_THREADS - 1, a call that finds
 * the pool busy runs on its own thread, and the pool's codec calls give the
 * bytes of the single-threaded codec. GQSHIM_THREADS=3 for this binary. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "base/gq_pool.h"
#include "gq_codec.h"

#define CAP 3u

static int setup(void **state)
{
    (void)state;
    setenv("GQSHIM_THREADS", "3", 1); /* read once, at the pool's first use */
    return gq_pool_threads() == CAP ? 0 : -1;
}

struct count_job {
    unsigned runs[64];
    pthread_t ran_on[64];
};

static void count_part(void *arg, unsigned i)
{
    struct count_job *j = arg;
    __atomic_add_fetch(&j->runs[i], 1, __ATOMIC_RELAXED);
    j->ran_on[i] = pthread_self();
}

static void test_every_part_runs_exactly_once(void **state)
{
    (void)state;
    for (unsigned n = 0; n <= 64; n += 7) {
        struct count_job j;
        memset(&j, 0, sizeof j);
        gq_pool_run(n, count_part, &j);
        for (unsigned i = 0; i < 64; i++)
            assert_int_equal(j.runs[i], i < n ? 1 : 0);
    }
}

static void test_workers_never_exceed_the_cap_minus_one(void **state)
{
    (void)state;
    for (int k = 0; k < 20; k++) {
        struct count_job j;
        memset(&j, 0, sizeof j);
        gq_pool_run(64, count_part, &j);
    }
    assert_true(gq_pool_workers() >= 1); /* it was used */
    assert_true(gq_pool_workers() <= CAP - 1);
}

/* A part that itself calls the pool: the pool is busy with the outer call. */
static void nested_part(void *arg, unsigned i)
{
    (void)i;
    struct count_job inner;
    memset(&inner, 0, sizeof inner);
    gq_pool_run(8, count_part, &inner);
    for (unsigned k = 0; k < 8; k++) {
        if (inner.runs[k] != 1 || !pthread_equal(inner.ran_on[k], pthread_self()))
            __atomic_store_n((int *)arg, 1, __ATOMIC_RELAXED);
    }
}

static void test_a_call_finding_the_pool_busy_runs_on_its_own_thread(void **state)
{
    (void)state;
    int wrong = 0;
    gq_pool_run(4, nested_part, &wrong);
    assert_int_equal(wrong, 0);
}

static void *caller(void *arg)
{
    struct count_job *j = arg;
    for (int k = 0; k < 50; k++) {
        memset(j, 0, sizeof *j);
        gq_pool_run(16, count_part, j);
        for (unsigned i = 0; i < 16; i++)
            if (j->runs[i] != 1)
                return (void *)1;
    }
    return NULL;
}

static void test_concurrent_callers_each_get_all_their_parts(void **state)
{
    (void)state;
    pthread_t t[4];
    struct count_job j[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, caller, &j[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        assert_null(rc);
    }
    assert_true(gq_pool_workers() <= CAP - 1);
}

static void fill_f16(uint16_t *v, size_t n)
{
    uint64_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        v[i] = (uint16_t)(0x3000 + (x >> 40) % 0x1000); /* positive normal values */
        if (i % 4099 == 5)
            v[i] = 0x7c00; /* +Inf: an escaped group now and then */
    }
}

static void test_pool_codec_gives_the_single_thread_bytes(void **state)
{
    (void)state;
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    uint64_t n = (3u << 20) + 1000; /* 6 MiB and a ragged end: several parts */
    uint16_t *src = malloc(n * 2), *one = malloc(n * 2), *many = malloc(n * 2);
    fill_f16(src, n);
    uint32_t cap = gq_default_escape_capacity(&p, n) + 2048;
    size_t size = gq_compressed_size(&p, n, cap);
    unsigned char *c1 = calloc(1, size), *c2 = calloc(1, size);
    assert_int_equal(gq_encode(&p, src, n, cap, c1, size), GQ_OK);
    assert_int_equal(gq_pool_encode(&p, src, n, cap, c2, size), GQ_OK);
    assert_memory_equal(c1, c2, size);
    assert_int_equal(gq_decode(c1, size, one, n * 2), GQ_OK);
    assert_int_equal(gq_pool_decode_range(c1, size, 0, n, many), GQ_OK);
    assert_memory_equal(one, many, n * 2);
    /* A range starting and ending inside groups. */
    memset(many, 0, n * 2);
    assert_int_equal(gq_pool_decode_range(c1, size, 77, n - 33, many), GQ_OK);
    assert_memory_equal(one + 77, many, (n - 33 - 77) * 2);
    assert_int_equal(gq_pool_decode_range(c1, size, 0, n + 1, many), GQ_ERR_RANGE);
    free(src), free(one), free(many), free(c1), free(c2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_part_runs_exactly_once),
        cmocka_unit_test(test_workers_never_exceed_the_cap_minus_one),
        cmocka_unit_test(test_a_call_finding_the_pool_busy_runs_on_its_own_thread),
        cmocka_unit_test(test_concurrent_callers_each_get_all_their_parts),
        cmocka_unit_test(test_pool_codec_gives_the_single_thread_bytes),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

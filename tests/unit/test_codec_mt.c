/*
 * test_codec_mt.c — the multi-threaded entry points of gq_codec.h write the
 * bytes of the single-threaded ones: escape slots numbered in group order
 * even when later threads find escapes first, overflow flagged the same way,
 * part boundaries anywhere (tests drive gq_encode_parts / gq_decode_range_parts
 * of gq_codec_impl.h to put them at every block), and every decode slice equal.
 */
#include "test_codec_util.h"
#include "gq_codec_impl.h"

#include <unistd.h>

static void *alloc64(size_t size)
{
    void *p = aligned_alloc(64, (size + 63) / 64 * 64);
    assert_non_null(p);
    return p;
}

/* Encodes with 1..6 parts; every buffer equals the single-threaded one. */
static void encode_in_parts(const struct gq_params *p, uint64_t n, uint32_t cap, int specials)
{
    uint32_t es = gq_dtype_size(p->dtype);
    size_t size = gq_compressed_size(p, n, cap);
    void *src = alloc64(n * es);
    uint8_t *ref = alloc64(size), *got = alloc64(size);
    int rc;
    tc_fill_kinds(src, p, n, specials);
    rc = gq_encode_ex(GQ_PATH_AUTO, p, src, n, cap, ref, size);
    assert_true(rc == GQ_OK || rc == GQ_ERR_OVERFLOW);
    for (unsigned parts = 1; parts <= 6; parts++) {
        memset(got, 0x5a, size);
        assert_int_equal(gq_encode_parts(GQ_PATH_AUTO, p, src, n, cap, got, size, parts), rc);
        if (memcmp(ref, got, size) != 0) {
            size_t i = 0;
            while (ref[i] == got[i])
                i++;
            print_error("%u parts: bits %u G %u dtype %u axis %u n %llu cap %u: first difference at byte %zu\n",
                        parts, p->bits, p->group, p->dtype, p->axis, (unsigned long long)n, cap, i);
            fail();
        }
    }
    free(src);
    free(ref);
    free(got);
}

static void test_encode_in_parts_writes_the_single_thread_bytes(void **state)
{
    static const uint32_t groups[] = {16, 48, 64, 10};
    (void)state;
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++)
        for (uint32_t b = 2; b <= 8; b *= 2)
            for (unsigned gi = 0; gi < 4; gi++) {
                uint32_t G = groups[gi];
                struct gq_params p = {b, G, dt, GQ_DIM_LAST, 0};
                uint64_t n = 100 * G + 3;
                encode_in_parts(&p, n, 0, 0);            /* no escapes */
                encode_in_parts(&p, n, 101, 1);          /* escapes in every part, all fit */
                encode_in_parts(&p, n, 5, 1);            /* escapes overflow */
                p.axis = GQ_DIM_0;
                p.cols = 7;
                encode_in_parts(&p, 7 * (40 * G + 1), 281, 1);
            }
}

/* The later parts find their escapes while the first is still running: the
 * slots still follow group order, and the escape area holds each group's
 * elements bit for bit. */
static void test_escapes_of_later_parts_take_later_slots(void **state)
{
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    uint64_t n = 64 * 320;
    uint32_t cap = 320;
    size_t size = gq_compressed_size(&p, n, cap);
    uint16_t *src = alloc64(n * 2), *out = alloc64(n * 2);
    uint8_t *buf = alloc64(size);
    struct gq_info info;
    for (uint64_t i = 0; i < n; i++) /* groups 300..319 and 5 escape */
        src[i] = (i / 64 >= 300 && i % 64 == 9) || i == 5 * 64 + 1 ? (uint16_t)(0x7e00 | (i / 64))
                                                                   : gq_f32_to_f16_rn((float)tc_gauss());
    assert_int_equal(gq_encode_parts(GQ_PATH_AUTO, &p, src, n, cap, buf, size, 4), GQ_OK);
    assert_int_equal(gq_info_read(buf, size, &info), GQ_OK);
    assert_int_equal(info.escape_count, 21);
    /* group 5 took slot 0, group 300 slot 1 */
    assert_int_equal(((const uint32_t *)(buf + info.layout.meta_off))[5], 0x0000ffffu);
    assert_int_equal(((const uint32_t *)(buf + info.layout.meta_off))[300], 0x0001ffffu);
    assert_int_equal(gq_decode(buf, size, out, n * 2), GQ_OK);
    assert_int_equal(out[5 * 64 + 1], 0x7e05);
    assert_int_equal(out[319 * 64 + 9], 0x7e00 | 319);
    free(src);
    free(out);
    free(buf);
}

static void test_decode_in_parts_gives_every_slice_of_the_whole(void **state)
{
    (void)state;
    for (uint32_t dt = GQ_F16; dt <= GQ_F32; dt++)
        for (uint32_t axis = GQ_DIM_LAST; axis <= GQ_DIM_0; axis++) {
            struct gq_params p = {4, 32, dt, axis, axis == GQ_DIM_0 ? 5 : 0};
            uint32_t es = gq_dtype_size(dt);
            uint64_t n = 5 * (32 * 70 + 11);
            size_t size;
            void *src = alloc64(n * es);
            uint8_t *whole = alloc64(n * es), *part = alloc64(n * es), *buf;
            tc_fill_kinds(src, &p, n, 1);
            buf = tc_encode(&p, src, n, (uint32_t)(n / 32 + 5), &size);
            assert_int_equal(gq_decode(buf, size, whole, n * es), GQ_OK);
            for (unsigned parts = 1; parts <= 5; parts++)
                for (int r = 0; r < 6; r++) {
                    uint64_t e0 = r == 0 ? 0 : tc_next() % n, e1 = r == 0 ? n : e0 + tc_next() % (n - e0 + 1);
                    memset(part, 0x5a, n * es);
                    assert_int_equal(gq_decode_range_parts(GQ_PATH_AUTO, buf, size, e0, e1, part, parts), GQ_OK);
                    assert_memory_equal(part, whole + e0 * es, (e1 - e0) * es);
                    /* nothing past the slice is written */
                    if (e1 - e0 < n)
                        assert_int_equal(part[(e1 - e0) * es], 0x5a);
                }
            free(src);
            free(whole);
            free(part);
            free(buf);
        }
}

/* The public entry points on a tensor large enough for several threads. */
static void test_mt_entry_points_match_one_thread_on_a_large_tensor(void **state)
{
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    uint64_t n = 3 * GQ_MT_MIN_BYTES + 64 * 7; /* elements: 6 x GQ_MT_MIN_BYTES of fp16 */
    uint32_t cap = gq_default_escape_capacity(&p, n);
    size_t size = gq_compressed_size(&p, n, cap);
    uint16_t *src = alloc64(n * 2), *a = alloc64(n * 2), *b = alloc64(n * 2);
    uint8_t *ref = alloc64(size), *got = alloc64(size);
    (void)state;
    for (uint64_t i = 0; i < n; i++)
        src[i] = i % 100003 == 17 ? 0xfc00 : gq_f32_to_f16_rn((float)tc_gauss());
    assert_int_equal(gq_encode(&p, src, n, cap, ref, size), GQ_OK);
    for (unsigned t = 0; t <= 4; t++) {
        memset(got, 0, size);
        assert_int_equal(gq_encode_mt(&p, src, n, cap, got, size, t), GQ_OK);
        assert_memory_equal(ref, got, size);
        assert_int_equal(gq_decode(ref, size, a, n * 2), GQ_OK);
        assert_int_equal(gq_decode_mt(ref, size, b, n * 2, t), GQ_OK);
        assert_memory_equal(a, b, n * 2);
    }
    assert_int_equal(gq_decode_mt(ref, size, b, n * 2 - 2, 2), GQ_ERR_SIZE);
    free(src);
    free(a);
    free(b);
    free(ref);
    free(got);
}

static void test_mt_errors_are_the_single_thread_errors(void **state)
{
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0}, bad = p;
    uint64_t n = 64 * 100;
    size_t size = gq_compressed_size(&p, n, 1);
    uint16_t *src = alloc64(n * 2 + 2), *out = alloc64(n * 2);
    uint8_t *buf = alloc64(size + 16);
    (void)state;
    bad.bits = 3;
    for (uint64_t i = 0; i < n; i++)
        src[i] = i % 640 == 0 ? 0x7c01 : 0x3c00;
    assert_int_equal(gq_encode_parts(GQ_PATH_AUTO, &bad, src, n, 1, buf, size, 3), GQ_ERR_PARAM);
    assert_int_equal(gq_encode_parts(GQ_PATH_AUTO, &p, src, n, 1, buf, size - 1, 3), GQ_ERR_SIZE);
    assert_int_equal(gq_encode_parts(GQ_PATH_AUTO, &p, src, n, 1, buf + 8, size, 3), GQ_ERR_ALIGN);
    assert_int_equal(gq_encode_parts(GQ_PATH_AUTO, &p, (uint8_t *)src + 1, n, 1, buf, size, 3), GQ_ERR_ALIGN);
    /* ten escaped groups, one slot: overflow, and no decode */
    assert_int_equal(gq_encode_parts(GQ_PATH_AUTO, &p, src, n, 1, buf, size, 3), GQ_ERR_OVERFLOW);
    assert_int_equal(gq_decode_range_parts(GQ_PATH_AUTO, buf, size, 0, n, out, 3), GQ_ERR_OVERFLOW);
    assert_int_equal(gq_decode_mt(buf, size, out, n * 2, 3), GQ_ERR_OVERFLOW);
    assert_int_equal(gq_encode_parts(GQ_PATH_AUTO, &p, src + 1, n - 1, 0, buf, size, 3), GQ_ERR_OVERFLOW);
    free(src);
    free(out);
    free(buf);
}

static void test_cpu_count_is_within_the_online_cpus(void **state)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    (void)state;
    assert_true(gq_cpu_count() >= 1);
    if (online > 0)
        assert_true(gq_cpu_count() <= (unsigned)online);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_in_parts_writes_the_single_thread_bytes),
        cmocka_unit_test(test_escapes_of_later_parts_take_later_slots),
        cmocka_unit_test(test_decode_in_parts_gives_every_slice_of_the_whole),
        cmocka_unit_test(test_mt_entry_points_match_one_thread_on_a_large_tensor),
        cmocka_unit_test(test_mt_errors_are_the_single_thread_errors),
        cmocka_unit_test(test_cpu_count_is_within_the_online_cpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

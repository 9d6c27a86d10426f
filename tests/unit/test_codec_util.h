/*
 * test_codec_util.h — data generators and checks shared by the codec tests.
 * Header-only (static functions), included by tests/unit/test_codec*.c.
 */
#ifndef TEST_CODEC_UTIL_H
#define TEST_CODEC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "gq_codec.h"
#include "gq_group.h"

static uint64_t tc_rng = 0x9e3779b97f4a7c15ull;

static inline __attribute__((unused)) uint64_t tc_next(void)
{
    tc_rng ^= tc_rng << 13;
    tc_rng ^= tc_rng >> 7;
    tc_rng ^= tc_rng << 17;
    return tc_rng;
}

static inline __attribute__((unused)) double tc_uniform(void)
{
    return (double)(tc_next() >> 11) * 0x1p-53;
}

static inline __attribute__((unused)) double tc_gauss(void)
{
    double u = tc_uniform(), v = tc_uniform();
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Stores v (a double) as the dtype, round to nearest. */
static inline __attribute__((unused)) void tc_put(void *buf, size_t i, uint32_t dtype, double v)
{
    float f = (float)v;
    if (dtype == GQ_F32)
        ((float *)buf)[i] = f;
    else if (dtype == GQ_BF16)
        ((uint16_t *)buf)[i] = gq_f32_to_bf16_rn(f);
    else
        ((uint16_t *)buf)[i] = gq_f32_to_f16_rn(f);
}

static inline __attribute__((unused)) double tc_get(const void *buf, size_t i, uint32_t dtype)
{
    return (double)gq_raw_to_f32(gq_elem_raw(buf, i, dtype), dtype);
}

/* The distance from v to the next representable value away from zero. */
static inline __attribute__((unused)) double tc_ulp(double v, uint32_t dtype)
{
    double a = fabs(v);
    int e;
    int mant = dtype == GQ_F32 ? 24 : dtype == GQ_BF16 ? 8 : 11;
    int emin = dtype == GQ_F16 ? -14 : -126;
    if (a == 0.0)
        return ldexp(1.0, emin - mant + 1);
    frexp(a, &e); /* a = f * 2^e, f in [0.5, 1) */
    e -= 1;
    if (e < emin)
        e = emin;
    return ldexp(1.0, e - mant + 1);
}

/* 16-byte aligned allocation with `off` bytes of deliberate misalignment. */
static inline __attribute__((unused)) void *tc_alloc(size_t size, size_t off, void **base)
{
    uint8_t *p = aligned_alloc(64, (size + off + 64 + 63) / 64 * 64);
    assert_non_null(p);
    memset(p, 0xa5, size + off);
    *base = p;
    return p + off;
}

/*
 * Checks the bound of gq_format.h on every finite element of a decoded
 * tensor, reading each group's stored step and min from the buffer; escaped
 * groups must decode bit for bit. Returns the number of violations.
 */
static inline __attribute__((unused)) size_t tc_check_bound(const void *src, const void *out, const void *buf,
                                                            size_t buf_size)
{
    struct gq_info info;
    struct gq_dec_ctx c;
    size_t bad = 0;
    assert_int_equal(gq_info_read(buf, buf_size, &info), GQ_OK);
    c.l = info.layout;
    c.bits = info.params.bits;
    c.group = info.params.group;
    c.dtype = info.params.dtype;
    c.meta = (const uint8_t *)buf + c.l.meta_off;
    c.codes = (const uint8_t *)buf + c.l.code_off;
    c.esc = (const uint8_t *)buf + c.l.esc_off;
    c.g_base = 0;
    for (uint64_t e = 0; e < c.l.n_elems; e++) {
        uint32_t i;
        uint64_t g = gq_elem_group(&c.l, c.group, e, &i);
        struct gq_gdec d;
        uint32_t rx = gq_elem_raw(src, e, c.dtype), ry = gq_elem_raw(out, e, c.dtype);
        gq_group_resolve(&c, g, &d);
        if (d.escaped) {
            if (rx != ry && bad++ < 5)
                print_error("element %llu: escaped raw %#x decoded %#x\n", (unsigned long long)e, rx, ry);
            continue;
        }
        {
            double x = tc_get(src, e, c.dtype), y = tc_get(out, e, c.dtype);
            double lim = d.step_s / 2.0 + tc_ulp(y, c.dtype);
            if (!(fabs(y - x) <= lim) && bad++ < 5)
                print_error("element %llu: x=%.9g x'=%.9g |err|=%.3g > bound %.3g (step %.9g min %.9g)\n",
                            (unsigned long long)e, x, y, fabs(y - x), lim, d.step_s, d.min_s);
        }
    }
    return bad;
}

/* Encodes with the default path and checks GQ_OK; returns the buffer. */
static inline __attribute__((unused)) void *tc_encode(const struct gq_params *p, const void *src, uint64_t n,
                                                      uint32_t cap, size_t *size)
{
    void *buf;
    *size = gq_compressed_size(p, n, cap);
    assert_true(*size > 0);
    buf = aligned_alloc(64, (*size + 63) / 64 * 64);
    assert_non_null(buf);
    assert_int_equal(gq_encode(p, src, n, cap, buf, *size), GQ_OK);
    return buf;
}

#endif

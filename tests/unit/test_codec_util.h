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

/*
 * Groups of every kind the codec treats differently, for path-against-path
 * comparisons (test_codec_simd.c, test_codec_mt.c). tc_fill_kinds() gives
 * each group of the layout a kind drawn from tc_next(); with `specials` the
 * escaping kinds are drawn too.
 */
enum tc_kind {
    TC_GAUSS,      /* unit gaussian at a scale of 1e-3 .. 1e3 */
    TC_CONST,      /* one value: step 0 */
    TC_SUBNORMAL,  /* small multiples of the dtype's least subnormal */
    TC_FULL_RANGE, /* f16: -65504 and 65504 in the group; bf16/f32: +-1.6e38 */
    TC_ZEROS,      /* +0 and -0 */
    TC_NEGATIVE,   /* all below -100 */
    TC_WIDE,       /* tiny and huge magnitudes together */
    TC_NAN,        /* one NaN (payload, sign, quiet or signalling): escapes */
    TC_INF,        /* one +Inf or -Inf: escapes */
    TC_OVERFLOW,   /* bf16/f32: -3e38 and 3e38, a range past FLT_MAX: escapes (f16: +-65504) */
    TC_KINDS
};
#define TC_FIRST_SPECIAL TC_NAN

static inline __attribute__((unused)) uint32_t tc_nan_bits(uint32_t dtype, uint64_t r)
{
    uint32_t sign = (r >> 8) & 1u;
    if (dtype == GQ_F32)
        return (sign << 31) | 0x7f800000u | ((uint32_t)r & 0x7fffffu ? (uint32_t)r & 0x7fffffu : 1u);
    if (dtype == GQ_BF16)
        return (sign << 15) | 0x7f80u | ((uint32_t)r & 0x7fu ? (uint32_t)r & 0x7fu : 1u);
    return (sign << 15) | 0x7c00u | ((uint32_t)r & 0x3ffu ? (uint32_t)r & 0x3ffu : 1u);
}

/* Element i (of len) of a group of kind k. */
static inline __attribute__((unused)) void tc_put_kind(void *src, uint64_t e, uint32_t dtype, enum tc_kind k,
                                                       uint32_t i, uint32_t len, uint32_t special_at,
                                                       double scale)
{
    double least = dtype == GQ_F16 ? 0x1p-24 : dtype == GQ_BF16 ? 0x1p-133 : 0x1p-149;
    double big = dtype == GQ_F16 ? 65504.0 : 1.6e38;
    switch (k) {
    case TC_GAUSS:
        tc_put(src, e, dtype, tc_gauss() * scale);
        return;
    case TC_CONST:
        tc_put(src, e, dtype, -3.5 * scale);
        return;
    case TC_SUBNORMAL:
        tc_put(src, e, dtype, (double)((int)(tc_next() % 19) - 9) * least);
        return;
    case TC_FULL_RANGE:
        tc_put(src, e, dtype, i == 0 ? -big : i == len - 1 ? big : (2.0 * tc_uniform() - 1.0) * big);
        return;
    case TC_ZEROS:
        gq_elem_put(src, e, dtype, (tc_next() & 1) ? 0u : dtype == GQ_F32 ? 0x80000000u : 0x8000u);
        return;
    case TC_NEGATIVE:
        tc_put(src, e, dtype, -100.0 - fabs(tc_gauss()) * scale);
        return;
    case TC_WIDE:
        tc_put(src, e, dtype, tc_gauss() * ((i & 1) ? (dtype == GQ_F16 ? 1e-6 : 1e-30) : (dtype == GQ_F16 ? 1e4 : 1e30)));
        return;
    case TC_NAN:
        if (i == special_at)
            gq_elem_put(src, e, dtype, tc_nan_bits(dtype, tc_next()));
        else
            tc_put(src, e, dtype, tc_gauss());
        return;
    case TC_INF:
        if (i == special_at)
            tc_put(src, e, dtype, (tc_next() & 1) ? INFINITY : -INFINITY);
        else
            tc_put(src, e, dtype, tc_gauss());
        return;
    case TC_OVERFLOW:
        tc_put(src, e, dtype, i == special_at ? (dtype == GQ_F16 ? 65504.0 : 3e38)
                                              : i == 0 || i + 1 == len ? (dtype == GQ_F16 ? -65504.0 : -3e38)
                                                                       : tc_gauss());
        return;
    case TC_KINDS:
        break;
    }
}

/* Fills a tensor of these parameters group by group; returns how many groups
 * got an escaping kind. */
static inline __attribute__((unused)) uint64_t tc_fill_kinds(void *src, const struct gq_params *p, uint64_t n,
                                                             int specials)
{
    struct gq_layout l = {0};
    uint64_t escaping = 0;
    assert_int_equal(gq_layout_init(&l, p, n, 0), GQ_OK);
    for (uint64_t g = 0; g < l.n_groups; g++) {
        uint64_t first = gq_group_first(&l, p->group, g);
        uint32_t len = gq_group_len(&l, p->group, g);
        enum tc_kind k = (enum tc_kind)(tc_next() % (specials ? TC_KINDS : TC_FIRST_SPECIAL));
        uint32_t at = (uint32_t)(tc_next() % len);
        double scale = pow(10.0, (double)(tc_next() % 7) - 3.0);
        escaping += k >= TC_FIRST_SPECIAL && !(k == TC_OVERFLOW && p->dtype == GQ_F16);
        for (uint32_t i = 0; i < len; i++)
            tc_put_kind(src, first + i * l.cols, p->dtype, k, i, len, at, scale);
    }
    return escaping;
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

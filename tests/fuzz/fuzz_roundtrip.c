/*
 * fuzz_roundtrip.c — one property: decode(encode(x)) keeps the promise of
 * gq_format.h for ANY bytes and parameters. Every finite element within
 * step_s/2 + ulp(x') + 2^(b-22) step_s of its original (the last term is the
 * fp32 evaluation of the code, gq_format.h "The error bound"); every element of an escaped group bit
 * for bit; an overflowed escape area reported by both encode and decode,
 * never decoded. The first 8 input bytes choose the parameters.
 */
#include "gq_codec.h"
#include "gq_group.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static double ulp_of(double v, uint32_t dtype)
{
    int e, mant = dtype == GQ_F32 ? 24 : dtype == GQ_BF16 ? 8 : 11, emin = dtype == GQ_F16 ? -14 : -126;
    frexp(fabs(v), &e);
    e = v == 0.0 ? emin : e - 1;
    if (e < emin)
        e = emin;
    return ldexp(1.0, e - mant + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t bits_of[4] = {2, 4, 8, 4};
    struct gq_params p;
    struct gq_info info;
    struct gq_dec_ctx c;
    uint32_t es, cap, r0, r1;
    uint64_t n;
    size_t csize;
    uint8_t *src, *buf, *out;
    int rc;

    if (size < 8)
        return 0;
    p.bits = bits_of[data[0] & 3];
    p.dtype = GQ_F16 + (uint32_t)((data[0] >> 2) % 3);
    p.group = GQ_GROUP_MIN + 2u * (uint32_t)((data[1] | (data[2] << 8)) % ((GQ_GROUP_MAX - GQ_GROUP_MIN) / 2 + 1));
    if (data[0] & 0x80)
        p.group = 8u << (data[1] % 8); /* the common power-of-two sizes often */
    p.axis = (data[0] >> 4) & 1;
    p.cols = p.axis ? 1u + data[3] % 40 : 0;
    cap = data[4] % 8;
    r0 = data[5];
    r1 = data[6];
    es = gq_dtype_size(p.dtype);
    data += 8;
    size -= 8;
    n = size / es;
    if (p.axis)
        n -= n % p.cols;
    if (n == 0)
        return 0;
    src = malloc(n * es);
    memcpy(src, data, n * es);
    csize = gq_compressed_size(&p, n, cap);
    if (csize == 0)
        __builtin_trap();
    buf = aligned_alloc(64, (csize + 63) / 64 * 64);
    out = malloc(n * es);

    rc = gq_encode(&p, src, n, cap, buf, csize);
    if (rc != GQ_OK && rc != GQ_ERR_OVERFLOW)
        __builtin_trap();
    if (gq_info_read(buf, csize, &info) != GQ_OK)
        __builtin_trap();
    if ((rc == GQ_ERR_OVERFLOW) != (info.overflow && info.escape_count > cap))
        __builtin_trap();
    if (rc == GQ_ERR_OVERFLOW) {
        if (gq_decode(buf, csize, out, n * es) != GQ_ERR_OVERFLOW)
            __builtin_trap();
        goto done;
    }
    if (gq_decode(buf, csize, out, n * es) != GQ_OK)
        __builtin_trap();

    c.l = info.layout;
    c.bits = p.bits;
    c.group = p.group;
    c.dtype = p.dtype;
    c.meta = buf + c.l.meta_off;
    c.codes = buf + c.l.code_off;
    c.esc = buf + c.l.esc_off;
    c.g_base = 0;
    for (uint64_t e = 0; e < n; e++) {
        uint32_t i, rx = gq_elem_raw(src, e, p.dtype), ry = gq_elem_raw(out, e, p.dtype);
        uint64_t g = gq_elem_group(&c.l, p.group, e, &i);
        struct gq_gdec d;
        gq_group_resolve(&c, g, &d);
        if (d.escaped) {
            if (rx != ry)
                __builtin_trap();
            continue;
        }
        if (gq_raw_nonfinite(rx, p.dtype)) /* a non-finite element must have escaped */
            __builtin_trap();
        double x = gq_raw_to_f32(rx, p.dtype), y = gq_raw_to_f32(ry, p.dtype);
        if (!(fabs(y - x) <= (double)d.step_s * (0.5 + ldexp(1.0, (int)p.bits - 22)) + ulp_of(y, p.dtype)))
            __builtin_trap();
    }
    /* a range decode is the slice of the full one */
    {
        uint64_t e0 = (r0 * n) / 256, e1 = e0 + ((uint64_t)r1 * (n - e0) + 255) / 256;
        if (e1 > e0) {
            uint8_t *part = malloc((e1 - e0) * es);
            if (gq_decode_range(buf, csize, e0, e1, part) != GQ_OK ||
                memcmp(part, out + e0 * es, (e1 - e0) * es) != 0)
                __builtin_trap();
            free(part);
        }
    }
done:
    free(src);
    free(buf);
    free(out);
    return 0;
}

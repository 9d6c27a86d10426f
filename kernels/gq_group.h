/*
 * gq_group.h — the per-group work of the format, written once.
 *
 * The CPU scalar codec, the CUDA kernels and the CPU-emulated kernels all
 * call these GQ_HD functions; the SIMD paths reproduce them lane by lane and
 * are tested byte for byte against them. Numerics: see gq_format.h.
 */
#ifndef GQ_GROUP_H
#define GQ_GROUP_H

#include "gq_dev.h"
#include "gq_format.h"
#include "gq_half.h"

#define GQ_F16_MAX 65504.0f
#define GQ_BF16_MAX 0x1.fep127f /* 3.3895314e38 */
#define GQ_F32_MAX 0x1.fffffep127f
#define GQ_F32_MIN_NORMAL 0x1p-126f
#define GQ_ESC_STEP16 0xffffu     /* step field of an escaped f16/bf16 group */
#define GQ_ESC_STEP32 0xffffffffu /* step field of an escaped f32 group */

/* ---- elements ---------------------------------------------------------- */

GQ_HD uint32_t gq_elem_raw(const void *base, uint64_t idx, uint32_t dtype)
{
    if (dtype == GQ_F32)
        return gq_load32((const uint32_t *)base + idx);
    return gq_load16((const uint16_t *)base + idx);
}

GQ_HD void gq_elem_put(void *base, uint64_t idx, uint32_t dtype, uint32_t bits)
{
    if (dtype == GQ_F32)
        gq_store32((uint32_t *)base + idx, bits);
    else
        gq_store16((uint16_t *)base + idx, (uint16_t)bits);
}

GQ_HD float gq_raw_to_f32(uint32_t raw, uint32_t dtype)
{
    if (dtype == GQ_F32)
        return gq_bits_f32(raw);
    if (dtype == GQ_BF16)
        return gq_bf16_to_f32((uint16_t)raw);
    return gq_f16_to_f32((uint16_t)raw);
}

GQ_HD int gq_raw_nonfinite(uint32_t raw, uint32_t dtype)
{
    if (dtype == GQ_F32)
        return (raw & 0x7f800000u) == 0x7f800000u;
    if (dtype == GQ_BF16)
        return (raw & 0x7f80u) == 0x7f80u;
    return (raw & 0x7c00u) == 0x7c00u;
}

GQ_HD float gq_dtype_max(uint32_t dtype)
{
    return dtype == GQ_F16 ? GQ_F16_MAX : dtype == GQ_BF16 ? GQ_BF16_MAX : GQ_F32_MAX;
}

/* The dtype's quiet NaN: what a GPU decode writes for a group lost to overflow. */
GQ_HD uint32_t gq_dtype_qnan(uint32_t dtype)
{
    return dtype == GQ_F32 ? 0x7fc00000u : dtype == GQ_BF16 ? 0x7fc0u : 0x7e00u;
}

/* ---- metadata ---------------------------------------------------------- */

struct gq_gmeta {
    float min_s, step_s, inv;
    uint32_t min_bits, step_bits; /* as stored, in the dtype */
    uint32_t maxq;                /* 2^b - 1 */
    int escape;
};

/* The metadata of a group from its fp32 min and max (see gq_format.h). */
GQ_HD void gq_meta_from_minmax(float mn, float mx, int nonfinite, uint32_t dtype, uint32_t bits,
                               struct gq_gmeta *m)
{
    float range, s;
    m->maxq = (1u << bits) - 1u;
    m->escape = 0;
    mn = mn + 0.0f; /* -0.0 -> +0.0: the same bits whatever order min() saw them in */
    mx = mx + 0.0f;
    range = mx - mn;
    if (nonfinite || !(range <= GQ_F32_MAX)) {
        m->escape = 1;
        m->min_s = m->step_s = m->inv = 0.0f;
        m->min_bits = m->step_bits = 0;
        return;
    }
    s = range / (float)m->maxq;
    if (dtype == GQ_F16) {
        m->step_bits = gq_f32_to_f16_ru(s);
        m->step_s = gq_f16_to_f32((uint16_t)m->step_bits);
        m->min_bits = gq_f32_to_f16_rn(mn);
    } else if (dtype == GQ_BF16) {
        if (range > 0.0f && s < GQ_F32_MIN_NORMAL)
            s = GQ_F32_MIN_NORMAL;
        m->step_bits = gq_f32_to_bf16_ru(s);
        m->step_s = gq_bf16_to_f32((uint16_t)m->step_bits);
        m->min_bits = gq_f32_to_bf16_rn(mn);
    } else {
        if (range > 0.0f && s < GQ_F32_MIN_NORMAL)
            s = GQ_F32_MIN_NORMAL;
        m->step_bits = gq_f32_bits(s);
        m->step_s = s;
        m->min_bits = gq_f32_bits(mn);
    }
    m->min_s = mn;
    m->inv = m->step_s > 0.0f ? 1.0f / m->step_s : 0.0f;
}

/* The code of one finite element x of a non-escaped group. */
GQ_HD uint32_t gq_quant_one(float x, const struct gq_gmeta *m)
{
    float q = rintf((x - m->min_s) * m->inv);
    q = fminf(q, (float)m->maxq);
    return (uint32_t)q;
}

/* The decoded value of code q, in the dtype's bits. */
GQ_HD uint32_t gq_dequant_one(uint32_t q, float step_s, float min_s, uint32_t dtype)
{
    float mx = gq_dtype_max(dtype);
    float v = fmaf((float)q, step_s, min_s);
    v = fminf(fmaxf(v, -mx), mx);
    if (dtype == GQ_F32)
        return gq_f32_bits(v);
    if (dtype == GQ_BF16)
        return gq_f32_to_bf16_rn(v);
    return gq_f32_to_f16_rn(v);
}

/* ---- one group, encode --------------------------------------------------- */

/* Everything a group encoder needs; built once per launch or call. */
struct gq_enc_ctx {
    struct gq_layout l;
    uint32_t bits, group, dtype;
    const void *src;   /* the tensor */
    uint8_t *meta;     /* buffer + l.meta_off */
    uint8_t *codes;    /* buffer + l.code_off */
    uint8_t *esc;      /* buffer + l.esc_off */
    uint32_t *esc_count, *overflow; /* the header's words */
};

GQ_HD uint32_t gq_atomic_inc(uint32_t *p)
{
#if defined(__CUDA_ARCH__) || defined(GQ_EMU)
    return atomicAdd(p, 1u);
#else
    return __atomic_fetch_add(p, 1u, __ATOMIC_RELAXED);
#endif
}

GQ_HD void gq_meta_put(uint8_t *meta, uint64_t g, uint32_t esize, uint32_t step_bits, uint32_t min_bits)
{
    if (esize == 4) {
        gq_store32((uint32_t *)meta + 2 * g, step_bits);
        gq_store32((uint32_t *)meta + 2 * g + 1, min_bits);
    } else {
        gq_store32((uint32_t *)meta + g, (step_bits & 0xffffu) | (min_bits << 16));
    }
}

/* Store 4 code bytes, little-endian; `aligned` when the stride keeps them
 * 4-aligned (one 4-byte store), else byte by byte. */
GQ_HD void gq_code_put32(uint8_t *p, uint32_t v, int aligned)
{
    uint32_t i;
    if (aligned) {
        gq_store32(p, v);
        return;
    }
    for (i = 0; i < 4; i++)
        gq_store8(p + i, (uint8_t)(v >> (8 * i)));
}

/* Escapes group g; `code` is where its codes go (the buffer's, or a copy). */
GQ_HD void gq_group_escape(const struct gq_enc_ctx *c, uint64_t g, uint8_t *code, uint64_t first,
                           uint64_t stride, uint32_t len)
{
    uint32_t slot = gq_atomic_inc(c->esc_count);
    uint32_t esize = c->l.esize, i;
    for (i = 0; i < c->l.code_stride; i++)
        gq_store8(code + i, 0);
    if (esize == 4) {
        gq_meta_put(c->meta, g, 4, GQ_ESC_STEP32, slot);
    } else {
        gq_meta_put(c->meta, g, 2, GQ_ESC_STEP16, slot & 0xffffu);
        gq_store8(code, (uint8_t)(slot >> 16));
        gq_store8(code + 1, (uint8_t)(slot >> 24));
    }
    if (slot >= c->l.escape_capacity) {
        gq_store32(c->overflow, 1u);
        return;
    }
    {
        uint8_t *raw = c->esc + (uint64_t)slot * c->group * esize;
        for (i = 0; i < c->group; i++)
            gq_elem_put(raw, i, c->dtype, i < len ? gq_elem_raw(c->src, first + i * stride, c->dtype) : 0u);
    }
}

/* Encodes group g: its metadata, its codes (to `out`: the buffer's place
 * for them, or a copy the caller moves there), and its escape when it needs
 * one. */
GQ_HD void gq_group_encode_to(const struct gq_enc_ctx *c, uint64_t g, uint8_t *out)
{
    uint64_t first = gq_group_first(&c->l, c->group, g), stride = c->l.cols;
    uint32_t len = gq_group_len(&c->l, c->group, g), i;
    uint32_t dtype = c->dtype, b = c->bits;
    float mn = 0.0f, mx = 0.0f;
    int nonfinite = 0;
    struct gq_gmeta m;
    for (i = 0; i < len; i++) {
        uint32_t raw = gq_elem_raw(c->src, first + i * stride, dtype);
        float x = gq_raw_to_f32(raw, dtype);
        nonfinite |= gq_raw_nonfinite(raw, dtype);
        if (i == 0) {
            mn = mx = x;
        } else {
            mn = fminf(mn, x);
            mx = fmaxf(mx, x);
        }
    }
    gq_meta_from_minmax(mn, mx, nonfinite, dtype, b, &m);
    if (m.escape) {
        gq_group_escape(c, g, out, first, stride, len);
        return;
    }
    gq_meta_put(c->meta, g, c->l.esize, m.step_bits, m.min_bits);
    {
        int aligned = (c->l.code_stride & 3u) == 0 && ((uintptr_t)out & 3u) == 0;
        uint32_t acc = 0, nbits = 0, off = 0;
        for (i = 0; i < len; i++) {
            float x = gq_raw_to_f32(gq_elem_raw(c->src, first + i * stride, dtype), dtype);
            acc |= gq_quant_one(x, &m) << nbits;
            nbits += b;
            if (nbits == 32) {
                gq_code_put32(out + off, acc, aligned);
                off += 4;
                acc = 0;
                nbits = 0;
            }
        }
        for (; off < c->l.code_stride; off++) { /* tail, and zeros past a partial group */
            gq_store8(out + off, (uint8_t)acc);
            acc >>= 8;
        }
    }
}

GQ_HD void gq_group_encode(const struct gq_enc_ctx *c, uint64_t g)
{
    gq_group_encode_to(c, g, c->codes + g * c->l.code_stride);
}

/* ---- one group, decode --------------------------------------------------- */

struct gq_dec_ctx {
    struct gq_layout l;
    uint32_t bits, group, dtype;
    const uint8_t *meta;  /* metadata of group g_base */
    const uint8_t *codes; /* codes of group g_base */
    const uint8_t *esc;   /* escape slot 0 */
    uint64_t g_base;
};

/* A group resolved for decoding. */
struct gq_gdec {
    float step_s, min_s;
    const uint8_t *codes;
    const uint8_t *raw; /* escape slot of an escaped group, else NULL */
    int escaped;        /* 1: raw holds it; 2: it overflowed (no data) */
};

GQ_HD void gq_group_resolve(const struct gq_dec_ctx *c, uint64_t g, struct gq_gdec *d)
{
    uint64_t k = g - c->g_base;
    uint32_t step_bits, min_bits;
    d->codes = c->codes + k * c->l.code_stride;
    d->raw = 0;
    d->escaped = 0;
    if (c->l.esize == 4) {
        step_bits = gq_load32((const uint32_t *)c->meta + 2 * k);
        min_bits = gq_load32((const uint32_t *)c->meta + 2 * k + 1);
    } else {
        uint32_t w = gq_load32((const uint32_t *)c->meta + k);
        step_bits = w & 0xffffu;
        min_bits = w >> 16;
    }
    if (step_bits == (c->l.esize == 4 ? GQ_ESC_STEP32 : GQ_ESC_STEP16)) {
        uint32_t slot = c->l.esize == 4 ? min_bits
                                        : min_bits | ((uint32_t)gq_load8(d->codes) << 16) |
                                              ((uint32_t)gq_load8(d->codes + 1) << 24);
        d->step_s = d->min_s = 0.0f;
        if (slot < c->l.escape_capacity) {
            d->escaped = 1;
            d->raw = c->esc + (uint64_t)slot * c->group * c->l.esize;
        } else {
            d->escaped = 2;
        }
        return;
    }
    d->step_s = gq_raw_to_f32(step_bits, c->dtype);
    d->min_s = gq_raw_to_f32(min_bits, c->dtype);
}

GQ_HD uint32_t gq_code_get(const uint8_t *codes, uint32_t i, uint32_t bits)
{
    uint32_t bit = i * bits;
    return ((uint32_t)gq_load8(codes + (bit >> 3)) >> (bit & 7u)) & ((1u << bits) - 1u);
}

/* Element i of a resolved group, in the dtype's bits. */
GQ_HD uint32_t gq_group_elem(const struct gq_dec_ctx *c, const struct gq_gdec *d, uint32_t i)
{
    if (d->escaped == 1)
        return gq_elem_raw(d->raw, i, c->dtype);
    if (d->escaped == 2)
        return gq_dtype_qnan(c->dtype);
    return gq_dequant_one(gq_code_get(d->codes, i, c->bits), d->step_s, d->min_s, c->dtype);
}

#endif

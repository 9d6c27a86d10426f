/*
 * gpu_data.h — test data for the GPU kit's programs, in C that nvcc's C++
 * compiles too: reproducible random numbers, tensors of every dtype that hold
 * the codec's edge cases, and the fp16 4-bit error bound of gq_format.h.
 * Everything is static inline; a random stream is a uint64_t state.
 */
#ifndef GPU_DATA_H
#define GPU_DATA_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gq_format.h"
#include "gq_half.h"

enum { GK_GAUSS, GK_EDGE };

static inline uint64_t gk_rnd(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline float gk_unif(uint64_t *s) /* [-1, 1) */
{
    return (float)((double)(gk_rnd(s) >> 11) * 0x1p-52 - 1.0);
}

static inline float gk_gauss(uint64_t *s) /* Irwin-Hall of 4: cheap, bell-shaped, within +-3.5 */
{
    uint64_t r = gk_rnd(s);
    float sum = 0;
    for (int i = 0; i < 4; i++, r >>= 16)
        sum += (float)(r & 0xffff);
    return (sum / 65535.0f - 2.0f) * 1.732f;
}

static inline void gk_put_bits(void *buf, uint64_t i, uint32_t dt, uint32_t bits)
{
    if (dt == GQ_F32)
        ((uint32_t *)buf)[i] = bits;
    else
        ((uint16_t *)buf)[i] = (uint16_t)bits;
}

static inline uint32_t gk_get_bits(const void *buf, uint64_t i, uint32_t dt)
{
    return dt == GQ_F32 ? ((const uint32_t *)buf)[i] : ((const uint16_t *)buf)[i];
}

static inline void gk_put(void *buf, uint64_t i, uint32_t dt, float v)
{
    gk_put_bits(buf, i, dt,
                dt == GQ_F32 ? gq_f32_bits(v) : dt == GQ_BF16 ? gq_f32_to_bf16_rn(v) : gq_f32_to_f16_rn(v));
}

/* Fills a tensor group by group, so that each pattern fills whole groups on
 * either axis. GK_GAUSS: six decades of scale, some groups shifted off zero;
 * GK_EDGE: group g gets pattern g % 12 (0 is GK_GAUSS's). */
static inline void gk_fill(void *buf, const struct gq_params *p, const struct gq_layout *l, int kind,
                           uint64_t *s)
{
    /* Per dtype: quiet NaN with a payload, negative NaN with a payload,
     * signalling NaN, +Inf, -Inf, largest finite, mask of a subnormal. */
    static const uint32_t special[4][7] = {
        {0},
        {0x7e01, 0xfd55, 0x7c01, 0x7c00, 0xfc00, 0x7bff, 0x83ff},
        {0x7fc1, 0xffa5, 0x7f81, 0x7f80, 0xff80, 0x7f7f, 0x807f},
        {0x7fc00123, 0xffc54321, 0x7f800001, 0x7f800000, 0xff800000, 0x7f7fffff, 0x807fffff},
    };
    static const int mant_bits[4] = {0, 10, 7, 23};
    static const float decade[6] = {1e-3f, 1e-2f, 1e-1f, 1.0f, 10.0f, 100.0f};
    uint32_t dt = p->dtype, neg = dt == GQ_F32 ? 0x80000000u : 0x8000u;
    const uint32_t *sp = special[dt];
    float big = dt == GQ_F16 ? 65504.0f : 3.0e38f;
    for (uint64_t g = 0; g < l->n_groups; g++) {
        uint64_t first = gq_group_first(l, p->group, g);
        uint32_t len = gq_group_len(l, p->group, g), pat = kind == GK_GAUSS ? 0 : (uint32_t)(g % 12);
        float scale = decade[g % 6], shift = g % 3 == 0 ? 5.0f * scale : 0.0f;
        for (uint32_t j = 0; j < len; j++) {
            uint64_t i = first + (uint64_t)j * l->cols;
            float v = gk_gauss(s) * scale + shift;
            int64_t raw = -1; /* bits stored as they are */
            switch (pat) {
            case 1: /* constant */
                v = 1.5f * (float)(1 + g % 5);
                break;
            case 2: /* a quiet NaN with a payload */
                if (j == len / 2)
                    raw = sp[0];
                break;
            case 3: /* +Inf and -Inf */
                if (j == 0 || j == len - 1)
                    raw = sp[j == 0 ? 3 : 4];
                break;
            case 4: /* full range: finite for f16; max - min overflows fp32 for bf16, f32 */
                if (j < 2)
                    raw = sp[5] | (j ? neg : 0);
                else
                    v = gk_unif(s) * 0.9f * big;
                break;
            case 5: /* beyond the fp16 range (f16: near its top) */
                v = gk_gauss(s) * (dt == GQ_F16 ? 1.5e4f : 1e30f);
                break;
            case 6: /* subnormals of either sign */
                raw = (uint32_t)gk_rnd(s) & sp[6];
                break;
            case 7: /* a range of a few ulps around 1000 */
                v = 1000.0f + 1000.0f * (float)(gk_rnd(s) % 3) * ldexpf(1.0f, -mant_bits[dt]);
                break;
            case 8: /* +0.0 and -0.0 */
                raw = gk_rnd(s) & 1 ? neg : 0;
                break;
            case 9: /* one outlier among small values */
                v = j == len / 3 ? 1000.0f : v * 0.01f;
                break;
            case 10: /* a signalling NaN */
                if (j == 0)
                    raw = sp[2];
                break;
            case 11: /* a negative NaN with a payload */
                if (j == len - 1)
                    raw = sp[1];
                break;
            default:
                break;
            }
            if (raw >= 0) {
                gk_put_bits(buf, i, dt, (uint32_t)raw);
                continue;
            }
            if (dt == GQ_F16 && fabsf(v) > 65504.0f)
                v = copysignf(65504.0f, v);
            gk_put(buf, i, dt, v);
        }
    }
}

/* n fp16 values like activations: Gaussian, a scale that changes every 64
 * elements; a 64 MiB tile repeated, which is enough for timing. */
static inline void gk_fill_f16(uint16_t *x, size_t n, uint64_t seed)
{
    size_t tile = n < ((size_t)32 << 20) ? n : (size_t)32 << 20;
    for (size_t i = 0; i < tile; i++)
        x[i] = gq_f32_to_f16_rn(gk_gauss(&seed) * 0.25f * (float)(1 + i / 64 % 7));
    for (size_t at = tile; at < n; at += tile)
        memcpy(x + at, x, (n - at < tile ? n - at : tile) * sizeof *x);
}

/* Is y outside gq_format.h's bound around x for fp16 at 4 bits, given the
 * group's step: |y - x| <= step / 2 + ulp(y) (ulp[e]: ulp of exponent field
 * e); non-finite values must come back bit for bit. *max_err: the largest
 * |y - x| over finite elements so far. */
static inline int gk_f16_outside(uint16_t x, uint16_t y, float step, const double *ulp, double *max_err)
{
    float a = gq_f16_to_f32(x), b = gq_f16_to_f32(y);
    if (!isfinite(a) || !isfinite(b))
        return x != y;
    double d = fabs((double)b - (double)a);
    *max_err = d > *max_err ? d : *max_err;
    return d > step / 2.0 + ulp[(y >> 10) & 0x1fu];
}

/* The step of a group from its min and max: (max - min) / 15 rounded up to fp16. */
static inline float gk_f16_step(float mn, float mx)
{
    return isfinite(mx - mn) ? gq_f16_to_f32(gq_f32_to_f16_ru((mx - mn) / 15.0f)) : 0.0f;
}

/* Elements of y outside that bound around x, groups of 64 along the flat
 * buffer (cols == 0: dim=last) or, for a rule with dim=0, cols=C (C > 0),
 * 64 rows of one column of the n / C x C matrix. *max_err: the largest
 * |y - x| over finite elements.
 * dim=0 walks the matrix a block of 64 rows at a time, row by row across a
 * tile of up to GK_TILE columns, each column with its own min/max: walking
 * down one column instead (a stride of C elements) touches one element per
 * cache line, and at C = 4096 one per page (on a 2-core machine, 35 s
 * instead of 3 s for 1 GiB).
 * Each group's rows are taken in the same order either way, so the results
 * are the same bit for bit. */
#define GK_TILE 512
static inline uint64_t gk_f16_outside_bound_cols(const uint16_t *x, const uint16_t *y, size_t n,
                                                 size_t cols, double *max_err)
{
    float mn[GK_TILE], mx[GK_TILE], step[GK_TILE];
    double ulp[32];
    uint64_t bad = 0;
    for (int e = 0; e < 32; e++)
        ulp[e] = ldexp(1.0, (e ? e : 1) - 25);
    *max_err = 0;
    if (cols == 0) {
        for (size_t i0 = 0; i0 < n; i0 += 64) {
            size_t i1 = n - i0 < 64 ? n : i0 + 64;
            float lo = INFINITY, hi = -INFINITY;
            for (size_t i = i0; i < i1; i++) {
                float v = gq_f16_to_f32(x[i]);
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
            float st = gk_f16_step(lo, hi);
            for (size_t i = i0; i < i1; i++)
                bad += gk_f16_outside(x[i], y[i], st, ulp, max_err);
        }
        return bad;
    }
    size_t len = n / cols;
    for (size_t r0 = 0; r0 < len; r0 += 64) {
        size_t r1 = len - r0 < 64 ? len : r0 + 64;
        for (size_t c0 = 0; c0 < cols; c0 += GK_TILE) {
            size_t w = cols - c0 < GK_TILE ? cols - c0 : GK_TILE;
            for (size_t c = 0; c < w; c++) {
                mn[c] = INFINITY;
                mx[c] = -INFINITY;
            }
            for (size_t r = r0; r < r1; r++) {
                const uint16_t *xr = x + r * cols + c0;
                for (size_t c = 0; c < w; c++) {
                    float v = gq_f16_to_f32(xr[c]);
                    mn[c] = v < mn[c] ? v : mn[c];
                    mx[c] = v > mx[c] ? v : mx[c];
                }
            }
            for (size_t c = 0; c < w; c++)
                step[c] = gk_f16_step(mn[c], mx[c]);
            for (size_t r = r0; r < r1; r++) {
                const uint16_t *xr = x + r * cols + c0, *yr = y + r * cols + c0;
                for (size_t c = 0; c < w; c++)
                    bad += gk_f16_outside(xr[c], yr[c], step[c], ulp, max_err);
            }
        }
    }
    return bad;
}
#undef GK_TILE

static inline uint64_t gk_f16_outside_bound(const uint16_t *x, const uint16_t *y, size_t n, double *max_err)
{
    return gk_f16_outside_bound_cols(x, y, n, 0, max_err);
}

#endif

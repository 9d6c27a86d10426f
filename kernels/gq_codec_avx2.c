/*
 * gq_codec_avx2.c — the AVX2 + F16C + FMA bulk path, for CPUs without
 * AVX-512. Compiled with those flags alone, entered after cpuid.
 * Byte-identical to the scalar path (tests/unit/test_codec_simd.c).
 *
 * Encode: the design of gq_codec_avx512.c on 256-bit vectors, in blocks of
 * 8 groups (G a multiple of 16): min/max of integer keys that order like the
 * floats, one transposing reduction for the 8 groups, their metadata in one
 * vector and one store, then one conversion per element, the code arithmetic
 * of gq_quant_one(), saturating packs and 32-byte code stores. Escaped groups
 * are rewritten after their block by gq_group_encode(), in group order.
 * Other group sizes, and a tail of < 8 groups, go scalar.
 * Decode: groups one at a time. 16-bit values of b <= 4: the 2^b possible
 * values of the group go into two vpshufb byte tables (low and high bytes),
 * so 32 elements cost two shuffles, two unpacks and two stores; otherwise
 * fmaf per element, 8 per vector.
 */
#include "gq_codec_impl.h"

#include <immintrin.h>

#define BLOCK 8

/* ---- encode: pass 1 ------------------------------------------------------------ */

/* Keys that order like the floats: see gq_codec_avx512.c. */
static inline __m256i kload(const uint8_t *p, int w32)
{
    __m256i x = _mm256_loadu_si256((const __m256i *)p);
    if (w32)
        return _mm256_xor_si256(x, _mm256_and_si256(_mm256_srai_epi32(x, 31), _mm256_set1_epi32(0x7fffffff)));
    return _mm256_xor_si256(x, _mm256_and_si256(_mm256_srai_epi16(x, 15), _mm256_set1_epi16(0x7fff)));
}

static inline __m256i kop(__m256i a, __m256i b, int w32, int is_max)
{
    if (w32)
        return is_max ? _mm256_max_epi32(a, b) : _mm256_min_epi32(a, b);
    return is_max ? _mm256_max_epi16(a, b) : _mm256_min_epi16(a, b);
}

static inline void group_keys(const uint8_t *p, uint32_t bytes, int w32, __m256i *mn, __m256i *mx)
{
    __m256i lo = kload(p, w32), hi = lo;
    for (uint32_t off = 32; off < bytes; off += 32) {
        __m256i k = kload(p + off, w32);
        lo = kop(lo, k, w32, 0);
        hi = kop(hi, k, w32, 1);
    }
    *mn = lo;
    *mx = hi;
}

/* The lane-wise vectors of 8 groups reduced together; lane g of the result
 * is group g's key as int32 (16-bit keys sign-extended). */
static inline __m256i reduce8(const __m256i *v, int w32, int is_max)
{
    __m256i r1[4], r2[2], r3;
    for (int i = 0; i < 4; i++) /* 128-bit lanes: [2i, 2i+1] */
        r1[i] = kop(_mm256_permute2x128_si256(v[2 * i], v[2 * i + 1], 0x20),
                    _mm256_permute2x128_si256(v[2 * i], v[2 * i + 1], 0x31), w32, is_max);
    for (int i = 0; i < 2; i++) /* lane k: [4i+k, 4i+2+k] */
        r2[i] = kop(_mm256_unpacklo_epi64(r1[2 * i], r1[2 * i + 1]),
                    _mm256_unpackhi_epi64(r1[2 * i], r1[2 * i + 1]), w32, is_max);
    {   /* lane k: [k, 2+k, 4+k, 6+k], one dword each */
        __m256 u = _mm256_castsi256_ps(r2[0]), w = _mm256_castsi256_ps(r2[1]);
        r3 = kop(_mm256_castps_si256(_mm256_shuffle_ps(u, w, 0x88)),
                 _mm256_castps_si256(_mm256_shuffle_ps(u, w, 0xdd)), w32, is_max);
    }
    if (!w32) {
        r3 = kop(r3, _mm256_srli_epi32(r3, 16), 0, is_max);
        r3 = _mm256_srai_epi32(_mm256_slli_epi32(r3, 16), 16);
    }
    return _mm256_permutevar8x32_epi32(r3, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* ---- encode: metadata ------------------------------------------------------------ */

struct block_meta {
    float mn[BLOCK], inv[BLOCK];
    int escape; /* bit g: group g escapes */
};

static inline __m256 key_to_f32(__m256i k, uint32_t dt)
{
    if (dt == GQ_F32)
        return _mm256_castsi256_ps(
            _mm256_xor_si256(k, _mm256_and_si256(_mm256_srai_epi32(k, 31), _mm256_set1_epi32(0x7fffffff))));
    __m256i raw = _mm256_xor_si256(k, _mm256_and_si256(_mm256_srai_epi32(k, 31), _mm256_set1_epi32(0x7fff)));
    if (dt == GQ_BF16)
        return _mm256_castsi256_ps(_mm256_slli_epi32(raw, 16));
    raw = _mm256_and_si256(raw, _mm256_set1_epi32(0xffff));
    return _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(raw), _mm256_extracti128_si256(raw, 1)));
}

/* gq_meta_from_minmax() for 8 groups; stores their metadata and fills *m. */
static inline void block_meta(const struct gq_enc_ctx *c, uint64_t g0, __m256i kmn, __m256i kmx,
                              struct block_meta *m)
{
    const uint32_t dt = c->dtype, b = c->bits;
    const __m256 zero = _mm256_setzero_ps();
    const int thr = dt == GQ_F32 ? 0x7f800000 : dt == GQ_BF16 ? 0x7f80 : 0x7c00;
    __m256 mn = _mm256_add_ps(key_to_f32(kmn, dt), zero), mx = _mm256_add_ps(key_to_f32(kmx, dt), zero);
    __m256 range = _mm256_sub_ps(mx, mn);
    __m256 s = _mm256_div_ps(range, _mm256_set1_ps((float)((1u << b) - 1u)));
    __m256 step;
    __m256i sb, mb, bad;
    bad = _mm256_or_si256(_mm256_cmpgt_epi32(kmx, _mm256_set1_epi32(thr - 1)),
                          _mm256_cmpgt_epi32(_mm256_set1_epi32(-thr), kmn));
    bad = _mm256_or_si256(bad, _mm256_castps_si256(_mm256_cmp_ps(range, _mm256_set1_ps(GQ_F32_MAX), _CMP_NLE_UQ)));
    m->escape = _mm256_movemask_ps(_mm256_castsi256_ps(bad));
    if (dt == GQ_F16) {
        __m128i h = _mm256_cvtps_ph(s, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
        step = _mm256_cvtph_ps(h);
        sb = _mm256_cvtepu16_epi32(h);
        mb = _mm256_cvtepu16_epi32(_mm256_cvtps_ph(mn, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    } else {
        __m256 tiny = _mm256_and_ps(_mm256_cmp_ps(range, zero, _CMP_GT_OQ),
                                    _mm256_cmp_ps(s, _mm256_set1_ps(GQ_F32_MIN_NORMAL), _CMP_LT_OQ));
        s = _mm256_blendv_ps(s, _mm256_set1_ps(GQ_F32_MIN_NORMAL), tiny);
        if (dt == GQ_BF16) {
            sb = _mm256_srli_epi32(_mm256_add_epi32(_mm256_castps_si256(s), _mm256_set1_epi32(0xffff)), 16);
            step = _mm256_castsi256_ps(_mm256_slli_epi32(sb, 16));
            mb = _mm256_srli_epi32(_mm256_castps_si256(mn), 16); /* exact: mn is a bf16 */
        } else {
            step = s;
            sb = _mm256_castps_si256(s);
            mb = _mm256_castps_si256(mn);
        }
    }
    _mm256_storeu_ps(m->mn, mn);
    _mm256_storeu_ps(m->inv, _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.0f), step),
                                           _mm256_cmp_ps(step, zero, _CMP_GT_OQ)));
    if (c->l.esize == 2) {
        _mm256_storeu_si256((__m256i *)(c->meta + g0 * 4), _mm256_or_si256(sb, _mm256_slli_epi32(mb, 16)));
    } else {
        __m256i lo = _mm256_unpacklo_epi32(sb, mb), hi = _mm256_unpackhi_epi32(sb, mb);
        _mm256_storeu_si256((__m256i *)(c->meta + g0 * 8), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(c->meta + g0 * 8 + 32), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
}

/* ---- encode: pass 2 ------------------------------------------------------------- */

static inline __m256 load8(const uint8_t *p, uint32_t dt)
{
    if (dt == GQ_F16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    if (dt == GQ_F32)
        return _mm256_loadu_ps((const float *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

static inline __m256i quant8(__m256 x, float mn, float inv)
{
    __m256 y = _mm256_mul_ps(_mm256_sub_ps(x, _mm256_set1_ps(mn)), _mm256_set1_ps(inv));
    return _mm256_cvtps_epi32(y); /* rounds as rintf() does: by MXCSR, to nearest even */
}

/* The codes of the 32 elements at p (element e of the block), one byte each:
 * byte 16k + 4v + i holds element 8v + 4k + i (the in-lane packs), clamped
 * to 2^b - 1 after saturating packs, i.e. min(q, 2^b - 1) exactly. */
static inline __attribute__((always_inline)) __m256i codes32(const struct block_meta *m, const uint8_t *vgrp,
                                                            const uint8_t *p, uint32_t e, uint32_t dt, uint32_t b)
{
    const uint32_t es = dt == GQ_F32 ? 4 : 2;
    __m256i q[4];
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t g = vgrp[e / 8 + i];
        q[i] = quant8(load8(p + 8 * i * es, dt), m->mn[g], m->inv[g]);
    }
    return _mm256_min_epu8(_mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3])),
                           _mm256_set1_epi8((char)((1u << b) - 1u)));
}

static inline __attribute__((always_inline)) void encode_block(const struct gq_enc_ctx *c, const uint8_t *vgrp,
                                                              uint64_t g0, uint32_t dt, uint32_t b)
{
    const uint32_t G = c->group, es = dt == GQ_F32 ? 4 : 2, gbytes = G * es;
    const int w32 = es == 4;
    const uint8_t *src = (const uint8_t *)c->src + g0 * gbytes;
    uint8_t *out = c->codes + g0 * c->l.code_stride; /* 8 * G * b / 8 bytes, contiguous */
    __m256i vmn[BLOCK], vmx[BLOCK];
    struct block_meta m;

    for (uint32_t j = 0; j < BLOCK; j++)
        group_keys(src + j * gbytes, gbytes, w32, &vmn[j], &vmx[j]);
    block_meta(c, g0, reduce8(vmn, w32, 0), reduce8(vmx, w32, 1), &m);

    for (uint32_t e = 0; e < BLOCK * G; e += 256 / b) { /* 32 bytes of codes per step */
        __m256i r;
        if (b == 8) {
            r = _mm256_permutevar8x32_epi32(codes32(&m, vgrp, src + e * es, e, dt, b),
                                            _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        } else {
            __m128i lo, hi;
            if (b == 4) { /* word of pair j: code(2j) + 16 code(2j+1) */
                const __m256i mul = _mm256_set1_epi16(0x1001);
                r = _mm256_packus_epi16(_mm256_maddubs_epi16(codes32(&m, vgrp, src + e * es, e, dt, b), mul),
                                        _mm256_maddubs_epi16(codes32(&m, vgrp, src + (e + 32) * es, e + 32, dt, b), mul));
                lo = _mm256_castsi256_si128(r);
                hi = _mm256_extracti128_si256(r, 1);
                r = _mm256_set_m128i(_mm_unpackhi_epi16(lo, hi), _mm_unpacklo_epi16(lo, hi));
            } else { /* dword of quad j: code(4j) + 4 code(4j+1) + 16 code(4j+2) + 64 code(4j+3) */
                const __m256i m1 = _mm256_set1_epi16(0x0401), m2 = _mm256_set1_epi32(0x00100001);
                __m256i d[4];
                for (uint32_t s = 0; s < 4; s++)
                    d[s] = _mm256_madd_epi16(
                        _mm256_maddubs_epi16(codes32(&m, vgrp, src + (e + 32 * s) * es, e + 32 * s, dt, b), m1), m2);
                r = _mm256_packus_epi16(_mm256_packus_epi32(d[0], d[1]), _mm256_packus_epi32(d[2], d[3]));
                lo = _mm256_castsi256_si128(r);
                hi = _mm256_extracti128_si256(r, 1);
                r = _mm256_set_m128i(_mm_unpackhi_epi8(lo, hi), _mm_unpacklo_epi8(lo, hi));
            }
        }
        _mm256_storeu_si256((__m256i *)(out + e * b / 8), r);
    }
    for (int esc = m.escape; esc; esc &= esc - 1) /* rare: NaN/Inf groups */
        gq_group_encode(c, g0 + (uint32_t)__builtin_ctz((unsigned)esc));
}

/* Blocks [g0, g1) of 8 groups, compiled once per dtype and width. */
static inline __attribute__((always_inline)) void encode_blocks(const struct gq_enc_ctx *c, uint64_t g0,
                                                               uint64_t g1, uint32_t dt, uint32_t b)
{
    uint8_t vgrp[GQ_GROUP_MAX]; /* group (in the block) of each 8-element vector */
    for (uint32_t v = 0; v < c->group; v++)
        vgrp[v] = (uint8_t)(v / (c->group / 8));
    for (uint64_t g = g0; g < g1; g += BLOCK)
        encode_block(c, vgrp, g, dt, b);
}

static void encode_full(const struct gq_enc_ctx *c, uint64_t g0, uint64_t g1)
{
    uint64_t g = g0;
    if (c->group % 16 == 0 && g1 - g0 >= BLOCK) {
        uint64_t gb = g0 + (g1 - g0) / BLOCK * BLOCK;
        uint32_t b = c->bits;
        switch (c->dtype) {
        case GQ_F16:
            b == 2 ? encode_blocks(c, g0, gb, GQ_F16, 2) : b == 4 ? encode_blocks(c, g0, gb, GQ_F16, 4)
                                                                 : encode_blocks(c, g0, gb, GQ_F16, 8);
            break;
        case GQ_BF16:
            b == 2 ? encode_blocks(c, g0, gb, GQ_BF16, 2) : b == 4 ? encode_blocks(c, g0, gb, GQ_BF16, 4)
                                                                  : encode_blocks(c, g0, gb, GQ_BF16, 8);
            break;
        default:
            b == 2 ? encode_blocks(c, g0, gb, GQ_F32, 2) : b == 4 ? encode_blocks(c, g0, gb, GQ_F32, 4)
                                                                 : encode_blocks(c, g0, gb, GQ_F32, 8);
            break;
        }
        g = gb;
    }
    gq_scalar_encode_full(c, g, g1);
}

/* ---- decode -------------------------------------------------------------------- */

/* 8 codes of b bits at `in` as int32 lanes. */
static inline __m256i codes8(const uint8_t *in, uint32_t b)
{
    if (b == 8)
        return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)in));
    uint32_t raw = 0;
    memcpy(&raw, in, b);
    __m256i sh = b == 4 ? _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)
                        : _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)raw), sh),
                            _mm256_set1_epi32((int)((1u << b) - 1u)));
}

/* 8 fp32 lanes to the dtype's 16-bit values (round to nearest even). */
static inline __m128i to16(__m256 v, uint32_t dt)
{
    if (dt == GQ_F16)
        return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256i x = _mm256_castps_si256(v);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    x = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
    return _mm_packus_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
}

/* The decoded values of codes 0..15 of a group (gq_dequant_one()), 16-bit,
 * as two vpshufb tables: their low bytes and their high bytes, each in both
 * 128-bit lanes. */
static inline void lut16(float step, float min, uint32_t dt, __m256i *tlo, __m256i *thi)
{
    const float mx = gq_dtype_max(dt);
    const __m256 vs = _mm256_set1_ps(step), vm = _mm256_set1_ps(min);
    const __m256 hi = _mm256_set1_ps(mx), lo = _mm256_set1_ps(-mx);
    const __m128i split = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    __m256 a = _mm256_fmadd_ps(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), vs, vm);
    __m256 b = _mm256_fmadd_ps(_mm256_setr_ps(8, 9, 10, 11, 12, 13, 14, 15), vs, vm);
    __m128i ha = _mm_shuffle_epi8(to16(_mm256_min_ps(_mm256_max_ps(a, lo), hi), dt), split);
    __m128i hb = _mm_shuffle_epi8(to16(_mm256_min_ps(_mm256_max_ps(b, lo), hi), dt), split);
    *tlo = _mm256_broadcastsi128_si256(_mm_unpacklo_epi64(ha, hb));
    *thi = _mm256_broadcastsi128_si256(_mm_unpackhi_epi64(ha, hb));
}

/* 32 values from 32 code indexes (one byte each, in element order). */
static inline void emit32(uint8_t *out, __m256i idx, __m256i tlo, __m256i thi)
{
    __m256i l = _mm256_shuffle_epi8(tlo, idx), h = _mm256_shuffle_epi8(thi, idx);
    __m256i a = _mm256_unpacklo_epi8(l, h), b = _mm256_unpackhi_epi8(l, h);
    _mm256_storeu_si256((__m256i *)out, _mm256_permute2x128_si256(a, b, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 32), _mm256_permute2x128_si256(a, b, 0x31));
}

/* A 16-bit group of b <= 4 through the tables: 64 elements (16 code bytes)
 * per step; returns how many elements it wrote. */
static inline uint32_t decode_lut16(const uint8_t *codes, uint32_t G, uint32_t b, float step, float min,
                                    uint32_t dt, uint8_t *out)
{
    const __m128i m = _mm_set1_epi8(b == 4 ? 0x0f : 0x03);
    __m256i tlo, thi;
    uint32_t k = 0;
    lut16(step, min, dt, &tlo, &thi);
    if (b == 4) {
        for (; k + 32 <= G; k += 32) {
            __m128i c = _mm_loadu_si128((const __m128i *)(codes + k / 2));
            __m128i lo = _mm_and_si128(c, m), hi = _mm_and_si128(_mm_srli_epi16(c, 4), m);
            emit32(out + k * 2, _mm256_set_m128i(_mm_unpackhi_epi8(lo, hi), _mm_unpacklo_epi8(lo, hi)), tlo, thi);
        }
        return k;
    }
    for (; k + 64 <= G; k += 64) { /* element 4j + i: bits 2i of byte j */
        __m128i c = _mm_loadu_si128((const __m128i *)(codes + k / 4));
        __m128i a0 = _mm_and_si128(c, m), a1 = _mm_and_si128(_mm_srli_epi16(c, 2), m);
        __m128i a2 = _mm_and_si128(_mm_srli_epi16(c, 4), m), a3 = _mm_and_si128(_mm_srli_epi16(c, 6), m);
        __m128i p01 = _mm_unpacklo_epi8(a0, a1), p23 = _mm_unpacklo_epi8(a2, a3);
        __m128i q01 = _mm_unpackhi_epi8(a0, a1), q23 = _mm_unpackhi_epi8(a2, a3);
        emit32(out + k * 2, _mm256_set_m128i(_mm_unpackhi_epi16(p01, p23), _mm_unpacklo_epi16(p01, p23)), tlo, thi);
        emit32(out + k * 2 + 64, _mm256_set_m128i(_mm_unpackhi_epi16(q01, q23), _mm_unpacklo_epi16(q01, q23)), tlo,
               thi);
    }
    return k;
}

static int decode_full(const struct gq_dec_ctx *c, uint64_t g0, uint64_t g1, void *dst)
{
    const uint32_t G = c->group, es = c->l.esize, dt = c->dtype, b = c->bits;
    const float mx = gq_dtype_max(dt);
    const __m256 hi = _mm256_set1_ps(mx), lo = _mm256_set1_ps(-mx);
    uint8_t *out = dst;
    if (G % 8 != 0)
        return gq_scalar_decode_full(c, g0, g1, dst);
    for (uint64_t g = g0; g < g1; g++, out += G * es) {
        struct gq_gdec d;
        uint32_t k = 0;
        gq_group_resolve(c, g, &d);
        if (d.escaped) {
            int rc = gq_scalar_decode_group(c, g, out);
            if (rc != GQ_OK)
                return rc;
            continue;
        }
        if (es == 2 && b <= 4)
            k = decode_lut16(d.codes, G, b, d.step_s, d.min_s, dt, out);
        __m256 vs = _mm256_set1_ps(d.step_s), vm = _mm256_set1_ps(d.min_s);
        for (; k < G; k += 8) {
            __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(codes8(d.codes + k * b / 8, b)), vs, vm);
            v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
            if (dt == GQ_F32)
                _mm256_storeu_ps((float *)(out + k * 4), v);
            else
                _mm_storeu_si128((__m128i *)(out + k * 2), to16(v, dt));
        }
    }
    return GQ_OK;
}

static const struct gq_cpu_path avx2_path = {"avx2", encode_full, decode_full};

const struct gq_cpu_path *gq_path_avx2(void)
{
    return (gq_cpu_features() & GQ_CPU_AVX2) ? &avx2_path : NULL;
}

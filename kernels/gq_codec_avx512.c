/*
 * gq_codec_avx512.c — the AVX-512 bulk path (F, BW, VL, DQ, VBMI + F16C,
 * FMA), compiled with those flags alone and entered only after cpuid says
 * the CPU has them. It must write exactly the bytes of gq_group.h's scalar
 * functions; tests/unit/test_codec_simd.c holds it to that.
 *
 * Encode: 16 groups at a time. Pass 1 takes each group's min/max (and flags
 * non-finite elements), the metadata of the 16 groups is computed in one
 * vector, pass 2 quantizes. A block holding anything unusual (a NaN/Inf, a
 * range past FLT_MAX) is handed to the scalar group encoder, in group order.
 * Decode, b <= 4: the 2^b possible values of a group are computed once into
 * a table and codes become values through one permute (vpermw / vpermps);
 * b = 8 computes fmaf per element. Large outputs use streaming stores, so
 * the decode does not read the destination it overwrites.
 */
#include "gq_codec_impl.h"

#include <immintrin.h>

#define BLOCK 16
#define STREAM_MIN_BYTES (4u << 20)

/* ---- loads ------------------------------------------------------------------ */

/* 16 elements as fp32, plus a mask of the non-finite ones. */
static inline __m512 load16(const void *p, uint32_t dtype, __mmask16 *bad)
{
    if (dtype == GQ_F32) {
        __m512i r = _mm512_loadu_si512(p);
        __m512i e = _mm512_and_si512(r, _mm512_set1_epi32(0x7f800000));
        *bad |= _mm512_cmpeq_epi32_mask(e, _mm512_set1_epi32(0x7f800000));
        return _mm512_castsi512_ps(r);
    }
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    short ex = dtype == GQ_F16 ? 0x7c00 : 0x7f80;
    __m256i e = _mm256_and_si256(h, _mm256_set1_epi16(ex));
    *bad |= _mm256_cmpeq_epi16_mask(e, _mm256_set1_epi16(ex));
    if (dtype == GQ_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* ---- encode ------------------------------------------------------------------- */

/* Codes of 16 elements (int32 lanes) into 16*b/8 bytes at out. */
static inline void pack16(__m512i q, uint32_t b, uint8_t *out)
{
    __m128i c = _mm512_cvtepi32_epi8(q); /* byte i = code i */
    if (b == 8) {
        _mm_storeu_si128((__m128i *)out, c);
    } else if (b == 4) {
        __m128i t = _mm_or_si128(c, _mm_srli_epi16(c, 4));
        __m128i n = _mm_cvtepi16_epi8(t); /* low byte of each 16-bit lane */
        _mm_storel_epi64((__m128i *)out, n);
    } else {
        __m128i t = _mm_or_si128(c, _mm_srli_epi32(c, 6));
        t = _mm_or_si128(t, _mm_srli_epi32(t, 12));
        uint32_t w = (uint32_t)_mm_cvtsi128_si32(_mm_cvtepi32_epi8(t));
        memcpy(out, &w, 4);
    }
}

static void encode_block(const struct gq_enc_ctx *c, uint64_t g0, uint32_t nb)
{
    const uint32_t G = c->group, es = c->l.esize, dt = c->dtype, b = c->bits;
    const uint8_t *src = (const uint8_t *)c->src;
    float mnv[BLOCK], mxv[BLOCK], stepv[BLOCK], invv[BLOCK];
    uint32_t sbits[BLOCK], mbits[BLOCK];
    __mmask16 bad = 0, live = (__mmask16)((1u << nb) - 1u);

    for (uint32_t j = 0; j < nb; j++) {
        const uint8_t *p = src + (g0 + j) * G * es;
        __m512 vmin = load16(p, dt, &bad), vmax = vmin;
        for (uint32_t k = 16; k < G; k += 16) {
            __m512 x = load16(p + k * es, dt, &bad);
            vmin = _mm512_min_ps(vmin, x);
            vmax = _mm512_max_ps(vmax, x);
        }
        mnv[j] = _mm512_reduce_min_ps(vmin);
        mxv[j] = _mm512_reduce_max_ps(vmax);
    }
    if (bad)
        goto scalar;
    {
        const __m512 zero = _mm512_setzero_ps();
        __m512 mn = _mm512_add_ps(_mm512_maskz_loadu_ps(live, mnv), zero);
        __m512 mx = _mm512_add_ps(_mm512_maskz_loadu_ps(live, mxv), zero);
        __m512 range = _mm512_sub_ps(mx, mn);
        __m512 s = _mm512_div_ps(range, _mm512_set1_ps((float)((1u << b) - 1u)));
        __m512 step;
        __m512i sb, mb;
        if (_mm512_mask_cmp_ps_mask(live, range, _mm512_set1_ps(GQ_F32_MAX), _CMP_GT_OQ))
            goto scalar;
        if (dt == GQ_F16) {
            __m256i h = _mm512_cvtps_ph(s, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
            step = _mm512_cvtph_ps(h);
            sb = _mm512_cvtepu16_epi32(h);
            mb = _mm512_cvtepu16_epi32(_mm512_cvtps_ph(mn, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        } else {
            __mmask16 tiny = _mm512_cmp_ps_mask(range, zero, _CMP_GT_OQ) &
                             _mm512_cmp_ps_mask(s, _mm512_set1_ps(GQ_F32_MIN_NORMAL), _CMP_LT_OQ);
            s = _mm512_mask_blend_ps(tiny, s, _mm512_set1_ps(GQ_F32_MIN_NORMAL));
            if (dt == GQ_BF16) {
                sb = _mm512_srli_epi32(_mm512_add_epi32(_mm512_castps_si512(s), _mm512_set1_epi32(0xffff)), 16);
                step = _mm512_castsi512_ps(_mm512_slli_epi32(sb, 16));
                mb = _mm512_srli_epi32(_mm512_castps_si512(mn), 16); /* exact: mn is a bf16 */
            } else {
                step = s;
                sb = _mm512_castps_si512(s);
                mb = _mm512_castps_si512(mn);
            }
        }
        _mm512_storeu_ps(mnv, mn);
        _mm512_storeu_ps(stepv, step);
        _mm512_storeu_ps(invv, _mm512_maskz_div_ps(_mm512_cmp_ps_mask(step, zero, _CMP_GT_OQ),
                                                   _mm512_set1_ps(1.0f), step));
        _mm512_storeu_si512(sbits, sb);
        _mm512_storeu_si512(mbits, mb);
    }
    (void)stepv;
    for (uint32_t j = 0; j < nb; j++) {
        uint64_t g = g0 + j;
        const uint8_t *p = src + g * G * es;
        uint8_t *out = c->codes + g * c->l.code_stride;
        __m512 vmin = _mm512_set1_ps(mnv[j]), vinv = _mm512_set1_ps(invv[j]);
        __m512i vmax = _mm512_set1_epi32((int)((1u << b) - 1u));
        __mmask16 ignore = 0;
        gq_meta_put(c->meta, g, es, sbits[j], mbits[j]);
        for (uint32_t k = 0; k < G; k += 16) {
            __m512 x = load16(p + k * es, dt, &ignore);
            __m512 y = _mm512_mul_ps(_mm512_sub_ps(x, vmin), vinv);
            __m512i q = _mm512_cvt_roundps_epi32(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            pack16(_mm512_min_epi32(q, vmax), b, out + k * b / 8);
        }
    }
    return;
scalar:
    for (uint32_t j = 0; j < nb; j++)
        gq_group_encode(c, g0 + j);
}

static void encode_full(const struct gq_enc_ctx *c, uint64_t g0, uint64_t g1)
{
    if (c->group % 16 != 0) {
        gq_scalar_encode_full(c, g0, g1);
        return;
    }
    for (uint64_t g = g0; g < g1; g += BLOCK)
        encode_block(c, g, (uint32_t)(g1 - g < BLOCK ? g1 - g : BLOCK));
}

/* ---- decode -------------------------------------------------------------------- */

/* The decoded values of codes 0..15, per gq_dequant_one(). */
static inline __m512 lut_f32(float step, float min, float maxv)
{
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 v = _mm512_fmadd_ps(iota, _mm512_set1_ps(step), _mm512_set1_ps(min));
    return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-maxv)), _mm512_set1_ps(maxv));
}

/* fp32 lanes to the dtype's 16-bit values (round to nearest even). */
static inline __m256i to16(__m512 v, uint32_t dt)
{
    if (dt == GQ_F16)
        return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512i x = _mm512_castps_si512(v);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
    x = _mm512_add_epi32(x, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(x, 16));
}

static inline void store512(void *p, __m512i v, int stream)
{
    if (stream)
        _mm512_stream_si512((__m512i *)p, v);
    else
        _mm512_storeu_si512(p, v);
}

/* 32 codes of b bits at `in` as 16-bit lane indexes for vpermw, which reads
 * only bits 4..0 of each: the table is stored twice (entries k and k+16), so
 * bit 4 may hold anything and the 4-bit case needs no masking. */
static inline __m512i idx32(const uint8_t *in, uint32_t b)
{
    if (b == 4) {
        __m512i w = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)in));
        return _mm512_or_si512(w, _mm512_slli_epi32(w, 12)); /* lane 2j: b & 15, 2j+1: b >> 4 */
    }
    uint64_t raw;
    memcpy(&raw, in, 8);
    __m512i w = _mm512_cvtepu8_epi64(_mm_cvtsi64_si128((long long)raw));
    __m512i ctl = _mm512_set1_epi64(0x0806080408020800ll);
    return _mm512_and_si512(_mm512_multishift_epi64_epi8(ctl, w), _mm512_set1_epi16(3));
}

/* 16 codes of b bits at `in` as 32-bit lane indexes. */
static inline __m512i idx16(const uint8_t *in, uint32_t b)
{
    uint64_t raw = 0;
    if (b == 8)
        return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)in));
    memcpy(&raw, in, b * 2);
    __m512i lo = _mm512_set1_epi32((int)(uint32_t)raw), hi = _mm512_set1_epi32((int)(uint32_t)(raw >> 32));
    __m512i sh;
    if (b == 4) {
        sh = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
        lo = _mm512_mask_blend_epi32(0xff00, lo, hi);
    } else {
        sh = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    }
    return _mm512_and_si512(_mm512_srlv_epi32(lo, sh), _mm512_set1_epi32((int)((1u << b) - 1u)));
}

static void decode_group(const struct gq_dec_ctx *c, const uint8_t *codes, float step, float min,
                         uint8_t *out, int stream)
{
    const uint32_t G = c->group, b = c->bits, dt = c->dtype;
    const float maxv = gq_dtype_max(dt);
    if (dt == GQ_F32) {
        if (b <= 4) {
            __m512 lut = lut_f32(step, min, maxv);
            for (uint32_t k = 0; k < G; k += 16)
                store512(out + k * 4, _mm512_castps_si512(_mm512_permutexvar_ps(idx16(codes + k * b / 8, b), lut)),
                         stream);
        } else {
            __m512 vs = _mm512_set1_ps(step), vm = _mm512_set1_ps(min);
            for (uint32_t k = 0; k < G; k += 16) {
                __m512 q = _mm512_cvtepi32_ps(idx16(codes + k, 8));
                __m512 v = _mm512_fmadd_ps(q, vs, vm);
                v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-maxv)), _mm512_set1_ps(maxv));
                store512(out + k * 4, _mm512_castps_si512(v), stream);
            }
        }
        return;
    }
    if (b <= 4) {
        __m512i lut = _mm512_broadcast_i64x4(to16(lut_f32(step, min, maxv), dt));
        uint32_t k = 0;
        for (; k + 32 <= G; k += 32)
            store512(out + k * 2, _mm512_permutexvar_epi16(idx32(codes + k * b / 8, b), lut), stream);
        if (k < G) { /* 16 left */
            __m512i i32 = idx16(codes + k * b / 8, b);
            __m256i v = _mm256_permutexvar_epi16(_mm512_cvtepi32_epi16(i32), _mm512_castsi512_si256(lut));
            _mm256_storeu_si256((__m256i *)(out + k * 2), v);
        }
    } else {
        __m512 vs = _mm512_set1_ps(step), vm = _mm512_set1_ps(min);
        for (uint32_t k = 0; k < G; k += 16) {
            __m512 q = _mm512_cvtepi32_ps(idx16(codes + k, 8));
            __m512 v = _mm512_fmadd_ps(q, vs, vm);
            v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-maxv)), _mm512_set1_ps(maxv));
            _mm256_storeu_si256((__m256i *)(out + k * 2), to16(v, dt));
        }
    }
}

static int decode_full(const struct gq_dec_ctx *c, uint64_t g0, uint64_t g1, void *dst)
{
    const uint32_t G = c->group, es = c->l.esize;
    uint8_t *out = dst;
    uint64_t bytes = (g1 - g0) * G * es;
    int stream;
    if (G % 16 != 0)
        return gq_scalar_decode_full(c, g0, g1, dst);
    stream = bytes >= STREAM_MIN_BYTES && ((uintptr_t)out & 63u) == 0 && (G * es) % 64 == 0 &&
             (c->dtype == GQ_F32 || c->bits <= 4);
    for (uint64_t g = g0; g < g1; g++, out += G * es) {
        float step, min;
        /* the metadata, as gq_group_resolve() reads it, with F16C */
        if (es == 2) {
            uint32_t w = ((const uint32_t *)c->meta)[g];
            if ((w & 0xffffu) == GQ_ESC_STEP16)
                goto escaped;
            if (c->dtype == GQ_F16) {
                step = _cvtsh_ss((unsigned short)w);
                min = _cvtsh_ss((unsigned short)(w >> 16));
            } else {
                step = gq_bits_f32(w << 16);
                min = gq_bits_f32(w & 0xffff0000u);
            }
        } else {
            const uint32_t *m = (const uint32_t *)c->meta + 2 * g;
            if (m[0] == GQ_ESC_STEP32)
                goto escaped;
            step = gq_bits_f32(m[0]);
            min = gq_bits_f32(m[1]);
        }
        decode_group(c, c->codes + g * c->l.code_stride, step, min, out, stream);
        continue;
    escaped:
        {
            int rc = gq_scalar_decode_group(c, g, out);
            if (rc != GQ_OK)
                return rc;
        }
    }
    if (stream)
        _mm_sfence();
    return GQ_OK;
}

static const struct gq_cpu_path avx512_path = {"avx512", encode_full, decode_full};

const struct gq_cpu_path *gq_path_avx512(void)
{
    return (gq_cpu_features() & GQ_CPU_AVX512) ? &avx512_path : NULL;
}

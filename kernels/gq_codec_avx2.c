/*
 * gq_codec_avx2.c — the AVX2 + F16C + FMA bulk path, for CPUs without
 * AVX-512. Compiled with those flags alone, entered after cpuid. Groups one
 * at a time, 8 elements per vector; each group's metadata comes from the
 * shared gq_meta_from_minmax(), so only min/max, codes and decode are
 * vectorised. Byte-identical to the scalar path (test_codec_simd.c).
 * Group sizes that are not a multiple of 8 go to the scalar path.
 */
#include "gq_codec_impl.h"

#include <immintrin.h>

/* 8 elements as fp32; ORs a mask of the non-finite ones into *bad. */
static inline __m256 load8(const uint8_t *p, uint32_t dtype, __m256i *bad)
{
    if (dtype == GQ_F32) {
        __m256i r = _mm256_loadu_si256((const __m256i *)p);
        __m256i e = _mm256_and_si256(r, _mm256_set1_epi32(0x7f800000));
        *bad = _mm256_or_si256(*bad, _mm256_cmpeq_epi32(e, _mm256_set1_epi32(0x7f800000)));
        return _mm256_castsi256_ps(r);
    }
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    short ex = dtype == GQ_F16 ? 0x7c00 : 0x7f80;
    __m128i e = _mm_cmpeq_epi16(_mm_and_si128(h, _mm_set1_epi16(ex)), _mm_set1_epi16(ex));
    *bad = _mm256_or_si256(*bad, _mm256_castsi128_si256(e));
    if (dtype == GQ_F16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static inline float hmin(__m256 v)
{
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static inline float hmax(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

/* 8 codes (int32 lanes, each < 2^b) into b bytes at out. */
static inline void pack8(__m256i q, uint32_t b, uint8_t *out)
{
    __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    __m128i c = _mm_packus_epi16(w, w); /* bytes 0..7 = codes 0..7 */
    if (b == 8) {
        _mm_storel_epi64((__m128i *)out, c);
    } else if (b == 4) {
        __m128i t = _mm_and_si128(_mm_or_si128(c, _mm_srli_epi16(c, 4)), _mm_set1_epi16(0xff));
        uint32_t v = (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(t, t));
        memcpy(out, &v, 4);
    } else {
        __m128i t = _mm_or_si128(c, _mm_srli_epi32(c, 6));
        t = _mm_or_si128(t, _mm_srli_epi32(t, 12));
        uint16_t v = (uint16_t)(_mm_extract_epi8(t, 0) | (_mm_extract_epi8(t, 4) << 8));
        memcpy(out, &v, 2);
    }
}

static void encode_full(const struct gq_enc_ctx *c, uint64_t g0, uint64_t g1)
{
    const uint32_t G = c->group, es = c->l.esize, dt = c->dtype, b = c->bits;
    const __m256i vmaxq = _mm256_set1_epi32((int)((1u << b) - 1u));
    if (G % 8 != 0) {
        gq_scalar_encode_full(c, g0, g1);
        return;
    }
    for (uint64_t g = g0; g < g1; g++) {
        const uint8_t *p = (const uint8_t *)c->src + g * G * es;
        uint8_t *out = c->codes + g * c->l.code_stride;
        __m256i bad = _mm256_setzero_si256();
        __m256 vmin = load8(p, dt, &bad), vmax = vmin;
        struct gq_gmeta m;
        for (uint32_t k = 8; k < G; k += 8) {
            __m256 x = load8(p + k * es, dt, &bad);
            vmin = _mm256_min_ps(vmin, x);
            vmax = _mm256_max_ps(vmax, x);
        }
        gq_meta_from_minmax(hmin(vmin), hmax(vmax), !_mm256_testz_si256(bad, bad), dt, b, &m);
        if (m.escape) {
            gq_group_encode(c, g);
            continue;
        }
        gq_meta_put(c->meta, g, es, m.step_bits, m.min_bits);
        {
            __m256 vm = _mm256_set1_ps(m.min_s), vi = _mm256_set1_ps(m.inv);
            for (uint32_t k = 0; k < G; k += 8) {
                __m256 x = load8(p + k * es, dt, &bad);
                __m256 y = _mm256_round_ps(_mm256_mul_ps(_mm256_sub_ps(x, vm), vi),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                pack8(_mm256_min_epi32(_mm256_cvtps_epi32(y), vmaxq), b, out + k * b / 8);
            }
        }
    }
}

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
        gq_group_resolve(c, g, &d);
        if (d.escaped) {
            int rc = gq_scalar_decode_group(c, g, out);
            if (rc != GQ_OK)
                return rc;
            continue;
        }
        __m256 vs = _mm256_set1_ps(d.step_s), vm = _mm256_set1_ps(d.min_s);
        for (uint32_t k = 0; k < G; k += 8) {
            __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(codes8(d.codes + k * b / 8, b)), vs, vm);
            v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
            if (dt == GQ_F32) {
                _mm256_storeu_ps((float *)(out + k * 4), v);
            } else if (dt == GQ_F16) {
                _mm_storeu_si128((__m128i *)(out + k * 2),
                                 _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            } else {
                __m256i x = _mm256_castps_si256(v);
                __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
                x = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
                __m128i p16 = _mm_packus_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
                _mm_storeu_si128((__m128i *)(out + k * 2), p16);
            }
        }
    }
    return GQ_OK;
}

static const struct gq_cpu_path avx2_path = {"avx2", encode_full, decode_full};

const struct gq_cpu_path *gq_path_avx2(void)
{
    return (gq_cpu_features() & GQ_CPU_AVX2) ? &avx2_path : NULL;
}

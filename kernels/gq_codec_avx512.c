/*
 * gq_codec_avx512.c — the AVX-512 bulk path (F, BW, VL, DQ, VBMI + F16C,
 * FMA), compiled with those flags alone and entered only after cpuid says
 * the CPU has them. It must write exactly the bytes of gq_group.h's scalar
 * functions; tests/unit/test_codec_simd.c holds it to that.
 *
 * Encode: blocks of 16 full groups (G a multiple of 16), read twice:
 *   pass 1   per group, lane-wise min and max of integer keys that order like
 *            the floats (no conversion); a NaN or Inf shows as a key beyond
 *            the largest finite one, so escapes cost nothing to detect;
 *   reduce   the 16 groups' vectors are reduced together by one transposing
 *            tree (a few shuffles and min/max for all 16 at once, no serial
 *            horizontal reduction per group);
 *   meta     step, min and 1/step of the 16 groups in one vector, stored as
 *            one 64-byte line (two for f32);
 *   pass 2   the block again, now from L1: one conversion to fp32, the code
 *            arithmetic of gq_quant_one(), saturating packs and one vpermb
 *            turn the codes of 512/b elements into one 64-byte store.
 * No software prefetch: on Zen 4 the hardware prefetcher keeps up with this
 * sequential read; prefetching 1.5 to 12 KiB ahead measured slower in
 * bench_codec. A group that escapes is rewritten after its block by the
 * scalar gq_group_encode(), in group order, so the escape slots are those of
 * the scalar path. A tail of < 16 groups goes scalar. GQ_DIM_0 tensors come
 * here through gq_codec.c, which transposes runs of columns into groups.
 * Decode, b <= 4: the 2^b possible values of a group are computed once into
 * a table and codes become values through one permute (vpermw / vpermps);
 * b = 8 computes fmaf per element. One loop is compiled per dtype, width and
 * store kind. Large outputs use streaming stores, so the decode does not
 * read the destination it overwrites.
 */
#include "gq_codec_impl.h"

#include <immintrin.h>

#define BLOCK 16
#define STREAM_MIN_BYTES (4u << 20)

/* ---- encode: pass 1 ------------------------------------------------------------ */

/* Integer keys that order like the floats they encode (two's complement
 * order): a negative value's magnitude bits are inverted. -0 sorts just below
 * +0, which the +0.0f of gq_meta_from_minmax() makes equal again. */
static inline __m512i key16(__m512i x)
{
    return _mm512_ternarylogic_epi32(x, _mm512_srai_epi16(x, 15), _mm512_set1_epi16(0x7fff), 0x78);
}

static inline __m512i key32(__m512i x)
{
    return _mm512_ternarylogic_epi32(x, _mm512_srai_epi32(x, 31), _mm512_set1_epi32(0x7fffffff), 0x78);
}

static inline __m512i kmin(__m512i a, __m512i b, int w32)
{
    return w32 ? _mm512_min_epi32(a, b) : _mm512_min_epi16(a, b);
}

static inline __m512i kmax(__m512i a, __m512i b, int w32)
{
    return w32 ? _mm512_max_epi32(a, b) : _mm512_max_epi16(a, b);
}

static inline __m512i kload(const uint8_t *p, int w32)
{
    __m512i x = _mm512_loadu_si512(p);
    return w32 ? key32(x) : key16(x);
}

/* Lane-wise min and max keys of the `bytes` bytes of one group. A group of
 * 32 bytes (G = 16, 16-bit) or a 32-byte rest is loaded twice into both
 * halves of the vector, so no foreign lane enters the min/max. */
static inline void group_keys(const uint8_t *p, uint32_t bytes, int w32, __m512i *mn, __m512i *mx)
{
    __m512i lo, hi, k;
    uint32_t off = 64;
    if (bytes < 64) {
        *mn = *mx = key16(_mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p)));
        return;
    }
    lo = hi = kload(p, w32);
    for (; off + 64 <= bytes; off += 64) {
        k = kload(p + off, w32);
        lo = kmin(lo, k, w32);
        hi = kmax(hi, k, w32);
    }
    if (off < bytes) {
        k = key16(_mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(p + off))));
        lo = kmin(lo, k, w32);
        hi = kmax(hi, k, w32);
    }
    *mn = lo;
    *mx = hi;
}

static inline __m512i kop(__m512i a, __m512i b, int w32, int is_max)
{
    return is_max ? kmax(a, b, w32) : kmin(a, b, w32);
}

/* Reduces the lane-wise vectors of 16 groups at once: each step pairs two
 * vectors and halves the lanes each group holds, so the 16 groups end up one
 * lane each after four steps (five for 16-bit keys). Lane g of the result is
 * group g's key, as int32 (16-bit keys sign-extended). */
static inline __m512i reduce16(const __m512i *v, int w32, int is_max)
{
    __m512i r1[8], r2[4], r3[2], r4;
    for (int i = 0; i < 8; i++) /* 128-bit lanes: [a a b b] */
        r1[i] = kop(_mm512_shuffle_i64x2(v[2 * i], v[2 * i + 1], 0x44),
                    _mm512_shuffle_i64x2(v[2 * i], v[2 * i + 1], 0xee), w32, is_max);
    for (int i = 0; i < 4; i++) /* [4i 4i+1 4i+2 4i+3] */
        r2[i] = kop(_mm512_shuffle_i64x2(r1[2 * i], r1[2 * i + 1], 0x88),
                    _mm512_shuffle_i64x2(r1[2 * i], r1[2 * i + 1], 0xdd), w32, is_max);
    for (int i = 0; i < 2; i++) /* lane k: [8i+k, 8i+4+k] */
        r3[i] = kop(_mm512_unpacklo_epi64(r2[2 * i], r2[2 * i + 1]),
                    _mm512_unpackhi_epi64(r2[2 * i], r2[2 * i + 1]), w32, is_max);
    {   /* lane k: [k, 4+k, 8+k, 12+k], one dword each */
        __m512 u = _mm512_castsi512_ps(r3[0]), w = _mm512_castsi512_ps(r3[1]);
        r4 = kop(_mm512_castps_si512(_mm512_shuffle_ps(u, w, 0x88)),
                 _mm512_castps_si512(_mm512_shuffle_ps(u, w, 0xdd)), w32, is_max);
    }
    if (!w32) {
        r4 = kop(r4, _mm512_srli_epi32(r4, 16), 0, is_max);
        r4 = _mm512_srai_epi32(_mm512_slli_epi32(r4, 16), 16);
    }
    return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r4);
}

/* ---- encode: metadata ------------------------------------------------------------ */

struct block_meta {
    float mn[BLOCK], inv[BLOCK];
    __mmask16 escape;
};

/* Keys (int32 lanes) back to fp32 values of the dtype. */
static inline __m512 key_to_f32(__m512i k, uint32_t dt)
{
    if (dt == GQ_F32)
        return _mm512_castsi512_ps(_mm512_xor_si512(k, _mm512_and_si512(_mm512_srai_epi32(k, 31),
                                                                         _mm512_set1_epi32(0x7fffffff))));
    __m512i raw = _mm512_xor_si512(k, _mm512_and_si512(_mm512_srai_epi32(k, 31), _mm512_set1_epi32(0x7fff)));
    if (dt == GQ_BF16)
        return _mm512_castsi512_ps(_mm512_slli_epi32(raw, 16));
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(raw));
}

/* gq_meta_from_minmax() for 16 groups; stores their metadata and fills *m. */
static inline void block_meta(const struct gq_enc_ctx *c, uint64_t g0, __m512i kmn, __m512i kmx,
                              struct block_meta *m)
{
    const uint32_t dt = c->dtype, b = c->bits;
    const __m512 zero = _mm512_setzero_ps();
    const int thr = dt == GQ_F32 ? 0x7f800000 : dt == GQ_BF16 ? 0x7f80 : 0x7c00;
    __m512 mn = _mm512_add_ps(key_to_f32(kmn, dt), zero), mx = _mm512_add_ps(key_to_f32(kmx, dt), zero);
    __m512 range = _mm512_sub_ps(mx, mn);
    __m512 s = _mm512_div_ps(range, _mm512_set1_ps((float)((1u << b) - 1u)));
    __m512 step;
    __m512i sb, mb;
    m->escape = _mm512_cmpge_epi32_mask(kmx, _mm512_set1_epi32(thr)) |
                _mm512_cmple_epi32_mask(kmn, _mm512_set1_epi32(-1 - thr)) |
                _mm512_cmp_ps_mask(range, _mm512_set1_ps(GQ_F32_MAX), _CMP_NLE_UQ);
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
    _mm512_storeu_ps(m->mn, mn);
    _mm512_storeu_ps(m->inv, _mm512_maskz_div_ps(_mm512_cmp_ps_mask(step, zero, _CMP_GT_OQ),
                                                 _mm512_set1_ps(1.0f), step));
    if (c->l.esize == 2) {
        _mm512_storeu_si512(c->meta + g0 * 4, _mm512_or_si512(sb, _mm512_slli_epi32(mb, 16)));
    } else {
        __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
        _mm512_storeu_si512(c->meta + g0 * 8, _mm512_permutex2var_epi32(sb, lo, mb));
        _mm512_storeu_si512(c->meta + g0 * 8 + 64, _mm512_permutex2var_epi32(sb, hi, mb));
    }
}

/* ---- encode: pass 2 ------------------------------------------------------------- */

/* What stays the same for a whole call. */
enum src_kind { SRC_F16, SRC_BF16, SRC_BF16_UNPACK, SRC_F32 };

struct enc_plan {
    uint32_t G, es, dt, b;
    int unpack;              /* bf16, G % 32 == 0: widened by interleaving with zero */
    int g64;                 /* G % 64 == 0: 64 elements never span two groups */
    __m512i perm;            /* vpermb: packed code bytes -> their stored order */
    uint8_t vgrp[GQ_GROUP_MAX]; /* group (in the block) of each 16-element vector */
};

static inline __m512i quant16(__m512 x, float mn, float inv)
{
    __m512 y = _mm512_mul_ps(_mm512_sub_ps(x, _mm512_set1_ps(mn)), _mm512_set1_ps(inv));
    return _mm512_cvt_roundps_epi32(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* The codes of the 64 elements at p (element e of the block), one byte each,
 * in the order enc_plan_init() describes, clamped to 2^b - 1. The packs
 * saturate, and the codes are never negative, so the clamp after them gives
 * min(q, 2^b - 1) exactly. */
static inline __attribute__((always_inline)) __m512i codes64(const struct enc_plan *pl, const struct block_meta *m,
                                                            const uint8_t *p, uint32_t e, enum src_kind kind,
                                                            uint32_t b)
{
    const uint8_t *vg = pl->vgrp + e / 16;
    uint32_t i0 = vg[0], i1 = i0, i2 = i0, i3 = i0;
    __m512 f0, f1, f2, f3;
    __m512i q0, q1, q2, q3;
    if (!pl->g64) {
        i1 = vg[1];
        i2 = vg[2];
        i3 = vg[3];
    }
    if (kind == SRC_F16) {
        f0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        f1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + 32)));
        f2 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + 64)));
        f3 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + 96)));
    } else if (kind == SRC_F32) {
        f0 = _mm512_loadu_ps(p);
        f1 = _mm512_loadu_ps(p + 64);
        f2 = _mm512_loadu_ps(p + 128);
        f3 = _mm512_loadu_ps(p + 192);
    } else if (kind == SRC_BF16_UNPACK) {
        __m512i x0 = _mm512_loadu_si512(p), x1 = _mm512_loadu_si512(p + 64), z = _mm512_setzero_si512();
        f0 = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, x0));
        f1 = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, x0));
        f2 = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, x1));
        f3 = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, x1));
    } else {
        f0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
        f1 = _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p + 32))), 16));
        f2 = _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p + 64))), 16));
        f3 = _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p + 96))), 16));
    }
    q0 = quant16(f0, m->mn[i0], m->inv[i0]);
    q1 = quant16(f1, m->mn[i1], m->inv[i1]);
    q2 = quant16(f2, m->mn[i2], m->inv[i2]);
    q3 = quant16(f3, m->mn[i3], m->inv[i3]);
    return _mm512_min_epu8(_mm512_packus_epi16(_mm512_packus_epi32(q0, q1), _mm512_packus_epi32(q2, q3)),
                           _mm512_set1_epi8((char)((1u << b) - 1u)));
}

/* Element (of the 64) whose code codes64() leaves in byte p. */
static uint32_t packed_elem(uint32_t p, int unpack)
{
    uint32_t k = p / 16, r = p % 16;
    if (unpack) /* packs of (lo, hi) interleaves restore 8-element runs */
        return r < 8 ? 8 * k + r : 32 + 8 * k + r - 8;
    return 16 * (r / 4) + 4 * k + r % 4; /* four vectors, 4 elements per 128-bit lane */
}

static void enc_plan_init(struct enc_plan *pl, const struct gq_enc_ctx *c)
{
    uint8_t idx[64];
    pl->G = c->group;
    pl->es = c->l.esize;
    pl->dt = c->dtype;
    pl->b = c->bits;
    pl->unpack = pl->dt == GQ_BF16 && pl->G % 32 == 0;
    pl->g64 = pl->G % 64 == 0;
    for (uint32_t v = 0; v < pl->G; v++) /* 16 * G elements: G vectors */
        pl->vgrp[v] = (uint8_t)(v / (pl->G / 16));
    /* Which byte of the packed vector each stored byte comes from (see encode_block). */
    for (uint32_t q = 0; q < 64; q++) {
        uint32_t out;
        if (pl->b == 8) {
            out = packed_elem(q, pl->unpack);
        } else if (pl->b == 4) { /* packus(maddubs(c1), maddubs(c2)) */
            uint32_t s = (q % 16) / 8, w = 8 * (q / 16) + q % 8;
            out = 32 * s + packed_elem(2 * w, pl->unpack) / 2;
        } else { /* packus(packus(d0, d1), packus(d2, d3)) */
            uint32_t s = (q % 16) / 4, t = 4 * (q / 16) + q % 4;
            out = 16 * s + packed_elem(4 * t, pl->unpack) / 4;
        }
        idx[out] = (uint8_t)q;
    }
    pl->perm = _mm512_loadu_si512(idx);
}

static inline __attribute__((always_inline)) void encode_block(const struct gq_enc_ctx *c, const struct enc_plan *pl,
                                                              uint64_t g0, enum src_kind kind, uint32_t b)
{
    const uint32_t G = pl->G, es = kind == SRC_F32 ? 4 : 2, gbytes = G * es;
    const int w32 = kind == SRC_F32;
    const uint8_t *src = (const uint8_t *)c->src + g0 * gbytes;
    uint8_t *out = c->codes + g0 * c->l.code_stride; /* 16 * G * b / 8 bytes, contiguous */
    __m512i vmn[BLOCK], vmx[BLOCK];
    struct block_meta m;

    for (uint32_t j = 0; j < BLOCK; j++)
        group_keys(src + j * gbytes, gbytes, w32, &vmn[j], &vmx[j]);
    block_meta(c, g0, reduce16(vmn, w32, 0), reduce16(vmx, w32, 1), &m);

    for (uint32_t e = 0; e < BLOCK * G; e += 512 / b) {
        __m512i r;
        if (b == 8) {
            r = codes64(pl, &m, src + e * es, e, kind, b);
        } else if (b == 4) { /* byte = code(2j) + 16 code(2j+1) */
            const __m512i mul = _mm512_set1_epi16(0x1001);
            r = _mm512_packus_epi16(_mm512_maddubs_epi16(codes64(pl, &m, src + e * es, e, kind, b), mul),
                                    _mm512_maddubs_epi16(codes64(pl, &m, src + (e + 64) * es, e + 64, kind, b), mul));
        } else { /* byte = code(4j) + 4 code(4j+1) + 16 code(4j+2) + 64 code(4j+3) */
            const __m512i m1 = _mm512_set1_epi16(0x0401), m2 = _mm512_set1_epi32(0x00100001);
            __m512i d[4];
            for (uint32_t s = 0; s < 4; s++)
                d[s] = _mm512_madd_epi16(_mm512_maddubs_epi16(codes64(pl, &m, src + (e + 64 * s) * es, e + 64 * s, kind, b), m1),
                                         m2);
            r = _mm512_packus_epi16(_mm512_packus_epi32(d[0], d[1]), _mm512_packus_epi32(d[2], d[3]));
        }
        _mm512_storeu_si512(out + e * b / 8, _mm512_permutexvar_epi8(pl->perm, r));
    }
    for (__mmask16 esc = m.escape; esc; esc &= (__mmask16)(esc - 1)) /* rare: NaN/Inf groups */
        gq_group_encode(c, g0 + (uint32_t)__builtin_ctz(esc));
}

/* Blocks [g0, g1) of 16 groups, compiled once per source kind and width. */
static inline __attribute__((always_inline)) void encode_blocks(const struct gq_enc_ctx *c,
                                                                const struct enc_plan *pl, uint64_t g0,
                                                                uint64_t g1, enum src_kind kind, uint32_t b)
{
    for (uint64_t g = g0; g < g1; g += BLOCK)
        encode_block(c, pl, g, kind, b);
}

static void encode_full(const struct gq_enc_ctx *c, uint64_t g0, uint64_t g1)
{
    struct enc_plan pl;
    uint64_t g = g0, gb;
    if (c->group % 16 == 0 && g1 - g0 >= BLOCK) {
        enum src_kind kind;
        enc_plan_init(&pl, c);
        kind = pl.dt == GQ_F16 ? SRC_F16 : pl.dt == GQ_F32 ? SRC_F32 : pl.unpack ? SRC_BF16_UNPACK : SRC_BF16;
        gb = g0 + (g1 - g0) / BLOCK * BLOCK;
        switch (kind * 3 + (pl.b == 2 ? 0 : pl.b == 4 ? 1 : 2)) {
        case 0: encode_blocks(c, &pl, g0, gb, SRC_F16, 2); break;
        case 1: encode_blocks(c, &pl, g0, gb, SRC_F16, 4); break;
        case 2: encode_blocks(c, &pl, g0, gb, SRC_F16, 8); break;
        case 3: encode_blocks(c, &pl, g0, gb, SRC_BF16, 2); break;
        case 4: encode_blocks(c, &pl, g0, gb, SRC_BF16, 4); break;
        case 5: encode_blocks(c, &pl, g0, gb, SRC_BF16, 8); break;
        case 6: encode_blocks(c, &pl, g0, gb, SRC_BF16_UNPACK, 2); break;
        case 7: encode_blocks(c, &pl, g0, gb, SRC_BF16_UNPACK, 4); break;
        case 8: encode_blocks(c, &pl, g0, gb, SRC_BF16_UNPACK, 8); break;
        case 9: encode_blocks(c, &pl, g0, gb, SRC_F32, 2); break;
        case 10: encode_blocks(c, &pl, g0, gb, SRC_F32, 4); break;
        default: encode_blocks(c, &pl, g0, gb, SRC_F32, 8); break;
        }
        g = gb;
    }
    gq_scalar_encode_full(c, g, g1);
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

/* 16 codes of 8 bits to fp32 values (gq_dequant_one() before the rounding
 * to the dtype). */
static inline __m512 dequant16_b8(const uint8_t *codes, __m512 vs, __m512 vm, float maxv)
{
    __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(idx16(codes, 8)), vs, vm);
    return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-maxv)), _mm512_set1_ps(maxv));
}

static inline __attribute__((always_inline)) void decode_group(const uint8_t *codes, uint32_t G, float step,
                                                              float min, uint8_t *out, uint32_t dt, uint32_t b,
                                                              int stream)
{
    const float maxv = gq_dtype_max(dt);
    const __m512 vs = _mm512_set1_ps(step), vm = _mm512_set1_ps(min);
    uint32_t k = 0;
    if (dt == GQ_F32) {
        if (b <= 4) {
            __m512 lut = lut_f32(step, min, maxv);
            for (; k < G; k += 16)
                store512(out + k * 4, _mm512_castps_si512(_mm512_permutexvar_ps(idx16(codes + k * b / 8, b), lut)),
                         stream);
        } else {
            for (; k < G; k += 16)
                store512(out + k * 4, _mm512_castps_si512(dequant16_b8(codes + k, vs, vm, maxv)), stream);
        }
        return;
    }
    if (b <= 4) {
        __m512i lut = _mm512_broadcast_i64x4(to16(lut_f32(step, min, maxv), dt));
        for (; k + 32 <= G; k += 32)
            store512(out + k * 2, _mm512_permutexvar_epi16(idx32(codes + k * b / 8, b), lut), stream);
        if (k < G) { /* 16 left */
            __m512i i32 = idx16(codes + k * b / 8, b);
            __m256i v = _mm256_permutexvar_epi16(_mm512_cvtepi32_epi16(i32), _mm512_castsi512_si256(lut));
            _mm256_storeu_si256((__m256i *)(out + k * 2), v);
        }
        return;
    }
    for (; k + 32 <= G; k += 32) {
        __m256i lo = to16(dequant16_b8(codes + k, vs, vm, maxv), dt);
        __m256i hi = to16(dequant16_b8(codes + k + 16, vs, vm, maxv), dt);
        store512(out + k * 2, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), stream);
    }
    if (k < G) /* 16 left */
        _mm256_storeu_si256((__m256i *)(out + k * 2), to16(dequant16_b8(codes + k, vs, vm, maxv), dt));
}

/* Full groups [g0, g1), compiled once per dtype, width and store kind. */
static inline __attribute__((always_inline)) int decode_groups(const struct gq_dec_ctx *c, uint64_t g0, uint64_t g1,
                                                              uint8_t *out, uint32_t dt, uint32_t b, int stream)
{
    const uint32_t G = c->group, es = dt == GQ_F32 ? 4 : 2;
    for (uint64_t g = g0; g < g1; g++, out += G * es) {
        float step, min;
        /* the metadata, as gq_group_resolve() reads it, with F16C */
        if (es == 2) {
            uint32_t w = ((const uint32_t *)c->meta)[g];
            if ((w & 0xffffu) == GQ_ESC_STEP16)
                goto escaped;
            if (dt == GQ_F16) {
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
        decode_group(c->codes + g * c->l.code_stride, G, step, min, out, dt, b, stream);
        continue;
    escaped:
        {
            int rc = gq_scalar_decode_group(c, g, out);
            if (rc != GQ_OK)
                return rc;
        }
    }
    return GQ_OK;
}

static int decode_full(const struct gq_dec_ctx *c, uint64_t g0, uint64_t g1, void *dst)
{
    const uint32_t G = c->group, es = c->l.esize, b = c->bits;
    uint8_t *out = dst;
    uint64_t bytes = (g1 - g0) * G * es;
    int rc, stream;
    if (G % 16 != 0)
        return gq_scalar_decode_full(c, g0, g1, dst);
    /* Streaming stores only where every store of a group is a whole aligned line. */
    stream = bytes >= STREAM_MIN_BYTES && ((uintptr_t)out & 63u) == 0 && (G * es) % 64 == 0;
    switch ((c->dtype - GQ_F16) * 6 + (b == 2 ? 0 : b == 4 ? 2 : 4) + stream) {
    case 0: rc = decode_groups(c, g0, g1, out, GQ_F16, 2, 0); break;
    case 1: rc = decode_groups(c, g0, g1, out, GQ_F16, 2, 1); break;
    case 2: rc = decode_groups(c, g0, g1, out, GQ_F16, 4, 0); break;
    case 3: rc = decode_groups(c, g0, g1, out, GQ_F16, 4, 1); break;
    case 4: rc = decode_groups(c, g0, g1, out, GQ_F16, 8, 0); break;
    case 5: rc = decode_groups(c, g0, g1, out, GQ_F16, 8, 1); break;
    case 6: rc = decode_groups(c, g0, g1, out, GQ_BF16, 2, 0); break;
    case 7: rc = decode_groups(c, g0, g1, out, GQ_BF16, 2, 1); break;
    case 8: rc = decode_groups(c, g0, g1, out, GQ_BF16, 4, 0); break;
    case 9: rc = decode_groups(c, g0, g1, out, GQ_BF16, 4, 1); break;
    case 10: rc = decode_groups(c, g0, g1, out, GQ_BF16, 8, 0); break;
    case 11: rc = decode_groups(c, g0, g1, out, GQ_BF16, 8, 1); break;
    case 12: rc = decode_groups(c, g0, g1, out, GQ_F32, 2, 0); break;
    case 13: rc = decode_groups(c, g0, g1, out, GQ_F32, 2, 1); break;
    case 14: rc = decode_groups(c, g0, g1, out, GQ_F32, 4, 0); break;
    case 15: rc = decode_groups(c, g0, g1, out, GQ_F32, 4, 1); break;
    case 16: rc = decode_groups(c, g0, g1, out, GQ_F32, 8, 0); break;
    default: rc = decode_groups(c, g0, g1, out, GQ_F32, 8, 1); break;
    }
    if (stream)
        _mm_sfence();
    return rc;
}

static const struct gq_cpu_path avx512_path = {"avx512", encode_full, decode_full};

const struct gq_cpu_path *gq_path_avx512(void)
{
    return (gq_cpu_features() & GQ_CPU_AVX512) ? &avx512_path : NULL;
}

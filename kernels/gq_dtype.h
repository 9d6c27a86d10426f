/*
 * gq_dtype.h — does a group look like floats of the rule's dtype?
 *
 * A rule takes an allocation by its size, and caching allocators hand the
 * same memory to tensors of any dtype: a copy may hold int64 ids, fp32
 * logits, bf16 under an f16 rule, GGUF blocks. Quantizing those destroys
 * them, and no NaN/Inf test notices (bf16 bits read as f16 are ordinary
 * numbers between 0.5 and 4). This test looks at the bit patterns of one
 * group — exponents, zeros, signs, which words of a pair are populated —
 * and answers "foreign" only for patterns real data of the dtype does not
 * make. One group can be ambiguous; a tensor is judged by how many of its
 * groups are foreign (gq_dtype_foreign_limit()).
 *
 * Written once as GQ_HD: the quantize kernel (kernels/gq_tile.h) scans each
 * group on the values it loaded to encode them (the lanes holding parts of
 * a group add their scans), so the source is read once; the unit test
 * (tests/unit/test_dtype.c) measures it on realistic data of each dtype
 * (false rejections) and on each foreign kind (detection), and prints both.
 *
 * What each rule's dtype treats as foreign (|v| read in the rule's dtype):
 *   f16, bf16   one word of every pair empty (zero or tiny, a sign
 *               extension, low 13 bits zero) while the other word is
 *               populated: int32/int64 ids, f32 upcast from f16/bf16.
 *   all dtypes  values at both ends of the range at once: random bytes,
 *               GGUF Q4_0/Q8_0 blocks, f32 read in halves.
 *   f16         every non-zero element in [0.5, 4) with some not an
 *               integer: bf16 of magnitude 2^-15..2^9 (every realistic
 *               activation, weight, KV entry) reads exactly so; within a
 *               single f16 binade, only with the concentrated mantissa
 *               bits that bf16's exponent makes.
 *   bf16        elements below 2^-23 of both signs: f16 data read as
 *               bf16 (exponent bits spread eightfold); every non-zero
 *               element an integer when read as f16, not when read as bf16
 *               (small integers stored as f16).
 *   f32         the lower half of the words holds half-float exponents
 *               (bf16/f16 pairs); integers (denormal patterns).
 * Not detected, by construction (the bits are plausible both ways): f16
 * post-softmax or post-ReLU data (one sign, no large values) under a bf16
 * rule; f16 tensors whose every value sits in [0.5, 4) (a LayerNorm weight
 * of ~1.0) are refused under an f16 rule (kept exact, never corrupted).
 */
#ifndef GQ_DTYPE_H
#define GQ_DTYPE_H

#include "gq_dev.h"
#include "gq_format.h"

/* Non-zero words needed before a group may be called foreign: a sparse
 * group (post-ReLU) carries too little evidence either way. */
#define GQ_DTYPE_MIN_NZ 24u

/* Counts kept while scanning a group, packed so that the lanes that each
 * scanned part of a group add their scans with a few 64-bit shuffles
 * (kernels/gq_tile.h): every count is at most the group's length (<= 1024)
 * and sits in a 12-bit field, five to a word; adding two scans adds every
 * field. The f16 exponent range is a bit mask (OR), the top-3 mantissa
 * counters eight 8-bit fields of one word (added as a whole). Field i of a
 * word is bits [12i, 12i + 12). */
struct gq_dtype_scan {
    uint64_t a;     /* nz (non-zero words, sign ignored), big, tiny (near the top /
                       bottom of the dtype's exponent range), n0, n1 (16-bit
                       words by parity of their flat index) */
    uint64_t b;     /* 16-bit: empty0, empty1 (words of each parity that are
                       empty, see gq_dtype_scan_word16), band (f16: |v| in
                       [0.5, 4)), ints_own, ints_alt (non-zero and an integer
                       in the rule's / the other 16-bit type);
                       f32: lo_nz (lower halves with a non-zero low 13 bits),
                       halfish (lower half looks like a half float), denorm */
    uint64_t c;     /* bf16: wee0, wee1 (|v| < 2^-23, positive / negative),
                       own_huge (|v| >= 2^16) */
    uint64_t top3;  /* f16: how often each top-3 mantissa pattern occurs */
    uint32_t emask; /* f16: bit e set when an exponent field e was seen */
};

#define GQ_DTYPE_NZ 0u
#define GQ_DTYPE_BIG 12u
#define GQ_DTYPE_TINY 24u
#define GQ_DTYPE_N0 36u
#define GQ_DTYPE_N1 48u
#define GQ_DTYPE_EMPTY0 0u /* in b */
#define GQ_DTYPE_EMPTY1 12u
#define GQ_DTYPE_BAND 24u
#define GQ_DTYPE_INTS_OWN 36u
#define GQ_DTYPE_INTS_ALT 48u
#define GQ_DTYPE_LO_NZ 0u /* in b, f32 */
#define GQ_DTYPE_HALFISH 12u
#define GQ_DTYPE_DENORM 24u
#define GQ_DTYPE_WEE0 0u /* in c */
#define GQ_DTYPE_WEE1 12u
#define GQ_DTYPE_OWN_HUGE 24u

GQ_HD uint32_t gq_dtype_field(uint64_t word, uint32_t shift)
{
    return (uint32_t)(word >> shift) & 0xfffu;
}

/* 1 (as a field increment) when cond holds. */
GQ_HD uint64_t gq_dtype_inc(int cond, uint32_t shift)
{
    return (uint64_t)(cond != 0) << shift;
}

/* x << n, and 0 where n >= 32 (what the GPU's shift does; C leaves it
 * undefined). */
GQ_HD uint32_t gq_shl_or_zero(uint32_t x, uint32_t n)
{
    return n < 32u ? x << n : 0u;
}

/* 1 when a 16-bit f16 word (sign cleared) is a non-zero integer value:
 * finite, at least 1 (exponent 15..30), and no bit set below the binary
 * point (the low 25 - e bits; none left from e = 25). Branch-free: the
 * GPU's fast quantize runs it on every element. tests/unit/test_dtype.c
 * checks it against the value itself on every word. */
GQ_HD int gq_dtype_f16_int(uint32_t a)
{
    uint32_t e = a >> 10;
    return e - 15u <= 15u && gq_shl_or_zero(a, e + 7u) == 0;
}

/* The same for a bf16 word: exponent 127..254, the low 134 - e bits. */
GQ_HD int gq_dtype_bf16_int(uint32_t a)
{
    uint32_t e = a >> 7;
    return e - 127u <= 127u && gq_shl_or_zero(a, e - 102u) == 0;
}

/* One 16-bit word w whose flat index has parity `parity` (0 or 1). */
GQ_HD void gq_dtype_scan_word16(struct gq_dtype_scan *s, uint32_t w, uint32_t parity, uint32_t dtype)
{
    uint32_t a = w & 0x7fffu;
    s->a += gq_dtype_inc(1, parity ? GQ_DTYPE_N1 : GQ_DTYPE_N0);
    /* Empty: the upper word of a small integer (or its sign extension), the
     * lower half of an f32 upcast from f16 or bf16. */
    s->b += gq_dtype_inc((w & 0x1fffu) == 0 || w < 0x20u || w >= 0xffe0u,
                         parity ? GQ_DTYPE_EMPTY1 : GQ_DTYPE_EMPTY0);
    if (a == 0)
        return;
    s->a += gq_dtype_inc(1, GQ_DTYPE_NZ);
    if (dtype == GQ_F16) {
        uint32_t e = a >> 10;
        s->a += gq_dtype_inc(e >= 24, GQ_DTYPE_BIG) | /* >= 512, NaN, Inf */
                gq_dtype_inc(e <= 7, GQ_DTYPE_TINY);  /* < 2^-7 */
        s->b += gq_dtype_inc(e >= 14 && e <= 16, GQ_DTYPE_BAND) |
                gq_dtype_inc(gq_dtype_f16_int(a), GQ_DTYPE_INTS_OWN) |
                gq_dtype_inc(gq_dtype_bf16_int(a), GQ_DTYPE_INTS_ALT);
        s->emask |= 1u << e;
        s->top3 += (uint64_t)1 << (((a >> 7) & 7u) * 8u);
    } else {
        uint32_t e = a >> 7;
        s->a += gq_dtype_inc(e >= 160, GQ_DTYPE_BIG) | /* >= 2^33, NaN, Inf */
                gq_dtype_inc(e <= 96, GQ_DTYPE_TINY);  /* < 2^-30 */
        s->b += gq_dtype_inc(gq_dtype_bf16_int(a), GQ_DTYPE_INTS_OWN) |
                gq_dtype_inc(gq_dtype_f16_int(a), GQ_DTYPE_INTS_ALT);
        s->c += gq_dtype_inc(e <= 103, w >> 15 ? GQ_DTYPE_WEE1 : GQ_DTYPE_WEE0) | /* < 2^-23 */
                gq_dtype_inc(e >= 143, GQ_DTYPE_OWN_HUGE);                       /* >= 2^16 */
    }
}

GQ_HD void gq_dtype_scan_word32(struct gq_dtype_scan *s, uint32_t u)
{
    uint32_t a = u & 0x7fffffffu, e = a >> 23, lo = u & 0xffffu;
    /* A lower half with its low 13 bits zero is an f32 upcast from f16
     * (only 3 mantissa bits there): not counted either way. */
    if ((lo & 0x1fffu) != 0) {
        uint32_t le = (lo >> 10) & 31u;
        s->b += gq_dtype_inc(1, GQ_DTYPE_LO_NZ) | gq_dtype_inc(le >= 4 && le <= 19, GQ_DTYPE_HALFISH);
    }
    if (a == 0)
        return;
    s->a += gq_dtype_inc(1, GQ_DTYPE_NZ) | gq_dtype_inc(e >= 167, GQ_DTYPE_BIG) | /* >= 2^40, NaN, Inf */
            gq_dtype_inc(e != 0 && e <= 87, GQ_DTYPE_TINY);                          /* normal and < 2^-40 */
    s->b += gq_dtype_inc(e == 0, GQ_DTYPE_DENORM);
}

/* A word whose halves each hold a count (at most 7) from bit `bit` of the
 * half: the two counts added. */
GQ_HD uint32_t gq_dtype_pair_count(uint32_t word, uint32_t bit)
{
    return ((word >> bit) & 7u) + ((word >> (bit + 16u)) & 7u);
}

/* gq_dtype_scan_word16 on the 8 words of a 16-byte chunk whose first word
 * has an even flat index (word 2i in the low half of v's i-th 32-bit word,
 * parity 0; word 2i + 1 in the high half, parity 1), the same counts, but
 * worked out two words at a time in 32-bit registers: the range tests are
 * additions whose carry lands on a bit of each half (no carry crosses into
 * the other half), counted for the whole chunk at the end. Only the integer
 * tests, the exponent mask and the top-3 patterns stay word by word. For
 * the GPU's fast quantize (kernels/gq_fast.h), where the word-by-word scan
 * was most of the instructions; tests/unit/test_dtype.c compares the two
 * on every 16-bit word beside a range of neighbours. */
GQ_HD void gq_dtype_scan_chunk16(struct gq_dtype_scan *s, const struct gq_u32x4 *v, uint32_t dtype)
{
    uint32_t i, j, nz = 0, full = 0, big = 0, tiny = 0, band = 0, c_lo = 0, c_hi = 0, huge = 0;
    uint32_t own = 0, alt = 0, emask = 0, top = 0; /* top: eight 4-bit counters (at most 8 each) */
    uint64_t top64 = 0;
    for (i = 0; i < 4u; i++) {
        const uint32_t w = i == 0 ? v->x : i == 1 ? v->y : i == 2 ? v->z : v->w;
        const uint32_t A = w & 0x7fff7fffu;                          /* |v| of each half */
        const uint32_t nzb = ((A + 0x7fff7fffu) >> 15) & 0x00010001u; /* bits 0, 16: non-zero */
        /* not empty: low 13 bits not all zero, >= 0x20, < 0xffe0 (bits 11, 27) */
        const uint32_t low13 = ((w & 0x1fff1fffu) + 0x1fff1fffu) & 0x20002000u;
        const uint32_t hi11 = (w >> 5) & 0x07ff07ffu;
        const uint32_t ge20 = (hi11 + 0x07ff07ffu) & 0x08000800u;
        const uint32_t ltE0 = ((hi11 ^ 0x07ff07ffu) + 0x07ff07ffu) & 0x08000800u;
        nz += nzb;
        full += (low13 >> 2) & ge20 & ltE0;
        if (dtype == GQ_F16) {
            const uint32_t E = (A >> 10) & 0x001f001fu; /* exponents (bits 0-4, 16-20) */
            big += (E + 0x00080008u) & 0x00200020u;                     /* e >= 24 */
            tiny += ~(E + 0x00180018u) & 0x00200020u & (nzb << 5);     /* e <= 7 */
            band += (E + 0x00120012u) & ~(E + 0x000f000fu) & 0x00200020u; /* 14..16 */
        } else {
            const uint32_t E = (A >> 7) & 0x00ff00ffu; /* exponents (bits 0-7, 16-23) */
            const uint32_t sign = (w >> 7) & 0x01000100u;
            const uint32_t wee = ~(E + 0x00980098u) & 0x01000100u & (nzb << 8); /* e <= 103 */
            big += (E + 0x00600060u) & 0x01000100u;                  /* e >= 160 */
            tiny += ~(E + 0x009f009fu) & 0x01000100u & (nzb << 8);  /* e <= 96 */
            c_lo += wee & ~sign;
            c_hi += wee & sign;
            huge += (E + 0x00710071u) & 0x01000100u; /* e >= 143 */
        }
        for (j = 0; j < 2u; j++) {
            const uint32_t a = (A >> (16u * j)) & 0x7fffu, nzj = a != 0;
            const uint32_t f16i = (uint32_t)gq_dtype_f16_int(a), bf16i = (uint32_t)gq_dtype_bf16_int(a);
            own += dtype == GQ_F16 ? f16i : bf16i;
            alt += dtype == GQ_F16 ? bf16i : f16i;
            if (dtype == GQ_F16) {
                emask |= nzj << (a >> 10);
                top += nzj << (((a >> 7) & 7u) * 4u);
            }
        }
    }
    s->a += ((uint64_t)gq_dtype_pair_count(nz, 0) << GQ_DTYPE_NZ) | ((uint64_t)4u << GQ_DTYPE_N0) |
            ((uint64_t)4u << GQ_DTYPE_N1);
    s->b += ((uint64_t)(4u - ((full >> 11) & 7u)) << GQ_DTYPE_EMPTY0) |
            ((uint64_t)(4u - ((full >> 27) & 7u)) << GQ_DTYPE_EMPTY1) | ((uint64_t)own << GQ_DTYPE_INTS_OWN) |
            ((uint64_t)alt << GQ_DTYPE_INTS_ALT);
    if (dtype == GQ_F16) {
        s->a += ((uint64_t)gq_dtype_pair_count(big, 5) << GQ_DTYPE_BIG) |
                ((uint64_t)gq_dtype_pair_count(tiny, 5) << GQ_DTYPE_TINY);
        s->b += (uint64_t)gq_dtype_pair_count(band, 5) << GQ_DTYPE_BAND;
        for (j = 0; j < 8u; j++)
            top64 |= (uint64_t)((top >> (4u * j)) & 15u) << (8u * j);
        s->top3 += top64;
        s->emask |= emask;
    } else {
        s->a += ((uint64_t)gq_dtype_pair_count(big, 8) << GQ_DTYPE_BIG) |
                ((uint64_t)gq_dtype_pair_count(tiny, 8) << GQ_DTYPE_TINY);
        s->c += ((uint64_t)gq_dtype_pair_count(c_lo, 8) << GQ_DTYPE_WEE0) |
                ((uint64_t)gq_dtype_pair_count(c_hi, 8) << GQ_DTYPE_WEE1) |
                ((uint64_t)gq_dtype_pair_count(huge, 8) << GQ_DTYPE_OWN_HUGE);
    }
}

/* Adds scan t (of other elements of the same group) into s. */
GQ_HD void gq_dtype_scan_add(struct gq_dtype_scan *s, const struct gq_dtype_scan *t)
{
    s->a += t->a;
    s->b += t->b;
    s->c += t->c;
    s->top3 += t->top3;
    s->emask |= t->emask;
}

/* The verdict on a scanned group. */
GQ_HD int gq_dtype_scan_foreign(const struct gq_dtype_scan *s, uint32_t dtype)
{
    uint32_t nz = gq_dtype_field(s->a, GQ_DTYPE_NZ);
    uint32_t big = gq_dtype_field(s->a, GQ_DTYPE_BIG), tiny = gq_dtype_field(s->a, GQ_DTYPE_TINY);
    if (dtype != GQ_F32) {
        /* One word of each pair empty, the other populated (both parities
         * present: a flat group, or a dim=0 group over an odd column count). */
        uint32_t n[2], empty[2], p;
        n[0] = gq_dtype_field(s->a, GQ_DTYPE_N0);
        n[1] = gq_dtype_field(s->a, GQ_DTYPE_N1);
        empty[0] = gq_dtype_field(s->b, GQ_DTYPE_EMPTY0);
        empty[1] = gq_dtype_field(s->b, GQ_DTYPE_EMPTY1);
        for (p = 0; p < 2; p++)
            if (n[p] >= 8 && empty[p] == n[p] && n[p ^ 1u] - empty[p ^ 1u] >= 12)
                return 1;
    }
    /* Both ends of the exponent range populated: random bits. */
    if (big >= 4 && tiny >= 4)
        return 1;
    if (nz < GQ_DTYPE_MIN_NZ)
        return 0;
    if (dtype == GQ_F16) {
        uint32_t mode = 0, i;
        if (gq_dtype_field(s->b, GQ_DTYPE_BAND) != nz || gq_dtype_field(s->b, GQ_DTYPE_INTS_OWN) == nz)
            return 0;
        /* Exponents of more than one binade. */
        if ((s->emask & (s->emask - 1u)) != 0)
            return 1;
        /* One f16 binade: bf16 read so has the top three mantissa bits of
         * f16 = the low bits of its own exponent, which real data
         * concentrates (a third or more on one value); f16 data with its
         * mantissa spread evenly (a weight row scaled into one binade)
         * does not. */
        for (i = 0; i < 8; i++) {
            uint32_t c = (uint32_t)(s->top3 >> (i * 8u)) & 0xffu;
            mode = c > mode ? c : mode;
        }
        return mode * 3u >= nz;
    }
    if (dtype == GQ_BF16) {
        uint32_t ints_own = gq_dtype_field(s->b, GQ_DTYPE_INTS_OWN);
        /* Tiny values of both signs: f16 data below 0.125 (post-GELU bf16
         * has tiny values too, all negative). */
        if (gq_dtype_field(s->c, GQ_DTYPE_WEE0) >= 1 && gq_dtype_field(s->c, GQ_DTYPE_WEE1) >= 1)
            return 1;
        /* Integers as f16 that are not integers, or are huge, as bf16. */
        return gq_dtype_field(s->b, GQ_DTYPE_INTS_ALT) == nz &&
               (ints_own < nz || gq_dtype_field(s->c, GQ_DTYPE_OWN_HUGE) > 0);
    }
    {
        uint32_t lo_nz = gq_dtype_field(s->b, GQ_DTYPE_LO_NZ);
        if (lo_nz >= GQ_DTYPE_MIN_NZ && gq_dtype_field(s->b, GQ_DTYPE_HALFISH) * 10u >= lo_nz * 9u)
            return 1;
        return gq_dtype_field(s->b, GQ_DTYPE_DENORM) * 2u >= nz;
    }
}

/* 1 when group g (under layout l, elements of `dtype` at src) does not look
 * like floats of `dtype`: the group scanned element by element (the CPU's
 * check, tests/unit/test_dtype.c; the quantize kernel scans the values it
 * has loaded for encoding and adds the lanes' scans, kernels/gq_tile.h). */
GQ_HD int gq_dtype_group_foreign(const struct gq_layout *l, uint32_t group, uint32_t dtype,
                                 const void *src, uint64_t g)
{
    struct gq_dtype_scan s = {0, 0, 0, 0, 0};
    uint64_t first = gq_group_first(l, group, g), stride = l->cols;
    uint32_t len = gq_group_len(l, group, g), i;
    for (i = 0; i < len; i++) {
        uint64_t idx = first + i * stride;
        /* Through the device-memory primitives (gq_dev.h): plain loads on
         * the CPU and the GPU, recorded and translated under cudasim. */
        if (dtype == GQ_F32)
            gq_dtype_scan_word32(&s, gq_load32((const uint32_t *)src + idx));
        else
            gq_dtype_scan_word16(&s, gq_load16((const uint16_t *)src + idx), (uint32_t)(idx & 1u),
                                 dtype);
    }
    return gq_dtype_scan_foreign(&s, dtype);
}

/* A tensor is foreign when more than this many of its n_groups groups are:
 * 1/32 of them. Real data stays far below (the unit test measures < 0.1%
 * per data set); every foreign kind above far above. A tensor of fewer than
 * 32 groups is foreign from its first foreign group on. */
GQ_HD uint64_t gq_dtype_foreign_limit(uint64_t n_groups)
{
    return n_groups / 32u;
}

#if defined(__CUDA_ARCH__) || defined(GQ_EMU)
/* The calling thread's index in its block, and whether all 32 lanes of its
 * warp exist (a block that is not whole warps has a partial last warp,
 * whose missing lanes a full-mask shuffle must not name). */
static __device__ __forceinline__ uint32_t gq_thread_linear(void)
{
    return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}

static __device__ __forceinline__ int gq_warp_whole(void)
{
    return (gq_thread_linear() | 31u) < blockDim.x * blockDim.y * blockDim.z;
}
#endif

/* After a thread's last group, every thread of the launch: adds its count
 * of foreign groups into the header's `foreign` word and, when the total
 * passes the limit, sets `overflow` — what the shim's fallbacks already act
 * on (the spill kernel copies the source raw, the entry is not used). On the
 * GPU a whole warp sums its counts first: one atomic per warp, none when the
 * warp saw nothing foreign (the usual case); every lane of such a warp must
 * call it (full-mask shuffles). The lanes of a partial warp add their own. */
#if defined(__CUDACC__)
static __device__ __forceinline__ void gq_dtype_fold(struct gq_header *h, uint32_t foreign,
                                                     uint64_t n_groups)
#else
GQ_HD void gq_dtype_fold(struct gq_header *h, uint32_t foreign, uint64_t n_groups)
#endif
{
    uint32_t old;
#if defined(__CUDA_ARCH__) || defined(GQ_EMU)
    unsigned o;
    int whole = gq_warp_whole();
    for (o = 16; whole && o > 0; o >>= 1)
        foreign += __shfl_xor_sync(0xffffffffu, foreign, o);
    if ((whole && (gq_thread_linear() & 31u) != 0) || foreign == 0)
        return;
    old = atomicAdd(&h->foreign, foreign);
    if ((uint64_t)old + foreign > gq_dtype_foreign_limit(n_groups))
        atomicExch(&h->overflow, 1u);
#else
    if (foreign == 0)
        return;
    old = __atomic_fetch_add(&h->foreign, foreign, __ATOMIC_RELAXED);
    if ((uint64_t)old + foreign > gq_dtype_foreign_limit(n_groups))
        __atomic_store_n(&h->overflow, 1u, __ATOMIC_RELAXED);
#endif
}

#endif

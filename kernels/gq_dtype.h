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
 * Written once as GQ_HD: the quantize kernel (kernels/gq_kernels.cu) runs it
 * per group after encoding it, in registers, on data its thread has just
 * read; the unit test (tests/unit/test_dtype.c) measures it on realistic
 * data of each dtype (false rejections) and on each foreign kind
 * (detection), and prints both.
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

/* Counts kept while scanning a group; all small integers. */
struct gq_dtype_scan {
    uint32_t nz;          /* non-zero words (sign bit ignored) */
    uint32_t pos, neg;    /* non-zero words by sign */
    uint32_t big, tiny;   /* near the top / bottom of the dtype's exponent range */
    uint32_t band;        /* f16: |v| in [0.5, 4) */
    uint32_t emin, emax;  /* f16: the smallest and largest exponent field seen */
    uint64_t top3;        /* f16: how often each top-3 mantissa pattern occurs,
                             eight 8-bit counters */
    uint32_t wee[2];      /* bf16: |v| < 2^-23, positive and negative */
    uint32_t ints_own;    /* non-zero and an integer in the rule's dtype (16-bit) */
    uint32_t ints_alt;    /* non-zero and an integer read as the other 16-bit type */
    uint32_t own_huge;    /* bf16: |v| >= 2^16 */
    uint32_t halfish;     /* f32: lower half looks like a half float */
    uint32_t lo_nz;       /* f32: lower halves with a non-zero low 13 bits */
    uint32_t denorm;      /* f32: denormal patterns */
    uint32_t n[2];        /* 16-bit words by parity of their flat index */
    uint32_t empty[2];    /* ... that are empty (see gq_dtype_scan_word16) */
    uint32_t dense[2];    /* ... that are not */
};

/* 1 when a 16-bit f16 word is a non-zero integer value. */
GQ_HD int gq_dtype_f16_int(uint32_t a)
{
    uint32_t e = a >> 10;
    if (a == 0 || e < 15 || e == 31)
        return 0;
    return e >= 25 || (a & ((1u << (25u - e)) - 1u)) == 0;
}

/* 1 when a 16-bit bf16 word is a non-zero integer value. */
GQ_HD int gq_dtype_bf16_int(uint32_t a)
{
    uint32_t e = a >> 7;
    if (a == 0 || e < 127 || e == 255)
        return 0;
    return e >= 134 || (a & ((1u << (134u - e)) - 1u)) == 0;
}

GQ_HD void gq_dtype_scan_word16(struct gq_dtype_scan *s, uint32_t w, uint32_t parity, uint32_t dtype)
{
    uint32_t a = w & 0x7fffu;
    s->n[parity]++;
    /* Empty: the upper word of a small integer (or its sign extension), the
     * lower half of an f32 upcast from f16 or bf16. */
    if ((w & 0x1fffu) == 0 || w < 0x20u || w >= 0xffe0u)
        s->empty[parity]++;
    else
        s->dense[parity]++;
    if (a == 0)
        return;
    s->nz++;
    if (w & 0x8000u)
        s->neg++;
    else
        s->pos++;
    s->ints_own += (uint32_t)(dtype == GQ_F16 ? gq_dtype_f16_int(a) : gq_dtype_bf16_int(a));
    s->ints_alt += (uint32_t)(dtype == GQ_F16 ? gq_dtype_bf16_int(a) : gq_dtype_f16_int(a));
    if (dtype == GQ_F16) {
        uint32_t e = a >> 10;
        s->big += (uint32_t)(e >= 24);          /* >= 512, NaN, Inf */
        s->tiny += (uint32_t)(e <= 7);          /* < 2^-7 */
        s->band += (uint32_t)(e >= 14 && e <= 16);
        s->emin = e < s->emin ? e : s->emin;
        s->emax = e > s->emax ? e : s->emax;
        s->top3 += (uint64_t)1 << (((a >> 7) & 7u) * 8u);
    } else {
        uint32_t e = a >> 7;
        s->big += (uint32_t)(e >= 160);         /* >= 2^33, NaN, Inf */
        s->tiny += (uint32_t)(e <= 96);         /* < 2^-30 */
        s->wee[w >> 15] += (uint32_t)(e <= 103); /* < 2^-23 */
        s->own_huge += (uint32_t)(e >= 143);    /* >= 2^16 */
    }
}

GQ_HD void gq_dtype_scan_word32(struct gq_dtype_scan *s, uint32_t u)
{
    uint32_t a = u & 0x7fffffffu, e = a >> 23, lo = u & 0xffffu;
    /* A lower half with its low 13 bits zero is an f32 upcast from f16
     * (only 3 mantissa bits there): not counted either way. */
    if ((lo & 0x1fffu) != 0) {
        uint32_t le = (lo >> 10) & 31u;
        s->lo_nz++;
        s->halfish += (uint32_t)(le >= 4 && le <= 19);
    }
    if (a == 0)
        return;
    s->nz++;
    if (u & 0x80000000u)
        s->neg++;
    else
        s->pos++;
    s->big += (uint32_t)(e >= 167);  /* >= 2^40, NaN, Inf */
    s->tiny += (uint32_t)(e != 0 && e <= 87); /* normal and < 2^-40 */
    s->denorm += (uint32_t)(e == 0);
}

/* The verdict on a scanned group. */
GQ_HD int gq_dtype_scan_foreign(const struct gq_dtype_scan *s, uint32_t dtype)
{
    uint32_t p;
    /* One word of each pair empty, the other populated (both parities
     * present: a flat group, or a dim=0 group over an odd column count). */
    for (p = 0; p < 2 && dtype != GQ_F32; p++)
        if (s->n[p] >= 8 && s->empty[p] == s->n[p] && s->dense[p ^ 1u] >= 12)
            return 1;
    /* Both ends of the exponent range populated: random bits. */
    if (s->big >= 4 && s->tiny >= 4)
        return 1;
    if (s->nz < GQ_DTYPE_MIN_NZ)
        return 0;
    if (dtype == GQ_F16) {
        uint32_t mode = 0, i;
        if (s->band != s->nz || s->ints_own == s->nz)
            return 0;
        if (s->emin != s->emax)
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
        return mode * 3u >= s->nz;
    }
    if (dtype == GQ_BF16) {
        /* Tiny values of both signs: f16 data below 0.125 (post-GELU bf16
         * has tiny values too, all negative). */
        if (s->wee[0] >= 1 && s->wee[1] >= 1)
            return 1;
        /* Integers as f16 that are not integers, or are huge, as bf16. */
        return s->ints_alt == s->nz && (s->ints_own < s->nz || s->own_huge > 0);
    }
    if (s->lo_nz >= GQ_DTYPE_MIN_NZ && s->halfish * 10u >= s->lo_nz * 9u)
        return 1;
    return s->denorm * 2u >= s->nz;
}

/* 1 when group g (under layout l, elements of `dtype` at src) does not look
 * like floats of `dtype`. Reads the group's elements once more (just read
 * by the encoder: from cache). */
GQ_HD int gq_dtype_group_foreign(const struct gq_layout *l, uint32_t group, uint32_t dtype,
                                 const void *src, uint64_t g)
{
    struct gq_dtype_scan s = {0, 0, 0, 0, 0, 0, 31, 0, 0, {0, 0}, 0, 0, 0, 0, 0, 0, {0, 0}, {0, 0}, {0, 0}};
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

/* After a thread's last group, every thread of the launch: adds its count
 * of foreign groups into the header's `foreign` word and, when the total
 * passes the limit, sets `overflow` — what the shim's fallbacks already act
 * on (the spill kernel copies the source raw, the entry is not used). On the
 * GPU a warp sums its counts first: one atomic per warp, none when the warp
 * saw nothing foreign (the usual case). Every lane of every warp must call
 * it (full-mask shuffles). */
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
    for (o = 16; o > 0; o >>= 1)
        foreign += __shfl_xor_sync(0xffffffffu, foreign, o);
    if ((threadIdx.x & 31u) != 0 || foreign == 0)
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

/*
 * gq_half.h — fp16 and bf16 <-> fp32 conversions shared by the CPU codec and
 * the CUDA kernels, bit-exact on both sides.
 *
 * Contract (IEEE 754 binary16 / bfloat16 as the upper half of binary32):
 *   - to fp32 is exact for every input, subnormals included; NaN payloads are
 *     kept (shifted into the top of the fp32 payload);
 *   - from fp32 rounds to nearest, ties to even (`_rn`), or toward +Inf
 *     (`_ru`, only defined for positive finite inputs: the step of a group);
 *     subnormal results are produced, never flushed; overflow of `_rn` gives
 *     +-Inf (the codec saturates before it converts, so it never overflows).
 * On the GPU the hardware conversions are used where they give the same bits
 * for the inputs the codec feeds them (finite values); elsewhere the integer
 * forms below run on both sides.
 */
#ifndef GQ_HALF_H
#define GQ_HALF_H

#include "gq_hd.h"

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#endif

GQ_HD float gq_f16_to_f32(uint16_t h)
{
#if defined(__CUDA_ARCH__)
    return __half2float(__ushort_as_half(h));
#else
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu;
    uint32_t m = h & 0x3ffu;
    if (e == 0x1f)
        return gq_bits_f32(sign | 0x7f800000u | (m << 13));
    if (e != 0)
        return gq_bits_f32(sign | ((e + 112u) << 23) | (m << 13));
    /* zero or subnormal: m * 2^-24 is exact in fp32 */
    return gq_bits_f32(sign | gq_f32_bits((float)m * 0x1p-24f));
#endif
}

/* Round to nearest even; NaN becomes a quiet NaN keeping the payload's top bits. */
GQ_HD uint16_t gq_f32_to_f16_rn(float f)
{
#if defined(__CUDA_ARCH__)
    return __half_as_ushort(__float2half_rn(f));
#else
    uint32_t x = gq_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u)
        return (uint16_t)(sign | 0x7c00u | (x > 0x7f800000u ? 0x200u | ((x >> 13) & 0x3ffu) : 0u));
    if (x >= 0x477ff000u) /* >= 65520: rounds to Inf */
        return (uint16_t)(sign | 0x7c00u);
    if (x >= 0x38800000u) { /* a normal fp16 (>= 2^-14): rebias, round the 13 dropped bits */
        uint32_t r = x - 0x38000000u;
        r += 0xfffu + ((r >> 13) & 1u);
        return (uint16_t)(sign | (r >> 13));
    }
    /* subnormal or zero: an integer count of 2^-24, rounded half to even */
    return (uint16_t)(sign | (uint16_t)rintf(gq_bits_f32(x) * 0x1p24f));
#endif
}

/* Round toward +Inf; for a positive finite f (a group's step). */
GQ_HD uint16_t gq_f32_to_f16_ru(float f)
{
#if defined(__CUDA_ARCH__)
    return __half_as_ushort(__float2half_ru(f));
#else
    uint16_t h = gq_f32_to_f16_rn(f);
    if (gq_f16_to_f32(h) < f)
        h = (uint16_t)(h + 1u);
    return h;
#endif
}

GQ_HD float gq_bf16_to_f32(uint16_t h)
{
    return gq_bits_f32((uint32_t)h << 16);
}

GQ_HD uint16_t gq_f32_to_bf16_rn(float f)
{
    uint32_t x = gq_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* Round toward +Inf; for a positive finite f below the largest bf16. */
GQ_HD uint16_t gq_f32_to_bf16_ru(float f)
{
    return (uint16_t)((gq_f32_bits(f) + 0xffffu) >> 16);
}

#endif

/*
 * gq_hd.h — what lets one text be CUDA device code and plain C.
 *
 * GQ_HD marks a function that the CUDA kernels, the CPU codec and the
 * CPU-emulated kernels (tests/cudasim) all call: under nvcc it is
 * `__host__ __device__`, under gcc or clang a `static inline` C function.
 * Code behind GQ_HD must compute in float exactly as written: no fast-math,
 * no FMA contraction (nvcc -fmad=false, gcc -ffp-contract=off); the only
 * fused multiply-add is an explicit fmaf().
 */
#ifndef GQ_HD_H
#define GQ_HD_H

#include <stdint.h>
#include <stddef.h>

#if defined(__CUDACC__)
#define GQ_HD static __host__ __device__ __forceinline__
#define GQ_RESTRICT __restrict__
#else
#include <math.h>
#include <string.h>
#define GQ_HD static inline __attribute__((unused))
#define GQ_RESTRICT __restrict
#endif

/* Bit casts that are defined behaviour in C and CUDA C++ alike. */
GQ_HD uint32_t gq_f32_bits(float f)
{
#if defined(__CUDA_ARCH__)
    return (uint32_t)__float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

GQ_HD float gq_bits_f32(uint32_t u)
{
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

GQ_HD uint64_t gq_f64_bits(double f)
{
#if defined(__CUDA_ARCH__)
    return (uint64_t)__double_as_longlong(f);
#else
    uint64_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

GQ_HD double gq_bits_f64(uint64_t u)
{
#if defined(__CUDA_ARCH__)
    return __longlong_as_double((long long)u);
#else
    double f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* Unaligned-safe little-endian loads and stores of the buffer's fields. */
GQ_HD uint16_t gq_ld16(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return (uint16_t)(b[0] | (b[1] << 8));
}

GQ_HD uint32_t gq_ld32(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

GQ_HD void gq_st16(void *p, uint16_t v)
{
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

GQ_HD void gq_st32(void *p, uint32_t v)
{
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

#endif

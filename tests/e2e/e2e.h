/*
 * e2e.h — helpers for the end-to-end programs: plain CUDA programs that know
 * nothing of the shim. They check their own data; where a test expects
 * compression, the CPU codec (linked as an oracle, not as a shim) says what
 * the restored bytes must be.
 */
#ifndef E2E_H
#define E2E_H

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK(call)                                                                        \
    do {                                                                                \
        cudaError_t ck_ = (call);                                                       \
        if (ck_ != cudaSuccess) {                                                       \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,               \
                    cudaGetErrorString(ck_));                                           \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

#define FAIL(...)                                                                       \
    do {                                                                                \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                            \
        fprintf(stderr, __VA_ARGS__);                                                   \
        fprintf(stderr, "\n");                                                          \
        exit(1);                                                                        \
    } while (0)

/* A case that cannot run on this machine (it needs more devices than the
 * runtime shows) says why on one line, "SKIP: WHY", and exits E2E_SKIP.
 * tests/e2e/lib.sh reports it as skipped on the real CUDA stack only; on
 * cudasim, which shows 2 devices, it is a failure, so a case never turns
 * into a skip there. */
#define E2E_SKIP 77

#define SKIP(...)                                                                       \
    do {                                                                                \
        fprintf(stderr, "SKIP: ");                                                      \
        fprintf(stderr, __VA_ARGS__);                                                   \
        fprintf(stderr, "\n");                                                          \
        exit(E2E_SKIP);                                                                 \
    } while (0)

/* Skips the case unless the runtime shows at least `n` devices. */
static inline void e2e_need_devices(int n)
{
    int have = 0;
    CK(cudaGetDeviceCount(&have));
    if (have < n)
        SKIP("%d CUDA device%s here, the case needs %d", have, have == 1 ? "" : "s", n);
}

/* splitmix64: reproducible data everywhere. */
static inline uint64_t e2e_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline float e2e_gauss(uint64_t *s)
{
    double u1 = ((double)(e2e_rand(s) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(e2e_rand(s) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static inline uint16_t e2e_f32_to_f16(float f)
{
    /* Round to nearest even, via the hardware-free route: enough for test data. */
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t mant = x & 0x7fffffu;
    if (((x >> 23) & 0xff) == 0xff)
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    if (exp >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) {
        if (exp < -10)
            return (uint16_t)sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t half = 1u << (shift - 1);
        uint32_t r = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        if (rem > half || (rem == half && (r & 1)))
            r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = ((uint32_t)exp << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1)))
        r++;
    return (uint16_t)(sign | r);
}

/* Fill `bytes` of dtype data ("f16", "bf16", "f32"): Gaussian values with a
 * scale that changes per 256 elements, plus, when `specials`, a NaN with a
 * payload, +Inf, -Inf and a constant run. */
static inline void e2e_fill(void *buf, size_t bytes, const char *dtype, uint64_t seed, int specials)
{
    uint64_t s = seed;
    size_t esize = strcmp(dtype, "f32") == 0 ? 4 : 2;
    size_t n = bytes / esize;
    for (size_t i = 0; i < n; i++) {
        float scale = (float)(1 << ((i / 256) % 8)) * 0.01f;
        float v = e2e_gauss(&s) * scale;
        if (specials && n > 4096) {
            if (i == 1000)
                v = NAN;
            if (i == 2000)
                v = INFINITY;
            if (i == 3000)
                v = -INFINITY;
            if (i >= 3072 && i < 3072 + 128)
                v = 1.5f; /* two constant groups of 64 */
        }
        if (esize == 4) {
            memcpy((char *)buf + 4 * i, &v, 4);
        } else if (strcmp(dtype, "bf16") == 0) {
            uint32_t x;
            memcpy(&x, &v, 4);
            uint16_t h = (uint16_t)((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
            if (v != v)
                h = 0x7fc1; /* a NaN with a payload */
            memcpy((char *)buf + 2 * i, &h, 2);
        } else {
            uint16_t h = e2e_f32_to_f16(v);
            if (v != v)
                h = 0x7e01; /* a NaN with a payload */
            memcpy((char *)buf + 2 * i, &h, 2);
        }
    }
}

/* First differing byte, or -1. */
static inline long e2e_diff(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return (long)i;
    return -1;
}

#endif

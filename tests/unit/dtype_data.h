/*
 * dtype_data.h — realistic tensors of each float dtype, and the foreign
 * bytes a caching allocator can put where a rule expects them, for
 * tests/unit/test_dtype.c. Deterministic (one xorshift generator).
 */
#ifndef DTYPE_DATA_H
#define DTYPE_DATA_H

#include "gq_group.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t dd_state = 0x9e3779b97f4a7c15ull;
static double dd_spare; /* dd_gauss's second value, when dd_have_spare */
static int dd_have_spare;

static void dd_seed(uint64_t s)
{
    dd_state = s * 0x9e3779b97f4a7c15ull + 1;
    dd_have_spare = 0;
}

static uint64_t dd_next(void)
{
    dd_state ^= dd_state << 13;
    dd_state ^= dd_state >> 7;
    dd_state ^= dd_state << 17;
    return dd_state;
}

static double dd_unif(void) /* (0, 1) */
{
    return ((double)(dd_next() >> 11) + 0.5) / 9007199254740992.0;
}

/* N(0, 1) by the polar method: two values per logarithm and no cosine (the
 * data sets are millions of values; Box-Muller's log + cos per value was
 * most of this test's time). */
static double dd_gauss(void)
{
    double u, v, r;
    if (dd_have_spare) {
        dd_have_spare = 0;
        return dd_spare;
    }
    do {
        u = 2.0 * dd_unif() - 1.0;
        v = 2.0 * dd_unif() - 1.0;
        r = u * u + v * v;
    } while (r >= 1.0 || r == 0.0);
    r = sqrt(-2.0 * log(r) / r);
    dd_spare = v * r;
    dd_have_spare = 1;
    return u * r;
}

/* ---- realistic data, as fp32 values ------------------------------------- */

enum dd_real {
    DD_GAUSS_W,       /* weights: N(0, 0.02) */
    DD_GAUSS_1,       /* activations: N(0, 1) */
    DD_GAUSS_2,       /* N(0, 2): the worst scale for the f16 band test */
    DD_GAUSS_8,       /* KV entries of a large scale */
    DD_STUDENT_T3,    /* heavy-tailed */
    DD_LAPLACE,
    DD_OUTLIER_CH,    /* rows of 4096, four channels x300 (massive activations) */
    DD_SOFTMAX,       /* rows of 1024 from logits N(0, 3) */
    DD_SOFTMAX_PEAKY, /* rows of 1024 from logits N(0, 10) */
    DD_GELU,          /* GELU(N(0, 2)) */
    DD_RELU,          /* ReLU(N(0, 1)): half zeros */
    DD_INT_0_9,       /* small integers stored as floats */
    DD_INT_0_3,
    DD_INT_0_255,
    DD_MASK_01,
    DD_BINADE_ROWS,   /* rows of 2048 in one binade each, mantissa uniform
                         (examples/weights_stream.c's weights) */
    DD_REAL_COUNT
};

static const char *const dd_real_name[DD_REAL_COUNT] = {
    "gauss_w", "gauss_1", "gauss_2", "gauss_8", "student_t3", "laplace", "outlier_channels",
    "softmax", "softmax_peaky", "gelu", "relu", "int_0_9", "int_0_3", "int_0_255", "mask_01", "binade_rows"};

static void dd_softmax_rows(float *v, size_t n, double sigma)
{
    for (size_t r = 0; r < n; r += 1024) {
        size_t len = n - r < 1024 ? n - r : 1024;
        double mx = -1e300, sum = 0;
        for (size_t i = 0; i < len; i++) {
            v[r + i] = (float)(sigma * dd_gauss());
            mx = v[r + i] > mx ? v[r + i] : mx;
        }
        for (size_t i = 0; i < len; i++)
            sum += exp(v[r + i] - mx);
        for (size_t i = 0; i < len; i++)
            v[r + i] = (float)(exp(v[r + i] - mx) / sum);
    }
}

static void dd_real_fill(enum dd_real kind, float *v, size_t n)
{
    size_t i;
    switch (kind) {
    case DD_GAUSS_W: for (i = 0; i < n; i++) v[i] = (float)(0.02 * dd_gauss()); break;
    case DD_GAUSS_1: for (i = 0; i < n; i++) v[i] = (float)dd_gauss(); break;
    case DD_GAUSS_2: for (i = 0; i < n; i++) v[i] = (float)(2.0 * dd_gauss()); break;
    case DD_GAUSS_8: for (i = 0; i < n; i++) v[i] = (float)(8.0 * dd_gauss()); break;
    case DD_STUDENT_T3:
        for (i = 0; i < n; i++) {
            double c = 0;
            for (int k = 0; k < 3; k++) {
                double z = dd_gauss();
                c += z * z;
            }
            v[i] = (float)(dd_gauss() / sqrt(c / 3.0));
        }
        break;
    case DD_LAPLACE:
        for (i = 0; i < n; i++)
            v[i] = (float)((dd_next() & 1 ? 1.0 : -1.0) * -log(dd_unif()));
        break;
    case DD_OUTLIER_CH:
        for (i = 0; i < n; i++) {
            size_t c = i % 4096;
            double s = (c == 7 || c == 1500 || c == 2049 || c == 3071) ? 300.0 : 1.0;
            v[i] = (float)(s * dd_gauss());
        }
        break;
    case DD_SOFTMAX: dd_softmax_rows(v, n, 3.0); break;
    case DD_SOFTMAX_PEAKY: dd_softmax_rows(v, n, 10.0); break;
    case DD_GELU:
        for (i = 0; i < n; i++) {
            double x = 2.0 * dd_gauss();
            v[i] = (float)(0.5 * x * (1.0 + erf(x / 1.4142135623730951)));
        }
        break;
    case DD_RELU:
        for (i = 0; i < n; i++) {
            double x = dd_gauss();
            v[i] = (float)(x > 0 ? x : 0.0);
        }
        break;
    case DD_INT_0_9: for (i = 0; i < n; i++) v[i] = (float)(dd_next() % 10); break;
    case DD_INT_0_3: for (i = 0; i < n; i++) v[i] = (float)(dd_next() % 4); break;
    case DD_INT_0_255: for (i = 0; i < n; i++) v[i] = (float)(dd_next() % 256); break;
    case DD_MASK_01: for (i = 0; i < n; i++) v[i] = (float)(dd_next() & 1); break;
    case DD_BINADE_ROWS:
        for (i = 0; i < n; i++) { /* 2^(e-15) * (1 + m/1024), e = 10 + row % 5, as f16 bits would */
            double m = (double)(dd_next() % 1024) / 1024.0;
            v[i] = (float)((dd_next() & 1 ? -1.0 : 1.0) * ldexp(1.0 + m, (int)(10 + (i / 2048) % 5) - 15));
        }
        break;
    default: break;
    }
}

/* fp32 values into n elements of dtype at out (saturated to f16's range). */
static void dd_convert(const float *v, size_t n, uint32_t dtype, void *out)
{
    for (size_t i = 0; i < n; i++) {
        if (dtype == GQ_F32)
            ((uint32_t *)out)[i] = gq_f32_bits(v[i]);
        else if (dtype == GQ_BF16)
            ((uint16_t *)out)[i] = gq_f32_to_bf16_rn(v[i]);
        else
            ((uint16_t *)out)[i] = gq_f32_to_f16_rn(fminf(fmaxf(v[i], -GQ_F16_MAX), GQ_F16_MAX));
    }
}

/* ---- foreign bytes --------------------------------------------------------- */

enum dd_foreign {
    DD_AS_F16,        /* realistic f16 data (N(0,1)) */
    DD_AS_F16_W,      /* f16 weights N(0, 0.02) */
    DD_AS_F16_INT,    /* small integers 0..9 as f16 */
    DD_AS_F16_SOFTMAX,
    DD_AS_BF16,       /* realistic bf16 data (N(0,1)) */
    DD_AS_BF16_W,     /* bf16 weights */
    DD_AS_BF16_SOFTMAX,
    DD_AS_BF16_INT,   /* small integers as bf16 */
    DD_AS_F32,        /* fp32 logits N(0, 4) */
    DD_AS_F32_UP16,   /* fp32 values that came from f16 */
    DD_AS_F32_UPBF16, /* fp32 values that came from bf16 */
    DD_INT32_IDS,     /* token ids < 32000 */
    DD_INT64_IDS,     /* token ids < 128256 */
    DD_INT64_POS,     /* positions 0.. (arange) */
    DD_GGUF_Q4_0,
    DD_GGUF_Q8_0,
    DD_RANDOM,
    DD_FOREIGN_COUNT
};

static const char *const dd_foreign_name[DD_FOREIGN_COUNT] = {
    "f16", "f16_weights", "f16_ints", "f16_softmax", "bf16", "bf16_weights", "bf16_softmax", "bf16_ints",
    "f32", "f32_from_f16", "f32_from_bf16", "int32_ids", "int64_ids", "int64_positions",
    "gguf_q4_0", "gguf_q8_0", "random"};

/* The dtype a foreign kind really is (0: not a float of ours). */
static uint32_t dd_foreign_dtype(enum dd_foreign k)
{
    switch (k) {
    case DD_AS_F16: case DD_AS_F16_W: case DD_AS_F16_INT: case DD_AS_F16_SOFTMAX: return GQ_F16;
    case DD_AS_BF16: case DD_AS_BF16_W: case DD_AS_BF16_SOFTMAX: case DD_AS_BF16_INT: return GQ_BF16;
    case DD_AS_F32: case DD_AS_F32_UP16: case DD_AS_F32_UPBF16: return GQ_F32;
    default: return 0;
    }
}

/* `bytes` bytes of kind k at out (a multiple of 72 and of 8); tmp holds
 * bytes/2 floats. */
static void dd_foreign_fill(enum dd_foreign k, uint8_t *out, size_t bytes, float *tmp)
{
    size_t i, n16 = bytes / 2, n32 = bytes / 4;
    switch (k) {
    case DD_AS_F16: dd_real_fill(DD_GAUSS_1, tmp, n16); dd_convert(tmp, n16, GQ_F16, out); break;
    case DD_AS_F16_W: dd_real_fill(DD_GAUSS_W, tmp, n16); dd_convert(tmp, n16, GQ_F16, out); break;
    case DD_AS_F16_INT: dd_real_fill(DD_INT_0_9, tmp, n16); dd_convert(tmp, n16, GQ_F16, out); break;
    case DD_AS_F16_SOFTMAX: dd_real_fill(DD_SOFTMAX, tmp, n16); dd_convert(tmp, n16, GQ_F16, out); break;
    case DD_AS_BF16: dd_real_fill(DD_GAUSS_1, tmp, n16); dd_convert(tmp, n16, GQ_BF16, out); break;
    case DD_AS_BF16_W: dd_real_fill(DD_GAUSS_W, tmp, n16); dd_convert(tmp, n16, GQ_BF16, out); break;
    case DD_AS_BF16_SOFTMAX: dd_real_fill(DD_SOFTMAX, tmp, n16); dd_convert(tmp, n16, GQ_BF16, out); break;
    case DD_AS_BF16_INT: dd_real_fill(DD_INT_0_9, tmp, n16); dd_convert(tmp, n16, GQ_BF16, out); break;
    case DD_AS_F32:
        for (i = 0; i < n32; i++)
            tmp[i] = (float)(4.0 * dd_gauss());
        dd_convert(tmp, n32, GQ_F32, out);
        break;
    case DD_AS_F32_UP16:
        for (i = 0; i < n32; i++)
            ((uint32_t *)out)[i] = gq_f32_bits(gq_f16_to_f32(gq_f32_to_f16_rn((float)dd_gauss())));
        break;
    case DD_AS_F32_UPBF16:
        for (i = 0; i < n32; i++)
            ((uint32_t *)out)[i] = gq_f32_bits(gq_bf16_to_f32(gq_f32_to_bf16_rn((float)dd_gauss())));
        break;
    case DD_INT32_IDS:
        for (i = 0; i < n32; i++)
            ((uint32_t *)out)[i] = (uint32_t)(dd_next() % 32000);
        break;
    case DD_INT64_IDS:
        for (i = 0; i < bytes / 8; i++)
            ((uint64_t *)out)[i] = dd_next() % 128256;
        break;
    case DD_INT64_POS:
        for (i = 0; i < bytes / 8; i++)
            ((uint64_t *)out)[i] = i % 8192;
        break;
    case DD_GGUF_Q4_0: /* 18-byte blocks: f16 scale d, 32 nibbles q with x = (q - 8) * d */
        for (i = 0; i + 18 <= bytes; i += 18) {
            float w[32], amax = 0, d;
            for (int j = 0; j < 32; j++) {
                w[j] = (float)(0.02 * dd_gauss());
                amax = fabsf(w[j]) > amax ? fabsf(w[j]) : amax;
            }
            d = amax / 7.0f;
            gq_st16(out + i, gq_f32_to_f16_rn(d));
            for (int j = 0; j < 16; j++) {
                int a = (int)lrintf(w[j] / d) + 8, b = (int)lrintf(w[j + 16] / d) + 8;
                a = a < 0 ? 0 : a > 15 ? 15 : a;
                b = b < 0 ? 0 : b > 15 ? 15 : b;
                out[i + 2 + j] = (uint8_t)(a | (b << 4));
            }
        }
        break;
    case DD_GGUF_Q8_0: /* 34-byte blocks: f16 scale d, 32 int8 */
        for (i = 0; i + 34 <= bytes; i += 34) {
            float w[32], amax = 0, d;
            for (int j = 0; j < 32; j++) {
                w[j] = (float)(0.02 * dd_gauss());
                amax = fabsf(w[j]) > amax ? fabsf(w[j]) : amax;
            }
            d = amax / 127.0f;
            gq_st16(out + i, gq_f32_to_f16_rn(d));
            for (int j = 0; j < 32; j++)
                out[i + 2 + j] = (uint8_t)(int8_t)lrintf(w[j] / d);
        }
        memset(out + i, 0, bytes - i);
        break;
    case DD_RANDOM:
        for (i = 0; i < bytes; i++)
            out[i] = (uint8_t)dd_next();
        break;
    default: break;
    }
}

#endif

/*
 * fw.h — helpers for the framework-pattern programs (tests/e2e/fw_*.c):
 * tensors of the kinds inference stacks keep side by side (f16/bf16 KV,
 * fp32 logits, int64 ids, GGUF Q4_0/Q8_0 blocks), and the one check every
 * program makes: a target tensor comes back as the codec's 4-bit round trip
 * of itself (or exact, when no rule compresses it), every other byte exact.
 *
 * Each program takes one argument: "quant" (the rule compresses its target
 * tensors: they must equal the CPU codec's round trip, bit for bit) or
 * "exact" (no rule, or tracing: everything exact). It prints how many
 * target and other copies it checked.
 */
#ifndef FW_H
#define FW_H

#include "e2e_oracle.h"

enum fw_kind { FW_F16, FW_BF16, FW_F32, FW_I64, FW_Q4_0, FW_Q8_0 };

static const char *const fw_kind_name[] = {"f16", "bf16", "f32", "i64", "q4_0", "q8_0"};

static int fw_quant = -1; /* 1: targets compressed; 0: all exact */
static unsigned long fw_targets, fw_others;

static void fw_args(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "quant") != 0 && strcmp(argv[1], "exact") != 0)) {
        fprintf(stderr, "usage: %s quant|exact\n", argv[0]);
        exit(2);
    }
    fw_quant = strcmp(argv[1], "quant") == 0;
}

/* `bytes` of kind k (a multiple of 34 and 18 is not needed: a partial GGUF
 * block at the end is filled with bytes). */
static void fw_fill(void *buf, size_t bytes, enum fw_kind k, uint64_t seed)
{
    uint64_t s = seed * 0x2545f4914f6cdd1dull + 1;
    unsigned char *b = buf;
    size_t i;
    switch (k) {
    case FW_F16: e2e_fill(buf, bytes, "f16", seed, 0); break;
    case FW_BF16: e2e_fill(buf, bytes, "bf16", seed, 0); break;
    case FW_F32: e2e_fill(buf, bytes, "f32", seed, 0); break;
    case FW_I64:
        for (i = 0; i + 8 <= bytes; i += 8) {
            int64_t v = (int64_t)(e2e_rand(&s) % 128256);
            memcpy(b + i, &v, 8);
        }
        break;
    case FW_Q4_0:
    case FW_Q8_0: {
        size_t bs = k == FW_Q4_0 ? 18 : 34;
        for (i = 0; i < bytes; i++)
            b[i] = (unsigned char)e2e_rand(&s);
        for (i = 0; i + bs <= bytes; i += bs) { /* f16 scale, then quants */
            uint16_t d = e2e_f32_to_f16(0.0005f + 0.0001f * (float)(e2e_rand(&s) % 16));
            memcpy(b + i, &d, 2);
            for (size_t j = 2; j < bs; j++) {
                if (k == FW_Q4_0) /* two nibbles around 8 */
                    b[i + j] = (unsigned char)((8 + (int)(e2e_gauss(&s) * 2.5f)) & 15) |
                               (unsigned char)(((8 + (int)(e2e_gauss(&s) * 2.5f)) & 15) << 4);
                else
                    b[i + j] = (unsigned char)(signed char)(e2e_gauss(&s) * 40.0f);
            }
        }
        break;
    }
    }
}

/* The element type the codec would use for kind k (f16 for non-floats). */
static uint32_t fw_dtype(enum fw_kind k)
{
    return k == FW_BF16 ? GQ_BF16 : k == FW_F32 ? GQ_F32 : GQ_F16;
}

/* got must be src as a copy under the rule delivers it: the 4-bit round
 * trip (groups of 64 from the copy's first element) for a target in a
 * "quant" run, else src exactly. */
static void fw_check(const char *what, const void *got, const void *src, size_t bytes,
                     enum fw_kind k, int target)
{
    void *want = malloc(bytes);
    struct gq_params p = {4, 64, fw_dtype(k), GQ_DIM_LAST, 0};
    if (!want)
        FAIL("out of memory");
    e2e_expect(&p, src, bytes, target && fw_quant, want);
    long d = e2e_diff(got, want, bytes);
    if (d >= 0)
        FAIL("%s (%s, %zu bytes, %s): byte %ld differs from the %s", what, fw_kind_name[k], bytes,
             target ? "target" : "not a target", d,
             target && fw_quant ? "4-bit round trip" : "original");
    free(want);
    if (target)
        fw_targets++;
    else
        fw_others++;
}

/* Target copies that arrived exact under a "quant" run: the shim let them
 * through raw (fw_check_or_raw); the script compares the count with the
 * shim's own stats, which must give each a reason. */
static unsigned long fw_raw;

/* fw_check for a copy the shim may pass raw with a counted reason: the
 * store adds pinned memory off the copy's path, and copies that find no
 * room meanwhile go exact (GROWING). Either the 4-bit round trip or the
 * original, bit for bit, and nothing else. */
static inline void fw_check_or_raw(const char *what, const void *got, const void *src, size_t bytes,
                            enum fw_kind k)
{
    if (fw_quant && e2e_diff(got, src, bytes) < 0) {
        fw_raw++;
        fw_targets++;
        return;
    }
    fw_check(what, got, src, bytes, k, 1);
}

static void fw_report(const char *prog)
{
    printf("%s: %lu target copies and %lu other copies checked (%s), %lu targets raw\n", prog,
           fw_targets, fw_others, fw_quant ? "targets compressed" : "all exact", fw_raw);
}

#endif

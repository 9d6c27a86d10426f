/*
 * gq_codec_impl.h — internal: the seam between the CPU codec's driver
 * (gq_codec.c) and its per-ISA paths. Not for the shim.
 *
 * A path only handles the bulk: runs of FULL groups of a GQ_DIM_LAST tensor.
 * Partial groups, GQ_DIM_0 and anything a path declines go through the
 * GQ_HD functions of gq_group.h, which define the result.
 */
#ifndef GQ_CODEC_IMPL_H
#define GQ_CODEC_IMPL_H

#include "gq_group.h"

struct gq_cpu_path {
    const char *name;
    /* Encodes full groups [g0, g1); must call gq_group_encode() for groups
     * that escape, in ascending order, so slots match the scalar path. */
    void (*encode_full)(const struct gq_enc_ctx *c, uint64_t g0, uint64_t g1);
    /* Decodes full groups [g0, g1) (c->g_base == 0) to dst, dst[0] being
     * element g0*G. GQ_OK, or GQ_ERR_CORRUPT for an escape slot past the
     * capacity. */
    int (*decode_full)(const struct gq_dec_ctx *c, uint64_t g0, uint64_t g1, void *dst);
};

/* Scalar reference, always present. */
void gq_scalar_encode_full(const struct gq_enc_ctx *c, uint64_t g0, uint64_t g1);
int gq_scalar_decode_full(const struct gq_dec_ctx *c, uint64_t g0, uint64_t g1, void *dst);
/* Decodes one full or partial group g of a GQ_DIM_LAST tensor into dst (its
 * first element at dst[0]); what SIMD paths fall back to. */
int gq_scalar_decode_group(const struct gq_dec_ctx *c, uint64_t g, void *dst);

/* CPU features the paths need, from cpuid and xgetbv (the OS must save
 * the registers too). Probed once; cheap to call. */
#define GQ_CPU_AVX2 1u    /* AVX2 + F16C + FMA */
#define GQ_CPU_AVX512 2u  /* AVX-512 F, BW, VL, DQ, VBMI (+ the above) */
unsigned gq_cpu_features(void);

/* NULL when the build or the CPU lacks the ISA. */
const struct gq_cpu_path *gq_path_avx2(void);
const struct gq_cpu_path *gq_path_avx512(void);

#endif

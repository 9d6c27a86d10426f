/*
 * gq_codec_impl.h — internal: the seam between the CPU codec's driver
 * (gq_codec.c) and its per-ISA paths. Not for the shim.
 *
 * A path only handles the bulk: runs of FULL groups of a GQ_DIM_LAST tensor
 * (the groups of full GQ_DIM_0 row-blocks reach it as such, transposed by
 * gq_codec.c into a scratch buffer). Partial groups and anything a path
 * declines go through the GQ_HD functions of gq_group.h, which define the
 * result; the scalar path is those functions alone.
 */
#ifndef GQ_CODEC_IMPL_H
#define GQ_CODEC_IMPL_H

#include "gq_codec.h"
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

/* The steps of gq_encode_ex(), for callers that split the groups (the
 * multi-threaded entry points of gq_codec_mt.c). gq_enc_begin checks the
 * arguments, writes the header and zeroes the padding; gq_enc_groups encodes
 * groups [g0, g1) (any range: full groups through the path, the rest scalar);
 * gq_enc_end zeroes the unused escape slots and returns the status. */
int gq_enc_begin(enum gq_path path, const struct gq_params *p, const void *src, uint64_t n_elems,
                 uint32_t escape_capacity, void *dst, size_t dst_size, struct gq_enc_ctx *c,
                 const struct gq_cpu_path **impl);
void gq_enc_groups(const struct gq_cpu_path *impl, const struct gq_enc_ctx *c, uint64_t g0, uint64_t g1);
int gq_enc_end(const struct gq_enc_ctx *c);

/* The same as the gq_*_mt() entry points of gq_codec.h with exactly `parts`
 * threads (1..GQ_MT_MAX_PARTS, the caller's among them) and no minimum size
 * per thread: what the tests use to put part boundaries anywhere. */
#define GQ_MT_MAX_PARTS 64u
int gq_encode_parts(enum gq_path path, const struct gq_params *p, const void *src, uint64_t n_elems,
                    uint32_t escape_capacity, void *dst, size_t dst_size, unsigned parts);
int gq_decode_range_parts(enum gq_path path, const void *buf, size_t buf_size, uint64_t e0, uint64_t e1,
                          void *dst, unsigned parts);

/* CPU features the paths need, from cpuid and xgetbv (the OS must save
 * the registers too). Probed once; cheap to call. */
#define GQ_CPU_AVX2 1u    /* AVX2 + F16C + FMA */
#define GQ_CPU_AVX512 2u  /* AVX-512 F, BW, VL, DQ, VBMI (+ the above) */
unsigned gq_cpu_features(void);

/* NULL when the build or the CPU lacks the ISA. */
const struct gq_cpu_path *gq_path_avx2(void);
const struct gq_cpu_path *gq_path_avx512(void);

#endif

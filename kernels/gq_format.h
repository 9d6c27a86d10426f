/*
 * gq_format.h — the gqshim compressed-tensor format.
 * Included by C (gcc, clang) and CUDA (nvcc) alike; every function here is
 * GQ_HD (usable on host and device) and touches no global state.
 *
 * ===== Parameters ==========================================================
 *   bits   b in {2, 4, 8}: width of one code.
 *   group  G, even, 8..1024: elements per group (FlexGen: 64).
 *   dtype  GQ_F16 | GQ_BF16 | GQ_F32: the element type of the tensor, also
 *          the type of each group's metadata.
 *   axis   GQ_DIM_LAST: group g holds elements [gG, gG+G) of the flat buffer.
 *          GQ_DIM_0 with cols C: the buffer is an R x C row-major matrix
 *          (n_elems must be a multiple of C); group g = rb*C + c holds rows
 *          [rb*G, rb*G+G) of column c. Groups are numbered row-block major,
 *          so the groups of rows [rb*G, rb*G+G) are C consecutive groups.
 *   A last, partial group (n_elems, resp. R, not a multiple of G) holds only
 *   the real elements: padding never enters min/max; its unused code bits
 *   are zero.
 *
 * ===== Buffer layout (all integers little-endian) ==========================
 *   [0, 64)          header, struct gq_header below
 *   meta_off = 64    n_groups x {step, min}: two elements of `dtype`
 *                    (4 bytes per group for f16/bf16, 8 for f32)
 *   code_off         (16-aligned) n_groups x code_stride bytes, code_stride
 *                    = ceil(G*b/8). Code of element i of a group: bits
 *                    [(i*b) % 8, +b) of byte (i*b) / 8 of that group's codes
 *                    (4-bit: element 2j in the low nibble of byte j).
 *   esc_off          (16-aligned) escape_capacity slots of G raw elements.
 *   total            esc_off + escape_capacity * G * sizeof(element)
 *   Every group's metadata and codes sit at a fixed place, so any range of
 *   groups decodes on its own, and a GPU writes the buffer in one launch.
 *
 * ===== Numerics (per finite group) =========================================
 *   mn, mx = min, max of the group's real elements in fp32 (+0.0f is added
 *   to both so that -0.0 and +0.0 give the same bits whatever the order).
 *   min_s  = mn (exact: it is an element).
 *   s      = (mx - mn) / (2^b - 1) in fp32 (round to nearest even), then
 *            rounded TOWARD +INF to the dtype; for bf16 and f32 a non-zero s
 *            is first raised to FLT_MIN (2^-126). step_s is the result.
 *            Why upward: a step rounded down (a subnormal fp16 step can lose
 *            most of its value) would make (max - min)/step_s exceed 2^b - 1
 *            and clamp the top codes, breaking the error bound. Why the
 *            floor: 1/step_s must not overflow fp32. Computing s in fp32
 *            means a full-range fp16 group (-65504..65504) has a finite step
 *            (8733.9 at 4 bits): nothing overflows.
 *   inv    = 1.0f / step_s, or 0 when step_s == 0 (a constant group).
 *   q      = min(rint((x - min_s) * inv), 2^b - 1), fp32, half to even.
 *            (x - min_s >= 0 always, so no lower clamp is needed.)
 *   decode x' = fmaf(q, step_s, min_s), clamped to [-MAXFINITE, +MAXFINITE]
 *            of the dtype, then rounded to nearest even to the dtype.
 *            step_s == 0 decodes every element to min_s exactly (a group of
            -0.0 has min_s = +0.0: it decodes to +0.0, an equal value).
 *   Rounding mode: the CPU side assumes the default MXCSR (round to nearest).
 *
 * ===== Escapes =============================================================
 *   A group is escaped (kept raw, bit for bit, NaN payloads included) when it
 *   holds a NaN or +-Inf, or when mx - mn overflows fp32 (bf16/f32 groups
 *   spanning more than 3.4e38). Its metadata step is all ones (a NaN: no
 *   finite group can have it) and its slot number is stored in the group:
 *     f16/bf16: slot bits 0..15 in the min field, bits 16..31 in the first
 *               two code bytes (every group has at least 2 code bytes);
 *     f32:      the min field holds the slot.
 *   The slot comes from the header's escape_count, incremented atomically
 *   (the GPU assigns slots in no particular order; the CPU in group order).
 *   A slot < escape_capacity receives the group's real elements; otherwise
 *   the encoder sets `overflow`, and the buffer is NOT exactly decodable:
 *   the CPU decoder returns GQ_ERR_OVERFLOW (and writes nothing), the GPU
 *   decoder writes the dtype's quiet NaN for such groups; a caller reads the
 *   header's overflow word after the quantize has completed and keeps the
 *   data another way when it is set.
 *   Capacity trade-off: each slot costs G elements of storage whether used
 *   or not; gq_default_escape_capacity() reserves 1/128 of the groups
 *   (+0.8% of the raw size at 4 bits, G=64, f16) plus 8.
 *
 * ===== The error bound =====================================================
 *   For every finite element x of a non-escaped group (min_s == min here,
 *   ulp in the dtype):
 *       |x' - x| <= step_s / 2 + |min_s - min| + ulp(x') + 2^(b-22) * step_s
 *   The first three terms are the bound for data of a realistic range. The last (3.8e-6 step_s at
 *   4 bits) is what evaluating the code in fp32 costs: x - min_s and 1/step_s
 *   are rounded, so an element a hair above a half-step can round down. It
 *   exceeds ulp(x') only when x' is tiny next to the step, i.e. when the
 *   group spans more than 2^24 in magnitude around its min (found by the
 *   fuzzer: a bf16 group with min -131072 and an element 2^65). Data of a
 *   realistic dynamic range meets the three-term bound; the unit tests assert
 *   it, the fuzzer asserts this one. Escaped groups decode exactly.
 *
 * ===== CPU / GPU agreement =================================================
 *   The CPU codec (scalar and SIMD paths) and the CUDA kernels produce
 *   identical metadata, codes and decoded values for every input; the only
 *   difference allowed is the order in which escaped groups take their
 *   slots (so the slot numbers and escape-area order when more than one
 *   group escapes). Both compute through the GQ_HD functions of gq_group.h.
 *
 * ===== Alignment ===========================================================
 *   Tensors must be aligned to their element size; compressed buffers to 16.
 */
#ifndef GQ_FORMAT_H
#define GQ_FORMAT_H

#include "gq_hd.h"

#define GQ_MAGIC 0x315a5147u /* "GQZ1" */
#define GQ_VERSION 1u
#define GQ_HEADER_SIZE 64u
#define GQ_GROUP_MIN 8u
#define GQ_GROUP_MAX 1024u

enum gq_dtype { GQ_F16 = 1, GQ_BF16 = 2, GQ_F32 = 3 };
enum gq_axis { GQ_DIM_LAST = 0, GQ_DIM_0 = 1 };

/* Status codes: 0 is success, errors are negative. */
enum gq_status {
    GQ_OK = 0,
    GQ_ERR_PARAM = -1,    /* bits/group/dtype/axis/cols invalid for n_elems */
    GQ_ERR_SIZE = -2,     /* a buffer is smaller than the layout needs */
    GQ_ERR_ALIGN = -3,    /* a pointer breaks the alignment contract */
    GQ_ERR_CORRUPT = -4,  /* header or escape slot inconsistent */
    GQ_ERR_OVERFLOW = -5, /* more groups escaped than escape_capacity */
    GQ_ERR_RANGE = -6,    /* element or group range outside the tensor */
};

struct gq_params {
    uint32_t bits;  /* 2, 4 or 8 */
    uint32_t group; /* G */
    uint32_t dtype; /* enum gq_dtype */
    uint32_t axis;  /* enum gq_axis */
    uint64_t cols;  /* C for GQ_DIM_0; ignored (0) for GQ_DIM_LAST */
};

/* The first 64 bytes of a compressed buffer. */
struct gq_header {
    uint32_t magic;           /* GQ_MAGIC */
    uint8_t version;          /* GQ_VERSION */
    uint8_t bits;
    uint8_t dtype;
    uint8_t axis;
    uint32_t group;
    uint32_t escape_capacity; /* slots in the escape area */
    uint64_t n_elems;
    uint64_t cols;            /* 0 for GQ_DIM_LAST */
    /* Written by the encoder with atomics. These three words must be zero
     * before a GPU quantize starts (the kernel writes every other header
     * field). */
    uint32_t escape_count;    /* groups that escaped; may exceed the capacity */
    uint32_t overflow;        /* non-zero: an escaped group found no slot */
    /* GPU quantize only (the CPU encoder writes 0): groups that did not look
     * like floats of `dtype` (kernels/gq_dtype.h). Past the limit there the
     * kernel also sets `overflow`: the block is not used, the data goes raw. */
    uint32_t foreign;
    uint8_t reserved[20];     /* zero */
};
#define GQ_HDR_ESCAPE_COUNT_OFF 32u /* escape_count, overflow, foreign */
#define GQ_HDR_FOREIGN_OFF 40u
#define GQ_HDR_ZEROED_BYTES 12u     /* from GQ_HDR_ESCAPE_COUNT_OFF: zero before a GPU quantize */

/* Where everything is, for given parameters (computed, never stored). */
struct gq_layout {
    uint64_t n_elems;
    uint64_t rows;         /* GQ_DIM_0: R; GQ_DIM_LAST: n_elems */
    uint64_t cols;         /* GQ_DIM_0: C; GQ_DIM_LAST: 1 */
    uint64_t n_groups;
    uint32_t esize;        /* bytes per element: 2 or 4 */
    uint32_t meta_size;    /* bytes per group of metadata: 2 * esize */
    uint32_t code_stride;  /* bytes of codes per group */
    uint32_t escape_capacity;
    uint64_t meta_off, code_off, esc_off, total;
};

GQ_HD uint64_t gq_align16(uint64_t x)
{
    return (x + 15u) & ~(uint64_t)15u;
}

GQ_HD uint32_t gq_dtype_size(uint32_t dtype)
{
    return dtype == GQ_F32 ? 4u : (dtype == GQ_F16 || dtype == GQ_BF16) ? 2u : 0u;
}

/* GQ_OK when the parameters are valid for a tensor of n_elems elements. */
GQ_HD int gq_params_check(const struct gq_params *p, uint64_t n_elems)
{
    if (p->bits != 2 && p->bits != 4 && p->bits != 8)
        return GQ_ERR_PARAM;
    if (p->group < GQ_GROUP_MIN || p->group > GQ_GROUP_MAX || (p->group & 1u))
        return GQ_ERR_PARAM;
    if (gq_dtype_size(p->dtype) == 0)
        return GQ_ERR_PARAM;
    if (p->axis == GQ_DIM_0) {
        if (p->cols == 0 || n_elems % p->cols != 0)
            return GQ_ERR_PARAM;
    } else if (p->axis != GQ_DIM_LAST) {
        return GQ_ERR_PARAM;
    }
    if (n_elems > ((uint64_t)1 << 52)) /* keeps every offset far from overflow */
        return GQ_ERR_PARAM;
    return GQ_OK;
}

/* Fills *l; returns GQ_OK or GQ_ERR_PARAM. */
GQ_HD int gq_layout_init(struct gq_layout *l, const struct gq_params *p, uint64_t n_elems,
                         uint32_t escape_capacity)
{
    int rc = gq_params_check(p, n_elems);
    if (rc != GQ_OK)
        return rc;
    l->n_elems = n_elems;
    if (p->axis == GQ_DIM_0) {
        l->cols = p->cols;
        l->rows = n_elems / p->cols;
    } else {
        l->cols = 1;
        l->rows = n_elems;
    }
    l->n_groups = (l->rows + p->group - 1) / p->group * l->cols;
    l->esize = gq_dtype_size(p->dtype);
    l->meta_size = 2u * l->esize;
    l->code_stride = (p->group * p->bits + 7u) / 8u;
    l->escape_capacity = escape_capacity;
    l->meta_off = GQ_HEADER_SIZE;
    l->code_off = gq_align16(l->meta_off + l->n_groups * l->meta_size);
    l->esc_off = gq_align16(l->code_off + l->n_groups * l->code_stride);
    l->total = l->esc_off + (uint64_t)escape_capacity * p->group * l->esize;
    return GQ_OK;
}

/* Bytes of a compressed buffer for these parameters; 0 when they are invalid. */
GQ_HD size_t gq_compressed_size(const struct gq_params *p, uint64_t n_elems, uint32_t escape_capacity)
{
    struct gq_layout l;
    if (gq_layout_init(&l, p, n_elems, escape_capacity) != GQ_OK)
        return 0;
    return (size_t)l.total;
}

/* A capacity for data that is expected to be finite: 1/128 of the groups
 * plus 8, never more than the number of groups. A tensor with more escaped
 * groups than this overflows (reported, never decoded wrongly). */
GQ_HD uint32_t gq_default_escape_capacity(const struct gq_params *p, uint64_t n_elems)
{
    struct gq_layout l;
    uint64_t cap;
    if (gq_layout_init(&l, p, n_elems, 0) != GQ_OK)
        return 0;
    cap = l.n_groups / 128u + 8u;
    if (cap > l.n_groups)
        cap = l.n_groups;
    return cap > 0xffffffffu ? 0xffffffffu : (uint32_t)cap;
}

/* Group g's first element, the distance between its elements, its length. */
GQ_HD uint64_t gq_group_first(const struct gq_layout *l, uint32_t group, uint64_t g)
{
    uint64_t rb = g / l->cols, c = g % l->cols;
    return rb * group * l->cols + c;
}

GQ_HD uint32_t gq_group_len(const struct gq_layout *l, uint32_t group, uint64_t g)
{
    uint64_t r0 = g / l->cols * group;
    uint64_t left = l->rows - r0;
    return left < group ? (uint32_t)left : group;
}

/* The group holding element e, and e's index inside it. */
GQ_HD uint64_t gq_elem_group(const struct gq_layout *l, uint32_t group, uint64_t e, uint32_t *index)
{
    uint64_t r = e / l->cols, c = e % l->cols;
    *index = (uint32_t)(r % group);
    return r / group * l->cols + c;
}

/* The groups [*g0, *g1) that hold elements [e0, e1) (e0 < e1 <= n_elems).
 * GQ_DIM_0: whole row-blocks, since a row range touches every column. */
GQ_HD void gq_groups_covering(const struct gq_layout *l, uint32_t group, uint64_t e0, uint64_t e1,
                              uint64_t *g0, uint64_t *g1)
{
    uint64_t r0 = e0 / l->cols, r1 = (e1 - 1) / l->cols;
    if (l->cols == 1) {
        *g0 = r0 / group;
        *g1 = r1 / group + 1;
    } else {
        *g0 = r0 / group * l->cols;
        *g1 = (r1 / group + 1) * l->cols;
    }
}

#endif

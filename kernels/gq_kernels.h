/*
 * gq_kernels.h — the CUDA kernels of the codec, as the shim launches them
 * through the driver API (cuModuleLoadData(gq_kernel_image) once per
 * context, cuModuleGetFunction, cuLaunchKernel).
 *
 * Kernels (extern "C" names in the image):
 *   "gq_quantize"    one parameter: struct gq_quant_params, by value
 *   "gq_dequantize"  one parameter: struct gq_dequant_params, by value
 *   "gq_verify"      one parameter: struct gq_verify_params, by value
 *   "gq_spill"       one parameter: struct gq_spill_params, by value
 * Each is one launch per copy, grid-stride (any grid is correct), no host
 * synchronisation; pointers may be device memory or mapped pinned host
 * memory (device addresses from cuMemHostGetDevicePointer). gq_quantize,
 * gq_dequantize and gq_verify work in warp tiles (dim=last, kernels/gq_tile.h)
 * or block tiles with 24 KiB of static shared memory (dim=0,
 * kernels/gq_tile0.h) when the block is whole warps and at most GQ_BLOCK
 * threads; otherwise one thread per group or work item.
 *
 * Launch configuration: block (GQ_BLOCK, 1, 1); grid (gq_launch_grid(items),
 * 1, 1), items from gq_quant_items() / gq_dequant_items(). Any grid is
 * correct (grid-stride loops); this one is what the kernels are tuned for.
 * gq_quantize is compiled for blocks of at most GQ_BLOCK threads
 * (__launch_bounds__: a larger block fails to launch on the GPU).
 * Dynamic shared memory 0. Pass the struct in kernelParams ({&params}) or in `extra`
 * with CU_LAUNCH_PARAM_BUFFER_SIZE == sizeof the struct.
 *
 * gq_quantize writes the whole compressed buffer: header (all but the
 * escape and foreign words), metadata, codes, escapes. BEFORE the launch, on
 * the same stream, the GQ_HDR_ZEROED_BYTES (12) bytes at dst +
 * GQ_HDR_ESCAPE_COUNT_OFF must be zero: cuMemsetD32Async(dst +
 * GQ_HDR_ESCAPE_COUNT_OFF, 0, 3, stream), or a CPU store into a pinned
 * buffer nothing else is using. After the launch has completed, the header's
 * `overflow` word says whether the buffer is exactly decodable (gq_format.h,
 * Escapes); it is also set when too many groups did not look like the dtype
 * (`foreign` past gq_dtype_foreign_limit(), kernels/gq_dtype.h): the data is
 * then not what the rule says it is, and must travel raw. Padding bytes and unused escape slots are
 * not written (the CPU encoder zeroes them): compare buffers through decode
 * or through the metadata and code areas.
 *
 * gq_dequantize writes elements [e0, e1) of the tensor to dst (dst[0] =
 * element e0), reading only the groups holding them, so a restore of any
 * sub-range (a partial copy that starts or ends inside a group) is one
 * launch. A group lost to escape overflow decodes to the dtype's quiet NaN.
 */
#ifndef GQ_KERNELS_H
#define GQ_KERNELS_H

#include "gq_format.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GQ_QUANT_MAGIC 0x54514751u   /* "QGQT" */
#define GQ_DEQUANT_MAGIC 0x44514751u /* "QGQD" */
#define GQ_VERIFY_MAGIC 0x56514751u  /* "QGQV" */
#define GQ_BLOCK 256u

struct gq_quant_params {
    uint32_t magic; /* GQ_QUANT_MAGIC */
    uint32_t bits, group, dtype, axis;
    uint32_t escape_capacity;
    uint64_t cols;    /* GQ_DIM_0: C; else 0 */
    uint64_t n_elems;
    const void *src;  /* the tensor, element-aligned */
    void *dst;        /* the compressed buffer, 16-aligned, gq_compressed_size() bytes */
};

struct gq_dequant_params {
    uint32_t magic; /* GQ_DEQUANT_MAGIC */
    uint32_t bits, group, dtype, axis;
    uint32_t escape_capacity;
    uint64_t cols;
    uint64_t n_elems;     /* of the whole tensor */
    uint64_t e0, e1;      /* elements to write */
    uint64_t g_base;      /* the group that meta and codes start at */
    const void *meta;     /* metadata of group g_base (buffer + meta_off + g_base*meta_size) */
    const void *codes;    /* codes of group g_base (buffer + code_off + g_base*code_stride) */
    const void *esc;      /* escape slot 0 (buffer + esc_off) */
    void *dst;            /* element e goes to dst[e - e0]; element-aligned */
};

#define GQ_SPILL_MAGIC 0x53514751u /* "QGQS" */
#define GQ_SPILL_BLOCKS 64u        /* the grid the shim launches gq_spill with */

/* "gq_spill": when the header of the block at `block` says overflow, copy
 * `bytes` from src to dst; otherwise nothing. Launched right after a
 * gq_quantize on the same stream, with (GQ_SPILL_BLOCKS, GQ_BLOCK). */
struct gq_spill_params {
    uint32_t magic; /* GQ_SPILL_MAGIC */
    uint32_t reserved;
    uint64_t bytes;
    const void *block; /* the compressed buffer the quantize wrote */
    const void *src;   /* the tensor the quantize read */
    void *dst;         /* where the raw tensor goes on overflow */
};

/* gq_verify (GQSHIM_VERIFY=1): after gq_quantize in stream order, compare
 * each element of the tensor with what the compressed buffer decodes it to
 * and add the error into *out. It decodes through gq_dequantize's tiles;
 * each block adds its sums into *out once (four atomics: put *out in device
 * memory and copy the 32 bytes back). Grid and block as for gq_quantize
 * (items from gq_verify_items()). Elements that are NaN or +-Inf
 * in the source are not counted (their groups are kept raw, exactly). When
 * the buffer's header says overflow, only out->overflow is set (to 1).
 * *out must be zero before the launch; several launches may add into the
 * same result. Accumulation order is the hardware's: sums agree with a CPU
 * reference to rounding, max_abs_bits exactly. */
struct gq_verify_result {
    double sum_sq_err;     /* sum of (decoded - x)^2 over the counted elements */
    double sum_sq;         /* sum of x^2 over the same elements */
    uint64_t n_counted;    /* elements counted (finite in the source) */
    uint32_t max_abs_bits; /* the largest |decoded - x|, as float bits (a
                              non-negative float's bits order as its value) */
    uint32_t overflow;     /* 1: the buffer's escapes overflowed; nothing counted */
};

struct gq_verify_params {
    uint32_t magic; /* GQ_VERIFY_MAGIC */
    uint32_t bits, group, dtype, axis;
    uint32_t escape_capacity;
    uint64_t cols;
    uint64_t n_elems;
    const void *src;               /* the tensor gq_quantize read */
    const void *buf;               /* the compressed buffer it wrote */
    struct gq_verify_result *out;  /* 8-aligned */
};

/* Fill a parameter struct for a whole buffer at `buf` (device address).
 * GQ_OK or GQ_ERR_PARAM / GQ_ERR_RANGE. The dequantize struct may then be
 * re-pointed at a copy holding only groups [g_base, ...) of the buffer
 * (gq_groups_covering() tells which), with the escape area alongside. */
int gq_quant_params_init(struct gq_quant_params *k, const struct gq_params *p, uint64_t n_elems,
                         uint32_t escape_capacity, const void *src, void *buf);
int gq_dequant_params_init(struct gq_dequant_params *k, const struct gq_params *p, uint64_t n_elems,
                           uint32_t escape_capacity, const void *buf, uint64_t e0, uint64_t e1,
                           void *dst);

int gq_verify_params_init(struct gq_verify_params *k, const struct gq_params *p, uint64_t n_elems,
                          uint32_t escape_capacity, const void *src, const void *buf,
                          struct gq_verify_result *out);

/* Work items of a launch, and the grid for them. */
uint64_t gq_quant_items(const struct gq_quant_params *k);
uint64_t gq_verify_items(const struct gq_verify_params *k);
uint64_t gq_dequant_items(const struct gq_dequant_params *k);
unsigned gq_launch_grid(uint64_t items);

/* The shape kernels/gq_fast.h takes where the alignment allows (GQ_DIM_LAST,
 * 4 bits, groups of GQ_FAST_G 16-bit elements): nearly every tensor the
 * shim sees. Shared by the kernels and gq_dequant_items(). */
#define GQ_FAST_G 64u
GQ_HD int gq_fast_params(uint32_t axis, uint32_t bits, uint32_t group, uint32_t dtype)
{
    return axis == GQ_DIM_LAST && bits == 4u && group == GQ_FAST_G && (dtype == GQ_F16 || dtype == GQ_BF16);
}

/* Elements one dequantize work item covers (GQ_DIM_LAST: 8 when G % 8 == 0,
 * else 2; GQ_DIM_0: 1). Shared by the kernel and gq_dequant_items(). */
GQ_HD uint32_t gq_dequant_unit(uint32_t axis, uint32_t group)
{
    return axis == GQ_DIM_0 ? 1u : (group % 8u == 0 ? 8u : 2u);
}

/* The embedded fatbin (SASS sm_80, sm_90; PTX compute_90), for cuModuleLoadData. */
extern const unsigned char gq_kernel_image[];
extern const size_t gq_kernel_image_size;

#ifdef __cplusplus
}
#endif
#endif

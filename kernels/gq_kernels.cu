/*
 * gq_kernels.cu — quantize and dequantize on the GPU (nvcc, into the fatbin)
 * and the very same text as C for cudasim (gcc -x c -DGQ_EMU). The per-group
 * work is gq_group.h's, shared with the CPU codec; this file only maps
 * threads to groups and elements. Launch contract: gq_kernels.h. Memory is
 * reached only through gq_dev.h's primitives (cudasim translates and models
 * each access; a plain dereference of a device address faults there).
 */
#ifdef GQ_EMU
#include "gq_cuda_compat.h"
#else
#define GQ_KERNEL_LINKAGE extern "C"
#endif

#include "gq_dtype.h"
#include "gq_group.h"
#include "gq_kernels.h"
#include "gq_tile.h"
#include "gq_fast.h"
#include "gq_tile0.h"

/* Global thread index and grid size, as 64-bit. */
static __device__ __forceinline__ uint64_t gq_tid(void)
{
    return (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
}

static __device__ __forceinline__ uint64_t gq_nthreads(void)
{
    return (uint64_t)gridDim.x * blockDim.x;
}

/* The tiles (GQ_DIM_LAST: gq_tile.h, warp tiles; GQ_DIM_0: gq_tile0.h,
 * block tiles through shared memory) when the block is whole warps and the
 * shape allows (the usual case). Otherwise one thread per group: the group
 * is read twice (min/max, then codes), and once more by the dtype check. */
static __device__ __forceinline__ int gq_tiles_fit(void)
{
    return blockDim.x % 32u == 0 && blockDim.x <= GQ_BLOCK && blockDim.y == 1 && blockDim.z == 1;
}

/* The paths are separate functions (__noinline__): inlined into one body,
 * nvcc allocates registers for all of them at once (140 a thread, one
 * block an SM); apart, and bounded to 3 blocks of GQ_BLOCK threads an SM,
 * 80 registers, a few bytes of spills (ptxas -v, sm_90; the fast path,
 * gq_fast.h: none for f16, 8 bytes for bf16). Bounded to 2 blocks instead (121
 * registers), dim=0 offloads lost a third of their speed on an H200
 * (tests/gpu/RESULTS.md, second run). */
GQ_KERNEL_LINKAGE __global__ void __launch_bounds__(GQ_BLOCK, 3) gq_quantize(struct gq_quant_params k)
{
    struct gq_params p;
    struct gq_enc_ctx c;
    struct gq_header *h = (struct gq_header *)k.dst;
    uint64_t g, n = gq_nthreads();

    p.bits = k.bits;
    p.group = k.group;
    p.dtype = k.dtype;
    p.axis = k.axis;
    p.cols = k.cols;
    if (k.magic != GQ_QUANT_MAGIC || gq_layout_init(&c.l, &p, k.n_elems, k.escape_capacity) != GQ_OK)
        return;
    c.bits = k.bits;
    c.group = k.group;
    c.dtype = k.dtype;
    c.src = k.src;
    c.meta = (uint8_t *)k.dst + c.l.meta_off;
    c.codes = (uint8_t *)k.dst + c.l.code_off;
    c.esc = (uint8_t *)k.dst + c.l.esc_off;
    c.esc_count = &h->escape_count;
    c.overflow = &h->overflow;
    if (gq_tid() == 0) {
        uint32_t i;
        gq_store32(&h->magic, GQ_MAGIC);
        gq_store8(&h->version, GQ_VERSION);
        gq_store8(&h->bits, (uint8_t)k.bits);
        gq_store8(&h->dtype, (uint8_t)k.dtype);
        gq_store8(&h->axis, (uint8_t)k.axis);
        gq_store32(&h->group, k.group);
        gq_store32(&h->escape_capacity, k.escape_capacity);
        gq_store64(&h->n_elems, k.n_elems);
        gq_store64(&h->cols, k.axis == GQ_DIM_0 ? k.cols : 0);
        for (i = 0; i < sizeof h->reserved; i++)
            gq_store8(&h->reserved[i], 0);
    }
    /* The dtype check (kernels/gq_dtype.h) runs on the values each path
     * has loaded to encode them; gq_dtype_fold adds the lanes' counts of
     * foreign groups, and past the limit marks the block overflowed. */
    uint32_t foreign = 0;
    {
        struct gq_tshape s;
        struct gq_d0shape s0;
        if (k.axis == GQ_DIM_LAST && gq_tiles_fit() && ((uintptr_t)k.dst & 15u) == 0 &&
            gq_tshape_init(&s, k.group, c.l.esize, k.bits, (uintptr_t)k.src)) {
            uint64_t t0 = 0; /* whole tiles done by gq_fast.h's code; the rest by gq_tile.h's */
            if (gq_fast_shape(k.bits, k.group, k.dtype, &s)) {
                t0 = gq_fast_tiles(c.l.n_elems);
                foreign = k.dtype == GQ_F16 ? gq_quantize_fast_f16(&c, t0) : gq_quantize_fast_bf16(&c, t0);
            }
            foreign += gq_quantize_tiled(&c, &s, t0);
        } else if (k.axis == GQ_DIM_0 && gq_tiles_fit() && ((uintptr_t)k.dst & 15u) == 0 &&
                   gq_d0_quant_shape(&s0, &c.l, k.group, blockDim.x, (uintptr_t)k.src)) {
            foreign = gq_quantize_dim0(&c, &s0);
        } else {
            /* one thread per group: the group is read again for the check */
            for (g = gq_tid(); g < c.l.n_groups; g += n) {
                gq_group_encode(&c, g);
                foreign += (uint32_t)gq_dtype_group_foreign(&c.l, c.group, c.dtype, c.src, g);
            }
        }
    }
    gq_dtype_fold(h, foreign, c.l.n_groups);
}

/* Writes the values of one work item: vector stores when the item is whole
 * and 16-aligned, else one element at a time. */
static __device__ __forceinline__ void gq_store_item(void *dst, uint64_t idx, uint32_t dtype,
                                                     struct gq_u32x4 v, struct gq_u32x4 v2, uint32_t cnt,
                                                     int whole)
{
    uint32_t j, es = gq_dtype_size(dtype), per = 16u / es; /* elements of a vector */
    if (whole && cnt == 8) {
        if (dtype == GQ_F32 && ((uintptr_t)((uint32_t *)dst + idx) & 15u) == 0) {
            gq_store128((uint32_t *)dst + idx, v);
            gq_store128((uint32_t *)dst + idx + 4, v2);
            return;
        }
        if (dtype != GQ_F32 && ((uintptr_t)((uint16_t *)dst + idx) & 15u) == 0) {
            gq_store128((uint16_t *)dst + idx, v);
            return;
        }
    }
    GQ_UNROLL
    for (j = 0; j < 8; j++) /* a constant trip count: v and v2 stay in registers */
        if (j < cnt)
            gq_elem_put(dst, idx + j, dtype, j < per ? gq_chunk_elem(&v, j, es) : gq_chunk_elem(&v2, j - per, es));
}

/* One thread per work item of gq_dequant_unit() elements: GQ_DIM_LAST, 8
 * consecutive elements of one group (one 16-byte store of f16); GQ_DIM_0,
 * one element (adjacent threads write adjacent columns). */
GQ_KERNEL_LINKAGE __global__ void gq_dequantize(struct gq_dequant_params k)
{
    struct gq_params p;
    struct gq_dec_ctx c;
    uint32_t K = gq_dequant_unit(k.axis, k.group);
    uint64_t u, u0, u1, n = gq_nthreads();

    p.bits = k.bits;
    p.group = k.group;
    p.dtype = k.dtype;
    p.axis = k.axis;
    p.cols = k.cols;
    if (k.magic != GQ_DEQUANT_MAGIC || gq_layout_init(&c.l, &p, k.n_elems, k.escape_capacity) != GQ_OK ||
        k.e0 >= k.e1 || k.e1 > k.n_elems)
        return;
    c.bits = k.bits;
    c.group = k.group;
    c.dtype = k.dtype;
    c.meta = (const uint8_t *)k.meta;
    c.codes = (const uint8_t *)k.codes;
    c.esc = (const uint8_t *)k.esc;
    c.g_base = k.g_base;
    {
        struct gq_tshape s;
        if (k.axis == GQ_DIM_LAST && gq_tiles_fit() &&
            gq_tshape_init(&s, k.group, c.l.esize, k.bits, (uintptr_t)k.esc) &&
            ((uintptr_t)k.meta & 3u) == 0 && ((uintptr_t)k.codes & (s.CB - 1u)) == 0) {
            if (gq_fast_shape(k.bits, k.group, k.dtype, &s) &&
                (((uintptr_t)k.dst - k.e0 * c.l.esize) & 15u) == 0)
                gq_dequantize_fast(&k, &c, &s);
            else
                gq_dequantize_tiled(&k, &c, &s, NULL, NULL);
            return;
        }
        struct gq_d0shape s0;
        if (k.axis == GQ_DIM_0 && gq_tiles_fit() && (((uintptr_t)k.codes | (uintptr_t)k.meta) & 3u) == 0 &&
            gq_d0_dec_shape(&s0, &c.l, blockDim.x)) {
            gq_dequantize_dim0(&k, &c, &s0, NULL, NULL);
            return;
        }
    }
    u0 = k.e0 / K;
    u1 = (k.e1 + K - 1) / K;
    for (u = u0 + gq_tid(); u < u1; u += n) {
        uint64_t e = u * K, lo = e < k.e0 ? k.e0 : e, hi = e + K > k.e1 ? k.e1 : e + K;
        uint32_t idx, j, es = c.l.esize;
        uint64_t g = gq_elem_group(&c.l, k.group, lo, &idx);
        struct gq_gdec d;
        struct gq_u32x4 v = {0, 0, 0, 0}, v2 = {0, 0, 0, 0}; /* registers, not a local array */
        gq_group_resolve(&c, g, &d);
        GQ_UNROLL
        for (j = 0; j < 8; j++)
            if (j < hi - lo && j < 16u / es)
                gq_chunk_set(&v, j, es, gq_group_elem(&c, &d, idx + j));
            else if (j < hi - lo)
                gq_chunk_set(&v2, j - 16u / es, es, gq_group_elem(&c, &d, idx + j));
        gq_store_item(k.dst, lo - k.e0, k.dtype, v, v2, (uint32_t)(hi - lo), hi - lo == K);
    }
}

/* After a quantize, in stream order: when escapes overflowed the block, the
 * raw tensor goes straight to the destination instead (mapped host memory),
 * so an asynchronous offload stays exact without the host waiting. When
 * nothing overflowed (the usual case) every thread reads one word and
 * leaves. */
GQ_KERNEL_LINKAGE __global__ void gq_spill(struct gq_spill_params k)
{
    uint64_t i, n = gq_nthreads();
    if (gq_load32((const uint8_t *)k.block + GQ_HDR_ESCAPE_COUNT_OFF + 4) == 0)
        return;
    if (((uintptr_t)k.src | (uintptr_t)k.dst | k.bytes) % 16 == 0) {
        for (i = gq_tid(); i < k.bytes / 16; i += n)
            gq_store128((uint8_t *)k.dst + 16 * i, gq_load_ro128((const uint8_t *)k.src + 16 * i));
    } else if (((uintptr_t)k.src | (uintptr_t)k.dst | k.bytes) % 8 == 0) {
        for (i = gq_tid(); i < k.bytes / 8; i += n)
            gq_store64((uint64_t *)k.dst + i, gq_load64((const uint64_t *)k.src + i));
    } else {
        for (i = gq_tid(); i < k.bytes; i += n)
            gq_store8((uint8_t *)k.dst + i, gq_load8((const uint8_t *)k.src + i));
    }
}

/* One partial sum into *out: four atomics (nothing when it counted none). */
static __device__ __forceinline__ void gq_verify_add(struct gq_verify_result *out, double sse, double ss,
                                                    unsigned long long cnt, uint32_t max_bits)
{
    if (cnt == 0)
        return;
    atomicAdd(&out->sum_sq_err, sse);
    atomicAdd(&out->sum_sq, ss);
    atomicAdd((unsigned long long *)&out->n_counted, cnt);
    atomicMax(&out->max_abs_bits, max_bits);
}

/* Adds a thread's partial error into *out: a block sums its threads'
 * partials (shuffles within each warp, then shared memory), and one thread
 * adds the block's with four atomics. Every thread of the block calls it. A
 * block that is not whole warps has each thread add its own. */
static __device__ __forceinline__ void gq_verify_fold(struct gq_verify_result *out, const struct gq_vacc *a)
{
    GQ_SHARED(unsigned long long, parts, 4u * 32u); /* per warp: sse, ss, count, max bits */
    const uint32_t nthreads = blockDim.x * blockDim.y * blockDim.z, t = gq_thread_linear();
    double sse = a->sse, ss = a->ss;
    unsigned long long cnt = a->n;
    uint32_t max_bits = gq_f32_bits(a->mx), w;
    unsigned o;
    if (nthreads % 32u != 0) {
        gq_verify_add(out, sse, ss, cnt, max_bits);
        return;
    }
    for (o = 16; o > 0; o >>= 1) {
        uint32_t m;
        sse += __shfl_down_sync(0xffffffffu, sse, o);
        ss += __shfl_down_sync(0xffffffffu, ss, o);
        cnt += __shfl_down_sync(0xffffffffu, cnt, o);
        m = __shfl_down_sync(0xffffffffu, max_bits, o);
        max_bits = m > max_bits ? m : max_bits;
    }
    if ((t & 31u) == 0) {
        gq_store64(parts + t / 8u, gq_f64_bits(sse));
        gq_store64(parts + t / 8u + 1u, gq_f64_bits(ss));
        gq_store64(parts + t / 8u + 2u, cnt);
        gq_store64(parts + t / 8u + 3u, max_bits);
    }
    __syncthreads();
    if (t != 0)
        return;
    for (w = 1; w < nthreads / 32u; w++) {
        uint32_t m = (uint32_t)gq_load64(parts + 4u * w + 3u);
        sse += gq_bits_f64(gq_load64(parts + 4u * w));
        ss += gq_bits_f64(gq_load64(parts + 4u * w + 1u));
        cnt += gq_load64(parts + 4u * w + 2u);
        max_bits = m > max_bits ? m : max_bits;
    }
    gq_verify_add(out, sse, ss, cnt, max_bits);
}

/* Decodes the buffer as gq_dequantize would (its tiles, the whole tensor)
 * and compares each element with the source instead of storing it. */
GQ_KERNEL_LINKAGE __global__ void gq_verify(struct gq_verify_params k)
{
    struct gq_params p;
    struct gq_dec_ctx c;
    struct gq_dequant_params d;
    struct gq_tshape s;
    struct gq_d0shape s0;
    struct gq_vacc a = {0.0, 0.0, 0, 0.0f};
    const struct gq_header *h = (const struct gq_header *)k.buf;
    uint64_t g, n = gq_nthreads();

    p.bits = k.bits;
    p.group = k.group;
    p.dtype = k.dtype;
    p.axis = k.axis;
    p.cols = k.cols;
    if (k.magic != GQ_VERIFY_MAGIC || gq_layout_init(&c.l, &p, k.n_elems, k.escape_capacity) != GQ_OK ||
        k.n_elems == 0)
        return;
    if (gq_load32(&h->overflow)) {
        if (gq_tid() == 0)
            gq_store32(&k.out->overflow, 1);
        return;
    }
    c.bits = k.bits;
    c.group = k.group;
    c.dtype = k.dtype;
    c.meta = (const uint8_t *)k.buf + c.l.meta_off;
    c.codes = (const uint8_t *)k.buf + c.l.code_off;
    c.esc = (const uint8_t *)k.buf + c.l.esc_off;
    c.g_base = 0;
    d.magic = GQ_DEQUANT_MAGIC;
    d.bits = k.bits;
    d.group = k.group;
    d.dtype = k.dtype;
    d.axis = k.axis;
    d.escape_capacity = k.escape_capacity;
    d.cols = k.cols;
    d.n_elems = k.n_elems;
    d.e0 = 0;
    d.e1 = k.n_elems;
    d.g_base = 0;
    d.meta = c.meta;
    d.codes = c.codes;
    d.esc = c.esc;
    d.dst = NULL;
    if (k.axis == GQ_DIM_LAST && gq_tiles_fit() && ((uintptr_t)k.buf & 15u) == 0 &&
        gq_tshape_init(&s, k.group, c.l.esize, k.bits, (uintptr_t)c.esc)) {
        gq_dequantize_tiled(&d, &c, &s, k.src, &a);
    } else if (k.axis == GQ_DIM_0 && gq_tiles_fit() && ((uintptr_t)k.buf & 15u) == 0 &&
               gq_d0_dec_shape(&s0, &c.l, blockDim.x)) {
        gq_dequantize_dim0(&d, &c, &s0, k.src, &a);
    } else {
        for (g = gq_tid(); g < c.l.n_groups; g += n) {
            uint64_t first = gq_group_first(&c.l, k.group, g), stride = c.l.cols;
            uint32_t len = gq_group_len(&c.l, k.group, g), i;
            struct gq_gdec gd;
            gq_group_resolve(&c, g, &gd);
            for (i = 0; i < len; i++)
                gq_vacc_add(&a, gq_elem_raw(k.src, first + i * stride, k.dtype), gq_group_elem(&c, &gd, i),
                            k.dtype);
        }
    }
    gq_verify_fold(k.out, &a);
}

#ifdef GQ_EMU
/* ---- the table cudasim launches from (gq_emu.h) ---- */

static void gq_quantize_entry(const void *params)
{
    gq_quantize(*(const struct gq_quant_params *)params);
}

static void gq_dequantize_entry(const void *params)
{
    gq_dequantize(*(const struct gq_dequant_params *)params);
}

static void gq_spill_entry(const void *params)
{
    gq_spill(*(const struct gq_spill_params *)params);
}

static void gq_verify_entry(const void *params)
{
    gq_verify(*(const struct gq_verify_params *)params);
}

static const struct gq_emu_kernel gq_emu_kernels[] = {
    {"gq_spill", sizeof(struct gq_spill_params), GQ_SPILL_MAGIC, 3,
     {offsetof(struct gq_spill_params, block), offsetof(struct gq_spill_params, src),
      offsetof(struct gq_spill_params, dst)},
     gq_spill_entry},
    {"gq_quantize", sizeof(struct gq_quant_params), GQ_QUANT_MAGIC, 2,
     {offsetof(struct gq_quant_params, src), offsetof(struct gq_quant_params, dst)},
     gq_quantize_entry},
    {"gq_dequantize", sizeof(struct gq_dequant_params), GQ_DEQUANT_MAGIC, 4,
     {offsetof(struct gq_dequant_params, meta), offsetof(struct gq_dequant_params, codes),
      offsetof(struct gq_dequant_params, esc), offsetof(struct gq_dequant_params, dst)},
     gq_dequantize_entry},
    {"gq_verify", sizeof(struct gq_verify_params), GQ_VERIFY_MAGIC, 3,
     {offsetof(struct gq_verify_params, src), offsetof(struct gq_verify_params, buf),
      offsetof(struct gq_verify_params, out)},
     gq_verify_entry},
};

const struct gq_emu_kernel *gq_emu_kernel_find(const char *name)
{
    size_t i;
    for (i = 0; i < sizeof gq_emu_kernels / sizeof gq_emu_kernels[0]; i++)
        if (strcmp(gq_emu_kernels[i].name, name) == 0)
            return &gq_emu_kernels[i];
    return NULL;
}
#endif

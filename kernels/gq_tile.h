/*
 * gq_tile.h — the tiled (cooperative) paths of gq_quantize, gq_dequantize
 * and gq_verify for GQ_DIM_LAST, included by gq_kernels.cu only. Shaped for
 * the GPU's memory system (judged by cudasim's memory-transaction model):
 *
 *   - a group is split into chunks of W bytes (16 when the group's bytes and
 *     the tensor's alignment allow, else 8 or 4); chunk c of a group is
 *     handled by lane c % L of the L lanes (a power of two) given to the
 *     group, so a warp's source loads and code stores cover whole sectors
 *     (fp16, G=64: 8 lanes per group, one 512-byte load per warp);
 *   - quantize loads each element once: a lane keeps its chunks in
 *     registers (up to GQ_TILE_HOLD) from the first pass (min, max, the
 *     dtype scan of gq_dtype.h) to the second (codes);
 *   - min and max are reduced across the group's lanes with shuffles; the
 *     lanes' dtype scans meet in shared memory (one __syncwarp a round);
 *   - a warp works on its own (no block barriers): metadata is gathered to
 *     (or handed out from) consecutive lanes by shuffles and stored (loaded)
 *     4 bytes a lane, whole sectors;
 *   - escapes take their slots with one atomic per warp (ballot, popc) and
 *     write their raw elements as W-byte vectors.
 *
 * The numerics are gq_group.h's, so the output is bit for bit the CPU
 * codec's (tests/unit/test_codec_emu.c holds them to it under the SIMT
 * executor). Configurations the tiles do not cover (W < 4, codes of a chunk
 * not whole bytes, odd alignment, blocks larger than GQ_BLOCK or not whole
 * warps) take the per-thread paths of gq_kernels.cu.
 */
#ifndef GQ_TILE_H
#define GQ_TILE_H

#include "gq_dtype.h"
#include "gq_group.h"
#include "gq_kernels.h"

/* How a group splits into chunks. */
struct gq_tshape {
    uint32_t W;  /* bytes of a chunk: 4, 8 or 16 */
    uint32_t E;  /* elements of a chunk */
    uint32_t C;  /* chunks of a group */
    uint32_t L;  /* lanes of a group: a power of two <= 32 */
    uint32_t CB; /* code bytes of a chunk: 1, 2, 4 or 8 */
};

/* The shape for groups of `group` elements of `esize` bytes whose chunks
 * must be aligned like `align`; 0 when the tiles do not apply. */
GQ_HD int gq_tshape_init(struct gq_tshape *s, uint32_t group, uint32_t esize, uint32_t bits,
                         uintptr_t align)
{
    uint32_t gb = group * esize, W = 16;
    while (W >= 4 && (gb % W != 0 || align % W != 0))
        W /= 2;
    if (W < 4 || (W / esize * bits) % 8 != 0)
        return 0;
    s->W = W;
    s->E = W / esize;
    s->C = gb / W;
    s->CB = s->E * bits / 8;
    s->L = 1;
    while (s->L < 32 && s->L < s->C)
        s->L *= 2;
    return 1;
}

/* Element e of a chunk held as words (no dynamic indexing: registers). */
GQ_HD uint32_t gq_chunk_elem(const struct gq_u32x4 *v, uint32_t e, uint32_t esize)
{
    uint32_t w = esize == 4 ? e : e / 2u;
    uint32_t word = w == 0 ? v->x : w == 1 ? v->y : w == 2 ? v->z : v->w;
    return esize == 4 ? word : (word >> (16u * (e & 1u))) & 0xffffu;
}

GQ_HD void gq_chunk_set(struct gq_u32x4 *v, uint32_t e, uint32_t esize, uint32_t raw)
{
    uint32_t w = esize == 4 ? e : e / 2u, sh = esize == 4 ? 0u : 16u * (e & 1u);
    uint32_t mask = esize == 4 ? 0xffffffffu : 0xffffu << sh;
    uint32_t bits = (raw << sh) & mask;
    if (w == 0)
        v->x = (v->x & ~mask) | bits;
    else if (w == 1)
        v->y = (v->y & ~mask) | bits;
    else if (w == 2)
        v->z = (v->z & ~mask) | bits;
    else
        v->w = (v->w & ~mask) | bits;
}

/* One chunk of W bytes in one access. */
GQ_HD struct gq_u32x4 gq_chunk_load(const void *p, uint32_t W)
{
    struct gq_u32x4 v = {0, 0, 0, 0};
    if (W == 16)
        return gq_load_ro128(p);
    if (W == 8) {
        uint64_t d = gq_load64(p);
        v.x = (uint32_t)d;
        v.y = (uint32_t)(d >> 32);
        return v;
    }
    v.x = gq_load_ro32(p);
    return v;
}

GQ_HD void gq_chunk_store(void *p, struct gq_u32x4 v, uint32_t W)
{
    if (W == 16)
        gq_store128(p, v);
    else if (W == 8)
        gq_store64(p, (uint64_t)v.x | ((uint64_t)v.y << 32));
    else
        gq_store32(p, v.x);
}

/* Chunk ch of a group of len real elements at gsrc: elements past len are 0. */
GQ_HD struct gq_u32x4 gq_chunk_get(const uint8_t *gsrc, uint32_t ch, uint32_t len,
                                   const struct gq_tshape *s, uint32_t dtype)
{
    struct gq_u32x4 v = {0, 0, 0, 0};
    uint32_t first = ch * s->E, e, es = gq_dtype_size(dtype);
    if (first + s->E <= len)
        return gq_chunk_load(gsrc + ch * s->W, s->W);
    for (e = 0; first + e < len; e++)
        gq_chunk_set(&v, e, es, gq_elem_raw(gsrc, first + e, dtype));
    return v;
}

/* CB code bytes (CB in 1, 2, 4, 8) in one access, little-endian. */
GQ_HD void gq_codes_store(uint8_t *p, uint64_t word, uint32_t CB)
{
    if (CB == 8)
        gq_store64(p, word);
    else if (CB == 4)
        gq_store32(p, (uint32_t)word);
    else if (CB == 2)
        gq_store16(p, (uint16_t)word);
    else
        gq_store8(p, (uint8_t)word);
}

GQ_HD uint64_t gq_codes_load(const uint8_t *p, uint32_t CB)
{
    return CB == 8 ? gq_load64(p) : CB == 4 ? gq_load_ro32(p) : CB == 2 ? gq_load_ro16(p) : gq_load_ro8(p);
}

/* Warp tiles: warp w of the grid takes tiles w, w + (warps of the grid), ...;
 * only warp collectives, so a warp runs its tiles without the rest of its
 * block (and cudasim keeps 32 fibers, not a block's). */
static __device__ __forceinline__ uint64_t gq_warp_id(void)
{
    return ((uint64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32u;
}

static __device__ __forceinline__ uint64_t gq_n_warps(void)
{
    return (uint64_t)gridDim.x * blockDim.x / 32u;
}

/* Chunks a lane keeps in registers from the first pass over its groups to
 * the second (min/max, then codes): with 16-byte chunks every f16/bf16
 * group up to 512 elements and every f32 group up to 256. A lane with more
 * chunks loads the others again (from cache on the GPU). A fixed count,
 * each index a constant after unrolling: the array stays in registers.
 * (4 would cover every group, at a few more registers a thread.) */
#define GQ_TILE_HOLD 2

/* nvcc unrolls the loop that follows completely (its trip count is a
 * constant); gcc needs no hint. */
#if defined(__CUDACC__)
#define GQ_UNROLL _Pragma("unroll")
#else
#define GQ_UNROLL
#endif

/* Length of group g of a GQ_DIM_LAST tensor, without the division by
 * cols that gq_group_len() makes. */
GQ_HD uint32_t gq_last_len(const struct gq_layout *l, uint32_t G, uint64_t g)
{
    uint64_t left = l->n_elems - g * G;
    return left < G ? (uint32_t)left : G;
}

/* What the first pass keeps of a group's elements. */
struct gq_gscan {
    float mn, mx;
    int nonfinite;
    struct gq_dtype_scan ds; /* kernels/gq_dtype.h */
};

/* Scans the first ne elements of chunk v (which starts at an even flat
 * index: parity is e & 1). */
GQ_HD void gq_chunk_scan(struct gq_gscan *sc, const struct gq_u32x4 *v, uint32_t ne, uint32_t dtype)
{
    uint32_t es = gq_dtype_size(dtype), e;
    for (e = 0; e < ne; e++) {
        uint32_t raw = gq_chunk_elem(v, e, es);
        float x = gq_raw_to_f32(raw, dtype);
        sc->nonfinite |= gq_raw_nonfinite(raw, dtype);
        sc->mn = fminf(sc->mn, x);
        sc->mx = fmaxf(sc->mx, x);
        if (es == 4)
            gq_dtype_scan_word32(&sc->ds, raw);
        else
            gq_dtype_scan_word16(&sc->ds, raw, e & 1u, dtype);
    }
}

/* The element type of the tiles' shared arrays: 16-byte aligned, so that
 * 16-byte accesses at 16-byte offsets are aligned. */
#if defined(__CUDACC__)
struct __align__(16) gq_sh16 {
    uint32_t w[4];
};
#else
struct gq_sh16 {
    _Alignas(16) uint32_t w[4];
};
#endif

/* Shared memory of the dim=last quantize: per warp of the block, two
 * rounds' dtype scans (256 words each). */
#define GQ_SCAN_SH16 (2u * (GQ_BLOCK / 32u) * 64u) /* 16 KiB */

/* The dtype scans of a round's groups meet in shared memory: each lane
 * stores its scan (32 bytes: words a, b in one half of buf, c (f16: the
 * exponent mask) and top3 in the other), and after __syncwarp the first
 * lane of each group (lead) adds its group's L scans. One collective a
 * round where a butterfly of shuffles takes log2(L) steps of up to four
 * 64-bit shuffles. Every lane of the warp calls it, with its warp's buffer
 * for this round (256 words; rounds alternate two buffers, so a round's
 * stores never meet the last round's loads). Returns the verdict for lead,
 * else 0. */
static __device__ __forceinline__ int gq_dtype_scan_meet(uint32_t *buf, const struct gq_dtype_scan *ds,
                                                         uint32_t L, uint32_t dtype, int lead)
{
    const uint32_t lane = threadIdx.x & 31u;
    const uint64_t c = dtype == GQ_F16 ? ds->emask : ds->c;
    struct gq_u32x4 v0, v1;
    struct gq_dtype_scan sum = {0, 0, 0, 0, 0};
    uint32_t j;
    v0.x = (uint32_t)ds->a;
    v0.y = (uint32_t)(ds->a >> 32);
    v0.z = (uint32_t)ds->b;
    v0.w = (uint32_t)(ds->b >> 32);
    v1.x = (uint32_t)c;
    v1.y = (uint32_t)(c >> 32);
    v1.z = (uint32_t)ds->top3;
    v1.w = (uint32_t)(ds->top3 >> 32);
    gq_store128(buf + 4u * lane, v0);
    gq_store128(buf + 128u + 4u * lane, v1);
    __syncwarp(0xffffffffu);
    if (!lead)
        return 0;
    for (j = 0; j < L; j++) {
        struct gq_dtype_scan t;
        uint64_t cj;
        v0 = gq_load128(buf + 4u * (lane + j));
        v1 = gq_load128(buf + 128u + 4u * (lane + j));
        t.a = v0.x | ((uint64_t)v0.y << 32);
        t.b = v0.z | ((uint64_t)v0.w << 32);
        cj = v1.x | ((uint64_t)v1.y << 32);
        t.top3 = v1.z | ((uint64_t)v1.w << 32);
        t.c = dtype == GQ_F16 ? 0u : cj;
        t.emask = dtype == GQ_F16 ? (uint32_t)cj : 0u;
        gq_dtype_scan_add(&sum, &t);
    }
    return gq_dtype_scan_foreign(&sum, dtype);
}

/* Elements of chunk ch of a group of len elements (0 past the end). */
GQ_HD uint32_t gq_chunk_count(const struct gq_tshape *s, uint32_t ch, uint32_t len)
{
    uint32_t first = ch * s->E;
    return len <= first ? 0u : len - first < s->E ? len - first : s->E;
}

/* The codes of chunk ch (or, escaped, what its code bytes hold and its raw
 * elements into the slot). */
GQ_HD void gq_chunk_encode(const struct gq_enc_ctx *c, const struct gq_tshape *s, const struct gq_gmeta *m,
                           uint64_t g, uint32_t ch, uint32_t len, struct gq_u32x4 v, uint32_t slot)
{
    uint32_t es = c->l.esize, e, ne = gq_chunk_count(s, ch, len);
    uint64_t word = 0;
    if (!m->escape) {
        for (e = 0; e < ne; e++)
            word |= (uint64_t)gq_quant_one(gq_raw_to_f32(gq_chunk_elem(&v, e, es), c->dtype), m)
                    << (e * c->bits);
    } else {
        /* f16/bf16: slot bits 16..31 in the group's first two code bytes */
        uint32_t off = ch * s->CB;
        if (es == 2 && off < 2)
            word = (slot >> 16) >> (8 * off);
        if (slot < c->l.escape_capacity) /* past the capacity nothing is written */
            gq_chunk_store(c->esc + (uint64_t)slot * c->group * es + ch * s->W, v, s->W);
    }
    gq_codes_store(c->codes + g * c->l.code_stride + ch * s->CB, word, s->CB);
}

/* The metadata of a group whose L lanes (a power of two, each lane's scan
 * in sc) scanned parts of it: min and max reduced across them, one 64-bit
 * shuffle a step carrying both; a lane that saw a NaN or an infinity
 * offers max = +Inf, which no finite group has. Every lane of the warp
 * calls it. */
static __device__ __forceinline__ void gq_group_meta(const struct gq_gscan *sc, uint32_t L, uint32_t dtype,
                                                     uint32_t bits, struct gq_gmeta *m)
{
    float mn = sc->mn, mx = sc->nonfinite ? gq_bits_f32(0x7f800000u) : sc->mx;
    uint32_t k;
    for (k = L / 2; k > 0; k /= 2) {
        unsigned long long pk = ((unsigned long long)gq_f32_bits(mx) << 32) | gq_f32_bits(mn);
        pk = __shfl_xor_sync(0xffffffffu, pk, k, (int)L);
        mn = fminf(mn, gq_bits_f32((uint32_t)pk));
        mx = fmaxf(mx, gq_bits_f32((uint32_t)(pk >> 32)));
    }
    gq_meta_from_minmax(mn, mx, gq_f32_bits(mx) == 0x7f800000u, dtype, bits, m);
}

/* Escape slots for a round's escaped groups, whose first lanes are the
 * bits of esc_lanes: one atomic per warp; each group's L lanes get its
 * slot. Every lane of the warp calls it. */
static __device__ __forceinline__ uint32_t gq_escape_slots(const struct gq_enc_ctx *c, uint32_t esc_lanes,
                                                           uint32_t L)
{
    const uint32_t lane = threadIdx.x & 31u, leader = (uint32_t)__ffs(esc_lanes) - 1u;
    uint32_t base = 0, slot;
    if (lane == leader)
        base = atomicAdd(c->esc_count, (uint32_t)__popc(esc_lanes));
    base = __shfl_sync(0xffffffffu, base, leader);
    slot = base + (uint32_t)__popc(esc_lanes & ((1u << lane) - 1u));
    return __shfl_sync(0xffffffffu, slot, 0, (int)L);
}

/* gq_quantize for GQ_DIM_LAST. A round gives each group L lanes (32 / L
 * groups); a tile is R rounds, enough for its metadata to fill 128 bytes
 * (one line; one PCIe write when the buffer is mapped host memory), which
 * lane j (word j) then stores. With L = 1 every lane holds a
 * whole group and stores its own metadata. Each element is loaded once:
 * the first pass (min, max, finiteness, the dtype scan of gq_dtype.h) keeps
 * the chunks in registers for the second (codes, escapes). Returns the
 * lane's count of foreign groups (for gq_dtype_fold). */
static __device__ __noinline__ uint32_t gq_quantize_tiled(const struct gq_enc_ctx *c, const struct gq_tshape *s,
                                                         uint64_t tile0)
{
    const uint32_t G = c->group, dtype = c->dtype, es = c->l.esize, mw = es == 4 ? 2u : 1u;
    GQ_SHARED(struct gq_sh16, scan_sh16, GQ_SCAN_SH16);
    uint32_t *const scan_sh = (uint32_t *)scan_sh16;
    const uint32_t lane = threadIdx.x & 31u, L = s->L, lane_g = lane % L, gpr = 32u / L;
    const uint32_t warp_b = threadIdx.x / 32u; /* the warp in its block */
    const int direct = L == 1;
    uint32_t R = 1, foreign = 0;
    while (!direct && R * gpr * mw < 32) /* 128 bytes: one PCIe write into mapped memory */
        R *= 2;
    const uint32_t gpw = R * gpr;
    const uint64_t n_groups = c->l.n_groups, ntiles = (n_groups + gpw - 1) / gpw;
    uint64_t tile;
    for (tile = tile0 + gq_warp_id(); tile < ntiles; tile += gq_n_warps()) {
        uint64_t g0 = tile * gpw;
        uint32_t mine = 0, r;
        for (r = 0; r < R; r++) {
            uint64_t g = g0 + r * gpr + lane / L;
            int live = g < n_groups;
            uint32_t len = live ? gq_last_len(&c->l, G, g) : 0, ch, k, esc_lanes, slot = 0, w0, w1;
            const uint8_t *gsrc = (const uint8_t *)c->src + g * G * es;
            struct gq_gscan sc = {GQ_F32_MAX, -GQ_F32_MAX, 0, {0, 0, 0, 0, 0}};
            struct gq_u32x4 held[GQ_TILE_HOLD];
            struct gq_gmeta m;

            /* first pass: min, max, finiteness, dtype scan */
            GQ_UNROLL
            for (k = 0; k < GQ_TILE_HOLD; k++) {
                ch = lane_g + k * L;
                if (live && ch < s->C) {
                    held[k] = gq_chunk_get(gsrc, ch, len, s, dtype);
                    gq_chunk_scan(&sc, &held[k], gq_chunk_count(s, ch, len), dtype);
                }
            }
            for (ch = lane_g + GQ_TILE_HOLD * L; live && ch < s->C; ch += L) {
                struct gq_u32x4 v = gq_chunk_get(gsrc, ch, len, s, dtype);
                gq_chunk_scan(&sc, &v, gq_chunk_count(s, ch, len), dtype);
            }
            gq_group_meta(&sc, L, dtype, c->bits, &m);
            foreign += (uint32_t)gq_dtype_scan_meet(scan_sh + ((r & 1u) * (GQ_BLOCK / 32u) + warp_b) * 256u,
                                                    &sc.ds, L, dtype, live && lane_g == 0);

            esc_lanes = __ballot_sync(0xffffffffu, live && m.escape && lane_g == 0);
            if (esc_lanes)
                slot = gq_escape_slots(c, esc_lanes, L);
            if (m.escape) {
                w0 = es == 4 ? GQ_ESC_STEP32 : GQ_ESC_STEP16 | ((slot & 0xffffu) << 16);
                w1 = slot;
                if (live && lane_g == 0 && slot >= c->l.escape_capacity)
                    gq_store32(c->overflow, 1u);
            } else {
                w0 = es == 4 ? m.step_bits : (m.step_bits & 0xffffu) | (m.min_bits << 16);
                w1 = m.min_bits;
            }

            /* second pass: codes; an escaped group's raw elements */
            GQ_UNROLL
            for (k = 0; k < GQ_TILE_HOLD; k++) {
                ch = lane_g + k * L;
                if (live && ch < s->C)
                    gq_chunk_encode(c, s, &m, g, ch, len, held[k], slot);
            }
            for (ch = lane_g + GQ_TILE_HOLD * L; live && ch < s->C; ch += L)
                gq_chunk_encode(c, s, &m, g, ch, len, gq_chunk_get(gsrc, ch, len, s, dtype), slot);

            /* metadata: lane j collects word j of the tile */
            if (direct) {
                if (live && es == 4)
                    gq_store64((uint32_t *)c->meta + g * 2, (uint64_t)w0 | ((uint64_t)w1 << 32));
                else if (live)
                    gq_store32((uint32_t *)c->meta + g, w0);
            } else {
                uint32_t src = lane / mw % gpr * L;
                uint32_t v0 = __shfl_sync(0xffffffffu, w0, src);
                uint32_t v1 = mw == 2 ? __shfl_sync(0xffffffffu, w1, src) : 0u;
                if (lane / mw / gpr == r)
                    mine = mw == 2 && (lane & 1u) ? v1 : v0;
            }
        }
        if (!direct) {
            uint32_t ng = n_groups - g0 < gpw ? (uint32_t)(n_groups - g0) : gpw;
            if (lane < ng * mw)
                gq_store32((uint32_t *)c->meta + g0 * mw + lane, mine);
        }
    }
    return foreign;
}

/* What a verify launch adds up (gq_kernels.h, struct gq_verify_result). */
struct gq_vacc {
    double sse, ss;
    uint64_t n;
    float mx;
};

/* One element: its raw source bits and what the buffer decodes it to. */
GQ_HD void gq_vacc_add(struct gq_vacc *a, uint32_t raw, uint32_t dec, uint32_t dtype)
{
    double x, e;
    float f;
    if (gq_raw_nonfinite(raw, dtype))
        return;
    x = (double)gq_raw_to_f32(raw, dtype);
    e = (double)gq_raw_to_f32(dec, dtype) - x;
    f = (float)(e < 0 ? -e : e);
    a->mx = f > a->mx ? f : a->mx;
    a->sse += e * e;
    a->ss += x * x;
    a->n++;
}

/* gq_dequantize for GQ_DIM_LAST: a warp decodes tiles of 32 x R chunks, lane
 * i chunk i of each round. Lane j first loads word j of the tile's metadata
 * (R makes that as many words as one load of the warp can hold) and hands
 * each lane its group's words by shuffle; when a tile spans too many groups for that (a chunk of one or two
 * per group), each lane loads its group's words itself, which then cover
 * whole sectors anyway. */
static __device__ __noinline__ void gq_dequantize_tiled(const struct gq_dequant_params *k,
                                           const struct gq_dec_ctx *c, const struct gq_tshape *s,
                                           const void *src, struct gq_vacc *acc)
{
    const uint32_t G = c->group, dtype = c->dtype, es = c->l.esize, mw = es == 4 ? 2u : 1u;
    const uint32_t E = s->E, lane = threadIdx.x & 31u, qmask = (1u << c->bits) - 1u;
    uint32_t R = 1;
    while (R < 8 && (64u * R / s->C + 1u) * mw <= 32u) /* as many groups as one load covers */
        R *= 2;
    const int gather = (32u * R / s->C + 1u) * mw <= 32u;
    const uint64_t u0 = k->e0 / E, u1 = (k->e1 + E - 1) / E, per = 32u * R;
    const uint64_t ntiles = (u1 - u0 + per - 1) / per;
    const int vec_out = (((uintptr_t)k->dst - k->e0 * es) & (s->W - 1u)) == 0;
    const int vec_in = ((uintptr_t)src & (s->W - 1u)) == 0;
    uint64_t tile;
    for (tile = gq_warp_id(); tile < ntiles; tile += gq_n_warps()) {
        uint64_t ua = u0 + tile * per, ub = ua + per < u1 ? ua + per : u1;
        uint64_t ga = ua * E / G;
        uint32_t mine = 0, r;
        if (gather) {
            uint32_t nwords = (uint32_t)((ub - 1) * E / G - ga + 1) * mw;
            if (lane < nwords)
                mine = gq_load_ro32((const uint32_t *)c->meta + (ga - c->g_base) * mw + lane);
        }
        for (r = 0; r < R; r++) {
            uint64_t u = ua + r * 32u + lane, e = u * E;
            int live = u < ub;
            uint32_t off = (uint32_t)(e - ga * G), gl = off / G, idx = off % G, j, w0, w1 = 0;
            if (gather) {
                w0 = __shfl_sync(0xffffffffu, mine, (gl * mw) & 31u);
                if (mw == 2)
                    w1 = __shfl_sync(0xffffffffu, mine, (gl * mw + 1u) & 31u);
            } else {
                const uint32_t *mp = (const uint32_t *)c->meta + (ga + gl - c->g_base) * mw;
                w0 = live ? gq_load_ro32(mp) : 0;
                w1 = live && mw == 2 ? gq_load_ro32(mp + 1) : 0;
            }
            if (live) {
                uint64_t lo = e < k->e0 ? k->e0 : e, hi = e + E > k->e1 ? k->e1 : e + E, g = ga + gl;
                uint32_t step_bits = es == 4 ? w0 : w0 & 0xffffu, min_bits = es == 4 ? w1 : w0 >> 16;
                const uint8_t *gcodes = c->codes + (g - c->g_base) * c->l.code_stride;
                struct gq_u32x4 out = {0, 0, 0, 0};
                if (step_bits == (es == 4 ? GQ_ESC_STEP32 : GQ_ESC_STEP16)) {
                    uint32_t slot = es == 4 ? min_bits
                                            : min_bits | ((uint32_t)gq_load8(gcodes) << 16) |
                                                  ((uint32_t)gq_load8(gcodes + 1) << 24);
                    if (slot < c->l.escape_capacity) {
                        out = gq_chunk_load(c->esc + (uint64_t)slot * G * es + idx * es, s->W);
                    } else {
                        for (j = 0; j < E; j++)
                            gq_chunk_set(&out, j, es, gq_dtype_qnan(dtype));
                    }
                } else {
                    float step_s = gq_raw_to_f32(step_bits, dtype), min_s = gq_raw_to_f32(min_bits, dtype);
                    uint64_t word = gq_codes_load(gcodes + idx / E * s->CB, s->CB);
                    for (j = 0; j < E; j++)
                        gq_chunk_set(&out, j, es,
                                     gq_dequant_one((uint32_t)(word >> (j * c->bits)) & qmask, step_s,
                                                    min_s, dtype));
                }
                if (acc) { /* gq_verify: compare with the source (e0 = 0) */
                    struct gq_u32x4 x = {0, 0, 0, 0};
                    if (lo == e && hi == e + E && vec_in)
                        x = gq_chunk_load((const uint8_t *)src + e * es, s->W);
                    else
                        for (j = (uint32_t)(lo - e); j < (uint32_t)(hi - e); j++)
                            gq_chunk_set(&x, j, es, gq_elem_raw(src, e + j, dtype));
                    for (j = (uint32_t)(lo - e); j < (uint32_t)(hi - e); j++)
                        gq_vacc_add(acc, gq_chunk_elem(&x, j, es), gq_chunk_elem(&out, j, es), dtype);
                } else if (lo == e && hi == e + E && vec_out)
                    gq_chunk_store((uint8_t *)k->dst + (e - k->e0) * es, out, s->W);
                else
                    for (j = (uint32_t)(lo - e); j < (uint32_t)(hi - e); j++)
                        gq_elem_put(k->dst, e + j - k->e0, dtype, gq_chunk_elem(&out, j, es));
            }
        }
    }
}

#endif

/*
 * gq_fast.h — gq_quantize and gq_dequantize for the shape the shim sees
 * almost always (GQ_DIM_LAST, 4-bit codes, groups of 64 f16 or bf16
 * elements), written for the GPU's memory system; included by
 * gq_kernels.cu only, after gq_tile.h.
 *
 * The tiles are gq_tile.h's for that shape: a warp takes 32 groups (4 KiB
 * of f16) in 8 rounds of 4 groups, 8 lanes a group, 16 bytes a lane, and
 * the output is the same bit for bit (tests/unit/test_codec_emu.c holds
 * both paths to the CPU codec). What differs is what a real GPU needs to
 * run them at memory speed (tests/gpu/RESULTS.md has the H200 figures that
 * called for this):
 *   - a lane loads its whole tile ahead of use: 8 chunks of source
 *     (quantize), or 8 code words and its metadata word (dequantize), so a
 *     warp has up to 4 KiB (1.1 KiB) in flight instead of 512 bytes behind
 *     each round's chain of dependent work (within gq_quantize's 80
 *     registers nvcc issues the f16 path's first chunk, starts on it, then
 *     the other seven together; the bf16 path issues all eight first);
 *   - the shape is a constant: chunk loops unroll, elements are picked by
 *     constant indices from registers, and no division is left;
 *   - the dtype scan (kernels/gq_dtype.h) works two 16-bit words at a time
 *     (gq_dtype_scan_chunk16): word by word it was most of the quantize's
 *     instructions;
 *   - the lanes of a group add their dtype scans with three butterfly
 *     steps of shuffles, instead of meeting in shared memory where one lane
 *     adds eight scans while the other seven wait.
 * Tiles that are not whole (the tensor's last, a partial last group, the
 * ends of a dequantize range) go to gq_tile.h's code.
 */
#ifndef GQ_FAST_H
#define GQ_FAST_H

#include "gq_tile.h"

#define GQ_FAST_GROUP GQ_FAST_G /* elements of a group */
#define GQ_FAST_TILE 32u  /* groups of a warp's tile */
#define GQ_FAST_ROUNDS 8u /* rounds of a tile: 4 groups each */

/* The fast paths apply: gq_fast_params (kernels/gq_kernels.h), and 16-byte
 * chunks (s from gq_tshape_init: the alignment allowed them). */
GQ_HD int gq_fast_shape(uint32_t bits, uint32_t group, uint32_t dtype, const struct gq_tshape *s)
{
    return gq_fast_params(GQ_DIM_LAST, bits, group, dtype) && s->W == 16u;
}

/* Whole tiles of whole groups at the start of an n-element tensor. */
GQ_HD uint64_t gq_fast_tiles(uint64_t n_elems)
{
    return n_elems / GQ_FAST_GROUP / GQ_FAST_TILE;
}

/* Adds the dtype scans of a group's 8 lanes (lanes 8i..8i+7): afterwards
 * each of them holds the group's. The same sums as gq_dtype_scan_meet's
 * (f16 never counts into c, bf16 never into top3 or emask). */
static __device__ __forceinline__ void gq_fast_scan_add(struct gq_dtype_scan *ds, uint32_t dtype)
{
    unsigned k;
    GQ_UNROLL
    for (k = 4u; k > 0u; k >>= 1) {
        ds->a += __shfl_xor_sync(0xffffffffu, ds->a, k, 8);
        ds->b += __shfl_xor_sync(0xffffffffu, ds->b, k, 8);
        if (dtype == GQ_F16) {
            ds->top3 += __shfl_xor_sync(0xffffffffu, ds->top3, k, 8);
            ds->emask |= __shfl_xor_sync(0xffffffffu, ds->emask, k, 8);
        } else {
            ds->c += __shfl_xor_sync(0xffffffffu, ds->c, k, 8);
        }
    }
}

/* Quantizes tile `tile` (groups 32 tile .. 32 tile + 31, all whole) of a
 * 16-bit tensor; dtype is a constant at each call. Returns the lane's count
 * of foreign groups. */
static __device__ __forceinline__ uint32_t gq_quant_fast_tile(const struct gq_enc_ctx *c, uint64_t tile,
                                                              uint32_t dtype)
{
    const struct gq_tshape s = {16u, 8u, 8u, 8u, 4u}; /* W, E, C, L, CB */
    const uint32_t lane = threadIdx.x & 31u, lg = lane & 7u, gi = lane >> 3;
    const uint32_t gbytes = GQ_FAST_GROUP * 2u, cs = c->l.code_stride;
    const uint64_t g0 = tile * GQ_FAST_TILE;
    const uint8_t *src = (const uint8_t *)c->src + (g0 + gi) * gbytes + lg * 16u;
    struct gq_u32x4 v[GQ_FAST_ROUNDS];
    uint32_t foreign = 0, mine = 0, r;

    GQ_UNROLL
    for (r = 0; r < GQ_FAST_ROUNDS; r++) /* round r: groups g0 + 4r .. g0 + 4r + 3 */
        v[r] = gq_load_ro128(src + r * 4u * gbytes);

    GQ_UNROLL
    for (r = 0; r < GQ_FAST_ROUNDS; r++) {
        const uint64_t g = g0 + 4u * r + gi;
        struct gq_gscan sc = {GQ_F32_MAX, -GQ_F32_MAX, 0, {0, 0, 0, 0, 0}};
        struct gq_gmeta m;
        uint32_t e, slot = 0, esc_lanes, w0;

        GQ_UNROLL
        for (e = 0; e < 8u; e++) { /* gq_chunk_scan's min, max and finiteness */
            const uint32_t raw = gq_chunk_elem(&v[r], e, 2u);
            const float x = gq_raw_to_f32(raw, dtype);
            sc.nonfinite |= gq_raw_nonfinite(raw, dtype);
            sc.mn = fminf(sc.mn, x);
            sc.mx = fmaxf(sc.mx, x);
        }
        gq_dtype_scan_chunk16(&sc.ds, &v[r], dtype); /* its dtype scan, two words at a time */
        gq_group_meta(&sc, 8u, dtype, 4u, &m);
        gq_fast_scan_add(&sc.ds, dtype);
        foreign += (uint32_t)(lg == 0u && gq_dtype_scan_foreign(&sc.ds, dtype));

        esc_lanes = __ballot_sync(0xffffffffu, m.escape && lg == 0u);
        if (esc_lanes)
            slot = gq_escape_slots(c, esc_lanes, 8u);
        if (m.escape) {
            w0 = GQ_ESC_STEP16 | ((slot & 0xffffu) << 16);
            if (lg == 0u && slot >= c->l.escape_capacity)
                gq_store32(c->overflow, 1u);
            gq_chunk_encode(c, &s, &m, g, lg, GQ_FAST_GROUP, v[r], slot);
        } else {
            uint32_t word = 0;
            w0 = (m.step_bits & 0xffffu) | (m.min_bits << 16);
            GQ_UNROLL
            for (e = 0; e < 8u; e++)
                word |= gq_quant_one(gq_raw_to_f32(gq_chunk_elem(&v[r], e, 2u), dtype), &m) << (4u * e);
            gq_store32(c->codes + g * cs + lg * 4u, word);
        }
        /* metadata: lane j collects the word of group g0 + j */
        {
            uint32_t got = __shfl_sync(0xffffffffu, w0, (lane & 3u) * 8u);
            if (lane >> 2 == r)
                mine = got;
        }
    }
    gq_store32((uint32_t *)c->meta + g0 + lane, mine);
    return foreign;
}

/* Tiles [0, t1) of a 16-bit tensor, warp-strided. */
static __device__ __forceinline__ uint32_t gq_quantize_fast(const struct gq_enc_ctx *c, uint64_t t1, uint32_t dtype)
{
    uint32_t foreign = 0;
    uint64_t t;
    for (t = gq_warp_id(); t < t1; t += gq_n_warps())
        foreign += gq_quant_fast_tile(c, t, dtype);
    return foreign;
}

/* One function a dtype, so that each is compiled for a constant dtype, with
 * registers of its own. */
static __device__ __noinline__ uint32_t gq_quantize_fast_f16(const struct gq_enc_ctx *c, uint64_t t1)
{
    return gq_quantize_fast(c, t1, GQ_F16);
}

static __device__ __noinline__ uint32_t gq_quantize_fast_bf16(const struct gq_enc_ctx *c, uint64_t t1)
{
    return gq_quantize_fast(c, t1, GQ_BF16);
}

/* Decodes the 32 whole groups from gs, all inside [k->e0, k->e1), into
 * k->dst (16-byte aligned chunks); dtype is a constant at each call. */
static __device__ __forceinline__ void gq_dequant_fast_tile(const struct gq_dequant_params *k,
                                                            const struct gq_dec_ctx *c, uint64_t gs,
                                                            uint32_t dtype)
{
    const uint32_t lane = threadIdx.x & 31u, lg = lane & 7u, gi = lane >> 3;
    const uint32_t cs = c->l.code_stride, gbytes = GQ_FAST_GROUP * 2u;
    const uint64_t gr = gs - c->g_base;
    const uint8_t *codes = c->codes + (gr + gi) * cs + lg * 4u;
    uint8_t *dst = (uint8_t *)k->dst + ((gs + gi) * GQ_FAST_GROUP + lg * 8u - k->e0) * 2u;
    uint32_t cw[GQ_FAST_ROUNDS], mine, r, e;

    mine = gq_load_ro32((const uint32_t *)c->meta + gr + lane); /* word of group gs + lane */
    GQ_UNROLL
    for (r = 0; r < GQ_FAST_ROUNDS; r++) /* round r: groups gs + 4r .. gs + 4r + 3 */
        cw[r] = gq_load_ro32(codes + r * 4u * cs);

    GQ_UNROLL
    for (r = 0; r < GQ_FAST_ROUNDS; r++) {
        const uint32_t w0 = __shfl_sync(0xffffffffu, mine, 4u * r + gi);
        const uint32_t step_bits = w0 & 0xffffu, min_bits = w0 >> 16;
        struct gq_u32x4 out = {0, 0, 0, 0};
        if (step_bits == GQ_ESC_STEP16) {
            const uint8_t *gcodes = c->codes + (gr + 4u * r + gi) * cs;
            uint32_t slot = min_bits | ((uint32_t)gq_load8(gcodes) << 16) | ((uint32_t)gq_load8(gcodes + 1) << 24);
            if (slot < c->l.escape_capacity) {
                out = gq_chunk_load(c->esc + (uint64_t)slot * gbytes + lg * 16u, 16u);
            } else {
                GQ_UNROLL
                for (e = 0; e < 8u; e++)
                    gq_chunk_set(&out, e, 2u, gq_dtype_qnan(dtype));
            }
        } else {
            const float step_s = gq_raw_to_f32(step_bits, dtype), min_s = gq_raw_to_f32(min_bits, dtype);
            GQ_UNROLL
            for (e = 0; e < 8u; e++)
                gq_chunk_set(&out, e, 2u, gq_dequant_one((cw[r] >> (4u * e)) & 15u, step_s, min_s, dtype));
        }
        gq_store128(dst + r * 4u * gbytes, out);
    }
}

/* gq_dequantize for the fast shape: the whole tiles of groups inside the
 * range here, its two ends (a partial group, fewer than 32 groups) by
 * gq_dequantize_tiled. Every thread of the grid calls it. */
static __device__ __noinline__ void gq_dequantize_fast(const struct gq_dequant_params *k,
                                                       const struct gq_dec_ctx *c, const struct gq_tshape *s)
{
    const uint64_t G = GQ_FAST_GROUP;
    uint64_t ga = (k->e0 + G - 1) / G, gb = k->e1 / G, tiles, t;
    tiles = gb > ga ? (gb - ga) / GQ_FAST_TILE : 0;
    gb = ga + tiles * GQ_FAST_TILE;
    if (tiles == 0) {
        gq_dequantize_tiled(k, c, s, NULL, NULL);
        return;
    }
    if (k->e0 < ga * G) {
        struct gq_dequant_params h = *k;
        h.e1 = ga * G;
        gq_dequantize_tiled(&h, c, s, NULL, NULL);
    }
    if (gb * G < k->e1) {
        struct gq_dequant_params tl = *k;
        tl.e0 = gb * G;
        tl.dst = (uint8_t *)k->dst + (gb * G - k->e0) * 2u;
        gq_dequantize_tiled(&tl, c, s, NULL, NULL);
    }
    if (k->dtype == GQ_F16) {
        for (t = gq_warp_id(); t < tiles; t += gq_n_warps())
            gq_dequant_fast_tile(k, c, ga + t * GQ_FAST_TILE, GQ_F16);
    } else {
        for (t = gq_warp_id(); t < tiles; t += gq_n_warps())
            gq_dequant_fast_tile(k, c, ga + t * GQ_FAST_TILE, GQ_BF16);
    }
}

#endif

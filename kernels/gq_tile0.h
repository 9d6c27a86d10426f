/*
 * gq_tile0.h — the tiled paths of gq_quantize, gq_dequantize and gq_verify
 * for GQ_DIM_0, included by gq_kernels.cu only. A tile is one row block (the
 * G rows of its groups) times TC adjacent columns: TC consecutive groups,
 * whose codes are one contiguous run of the buffer. Shaped for the GPU's
 * memory system (judged by cudasim's memory-transaction model):
 *
 *   - the tensor crosses global memory in W-byte vectors (16 when the row
 *     pitch and the tensor's alignment allow), a warp covering whole rows of
 *     the tile: 32 lanes x 16 bytes = 512 contiguous bytes per instruction;
 *   - codes and metadata cross global memory as consecutive 16-byte (else
 *     4-byte) words, loaded once per tile into shared memory;
 *   - in shared memory a column's code words lie TCP = TC + 4 words apart
 *     (code word w of column c at w * TCP + c): the threads that write or
 *     read one word of adjacent columns hit adjacent banks, and the 16-byte
 *     units of the contiguous run scatter over distinct banks;
 *   - quantize: the source tile is loaded once into shared memory; thread c
 *     then scans column c twice from there (min/max and the dtype scan of
 *     gq_dtype.h, then codes). Escapes take their slots with one atomic per
 *     warp and the warp writes each escaped group's slot in vectors.
 *   - dequantize and verify: a thread decodes V = 16 / esize adjacent columns
 *     of one row (one 16-byte vector), holding their step and min in
 *     registers. Its code words are two 16-byte loads from shared memory,
 *     8 words apart from the next lane's: 2-way bank conflicts (cudasim's
 *     model: 1.89 ways on average for the whole decode, G=64 f16).
 *
 * The numerics are gq_group.h's (bit for bit the CPU codec's; the unit tests
 * hold them to it under the SIMT executor). Tiles need the code stride to be
 * whole 4-byte words and a block of whole warps; the shapes below say when
 * else they do not fit (gq_kernels.cu then runs a thread per group).
 */
#ifndef GQ_TILE0_H
#define GQ_TILE0_H

#include "gq_dtype.h"
#include "gq_group.h"
#include "gq_kernels.h"
#include "gq_tile.h"

#define GQ_DIM0_SHARED_WORDS (6u * 1024u) /* 24 KiB of static shared memory per block */

/* The tile of a GQ_DIM_0 launch. */
struct gq_d0shape {
    uint32_t TC;  /* columns of a tile: a power of two >= 8 */
    uint32_t TCP; /* shared-memory words between a column's code words: TC + 4 */
    uint32_t cw;  /* code words of a group */
    uint32_t W;   /* bytes of one tensor access: 16, 8, 4 or the element size */
};

/* The largest vector width (<= 16) that every row start of the tensor at
 * `base` with C columns of esize bytes is aligned to. */
GQ_HD uint32_t gq_d0_width(uintptr_t base, uint64_t C, uint32_t esize)
{
    uint32_t W = 16;
    while (W > esize && ((base | (uintptr_t)(C * esize)) & (W - 1u)) != 0)
        W /= 2;
    return W;
}

/* The quantize tile for `block` threads: TC columns of G source elements
 * plus their codes fit the shared memory. 0 when no tile fits. */
GQ_HD int gq_d0_quant_shape(struct gq_d0shape *s, const struct gq_layout *l, uint32_t G, uint32_t block,
                            uintptr_t src)
{
    uint32_t TC = 256;
    if (l->code_stride % 4u != 0)
        return 0;
    s->cw = l->code_stride / 4u;
    while (TC > block || TC * G * l->esize + s->cw * (TC + 4u) * 4u > GQ_DIM0_SHARED_WORDS * 4u)
        TC /= 2;
    s->TC = TC;
    s->TCP = TC + 4u;
    s->W = gq_d0_width(src, l->cols, l->esize);
    return TC >= 8;
}

/* The decode tile: TC = V x U columns (U lanes across a row, a power of two
 * <= 32) with their metadata and codes in shared memory. */
GQ_HD int gq_d0_dec_shape(struct gq_d0shape *s, const struct gq_layout *l, uint32_t block)
{
    uint32_t V = 16u / l->esize, TC = V * 32u;
    if (l->code_stride % 4u != 0)
        return 0;
    s->cw = l->code_stride / 4u;
    while (TC > V && (TC / V > block ||
                      TC * l->meta_size + s->cw * (TC + 4u) * 4u > GQ_DIM0_SHARED_WORDS * 4u))
        TC /= 2;
    s->TC = TC;
    s->TCP = TC + 4u;
    s->W = 0;
    return TC * l->meta_size + s->cw * (TC + 4u) * 4u <= GQ_DIM0_SHARED_WORDS * 4u;
}

/* W bytes at p (a W-aligned address) as a vector. */
GQ_HD struct gq_u32x4 gq_vec_load(const void *p, uint32_t W)
{
    struct gq_u32x4 v = {0, 0, 0, 0};
    if (W == 2) {
        v.x = gq_load_ro16(p);
        return v;
    }
    return gq_chunk_load(p, W);
}

GQ_HD void gq_vec_store(void *p, struct gq_u32x4 v, uint32_t W)
{
    if (W == 2)
        gq_store16(p, (uint16_t)v.x);
    else
        gq_chunk_store(p, v, W);
}

/* Copies `words` 4-byte words of the tile's contiguous codes between global
 * memory (g, group-major) and shared memory (sh, word w of column c at
 * w * TCP + c), in 16-byte units when g allows. to_shared: load, else store. */
static __device__ __forceinline__ void gq_d0_codes_move(uint32_t *sh, uint8_t *g, uint32_t words,
                                                        const struct gq_d0shape *s, int to_shared)
{
    const uint32_t t = threadIdx.x, B = blockDim.x;
    uint32_t i, j;
    if (((uintptr_t)g & 15u) == 0 && words % 4u == 0) {
        for (i = t; i < words / 4u; i += B) {
            uint32_t v[4];
            struct gq_u32x4 q = {0, 0, 0, 0};
            if (!to_shared) {
                for (j = 0; j < 4; j++) {
                    uint32_t gw = 4u * i + j;
                    v[j] = gq_load32(sh + gw % s->cw * s->TCP + gw / s->cw);
                }
                q.x = v[0];
                q.y = v[1];
                q.z = v[2];
                q.w = v[3];
                gq_store128(g + 16u * i, q);
            } else {
                q = gq_load_ro128(g + 16u * i);
                v[0] = q.x;
                v[1] = q.y;
                v[2] = q.z;
                v[3] = q.w;
                for (j = 0; j < 4; j++) {
                    uint32_t gw = 4u * i + j;
                    gq_store32(sh + gw % s->cw * s->TCP + gw / s->cw, v[j]);
                }
            }
        }
        return;
    }
    for (i = t; i < words; i += B) {
        if (to_shared)
            gq_store32(sh + i % s->cw * s->TCP + i / s->cw, gq_load_ro32(g + 4u * i));
        else
            gq_store32(g + 4u * i, gq_load32(sh + i % s->cw * s->TCP + i / s->cw));
    }
}

/* Element r of column c of the source tile in shared memory. */
GQ_HD uint32_t gq_d0_src_elem(const uint8_t *tile, uint32_t TC, uint32_t r, uint32_t c, uint32_t es)
{
    return es == 4 ? gq_load32(tile + ((uint64_t)r * TC + c) * 4u)
                   : gq_load16(tile + ((uint64_t)r * TC + c) * 2u);
}

/* The slot of an escaped group: its elements (0 past len) in vectors of the
 * largest width the slot's size allows, written by the whole warp. */
static __device__ __forceinline__ void gq_d0_escape_write(const struct gq_enc_ctx *c, const uint8_t *tile,
                                                          uint32_t TC, uint32_t col, uint32_t len,
                                                          uint32_t slot)
{
    const uint32_t es = c->l.esize, bytes = c->group * es, lane = threadIdx.x & 31u;
    uint32_t W = 16, u, e;
    while (W > es && bytes % W != 0)
        W /= 2;
    for (u = lane; u < bytes / W; u += 32u) {
        struct gq_u32x4 v = {0, 0, 0, 0};
        for (e = 0; e < W / es; e++) {
            uint32_t r = u * (W / es) + e;
            if (r < len)
                gq_chunk_set(&v, e, es, gq_d0_src_elem(tile, TC, r, col, es));
        }
        gq_vec_store(c->esc + (uint64_t)slot * bytes + u * W, v, W);
    }
}

/* gq_quantize for GQ_DIM_0; returns the thread's count of foreign groups. */
static __device__ __noinline__ uint32_t gq_quantize_dim0(const struct gq_enc_ctx *c, const struct gq_d0shape *s)
{
    GQ_SHARED(struct gq_sh16, sh16, GQ_DIM0_SHARED_WORDS / 4u);
    uint32_t *const sh = (uint32_t *)sh16;
    const uint32_t t = threadIdx.x, B = blockDim.x, G = c->group, es = c->l.esize, dtype = c->dtype;
    const uint32_t TC = s->TC, W = s->W, lane = t & 31u, b = c->bits;
    const uint64_t C = c->l.cols, col_tiles = (C + TC - 1) / TC;
    const uint64_t ntiles = c->l.n_groups / C * col_tiles;
    uint8_t *tile = (uint8_t *)sh;
    uint32_t *codes_sh = sh + TC * G * es / 4u, foreign = 0;
    uint64_t ti;
    for (ti = blockIdx.x; ti < ntiles; ti += gridDim.x) {
        uint64_t rb = ti / col_tiles, c0 = ti % col_tiles * TC, g0 = rb * C + c0;
        uint64_t g = g0 + t, first = rb * G * C + c0 + t;
        uint32_t tc = C - c0 < TC ? (uint32_t)(C - c0) : TC, len = gq_group_len(&c->l, G, g0);
        uint32_t upr = tc * es / W, i, r, w, esc_lanes, slot = 0, acc = 0, nb = 0;
        const uint8_t *src = (const uint8_t *)c->src + (rb * G * C + c0) * es;
        int live = t < tc;
        struct gq_gscan sc = {GQ_F32_MAX, -GQ_F32_MAX, 0, {0, 0, 0, 0, 0}};
        struct gq_gmeta m;

        /* the source tile, row by row, in W-byte vectors */
        if (ti != blockIdx.x)
            __syncthreads(); /* the last tile's readers are done */
        for (i = t; i < len * upr; i += B) {
            r = i / upr;
            gq_vec_store(tile + r * TC * es + (i - r * upr) * W,
                         gq_vec_load(src + r * C * es + (i - r * upr) * W, W), W);
        }
        __syncthreads();

        /* thread t: column t. Min, max, finiteness, the dtype scan. */
        for (r = 0; live && r < len; r++) {
            uint32_t raw = gq_d0_src_elem(tile, TC, r, t, es);
            float x = gq_raw_to_f32(raw, dtype);
            sc.nonfinite |= gq_raw_nonfinite(raw, dtype);
            sc.mn = fminf(sc.mn, x);
            sc.mx = fmaxf(sc.mx, x);
            if (es == 4)
                gq_dtype_scan_word32(&sc.ds, raw);
            else
                gq_dtype_scan_word16(&sc.ds, raw, (uint32_t)((first + (uint64_t)r * C) & 1u), dtype);
        }
        gq_meta_from_minmax(sc.mn, sc.mx, sc.nonfinite, dtype, b, &m);
        if (live)
            foreign += (uint32_t)gq_dtype_scan_foreign(&sc.ds, dtype);

        /* escape slots: one atomic per warp; the warp writes each slot that has room */
        esc_lanes = __ballot_sync(0xffffffffu, live && m.escape);
        if (esc_lanes) {
            uint32_t base = 0, leader = (uint32_t)__ffs(esc_lanes) - 1u, left = esc_lanes;
            if (lane == leader)
                base = atomicAdd(c->esc_count, (uint32_t)__popc(esc_lanes));
            base = __shfl_sync(0xffffffffu, base, leader);
            slot = base + (uint32_t)__popc(esc_lanes & ((1u << lane) - 1u));
            if (live && m.escape && slot >= c->l.escape_capacity)
                gq_store32(c->overflow, 1u);
            while (left) {
                uint32_t l = (uint32_t)__ffs(left) - 1u;
                uint32_t sl = base + (uint32_t)__popc(esc_lanes & ((1u << l) - 1u));
                left &= left - 1u;
                if (sl < c->l.escape_capacity)
                    gq_d0_escape_write(c, tile, TC, (t & ~31u) + l, len, sl);
            }
        }
        if (live && m.escape)
            gq_meta_put(c->meta, g, es, es == 4 ? GQ_ESC_STEP32 : GQ_ESC_STEP16,
                        es == 4 ? slot : slot & 0xffffu);
        else if (live)
            gq_meta_put(c->meta, g, es, m.step_bits, m.min_bits);

        /* codes, word by word, into shared memory (zero past len) */
        for (r = 0, w = 0; live && w < s->cw; r++) {
            if (r < len && !m.escape)
                acc |= gq_quant_one(gq_raw_to_f32(gq_d0_src_elem(tile, TC, r, t, es), dtype), &m) << nb;
            nb += b;
            if (nb == 32) {
                if (m.escape) /* f16/bf16: slot bits 16..31 in the first two code bytes */
                    acc = w == 0 && es == 2 ? slot >> 16 : 0u;
                gq_store32(codes_sh + w * s->TCP + t, acc);
                w++;
                acc = 0;
                nb = 0;
            }
        }
        __syncthreads();
        gq_d0_codes_move(codes_sh, c->codes + g0 * c->l.code_stride, tc * s->cw, s, 0);
    }
    return foreign;
}

/* Step and min of the V columns a decoding thread covers. */
struct gq_d0cols {
    float step[8], min[8];
    uint32_t esc; /* bit j: column j is escaped */
};

/* The metadata of columns col .. col + n - 1 of a tile, from shared memory
 * (the whole run: two 16-byte loads). */
GQ_HD void gq_d0_cols_init(struct gq_d0cols *k, const struct gq_dec_ctx *c, const uint32_t *meta_sh,
                           uint32_t col, uint32_t n)
{
    const uint32_t es = c->l.esize;
    const uint32_t *mp = meta_sh + (es == 4 ? 2u : 1u) * col;
    struct gq_u32x4 m0 = {0, 0, 0, 0}, m1 = {0, 0, 0, 0};
    uint32_t j;
    if (n == 16u / es) {
        m0 = gq_load128(mp);
        m1 = gq_load128(mp + 4);
    } else { /* a constant trip count: m0 and m1 stay in registers */
        GQ_UNROLL
        for (j = 0; j < 8; j++)
            if (j < n * (es == 4 ? 2u : 1u))
                gq_chunk_set(j < 4 ? &m0 : &m1, j & 3u, 4, gq_load32(mp + j));
    }
    k->esc = 0;
    GQ_UNROLL
    for (j = 0; j < 8; j++) {
        uint32_t sb, mb;
        if (es == 4) { /* column j: words 2j, 2j + 1 */
            sb = gq_chunk_elem(j < 2 ? &m0 : &m1, (2u * j) & 3u, 4);
            mb = gq_chunk_elem(j < 2 ? &m0 : &m1, (2u * j + 1u) & 3u, 4);
        } else {
            mb = gq_chunk_elem(j < 4 ? &m0 : &m1, j & 3u, 4);
            sb = mb & 0xffffu;
            mb >>= 16;
        }
        k->esc |= (uint32_t)(j < n && sb == (es == 4 ? GQ_ESC_STEP32 : GQ_ESC_STEP16)) << j;
        k->step[j] = gq_raw_to_f32(sb, c->dtype);
        k->min[j] = gq_raw_to_f32(mb, c->dtype);
    }
}

/* Row r of columns col .. col + n - 1 (n <= V) of a decode tile, decoded:
 * the code words of the run are adjacent in shared memory. */
GQ_HD struct gq_u32x4 gq_d0_decode_run(const struct gq_dec_ctx *c, const struct gq_d0cols *k,
                                       const uint32_t *meta_sh, const uint32_t *codes_sh,
                                       const struct gq_d0shape *s, uint32_t col, uint32_t n, uint32_t r)
{
    const uint32_t es = c->l.esize, b = c->bits, sh_bits = r * b % 32u, qmask = (1u << b) - 1u;
    const uint32_t *row = codes_sh + r * b / 32u * s->TCP + col;
    struct gq_u32x4 out = {0, 0, 0, 0}, q0 = {0, 0, 0, 0}, q1 = {0, 0, 0, 0};
    uint32_t j;
    if (n == 16u / es) { /* the whole run: one or two 16-byte loads */
        q0 = gq_load128(row);
        if (es == 2)
            q1 = gq_load128(row + 4);
    } else { /* a constant trip count: q0 and q1 stay in registers */
        GQ_UNROLL
        for (j = 0; j < 8; j++)
            if (j < n)
                gq_chunk_set(j < 4 ? &q0 : &q1, j & 3u, 4, gq_load32(row + j));
    }
    GQ_UNROLL
    for (j = 0; j < 8; j++) {
        uint32_t v;
        if (j >= n)
            continue;
        if (k->esc & (1u << j)) { /* rare: the slot from the metadata and the first code bytes */
            uint32_t slot = es == 4 ? gq_load32(meta_sh + 2u * (col + j) + 1u)
                                    : (gq_load32(meta_sh + col + j) >> 16) |
                                          (gq_load32(codes_sh + col + j) << 16);
            v = slot < c->l.escape_capacity
                    ? gq_elem_raw(c->esc + (uint64_t)slot * c->group * es, r, c->dtype)
                    : gq_dtype_qnan(c->dtype);
        } else {
            v = gq_dequant_one((gq_chunk_elem(j < 4 ? &q0 : &q1, j & 3u, 4) >> sh_bits) & qmask,
                               k->step[j], k->min[j], c->dtype);
        }
        gq_chunk_set(&out, j, es, v);
    }
    return out;
}

/* Copies `words` words from global memory to shared memory, in 16-byte
 * units when both allow. */
static __device__ __forceinline__ void gq_words_load(uint32_t *sh, const uint32_t *g, uint32_t words)
{
    const uint32_t t = threadIdx.x, B = blockDim.x;
    uint32_t i;
    if (((uintptr_t)g & 15u) == 0 && words % 4u == 0)
        for (i = t; i < words / 4u; i += B)
            gq_store128(sh + 4u * i, gq_load_ro128(g + 4u * i));
    else
        for (i = t; i < words; i += B)
            gq_store32(sh + i, gq_load_ro32(g + i));
}

/* gq_dequantize for GQ_DIM_0 (elements [e0, e1) to dst), or, with `acc`,
 * gq_verify's comparison of the decoded tensor with the source at `src`
 * (e0 = 0, e1 = n_elems). Thread t decodes the run of V columns u = t % U of
 * rows t / U, + B / U, ... of each tile. */
static __device__ void gq_dequantize_dim0(const struct gq_dequant_params *k, const struct gq_dec_ctx *c,
                                          const struct gq_d0shape *s, const void *src,
                                          struct gq_vacc *acc)
{
    GQ_SHARED(struct gq_sh16, sh16, GQ_DIM0_SHARED_WORDS / 4u);
    uint32_t *const sh = (uint32_t *)sh16;
    const uint32_t t = threadIdx.x, B = blockDim.x, G = c->group, es = c->l.esize, V = 16u / es;
    const uint32_t U = s->TC / V, mw = es == 4 ? 2u : 1u, col = t % U * V, r0 = t / U;
    const uint64_t C = c->l.cols, rb0 = k->e0 / C / G, rb1 = (k->e1 - 1) / C / G + 1;
    const uint64_t col_tiles = (C + s->TC - 1) / s->TC, ntiles = (rb1 - rb0) * col_tiles;
    const void *io = acc ? src : k->dst;
    const uint64_t io_base = acc ? 0 : k->e0;
    const int vec = (((uintptr_t)io - io_base * es) & 15u) == 0 && (C * es) % 16u == 0;
    uint32_t *meta_sh = sh, *codes_sh = sh + s->TC * mw;
    uint64_t ti;
    for (ti = blockIdx.x; ti < ntiles; ti += gridDim.x) {
        uint64_t rb = rb0 + ti / col_tiles, c0 = ti % col_tiles * s->TC, g0 = rb * C + c0;
        uint32_t tc = C - c0 < s->TC ? (uint32_t)(C - c0) : s->TC, len = gq_group_len(&c->l, G, g0);
        uint32_t n = col < tc ? (tc - col < V ? tc - col : V) : 0u, r, j;
        struct gq_d0cols kc;
        if (ti != blockIdx.x)
            __syncthreads(); /* the last tile's readers are done */
        gq_words_load(meta_sh, (const uint32_t *)c->meta + (g0 - c->g_base) * mw, tc * mw);
        gq_d0_codes_move(codes_sh, (uint8_t *)(uintptr_t)(c->codes + (g0 - c->g_base) * c->l.code_stride),
                         tc * s->cw, s, 1);
        __syncthreads();
        gq_d0_cols_init(&kc, c, meta_sh, col, n);
        for (r = r0; n && r < len; r += B / U) {
            uint64_t e = (rb * G + r) * C + c0 + col;
            struct gq_u32x4 out;
            if (e + n <= k->e0 || e >= k->e1)
                continue;
            out = gq_d0_decode_run(c, &kc, meta_sh, codes_sh, s, col, n, r);
            if (acc) {
                struct gq_u32x4 x = {0, 0, 0, 0};
                if (vec && n == V)
                    x = gq_load_ro128((const uint8_t *)src + e * es);
                else
                    for (j = 0; j < n; j++)
                        gq_chunk_set(&x, j, es, gq_elem_raw(src, e + j, c->dtype));
                for (j = 0; j < n; j++)
                    gq_vacc_add(acc, gq_chunk_elem(&x, j, es), gq_chunk_elem(&out, j, es), c->dtype);
            } else if (vec && n == V && e >= k->e0 && e + V <= k->e1) {
                gq_store128((uint8_t *)k->dst + (e - k->e0) * es, out);
            } else {
                for (j = 0; j < n; j++)
                    if (e + j >= k->e0 && e + j < k->e1)
                        gq_elem_put(k->dst, e + j - k->e0, c->dtype, gq_chunk_elem(&out, j, es));
            }
        }
    }
}

#endif

/*
 * gq_kernels_host.c — host-side helpers that fill the kernels' parameter
 * structs and size their grids (contract: gq_kernels.h).
 */
#include "gq_kernels.h"

#include <string.h>

/* The parameters every kernel struct starts with, in the same order. */
#define GQ_FILL_COMMON(k, MAGIC, p, n_elems, escape_capacity)          \
    do {                                                               \
        memset((k), 0, sizeof *(k));                                   \
        (k)->magic = (MAGIC);                                          \
        (k)->bits = (p)->bits;                                         \
        (k)->group = (p)->group;                                       \
        (k)->dtype = (p)->dtype;                                       \
        (k)->axis = (p)->axis;                                         \
        (k)->escape_capacity = (escape_capacity);                      \
        (k)->cols = (p)->axis == GQ_DIM_0 ? (p)->cols : 0;             \
        (k)->n_elems = (n_elems);                                      \
    } while (0)

int gq_quant_params_init(struct gq_quant_params *k, const struct gq_params *p, uint64_t n_elems,
                         uint32_t escape_capacity, const void *src, void *buf)
{
    struct gq_layout l;
    if (gq_layout_init(&l, p, n_elems, escape_capacity) != GQ_OK)
        return GQ_ERR_PARAM;
    GQ_FILL_COMMON(k, GQ_QUANT_MAGIC, p, n_elems, escape_capacity);
    k->src = src;
    k->dst = buf;
    return GQ_OK;
}

int gq_dequant_params_init(struct gq_dequant_params *k, const struct gq_params *p, uint64_t n_elems,
                           uint32_t escape_capacity, const void *buf, uint64_t e0, uint64_t e1,
                           void *dst)
{
    struct gq_layout l;
    if (gq_layout_init(&l, p, n_elems, escape_capacity) != GQ_OK)
        return GQ_ERR_PARAM;
    if (e0 >= e1 || e1 > n_elems)
        return GQ_ERR_RANGE;
    GQ_FILL_COMMON(k, GQ_DEQUANT_MAGIC, p, n_elems, escape_capacity);
    k->e0 = e0;
    k->e1 = e1;
    k->g_base = 0;
    k->meta = (const uint8_t *)buf + l.meta_off;
    k->codes = (const uint8_t *)buf + l.code_off;
    k->esc = (const uint8_t *)buf + l.esc_off;
    k->dst = dst;
    return GQ_OK;
}

int gq_verify_params_init(struct gq_verify_params *k, const struct gq_params *p, uint64_t n_elems,
                          uint32_t escape_capacity, const void *src, const void *buf,
                          struct gq_verify_result *out)
{
    struct gq_layout l;
    if (gq_layout_init(&l, p, n_elems, escape_capacity) != GQ_OK)
        return GQ_ERR_PARAM;
    GQ_FILL_COMMON(k, GQ_VERIFY_MAGIC, p, n_elems, escape_capacity);
    k->src = src;
    k->buf = buf;
    k->out = out;
    return GQ_OK;
}

uint64_t gq_quant_items(const struct gq_quant_params *k)
{
    struct gq_params p = {k->bits, k->group, k->dtype, k->axis, k->cols};
    struct gq_layout l;
    if (gq_layout_init(&l, &p, k->n_elems, k->escape_capacity) != GQ_OK)
        return 0;
    return l.n_groups;
}

/* A thread per group, as for gq_quantize, up to GQ_VERIFY_MAX_BLOCKS blocks:
 * the kernel loops over the rest, and each block adds its sums into the
 * result with four atomics, so the grid bounds the atomics (4096). */
#define GQ_VERIFY_MAX_BLOCKS 1024u

uint64_t gq_verify_items(const struct gq_verify_params *k)
{
    struct gq_params p = {k->bits, k->group, k->dtype, k->axis, k->cols};
    struct gq_layout l;
    if (gq_layout_init(&l, &p, k->n_elems, k->escape_capacity) != GQ_OK)
        return 0;
    return l.n_groups < (uint64_t)GQ_VERIFY_MAX_BLOCKS * GQ_BLOCK ? l.n_groups
                                                                 : (uint64_t)GQ_VERIFY_MAX_BLOCKS * GQ_BLOCK;
}

/* GQ_DIM_LAST: one item of gq_dequant_unit() elements a thread. GQ_DIM_0:
 * a thread per group of the row blocks the range touches, as for
 * gq_quantize: a block's tile (kernels/gq_tile0.h) decodes up to GQ_BLOCK
 * columns of a row block, so a thread an element would start blocks that
 * find no tile. */
uint64_t gq_dequant_items(const struct gq_dequant_params *k)
{
    uint32_t K = gq_dequant_unit(k->axis, k->group);
    if (k->e0 >= k->e1)
        return 0;
    /* The fast shape (kernels/gq_fast.h): a warp decodes 32 groups, so a
     * thread a group. A thread an 8-element item would leave 7 warps of 8
     * idle, each still copying the launch's parameters into local memory
     * (an H200's profile: L2 88% busy, DRAM 33%). */
    if (gq_fast_params(k->axis, k->bits, k->group, k->dtype))
        return (k->e1 - 1) / GQ_FAST_G - k->e0 / GQ_FAST_G + 1;
    if (k->axis == GQ_DIM_0 && k->cols != 0 && k->group != 0)
        return ((k->e1 - 1) / k->cols / k->group - k->e0 / k->cols / k->group + 1) * k->cols;
    return (k->e1 + K - 1) / K - k->e0 / K;
}

/* Enough blocks to give every item a thread, capped so that huge tensors
 * loop inside the kernel instead of queueing millions of blocks. */
unsigned gq_launch_grid(uint64_t items)
{
    uint64_t blocks = (items + GQ_BLOCK - 1) / GQ_BLOCK;
    if (blocks == 0)
        blocks = 1;
    return blocks > 65535u ? 65535u : (unsigned)blocks;
}

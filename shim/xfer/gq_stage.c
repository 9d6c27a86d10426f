/* The data path of a compressed copy (see gq_stage.h). */
#include "xfer/gq_stage.h"

#include "base/gq_counters.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_launch.h"
#include "gpu/gq_staging.h"

#include <string.h>

size_t gq_stage_segment_max(void)
{
    /* From the configured staging, not this context's: a block offloaded
     * through one device is restored, or its buffer offloaded again, through
     * another (where less staging could be had, it goes zero-copy). */
    size_t slot = gq_staging_nominal_slot();
    return slot && slot < GQ_SEG_TARGET ? slot : GQ_SEG_TARGET;
}

/* The lane for a copy cut as g, locked and begun (its first stage after
 * the work queued on s so far); NULL when the copy must go zero-copy
 * (counted): no staging in this context, a segment bigger than a slot, or
 * the driver refused to join the program's stream to the lane. */
static struct gq_lane *lane_for(enum gq_lane_dir dir, CUstream s, const struct gq_segs *g)
{
    struct gq_lane *l = gq_lane_acquire(dir, s);
    if (l && (l->slot_size < g->max_bytes || gq_lane_begin(l, s) != CUDA_SUCCESS)) {
        gq_lane_release(l);
        l = NULL;
    }
    if (l)
        GQ_STAT_ADD(staged, 1);
    else
        GQ_STAT_ADD(unstaged, 1);
    return l;
}

/* The driver refused part of a staged copy: let what was queued on the
 * lane finish before the caller gives the block or the slot to anything
 * else (a rare error path; the one place here that waits). */
static CUresult drained(struct gq_lane *l, CUresult r)
{
    if (r != CUDA_SUCCESS) {
        gq_drv()->cuStreamSynchronize(l->first);
        gq_drv()->cuStreamSynchronize(l->second);
    }
    return r;
}

/* Queue the spill of segment sg after its quantize into `block` on stream
 * st; a refused spill clears *spill (the caller then checks on the host). */
static void spill(CUstream st, CUdeviceptr block, CUdeviceptr from, CUdeviceptr spill_dst,
                  const struct gq_segs *g, const struct gq_seg *sg, int *spilled)
{
    if (*spilled && gq_launch_spill(st, block, from, spill_dst + sg->e0 * g->esize,
                                    sg->n * g->esize) != CUDA_SUCCESS)
        *spilled = 0;
}

/* Zero-copy offload: the kernels write the mapped block, on s. */
static CUresult offload_direct(CUstream s, CUdeviceptr src, const struct gq_segs *g,
                               const struct gq_block *b, CUdeviceptr spill_dst, CUevent ready,
                               int *spilled)
{
    CUresult r = CUDA_SUCCESS;
    for (uint32_t i = 0; r == CUDA_SUCCESS && i < g->n_segs; i++) {
        struct gq_seg sg;
        gq_segs_at(g, i, &sg);
        /* Nothing else uses the block yet: a CPU store zeroes the words. */
        memset(b->host + sg.off + GQ_HDR_ESCAPE_COUNT_OFF, 0, GQ_HDR_ZEROED_BYTES);
        CUdeviceptr from = src + sg.e0 * g->esize;
        r = gq_launch_quantize(s, from, &g->params, &sg.l, b->dev + sg.off);
        if (r == CUDA_SUCCESS)
            spill(s, b->dev + sg.off, from, spill_dst, g, &sg, spilled);
    }
    if (r != CUDA_SUCCESS)
        return r;
    /* Without `ready`, restores could not wait for the block: it must be
     * written before anything can see the entry. */
    if (gq_drv()->cuEventRecord(ready, s) != CUDA_SUCCESS)
        return gq_drv()->cuStreamSynchronize(s);
    return CUDA_SUCCESS;
}

/* Staged offload through lane l: stage 1 quantizes a segment into a slot,
 * stage 2 copies the slot to its place in the block. */
static CUresult offload_staged(struct gq_lane *l, CUstream s, CUdeviceptr src,
                               const struct gq_segs *g, const struct gq_block *b,
                               CUdeviceptr spill_dst, CUevent ready, int *spilled)
{
    const struct gq_drv *d = gq_drv();
    CUresult r = CUDA_SUCCESS;
    for (uint32_t i = 0; r == CUDA_SUCCESS && i < g->n_segs; i++) {
        struct gq_seg sg;
        unsigned k;
        gq_segs_at(g, i, &sg);
        CUdeviceptr from = src + sg.e0 * g->esize;
        r = gq_lane_take(l, &k);
        if (r == CUDA_SUCCESS)
            r = d->cuMemsetD8Async(l->slot[k] + GQ_HDR_ESCAPE_COUNT_OFF, 0, GQ_HDR_ZEROED_BYTES, l->first);
        if (r == CUDA_SUCCESS)
            r = gq_launch_quantize(l->first, from, &g->params, &sg.l, l->slot[k]);
        if (r == CUDA_SUCCESS)
            spill(l->first, l->slot[k], from, spill_dst, g, &sg, spilled);
        if (r == CUDA_SUCCESS)
            r = gq_lane_handoff(l, k);
        if (r == CUDA_SUCCESS)
            r = d->cuMemcpyDtoHAsync_v2(b->host + sg.off, l->slot[k], (size_t)sg.l.total,
                                        l->second);
        if (r == CUDA_SUCCESS)
            r = gq_lane_emptied(l, k);
    }
    return r == CUDA_SUCCESS ? gq_lane_finish(l, s, ready) : r;
}

CUresult gq_stage_offload(CUstream s, CUdeviceptr src, const struct gq_segs *g,
                          const struct gq_block *b, CUdeviceptr spill_dst, CUevent ready,
                          int *spilled)
{
    *spilled = spill_dst != 0;
    struct gq_lane *l = lane_for(GQ_LANE_OFFLOAD, s, g);
    if (!l)
        return offload_direct(s, src, g, b, spill_dst, ready, spilled);
    CUresult r = drained(l, offload_staged(l, s, src, g, b, spill_dst, ready, spilled));
    gq_lane_release(l);
    return r;
}

/* The part [*a, *z) of elements [e0, e1) that segment sg holds. */
static void clip(const struct gq_seg *sg, uint64_t e0, uint64_t e1, uint64_t *a, uint64_t *z)
{
    *a = e0 > sg->e0 ? e0 : sg->e0;
    *z = e1 < sg->e0 + sg->n ? e1 : sg->e0 + sg->n;
}

static CUresult restore_direct(CUstream s, const struct gq_segs *g, const struct gq_block *b,
                               uint64_t e0, uint64_t e1, CUdeviceptr dst)
{
    CUresult r = CUDA_SUCCESS;
    for (uint32_t i = gq_segs_index(g, e0); r == CUDA_SUCCESS && i <= gq_segs_index(g, e1 - 1);
         i++) {
        struct gq_seg sg;
        uint64_t a, z;
        gq_segs_at(g, i, &sg);
        clip(&sg, e0, e1, &a, &z);
        r = gq_launch_dequantize(s, b->dev + sg.off, &g->params, &sg.l, a - sg.e0, z - sg.e0,
                                 dst + (a - e0) * g->esize);
    }
    return r;
}

/* Staged restore through lane l: stage 1 copies a segment into a slot,
 * stage 2 dequantizes the slot into the destination. */
static CUresult restore_staged(struct gq_lane *l, CUstream s, const struct gq_segs *g,
                               const struct gq_block *b, uint64_t e0, uint64_t e1,
                               CUdeviceptr dst)
{
    const struct gq_drv *d = gq_drv();
    CUresult r = CUDA_SUCCESS;
    for (uint32_t i = gq_segs_index(g, e0); r == CUDA_SUCCESS && i <= gq_segs_index(g, e1 - 1);
         i++) {
        struct gq_seg sg;
        uint64_t a, z;
        unsigned k;
        gq_segs_at(g, i, &sg);
        clip(&sg, e0, e1, &a, &z);
        r = gq_lane_take(l, &k);
        if (r == CUDA_SUCCESS)
            r = d->cuMemcpyHtoDAsync_v2(l->slot[k], b->host + sg.off, (size_t)sg.l.total,
                                        l->first);
        if (r == CUDA_SUCCESS)
            r = gq_lane_handoff(l, k);
        if (r == CUDA_SUCCESS)
            r = gq_launch_dequantize(l->second, l->slot[k], &g->params, &sg.l, a - sg.e0,
                                     z - sg.e0, dst + (a - e0) * g->esize);
        if (r == CUDA_SUCCESS)
            r = gq_lane_emptied(l, k);
    }
    return r == CUDA_SUCCESS ? gq_lane_finish(l, s, NULL) : r;
}

CUresult gq_stage_restore(CUstream s, const struct gq_segs *g, const struct gq_block *b,
                          uint64_t e0, uint64_t e1, CUdeviceptr dst)
{
    if (e0 >= e1)
        return CUDA_SUCCESS;
    struct gq_lane *l = lane_for(GQ_LANE_RESTORE, s, g);
    if (!l)
        return restore_direct(s, g, b, e0, e1, dst);
    CUresult r = drained(l, restore_staged(l, s, g, b, e0, e1, dst));
    gq_lane_release(l);
    return r;
}

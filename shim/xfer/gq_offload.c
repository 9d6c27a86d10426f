/*
 * Offloads (see gq_xfer.h): a device-to-host copy of a registered tensor,
 * quantized on the GPU into a block of the store; and the CPU's own
 * offload at a first upload (upload=compress).
 */
#include "xfer/gq_xfer.h"

#include "base/gq_config.h"
#include "base/gq_foreign.h"
#include "base/gq_log.h"
#include "base/gq_page.h"
#include "base/gq_regions.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_launch.h"
#include "gpu/gq_modules.h"
#include "gpu/gq_ptr.h"
#include "host/gq_hostmem.h"
#include "store/gq_entries.h"
#include "xfer/gq_plan.h"
#include "xfer/gq_stage.h"
#include "xfer/gq_verify.h"

/* Offload into a buffer the program owns: a stream callback decodes the
 * block into it, so the program reads what a restore would deliver. */
static struct gq_verdict finish_program_owned(const struct gq_drv *d, struct gq_entry *e,
                                              CUstream s, unsigned flags, int spilled,
                                              uint32_t *retry_capacity)
{
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED); /* the callback's */
    e->waited = (flags & GQ_COPY_SYNC) || !spilled;
    if (d->cuLaunchHostFunc(s, gq_entry_decode_cb, e) != CUDA_SUCCESS) {
        d->cuStreamSynchronize(s);
        gq_entry_decode_cb(e);
    }
    /* Settles wait for this event before reading the host buffer (restores
     * wait for `ready`, recorded before the decode): when it cannot be
     * recorded, the work must be over before the entry is seen. */
    if (d->cuEventRecord(e->done, s) != CUDA_SUCCESS)
        d->cuStreamSynchronize(s);
    gq_entries_publish(e);
    CUresult status = CUDA_SUCCESS;
    /* A synchronous copy, or one into pageable memory (which CUDA completes
     * before returning), returns with the data in place; without a spill we
     * wait too, to catch an escape overflow while the source is intact. */
    if ((flags & GQ_COPY_SYNC) || !spilled) {
        status = d->cuStreamSynchronize(s);
        if (status == CUDA_SUCCESS && !spilled &&
            __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == GQ_ENTRY_FAILED) {
            /* Escapes overflowed and no spill could reach this buffer: the
             * source is still intact (the copy has not returned): quantize
             * again with room for them all, or copy raw. */
            int foreign = gq_segs_foreign(&e->segs, e->block.host);
            if (!foreign)
                *retry_capacity = gq_segs_max_escapes(&e->segs, e->block.host);
            gq_entries_discard((void *)e->start, e->len);
            return gq_verdict_pass(foreign ? GQ_PASS_FOREIGN : GQ_PASS_ESCAPES);
        }
    }
    return gq_verdict_done(status);
}

/* The block of an entry in a shim-owned range becomes the only copy of its
 * bytes: bytes on pages the tensor shares with other data stay in memory
 * (decoded, as a restore would deliver them); whole pages are dropped and
 * fault back in decoded. */
static void hold_owned(struct gq_entry *e)
{
    uintptr_t lo = e->start, hi = e->start + e->len, es = e->segs.esize;
    /* Older entries overlapping this range: keep their bytes outside it. */
    gq_entries_drop((void *)lo, e->len);
    uintptr_t plo = gq_page_up(lo) < hi ? gq_page_up(lo) : hi;
    uintptr_t phi = gq_page_down(hi) > plo ? gq_page_down(hi) : plo;
    if (plo > lo)
        gq_segs_decode_range(&e->segs, e->block.host, 0, (plo - lo) / es, (void *)lo);
    if (hi > phi)
        gq_segs_decode_range(&e->segs, e->block.host, (phi - lo) / es, (hi - lo) / es,
                             (void *)phi);
    __atomic_store_n(&e->state, GQ_ENTRY_OWNED, __ATOMIC_RELEASE);
    gq_entries_publish(e);
    gq_hostmem_release_pages((void *)lo, e->len);
}


/* Offload into a buffer the shim owns (gq_hostmem.h): only the block keeps
 * the data; the buffer's whole pages are dropped and fault back in decoded.
 * The copy completes before returning, as CUDA's copies into pageable memory
 * do: that is when an escape overflow can still fall back to the source. */
static struct gq_verdict finish_owned(const struct gq_drv *d, struct gq_entry *e, CUstream s,
                                      uint32_t *retry_capacity)
{
    CUresult r = d->cuEventRecord(e->done, s);
    /* Wait even when the record failed: the block goes back to the store
     * on return, and the GPU must be done writing it. */
    CUresult rs = d->cuStreamSynchronize(s);
    if (r == CUDA_SUCCESS)
        r = rs;
    if (r != CUDA_SUCCESS) {
        gq_plan_warn_refused("offload", e->len, r);
        return gq_verdict_pass(GQ_PASS_LAUNCH);
    }
    uint64_t escaped;
    if (gq_segs_overflowed(&e->segs, e->block.host, &escaped)) { /* the source is intact */
        if (!gq_segs_foreign(&e->segs, e->block.host)) {
            /* The headers counted every escaped group: a second quantize
             * with that many slots keeps the tensor compressed. */
            *retry_capacity = gq_segs_max_escapes(&e->segs, e->block.host);
            return gq_verdict_pass(GQ_PASS_ESCAPES);
        }
        gq_foreign_note(e->rule, e->len);
        return gq_verdict_pass(GQ_PASS_FOREIGN);
    }
    GQ_STAT_ADD(escaped_groups, escaped);
    hold_owned(e);
    return gq_verdict_done(CUDA_SUCCESS);
}

/* GQSHIM_VERIFY: each segment of the block against its part of the source,
 * once the block is complete in s's order. */
static void verify_segments(CUstream s, CUdeviceptr src, const struct gq_segs *g, CUdeviceptr block,
                            const struct gq_rule *rule, unsigned tensor)
{
    for (uint32_t i = 0; i < g->n_segs; i++) {
        struct gq_seg sg;
        gq_segs_at(g, i, &sg);
        gq_verify_offload(s, src + sg.e0 * g->esize, &g->params, &sg.l, block + sg.off, rule,
                          tensor);
    }
}

static struct gq_verdict compress(const struct gq_drv *d, void *dst, const void *src, size_t count,
                                  CUstream s, unsigned flags, int owned,
                                  const struct gq_region *rp, struct gq_segs *gp, int *reused,
                                  uint32_t *retry_capacity);

/* The offload of a registered tensor, compressed if it can be. */
static struct gq_verdict offload(void *dst, const void *src, size_t count, CUstream s,
                                 unsigned flags, int owned, int *reused)
{
    struct gq_region reg;
    const struct gq_drv *d = gq_drv();
    if (!gq_regions_lookup(GQ_ON_DEV, src, count, &reg) &&
        !gq_regions_lookup(GQ_ON_HOST, dst, count, &reg))
        return gq_verdict_pass(GQ_PASS_NO_RULE);
    /* A wrong kind, a host source, a device destination, a range past the
     * source's allocation, memory of another device: the real call handles
     * it (and reports what is wrong). */
    if (!d || !gq_ctx_bind() || !gq_ptr_device_range(src, count) || gq_ptr_is_device(dst))
        return gq_verdict_pass(GQ_PASS_DRIVER);
    struct gq_segs g;
    /* Few escape slots (1/1024 of the groups, plus 8): the escape area
     * crosses PCIe whether used or not (a DMA's size is fixed when it is
     * queued). Every offload has an exact way out of an overflow: one that
     * completes before returning quantizes again with room for all, and an
     * asynchronous one into mapped pinned memory is copied raw by the spill
     * kernel. */
    enum gq_pass_reason why;
    if (!gq_plan(reg.rule, src, dst, count, 1, &g, &why))
        return gq_verdict_pass(why);

    if (gq_stream_capturing(s))
        return gq_verdict_pass(GQ_PASS_CAPTURING);
    /* No kernels in this context (their load failed, and said so once). */
    if (!gq_drv_kernel(GQ_KFN_QUANTIZE))
        return gq_verdict_pass(GQ_PASS_DRIVER);
    uint32_t retry_capacity = 0;
    struct gq_verdict v = compress(d, dst, src, count, s, flags, owned, &reg, &g, reused,
                                   &retry_capacity);
    if (retry_capacity) {
        /* Escapes overflowed in an offload that waited for its quantize
         * (the source is intact): once more, with room for them all. */
        gq_segs_widen(&g, retry_capacity);
        GQ_STAT_ADD(escape_retries, 1);
        *reused = 0;
        uint32_t again = 0;
        /* This copy has waited already: it may wait for the store too. */
        v = compress(d, dst, src, count, s, flags | GQ_COPY_SYNC, owned, &reg, &g, reused,
                     &again);
    }
    return v;
}

/* Quantize the tensor cut as g into a block of the store and finish the
 * offload; *retry_capacity set: escapes overflowed before the copy
 * returned (the source is intact), and this many slots per segment would
 * hold them. */
static struct gq_verdict compress(const struct gq_drv *d, void *dst, const void *src, size_t count,
                                  CUstream s, unsigned flags, int owned,
                                  const struct gq_region *rp, struct gq_segs *gp, int *reused,
                                  uint32_t *retry_capacity)
{
    struct gq_region reg = *rp;
    struct gq_segs g = *gp;
    CUdeviceptr dst_dev = owned ? 0 : gq_ptr_device_view(dst);

    /* The same buffer offloaded again takes its old block: nothing to
     * allocate. */
    struct gq_block b;
    *reused = gq_entries_reuse_block(dst, count, &g, s, &b);
    /* A copy that completes before returning may wait for the store to
     * grow; an asynchronous one goes raw meanwhile. */
    int may_wait = owned || (flags & GQ_COPY_SYNC);
    enum gq_store_status st = *reused ? GQ_STORE_OK
                                      : gq_plan_block((size_t)g.total, s, may_wait, &b);
    if (st == GQ_STORE_OVER_BUDGET)
        gq_warn_once("the compressed store is full (GQSHIM_POOL_MAX): offloads that do not "
                     "fit are copied uncompressed (GQSHIM_STATS counts them)");
    if (st != GQ_STORE_OK)
        return gq_verdict_pass(st == GQ_STORE_OVER_BUDGET ? GQ_PASS_BUDGET
                               : st == GQ_STORE_GROWING   ? GQ_PASS_GROWING
                                                          : GQ_PASS_DRIVER);

    struct gq_entry *e = gq_entry_new((uintptr_t)dst, count, &g, &b, reg.rule);
    /* Where the GPU can reach the host buffer, a spill kernel keeps an
     * overflowed offload exact without waiting; elsewhere we wait below. */
    int spilled = 0;
    CUresult r = !e ? CUDA_ERROR_OUT_OF_MEMORY
                    : gq_stage_offload(s, (CUdeviceptr)src, &g, &b, dst_dev, e->ready, &spilled);
    if (r != CUDA_SUCCESS) {
        /* Nothing usable was queued (a kernel that did run wrote only the
         * block): release the block after the stream drains, copy raw. */
        gq_plan_warn_refused("offload", count, r);
        d->cuStreamSynchronize(s);
        if (e)
            gq_entry_put(e); /* and the block with it */
        else
            gq_store_release(&b, NULL);
        return gq_verdict_pass(GQ_PASS_LAUNCH);
    }
    unsigned tensor = gq_stats_tensor(reg.rule, (uintptr_t)dst, count);
    verify_segments(s, (CUdeviceptr)src, &g, b.dev, reg.rule, tensor); /* GQSHIM_VERIFY */
    struct gq_verdict v = owned ? finish_owned(d, e, s, retry_capacity)
                                : finish_program_owned(d, e, s, flags, spilled, retry_capacity);
    if (v.done) {
        gq_stats_offload(reg.rule, count, g.total);
        gq_stats_tensor_copy(tensor, 0, count, g.total);
    }
    gq_entry_put(e);
    return v;
}

struct gq_verdict gq_offload(void *dst, const void *src, size_t count, CUstream s, unsigned flags)
{
    int owned = gq_hostmem_owned(dst, count), reused = 0;
    struct gq_verdict v = offload(dst, src, count, s, flags, owned, &reused);
    /* The real copy replaces these bytes. A buffer the program owns may be
     * written by DMA, which write tracking cannot see: forget its entries
     * before it runs (its host bytes hold the decoded data, so nothing is
     * lost even if the real call then fails). A compressed offload replaced
     * them already. In a shim-owned buffer the entries may hold the only
     * copy: they stay until a compressed offload replaces them (hold_owned),
     * and a real copy writes through page faults, which tracking sees. */
    if (!owned && !v.done)
        gq_entries_drop(dst, count);
    /* An entry whose block a failed offload took holds nothing now; the
     * real copy rewrites all of its bytes. */
    if (owned && reused && !v.done)
        gq_entries_discard(dst, count);
    return v;
}

/* upload=compress: the first upload of a registered host range compresses it
 * on the CPU (the data are in host memory already; the GPU would need a raw
 * upload first), so that this upload and every later one move the block and
 * deliver the same dequantized values. The host view becomes what the
 * uploads deliver; a shim-owned range then drops its pages. 1 when an entry
 * now holds [src, src+count). */
int gq_upload_compress(const void *src, size_t count)
{
    struct gq_region reg;
    if (!gq_regions_lookup(GQ_ON_HOST, src, count, &reg) || !reg.rule->upload_compress)
        return 0;
    struct gq_segs g;
    enum gq_pass_reason why;
    if (!gq_plan(reg.rule, src, src, count, 1, &g, &why) || !gq_drv())
        return 0;
    struct gq_block b;
    struct gq_layout whole;
    if (gq_layout_init(&whole, &g.params, g.n_elems, 0) != GQ_OK ||
        gq_foreign_scan(&g.params, &whole, src)) { /* not of the rule's dtype: upload raw */
        gq_foreign_note(reg.rule, count);
        return 0;
    }
    if (gq_plan_block((size_t)g.total, NULL, 1, &b) != GQ_STORE_OK)
        return 0;
    if (gq_segs_encode(&g, src, b.host) != GQ_OK) {
        /* Escapes overflowed: once more with room for all the headers
         * counted, or upload raw. */
        uint32_t need = gq_segs_max_escapes(&g, b.host);
        gq_store_release(&b, NULL);
        gq_segs_widen(&g, need);
        GQ_STAT_ADD(escape_retries, 1);
        if (gq_plan_block((size_t)g.total, NULL, 1, &b) != GQ_STORE_OK)
            return 0;
        if (gq_segs_encode(&g, src, b.host) != GQ_OK) {
            gq_store_release(&b, NULL);
            return 0;
        }
    }
    struct gq_entry *e = gq_entry_new((uintptr_t)src, count, &g, &b, reg.rule);
    if (!e) {
        gq_store_release(&b, NULL);
        return 0;
    }
    gq_entries_drop(src, count);
    if (gq_hostmem_owned(src, count)) {
        uint64_t escaped;
        gq_segs_overflowed(&g, b.host, &escaped);
        GQ_STAT_ADD(escaped_groups, escaped);
        hold_owned(e);
    } else {
        __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
        gq_entry_decode_cb(e); /* host view := decoded values, tracked */
        gq_entries_publish(e);
    }
    gq_entry_put(e);
    return 1;
}


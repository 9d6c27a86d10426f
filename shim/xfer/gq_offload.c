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
#include "base/gq_pool.h"
#include "base/gq_regions.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_launch.h"
#include "gpu/gq_modules.h"
#include "gpu/gq_ptr.h"
#include "host/gq_hostmem.h"
#include "store/gq_entries.h"
#include "xfer/gq_plan.h"
#include "xfer/gq_verify.h"

#include "gq_codec.h"

#include <string.h>

/* Offload into a buffer the program owns: a stream callback decodes the
 * block into it, so the program reads what a restore would deliver. */
static struct gq_verdict finish_program_owned(const struct gq_drv *d, struct gq_entry *e,
                                              CUstream s, unsigned flags, int spilled)
{
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED); /* the callback's */
    e->waited = (flags & GQ_COPY_SYNC) || !spilled;
    if (d->cuLaunchHostFunc(s, gq_entry_decode_cb, e) != CUDA_SUCCESS) {
        d->cuStreamSynchronize(s);
        gq_entry_decode_cb(e);
    }
    /* Restores on other streams wait for this event before reading the
     * block, and settles wait for it before reading the host buffer: when it
     * cannot be recorded, the work must be over before the entry is seen. */
    if (d->cuEventRecord(e->ready, s) != CUDA_SUCCESS)
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
             * source is still intact (the copy has not returned): copy raw. */
            gq_entries_discard((void *)e->start, e->len);
            return gq_verdict_pass(gq_foreign_refused((const struct gq_header *)e->block.host)
                                       ? GQ_PASS_FOREIGN
                                       : GQ_PASS_ESCAPES);
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
    uintptr_t lo = e->start, hi = e->start + e->len, es = e->layout.esize;
    /* Older entries overlapping this range: keep their bytes outside it. */
    gq_entries_drop((void *)lo, e->len);
    uintptr_t plo = gq_page_up(lo) < hi ? gq_page_up(lo) : hi;
    uintptr_t phi = gq_page_down(hi) > plo ? gq_page_down(hi) : plo;
    if (plo > lo)
        gq_decode_range(e->block.host, e->block.size, 0, (plo - lo) / es, (void *)lo);
    if (hi > phi)
        gq_decode_range(e->block.host, e->block.size, (phi - lo) / es, (hi - lo) / es, (void *)phi);
    __atomic_store_n(&e->state, GQ_ENTRY_OWNED, __ATOMIC_RELEASE);
    gq_entries_publish(e);
    gq_hostmem_release_pages((void *)lo, e->len);
}


/* Offload into a buffer the shim owns (gq_hostmem.h): only the block keeps
 * the data; the buffer's whole pages are dropped and fault back in decoded.
 * The copy completes before returning, as CUDA's copies into pageable memory
 * do: that is when an escape overflow can still fall back to the source. */
static struct gq_verdict finish_owned(const struct gq_drv *d, struct gq_entry *e, CUstream s)
{
    CUresult r = d->cuEventRecord(e->ready, s);
    /* Wait even when the record failed: the block goes back to the store
     * on return, and the quantize kernel must be done writing it. */
    CUresult rs = d->cuStreamSynchronize(s);
    if (r == CUDA_SUCCESS)
        r = rs;
    const struct gq_header *h = (const struct gq_header *)e->block.host;
    if (r != CUDA_SUCCESS) {
        gq_plan_warn_refused("offload", e->len, r);
        return gq_verdict_pass(GQ_PASS_LAUNCH);
    }
    if (h->overflow) { /* the source is intact: copy raw */
        if (!gq_foreign_refused(h))
            return gq_verdict_pass(GQ_PASS_ESCAPES);
        gq_foreign_note(e->rule, e->len);
        return gq_verdict_pass(GQ_PASS_FOREIGN);
    }
    GQ_STAT_ADD(escaped_groups, h->escape_count);
    hold_owned(e);
    return gq_verdict_done(CUDA_SUCCESS);
}

struct gq_verdict gq_offload(void *dst, const void *src, size_t count, CUstream s, unsigned flags)
{
    struct gq_region reg;
    const struct gq_drv *d = gq_drv();
    int owned = gq_hostmem_owned(dst, count);
    /* The copy replaces these bytes. A buffer the program owns may be written
     * by DMA, which write tracking cannot see: forget its entries now (its
     * host bytes hold the decoded data, so nothing is lost even if the real
     * call then fails). In a shim-owned buffer the entries may hold the only
     * copy: they stay until a compressed offload replaces them (hold_owned),
     * and a real copy writes through page faults, which tracking sees. */
    if (!owned)
        gq_entries_drop(dst, count);
    if (!gq_regions_lookup(GQ_ON_DEV, src, count, &reg) &&
        !gq_regions_lookup(GQ_ON_HOST, dst, count, &reg))
        return gq_verdict_pass(GQ_PASS_NO_RULE);
    /* A wrong kind, a host source, a device destination, a range past the
     * source's allocation, memory of another device: the real call handles
     * it (and reports what is wrong). */
    if (!d || !gq_ctx_bind() || !gq_ptr_device_range(src, count) || gq_ptr_is_device(dst))
        return gq_verdict_pass(GQ_PASS_DRIVER);
    struct gq_params p;
    struct gq_layout l;
    /* An owned offload completes before returning and falls back to the
     * source on an escape overflow, so it reserves few escape slots; an
     * asynchronous one keeps the format's default. */
    enum gq_pass_reason why;
    if (!gq_plan(reg.rule, src, dst, count, owned, &p, &l, &why))
        return gq_verdict_pass(why);

    if (gq_stream_capturing(s))
        return gq_verdict_pass(GQ_PASS_CAPTURING);
    /* No kernels in this context (their load failed, and said so once). */
    if (!gq_drv_kernel(GQ_KFN_QUANTIZE))
        return gq_verdict_pass(GQ_PASS_DRIVER);
    CUdeviceptr dst_dev = owned ? 0 : gq_ptr_device_view(dst);

    struct gq_block b;
    enum gq_store_status st = gq_plan_block((size_t)l.total, &b);
    if (st == GQ_STORE_OVER_BUDGET)
        gq_warn_once("the compressed store is full (GQSHIM_POOL_MAX): offloads that do not "
                     "fit are copied uncompressed (GQSHIM_STATS counts them)");
    if (st != GQ_STORE_OK)
        return gq_verdict_pass(st == GQ_STORE_OVER_BUDGET ? GQ_PASS_BUDGET : GQ_PASS_DRIVER);
    memset(b.host + GQ_HDR_ESCAPE_COUNT_OFF, 0, GQ_HDR_ZEROED_BYTES);

    CUresult r = gq_launch_quantize(s, (CUdeviceptr)src, &p, &l, b.dev);
    /* Where the GPU can reach the host buffer, a spill kernel keeps an
     * overflowed offload exact without waiting; elsewhere we wait below. */
    int spilled = r == CUDA_SUCCESS && dst_dev &&
                  gq_launch_spill(s, b.dev, (CUdeviceptr)src, dst_dev, count) == CUDA_SUCCESS;
    struct gq_entry *e = NULL;
    if (r == CUDA_SUCCESS) {
        e = gq_entry_new((uintptr_t)dst, count, &p, &l, &b, reg.rule);
        if (!e)
            r = CUDA_ERROR_OUT_OF_MEMORY;
    }
    if (r != CUDA_SUCCESS) {
        /* Nothing usable was queued (a kernel that did run wrote only the
         * block): release the block after the stream drains, copy raw. */
        gq_plan_warn_refused("offload", count, r);
        d->cuStreamSynchronize(s);
        gq_store_release(&b, NULL);
        return gq_verdict_pass(GQ_PASS_LAUNCH);
    }
    unsigned tensor = gq_stats_tensor(reg.rule, (uintptr_t)dst, count);
    gq_verify_offload(s, (CUdeviceptr)src, &p, &l, b.dev, reg.rule, tensor); /* GQSHIM_VERIFY */
    struct gq_verdict v = owned ? finish_owned(d, e, s)
                                : finish_program_owned(d, e, s, flags, spilled);
    if (v.done) {
        gq_stats_offload(reg.rule, count, l.esc_off);
        gq_stats_tensor_copy(tensor, 0, count, l.esc_off);
    }
    gq_entry_put(e);
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
    struct gq_params p;
    struct gq_layout l;
    enum gq_pass_reason why;
    if (!gq_plan(reg.rule, src, src, count, 1, &p, &l, &why) || !gq_drv())
        return 0;
    struct gq_block b;
    if (gq_foreign_scan(&p, &l, src)) { /* not of the rule's dtype: upload raw */
        gq_foreign_note(reg.rule, count);
        return 0;
    }
    if (gq_plan_block((size_t)l.total, &b) != GQ_STORE_OK)
        return 0;
    if (gq_pool_encode(&p, src, l.n_elems, l.escape_capacity, b.host, b.size) != GQ_OK) {
        gq_store_release(&b, NULL); /* escapes overflowed: upload raw */
        return 0;
    }
    struct gq_entry *e = gq_entry_new((uintptr_t)src, count, &p, &l, &b, reg.rule);
    if (!e) {
        gq_store_release(&b, NULL);
        return 0;
    }
    gq_entries_drop(src, count);
    if (gq_hostmem_owned(src, count)) {
        GQ_STAT_ADD(escaped_groups, ((const struct gq_header *)b.host)->escape_count);
        hold_owned(e);
    } else {
        __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
        gq_entry_decode_cb(e); /* host view := decoded values, tracked */
        gq_entries_publish(e);
    }
    gq_entry_put(e);
    return 1;
}


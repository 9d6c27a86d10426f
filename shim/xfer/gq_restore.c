/* Restores (see gq_xfer.h): a host-to-device copy served from a block. */
#include "xfer/gq_xfer.h"

#include "base/gq_page.h"
#include "base/gq_regions.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_modules.h"
#include "gpu/gq_ptr.h"
#include "host/gq_hostmem.h"
#include "host/gq_wtrack.h"
#include "store/gq_entries.h"
#include "xfer/gq_plan.h"
#include "xfer/gq_stage.h"

/* Which part [*lo, *hi) of the copy [a, end) the block may serve, or why it
 * may serve none. Only whole pages inside the entry are write-tracked, so
 * bytes on its edge pages travel raw (they hold what the program sees). */
static int restorable(const struct gq_entry *e, int state, uintptr_t a, uintptr_t end,
                      uintptr_t *lo, uintptr_t *hi, enum gq_pass_reason *why)
{
    uintptr_t e_end = e->start + e->len;
    int whole = a == e->start && end == e_end;
    *lo = a;
    *hi = end;
    *why = GQ_PASS_ALIGN;
    if ((a - e->start) % e->segs.esize || (end - a) % e->segs.esize)
        return 0;
    if (e->params.axis == GQ_DIM_0 && !whole)
        return 0; /* rows of a dim=0 entry decode whole */
    if (state == GQ_ENTRY_PENDING)
        return 1; /* nothing decoded to the host yet: all from the block */
    *why = GQ_PASS_NOT_HELD;
    if (state != GQ_ENTRY_TRACKED && state != GQ_ENTRY_OWNED)
        return 0;
    uintptr_t ilo = gq_page_up(e->start), ihi = gq_page_down(e_end);
    *why = GQ_PASS_ALIGN;
    if (e->params.axis == GQ_DIM_0 && (ilo != e->start || ihi != e_end))
        return 0;
    *lo = a > ilo ? a : ilo;
    *hi = end < ihi ? end : ihi;
    *why = GQ_PASS_SMALL;
    if (*hi <= *lo)
        return 0;
    int clean = state == GQ_ENTRY_OWNED ? gq_hostmem_clean_owned((void *)*lo, *hi - *lo)
                                        : gq_wtrack_clean((void *)*lo, *hi - *lo);
    *why = GQ_PASS_WRITTEN;
    return clean;
}

struct gq_verdict gq_restore(void *dst, const void *src, size_t count, CUstream s, unsigned flags)
{
    struct gq_entry *e = NULL;
    enum gq_lookup found = gq_entries_lookup(src, count, &e);
    if (found == GQ_LOOKUP_NONE && gq_upload_compress(src, count))
        found = gq_entries_lookup(src, count, &e);
    const struct gq_drv *d = gq_drv();
    /* A raw copy from pinned memory reads it when it runs, in stream order:
     * the stream can wait for a queued offload's decode. From pageable
     * memory the runtime reads at the call: then the caller waits. */
    CUstream settle_on = d && gq_ptr_device_view(src) ? s : NULL;
    if (found != GQ_LOOKUP_ONE) {
        /* Raw bytes are right once every overlapping offload has decoded. */
        gq_entries_settle(src, count, settle_on);
        if (found == GQ_LOOKUP_SPANS)
            return gq_verdict_pass(GQ_PASS_SPANS);
        /* Memory no rule names and that holds no compressed copy is "not a
         * registered tensor", whether or not other entries happen to lie
         * near it: identical uploads get the same reason. */
        struct gq_region reg;
        return gq_verdict_pass(gq_regions_lookup(GQ_ON_HOST, src, count, &reg) ? GQ_PASS_NOT_HELD
                                                                                : GQ_PASS_NO_RULE);
    }
    int state = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
    uintptr_t a = (uintptr_t)src, end = a + count, lo, hi;
    enum gq_pass_reason why = GQ_PASS_NO_RULE;
    int ok = restorable(e, state, a, end, &lo, &hi, &why);
    if (ok && (!d || !gq_ctx_bind() || !gq_ptr_device_range(dst, count))) {
        ok = 0;
        why = GQ_PASS_DRIVER;
    } else if (ok && gq_stream_capturing(s)) {
        ok = 0;
        why = GQ_PASS_CAPTURING;
    } else if (ok && !gq_drv_kernel(GQ_KFN_DEQUANTIZE)) {
        ok = 0;
        why = GQ_PASS_DRIVER; /* no kernels in this context */
    }
    if (!ok) {
        if (why == GQ_PASS_WRITTEN)
            gq_entries_release(e); /* the host bytes are the truth now */
        else if (state == GQ_ENTRY_PENDING && d)
            gq_entries_settle(src, count, settle_on); /* raw bytes: decoded first */
        gq_entry_put(e);
        /* New weights written into an upload=compress range: compress them
         * now, so this upload already moves the new block. */
        if (why == GQ_PASS_WRITTEN && gq_upload_compress(src, count))
            return gq_restore(dst, src, count, s, flags);
        return gq_verdict_pass(why);
    }

    uint32_t es = e->segs.esize;
    CUdeviceptr dd = (CUdeviceptr)dst;
    CUresult r = gq_entry_wait_ready(e, s);
    if (r == CUDA_SUCCESS && lo > a)
        r = d->cuMemcpyHtoDAsync_v2(dd, src, lo - a, s);
    if (r == CUDA_SUCCESS)
        r = gq_stage_restore(s, &e->segs, &e->block, (lo - e->start) / es, (hi - e->start) / es,
                             dd + (lo - a));
    if (r == CUDA_SUCCESS && hi < end)
        r = d->cuMemcpyHtoDAsync_v2(dd + (hi - a), (const void *)hi, end - hi, s);
    if (r == CUDA_SUCCESS)
        r = gq_entry_used(e, s);
    if (r != CUDA_SUCCESS) {
        /* Possibly half queued: whatever ran wrote the right bytes, and the
         * real copy queued after it on the same stream rewrites them all. */
        gq_plan_warn_refused("restore", count, r);
        /* A dequantize that was queued must not outlive the block, which
         * may go back to the driver once the entry is gone; and the raw copy
         * must read the host bytes once the offload has decoded them. */
        d->cuStreamSynchronize(s);
        d->cuEventSynchronize(e->ready);
        gq_entry_put(e);
        return gq_verdict_pass(GQ_PASS_LAUNCH);
    }
    uint64_t moved = (lo - a) + (end - hi) +
                     (uint64_t)((double)e->segs.total * (double)(hi - lo) / (double)e->len);
    gq_stats_restore(e->rule, count, moved);
    gq_stats_tensor_copy(gq_stats_tensor(e->rule, e->start, e->len), 1, count, moved);
    CUresult status = (flags & GQ_COPY_SYNC) ? d->cuStreamSynchronize(s) : CUDA_SUCCESS;
    gq_entry_put(e);
    return gq_verdict_done(status);
}


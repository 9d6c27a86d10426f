/*
 * The copy path: decide whether an intercepted cudaMemcpy* is an offload or
 * a restore the shim compresses, and do it; otherwise say "pass through".
 *
 * Offload (D2H of a registered tensor): quantize kernel on the program's
 * stream into a store block -> [spill kernel: raw copy when escapes
 * overflowed] -> stream callback decoding the block into the program's host
 * buffer -> event. Restore (H2D from a host range held compressed): the
 * dequantize kernel reads the block; bytes on host pages that write tracking
 * cannot vouch for travel raw.
 */
#include "gq_shim.h"

#include "gq_driver.h"
#include "gq_entries.h"
#include "gq_hostmem.h"
#include "gq_launch.h"
#include "gq_log.h"
#include "gq_real.h"
#include "gq_regions.h"
#include "gq_state.h"
#include "gq_stats.h"
#include "gq_trace.h"
#include "gq_verify.h"
#include "gq_wtrack.h"

#include "gq_codec.h"

#include <string.h>

/* Copies below this size are not worth a kernel launch. */
#define GQ_MIN_COPY 4096u

static uintptr_t page_up(uintptr_t a) { return (a + gq_page_size() - 1) & ~(gq_page_size() - 1); }
static uintptr_t page_down(uintptr_t a) { return a & ~(gq_page_size() - 1); }

static int stats_on(void) { return gq_cfg()->stats != GQ_STATS_OFF; }

/* The driver refused the shim's work for a copy, which then goes through
 * uncompressed. Said once per process, whichever copy it was: a refusal
 * tends to repeat on every copy, and the stats count each one. */
static void warn_refused(const char *what, size_t count, CUresult r)
{
    static int said;
    if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
        gq_warn("%s of %zu bytes: %s; copying it, and any later one the driver refuses, "
                "uncompressed (GQSHIM_STATS counts them)", what, count, gq_drv_errname(r));
}

static int pass(enum gq_pass_reason why, size_t count)
{
    if (GQ_TRACING())
        gq_trace_pass(why);
    if (stats_on()) {
        GQ_STAT_ADD(passed[why], 1);
        GQ_STAT_ADD(passthrough_bytes, count);
    }
    return 0;
}

/* Since CUDA 10.1 the runtime's error codes carry the driver's numbers for
 * every error a stream synchronisation can report (1 invalid value, 2 out of
 * memory, 400 invalid handle, 700 illegal address, 710 assert, 719 launch
 * failure, ...): pass the number through rather than flatten what we do not
 * list into cudaErrorUnknown. */
static cudaError_t to_cuda_error(CUresult r) { return (cudaError_t)r; }

/* The driver's handle for the program's stream: 0 means the legacy default
 * stream, or the per-thread one in a per-thread-default-stream build. */
static CUstream drv_stream(cudaStream_t s, unsigned flags)
{
    if (s == 0)
        return (flags & GQ_COPY_PTDS) ? CU_STREAM_PER_THREAD : CU_STREAM_LEGACY;
    return (CUstream)s;
}

/* The runtime binds its context to a thread lazily; our driver calls need it
 * bound now. The runtime's own cudaFree(NULL) does exactly that. */
static int have_context(const struct gq_drv *d)
{
    CUcontext ctx = NULL;
    if (d->cuCtxGetCurrent(&ctx) == CUDA_SUCCESS && ctx)
        return 1;
    /* The runtime's own driver calls here are not the program's (gq_layer_*). */
    gq_layer_enter();
    int bound = gq_real()->cudaFree && gq_real()->cudaFree(NULL) == cudaSuccess;
    gq_layer_leave();
    return bound && d->cuCtxGetCurrent(&ctx) == CUDA_SUCCESS && ctx;
}

static int capturing(const struct gq_drv *d, CUstream s)
{
    CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;
    return d->cuStreamIsCapturing(s, &st) != CUDA_SUCCESS || st != CU_STREAM_CAPTURE_STATUS_NONE;
}

static int is_device_memory(const struct gq_drv *d, const void *p)
{
    unsigned type = 0;
    return d->cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (CUdeviceptr)p) ==
               CUDA_SUCCESS &&
           type == CU_MEMORYTYPE_DEVICE;
}

/* 1 when [p, p+count) lies inside one device allocation of the current
 * context's device. The shim's kernels must never touch more than the
 * program's copy names: a copy past the end of an allocation, or a device
 * pointer where host memory is due, must go to the real call and fail there
 * as it would without the shim. And they run in the current context: memory
 * of another device (legal for cudaMemcpy under unified addressing) would be
 * an illegal address there, so such copies go to the real call too. */
static int device_range(const struct gq_drv *d, const void *p, size_t count)
{
    CUdeviceptr base = 0;
    size_t size = 0;
    int ordinal = -1;
    CUdevice current = -1;
    uintptr_t a = (uintptr_t)p;
    return is_device_memory(d, p) &&
           d->cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                                    (CUdeviceptr)p) == CUDA_SUCCESS &&
           d->cuCtxGetDevice(&current) == CUDA_SUCCESS && ordinal == (int)current &&
           d->cuPointerGetAttribute(&base, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, (CUdeviceptr)p) ==
               CUDA_SUCCESS &&
           d->cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, (CUdeviceptr)p) ==
               CUDA_SUCCESS &&
           a >= base && a - base <= size && count <= size - (a - base);
}

/* The GPU's address of host memory when the GPU can reach it (pinned and
 * mapped), else 0. */
static CUdeviceptr device_view(const struct gq_drv *d, void *host)
{
    CUdeviceptr dp = 0;
    if (d->cuPointerGetAttribute(&dp, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, (CUdeviceptr)host) !=
        CUDA_SUCCESS)
        return 0;
    return dp;
}

static void params_of(const struct gq_rule *r, struct gq_params *p)
{
    static const uint32_t dtype_map[] = {[GQ_RULE_F16] = GQ_F16, [GQ_RULE_BF16] = GQ_BF16,
                                         [GQ_RULE_F32] = GQ_F32};
    p->bits = r->bits;
    p->group = r->group;
    p->dtype = dtype_map[r->dtype];
    p->axis = r->dim == GQ_RULE_DIM_0 ? GQ_DIM_0 : GQ_DIM_LAST;
    p->cols = r->dim == GQ_RULE_DIM_0 ? r->cols : 0;
}

/* A store block; when the budget is spent, first let go of the blocks whose
 * buffers are gone, then try once more. */
static enum gq_store_status store_alloc(size_t size, struct gq_block *b)
{
    enum gq_store_status st = gq_store_alloc(size, b);
    if (st == GQ_STORE_OVER_BUDGET) {
        gq_entries_reap();
        st = gq_store_alloc(size, b);
    }
    return st;
}

/* The codec parameters and layout for a copy of `count` bytes under `rule`,
 * or why it cannot be compressed. `few_escapes`: the caller can fall back to
 * the raw data when escapes overflow, so a small escape area will do. */
static enum gq_pass_reason plan(const struct gq_rule *rule, const void *src, const void *dst,
                                size_t count, int few_escapes, struct gq_params *p,
                                struct gq_layout *l)
{
    params_of(rule, p);
    uint32_t esize = gq_dtype_size(p->dtype);
    if (count < GQ_MIN_COPY)
        return GQ_PASS_SMALL;
    if (count % esize || (uintptr_t)src % esize || (uintptr_t)dst % esize ||
        (p->axis == GQ_DIM_0 && count % (p->cols * esize)))
        return GQ_PASS_ALIGN;
    uint64_t n = count / esize;
    if (gq_layout_init(l, p, n, 0) != GQ_OK)
        return GQ_PASS_ALIGN;
    uint64_t few = l->n_groups / 1024 + 8 < l->n_groups ? l->n_groups / 1024 + 8 : l->n_groups;
    gq_layout_init(l, p, n, few_escapes ? (uint32_t)few : gq_default_escape_capacity(p, n));
    return GQ_PASS_COUNT;
}

/* Offload into a buffer the program owns: a stream callback decodes the
 * block into it, so the program reads what a restore would deliver. */
static int finish_program_owned(const struct gq_drv *d, struct gq_entry *e, CUstream s,
                                unsigned flags, int spilled, cudaError_t *status)
{
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED); /* the callback's */
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
    *status = cudaSuccess;
    /* A synchronous copy, or one into pageable memory (which CUDA completes
     * before returning), returns with the data in place; without a spill we
     * wait too, to catch an escape overflow while the source is intact. */
    if ((flags & GQ_COPY_SYNC) || !spilled) {
        *status = to_cuda_error(d->cuStreamSynchronize(s));
        if (*status == cudaSuccess && !spilled &&
            __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == GQ_ENTRY_FAILED) {
            /* Escapes overflowed and no spill could reach this buffer: the
             * source is still intact (the copy has not returned): copy raw. */
            gq_entries_discard((void *)e->start, e->len);
            return 0;
        }
    }
    return 1;
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
    uintptr_t plo = page_up(lo) < hi ? page_up(lo) : hi, phi = page_down(hi) > plo ? page_down(hi) : plo;
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
static int finish_owned(const struct gq_drv *d, struct gq_entry *e, CUstream s,
                        cudaError_t *status)
{
    CUresult r = d->cuEventRecord(e->ready, s);
    /* Wait even when the record failed: the block goes back to the store
     * on return, and the quantize kernel must be done writing it. */
    CUresult rs = d->cuStreamSynchronize(s);
    if (r == CUDA_SUCCESS)
        r = rs;
    const struct gq_header *h = (const struct gq_header *)e->block.host;
    if (r != CUDA_SUCCESS) {
        warn_refused("offload", e->len, r);
        return pass(GQ_PASS_LAUNCH, e->len);
    }
    if (h->overflow)
        return 0;
    GQ_STAT_ADD(escaped_groups, h->escape_count);
    hold_owned(e);
    *status = cudaSuccess;
    return 1;
}

static int offload(void *dst, const void *src, size_t count, CUstream s, unsigned flags,
                   cudaError_t *status)
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
        return pass(GQ_PASS_NO_RULE, count);
    /* A wrong kind, a host source, a device destination, a range past the
     * source's allocation, memory of another device: the real call handles
     * it (and reports what is wrong). */
    if (!d || !have_context(d) || !device_range(d, src, count) || is_device_memory(d, dst))
        return pass(GQ_PASS_DRIVER, count);
    struct gq_params p;
    struct gq_layout l;
    /* An owned offload completes before returning and falls back to the
     * source on an escape overflow, so it reserves few escape slots; an
     * asynchronous one keeps the format's default. */
    enum gq_pass_reason why = plan(reg.rule, src, dst, count, owned, &p, &l);
    if (why != GQ_PASS_COUNT)
        return pass(why, count);

    if (capturing(d, s))
        return pass(GQ_PASS_CAPTURING, count);
    /* No kernels in this context (their load failed, and said so once). */
    if (!gq_drv_kernel(GQ_KFN_QUANTIZE))
        return pass(GQ_PASS_DRIVER, count);
    CUdeviceptr dst_dev = owned ? 0 : device_view(d, dst);

    struct gq_block b;
    enum gq_store_status st = store_alloc((size_t)l.total, &b);
    if (st == GQ_STORE_OVER_BUDGET)
        gq_warn_once("the compressed store is full (GQSHIM_POOL_MAX): offloads that do not "
                     "fit are copied uncompressed (GQSHIM_STATS counts them)");
    if (st != GQ_STORE_OK)
        return pass(st == GQ_STORE_OVER_BUDGET ? GQ_PASS_BUDGET : GQ_PASS_DRIVER, count);
    memset(b.host + GQ_HDR_ESCAPE_COUNT_OFF, 0, 8);

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
        warn_refused("offload", count, r);
        d->cuStreamSynchronize(s);
        gq_store_release(&b, NULL);
        return pass(GQ_PASS_LAUNCH, count);
    }
    gq_verify_offload(s, (CUdeviceptr)src, &p, &l, b.dev, reg.rule); /* GQSHIM_VERIFY */
    int handled = owned ? finish_owned(d, e, s, status) : finish_program_owned(d, e, s, flags,
                                                                                spilled, status);
    if (handled)
        gq_stats_offload(reg.rule, count, l.esc_off);
    gq_entry_put(e);
    return handled;
}

/* Which part [*lo, *hi) of the copy [a, end) the block may serve, or why it
 * may serve none. Only whole pages inside the entry are write-tracked, so
 * bytes on its edge pages travel raw (they hold what the program sees). */
static enum gq_pass_reason restorable(const struct gq_entry *e, int state, uintptr_t a,
                                      uintptr_t end, uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t e_end = e->start + e->len;
    int whole = a == e->start && end == e_end;
    *lo = a;
    *hi = end;
    if ((a - e->start) % e->layout.esize || (end - a) % e->layout.esize)
        return GQ_PASS_ALIGN;
    if (e->params.axis == GQ_DIM_0 && !whole)
        return GQ_PASS_ALIGN; /* rows of a dim=0 entry decode whole */
    if (state == GQ_ENTRY_PENDING)
        return GQ_PASS_COUNT; /* nothing decoded to the host yet: all from the block */
    if (state != GQ_ENTRY_TRACKED && state != GQ_ENTRY_OWNED)
        return GQ_PASS_NOT_HELD;
    uintptr_t ilo = page_up(e->start), ihi = page_down(e_end);
    if (e->params.axis == GQ_DIM_0 && (ilo != e->start || ihi != e_end))
        return GQ_PASS_ALIGN;
    *lo = a > ilo ? a : ilo;
    *hi = end < ihi ? end : ihi;
    if (*hi <= *lo)
        return GQ_PASS_SMALL;
    int clean = state == GQ_ENTRY_OWNED ? gq_wtrack_clean_owned((void *)*lo, *hi - *lo)
                                        : gq_wtrack_clean((void *)*lo, *hi - *lo);
    return clean ? GQ_PASS_COUNT : GQ_PASS_WRITTEN;
}

/* upload=compress: the first upload of a registered host range compresses it
 * on the CPU (the data are in host memory already; the GPU would need a raw
 * upload first), so that this upload and every later one move the block and
 * deliver the same dequantized values. The host view becomes what the
 * uploads deliver; a shim-owned range then drops its pages. 1 when an entry
 * now holds [src, src+count). */
static int compress_upload(const void *src, size_t count)
{
    struct gq_region reg;
    if (!gq_regions_lookup(GQ_ON_HOST, src, count, &reg) || !reg.rule->upload_compress)
        return 0;
    struct gq_params p;
    struct gq_layout l;
    if (plan(reg.rule, src, src, count, 1, &p, &l) != GQ_PASS_COUNT || !gq_drv())
        return 0;
    struct gq_block b;
    if (store_alloc((size_t)l.total, &b) != GQ_STORE_OK)
        return 0;
    if (gq_encode(&p, src, l.n_elems, l.escape_capacity, b.host, b.size) != GQ_OK) {
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

static int restore(void *dst, const void *src, size_t count, CUstream s, unsigned flags,
                   cudaError_t *status)
{
    struct gq_entry *e = NULL;
    enum gq_lookup found = gq_entries_lookup(src, count, &e);
    if (found == GQ_LOOKUP_NONE && compress_upload(src, count))
        found = gq_entries_lookup(src, count, &e);
    const struct gq_drv *d = gq_drv();
    /* A raw copy from pinned memory reads it when it runs, in stream order:
     * the stream can wait for a queued offload's decode. From pageable
     * memory the runtime reads at the call: then the caller waits. */
    CUstream settle_on = d && device_view(d, (void *)src) ? s : NULL;
    if (found != GQ_LOOKUP_ONE) {
        /* Raw bytes are right once every overlapping offload has decoded. */
        gq_entries_settle(src, count, settle_on);
        return pass(found == GQ_LOOKUP_SPANS ? GQ_PASS_SPANS : GQ_PASS_NOT_HELD, count);
    }
    int state = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
    uintptr_t a = (uintptr_t)src, end = a + count, lo, hi;
    enum gq_pass_reason why = restorable(e, state, a, end, &lo, &hi);
    if (why == GQ_PASS_COUNT && (!d || !have_context(d) || !device_range(d, dst, count)))
        why = GQ_PASS_DRIVER;
    else if (why == GQ_PASS_COUNT && capturing(d, s))
        why = GQ_PASS_CAPTURING;
    else if (why == GQ_PASS_COUNT && !gq_drv_kernel(GQ_KFN_DEQUANTIZE))
        why = GQ_PASS_DRIVER; /* no kernels in this context */
    if (why != GQ_PASS_COUNT) {
        if (why == GQ_PASS_WRITTEN)
            gq_entries_release(e); /* the host bytes are the truth now */
        else if (state == GQ_ENTRY_PENDING && d)
            gq_entries_settle(src, count, settle_on); /* raw bytes: decoded first */
        gq_entry_put(e);
        /* New weights written into an upload=compress range: compress them
         * now, so this upload already moves the new block. */
        if (why == GQ_PASS_WRITTEN && compress_upload(src, count))
            return restore(dst, src, count, s, flags, status);
        return pass(why, count);
    }

    uint32_t es = e->layout.esize;
    CUdeviceptr dd = (CUdeviceptr)dst;
    CUresult r = gq_entry_wait_ready(e, s);
    if (r == CUDA_SUCCESS && lo > a)
        r = d->cuMemcpyHtoDAsync_v2(dd, src, lo - a, s);
    if (r == CUDA_SUCCESS)
        r = gq_launch_dequantize(s, e->block.dev, &e->params, &e->layout, (lo - e->start) / es,
                                 (hi - e->start) / es, dd + (lo - a));
    if (r == CUDA_SUCCESS && hi < end)
        r = d->cuMemcpyHtoDAsync_v2(dd + (hi - a), (const void *)hi, end - hi, s);
    if (r == CUDA_SUCCESS)
        r = gq_entry_used(e, s);
    if (r != CUDA_SUCCESS) {
        /* Possibly half queued: whatever ran wrote the right bytes, and the
         * real copy queued after it on the same stream rewrites them all. */
        warn_refused("restore", count, r);
        /* A dequantize that was queued must not outlive the block, which
         * may go back to the driver once the entry is gone; and the raw copy
         * must read the host bytes once the offload has decoded them. */
        d->cuStreamSynchronize(s);
        d->cuEventSynchronize(e->ready);
        gq_entry_put(e);
        return pass(GQ_PASS_LAUNCH, count);
    }
    gq_stats_restore(e->rule, count,
                     (lo - a) + (end - hi) +
                         (uint64_t)((double)e->layout.esc_off * (double)(hi - lo) / (double)e->len));
    *status = (flags & GQ_COPY_SYNC) ? to_cuda_error(d->cuStreamSynchronize(s)) : cudaSuccess;
    gq_entry_put(e);
    return 1;
}

static int decide(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                  cudaStream_t stream, unsigned flags, cudaError_t *status)
{
    if (!gq_active() || count == 0 || !dst || !src)
        return 0;
    if (stats_on())
        GQ_STAT_ADD(copies, 1);
    int may_offload = gq_regions_may_hold(GQ_ON_DEV, src, count) ||
                      gq_regions_may_hold(GQ_ON_HOST, dst, count);
    int may_restore = gq_entries_may_hold(src, count) ||
                      gq_regions_may_hold(GQ_ON_HOST, src, count); /* upload=compress */
    int dst_held = gq_entries_may_hold(dst, count);
    if (!may_offload && !may_restore && !dst_held)
        return pass(GQ_PASS_NO_RULE, count);

    if (kind == cudaMemcpyDefault) {
        const struct gq_drv *d = gq_drv();
        if (!d)
            return pass(GQ_PASS_DRIVER, count);
        int src_dev = is_device_memory(d, src), dst_dev = is_device_memory(d, dst);
        kind = src_dev ? (dst_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost)
                       : (dst_dev ? cudaMemcpyHostToDevice : cudaMemcpyHostToHost);
    }
    CUstream s = drv_stream(stream, flags);
    switch (kind) {
    case cudaMemcpyDeviceToHost:
        return offload(dst, src, count, s, flags, status);
    case cudaMemcpyHostToDevice:
        return restore(dst, src, count, s, flags, status);
    case cudaMemcpyHostToHost:
        gq_entries_settle(src, count, NULL); /* a host copy reads now */
        gq_entries_drop(dst, count);
        return pass(GQ_PASS_DIRECTION, count);
    default:
        return pass(GQ_PASS_DIRECTION, count);
    }
}

int gq_copy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
            cudaStream_t stream, unsigned flags, cudaError_t *status)
{
    int done = decide(dst, src, count, kind, stream, flags, status);
    if (GQ_TRACING())
        gq_trace_copy(dst, src, count, kind, stream, flags, done);
    return done;
}

/* Allocation events: which allocations rules take, which host memory the
 * shim owns, and what frees invalidate. */
#include "core/gq_alloc.h"

#include "base/gq_mode.h"
#include "base/gq_config.h"
#include "base/gq_regions.h"
#include "base/gq_trace.h"
#include "core/gq_api.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_modules.h"
#include "gpu/gq_ptr.h"
#include "gpu/gq_staging.h"
#include "host/gq_hostmem.h"
#include "host/gq_wtrack.h"
#include "store/gq_entries.h"
#include "store/gq_store.h"
#include "xfer/gq_plan.h"
#include "xfer/gq_verify.h"

void gq_on_dev_alloc(void *p, size_t size)
{
    const struct gq_rule *rule = gq_regions_on_alloc(GQ_ON_DEV, p, size);
    if (rule)
        gq_plan_reserve(rule, size);
    else if (gq_active())
        gq_plan_reserve_context(); /* a context appears: copies may come to it */
    if (GQ_TRACING())
        gq_trace_alloc(GQ_ON_DEV, p, size, rule);
}

void gq_on_dev_free(void *p)
{
    if (GQ_TRACING())
        gq_trace_free(GQ_ON_DEV, p);
    gq_api_on_free(GQ_ON_DEV, p);
    gq_regions_on_free(GQ_ON_DEV, p);
}

/* Where the shim may not own host memory but write protection works (host
 * mode tracked): a kept range (host/gq_hostmem.h), pinned with the driver,
 * so that copy-backs from it are vouched for by the kernel instead of
 * checksums. NULL when not possible; then the real allocation is made. */
static void *kept_alloc(size_t size, unsigned flags)
{
    const struct gq_drv *d = gq_drv();
    if (gq_mode() != GQ_MODE_TRACKED || !d || !gq_ctx_bind())
        return NULL;
    void *p = gq_hostmem_alloc_kept(size);
    if (!p)
        return NULL;
    unsigned reg = (flags & cudaHostAllocPortable) ? CU_MEMHOSTREGISTER_PORTABLE : 0;
    if (d->cuMemHostRegister_v2(p, size, reg) != CUDA_SUCCESS) {
        gq_hostmem_free(p);
        return NULL;
    }
    return p;
}

int gq_host_alloc(void **p, size_t size, unsigned flags, const struct gq_rule **rule)
{
    *rule = p ? gq_regions_match(GQ_ON_HOST, size) : NULL;
    /* Memory the program may hand to the GPU directly must be real pinned
     * memory: such allocations are never taken over. */
    if (!*rule || (flags & (cudaHostAllocMapped | cudaHostAllocWriteCombined)))
        return 0;
    /* Without a driver the real call fails, and so must the program's: the
     * shim answers only where the runtime would have. */
    if (!gq_drv())
        return 0;
    gq_wtrack_available(); /* the host mode is known from here on */
    gq_plan_reserve(*rule, size);
    void *own = gq_hostmem_alloc(size);
    if (!own)
        own = kept_alloc(size, flags);
    if (!own)
        return 0;
    gq_regions_add(GQ_ON_HOST, own, size, *rule);
    *p = own;
    if (GQ_TRACING())
        gq_trace_alloc(GQ_ON_HOST, own, size, *rule);
    return 1;
}

void gq_on_host_alloc(void **p, size_t size, const struct gq_rule *rule, int ok)
{
    if (!ok || !p)
        return;
    /* A recycled address must never serve an old entry. */
    gq_entries_discard(*p, size);
    if (rule) {
        gq_regions_add(GQ_ON_HOST, *p, size, rule);
        gq_plan_reserve(rule, size);
    }
    if (GQ_TRACING())
        gq_trace_alloc(GQ_ON_HOST, *p, size, rule);
}

static void forget_host(void *p, size_t extent)
{
    gq_entries_discard(p, extent ? extent : 1);
    if (GQ_TRACING())
        gq_trace_free(GQ_ON_HOST, p);
    gq_api_on_free(GQ_ON_HOST, p);
    gq_regions_on_free(GQ_ON_HOST, p);
}

int gq_host_free_owned(void *p)
{
    size_t extent = gq_hostmem_extent(p);
    if (!extent)
        return 0;
    const struct gq_drv *d = gq_drv();
    if (d && gq_hostmem_is_kept(p)) {
        /* cudaFreeHost synchronizes the device: no queued copy, offload or
         * decode callback may touch the range once it is unmapped. */
        gq_entries_settle(p, extent, NULL);
        if (gq_ctx_bind())
            d->cuCtxSynchronize();
        forget_host(p, extent);
        d->cuMemHostUnregister(p);
    } else {
        forget_host(p, extent);
    }
    return gq_hostmem_free(p);
}

size_t gq_host_extent(const void *p)
{
    struct gq_region r;
    if (gq_regions_lookup(GQ_ON_HOST, p, 1, &r) && r.start == (uintptr_t)p)
        return r.size;
    /* Pinned memory no rule took: ask the driver how far it reaches. Not
     * while the shim is off (GQSHIM_ENABLE=0, no rules, a fork's child):
     * then no entry can lie there, and the shim makes no calls of its own
     * (in a fork's child every driver call fails). */
    if (!gq_active())
        return 1;
    size_t size = gq_ptr_pinned_extent(p);
    return size ? size : 1;
}

void gq_on_host_freed(void *p, size_t extent) { forget_host(p, extent); }

void gq_on_host_range_changed(const void *p, size_t size) { gq_entries_drop(p, size); }

void gq_on_device_reset(void)
{
    gq_entries_drop_all();
    gq_store_drop_idle();
    gq_drv_forget_context();
    gq_staging_forget_context();
    gq_verify_forget_context();
}

int gq_pointer_attributes(struct cudaPointerAttributes *a, const void *p)
{
    if (!a || !gq_hostmem_owned(p, 1))
        return 0;
    /* Pinned host memory as the program asked for it; no device view, since
     * the GPU cannot reach these pages directly. */
    a->type = cudaMemoryTypeHost;
    a->device = 0;
    a->devicePointer = NULL;
    a->hostPointer = (void *)p;
    return 1;
}

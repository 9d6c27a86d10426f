/* Allocation events: which allocations rules take, and what frees invalidate. */
#include "gq_shim.h"

#include "gq_entries.h"
#include "gq_regions.h"

void gq_on_dev_alloc(void *p, size_t size) { gq_regions_on_alloc(GQ_ON_DEV, p, size); }

void gq_on_dev_free(void *p) { gq_regions_on_free(GQ_ON_DEV, p); }

void gq_on_host_alloc(void *p, size_t size, unsigned flags)
{
    (void)flags;
    /* A recycled address must never serve an old entry. */
    gq_entries_drop(p, size);
    gq_regions_on_alloc(GQ_ON_HOST, p, size);
}

void gq_on_host_free(void *p)
{
    struct gq_region r;
    if (gq_regions_lookup(GQ_ON_HOST, p, 1, &r) && r.start == (uintptr_t)p)
        gq_entries_drop(p, r.size);
    else
        gq_entries_drop(p, 1);
    gq_regions_on_free(GQ_ON_HOST, p);
}

void gq_on_host_range_changed(const void *p, size_t size) { gq_entries_drop(p, size); }

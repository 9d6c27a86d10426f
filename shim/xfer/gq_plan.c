/* Planning a compressed copy (see gq_plan.h). */
#include "xfer/gq_plan.h"

#include "base/gq_log.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_ptr.h"
#include "gpu/gq_staging.h"
#include "store/gq_entries.h"
#include "xfer/gq_stage.h"
#include "xfer/gq_verify.h"

void gq_plan_warn_refused(const char *what, size_t count, CUresult r)
{
    static int said;
    if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
        gq_warn("%s of %zu bytes: %s; copying it, and any later one the driver refuses, "
                "uncompressed (GQSHIM_STATS counts them)", what, count, gq_drv_errname(r));
}

void gq_plan_params(const struct gq_rule *r, struct gq_params *p)
{
    static const uint32_t dtype_map[] = {[GQ_RULE_F16] = GQ_F16, [GQ_RULE_BF16] = GQ_BF16,
                                         [GQ_RULE_F32] = GQ_F32};
    p->bits = r->bits;
    p->group = r->group;
    p->dtype = dtype_map[r->dtype];
    p->axis = r->dim == GQ_RULE_DIM_0 ? GQ_DIM_0 : GQ_DIM_LAST;
    p->cols = r->dim == GQ_RULE_DIM_0 ? r->cols : 0;
}

void gq_plan_reserve_context(void)
{
    gq_staging_reserve();
    gq_verify_reserve();
}

void gq_plan_reserve(const struct gq_rule *rule, size_t bytes)
{
    if (!gq_ctx_bind())
        return;
    gq_plan_reserve_context();
    struct gq_params p;
    struct gq_segs g;
    gq_plan_params(rule, &p);
    uint64_t n = bytes / gq_dtype_size(p.dtype);
    if (p.axis == GQ_DIM_0)
        n -= n % p.cols;
    /* Room for the block of the whole tensor, and for what cutting a copy
     * of it in two more pieces adds (each piece has its own segments, each
     * with a header, alignment and 8 spare escape slots). */
    uint64_t piece = GQ_HEADER_SIZE + 2 * GQ_SEG_ALIGN + 8ull * p.group * gq_dtype_size(p.dtype);
    if (n && gq_segs_init(&g, &p, n, gq_stage_segment_max(), 1) == GQ_OK)
        gq_store_reserve((size_t)(g.total + 2 * piece));
}

enum gq_store_status gq_plan_block(size_t size, CUstream s, int may_wait, struct gq_block *b)
{
    enum gq_store_status st = gq_store_alloc_on(size, s, b);
    if (st == GQ_STORE_GROWING && may_wait) {
        gq_store_await_growth();
        st = gq_store_alloc_on(size, s, b);
    }
    if (st == GQ_STORE_OVER_BUDGET) {
        gq_entries_reap();
        st = gq_store_alloc_on(size, s, b);
    }
    return st;
}

int gq_plan(const struct gq_rule *rule, const void *src, const void *dst, size_t count,
            int few_escapes, struct gq_segs *g, enum gq_pass_reason *why)
{
    struct gq_params p;
    gq_plan_params(rule, &p);
    uint32_t esize = gq_dtype_size(p.dtype);
    if (count < GQ_MIN_COPY) {
        *why = GQ_PASS_SMALL;
        return 0;
    }
    *why = GQ_PASS_ALIGN;
    if (count % esize || (uintptr_t)src % esize || (uintptr_t)dst % esize ||
        (p.axis == GQ_DIM_0 && count % (p.cols * esize)))
        return 0;
    return gq_segs_init(g, &p, count / esize, gq_stage_segment_max(), few_escapes) == GQ_OK;
}

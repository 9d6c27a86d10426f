/* Routing an intercepted copy (see gq_route.h). */
#include "core/gq_route.h"

#include "base/gq_config.h"
#include "base/gq_imap.h"
#include "base/gq_regions.h"
#include "base/gq_trace.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_ptr.h"
#include "store/gq_entries.h"

static int stats_on(void) { return gq_cfg()->stats != GQ_STATS_OFF; }

/* A copy the real call makes: counted with its reason (GQSHIM_STATS). */
static struct gq_verdict passed(struct gq_verdict v, size_t count)
{
    if (v.done)
        return v;
    if (stats_on()) {
        GQ_STAT_ADD(passed[v.why], 1);
        GQ_STAT_ADD(passthrough_bytes, count);
    }
    return v;
}

static struct gq_verdict pass(enum gq_pass_reason why, size_t count)
{
    return passed(gq_verdict_pass(why), count);
}

/* The driver's handle for the program's stream: 0 means the legacy default
 * stream, or the per-thread one in a per-thread-default-stream build. */
static CUstream drv_stream(CUstream s, unsigned flags)
{
    if (s == 0)
        return (flags & GQ_COPY_PTDS) ? CU_STREAM_PER_THREAD : CU_STREAM_LEGACY;
    return s;
}

/* A copy that may concern a registered range: the full decision. */
__attribute__((noinline)) static struct gq_verdict decide(void *dst, const void *src, size_t count,
                                                          enum cudaMemcpyKind kind,
                                                          CUstream stream, unsigned flags)
{
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
        if (!gq_drv())
            return pass(GQ_PASS_DRIVER, count);
        int src_dev = gq_ptr_is_device(src), dst_dev = gq_ptr_is_device(dst);
        kind = src_dev ? (dst_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost)
                       : (dst_dev ? cudaMemcpyHostToDevice : cudaMemcpyHostToHost);
    }
    CUstream s = drv_stream(stream, flags);
    struct gq_verdict v;
    int mode;
    switch (kind) {
    case cudaMemcpyDeviceToHost:
        /* The shim's calls in there are its own: relaxed capture mode. */
        mode = gq_capture_relax();
        v = gq_offload(dst, src, count, s, flags);
        gq_capture_restore(mode);
        return passed(v, count);
    case cudaMemcpyHostToDevice:
        mode = gq_capture_relax();
        v = gq_restore(dst, src, count, s, flags);
        gq_capture_restore(mode);
        return passed(v, count);
    case cudaMemcpyHostToHost:
        gq_entries_settle(src, count, NULL); /* a host copy reads now */
        gq_entries_drop(dst, count);
        return pass(GQ_PASS_DIRECTION, count);
    default:
        return pass(GQ_PASS_DIRECTION, count);
    }
}

/* The hot path: most copies of a program touch nothing the shim registered.
 * They cost one flag (active), one combined bounds check and one trace flag;
 * counting them (GQSHIM_STATS) and tracing them stay off this path. */
struct gq_verdict gq_copy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                          CUstream stream, unsigned flags)
{
    struct gq_verdict v = gq_verdict_pass(GQ_PASS_NO_RULE);
    if (__builtin_expect(!gq_active() || count == 0 || !dst || !src, 0)) {
        /* not offered: not counted */
    } else if (gq_imap_any_may_hold(src, count) || gq_imap_any_may_hold(dst, count)) {
        v = decide(dst, src, count, kind, stream, flags);
    } else if (stats_on()) {
        GQ_STAT_ADD(copies, 1);
        v = pass(GQ_PASS_NO_RULE, count);
    }
    if (GQ_TRACING()) {
        if (!v.done && gq_active())
            gq_trace_pass(v.why);
        gq_trace_copy(dst, src, count, kind, (cudaStream_t)stream, flags, v.done);
    }
    return v;
}

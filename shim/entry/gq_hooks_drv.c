/*
 * The driver symbols libgqshim.so exports (list: gpu/gq_real_drv.h). Each is
 * a forward into the same logic the runtime hooks use (core/); nothing is
 * decided here.
 *
 * A program reaches these through the dynamic linker (-lcuda), through
 * dlsym on a libcuda handle (gq_hooks_dlsym.c) or through cuGetProcAddress
 * (below), which is also how libcudart, static or dynamic, finds the driver.
 * When a dynamic runtime's call arrives here from inside a runtime hook, it
 * passes straight through: the runtime hook has already decided that copy
 * (base/gq_layer.h).
 */
#include "entry/gq_hooks.h"

#include "base/gq_layer.h"
#include "base/gq_trace.h"
#include "core/gq_alloc.h"
#include "core/gq_route.h"

#include <stdint.h>

/* Prototypes for every hook: cuda.h declares the _ptds/_ptsz names only in
 * per-thread builds, and cuGetProcAddress (4 arguments) only internally. */
#define GQ_DECLARE(name, base, since, ptds, params, args) GQ_EXPORT CUresult name params;
GQ_DRV_HOOKS(GQ_DECLARE)
#undef GQ_DECLARE

/* real_<name>(args): the real entry point, or a status when the driver
 * lacks it. */
#define GQ_REAL_CALL(name, base, since, ptds, params, args) \
    static inline CUresult real_##name params                \
    {                                                        \
        CUresult(*fn) params = gq_real_drv()->name;          \
        return fn ? fn args : CUDA_ERROR_NOT_FOUND;          \
    }
GQ_DRV_HOOKS(GQ_REAL_CALL)
#undef GQ_REAL_CALL

static void *dptr(CUdeviceptr d) { return (void *)(uintptr_t)d; }

/* The driver's host-allocation flags are the runtime's, bit for bit, so the
 * runtime's rule (never take over mapped or write-combined memory) applies. */
_Static_assert(CU_MEMHOSTALLOC_PORTABLE == cudaHostAllocPortable &&
                   CU_MEMHOSTALLOC_DEVICEMAP == cudaHostAllocMapped &&
                   CU_MEMHOSTALLOC_WRITECOMBINED == cudaHostAllocWriteCombined,
               "driver and runtime host-allocation flags differ");

/* ---- what each hook does, once the thread is marked inside ---- */

static CUresult dev_alloc(CUresult r, CUdeviceptr *d, size_t n)
{
    if (r == CUDA_SUCCESS && d)
        gq_on_dev_alloc(dptr(*d), n);
    return r;
}

static CUresult do_cuMemAlloc_v2(CUdeviceptr *d, size_t n)
{
    return dev_alloc(real_cuMemAlloc_v2(d, n), d, n);
}
static CUresult do_cuMemAllocAsync(CUdeviceptr *d, size_t n, CUstream s)
{
    return dev_alloc(real_cuMemAllocAsync(d, n, s), d, n);
}
static CUresult do_cuMemAllocAsync_ptsz(CUdeviceptr *d, size_t n, CUstream s)
{
    return dev_alloc(real_cuMemAllocAsync_ptsz(d, n, s), d, n);
}

static CUresult do_cuMemFree_v2(CUdeviceptr d)
{
    gq_on_dev_free(dptr(d));
    return real_cuMemFree_v2(d);
}
static CUresult do_cuMemFreeAsync(CUdeviceptr d, CUstream s)
{
    gq_on_dev_free(dptr(d));
    return real_cuMemFreeAsync(d, s);
}
static CUresult do_cuMemFreeAsync_ptsz(CUdeviceptr d, CUstream s)
{
    gq_on_dev_free(dptr(d));
    return real_cuMemFreeAsync_ptsz(d, s);
}

static CUresult do_cuMemAllocHost_v2(void **p, size_t n)
{
    const struct gq_rule *rule;
    if (gq_host_alloc(p, n, 0, &rule))
        return CUDA_SUCCESS;
    CUresult r = real_cuMemAllocHost_v2(p, n);
    gq_on_host_alloc(p, n, rule, r == CUDA_SUCCESS);
    return r;
}
static CUresult do_cuMemHostAlloc(void **p, size_t n, unsigned f)
{
    const struct gq_rule *rule;
    if (gq_host_alloc(p, n, f, &rule))
        return CUDA_SUCCESS;
    CUresult r = real_cuMemHostAlloc(p, n, f);
    gq_on_host_alloc(p, n, rule, r == CUDA_SUCCESS);
    return r;
}
static CUresult do_cuMemFreeHost(void *p)
{
    if (gq_host_free_owned(p))
        return CUDA_SUCCESS;
    size_t extent = gq_host_extent(p);
    CUresult r = real_cuMemFreeHost(p);
    if (r == CUDA_SUCCESS)
        gq_on_host_freed(p, extent);
    return r;
}
static CUresult do_cuMemHostRegister_v2(void *p, size_t n, unsigned f)
{
    return real_cuMemHostRegister_v2(p, n, f); /* as cudaHostRegister */
}
static CUresult do_cuMemHostUnregister(void *p)
{
    size_t extent = gq_host_extent(p);
    CUresult r = real_cuMemHostUnregister(p);
    if (r == CUDA_SUCCESS)
        gq_on_host_range_changed(p, extent);
    return r;
}

/* The virtual-memory API (PyTorch's expandable segments, llama.cpp's VMM
 * pools): each mapping is a device allocation of its size, from cuMemMap
 * to cuMemUnmap (which takes whole mappings, each at least the 2 MiB
 * granularity of every current GPU). */
#define GQ_VMM_GRANULE ((size_t)2 << 20)
static CUresult do_cuMemMap(CUdeviceptr d, size_t n, size_t o, CUmemGenericAllocationHandle h,
                            unsigned long long f)
{
    return dev_alloc(real_cuMemMap(d, n, o, h, f), &d, n);
}
static CUresult do_cuMemUnmap(CUdeviceptr d, size_t n)
{
    for (size_t off = 0; off < n; off += GQ_VMM_GRANULE)
        gq_on_dev_free(dptr(d + off));
    return real_cuMemUnmap(d, n);
}

/* The primary context's memory, streams and modules go, as with
 * cudaDeviceReset: the shim's blocks and kernels there go first. */
static CUresult do_cuDevicePrimaryCtxReset_v2(CUdevice dev)
{
    gq_on_device_reset();
    return real_cuDevicePrimaryCtxReset_v2(dev);
}

/* ---- copies: the shim's verdict, else the real call unchanged ---- */

enum { SYNC = GQ_COPY_SYNC, PTDS = GQ_COPY_PTDS };
static const enum cudaMemcpyKind D2H = cudaMemcpyDeviceToHost, H2D = cudaMemcpyHostToDevice,
                                 ANY = cudaMemcpyDefault;

static CUresult do_cuMemcpyDtoH_v2(void *d, CUdeviceptr s, size_t n)
{
    struct gq_verdict v = gq_copy(d, dptr(s), n, D2H, 0, SYNC);
    return v.done ? v.status : real_cuMemcpyDtoH_v2(d, s, n);
}
static CUresult do_cuMemcpyDtoH_v2_ptds(void *d, CUdeviceptr s, size_t n)
{
    struct gq_verdict v = gq_copy(d, dptr(s), n, D2H, 0, SYNC | PTDS);
    return v.done ? v.status : real_cuMemcpyDtoH_v2_ptds(d, s, n);
}
static CUresult do_cuMemcpyHtoD_v2(CUdeviceptr d, const void *s, size_t n)
{
    struct gq_verdict v = gq_copy(dptr(d), s, n, H2D, 0, SYNC);
    return v.done ? v.status : real_cuMemcpyHtoD_v2(d, s, n);
}
static CUresult do_cuMemcpyHtoD_v2_ptds(CUdeviceptr d, const void *s, size_t n)
{
    struct gq_verdict v = gq_copy(dptr(d), s, n, H2D, 0, SYNC | PTDS);
    return v.done ? v.status : real_cuMemcpyHtoD_v2_ptds(d, s, n);
}
static CUresult do_cuMemcpyDtoHAsync_v2(void *d, CUdeviceptr s, size_t n, CUstream st)
{
    struct gq_verdict v = gq_copy(d, dptr(s), n, D2H, st, 0);
    return v.done ? v.status : real_cuMemcpyDtoHAsync_v2(d, s, n, st);
}
static CUresult do_cuMemcpyDtoHAsync_v2_ptsz(void *d, CUdeviceptr s, size_t n, CUstream st)
{
    struct gq_verdict v = gq_copy(d, dptr(s), n, D2H, st, PTDS);
    return v.done ? v.status : real_cuMemcpyDtoHAsync_v2_ptsz(d, s, n, st);
}
static CUresult do_cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *s, size_t n, CUstream st)
{
    struct gq_verdict v = gq_copy(dptr(d), s, n, H2D, st, 0);
    return v.done ? v.status : real_cuMemcpyHtoDAsync_v2(d, s, n, st);
}
static CUresult do_cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr d, const void *s, size_t n, CUstream st)
{
    struct gq_verdict v = gq_copy(dptr(d), s, n, H2D, st, PTDS);
    return v.done ? v.status : real_cuMemcpyHtoDAsync_v2_ptsz(d, s, n, st);
}
static CUresult do_cuMemcpy(CUdeviceptr d, CUdeviceptr s, size_t n)
{
    struct gq_verdict v = gq_copy(dptr(d), dptr(s), n, ANY, 0, SYNC);
    return v.done ? v.status : real_cuMemcpy(d, s, n);
}
static CUresult do_cuMemcpy_ptds(CUdeviceptr d, CUdeviceptr s, size_t n)
{
    struct gq_verdict v = gq_copy(dptr(d), dptr(s), n, ANY, 0, SYNC | PTDS);
    return v.done ? v.status : real_cuMemcpy_ptds(d, s, n);
}
static CUresult do_cuMemcpyAsync(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st)
{
    struct gq_verdict v = gq_copy(dptr(d), dptr(s), n, ANY, st, 0);
    return v.done ? v.status : real_cuMemcpyAsync(d, s, n, st);
}
static CUresult do_cuMemcpyAsync_ptsz(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st)
{
    struct gq_verdict v = gq_copy(dptr(d), dptr(s), n, ANY, st, PTDS);
    return v.done ? v.status : real_cuMemcpyAsync_ptsz(d, s, n, st);
}

/* ---- the exports ----
 * Each: from inside (a runtime hook's real call, or the shim's own), the
 * real function; else mark the thread inside and run do_<name>. Generated
 * from the one list, so the list, the prototypes and the exports agree. */
#define GQ_DRV_EXPORT(name, base, since, ptds, params, args) \
    GQ_EXPORT CUresult name params                            \
    {                                                         \
        if (gq_layer_inside())                                \
            return real_##name args;                          \
        GQ_TRACE_SITE(#name);                                 \
        gq_layer_enter();                                     \
        CUresult r = do_##name args;                          \
        gq_layer_leave();                                     \
        return r;                                             \
    }
GQ_DRV_MEM_HOOKS(GQ_DRV_EXPORT)
#undef GQ_DRV_EXPORT

/* ---- cuGetProcAddress: hand out our hooks for the symbols we interpose ---- */

static void *const hook_addr[GQ_DH_COUNT] = {
#define GQ_DRV_ADDR(name, base, since, ptds, params, args) (void *)&name,
    GQ_DRV_HOOKS(GQ_DRV_ADDR)
#undef GQ_DRV_ADDR
};

void *gq_drv_hook_addr(enum gq_drv_hook i)
{
    return (unsigned)i < GQ_DH_COUNT ? hook_addr[i] : NULL;
}

/* Replace the driver's answer with our hook when gq_drv_procaddr_choose says
 * the caller asked for exactly the ABI one of our hooks has. Never re-run per
 * call: the caller keeps the pointer. */
static void rewrite_answer(const char *sym, void **pfn, int ver, cuuint64_t flags)
{
    if (!sym || !pfn || !*pfn)
        return;
    int answered = -1;
    for (int i = 0; i < GQ_DH_COUNT; i++) {
        if (*pfn == hook_addr[i])
            return; /* already ours */
        if (*pfn == gq_real_drv_at((enum gq_drv_hook)i))
            answered = i;
    }
    int pick = gq_drv_procaddr_choose(sym, ver, flags, answered);
    if (pick >= 0 && gq_real_drv_at((enum gq_drv_hook)pick))
        *pfn = hook_addr[pick];
}

/* Not gated by the "inside" mark: handing out a pointer copies nothing; the
 * copies made through it are deduplicated when they happen. */
GQ_EXPORT CUresult cuGetProcAddress(const char *sym, void **pfn, int ver, cuuint64_t flags)
{
    CUresult r = real_cuGetProcAddress(sym, pfn, ver, flags);
    if (r == CUDA_SUCCESS)
        rewrite_answer(sym, pfn, ver, flags);
    return r;
}

GQ_EXPORT CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int ver, cuuint64_t flags,
                                       CUdriverProcAddressQueryResult *st)
{
    CUresult r = real_cuGetProcAddress_v2(sym, pfn, ver, flags, st);
    if (r == CUDA_SUCCESS)
        rewrite_answer(sym, pfn, ver, flags);
    return r;
}

/*
 * The driver symbols libgqshim.so exports (list: gq_real_drv.h). Each is a
 * forward into the same logic the runtime hooks use (gq_shim.h); nothing is
 * decided here.
 *
 * A program reaches these through the dynamic linker (-lcuda), through
 * dlsym on a libcuda handle (gq_hooks_dlsym.c) or through cuGetProcAddress
 * (below), which is also how libcudart, static or dynamic, finds the driver.
 * When a dynamic runtime's call arrives here from inside a runtime hook, it
 * passes straight through: the runtime hook has already decided that copy.
 */
#include "gq_real_drv.h"
#include "gq_shim.h"
#include "gq_trace.h"

#include <stdint.h>

#define GQ_EXPORT __attribute__((visibility("default")))

/* Prototypes for every hook: cuda.h declares the _ptds/_ptsz names only in
 * per-thread builds, and cuGetProcAddress (4 arguments) only internally. */
#define GQ_DECLARE(name, base, since, ptds, params, args) GQ_EXPORT CUresult name params;
GQ_DRV_HOOKS(GQ_DECLARE)
#undef GQ_DECLARE

/* The real entry point, or a status when the driver lacks it. */
#define REAL(name, args) \
    (gq_real_drv()->name ? gq_real_drv()->name args : CUDA_ERROR_NOT_FOUND)

#define DPTR(d) ((void *)(uintptr_t)(d))

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
        gq_on_dev_alloc(DPTR(*d), n);
    return r;
}

static CUresult do_cuMemAlloc_v2(CUdeviceptr *d, size_t n)
{
    return dev_alloc(REAL(cuMemAlloc_v2, (d, n)), d, n);
}
static CUresult do_cuMemAllocAsync(CUdeviceptr *d, size_t n, CUstream s)
{
    return dev_alloc(REAL(cuMemAllocAsync, (d, n, s)), d, n);
}
static CUresult do_cuMemAllocAsync_ptsz(CUdeviceptr *d, size_t n, CUstream s)
{
    return dev_alloc(REAL(cuMemAllocAsync_ptsz, (d, n, s)), d, n);
}

static CUresult do_cuMemFree_v2(CUdeviceptr d)
{
    gq_on_dev_free(DPTR(d));
    return REAL(cuMemFree_v2, (d));
}
static CUresult do_cuMemFreeAsync(CUdeviceptr d, CUstream s)
{
    gq_on_dev_free(DPTR(d));
    return REAL(cuMemFreeAsync, (d, s));
}
static CUresult do_cuMemFreeAsync_ptsz(CUdeviceptr d, CUstream s)
{
    gq_on_dev_free(DPTR(d));
    return REAL(cuMemFreeAsync_ptsz, (d, s));
}

static CUresult do_cuMemAllocHost_v2(void **p, size_t n)
{
    GQ_HOST_ALLOC_BODY(CUDA_SUCCESS, p, n, 0, REAL(cuMemAllocHost_v2, (p, n)));
}
static CUresult do_cuMemHostAlloc(void **p, size_t n, unsigned f)
{
    GQ_HOST_ALLOC_BODY(CUDA_SUCCESS, p, n, f, REAL(cuMemHostAlloc, (p, n, f)));
}
static CUresult do_cuMemFreeHost(void *p)
{
    GQ_HOST_FREE_BODY(CUDA_SUCCESS, p, REAL(cuMemFreeHost, (p)));
}
static CUresult do_cuMemHostRegister_v2(void *p, size_t n, unsigned f)
{
    return REAL(cuMemHostRegister_v2, (p, n, f)); /* as cudaHostRegister */
}
static CUresult do_cuMemHostUnregister(void *p)
{
    GQ_HOST_UNREGISTER_BODY(CUDA_SUCCESS, p, REAL(cuMemHostUnregister, (p)));
}

/* A copy: the shim's decision, else the real call unchanged. */
#define COPY(name, d, s, n, kind, st, flags, args)                                       \
    do {                                                                                 \
        CUresult status_;                                                                \
        if (gq_copy_drv((void *)(d), (const void *)(s), n, kind, st, flags, &status_)) \
            return status_;                                                              \
        return REAL(name, args);                                                         \
    } while (0)

enum { SYNC = GQ_COPY_SYNC, PTDS = GQ_COPY_PTDS };
static const enum cudaMemcpyKind D2H = cudaMemcpyDeviceToHost, H2D = cudaMemcpyHostToDevice,
                                 ANY = cudaMemcpyDefault;

static CUresult do_cuMemcpyDtoH_v2(void *d, CUdeviceptr s, size_t n)
{
    COPY(cuMemcpyDtoH_v2, d, DPTR(s), n, D2H, 0, SYNC, (d, s, n));
}
static CUresult do_cuMemcpyDtoH_v2_ptds(void *d, CUdeviceptr s, size_t n)
{
    COPY(cuMemcpyDtoH_v2_ptds, d, DPTR(s), n, D2H, 0, SYNC | PTDS, (d, s, n));
}
static CUresult do_cuMemcpyHtoD_v2(CUdeviceptr d, const void *s, size_t n)
{
    COPY(cuMemcpyHtoD_v2, DPTR(d), s, n, H2D, 0, SYNC, (d, s, n));
}
static CUresult do_cuMemcpyHtoD_v2_ptds(CUdeviceptr d, const void *s, size_t n)
{
    COPY(cuMemcpyHtoD_v2_ptds, DPTR(d), s, n, H2D, 0, SYNC | PTDS, (d, s, n));
}
static CUresult do_cuMemcpyDtoHAsync_v2(void *d, CUdeviceptr s, size_t n, CUstream st)
{
    COPY(cuMemcpyDtoHAsync_v2, d, DPTR(s), n, D2H, st, 0, (d, s, n, st));
}
static CUresult do_cuMemcpyDtoHAsync_v2_ptsz(void *d, CUdeviceptr s, size_t n, CUstream st)
{
    COPY(cuMemcpyDtoHAsync_v2_ptsz, d, DPTR(s), n, D2H, st, PTDS, (d, s, n, st));
}
static CUresult do_cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *s, size_t n, CUstream st)
{
    COPY(cuMemcpyHtoDAsync_v2, DPTR(d), s, n, H2D, st, 0, (d, s, n, st));
}
static CUresult do_cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr d, const void *s, size_t n, CUstream st)
{
    COPY(cuMemcpyHtoDAsync_v2_ptsz, DPTR(d), s, n, H2D, st, PTDS, (d, s, n, st));
}
static CUresult do_cuMemcpy(CUdeviceptr d, CUdeviceptr s, size_t n)
{
    COPY(cuMemcpy, DPTR(d), DPTR(s), n, ANY, 0, SYNC, (d, s, n));
}
static CUresult do_cuMemcpy_ptds(CUdeviceptr d, CUdeviceptr s, size_t n)
{
    COPY(cuMemcpy_ptds, DPTR(d), DPTR(s), n, ANY, 0, SYNC | PTDS, (d, s, n));
}
static CUresult do_cuMemcpyAsync(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st)
{
    COPY(cuMemcpyAsync, DPTR(d), DPTR(s), n, ANY, st, 0, (d, s, n, st));
}
static CUresult do_cuMemcpyAsync_ptsz(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st)
{
    COPY(cuMemcpyAsync_ptsz, DPTR(d), DPTR(s), n, ANY, st, PTDS, (d, s, n, st));
}

/* ---- the exports: mark the thread, or pass through when already inside ---- */

#define GQ_DRV_EXPORT(name, base, since, ptds, params, args) \
    GQ_EXPORT CUresult name params                            \
    {                                                         \
        if (gq_layer_inside())                                \
            return REAL(name, args);                          \
        GQ_TRACE_SITE(#name);                                 \
        gq_layer_enter();                                     \
        CUresult r_ = do_##name args;                         \
        gq_layer_leave();                                     \
        return r_;                                            \
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
    CUresult r = REAL(cuGetProcAddress, (sym, pfn, ver, flags));
    if (r == CUDA_SUCCESS)
        rewrite_answer(sym, pfn, ver, flags);
    return r;
}

GQ_EXPORT CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int ver, cuuint64_t flags,
                                       CUdriverProcAddressQueryResult *st)
{
    CUresult r = REAL(cuGetProcAddress_v2, (sym, pfn, ver, flags, st));
    if (r == CUDA_SUCCESS)
        rewrite_answer(sym, pfn, ver, flags);
    return r;
}

/*
 * gq_real_drv.h — the driver entry points libgqshim.so interposes, and the
 * real ones behind them.
 *
 * GQ_DRV_HOOKS lists every driver symbol the shim exports, once: the table of
 * real pointers, the exported hooks (gq_hooks_drv.c), the names dlsym
 * redirects on a libcuda handle and the answers cuGetProcAddress rewrites all
 * come from it.
 *
 * X(name, base, since, ptds, (parameters), (arguments))
 *   name   the exported symbol (cuda.h's macros expand the base name to it)
 *   base   the name cuGetProcAddress is asked for
 *   since  the first cudaVersion at which cuGetProcAddress(base) answers with
 *          this symbol (cudaTypedefs.h: PFN_<base>_v<since>[_ptds|_ptsz])
 *   ptds   1: the per-thread default stream variant (stream 0 is the calling
 *          thread's stream), asked for with CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
 *
 * Real entry points come from dlsym on the loaded libcuda.so.1 itself (never
 * the global scope, where our own exports come first). A missing one is a
 * status (CUDA_ERROR_NOT_FOUND), never a call through NULL.
 */
#ifndef GQ_REAL_DRV_H
#define GQ_REAL_DRV_H

#include <cuda.h>

/* cuda.h maps the name to cuGetProcAddress_v2; we export both ABIs. */
#undef cuGetProcAddress

/* The hooks that see memory and copies: they pass straight through when the
 * thread is already inside one of the shim's hooks (gq_layer_*). */
#define GQ_DRV_MEM_HOOKS(X)                                                                    \
    X(cuMemAlloc_v2, "cuMemAlloc", 3020, 0, (CUdeviceptr * d, size_t n), (d, n))               \
    X(cuMemAllocAsync, "cuMemAllocAsync", 11020, 0, (CUdeviceptr * d, size_t n, CUstream s),   \
      (d, n, s))                                                                               \
    X(cuMemAllocAsync_ptsz, "cuMemAllocAsync", 11020, 1,                                       \
      (CUdeviceptr * d, size_t n, CUstream s), (d, n, s))                                      \
    X(cuMemFree_v2, "cuMemFree", 3020, 0, (CUdeviceptr d), (d))                                \
    X(cuMemFreeAsync, "cuMemFreeAsync", 11020, 0, (CUdeviceptr d, CUstream s), (d, s))         \
    X(cuMemFreeAsync_ptsz, "cuMemFreeAsync", 11020, 1, (CUdeviceptr d, CUstream s), (d, s))    \
    X(cuMemAllocHost_v2, "cuMemAllocHost", 3020, 0, (void **p, size_t n), (p, n))              \
    X(cuMemHostAlloc, "cuMemHostAlloc", 2020, 0, (void **p, size_t n, unsigned f), (p, n, f))  \
    X(cuMemFreeHost, "cuMemFreeHost", 2000, 0, (void *p), (p))                                 \
    X(cuMemHostRegister_v2, "cuMemHostRegister", 6050, 0, (void *p, size_t n, unsigned f),     \
      (p, n, f))                                                                               \
    X(cuMemHostUnregister, "cuMemHostUnregister", 4000, 0, (void *p), (p))                     \
    X(cuMemcpyDtoH_v2, "cuMemcpyDtoH", 3020, 0, (void *d, CUdeviceptr s, size_t n), (d, s, n)) \
    X(cuMemcpyDtoH_v2_ptds, "cuMemcpyDtoH", 7000, 1, (void *d, CUdeviceptr s, size_t n),       \
      (d, s, n))                                                                               \
    X(cuMemcpyHtoD_v2, "cuMemcpyHtoD", 3020, 0, (CUdeviceptr d, const void *s, size_t n),      \
      (d, s, n))                                                                               \
    X(cuMemcpyHtoD_v2_ptds, "cuMemcpyHtoD", 7000, 1,                                           \
      (CUdeviceptr d, const void *s, size_t n), (d, s, n))                                     \
    X(cuMemcpyDtoHAsync_v2, "cuMemcpyDtoHAsync", 3020, 0,                                      \
      (void *d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st))                          \
    X(cuMemcpyDtoHAsync_v2_ptsz, "cuMemcpyDtoHAsync", 7000, 1,                                 \
      (void *d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st))                          \
    X(cuMemcpyHtoDAsync_v2, "cuMemcpyHtoDAsync", 3020, 0,                                      \
      (CUdeviceptr d, const void *s, size_t n, CUstream st), (d, s, n, st))                    \
    X(cuMemcpyHtoDAsync_v2_ptsz, "cuMemcpyHtoDAsync", 7000, 1,                                 \
      (CUdeviceptr d, const void *s, size_t n, CUstream st), (d, s, n, st))                    \
    X(cuMemcpy, "cuMemcpy", 4000, 0, (CUdeviceptr d, CUdeviceptr s, size_t n), (d, s, n))      \
    X(cuMemcpy_ptds, "cuMemcpy", 7000, 1, (CUdeviceptr d, CUdeviceptr s, size_t n), (d, s, n)) \
    X(cuMemcpyAsync, "cuMemcpyAsync", 4000, 0,                                                 \
      (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st))                    \
    X(cuMemcpyAsync_ptsz, "cuMemcpyAsync", 7000, 1,                                            \
      (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st))                    \
    X(cuMemMap, "cuMemMap", 10020, 0,                                                          \
      (CUdeviceptr d, size_t n, size_t o, CUmemGenericAllocationHandle h, unsigned long long f), \
      (d, n, o, h, f))                                                                         \
    X(cuMemUnmap, "cuMemUnmap", 10020, 0, (CUdeviceptr d, size_t n), (d, n))                  \
    X(cuDevicePrimaryCtxReset_v2, "cuDevicePrimaryCtxReset", 11000, 0, (CUdevice dev), (dev))

/* The lookups through which a program (or a static runtime) finds the
 * entry points above without the dynamic linker. */
#define GQ_DRV_PROC_HOOKS(X)                                                                   \
    X(cuGetProcAddress, "cuGetProcAddress", 11030, 0,                                          \
      (const char *sym, void **pfn, int ver, cuuint64_t fl), (sym, pfn, ver, fl))              \
    X(cuGetProcAddress_v2, "cuGetProcAddress", 12000, 0,                                       \
      (const char *sym, void **pfn, int ver, cuuint64_t fl,                                    \
       CUdriverProcAddressQueryResult *st),                                                    \
      (sym, pfn, ver, fl, st))

#define GQ_DRV_HOOKS(X) GQ_DRV_MEM_HOOKS(X) GQ_DRV_PROC_HOOKS(X)

/* One index per hooked symbol, in list order. */
enum gq_drv_hook {
#define GQ_DRV_ENUM(name, base, since, ptds, params, args) GQ_DH_##name,
    GQ_DRV_HOOKS(GQ_DRV_ENUM)
#undef GQ_DRV_ENUM
    GQ_DH_COUNT
};

#define GQ_DRV_FIELD(name, base, since, ptds, params, args) CUresult (*name) params;
struct gq_real_drv {
    GQ_DRV_HOOKS(GQ_DRV_FIELD)
};
#undef GQ_DRV_FIELD

/* The real driver's entry points, resolved once (thread-safe) from the
 * libcuda.so.1 the program loaded (loaded here when it has none yet). Fields
 * are NULL where the driver lacks the symbol. */
const struct gq_real_drv *gq_real_drv(void);

/* The same, by index: NULL where the driver lacks it. */
void *gq_real_drv_at(enum gq_drv_hook i);

/* The exported symbol name of a hook ("cuMemcpyHtoD_v2_ptds"). */
const char *gq_drv_hook_name(enum gq_drv_hook i);

/* Which hooked symbol `name` is (its exported name), or -1. */
int gq_drv_hook_by_name(const char *name);

/* Which hooked symbol, if any, a cuGetProcAddress answer should be replaced
 * with. `symbol`, `cuda_version` and `flags` are what the caller asked for;
 * `answered` is the hook whose real function the driver answered with (-1
 * when the answer is none of them, e.g. a driver-internal address).
 *
 * The driver's own rule picks the ABI: among the hooks for `symbol` with
 * `since` <= cuda_version, the per-thread variant under
 * CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM (never otherwise), else the
 * one with the greatest `since`. No such hook (an older ABI,
 * e.g. cuMemAlloc before 3020 takes a 32-bit size) answers -1: the real
 * pointer is returned untouched. Otherwise, when the driver answered with one
 * of our symbols, that symbol wins (its ABI is exactly what the caller got);
 * an unrecognised answer for a cuda_version newer than this build knows also
 * answers -1 (the ABI may have changed since). */
int gq_drv_procaddr_choose(const char *symbol, int cuda_version, cuuint64_t flags, int answered);

#endif

/*
 * A CUDA runtime built the way the real libcudart is since CUDA 11.3: it
 * dlopen()s libcuda.so.1, dlsym()s cuGetProcAddress_v2 and reaches every
 * driver entry point through it. cudasim's own libcudart calls its core
 * directly, so without this stand-in no test would see a runtime whose
 * copies travel through the driver hooks.
 *
 * Built twice (tests/tests.mk):
 * - build/e2e/rtdrv/libcudart.so.13: a dynamic runtime. Under the shim, the
 *   runtime hooks see each call first and its driver calls reach our driver
 *   hooks too: the test that every copy is decided exactly once.
 * - linked into build/e2e/drv_static_roundtrip: a static runtime, as nvcc
 *   links by default. The executable's own cudaMemcpy is not interposed;
 *   only the driver hooks, handed out by cuGetProcAddress, reach its copies.
 *
 * Only what tests/e2e/roundtrip.c calls. CUDART_VIA_DRIVER_REPORT=1 prints
 * which library answered cuGetProcAddress for each entry point (so a test can
 * tell that the driver hooks were really in the path).
 */
#define _GNU_SOURCE
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

/* X(field, base name asked for, cuGetProcAddress flags) */
#define ENTRY_POINTS(X)                                  \
    X(Init, "cuInit", 0)                                 \
    X(DeviceGet, "cuDeviceGet", 0)                       \
    X(PrimaryCtxRetain, "cuDevicePrimaryCtxRetain", 0)   \
    X(CtxGetCurrent, "cuCtxGetCurrent", 0)               \
    X(CtxSetCurrent, "cuCtxSetCurrent", 0)               \
    X(StreamCreate, "cuStreamCreate", 0)                 \
    X(StreamDestroy, "cuStreamDestroy", 0)               \
    X(StreamSynchronize, "cuStreamSynchronize", 0)       \
    X(MemAlloc, "cuMemAlloc", 0)                         \
    X(MemFree, "cuMemFree", 0)                           \
    X(MemAllocHost, "cuMemAllocHost", 0)                 \
    X(MemFreeHost, "cuMemFreeHost", 0)                   \
    X(MemcpyHtoD, "cuMemcpyHtoD", 0)                     \
    X(MemcpyDtoH, "cuMemcpyDtoH", 0)                     \
    X(MemcpyDtoD, "cuMemcpyDtoD", 0)                     \
    X(Memcpy, "cuMemcpy", 0)                             \
    X(MemcpyHtoDAsync, "cuMemcpyHtoDAsync", 0)           \
    X(MemcpyDtoHAsync, "cuMemcpyDtoHAsync", 0)           \
    X(MemcpyAsync, "cuMemcpyAsync", 0)                   \
    X(MemsetD8, "cuMemsetD8", 0)

static struct {
    CUresult (*Init)(unsigned);
    CUresult (*DeviceGet)(CUdevice *, int);
    CUresult (*PrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*CtxGetCurrent)(CUcontext *);
    CUresult (*CtxSetCurrent)(CUcontext);
    CUresult (*StreamCreate)(CUstream *, unsigned);
    CUresult (*StreamDestroy)(CUstream);
    CUresult (*StreamSynchronize)(CUstream);
    CUresult (*MemAlloc)(CUdeviceptr *, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemAllocHost)(void **, size_t);
    CUresult (*MemFreeHost)(void *);
    CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
    CUresult (*MemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
    CUresult (*Memcpy)(CUdeviceptr, CUdeviceptr, size_t);
    CUresult (*MemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
    CUresult (*MemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
    CUresult (*MemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
    CUresult (*MemsetD8)(CUdeviceptr, unsigned char, size_t);
} drv;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CUcontext primary;
static int loaded;

static void report(const char *name, void *fn)
{
    Dl_info info;
    const char *lib = fn && dladdr(fn, &info) && info.dli_fname ? info.dli_fname : "?";
    const char *base = strrchr(lib, '/');
    fprintf(stderr, "cudart_via_driver: %s -> %s\n", name, base ? base + 1 : lib);
}

static void load(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    CUresult (*gpa)(const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *) =
        h ? (CUresult(*)(const char *, void **, int, cuuint64_t,
                         CUdriverProcAddressQueryResult *))dlsym(h, "cuGetProcAddress_v2")
          : NULL;
    if (!gpa)
        return;
    int rep = getenv("CUDART_VIA_DRIVER_REPORT") && atoi(getenv("CUDART_VIA_DRIVER_REPORT"));
    if (rep)
        report("cuGetProcAddress_v2", (void *)gpa);
    CUdriverProcAddressQueryResult st;
#define GET(field, base, flags)                                                           \
    if (gpa(base, (void **)&drv.field, CUDA_VERSION, flags, &st) != CUDA_SUCCESS ||      \
        !drv.field)                                                                       \
        return;                                                                           \
    if (rep)                                                                              \
        report(base, (void *)drv.field);
    ENTRY_POINTS(GET)
#undef GET
    CUdevice dev;
    if (drv.Init(0) == CUDA_SUCCESS && drv.DeviceGet(&dev, 0) == CUDA_SUCCESS &&
        drv.PrimaryCtxRetain(&primary, dev) == CUDA_SUCCESS)
        loaded = 1;
}

/* The calling thread's last error, as the runtime keeps it: every failing
 * call sets it, successful calls leave it. */
static __thread cudaError_t last_error;

static cudaError_t failed(cudaError_t e)
{
    if (e != cudaSuccess)
        last_error = e;
    return e;
}

/* The runtime binds its primary context to each thread on first use. */
static cudaError_t ready(void)
{
    pthread_once(&once, load);
    if (!loaded)
        return failed(cudaErrorInitializationError);
    CUcontext c = NULL;
    if (drv.CtxGetCurrent(&c) != CUDA_SUCCESS || !c)
        drv.CtxSetCurrent(primary);
    return cudaSuccess;
}

static cudaError_t rt(CUresult r)
{
    switch (r) {
    case CUDA_SUCCESS: return cudaSuccess;
    case CUDA_ERROR_INVALID_VALUE: return failed(cudaErrorInvalidValue);
    case CUDA_ERROR_OUT_OF_MEMORY: return failed(cudaErrorMemoryAllocation);
    default: return failed(cudaErrorUnknown);
    }
}

#define READY()                       \
    do {                              \
        cudaError_t ready_ = ready(); \
        if (ready_)                   \
            return ready_;            \
    } while (0)

#define DP(p) ((CUdeviceptr)(uintptr_t)(p))

EXPORT cudaError_t cudaMalloc(void **p, size_t n)
{
    READY();
    CUdeviceptr d = 0;
    CUresult r = drv.MemAlloc(&d, n);
    if (r == CUDA_SUCCESS)
        *p = (void *)(uintptr_t)d;
    return rt(r);
}

EXPORT cudaError_t cudaFree(void *p)
{
    READY();
    return p ? rt(drv.MemFree(DP(p))) : cudaSuccess; /* cudaFree(NULL): initialise only */
}

EXPORT cudaError_t cudaMallocHost(void **p, size_t n)
{
    READY();
    return rt(drv.MemAllocHost(p, n));
}

EXPORT cudaError_t cudaFreeHost(void *p)
{
    READY();
    return rt(drv.MemFreeHost(p));
}

EXPORT cudaError_t cudaStreamCreate(cudaStream_t *s)
{
    READY();
    return rt(drv.StreamCreate((CUstream *)s, 0));
}

EXPORT cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    READY();
    return rt(drv.StreamDestroy((CUstream)s));
}

EXPORT cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    READY();
    return rt(drv.StreamSynchronize((CUstream)s));
}

EXPORT cudaError_t cudaMemcpy(void *d, const void *s, size_t n, enum cudaMemcpyKind k)
{
    READY();
    switch (k) {
    case cudaMemcpyHostToDevice: return rt(drv.MemcpyHtoD(DP(d), s, n));
    case cudaMemcpyDeviceToHost: return rt(drv.MemcpyDtoH(d, DP(s), n));
    case cudaMemcpyDeviceToDevice: return rt(drv.MemcpyDtoD(DP(d), DP(s), n));
    default: return rt(drv.Memcpy(DP(d), DP(s), n));
    }
}

EXPORT cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k,
                                   cudaStream_t st)
{
    READY();
    switch (k) {
    case cudaMemcpyHostToDevice: return rt(drv.MemcpyHtoDAsync(DP(d), s, n, (CUstream)st));
    case cudaMemcpyDeviceToHost: return rt(drv.MemcpyDtoHAsync(d, DP(s), n, (CUstream)st));
    default: return rt(drv.MemcpyAsync(DP(d), DP(s), n, (CUstream)st));
    }
}

EXPORT cudaError_t cudaMemset(void *p, int v, size_t n)
{
    READY();
    return rt(drv.MemsetD8(DP(p), (unsigned char)v, n));
}

EXPORT cudaError_t cudaPeekAtLastError(void)
{
    return last_error;
}

EXPORT const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    default: return "unknown error";
    }
}

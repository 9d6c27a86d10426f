/*
 * drv_roundtrip — roundtrip.c for a program written against the driver API
 * (cuda.h, -lcuda): offload a tensor from the GPU to host memory, bring it
 * back, check every byte. It knows nothing of the shim.
 *
 *   drv_roundtrip RESOLVE MODE HOST EXPECT
 *     RESOLVE  link      entry points bound by the dynamic linker (-lcuda)
 *              procaddr  every entry point through cuGetProcAddress
 *              dlsym     dlopen("libcuda.so.1") + dlsym of each entry point
 *     MODE     sync      cuMemcpyDtoH / cuMemcpyHtoD
 *              async     cuMemcpyDtoHAsync / cuMemcpyHtoDAsync on a stream
 *              ptds      the per-thread default stream variants (_ptds, _ptsz on stream 0)
 *              unified   cuMemcpy (direction from the addresses)
 *              unified_async  cuMemcpyAsync on a stream
 *     HOST     pinned (cuMemAllocHost) | hostalloc (cuMemHostAlloc) |
 *              registered (malloc + cuMemHostRegister) | pageable (malloc)
 *     EXPECT   exact | quant (the codec's values for f16, 4 bits, groups of 64)
 *
 * Copies, in order: upload, offload, full restore, check, slice restore,
 * check, restore after a CPU write, check (8).
 */
#include <cuda.h>
#include <dlfcn.h>

#include "e2e.h"
#include "e2e_oracle.h"

#define BYTES (1u << 20)

/* cuda.h declares these only in per-thread builds. */
CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr d, const void *s, size_t n);
CUresult cuMemcpyDtoH_v2_ptds(void *d, CUdeviceptr s, size_t n);
CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr d, const void *s, size_t n, CUstream st);
CUresult cuMemcpyDtoHAsync_v2_ptsz(void *d, CUdeviceptr s, size_t n, CUstream st);
CUresult cuStreamSynchronize_ptsz(CUstream s);

/* X(field, base name, exported name, cuGetProcAddress flags) */
#define PTDS CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
#define API(X)                                                                      \
    X(cuInit, "cuInit", "cuInit", 0)                                                \
    X(cuDeviceGet, "cuDeviceGet", "cuDeviceGet", 0)                                 \
    X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", "cuDevicePrimaryCtxRetain", 0) \
    X(cuCtxSetCurrent, "cuCtxSetCurrent", "cuCtxSetCurrent", 0)                     \
    X(cuStreamCreate, "cuStreamCreate", "cuStreamCreate", 0)                        \
    X(cuStreamDestroy_v2, "cuStreamDestroy", "cuStreamDestroy_v2", 0)               \
    X(cuStreamSynchronize, "cuStreamSynchronize", "cuStreamSynchronize", 0)         \
    X(cuStreamSynchronize_ptsz, "cuStreamSynchronize", "cuStreamSynchronize_ptsz", PTDS) \
    X(cuMemAlloc_v2, "cuMemAlloc", "cuMemAlloc_v2", 0)                              \
    X(cuMemFree_v2, "cuMemFree", "cuMemFree_v2", 0)                                 \
    X(cuMemAllocHost_v2, "cuMemAllocHost", "cuMemAllocHost_v2", 0)                  \
    X(cuMemHostAlloc, "cuMemHostAlloc", "cuMemHostAlloc", 0)                        \
    X(cuMemFreeHost, "cuMemFreeHost", "cuMemFreeHost", 0)                           \
    X(cuMemHostRegister_v2, "cuMemHostRegister", "cuMemHostRegister_v2", 0)         \
    X(cuMemHostUnregister, "cuMemHostUnregister", "cuMemHostUnregister", 0)         \
    X(cuMemcpyHtoD_v2, "cuMemcpyHtoD", "cuMemcpyHtoD_v2", 0)                        \
    X(cuMemcpyDtoH_v2, "cuMemcpyDtoH", "cuMemcpyDtoH_v2", 0)                        \
    X(cuMemcpyHtoD_v2_ptds, "cuMemcpyHtoD", "cuMemcpyHtoD_v2_ptds", PTDS)           \
    X(cuMemcpyDtoH_v2_ptds, "cuMemcpyDtoH", "cuMemcpyDtoH_v2_ptds", PTDS)           \
    X(cuMemcpyHtoDAsync_v2, "cuMemcpyHtoDAsync", "cuMemcpyHtoDAsync_v2", 0)         \
    X(cuMemcpyDtoHAsync_v2, "cuMemcpyDtoHAsync", "cuMemcpyDtoHAsync_v2", 0)         \
    X(cuMemcpyHtoDAsync_v2_ptsz, "cuMemcpyHtoDAsync", "cuMemcpyHtoDAsync_v2_ptsz", PTDS) \
    X(cuMemcpyDtoHAsync_v2_ptsz, "cuMemcpyDtoHAsync", "cuMemcpyDtoHAsync_v2_ptsz", PTDS) \
    X(cuMemcpy, "cuMemcpy", "cuMemcpy", 0)                                          \
    X(cuMemcpyAsync, "cuMemcpyAsync", "cuMemcpyAsync", 0)                           \
    X(cuMemsetD8_v2, "cuMemsetD8", "cuMemsetD8_v2", 0)                              \
    X(cuGetErrorName, "cuGetErrorName", "cuGetErrorName", 0)

static struct {
#define FIELD(f, base, exported, flags) __typeof__(&f) f;
    API(FIELD)
#undef FIELD
} api;

static void resolve(const char *how)
{
    if (strcmp(how, "link") == 0) {
#define LINK(f, base, exported, flags) api.f = f;
        API(LINK)
#undef LINK
    } else if (strcmp(how, "procaddr") == 0) {
        CUdriverProcAddressQueryResult st;
#define PROC(f, base, exported, flags)                                                   \
    if (cuGetProcAddress(base, (void **)&api.f, CUDA_VERSION, flags, &st) != CUDA_SUCCESS || \
        !api.f)                                                                          \
        FAIL("cuGetProcAddress(%s) failed", base);
        API(PROC)
#undef PROC
    } else if (strcmp(how, "dlsym") == 0) {
        void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!h)
            FAIL("dlopen(libcuda.so.1): %s", dlerror());
#define SYM(f, base, exported, flags) \
    if (!(*(void **)&api.f = dlsym(h, exported))) \
        FAIL("dlsym(%s) failed", exported);
        API(SYM)
#undef SYM
    } else {
        FAIL("RESOLVE must be link, procaddr or dlsym");
    }
}

#define CU(call)                                                                     \
    do {                                                                             \
        CUresult cu_ = (call);                                                       \
        if (cu_ != CUDA_SUCCESS) {                                                   \
            const char *name_ = "?";                                                 \
            api.cuGetErrorName(cu_, &name_);                                         \
            FAIL("%s: %s", #call, name_);                                            \
        }                                                                            \
    } while (0)

static const char *mode;
static CUstream stream;

static void d2h(void *h, CUdeviceptr d, size_t n)
{
    if (strcmp(mode, "sync") == 0) {
        CU(api.cuMemcpyDtoH_v2(h, d, n));
    } else if (strcmp(mode, "async") == 0) {
        CU(api.cuMemcpyDtoHAsync_v2(h, d, n, stream));
        CU(api.cuStreamSynchronize(stream));
    } else if (strcmp(mode, "ptds") == 0) {
        CU(api.cuMemcpyDtoHAsync_v2_ptsz(h, d, n, 0));
        CU(api.cuStreamSynchronize_ptsz(0));
    } else if (strcmp(mode, "unified") == 0) {
        CU(api.cuMemcpy((CUdeviceptr)(uintptr_t)h, d, n));
    } else {
        CU(api.cuMemcpyAsync((CUdeviceptr)(uintptr_t)h, d, n, stream));
        CU(api.cuStreamSynchronize(stream));
    }
}

static void h2d(CUdeviceptr d, const void *h, size_t n)
{
    if (strcmp(mode, "sync") == 0) {
        CU(api.cuMemcpyHtoD_v2(d, h, n));
    } else if (strcmp(mode, "async") == 0) {
        CU(api.cuMemcpyHtoDAsync_v2(d, h, n, stream));
        CU(api.cuStreamSynchronize(stream));
    } else if (strcmp(mode, "ptds") == 0) {
        /* the synchronous per-thread variant, for coverage of both */
        CU(api.cuMemcpyHtoD_v2_ptds(d, h, n));
    } else if (strcmp(mode, "unified") == 0) {
        CU(api.cuMemcpy(d, (CUdeviceptr)(uintptr_t)h, n));
    } else {
        CU(api.cuMemcpyAsync(d, (CUdeviceptr)(uintptr_t)h, n, stream));
        CU(api.cuStreamSynchronize(stream));
    }
}

static void check_device(CUdeviceptr d, const void *want, size_t n, const char *what)
{
    unsigned char *h = malloc(n);
    CU(api.cuMemcpyDtoH_v2(h, d, n));
    long at = e2e_diff(h, want, n);
    if (at >= 0)
        FAIL("%s: byte %ld differs (got %02x, want %02x)", what, at, h[at],
             ((const unsigned char *)want)[at]);
    free(h);
}

int main(int argc, char **argv)
{
    if (argc != 5)
        FAIL("usage: drv_roundtrip link|procaddr|dlsym MODE HOST exact|quant");
    const char *host = argv[3], *expect = argv[4];
    mode = argv[2];
    resolve(argv[1]);

    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    unsigned char *src = malloc(BYTES), *want = malloc(BYTES);
    e2e_fill(src, BYTES, "f16", 7, 1);
    e2e_expect(&p, src, BYTES, strcmp(expect, "quant") == 0, want);

    CUdevice dev;
    CUcontext ctx;
    CU(api.cuInit(0));
    CU(api.cuDeviceGet(&dev, 0));
    CU(api.cuDevicePrimaryCtxRetain(&ctx, dev));
    CU(api.cuCtxSetCurrent(ctx));
    CU(api.cuStreamCreate(&stream, 0));

    CUdeviceptr d_a, d_b, d_c;
    CU(api.cuMemAlloc_v2(&d_a, BYTES));
    CU(api.cuMemAlloc_v2(&d_b, BYTES));
    CU(api.cuMemAlloc_v2(&d_c, BYTES));
    unsigned char *h;
    if (strcmp(host, "pinned") == 0) {
        CU(api.cuMemAllocHost_v2((void **)&h, BYTES));
    } else if (strcmp(host, "hostalloc") == 0) {
        CU(api.cuMemHostAlloc((void **)&h, BYTES, CU_MEMHOSTALLOC_PORTABLE));
    } else {
        h = aligned_alloc(4096, BYTES);
        if (strcmp(host, "registered") == 0)
            CU(api.cuMemHostRegister_v2(h, BYTES, 0));
    }

    CU(api.cuMemcpyHtoD_v2(d_a, src, BYTES));
    d2h(h, d_a, BYTES);
    long at = e2e_diff(h, want, BYTES);
    if (at >= 0)
        FAIL("offloaded host buffer: byte %ld differs (got %02x, want %02x)", at, h[at], want[at]);

    h2d(d_b, h, BYTES);
    check_device(d_b, want, BYTES, "full restore");

    /* A slice that starts and ends inside groups, restored at another offset. */
    size_t off = BYTES / 3 / 2 * 2 + 10, len = BYTES / 2;
    CU(api.cuMemsetD8_v2(d_c, 0, BYTES));
    h2d(d_c + 14, h + off, len);
    unsigned char *w2 = calloc(1, BYTES);
    memcpy(w2 + 14, want + off, len);
    check_device(d_c, w2, BYTES, "partial restore");
    free(w2);

    /* The program writes its host buffer: the next upload must carry it. */
    h[BYTES / 2] ^= 0x5a;
    want[BYTES / 2] ^= 0x5a;
    h2d(d_c, h, BYTES);
    check_device(d_c, want, BYTES, "restore after a CPU write");

    printf("drv_roundtrip %s %s %s: ok (%s)\n", argv[1], mode, host, expect);
    CU(api.cuMemFree_v2(d_a));
    CU(api.cuMemFree_v2(d_b));
    CU(api.cuMemFree_v2(d_c));
    if (strcmp(host, "pinned") == 0 || strcmp(host, "hostalloc") == 0) {
        CU(api.cuMemFreeHost(h));
    } else {
        if (strcmp(host, "registered") == 0)
            CU(api.cuMemHostUnregister(h));
        free(h);
    }
    CU(api.cuStreamDestroy_v2(stream));
    free(src);
    free(want);
    return 0;
}

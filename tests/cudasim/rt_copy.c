/* libcudart.so.13: copies and memsets; the per-thread variants share bodies. */
#include "rt.h"

#define U(p) ((uintptr_t)(p))

static int dir_of(enum cudaMemcpyKind k, enum sim_dir *dir)
{
    switch (k) {
    case cudaMemcpyHostToHost: *dir = SIM_H2H; return 1;
    case cudaMemcpyHostToDevice: *dir = SIM_H2D; return 1;
    case cudaMemcpyDeviceToHost: *dir = SIM_D2H; return 1;
    case cudaMemcpyDeviceToDevice: *dir = SIM_D2D; return 1;
    case cudaMemcpyDefault: *dir = SIM_DEFAULT; return 1;
    }
    return 0;
}

static cudaError_t copy2d(void *d, size_t dp, const void *s, size_t sp, size_t w, size_t h,
                          enum cudaMemcpyKind k, cudaStream_t st, int ptds, int sync)
{
    RT_ENTER(dev);
    (void)dev;
    enum sim_dir dir;
    if (!dir_of(k, &dir))
        return rt_error(cudaErrorInvalidMemcpyDirection);
    if (h > 1 && (w > dp || w > sp))
        return rt_error(cudaErrorInvalidPitchValue);
    return rt_result(cudasim_copy2d(U(d), h > 1 ? dp : w, U(s), h > 1 ? sp : w, w, h, dir,
                                    (CUstream)st, ptds, sync));
}

RT_ENTRY(cudaMemcpy, (void *d, const void *s, size_t n, enum cudaMemcpyKind k), (d, s, n, k))
{
    return copy2d(d, n, s, n, n, 1, k, NULL, 0, 1);
}
RT_ENTRY(cudaMemcpy_ptds, (void *d, const void *s, size_t n, enum cudaMemcpyKind k), (d, s, n, k))
{
    return copy2d(d, n, s, n, n, 1, k, NULL, 1, 1);
}
RT_ENTRY(cudaMemcpyAsync, (void *d, const void *s, size_t n, enum cudaMemcpyKind k,
                           cudaStream_t st), (d, s, n, k, st))
{
    return copy2d(d, n, s, n, n, 1, k, st, 0, 0);
}
RT_ENTRY(cudaMemcpyAsync_ptsz, (void *d, const void *s, size_t n, enum cudaMemcpyKind k,
                                cudaStream_t st), (d, s, n, k, st))
{
    return copy2d(d, n, s, n, n, 1, k, st, 1, 0);
}
RT_ENTRY(cudaMemcpy2D, (void *d, size_t dp, const void *s, size_t sp, size_t w, size_t h,
                        enum cudaMemcpyKind k), (d, dp, s, sp, w, h, k))
{
    return copy2d(d, dp, s, sp, w, h, k, NULL, 0, 1);
}
RT_ENTRY(cudaMemcpy2D_ptds, (void *d, size_t dp, const void *s, size_t sp, size_t w, size_t h,
                             enum cudaMemcpyKind k), (d, dp, s, sp, w, h, k))
{
    return copy2d(d, dp, s, sp, w, h, k, NULL, 1, 1);
}
RT_ENTRY(cudaMemcpy2DAsync, (void *d, size_t dp, const void *s, size_t sp, size_t w, size_t h,
                             enum cudaMemcpyKind k, cudaStream_t st), (d, dp, s, sp, w, h, k, st))
{
    return copy2d(d, dp, s, sp, w, h, k, st, 0, 0);
}
RT_ENTRY(cudaMemcpy2DAsync_ptsz, (void *d, size_t dp, const void *s, size_t sp, size_t w, size_t h,
                                  enum cudaMemcpyKind k, cudaStream_t st),
         (d, dp, s, sp, w, h, k, st))
{
    return copy2d(d, dp, s, sp, w, h, k, st, 1, 0);
}

static cudaError_t set(void *d, int v, size_t n, cudaStream_t st, int ptds, int sync)
{
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_memset(U(d), (unsigned char)v, n, (CUstream)st, ptds, sync));
}

RT_ENTRY(cudaMemset, (void *d, int v, size_t n), (d, v, n))
{
    return set(d, v, n, NULL, 0, 1);
}
RT_ENTRY(cudaMemset_ptds, (void *d, int v, size_t n), (d, v, n))
{
    return set(d, v, n, NULL, 1, 1);
}
RT_ENTRY(cudaMemsetAsync, (void *d, int v, size_t n, cudaStream_t st), (d, v, n, st))
{
    return set(d, v, n, st, 0, 0);
}
RT_ENTRY(cudaMemsetAsync_ptsz, (void *d, int v, size_t n, cudaStream_t st), (d, v, n, st))
{
    return set(d, v, n, st, 1, 0);
}

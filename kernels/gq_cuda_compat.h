/*
 * gq_cuda_compat.h — lets gq_kernels.cu (and cudasim's test kernels) compile
 * as plain C (gcc -x c -DGQ_EMU) for the SIMT executor of gq_emu.h. Each CUDA
 * built-in becomes the running thread's value; each intrinsic a call of the
 * executor with CUDA's semantics. Kernels reach memory through gq_dev.h.
 *
 * Shared memory is declared with GQ_SHARED(type, name, count) (a static
 * array) and GQ_SHARED_DYN(type, name) (the launch's dynamic shared memory);
 * gq_dev.h spells both for nvcc.
 */
#ifndef GQ_CUDA_COMPAT_H
#define GQ_CUDA_COMPAT_H

#ifndef GQ_EMU
#error "gq_cuda_compat.h is for the CPU build of the kernels (GQ_EMU)"
#endif

#include "gq_emu.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __restrict__ __restrict

#define blockIdx gq_emu_blockIdx
#define threadIdx gq_emu_threadIdx
#define blockDim gq_emu_blockDim
#define gridDim gq_emu_gridDim
#define warpSize 32

/* Kernels are reached through gq_emu_kernel_find() only. */
#define GQ_KERNEL_LINKAGE static

#define GQ_SHARED(type, name, count)                                                         \
    static const char name##_gq_site;                                                        \
    type *const name = (type *)gq_emu_shared_static(&name##_gq_site, sizeof(type) * (count), \
                                                    _Alignof(type))
#define GQ_SHARED_DYN(type, name) type *const name = (type *)gq_emu_shared_dynamic()

#define __syncthreads() gq_emu_syncthreads()
#define __syncwarp(mask) gq_emu_syncwarp(mask)
#define __activemask() gq_emu_activemask()
#define __popc(x) __builtin_popcount((unsigned)(x))
#define __popcll(x) __builtin_popcountll((unsigned long long)(x))
#define __ffs(x) __builtin_ffs((int)(x))
#define __ffsll(x) __builtin_ffsll((long long)(x))

/* ---- shuffles and votes: any 4- or 8-byte arithmetic type ---- */

#define GQ_EMU_SHFL_T(name, T)                                                              \
    static inline T gq_emu_shfl_##name(unsigned mode, unsigned mask, T v, unsigned b, int w) \
    {                                                                                       \
        uint64_t bits = 0;                                                                  \
        T out;                                                                              \
        memcpy(&bits, &v, sizeof v);                                                        \
        bits = gq_emu_shfl(mode, mask, bits, b, w);                                         \
        memcpy(&out, &bits, sizeof out);                                                    \
        return out;                                                                         \
    }
GQ_EMU_SHFL_T(i32, int)
GQ_EMU_SHFL_T(u32, unsigned)
GQ_EMU_SHFL_T(i64l, long)
GQ_EMU_SHFL_T(u64l, unsigned long)
GQ_EMU_SHFL_T(i64, long long)
GQ_EMU_SHFL_T(u64, unsigned long long)
GQ_EMU_SHFL_T(f32, float)
GQ_EMU_SHFL_T(f64, double)
#undef GQ_EMU_SHFL_T

#define GQ_EMU_SHFL(mode, mask, var, b, w)                                           \
    _Generic((var), int: gq_emu_shfl_i32, unsigned: gq_emu_shfl_u32,                  \
             long: gq_emu_shfl_i64l, unsigned long: gq_emu_shfl_u64l,                 \
             long long: gq_emu_shfl_i64, unsigned long long: gq_emu_shfl_u64,         \
             float: gq_emu_shfl_f32, double: gq_emu_shfl_f64)(mode, mask, var, b, w)
/* The optional width argument (default warpSize). */
#define GQ_EMU_ARG1(a, ...) a
#define GQ_EMU_ARG2(a, b, ...) b
#define __shfl_sync(mask, var, ...)                                                       \
    GQ_EMU_SHFL(GQ_EMU_SHFL_IDX, mask, var, (unsigned)GQ_EMU_ARG1(__VA_ARGS__, ~),        \
                GQ_EMU_ARG2(__VA_ARGS__, 32, ~))
#define __shfl_up_sync(mask, var, ...)                                                    \
    GQ_EMU_SHFL(GQ_EMU_SHFL_UP, mask, var, (unsigned)GQ_EMU_ARG1(__VA_ARGS__, ~),         \
                GQ_EMU_ARG2(__VA_ARGS__, 32, ~))
#define __shfl_down_sync(mask, var, ...)                                                  \
    GQ_EMU_SHFL(GQ_EMU_SHFL_DOWN, mask, var, (unsigned)GQ_EMU_ARG1(__VA_ARGS__, ~),       \
                GQ_EMU_ARG2(__VA_ARGS__, 32, ~))
#define __shfl_xor_sync(mask, var, ...)                                                   \
    GQ_EMU_SHFL(GQ_EMU_SHFL_XOR, mask, var, (unsigned)GQ_EMU_ARG1(__VA_ARGS__, ~),        \
                GQ_EMU_ARG2(__VA_ARGS__, 32, ~))
#define __ballot_sync(mask, pred) gq_emu_vote(GQ_EMU_VOTE_BALLOT, mask, (pred) != 0)
#define __any_sync(mask, pred) ((int)gq_emu_vote(GQ_EMU_VOTE_ANY, mask, (pred) != 0))
#define __all_sync(mask, pred) ((int)gq_emu_vote(GQ_EMU_VOTE_ALL, mask, (pred) != 0))

/* ---- atomics on global or shared memory, 32 and 64 bits ---- */

#define GQ_EMU_ATOMIC_T(op, name, T, expr)                                        \
    static inline T gq_emu_atomic_##op##_##name(T *p, T v)                        \
    {                                                                             \
        T *q = (T *)gq_emu_access(p, sizeof(T), GQ_EMU_ATOM);                     \
        T old = __atomic_load_n(q, __ATOMIC_RELAXED), upd;                        \
        do                                                                        \
            upd = (expr);                                                         \
        while (!__atomic_compare_exchange_n(q, &old, upd, 0, __ATOMIC_RELAXED,    \
                                            __ATOMIC_RELAXED));                   \
        return old;                                                               \
    }
GQ_EMU_ATOMIC_T(add, i32, int, (int)((unsigned)old + (unsigned)v))
GQ_EMU_ATOMIC_T(add, u32, unsigned, old + v)
GQ_EMU_ATOMIC_T(add, u64, unsigned long long, old + v)
GQ_EMU_ATOMIC_T(max, i32, int, old > v ? old : v)
GQ_EMU_ATOMIC_T(max, u32, unsigned, old > v ? old : v)
GQ_EMU_ATOMIC_T(max, i64, long long, old > v ? old : v)
GQ_EMU_ATOMIC_T(max, u64, unsigned long long, old > v ? old : v)
GQ_EMU_ATOMIC_T(min, i32, int, old < v ? old : v)
GQ_EMU_ATOMIC_T(min, u32, unsigned, old < v ? old : v)
GQ_EMU_ATOMIC_T(min, i64, long long, old < v ? old : v)
GQ_EMU_ATOMIC_T(min, u64, unsigned long long, old < v ? old : v)
GQ_EMU_ATOMIC_T(exch, i32, int, v)
GQ_EMU_ATOMIC_T(exch, u32, unsigned, v)
GQ_EMU_ATOMIC_T(exch, u64, unsigned long long, v)
#undef GQ_EMU_ATOMIC_T

/* Float adds: a compare-and-swap on the bits, as a GPU without native ones. */
#define GQ_EMU_ATOMIC_FADD(name, T, U)                                                \
    static inline T gq_emu_atomic_add_##name(T *p, T v)                               \
    {                                                                                 \
        U *q = (U *)gq_emu_access(p, sizeof(T), GQ_EMU_ATOM);                         \
        U old = __atomic_load_n(q, __ATOMIC_RELAXED), upd;                            \
        T f;                                                                          \
        do {                                                                          \
            memcpy(&f, &old, sizeof f);                                               \
            f += v;                                                                   \
            memcpy(&upd, &f, sizeof upd);                                             \
        } while (!__atomic_compare_exchange_n(q, &old, upd, 0, __ATOMIC_RELAXED,      \
                                              __ATOMIC_RELAXED));                     \
        memcpy(&f, &old, sizeof f);                                                   \
        return f;                                                                     \
    }
GQ_EMU_ATOMIC_FADD(f32, float, uint32_t)
GQ_EMU_ATOMIC_FADD(f64, double, uint64_t)
#undef GQ_EMU_ATOMIC_FADD

#define GQ_EMU_ATOMIC_CAS_T(name, T)                                                  \
    static inline T gq_emu_atomic_cas_##name(T *p, T cmp, T v)                        \
    {                                                                                 \
        T *q = (T *)gq_emu_access(p, sizeof(T), GQ_EMU_ATOM);                         \
        __atomic_compare_exchange_n(q, &cmp, v, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);\
        return cmp;                                                                   \
    }
GQ_EMU_ATOMIC_CAS_T(i32, int)
GQ_EMU_ATOMIC_CAS_T(u32, unsigned)
GQ_EMU_ATOMIC_CAS_T(u64, unsigned long long)
#undef GQ_EMU_ATOMIC_CAS_T

#define atomicAdd(p, v)                                                                     \
    _Generic((p), int *: gq_emu_atomic_add_i32, unsigned *: gq_emu_atomic_add_u32,          \
             unsigned long long *: gq_emu_atomic_add_u64, float *: gq_emu_atomic_add_f32,    \
             double *: gq_emu_atomic_add_f64)(p, v)
#define atomicMax(p, v)                                                                     \
    _Generic((p), int *: gq_emu_atomic_max_i32, unsigned *: gq_emu_atomic_max_u32,          \
             long long *: gq_emu_atomic_max_i64, unsigned long long *: gq_emu_atomic_max_u64)(p, v)
#define atomicMin(p, v)                                                                     \
    _Generic((p), int *: gq_emu_atomic_min_i32, unsigned *: gq_emu_atomic_min_u32,          \
             long long *: gq_emu_atomic_min_i64, unsigned long long *: gq_emu_atomic_min_u64)(p, v)
#define atomicExch(p, v)                                                                    \
    _Generic((p), int *: gq_emu_atomic_exch_i32, unsigned *: gq_emu_atomic_exch_u32,        \
             unsigned long long *: gq_emu_atomic_exch_u64)(p, v)
#define atomicCAS(p, c, v)                                                                  \
    _Generic((p), int *: gq_emu_atomic_cas_i32, unsigned *: gq_emu_atomic_cas_u32,          \
             unsigned long long *: gq_emu_atomic_cas_u64)(p, c, v)

#endif

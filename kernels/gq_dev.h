/*
 * gq_dev.h — the only way kernel code touches global or shared memory:
 * loads and stores of 1, 2, 4, 8 and 16 bytes, read-only loads.
 *
 *   nvcc, device code     plain (vector) dereferences; read-only loads are __ldg
 *   GQ_EMU (cudasim)      through gq_emu_access() (gq_emu.h): the address is
 *                         translated (kernels see device addresses the CPU
 *                         cannot dereference), checked (alignment, shared
 *                         bounds) and, in a profiled launch, logged with its
 *                         width for the memory-transaction model
 *   anything else         memcpy (the CPU codec shares gq_group.h; nvcc's host
 *                         pass of GQ_HD functions)
 *
 * Every access must be aligned to its width, as on the GPU. Atomics are
 * CUDA's atomicAdd/... (gq_cuda_compat.h spells them for GQ_EMU).
 */
#ifndef GQ_DEV_H
#define GQ_DEV_H

#include "gq_hd.h"

#if defined(GQ_EMU)
#include "gq_emu.h"
#endif

/* 16 bytes, as one access (uint4 on the GPU). */
struct gq_u32x4 {
    uint32_t x, y, z, w;
};

#if defined(__CUDA_ARCH__)
#define GQ_DEV_LOAD(T, p) (*(const T *)(p))
#define GQ_DEV_LOAD_RO(T, p) __ldg((const T *)(p))
#define GQ_DEV_STORE(T, p, v) (*(T *)(p) = (v))
#elif defined(GQ_EMU)
#define GQ_DEV_LOAD(T, p) (*(const T *)gq_emu_access((p), sizeof(T), GQ_EMU_LD))
#define GQ_DEV_LOAD_RO(T, p) GQ_DEV_LOAD(T, p)
#define GQ_DEV_STORE(T, p, v) (*(T *)gq_emu_access((p), sizeof(T), GQ_EMU_ST) = (v))
#endif

#if defined(__CUDA_ARCH__) || defined(GQ_EMU)
GQ_HD uint8_t gq_load8(const void *p) { return GQ_DEV_LOAD(uint8_t, p); }
GQ_HD uint16_t gq_load16(const void *p) { return GQ_DEV_LOAD(uint16_t, p); }
GQ_HD uint32_t gq_load32(const void *p) { return GQ_DEV_LOAD(uint32_t, p); }
GQ_HD uint64_t gq_load64(const void *p) { return GQ_DEV_LOAD(unsigned long long, p); }
GQ_HD uint8_t gq_load_ro8(const void *p) { return GQ_DEV_LOAD_RO(unsigned char, p); }
GQ_HD uint16_t gq_load_ro16(const void *p) { return GQ_DEV_LOAD_RO(unsigned short, p); }
GQ_HD uint32_t gq_load_ro32(const void *p) { return GQ_DEV_LOAD_RO(unsigned int, p); }
GQ_HD void gq_store8(void *p, uint8_t v) { GQ_DEV_STORE(uint8_t, p, v); }
GQ_HD void gq_store16(void *p, uint16_t v) { GQ_DEV_STORE(uint16_t, p, v); }
GQ_HD void gq_store32(void *p, uint32_t v) { GQ_DEV_STORE(uint32_t, p, v); }
GQ_HD void gq_store64(void *p, uint64_t v) { GQ_DEV_STORE(unsigned long long, p, v); }
#if defined(__CUDA_ARCH__)
GQ_HD struct gq_u32x4 gq_load128(const void *p)
{
    uint4 v = *(const uint4 *)p;
    struct gq_u32x4 r = {v.x, v.y, v.z, v.w};
    return r;
}
GQ_HD struct gq_u32x4 gq_load_ro128(const void *p)
{
    uint4 v = __ldg((const uint4 *)p);
    struct gq_u32x4 r = {v.x, v.y, v.z, v.w};
    return r;
}
GQ_HD void gq_store128(void *p, struct gq_u32x4 v)
{
    *(uint4 *)p = make_uint4(v.x, v.y, v.z, v.w);
}
#else
GQ_HD struct gq_u32x4 gq_load128(const void *p)
{
    struct gq_u32x4 r;
    memcpy(&r, gq_emu_access(p, 16, GQ_EMU_LD), sizeof r);
    return r;
}
GQ_HD struct gq_u32x4 gq_load_ro128(const void *p)
{
    return gq_load128(p);
}
GQ_HD void gq_store128(void *p, struct gq_u32x4 v)
{
    memcpy(gq_emu_access(p, 16, GQ_EMU_ST), &v, sizeof v);
}
#endif
#else /* CPU: the codec's plain memory */
GQ_HD uint8_t gq_load8(const void *p) { return *(const uint8_t *)p; }
GQ_HD uint16_t gq_load16(const void *p) { uint16_t v; memcpy(&v, p, sizeof v); return v; }
GQ_HD uint32_t gq_load32(const void *p) { uint32_t v; memcpy(&v, p, sizeof v); return v; }
GQ_HD uint64_t gq_load64(const void *p) { uint64_t v; memcpy(&v, p, sizeof v); return v; }
GQ_HD uint8_t gq_load_ro8(const void *p) { return gq_load8(p); }
GQ_HD uint16_t gq_load_ro16(const void *p) { return gq_load16(p); }
GQ_HD uint32_t gq_load_ro32(const void *p) { return gq_load32(p); }
GQ_HD void gq_store8(void *p, uint8_t v) { *(uint8_t *)p = v; }
GQ_HD void gq_store16(void *p, uint16_t v) { memcpy(p, &v, sizeof v); }
GQ_HD void gq_store32(void *p, uint32_t v) { memcpy(p, &v, sizeof v); }
GQ_HD void gq_store64(void *p, uint64_t v) { memcpy(p, &v, sizeof v); }
GQ_HD struct gq_u32x4 gq_load128(const void *p) { struct gq_u32x4 r; memcpy(&r, p, sizeof r); return r; }
GQ_HD struct gq_u32x4 gq_load_ro128(const void *p) { return gq_load128(p); }
GQ_HD void gq_store128(void *p, struct gq_u32x4 v) { memcpy(p, &v, sizeof v); }
#endif

/* Shared memory declarations, for nvcc (gq_cuda_compat.h has GQ_EMU's). */
#if defined(__CUDACC__)
#define GQ_SHARED(type, name, count) __shared__ type name[count]
#define GQ_SHARED_DYN(type, name)                       \
    extern __shared__ __align__(16) unsigned char gq_dyn_shared_[]; \
    type *const name = (type *)gq_dyn_shared_
#endif

#endif

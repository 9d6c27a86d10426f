/*
 * gq_cuda_compat.h — lets gq_kernels.cu compile as plain C (gcc -x c
 * -DGQ_EMU) for cudasim. Each CUDA built-in becomes the per-thread variable
 * the emulator sets before running one thread (see gq_emu.h).
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
#define __restrict__ __restrict

#define blockIdx gq_emu_blockIdx
#define threadIdx gq_emu_threadIdx
#define blockDim gq_emu_blockDim
#define gridDim gq_emu_gridDim

/* Kernels are reached through gq_emu_kernel_find() only. */
#define GQ_KERNEL_LINKAGE static

#endif

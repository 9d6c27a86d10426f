/*
 * gq_emu.h — the contract between gqshim's CUDA kernels compiled for the CPU
 * and the simulated driver (tests/cudasim) that launches them.
 *
 * kernels/gq_kernels.cu is compiled twice from the same text: by nvcc into the
 * fatbin that libgqshim.so embeds, and by gcc (with GQ_EMU defined) into
 * build/kernels/gq_kernels_emu.o, which cudasim's libcuda.so.1 links. The
 * macros of gq_cuda_compat.h turn `__global__`, `blockIdx`, ... into plain C
 * for the second build, so the index arithmetic and packing of the real
 * kernels run in CI.
 *
 * Every kernel takes exactly one parameter: a struct passed by value whose
 * first field is a magic number (see gq_format.h). cudasim:
 *   - answers cuModuleGetFunction only for names found in this table;
 *   - rejects a launch whose parameter struct has the wrong magic, or whose
 *     CU_LAUNCH_PARAM_BUFFER_SIZE (when given through `extra`) differs from
 *     params_size: CUDA_ERROR_INVALID_VALUE;
 *   - copies the struct, translates each device-address field listed in
 *     ptr_offsets to a host-accessible alias (or fails the launch when the
 *     address is neither device memory nor mapped pinned host memory), then
 *     runs `entry` once per (block, thread) with the indices below set.
 * Kernels must not use shared memory, warp intrinsics or __syncthreads()
 * outside `#ifndef GQ_EMU` sections: the emulator runs threads one at a time.
 */
#ifndef GQ_EMU_H
#define GQ_EMU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gq_emu_dim3 {
    unsigned x, y, z;
};

/* Set by the launcher before each call of `entry`; per OS thread. */
extern __thread struct gq_emu_dim3 gq_emu_blockIdx, gq_emu_threadIdx;
extern __thread struct gq_emu_dim3 gq_emu_blockDim, gq_emu_gridDim;

#define GQ_EMU_MAX_PTRS 4

struct gq_emu_kernel {
    const char *name;          /* extern "C" name, as in the fatbin */
    size_t params_size;        /* sizeof the by-value parameter struct */
    unsigned params_magic;     /* value the struct's first uint32_t must hold */
    unsigned n_ptrs;           /* device-address fields in the struct */
    size_t ptr_offsets[GQ_EMU_MAX_PTRS];
    void (*entry)(const void *params); /* one thread's work at the current indices */
};

/* The kernel called `name`, or NULL when the image holds no such kernel. */
const struct gq_emu_kernel *gq_emu_kernel_find(const char *name);

#ifdef __cplusplus
}
#endif
#endif

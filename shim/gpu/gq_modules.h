/*
 * gq_modules.h — the shim's kernels (kernels/gq_kernels.h), loaded from the
 * embedded image once per context with cuModuleLoadData.
 */
#ifndef GQ_MODULES_H
#define GQ_MODULES_H

#include <cuda.h>

enum gq_kfn {
    GQ_KFN_QUANTIZE,
    GQ_KFN_DEQUANTIZE,
    GQ_KFN_SPILL,
    GQ_KFN_VERIFY,
    GQ_KFN_COUNT
};

/* The function `which` for the calling thread's current context, loading the
 * module into that context on first use. NULL when no context is current or
 * the module cannot be loaded there (logged once). */
CUfunction gq_drv_kernel(enum gq_kfn which);

/* The calling thread's current context is about to be destroyed
 * (cudaDeviceReset): its kernels are forgotten, so that a new context at
 * the same address loads them anew. */
void gq_drv_forget_context(void);

#include "base/gq_fork.h"
void gq_modules_atfork(enum gq_fork_phase ph);

#endif

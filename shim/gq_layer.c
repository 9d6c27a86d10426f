/*
 * Two entry layers, one implementation: the glue between the driver hooks
 * and the logic the runtime hooks already use (see gq_shim.h).
 *
 * A dynamic libcudart calls the driver through entry points it got from
 * cuGetProcAddress, which answers it with our driver hooks: without the
 * "inside" mark, one cudaMemcpy would be decided twice (and one cudaMalloc
 * counted twice for nth=). The mark is per thread because the runtime makes
 * its driver calls on the caller's thread.
 */
#include "gq_shim.h"

static __thread unsigned depth;

void gq_layer_enter(void) { depth++; }
void gq_layer_leave(void) { depth--; }
int gq_layer_inside(void) { return depth != 0; }

/* gq_copy reports in runtime statuses, whose numbers are the driver's for
 * every error it can pass on (see to_cuda_error in gq_copy.c). */
static CUresult to_cu(cudaError_t e) { return (CUresult)e; }

int gq_copy_drv(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind, CUstream s,
                unsigned flags, CUresult *status)
{
    cudaError_t st = cudaSuccess;
    /* Runtime and driver stream handles are the same objects. */
    if (!gq_copy(dst, src, count, kind, (cudaStream_t)s, flags, &st))
        return 0;
    *status = to_cu(st);
    return 1;
}

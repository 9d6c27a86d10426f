/*
 * drv_ctx_reset — a driver-API program resets the primary context
 * (cuDevicePrimaryCtxReset) between two offload/restore rounds, as a
 * framework does between models. Everything the context held is gone
 * afterwards, the shim's kernels and blocks there included: the second
 * round must be compressed as the first was (kernels loaded again, new
 * blocks), and nothing may point into what the reset destroyed.
 * Argument: "quant" under a rule that takes the 1 MiB pinned buffers, else
 * "exact".
 */
#include <cuda.h>

#include "e2e.h"
#include "e2e_oracle.h"

#define BYTES (1u << 20)

#define DK(call)                                                                  \
    do {                                                                          \
        CUresult dk_ = (call);                                                    \
        if (dk_ != CUDA_SUCCESS)                                                  \
            FAIL("%s: CUresult %d", #call, (int)dk_);                             \
    } while (0)

static void round_trip(int round, int quant)
{
    CUdeviceptr dev, back;
    void *pinned, *src = malloc(BYTES), *want = malloc(BYTES), *got = malloc(BYTES);
    if (!src || !want || !got)
        FAIL("out of memory");
    e2e_fill(src, BYTES, "f16", (uint64_t)(round + 3), 0);
    DK(cuMemAlloc(&dev, BYTES));
    DK(cuMemAlloc(&back, BYTES));
    DK(cuMemAllocHost(&pinned, BYTES));
    DK(cuMemcpyHtoD(dev, src, BYTES));
    DK(cuMemcpyDtoH(pinned, dev, BYTES)); /* offload */
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    e2e_expect(&p, src, BYTES, quant, want);
    if (e2e_diff(pinned, want, BYTES) >= 0)
        FAIL("round %d: the offloaded tensor is not the %s", round, quant ? "4-bit round trip" : "original");
    DK(cuMemcpyHtoD(back, pinned, BYTES)); /* restore */
    DK(cuMemcpyDtoH(got, back, BYTES));
    if (e2e_diff(got, want, BYTES) >= 0)
        FAIL("round %d: the restored tensor differs from the host copy", round);
    free(src), free(want), free(got);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        FAIL("usage: drv_ctx_reset quant|exact");
    int quant = strcmp(argv[1], "quant") == 0;
    CUcontext ctx;
    DK(cuInit(0));
    DK(cuDevicePrimaryCtxRetain(&ctx, 0));
    DK(cuCtxSetCurrent(ctx));
    round_trip(0, quant);
    /* Memory, streams and modules of the context go (the program drops its
     * pointers to them too: they are dangling now). */
    DK(cuDevicePrimaryCtxReset(0));
    DK(cuDevicePrimaryCtxRetain(&ctx, 0));
    DK(cuCtxSetCurrent(ctx));
    round_trip(1, quant);
    printf("drv_ctx_reset: both rounds %s\n", quant ? "compressed" : "exact");
    return 0;
}

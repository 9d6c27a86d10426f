/*
 * drv_ctx_reset — a driver-API program ends the primary context's state
 * between two offload/restore rounds, as a framework does between models:
 *   reset    cuDevicePrimaryCtxReset: everything the context held is gone,
 *            the shim's kernels and blocks there included; the second round
 *            must be compressed as the first was (kernels loaded again, new
 *            blocks), and nothing may point into what the reset destroyed;
 *   release  the program frees what it made and releases its reference to
 *            the primary context, then retains it again: the shim holds a
 *            reference of its own, so its kernels and blocks stay valid.
 * Second argument: "quant" under a rule that takes the 1 MiB pinned
 * buffers, else "exact".
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
    DK(cuMemFree(dev));
    DK(cuMemFree(back));
    DK(cuMemFreeHost(pinned));
    free(src), free(want), free(got);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "reset") && strcmp(argv[1], "release")))
        FAIL("usage: drv_ctx_reset reset|release quant|exact");
    int quant = strcmp(argv[2], "quant") == 0;
    CUcontext ctx;
    DK(cuInit(0));
    DK(cuDevicePrimaryCtxRetain(&ctx, 0));
    DK(cuCtxSetCurrent(ctx));
    round_trip(0, quant);
    if (strcmp(argv[1], "reset") == 0) {
        /* Memory, streams and modules of the context go. */
        DK(cuDevicePrimaryCtxReset(0));
    } else {
        /* The program's last reference: without another holder the
         * context is destroyed, and using it is an error until retained. */
        DK(cuDevicePrimaryCtxRelease(0));
    }
    DK(cuDevicePrimaryCtxRetain(&ctx, 0));
    DK(cuCtxSetCurrent(ctx));
    round_trip(1, quant);
    printf("drv_ctx_reset %s: both rounds %s\n", argv[1], quant ? "compressed" : "exact");
    return 0;
}

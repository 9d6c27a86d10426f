/*
 * cudasim, primary contexts: references from cuDevicePrimaryCtxRetain and
 * the runtime; the last release destroys the context's memory (and streams
 * and modules), and work in it is refused until it is retained again.
 */
#include <cuda.h>

#include "check.h"

#define OK CUDA_SUCCESS

static void the_last_release_destroys_the_context(void)
{
    CUcontext ctx;
    CUdeviceptr d;
    unsigned type = 0;
    EXPECT_CODE(cuInit(0), OK);
    EXPECT_CODE(cuDevicePrimaryCtxRetain(&ctx, 0), OK);
    EXPECT_CODE(cuCtxSetCurrent(ctx), OK);
    EXPECT_CODE(cuDevicePrimaryCtxRetain(&ctx, 0), OK); /* two references */
    EXPECT_CODE(cuMemAlloc(&d, 4096), OK);
    EXPECT_CODE(cuDevicePrimaryCtxRelease(0), OK);
    EXPECT_CODE(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d), OK); /* alive */
    EXPECT_CODE(cuDevicePrimaryCtxRelease(0), OK); /* the last one */
    EXPECT_CODE(cuMemAlloc(&d, 4096), CUDA_ERROR_CONTEXT_IS_DESTROYED);
    EXPECT_CODE(cuDevicePrimaryCtxRelease(0), CUDA_ERROR_INVALID_CONTEXT); /* none left */
    EXPECT_CODE(cuDevicePrimaryCtxRetain(&ctx, 0), OK); /* a new one */
    EXPECT(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d) != OK); /* memory gone */
    EXPECT_CODE(cuMemAlloc(&d, 4096), OK);
    EXPECT_CODE(cuMemFree(d), OK);
}

CHECK_MAIN(CHECK(the_last_release_destroys_the_context))

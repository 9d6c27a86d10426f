/* Queueing the codec kernels (see gq_launch.h and kernels/gq_kernels.h). */
#include "gpu/gq_launch.h"

#include "gpu/gq_driver.h"
#include "gpu/gq_modules.h"
#include "gq_kernels.h"
#include "gpu/gq_ktime.h"

static CUresult launch(enum gq_kfn which, CUstream s, uint64_t items, void *params)
{
    CUfunction f = gq_drv_kernel(which);
    if (!f)
        return CUDA_ERROR_NOT_FOUND;
    void *args[] = {params};
    struct gq_ktimer t;
    gq_ktime_begin(&t, which, s);
    CUresult r = gq_drv()->cuLaunchKernel(f, gq_launch_grid(items), 1, 1, GQ_BLOCK, 1, 1, 0, s,
                                          args, NULL);
    gq_ktime_end(&t, s, r);
    return r;
}

CUresult gq_launch_quantize(CUstream s, CUdeviceptr src, const struct gq_params *p,
                            const struct gq_layout *l, CUdeviceptr block)
{
    struct gq_quant_params k;
    if (gq_quant_params_init(&k, p, l->n_elems, l->escape_capacity, (const void *)src,
                             (void *)block) != GQ_OK)
        return CUDA_ERROR_INVALID_VALUE;
    return launch(GQ_KFN_QUANTIZE, s, gq_quant_items(&k), &k);
}

CUresult gq_launch_dequantize(CUstream s, CUdeviceptr block, const struct gq_params *p,
                              const struct gq_layout *l, uint64_t e0, uint64_t e1,
                              CUdeviceptr dst)
{
    struct gq_dequant_params k;
    if (gq_dequant_params_init(&k, p, l->n_elems, l->escape_capacity, (const void *)block, e0,
                               e1, (void *)dst) != GQ_OK)
        return CUDA_ERROR_INVALID_VALUE;
    return launch(GQ_KFN_DEQUANTIZE, s, gq_dequant_items(&k), &k);
}

CUresult gq_launch_verify(CUstream s, CUdeviceptr src, const struct gq_params *p,
                          const struct gq_layout *l, CUdeviceptr block, CUdeviceptr out)
{
    struct gq_verify_params k;
    if (gq_verify_params_init(&k, p, l->n_elems, l->escape_capacity, (const void *)src,
                              (const void *)block, (struct gq_verify_result *)out) != GQ_OK)
        return CUDA_ERROR_INVALID_VALUE;
    return launch(GQ_KFN_VERIFY, s, gq_verify_items(&k), &k);
}

CUresult gq_launch_spill(CUstream s, CUdeviceptr block, CUdeviceptr src, CUdeviceptr dst,
                         size_t bytes)
{
    CUfunction f = gq_drv_kernel(GQ_KFN_SPILL);
    if (!f)
        return CUDA_ERROR_NOT_FOUND;
    struct gq_spill_params k = {GQ_SPILL_MAGIC, 0, bytes, (const void *)block, (const void *)src,
                                (void *)dst};
    void *args[] = {&k};
    struct gq_ktimer t;
    gq_ktime_begin(&t, GQ_KFN_SPILL, s);
    CUresult r = gq_drv()->cuLaunchKernel(f, GQ_SPILL_BLOCKS, 1, 1, GQ_BLOCK, 1, 1, 0, s, args, NULL);
    gq_ktime_end(&t, s, r);
    return r;
}

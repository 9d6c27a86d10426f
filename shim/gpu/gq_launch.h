/*
 * gq_launch.h — queueing the shim's kernels on a stream (driver API).
 *
 * Each returns CUDA_SUCCESS once the work is queued, or the driver's status
 * (nothing queued) — the caller then passes the copy through. None waits.
 */
#ifndef GQ_LAUNCH_H
#define GQ_LAUNCH_H

#include "gq_format.h"

#include <cuda.h>

/* Quantize the tensor at `src` (n elements, device memory) into the block at
 * `block` (device address of mapped store memory). The block's header words
 * escape_count and overflow must be zero. */
CUresult gq_launch_quantize(CUstream s, CUdeviceptr src, const struct gq_params *p,
                            const struct gq_layout *l, CUdeviceptr block);

/* Decode elements [e0, e1) of the block into `dst` (device memory; dst
 * receives element e0 first). */
CUresult gq_launch_dequantize(CUstream s, CUdeviceptr block, const struct gq_params *p,
                              const struct gq_layout *l, uint64_t e0, uint64_t e1,
                              CUdeviceptr dst);

/* GQSHIM_VERIFY: after the quantize of `src` into `block` (stream order),
 * add the quantization error into *out (device address of a zeroed
 * struct gq_verify_result, see gq_kernels.h). */
CUresult gq_launch_verify(CUstream s, CUdeviceptr src, const struct gq_params *p,
                          const struct gq_layout *l, CUdeviceptr block, CUdeviceptr out);

/* When the block's header says overflow (read on the GPU, after the quantize
 * in stream order), copy `bytes` raw from src to dst; otherwise do nothing. */
CUresult gq_launch_spill(CUstream s, CUdeviceptr block, CUdeviceptr src, CUdeviceptr dst,
                         size_t bytes);

#endif

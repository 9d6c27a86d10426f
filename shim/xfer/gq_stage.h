/*
 * gq_stage.h — the data path of a compressed copy: a tensor's segments
 * (store/gq_segs.h) between device memory and their block in the store.
 *
 * Staged (the default): offload quantizes each segment from the source
 * into a slot of device staging memory (gpu/gq_staging.h), and the copy
 * engine moves the slot's compressed bytes to the pinned block
 * (cuMemcpyDtoHAsync) while the next segment is quantized; restore copies
 * each segment host to device into a slot, and dequantizes from there into
 * the destination while the next segment travels. PCIe carries only
 * compressed bytes, in DMA transfers. The program's stream is joined by
 * events: the work starts after what the stream held at the call and the
 * stream continues after it, exactly as CUDA's own copy would.
 *
 * Zero-copy (the fallback, counted): where the context has no staging or a
 * segment does not fit a slot, the kernels read and write the mapped block
 * directly, on the program's stream.
 *
 * Neither allocates, nor calls an implicitly synchronizing API, nor waits
 * on the host. CUDA_SUCCESS once everything is queued, else the driver's
 * status (possibly half queued: the caller settles it).
 */
#ifndef GQ_STAGE_H
#define GQ_STAGE_H

#include "store/gq_segs.h"
#include "store/gq_store.h"

#include <cuda.h>

/* The largest segment to cut blocks into: the slot size of the configured
 * staging (the same in every context), capped at GQ_SEG_TARGET. */
size_t gq_stage_segment_max(void);

/* Offload: quantize the tensor at `src` into block b, cut as g. `ready` is
 * recorded when the block holds it all (or, where the driver refuses the
 * record, the block is written before this returns); the stream s
 * continues after that. spill_dst (0: none): where a segment whose escapes
 * overflowed goes raw, by the spill kernel (a device view of the program's
 * host buffer); *spilled says whether every spill was queued (else the
 * caller checks the headers once the work is done). The header escape
 * words of every segment are zeroed here. */
CUresult gq_stage_offload(CUstream s, CUdeviceptr src, const struct gq_segs *g,
                          const struct gq_block *b, CUdeviceptr spill_dst, CUevent ready,
                          int *spilled);

/* Restore: elements [e0, e1) of the tensor in block b (cut as g) to dst,
 * after the work queued on s so far (which has waited for the block's
 * `ready`); s continues after it. */
CUresult gq_stage_restore(CUstream s, const struct gq_segs *g, const struct gq_block *b,
                          uint64_t e0, uint64_t e1, CUdeviceptr dst);

#endif

/*
 * gq_verify.h — GQSHIM_VERIFY=1: the quantization error of every offload,
 * measured on the GPU and summed per rule.
 *
 * After an offload's quantize kernel, in the program's stream order, the
 * gq_verify kernel (kernels/gq_kernels.h) compares the tensor with what its
 * compressed block decodes to, adding into a small result slot in device
 * memory (its atomics never cross PCIe); one DMA of 32 bytes copies the slot
 * into pinned memory, and a stream callback adds it into the rule's totals
 * and frees the slot. Nothing waits: the offload stays as asynchronous as it
 * was. An offload whose block overflowed its escapes (copied raw) adds
 * nothing. With GQSHIM_VERIFY off, gq_verify_offload returns at once.
 *
 * The slots, device and pinned, are per context and allocated at allocation
 * events (gq_verify_reserve, beside gq_staging_reserve), never inside a
 * copy: cuMemAlloc and cuMemHostAlloc synchronize implicitly. An offload in
 * a context that has none yet is counted unmeasured.
 */
#ifndef GQ_VERIFY_H
#define GQ_VERIFY_H

#include "gq_format.h"

#include "base/gq_fork.h"

#include <cuda.h>
#include <stdint.h>

struct gq_rule;

/* Queue the check of one offload: `src` the device tensor, `block` the
 * device address of its compressed block, both as gq_launch_quantize got
 * them; `tensor` the row of base/gq_counters.h the error is added to as well.
 * Failing to queue (no slots in this context yet, none free, a call
 * refused) is counted as an unmeasured offload, never an error of the copy;
 * a slot whose stream callback was refused stays taken (nothing says when
 * its queued work is done, and the copy must not wait for it). */
void gq_verify_offload(CUstream s, CUdeviceptr src, const struct gq_params *p,
                       const struct gq_layout *l, CUdeviceptr block, const struct gq_rule *rule,
                       unsigned tensor);

struct gq_verify_totals {
    uint64_t offloads; /* offloads measured */
    uint64_t elements; /* elements compared (finite in the source) */
    double max_abs;    /* largest |decoded - x| */
    double sum_sq_err, sum_sq;
    double nmse;       /* sum_sq_err / sum_sq; 0 when sum_sq is 0 */
};

/* The totals of the rule with gq_rule.index `index`; 0 when it measured
 * nothing. */
int gq_verify_rule(unsigned index, struct gq_verify_totals *out);

/* The current context's result slots, when GQSHIM_VERIFY is on and it has
 * none: at an allocation event (the program's, which synchronizes anyway).
 * A refusal is said once and tried again at the next one. */
void gq_verify_reserve(void);

/* The current context is about to be destroyed (cudaDeviceReset): its
 * slots die with it and are forgotten. */
void gq_verify_forget_context(void);

void gq_verify_atfork(enum gq_fork_phase ph);

/* Offloads that could not be measured (no result slot, a refused call). */
uint64_t gq_verify_unmeasured(void);

#endif

/*
 * gq_verify.h — GQSHIM_VERIFY=1: the quantization error of every offload,
 * measured on the GPU and summed per rule.
 *
 * After an offload's quantize kernel, in the program's stream order, the
 * gq_verify kernel (kernels/gq_kernels.h) compares the tensor with what its
 * compressed block decodes to, into a small result slot in pinned,
 * device-mapped memory; a stream callback then adds the slot into the rule's
 * totals and frees it. Nothing waits: the offload stays as asynchronous as
 * it was. An offload whose block overflowed its escapes (copied raw) adds
 * nothing. With GQSHIM_VERIFY off, gq_verify_offload returns at once.
 */
#ifndef GQ_VERIFY_H
#define GQ_VERIFY_H

#include "gq_format.h"

#include <cuda.h>
#include <stdint.h>

struct gq_rule;

/* Queue the check of one offload: `src` the device tensor, `block` the
 * device address of its compressed block, both as gq_launch_quantize got
 * them; `tensor` the row of base/gq_counters.h the error is added to as well.
 * Failing to queue (no slot free, launch refused) is counted as an
 * unverified offload, never an error of the copy. */
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

/* Offloads that could not be measured (no free result slot, a refused launch). */
uint64_t gq_verify_unmeasured(void);

#endif

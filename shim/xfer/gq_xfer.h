/*
 * gq_xfer.h — one copy the shim was offered, done compressed or left to the
 * real call: the transfer layer's whole interface to the layer above.
 *
 * Offload (D2H of a registered tensor): the quantize kernel on the
 * program's stream writes a block in the compressed store -> [spill kernel:
 * raw copy when escapes overflowed] -> stream callback decoding the block
 * into the program's host buffer -> event. Into a shim-owned buffer
 * (host/gq_hostmem.h) the block is the only copy and the buffer's pages are
 * dropped. Restore (H2D from a host range held compressed): the dequantize
 * kernel reads the block; bytes on host pages that write tracking cannot
 * vouch for travel raw.
 *
 * Both take the driver's stream handle (the legacy or per-thread default
 * stream already made explicit) and never fail the program's copy on the
 * shim's own trouble: anything that goes wrong before the copy is committed
 * answers "pass", with its reason.
 */
#ifndef GQ_XFER_H
#define GQ_XFER_H

#include "base/gq_copy_flags.h"
#include "base/gq_counters.h"

#include <cuda.h>
#include <stddef.h>
#include <stdint.h>

/* What became of a copy. Eight bytes, so that it travels in one register
 * (a 12-byte struct was assembled on the stack and read back across the
 * store, a stall on every pass-through call). */
struct gq_verdict {
    CUresult status; /* done: the copy's status */
    uint16_t why;    /* not done: why the real call must make it (enum gq_pass_reason) */
    uint8_t done;    /* 1: the shim made the copy */
};
_Static_assert(sizeof(struct gq_verdict) == 8, "a verdict fits one register");

static inline struct gq_verdict gq_verdict_done(CUresult status)
{
    struct gq_verdict v = {status, GQ_PASS_NO_RULE, 1};
    return v;
}

static inline struct gq_verdict gq_verdict_pass(enum gq_pass_reason why)
{
    struct gq_verdict v = {CUDA_SUCCESS, (uint16_t)why, 0};
    return v;
}

/* A device-to-host copy of `count` bytes on stream s (flags: gq_copy_flags). */
struct gq_verdict gq_offload(void *dst, const void *src, size_t count, CUstream s, unsigned flags);

/* A host-to-device copy of `count` bytes on stream s. */
struct gq_verdict gq_restore(void *dst, const void *src, size_t count, CUstream s, unsigned flags);

#endif

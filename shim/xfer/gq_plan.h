/*
 * gq_plan.h — what an offload or a restore needs before it queues work:
 * the codec parameters and layout for a copy, a block of the store, and the
 * one warning for the driver's refusals. Used by gq_offload.c and
 * gq_restore.c only.
 */
#ifndef GQ_PLAN_H
#define GQ_PLAN_H

#include "base/gq_counters.h"
#include "store/gq_segs.h"
#include "store/gq_store.h"

#include "gq_format.h"
#include "gq_rules.h"

#include <cuda.h>
#include <stddef.h>

/* Copies below this size are not worth a kernel launch. */
#define GQ_MIN_COPY 4096u

/* The codec parameters a rule asks for. */
void gq_plan_params(const struct gq_rule *r, struct gq_params *p);

/* How the block of a copy of `count` bytes under `rule` is cut (parameters,
 * segments no bigger than the staging can take): 1, or 0 and why the copy
 * cannot be compressed. `few_escapes`: the caller can fall back to the raw
 * data when escapes overflow, so a small escape area will do. */
int gq_plan(const struct gq_rule *rule, const void *src, const void *dst, size_t count,
            int few_escapes, struct gq_segs *g, enum gq_pass_reason *why);

/* At an allocation event that `rule` takes (`bytes` of tensor memory, or a
 * gq_register): take the context's staging if it has none, and make room
 * in the store for the block of one offload of all of it. Both may
 * synchronize the device, which the program's own allocation does anyway;
 * no copy's path ever does either (gpu/gq_staging.h, store/gq_store.h). */
void gq_plan_reserve(const struct gq_rule *rule, size_t bytes);

/* What any context the shim may copy in needs before its first copy (the
 * staging pool, GQSHIM_VERIFY's result slots): at an allocation event, for
 * the current context. */
void gq_plan_reserve_context(void);

/* A store block for work queued next on stream s (NULL: the CPU writes it
 * now); when the budget is spent, first let go of the blocks whose buffers
 * are gone, then try once more. `may_wait`: the copy waits for its own
 * completion anyway, so when the store is adding a slab it waits for that
 * too (the store's thread makes the driver call) rather than go raw. */
enum gq_store_status gq_plan_block(size_t size, CUstream s, int may_wait, struct gq_block *b);

/* The driver refused the shim's work for a copy, which then goes through
 * uncompressed. Said once per process, whichever copy it was: a refusal
 * tends to repeat on every copy, and the stats count each one. */
void gq_plan_warn_refused(const char *what, size_t count, CUresult r);

/* upload=compress (gq_offload.c): compress [src, src+count) on the CPU at
 * its first upload, when a rule asks for it; 1 when an entry now holds it. */
int gq_upload_compress(const void *src, size_t count);

#endif

/*
 * gq_store.h — the compressed store: pinned, device-mapped host memory in
 * which offloaded tensors are kept compressed.
 *
 * The GPU writes a block directly (the quantize kernel stores into mapped
 * memory: PCIe carries only compressed bytes) and reads it back the same way.
 * Memory comes from the driver (cuMemHostAlloc, portable + device-mapped) in
 * chunks: small blocks share chunks (first fit, 256-byte alignment), big ones
 * get a chunk of their own, so the pinned total tracks what blocks hold. The total
 * pinned size never exceeds the budget (GQSHIM_POOL_MAX); a request that does
 * not fit fails and the caller passes its copy through.
 *
 * A block may still be read or written by queued GPU work when its owner lets
 * go of it, so blocks are released against an event (gq_store_release): the
 * memory returns to the pool once that event has completed.
 *
 * Thread-safe. None of these functions may be called from a stream callback
 * (cuLaunchHostFunc): they take the store's lock and may call the driver.
 */
#ifndef GQ_STORE_H
#define GQ_STORE_H

#include <cuda.h>
#include <stddef.h>

struct gq_chunk;

struct gq_block {
    unsigned char *host; /* CPU address */
    CUdeviceptr dev;     /* GPU address of the same bytes */
    size_t size;
    struct gq_chunk *chunk;
};

enum gq_store_status { GQ_STORE_OK, GQ_STORE_OVER_BUDGET, GQ_STORE_DRIVER_FAILED };

/* The budget in bytes (0: none). Unless set, it comes from GQSHIM_POOL_MAX
 * on the first allocation. */
void gq_store_set_budget(size_t bytes);

/* A block of at least `size` bytes. */
enum gq_store_status gq_store_alloc(size_t size, struct gq_block *out);

/* Return the block to the pool once `done` has completed; the store takes
 * ownership of the event (destroys it). `done` may be NULL: free now. */
void gq_store_release(struct gq_block *b, CUevent done);

/* The same once every one of done[0..n) has completed (GPU work on several
 * streams read the block); the store takes ownership of the events. */
void gq_store_release_after(struct gq_block *b, const CUevent *done, unsigned n);

/* Wait for every block released against an event, and give every chunk
 * holding no live block back to the driver (before cudaDeviceReset). */
void gq_store_drop_idle(void);

struct gq_store_usage {
    size_t pinned;    /* bytes obtained from the driver */
    size_t in_blocks; /* bytes inside live blocks */
    size_t peak_pinned;
};
void gq_store_usage(struct gq_store_usage *u);

#include "base/gq_fork.h"
void gq_store_atfork(enum gq_fork_phase ph);

#endif

/*
 * gq_store.h — the compressed store: pinned, device-mapped host memory in
 * which offloaded tensors are kept compressed.
 *
 * The copy engine writes a block (the staged data path, xfer/gq_stage.h)
 * or, as a fallback, the GPU's kernels through the mapping. Memory comes
 * from the driver (cuMemHostAlloc, portable + device-mapped) in large slabs
 * that blocks are carved from (first fit, 256-byte alignment) and that stay
 * pinned: a block that goes returns to its slab's free list, never to the
 * driver, so a program that offloads the same sizes again and again pins
 * nothing more after its first round. The total pinned size never exceeds
 * the budget (GQSHIM_POOL_MAX).
 *
 * cuMemHostAlloc may synchronize the device, so it never runs on a copy's
 * path: slabs are added at allocation events (gq_store_reserve: the
 * program is allocating anyway) and, when a copy finds no room, by the
 * store's own thread while that copy goes uncompressed (GQ_STORE_GROWING),
 * or, for a copy that waits for its own completion anyway, after it has
 * waited for that thread (gq_store_await_growth).
 *
 * A block may still be read or written by queued GPU work when its owner lets
 * go of it, so blocks are released against events (gq_store_release): the
 * memory returns to the free list once those have completed.
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

enum gq_store_status {
    GQ_STORE_OK,
    GQ_STORE_OVER_BUDGET,  /* no room, and the budget allows no more */
    GQ_STORE_GROWING,      /* no room now; a slab is being added */
    GQ_STORE_DRIVER_FAILED /* the driver refused pinned memory */
};

/* The budget in bytes (0: none). Unless set, it comes from GQSHIM_POOL_MAX
 * on the first allocation. */
void gq_store_set_budget(size_t bytes);

/* A block of at least `size` bytes, from the slabs there are: never calls
 * the driver's allocator, never waits. */
enum gq_store_status gq_store_alloc(size_t size, struct gq_block *out);

/* The same for GPU work queued next on stream s: when no free extent fits,
 * a block released against events not yet complete (at most twice the
 * size) is taken instead, after s was made to wait for those events (on
 * the GPU; nothing waits on the host). Only under pressure: it orders s
 * behind work of the block's last users. */
enum gq_store_status gq_store_alloc_on(size_t size, CUstream s, struct gq_block *out);

/* For a copy that waits for its own completion anyway (a synchronous one):
 * after GQ_STORE_GROWING, wait until the store's thread has served the
 * requests there are (at most 2 s), then try again. The caller calls no
 * driver function meanwhile; the store's thread does. */
void gq_store_await_growth(void);

/* At an allocation event (not a copy): make sure a block of `size` bytes
 * would fit now, adding a slab when none would (within the budget).
 * The calling thread's context must be current. */
void gq_store_reserve(size_t size);

/* Return the block to the pool once `done` has completed; the store takes
 * ownership of the event (destroys it). `done` may be NULL: free now. */
void gq_store_release(struct gq_block *b, CUevent done);

/* The same once every one of done[0..n) has completed (GPU work on several
 * streams read the block); the store takes ownership of the events. */
void gq_store_release_after(struct gq_block *b, const CUevent *done, unsigned n);

/* Wait for every block released against an event, and give every slab
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

/*
 * gq_hostmem.h — host memory the shim owns, so that offloaded tensors really
 * shrink.
 *
 * A cudaHostAlloc / cudaMallocHost that an on=host rule takes (and whose flags
 * do not promise the GPU direct access: no cudaHostAllocMapped) is answered
 * with an address range that has no pages behind it: anonymous memory
 * registered with userfaultfd for missing pages. An offload into it keeps
 * only the compressed block (in the pinned store) and drops the range's
 * pages. When the program — or the kernel on its behalf (write(2), send(2))
 * — touches such a page, the fault thread decodes the bytes of a span
 * around it from the block and installs them (gq_hostmem.c says how spans
 * grow and how it fills ahead of a sequential reader): the program sees what
 * a restore would deliver. A page nobody offloaded reads as the program wrote it (zero when
 * never written). A written page is plain memory from then on; write
 * tracking tells restores not to trust the block for it.
 *
 * Nothing is owned where userfaultfd cannot serve faults of system calls too
 * (host mode tracked, base/gq_mode.h). There a rule-taken allocation is still
 * answered from here, with a "kept" range: plain anonymous memory the caller
 * pins with the driver, whose pages stay, so that asynchronous write
 * protection can track it (the driver's own pinned memory is a device
 * mapping it cannot vouch for, which only checksums could check).
 */
#ifndef GQ_HOSTMEM_H
#define GQ_HOSTMEM_H

#include <stddef.h>
#include <stdint.h>

/* What the fault thread asks the store, which registers both at start-up
 * (store/gq_entries.h: gq_entries_fill_span, gq_entries_owned_extent), so
 * that this layer, below the store, never calls up into it. Until they are
 * registered nothing is owned.
 * - fill: write to buf what the program must see in [lo, hi) (page-aligned,
 *   owned): the decoded bytes of the blocks held there, zero elsewhere.
 * - extent: the pages [*lo, *hi) of the compressed entry holding bytes of
 *   `page`, 1; 0 when none does (the page reads as zero: never offloaded).
 *   Only a hint of how far a span may reach: fill is always exact. */
typedef void (*gq_span_filler)(uintptr_t lo, uintptr_t hi, unsigned char *buf);
typedef int (*gq_span_extent)(uintptr_t page, uintptr_t *lo, uintptr_t *hi);
void gq_hostmem_set_filler(gq_span_filler fill, gq_span_extent extent);

/* A range for an allocation of `size` bytes, or NULL (then allocate for real). */
void *gq_hostmem_alloc(size_t size);

/* A kept range for an allocation of `size` bytes (anonymous, populated; not
 * owned: nothing faults in), or NULL. The caller pins it with the driver. */
void *gq_hostmem_alloc_kept(size_t size);

/* 1 when p is the start of a kept range. */
int gq_hostmem_is_kept(const void *p);

/* 1 when p is the start of an owned or kept range (then it is released), else 0. */
int gq_hostmem_free(void *p);

/* The length of the owned or kept range starting exactly at p, else 0. */
size_t gq_hostmem_extent(const void *p);

/* 1 when all of [p, p+len) lies in one owned range. Lock-free when p lies
 * outside every owned range; inside, a read lock. */
int gq_hostmem_owned(const void *p, size_t len);

/* Drop the pages that lie wholly inside [p, p+len): their bytes now live
 * compressed (the caller has published the entry that holds them). A span
 * the fault thread filled before the entry was published is installed
 * before the pages are dropped, never after. */
void gq_hostmem_release_pages(void *p, size_t len);

/* gq_wtrack_clean_owned for owned pages, which a move of a huge page
 * (gq_hostmem.c) leaves writable for a moment before protecting them: a
 * check overlapping that window waits for it to close, so that pages the
 * program did not write never read as written. */
int gq_hostmem_clean_owned(const void *addr, size_t len);

/* Install `page` (page-aligned, owned) with the given contents unless it is
 * already present; write-protected (tracked) unless `for_write`. */
void gq_hostmem_install(uintptr_t page, const void *contents, int for_write);

#include "base/gq_fork.h"
void gq_hostmem_atfork(enum gq_fork_phase ph);

#endif

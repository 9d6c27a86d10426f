/*
 * gq_wsum.h — write checks by page checksums, for memory no kernel mechanism
 * tracks.
 *
 * Where userfaultfd is refused (a seccomp filter, gVisor) or the kernel lacks
 * PAGEMAP_SCAN, and for memory asynchronous write protection cannot vouch for
 * (shared or file-backed mappings: another process may write them; device
 * mappings the pagemap walk skips), the shim takes a 64-bit checksum of every
 * page of an offloaded range once the decoded bytes are in place, and checks
 * them again on the CPU before a copy-back uses the compressed block. A
 * changed page — a CPU store, a read(2) into it, a new mapping at the address
 * — changes its checksum: the copy-back moves the raw bytes.
 *
 * Why checksums and not the alternatives (weighed for issue 16):
 *  - soft-dirty bits (/proc/self/clear_refs, pagemap bit 55): clearing is
 *    process-wide (a walk of every page table of the program and a minor
 *    fault on the next write to any of its pages, each time a range is armed;
 *    it also disturbs CRIU or anything else using the bits), a page remapped
 *    to the zero page reads as clean, and CONFIG_MEM_SOFT_DIRTY is off in
 *    many kernels (this project's build machine among them, and arm64);
 *  - mprotect and a SIGSEGV handler: a system call writing a protected page
 *    fails with EFAULT instead of faulting (read(2) into a buffer would
 *    break), and the program's own handlers would have to be chained forever.
 * Checksums need nothing from the kernel and never serve stale data short of
 * a 64-bit collision. The price is one CPU read of the pages at the offload
 * and one at each copy-back (build/bench/bench_wsum prints the rate): cheaper
 * than the PCIe bytes a compressed copy-back saves on most hosts, and the
 * reason this is not the mode of choice where write protection works.
 * Write-combined pinned memory is slow to read; such ranges still work.
 *
 * Lock: one reader-writer lock over the ranges; a leaf, never held across a
 * driver call, so the stream callback that arms a range may take it.
 */
#ifndef GQ_WSUM_H
#define GQ_WSUM_H

#include <stddef.h>
#include <stdint.h>

/* Take the checksums of every page overlapping [addr, addr+len), replacing
 * any range armed there before. The pages must be readable. 0, or -1 when
 * out of memory. */
int gq_wsum_arm(const void *addr, size_t len, const void *owner);

/* -1 when no byte of [addr, addr+len) is armed here; else 1 when every page
 * overlapping it lies in one armed range with its checksum unchanged, 0 if
 * not. Reads the pages: call it only where a copy from them is due anyway. */
int gq_wsum_clean(const void *addr, size_t len);

/* 1 when some byte of [addr, addr+len) is armed here; never reads the pages. */
int gq_wsum_holds(const void *addr, size_t len);

/* Forget the range armed exactly at [addr, addr+len) by `owner`, if it is
 * still there: a range armed since by another owner stays. */
void gq_wsum_disarm(const void *addr, size_t len, const void *owner);

/* Forget every range overlapping [addr, addr+len). */
void gq_wsum_forget(const void *addr, size_t len);

/* The checksum of one page (gq_page_size() bytes at a page-aligned p). */
uint64_t gq_wsum_page(const void *p);

#include "base/gq_fork.h"
void gq_wsum_atfork(enum gq_fork_phase ph);

#endif

/*
 * gq_wtrack.h — has the program written these host pages since the shim armed
 * them?
 *
 * After an offload, the program's host buffer holds the dequantized data and
 * the compressed copy sits in the store. A later copy-back may use the
 * compressed copy only while the buffer is unchanged. Writes come from CPU
 * stores, from system calls (read(2) into the buffer), from madvise(DONTNEED),
 * from free + munmap + a new mapping at the same address: all of them must be
 * seen, and none may cost the program a signal it did not expect.
 *
 * Mechanism: userfaultfd write-protection in asynchronous mode
 * (UFFD_FEATURE_WP_ASYNC, Linux 6.7+): the kernel clears a page's protection on
 * the first write by itself, with no handler thread and no signal, and
 * PAGEMAP_SCAN reports pages whose protection is gone. A page in a range that
 * was never armed, or was unmapped since, reports as written. So the answer is
 * conservative: "clean" is only ever said of pages armed and untouched.
 *
 * That needs no privilege: an unprivileged process gets a descriptor with
 * UFFD_USER_MODE_ONLY, and since the kernel resolves asynchronous
 * write-protect faults itself (no message to deliver), a system call writing
 * a protected page (read(2) into the buffer) succeeds and is recorded like a
 * CPU store (tests/e2e/t_modes.sh checks both, as an unprivileged user).
 *
 * Memory that write protection cannot vouch for — shared or file-backed
 * mappings (another process may write them), device mappings (the pinned
 * memory of the real driver, as far as we know), or every range where
 * userfaultfd or PAGEMAP_SCAN is missing — is checked by page checksums
 * instead (gq_wsum.h). Only GQSHIM_HOST_MODE=untracked leaves a range
 * unarmed: it then reads as written, and copy-backs move the raw bytes.
 *
 * Known blind spot: writes that bypass the page tables — DMA by a device into
 * pinned memory (a copy the shim did not intercept, or a GPU kernel writing
 * mapped host memory). The shim drops entries for every copy it intercepts.
 */
#ifndef GQ_WTRACK_H
#define GQ_WTRACK_H

#include <stddef.h>

/* The probe's findings (probed once, on first use of this module); the mode
 * is in base/gq_mode.h too. */
struct gq_probe;
const struct gq_probe *gq_wtrack_probe(void);

/* 1 when writes can be tracked in this process (by any mechanism). */
int gq_wtrack_available(void);

/* 1 when the shim may own host ranges: userfaultfd serves kernel-mode
 * faults (host mode full). */
int gq_wtrack_can_own(void);

/* Protect every page overlapping [addr, addr+len): from now on, a write to any
 * of them is recorded. `owner` names who armed it (gq_wtrack_disarm). 0 on
 * success, -1 when the range cannot be tracked. */
int gq_wtrack_arm(void *addr, size_t len, const void *owner);

/* 1 when no page overlapping [addr, addr+len) was written since it was armed;
 * 0 otherwise (written, never armed, unmapped, or tracking unavailable).
 * For a range armed by checksums this reads its pages: call it only where a
 * copy from them is due anyway. */
int gq_wtrack_clean(const void *addr, size_t len);

/* 1 when [addr, addr+len) can be known unusable without reading it: written
 * (write protection says so) or unmapped. For reaping entries whose buffers
 * may be long gone. */
int gq_wtrack_gone(const void *addr, size_t len);

/* The range `owner` armed exactly so will not be asked about again (a range
 * armed there since by another owner stays armed). */
void gq_wtrack_disarm(const void *addr, size_t len, const void *owner);

/* For host ranges the shim owns (gq_hostmem.h): register [addr, addr+len)
 * (page-aligned) for missing-page faults as well, which the same descriptor
 * reports to the reader of gq_wtrack_fd(). 0, or -1. */
int gq_wtrack_register_owned(void *addr, size_t len);
int gq_wtrack_fd(void);

/* 1 when gq_wtrack_fd() takes UFFDIO_MOVE (Linux 6.8+). */
int gq_wtrack_can_move(void);

/* 1 when every page of [addr, addr+len) (page-aligned) is present and part
 * of a huge page; 0 otherwise, or when the pagemap cannot say. */
int gq_wtrack_huge(const void *addr, size_t len);

/* Like gq_wtrack_clean, for an owned range: a page neither present nor
 * swapped out has not been materialised since the offload, so it is clean
 * too (its data live compressed); a written page is not, wherever it is. */
int gq_wtrack_clean_owned(const void *addr, size_t len);

/* In a fork's child: drop the userfaultfd and pagemap descriptors, which
 * name the parent's address space. */
void gq_wtrack_atfork_child(void);

#endif

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
 * Where the kernel lacks this (older kernels, unprivileged userfaultfd off),
 * gq_wtrack_arm() fails and every range reads as written: the shim then never
 * reuses a compressed copy for that buffer, and copy-backs move the raw bytes.
 *
 * Known blind spot: writes that bypass the page tables — DMA by a device into
 * pinned memory (a copy the shim did not intercept, or a GPU kernel writing
 * mapped host memory). The shim drops entries for every copy it intercepts.
 */
#ifndef GQ_WTRACK_H
#define GQ_WTRACK_H

#include <stddef.h>

/* 1 when write tracking works in this process (probed once). */
int gq_wtrack_available(void);

/* Protect every page overlapping [addr, addr+len): from now on, a write to any
 * of them is recorded. 0 on success, -1 when the range cannot be tracked. */
int gq_wtrack_arm(void *addr, size_t len);

/* 1 when no page overlapping [addr, addr+len) was written since it was armed;
 * 0 otherwise (written, never armed, unmapped, or tracking unavailable). */
int gq_wtrack_clean(const void *addr, size_t len);

/* For host ranges the shim owns (gq_hostmem.h): register [addr, addr+len)
 * (page-aligned) for missing-page faults as well, which the same descriptor
 * reports to the reader of gq_wtrack_fd(). 0, or -1. */
int gq_wtrack_register_owned(void *addr, size_t len);
int gq_wtrack_fd(void);

/* Like gq_wtrack_clean, for an owned range: a page that is not present has
 * never been materialised, so it is clean too (its data live compressed). */
int gq_wtrack_clean_owned(const void *addr, size_t len);

/* In a fork's child: drop the userfaultfd and pagemap descriptors, which
 * name the parent's address space. */
void gq_wtrack_atfork_child(void);

#endif

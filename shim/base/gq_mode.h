/*
 * gq_mode.h — the host mode: what this process's environment lets the shim do
 * with host buffers. Probed once (host/gq_probe.h), read by the report and the
 * start-up line.
 *
 * The ladder, best first:
 *   full      userfaultfd serves kernel-mode faults too: rule-taken pinned
 *             allocations are shim-owned (offloaded pages dropped, faulted in
 *             decoded), writes tracked by asynchronous write protection;
 *   tracked   only user-mode faults may be served (an unprivileged process,
 *             vm.unprivileged_userfaultfd=0): no ownership, host pages stay,
 *             writes tracked by asynchronous write protection;
 *   checksum  no usable userfaultfd (a seccomp filter, gVisor, a kernel
 *             without PAGEMAP_SCAN): each page's checksum is taken when the
 *             offload lands and checked on the CPU before a copy-back;
 *   untracked asked for (GQSHIM_HOST_MODE=untracked): offloads compressed,
 *             copy-backs move the raw bytes.
 */
#ifndef GQ_MODE_H
#define GQ_MODE_H

enum gq_host_mode { GQ_MODE_FULL, GQ_MODE_TRACKED, GQ_MODE_CHECKSUM, GQ_MODE_UNTRACKED };

/* "full", "tracked", "checksum", "untracked". */
const char *gq_mode_name(enum gq_host_mode m);

/* What the probe decided; GQ_MODE_UNTRACKED until it ran. */
enum gq_host_mode gq_mode(void);

/* Record the probe's decision (once; later calls are ignored). */
void gq_mode_set(enum gq_host_mode m);

#endif

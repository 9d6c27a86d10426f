/*
 * gq_probe.h — which host mode (base/gq_mode.h) this environment allows, and
 * why not a better one.
 *
 * One probe, in order: userfaultfd(2) serving kernel-mode faults too (root,
 * CAP_SYS_PTRACE, or vm.unprivileged_userfaultfd=1), else with
 * UFFD_USER_MODE_ONLY (Linux 5.11+, allowed unprivileged whatever the sysctl
 * says); then UFFDIO_API with asynchronous write protection
 * (UFFD_FEATURE_WP_ASYNC, Linux 6.7+); then PAGEMAP_SCAN on /proc/self/pagemap
 * (Linux 6.7+). All three give full or tracked; any missing one gives
 * checksum. Write protection in asynchronous mode is resolved by the kernel
 * itself, without a fault message, so a user-mode-only descriptor tracks
 * system calls' writes (read(2) into a buffer) as well as CPU stores.
 *
 * Self-contained (libc and base/gq_mode.h only): gqrun --check runs the same
 * probe without loading the library.
 */
#ifndef GQ_PROBE_H
#define GQ_PROBE_H

#include "base/gq_mode.h"

struct gq_probe {
    enum gq_host_mode mode;
    int uffd;             /* API done with WP_ASYNC; -1 below tracked */
    int pagemap;          /* /proc/self/pagemap; -1 below tracked */
    /* What each step found (0 = worked; an errno; -1 = not tried). */
    int err_uffd;         /* userfaultfd(2), kernel-mode faults too */
    int err_uffd_user;    /* userfaultfd(2) with UFFD_USER_MODE_ONLY */
    int err_wp_async;     /* UFFDIO_API with UFFD_FEATURE_WP_ASYNC */
    int err_pagemap_scan; /* PAGEMAP_SCAN */
    int move;             /* uffd has UFFDIO_MOVE (Linux 6.8+): faster fault-in */
    int seccomp;          /* /proc/self/status "Seccomp:" (2 = a filter), -1 unknown */
    int sysctl;           /* vm.unprivileged_userfaultfd, -1 unknown */
    char reason[320];     /* why not full; "" at full */
    char fix[200];        /* what would give full; "" at full */
};

/* Probe, allowing no mode above `ceiling` (GQSHIM_HOST_MODE). `deny` is a
 * fault-injection knob for tests (the GQTEST_DENY variable; NULL or "" in
 * normal use): a comma list of steps that then fail as they do in the
 * environments tests cannot build — "kernel_faults" (EPERM, as for an
 * unprivileged user), "userfaultfd" (EPERM for both calls, as under a
 * seccomp filter), "wp_async" (EINVAL, as before Linux 6.7), "pagemap_scan"
 * (ENOTTY, as before Linux 6.7), "move" (no UFFDIO_MOVE, as before Linux 6.8). */
void gq_probe_run(struct gq_probe *p, enum gq_host_mode ceiling, const char *deny);

/* What the mode gives the program, in a few words. */
const char *gq_probe_effect(enum gq_host_mode m);

/* Close the descriptors the probe kept. */
void gq_probe_close(struct gq_probe *p);

#endif

/* The host-mode probe (see gq_probe.h). */
#define _GNU_SOURCE
#include "host/gq_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Newer than Debian 12's kernel headers; values from the kernel's uapi. */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1ULL << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1ULL << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1ULL << 16)
#endif

struct gq_probe_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define GQ_PROBE_PAGEMAP_SCAN _IOWR('f', 16, struct gq_probe_scan_arg)

/* 1 when `word` is one of the comma-separated words of `list`. */
static int denied(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0)
            return 1;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

static int read_int_after(const char *path, const char *key)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[256];
    int v = -1;
    size_t kn = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kn) == 0) {
            v = atoi(line + kn);
            break;
        }
    fclose(f);
    return v;
}

static int make_uffd(int user_only, const char *deny)
{
    if (denied(deny, "userfaultfd") || (!user_only && denied(deny, "kernel_faults"))) {
        errno = EPERM;
        return -1;
    }
    return (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | (user_only ? UFFD_USER_MODE_ONLY : 0));
}

const char *gq_probe_effect(enum gq_host_mode m)
{
    switch (m) {
    case GQ_MODE_FULL:
        return "offloaded host buffers shrink to the compressed size; copy-backs compressed";
    case GQ_MODE_TRACKED:
        return "copy-backs compressed; offloaded host buffers keep their full size";
    case GQ_MODE_CHECKSUM:
        return "copy-backs compressed after a CPU checksum of their pages; offloaded host "
               "buffers keep their full size";
    case GQ_MODE_UNTRACKED:
        return "offloads compressed; copy-backs move the raw bytes";
    }
    return "";
}

/* Why userfaultfd(2) itself failed with `err`, and what would help. */
static void uffd_refused(struct gq_probe *p, int err)
{
    if (err == ENOSYS) {
        snprintf(p->reason, sizeof p->reason,
                 "userfaultfd(2) does not exist here (ENOSYS: a kernel built without it, or a "
                 "sandbox such as gVisor)");
        snprintf(p->fix, sizeof p->fix, "a Linux 6.7+ kernel with userfaultfd, outside gVisor");
    } else if (p->seccomp == 2) {
        snprintf(p->reason, sizeof p->reason,
                 "userfaultfd(2) refused (%s) with a seccomp filter active (Docker's and "
                 "Kubernetes' default profiles refuse it)",
                 strerrorname_np(err) ? strerrorname_np(err) : strerror(err));
        snprintf(p->fix, sizeof p->fix,
                 "allow userfaultfd in the container's seccomp profile");
    } else {
        snprintf(p->reason, sizeof p->reason, "userfaultfd(2) refused (%s)",
                 strerrorname_np(err) ? strerrorname_np(err) : strerror(err));
        snprintf(p->fix, sizeof p->fix,
                 "allow userfaultfd(2) (seccomp, LSM policy) on a Linux 6.7+ kernel");
    }
}

void gq_probe_run(struct gq_probe *p, enum gq_host_mode ceiling, const char *deny)
{
    memset(p, 0, sizeof *p);
    p->uffd = p->pagemap = -1;
    p->err_uffd = p->err_uffd_user = p->err_wp_async = p->err_pagemap_scan = -1;
    p->seccomp = read_int_after("/proc/self/status", "Seccomp:");
    p->sysctl = read_int_after("/proc/sys/vm/unprivileged_userfaultfd", "");
    p->mode = GQ_MODE_CHECKSUM;
    if (ceiling >= GQ_MODE_CHECKSUM) {
        p->mode = ceiling;
        snprintf(p->reason, sizeof p->reason, "GQSHIM_HOST_MODE=%s asks for it",
                 gq_mode_name(ceiling));
        snprintf(p->fix, sizeof p->fix, "unset GQSHIM_HOST_MODE");
        return;
    }
    int fd = make_uffd(0, deny);
    p->err_uffd = fd < 0 ? errno : 0;
    int kernel_faults = fd >= 0;
    if (fd < 0) {
        fd = make_uffd(1, deny);
        p->err_uffd_user = fd < 0 ? errno : 0;
    }
    if (fd < 0) {
        uffd_refused(p, p->err_uffd_user == EINVAL ? p->err_uffd : p->err_uffd_user);
        return;
    }
    /* UFFDIO_MOVE (Linux 6.8+) only speeds up fault-in: asked for when a
     * descriptor of its own says the kernel has it (a descriptor takes one
     * UFFDIO_API, and an unknown feature fails the whole call). */
    uint64_t move = 0;
    int scratch = make_uffd(!kernel_faults, deny);
    struct uffdio_api ask = {.api = UFFD_API};
    if (scratch >= 0 && ioctl(scratch, UFFDIO_API, &ask) == 0 && !denied(deny, "move"))
        move = ask.features & UFFD_FEATURE_MOVE;
    if (scratch >= 0)
        close(scratch);
    struct uffdio_api api = {.api = UFFD_API,
                             .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED | move};
    if (denied(deny, "wp_async"))
        p->err_wp_async = EINVAL;
    else
        p->err_wp_async = ioctl(fd, UFFDIO_API, &api) == 0 ? 0 : errno;
    if (p->err_wp_async) {
        close(fd);
        snprintf(p->reason, sizeof p->reason,
                 "userfaultfd has no asynchronous write protection (UFFDIO_API: %s; Linux 6.7+)",
                 strerrorname_np(p->err_wp_async));
        snprintf(p->fix, sizeof p->fix, "a Linux 6.7+ kernel");
        return;
    }
    int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    /* A scan of nothing answers 0 (or EINVAL) where PAGEMAP_SCAN exists. */
    struct gq_probe_scan_arg a = {.size = sizeof a};
    if (pm < 0)
        p->err_pagemap_scan = errno;
    else if (denied(deny, "pagemap_scan"))
        p->err_pagemap_scan = ENOTTY;
    else
        p->err_pagemap_scan =
            ioctl(pm, GQ_PROBE_PAGEMAP_SCAN, &a) < 0 && errno != EINVAL ? errno : 0;
    if (p->err_pagemap_scan) {
        if (pm >= 0)
            close(pm);
        close(fd);
        snprintf(p->reason, sizeof p->reason,
                 "/proc/self/pagemap has no PAGEMAP_SCAN (%s; Linux 6.7+)",
                 strerrorname_np(p->err_pagemap_scan));
        snprintf(p->fix, sizeof p->fix, "a Linux 6.7+ kernel");
        return;
    }
    p->uffd = fd;
    p->pagemap = pm;
    p->move = move != 0;
    p->mode = kernel_faults ? GQ_MODE_FULL : GQ_MODE_TRACKED;
    if (p->mode == GQ_MODE_TRACKED)
        snprintf(p->reason, sizeof p->reason,
                 "userfaultfd(2) may serve user-mode faults only (%s without "
                 "UFFD_USER_MODE_ONLY: not root and vm.unprivileged_userfaultfd=%d), so the "
                 "shim cannot own host buffers that system calls may touch",
                 strerrorname_np(p->err_uffd), p->sysctl);
    if (p->mode == GQ_MODE_TRACKED)
        snprintf(p->fix, sizeof p->fix,
                 "sysctl vm.unprivileged_userfaultfd=1, or CAP_SYS_PTRACE, or run as root");
    if (ceiling > p->mode) {
        p->mode = ceiling;
        snprintf(p->reason, sizeof p->reason, "GQSHIM_HOST_MODE=%s asks for it",
                 gq_mode_name(ceiling));
        snprintf(p->fix, sizeof p->fix, "unset GQSHIM_HOST_MODE");
    }
}

void gq_probe_close(struct gq_probe *p)
{
    if (p->uffd >= 0)
        close(p->uffd);
    if (p->pagemap >= 0)
        close(p->pagemap);
    p->uffd = p->pagemap = -1;
}

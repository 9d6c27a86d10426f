/* Write tracking with asynchronous userfaultfd write-protection (see gq_wtrack.h). */
#define _GNU_SOURCE
#include "host/gq_wtrack.h"

#include "base/gq_log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Newer than Debian 12's kernel headers; values from the kernel's uapi. */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1ULL << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1ULL << 15)
#endif

struct gq_page_region {
    uint64_t start, end, categories;
};

struct gq_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define GQ_PAGE_IS_WRITTEN (1ULL << 1)
#define GQ_PAGE_IS_PRESENT (1ULL << 3)
#define GQ_PAGEMAP_SCAN _IOWR('f', 16, struct gq_pm_scan_arg)

static int uffd = -1;
static int pagemap_fd = -1;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static uintptr_t page_mask;

static void probe(void)
{
    page_mask = (uintptr_t)sysconf(_SC_PAGESIZE) - 1;
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        gq_info("write tracking unavailable: userfaultfd: %s", strerror(errno));
        return;
    }
    struct uffdio_api api = {.api = UFFD_API,
                             .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED};
    if (ioctl(fd, UFFDIO_API, &api) != 0) {
        gq_info("write tracking unavailable: asynchronous write-protect: %s", strerror(errno));
        close(fd);
        return;
    }
    int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pm < 0) {
        gq_info("write tracking unavailable: /proc/self/pagemap: %s", strerror(errno));
        close(fd);
        return;
    }
    /* PAGEMAP_SCAN must exist too (Linux 6.7+): a scan of nothing answers 0. */
    struct gq_pm_scan_arg a = {.size = sizeof a, .start = 0, .end = 0};
    if (ioctl(pm, GQ_PAGEMAP_SCAN, &a) < 0 && errno != EINVAL) {
        gq_info("write tracking unavailable: PAGEMAP_SCAN: %s", strerror(errno));
        close(pm);
        close(fd);
        return;
    }
    uffd = fd;
    pagemap_fd = pm;
}

int gq_wtrack_available(void)
{
    pthread_once(&probe_once, probe);
    return uffd >= 0;
}

static void page_span(const void *addr, size_t len, uint64_t *start, uint64_t *end)
{
    *start = (uintptr_t)addr & ~page_mask;
    *end = ((uintptr_t)addr + len + page_mask) & ~page_mask;
}

int gq_wtrack_arm(void *addr, size_t len)
{
    if (!gq_wtrack_available() || len == 0)
        return -1;
    uint64_t start, end;
    page_span(addr, len, &start, &end);
    struct uffdio_register reg = {.range = {start, end - start}, .mode = UFFDIO_REGISTER_MODE_WP};
    /* Registering a range this descriptor already holds is accepted again;
     * EBUSY means another userfaultfd (the program's own) owns it. */
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
        gq_debug("write tracking: cannot register %#lx+%zu: %s", (unsigned long)start,
                 (size_t)(end - start), strerror(errno));
        return -1;
    }
    struct uffdio_writeprotect wp = {.range = {start, end - start},
                                     .mode = UFFDIO_WRITEPROTECT_MODE_WP};
    if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) != 0) {
        gq_debug("write tracking: cannot protect %#lx: %s", (unsigned long)start, strerror(errno));
        return -1;
    }
    return 0;
}

/* 1 when no page overlapping [addr, addr+len) matches: all of `all_of`
 * (mask), or any of `any_of`, after flipping the categories in `inverted`. */
static int none_in(const void *addr, size_t len, uint64_t all_of, uint64_t any_of,
                   uint64_t inverted)
{
    if (!gq_wtrack_available() || len == 0)
        return 0;
    uint64_t start, end;
    page_span(addr, len, &start, &end);
    struct gq_page_region hit;
    struct gq_pm_scan_arg a = {
        .size = sizeof a,
        .start = start,
        .end = end,
        .vec = (uintptr_t)&hit,
        .vec_len = 1,
        .max_pages = 1, /* one page is enough to answer */
        .category_inverted = inverted,
        .category_mask = all_of,
        .category_anyof_mask = any_of,
        .return_mask = all_of | any_of,
    };
    long n = ioctl(pagemap_fd, GQ_PAGEMAP_SCAN, &a);
    return n == 0;
}

/* A program-owned buffer was decoded into (every page present, then armed):
 * a page written since, or no longer present (discarded, unmapped, a new
 * mapping in its place), is not clean. */
int gq_wtrack_clean(const void *addr, size_t len)
{
    return none_in(addr, len, 0, GQ_PAGE_IS_WRITTEN | GQ_PAGE_IS_PRESENT, GQ_PAGE_IS_PRESENT);
}

int gq_wtrack_clean_owned(const void *addr, size_t len)
{
    return none_in(addr, len, GQ_PAGE_IS_WRITTEN | GQ_PAGE_IS_PRESENT, 0, 0);
}

int gq_wtrack_fd(void)
{
    return gq_wtrack_available() ? uffd : -1;
}

int gq_wtrack_register_owned(void *addr, size_t len)
{
    if (!gq_wtrack_available())
        return -1;
    struct uffdio_register reg = {.range = {(uintptr_t)addr, len},
                                  .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP};
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
        gq_debug("cannot register %p+%zu for missing pages: %s", addr, len, strerror(errno));
        return -1;
    }
    return 0;
}

void gq_wtrack_atfork_child(void)
{
    /* Both descriptors still name the parent's address space: an ioctl on
     * them from the child would act on the parent's memory. */
    if (uffd >= 0)
        close(uffd);
    if (pagemap_fd >= 0)
        close(pagemap_fd);
    uffd = -1;
    pagemap_fd = -1;
}

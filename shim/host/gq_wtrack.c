/* Write tracking: asynchronous userfaultfd write protection where it can
 * vouch for the memory, page checksums elsewhere (see gq_wtrack.h). */
#define _GNU_SOURCE
#include "host/gq_wtrack.h"

#include "base/gq_config.h"
#include "base/gq_log.h"
#include "base/gq_mode.h"
#include "host/gq_probe.h"
#include "host/gq_wsum.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct gq_page_region {
    uint64_t start, end, categories;
};

struct gq_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

/* PAGEMAP_SCAN's page categories (linux/fs.h, Linux 6.7+). */
#define GQ_PAGE_IS_WPALLOWED (1ULL << 0)
#define GQ_PAGE_IS_WRITTEN (1ULL << 1)
#define GQ_PAGE_IS_FILE (1ULL << 2)
#define GQ_PAGE_IS_PRESENT (1ULL << 3)
#define GQ_PAGE_IS_SWAPPED (1ULL << 4)
#define GQ_PAGE_IS_PFNZERO (1ULL << 5)
#define GQ_PAGE_IS_HUGE (1ULL << 6)
#define GQ_PAGEMAP_SCAN _IOWR('f', 16, struct gq_pm_scan_arg)

static int uffd = -1;
static int pagemap_fd = -1;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static uintptr_t page_mask;
static struct gq_probe found;

static void probe(void)
{
    page_mask = (uintptr_t)sysconf(_SC_PAGESIZE) - 1;
    unsigned asked = gq_cfg()->host_mode; /* 0 = auto */
    enum gq_host_mode ceiling = asked ? (enum gq_host_mode)(asked - 1) : GQ_MODE_FULL;
    gq_probe_run(&found, ceiling, getenv("GQTEST_DENY"));
    uffd = found.uffd;
    pagemap_fd = found.pagemap;
    gq_mode_set(found.mode);
    if (found.mode != GQ_MODE_FULL)
        gq_debug("host mode %s: %s", gq_mode_name(found.mode), found.reason);
}

const struct gq_probe *gq_wtrack_probe(void)
{
    pthread_once(&probe_once, probe);
    return &found;
}

int gq_wtrack_available(void)
{
    pthread_once(&probe_once, probe);
    return found.mode != GQ_MODE_UNTRACKED;
}

int gq_wtrack_can_own(void)
{
    pthread_once(&probe_once, probe);
    return found.mode == GQ_MODE_FULL && uffd >= 0;
}

static void page_span(const void *addr, size_t len, uint64_t *start, uint64_t *end)
{
    *start = (uintptr_t)addr & ~page_mask;
    *end = ((uintptr_t)addr + len + page_mask) & ~page_mask;
}

/* Register and protect [start, end) with the asynchronous descriptor. */
static int arm_wp(uint64_t start, uint64_t end)
{
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

/* 1 when every page of [start, end) is private anonymous memory, present and
 * write-protected by this descriptor: one region of exactly those categories
 * covering the span. A shared or file page (another process may write it
 * through its own mapping), the zero page, a swapped page, or a mapping the
 * pagemap walk skips (device memory: the region would not cover the span)
 * answers 0. */
static int wp_vouches(uint64_t start, uint64_t end)
{
    struct gq_page_region r;
    struct gq_pm_scan_arg a = {
        .size = sizeof a,
        .start = start,
        .end = end,
        .vec = (uintptr_t)&r,
        .vec_len = 1,
        .return_mask = GQ_PAGE_IS_WPALLOWED | GQ_PAGE_IS_WRITTEN | GQ_PAGE_IS_FILE |
                       GQ_PAGE_IS_PRESENT | GQ_PAGE_IS_SWAPPED | GQ_PAGE_IS_PFNZERO,
    };
    long n = ioctl(pagemap_fd, GQ_PAGEMAP_SCAN, &a);
    return n == 1 && r.start == start && r.end == end &&
           r.categories == (GQ_PAGE_IS_WPALLOWED | GQ_PAGE_IS_PRESENT);
}

int gq_wtrack_arm(void *addr, size_t len, const void *owner)
{
    if (!gq_wtrack_available() || len == 0)
        return -1;
    if (found.mode == GQ_MODE_CHECKSUM)
        return gq_wsum_arm(addr, len, owner);
    uint64_t start, end;
    page_span(addr, len, &start, &end);
    if (arm_wp(start, end) == 0 && wp_vouches(start, end)) {
        gq_wsum_forget(addr, len); /* a checksum armed here before is stale */
        return 0;
    }
    /* Memory write protection cannot vouch for: checksums can. */
    return gq_wsum_arm(addr, len, owner);
}

/* 1 when no page overlapping [addr, addr+len) matches: all of `all_of`
 * (mask), or any of `any_of`, after flipping the categories in `inverted`. */
static int none_in(const void *addr, size_t len, uint64_t all_of, uint64_t any_of,
                   uint64_t inverted)
{
    if (!gq_wtrack_available() || uffd < 0 || len == 0)
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
    int sum = gq_wsum_clean(addr, len);
    if (sum >= 0 || !gq_wtrack_available() || uffd < 0 || len == 0)
        return sum > 0;
    uint64_t start, end;
    page_span(addr, len, &start, &end);
    return wp_vouches(start, end);
}

int gq_wtrack_gone(const void *addr, size_t len)
{
    if (gq_wsum_holds(addr, len)) {
        /* Checksums cannot be read without reading the pages, which may be
         * gone: ask only whether the range is still mapped. */
        uint64_t start, end;
        page_span(addr, len, &start, &end);
        unsigned char vec[64];
        for (uint64_t p = start; p < end; p += 64 * (page_mask + 1)) {
            uint64_t q = p + 64 * (page_mask + 1) < end ? p + 64 * (page_mask + 1) : end;
            if (mincore((void *)p, q - p, vec) != 0 && errno == ENOMEM)
                return 1;
        }
        return 0;
    }
    return !gq_wtrack_clean(addr, len);
}

void gq_wtrack_disarm(const void *addr, size_t len, const void *owner)
{
    gq_wsum_disarm(addr, len, owner);
}

int gq_wtrack_clean_owned(const void *addr, size_t len)
{
    /* A written page swapped out (or being migrated) is not present: it is
     * a swap entry, which keeps its write-protect bit, so it reads as
     * written only when it was. */
    return none_in(addr, len, GQ_PAGE_IS_WRITTEN, GQ_PAGE_IS_PRESENT | GQ_PAGE_IS_SWAPPED, 0);
}

int gq_wtrack_fd(void)
{
    return gq_wtrack_can_own() ? uffd : -1;
}

int gq_wtrack_can_move(void)
{
    return gq_wtrack_can_own() && found.move;
}

int gq_wtrack_huge(const void *addr, size_t len)
{
    if (pagemap_fd < 0 || len == 0)
        return 0;
    struct gq_page_region r;
    struct gq_pm_scan_arg a = {
        .size = sizeof a,
        .start = (uintptr_t)addr,
        .end = (uintptr_t)addr + len,
        .vec = (uintptr_t)&r,
        .vec_len = 1,
        .return_mask = GQ_PAGE_IS_PRESENT | GQ_PAGE_IS_HUGE,
    };
    long n = ioctl(pagemap_fd, GQ_PAGEMAP_SCAN, &a);
    return n == 1 && r.start == a.start && r.end == a.end &&
           r.categories == (GQ_PAGE_IS_PRESENT | GQ_PAGE_IS_HUGE);
}

int gq_wtrack_register_owned(void *addr, size_t len)
{
    if (!gq_wtrack_can_own())
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

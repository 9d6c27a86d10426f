/* Host memory the shim owns (see gq_hostmem.h). */
#define _GNU_SOURCE
#include "host/gq_hostmem.h"

#include "base/gq_imap.h"
#include "base/gq_log.h"
#include "base/gq_page.h"
#include "host/gq_wtrack.h"

#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static struct gq_imap owned = GQ_IMAP_INIT;
static struct gq_imap kept = GQ_IMAP_INIT;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;
static int thread_ok;
static gq_page_filler filler; /* atomic; set once at start-up */

void gq_hostmem_set_filler(gq_page_filler fn) { __atomic_store_n(&filler, fn, __ATOMIC_RELEASE); }

void gq_hostmem_install(uintptr_t page, const void *contents, int for_write)
{
    struct uffdio_copy c = {
        .dst = page,
        .src = (uintptr_t)contents,
        .len = gq_page_size(),
        .mode = for_write ? 0 : UFFDIO_COPY_MODE_WP,
    };
    int fd = gq_wtrack_fd();
    if (fd < 0)
        return; /* a fork's child: no descriptor of its own (gq_fork.h) */
    if (ioctl(fd, UFFDIO_COPY, &c) != 0 && errno != EEXIST)
        gq_warn_capped("cannot install page %#lx: %s", (unsigned long)page, strerror(errno));
}

/* Serves the missing-page faults of every owned range, for the program's
 * threads and for system calls alike. */
static void *fault_thread(void *arg)
{
    (void)arg;
    int fd = gq_wtrack_fd();
    unsigned char *page = aligned_alloc(gq_page_size(), gq_page_size());
    if (!page)
        return NULL;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            break;
        struct uffd_msg msg;
        ssize_t n = read(fd, &msg, sizeof msg);
        if (n != (ssize_t)sizeof msg || msg.event != UFFD_EVENT_PAGEFAULT)
            continue;
        uintptr_t at = (uintptr_t)msg.arg.pagefault.address & ~(gq_page_size() - 1);
        int for_write = (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0;
        __atomic_load_n(&filler, __ATOMIC_ACQUIRE)(at, page);
        gq_hostmem_install(at, page, for_write);
    }
    free(page);
    return NULL;
}

static void start_thread(void)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Block every signal: the program's handlers must not run here. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    thread_ok = pthread_create(&t, &attr, fault_thread, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (!thread_ok)
        gq_warn("cannot start the page-fault thread; host buffers stay real pinned memory");
}

void *gq_hostmem_alloc(size_t size)
{
    /* Without a filler, a fault could not be answered: own nothing. */
    if (size == 0 || gq_wtrack_fd() < 0 || !__atomic_load_n(&filler, __ATOMIC_ACQUIRE))
        return NULL;
    pthread_once(&thread_once, start_thread);
    if (!thread_ok)
        return NULL;
    size_t len = (size + gq_page_size() - 1) & ~(gq_page_size() - 1);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (gq_wtrack_register_owned(p, len) != 0) {
        munmap(p, len);
        return NULL;
    }
    gq_imap_wrlock(&owned);
    int rc = gq_imap_insert(&owned, (uintptr_t)p, (uintptr_t)p + len, NULL);
    gq_imap_unlock(&owned);
    if (rc != 0) {
        munmap(p, len);
        return NULL;
    }
    return p;
}

void *gq_hostmem_alloc_kept(size_t size)
{
    if (size == 0)
        return NULL;
    size_t len = (size + gq_page_size() - 1) & ~(gq_page_size() - 1);
    /* Populated: pinned memory is resident from the start. */
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    gq_imap_wrlock(&kept);
    int rc = gq_imap_insert(&kept, (uintptr_t)p, (uintptr_t)p + len, NULL);
    gq_imap_unlock(&kept);
    if (rc != 0) {
        munmap(p, len);
        return NULL;
    }
    return p;
}

/* The [start, end) of the range of map m starting exactly at p, removed
 * from m when `take`; 0 when there is none. */
static uintptr_t range_at(struct gq_imap *m, const void *p, int take, uintptr_t *end)
{
    if (!p || !gq_imap_may_hold(m, p, 1))
        return 0;
    if (take)
        gq_imap_wrlock(m);
    else
        gq_imap_rdlock(m);
    struct gq_ival *iv = gq_imap_find(m, (uintptr_t)p);
    uintptr_t start = 0;
    if (iv && iv->start == (uintptr_t)p) {
        start = iv->start;
        *end = iv->end;
        if (take)
            gq_imap_remove_at(m, (size_t)(iv - m->v));
    }
    gq_imap_unlock(m);
    return start;
}

int gq_hostmem_is_kept(const void *p)
{
    uintptr_t end;
    return range_at(&kept, p, 0, &end) != 0;
}

int gq_hostmem_free(void *p)
{
    uintptr_t end = 0, start = range_at(&owned, p, 1, &end);
    if (!start)
        start = range_at(&kept, p, 1, &end);
    if (!start)
        return 0;
    munmap((void *)start, end - start);
    return 1;
}

size_t gq_hostmem_extent(const void *p)
{
    uintptr_t end = 0, start = range_at(&owned, p, 0, &end);
    if (!start)
        start = range_at(&kept, p, 0, &end);
    return start ? (size_t)(end - start) : 0;
}

int gq_hostmem_owned(const void *p, size_t len)
{
    if (!gq_imap_may_hold(&owned, p, len))
        return 0;
    gq_imap_rdlock(&owned);
    struct gq_ival *iv = gq_imap_find(&owned, (uintptr_t)p);
    int yes = iv && (uintptr_t)p + len <= iv->end;
    gq_imap_unlock(&owned);
    return yes;
}

void gq_hostmem_release_pages(void *p, size_t len)
{
    uintptr_t ps = gq_page_size();
    uintptr_t lo = ((uintptr_t)p + ps - 1) & ~(ps - 1), hi = ((uintptr_t)p + len) & ~(ps - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void gq_hostmem_atfork(enum gq_fork_phase ph)
{
    gq_imap_atfork(&owned, (int)ph);
    gq_imap_atfork(&kept, (int)ph);
}

/* Host memory the shim owns (see gq_hostmem.h). */
#define _GNU_SOURCE
#include "host/gq_hostmem.h"

#include "base/gq_imap.h"
#include "base/gq_log.h"
#include "base/gq_page.h"
#include "base/gq_pool.h"
#include "host/gq_wsum.h"
#include "host/gq_wtrack.h"

#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static struct gq_imap owned = GQ_IMAP_INIT;
static struct gq_imap kept = GQ_IMAP_INIT;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;
static int thread_ok;
static gq_span_filler filler;  /* atomic; set once at start-up */
static gq_span_extent extent;  /* atomic; set before filler */

/*
 * A fault installs a span, not a page: one round trip to this thread costs
 * about as much as decoding and copying 16 pages, so a span of SPAN_MIN
 * around the faulting page, clipped to the compressed entry holding it (an
 * entry's neighbours are filled exactly, but a fault never populates pages
 * nobody offloaded) and to the run of pages still missing. A fault just past
 * the last span is a sequential reader: its span doubles, up to SPAN_MAX,
 * and while no other fault waits the thread fills on ahead of it, span after
 * span (each twice the last, up to SPAN_MAX), up to AHEAD_MAX beyond its
 * fault (the reader then overlaps with the decode instead of waiting for
 * it). Pages are installed write-protected: untouched, they are clean for
 * write tracking (the block still holds exactly their bytes); the faulting
 * page of a write is installed writable.
 *
 * fill_lock: the fault thread holds it (read) from the filler's decode to
 * the end of the install; dropping pages (gq_hostmem_release_pages) and
 * unmapping take it to write. So a span decoded from an entry that a new
 * offload is replacing is installed before that offload drops the pages,
 * then dropped: it never outlives its entry. It is taken before the
 * entries' lock (inside the filler), never the other way round, and guards
 * no data: a fork's child makes it fresh without taking it first.
 */
#define SPAN_MIN ((uintptr_t)64 << 10)
#define SPAN_MAX ((uintptr_t)2 << 20)
#define AHEAD_MAX ((uintptr_t)8 << 20)

/*
 * Huge pages. Most of an install by UFFDIO_COPY is the kernel's work per
 * 4 KiB page (allocate, copy, map): about 3.5 GB/s a thread, five times
 * slower than the decode. Where the kernel has UFFDIO_MOVE (Linux 6.8+) and
 * transparent huge pages, a whole aligned HUGE span is decoded instead into
 * a huge page of the fault thread's own and moved into place: one page
 * table entry, no copy. A scratch program on this project's build machine
 * installed so at 8-10 GB/s against 3.5 GB/s by copy, when huge pages came
 * quickly; there they mostly come slowly (below), and bench_hostmem shows
 * no gain. Spans of a sequential reader are cut at HUGE boundaries so that
 * they can be moved.
 *
 * A move cannot install pages write-protected, as UFFDIO_COPY does: they
 * arrive writable and are protected just after, and a program thread could
 * write one in between without write tracking seeing it. So each page's
 * checksum is taken as it is decoded and again once protected; a page that
 * changed in between is unprotected again, which write tracking reads as
 * written (its copy-back then moves its bytes, not the block). Threads
 * waiting on a fault in the span are woken only after the check, so their
 * own writes never fall in between. Not covered: a device that pins such a
 * page for DMA in that window (O_DIRECT read(2), io_uring fixed buffers)
 * and writes it after the check; the copy path has no such window.
 *
 * Where no huge page comes (THP off, memory fragmented), or one comes too
 * slowly, the span is installed by copying; once such spans are at least
 * HUGE_MISSES and outnumber the quick ones, the fault thread stops asking
 * (an info line says so).
 */
#define HUGE ((uintptr_t)2 << 20)
#define HUGE_PAGES (HUGE / 4096)
#define HUGE_MISSES 4
/* A huge page that takes longer than this to come (zeroed) costs more than
 * copying its 2 MiB would: seen in virtual machines whose host takes back
 * free memory, where each new huge page faults on the host first. */
#define HUGE_SLOW_NS 800000L

/* The window between a move and its write protection, for readers of
 * write tracking (gq_hostmem_clean_owned): its range, and a count the fault
 * thread (the only writer) makes odd while the window is open. */
static uintptr_t window_lo, window_hi;
static unsigned window_seq;

static void window_open(uintptr_t lo, uintptr_t hi)
{
    __atomic_store_n(&window_lo, lo, __ATOMIC_RELAXED);
    __atomic_store_n(&window_hi, hi, __ATOMIC_RELAXED);
    __atomic_fetch_add(&window_seq, 1, __ATOMIC_SEQ_CST);
}

static void window_close(void) { __atomic_fetch_add(&window_seq, 1, __ATOMIC_SEQ_CST); }

int gq_hostmem_clean_owned(const void *addr, size_t len)
{
    uintptr_t a = (uintptr_t)addr, b = a + len;
    for (;;) {
        unsigned seq = __atomic_load_n(&window_seq, __ATOMIC_SEQ_CST);
        if ((seq & 1) && a < __atomic_load_n(&window_hi, __ATOMIC_RELAXED) &&
            __atomic_load_n(&window_lo, __ATOMIC_RELAXED) < b) {
            sched_yield(); /* microseconds: the span's checksums */
            continue;
        }
        int clean = gq_wtrack_clean_owned(addr, len);
        if (__atomic_load_n(&window_seq, __ATOMIC_SEQ_CST) == seq)
            return clean;
    }
}

/* Newer than Debian 12's kernel headers; values from the kernel's uapi. */
struct gq_uffdio_move {
    uint64_t dst, src, len, mode;
    int64_t move;
};
#define GQ_UFFDIO_MOVE _IOWR(UFFDIO, 0x05, struct gq_uffdio_move)
#define GQ_UFFDIO_MOVE_MODE_DONTWAKE 1ULL
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static pthread_rwlock_t fill_lock;
static pthread_once_t fill_lock_once = PTHREAD_ONCE_INIT;

static void fill_lock_init(void)
{
    /* Writers first: a fault thread filling ahead must not starve an offload. */
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&fill_lock, &a);
    pthread_rwlockattr_destroy(&a);
}

void gq_hostmem_set_filler(gq_span_filler fill, gq_span_extent ext)
{
    pthread_once(&fill_lock_once, fill_lock_init);
    __atomic_store_n(&extent, ext, __ATOMIC_RELEASE);
    __atomic_store_n(&filler, fill, __ATOMIC_RELEASE);
}

static void wake(int fd, uintptr_t lo, uintptr_t len)
{
    struct uffdio_range r = {lo, len};
    ioctl(fd, UFFDIO_WAKE, &r);
}

/* UFFDIO_COPY of [dst, dst+len) from src; a page already present (the
 * program wrote it, or another install came first) is left as it is. One
 * copy must lie in one kernel mapping: where the program split the buffer's
 * (mprotect, mlock or madvise on part of it, as RDMA registration does),
 * it fails whole (ENOENT) and the rest goes page by page. A page that still
 * cannot be installed (out of memory, unmapped meanwhile) is woken
 * uninstalled, so no thread waits on it forever: one touching it faults
 * again, and the next try may succeed. 0, or -1 when a page was left. */
static int copy_span(int fd, uintptr_t dst, const unsigned char *src, uintptr_t len, int wp)
{
    uintptr_t ps = gq_page_size(), done = 0, step = len;
    int again = 0, left = 0;
    while (done < len) {
        struct uffdio_copy c = {
            .dst = dst + done,
            .src = (uintptr_t)src + done,
            .len = step < len - done ? step : len - done,
            .mode = wp ? UFFDIO_COPY_MODE_WP : 0,
        };
        if (ioctl(fd, UFFDIO_COPY, &c) == 0) {
            done += c.len;
            continue;
        }
        int err = errno;
        if (c.copy > 0) { /* stopped after some pages: at a present one, or interrupted */
            done += (uintptr_t)c.copy;
            continue;
        }
        if (err == EEXIST) {
            done += ps;
            continue;
        }
        if (err == EAGAIN && ++again < 8) /* the address space is changing: retry */
            continue;
        if (c.len > ps) { /* across mappings, or short of memory for all of it */
            step = ps;
            continue;
        }
        gq_warn_capped("cannot install %#lx: %s; a thread touching it faults again",
                       (unsigned long)(dst + done), strerror(err));
        wake(fd, dst + done, ps);
        done += ps;
        left = 1;
    }
    return left ? -1 : 0;
}

void gq_hostmem_install(uintptr_t page, const void *contents, int for_write)
{
    int fd = gq_wtrack_fd();
    if (fd < 0)
        return; /* a fork's child: no descriptor of its own (gq_fork.h) */
    copy_span(fd, page, contents, gq_page_size(), !for_write);
}

/* What the fault thread remembers between faults. */
struct fault_state {
    unsigned char *buf;   /* SPAN_MAX bytes, page-aligned */
    int test;             /* GQTEST_HUGE: 1 "always" (never too slow), 2 "race" (see fill_huge) */
    unsigned char *huge;  /* HUGE bytes, HUGE-aligned, for huge pages to move; NULL: none */
    unsigned misses, hits; /* spans for which a huge page did not come (or slowly), did */
    uint64_t sums[HUGE_PAGES]; /* checksums of a moved span's pages, as decoded */
    uintptr_t last_lo;    /* the last fault's span, and what was filled ahead of it */
    uintptr_t last_hi;
    uintptr_t span;       /* the next span's size */
    uintptr_t ahead;      /* fill ahead from here ... */
    uintptr_t ahead_end;  /* ... up to here (ahead == ahead_end: nothing to do) */
};

/* Narrow [*lo, *hi) (page-aligned, holding `at`) to the run of missing
 * pages around `at`. 0 when `at` itself is present. */
static int missing_run(uintptr_t at, uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t ps = gq_page_size();
    unsigned char vec[SPAN_MAX / 4096 + 1];
    size_t n = (size_t)((*hi - *lo) / ps);
    if (n > sizeof vec) /* cannot be: a span is at most SPAN_MAX */
        return 1;
    if (mincore((void *)*lo, *hi - *lo, vec) != 0)
        return 1;
    size_t i = (size_t)((at - *lo) / ps);
    if (vec[i] & 1)
        return 0;
    size_t a = i, b = i + 1;
    while (a > 0 && !(vec[a - 1] & 1))
        a--;
    while (b < n && !(vec[b] & 1))
        b++;
    *hi = *lo + b * ps;
    *lo += a * ps;
    return 1;
}

/* The span to fill for `at`: [at, at+want) (from the SPAN_MIN boundary
 * below `at` when `align`), clipped to the entry holding `at` and to the
 * missing pages. 0 when there is nothing to fill: `at` is present, or (for
 * filling ahead, `need_entry`) no entry holds it. */
static int span_for(uintptr_t at, uintptr_t want, int align, int need_entry, uintptr_t *lo,
                    uintptr_t *hi)
{
    uintptr_t ps = gq_page_size(), elo, ehi;
    *lo = align ? at & ~(SPAN_MIN - 1) : at;
    *hi = *lo + want;
    if (__atomic_load_n(&extent, __ATOMIC_ACQUIRE)(at, &elo, &ehi)) {
        if (*lo < elo)
            *lo = elo;
        if (*hi > ehi)
            *hi = ehi;
    } else if (need_entry) {
        return 0;
    } else { /* never offloaded: that page alone, as zeros */
        *lo = at;
        *hi = at + ps;
    }
    if (*hi <= at) /* an extent not holding `at` (it raced with a new entry) */
        *hi = at + ps;
    if (*lo > at)
        *lo = at;
    return missing_run(at, lo, hi);
}

/* A span cut into parts for the pool (base/gq_pool.h): each part decodes
 * its pages into its slice of the buffer and installs them, so decode and
 * install both run on every thread GQSHIM_THREADS allows. A part is at
 * least PART_MIN: the install costs about 1 us a page, so a quarter of a
 * MiB is some 70 us of work against a few us to hand it to a worker, and a
 * SPAN_MAX span feeds 8 threads (the pool's most; with GQ_POOL_MIN_BYTES,
 * the codec's unit, it would feed 4). */
#define PART_MIN ((uintptr_t)256 << 10)
struct fill_job {
    int fd;
    unsigned parts;
    uintptr_t lo, hi, at; /* `at`: the page installed writable, when for_write */
    int for_write;
    unsigned char *buf;   /* holds [lo, hi) */
    uint64_t *sums;       /* non-NULL: decode and take checksums only (the span is moved) */
};

static unsigned parts_for(uintptr_t lo, uintptr_t hi)
{
    uintptr_t parts = (hi - lo) / PART_MIN, threads = gq_pool_threads();
    return parts <= 1 ? 1u : parts < threads ? (unsigned)parts : (unsigned)threads;
}

static void fill_part(void *arg, unsigned i)
{
    const struct fill_job *j = arg;
    uintptr_t ps = gq_page_size(), pages = (j->hi - j->lo) / ps;
    uintptr_t a = j->lo + pages * i / j->parts * ps, b = j->lo + pages * (i + 1) / j->parts * ps;
    unsigned char *src = j->buf + (a - j->lo);
    __atomic_load_n(&filler, __ATOMIC_ACQUIRE)(a, b, src);
    if (j->sums) {
        for (uintptr_t p = a; p < b; p += ps)
            j->sums[(p - j->lo) / ps] = gq_wsum_page(src + (p - a));
        return;
    }
    if (!j->for_write || j->at < a || j->at >= b) {
        copy_span(j->fd, a, src, b - a, 1);
        return;
    }
    copy_span(j->fd, a, src, j->at - a, 1);
    copy_span(j->fd, j->at, src + (j->at - a), ps, 0);
    copy_span(j->fd, j->at + ps, src + (j->at + ps - a), b - j->at - ps, 1);
}

static int protect(int fd, uintptr_t lo, uintptr_t len, int wp)
{
    struct uffdio_writeprotect w = {.range = {lo, len}, .mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0};
    return ioctl(fd, UFFDIO_WRITEPROTECT, &w);
}

/* After a move and its protection: a page whose bytes are not those
 * decoded was written in between; it goes back to written. */
static void check_part(void *arg, unsigned i)
{
    const struct fill_job *j = arg;
    uintptr_t ps = gq_page_size(), pages = (j->hi - j->lo) / ps;
    uintptr_t a = j->lo + pages * i / j->parts * ps, b = j->lo + pages * (i + 1) / j->parts * ps;
    for (uintptr_t p = a; p < b; p += ps)
        if (gq_wsum_page((const void *)p) != j->sums[(p - j->lo) / ps])
            protect(j->fd, p, ps, 0);
}

/* One span's worth of evidence on huge pages: once the spans they did not
 * serve well (none came, one came slowly, or it was not moved whole) are
 * HUGE_MISSES or more and outnumber the others, stop asking for them. */
static void huge_verdict(struct fault_state *st, int good)
{
    if (good) {
        st->hits++;
        return;
    }
    if (++st->misses < HUGE_MISSES || st->misses <= st->hits)
        return;
    gq_info("fault-in: huge pages came slowly, not at all or would not move for %u of %u "
            "spans; installing by copy from now on", st->misses, st->misses + st->hits);
    munmap(st->huge, HUGE);
    st->huge = NULL;
}

/* The aligned HUGE span [lo, lo+HUGE), all missing, decoded into a huge
 * page and moved into place (see HUGE above), what the kernel would not
 * move installed by copy. 0 when done; -1 when no huge page came (the span
 * is then still to install). A span not moved whole counts against huge
 * pages as a slow one does. Under fill_lock (read). */
static int fill_huge(int fd, struct fault_state *st, uintptr_t lo)
{
    uintptr_t hi = lo + HUGE;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int got = madvise(st->huge, HUGE, MADV_POPULATE_WRITE) == 0 && gq_wtrack_huge(st->huge, HUGE);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
    if (!got) {
        madvise(st->huge, HUGE, MADV_DONTNEED); /* small pages: a later try may get a huge one */
        huge_verdict(st, 0);
        return -1;
    }
    struct fill_job j = {fd, parts_for(lo, hi), lo, hi, lo, 0, st->huge, st->sums};
    gq_pool_run(j.parts, fill_part, &j);
    struct gq_uffdio_move m = {.dst = lo, .src = (uintptr_t)st->huge, .len = HUGE,
                               .mode = GQ_UFFDIO_MOVE_MODE_DONTWAKE};
    window_open(lo, hi);
    uintptr_t moved = 0;
    if (ioctl(fd, GQ_UFFDIO_MOVE, &m) == 0)
        moved = HUGE;
    else if (m.move > 0)
        moved = (uintptr_t)m.move & ~(gq_page_size() - 1);
    if (moved < HUGE) /* the rest by copy, from the same decoded bytes */
        copy_span(fd, lo + moved, st->huge + moved, HUGE - moved, 1);
    if (moved && st->test == 2) {
        /* Tests: a program's write landing between the move and the
         * protection (tests/e2e/t_spans.sh, case race). */
        ((volatile unsigned char *)lo)[100] ^= 0x5a;
        gq_info("fault-in: test write at %#lx before the protection", (unsigned long)lo + 100);
    }
    if (moved) {
        protect(fd, lo, moved, 1);
        j.hi = lo + moved;
        j.parts = parts_for(lo, j.hi);
        gq_pool_run(j.parts, check_part, &j);
    }
    window_close();
    wake(fd, lo, HUGE);
    if (moved < HUGE)
        madvise(st->huge, HUGE, MADV_DONTNEED);
    /* Whole, and still one huge page: where the destination already had a
     * page table, the kernel splits the page and moves 512 small ones. */
    huge_verdict(st, moved == HUGE && (ns <= HUGE_SLOW_NS || st->test) &&
                         gq_wtrack_huge((void *)lo, HUGE));
    return 0;
}

/* Decode [lo, hi) and install it, `at` writable when `for_write`: aligned
 * HUGE parts by a move where huge pages come, the rest by copy. */
static void fill_and_install(int fd, struct fault_state *st, uintptr_t lo, uintptr_t hi,
                             uintptr_t at, int for_write)
{
    pthread_rwlock_rdlock(&fill_lock);
    while (lo < hi) {
        uintptr_t end = hi;
        if (st->huge) {
            uintptr_t up = (lo + HUGE - 1) & ~(HUGE - 1);
            if (up == lo && hi - lo >= HUGE && fill_huge(fd, st, lo) == 0) {
                lo += HUGE;
                continue;
            }
            if (up > lo && up < hi)
                end = up; /* up to the boundary by copy; a huge page may follow */
            else if (up == lo && hi - lo > HUGE)
                end = lo + HUGE;
        }
        struct fill_job j = {fd, parts_for(lo, end), lo, end, at, for_write, st->buf, NULL};
        gq_pool_run(j.parts, fill_part, &j);
        lo = end;
    }
    pthread_rwlock_unlock(&fill_lock);
}

/* With huge pages to move, a span crossing a HUGE boundary stops there, so
 * that the next one starts aligned. */
static void clip_huge(const struct fault_state *st, uintptr_t lo, uintptr_t *hi)
{
    uintptr_t up = (lo + HUGE - 1) & ~(HUGE - 1);
    if (st->huge && up != lo && *hi > up)
        *hi = up;
}

static void serve_fault(int fd, struct fault_state *st, uintptr_t at, int for_write)
{
    uintptr_t ps = gq_page_size(), lo, hi;
    int sequential = at >= st->last_lo && at <= st->last_hi + ps;
    st->span = !sequential ? SPAN_MIN : st->span * 2 < SPAN_MAX ? st->span * 2 : SPAN_MAX;
    int found = span_for(at, st->span, !sequential, 0, &lo, &hi);
    if (found && sequential)
        clip_huge(st, lo, &hi);
    if (!found) {
        /* Present already (a span installed it since the fault): make sure
         * the faulting thread runs on. */
        wake(fd, at, ps);
        return;
    }
    fill_and_install(fd, st, lo, hi, at, for_write);
    st->last_lo = lo;
    st->last_hi = hi;
    st->ahead = st->ahead_end = hi;
    if (sequential)
        st->ahead_end = hi + AHEAD_MAX;
}

/* One span ahead of a sequential reader; 0 when there is no more to do. */
static int fill_ahead(int fd, struct fault_state *st)
{
    uintptr_t lo, hi, want = st->ahead_end - st->ahead;
    if (want > st->span)
        want = st->span;
    if (!span_for(st->ahead, want, 0, 1, &lo, &hi) || lo != st->ahead)
        return 0; /* the reader got there first, or the offloaded data ends */
    clip_huge(st, lo, &hi);
    fill_and_install(fd, st, lo, hi, lo, 0);
    st->ahead = st->last_hi = hi;
    st->span = st->span * 2 < SPAN_MAX ? st->span * 2 : SPAN_MAX;
    return st->ahead < st->ahead_end;
}

/* len bytes of fresh anonymous memory starting at a multiple of `align` (a
 * power of two, at least a page), or NULL. */
static unsigned char *map_anon(size_t len, size_t align)
{
    size_t pad = align - gq_page_size();
    unsigned char *raw = mmap(NULL, len + pad, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    unsigned char *p = (unsigned char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    size_t head = (size_t)(p - raw);
    if (head)
        munmap(raw, head);
    if (pad - head)
        munmap(p + len, pad - head);
    return p;
}

/* HUGE bytes at a HUGE boundary that ask for a transparent huge page, kept
 * out of a fork's child (a page shared with a child could not be moved);
 * NULL where the kernel cannot move pages or pages are not 4 KiB. */
static unsigned char *huge_buffer(void)
{
    if (!gq_wtrack_can_move() || gq_page_size() != 4096) {
        gq_debug("fault-in: no UFFDIO_MOVE (Linux 6.8+); installing by copy");
        return NULL;
    }
    unsigned char *p = map_anon(HUGE, HUGE);
    if (!p)
        return NULL;
    madvise(p, HUGE, MADV_HUGEPAGE);
    madvise(p, HUGE, MADV_DONTFORK);
    return p;
}

/* Serves the missing-page faults of every owned range, for the program's
 * threads and for system calls alike. It never returns while the
 * descriptor is open: a thread of the program may be waiting on it. */
static void *fault_thread(void *arg)
{
    struct fault_state *st = arg;
    pthread_setname_np(pthread_self(), "gqshim-fault");
    int fd = gq_wtrack_fd();
    for (;;) {
        /* Work ahead only while no fault waits. */
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, st->ahead < st->ahead_end ? 0 : -1);
        if (ready < 0) {
            if (errno != EINTR) /* ENOMEM: short of memory for a moment */
                nanosleep(&(struct timespec){0, 1000000}, NULL);
            continue;
        }
        if (ready > 0 && (pfd.revents & POLLNVAL)) {
            /* The program closed it (daemons close every descriptor): the
             * kernel has dropped every registration with it. */
            __atomic_store_n(&thread_ok, 0, __ATOMIC_RELEASE);
            gq_warn("the program closed the shim's userfaultfd; new host buffers are real "
                    "pinned memory, and pages of offloaded ones not yet read back are lost");
            break;
        }
        if (ready == 0) {
            if (!fill_ahead(fd, st))
                st->ahead = st->ahead_end;
            continue;
        }
        struct uffd_msg msg;
        ssize_t n = read(fd, &msg, sizeof msg);
        if (n != (ssize_t)sizeof msg || msg.event != UFFD_EVENT_PAGEFAULT)
            continue;
        uintptr_t at = (uintptr_t)msg.arg.pagefault.address & ~(gq_page_size() - 1);
        serve_fault(fd, st, at, (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0);
    }
    return NULL;
}

/* The fault thread and what it needs, made before it starts: a thread that
 * could not get its buffer would leave faults unanswered. */
static void start_thread(void)
{
    static struct fault_state st = {.span = SPAN_MIN};
    st.buf = aligned_alloc(gq_page_size(), SPAN_MAX);
    if (!st.buf) {
        gq_warn("cannot start the page-fault thread (out of memory); host buffers stay real "
                "pinned memory");
        return;
    }
    st.huge = huge_buffer();
    const char *test = getenv("GQTEST_HUGE"); /* tests only, as GQTEST_DENY */
    st.test = !test ? 0 : !strcmp(test, "always") ? 1 : !strcmp(test, "race") ? 2 : 0;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Block every signal: the program's handlers must not run here. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int ok = pthread_create(&t, &attr, fault_thread, &st) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    __atomic_store_n(&thread_ok, ok, __ATOMIC_RELEASE);
    if (!ok) {
        free(st.buf);
        if (st.huge)
            munmap(st.huge, HUGE);
        st.buf = st.huge = NULL;
        gq_warn("cannot start the page-fault thread; host buffers stay real pinned memory");
    }
}

void *gq_hostmem_alloc(size_t size)
{
    /* Without a filler, a fault could not be answered: own nothing. */
    if (size == 0 || gq_wtrack_fd() < 0 || !__atomic_load_n(&filler, __ATOMIC_ACQUIRE))
        return NULL;
    pthread_once(&thread_once, start_thread);
    if (!__atomic_load_n(&thread_ok, __ATOMIC_ACQUIRE))
        return NULL;
    size_t len = (size + gq_page_size() - 1) & ~(gq_page_size() - 1);
    /* From a HUGE boundary when that large: its spans can be moved whole. */
    unsigned char *p = map_anon(len, len >= HUGE ? HUGE : gq_page_size());
    if (!p)
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
    /* Not while a span is being filled: it would land in whatever is mapped here next. */
    pthread_once(&fill_lock_once, fill_lock_init);
    pthread_rwlock_wrlock(&fill_lock);
    munmap((void *)start, end - start);
    pthread_rwlock_unlock(&fill_lock);
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
    if (hi <= lo)
        return;
    pthread_once(&fill_lock_once, fill_lock_init);
    pthread_rwlock_wrlock(&fill_lock);
    madvise((void *)lo, hi - lo, MADV_DONTNEED);
    pthread_rwlock_unlock(&fill_lock);
}

void gq_hostmem_atfork(enum gq_fork_phase ph)
{
    gq_imap_atfork(&owned, (int)ph);
    gq_imap_atfork(&kept, (int)ph);
    if (ph == GQ_FORK_CHILD && __atomic_load_n(&filler, __ATOMIC_ACQUIRE))
        fill_lock_init(); /* the fault thread may have held it; it is not in the child */
    if (ph == GQ_FORK_CHILD) /* nor its window: none is open in the child */
        window_seq &= ~1u;
}

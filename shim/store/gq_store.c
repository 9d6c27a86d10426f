/* Pinned-memory pool with first-fit suballocation (see gq_store.h). */
#include "store/gq_store.h"

#include "base/gq_config.h"
#include "base/gq_log.h"
#include "gpu/gq_driver.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GQ_STORE_ALIGN 256u
/* Small blocks share chunks of this size. A block of GQ_DEDICATED or more
 * gets a chunk of its own, sized to it and returned to the driver when the
 * block goes: pinned memory is resident whether used or not, so a big block
 * must not leave a big hole behind. */
#define GQ_CHUNK_SHARED ((size_t)4 << 20)
#define GQ_DEDICATED ((size_t)1 << 20)
#define GQ_CHUNK_ROUND ((size_t)4 << 10)

struct gq_extent {
    size_t off, len;
};

struct gq_chunk {
    unsigned char *host;
    CUdeviceptr dev;
    size_t size;
    struct gq_extent *free; /* sorted by offset, coalesced */
    size_t n_free, cap_free;
    int dedicated;          /* holds one block; freed with it */
    struct gq_chunk *next;
};

/* A block waiting for the GPU work that may still use it. */
struct gq_pending {
    struct gq_block block;
    CUevent *done; /* all must complete; completed ones are destroyed early */
    unsigned n;
};

/* Dedicated chunks kept for reuse: a program offloads the same tensor sizes
 * again and again, and pinning / unpinning a chunk per copy costs more than
 * the copy. Bounded, and given back first when the budget is short. */
#define GQ_CACHE_MAX 8

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gq_chunk *chunks;
static size_t budget = SIZE_MAX;
static int budget_set; /* under store_lock: budget is final */
static struct gq_store_usage usage;
static struct gq_pending *pending;
static size_t n_pending, cap_pending;
static struct gq_chunk *retired; /* dedicated chunks to give back, outside the lock */
static struct gq_chunk *cached;  /* idle dedicated chunks, still pinned */
static unsigned n_cached;

void gq_store_set_budget(size_t bytes)
{
    pthread_mutex_lock(&store_lock);
    budget = bytes ? bytes : SIZE_MAX;
    budget_set = 1;
    pthread_mutex_unlock(&store_lock);
}

/* With store_lock held: the budget, from GQSHIM_POOL_MAX (a size, or a
 * share of physical memory) unless a caller set one. */
static size_t current_budget(void)
{
    if (!budget_set) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        uint64_t ram = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
        uint64_t b = gq_config_pool_bytes(gq_cfg(), ram);
        budget = b ? (size_t)b : SIZE_MAX;
        budget_set = 1;
    }
    return budget;
}

static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

static int extent_insert(struct gq_chunk *c, size_t i, struct gq_extent e)
{
    if (c->n_free == c->cap_free) {
        size_t cap = c->cap_free ? 2 * c->cap_free : 16;
        struct gq_extent *v = realloc(c->free, cap * sizeof *v);
        if (!v)
            return -1;
        c->free = v;
        c->cap_free = cap;
    }
    memmove(&c->free[i + 1], &c->free[i], (c->n_free - i) * sizeof *c->free);
    c->free[i] = e;
    c->n_free++;
    return 0;
}

static void extent_remove(struct gq_chunk *c, size_t i)
{
    memmove(&c->free[i], &c->free[i + 1], (c->n_free - i - 1) * sizeof *c->free);
    c->n_free--;
}

/* Return [off, off+len) of chunk c to its free list, merging neighbours. */
static void chunk_free(struct gq_chunk *c, size_t off, size_t len)
{
    size_t i = 0;
    while (i < c->n_free && c->free[i].off < off)
        i++;
    int merged = 0;
    if (i > 0 && c->free[i - 1].off + c->free[i - 1].len == off) {
        c->free[i - 1].len += len;
        merged = 1;
        if (i < c->n_free && off + len == c->free[i].off) {
            c->free[i - 1].len += c->free[i].len;
            extent_remove(c, i);
        }
    } else if (i < c->n_free && off + len == c->free[i].off) {
        c->free[i].off = off;
        c->free[i].len += len;
        merged = 1;
    }
    if (!merged && extent_insert(c, i, (struct gq_extent){off, len}) != 0)
        gq_warn_capped("store: out of memory for bookkeeping; %zu bytes leaked", len);
}

static int chunk_take(struct gq_chunk *c, size_t size, struct gq_block *out)
{
    for (size_t i = 0; i < c->n_free; i++) {
        if (c->free[i].len < size)
            continue;
        size_t off = c->free[i].off;
        c->free[i].off += size;
        c->free[i].len -= size;
        if (c->free[i].len == 0)
            extent_remove(c, i);
        *out = (struct gq_block){c->host + off, c->dev + off, size, c};
        return 0;
    }
    return -1;
}

static enum gq_store_status chunk_new(size_t want, struct gq_chunk **out)
{
    const struct gq_drv *d = gq_drv();
    if (!d)
        return GQ_STORE_DRIVER_FAILED;
    int dedicated = want >= GQ_DEDICATED;
    size_t size = dedicated ? round_up(want, GQ_CHUNK_ROUND) : GQ_CHUNK_SHARED;
    if (dedicated) {
        /* A cached chunk that fits without wasting more than an eighth. */
        for (struct gq_chunk **pp = &cached; *pp; pp = &(*pp)->next) {
            struct gq_chunk *c = *pp;
            if (c->size >= size && c->size - size <= size / 8) {
                *pp = c->next;
                n_cached--;
                c->next = chunks;
                chunks = c;
                *out = c;
                return GQ_STORE_OK;
            }
        }
    }
    while (usage.pinned + size > current_budget() && cached) {
        struct gq_chunk *c = cached; /* make room: the cache goes first */
        cached = c->next;
        n_cached--;
        usage.pinned -= c->size;
        c->next = retired;
        retired = c;
    }
    if (usage.pinned + size > current_budget())
        return GQ_STORE_OVER_BUDGET;
    struct gq_chunk *c = calloc(1, sizeof *c);
    if (!c)
        return GQ_STORE_DRIVER_FAILED;
    void *host = NULL;
    CUresult r = d->cuMemHostAlloc(&host, size,
                                   CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP);
    CUdeviceptr dev = 0;
    if (r == CUDA_SUCCESS)
        r = d->cuMemHostGetDevicePointer_v2(&dev, host, 0);
    if (r != CUDA_SUCCESS || extent_insert(c, 0, (struct gq_extent){0, size}) != 0) {
        gq_warn_once("store: the driver refused %zu bytes of pinned memory (%s); offloads "
                     "that need more are copied uncompressed (GQSHIM_STATS counts them)", size,
                     gq_drv_errname(r));
        if (host)
            d->cuMemFreeHost(host);
        free(c->free);
        free(c);
        return GQ_STORE_DRIVER_FAILED;
    }
    c->host = host;
    c->dev = dev;
    c->size = size;
    c->dedicated = dedicated;
    c->next = chunks;
    chunks = c;
    usage.pinned += size;
    if (usage.pinned > usage.peak_pinned)
        usage.peak_pinned = usage.pinned;
    *out = c;
    return GQ_STORE_OK;
}

static void block_free_locked(struct gq_block *b)
{
    struct gq_chunk *c = b->chunk;
    usage.in_blocks -= b->size;
    if (!c->dedicated) {
        chunk_free(c, (size_t)(b->host - c->host), b->size);
        return;
    }
    for (struct gq_chunk **pp = &chunks; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    c->n_free = 0;
    extent_insert(c, 0, (struct gq_extent){0, c->size}); /* cannot fail: capacity kept */
    if (n_cached < GQ_CACHE_MAX) {
        c->next = cached;
        cached = c;
        n_cached++;
        return;
    }
    usage.pinned -= c->size;
    c->next = retired;
    retired = c;
}

/* Give retired chunks back to the driver; called without the lock held,
 * since cuMemFreeHost may wait for the device. */
static void give_back_retired(void)
{
    pthread_mutex_lock(&store_lock);
    struct gq_chunk *c = retired;
    retired = NULL;
    pthread_mutex_unlock(&store_lock);
    while (c) {
        struct gq_chunk *next = c->next;
        gq_drv()->cuMemFreeHost(c->host);
        free(c->free);
        free(c);
        c = next;
    }
}

/* 1 when every event of p has completed (or broke: a dead context runs no
 * more work); `wait`: wait for them. Completed events are destroyed. */
static int pending_done(const struct gq_drv *d, struct gq_pending *p, int wait)
{
    unsigned j = 0;
    for (unsigned i = 0; i < p->n; i++) {
        CUresult r = wait ? d->cuEventSynchronize(p->done[i]) : d->cuEventQuery(p->done[i]);
        if (r == CUDA_ERROR_NOT_READY)
            p->done[j++] = p->done[i];
        else
            d->cuEventDestroy_v2(p->done[i]);
    }
    p->n = j;
    return j == 0;
}

/* Free the blocks whose GPU work has completed; with `wait`, wait for all. */
static void reclaim_locked(int wait)
{
    const struct gq_drv *d = gq_drv();
    size_t j = 0;
    for (size_t i = 0; i < n_pending; i++) {
        struct gq_pending *p = &pending[i];
        if (!pending_done(d, p, wait)) {
            pending[j++] = *p;
            continue;
        }
        free(p->done);
        block_free_locked(&p->block);
    }
    n_pending = j;
}

enum gq_store_status gq_store_alloc(size_t size, struct gq_block *out)
{
    size = round_up(size ? size : 1, GQ_STORE_ALIGN);
    pthread_mutex_lock(&store_lock);
    enum gq_store_status st = GQ_STORE_OK;
    /* Never wait for the GPU here (under the lock, inside the program's
     * copy): a block still in use is simply not free yet, and a copy that
     * finds no room goes through uncompressed. */
    if (n_pending)
        reclaim_locked(0);
    if (size < GQ_DEDICATED)
        for (struct gq_chunk *c = chunks; c; c = c->next)
            if (!c->dedicated && chunk_take(c, size, out) == 0)
                goto got;
    struct gq_chunk *c = NULL;
    st = chunk_new(size, &c);
    if (st == GQ_STORE_OK && chunk_take(c, size, out) == 0)
        goto got;
    pthread_mutex_unlock(&store_lock);
    give_back_retired();
    return st == GQ_STORE_OK ? GQ_STORE_OVER_BUDGET : st;
got:
    usage.in_blocks += size;
    pthread_mutex_unlock(&store_lock);
    give_back_retired();
    return GQ_STORE_OK;
}

void gq_store_release_after(struct gq_block *b, const CUevent *done, unsigned n)
{
    if (!b->chunk)
        return;
    struct gq_pending p = {*b, NULL, 0};
    if (n) {
        p.done = malloc(n * sizeof *p.done);
        if (p.done) {
            memcpy(p.done, done, n * sizeof *done);
            p.n = n;
        }
    }
    pthread_mutex_lock(&store_lock);
    if (n && n_pending == cap_pending) {
        size_t cap = cap_pending ? 2 * cap_pending : 64;
        struct gq_pending *v = realloc(pending, cap * sizeof *v);
        if (v) {
            pending = v;
            cap_pending = cap;
        }
    }
    if (n && (!p.done || n_pending == cap_pending)) {
        /* No memory to defer: wait for the GPU to let go (rare; outside
         * every other path's way, since the lock is the store's alone). */
        for (unsigned i = 0; i < n; i++) {
            gq_drv()->cuEventSynchronize(done[i]);
            gq_drv()->cuEventDestroy_v2(done[i]);
        }
        free(p.done);
        p.n = 0;
    }
    if (p.n == 0)
        block_free_locked(b);
    else
        pending[n_pending++] = p;
    pthread_mutex_unlock(&store_lock);
    b->chunk = NULL;
    give_back_retired();
}

void gq_store_release(struct gq_block *b, CUevent done)
{
    gq_store_release_after(b, &done, done ? 1 : 0);
}

void gq_store_usage(struct gq_store_usage *u)
{
    pthread_mutex_lock(&store_lock);
    if (n_pending && gq_drv())
        reclaim_locked(0); /* blocks whose GPU work is over are not held */
    *u = usage;
    pthread_mutex_unlock(&store_lock);
}

void gq_store_atfork(enum gq_fork_phase ph) { gq_mutex_atfork(&store_lock, ph); }

void gq_store_drop_idle(void)
{
    if (!gq_drv())
        return;
    pthread_mutex_lock(&store_lock);
    reclaim_locked(1);
    while (cached) {
        struct gq_chunk *c = cached;
        cached = c->next;
        n_cached--;
        usage.pinned -= c->size;
        c->next = retired;
        retired = c;
    }
    for (struct gq_chunk **pp = &chunks; *pp;) {
        struct gq_chunk *c = *pp;
        int idle = !c->dedicated && c->n_free == 1 && c->free[0].len == c->size;
        if (!idle) {
            pp = &c->next;
            continue;
        }
        *pp = c->next;
        usage.pinned -= c->size;
        c->next = retired;
        retired = c;
    }
    pthread_mutex_unlock(&store_lock);
    give_back_retired();
}

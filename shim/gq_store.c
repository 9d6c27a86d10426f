/* Pinned-memory pool with first-fit suballocation (see gq_store.h). */
#include "gq_store.h"

#include "gq_driver.h"
#include "gq_fork.h"
#include "gq_log.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

struct gq_pending {
    struct gq_block block;
    CUevent done;
};

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gq_chunk *chunks;
static size_t budget = SIZE_MAX;
static struct gq_store_usage usage;
static struct gq_pending *pending;
static size_t n_pending, cap_pending;
static struct gq_chunk *retired; /* dedicated chunks to give back, outside the lock */

void gq_store_set_budget(size_t bytes)
{
    pthread_mutex_lock(&store_lock);
    budget = bytes ? bytes : SIZE_MAX;
    pthread_mutex_unlock(&store_lock);
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
    if (usage.pinned + size > budget)
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

/* Free the blocks whose events have completed; with `wait`, wait for all. */
static void reclaim_locked(int wait)
{
    const struct gq_drv *d = gq_drv();
    size_t j = 0;
    for (size_t i = 0; i < n_pending; i++) {
        struct gq_pending *p = &pending[i];
        CUresult r = wait ? d->cuEventSynchronize(p->done) : d->cuEventQuery(p->done);
        if (r == CUDA_ERROR_NOT_READY) {
            pending[j++] = *p;
            continue;
        }
        /* Done, or the event is broken (context gone): either way no GPU
         * work can still be using the block. */
        d->cuEventDestroy_v2(p->done);
        block_free_locked(&p->block);
    }
    n_pending = j;
}

enum gq_store_status gq_store_alloc(size_t size, struct gq_block *out)
{
    size = round_up(size ? size : 1, GQ_STORE_ALIGN);
    pthread_mutex_lock(&store_lock);
    enum gq_store_status st = GQ_STORE_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (n_pending)
            reclaim_locked(attempt > 0);
        if (size < GQ_DEDICATED)
            for (struct gq_chunk *c = chunks; c; c = c->next)
                if (!c->dedicated && chunk_take(c, size, out) == 0)
                    goto got;
        struct gq_chunk *c = NULL;
        st = chunk_new(size, &c);
        if (st == GQ_STORE_OK && chunk_take(c, size, out) == 0)
            goto got;
        if (st == GQ_STORE_DRIVER_FAILED || n_pending == 0)
            break;
    }
    pthread_mutex_unlock(&store_lock);
    give_back_retired();
    return st == GQ_STORE_OK ? GQ_STORE_OVER_BUDGET : st;
got:
    usage.in_blocks += size;
    pthread_mutex_unlock(&store_lock);
    give_back_retired();
    return GQ_STORE_OK;
}

void gq_store_release(struct gq_block *b, CUevent done)
{
    if (!b->chunk)
        return;
    pthread_mutex_lock(&store_lock);
    if (done && n_pending == cap_pending) {
        size_t cap = cap_pending ? 2 * cap_pending : 64;
        struct gq_pending *v = realloc(pending, cap * sizeof *v);
        if (v) {
            pending = v;
            cap_pending = cap;
        }
    }
    if (!done) {
        block_free_locked(b);
    } else if (n_pending < cap_pending) {
        pending[n_pending++] = (struct gq_pending){*b, done};
    } else {
        /* No room to defer: wait for the GPU to let go, then free. */
        gq_drv()->cuEventSynchronize(done);
        gq_drv()->cuEventDestroy_v2(done);
        block_free_locked(b);
    }
    pthread_mutex_unlock(&store_lock);
    b->chunk = NULL;
    give_back_retired();
}

void gq_store_usage(struct gq_store_usage *u)
{
    pthread_mutex_lock(&store_lock);
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

/* Pinned-memory slabs with first-fit suballocation (see gq_store.h). */
#include "store/gq_store.h"

#include "base/gq_config.h"
#include "base/gq_log.h"
#include "gpu/gq_driver.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GQ_STORE_ALIGN 256u
/* At an allocation event the store grows by what that allocation's block
 * needs (page-rounded): pinned memory is resident whether used or not, so
 * it tracks the tensors there are. When a copy finds no room, the grower
 * adds a quarter of what is pinned, 4 MiB to 64 MiB (or what the block
 * needs): a few large slabs, however the program grows. */
#define GQ_RESERVE_ROUND ((size_t)4 << 10)
#define GQ_SLAB_MIN ((size_t)4 << 20)
#define GQ_SLAB_MAX ((size_t)64 << 20)

struct gq_extent {
    size_t off, len;
};

struct gq_chunk {
    unsigned char *host;
    CUdeviceptr dev;
    size_t size;
    struct gq_extent *free; /* sorted by offset, coalesced */
    size_t n_free, cap_free;
    struct gq_chunk *next;
};

/* A block waiting for the GPU work that may still use it. */
struct gq_pending {
    struct gq_block block;
    CUevent *done; /* all must complete; completed ones are destroyed early */
    unsigned n;
};

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t grow_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t grown_cond = PTHREAD_COND_INITIALIZER; /* a request was served */
static struct gq_chunk *chunks;
static size_t budget = SIZE_MAX;
static int budget_set; /* under store_lock: budget is final */
static struct gq_store_usage usage;
static struct gq_pending *pending;
static size_t n_pending, cap_pending;
/* The grower: a request (bytes, and the context to allocate in) that the
 * store's thread serves; `growing` while it allocates. */
static size_t grow_want;
static CUcontext grow_ctx;
static int grower_started, growing;
static int grow_refused; /* the driver refused the last slab: copies pass as DRIVER */
/* Bytes reserved at allocation events and not yet taken by a block: a
 * program allocates its tensors before it offloads any, so each reserve
 * must count the ones before it. An allocation freed unoffloaded leaves its
 * share here, which only means fewer slabs are added later. */
static size_t promised;
/* A copy found no room: the program uses more than its allocations
 * reserved (one tensor offloaded into many buffers), so the store now
 * grows ahead of need. Until then it holds only what was reserved. */
static int outgrown;

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

/* With store_lock held: a block of `size` bytes from the smallest free
 * extent that holds it (best fit: reserves are sized to the blocks that
 * will come, and first fit would let a small block split the extent a big
 * one was reserved for). -1 when none does. */
static int take_best_locked(size_t size, struct gq_block *out)
{
    struct gq_chunk *best = NULL;
    size_t bi = 0;
    for (struct gq_chunk *c = chunks; c; c = c->next)
        for (size_t i = 0; i < c->n_free; i++)
            if (c->free[i].len >= size && (!best || c->free[i].len < best->free[bi].len)) {
                best = c;
                bi = i;
            }
    if (!best)
        return -1;
    size_t off = best->free[bi].off;
    best->free[bi].off += size;
    best->free[bi].len -= size;
    if (best->free[bi].len == 0)
        extent_remove(best, bi);
    *out = (struct gq_block){best->host + off, best->dev + off, size, best};
    return 0;
}

/* With store_lock held: 1 when a block of `size` bytes fits a free extent. */
static int fits_locked(size_t size)
{
    for (struct gq_chunk *c = chunks; c; c = c->next)
        for (size_t i = 0; i < c->n_free; i++)
            if (c->free[i].len >= size)
                return 1;
    return 0;
}

/* With store_lock held: the free bytes of every slab. */
static size_t free_total_locked(void)
{
    size_t n = 0;
    for (struct gq_chunk *c = chunks; c; c = c->next)
        for (size_t i = 0; i < c->n_free; i++)
            n += c->free[i].len;
    return n;
}

/* With store_lock held: the size of a slab that holds `want` bytes and,
 * unless `exact`, the grower's share; within the budget; 0 when the budget
 * has no room for `want`. */
static size_t slab_size_locked(size_t want, int exact)
{
    size_t b = current_budget(), room = usage.pinned < b ? b - usage.pinned : 0;
    size_t share = usage.pinned / 4;
    share = share < GQ_SLAB_MIN ? GQ_SLAB_MIN : share > GQ_SLAB_MAX ? GQ_SLAB_MAX : share;
    size_t size = round_up(exact || want > share ? want : share, GQ_RESERVE_ROUND);
    if (size > room)
        size = room / GQ_STORE_ALIGN * GQ_STORE_ALIGN;
    return size >= want ? size : 0;
}

/* Pin a slab of `size` bytes and add it (takes and releases store_lock;
 * the driver call runs without it, since it may wait for the device). */
static enum gq_store_status add_slab(size_t size)
{
    const struct gq_drv *d = gq_drv();
    struct gq_chunk *c = calloc(1, sizeof *c);
    if (!d || !c) {
        free(c);
        return GQ_STORE_DRIVER_FAILED;
    }
    void *host = NULL;
    CUresult r = d->cuMemHostAlloc(&host, size,
                                   CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP);
    CUdeviceptr dev = 0;
    if (r == CUDA_SUCCESS)
        r = d->cuMemHostGetDevicePointer_v2(&dev, host, 0);
    if (r != CUDA_SUCCESS || extent_insert(c, 0, (struct gq_extent){0, size}) != 0) {
        pthread_mutex_lock(&store_lock);
        grow_refused = 1;
        pthread_mutex_unlock(&store_lock);
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
    pthread_mutex_lock(&store_lock);
    grow_refused = 0;
    c->next = chunks;
    chunks = c;
    usage.pinned += size;
    if (usage.pinned > usage.peak_pinned)
        usage.peak_pinned = usage.pinned;
    pthread_mutex_unlock(&store_lock);
    return GQ_STORE_OK;
}

/* The store's thread: adds the slabs that copies found missing, so that
 * no copy ever waits for cuMemHostAlloc. */
static void *grower(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&store_lock);
    for (;;) {
        while (!grow_want)
            pthread_cond_wait(&grow_cond, &store_lock);
        size_t size = slab_size_locked(grow_want, 0);
        CUcontext ctx = grow_ctx;
        grow_want = 0;
        growing = 1;
        pthread_mutex_unlock(&store_lock);
        if (size && gq_drv()->cuCtxSetCurrent(ctx) == CUDA_SUCCESS)
            add_slab(size);
        pthread_mutex_lock(&store_lock);
        growing = 0;
        pthread_cond_broadcast(&grown_cond);
    }
    return NULL;
}

void gq_store_await_growth(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&store_lock);
    while ((growing || grow_want) &&
           pthread_cond_timedwait(&grown_cond, &store_lock, &until) == 0)
        ;
    pthread_mutex_unlock(&store_lock);
}

/* With store_lock held: ask the grower for room for `size` bytes. */
static void request_growth_locked(size_t size)
{
    CUcontext ctx = NULL;
    if (gq_drv()->cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx)
        return;
    if (!grower_started) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        grower_started = pthread_create(&t, &a, grower, NULL) == 0;
        pthread_attr_destroy(&a);
        if (!grower_started)
            return;
    }
    if (size > grow_want) {
        grow_want = size;
        grow_ctx = ctx;
    }
    pthread_cond_signal(&grow_cond);
}

static void block_free_locked(struct gq_block *b)
{
    usage.in_blocks -= b->size;
    chunk_free(b->chunk, (size_t)(b->host - b->chunk->host), b->size);
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

/* With store_lock held: the smallest block pending release that holds
 * `size` bytes (and no more than twice), handed to work that stream s
 * queues next: s waits for the block's events. -1 when there is none. */
static int take_pending_locked(size_t size, CUstream s, struct gq_block *out)
{
    const struct gq_drv *d = gq_drv();
    size_t best = n_pending;
    for (size_t i = 0; i < n_pending; i++) {
        size_t bs = pending[i].block.size;
        if (bs >= size && bs <= 2 * size && (best == n_pending || bs < pending[best].block.size))
            best = i;
    }
    if (best == n_pending)
        return -1;
    struct gq_pending *p = &pending[best];
    for (unsigned i = 0; i < p->n; i++)
        if (d->cuStreamWaitEvent(s, p->done[i], 0) != CUDA_SUCCESS)
            return -1; /* whatever waits were queued only delay s */
    for (unsigned i = 0; i < p->n; i++)
        d->cuEventDestroy_v2(p->done[i]); /* released once s's waits are done */
    free(p->done);
    *out = p->block;
    pending[best] = pending[--n_pending];
    return 0;
}

enum gq_store_status gq_store_alloc(size_t size, struct gq_block *out)
{
    return gq_store_alloc_on(size, NULL, out);
}

enum gq_store_status gq_store_alloc_on(size_t size, CUstream s, struct gq_block *out)
{
    size = round_up(size ? size : 1, GQ_STORE_ALIGN);
    pthread_mutex_lock(&store_lock);
    /* Never wait for the GPU here (under the lock, inside the program's
     * copy): a block still in use is simply not free yet, and a copy that
     * finds no room goes through uncompressed. */
    if (n_pending)
        reclaim_locked(0);
    enum gq_store_status st = GQ_STORE_OK;
    int fresh = take_best_locked(size, out) == 0;
    if (fresh || (s && n_pending && take_pending_locked(size, s, out) == 0)) {
        if (fresh) /* a pending block is counted in blocks already */
            usage.in_blocks += size;
        promised -= promised < size ? promised : size;
        /* Another block like this one would not fit: have the grower add
         * room now, ahead of the copy that will need it. */
        if (outgrown && !growing && !grow_want && !fits_locked(size) &&
            slab_size_locked(size, 0))
            request_growth_locked(size);
    } else if (!growing && !grow_want && !slab_size_locked(size, 0)) {
        st = GQ_STORE_OVER_BUDGET;
    } else if (grow_refused) {
        st = GQ_STORE_DRIVER_FAILED; /* until an allocation event retries */
    } else {
        request_growth_locked(size);
        outgrown = 1;
        st = GQ_STORE_GROWING;
    }
    pthread_mutex_unlock(&store_lock);
    return st;
}

void gq_store_reserve(size_t size)
{
    if (!gq_drv() || size == 0)
        return;
    size = round_up(size, GQ_STORE_ALIGN);
    pthread_mutex_lock(&store_lock);
    if (n_pending)
        reclaim_locked(0);
    /* Room for this block, and for the ones reserved before it. */
    promised += size;
    /* Free bytes in all: the blocks promised before this one are of other
     * sizes, so counting only whole blocks of this size would add a slab
     * where the free extents already hold them all. Fragmentation is left
     * to the grower (a copy that finds no room asks it). */
    size_t free_bytes = free_total_locked();
    size_t need = promised > free_bytes ? promised - free_bytes : 0;
    if ((need && need < size) || !fits_locked(size))
        need = need > size ? need : size;
    size_t slab = need ? slab_size_locked(need, 1) : 0;
    if (!slab && need > size && !fits_locked(size))
        slab = slab_size_locked(size, 1); /* the budget holds this one at least */
    pthread_mutex_unlock(&store_lock);
    if (slab)
        add_slab(slab);
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

void gq_store_atfork(enum gq_fork_phase ph)
{
    gq_mutex_atfork(&store_lock, ph);
    if (ph == GQ_FORK_CHILD) {
        /* The grower is the parent's; the child compresses nothing. */
        pthread_cond_t fresh = PTHREAD_COND_INITIALIZER;
        grow_cond = fresh;
        grower_started = growing = grow_refused = outgrown = 0;
        grow_want = promised = 0;
    }
}

void gq_store_drop_idle(void)
{
    if (!gq_drv())
        return;
    pthread_mutex_lock(&store_lock);
    reclaim_locked(1);
    struct gq_chunk *idle = NULL;
    for (struct gq_chunk **pp = &chunks; *pp;) {
        struct gq_chunk *c = *pp;
        if (c->n_free != 1 || c->free[0].len != c->size) {
            pp = &c->next;
            continue;
        }
        *pp = c->next;
        usage.pinned -= c->size;
        c->next = idle;
        idle = c;
    }
    pthread_mutex_unlock(&store_lock);
    /* Given back without the lock: cuMemFreeHost may wait for the device. */
    while (idle) {
        struct gq_chunk *next = idle->next;
        gq_drv()->cuMemFreeHost(idle->host);
        free(idle->free);
        free(idle);
        idle = next;
    }
}

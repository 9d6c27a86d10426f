/* Host ranges held compressed (see gq_entries.h). */
#include "store/gq_entries.h"

#include "base/gq_counters.h"
#include "base/gq_foreign.h"
#include "base/gq_imap.h"
#include "base/gq_log.h"
#include "base/gq_page.h"
#include "gpu/gq_driver.h"
#include "host/gq_hostmem.h"
#include "host/gq_wtrack.h"

#include <stdlib.h>
#include <string.h>

static struct gq_imap entries = GQ_IMAP_INIT;
static struct gq_entry *graveyard; /* entries whose last reference went in a callback */

struct gq_entry *gq_entry_new(uintptr_t start, size_t len, const struct gq_segs *segs,
                              const struct gq_block *b, const struct gq_rule *rule)
{
    struct gq_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    const struct gq_drv *d = gq_drv();
    if (d->cuEventCreate(&e->ready, CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS) {
        free(e);
        return NULL;
    }
    if (d->cuEventCreate(&e->done, CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS) {
        d->cuEventDestroy_v2(e->ready);
        free(e);
        return NULL;
    }
    e->start = start;
    e->len = len;
    e->params = segs->params;
    e->segs = *segs;
    e->block = *b;
    e->rule = rule;
    pthread_mutex_init(&e->lock, NULL);
    e->refs = 1;
    e->state = GQ_ENTRY_PENDING;
    gq_stats_held(+1, b->size, len);
    return e;
}

static void entry_destroy(struct gq_entry *e)
{
    gq_stats_held(-1, e->block.size, e->len);
    gq_wtrack_disarm((const void *)e->start, e->len, e); /* checksums it armed, if any */
    if (!__atomic_load_n(&e->block.chunk, __ATOMIC_ACQUIRE)) {
        /* The block went to a newer offload (gq_entries_reuse_block), which
         * follows these events on the GPU: they can go now. */
        const struct gq_drv *d = gq_drv();
        d->cuEventDestroy_v2(e->ready);
        d->cuEventDestroy_v2(e->done);
        for (unsigned i = 0; i < e->n_uses; i++)
            d->cuEventDestroy_v2(e->uses[i]);
        free(e->uses);
        pthread_mutex_destroy(&e->lock);
        free(e);
        return;
    }
    /* The store frees the block once every GPU use has completed, and
     * destroys the events then. */
    CUevent all[2 + 64];
    CUevent *evs = e->n_uses < 64 ? all : malloc((2 + e->n_uses) * sizeof *evs);
    if (evs) {
        evs[0] = e->ready;
        evs[1] = e->done;
        if (e->n_uses) /* uses is NULL then: memcpy from NULL is undefined (UBSan) */
            memcpy(evs + 2, e->uses, e->n_uses * sizeof *evs);
        gq_store_release_after(&e->block, evs, 2 + e->n_uses);
        if (evs != all)
            free(evs);
    } else { /* no memory to defer: wait */
        for (unsigned i = 0; i < e->n_uses; i++) {
            gq_drv()->cuEventSynchronize(e->uses[i]);
            gq_drv()->cuEventDestroy_v2(e->uses[i]);
        }
        gq_drv()->cuEventSynchronize(e->done);
        gq_drv()->cuEventDestroy_v2(e->done);
        gq_store_release(&e->block, e->ready);
    }
    free(e->uses);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

CUresult gq_entry_wait_ready(struct gq_entry *e, CUstream s)
{
    return gq_drv()->cuStreamWaitEvent(s, e->ready, 0);
}

CUresult gq_entry_used(struct gq_entry *e, CUstream s)
{
    const struct gq_drv *d = gq_drv();
    CUevent ev;
    CUresult r = d->cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING);
    if (r != CUDA_SUCCESS)
        return r;
    if ((r = d->cuEventRecord(ev, s)) != CUDA_SUCCESS) {
        d->cuEventDestroy_v2(ev);
        return r;
    }
    pthread_mutex_lock(&e->lock);
    /* Forget uses that have completed, so the list stays short. */
    unsigned j = 0;
    for (unsigned i = 0; i < e->n_uses; i++) {
        if (d->cuEventQuery(e->uses[i]) == CUDA_ERROR_NOT_READY)
            e->uses[j++] = e->uses[i];
        else
            d->cuEventDestroy_v2(e->uses[i]);
    }
    e->n_uses = j;
    if (e->n_uses == e->cap_uses) {
        unsigned cap = e->cap_uses ? 2 * e->cap_uses : 4;
        CUevent *v = realloc(e->uses, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&e->lock);
            d->cuEventSynchronize(ev); /* cannot keep it: let the use finish */
            d->cuEventDestroy_v2(ev);
            return CUDA_SUCCESS;
        }
        e->uses = v;
        e->cap_uses = cap;
    }
    e->uses[e->n_uses++] = ev;
    pthread_mutex_unlock(&e->lock);
    return CUDA_SUCCESS;
}

static void bury_dead(void)
{
    if (!__atomic_load_n(&graveyard, __ATOMIC_ACQUIRE))
        return;
    struct gq_entry *e = __atomic_exchange_n(&graveyard, NULL, __ATOMIC_ACQ_REL);
    while (e) {
        struct gq_entry *next = e->next_dead;
        entry_destroy(e);
        e = next;
    }
}

void gq_entry_put(struct gq_entry *e)
{
    if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
        entry_destroy(e);
}

/* From a stream callback: never destroy here (that may wait on the driver). */
static void put_from_callback(struct gq_entry *e)
{
    if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    struct gq_entry *head = __atomic_load_n(&graveyard, __ATOMIC_RELAXED);
    do
        e->next_dead = head;
    while (!__atomic_compare_exchange_n(&graveyard, &head, e, 1, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
}

void gq_entry_decode_cb(void *arg)
{
    struct gq_entry *e = arg;
    uint64_t escaped;
    int state;
    if (gq_segs_overflowed(&e->segs, e->block.host, &escaped)) {
        /* More groups escaped than a segment could keep, or the data was not
         * of the rule's dtype (base/gq_foreign.h): the raw data went to the
         * host buffer instead (the spill after each quantize). */
        int foreign = gq_segs_foreign(&e->segs, e->block.host);
        if (foreign)
            gq_foreign_note(e->rule, e->len);
        if (!e->waited)
            gq_stats_offload_undone(e->rule, e->len, e->segs.total,
                                    foreign ? GQ_PASS_FOREIGN : GQ_PASS_ESCAPES);
        state = GQ_ENTRY_FAILED;
    } else if (gq_segs_decode_range(&e->segs, e->block.host, 0, e->segs.n_elems,
                                    (void *)e->start) != GQ_OK) {
        gq_warn_capped("offload of %zu bytes at %p: the compressed block does not decode",
                       e->len, (void *)e->start);
        state = GQ_ENTRY_FAILED;
    } else {
        GQ_STAT_ADD(escaped_groups, escaped);
        state = gq_wtrack_arm((void *)e->start, e->len, e) == 0 ? GQ_ENTRY_TRACKED
                                                                 : GQ_ENTRY_UNTRACKED;
    }
    __atomic_store_n(&e->state, state, __ATOMIC_RELEASE);
    put_from_callback(e);
}

int gq_entries_may_hold(const void *p, size_t len)
{
    return gq_imap_may_hold(&entries, p, len);
}

/* With the write lock held: unlink every entry overlapping [start, end),
 * chaining them through next_dead for the caller to put. */
static struct gq_entry *unlink_overlapping(uintptr_t start, uintptr_t end)
{
    struct gq_entry *dropped = NULL;
    size_t i = gq_imap_first_overlap(&entries, start);
    while (i < entries.n && entries.v[i].start < end) {
        struct gq_entry *e = gq_imap_remove_at(&entries, i);
        e->next_dead = dropped;
        dropped = e;
    }
    return dropped;
}

static void put_chain(struct gq_entry *e)
{
    while (e) {
        struct gq_entry *next = e->next_dead;
        gq_entry_put(e);
        e = next;
    }
}

/* 1 when e can never serve a copy-back again: its program-owned buffer was
 * written, freed or unmapped since (write tracking says so), or it was
 * never trackable. Its block is only memory held for nothing. */
static int useless(struct gq_entry *e)
{
    switch (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE)) {
    case GQ_ENTRY_UNTRACKED:
    case GQ_ENTRY_FAILED:
        return 1;
    case GQ_ENTRY_TRACKED:
        return gq_wtrack_gone((const void *)e->start, e->len);
    default:
        return 0; /* pending, or the only copy of an owned buffer's bytes */
    }
}

void gq_entries_reap(void)
{
    gq_imap_wrlock(&entries);
    struct gq_entry *dropped = NULL;
    for (size_t i = 0; i < entries.n;) {
        struct gq_entry *e = entries.v[i].val;
        if (!useless(e)) {
            i++;
            continue;
        }
        gq_imap_remove_at(&entries, i);
        e->next_dead = dropped;
        dropped = e;
    }
    gq_imap_unlock(&entries);
    put_chain(dropped);
}

void gq_entries_publish(struct gq_entry *e)
{
    bury_dead();
    /* Now and then, let go of blocks whose buffers are gone: programs free
     * host buffers (free, munmap) without telling CUDA. */
    static unsigned published;
    if (__atomic_add_fetch(&published, 1, __ATOMIC_RELAXED) % 64 == 0)
        gq_entries_reap();
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
    gq_imap_wrlock(&entries);
    struct gq_entry *dropped = unlink_overlapping(e->start, e->start + e->len);
    if (gq_imap_insert(&entries, e->start, e->start + e->len, e) != 0)
        __atomic_sub_fetch(&e->refs, 1, __ATOMIC_RELAXED); /* unpublished: no reuse */
    gq_imap_unlock(&entries);
    put_chain(dropped);
}

/* Decode the part of e that lies in [lo, hi) to dst (element-aligned). */
static void decode_span(const struct gq_entry *e, uintptr_t lo, uintptr_t hi, unsigned char *dst)
{
    uint32_t es = e->segs.esize;
    if (gq_segs_decode_range(&e->segs, e->block.host, (lo - e->start) / es, (hi - e->start) / es,
                             dst) != GQ_OK)
        gq_warn_capped("cannot decode %zu bytes at %p from the store", (size_t)(hi - lo),
                       (void *)lo);
}

void gq_entries_fill_span(uintptr_t page, uintptr_t end, unsigned char *buf)
{
    memset(buf, 0, end - page);
    gq_imap_rdlock(&entries);
    for (size_t i = gq_imap_first_overlap(&entries, page);
         i < entries.n && entries.v[i].start < end; i++) {
        struct gq_entry *e = entries.v[i].val;
        if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != GQ_ENTRY_OWNED)
            continue;
        uintptr_t lo = e->start > page ? e->start : page;
        uintptr_t hi = e->start + e->len < end ? e->start + e->len : end;
        decode_span(e, lo, hi, buf + (lo - page));
    }
    gq_imap_unlock(&entries);
}

int gq_entries_owned_extent(uintptr_t page, uintptr_t *lo, uintptr_t *hi)
{
    int found = 0;
    gq_imap_rdlock(&entries);
    for (size_t i = gq_imap_first_overlap(&entries, page);
         !found && i < entries.n && entries.v[i].start < page + gq_page_size(); i++) {
        struct gq_entry *e = entries.v[i].val;
        found = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == GQ_ENTRY_OWNED;
        *lo = gq_page_down(e->start);
        *hi = gq_page_up(e->start + e->len);
    }
    gq_imap_unlock(&entries);
    return found;
}

/* Install, as plain memory, every whole page of owned entry e that does not
 * lie wholly inside [keep_lo, keep_hi). Pages already present are left. */
static void materialize(const struct gq_entry *e, uintptr_t keep_lo, uintptr_t keep_hi)
{
    uintptr_t ps = gq_page_size();
    uintptr_t lo = (e->start + ps - 1) & ~(ps - 1), hi = (e->start + e->len) & ~(ps - 1);
    unsigned char *buf = aligned_alloc(ps, ps);
    if (!buf)
        return;
    for (uintptr_t pg = lo; pg < hi; pg += ps) {
        if (pg >= keep_lo && pg + ps <= keep_hi)
            continue;
        decode_span(e, pg, pg + ps, buf);
        gq_hostmem_install(pg, buf, 1);
    }
    free(buf);
}

/* Materialise the owned entries overlapping [p, p+len) outside the pages
 * that range covers wholly. */
static void keep_owned_bytes(uintptr_t p, size_t len)
{
    enum { BATCH = 16 };
    struct gq_entry *owned_e[BATCH];
    size_t n = 0;
    gq_imap_rdlock(&entries);
    for (size_t i = gq_imap_first_overlap(&entries, p);
         i < entries.n && entries.v[i].start < p + len && n < BATCH; i++) {
        struct gq_entry *e = entries.v[i].val;
        if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == GQ_ENTRY_OWNED) {
            __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
            owned_e[n++] = e;
        }
    }
    gq_imap_unlock(&entries);
    uintptr_t ps = gq_page_size();
    for (size_t i = 0; i < n; i++) {
        materialize(owned_e[i], (p + ps - 1) & ~(ps - 1), (p + len) & ~(ps - 1));
        /* Now plain memory: the entry must not serve faults any more. */
        __atomic_store_n(&owned_e[i]->state, GQ_ENTRY_UNTRACKED, __ATOMIC_RELEASE);
        gq_entry_put(owned_e[i]);
    }
    if (n == BATCH)
        keep_owned_bytes(p, len);
}

void gq_entries_drop(const void *p, size_t len)
{
    if (!p || !len || !gq_imap_may_hold(&entries, p, len))
        return;
    keep_owned_bytes((uintptr_t)p, len);
    gq_entries_discard(p, len);
}

void gq_entries_release(struct gq_entry *e)
{
    if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == GQ_ENTRY_OWNED) {
        materialize(e, 0, 0);
        __atomic_store_n(&e->state, GQ_ENTRY_UNTRACKED, __ATOMIC_RELEASE);
    }
    gq_entries_discard((const void *)e->start, e->len);
}

void gq_entries_discard(const void *p, size_t len)
{
    if (!p || !len || !gq_imap_may_hold(&entries, p, len))
        return;
    gq_imap_wrlock(&entries);
    struct gq_entry *dropped = unlink_overlapping((uintptr_t)p, (uintptr_t)p + len);
    gq_imap_unlock(&entries);
    put_chain(dropped);
}

static int same_cut(const struct gq_segs *a, const struct gq_segs *b)
{
    return a->params.bits == b->params.bits && a->params.group == b->params.group &&
           a->params.dtype == b->params.dtype && a->params.axis == b->params.axis &&
           a->params.cols == b->params.cols && a->n_elems == b->n_elems &&
           a->seg_elems == b->seg_elems && a->few_escapes == b->few_escapes &&
           a->total == b->total;
}

int gq_entries_reuse_block(const void *p, size_t len, const struct gq_segs *g, CUstream s,
                           struct gq_block *b)
{
    if (!gq_imap_may_hold(&entries, p, len))
        return 0;
    /* The write lock: every page fill that read this block (under the read
     * lock) is over before the new writes are queued. */
    struct gq_entry *e = NULL;
    gq_imap_wrlock(&entries);
    size_t at = gq_imap_first_overlap(&entries, (uintptr_t)p);
    if (at < entries.n && entries.v[at].start == (uintptr_t)p &&
        entries.v[at].end == (uintptr_t)p + len) {
        e = entries.v[at].val;
        __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
    }
    gq_imap_unlock(&entries);
    if (!e)
        return 0;
    int ok = 0;
    if (e->start == (uintptr_t)p && e->len == len && same_cut(&e->segs, g)) {
        const struct gq_drv *d = gq_drv();
        pthread_mutex_lock(&e->lock);
        /* The uses can change under the lock only (gq_entry_used). */
        CUresult r = d->cuStreamWaitEvent(s, e->ready, 0);
        if (r == CUDA_SUCCESS)
            r = d->cuStreamWaitEvent(s, e->done, 0);
        for (unsigned i = 0; r == CUDA_SUCCESS && i < e->n_uses; i++)
            r = d->cuStreamWaitEvent(s, e->uses[i], 0);
        /* One taker only, should two offloads into one buffer race. */
        struct gq_chunk *c = r == CUDA_SUCCESS
                                 ? __atomic_exchange_n(&e->block.chunk, NULL, __ATOMIC_ACQ_REL)
                                 : NULL;
        if (c) {
            *b = e->block;
            b->chunk = c;
            ok = 1;
        }
        pthread_mutex_unlock(&e->lock);
    }
    gq_entry_put(e);
    return ok;
}

enum gq_lookup gq_entries_lookup(const void *p, size_t len, struct gq_entry **out)
{
    if (!gq_imap_may_hold(&entries, p, len))
        return GQ_LOOKUP_NONE;
    uintptr_t a = (uintptr_t)p;
    enum gq_lookup res = GQ_LOOKUP_NONE;
    gq_imap_rdlock(&entries);
    size_t i = gq_imap_first_overlap(&entries, a);
    if (i < entries.n && entries.v[i].start < a + len) {
        struct gq_ival *iv = &entries.v[i];
        if (iv->start <= a && a + len <= iv->end) {
            *out = iv->val;
            __atomic_add_fetch(&(*out)->refs, 1, __ATOMIC_RELAXED);
            res = GQ_LOOKUP_ONE;
        } else {
            res = GQ_LOOKUP_SPANS;
        }
    }
    gq_imap_unlock(&entries);
    return res;
}

void gq_entries_settle(const void *p, size_t len, CUstream s)
{
    if (!gq_imap_may_hold(&entries, p, len))
        return;
    uintptr_t a = (uintptr_t)p;
    struct gq_entry *few[16], **pending = few;
    size_t n = 0, cap = 16;
    gq_imap_rdlock(&entries);
    for (size_t i = gq_imap_first_overlap(&entries, a);
         i < entries.n && entries.v[i].start < a + len; i++) {
        struct gq_entry *e = entries.v[i].val;
        if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != GQ_ENTRY_PENDING)
            continue;
        if (n == cap) {
            struct gq_entry **v = malloc(2 * cap * sizeof *v);
            if (!v)
                break; /* the rest are waited for by the caller's stream order */
            memcpy(v, pending, n * sizeof *v);
            if (pending != few)
                free(pending);
            pending = v;
            cap *= 2;
        }
        __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
        pending[n++] = e;
    }
    gq_imap_unlock(&entries);
    for (size_t i = 0; i < n; i++) {
        /* The decode callback runs before `done`, on the offload's stream. */
        if (s)
            gq_drv()->cuStreamWaitEvent(s, pending[i]->done, 0);
        else
            gq_drv()->cuEventSynchronize(pending[i]->done);
        gq_entry_put(pending[i]);
    }
    if (pending != few)
        free(pending);
}

void gq_entries_atfork(enum gq_fork_phase ph) { gq_imap_atfork(&entries, (int)ph); }

void gq_entries_drop_all(void)
{
    gq_imap_rdlock(&entries);
    size_t n = entries.n;
    struct gq_entry **all = n ? malloc(n * sizeof *all) : NULL;
    for (size_t i = 0; all && i < n; i++) {
        all[i] = entries.v[i].val;
        __atomic_add_fetch(&all[i]->refs, 1, __ATOMIC_RELAXED);
    }
    gq_imap_unlock(&entries);
    if (!all) {
        if (n)
            gq_warn("cudaDeviceReset: out of memory; %zu compressed entries dropped unread", n);
        gq_entries_discard((const void *)1, UINTPTR_MAX - 1);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        /* Offloads still queued decode first; the owned ones become plain
         * memory while their blocks can still be read. */
        gq_drv()->cuEventSynchronize(all[i]->done);
        gq_entries_release(all[i]);
        gq_entry_put(all[i]);
    }
    free(all);
    bury_dead();
}

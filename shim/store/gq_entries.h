/*
 * gq_entries.h — host ranges held compressed.
 *
 * An entry is born when an offload (D2H) is compressed: GPU work writes the
 * block (store/gq_segs.h: segments), `ready` is recorded, then a stream
 * callback decodes the block on the CPU into the program's host buffer (so
 * the program reads what a restore would deliver) and arms write tracking
 * on it, and `done` is recorded. A later copy-back (H2D) of that range moves
 * the block instead of the raw bytes, but only while the buffer is
 * unchanged (gq_wtrack); it waits for `ready` only, never for the decode.
 *
 * Lifetime: the map holds one reference; lookups take their own. The block
 * returns to the store once the last reference is gone and every GPU use of
 * it has completed: the offload's (`ready`) and each restore's (`uses`).
 * Restores wait for `ready` only, never for one another, so restores of one
 * buffer on independent streams stay independent. Stream callbacks never take a lock
 * of the shim: a callback that drops the last reference hands the entry to a
 * graveyard that application threads empty.
 *
 * Lock order. The map's lock is taken by the fault thread (read) to fill a
 * span of a shim-owned buffer (gq_entries_fill_span, registered with
 * host/gq_hostmem.h). So no thread may touch a byte of a shim-owned buffer
 * while it holds the map's lock, in either mode: a missing page would fault,
 * and the fault thread would wait for the lock that thread holds (with the
 * write lock held that is a deadlock; with a read lock, one queued writer is
 * enough). Work that reads or writes owned pages (materialise, decode into
 * the host range) collects its entries under the lock, takes references,
 * unlocks, then works. The store's lock is never held while taking this one,
 * nor the reverse.
 */
#ifndef GQ_ENTRIES_H
#define GQ_ENTRIES_H

#include "gq_format.h"
#include "gq_rules.h"
#include "store/gq_segs.h"
#include "store/gq_store.h"

#include <cuda.h>
#include <pthread.h>
#include <stdint.h>

enum gq_entry_state {
    GQ_ENTRY_PENDING,   /* queued; the host buffer is not yet decoded */
    GQ_ENTRY_TRACKED,   /* host buffer decoded, writes to it are tracked */
    GQ_ENTRY_UNTRACKED, /* host buffer decoded, writes cannot be seen: no reuse */
    GQ_ENTRY_FAILED,    /* escape overflow: the host buffer holds the raw copy */
    GQ_ENTRY_OWNED,     /* shim-owned host range: its whole pages hold no copy,
                           they fault in decoded from the block (gq_hostmem.h) */
};

struct gq_entry {
    uintptr_t start;
    size_t len;
    struct gq_params params;
    struct gq_segs segs;  /* how the block is cut (params, esize, sizes) */
    struct gq_block block;
    const struct gq_rule *rule;
    CUevent ready;        /* recorded once, after the offload wrote the block */
    CUevent done;         /* recorded once, after the host range holds its data
                             (decoded, or pages dropped for an owned range) */
    pthread_mutex_t lock; /* guards uses */
    CUevent *uses;        /* one per restore that may still read the block */
    unsigned n_uses, cap_uses;
    int refs;             /* atomic */
    int state;            /* atomic, enum gq_entry_state */
    /* Set before the decode callback is queued: the offload's thread waits
     * for it and returns a pass itself when the block overflowed; else the
     * callback moves the offload's counts to the pass-through side. */
    int waited;
    struct gq_entry *next_dead;
};

/* A new entry for the host range [start, start+len) with its block; one
 * reference for the caller. NULL when out of memory or events. */
struct gq_entry *gq_entry_new(uintptr_t start, size_t len, const struct gq_segs *segs,
                              const struct gq_block *b, const struct gq_rule *rule);

/* Publish e in the map, replacing (dropping) every entry that overlaps its
 * range. The map takes its own reference. */
void gq_entries_publish(struct gq_entry *e);

/* Drop every entry overlapping [p, p+len): the bytes there are being
 * replaced. The bytes of owned entries (GQ_ENTRY_OWNED) outside the pages
 * that [p, p+len) covers wholly are materialised first, so nothing but the
 * replaced bytes is lost. Lock-free when no entry can overlap. */
void gq_entries_drop(const void *p, size_t len);

/* Materialise all of entry e into its host range (when owned) and drop it:
 * the program's host bytes are the truth from now on. */
void gq_entries_release(struct gq_entry *e);

/* Settle every entry, materialise the owned ones and drop them all: the
 * blocks are about to die with their context (cudaDeviceReset). */
void gq_entries_drop_all(void);

/* Drop every entry overlapping [p, p+len) without keeping any of their
 * bytes: the memory itself is going away. */
void gq_entries_discard(const void *p, size_t len);

/* Fill buf with [page, end) (page-aligned): the decoded bytes of the owned
 * entries overlapping it, zero elsewhere. Called by the fault thread. */
void gq_entries_fill_span(uintptr_t page, uintptr_t end, unsigned char *buf);

/* The pages [*lo, *hi) of an owned entry holding bytes of `page`: 1, or 0
 * when none does. How far the fault thread's span may reach. */
int gq_entries_owned_extent(uintptr_t page, uintptr_t *lo, uintptr_t *hi);

enum gq_lookup { GQ_LOOKUP_NONE, GQ_LOOKUP_ONE, GQ_LOOKUP_SPANS };

/* The entry holding all of [p, p+len), referenced, in *out (GQ_LOOKUP_ONE);
 * GQ_LOOKUP_SPANS when entries overlap the range without one holding it. */
enum gq_lookup gq_entries_lookup(const void *p, size_t len, struct gq_entry **out);

/* The steady state of an offloading program: the same buffer offloaded
 * again. When one entry holds exactly [p, p+len), cut as g, its block goes
 * to the new offload (no store allocation on the copy's path): 1, with the
 * block in *b, after stream s was made to wait (GPU-side: nothing waits on
 * the host) for every use of the block so far — the offload that wrote it,
 * its decode, each restore — so work queued on s next may rewrite it. The
 * old entry keeps its place in the map until the new one replaces it, but
 * no longer owns the block (a CPU read of its buffer meanwhile races with
 * the program's own copy into it, as it would without the shim). 0 when
 * there is none, or s cannot be made to wait. */
int gq_entries_reuse_block(const void *p, size_t len, const struct gq_segs *g, CUstream s,
                           struct gq_block *b);

/* Drop the entries that can never serve a copy-back again (their buffer
 * was written, freed or unmapped; or never trackable). One scan of pagemap
 * per entry: called now and then, and when the store runs out of budget. */
void gq_entries_reap(void);

/* Lock-free: 0 when no entry can overlap [p, p+len). */
int gq_entries_may_hold(const void *p, size_t len);

void gq_entry_put(struct gq_entry *e);

/* Make raw reads of [p, p+len) see the data of every overlapping offload
 * still queued: with a stream, the stream waits for their `done` (a copy
 * queued on it next reads after their decode); with none (a read at call
 * time, as of pageable memory), the calling thread waits. */
void gq_entries_settle(const void *p, size_t len, CUstream s);

/* A restore on stream s is about to read e's block: queue s behind the
 * offload that writes it. Then, after queueing the reads, gq_entry_used
 * records that s uses the block (the block outlives that work). */
CUresult gq_entry_wait_ready(struct gq_entry *e, CUstream s);
CUresult gq_entry_used(struct gq_entry *e, CUstream s);

/* Stream callback (cuLaunchHostFunc): decode the block into the host range,
 * arm tracking, drop the callback's reference. Takes no shim lock. */
void gq_entry_decode_cb(void *entry);

#include "base/gq_fork.h"
void gq_entries_atfork(enum gq_fork_phase ph);

#endif

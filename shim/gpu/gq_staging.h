/*
 * gq_staging.h — device memory and streams of the shim's own, per context,
 * through which compressed copies are staged.
 *
 * A context's staging is one device allocation of GQSHIM_STAGING_MAX bytes,
 * taken once (gq_staging_reserve) at an allocation event — the first
 * allocation a rule takes, or a gq_register — never on a copy's path:
 * cuMemAlloc synchronizes implicitly, and programs like vLLM take most of
 * the GPU at start-up, so memory asked for at the first copy may be gone.
 * It is kept until the context dies (gq_staging_forget_context).
 *
 * It is cut into lanes, GQ_LANES per direction, each a ring of
 * GQ_LANE_SLOTS slots and two non-blocking streams. Work passes a slot
 * through two stages: stage 1 on `first` fills it, stage 2 on `second`
 * empties it (offload: quantize into the slot, then copy it to the host;
 * restore: copy into the slot from the host, then dequantize). Events order
 * the stages, so the DMA of one slot overlaps the kernel of the next, and a
 * slot is refilled only once emptied; none of it waits on the host. The
 * streams are non-blocking so that the legacy default stream, which a
 * program's copy may wait on, never waits on them in turn.
 *
 * A lane's streams run in order: a copy queued on one waits for every copy
 * queued there before, and so for the program streams those waited on. Two
 * copies on independent program streams must stay independent, so a copy
 * takes the lane its stream used last, else an idle lane (its work all
 * done), and shares a busy one only when there is none (gq_lane_acquire).
 *
 * A lane is used under its lock from gq_lane_acquire to gq_lane_release:
 * events are re-recorded per use, and a wait takes the latest record, so
 * the whole queueing of one copy must not interleave with another's.
 */
#ifndef GQ_STAGING_H
#define GQ_STAGING_H

#include <cuda.h>
#include <pthread.h>
#include <stddef.h>

#define GQ_LANE_SLOTS 3u /* triple-buffered: the DMA of one, the kernel of the next, slack */
#define GQ_LANES 4u      /* per direction: program streams copying at once, independently */

enum gq_lane_dir { GQ_LANE_OFFLOAD, GQ_LANE_RESTORE, GQ_LANE_COUNT };

struct gq_lane {
    CUstream first, second;
    CUdeviceptr slot[GQ_LANE_SLOTS];
    size_t slot_size;
    CUevent filled[GQ_LANE_SLOTS];  /* on `first`, after stage 1 of the slot */
    CUevent emptied[GQ_LANE_SLOTS]; /* on `second`, after stage 2 of the slot */
    CUevent start;                  /* on the program's stream, at the copy */
    CUevent end;                    /* on `second`, after the copy's last stage */
    unsigned next;                  /* the slot to use next */
    CUstream owner;                 /* the program stream that used it last */
    pthread_mutex_t lock;
};

/* Take the current context's staging now, when it has none and
 * GQSHIM_STAGING_MAX is not 0: all of it, or less when the GPU has less to
 * spare (said once). 1 when the context has staging, else 0. */
int gq_staging_reserve(void);

/* The slot size staging of GQSHIM_STAGING_MAX bytes has (0: none): the
 * same in every context, so that a block cut for one device's staging fits
 * another's. */
size_t gq_staging_nominal_slot(void);

/* A lane of the current context for a copy in direction `dir` on program
 * stream s, locked: the one s used last, else an idle one, else any. NULL
 * when the context has no staging (the caller copies without it). Never
 * allocates, never waits for the GPU. */
struct gq_lane *gq_lane_acquire(enum gq_lane_dir dir, CUstream s);
void gq_lane_release(struct gq_lane *l);

/* Stage 1 starts after the work queued on s so far. */
CUresult gq_lane_begin(struct gq_lane *l, CUstream s);

/* The next slot of the ring, in *i: `first` waits until it was emptied. */
CUresult gq_lane_take(struct gq_lane *l, unsigned *i);

/* Stage 1 of slot i is queued: `second` waits for it. */
CUresult gq_lane_handoff(struct gq_lane *l, unsigned i);

/* Stage 2 of slot i is queued: the slot may be refilled after it. */
CUresult gq_lane_emptied(struct gq_lane *l, unsigned i);

/* The copy's last stage is queued: s waits for it (after `ready`, when
 * not NULL, is recorded there too). */
CUresult gq_lane_finish(struct gq_lane *l, CUstream s, CUevent ready);

/* The current context is about to be destroyed (cudaDeviceReset): its
 * staging dies with it and is forgotten. */
void gq_staging_forget_context(void);

#include "base/gq_fork.h"
void gq_staging_atfork(enum gq_fork_phase ph);

#endif

/*
 * Events: an event holds the fence of its latest record (a stream and a place
 * in it) and the time at which the stream reached that place. A destroyed
 * event's handle is invalid at once; a record still pending keeps the record
 * alive (reference count) until the stream reaches it.
 */
#define _GNU_SOURCE
#include "sim_impl.h"
#include "sim_profile.h"

#include <stdlib.h>

struct sim_event {
    uintptr_t handle;
    UT_hash_handle hh;
    unsigned flags;
    struct sim_fence fence; /* fence.s NULL: never recorded */
    uint64_t stamp_seq;     /* the record the timestamp belongs to */
    uint64_t t_ns;
    int refs; /* the handle + pending records; atomic */
};

static struct sim_event *events;

static void unref(struct sim_event *ev)
{
    if (__atomic_sub_fetch(&ev->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(ev);
}

static struct sim_event *find(CUevent h)
{
    struct sim_event *ev = NULL;
    uintptr_t key = (uintptr_t)h;
    HASH_FIND(hh, events, &key, sizeof key, ev);
    return ev;
}

CUresult cudasim_event_create(unsigned flags, CUevent *out)
{
    const unsigned known = CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING | CU_EVENT_INTERPROCESS;
    if (!out || (flags & ~known))
        return CUDA_ERROR_INVALID_VALUE;
    if ((flags & CU_EVENT_INTERPROCESS) && !(flags & CU_EVENT_DISABLE_TIMING))
        return CUDA_ERROR_INVALID_VALUE;
    struct sim_event *ev = calloc(1, sizeof *ev);
    if (!ev)
        return CUDA_ERROR_OUT_OF_MEMORY;
    ev->flags = flags;
    ev->refs = 1;
    pthread_mutex_lock(&sim_lock);
    ev->handle = sim_handle_new(SIM_TAG_EVENT);
    HASH_ADD(hh, events, handle, sizeof ev->handle, ev);
    pthread_mutex_unlock(&sim_lock);
    *out = (CUevent)ev->handle;
    return CUDA_SUCCESS;
}

CUresult cudasim_event_destroy(CUevent h)
{
    pthread_mutex_lock(&sim_lock);
    struct sim_event *ev = find(h);
    if (ev)
        HASH_DEL(events, ev);
    pthread_mutex_unlock(&sim_lock);
    if (!ev)
        return CUDA_ERROR_INVALID_HANDLE;
    unref(ev);
    return CUDA_SUCCESS;
}

static void run_stamp(struct sim_op *op, struct sim_stream *s)
{
    struct sim_event *ev = *(struct sim_event **)op->payload;
    pthread_mutex_lock(&sim_lock);
    if (ev->fence.s == s && ev->fence.seq == op->seq) {
        /* profiling: the op's modelled time (sim_profile.c) */
        ev->t_ns = sim_profile_on() ? (uint64_t)sim_profile_now_ns() : sim_now_ns();
        ev->stamp_seq = op->seq;
    }
    pthread_mutex_unlock(&sim_lock);
}

static void release_stamp(struct sim_op *op)
{
    unref(*(struct sim_event **)op->payload);
}

CUresult cudasim_event_record(CUevent h, CUstream stream, int ptds)
{
    CUresult r = CUDA_ERROR_INVALID_HANDLE;
    pthread_mutex_lock(&sim_lock);
    struct sim_event *ev = find(h);
    struct sim_stream *s = ev ? sim_stream_get(stream, ptds, &r) : NULL;
    if (!s)
        goto out;
    struct sim_op *op = sim_op_new(run_stamp, sizeof ev);
    if (!op) {
        r = CUDA_ERROR_OUT_OF_MEMORY;
        goto out;
    }
    *(struct sim_event **)op->payload = ev;
    op->release = release_stamp;
    __atomic_add_fetch(&ev->refs, 1, __ATOMIC_ACQ_REL);
    uint64_t seq;
    r = sim_enqueue(s, op, &seq);
    if (r == CUDA_SUCCESS)
        ev->fence = (struct sim_fence){s, seq};
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_event_query(CUevent h)
{
    pthread_mutex_lock(&sim_lock);
    struct sim_event *ev = find(h);
    CUresult r = !ev ? CUDA_ERROR_INVALID_HANDLE
                 : ev->fence.s && !sim_fence_done(&ev->fence) ? CUDA_ERROR_NOT_READY
                                                               : CUDA_SUCCESS;
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_event_sync(CUevent h)
{
    CUresult r = CUDA_ERROR_INVALID_HANDLE;
    int dev = -1;
    pthread_mutex_lock(&sim_lock);
    struct sim_event *ev = find(h);
    if (ev) {
        r = CUDA_SUCCESS;
        if (ev->fence.s) {
            dev = ev->fence.s->dev;
            r = sim_wait(ev->fence.s, ev->fence.seq);
        }
    }
    pthread_mutex_unlock(&sim_lock);
    return r ? r : cudasim_sticky(dev);
}

CUresult cudasim_event_elapsed(float *ms, CUevent start, CUevent end)
{
    if (!ms)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = CUDA_ERROR_INVALID_HANDLE;
    pthread_mutex_lock(&sim_lock);
    struct sim_event *a = find(start), *b = find(end);
    if (!a || !b || !a->fence.s || !b->fence.s ||
        ((a->flags | b->flags) & CU_EVENT_DISABLE_TIMING))
        goto out;
    if (!sim_fence_done(&a->fence) || !sim_fence_done(&b->fence)) {
        r = CUDA_ERROR_NOT_READY;
        goto out;
    }
    /* A record made during stream capture never ran: no time to compare. */
    if (a->stamp_seq != a->fence.seq || b->stamp_seq != b->fence.seq)
        goto out;
    *ms = (float)((double)((int64_t)(b->t_ns - a->t_ns)) / 1e6);
    r = CUDA_SUCCESS;
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

static void run_nothing(struct sim_op *op, struct sim_stream *s)
{
}

CUresult cudasim_stream_wait_event(CUstream stream, int ptds, CUevent h, unsigned flags)
{
    if (flags & ~(unsigned)CU_EVENT_WAIT_EXTERNAL)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = CUDA_ERROR_INVALID_HANDLE;
    pthread_mutex_lock(&sim_lock);
    struct sim_stream *s = sim_stream_get(stream, ptds, &r);
    struct sim_event *ev = s ? find(h) : NULL;
    if (s && !ev)
        r = CUDA_ERROR_INVALID_HANDLE;
    if (!ev)
        goto out;
    /* An event never recorded is complete: waiting on it is a no-op. */
    r = CUDA_SUCCESS;
    if (ev->fence.s && !sim_fence_done(&ev->fence)) {
        struct sim_op *op = sim_op_new(run_nothing, 0);
        uint64_t seq;
        if (!op || !sim_op_add_fence(op, ev->fence.s, ev->fence.seq)) {
            sim_op_free(op);
            r = CUDA_ERROR_OUT_OF_MEMORY;
            goto out;
        }
        r = sim_enqueue(s, op, &seq);
    }
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

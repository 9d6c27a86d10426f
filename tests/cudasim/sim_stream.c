/*
 * Streams: each runs its operations in order on its own worker thread.
 *
 * Ordering across streams is expressed with fences (a stream and a place in
 * its history). CUDA's implicit rules become fences at enqueue time:
 *   - an op on the legacy default stream waits for everything already queued
 *     on the device's blocking streams (regular streams created without
 *     CU_STREAM_NON_BLOCKING, and the per-thread default streams);
 *   - an op on a blocking stream waits for everything already queued on the
 *     legacy stream.
 * Each device has one legacy stream; each (host thread, device) has its own
 * per-thread default stream, destroyed when the thread exits.
 *
 * A destroyed stream's handle is invalid at once; its queued work still runs,
 * and its record is kept (never freed) so fences naming it stay valid.
 */
#define _GNU_SOURCE
#include "sim_impl.h"
#include "sim_profile.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sim_stream *by_handle; /* uthash: live regular streams */
static struct sim_stream *dev_streams[SIM_MAX_DEVICES];
static struct sim_stream *legacy[SIM_MAX_DEVICES];

struct graph {
    uintptr_t handle;
    UT_hash_handle hh;
};
static struct graph *graphs;

static __thread struct sim_stream *worker_of;

struct ptds_set {
    struct sim_stream *s[SIM_MAX_DEVICES];
};
static pthread_key_t ptds_key;
static pthread_once_t ptds_once = PTHREAD_ONCE_INIT;

static void unlink_stream(struct sim_stream *s)
{
    for (struct sim_stream **p = &dev_streams[s->dev]; *p; p = &(*p)->dev_next)
        if (*p == s) {
            *p = s->dev_next;
            return;
        }
}

/* Marks s destroyed (under sim_lock): the worker drains it and leaves. */
static void retire(struct sim_stream *s)
{
    s->destroyed = 1;
    if (!s->worker_running)
        unlink_stream(s);
    pthread_cond_broadcast(&sim_cond);
}

static void ptds_exit(void *arg)
{
    struct ptds_set *set = arg;
    pthread_mutex_lock(&sim_lock);
    for (int d = 0; d < SIM_MAX_DEVICES; d++)
        if (set->s[d])
            retire(set->s[d]);
    pthread_mutex_unlock(&sim_lock);
    free(set);
}

static void ptds_key_init(void)
{
    if (pthread_key_create(&ptds_key, ptds_exit))
        sim_fatal("pthread_key_create failed");
}

static struct sim_stream *stream_new(int dev, enum sim_stream_kind kind, int blocking)
{
    struct sim_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->handle = sim_handle_new(SIM_TAG_STREAM);
    s->dev = dev;
    s->kind = kind;
    s->blocking = blocking;
    s->dev_next = dev_streams[dev];
    dev_streams[dev] = s;
    return s;
}

static struct sim_stream *ptds_stream(int dev)
{
    pthread_once(&ptds_once, ptds_key_init);
    struct ptds_set *set = pthread_getspecific(ptds_key);
    if (!set) {
        set = calloc(1, sizeof *set);
        if (!set || pthread_setspecific(ptds_key, set)) {
            free(set);
            return NULL;
        }
    }
    if (!set->s[dev])
        set->s[dev] = stream_new(dev, SIM_STREAM_PTDS, 1);
    return set->s[dev];
}

static struct sim_stream *legacy_stream(int dev)
{
    if (!legacy[dev])
        legacy[dev] = stream_new(dev, SIM_STREAM_LEGACY, 1);
    return legacy[dev];
}

struct sim_stream *sim_stream_get(CUstream h, int ptds, CUresult *err)
{
    struct sim_stream *s = NULL;
    if (!h || h == CU_STREAM_LEGACY || h == CU_STREAM_PER_THREAD) {
        int dev = cudasim_current_device();
        if (dev < 0) {
            *err = CUDA_ERROR_INVALID_CONTEXT;
            return NULL;
        }
        int per_thread = h == CU_STREAM_PER_THREAD || (!h && ptds);
        s = per_thread ? ptds_stream(dev) : legacy_stream(dev);
        if (!s)
            *err = CUDA_ERROR_OUT_OF_MEMORY;
        return s;
    }
    uintptr_t key = (uintptr_t)h;
    HASH_FIND(hh, by_handle, &key, sizeof key, s);
    if (!s)
        *err = CUDA_ERROR_INVALID_HANDLE;
    return s;
}

struct sim_op *sim_op_new(void (*run)(struct sim_op *, struct sim_stream *), size_t payload)
{
    struct sim_op *op = calloc(1, sizeof *op + payload);
    if (op)
        op->run = run;
    return op;
}

void sim_op_free(struct sim_op *op)
{
    if (!op)
        return;
    if (op->release)
        op->release(op);
    free(op->fences);
    free(op);
}

int sim_op_add_fence(struct sim_op *op, struct sim_stream *s, uint64_t seq)
{
    if (s->completed >= seq)
        return 1;
    struct sim_fence *f = realloc(op->fences, (op->n_fences + 1) * sizeof *f);
    if (!f)
        return 0;
    op->fences = f;
    f[op->n_fences++] = (struct sim_fence){s, seq};
    return 1;
}

int sim_fence_done(const struct sim_fence *f)
{
    return f->s->completed >= f->seq;
}

int sim_on_worker(void)
{
    return worker_of != NULL;
}

static void *worker(void *arg)
{
    struct sim_stream *s = arg;
    worker_of = s;
    pthread_mutex_lock(&sim_lock);
    for (;;) {
        while (!s->head && !s->destroyed)
            pthread_cond_wait(&sim_cond, &sim_lock);
        struct sim_op *op = s->head;
        if (!op)
            break;
        for (size_t i = 0; i < op->n_fences; i++)
            while (!sim_fence_done(&op->fences[i]))
                pthread_cond_wait(&sim_cond, &sim_lock);
        pthread_mutex_unlock(&sim_lock);
        if (sim_cfg.delay_us)
            usleep(sim_cfg.delay_us);
        sim_profile_op_start(op, s);
        op->run(op, s);
        sim_profile_op_end(op, s);
        pthread_mutex_lock(&sim_lock);
        s->head = op->next;
        if (!s->head)
            s->tail = NULL;
        s->completed = op->seq;
        pthread_cond_broadcast(&sim_cond);
        pthread_mutex_unlock(&sim_lock);
        sim_op_free(op);
        pthread_mutex_lock(&sim_lock);
    }
    s->worker_running = 0;
    unlink_stream(s);
    pthread_mutex_unlock(&sim_lock);
    return NULL;
}

/* A capture in progress on a blocking stream of the device, or NULL. */
static struct sim_stream *capturing_blocking(int dev)
{
    for (struct sim_stream *t = dev_streams[dev]; t; t = t->dev_next)
        if (t->blocking && t->capture == CU_STREAM_CAPTURE_STATUS_ACTIVE)
            return t;
    return NULL;
}

CUresult sim_enqueue(struct sim_stream *s, struct sim_op *op, uint64_t *seq)
{
    CUresult r = CUDA_SUCCESS;
    if (s->capture == CU_STREAM_CAPTURE_STATUS_ACTIVE) {
        /* Recorded into the graph being captured, not run. */
        *seq = s->enqueued;
        goto drop;
    }
    if (s->capture == CU_STREAM_CAPTURE_STATUS_INVALIDATED) {
        r = CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
        goto drop;
    }
    if (s->kind == SIM_STREAM_LEGACY) {
        struct sim_stream *c = capturing_blocking(s->dev);
        if (c) {
            c->capture = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
            r = CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
            goto drop;
        }
        for (struct sim_stream *t = dev_streams[s->dev]; t; t = t->dev_next)
            if (t != s && t->blocking && !sim_op_add_fence(op, t, t->enqueued))
                goto nomem;
    } else if (s->blocking && legacy[s->dev]) {
        if (!sim_op_add_fence(op, legacy[s->dev], legacy[s->dev]->enqueued))
            goto nomem;
    }
    if (!s->worker_running) {
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&tid, &attr, worker, s);
        pthread_attr_destroy(&attr);
        if (failed)
            goto nomem;
        s->worker_running = 1;
    }
    sim_profile_enqueue(op);
    op->seq = *seq = ++s->enqueued;
    if (s->tail)
        s->tail->next = op;
    else
        s->head = op;
    s->tail = op;
    pthread_cond_broadcast(&sim_cond);
    return CUDA_SUCCESS;
nomem:
    r = CUDA_ERROR_OUT_OF_MEMORY;
drop:
    /* Payload release functions only free memory: safe under sim_lock. */
    sim_op_free(op);
    return r;
}

CUresult sim_wait(struct sim_stream *s, uint64_t seq)
{
    if (sim_on_worker())
        return CUDA_ERROR_NOT_PERMITTED;
    while (s->completed < seq)
        pthread_cond_wait(&sim_cond, &sim_lock);
    sim_profile_host_waited(s, seq);
    return CUDA_SUCCESS;
}

/* Waits for every fence of a snapshot (under sim_lock). */
static CUresult wait_all(struct sim_fence *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        CUresult r = sim_wait(f[i].s, f[i].seq);
        if (r)
            return r;
    }
    return CUDA_SUCCESS;
}

/* Snapshot of the work that synchronising with s covers: s's own queue and,
 * for the legacy stream, the blocking streams' queues (or all streams of the
 * device when s is NULL). */
static struct sim_fence *snapshot(struct sim_stream *s, int dev, size_t *n)
{
    size_t cap = 1;
    for (struct sim_stream *t = dev_streams[dev]; t; t = t->dev_next)
        cap++;
    struct sim_fence *f = malloc(cap * sizeof *f);
    *n = 0;
    if (!f)
        return NULL;
    if (s)
        f[(*n)++] = (struct sim_fence){s, s->enqueued};
    if (!s || s->kind == SIM_STREAM_LEGACY)
        for (struct sim_stream *t = dev_streams[dev]; t; t = t->dev_next)
            if (t != s && (!s || t->blocking))
                f[(*n)++] = (struct sim_fence){t, t->enqueued};
    return f;
}

/* A synchronising call on a capturing stream ends the capture's validity. */
static CUresult refuse_if_capturing(struct sim_stream *s)
{
    if (s->capture == CU_STREAM_CAPTURE_STATUS_NONE)
        return CUDA_SUCCESS;
    s->capture = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
    return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
}

CUresult cudasim_stream_sync(CUstream h, int ptds)
{
    CUresult r;
    pthread_mutex_lock(&sim_lock);
    struct sim_stream *s = sim_stream_get(h, ptds, &r);
    if (!s)
        goto out;
    if ((r = refuse_if_capturing(s)))
        goto out;
    size_t n;
    struct sim_fence *f = snapshot(s, s->dev, &n);
    r = f ? wait_all(f, n) : CUDA_ERROR_OUT_OF_MEMORY;
    free(f);
    int dev = s->dev;
    pthread_mutex_unlock(&sim_lock);
    return r ? r : cudasim_sticky(dev);
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

static int busy(struct sim_stream *s)
{
    return s->completed < s->enqueued;
}

CUresult cudasim_stream_query(CUstream h, int ptds)
{
    CUresult r;
    pthread_mutex_lock(&sim_lock);
    struct sim_stream *s = sim_stream_get(h, ptds, &r);
    if (!s)
        goto out;
    if ((r = refuse_if_capturing(s)))
        goto out;
    r = busy(s) ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
    if (!r && s->kind == SIM_STREAM_LEGACY)
        for (struct sim_stream *t = dev_streams[s->dev]; t; t = t->dev_next)
            if (t->blocking && busy(t))
                r = CUDA_ERROR_NOT_READY;
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_device_sync(int dev)
{
    if (dev < 0 || dev >= cudasim_device_count())
        return CUDA_ERROR_INVALID_CONTEXT;
    CUresult r = CUDA_SUCCESS;
    pthread_mutex_lock(&sim_lock);
    for (struct sim_stream *t = dev_streams[dev]; t; t = t->dev_next)
        if (t->capture == CU_STREAM_CAPTURE_STATUS_ACTIVE) {
            t->capture = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
            r = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
        }
    if (!r) {
        size_t n;
        struct sim_fence *f = snapshot(NULL, dev, &n);
        r = f ? wait_all(f, n) : CUDA_ERROR_OUT_OF_MEMORY;
        free(f);
    }
    pthread_mutex_unlock(&sim_lock);
    return r ? r : cudasim_sticky(dev);
}

CUresult cudasim_stream_create(int dev, unsigned flags, CUstream *out)
{
    if (!out || (flags & ~(unsigned)CU_STREAM_NON_BLOCKING))
        return CUDA_ERROR_INVALID_VALUE;
    if (dev < 0 || dev >= cudasim_device_count())
        return CUDA_ERROR_INVALID_CONTEXT;
    pthread_mutex_lock(&sim_lock);
    struct sim_stream *s = stream_new(dev, SIM_STREAM_REGULAR, !(flags & CU_STREAM_NON_BLOCKING));
    if (s)
        HASH_ADD(hh, by_handle, handle, sizeof s->handle, s);
    pthread_mutex_unlock(&sim_lock);
    if (!s)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *out = (CUstream)s->handle;
    return CUDA_SUCCESS;
}

CUresult cudasim_stream_destroy(CUstream h)
{
    struct sim_stream *s = NULL;
    uintptr_t key = (uintptr_t)h;
    pthread_mutex_lock(&sim_lock);
    HASH_FIND(hh, by_handle, &key, sizeof key, s);
    if (s) {
        HASH_DEL(by_handle, s);
        retire(s);
    }
    pthread_mutex_unlock(&sim_lock);
    return s ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

void sim_stream_reset(int dev)
{
    struct sim_stream *s, *tmp;
    HASH_ITER(hh, by_handle, s, tmp)
    if (s->dev == dev) {
        HASH_DEL(by_handle, s);
        retire(s);
    }
}

struct host_fn {
    CUhostFn fn;
    void *data;
};

static void run_host_fn(struct sim_op *op, struct sim_stream *s)
{
    struct host_fn *h = (struct host_fn *)op->payload;
    h->fn(h->data);
}

CUresult cudasim_launch_host_func(CUstream h, int ptds, CUhostFn fn, void *data)
{
    if (!fn)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r;
    pthread_mutex_lock(&sim_lock);
    struct sim_stream *s = sim_stream_get(h, ptds, &r);
    if (s) {
        struct sim_op *op = sim_op_new(run_host_fn, sizeof(struct host_fn));
        uint64_t seq;
        if (op)
            *(struct host_fn *)op->payload = (struct host_fn){fn, data};
        r = op ? sim_enqueue(s, op, &seq) : CUDA_ERROR_OUT_OF_MEMORY;
    }
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_stream_capture_status(CUstream h, int ptds, int *status)
{
    if (!status)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r;
    pthread_mutex_lock(&sim_lock);
    struct sim_stream *s = sim_stream_get(h, ptds, &r);
    if (s) {
        *status = s->capture;
        /* Asking about the legacy stream while a blocking stream captures is
         * itself an implicit dependency on the capture. */
        if (s->kind == SIM_STREAM_LEGACY && capturing_blocking(s->dev))
            r = CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
        else
            r = CUDA_SUCCESS;
    }
    pthread_mutex_unlock(&sim_lock);
    return r;
}

/* The calling thread's capture interaction mode, and its identity. */
static __thread int thread_mode = CU_STREAM_CAPTURE_MODE_GLOBAL;
static __thread char thread_tag;

CUresult cudasim_exchange_capture_mode(int *mode)
{
    if (!mode || *mode < CU_STREAM_CAPTURE_MODE_GLOBAL || *mode > CU_STREAM_CAPTURE_MODE_RELAXED)
        return CUDA_ERROR_INVALID_VALUE;
    int old = thread_mode;
    thread_mode = *mode;
    *mode = old;
    return CUDA_SUCCESS;
}

CUresult cudasim_capture_unsafe(void)
{
    if (thread_mode == CU_STREAM_CAPTURE_MODE_RELAXED)
        return CUDA_SUCCESS;
    CUresult r = CUDA_SUCCESS;
    uintptr_t me = (uintptr_t)&thread_tag;
    pthread_mutex_lock(&sim_lock);
    for (int d = 0; d < cudasim_device_count(); d++)
        for (struct sim_stream *t = dev_streams[d]; t; t = t->dev_next) {
            if (t->capture != CU_STREAM_CAPTURE_STATUS_ACTIVE)
                continue;
            int hit = t->capture_thread == me
                          ? t->capture_mode != CU_STREAM_CAPTURE_MODE_RELAXED
                          : thread_mode == CU_STREAM_CAPTURE_MODE_GLOBAL &&
                                t->capture_mode == CU_STREAM_CAPTURE_MODE_GLOBAL;
            if (hit) {
                t->capture = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
                r = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
            }
        }
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_stream_begin_capture(CUstream h, int ptds, int mode)
{
    if (mode < 0 || mode > 2)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = CUDA_SUCCESS; /* sim_stream_get sets it on failure only */
    pthread_mutex_lock(&sim_lock);
    struct sim_stream *s = sim_stream_get(h, ptds, &r);
    if (s) {
        if (s->kind == SIM_STREAM_LEGACY)
            r = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
        else if (s->capture != CU_STREAM_CAPTURE_STATUS_NONE)
            r = CUDA_ERROR_ILLEGAL_STATE;
        else {
            s->capture = CU_STREAM_CAPTURE_STATUS_ACTIVE;
            s->capture_mode = mode;
            s->capture_thread = (uintptr_t)&thread_tag;
        }
    }
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_stream_end_capture(CUstream h, int ptds, CUgraph *graph)
{
    if (!graph)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = CUDA_SUCCESS; /* sim_stream_get sets it on failure only */
    pthread_mutex_lock(&sim_lock);
    struct sim_stream *s = sim_stream_get(h, ptds, &r);
    if (!s)
        goto out;
    *graph = NULL;
    if (s->capture == CU_STREAM_CAPTURE_STATUS_NONE) {
        r = CUDA_ERROR_ILLEGAL_STATE;
    } else if (s->capture == CU_STREAM_CAPTURE_STATUS_INVALIDATED) {
        s->capture = CU_STREAM_CAPTURE_STATUS_NONE;
        r = CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
    } else {
        struct graph *g = calloc(1, sizeof *g);
        if (!g) {
            r = CUDA_ERROR_OUT_OF_MEMORY;
            goto out;
        }
        g->handle = sim_handle_new(SIM_TAG_GRAPH);
        HASH_ADD(hh, graphs, handle, sizeof g->handle, g);
        s->capture = CU_STREAM_CAPTURE_STATUS_NONE;
        *graph = (CUgraph)g->handle;
    }
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_graph_destroy(CUgraph h)
{
    struct graph *g = NULL;
    uintptr_t key = (uintptr_t)h;
    pthread_mutex_lock(&sim_lock);
    HASH_FIND(hh, graphs, &key, sizeof key, g);
    if (g)
        HASH_DEL(graphs, g);
    pthread_mutex_unlock(&sim_lock);
    free(g);
    return g ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/*
 * Copies and memsets, as stream operations, with CUDA's documented host
 * synchronisation ("API synchronization behavior" in the runtime manual):
 *   - synchronous calls (cudaMemcpy, cuMemcpyHtoD, ...) return when the data
 *     is in place;
 *   - asynchronous copies from pageable memory stage the source at the call
 *     and return; to pageable memory, or host to host, they return when the
 *     copy is done; with pinned or device memory on both sides they just queue;
 *   - memsets are asynchronous, except a synchronous one on pinned memory.
 * Each side is checked before anything is queued: a device side must be a
 * live device allocation or mapped pinned memory, a host side must not be
 * device memory, and the whole range must lie inside its allocation.
 */
#define _GNU_SOURCE
#include "sim_impl.h"
#include "sim_profile.h"

#include <stdlib.h>
#include <string.h>

struct side {
    struct sim_ptr q;
    unsigned char *addr; /* where cudasim reads or writes it */
};

struct copy_op {
    unsigned char *dst;
    const unsigned char *src;
    size_t width, height, dpitch, spitch;
    void *staging;
    int fill; /* memset: value in `value` */
    int dir;  /* SIM_H2D, SIM_D2H, SIM_D2D, SIM_H2H: for the profile */
    unsigned char value;
    uintptr_t live_base[2];
    uint64_t live_id[2];
};

/* Checks one side of an operation spanning [p, p + extent). */
static CUresult check_side(uintptr_t p, size_t extent, int want_device, int want_host,
                           struct side *out)
{
    if (!p || p + extent < p)
        return CUDA_ERROR_INVALID_VALUE;
    sim_ptr_query_locked(p, &out->q);
    switch (out->q.kind) {
    case SIM_PTR_UNMAPPED:
        return CUDA_ERROR_INVALID_VALUE;
    case SIM_PTR_HOST:
        if (want_device)
            return CUDA_ERROR_INVALID_VALUE;
        out->addr = (unsigned char *)p;
        return CUDA_SUCCESS;
    case SIM_PTR_DEVICE:
        if (want_host)
            return CUDA_ERROR_INVALID_VALUE;
        out->addr = sim_dev_alias(out->q.dev, p);
        break;
    case SIM_PTR_PINNED:
        out->addr = (unsigned char *)p;
        break;
    }
    /* Adjacent accessible mappings of one reservation are contiguous
     * memory to a copy, as on the GPU (sim_vmm.c). */
    if (p + extent > out->q.base + sim_mem_span_locked(&out->q))
        return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

static void run_copy(struct sim_op *op, struct sim_stream *s)
{
    struct copy_op *c = (struct copy_op *)op->payload;
    pthread_mutex_lock(&sim_lock);
    int live = 1;
    for (int i = 0; i < 2; i++)
        if (c->live_base[i] && !sim_mem_live(c->live_base[i], c->live_id[i]))
            live = 0;
    pthread_mutex_unlock(&sim_lock);
    if (!live) {
        /* The memory was freed under queued work: what a GPU reports as an
         * illegal address, a sticky error that ends the context. */
        cudasim_set_sticky(s->dev, CUDA_ERROR_ILLEGAL_ADDRESS);
        return;
    }
    for (size_t row = 0; row < c->height; row++) {
        if (c->fill)
            memset(c->dst + row * c->dpitch, c->value, c->width);
        else
            memmove(c->dst + row * c->dpitch, c->src + row * c->spitch, c->width);
    }
    if (sim_profile_on())
        sim_profile_copy(op, c->dir, c->fill, c->width * c->height);
}

static void release_copy(struct sim_op *op)
{
    free(((struct copy_op *)op->payload)->staging);
}

static void note_live(struct copy_op *c, int i, const struct side *sd)
{
    if (sd->q.kind == SIM_PTR_DEVICE) {
        c->live_base[i] = sd->q.base;
        c->live_id[i] = sd->q.id;
    }
}

/* Queues the op and, when `wait`, waits for it; under sim_lock. */
static CUresult submit(struct sim_stream *s, struct sim_op *op, int wait)
{
    if (wait && s->capture != CU_STREAM_CAPTURE_STATUS_NONE) {
        s->capture = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
        sim_op_free(op);
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    }
    uint64_t seq;
    CUresult r = sim_enqueue(s, op, &seq);
    if (r || !wait)
        return r;
    r = sim_wait(s, seq);
    if (r)
        return r;
    pthread_mutex_unlock(&sim_lock);
    r = cudasim_sticky(s->dev);
    pthread_mutex_lock(&sim_lock);
    return r;
}

CUresult cudasim_copy2d(uintptr_t dst, size_t dpitch, uintptr_t src, size_t spitch, size_t width,
                        size_t height, enum sim_dir dir, CUstream stream, int ptds, int sync)
{
    if (width > dpitch || width > spitch)
        return CUDA_ERROR_INVALID_VALUE;
    if (width == 0 || height == 0)
        return CUDA_SUCCESS;
    if (height > 1 && ((height - 1) > SIZE_MAX / dpitch || (height - 1) > SIZE_MAX / spitch))
        return CUDA_ERROR_INVALID_VALUE;
    size_t dext = (height - 1) * dpitch + width, sext = (height - 1) * spitch + width;
    if (dext < width || sext < width)
        return CUDA_ERROR_INVALID_VALUE;
    int dst_dev = dir == SIM_H2D || dir == SIM_D2D, dst_host = dir == SIM_D2H || dir == SIM_H2H;
    int src_dev = dir == SIM_D2H || dir == SIM_D2D, src_host = dir == SIM_H2D || dir == SIM_H2H;
    CUresult r;
    struct side d, sr;
    pthread_mutex_lock(&sim_lock);
    struct sim_stream *s = sim_stream_get(stream, ptds, &r);
    if (!s)
        goto out;
    if ((r = check_side(dst, dext, dst_dev, dst_host, &d)) ||
        (r = check_side(src, sext, src_dev, src_host, &sr)))
        goto out;
    int host_dst = d.q.kind != SIM_PTR_DEVICE, host_src = sr.q.kind != SIM_PTR_DEVICE;
    int wait = sync || d.q.kind == SIM_PTR_HOST || (host_dst && host_src);
    if (wait && !sync) /* asynchronous, yet waits: pageable memory */
        cudasim_guard(host_src ? "a host-to-host asynchronous copy"
                                     : "an asynchronous copy into pageable memory",
                      SIM_GUARD_COPY_WAIT);
    struct sim_op *op = sim_op_new(run_copy, sizeof(struct copy_op));
    if (!op) {
        r = CUDA_ERROR_OUT_OF_MEMORY;
        goto out;
    }
    struct copy_op *c = (struct copy_op *)op->payload;
    *c = (struct copy_op){d.addr, sr.addr, width, height, dpitch, spitch, NULL, 0,
                          host_dst && host_src ? SIM_H2H
                          : host_dst           ? SIM_D2H
                          : host_src           ? SIM_H2D
                                               : SIM_D2D,
                          0, {0}, {0}};
    op->release = release_copy;
    note_live(c, 0, &d);
    note_live(c, 1, &sr);
    if (sr.q.kind == SIM_PTR_HOST && !wait) {
        /* Pageable source: staged now, so the caller may reuse it at once. */
        unsigned char *st = malloc(width * height);
        if (!st) {
            sim_op_free(op);
            r = CUDA_ERROR_OUT_OF_MEMORY;
            goto out;
        }
        for (size_t row = 0; row < height; row++)
            memcpy(st + row * width, sr.addr + row * spitch, width);
        c->staging = st;
        c->src = st;
        c->spitch = width;
    }
    r = submit(s, op, wait);
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_copy(uintptr_t dst, uintptr_t src, size_t n, enum sim_dir dir, CUstream stream,
                      int ptds, int sync)
{
    if (n == 0)
        return CUDA_SUCCESS;
    return cudasim_copy2d(dst, n, src, n, n, 1, dir, stream, ptds, sync);
}

CUresult cudasim_memset(uintptr_t dst, unsigned char value, size_t n, CUstream stream, int ptds,
                        int sync)
{
    if (n == 0)
        return CUDA_SUCCESS;
    CUresult r;
    struct side d;
    pthread_mutex_lock(&sim_lock);
    struct sim_stream *s = sim_stream_get(stream, ptds, &r);
    if (!s || (r = check_side(dst, n, 1, 0, &d)))
        goto out;
    struct sim_op *op = sim_op_new(run_copy, sizeof(struct copy_op));
    if (!op) {
        r = CUDA_ERROR_OUT_OF_MEMORY;
        goto out;
    }
    struct copy_op *c = (struct copy_op *)op->payload;
    *c = (struct copy_op){d.addr, NULL, n, 1, n, n, NULL, 1,
                          d.q.kind == SIM_PTR_DEVICE ? SIM_D2D : SIM_D2H, value, {0}, {0}};
    note_live(c, 0, &d);
    r = submit(s, op, sync && d.q.kind == SIM_PTR_PINNED);
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

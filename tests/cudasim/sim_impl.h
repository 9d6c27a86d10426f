/*
 * sim_impl.h — what the files of cudasim's core share with each other (not
 * with the API layers): the one lock, handles, streams and their operations.
 *
 * Concurrency model: one process-wide mutex (`sim_lock`) guards every table
 * and every stream's queue; one condition variable (`sim_cond`) is broadcast
 * whenever an operation completes or a queue changes. Work itself (copies,
 * kernels, host functions) runs on a stream's worker thread without the lock.
 */
#ifndef CUDASIM_SIM_IMPL_H
#define CUDASIM_SIM_IMPL_H

#include "sim.h"

#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

extern pthread_mutex_t sim_lock;
extern pthread_cond_t sim_cond;

struct sim_config {
    int devices;
    size_t mem;        /* bytes per device */
    unsigned delay_us; /* before every stream operation */
    int test_kernels;
};
extern struct sim_config sim_cfg;

/* Reads CUDASIM_API_ERRORS (sim_api.c) at initialisation: a bad value stops
 * the program there, as every CUDASIM_* setting does. */
void sim_api_init(void);

/* Reports a problem with cudasim's own environment or host and exits 2. */
__attribute__((noreturn, format(printf, 1, 2))) void sim_fatal(const char *fmt, ...);

/* ---- handles: tag in bits 48..63 (never a canonical address), id below ---- */
enum sim_tag {
    SIM_TAG_STREAM = 0xc5a1,
    SIM_TAG_EVENT = 0xc5e7,
    SIM_TAG_MODULE = 0xc503,
    SIM_TAG_FUNC = 0xc5f0,
    SIM_TAG_CTX = 0xc5c0,
    SIM_TAG_GRAPH = 0xc569,
};
uintptr_t sim_handle_new(enum sim_tag tag);
static inline enum sim_tag sim_handle_tag(uintptr_t h)
{
    return (enum sim_tag)(h >> 48);
}

/* ---- device memory (sim_mem.c) ---- */
void sim_mem_init(void);
/* Device dev's address range and the CPU alias of its first byte. */
void sim_dev_window(int dev, uintptr_t *base, uintptr_t *size, unsigned char **alias);
/* Host-accessible alias of a device address (no checks). */
void *sim_dev_alias(int dev, uintptr_t p);
/* 1 when allocation `id` holding `base` is still live (under sim_lock). */
int sim_mem_live(uintptr_t base, uint64_t id);
void sim_ptr_query_locked(uintptr_t p, struct sim_ptr *out);
/* The pinned range holding p, filled into out->base/size/flags (sim_host.c,
 * under sim_lock); 0 when p is not pinned. */
int sim_host_lookup(uintptr_t p, struct sim_ptr *out);
/* Frees every allocation of the device (cudaDeviceReset). */
void sim_mem_reset(int dev);
/* The virtual-memory API's access to device memory (sim_vmm.c), under
 * sim_lock: address ranges and physical pages come from the device's one
 * free list; a mapping shows physical pages at a reserved address and is
 * device memory to pointer queries once its access is set. */
CUresult sim_mem_take(int dev, size_t len, int physical, size_t *off);
void sim_mem_give(int dev, size_t off, size_t len, int physical);
uintptr_t sim_mem_addr(int dev, size_t off);
int sim_mem_remap(int dev, uintptr_t va, size_t len, size_t file_off);
CUresult sim_mem_vmm_add(int dev, uintptr_t va, size_t len);
void sim_mem_vmm_remove(uintptr_t va);
void sim_mem_vmm_access(uintptr_t va, int on);
/* Bytes from q->base that one copy may cover: the allocation, or for a
 * mapping the run of accessible mappings that follow it without a gap. */
size_t sim_mem_span_locked(const struct sim_ptr *q);
/* Destroys the device's modules and functions (cudaDeviceReset, under sim_lock). */
void sim_kernel_reset(int dev);

/* ---- streams (sim_stream.c) ---- */
enum sim_stream_kind { SIM_STREAM_REGULAR, SIM_STREAM_LEGACY, SIM_STREAM_PTDS };

struct sim_op;
struct sim_stream {
    uintptr_t handle;
    UT_hash_handle hh;
    int dev;
    enum sim_stream_kind kind;
    int blocking; /* synchronises with the device's legacy stream */
    struct sim_op *head, *tail;
    uint64_t enqueued, completed;
    int destroyed;
    int worker_running;
    int capture; /* CUstreamCaptureStatus */
    struct sim_model_hist *model; /* modelled times of its ops (sim_profile.c) */
    int capture_mode;        /* CUstreamCaptureMode of the capture */
    uintptr_t capture_thread; /* the thread that began it (sim_stream.c) */
    struct sim_stream *dev_next; /* the device's list of live streams */
};

/* A point in a stream's history: done once `s->completed >= seq`. */
struct sim_fence {
    struct sim_stream *s;
    uint64_t seq;
};

struct sim_op {
    struct sim_op *next;
    uint64_t seq;
    /* Runs on the worker, without sim_lock. */
    void (*run)(struct sim_op *op, struct sim_stream *s);
    /* Frees what the payload owns (may be NULL); called without sim_lock. */
    void (*release)(struct sim_op *op);
    size_t n_fences;
    struct sim_fence *fences;
    double model_host_ns;  /* CUDASIM_PROFILE: the host clock at enqueue */
    unsigned model_range;  /* and the profiler range */
    alignas(max_align_t) unsigned char payload[];
};

struct sim_op *sim_op_new(void (*run)(struct sim_op *, struct sim_stream *), size_t payload);
void sim_op_free(struct sim_op *op);
/* Adds a fence the op waits for (under sim_lock). Returns 0 on no memory. */
int sim_op_add_fence(struct sim_op *op, struct sim_stream *s, uint64_t seq);

/* The stream a handle names for the calling thread (under sim_lock): NULL
 * when it is unknown or destroyed. Uses the current device for NULL/legacy/
 * per-thread handles; `*err` says why when NULL. */
struct sim_stream *sim_stream_get(CUstream h, int ptds, CUresult *err);
/* Queues op on s (under sim_lock), adding the implicit legacy fences. On
 * success the op belongs to the stream and *seq is its place; on error the
 * op is freed. A capturing stream records the op instead of running it. */
CUresult sim_enqueue(struct sim_stream *s, struct sim_op *op, uint64_t *seq);
/* Waits (under sim_lock, which it releases while waiting) for a fence. */
CUresult sim_wait(struct sim_stream *s, uint64_t seq);
int sim_fence_done(const struct sim_fence *f);
/* 1 when called from a stream worker (inside a host function or kernel). */
int sim_on_worker(void);
void sim_stream_reset(int dev);

/* Reads CUDASIM_FAIL (sim_fault.c): at init, so that a bad value stops every
 * program, not only those that reach a driver entry point. */
void sim_fault_init(void);

/* CLOCK_MONOTONIC in nanoseconds (event timestamps). */
uint64_t sim_now_ns(void);

#endif

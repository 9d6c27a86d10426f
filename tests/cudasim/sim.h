/*
 * sim.h — the core of cudasim, the simulated CUDA stack, as the two API layers
 * (drv_*.c for libcuda.so.1, rt_*.c for libcudart.so.13) see it.
 *
 * The core lives in libcuda.so.1 and exports these `cudasim_*` functions next
 * to the `cu*` entry points; libcudart.so.13 links libcuda.so.1 and calls them,
 * so a process has one device state whichever API it uses.
 *
 * Every function returns a CUresult; the runtime layer turns it into the
 * cudaError_t of the same number (the codes the core returns agree, checked in
 * rt_common.c). Handles (streams, events, modules, functions, contexts, graphs)
 * are opaque numbers outside the canonical address range: they are never
 * reused, so a destroyed handle stays invalid, and dereferencing one crashes.
 *
 * Streams are passed as the caller gave them: NULL, CU_STREAM_LEGACY and
 * CU_STREAM_PER_THREAD keep their meaning; `ptds` says whether NULL means the
 * per-thread default stream (the _ptsz/_ptds entry points) or the legacy one.
 *
 * Environment: CUDASIM_DEVICES (default 2, at most 8), CUDASIM_MEM (bytes per
 * device, K/M/G suffixes, default 16G), CUDASIM_DELAY_US (sleep before every
 * stream operation), CUDASIM_TEST_KERNELS=1 (also answer cudasim's own test
 * kernels in cuModuleGetFunction), CUDASIM_API_ERRORS (sim_api.c). A bad value
 * is reported and cudasim exits with status 2: a test instrument must not run
 * with a setting it ignored.
 */
#ifndef CUDASIM_SIM_H
#define CUDASIM_SIM_H

#include <cuda.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_DEVICES 8

/* ---- process, devices, contexts (sim_device.c) ---- */

/* cuInit: reads the environment and maps device memory, once. */
CUresult cudasim_init(void);
int cudasim_is_initialized(void);
int cudasim_device_count(void);
size_t cudasim_device_mem(void);
/* The calling thread's current device, or -1 when no context is current. */
int cudasim_current_device(void);
/* Makes device `dev`'s primary context current (dev -1: none). */
CUresult cudasim_set_current_device(int dev);
CUcontext cudasim_primary_ctx(int dev);
/* The device of a context handle, or -1 when it is not one. */
int cudasim_ctx_device(CUcontext ctx);
/* A sticky error on the device (the context is unusable), or CUDA_SUCCESS. */
CUresult cudasim_sticky(int dev);
void cudasim_set_sticky(int dev, CUresult err);
/* cudaDeviceReset: waits for the device, destroys its streams and memory. */
CUresult cudasim_device_reset(int dev);
/* Primary context references (runtime: the runtime's own, kept for good);
 * the last release destroys the context's state (as a reset) and leaves it
 * destroyed until retained again. */
void cudasim_primary_retain(int dev, int runtime);
CUresult cudasim_primary_release(int dev);
int cudasim_primary_destroyed(int dev);
/* Waits until every stream of the device has finished its work. */
CUresult cudasim_device_sync(int dev);

/* ---- memory (sim_mem.c, sim_host.c) ---- */

enum sim_ptr_kind {
    SIM_PTR_HOST,     /* pageable host memory (anything cudasim does not know) */
    SIM_PTR_PINNED,   /* page-locked host memory: cudaMallocHost, cudaHostRegister */
    SIM_PTR_DEVICE,   /* inside a live device allocation */
    SIM_PTR_UNMAPPED, /* in a device's range but in no live allocation */
};

struct sim_ptr {
    enum sim_ptr_kind kind;
    int dev;             /* SIM_PTR_DEVICE, SIM_PTR_UNMAPPED */
    uintptr_t base;      /* the allocation or registration holding the address */
    size_t size;
    uint64_t id;         /* allocation id (device), for liveness checks */
    unsigned flags;      /* pinned: the cudaHostAlloc / register flags */
};

void cudasim_ptr_query(uintptr_t p, struct sim_ptr *out);
CUresult cudasim_mem_alloc(int dev, size_t n, CUdeviceptr *out);
/* Frees an allocation by its start address; `stream` non-NULL frees in
 * stream order (cudaFreeAsync), otherwise after the device is idle. */
CUresult cudasim_mem_free(CUdeviceptr p, CUstream stream, int ptds);

/* The virtual-memory API (sim_vmm.c): 2 MiB granularity; handles are
 * cuMemCreate's CUmemGenericAllocationHandle values. */
size_t cudasim_vmm_granularity(void);
CUresult cudasim_vmm_reserve(int dev, size_t len, size_t align, uintptr_t *out);
CUresult cudasim_vmm_address_free(uintptr_t va, size_t len);
CUresult cudasim_vmm_create(int dev, size_t len, uint64_t *out);
CUresult cudasim_vmm_release(uint64_t handle);
CUresult cudasim_vmm_map(uintptr_t va, size_t len, size_t offset, uint64_t handle);
CUresult cudasim_vmm_unmap(uintptr_t va, size_t len);
CUresult cudasim_vmm_set_access(uintptr_t va, size_t len, int dev, int on);
void cudasim_mem_info(int dev, size_t *free_bytes, size_t *total);

CUresult cudasim_host_alloc(size_t n, unsigned flags, void **out);
CUresult cudasim_host_free(void *p);
CUresult cudasim_host_register(void *p, size_t n, unsigned flags);
CUresult cudasim_host_unregister(void *p);

/* ---- copies (sim_copy.c) ---- */

enum sim_dir { SIM_H2D, SIM_D2H, SIM_D2D, SIM_H2H, SIM_DEFAULT };

/* One copy of n bytes. `dir` states which side each pointer must be on
 * (SIM_DEFAULT: inferred). `sync` is 1 for the synchronous calls (return when
 * the data is in place); asynchronous calls still wait where CUDA documents
 * it: pageable destination, or host-to-host. */
CUresult cudasim_copy(uintptr_t dst, uintptr_t src, size_t n, enum sim_dir dir, CUstream stream,
                      int ptds, int sync);
/* memset of n bytes of `value`; asynchronous unless the target is pinned
 * host memory and `sync` is 1 (cudaMemset / cuMemsetD8). */
CUresult cudasim_memset(uintptr_t dst, unsigned char value, size_t n, CUstream stream, int ptds,
                        int sync);
/* 2D copy row by row; each row obeys cudasim_copy's rules. */
CUresult cudasim_copy2d(uintptr_t dst, size_t dpitch, uintptr_t src, size_t spitch, size_t width,
                        size_t height, enum sim_dir dir, CUstream stream, int ptds, int sync);

/* ---- streams and events (sim_stream.c, sim_event.c) ---- */

/* flags: CU_STREAM_DEFAULT or CU_STREAM_NON_BLOCKING. */
CUresult cudasim_stream_create(int dev, unsigned flags, CUstream *out);
CUresult cudasim_stream_destroy(CUstream h);
CUresult cudasim_stream_sync(CUstream h, int ptds);
/* CUDA_SUCCESS when idle, CUDA_ERROR_NOT_READY when work is pending. */
CUresult cudasim_stream_query(CUstream h, int ptds);
CUresult cudasim_stream_wait_event(CUstream h, int ptds, CUevent ev, unsigned flags);
CUresult cudasim_launch_host_func(CUstream h, int ptds, CUhostFn fn, void *data);
/* status: a CUstreamCaptureStatus (same values as cudaStreamCaptureStatus). */
CUresult cudasim_stream_capture_status(CUstream h, int ptds, int *status);
CUresult cudasim_stream_begin_capture(CUstream h, int ptds, int mode);
/* cuThreadExchangeStreamCaptureMode: swaps the calling thread's mode. */
CUresult cudasim_exchange_capture_mode(int *mode);
/* Before a potentially unsafe call (allocating or freeing memory): refused,
 * invalidating the capture, when this thread's mode forbids it during a
 * capture it began (unless relaxed) or, in global mode, during another
 * thread's global-mode capture. */
CUresult cudasim_capture_unsafe(void);
CUresult cudasim_stream_end_capture(CUstream h, int ptds, CUgraph *graph);
CUresult cudasim_graph_destroy(CUgraph g);

/* flags: CU_EVENT_DEFAULT, CU_EVENT_BLOCKING_SYNC, CU_EVENT_DISABLE_TIMING. */
CUresult cudasim_event_create(unsigned flags, CUevent *out);
CUresult cudasim_event_destroy(CUevent ev);
CUresult cudasim_event_record(CUevent ev, CUstream h, int ptds);
CUresult cudasim_event_query(CUevent ev);
CUresult cudasim_event_sync(CUevent ev);
CUresult cudasim_event_elapsed(float *ms, CUevent start, CUevent end);

/* ---- modules and kernels (sim_kernel.c) ---- */

CUresult cudasim_module_load(const void *image, CUmodule *out);
CUresult cudasim_module_unload(CUmodule mod);
CUresult cudasim_module_function(CUmodule mod, const char *name, CUfunction *out);
CUresult cudasim_launch(CUfunction f, const unsigned grid[3], const unsigned block[3],
                        unsigned shared_bytes, CUstream h, int ptds, void **params, void **extra);

/* ---- profiling (sim_profile.c, CUDASIM_PROFILE) ---- */

/* cudaProfilerStart (start 1) / cudaProfilerStop (0): delimit a range of the
 * profile. No effect unless profiling. */
CUresult cudasim_profiler_range(int start);

/* ---- fault injection (sim_fault.c, CUDASIM_FAIL): the driver layer asks before
 * doing the call ---- */
enum sim_fault_point {
    SIM_FAULT_cuInit,
    SIM_FAULT_cuMemHostAlloc,
    SIM_FAULT_cuMemHostGetDevicePointer,
    SIM_FAULT_cuMemAlloc,
    SIM_FAULT_cuModuleLoadData,
    SIM_FAULT_cuModuleGetFunction,
    SIM_FAULT_cuLaunchKernel,
    SIM_FAULT_cuLaunchHostFunc,
    SIM_FAULT_cuEventCreate,
    SIM_FAULT_cuEventRecord,
    SIM_FAULT_cuStreamWaitEvent,
    SIM_FAULT_cuMemcpyHtoDAsync,
    SIM_FAULT_COUNT
};
/* The status this call of a driver entry point must fail with, or
 * CUDA_SUCCESS: counts the call. */
CUresult cudasim_fault(enum sim_fault_point which);

/* CUDASIM_SYNC_GUARD (sim_guard.c): entry points that may synchronize
 * implicitly (SIM_GUARD_IMPLICIT) or that wait on the host (SIM_GUARD_WAIT)
 * call this first; it aborts when a copy is on the caller's stack and the
 * guard forbids the call there. An asynchronous copy that is about to wait
 * because a host side is pageable calls it with SIM_GUARD_COPY_WAIT: the
 * copy itself is then not the enclosing copy. */
enum sim_guard_kind { SIM_GUARD_IMPLICIT, SIM_GUARD_WAIT, SIM_GUARD_COPY_WAIT };
void cudasim_guard(const char *entry, enum sim_guard_kind kind);

/* CUDASIM_API_ERRORS (sim_api.c): every exported entry point of both
 * libraries returns its status through this (drv.h DRV_ENTRY, rt.h
 * RT_ENTRY): a failure is reported, named, with `caller` (the return
 * address into whoever called the entry point). Returns `status`. */
int cudasim_api_status(const char *entry, int status, int runtime, void *caller);

/* ---- error text (sim_errors.c) ---- */

/* Name (driver or runtime spelling) and description of an error code, or
 * NULL for a code cudasim does not know. */
const char *cudasim_error_name(int code, int runtime);
const char *cudasim_error_string(int code);

#endif

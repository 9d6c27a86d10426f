/*
 * gq_ptr.h — what the driver says about an address, a context, a stream:
 * the queries every layer above asks, written once. Each returns 0 ("no",
 * or "unknown") when no driver could be loaded.
 */
#ifndef GQ_PTR_H
#define GQ_PTR_H

#include <cuda.h>
#include <stddef.h>
#include <stdint.h>

/* The allocation the driver knows `p` to lie in. */
struct gq_ptr_info {
    CUmemorytype type; /* CU_MEMORYTYPE_DEVICE or _HOST (pinned) */
    uintptr_t base;    /* start of the allocation or registration */
    size_t size;
};

/* 0 and *out filled when the driver knows p; -1 otherwise. */
int gq_ptr_query(const void *p, struct gq_ptr_info *out);

/* 1 when p is device memory (of any device). */
int gq_ptr_is_device(const void *p);

/* 1 when [p, p+count) lies inside one device allocation of the current
 * context's device. The shim's kernels must never touch more than the
 * program's copy names: a copy past the end of an allocation, or a device
 * pointer where host memory is due, goes to the real call and fails there
 * as it would without the shim. And they run in the current context: memory
 * of another device (legal for cudaMemcpy under unified addressing) would
 * be an illegal address there. */
int gq_ptr_device_range(const void *p, size_t count);

/* The GPU's address of host memory the GPU can reach (pinned and mapped),
 * else 0. */
CUdeviceptr gq_ptr_device_view(const void *host);

/* The size of the pinned allocation that starts exactly at p, else 0. */
size_t gq_ptr_pinned_extent(const void *p);

/* 1 when a context is current on this thread, binding the runtime's primary
 * context first when the runtime has not yet done so (the runtime binds
 * lazily; our driver calls need it now). */
int gq_ctx_bind(void);

/* 1 when stream s is capturing a graph (or the driver cannot say). */
int gq_stream_capturing(CUstream s);

/* The shim's own calls (pinned store growth, waits on its own streams) are
 * not the program's: while another thread captures a graph in global mode
 * they would be refused and end that capture. gq_capture_relax puts the
 * calling thread in relaxed mode and returns the mode to give back to
 * gq_capture_restore (-1: nothing was changed). */
int gq_capture_relax(void);
void gq_capture_restore(int saved);

#endif

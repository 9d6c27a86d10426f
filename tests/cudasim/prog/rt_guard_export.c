/*
 * rt_guard_export — CUDASIM_SYNC_GUARD (sim_guard.c) catches what it must and
 * nothing else. Built with -rdynamic (the _export suffix), so that the two
 * probes below are named in the dynamic symbol table, as a library's
 * interposed cudaMemcpy* hooks are: the guard sees them as copies.
 *
 *   rt_guard_export WHAT
 *     malloc-in-copy   cudaMalloc inside a copy: the guard (1 or wait) aborts
 *     sync-in-async    cudaStreamSynchronize inside an asynchronous copy:
 *                      the guard aborts under wait only
 *     sync-in-copy     cudaStreamSynchronize inside a synchronous copy: allowed
 *     malloc-outside   cudaMalloc and cudaDeviceSynchronize outside any copy:
 *                      allowed
 *     pageable-in-async  cudaMemcpyAsync device to pageable memory (it waits)
 *                      inside an asynchronous copy: aborts under wait only
 *     pinned-in-async  the same into pinned memory (it just queues): allowed
 *     pageable-async   that copy to pageable memory alone, in no other copy:
 *                      allowed (CUDA's own copy waits there too)
 *   Exit 0 when the program got to the end (nothing aborted it).
 */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <string.h>

__attribute__((noinline, visibility("default"))) int cudaMemcpyGuardProbe(int what);
__attribute__((noinline, visibility("default"))) int cudaMemcpyAsyncGuardProbe(int what);

static void *dev, *pageable, *pinned; /* 4096 bytes each, taken outside any copy */

/* Inlined into the probes: their frames must be on the stack of its calls
 * (a call of its own could become a tail call, and the probe frame vanish). */
static inline __attribute__((always_inline)) int act(int what)
{
    void *p = NULL;
    if (what == 0) {
        if (cudaMalloc(&p, 4096) != cudaSuccess)
            return 1;
        return cudaFree(p) != cudaSuccess;
    }
    if (what == 2 || what == 3) /* no wait of its own: only the copy's */
        return cudaMemcpyAsync(what == 2 ? pageable : pinned, dev, 4096, cudaMemcpyDeviceToHost, 0) !=
               cudaSuccess;
    return cudaStreamSynchronize(0) != cudaSuccess;
}

/* A synchronous and an asynchronous copy, as the guard names them. */
int cudaMemcpyGuardProbe(int what) { return act(what) + 0; }
int cudaMemcpyAsyncGuardProbe(int what) { return act(what) + 0; }

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    static char host[4096];
    int rc;
    pageable = host;
    if (!strncmp(w, "pinned", 6) || !strncmp(w, "pageable", 8)) {
        if (cudaMalloc(&dev, 4096) != cudaSuccess || cudaMallocHost(&pinned, 4096) != cudaSuccess ||
            cudaMemset(dev, 7, 4096) != cudaSuccess)
            return 1;
    }
    if (!strcmp(w, "malloc-in-copy"))
        rc = cudaMemcpyGuardProbe(0);
    else if (!strcmp(w, "sync-in-async"))
        rc = cudaMemcpyAsyncGuardProbe(1);
    else if (!strcmp(w, "sync-in-copy"))
        rc = cudaMemcpyGuardProbe(1);
    else if (!strcmp(w, "malloc-outside"))
        rc = act(0) + (cudaDeviceSynchronize() != cudaSuccess);
    else if (!strcmp(w, "pageable-in-async"))
        rc = cudaMemcpyAsyncGuardProbe(2);
    else if (!strcmp(w, "pinned-in-async"))
        rc = cudaMemcpyAsyncGuardProbe(3);
    else if (!strcmp(w, "pageable-async"))
        rc = act(2) + (((unsigned char *)pageable)[4095] != 7); /* it waited */
    else {
        fprintf(stderr, "usage: rt_guard_export malloc-in-copy|sync-in-async|sync-in-copy|"
                        "malloc-outside|pageable-in-async|pinned-in-async|pageable-async\n");
        return 2;
    }
    if (rc)
        fprintf(stderr, "rt_guard_export %s: a CUDA call failed\n", w);
    return rc;
}

/*
 * gqshim.h — the public API of libgqshim.so, for programs that want to name
 * their own tensors instead of (or besides) describing them in GQSHIM_RULES.
 *
 * Most programs need none of this: `gqrun --rules=... -- program` (or
 * LD_PRELOAD=libgqshim.so GQSHIM_RULES=...) compresses offloads of unmodified
 * binaries. A program that knows which buffers hold tensors can say so
 * exactly, with no size filters to tune, by registering each buffer.
 *
 * Link nothing. Look the functions up at run time, so that the program runs
 * unchanged — and exactly — when the shim is not preloaded:
 *
 *     #define _GNU_SOURCE
 *     #include <dlfcn.h>
 *     #include <gqshim.h>
 *
 *     gq_register_fn reg = (gq_register_fn)dlsym(RTLD_DEFAULT, "gq_register");
 *     if (reg) {
 *         int rc = reg(d_kv, kv_bytes, "dtype=f16,bits=4,group=64,name=kv");
 *         if (rc != 0)
 *             fprintf(stderr, "gq_register: %s\n", strerror(-rc));
 *     }
 *     // ... cudaMemcpy(host, d_kv, kv_bytes, cudaMemcpyDeviceToHost) is now
 *     // quantized on the GPU and crosses PCIe compressed; the copy back
 *     // dequantizes. Without the shim, reg is NULL and the copies are plain.
 *
 * (glibc before 2.34 needs -ldl for dlsym.) `pkg-config --cflags gqshim`
 * gives the include path of this header; nothing needs --libs.
 *
 * All functions are thread-safe. Errors are negative errno values; nothing
 * here aborts or exits the program.
 */
#ifndef GQSHIM_H
#define GQSHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of gqshim: gqrun --version, the pkg-config file and this
 * header all take it from here. (GQ_VERSION is the compressed format's.) */
#define GQ_SHIM_VERSION "0.1.0"

/*
 * gq_register — treat [ptr, ptr + bytes) as a tensor, exactly as if a rule of
 * GQSHIM_RULES had taken it.
 *
 *   ptr    the start of the tensor: device memory (cudaMalloc,
 *          cudaMallocAsync: like an on=dev rule, offloads *from* it are
 *          compressed) or pinned host memory (cudaHostAlloc, cudaMallocHost,
 *          cudaHostRegister: like an on=host rule, offloads *into* it are
 *          compressed). The range may be a tensor carved out of a larger
 *          allocation, but must lie inside one allocation. Copies are matched
 *          by containment, so a copy of any element-aligned part of the range
 *          qualifies.
 *   bytes  its size; more than 0.
 *   spec   how to compress it, in the GQSHIM_RULES key=value grammar without
 *          the keys that select allocations (on, min, max, size, nth):
 *          dtype=f16|bf16|f32, bits=2|4|8, group=N, dim=last|0, cols=N,
 *          name=LABEL, upload=compress (pinned host memory only), e.g.
 *          "dtype=f16,bits=4,group=64". NULL or "" means every default.
 *          bits and group not given take GQSHIM_BITS / GQSHIM_GROUP (4, 64).
 *          name labels the tensor in stats and trace (default apiN, N
 *          counting the distinct specs registered).
 *
 * Works with or without GQSHIM_RULES. Registering over a range that overlaps
 * a registered one replaces it (as a new allocation at a recycled address
 * does). The registration ends at gq_unregister or when the allocation is
 * freed through cudaFree / cudaFreeHost (when ptr is its start).
 *
 * Returns 0, or:
 *   -EINVAL  ptr is NULL, bytes is 0, or spec does not parse or uses a
 *            selecting key (the reason is logged as one warning line)
 *   -EFAULT  the range is not inside one device allocation or one pinned
 *            host allocation (pageable malloc memory, say)
 *   -ENODEV  the shim is off: GQSHIM_ENABLE=0, an invalid GQSHIM_* value,
 *            or no CUDA driver could be loaded
 *   -ENOSPC  more than 256 distinct specs registered in this process
 *   -ENOMEM  out of memory
 */
int gq_register(void *ptr, size_t bytes, const char *spec);

/*
 * gq_unregister — forget the registration that starts at ptr (the ptr given
 * to gq_register, or the start of an allocation a rule took). Later copies of
 * the range pass through uncompressed; data already held compressed stays
 * valid and is restored as before.
 *
 * Returns 0, or:
 *   -ENOENT  no registered range starts at ptr
 *   -EPERM   ptr is a host allocation the shim itself backs (taken by an
 *            on=host rule): it stays registered until cudaFreeHost
 *   -ENODEV  the shim is off (see gq_register)
 */
int gq_unregister(void *ptr);

#define GQ_STATS_VERSION 1

/* What the shim has done in this process so far. Fields are only ever
 * appended; `version` and `size` say how much of them a library filled. */
struct gq_stats_public {
    uint32_t version;            /* GQ_STATS_VERSION of the library that filled it */
    uint32_t size;               /* bytes of this struct the library filled */
    uint64_t offloads;           /* device-to-host copies compressed */
    uint64_t restores;           /* host-to-device copies served from compressed data */
    uint64_t logical_bytes;      /* bytes those copies carried for the program */
    uint64_t moved_bytes;        /* bytes they moved to or from host memory (compressed) */
    uint64_t copies;             /* intercepted copies; counted only under GQSHIM_STATS */
    uint64_t passed_through;     /* copies passed to CUDA unchanged; GQSHIM_STATS only */
    uint64_t passthrough_bytes;  /* their bytes; GQSHIM_STATS only */
    uint64_t escaped_groups;     /* groups kept raw because they hold NaN or Inf */
    uint64_t regions_dev;        /* device ranges registered (rules and gq_register) */
    uint64_t regions_host;       /* pinned host ranges registered */
    uint64_t host_bytes_held;    /* host bytes holding compressed data now */
    uint64_t pinned_peak_bytes;  /* peak pinned memory of the shim's store */
};

/*
 * gq_stats — copy the counters into *out.
 *
 *   out   filled up to min(size, sizeof(struct gq_stats_public)) bytes; any
 *         remaining bytes up to `size` are zeroed
 *   size  sizeof(*out) as the caller's header knows it; at least the size
 *         of version 1 (every field above)
 *
 * Returns 0, or -EINVAL when out is NULL or size is too small.
 */
int gq_stats(struct gq_stats_public *out, size_t size);

/* Pointer types for dlsym. */
typedef int (*gq_register_fn)(void *ptr, size_t bytes, const char *spec);
typedef int (*gq_unregister_fn)(void *ptr);
typedef int (*gq_stats_fn)(struct gq_stats_public *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif

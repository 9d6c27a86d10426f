/*
 * gq_codec.h — the CPU codec of the gqshim format (see gq_format.h).
 *
 * No allocation, no global state beyond a CPU-feature probe done once. The
 * fastest path this CPU runs (AVX-512, AVX2+F16C or scalar C) is picked at
 * run time; every path writes the same bytes as the scalar one. Every call
 * runs on the calling thread, except the *_mt() forms, which split the work
 * over threads of their own. All functions return GQ_OK (0) or a negative
 * enum gq_status.
 */
#ifndef GQ_CODEC_H
#define GQ_CODEC_H

#include "gq_format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which implementation runs a call. GQ_PATH_AUTO: the best this CPU has. */
enum gq_path { GQ_PATH_AUTO = 0, GQ_PATH_SCALAR, GQ_PATH_AVX2, GQ_PATH_AVX512 };
#define GQ_ERR_UNSUPPORTED (-7) /* the path asked for is not available here */

/* Name of a path ("scalar", "avx2", "avx512"); GQ_PATH_AUTO: the one chosen. */
const char *gq_path_name(enum gq_path path);
/* 1 when this CPU (and this build) can run the path. */
int gq_path_available(enum gq_path path);

/* A status as a short English phrase. */
const char *gq_strerror(int status);

/* What a compressed buffer's header says, checked against its size. */
struct gq_info {
    struct gq_params params;
    struct gq_layout layout;
    uint32_t escape_count; /* escaped groups (may exceed the capacity) */
    int overflow;          /* 1: not exactly decodable */
};

/* Parses and checks the header: magic, version, parameters, and that the
 * layout fits in buf_size. GQ_ERR_CORRUPT or GQ_ERR_SIZE otherwise. */
int gq_info_read(const void *buf, size_t buf_size, struct gq_info *info);

/* Compresses n_elems elements at src (aligned to the element size) into dst
 * (16-aligned, dst_size >= gq_compressed_size(p, n_elems, escape_capacity)).
 * Returns GQ_OK, or GQ_ERR_OVERFLOW when more groups escaped than the
 * capacity holds: dst is then complete but flagged, and every decode of it
 * fails with GQ_ERR_OVERFLOW. */
int gq_encode(const struct gq_params *p, const void *src, uint64_t n_elems, uint32_t escape_capacity,
              void *dst, size_t dst_size);

/* Decompresses the whole tensor into dst (dst_size >= n_elems * element size). */
int gq_decode(const void *buf, size_t buf_size, void *dst, size_t dst_size);

/* Decompresses elements [e0, e1) of the tensor into dst: dst[0] is element
 * e0 (element-aligned). Only the groups holding them are read; the result is
 * the same slice a full decode gives. GQ_ERR_RANGE unless e0 <= e1 <= n. */
int gq_decode_range(const void *buf, size_t buf_size, uint64_t e0, uint64_t e1, void *dst);

/* Decompresses groups [g0, g1) into dst, dst[0] being the first element of
 * group g0. GQ_DIM_LAST: any range. GQ_DIM_0: whole row-blocks only (g0 and
 * g1 multiples of cols, or g1 == n_groups), else GQ_ERR_RANGE. */
int gq_decode_groups(const void *buf, size_t buf_size, uint64_t g0, uint64_t g1, void *dst);

/* The same, on a given path (tests compare paths; GQ_ERR_UNSUPPORTED when the
 * CPU lacks it). */
int gq_encode_ex(enum gq_path path, const struct gq_params *p, const void *src, uint64_t n_elems,
                 uint32_t escape_capacity, void *dst, size_t dst_size);
int gq_decode_range_ex(enum gq_path path, const void *buf, size_t buf_size, uint64_t e0, uint64_t e1,
                       void *dst);

/*
 * Multi-threaded forms, for large tensors: the groups are split into
 * contiguous runs, one per thread, the calling thread taking the first. At
 * most max_threads threads run (the caller's included; 0 means one per CPU
 * this process may run on), and fewer when the tensor is small: each thread
 * gets at least GQ_MT_MIN_BYTES of raw elements, so a small call never pays
 * for a thread. The workers block every signal. The result is byte for byte
 * that of the single-threaded call, escape slots included (escapes found by
 * later threads are numbered after the earlier threads' ones, in group
 * order). When a thread cannot be created, the calling thread does its part.
 */
#define GQ_MT_MIN_BYTES (4u << 20)
int gq_encode_mt(const struct gq_params *p, const void *src, uint64_t n_elems, uint32_t escape_capacity,
                 void *dst, size_t dst_size, unsigned max_threads);
int gq_decode_range_mt(const void *buf, size_t buf_size, uint64_t e0, uint64_t e1, void *dst,
                       unsigned max_threads);
int gq_decode_mt(const void *buf, size_t buf_size, void *dst, size_t dst_size, unsigned max_threads);

/*
 * The same split, run by the caller's runner instead of threads started per
 * call: run(n, fn, arg) must call fn(arg, i) once for every i in [0, n), on
 * any threads in any order, and return once all have returned (NULL: threads
 * started per call, as above). `parts` is how many parts to cut (1 to
 * 64; fewer when the data is smaller), with no minimum size:
 * the runner's cost per part is the caller's to weigh. Same bytes as the
 * single-threaded call.
 */
typedef void (*gq_part_fn)(void *arg, unsigned i);
typedef void (*gq_runner)(unsigned n, gq_part_fn fn, void *arg);
int gq_encode_run(const struct gq_params *p, const void *src, uint64_t n_elems, uint32_t escape_capacity,
                  void *dst, size_t dst_size, unsigned parts, gq_runner run);
int gq_decode_range_run(const void *buf, size_t buf_size, uint64_t e0, uint64_t e1, void *dst,
                        unsigned parts, gq_runner run);

/* CPUs this process may run on (its affinity mask); at least 1. */
unsigned gq_cpu_count(void);

#ifdef __cplusplus
}
#endif
#endif

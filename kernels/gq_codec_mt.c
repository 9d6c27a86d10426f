/*
 * gq_codec_mt.c — the CPU codec over several threads (gq_codec.h, *_mt).
 *
 * Encode: the groups are split into runs of whole 16-group blocks (the SIMD
 * paths' unit, so every run but the last is made of full blocks). The first
 * run is encoded into the buffer directly. Later runs cannot know which
 * escape slots are theirs until the runs before them are done, so they
 * encode with a private counter and no escape capacity: an escaped group
 * gets a marker (the all-ones step) and nothing else. After the join, the
 * calling thread walks the runs in order and encodes each marked group again
 * with the shared counter, so slots follow group order exactly as on one
 * thread. Runs without escapes (the common case) cost nothing after the join.
 * Decode: any element range decodes on its own, so the range is cut at
 * group boundaries and every part is an ordinary gq_decode_range_ex().
 * Who runs the parts is the caller's choice (gq_runner): the *_run forms
 * take the caller's runner (the shim's persistent pool, so that a hot path
 * never creates a thread); the others start threads of their own per call.
 */
#define _GNU_SOURCE
#include "gq_codec_impl.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>

#define RUN_ALIGN 16u /* groups: one SIMD block */

unsigned gq_cpu_count(void)
{
    cpu_set_t set;
    int n;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    n = CPU_COUNT(&set);
    return n > 0 ? (unsigned)n : 1u;
}

/* Starts fn(arg) on a new thread that blocks every signal (the host
 * program's handlers run on its own threads, never on ours). */
static int spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    int rc;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* The runner of the *_parts and *_mt forms: part 0 on the calling thread,
 * each other part on a thread started for it (or on the calling thread
 * when none can be started), all joined before it returns. */
struct spawned {
    gq_part_fn fn;
    void *arg;
    unsigned i;
    pthread_t tid;
    int started;
};

static void *spawned_main(void *arg)
{
    struct spawned *t = arg;
    t->fn(t->arg, t->i);
    return NULL;
}

static void spawn_runner(unsigned n, gq_part_fn fn, void *arg)
{
    struct spawned t[GQ_MT_MAX_PARTS];
    void *(*start)(void *) = spawned_main;
    if (n > GQ_MT_MAX_PARTS)
        n = GQ_MT_MAX_PARTS;
    for (unsigned i = 1; i < n; i++) {
        t[i].fn = fn;
        t[i].arg = arg;
        t[i].i = i;
        t[i].started = spawn(&t[i].tid, start, &t[i]) == 0;
    }
    if (n > 0)
        fn(arg, 0);
    for (unsigned i = 1; i < n; i++) {
        if (t[i].started)
            pthread_join(t[i].tid, NULL);
        else
            fn(arg, i);
    }
}

/* Threads to use for `bytes` of raw elements under a cap (0: CPU count). */
static unsigned threads_for(uint64_t bytes, unsigned max_threads)
{
    uint64_t by_size = bytes / GQ_MT_MIN_BYTES;
    unsigned n = max_threads ? max_threads : gq_cpu_count();
    if (n > GQ_MT_MAX_PARTS)
        n = GQ_MT_MAX_PARTS;
    if (by_size < n)
        n = by_size > 0 ? (unsigned)by_size : 1u;
    return n;
}

/* ---- encode ------------------------------------------------------------------- */

struct enc_run {
    const struct gq_cpu_path *impl;
    struct gq_enc_ctx c; /* runs after the first: private escape counter, capacity 0 */
    uint32_t esc_count, overflow;
    uint64_t g0, g1;
};

static void enc_run_part(void *arg, unsigned i)
{
    struct enc_run *r = (struct enc_run *)arg + i;
    gq_enc_groups(r->impl, &r->c, r->g0, r->g1);
}

/* Re-encodes the groups of run r that were marked as escaped, in order, with
 * the shared counter of c. */
static void enc_run_escapes(const struct gq_enc_ctx *c, const struct enc_run *r)
{
    uint32_t left = r->esc_count;
    for (uint64_t g = r->g0; g < r->g1 && left > 0; g++) {
        int marked = c->l.esize == 4 ? ((const uint32_t *)c->meta)[2 * g] == GQ_ESC_STEP32
                                     : (((const uint32_t *)c->meta)[g] & 0xffffu) == GQ_ESC_STEP16;
        if (marked) {
            gq_group_encode(c, g);
            left--;
        }
    }
}

static int encode_run(enum gq_path path, const struct gq_params *p, const void *src, uint64_t n_elems,
                      uint32_t escape_capacity, void *dst, size_t dst_size, unsigned parts,
                      gq_runner run)
{
    const struct gq_cpu_path *impl;
    struct gq_enc_ctx c;
    struct enc_run runs[GQ_MT_MAX_PARTS];
    uint64_t blocks;
    unsigned n;
    int rc = gq_enc_begin(path, p, src, n_elems, escape_capacity, dst, dst_size, &c, &impl);
    if (rc != GQ_OK)
        return rc;
    blocks = (c.l.n_groups + RUN_ALIGN - 1) / RUN_ALIGN;
    n = parts == 0 ? 1u : parts > GQ_MT_MAX_PARTS ? GQ_MT_MAX_PARTS : parts;
    if (n > blocks)
        n = blocks > 0 ? (unsigned)blocks : 1u;
    for (unsigned i = 0; i < n; i++) {
        struct enc_run *r = &runs[i];
        uint64_t g1 = blocks * (i + 1) / n * RUN_ALIGN;
        r->impl = impl;
        r->c = c;
        r->g0 = blocks * i / n * RUN_ALIGN;
        r->g1 = g1 < c.l.n_groups ? g1 : c.l.n_groups;
        r->esc_count = r->overflow = 0;
        if (i > 0) {
            r->c.esc_count = &r->esc_count;
            r->c.overflow = &r->overflow;
            r->c.l.escape_capacity = 0;
        }
    }
    if (n == 1)
        enc_run_part(runs, 0);
    else
        run(n, enc_run_part, runs);
    for (unsigned i = 1; i < n; i++)
        enc_run_escapes(&c, &runs[i]);
    return gq_enc_end(&c);
}

int gq_encode_parts(enum gq_path path, const struct gq_params *p, const void *src, uint64_t n_elems,
                    uint32_t escape_capacity, void *dst, size_t dst_size, unsigned parts)
{
    return encode_run(path, p, src, n_elems, escape_capacity, dst, dst_size, parts, spawn_runner);
}

int gq_encode_run(const struct gq_params *p, const void *src, uint64_t n_elems, uint32_t escape_capacity,
                  void *dst, size_t dst_size, unsigned parts, gq_runner run)
{
    return encode_run(GQ_PATH_AUTO, p, src, n_elems, escape_capacity, dst, dst_size, parts,
                      run ? run : spawn_runner);
}

int gq_encode_mt(const struct gq_params *p, const void *src, uint64_t n_elems, uint32_t escape_capacity,
                 void *dst, size_t dst_size, unsigned max_threads)
{
    unsigned n = threads_for(n_elems * gq_dtype_size(p->dtype), max_threads);
    return gq_encode_parts(GQ_PATH_AUTO, p, src, n_elems, escape_capacity, dst, dst_size, n);
}

/* ---- decode ------------------------------------------------------------------- */

struct dec_part {
    enum gq_path path;
    const void *buf;
    size_t buf_size;
    uint64_t e0, e1;
    void *dst;
    int rc;
};

static void dec_part_main(void *arg, unsigned i)
{
    struct dec_part *d = (struct dec_part *)arg + i;
    d->rc = gq_decode_range_ex(d->path, d->buf, d->buf_size, d->e0, d->e1, d->dst);
}

static int decode_range_run(enum gq_path path, const void *buf, size_t buf_size, uint64_t e0,
                            uint64_t e1, void *dst, unsigned parts, gq_runner run)
{
    struct gq_info info;
    struct dec_part d[GQ_MT_MAX_PARTS];
    uint64_t unit, units;
    unsigned n;
    int rc = gq_info_read(buf, buf_size, &info);
    if (rc != GQ_OK)
        return rc;
    if (info.overflow)
        return GQ_ERR_OVERFLOW;
    if (e0 > e1 || e1 > info.layout.n_elems)
        return GQ_ERR_RANGE;
    /* Cut at multiples of 16 groups' worth of elements (row-blocks for
     * GQ_DIM_0) counted from element 0, so that every part but the first
     * starts on a group boundary (no group is decoded twice). */
    unit = (uint64_t)info.params.group * info.layout.cols * RUN_ALIGN;
    units = (e1 - e0 + unit - 1) / unit;
    n = parts == 0 ? 1u : parts > GQ_MT_MAX_PARTS ? GQ_MT_MAX_PARTS : parts;
    if (n > units)
        n = units > 0 ? (unsigned)units : 1u;
    for (unsigned i = 0; i < n; i++) {
        d[i].path = path;
        d[i].buf = buf;
        d[i].buf_size = buf_size;
        d[i].e0 = i == 0 ? e0 : d[i - 1].e1;
        d[i].e1 = i + 1 == n ? e1 : (e0 + (e1 - e0) * (i + 1) / n) / unit * unit;
        if (d[i].e1 < d[i].e0)
            d[i].e1 = d[i].e0;
        d[i].dst = (uint8_t *)dst + (d[i].e0 - e0) * info.layout.esize;
    }
    if (n == 1)
        dec_part_main(d, 0);
    else
        run(n, dec_part_main, d);
    rc = GQ_OK;
    for (unsigned i = 0; i < n && rc == GQ_OK; i++)
        rc = d[i].rc;
    return rc;
}

int gq_decode_range_parts(enum gq_path path, const void *buf, size_t buf_size, uint64_t e0, uint64_t e1,
                          void *dst, unsigned parts)
{
    return decode_range_run(path, buf, buf_size, e0, e1, dst, parts, spawn_runner);
}

int gq_decode_range_run(const void *buf, size_t buf_size, uint64_t e0, uint64_t e1, void *dst,
                        unsigned parts, gq_runner run)
{
    return decode_range_run(GQ_PATH_AUTO, buf, buf_size, e0, e1, dst, parts, run ? run : spawn_runner);
}

int gq_decode_range_mt(const void *buf, size_t buf_size, uint64_t e0, uint64_t e1, void *dst,
                       unsigned max_threads)
{
    struct gq_info info;
    unsigned n = 1;
    if (gq_info_read(buf, buf_size, &info) == GQ_OK && e0 <= e1)
        n = threads_for((e1 - e0) * info.layout.esize, max_threads);
    return gq_decode_range_parts(GQ_PATH_AUTO, buf, buf_size, e0, e1, dst, n);
}

int gq_decode_mt(const void *buf, size_t buf_size, void *dst, size_t dst_size, unsigned max_threads)
{
    struct gq_info info;
    int rc = gq_info_read(buf, buf_size, &info);
    if (rc != GQ_OK)
        return rc;
    if (dst_size < info.layout.n_elems * info.layout.esize)
        return GQ_ERR_SIZE;
    return gq_decode_range_mt(buf, buf_size, 0, info.layout.n_elems, dst, max_threads);
}

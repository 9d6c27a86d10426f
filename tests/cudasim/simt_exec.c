/*
 * The SIMT executor (contract: kernels/gq_emu.h): runs a grid block after
 * block on the calling OS thread, each thread of a block on a fiber
 * (simt_fiber.c), in warps of 32. A thread runs until it parks at a
 * collective or returns; once every thread of the block has parked or
 * returned, the collectives whose threads have all arrived resolve, and the
 * released threads run on. Nothing resolvable while threads still wait is
 * misuse (a barrier some thread never reaches, a mask naming a lane that
 * returned): the launch ends with GQ_EMU_EBARRIER.
 *
 * A kernel without collectives costs two switches per thread over a plain
 * call, and uses one fiber (a returned thread's fiber runs the next thread).
 */
#define _GNU_SOURCE
#include "simt_impl.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

__thread struct gq_emu_dim3 gq_emu_blockIdx, gq_emu_threadIdx;
__thread struct gq_emu_dim3 gq_emu_blockDim, gq_emu_gridDim;
__thread struct gq_emu_tls gq_emu_tls;

static __thread struct simt_exec *thread_exec;  /* kept for the thread's life */
static __thread struct simt_exec *running;      /* during gq_emu_run */
static pthread_key_t exec_key;
static pthread_once_t exec_once = PTHREAD_ONCE_INIT;

struct simt_exec *simt_current(void)
{
    return running;
}

static void exec_free(void *arg)
{
    struct simt_exec *x = arg;
    for (unsigned i = 0; i < x->n_fibers; i++)
        simt_fiber_free(x->fibers[i]);
    for (unsigned i = 0; i < x->cap_lanes; i++)
        free(x->lanes[i].log);
    free(x->fibers);
    free(x->idle);
    free(x->lanes);
    if (x->sh_window)
        munmap(x->sh_window, GQ_EMU_SHARED_WINDOW);
    free(x->sh_alias);
    free(x);
}

static void exec_key_init(void)
{
    if (pthread_key_create(&exec_key, exec_free))
        abort();
}

static struct simt_exec *exec_get(void)
{
    if (thread_exec)
        return thread_exec;
    pthread_once(&exec_once, exec_key_init);
    struct simt_exec *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->sh_window = mmap(NULL, GQ_EMU_SHARED_WINDOW, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    x->sh_alias = malloc(GQ_EMU_SHARED_WINDOW);
    if (x->sh_window == MAP_FAILED || !x->sh_alias) {
        if (x->sh_window != MAP_FAILED)
            munmap(x->sh_window, GQ_EMU_SHARED_WINDOW);
        free(x->sh_alias);
        free(x);
        return NULL;
    }
    pthread_setspecific(exec_key, x);
    thread_exec = x;
    return x;
}

/* CUDASIM_SEED: the warp order of every block derives from it. */
static uint64_t seed_value = 1;
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;

static void seed_read(void)
{
    const char *s = getenv("CUDASIM_SEED");
    if (s && *s) {
        char *end;
        seed_value = strtoull(s, &end, 0);
        if (*end) {
            fprintf(stderr, "cudasim: CUDASIM_SEED=%s is not a number\n", s);
            exit(2);
        }
    }
}

static uint64_t seed(void)
{
    pthread_once(&seed_once, seed_read);
    return seed_value;
}

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fail(struct simt_exec *x, int err, const struct simt_lane *l, const char *fmt, va_list ap)
{
    if (x->err)
        return;
    x->err = err;
    if (!x->msg_len)
        return;
    int n = snprintf(x->msg, x->msg_len, "kernel %s, block (%u,%u,%u), thread (%u,%u,%u): ",
                     x->launch->k->name, gq_emu_blockIdx.x, gq_emu_blockIdx.y, gq_emu_blockIdx.z,
                     l ? l->tid.x : 0, l ? l->tid.y : 0, l ? l->tid.z : 0);
    if (n >= 0 && (size_t)n < x->msg_len)
        vsnprintf(x->msg + n, x->msg_len - (size_t)n, fmt, ap);
}

static void failf(struct simt_exec *x, int err, const struct simt_lane *l, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void failf(struct simt_exec *x, int err, const struct simt_lane *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail(x, err, l, fmt, ap);
    va_end(ap);
}

void simt_trap(int err, const char *fmt, ...)
{
    struct simt_exec *x = running;
    va_list ap;
    va_start(ap, fmt);
    if (!x) {
        fprintf(stderr, "gq_emu: a kernel intrinsic outside a launch: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        abort();
    }
    fail(x, err, x->cur, fmt, ap);
    va_end(ap);
    /* Parked for good: the scheduler sees the error and abandons the fiber. */
    x->cur->state = LANE_PARKED;
    simt_leave(x->cur->f);
    abort(); /* not reached: an abandoned fiber is reset, never resumed */
}

void simt_run_thread(struct simt_exec *x, struct simt_fiber *f)
{
    x->launch->k->entry(x->launch->params);
    f->lane->state = LANE_EXITED;
}

static struct simt_fiber *fiber_get(struct simt_exec *x)
{
    if (x->idle_top)
        return x->idle[--x->idle_top];
    if (x->n_fibers == x->cap_fibers) {
        unsigned cap = x->cap_fibers ? 2 * x->cap_fibers : 8;
        struct simt_fiber **a = realloc(x->fibers, cap * sizeof *a);
        if (!a)
            return NULL;
        x->fibers = a;
        struct simt_fiber **b = realloc(x->idle, cap * sizeof *b);
        if (!b)
            return NULL;
        x->idle = b;
        x->cap_fibers = cap;
    }
    struct simt_fiber *f = simt_fiber_new(x);
    if (f)
        x->fibers[x->n_fibers++] = f;
    return f;
}

static void fiber_put(struct simt_exec *x, struct simt_fiber *f)
{
    f->lane = NULL;
    x->idle[x->idle_top++] = f;
}

/* Runs lane l until it parks or returns. 0, or -1 on no memory for a fiber. */
static int run_lane(struct simt_exec *x, struct simt_lane *l)
{
    if (l->state == LANE_NEW) {
        l->f = fiber_get(x);
        if (!l->f)
            return -1;
        l->f->lane = l;
    }
    l->state = LANE_READY;
    x->cur = l;
    gq_emu_threadIdx = (struct gq_emu_dim3){l->tid.x, l->tid.y, l->tid.z};
    simt_enter(x, l->f);
    if (l->state == LANE_EXITED) {
        fiber_put(x, l->f);
        l->f = NULL;
    }
    return 0;
}

/* ---- collectives ---- */

static const char *wait_name(const struct simt_lane *l)
{
    static const char *const shfl[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync",
                                       "__shfl_xor_sync"};
    static const char *const vote[] = {"__ballot_sync", "__any_sync", "__all_sync"};
    switch (l->wait) {
    case WAIT_BAR: return "__syncthreads";
    case WAIT_SYNCWARP: return "__syncwarp";
    case WAIT_SHFL: return shfl[l->mode & 3];
    case WAIT_VOTE: return vote[l->mode % 3];
    case WAIT_ACTIVEMASK: return "__activemask";
    }
    return "?";
}

/* The source lane of a shuffle by PTX shfl.sync's rules. */
static unsigned shfl_source(unsigned mode, unsigned lane, unsigned b, int width)
{
    b &= 31u; /* bval = b[4:0] */
    unsigned segmask = (32u - (unsigned)width) & 31u; /* c[12:8] */
    unsigned clamp = mode == GQ_EMU_SHFL_UP ? 0u : 31u;
    unsigned max_lane = (lane & segmask) | (clamp & ~segmask);
    unsigned min_lane = lane & segmask;
    unsigned j;
    int ok;
    switch (mode) {
    case GQ_EMU_SHFL_UP:
        j = lane - b;
        ok = (int)j >= (int)max_lane;
        break;
    case GQ_EMU_SHFL_DOWN:
        j = lane + b;
        ok = j <= max_lane;
        break;
    case GQ_EMU_SHFL_XOR:
        j = lane ^ b;
        ok = j <= max_lane;
        break;
    default:
        j = min_lane | (b & ~segmask);
        ok = j <= max_lane;
        break;
    }
    return ok ? j & 31u : lane;
}

/* Resolves the collective lane i of warp w waits at, when every lane its
 * mask names has arrived at the same one. 1 resolved, 0 not yet, -1 error. */
static int resolve_group(struct simt_exec *x, unsigned w, unsigned i)
{
    struct simt_lane *base = x->lanes + 32 * w, *l = base + i;
    unsigned count = x->n_lanes - 32 * w < 32 ? x->n_lanes - 32 * w : 32;
    unsigned m = l->mask;
    if (!(m & (1u << i))) {
        failf(x, GQ_EMU_EARG, l, "%s with mask 0x%08x that does not name the calling lane %u",
              wait_name(l), m, i);
        return -1;
    }
    for (unsigned j = 0; j < 32; j++) {
        if (!(m & (1u << j)))
            continue;
        if (j >= count) {
            failf(x, GQ_EMU_EBARRIER, l, "%s mask 0x%08x names lane %u, which the block does not have",
                  wait_name(l), m, j);
            return -1;
        }
        struct simt_lane *o = base + j;
        if (o->state == LANE_EXITED) {
            failf(x, GQ_EMU_EBARRIER, l, "%s mask 0x%08x names lane %u, which has returned",
                  wait_name(l), m, j);
            return -1;
        }
        if (o->state != LANE_PARKED || o->wait != l->wait || o->mask != m || o->mode != l->mode ||
            o->width != l->width)
            return 0;
    }
    uint32_t ballot = 0;
    for (unsigned j = 0; j < 32; j++)
        if ((m & (1u << j)) && base[j].value)
            ballot |= 1u << j;
    for (unsigned j = 0; j < 32; j++) {
        if (!(m & (1u << j)))
            continue;
        struct simt_lane *o = base + j;
        if (l->wait == WAIT_SHFL) {
            unsigned src = shfl_source(o->mode, j, o->b, o->width);
            if (!(m & (1u << src))) {
                failf(x, GQ_EMU_EBARRIER, o, "%s reads lane %u, which mask 0x%08x does not name",
                      wait_name(o), src, m);
                return -1;
            }
            o->result = base[src].value;
        } else if (l->wait == WAIT_VOTE) {
            o->result = o->mode == GQ_EMU_VOTE_BALLOT ? ballot
                        : o->mode == GQ_EMU_VOTE_ANY  ? ballot != 0
                                                      : ballot == m;
        }
        o->state = LANE_READY;
    }
    return 1;
}

/* Resolves what warp w's parked lanes wait at (not __syncthreads): 1 when
 * something resolved, 0 when nothing could, -1 on misuse. */
static int resolve_warp(struct simt_exec *x, unsigned w)
{
    int progress = 0;
    struct simt_lane *base = x->lanes + 32 * w;
    unsigned count = x->n_lanes - 32 * w < 32 ? x->n_lanes - 32 * w : 32;
    for (unsigned i = 0; i < count; i++) {
        if (base[i].state != LANE_PARKED || base[i].wait != WAIT_ACTIVEMASK)
            continue;
        uint32_t active = 0;
        for (unsigned j = i; j < count; j++)
            if (base[j].state == LANE_PARKED && base[j].wait == WAIT_ACTIVEMASK &&
                base[j].value == base[i].value)
                active |= 1u << j;
        for (unsigned j = i; j < count; j++)
            if (active & (1u << j)) {
                base[j].result = active;
                base[j].state = LANE_READY;
            }
        progress = 1;
    }
    for (unsigned i = 0; i < count; i++) {
        struct simt_lane *l = base + i;
        if (l->state != LANE_PARKED || l->wait == WAIT_BAR)
            continue;
        int r = resolve_group(x, w, i);
        if (r < 0)
            return -1;
        progress |= r;
    }
    return progress;
}

/* __syncthreads: every thread of the block must wait there. */
static int resolve_barrier(struct simt_exec *x)
{
    const struct simt_lane *gone = NULL;
    for (unsigned i = 0; i < x->n_lanes; i++) {
        const struct simt_lane *l = x->lanes + i;
        if (l->state == LANE_EXITED)
            gone = gone ? gone : l;
        else if (l->state != LANE_PARKED || l->wait != WAIT_BAR)
            return 0;
    }
    if (gone) {
        for (unsigned i = 0; i < x->n_lanes; i++)
            if (x->lanes[i].state == LANE_PARKED) {
                failf(x, GQ_EMU_EBARRIER, x->lanes + i,
                      "__syncthreads not reached by thread (%u,%u,%u), which returned", gone->tid.x,
                      gone->tid.y, gone->tid.z);
                return -1;
            }
        return 0;
    }
    for (unsigned i = 0; i < x->n_lanes; i++)
        x->lanes[i].state = LANE_READY;
    return 1;
}

static void deadlock(struct simt_exec *x)
{
    for (unsigned i = 0; i < x->n_lanes; i++) {
        const struct simt_lane *l = x->lanes + i;
        if (l->state != LANE_PARKED)
            continue;
        if (l->wait == WAIT_BAR)
            failf(x, GQ_EMU_EBARRIER, l,
                  "waits at __syncthreads while other threads of the block wait elsewhere");
        else
            failf(x, GQ_EMU_EBARRIER, l,
                  "waits at %s (mask 0x%08x) that the lanes it names never reach together",
                  wait_name(l), l->mask);
        return;
    }
}

/* Parks the running thread at a collective; returns its result once resolved. */
static uint64_t park(enum simt_wait wait, unsigned mode, unsigned mask, uint64_t value, unsigned b,
                     int width)
{
    struct simt_exec *x = running;
    if (!x)
        simt_trap(GQ_EMU_EARG, "collective outside a launch");
    struct simt_lane *l = x->cur;
    l->wait = wait;
    l->mode = mode;
    l->mask = mask;
    l->value = value;
    l->b = b;
    l->width = width;
    l->state = LANE_PARKED;
    simt_leave(l->f);
    return l->result;
}

void gq_emu_syncthreads(void)
{
    park(WAIT_BAR, 0, 0, 0, 0, 0);
}

void gq_emu_syncwarp(unsigned mask)
{
    park(WAIT_SYNCWARP, 0, mask, 0, 0, 0);
}

/* Lanes that call it from the same place in the same round are the ones
 * converged there (its call site tells divergent branches apart). */
__attribute__((noinline)) unsigned gq_emu_activemask(void)
{
    uintptr_t site = (uintptr_t)__builtin_return_address(0);
    return (unsigned)park(WAIT_ACTIVEMASK, 0, 0, site, 0, 0);
}

uint64_t gq_emu_shfl(unsigned mode, unsigned mask, uint64_t bits, unsigned b, int width)
{
    if (width < 1 || width > 32 || (width & (width - 1)))
        simt_trap(GQ_EMU_EARG, "shuffle width %d is not a power of two in [1, 32]", width);
    return park(WAIT_SHFL, mode, mask, bits, b, width);
}

unsigned gq_emu_vote(unsigned mode, unsigned mask, int pred)
{
    return (unsigned)park(WAIT_VOTE, mode, mask, pred != 0, 0, 0);
}

/* ---- shared memory ---- */

/* Shared memory starts as garbage, as on a GPU. */
static void scribble(struct simt_exec *x, size_t off, size_t n)
{
    memset(x->sh_alias + off, 0xa5 ^ (int)(seed() & 0xff), n);
}

void *gq_emu_shared_static(const void *site, size_t bytes, size_t align)
{
    struct simt_exec *x = running;
    if (!x)
        simt_trap(GQ_EMU_EARG, "shared memory outside a launch");
    for (unsigned i = 0; i < x->n_sites; i++)
        if (x->sites[i].site == site)
            return x->sh_window + x->sites[i].off;
    size_t off = (x->sh_used + align - 1) / align * align;
    if (off + bytes > GQ_EMU_SHARED_MAX || x->n_sites == sizeof x->sites / sizeof x->sites[0])
        simt_trap(GQ_EMU_ERESOURCES, "%zu bytes of static shared memory past the %zu in use exceed %u",
                  bytes, x->sh_used, GQ_EMU_SHARED_MAX);
    x->sites[x->n_sites++] = (struct simt_site){site, off};
    scribble(x, x->sh_used, off + bytes - x->sh_used);
    x->sh_used = off + bytes;
    return x->sh_window + off;
}

void *gq_emu_shared_dynamic(void)
{
    struct simt_exec *x = running;
    if (!x)
        simt_trap(GQ_EMU_EARG, "shared memory outside a launch");
    return x->sh_window;
}

/* ---- the grid ---- */

static int lanes_reserve(struct simt_exec *x, unsigned n)
{
    if (n <= x->cap_lanes)
        return 0;
    struct simt_lane *a = realloc(x->lanes, n * sizeof *a);
    if (!a)
        return -1;
    memset(a + x->cap_lanes, 0, (n - x->cap_lanes) * sizeof *a);
    x->lanes = a;
    x->cap_lanes = n;
    return 0;
}

static void run_block(struct simt_exec *x, uint64_t block_index)
{
    const struct gq_emu_launch *L = x->launch;
    unsigned n_warps = (x->n_lanes + 31) / 32, order[32];
    unsigned i = 0;
    for (unsigned z = 0; z < L->block.z; z++)
        for (unsigned y = 0; y < L->block.y; y++)
            for (unsigned t = 0; t < L->block.x; t++, i++) {
                struct simt_lane *l = x->lanes + i;
                l->state = LANE_NEW;
                l->tid.x = t;
                l->tid.y = y;
                l->tid.z = z;
                l->index = i;
                l->f = NULL;
                l->n_log = 0;
            }
    x->n_sites = 0;
    x->sh_dyn = (L->dyn_shared + 15u) & ~15u;
    x->sh_used = L->dyn_shared;
    if (L->dyn_shared)
        scribble(x, 0, L->dyn_shared);
    /* warp order: a seeded shuffle per block */
    uint64_t r = mix(seed() ^ mix(block_index));
    for (unsigned w = 0; w < n_warps; w++)
        order[w] = w;
    for (unsigned w = n_warps; w > 1; w--) {
        r = mix(r);
        unsigned j = (unsigned)(r % w), t = order[w - 1];
        order[w - 1] = order[j];
        order[j] = t;
    }
    /* Warp by warp (its fibers stay in cache): run its lanes, resolve its
     * collectives, until every lane waits at __syncthreads or has returned;
     * then the block's barrier. */
    for (;;) {
        int any_left = 0;
        for (unsigned k = 0; k < n_warps; k++) {
            unsigned w = order[k], end = 32 * w + 32 < x->n_lanes ? 32 * w + 32 : x->n_lanes;
            for (;;) {
                for (unsigned j = 32 * w; j < end; j++) {
                    struct simt_lane *l = x->lanes + j;
                    if (l->state != LANE_NEW && l->state != LANE_READY)
                        continue;
                    if (run_lane(x, l)) {
                        failf(x, GQ_EMU_ERESOURCES, l, "no memory for a fiber");
                        return;
                    }
                    if (x->err)
                        return;
                }
                if (x->stats)
                    simt_mem_flush_warp(x, w);
                int p = resolve_warp(x, w);
                if (p < 0)
                    return;
                if (p == 0)
                    break;
            }
            for (unsigned j = 32 * w; j < end; j++)
                any_left |= x->lanes[j].state != LANE_EXITED;
        }
        if (!any_left)
            return;
        int p = resolve_barrier(x);
        if (p < 0)
            return;
        if (p == 0) {
            deadlock(x);
            return;
        }
    }
}

int gq_emu_run(const struct gq_emu_launch *L, char *msg, size_t msg_len)
{
    if (msg_len)
        msg[0] = 0;
    if (running) {
        snprintf(msg, msg_len, "kernel %s launched from inside a kernel", L->k->name);
        return GQ_EMU_EARG;
    }
    struct simt_exec *x = exec_get();
    unsigned n = L->block.x * L->block.y * L->block.z;
    if (!x || lanes_reserve(x, n)) {
        snprintf(msg, msg_len, "kernel %s: no memory for the executor", L->k->name);
        return GQ_EMU_ERESOURCES;
    }
    if (L->dyn_shared > GQ_EMU_SHARED_MAX) {
        snprintf(msg, msg_len, "kernel %s: %u bytes of dynamic shared memory exceed %u",
                 L->k->name, L->dyn_shared, GQ_EMU_SHARED_MAX);
        return GQ_EMU_ERESOURCES;
    }
    x->launch = L;
    x->n_lanes = n;
    x->err = 0;
    x->msg = msg;
    x->msg_len = msg_len;
    x->stats = L->stats;
    running = x;
    gq_emu_tls = (struct gq_emu_tls){.dev_base = L->dev.base, .dev_size = L->dev.size,
                                     .dev_alias = L->dev.alias,
                                     .sh_base = (uintptr_t)x->sh_window,
                                     .sh_alias = x->sh_alias, .slow = L->stats != NULL};
    gq_emu_gridDim = L->grid;
    gq_emu_blockDim = L->block;
    uint64_t b = 0;
    for (unsigned bz = 0; bz < L->grid.z && !x->err; bz++)
        for (unsigned by = 0; by < L->grid.y && !x->err; by++)
            for (unsigned bx = 0; bx < L->grid.x && !x->err; bx++, b++) {
                gq_emu_blockIdx = (struct gq_emu_dim3){bx, by, bz};
                run_block(x, b);
            }
    if (L->stats) {
        L->stats->blocks += b;
        L->stats->threads += b * n;
    }
    /* After an error, threads stopped mid-way give their fibers back, reset. */
    for (unsigned i = 0; i < n; i++) {
        struct simt_lane *l = x->lanes + i;
        if (l->f && l->state != LANE_EXITED) {
            simt_fiber_abandon(l->f);
            fiber_put(x, l->f);
            l->f = NULL;
        }
    }
    running = NULL;
    gq_emu_tls = (struct gq_emu_tls){0};
    return x->err;
}

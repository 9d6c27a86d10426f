/*
 * simt_impl.h — what the SIMT executor's files share (simt_fiber.c: fibers
 * and switches; simt_exec.c: scheduling, collectives, shared memory;
 * simt_mem.c: address translation and the memory-transaction model). The
 * contract with kernels and with cudasim is kernels/gq_emu.h.
 */
#ifndef CUDASIM_SIMT_IMPL_H
#define CUDASIM_SIMT_IMPL_H

#include "gq_emu.h"

#include <stddef.h>
#include <stdint.h>

struct simt_exec;

struct simt_fiber {
    void *sp;              /* saved stack pointer while switched out */
    unsigned char *stack;  /* lowest address of the usable stack */
    struct simt_exec *exec;
    struct simt_lane *lane;/* the thread it runs, NULL when idle */
};

enum simt_state { LANE_NEW, LANE_READY, LANE_PARKED, LANE_EXITED };

/* What a parked thread waits at. */
enum simt_wait { WAIT_BAR, WAIT_SYNCWARP, WAIT_SHFL, WAIT_VOTE, WAIT_ACTIVEMASK };

/* One access of a thread, kept for the memory-transaction model. */
struct simt_access {
    uintptr_t addr;
    uint8_t bytes, kind, space;
};

struct simt_lane {
    enum simt_state state;
    struct simt_dim3_ {
        unsigned x, y, z;
    } tid;
    unsigned index;         /* linear thread index in the block */
    struct simt_fiber *f;
    /* the collective it waits at */
    enum simt_wait wait;
    unsigned mode, mask, b;
    int width;
    uint64_t value, result;
    /* accesses since the warp's last collective (profiled launches) */
    struct simt_access *log;
    unsigned n_log, cap_log;
};

struct simt_site {
    const void *site;
    size_t off;
};

struct simt_exec {
    /* the scheduler's context */
    void *sched_sp;
    const void *sched_stack_bottom;
    size_t sched_stack_size;
    /* fibers of this OS thread, reused across launches */
    struct simt_fiber **fibers;
    unsigned n_fibers, cap_fibers, idle_top;
    struct simt_fiber **idle;
    /* the launch */
    const struct gq_emu_launch *launch;
    struct simt_lane *lanes;
    unsigned n_lanes, cap_lanes;
    struct simt_lane *cur;
    int err;
    char *msg;
    size_t msg_len;
    /* shared memory of the running block */
    unsigned char *sh_window;  /* PROT_NONE, kernel-visible */
    unsigned char *sh_alias;   /* read/write */
    size_t sh_used, sh_dyn;
    struct simt_site sites[32];
    unsigned n_sites;
    /* profiled launch */
    struct gq_emu_stats *stats;
};

/* simt_fiber.c */
struct simt_fiber *simt_fiber_new(struct simt_exec *x);
void simt_fiber_free(struct simt_fiber *f);
void simt_fiber_abandon(struct simt_fiber *f);
/* Runs f (on its thread) until it parks or finishes; from the scheduler. */
void simt_enter(struct simt_exec *x, struct simt_fiber *f);
/* Back to the scheduler; from a fiber. */
void simt_leave(struct simt_fiber *f);

/* simt_exec.c: runs f->lane's thread to its end (on the fiber). */
void simt_run_thread(struct simt_exec *x, struct simt_fiber *f);
/* Ends the launch with an error from inside a thread: never returns. */
__attribute__((noreturn, format(printf, 2, 3))) void simt_trap(int err, const char *fmt, ...);
/* The executor of the calling OS thread, NULL outside a launch. */
struct simt_exec *simt_current(void);

/* simt_mem.c: folds the logs of warp w's lanes into the launch's stats. */
void simt_mem_flush_warp(struct simt_exec *x, unsigned w);

#endif

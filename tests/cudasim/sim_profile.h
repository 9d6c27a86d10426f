/*
 * sim_profile.h — CUDASIM_PROFILE (sim_profile.c): the memory-transaction
 * model's counts per kernel, copy-engine bytes, and a modelled GPU time per
 * op along stream order. Every function is a no-op unless profiling.
 */
#ifndef CUDASIM_SIM_PROFILE_H
#define CUDASIM_SIM_PROFILE_H

#include "gq_emu.h"
#include "sim_impl.h"

/* Reads CUDASIM_PROFILE and CUDASIM_MODEL (at cuInit; a bad value exits 2). */
void sim_profile_init(void);
int sim_profile_on(void);
/* cudaProfilerStart (1) / cudaProfilerStop (0). */
void sim_profile_range(int start);
/* Under sim_lock, as the op is queued: notes the host clock and range. */
void sim_profile_enqueue(struct sim_op *op);
/* The host has seen op `seq` of s complete (under sim_lock). */
void sim_profile_host_waited(const struct sim_stream *s, uint64_t seq);
/* Around op->run on the worker. */
void sim_profile_op_start(struct sim_op *op, struct sim_stream *s);
void sim_profile_op_end(struct sim_op *op, struct sim_stream *s);
/* Inside op->run: the op's modelled start (event timestamps). */
double sim_profile_now_ns(void);
/* Inside op->run: what the op was. dir is an enum sim_dir. */
void sim_profile_kernel(const struct sim_op *op, const char *name, const struct gq_emu_stats *st);
void sim_profile_copy(const struct sim_op *op, int dir, int fill, size_t bytes);

#endif

/*
 * gq_trace.h — GQSHIM_TRACE=1: every allocation and copy on one line, and at
 * exit the offload candidates with a GQSHIM_RULES line that selects them.
 *
 * Lines go through the logger's trace channel (gq_log_trace: "gqshim[PID]:
 * trace: ...", whatever GQSHIM_LOG says):
 *   alloc cudaMallocHost 4194304 bytes host 0x7f...: alloc#3, rule -, caller offload_kv
 *   copy D2H 4194304 bytes stream 0x55...: dev 0x... (alloc#17) -> host 0x... (alloc#3):
 *        passed (not a registered tensor), rule -, caller offload_kv
 * The exported hook names its entry point and its caller (the return address,
 * resolved with dladdr to the calling library) with GQ_TRACE_SITE; the
 * allocation and copy paths report what they decided.
 *
 * Candidates (at exit): a pinned host allocation (on=host) that received
 * device-to-host copies and sourced host-to-device copies of the same size;
 * a device allocation (on=dev) whose device-to-host copies went to host
 * memory outside every pinned allocation, and came back from the same host
 * address with the same size. The suggested rule uses size= (or min=, or
 * nth=) so that it takes exactly the candidates among all allocations the
 * program made, and only them.
 *
 * Cost when off: one predictable branch on a cached flag at each site.
 */
#ifndef GQ_TRACE_H
#define GQ_TRACE_H

#include "gq_rules.h"

#include <cuda_runtime_api.h>
#include <stddef.h>

/* -1 until the first trace call reads the configuration, then 1 when
 * tracing, else 0. Only gq_trace.c writes it; read it through GQ_TRACING(). */
extern int gq_trace_flag_;

#define GQ_TRACING() __builtin_expect(__atomic_load_n(&gq_trace_flag_, __ATOMIC_RELAXED) != 0, 0)

/* In an exported hook, before it decides anything: name the entry point
 * (a string literal) and the hook's caller. */
#define GQ_TRACE_SITE(api)                                        \
    do {                                                          \
        if (GQ_TRACING())                                         \
            gq_trace_site(api, __builtin_return_address(0));      \
    } while (0)

/* The calling thread's current entry point; see GQ_TRACE_SITE. */
void gq_trace_site(const char *api, const void *caller);

/* A new allocation `on` host or device memory, and the rule that took it
 * (NULL: none). */
void gq_trace_alloc(enum gq_on on, const void *p, size_t size, const struct gq_rule *rule);

/* An allocation about to be freed (its copies are kept for the summary). */
void gq_trace_free(enum gq_on on, const void *p);

/* Why the copy being decided on this thread passed through (enum
 * gq_pass_reason); the last one set wins. */
void gq_trace_pass(int why);

/* The copy just decided: `done` 1 when the shim compressed it. */
void gq_trace_copy(const void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                   cudaStream_t stream, unsigned flags, int done);

/* At exit: the candidates and the suggested GQSHIM_RULES. */
void gq_trace_report(void);

/* The suggestion alone, for tests: writes the GQSHIM_RULES value (possibly
 * empty) into buf; returns the number of candidate allocations. */
unsigned gq_trace_suggest(char *buf, size_t cap);

/* Forget every allocation and copy seen so far (for tests). */
void gq_trace_reset(void);

#include "base/gq_fork.h"
void gq_trace_atfork(enum gq_fork_phase ph);

#endif

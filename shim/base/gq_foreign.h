/*
 * gq_foreign.h — copies whose data was not of their rule's dtype.
 *
 * The quantize kernel tests every group (kernels/gq_dtype.h) and marks a
 * block overflowed when too many do not look like the rule's dtype: the
 * copy then goes raw by the escape-overflow paths. Here the shim tells that
 * case from a real escape overflow, counts it (pass reason FOREIGN, and per
 * rule for the exit report) and says once per rule, on one line, which rule
 * saw foreign data. The CPU's own compression (upload=compress) asks
 * gq_foreign_scan first.
 */
#ifndef GQ_FOREIGN_H
#define GQ_FOREIGN_H

#include "gq_format.h"
#include "gq_rules.h"

#include <stddef.h>
#include <stdint.h>

/* 1 when a completed quantize's header says the data was refused as not of
 * its dtype (rather than escapes overflowing). */
int gq_foreign_refused(const struct gq_header *h);

/* A copy of `bytes` under `rule` was refused as foreign: counted for the
 * rule, and the one-line warning for that rule the first time. */
void gq_foreign_note(const struct gq_rule *rule, size_t bytes);

/* Copies refused as foreign under the rule with this index. */
uint64_t gq_foreign_count(unsigned rule_index);

/* Which float dtypes the first `bytes` (at most 256 KiB of them are read)
 * at p may hold: bit GQ_F16, GQ_BF16, GQ_F32 set for each under which the
 * data is not foreign (GQSHIM_TRACE's guess of a candidate's dtype). */
unsigned gq_foreign_plausible(const void *p, size_t bytes);

/* The CPU's test over a whole tensor: 1 when it is foreign. */
int gq_foreign_scan(const struct gq_params *p, const struct gq_layout *l, const void *src);

#endif

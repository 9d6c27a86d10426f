/*
 * gq_regions.h — the allocations that a rule registered, with the rule that
 * took them (and so their codec parameters).
 *
 * Device allocations (on=dev: cudaMalloc, cudaMallocAsync) and pinned host
 * allocations (on=host: cudaHostAlloc, cudaMallocHost) live in two maps.
 * Copies are matched by containment inside a registered allocation, not by
 * equality with its start: allocators carve tensors out of big blocks.
 */
#ifndef GQ_REGIONS_H
#define GQ_REGIONS_H

#include "gq_rules.h"

#include <stddef.h>
#include <stdint.h>

struct gq_region {
    uintptr_t start;
    size_t size;
    enum gq_on on;
    const struct gq_rule *rule;
};

/* The rule that takes a new allocation of `size` bytes, or NULL; counts it
 * for the rule's nth= (call once per allocation). */
const struct gq_rule *gq_regions_match(enum gq_on on, size_t size);

/* Register [p, p+size) under `rule`. */
void gq_regions_add(enum gq_on on, void *p, size_t size, const struct gq_rule *rule);

/* A new allocation: registers it when a rule takes it. Returns the rule or NULL. */
const struct gq_rule *gq_regions_on_alloc(enum gq_on on, void *p, size_t size);

/* An allocation about to be freed: forgets it (no-op when not registered). */
void gq_regions_on_free(enum gq_on on, void *p);

/* Lock-free: 0 when [p, p+len) cannot touch a registered allocation `on`. */
int gq_regions_may_hold(enum gq_on on, const void *p, size_t len);

/* Copies out the registered allocation `on` that contains all of [p, p+len).
 * 1 when found, else 0. */
int gq_regions_lookup(enum gq_on on, const void *p, size_t len, struct gq_region *out);

#include "base/gq_fork.h"
void gq_regions_atfork(enum gq_fork_phase ph);

#endif

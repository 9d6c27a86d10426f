/*
 * gq_api.h — the logic behind the public API (include/gqshim.h). The
 * exported names gq_register / gq_unregister / gq_stats are one-line
 * forwards in entry/gq_hooks_api.c; these take the same arguments and return the
 * same values, documented in gqshim.h.
 */
#ifndef GQ_API_H
#define GQ_API_H

#include "base/gq_fork.h"
#include "gq_rules.h"

#include <stddef.h>

struct gq_stats_public;

int gq_api_register(void *ptr, size_t bytes, const char *spec);
int gq_api_unregister(void *ptr);
int gq_api_stats(struct gq_stats_public *out, size_t size);

/* An allocation starting at p is about to be freed: registrations made
 * inside it through gq_register end with it (a carved range would otherwise
 * outlive its allocation and catch an unrelated one at a recycled address).
 * Lock-free and cheap when nothing was ever registered through the API. */
void gq_api_on_free(enum gq_on on, void *p);

void gq_api_atfork(enum gq_fork_phase ph);

#endif

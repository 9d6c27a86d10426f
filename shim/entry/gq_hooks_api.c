/*
 * The public API's exported names (include/gqshim.h). Forwards only: the
 * logic is core/gq_api.c, in the core archive the unit tests link.
 */
#include "gqshim.h"

#include "core/gq_api.h"

#define GQ_EXPORT __attribute__((visibility("default")))

GQ_EXPORT int gq_register(void *ptr, size_t bytes, const char *spec)
{
    return gq_api_register(ptr, bytes, spec);
}

GQ_EXPORT int gq_unregister(void *ptr) { return gq_api_unregister(ptr); }

GQ_EXPORT int gq_stats(struct gq_stats_public *out, size_t size) { return gq_api_stats(out, size); }

/*
 * The runtime symbols libgqshim.so exports. Each is a one-line forward; the
 * decisions live in plain C elsewhere, which the unit tests link directly.
 */
#include "gq_real.h"

#define GQ_EXPORT __attribute__((visibility("default")))

/* Prototypes for every hook: the _ptsz/_ptds names are declared by the CUDA
 * headers only in per-thread builds. */
#define GQ_DECLARE(ret, name, params, args) GQ_EXPORT ret name params;
GQ_RT_HOOKS(GQ_DECLARE)
#undef GQ_DECLARE

/* Pass-through for now: every call reaches the real runtime unchanged. */
#define GQ_FORWARD(ret, name, params, args)                               \
    GQ_EXPORT ret name params                                             \
    {                                                                     \
        ret (*fn) params = gq_real()->name;                               \
        return fn ? fn args : cudaErrorInitializationError;               \
    }
GQ_RT_HOOKS(GQ_FORWARD)

/* The shim's pthread_atfork handlers (see gq_fork.h). */
#include "gq_fork.h"

static int forked;

static void each(enum gq_fork_phase ph)
{
    gq_store_atfork(ph);
    gq_driver_atfork(ph);
    gq_ktime_atfork(ph);
    gq_api_atfork(ph);
    gq_regions_atfork(ph);
    gq_entries_atfork(ph);
    gq_hostmem_atfork(ph);
}

static void prepare(void) { each(GQ_FORK_PREPARE); }
static void parent(void) { each(GQ_FORK_PARENT); }

static void child(void)
{
    each(GQ_FORK_CHILD);
    __atomic_store_n(&forked, 1, __ATOMIC_RELEASE);
    gq_wtrack_atfork_child();
    gq_state_atfork_child();
}

int gq_forked(void) { return __atomic_load_n(&forked, __ATOMIC_ACQUIRE); }

/* At load: a fork can come before the program's first CUDA call, and
 * registering costs nothing. */
__attribute__((constructor)) static void install(void) { pthread_atfork(prepare, parent, child); }

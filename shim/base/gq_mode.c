/* The host mode (see gq_mode.h). */
#include "base/gq_mode.h"

static int mode = GQ_MODE_UNTRACKED; /* atomic */
static int set;                      /* atomic: the probe has decided */

const char *gq_mode_name(enum gq_host_mode m)
{
    switch (m) {
    case GQ_MODE_FULL: return "full";
    case GQ_MODE_TRACKED: return "tracked";
    case GQ_MODE_CHECKSUM: return "checksum";
    case GQ_MODE_UNTRACKED: return "untracked";
    }
    return "?";
}

enum gq_host_mode gq_mode(void) { return (enum gq_host_mode)__atomic_load_n(&mode, __ATOMIC_ACQUIRE); }

void gq_mode_set(enum gq_host_mode m)
{
    if (__atomic_exchange_n(&set, 1, __ATOMIC_ACQ_REL))
        return;
    __atomic_store_n(&mode, (int)m, __ATOMIC_RELEASE);
}

/* The fork flag (see gq_fork.h). */
#include "base/gq_fork.h"

static int forked;

int gq_forked(void) { return __atomic_load_n(&forked, __ATOMIC_ACQUIRE); }

void gq_fork_mark_child(void) { __atomic_store_n(&forked, 1, __ATOMIC_RELEASE); }

/* The page size (see gq_page.h). */
#include "base/gq_page.h"

#include <unistd.h>

uintptr_t gq_page_size(void)
{
    /* Racing first callers store the same value; atomics make that defined
     * (ThreadSanitizer found the plain version). */
    static uintptr_t ps;
    uintptr_t v = __atomic_load_n(&ps, __ATOMIC_RELAXED);
    if (!v) {
        v = (uintptr_t)sysconf(_SC_PAGESIZE);
        __atomic_store_n(&ps, v, __ATOMIC_RELAXED);
    }
    return v;
}

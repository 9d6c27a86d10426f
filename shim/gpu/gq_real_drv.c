/* The real driver behind the driver hooks, and the cuGetProcAddress rule
 * (see gq_real_drv.h). */
#define _GNU_SOURCE
#include "gpu/gq_real_drv.h"

#include "gpu/gq_sym.h"

#include <pthread.h>
#include <string.h>

static const struct {
    const char *name, *base;
    int since, ptds;
} hooks[GQ_DH_COUNT] = {
#define GQ_DRV_INFO(name, base, since, ptds, params, args) {#name, base, since, ptds},
    GQ_DRV_HOOKS(GQ_DRV_INFO)
#undef GQ_DRV_INFO
};

static union {
    struct gq_real_drv fn;
    void *at[GQ_DH_COUNT];
} real;
_Static_assert(sizeof(struct gq_real_drv) == GQ_DH_COUNT * sizeof(void *),
               "one pointer per hooked symbol");

static int resolved; /* set (release) once `real` is complete */
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
    /* The program's driver, not a second copy. dlsym on that handle searches
     * libcuda itself, so it answers the real function even though our hooks
     * come first in the global scope. */
    void *h = gq_sym_libcuda();
    if (!h)
        return;
    for (int i = 0; i < GQ_DH_COUNT; i++)
        real.at[i] = gq_sym(h, hooks[i].name);
}

static void resolve_once(void)
{
    resolve();
    __atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
}

static void ensure(void)
{
    if (__builtin_expect(!__atomic_load_n(&resolved, __ATOMIC_ACQUIRE), 0))
        pthread_once(&real_once, resolve_once);
}

const struct gq_real_drv *gq_real_drv(void)
{
    ensure();
    return &real.fn;
}

void *gq_real_drv_at(enum gq_drv_hook i)
{
    ensure();
    return (unsigned)i < GQ_DH_COUNT ? real.at[i] : NULL;
}

const char *gq_drv_hook_name(enum gq_drv_hook i)
{
    return (unsigned)i < GQ_DH_COUNT ? hooks[i].name : NULL;
}

int gq_drv_hook_by_name(const char *name)
{
    for (int i = 0; i < GQ_DH_COUNT; i++)
        if (strcmp(hooks[i].name, name) == 0)
            return i;
    return -1;
}

int gq_drv_procaddr_choose(const char *symbol, int cuda_version, cuuint64_t flags, int answered)
{
    int ptds = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0;
    int pick = -1;
    for (int i = 0; i < GQ_DH_COUNT; i++) {
        if (strcmp(hooks[i].base, symbol) != 0 || hooks[i].since > cuda_version ||
            (hooks[i].ptds && !ptds))
            continue;
        /* A per-thread variant the version has beats any legacy one (the
         * two cuMemAllocAsync ABIs share 11020); then the newest. */
        if (pick < 0 || hooks[i].ptds > hooks[pick].ptds ||
            (hooks[i].ptds == hooks[pick].ptds && hooks[i].since > hooks[pick].since))
            pick = i;
    }
    if (pick < 0)
        return -1; /* an ABI we do not hook (older than our first version) */
    if (answered >= 0 && answered < GQ_DH_COUNT)
        return answered;
    return cuda_version <= CUDA_VERSION ? pick : -1;
}

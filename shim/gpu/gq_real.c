/* Finding the real CUDA runtime behind the preload (see gq_real.h). */
#define _GNU_SOURCE
#include "gpu/gq_real.h"

#include "gpu/gq_sym.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

static struct gq_real_rt real_rt;
static int resolved; /* set (release) once real_rt is complete */
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

/* Sonames a program may have loaded, newest first. */
static const char *const cudart_sonames[] = {"libcudart.so.13", "libcudart.so.12",
                                             "libcudart.so"};

static void *lookup(const char *name)
{
    void *sym = gq_sym(RTLD_NEXT, name);
    if (sym)
        return sym;
    /* The runtime may sit outside the global scope (dlopen'ed RTLD_LOCAL):
     * ask the loaded copy itself, without loading a second one. */
    for (size_t i = 0; i < sizeof cudart_sonames / sizeof *cudart_sonames; i++) {
        void *h = dlopen(cudart_sonames[i], RTLD_LAZY | RTLD_NOLOAD);
        if (!h)
            continue;
        sym = gq_sym(h, name);
        dlclose(h);
        if (sym)
            return sym;
    }
    return NULL;
}

/* The shim keeps pointers into the runtime for the life of the process: a
 * program that dlcloses it and opens it again must not leave them pointing
 * at unmapped code (or at whatever is mapped there next). RTLD_NODELETE on
 * the loaded runtime keeps it loaded; its handle is never closed. */
static void pin(const void *sym)
{
    Dl_info info;
    if (sym && dladdr(sym, &info) && info.dli_fname)
        dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

static void resolve(void)
{
#define GQ_RESOLVE(ret, name, params, args) \
    *(void **)&real_rt.name = lookup(#name);
    GQ_RT_HOOKS(GQ_RESOLVE)
#undef GQ_RESOLVE
    pin((const void *)real_rt.cudaMalloc);
    __atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
}

/* On every intercepted call: one acquire-load once resolved. */
const struct gq_real_rt *gq_real(void)
{
    if (__builtin_expect(!__atomic_load_n(&resolved, __ATOMIC_ACQUIRE), 0))
        pthread_once(&real_once, resolve);
    return &real_rt;
}

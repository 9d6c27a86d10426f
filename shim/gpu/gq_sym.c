/* The shim's own symbol lookups (see gq_sym.h). */
#define _GNU_SOURCE
#include "gpu/gq_sym.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* dlsym is called by other preloaded libraries' initialisation, before ours
 * and before a sanitizer's shadow memory exists (ASan resolves its
 * interceptors through dlsym): the path to the real dlsym must not be
 * instrumented (check-sanitize crashed here at startup). */
#define GQ_EARLY __attribute__((no_sanitize("address", "thread")))

__attribute__((visibility("hidden"))) void *gq_dlsym_next;

typedef void *(*dlsym_fn)(void *, const char *);

GQ_EARLY void gq_sym_init(void)
{
    if (__atomic_load_n(&gq_dlsym_next, __ATOMIC_ACQUIRE))
        return;
#if defined(__x86_64__)
    static const char base_version[] = "GLIBC_2.2.5";
#elif defined(__aarch64__)
    static const char base_version[] = "GLIBC_2.17";
#else
    static const char base_version[] = "";
#endif
    /* glibc >= 2.34 keeps dlsym in libc under GLIBC_2.34; older ones under
     * the architecture's base version. */
    void *f = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
    if (!f)
        f = dlvsym(RTLD_NEXT, "dlsym", base_version);
    if (!f) {
        /* Loaded outside the global scope: ask libc itself. */
        void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        if (libc) {
            f = dlvsym(libc, "dlsym", "GLIBC_2.34");
            if (!f)
                f = dlvsym(libc, "dlsym", base_version);
            dlclose(libc);
        }
    }
    /* Any thread may race to store the same value. */
    __atomic_store_n(&gq_dlsym_next, f, __ATOMIC_RELEASE);
}

void *gq_sym(void *handle, const char *name)
{
    gq_sym_init();
    dlsym_fn real = (dlsym_fn)__atomic_load_n(&gq_dlsym_next, __ATOMIC_ACQUIRE);
    return real ? real(handle, name) : NULL;
}

static void *libcuda;
static char libcuda_error[256];
static pthread_once_t libcuda_once = PTHREAD_ONCE_INIT;

static void open_libcuda(void)
{
    /* RTLD_NOLOAD first: the driver the program already has. */
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (!h)
        h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(libcuda_error, sizeof libcuda_error, "%s", e ? e : "not found");
    }
    libcuda = h; /* never closed: the driver is never unloaded under a program */
}

void *gq_sym_libcuda(void)
{
    pthread_once(&libcuda_once, open_libcuda);
    return libcuda;
}

const char *gq_sym_libcuda_error(void)
{
    pthread_once(&libcuda_once, open_libcuda);
    return libcuda_error;
}

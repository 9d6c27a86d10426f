/*
 * CUDASIM_SYNC_GUARD: prove that nothing on a copy's path synchronizes.
 *
 *   0     (default) off
 *   1     an API that may synchronize the device implicitly (cudaMalloc,
 *         cudaFree, cudaHostAlloc, cudaFreeHost, cudaHostRegister, their
 *         driver twins, cudaDeviceSynchronize / cuCtxSynchronize) called
 *         while a copy is on the calling thread's stack kills the process
 *   wait  the same, and any host wait (stream or event synchronize) while
 *         an asynchronous copy is on the stack, including an asynchronous
 *         copy that waits because a host side of it is pageable (a
 *         library's cuMemcpyDtoHAsync into malloc'd memory inside the
 *         program's cudaMemcpyAsync); the waiting copy itself, and hooks
 *         that forwarded it under its own name, do not count as enclosing
 *         it (a program's own pageable copy waits in CUDA too)
 *
 * "A copy on the stack": a frame of a function named cudaMemcpy* or
 * cuMemcpy* — the program's call into the runtime, or into a library that
 * interposes it (a preloaded shim's hooks). Frames are named by the dynamic
 * symbol table (dladdr1, checked against the symbol's size, so a hidden
 * function next to an export is not taken for it). "Asynchronous": the name
 * holds "Async". The real driver does not refuse these calls; it stalls the
 * device, which a test cannot see. So this is a check, not a simulation:
 * it prints one line naming the API and the copy, and aborts.
 */
#define _GNU_SOURCE
#include "sim_impl.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mode; /* 0 off, 1 implicit, 2 wait */
static pthread_once_t mode_once = PTHREAD_ONCE_INIT;

static void read_mode(void)
{
    const char *v = getenv("CUDASIM_SYNC_GUARD");
    if (!v || !*v || !strcmp(v, "0"))
        mode = 0;
    else if (!strcmp(v, "1"))
        mode = 1;
    else if (!strcmp(v, "wait"))
        mode = 2;
    else
        sim_fatal("CUDASIM_SYNC_GUARD=%s is invalid: expected 0, 1 or wait", v);
    /* backtrace() loads its unwinder on first use: here, not later under
     * sim_lock (a pageable copy checks with it held). */
    void *pc;
    if (mode)
        backtrace(&pc, 1);
}

/* The name of the exported function that address `pc` lies in, or NULL. */
static const char *function_at(void *pc)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1(pc, &info, (void **)&sym, RTLD_DL_SYMENT) || !info.dli_sname || !sym)
        return NULL;
    uintptr_t start = (uintptr_t)info.dli_saddr;
    if ((uintptr_t)pc < start || (uintptr_t)pc >= start + sym->st_size)
        return NULL;
    return info.dli_sname;
}

static int is_copy(const char *name, int async_only)
{
    if (strncmp(name, "cudaMemcpy", 10) != 0 && strncmp(name, "cuMemcpy", 8) != 0)
        return 0;
    return !async_only || strstr(name, "Async") != NULL;
}

void cudasim_guard(const char *entry, enum sim_guard_kind kind)
{
    pthread_once(&mode_once, read_mode);
    if (mode == 0 || (kind != SIM_GUARD_IMPLICIT && mode < 2))
        return;
    void *pcs[64];
    int n = backtrace(pcs, 64);
    const char *self = NULL; /* SIM_GUARD_COPY_WAIT: the waiting copy's name */
    /* Frame 0 is this function, frame 1 the entry point itself. */
    for (int i = 2; i < n; i++) {
        /* A return address points past its call: step back into it. */
        const char *f = function_at((char *)pcs[i] - 1);
        if (!f || !is_copy(f, 0))
            continue;
        if (kind == SIM_GUARD_COPY_WAIT && (!self || !strcmp(f, self))) {
            self = f; /* the waiting copy, or a hook that forwarded it */
            continue;
        }
        if (kind == SIM_GUARD_COPY_WAIT)
            self = ""; /* from here out, any enclosing copy counts */
        if (is_copy(f, kind != SIM_GUARD_IMPLICIT)) {
            fprintf(stderr, "cudasim: %s called on a copy's path (inside %s): %s\n", entry, f,
                    kind == SIM_GUARD_IMPLICIT ? "it may synchronize the device implicitly"
                                               : "an asynchronous copy waited on the host");
            abort();
        }
    }
}

/*
 * CUDASIM_API_ERRORS: every driver or runtime call that fails, named, as
 * compute-sanitizer reports them on a GPU ("Program hit CUDA_ERROR_... on
 * CUDA API call to ...").
 *
 *   0      (default) off
 *   log    one line on stderr per failing call: the entry point, its status
 *          and who called it (the calling object, and its function when that
 *          is an exported one)
 *   abort  the same line, then abort()
 *
 * Every exported entry point of libcuda.so.1 (DRV_ENTRY, drv.h) and
 * libcudart.so.13 (RT_ENTRY, rt.h) returns its status through
 * cudasim_api_status. CUDA_ERROR_NOT_READY (cudaErrorNotReady) is a status,
 * not an error: cuEventQuery and cuStreamQuery answer it for pending work, and
 * compute-sanitizer does not report it either (seen on an H200, driver 580,
 * with --report-api-errors=all). cudaGetLastError and cudaPeekAtLastError
 * return an earlier call's error, not their own, and are not checked.
 *
 * A library that calls CUDA on a program's behalf (a preloaded shim) must
 * leave a correct program's trace free of failures: a tool or a user that
 * treats them as errors (compute-sanitizer --error-exitcode) sees them as the
 * program's, and a failing runtime call changes the program's last error.
 */
#define _GNU_SOURCE
#include "sim_impl.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mode; /* 0 off, 1 log, 2 abort */
static pthread_once_t mode_once = PTHREAD_ONCE_INIT;

static void read_mode(void)
{
    const char *v = getenv("CUDASIM_API_ERRORS");
    if (!v || !*v || !strcmp(v, "0"))
        mode = 0;
    else if (!strcmp(v, "log"))
        mode = 1;
    else if (!strcmp(v, "abort"))
        mode = 2;
    else
        sim_fatal("CUDASIM_API_ERRORS=%s is invalid: expected 0, log or abort", v);
}

/* Who called: the object holding `pc`, and the exported function it lies in
 * (checked against the symbol's size, so that a hidden function beside an
 * export is not taken for it). */
static void describe_caller(void *pc, char *out, size_t len)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!pc || !dladdr1((char *)pc - 1, &info, (void **)&sym, RTLD_DL_SYMENT) || !info.dli_fname) {
        snprintf(out, len, "an unknown caller");
        return;
    }
    const char *obj = strrchr(info.dli_fname, '/');
    obj = obj ? obj + 1 : info.dli_fname;
    uintptr_t start = (uintptr_t)info.dli_saddr, at = (uintptr_t)pc - 1;
    if (info.dli_sname && sym && at >= start && at < start + sym->st_size)
        snprintf(out, len, "%s (%s)", *obj ? obj : "the program", info.dli_sname);
    else
        snprintf(out, len, "%s", *obj ? obj : "the program");
}

int cudasim_api_status(const char *entry, int status, int runtime, void *caller)
{
    if (__builtin_expect(status == 0 || status == CUDA_ERROR_NOT_READY, 1))
        return status;
    pthread_once(&mode_once, read_mode);
    if (!mode)
        return status;
    const char *name = cudasim_error_name(status, runtime);
    char who[256];
    describe_caller(caller, who, sizeof who);
    fprintf(stderr, "cudasim: API error: %s returned %s (%d), called from %s\n", entry,
            name ? name : "an unknown error", status, who);
    if (mode == 2)
        abort();
    return status;
}

void sim_api_init(void)
{
    pthread_once(&mode_once, read_mode);
}

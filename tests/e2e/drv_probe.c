/*
 * drv_probe — which library answers a program's lookups of driver entry
 * points: cuGetProcAddress at several versions and flags, dlsym on a libcuda
 * handle, dlsym(RTLD_NEXT / RTLD_DEFAULT) and dlsym on an unrelated library.
 * One line per lookup, "LOOKUP -> LIBRARY SYMBOL" (dladdr's names), or
 * "LOOKUP -> none" / "-> error NAME"; the test compares the lines with what
 * it expects with and without the shim.
 */
#define _GNU_SOURCE
#include <cuda.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static void show(const char *what, void *fn)
{
    Dl_info info;
    if (!fn) {
        printf("%s -> none\n", what);
        return;
    }
    if (!dladdr(fn, &info) || !info.dli_fname) {
        printf("%s -> unknown\n", what);
        return;
    }
    const char *lib = strrchr(info.dli_fname, '/');
    printf("%s -> %s %s\n", what, lib ? lib + 1 : info.dli_fname,
           info.dli_sname ? info.dli_sname : "?");
}

static void procaddr(const char *sym, int version, cuuint64_t flags)
{
    char what[128];
    void *fn = NULL;
    CUdriverProcAddressQueryResult st;
    snprintf(what, sizeof what, "procaddr %s %d %s", sym, version,
             flags == CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM ? "ptds"
             : flags == CU_GET_PROC_ADDRESS_LEGACY_STREAM           ? "legacy"
                                                                    : "default");
    CUresult r = cuGetProcAddress(sym, &fn, version, flags, &st);
    if (r != CUDA_SUCCESS) {
        const char *name = "?";
        cuGetErrorName(r, &name);
        printf("%s -> error %s\n", what, name);
        return;
    }
    show(what, fn);
}

int main(void)
{
    const cuuint64_t PTDS = CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
    procaddr("cuMemAlloc", 13000, 0);
    procaddr("cuMemAlloc", 3020, 0);
    procaddr("cuMemAlloc", 2000, 0); /* the v1 ABI (32-bit size): never a hook */
    procaddr("cuMemcpyHtoD", 13000, PTDS);
    procaddr("cuMemcpyHtoD", 13000, CU_GET_PROC_ADDRESS_LEGACY_STREAM);
    procaddr("cuMemcpyDtoHAsync", 13000, PTDS);
    procaddr("cuMemcpyAsync", 13000, 0);
    procaddr("cuMemHostRegister", 6050, 0);
    procaddr("cuMemHostRegister", 4000, 0); /* v1 */
    procaddr("cuMemFreeHost", 13000, 0);
    procaddr("cuMemsetD8", 13000, 0);  /* not interposed */
    procaddr("cuGetProcAddress", 13000, 0);
    procaddr("cuNoSuchSymbol", 13000, 0);

    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("dlopen libcuda.so.1 failed: %s\n", dlerror());
        return 1;
    }
    show("dlsym libcuda cuMemAlloc_v2", dlsym(h, "cuMemAlloc_v2"));
    show("dlsym libcuda cuMemcpyDtoHAsync_v2_ptsz", dlsym(h, "cuMemcpyDtoHAsync_v2_ptsz"));
    show("dlsym libcuda cuGetProcAddress_v2", dlsym(h, "cuGetProcAddress_v2"));
    show("dlsym libcuda cuMemsetD8_v2", dlsym(h, "cuMemsetD8_v2"));
    show("dlsym libcuda cuMemAllocAsync", dlsym(h, "cuMemAllocAsync")); /* cudasim lacks it */
    /* RTLD_NEXT from the program: the search starts after the program, so a
     * preloaded definition comes first. Answered for the shim's frame, it
     * would start after the shim and find libcuda's. */
    show("dlsym next cuMemAlloc_v2", dlsym(RTLD_NEXT, "cuMemAlloc_v2"));
    show("dlsym default cuMemAlloc_v2", dlsym(RTLD_DEFAULT, "cuMemAlloc_v2"));
    show("dlsym next malloc", dlsym(RTLD_NEXT, "malloc"));
    void *m = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
    show("dlsym libm cos", m ? dlsym(m, "cos") : NULL);
    return 0;
}

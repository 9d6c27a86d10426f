/*
 * Fault injection (CUDASIM_FAIL): make chosen driver entry points fail, so
 * that tests can prove a caller (the shim) survives a driver that refuses.
 *
 *   CUDASIM_FAIL = item { ',' item }
 *   item         = ENTRY [ ':' N [ '-' M ] ]
 *
 * ENTRY is a driver entry point of the table below; alone, every call of it
 * fails; `:N` fails the N-th call and every later one (1-based); `:N-M` fails
 * calls N..M only (a transient failure). Calls are counted per entry point,
 * process-wide, whoever makes them. Only the driver API (libcuda.so.1) fails:
 * the runtime's own calls reach the core directly and stay unaffected, so a
 * runtime program keeps running while the driver refuses its helper library.
 *
 * Each entry fails with the status the real driver gives for that kind of
 * refusal. Anything not understood stops the program with status 2, as every
 * other CUDASIM_* setting does.
 */
#define _GNU_SOURCE
#include "sim_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct fault_entry {
    const char *name;
    CUresult error;
};

/* Indexed by enum sim_fault_point (sim_impl.h). */
static const struct fault_entry table[SIM_FAULT_COUNT] = {
    [SIM_FAULT_cuInit] = {"cuInit", CUDA_ERROR_NO_DEVICE},
    [SIM_FAULT_cuMemHostAlloc] = {"cuMemHostAlloc", CUDA_ERROR_OUT_OF_MEMORY},
    [SIM_FAULT_cuMemHostGetDevicePointer] = {"cuMemHostGetDevicePointer",
                                             CUDA_ERROR_INVALID_VALUE},
    [SIM_FAULT_cuMemAlloc] = {"cuMemAlloc", CUDA_ERROR_OUT_OF_MEMORY},
    [SIM_FAULT_cuModuleLoadData] = {"cuModuleLoadData", CUDA_ERROR_NO_BINARY_FOR_GPU},
    [SIM_FAULT_cuModuleGetFunction] = {"cuModuleGetFunction", CUDA_ERROR_NOT_FOUND},
    [SIM_FAULT_cuLaunchKernel] = {"cuLaunchKernel", CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES},
    [SIM_FAULT_cuLaunchHostFunc] = {"cuLaunchHostFunc", CUDA_ERROR_OUT_OF_MEMORY},
    [SIM_FAULT_cuEventCreate] = {"cuEventCreate", CUDA_ERROR_OUT_OF_MEMORY},
    [SIM_FAULT_cuEventRecord] = {"cuEventRecord", CUDA_ERROR_INVALID_HANDLE},
    [SIM_FAULT_cuStreamWaitEvent] = {"cuStreamWaitEvent", CUDA_ERROR_INVALID_HANDLE},
    [SIM_FAULT_cuMemcpyHtoDAsync] = {"cuMemcpyHtoDAsync", CUDA_ERROR_INVALID_VALUE},
};

struct fault_rule {
    unsigned long long from, to; /* 0: not armed */
};

static struct fault_rule rules[SIM_FAULT_COUNT];
static unsigned long long calls[SIM_FAULT_COUNT];
static pthread_once_t parse_once = PTHREAD_ONCE_INIT;

static unsigned long long number(const char *s, char **end, const char *all)
{
    if (*s < '0' || *s > '9')
        sim_fatal("CUDASIM_FAIL=%s is invalid: a call number must be digits", all);
    errno = 0;
    unsigned long long n = strtoull(s, end, 10);
    if (errno || n == 0)
        sim_fatal("CUDASIM_FAIL=%s is invalid: call numbers start at 1", all);
    return n;
}

static void parse_item(const char *item, size_t len, const char *all)
{
    const char *colon = memchr(item, ':', len);
    size_t name_len = colon ? (size_t)(colon - item) : len;
    int which = -1;
    for (int i = 0; i < SIM_FAULT_COUNT; i++)
        if (strlen(table[i].name) == name_len && memcmp(table[i].name, item, name_len) == 0)
            which = i;
    if (which < 0) {
        char names[512] = "";
        for (int i = 0; i < SIM_FAULT_COUNT; i++) {
            strncat(names, i ? " " : "", sizeof names - strlen(names) - 1);
            strncat(names, table[i].name, sizeof names - strlen(names) - 1);
        }
        sim_fatal("CUDASIM_FAIL=%s: unknown entry point '%.*s' (known: %s)", all,
                  (int)name_len, item, names);
    }
    struct fault_rule r = {1, ~0ull};
    if (colon) {
        char *end;
        char buf[64];
        size_t n = len - name_len - 1;
        if (n >= sizeof buf)
            sim_fatal("CUDASIM_FAIL=%s is invalid: call range too long", all);
        memcpy(buf, colon + 1, n);
        buf[n] = 0;
        r.from = number(buf, &end, all);
        r.to = ~0ull;
        if (*end == '-')
            r.to = number(end + 1, &end, all);
        if (*end || r.to < r.from)
            sim_fatal("CUDASIM_FAIL=%s is invalid: expected ENTRY[:N[-M]] with N <= M", all);
    }
    if (rules[which].from)
        sim_fatal("CUDASIM_FAIL=%s is invalid: %s named twice", all, table[which].name);
    rules[which] = r;
}

static void parse(void)
{
    const char *v = getenv("CUDASIM_FAIL");
    if (!v || !*v)
        return;
    for (const char *p = v;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0)
            sim_fatal("CUDASIM_FAIL=%s is invalid: empty item", v);
        parse_item(p, len, v);
        if (!comma)
            break;
        p = comma + 1;
    }
}

void sim_fault_init(void)
{
    pthread_once(&parse_once, parse);
}

CUresult cudasim_fault(enum sim_fault_point which)
{
    pthread_once(&parse_once, parse);
    if (!rules[which].from)
        return CUDA_SUCCESS;
    unsigned long long n = __atomic_add_fetch(&calls[which], 1, __ATOMIC_RELAXED);
    return n >= rules[which].from && n <= rules[which].to ? table[which].error : CUDA_SUCCESS;
}

/*
 * bench_passthrough — what an intercepted cudaMemcpy that the shim does not
 * compress costs on top of the same call without the shim.
 *
 * The program re-runs itself as children, alternating without and with
 * LD_PRELOAD=libgqshim.so (an active rule that names no allocation of this
 * program, so every call takes the full decision path), first on cudasim and
 * then on a runtime whose cudaMemcpy returns at once (which leaves only the
 * shim's cost). Each child times N host-to-device copies of 256 bytes and
 * reports ns per call; the best of several rounds is kept for each side.
 *
 *   passthrough_overhead_ns=<shim - plain, on the do-nothing runtime>
 *   passthrough_overhead_cudasim_ns=<shim - plain, on cudasim>
 * The first is the figure to judge (target < 30 ns): cudasim's own copy takes
 * microseconds (a hand-off to a stream thread) and its run-to-run noise is
 * larger than the difference, so the second is printed only for reference.
 */
#define _GNU_SOURCE
#include "bench_child.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int child(long iters)
{
    void *d;
    if (cudaMalloc(&d, 4096) != cudaSuccess)
        return 1;
    static char host[4096];
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++)
            cudaMemcpy(d, host + (i & 15) * 256, 256, cudaMemcpyHostToDevice);
        double per = (now_ns() - t0) / (double)iters;
        if (per < best)
            best = per;
    }
    printf("%.3f\n", best);
    return 0;
}

/* ns per call of one child run: on the runtime in libdir, with or without
 * the shim. */
static double run(const char *self, const char *libdir, const char *preload, long iters)
{
    char lib[4200], pre[4200], n[32];
    snprintf(lib, sizeof lib, "LD_LIBRARY_PATH=%s", libdir);
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s", preload ? preload : "");
    snprintf(n, sizeof n, "%ld", iters);
    const char *with[] = {lib, pre, "GQSHIM_RULES=on=dev,min=1G", NULL};
    const char *without[] = {lib, "LD_PRELOAD", NULL};
    return bench_child(self, n, preload ? with : without);
}

static double overhead(const char *self, const char *libdir, const char *shim, long iters,
                       double *plain_out)
{
    double plain = 1e30, shimmed = 1e30;
    for (int pair = 0; pair < 4; pair++) {
        double a = run(self, libdir, NULL, iters), b = run(self, libdir, shim, iters);
        if (a < 0 || b < 0)
            return -1e30;
        if (a < plain)
            plain = a;
        if (b < shimmed)
            shimmed = b;
    }
    *plain_out = plain;
    return shimmed - plain;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child(atol(argv[2]));
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char self[4096], shim[4096], sim[4096], fake[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = 0;
    snprintf(shim, sizeof shim, "%s/libgqshim.so", build);
    snprintf(sim, sizeof sim, "%s/cudasim", build);
    snprintf(fake, sizeof fake, "%s/bench/fake", build);
    if (access(shim, R_OK) != 0) {
        fprintf(stderr, "bench_passthrough: %s not found (run from the repository root)\n", shim);
        return 1;
    }
    double plain_sim, plain_fake;
    double o_sim = overhead(self, sim, shim, 20000, &plain_sim);
    double o_fake = overhead(self, fake, shim, 5000000, &plain_fake);
    if (o_sim < -1e29 || o_fake < -1e29) {
        fprintf(stderr, "bench_passthrough: a child run failed\n");
        return 1;
    }
    printf("plain_cudasim_ns_per_call=%.1f\n", plain_sim);
    printf("plain_isolated_ns_per_call=%.1f\n", plain_fake);
    printf("passthrough_overhead_ns=%.1f\n", o_fake);
    printf("passthrough_overhead_cudasim_ns=%.1f\n", o_sim);
    return 0;
}

/*
 * bench_hostmem — host memory of a program that offloads 16 tensors of
 * 64 MiB fp16 into pinned buffers, with and without the shim.
 *
 * The program re-runs itself as two children, without and with
 * LD_PRELOAD=libgqshim.so GQSHIM_RULES=on=host. Each child samples its
 * host-side resident memory after every step and reports the peak above its
 * starting point. Host-side means RssAnon + RssFile from /proc/self/status:
 * under cudasim, device memory is a shared-memory file (RssShmem), which is
 * left out, so only what a real machine would hold in host RAM is counted
 * (pinned memory is resident: cudasim populates it when allocated, as a
 * driver pins it).
 *
 *   host_rss_plain_mib=<peak without the shim>
 *   host_rss_shim_mib=<peak with the shim>
 *   host_rss_ratio=<shim / plain>          target <= 0.30
 */
#define _GNU_SOURCE
#include "bench_child.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TENSORS 16
#define BYTES ((size_t)64 << 20)

static long host_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long anon = 0, file = 0;
    while (f && fgets(line, sizeof line, f)) {
        sscanf(line, "RssAnon: %ld", &anon);
        sscanf(line, "RssFile: %ld", &file);
    }
    if (f)
        fclose(f);
    return anon + file;
}

static long peak, base;
static void sample(void)
{
    long r = host_rss_kib() - base;
    if (r > peak)
        peak = r;
}

static int child(void)
{
    void *dev;
    if (cudaMalloc(&dev, BYTES) != cudaSuccess)
        return 1;
    /* Fill the device tensor from a temporary host buffer, released before
     * the measurement starts. */
    unsigned short *tmp = malloc(BYTES);
    for (size_t i = 0; i < BYTES / 2; i++)
        tmp[i] = (unsigned short)(0x3800 + (i * 2654435761u >> 22) % 0x800);
    cudaMemcpy(dev, tmp, BYTES, cudaMemcpyHostToDevice);
    free(tmp);
    cudaStream_t s;
    cudaStreamCreate(&s);
    base = host_rss_kib();
    void *host[TENSORS];
    for (int t = 0; t < TENSORS; t++) {
        if (cudaMallocHost(&host[t], BYTES) != cudaSuccess)
            return 1;
        sample();
        if (cudaMemcpyAsync(host[t], dev, BYTES, cudaMemcpyDeviceToHost, s) != cudaSuccess ||
            cudaStreamSynchronize(s) != cudaSuccess)
            return 1;
        sample();
    }
    /* Bring every tensor back, as the next forward pass would. */
    for (int t = 0; t < TENSORS; t++) {
        if (cudaMemcpyAsync(dev, host[t], BYTES, cudaMemcpyHostToDevice, s) != cudaSuccess)
            return 1;
        cudaStreamSynchronize(s);
        sample();
    }
    printf("%ld\n", peak);
    return 0;
}

static long run(const char *self, const char *shim)
{
    char pre[4200];
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s", shim ? shim : "");
    const char *with[] = {pre, "GQSHIM_RULES=on=host,min=1M", NULL};
    const char *without[] = {"LD_PRELOAD", NULL};
    return (long)bench_child(self, "", shim ? with : without);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--child") == 0)
        return child();
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char self[4096], shim[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = 0;
    snprintf(shim, sizeof shim, "%s/libgqshim.so", build);
    /* cudasim maps pinned memory as the driver does, a shared file mapping
     * (RssShmem, left out like its device memory): ask for anonymous pinned
     * memory, which RssAnon counts. The shim's own buffers are its own. */
    setenv("CUDASIM_PINNED", "anon", 1);
    long plain = run(self, NULL), with = run(self, shim);
    if (plain < (long)(TENSORS * (BYTES >> 10)) || with < 0) {
        fprintf(stderr, "bench_hostmem: a child run failed (is LD_LIBRARY_PATH=%s/cudasim set?)\n",
                build);
        return 1;
    }
    printf("host_rss_plain_mib=%.1f\n", plain / 1024.0);
    printf("host_rss_shim_mib=%.1f\n", with / 1024.0);
    printf("host_rss_ratio=%.3f\n", (double)with / (double)plain);
    return 0;
}

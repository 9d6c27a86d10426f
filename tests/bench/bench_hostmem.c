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
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        if (shim) {
            setenv("LD_PRELOAD", shim, 1);
            setenv("GQSHIM_RULES", "on=host,min=1M", 1);
        } else {
            unsetenv("LD_PRELOAD");
        }
        execl(self, self, "--child", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[64] = {0};
    ssize_t got = read(fd[0], buf, sizeof buf - 1);
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (got <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return atol(buf);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--child") == 0)
        return child();
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char self[4096], shim[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = 0;
    snprintf(shim, sizeof shim, "%s/libgqshim.so", build);
    long plain = run(self, NULL), with = run(self, shim);
    if (plain <= 0 || with < 0) {
        fprintf(stderr, "bench_hostmem: a child run failed (is LD_LIBRARY_PATH=%s/cudasim set?)\n",
                build);
        return 1;
    }
    printf("host_rss_plain_mib=%.1f\n", plain / 1024.0);
    printf("host_rss_shim_mib=%.1f\n", with / 1024.0);
    printf("host_rss_ratio=%.3f\n", (double)with / (double)plain);
    return 0;
}

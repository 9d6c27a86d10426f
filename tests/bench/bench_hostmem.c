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
 *
 * Then the price of reading an offloaded shim-owned buffer back on the CPU,
 * where every page faults in decoded from the block (host/gq_hostmem.h):
 * one fp16 tensor (512 MiB unless `bench_hostmem MiB` says otherwise) is
 * offloaded into a cudaMallocHost buffer, then read sequentially (a sum of
 * 64-bit words) or written to a tmpfs file with one write(2) (the kernel
 * reads the buffer). The plain child does the same on its resident pinned
 * buffer. Best of ROUNDS, each after a fresh offload (which drops the pages;
 * the plain child's read comes just after an offload too: a read right
 * after cudasim's copy runs some 20% slower than the next one, so a
 * reference read at another moment would not be the same read):
 *   plain_read_GBps=       the plain child's read of its pinned buffer
 *   faultin_read_GBps=     the shim child's read of its offloaded buffer
 *   faultin_over_read=<faultin / plain>          target >= 0.20, goal 0.5
 *   syscall_over_plain=<the same for write(2)>
 *
 * And what the kernel allows: every page of a fault-in is installed by
 * userfaultfd (UFFDIO_COPY: allocate, copy, map), which costs more than the
 * decode. A child without the shim installs the same size that way from a
 * buffer in cache, on as many threads as the shim's pool would use, with no
 * decode and no reader:
 *   install_GBps=, install_threads=
 *   faultin_over_install=<faultin / install>   how near the shim is to it
 * (absent where userfaultfd is not allowed).
 */
#define _GNU_SOURCE
#include "bench_child.h"
#include "gq_half.h"

#include <cuda_runtime_api.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TENSORS 16
#define BYTES ((size_t)64 << 20)
#define ROUNDS 3

/* fp16 values of a roughly normal distribution (a sum of four uniforms),
 * as activations are: the shim's dtype check takes them for fp16. */
static void fill_f16(unsigned short *v, size_t n)
{
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        float f = (float)((x & 0xffff) + (x >> 16 & 0xffff) + (x >> 32 & 0xffff) + (x >> 48)) *
                      (1.0f / 65536.0f) - 2.0f;
        v[i] = gq_f32_to_f16_rn(f);
    }
}

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
    if (!tmp)
        return 1;
    fill_f16(tmp, BYTES / 2);
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

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static volatile uint64_t sink;

/* One sequential pass over the buffer, as a program summing it would. */
static void read_all(const unsigned char *p, size_t len)
{
    const uint64_t *w = (const uint64_t *)p;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= len / 8; i += 4) {
        a += w[i];
        b += w[i + 1];
        c += w[i + 2];
        d += w[i + 3];
    }
    sink = a + b + c + d;
}

/* write(2) of the whole buffer to fd from offset 0 of an emptied file. */
static int write_all(int fd, const unsigned char *p, size_t len)
{
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        return -1;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* GB/s of the best of ROUNDS reads ("read") or write(2)s ("write") of a
 * buffer of `mib` MiB just offloaded into. */
static int child_access(const char *what, size_t mib)
{
    size_t bytes = mib << 20;
    void *dev, *host;
    if (cudaMalloc(&dev, bytes) != cudaSuccess || cudaMallocHost(&host, bytes) != cudaSuccess)
        return 1;
    fill_f16(host, bytes / 2); /* staged through the buffer itself: no second copy */
    if (cudaMemcpy(dev, host, bytes, cudaMemcpyHostToDevice) != cudaSuccess)
        return 1;
    char path[] = "/dev/shm/gq-bench-hostmem-XXXXXX";
    int fd = -1;
    if (strcmp(what, "write") == 0) {
        fd = mkstemp(path);
        if (fd < 0)
            return 1;
        unlink(path);
    }
    double best = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        /* Under the shim this offload drops the buffer's pages. */
        if (cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost) != cudaSuccess)
            return 1;
        double t0 = now();
        if (fd >= 0) {
            if (write_all(fd, host, bytes) != 0)
                return 1;
        } else {
            read_all(host, bytes);
        }
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    printf("%.4f\n", (double)bytes / best * 1e-9);
    return 0;
}

/* The kernel's part of a fault-in alone: `mib` MiB installed by
 * UFFDIO_COPY, in 1 MiB copies from a buffer in cache, split between
 * `threads` threads. Prints GB/s; exits 1 where userfaultfd is not
 * allowed. */
struct install_arg {
    int fd;
    unsigned char *dst;
    size_t bytes;
};

static void *install_part(void *arg)
{
    const struct install_arg *a = arg;
    size_t chunk = (size_t)1 << 20;
    unsigned char *src = aligned_alloc(4096, chunk);
    if (!src)
        return (void *)1;
    memset(src, 0x3c, chunk);
    for (size_t off = 0; off < a->bytes; off += chunk) {
        struct uffdio_copy c = {
            .dst = (uintptr_t)a->dst + off,
            .src = (uintptr_t)src,
            .len = a->bytes - off < chunk ? a->bytes - off : chunk,
            .mode = UFFDIO_COPY_MODE_DONTWAKE,
        };
        if (ioctl(a->fd, UFFDIO_COPY, &c) != 0) {
            free(src);
            return (void *)1;
        }
    }
    free(src);
    return NULL;
}

static int child_install(size_t mib, unsigned threads)
{
    size_t bytes = mib << 20, per = (bytes / threads) & ~(size_t)((1 << 20) - 1);
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    if (fd < 0)
        fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
    struct uffdio_api api = {.api = UFFD_API};
    if (fd < 0 || ioctl(fd, UFFDIO_API, &api) != 0) {
        fprintf(stderr, "bench_hostmem: userfaultfd is not allowed here\n");
        return 3; /* not a failure: nothing to measure (tests/gpu/run.sh tells them apart) */
    }
    unsigned char *dst = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (dst == MAP_FAILED || per == 0)
        return 1;
    madvise(dst, bytes, MADV_NOHUGEPAGE); /* as UFFDIO_COPY installs: small pages */
    struct uffdio_register reg = {.range = {(uintptr_t)dst, bytes},
                                  .mode = UFFDIO_REGISTER_MODE_MISSING};
    if (ioctl(fd, UFFDIO_REGISTER, &reg) != 0)
        return 1;
    double best = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_t th[8];
        struct install_arg a[8];
        void *failed = NULL;
        double t0 = now();
        for (unsigned i = 0; i < threads; i++) {
            a[i] = (struct install_arg){fd, dst + i * per, i + 1 < threads ? per : bytes - i * per};
            if (pthread_create(&th[i], NULL, install_part, &a[i]) != 0)
                return 1;
        }
        for (unsigned i = 0; i < threads; i++) {
            void *rc;
            pthread_join(th[i], &rc);
            failed = failed ? failed : rc;
        }
        double t = now() - t0;
        if (failed)
            return 1;
        if (t < best)
            best = t;
        madvise(dst, bytes, MADV_DONTNEED);
    }
    printf("%.4f\n", (double)bytes / best * 1e-9);
    return 0;
}

/* The threads the shim's pool would use here (base/gq_pool.h: the CPUs
 * this process may use, at most 8). */
static unsigned pool_threads(void)
{
    cpu_set_t set;
    unsigned n = sched_getaffinity(0, sizeof set, &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1;
    return n < 1 ? 1 : n > 8 ? 8 : n;
}

static double run(const char *self, const char *shim, const char *arg)
{
    char pre[4200];
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s", shim ? shim : "");
    const char *with[] = {pre, "GQSHIM_RULES=on=host,min=1M", NULL};
    const char *without[] = {"LD_PRELOAD", NULL};
    return bench_child(self, arg, shim ? with : without);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--child") == 0) {
        char what[16];
        size_t n_mib;
        unsigned threads;
        if (argc >= 3 && sscanf(argv[2], "install %zu %u", &n_mib, &threads) == 2)
            return child_install(n_mib, threads >= 1 && threads <= 8 ? threads : 1);
        if (argc >= 3 && sscanf(argv[2], "%15s %zu", what, &n_mib) == 2)
            return child_access(what, n_mib);
        return child();
    }
    size_t mib = argc >= 2 ? strtoul(argv[1], NULL, 0) : 512;
    if (mib == 0 || mib > ((size_t)1 << 20)) {
        fprintf(stderr, "usage: bench_hostmem [MiB of the fault-in tensor, default 512]\n");
        return 2;
    }
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
    long plain = (long)run(self, NULL, ""), with = (long)run(self, shim, "");
    if (plain < (long)(TENSORS * (BYTES >> 10)) || with < 0) {
        fprintf(stderr, "bench_hostmem: a child run failed (is LD_LIBRARY_PATH=%s/cudasim set?)\n",
                build);
        return 1;
    }
    printf("host_rss_plain_mib=%.1f\n", plain / 1024.0);
    printf("host_rss_shim_mib=%.1f\n", with / 1024.0);
    printf("host_rss_ratio=%.3f\n", (double)with / (double)plain);
    fflush(stdout);

    char rd[64], wr[64], in[64];
    snprintf(rd, sizeof rd, "read %zu", mib);
    snprintf(wr, sizeof wr, "write %zu", mib);
    double read_plain = run(self, NULL, rd), read_shim = run(self, shim, rd);
    double write_plain = run(self, NULL, wr), write_shim = run(self, shim, wr);
    if (read_plain <= 0 || read_shim <= 0 || write_plain <= 0 || write_shim <= 0) {
        fprintf(stderr, "bench_hostmem: a fault-in child run failed\n");
        return 1;
    }
    printf("faultin_size_mib=%zu\n", mib);
    printf("plain_read_GBps=%.2f\nfaultin_read_GBps=%.2f\n", read_plain, read_shim);
    printf("plain_write_GBps=%.2f\nfaultin_write_GBps=%.2f\n", write_plain, write_shim);
    printf("faultin_over_read=%.3f\n", read_shim / read_plain);
    printf("syscall_over_plain=%.3f\n", write_shim / write_plain);
    fflush(stdout);

    unsigned threads = pool_threads();
    snprintf(in, sizeof in, "install %zu %u", mib, threads);
    double install = run(self, NULL, in);
    if (install > 0) {
        printf("install_threads=%u\ninstall_GBps=%.2f\n", threads, install);
        printf("faultin_over_install=%.3f\n", read_shim / install);
    } else {
        printf("# install_GBps: userfaultfd is not allowed here; not measured\n");
    }
    return 0;
}

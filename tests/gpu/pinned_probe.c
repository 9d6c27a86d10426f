/*
 * pinned_probe — how the real driver maps pinned memory, for the host modes
 * (shim/base/gq_mode.h) and cudasim's model of it (CUDASIM_PINNED in
 * tests/cudasim/sim_host.c). Prints, for a cudaHostAlloc range and for
 * anonymous memory cudaHostRegister'd:
 *   - its /proc/self/maps line(s);
 *   - whether userfaultfd registers it for missing pages and for
 *     asynchronous write protection, and what PAGEMAP_SCAN then reports for
 *     an untouched page and for a page written by the CPU.
 * Needs the userfaultfd the environment allows (gVisor: none; then it says so).
 */
#define _GNU_SOURCE
#include <cuda_runtime_api.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#define FEAT_WP_ASYNC (1ULL << 15)
#define FEAT_WP_UNPOPULATED (1ULL << 13)

struct region { uint64_t start, end, categories; };
struct scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN_IOC _IOWR('f', 16, struct scan_arg)

static void maps_of(uintptr_t lo, uintptr_t hi)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < hi && b > lo)
            printf("    maps: %s", line);
    }
    if (f)
        fclose(f);
}

static int new_uffd(void)
{
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd < 0) {
        printf("    userfaultfd: %s\n", strerror(errno));
        return -1;
    }
    struct uffdio_api api = {.api = UFFD_API, .features = FEAT_WP_ASYNC | FEAT_WP_UNPOPULATED};
    if (ioctl(fd, UFFDIO_API, &api) != 0) {
        printf("    UFFDIO_API with WP_ASYNC: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void scan(const char *what, char *p, size_t len)
{
    int pm = open("/proc/self/pagemap", O_RDONLY);
    struct region r[4];
    struct scan_arg a = {.size = sizeof a, .start = (uintptr_t)p, .end = (uintptr_t)p + len,
                         .vec = (uintptr_t)r, .vec_len = 4, .return_mask = 0x3f};
    long n = pm >= 0 ? ioctl(pm, PAGEMAP_SCAN_IOC, &a) : -1;
    printf("    PAGEMAP_SCAN %s: ", what);
    if (n < 0)
        printf("%s\n", strerror(errno));
    for (long i = 0; i < n; i++)
        printf("[+%#lx,+%#lx) categories %#lx (1 wpallowed 2 written 4 file 8 present)%s",
               (unsigned long)(r[i].start - (uintptr_t)p), (unsigned long)(r[i].end - (uintptr_t)p),
               (unsigned long)r[i].categories, i + 1 < n ? "; " : "\n");
    if (n == 0)
        printf("no pages reported (the walk skipped the mapping)\n");
    if (pm >= 0)
        close(pm);
}

static void probe(const char *name, char *p, size_t len)
{
    printf("  %s at %p (+%zu):\n", name, (void *)p, len);
    maps_of((uintptr_t)p, (uintptr_t)p + len);
    int fd = new_uffd();
    if (fd < 0)
        return;
    struct uffdio_register miss = {.range = {(uintptr_t)p, len}, .mode = UFFDIO_REGISTER_MODE_MISSING};
    printf("    register for missing pages: %s\n",
           ioctl(fd, UFFDIO_REGISTER, &miss) == 0 ? "accepted" : strerror(errno));
    close(fd);
    if ((fd = new_uffd()) < 0)
        return;
    struct uffdio_register reg = {.range = {(uintptr_t)p, len}, .mode = UFFDIO_REGISTER_MODE_WP};
    if (ioctl(fd, UFFDIO_REGISTER, &reg) != 0) {
        printf("    register for write protection: %s\n", strerror(errno));
        close(fd);
        return;
    }
    struct uffdio_writeprotect wp = {.range = {(uintptr_t)p, len}, .mode = UFFDIO_WRITEPROTECT_MODE_WP};
    printf("    register for write protection: accepted; protect: %s\n",
           ioctl(fd, UFFDIO_WRITEPROTECT, &wp) == 0 ? "ok" : strerror(errno));
    scan("after protecting", p, len);
    p[4096 + 7] = 1;
    scan("after a CPU store into page 1", p, len);
    close(fd);
}

int main(void)
{
    size_t len = 4 * 4096;
    char *h = NULL;
    cudaError_t e = cudaHostAlloc((void **)&h, len, cudaHostAllocDefault);
    if (e != cudaSuccess) {
        printf("cudaHostAlloc: %s\n", cudaGetErrorString(e));
        return 1;
    }
    memset(h, 0, len);
    probe("cudaHostAlloc memory", h, len);
    char *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(a, 0, len);
    e = cudaHostRegister(a, len, cudaHostRegisterDefault);
    printf("cudaHostRegister of anonymous memory: %s\n", cudaGetErrorString(e));
    probe("cudaHostRegister'd anonymous memory", a, len);
    if (e == cudaSuccess)
        cudaHostUnregister(a);
    cudaFreeHost(h);
    return 0;
}

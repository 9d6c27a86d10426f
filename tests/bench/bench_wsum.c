/*
 * bench_wsum — what the checksum host mode costs (shim/host/gq_wsum.h): the
 * rate at which page checksums are taken and checked, beside memcpy of the
 * same bytes (a copy-back's CPU price in that mode is one checksum pass over
 * the pages it takes from the block).
 *
 *   bench_wsum [MiB]     (default 256)
 *
 * Prints name=value lines: checksum_gbps, memcpy_gbps, checksum_vs_memcpy.
 */
#define _GNU_SOURCE
#include "host/gq_wsum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    size_t n = mib << 20;
    unsigned char *a = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *b = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED || b == MAP_FAILED) {
        fprintf(stderr, "bench_wsum: cannot map 2 x %zu MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        a[i] = (unsigned char)(i * 131 + (i >> 12));
    memset(b, 1, n);
    double best_sum = 1e9, best_cpy = 1e9;
    uint64_t acc = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (size_t off = 0; off < n; off += 4096)
            acc = acc * 31 + gq_wsum_page(a + off);
        double t1 = now();
        memcpy(b, a, n);
        double t2 = now();
        if (t1 - t0 < best_sum)
            best_sum = t1 - t0;
        if (t2 - t1 < best_cpy)
            best_cpy = t2 - t1;
    }
    double gb = (double)n / 1e9;
    printf("bytes=%zu\n", n);
    printf("checksum_gbps=%.2f\n", gb / best_sum);
    printf("memcpy_gbps=%.2f\n", gb / best_cpy);
    printf("checksum_vs_memcpy=%.3f\n", best_sum / best_cpy);
    printf("digest=%016llx\n", (unsigned long long)acc);
    return 0;
}

/*
 * spans — a shim-owned buffer read back after offloads, where every fault
 * installs a span of pages (shim/host/gq_hostmem.c): the bytes at the edges
 * of spans and entries, around pages the program wrote first, in pages no
 * offload touched, and the write tracking of pages a span installed.
 *
 *   spans CASE      (run under GQSHIM_RULES=on=host for "quant" data)
 *     edges     single elements at span and entry edges, out of order, then all
 *     present   pages written before a sequential read keep what was written
 *     syscall   write(2) of the whole buffer reads what the CPU would
 *     wtrack    after a full read, writes to span-filled pages reach a restore
 *     clean     after a full read, a restore of unwritten pages (compressed)
 *     threads   a full read; prints the number of the shim's pool threads
 *     split     reads across a buffer the program split into several kernel
 *               mappings (madvise on single pages, as RDMA registration does)
 *     swap      after a full read, a write to tensor A, then every page
 *               swapped out (MADV_PAGEOUT): A's restore delivers the write;
 *               prints paged_out=1 when the written page's entry is a swap
 *               entry (it stays a page where there is no swap)
 *     race      a full read, then restores deliver what the buffer holds
 *               (under GQTEST_HUGE=race the shim writes moved spans between
 *               their move and protection, as a program thread could)
 *
 * The buffer (BUF) holds tensor A at offset 0 (its end mid-page), a gap of
 * about 1 MiB never offloaded, tensor B starting mid-page, and a tail never
 * offloaded. The last argument says what to expect: quant (the codec's
 * values) or exact (no shim).
 */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_oracle.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define BUF ((size_t)12 << 20)
#define A_OFF ((size_t)0)
#define A_LEN (((size_t)5 << 20) + 2048)
#define B_OFF (A_LEN + ((size_t)1 << 20) + 512)
#define B_LEN ((size_t)3 << 20)

static unsigned char *h, *want;

static void expect_range(size_t off, size_t len, const char *what)
{
    long at = e2e_diff(h + off, want + off, len);
    if (at >= 0)
        FAIL("%s: byte %zu differs (got %02x, want %02x)", what, off + (size_t)at, h[off + at],
             want[off + at]);
}

/* Threads of this process named by the shim's pool (base/gq_pool.c). */
static int pool_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        char path[300], name[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(name, sizeof name, f) && strncmp(name, "gqshim-pool", 11) == 0)
            n++;
        fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

/* Restore [off, off+len) of h to the device and back into a scratch buffer:
 * what a copy-back delivers. */
static void expect_restore(void *dev, size_t off, size_t len, const char *what)
{
    unsigned char *back = malloc(len);
    CK(cudaMemcpy(dev, h + off, len, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(back, dev, len, cudaMemcpyDeviceToHost));
    long at = e2e_diff(back, want + off, len);
    if (at >= 0)
        FAIL("%s: restored byte %zu differs (got %02x, want %02x)", what, off + (size_t)at,
             back[at], want[off + at]);
    free(back);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        FAIL("usage: spans edges|present|syscall|wtrack|clean|threads|race|split|swap quant|exact");
    const char *c = argv[1];
    int quant = strcmp(argv[2], "quant") == 0;
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    unsigned char *src_a = malloc(A_LEN), *src_b = malloc(B_LEN);
    want = calloc(1, BUF);
    e2e_fill(src_a, A_LEN, "f16", 11, 0);
    e2e_fill(src_b, B_LEN, "f16", 12, 0);
    e2e_expect(&p, src_a, A_LEN, quant, want + A_OFF);
    e2e_expect(&p, src_b, B_LEN, quant, want + B_OFF);

    void *d_a, *d_b;
    CK(cudaMalloc(&d_a, A_LEN));
    CK(cudaMalloc(&d_b, B_LEN));
    CK(cudaMemcpy(d_a, src_a, A_LEN, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d_b, src_b, B_LEN, cudaMemcpyHostToDevice));
    CK(cudaMallocHost((void **)&h, BUF));
    CK(cudaMemcpy(h + A_OFF, d_a, A_LEN, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(h + B_OFF, d_b, B_LEN, cudaMemcpyDeviceToHost));

    if (strcmp(c, "edges") == 0) {
        /* Out of order, so that each is a fault of its own: span edges
         * (64 KiB, 2 MiB), entry edges, gap and tail pages. */
        const size_t at[] = {
            (size_t)2 << 20,          ((size_t)2 << 20) - 2, (64u << 10) - 2,   64u << 10,
            A_LEN - 2,                A_LEN,                 A_LEN - 4096,      A_LEN + 4096,
            B_OFF - 2,                B_OFF,                 B_OFF + B_LEN - 2, B_OFF + B_LEN,
            BUF - 2,                  ((size_t)4 << 20) + 4094, 0,               B_OFF + 65536,
        };
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
            if (h[at[i]] != want[at[i]] || h[at[i] + 1] != want[at[i] + 1])
                FAIL("element at byte %zu: got %02x%02x, want %02x%02x", at[i], h[at[i] + 1],
                     h[at[i]], want[at[i] + 1], want[at[i]]);
        }
        expect_range(0, BUF, "the whole buffer after single reads at the edges");
    } else if (strcmp(c, "present") == 0) {
        /* Written before any read: each write faults its own span in, and
         * the sequential read after must leave them as written. */
        const size_t pages[] = {20, 300, 301, 700, 1100, 1500, 2400, 2900};
        for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
            size_t off = pages[i] * 4096 + (i % 2 ? 0 : 100);
            size_t len = i % 2 ? 4096 : 8; /* whole pages and a few bytes */
            memset(h + off, 0x5a + (int)i, len);
            memset(want + off, 0x5a + (int)i, len);
        }
        expect_range(0, BUF, "sequential read around pages written first");
    } else if (strcmp(c, "syscall") == 0) {
        char path[] = "/tmp/gq-spans-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0)
            FAIL("mkstemp");
        unlink(path);
        if (write(fd, h, BUF) != (ssize_t)BUF)
            FAIL("write(2) of the offloaded buffer failed");
        unsigned char *back = malloc(BUF);
        if (pread(fd, back, BUF, 0) != (ssize_t)BUF)
            FAIL("pread");
        long d = e2e_diff(back, want, BUF);
        if (d >= 0)
            FAIL("write(2) wrote byte %ld as %02x, want %02x", d, back[d], want[d]);
        expect_range(0, BUF, "CPU read after write(2)");
    } else if (strcmp(c, "wtrack") == 0 || strcmp(c, "clean") == 0) {
        expect_range(0, BUF, "sequential read");
        if (strcmp(c, "wtrack") == 0) {
            /* Pages a span installed (never faulted on by a write). */
            size_t wa = A_OFF + ((size_t)3 << 20) + 4096 * 7 + 6, wb = B_OFF + B_LEN - 4096 * 9;
            h[wa] ^= 0x55;
            want[wa] ^= 0x55;
            h[wb] ^= 0x33;
            want[wb] ^= 0x33;
        }
        expect_restore(d_a, A_OFF, A_LEN, "tensor A");
        expect_restore(d_b, B_OFF, B_LEN, "tensor B");
    } else if (strcmp(c, "race") == 0) {
        /* Two faults make a sequential reader, then a wait while the fault
         * thread fills ahead (spans growing to 2 MiB; aligned ones are moved)
         * as far as the page after 2 MiB, without touching it. */
        const size_t grow[] = {0, 64u << 10};
        volatile unsigned sum = 0;
        for (size_t i = 0; i < sizeof grow / sizeof grow[0]; i++)
            sum += h[grow[i]];
        unsigned char in = 0;
        for (int i = 0; i < 400 && !(in & 1); i++) {
            if (mincore(h + ((size_t)2 << 20) + 4096, 4096, &in) != 0)
                FAIL("mincore");
            usleep(5000);
        }
        for (size_t i = 0; i < BUF; i += 64)
            sum += h[i];
        memcpy(want, h, BUF); /* whatever it holds now, a copy-back must deliver */
        expect_restore(d_a, A_OFF, A_LEN, "tensor A");
        expect_restore(d_b, B_OFF, B_LEN, "tensor B");
        long at = e2e_diff(h, want, BUF);
        if (at >= 0)
            FAIL("the buffer changed under the restores at byte %ld", at);
    } else if (strcmp(c, "split") == 0) {
        /* A span may not cross a mapping's edge in one install. */
        const size_t at[] = {(size_t)32 << 10, ((size_t)2 << 20) - 4096, B_OFF + ((size_t)1 << 20)};
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
            if (madvise(h + (at[i] & ~(size_t)4095), 4096, MADV_DONTFORK) != 0)
                FAIL("madvise(MADV_DONTFORK) of one page");
        if (h[0] != want[0] || h[1] != want[1])
            FAIL("first element after the split: got %02x%02x", h[1], h[0]);
        expect_range(0, BUF, "sequential read across mapping edges");
        expect_restore(d_a, A_OFF, A_LEN, "tensor A");
        expect_restore(d_b, B_OFF, B_LEN, "tensor B");
    } else if (strcmp(c, "swap") == 0) {
        expect_range(0, BUF, "sequential read");
        size_t wa = A_OFF + ((size_t)3 << 20) + 4096 * 7 + 6;
        h[wa] ^= 0x55;
        want[wa] ^= 0x55;
        if (madvise(h, BUF, MADV_PAGEOUT) != 0)
            FAIL("madvise(MADV_PAGEOUT)");
        /* Out of the page table, a swap entry there (mincore would still
         * count it while its copy sits in the swap cache). */
        uint64_t e = 0;
        int pm = open("/proc/self/pagemap", O_RDONLY);
        if (pm < 0 || pread(pm, &e, sizeof e, (off_t)((uintptr_t)(h + wa) / 4096 * 8)) != 8)
            FAIL("/proc/self/pagemap");
        close(pm);
        printf("paged_out=%d\n", (int)(e >> 62 & 1));
        expect_restore(d_a, A_OFF, A_LEN, "tensor A (written, then swapped out)");
        expect_restore(d_b, B_OFF, B_LEN, "tensor B (swapped out unwritten)");
    } else if (strcmp(c, "threads") == 0) {
        expect_range(0, BUF, "sequential read");
        printf("pool_threads=%d\n", pool_threads());
    } else {
        FAIL("unknown case %s", c);
    }
    printf("spans %s: ok\n", c);
    return 0;
}

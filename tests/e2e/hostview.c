/*
 * hostview — what a program sees in its host buffers around offloads.
 *
 *   hostview CASE HOST EXPECT
 *     CASE   read | write | fwrite | recycle | sigsegv | async | memcpy2d | attrs
 *     HOST   pinned | pageable      the offload buffer
 *     EXPECT exact | quant          no compression expected, or the codec's values
 *
 * Every case offloads a 1 MiB f16 tensor (d_a -> h) first.
 */
#include "e2e.h"
#include "e2e_oracle.h"

#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#define BYTES (1u << 20)

static unsigned char *src, *want, *h;
static void *d_a, *d_b;
static int pinned;

static void *host_alloc(void)
{
    void *p;
    if (pinned)
        CK(cudaMallocHost(&p, BYTES));
    else
        p = malloc(BYTES);
    return p;
}

static void host_free(void *p)
{
    if (pinned)
        CK(cudaFreeHost(p));
    else
        free(p);
}

static void expect_host(const unsigned char *got, const unsigned char *w, const char *what)
{
    long at = e2e_diff(got, w, BYTES);
    if (at >= 0)
        FAIL("%s: byte %ld differs (got %02x, want %02x)", what, at, got[at], w[at]);
}

static void expect_device(const void *d, const unsigned char *w, const char *what)
{
    unsigned char *tmp = malloc(BYTES);
    CK(cudaMemcpy(tmp, d, BYTES, cudaMemcpyDeviceToHost));
    expect_host(tmp, w, what);
    free(tmp);
}

static sigjmp_buf jump;
static volatile sig_atomic_t caught;
static void on_segv(int sig)
{
    (void)sig;
    caught = 1;
    siglongjmp(jump, 1);
}

int main(int argc, char **argv)
{
    if (argc != 4)
        FAIL("usage: hostview CASE pinned|pageable exact|quant");
    const char *c = argv[1];
    pinned = strcmp(argv[2], "pinned") == 0;
    src = malloc(BYTES);
    want = malloc(BYTES);
    e2e_fill(src, BYTES, "f16", 7, 1);
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    e2e_expect(&p, src, BYTES, strcmp(argv[3], "quant") == 0, want);
    CK(cudaMalloc(&d_a, BYTES));
    CK(cudaMalloc(&d_b, BYTES));
    CK(cudaMemcpy(d_a, src, BYTES, cudaMemcpyHostToDevice));
    h = host_alloc();
    cudaStream_t s;
    CK(cudaStreamCreate(&s));

    if (strcmp(c, "async") == 0) {
        /* Fill h with something else first: the offload must replace it. */
        memset(h, 0xee, BYTES);
        CK(cudaMemcpyAsync(h, d_a, BYTES, cudaMemcpyDeviceToHost, s));
        CK(cudaStreamSynchronize(s));
        expect_host(h, want, "CPU read after an async offload and a stream sync");
        puts("hostview async: ok");
        return 0;
    }
    CK(cudaMemcpy(h, d_a, BYTES, cudaMemcpyDeviceToHost));

    if (strcmp(c, "read") == 0) {
        expect_host(h, want, "CPU read after offload");
        CK(cudaMemcpy(d_b, h, BYTES, cudaMemcpyHostToDevice));
        expect_device(d_b, want, "restore after the CPU read");
    } else if (strcmp(c, "write") == 0) {
        /* A whole page, a few bytes on another page, one element at the end. */
        memset(h + 8192, 0x11, 4096);
        memset(want + 8192, 0x11, 4096);
        h[300000] = 0x42;
        want[300000] = 0x42;
        h[BYTES - 1] = 0x7;
        want[BYTES - 1] = 0x7;
        CK(cudaMemcpy(d_b, h, BYTES, cudaMemcpyHostToDevice));
        expect_device(d_b, want, "copy-back after CPU writes");
        /* The untouched rest still reads as the offload left it. */
        expect_host(h, want, "host buffer after writes");
    } else if (strcmp(c, "fwrite") == 0) {
        char path[] = "/tmp/gq-hostview-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0)
            FAIL("mkstemp");
        FILE *f = fdopen(fd, "w+");
        if (fwrite(h, 1, BYTES, f) != BYTES || fflush(f) != 0)
            FAIL("fwrite of the offloaded buffer failed");
        /* And write(2) straight from the buffer, which the kernel reads. */
        if (write(fd, h, BYTES) != (ssize_t)BYTES)
            FAIL("write(2) of the offloaded buffer failed");
        unsigned char *back = malloc(2 * BYTES);
        if (pread(fd, back, 2 * BYTES, 0) != (ssize_t)(2 * BYTES))
            FAIL("reading the file back");
        expect_host(back, want, "file written with fwrite");
        expect_host(back + BYTES, want, "file written with write(2)");
        expect_host(h, want, "CPU read after the file writes");
        fclose(f);
        unlink(path);
    } else if (strcmp(c, "recycle") == 0) {
        /* Free the offloaded buffer, allocate again (often the same address),
         * fill it with new data, upload: exactly the new data must arrive. */
        host_free(h);
        h = host_alloc();
        unsigned char *fresh = malloc(BYTES);
        e2e_fill(fresh, BYTES, "f16", 99, 0);
        memcpy(h, fresh, BYTES);
        CK(cudaMemcpy(d_b, h, BYTES, cudaMemcpyHostToDevice));
        expect_device(d_b, fresh, "upload after free and re-allocation");
        free(fresh);
    } else if (strcmp(c, "sigsegv") == 0) {
        /* The program's own handler gets its own faults; offloaded pages
         * keep working around it. */
        struct sigaction sa = {0};
        sa.sa_handler = on_segv;
        sigaction(SIGSEGV, &sa, NULL);
        int *volatile wild = (int *)(uintptr_t)16;
        if (sigsetjmp(jump, 1) == 0)
            *wild = 1;
        if (!caught)
            FAIL("the program's SIGSEGV handler did not run");
        expect_host(h, want, "CPU read after the program's own fault");
    } else if (strcmp(c, "memcpy2d") == 0) {
        /* An API the shim does not intercept reads the offloaded buffer. */
        CK(cudaMemcpy2D(d_b, 4096, h, 4096, 4096, BYTES / 4096, cudaMemcpyHostToDevice));
        expect_device(d_b, want, "cudaMemcpy2D from the offloaded buffer");
    } else if (strcmp(c, "attrs") == 0) {
        struct cudaPointerAttributes a;
        CK(cudaPointerGetAttributes(&a, h + 100));
        if (pinned && a.type != cudaMemoryTypeHost)
            FAIL("pinned buffer reported as type %d", (int)a.type);
        expect_host(h, want, "CPU read");
    } else {
        FAIL("unknown case %s", c);
    }
    printf("hostview %s %s: ok\n", c, argv[2]);
    return 0;
}

/*
 * modes — copy-backs after every kind of host access, in whatever host mode
 * the shim runs (tests/e2e/t_modes.sh runs it in each).
 *
 *   modes pinned|pageable exact|quant
 *
 * Seven 1 MiB f16 tensors are offloaded from the GPU into seven host buffers
 * (pinned: cudaMallocHost; pageable: malloc), then each buffer is accessed
 * one way and copied back to the GPU:
 *   0 untouched               4 write(2) from it (the kernel reads it)
 *   1 one CPU store           5 overwritten whole (memset)
 *   2 read(2) into it         6 one byte stored with the value it holds
 *   3 read by the CPU (every byte)
 * After each copy-back the GPU's bytes must equal the host buffer's bytes,
 * exactly: never the stale compressed data. Buffer 0 must hold the codec's
 * values (quant) or the original (exact). Last, a pinned buffer is freed
 * while an offload into it is still queued. Under the shim, 0, 3 and 4 may be
 * restored compressed; 1, 2 and 5 never; 6 only where page checksums (not
 * write protection, which sees the store) decide (the stats say which were).
 */
#include "e2e.h"
#include "e2e_oracle.h"

#include <errno.h>
#include <unistd.h>

#define BYTES (1u << 20)
#define N 7

int main(int argc, char **argv)
{
    if (argc != 3)
        FAIL("usage: modes pinned|pageable exact|quant");
    int pinned = strcmp(argv[1], "pinned") == 0;
    unsigned char *src = malloc(BYTES), *want = malloc(BYTES), *back = malloc(BYTES);
    unsigned char *h[N];
    void *d_a, *d_b;
    CK(cudaMalloc(&d_a, BYTES));
    CK(cudaMalloc(&d_b, BYTES));
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    for (int i = 0; i < N; i++) {
        if (pinned)
            CK(cudaMallocHost((void **)&h[i], BYTES));
        else
            h[i] = malloc(BYTES);
        e2e_fill(src, BYTES, "f16", 11 + (uint64_t)i, 0);
        if (i == 0)
            e2e_expect(&p, src, BYTES, strcmp(argv[2], "quant") == 0, want);
        CK(cudaMemcpy(d_a, src, BYTES, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(h[i], d_a, BYTES, cudaMemcpyDeviceToHost));
    }
    CK(cudaDeviceSynchronize());
    if (memcmp(h[0], want, BYTES) != 0)
        FAIL("buffer 0 after the offload: byte %ld differs from the expected values",
             e2e_diff(h[0], want, BYTES));

    int pfd[2];
    if (pipe(pfd) != 0)
        FAIL("pipe");
    volatile unsigned sum = 0;
    h[1][BYTES / 2 + 3] ^= 0x5a;
    if (write(pfd[1], "\x11\x22\x33\x44\x55\x66\x77", 7) != 7 ||
        read(pfd[0], h[2] + BYTES / 3, 7) != 7)
        FAIL("read(2) into the host buffer: %s", strerror(errno));
    for (size_t k = 0; k < BYTES; k++)
        sum += h[3][k];
    if (write(pfd[1], h[4] + 8192, 4096) != 4096 || read(pfd[0], back, 4096) != 4096 ||
        memcmp(back, h[4] + 8192, 4096) != 0)
        FAIL("write(2) from the host buffer");
    memset(h[5], 0x3c, BYTES);
    volatile unsigned char *same = h[6] + 3 * 4096 + 5;
    *same = *same;

    for (int i = 0; i < N; i++) {
        CK(cudaMemset(d_b, 0, BYTES));
        CK(cudaMemcpy(d_b, h[i], BYTES, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(back, d_b, BYTES, cudaMemcpyDeviceToHost));
        long at = e2e_diff(back, h[i], BYTES);
        if (at >= 0)
            FAIL("buffer %d: the GPU got byte %ld = %#x, the host buffer holds %#x", i, at,
                 back[at], h[i][at]);
    }
    if (pinned) {
        /* Freed while an offload into it is still queued: cudaFreeHost
         * synchronizes first, the late decode must not touch freed memory. */
        cudaStream_t s;
        unsigned char *late;
        CK(cudaStreamCreate(&s));
        CK(cudaMallocHost((void **)&late, BYTES));
        CK(cudaMemcpyAsync(late, d_a, BYTES, cudaMemcpyDeviceToHost, s));
        CK(cudaFreeHost(late));
        CK(cudaStreamDestroy(s));
    }
    for (int i = 0; i < N; i++) {
        if (pinned)
            CK(cudaFreeHost(h[i]));
        else
            free(h[i]);
    }
    CK(cudaFree(d_a));
    CK(cudaFree(d_b));
    free(src);
    free(want);
    free(back);
    (void)sum;
    return 0;
}

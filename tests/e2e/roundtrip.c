/*
 * roundtrip — offload a tensor from the GPU to host memory and bring it back,
 * as an offloading inference program does; check every byte.
 *
 *   roundtrip DTYPE BITS GROUP COLS BYTES MODE HOST EXPECT
 *     DTYPE  f16 | bf16 | f32          (tells the oracle how to read the data)
 *     BITS GROUP COLS                  the codec parameters the rule uses (COLS 0: dim=last)
 *     MODE   sync | async | ptds       cudaMemcpy, cudaMemcpyAsync on a stream,
 *                                      cudaMemcpyAsync on the per-thread default stream
 *     HOST   pinned | pageable         the offload buffer
 *     EXPECT exact | quant             no compression expected, or the codec's values
 *
 * Steps: upload the data to d_a; offload d_a -> h (check h); restore
 * h -> d_b (check d_b through a plain copy into pageable memory); restore a
 * group-unaligned slice of h into the middle of d_c (check); restore into a
 * second device buffer after the host buffer was written by the CPU (check
 * that the write arrives, never stale data); the runtime's last error is
 * still cudaSuccess at the end.
 */
#include "e2e.h"
#include "e2e_oracle.h"

static enum cudaMemcpyKind D2H = cudaMemcpyDeviceToHost, H2D = cudaMemcpyHostToDevice;

static void copy(void *dst, const void *src, size_t n, enum cudaMemcpyKind k, const char *mode,
                 cudaStream_t s)
{
    if (strcmp(mode, "sync") == 0) {
        CK(cudaMemcpy(dst, src, n, k));
    } else if (strcmp(mode, "ptds") == 0) {
        CK(cudaMemcpyAsync(dst, src, n, k, cudaStreamPerThread));
        CK(cudaStreamSynchronize(cudaStreamPerThread));
    } else {
        CK(cudaMemcpyAsync(dst, src, n, k, s));
        CK(cudaStreamSynchronize(s));
    }
}

static void check_device(const void *d, const void *want, size_t n, const char *what)
{
    void *h = malloc(n);
    CK(cudaMemcpy(h, d, n, D2H));
    long at = e2e_diff(h, want, n);
    if (at >= 0)
        FAIL("%s: byte %ld differs (got %02x, want %02x)", what, at, ((unsigned char *)h)[at],
             ((const unsigned char *)want)[at]);
    free(h);
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: roundtrip DTYPE BITS GROUP COLS BYTES MODE HOST EXPECT\n");
        return 2;
    }
    const char *dtype = argv[1], *mode = argv[6], *host = argv[7], *expect = argv[8];
    struct gq_params p = {(uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]),
                          strcmp(dtype, "f32") == 0 ? GQ_F32
                          : strcmp(dtype, "bf16") == 0 ? GQ_BF16 : GQ_F16,
                          atoi(argv[4]) ? GQ_DIM_0 : GQ_DIM_LAST, (uint64_t)atoll(argv[4])};
    size_t bytes = (size_t)atoll(argv[5]);
    size_t esize = gq_dtype_size(p.dtype);

    unsigned char *src = malloc(bytes), *want = malloc(bytes);
    e2e_fill(src, bytes, dtype, 42, 1);
    e2e_expect(&p, src, bytes, strcmp(expect, "quant") == 0, want);

    cudaStream_t s;
    CK(cudaStreamCreate(&s));
    void *d_a, *d_b, *d_c;
    CK(cudaMalloc(&d_a, bytes));
    CK(cudaMalloc(&d_b, bytes));
    CK(cudaMalloc(&d_c, bytes));
    unsigned char *h;
    if (strcmp(host, "pinned") == 0)
        CK(cudaMallocHost((void **)&h, bytes));
    else
        h = malloc(bytes);

    CK(cudaMemcpy(d_a, src, bytes, H2D));
    copy(h, d_a, bytes, D2H, mode, s);
    long at = e2e_diff(h, want, bytes);
    if (at >= 0)
        FAIL("offloaded host buffer: byte %ld differs (got %02x, want %02x)", at, h[at], want[at]);

    copy(d_b, h, bytes, H2D, mode, s);
    check_device(d_b, want, bytes, "full restore");

    /* A slice that starts and ends inside groups, restored at another offset. */
    size_t off = (bytes / 3) / esize * esize + 5 * esize, len = bytes / 2 / esize * esize;
    if (p.axis == GQ_DIM_LAST && off + len <= bytes) {
        CK(cudaMemset(d_c, 0, bytes));
        copy((char *)d_c + 7 * esize, h + off, len, H2D, mode, s);
        unsigned char *w2 = calloc(1, bytes);
        memcpy(w2 + 7 * esize, want + off, len);
        check_device(d_c, w2, bytes, "partial restore");
        free(w2);
    }

    /* The program writes its host buffer: the next upload must carry it. */
    h[bytes / 2] ^= 0x5a;
    want[bytes / 2] ^= 0x5a;
    copy(d_c, h, bytes, H2D, mode, s);
    check_device(d_c, want, bytes, "restore after a CPU write");

    /* Every call above succeeded, so the last error is still none: whatever
     * the shim called meanwhile must not have set it. */
    CK(cudaPeekAtLastError());
    printf("roundtrip %s bits=%u group=%u cols=%llu bytes=%zu %s %s: ok (%s)\n", dtype, p.bits,
           p.group, (unsigned long long)p.cols, bytes, mode, host, expect);
    CK(cudaFree(d_a));
    CK(cudaFree(d_b));
    CK(cudaFree(d_c));
    if (strcmp(host, "pinned") == 0)
        CK(cudaFreeHost(h));
    else
        free(h);
    CK(cudaStreamDestroy(s));
    free(src);
    free(want);
    return 0;
}

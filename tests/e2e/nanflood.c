/*
 * nanflood — a tensor where most groups hold NaN or Inf (uninitialised or
 * diverged memory) is offloaded asynchronously and brought back: more groups
 * need escaping than a compressed block keeps, and the data must still come
 * back bit for bit.
 *
 *   nanflood HOST      HOST: pinned | pageable
 */
#include "e2e.h"

#define BYTES (1u << 20)

int main(int argc, char **argv)
{
    int pinned = argc > 1 && strcmp(argv[1], "pinned") == 0;
    uint16_t *src = malloc(BYTES), *back = malloc(BYTES), *h;
    e2e_fill(src, BYTES, "f16", 11, 0);
    for (size_t i = 0; i < BYTES / 2; i += 64 * 3)
        src[i + 5] = (uint16_t)(0x7c01 + (i & 0x1ff)); /* NaNs with payloads, every third group */
    for (size_t i = 64; i < BYTES / 2; i += 64 * 7)
        src[i] = 0xfc00; /* -Inf */
    if (pinned)
        CK(cudaMallocHost((void **)&h, BYTES));
    else
        h = malloc(BYTES);
    void *d_a, *d_b;
    CK(cudaMalloc(&d_a, BYTES));
    CK(cudaMalloc(&d_b, BYTES));
    cudaStream_t s;
    CK(cudaStreamCreate(&s));
    CK(cudaMemcpy(d_a, src, BYTES, cudaMemcpyHostToDevice));
    CK(cudaMemcpyAsync(h, d_a, BYTES, cudaMemcpyDeviceToHost, s));
    /* Overwrite the source right after, in stream order: an offload that
     * fell back to the raw source must have taken it before this. */
    CK(cudaMemsetAsync(d_a, 0, BYTES, s));
    CK(cudaStreamSynchronize(s));
    long at = e2e_diff(h, src, BYTES);
    if (at >= 0)
        FAIL("host buffer: byte %ld differs", at);
    CK(cudaMemcpyAsync(d_b, h, BYTES, cudaMemcpyHostToDevice, s));
    CK(cudaMemcpyAsync(back, d_b, BYTES, cudaMemcpyDeviceToHost, s));
    CK(cudaStreamSynchronize(s));
    at = e2e_diff(back, src, BYTES);
    if (at >= 0)
        FAIL("restored tensor: byte %ld differs", at);
    printf("nanflood %s: ok\n", pinned ? "pinned" : "pageable");
    return 0;
}

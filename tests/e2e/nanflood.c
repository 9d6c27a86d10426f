/*
 * nanflood — a tensor where most groups hold NaN or Inf (uninitialised or
 * diverged memory) is offloaded asynchronously and brought back: more groups
 * need escaping than a compressed block keeps, and the data must still come
 * back bit for bit.
 *
 *   nanflood HOST [EVERY quant]
 *
 * HOST: pinned | pageable. Without EVERY, a third of the groups hold a NaN
 * and a seventh -Inf, and every byte must come back exact (the shim copies
 * such a tensor raw). With EVERY N, one group in N holds a NaN, and with
 * `quant` the tensor must come back as the codec's round trip: compressed,
 * with those groups exact.
 */
#include "e2e.h"
#include "e2e_oracle.h"

#define BYTES (1u << 20)

int main(int argc, char **argv)
{
    int pinned = argc > 1 && strcmp(argv[1], "pinned") == 0;
    size_t every = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
    int quant = argc > 3 && strcmp(argv[3], "quant") == 0;
    uint16_t *src = malloc(BYTES), *back = malloc(BYTES), *want = malloc(BYTES), *h;
    e2e_fill(src, BYTES, "f16", 11, 0);
    if (every) {
        for (size_t i = 0; i < BYTES / 2; i += 64 * every)
            src[i + 9] = (uint16_t)(0x7e00 + (i & 0xff)); /* NaNs with payloads */
    } else {
        for (size_t i = 0; i < BYTES / 2; i += 64 * 3)
            src[i + 5] = (uint16_t)(0x7c01 + (i & 0x1ff)); /* NaNs with payloads, every third group */
        for (size_t i = 64; i < BYTES / 2; i += 64 * 7)
            src[i] = 0xfc00; /* -Inf */
    }
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    e2e_expect(&p, src, BYTES, quant, want);
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
    long at = e2e_diff(h, want, BYTES);
    if (at >= 0)
        FAIL("host buffer: byte %ld differs", at);
    CK(cudaMemcpyAsync(d_b, h, BYTES, cudaMemcpyHostToDevice, s));
    CK(cudaMemcpyAsync(back, d_b, BYTES, cudaMemcpyDeviceToHost, s));
    CK(cudaStreamSynchronize(s));
    at = e2e_diff(back, want, BYTES);
    if (at >= 0)
        FAIL("restored tensor: byte %ld differs", at);
    printf("nanflood %s: ok\n", pinned ? "pinned" : "pageable");
    return 0;
}

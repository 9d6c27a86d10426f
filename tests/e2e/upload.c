/*
 * upload — weights filled on the CPU into a pinned buffer, uploaded five
 * times; with upload=compress every upload must deliver exactly the codec's
 * values (so all five are identical and within the codec's bound), and a CPU
 * write afterwards must arrive with the next upload.
 *
 *   upload COLS EXPECT      COLS: 0 for dim=last, else the matrix's columns (dim=0)
 *                           EXPECT: exact | quant
 */
#include "e2e.h"
#include "e2e_oracle.h"

#define BYTES (2u << 20)

int main(int argc, char **argv)
{
    if (argc != 3)
        FAIL("usage: upload COLS exact|quant");
    uint64_t cols = (uint64_t)atoll(argv[1]);
    struct gq_params p = {4, 64, GQ_F16, cols ? GQ_DIM_0 : GQ_DIM_LAST, cols};
    unsigned char *h, *want = malloc(BYTES), *got = malloc(BYTES);
    CK(cudaMallocHost((void **)&h, BYTES));
    e2e_fill(h, BYTES, "f16", 3, 1);
    e2e_expect(&p, h, BYTES, strcmp(argv[2], "quant") == 0, want);
    void *d;
    CK(cudaMalloc(&d, BYTES));
    for (int i = 0; i < 5; i++) {
        CK(cudaMemcpy(d, h, BYTES, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(got, d, BYTES, cudaMemcpyDeviceToHost));
        long at = e2e_diff(got, want, BYTES);
        if (at >= 0)
            FAIL("upload %d: byte %ld differs (got %02x, want %02x)", i + 1, at, got[at], want[at]);
    }
    /* The host view is what the uploads deliver. */
    long at = e2e_diff(h, want, BYTES);
    if (at >= 0)
        FAIL("host buffer after the uploads: byte %ld differs", at);
    /* New weights written by the CPU: the next upload carries them (compressed
     * again under upload=compress, so the codec's values of the new data). */
    e2e_fill(h, BYTES, "f16", 4, 0);
    e2e_expect(&p, h, BYTES, strcmp(argv[2], "quant") == 0, want);
    CK(cudaMemcpy(d, h, BYTES, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(got, d, BYTES, cudaMemcpyDeviceToHost));
    at = e2e_diff(got, want, BYTES);
    if (at >= 0)
        FAIL("upload after a CPU rewrite: byte %ld differs", at);
    printf("upload cols=%llu: ok (%s)\n", (unsigned long long)cols, argv[2]);
    return 0;
}

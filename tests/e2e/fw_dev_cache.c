/*
 * fw_dev_cache.c — PyTorch's device caching allocator: cudaMalloc'd
 * segments of 2 MiB (small tensors) and 20 MiB (large ones), tensors of
 * every dtype carved out at 512-byte-aligned offsets, offloaded to the CPU
 * (`.to("cpu")`: a D2H copy into pageable memory, then synchronize) and
 * brought back into the same place. The f16 activations are the target;
 * int64 ids, fp32 logits and bf16 weights share the segments.
 */
#include "fw.h"

#define MiB (1u << 20)

struct tensor {
    enum fw_kind kind;
    int seg;       /* 0: the 2 MiB segment, 1: the 20 MiB one */
    size_t off, bytes;
    int target;
};

int main(int argc, char **argv)
{
    fw_args(argc, argv);
    static const struct tensor ts[] = {
        {FW_I64, 0, 0, 64 * 1024, 0},              /* input ids */
        {FW_F16, 0, 64 * 1024, 1 * MiB, 1},        /* a small activation */
        {FW_F32, 0, 64 * 1024 + MiB, 512 * 1024, 0}, /* logits of one step */
        {FW_F16, 1, 0, 4 * MiB, 1},                /* hidden states */
        {FW_BF16, 1, 8 * MiB, 4 * MiB, 0},         /* a bf16 weight */
        {FW_F32, 1, 12 * MiB, 2 * MiB, 0},         /* fp32 scores */
        {FW_I64, 1, 18 * MiB, 2 * MiB, 0},         /* position ids */
    };
    char *seg[2];
    CK(cudaMalloc((void **)&seg[0], 2 * MiB));
    CK(cudaMalloc((void **)&seg[1], 20 * MiB));
    void *src = malloc(4 * MiB), *host = malloc(4 * MiB), *got = malloc(4 * MiB);
    if (!src || !host || !got)
        FAIL("out of memory");
    cudaStream_t s;
    CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            const struct tensor *t = &ts[i];
            char *d = seg[t->seg] + t->off;
            fw_fill(src, t->bytes, t->kind, (uint64_t)(round * 32 + i));
            CK(cudaMemcpyAsync(d, src, t->bytes, cudaMemcpyHostToDevice, s));
            CK(cudaMemcpyAsync(host, d, t->bytes, cudaMemcpyDeviceToHost, s)); /* .to("cpu") */
            CK(cudaStreamSynchronize(s));
            fw_check("offloaded", host, src, t->bytes, t->kind, t->target);
            CK(cudaMemcpyAsync(d, host, t->bytes, cudaMemcpyHostToDevice, s)); /* back */
            CK(cudaMemcpyAsync(got, d, t->bytes, cudaMemcpyDeviceToHost, s));
            CK(cudaStreamSynchronize(s));
            /* Back in place, the tensor is what the host held; reading it
             * again is one more offload: a target's round trip once more. */
            fw_check("read again", got, host, t->bytes, t->kind, t->target);
        }
    }
    fw_report("fw_dev_cache");
    return 0;
}

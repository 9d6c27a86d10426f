/*
 * fw_gguf.c — llama.cpp's pinned host buffer (cudaMallocHost, its
 * "CUDA_Host" buffer type) holding a model's tensors as GGUF lays them out:
 * Q4_0 and Q8_0 weight blocks (not floats at all), an f16 tensor (the
 * target) and fp32 norm weights, 32-byte aligned; each batch uploads every
 * tensor to the device (H2D) and computes there.
 */
#include "fw.h"

#define MiB (1024u * 1024u)
#define BATCHES 3

int main(int argc, char **argv)
{
    fw_args(argc, argv);
    static const struct { enum fw_kind kind; size_t bytes; int target; } ts[] = {
        {FW_Q4_0, 18u * 262144u, 0}, /* 4.5 MiB of Q4_0 blocks */
        {FW_Q8_0, 34u * 131072u, 0}, /* 4.25 MiB of Q8_0 blocks */
        {FW_F16, 4 * MiB, 1},        /* token embeddings, f16 */
        {FW_F32, 64 * 1024, 0},      /* norm weights, fp32 */
    };
    size_t off[4], total = 0;
    for (int i = 0; i < 4; i++) {
        off[i] = total;
        total += (ts[i].bytes + 31) / 32 * 32;
    }
    char *host, *dev;
    CK(cudaMallocHost((void **)&host, 16 * MiB));
    CK(cudaMalloc((void **)&dev, 16 * MiB));
    char *orig = malloc(total), *got = malloc(5 * MiB);
    if (!orig || !got || total > 16 * MiB)
        FAIL("out of memory");
    for (int i = 0; i < 4; i++) {
        fw_fill(orig + off[i], ts[i].bytes, ts[i].kind, (uint64_t)(i + 1));
        memcpy(host + off[i], orig + off[i], ts[i].bytes); /* the model file, read into the buffer */
    }
    cudaStream_t s;
    CK(cudaStreamCreate(&s));
    for (int b = 0; b < BATCHES; b++)
        for (int i = 0; i < 4; i++) {
            CK(cudaMemcpyAsync(dev + off[i], host + off[i], ts[i].bytes, cudaMemcpyHostToDevice, s));
            CK(cudaStreamSynchronize(s));
            CK(cudaMemcpy(got, dev + off[i], ts[i].bytes, cudaMemcpyDeviceToHost)); /* pageable */
            fw_check("uploaded", got, orig + off[i], ts[i].bytes, ts[i].kind, ts[i].target);
            /* the host buffer holds what the uploads deliver */
            fw_check("host buffer", host + off[i], orig + off[i], ts[i].bytes, ts[i].kind, ts[i].target);
        }
    fw_report("fw_gguf");
    return 0;
}

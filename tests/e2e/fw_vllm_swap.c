/*
 * fw_vllm_swap.c — vLLM's KV swap: one large pinned CPU KV tensor and one
 * device KV tensor (bf16), paged into blocks; each scheduler step swaps some
 * sequences' blocks out (D2H) and others in (H2D), one cudaMemcpyAsync per
 * block, at block offsets, on a swap stream. Block sizes vary per "layer
 * group" from 16 KiB to 2 MiB. Every swapped block is a target.
 */
#include "fw.h"

#define KiB 1024u
#define MiB (1024u * 1024u)
#define CPU_KV (24 * MiB)
#define DEV_KV (24 * MiB)
#define STEPS 4

int main(int argc, char **argv)
{
    fw_args(argc, argv);
    static const size_t block_sizes[] = {16 * KiB, 64 * KiB, 256 * KiB, 2 * MiB};
    char *cpu_kv, *dev_kv;
    CK(cudaHostAlloc((void **)&cpu_kv, CPU_KV, cudaHostAllocDefault));
    CK(cudaMalloc((void **)&dev_kv, DEV_KV));
    char *src = malloc(DEV_KV), *got = malloc(2 * MiB), *want = malloc(2 * MiB);
    if (!src || !got || !want)
        FAIL("out of memory");
    fw_fill(src, DEV_KV, FW_BF16, 1);
    CK(cudaMemcpy(dev_kv, src, DEV_KV, cudaMemcpyHostToDevice));
    cudaStream_t swap;
    CK(cudaStreamCreateWithFlags(&swap, cudaStreamNonBlocking));
    for (int step = 0; step < STEPS; step++) {
        size_t bs = block_sizes[step % 4], nblk = DEV_KV / bs;
        /* swap out: device block i -> cpu block (i * 7 + step) % n, every
         * third block, many copies per step */
        for (size_t i = 0; i < nblk; i += 3) {
            size_t j = (i * 7 + (size_t)step) % nblk;
            CK(cudaMemcpyAsync(cpu_kv + j * bs, dev_kv + i * bs, bs, cudaMemcpyDeviceToHost, swap));
        }
        CK(cudaStreamSynchronize(swap));
        for (size_t i = 0; i < nblk; i += 3) {
            size_t j = (i * 7 + (size_t)step) % nblk;
            fw_check_or_raw("swapped out", cpu_kv + j * bs, src + i * bs, bs, FW_BF16);
        }
        /* swap in: cpu block j -> device block i (the same pairs); what
         * arrives is what the CPU tensor holds */
        for (size_t i = 0; i < nblk; i += 3) {
            size_t j = (i * 7 + (size_t)step) % nblk;
            CK(cudaMemcpyAsync(dev_kv + i * bs, cpu_kv + j * bs, bs, cudaMemcpyHostToDevice, swap));
        }
        CK(cudaStreamSynchronize(swap));
        for (size_t i = 0; i < nblk; i += 3) {
            size_t j = (i * 7 + (size_t)step) % nblk;
            void *dst = malloc(bs);
            CK(cudaMemcpy(dst, dev_kv + i * bs, bs, cudaMemcpyDeviceToHost)); /* pageable: not a rule's */
            if (e2e_diff(dst, cpu_kv + j * bs, bs) >= 0)
                FAIL("step %d block %zu: swapped in differs from the CPU tensor", step, i);
            memcpy(src + i * bs, dst, bs); /* the device now holds this */
            free(dst);
        }
    }
    fw_report("fw_vllm_swap");
    return 0;
}

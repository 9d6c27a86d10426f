/*
 * fw_pinned_cache.c — PyTorch's pinned-host caching allocator, as
 * `tensor.to("cpu", non_blocking=True)` and `.to("cuda", non_blocking=True)`
 * use it: requests round up to a power of two, a freed block goes back to
 * the cache once the events of the streams that used it have completed, and
 * the next request of that size gets it, whatever its dtype. Each step
 * offloads an f16 KV tensor (the target), a bf16 KV tensor, fp32 logits and
 * int64 token ids through the same 1 MiB blocks: a non-blocking D2H on the
 * compute stream, an event, an H2D back on a second stream that waits for
 * it.
 */
#include "fw.h"

#define BLOCK (1u << 20)
#define NBLOCKS 3
#define STEPS 6

struct block {
    void *host;
    cudaEvent_t last_use; /* recorded on every stream that used the block */
    int busy;
};

static struct block cache[NBLOCKS];

/* The allocator's malloc: the next idle block whose last use is over,
 * searching round the cache from the last one handed out (so which block a
 * tensor gets does not depend on how fast the events complete). */
static struct block *cache_get(void)
{
    static int next;
    for (;;)
        for (int k = 0; k < NBLOCKS; k++) {
            int i = (next + k) % NBLOCKS;
            if (!cache[i].busy && cudaEventQuery(cache[i].last_use) == cudaSuccess) {
                cache[i].busy = 1;
                next = (i + 1) % NBLOCKS;
                return &cache[i];
            }
        }
}

static void cache_put(struct block *b, cudaStream_t used_on)
{
    CK(cudaEventRecord(b->last_use, used_on));
    b->busy = 0;
}

int main(int argc, char **argv)
{
    fw_args(argc, argv);
    static const struct { enum fw_kind kind; size_t bytes; int target; } tensors[] = {
        {FW_F16, BLOCK, 1},            /* f16 KV of one layer: the target */
        {FW_BF16, BLOCK, 0},           /* another model's bf16 KV */
        {FW_F32, BLOCK - 4096, 0},     /* fp32 logits, rounded up into the block */
        {FW_I64, 256 * 1024, 0},       /* int64 token ids, a quarter of a block */
    };
    cudaStream_t compute, copy;
    void *dev, *back, *src, *seen, *got;
    CK(cudaStreamCreateWithFlags(&compute, cudaStreamNonBlocking));
    CK(cudaStreamCreateWithFlags(&copy, cudaStreamNonBlocking));
    for (int i = 0; i < NBLOCKS; i++) {
        CK(cudaHostAlloc(&cache[i].host, BLOCK, cudaHostAllocDefault));
        CK(cudaEventCreateWithFlags(&cache[i].last_use, cudaEventDisableTiming));
    }
    CK(cudaMalloc(&dev, BLOCK));
    CK(cudaMalloc(&back, BLOCK));
    src = malloc(BLOCK);
    seen = malloc(BLOCK);
    got = malloc(BLOCK);
    if (!src || !seen || !got)
        FAIL("out of memory");
    for (int step = 0; step < STEPS; step++) {
        for (size_t t = 0; t < sizeof tensors / sizeof tensors[0]; t++) {
            size_t n = tensors[t].bytes;
            enum fw_kind k = tensors[t].kind;
            fw_fill(src, n, k, (uint64_t)(step * 16 + t));
            CK(cudaMemcpy(dev, src, n, cudaMemcpyHostToDevice));
            struct block *b = cache_get();
            cudaEvent_t offloaded;
            CK(cudaEventCreateWithFlags(&offloaded, cudaEventDisableTiming));
            CK(cudaMemcpyAsync(b->host, dev, n, cudaMemcpyDeviceToHost, compute)); /* .to("cpu") */
            CK(cudaEventRecord(offloaded, compute));
            CK(cudaStreamWaitEvent(copy, offloaded, 0));
            CK(cudaMemcpyAsync(back, b->host, n, cudaMemcpyHostToDevice, copy)); /* .to("cuda") */
            CK(cudaStreamSynchronize(copy));
            memcpy(seen, b->host, n); /* what the CPU side of the program reads */
            CK(cudaMemcpy(got, back, n, cudaMemcpyDeviceToHost));
            fw_check("host copy", seen, src, n, k, tensors[t].target);
            fw_check("round trip", got, src, n, k, tensors[t].target);
            cache_put(b, copy);
            CK(cudaEventDestroy(offloaded));
        }
    }
    CK(cudaDeviceSynchronize());
    fw_report("fw_pinned_cache");
    return 0;
}

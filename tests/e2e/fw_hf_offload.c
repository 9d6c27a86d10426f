/*
 * fw_hf_offload.c — transformers' OffloadedCache: after a layer has run,
 * its K and V (f16, on the device) are copied to freshly pinned CPU tensors
 * (non-blocking D2H on the compute stream); before the layer runs again,
 * the next layer's K/V are prefetched back to the device on a second
 * stream, and the compute stream waits for that stream's event. The pinned
 * tensors of the previous step are freed. Next to them the program keeps
 * pinned tensors of the same size with other contents (fp32 attention
 * scores, int64 cache positions) that travel the same way.
 */
#include "fw.h"

#define LAYERS 4
#define KV (1024u * 1024u) /* one layer's K (or V): 1 MiB of f16 */
#define STEPS 2

int main(int argc, char **argv)
{
    fw_args(argc, argv);
    cudaStream_t compute, prefetch;
    CK(cudaStreamCreateWithFlags(&compute, cudaStreamNonBlocking));
    CK(cudaStreamCreateWithFlags(&prefetch, cudaStreamNonBlocking));
    char *dev[LAYERS][2];
    char *src[LAYERS][2];
    for (int l = 0; l < LAYERS; l++)
        for (int kv = 0; kv < 2; kv++) {
            CK(cudaMalloc((void **)&dev[l][kv], KV));
            src[l][kv] = malloc(KV);
            if (!src[l][kv])
                FAIL("out of memory");
        }
    char *aux_dev, *aux_src = malloc(KV), *got = malloc(KV);
    CK(cudaMalloc((void **)&aux_dev, KV));
    if (!aux_src || !got)
        FAIL("out of memory");
    for (int step = 0; step < STEPS; step++) {
        char *cpu[LAYERS][2];
        /* forward: each layer writes its K/V, which go to fresh pinned tensors */
        for (int l = 0; l < LAYERS; l++)
            for (int kv = 0; kv < 2; kv++) {
                fw_fill(src[l][kv], KV, FW_F16, (uint64_t)(step * 100 + l * 2 + kv));
                CK(cudaMemcpyAsync(dev[l][kv], src[l][kv], KV, cudaMemcpyHostToDevice, compute));
                CK(cudaHostAlloc((void **)&cpu[l][kv], KV, cudaHostAllocDefault));
                CK(cudaMemcpyAsync(cpu[l][kv], dev[l][kv], KV, cudaMemcpyDeviceToHost, compute));
            }
        /* the same path for pinned tensors that are not KV */
        for (int a = 0; a < 2; a++) {
            enum fw_kind k = a ? FW_I64 : FW_F32;
            char *pin;
            fw_fill(aux_src, KV, k, (uint64_t)(step * 10 + a));
            CK(cudaMemcpyAsync(aux_dev, aux_src, KV, cudaMemcpyHostToDevice, compute));
            CK(cudaHostAlloc((void **)&pin, KV, cudaHostAllocDefault));
            CK(cudaMemcpyAsync(pin, aux_dev, KV, cudaMemcpyDeviceToHost, compute));
            CK(cudaStreamSynchronize(compute));
            fw_check("aux offloaded", pin, aux_src, KV, k, 0);
            CK(cudaMemcpyAsync(aux_dev, pin, KV, cudaMemcpyHostToDevice, prefetch));
            CK(cudaStreamSynchronize(prefetch));
            CK(cudaMemcpy(got, aux_dev, KV, cudaMemcpyDeviceToHost));
            fw_check("aux back", got, aux_src, KV, k, 0);
            CK(cudaFreeHost(pin));
        }
        cudaEvent_t done;
        CK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
        CK(cudaEventRecord(done, compute));
        /* next step: prefetch layer l+1 while layer l computes */
        for (int l = 0; l < LAYERS; l++) {
            cudaEvent_t ready;
            CK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
            CK(cudaStreamWaitEvent(prefetch, done, 0));
            for (int kv = 0; kv < 2; kv++)
                CK(cudaMemcpyAsync(dev[l][kv], cpu[l][kv], KV, cudaMemcpyHostToDevice, prefetch));
            CK(cudaEventRecord(ready, prefetch));
            CK(cudaStreamWaitEvent(compute, ready, 0));
            CK(cudaStreamSynchronize(compute));
            for (int kv = 0; kv < 2; kv++) {
                fw_check("K/V offloaded", cpu[l][kv], src[l][kv], KV, FW_F16, 1);
                CK(cudaMemcpy(got, dev[l][kv], KV, cudaMemcpyDeviceToHost)); /* pageable */
                if (e2e_diff(got, cpu[l][kv], KV) >= 0)
                    FAIL("step %d layer %d: prefetched K/V differ from the CPU copy", step, l);
            }
            CK(cudaEventDestroy(ready));
        }
        for (int l = 0; l < LAYERS; l++)
            for (int kv = 0; kv < 2; kv++)
                CK(cudaFreeHost(cpu[l][kv]));
        CK(cudaEventDestroy(done));
    }
    fw_report("fw_hf_offload");
    return 0;
}

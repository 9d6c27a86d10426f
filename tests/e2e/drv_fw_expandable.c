/*
 * drv_fw_expandable.c — PyTorch's device caching allocator with
 * expandable_segments:True: one large reservation of device addresses
 * (cuMemAddressReserve), grown by mapping 20 MiB of physical memory at a
 * time (cuMemCreate, cuMemMap, cuMemSetAccess) and shrunk by unmapping it;
 * tensors of every dtype are carved out at offsets and offloaded to the CPU
 * (D2H into pageable memory) and back. f16 tensors inside one mapping are
 * the targets; a tensor that straddles two mappings is copied exactly (it
 * is inside no one mapping the shim saw), as are int64, fp32 and bf16 ones.
 * Driver API throughout (PyTorch reaches these entry points through the
 * runtime's cudaGetDriverEntryPoint; the copies are the same).
 */
#include <cuda.h>

#include "fw.h"

#define MiB ((size_t)1 << 20)
#define CHUNK (20 * MiB)
#define CHUNKS 3

#define DK(call)                                                                  \
    do {                                                                          \
        CUresult dk_ = (call);                                                    \
        if (dk_ != CUDA_SUCCESS)                                                  \
            FAIL("%s: CUresult %d", #call, (int)dk_);                             \
    } while (0)

int main(int argc, char **argv)
{
    fw_args(argc, argv);
    CUcontext ctx;
    DK(cuInit(0));
    DK(cuDevicePrimaryCtxRetain(&ctx, 0));
    DK(cuCtxSetCurrent(ctx));
    CUmemAllocationProp prop;
    memset(&prop, 0, sizeof prop);
    prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    prop.location.id = 0;
    CUmemAccessDesc rw;
    memset(&rw, 0, sizeof rw);
    rw.location = prop.location;
    rw.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
    size_t gran = 0;
    DK(cuMemGetAllocationGranularity(&gran, &prop, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED));
    if (CHUNK % gran)
        FAIL("granularity %zu does not divide 20 MiB", gran);

    CUdeviceptr seg;
    CUmemGenericAllocationHandle h[CHUNKS];
    DK(cuMemAddressReserve(&seg, CHUNKS * CHUNK, 0, 0, 0));
    static const struct { enum fw_kind kind; size_t off, bytes; int target; } ts[] = {
        {FW_F16, 0, 4 * MiB, 1},                      /* in chunk 0 */
        {FW_I64, 4 * MiB, 1 * MiB, 0},
        {FW_F32, 5 * MiB, 2 * MiB, 0},
        {FW_F16, 12 * MiB, 3 * MiB, 1},
        {FW_F16, CHUNK - 2 * MiB, 4 * MiB, 0},        /* straddles chunks 0 and 1 */
        {FW_BF16, CHUNK + 2 * MiB, 2 * MiB, 0},
        {FW_F16, 2 * CHUNK + 1 * MiB, 4 * MiB, 1},    /* in chunk 2 */
    };
    void *src = malloc(4 * MiB), *host = malloc(4 * MiB), *got = malloc(4 * MiB);
    if (!src || !host || !got)
        FAIL("out of memory");
    for (int round = 0; round < 2; round++) {
        /* the segment grows as the allocator needs it */
        for (int c = 0; c < CHUNKS; c++) {
            DK(cuMemCreate(&h[c], CHUNK, &prop, 0));
            DK(cuMemMap(seg + c * CHUNK, CHUNK, 0, h[c], 0));
            DK(cuMemSetAccess(seg + c * CHUNK, CHUNK, &rw, 1));
        }
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            CUdeviceptr d = seg + ts[i].off;
            fw_fill(src, ts[i].bytes, ts[i].kind, (uint64_t)(round * 16 + i));
            DK(cuMemcpyHtoD(d, src, ts[i].bytes));
            DK(cuMemcpyDtoH(host, d, ts[i].bytes)); /* .to("cpu") */
            fw_check("offloaded", host, src, ts[i].bytes, ts[i].kind, ts[i].target);
            DK(cuMemcpyHtoD(d, host, ts[i].bytes)); /* back */
            DK(cuMemcpyDtoH(got, d, ts[i].bytes));
            fw_check("read again", got, host, ts[i].bytes, ts[i].kind, ts[i].target);
        }
        /* empty_cache(): the physical memory goes, the addresses stay */
        for (int c = 0; c < CHUNKS; c++) {
            DK(cuMemUnmap(seg + c * CHUNK, CHUNK));
            DK(cuMemRelease(h[c]));
        }
    }
    DK(cuMemAddressFree(seg, CHUNKS * CHUNK));
    fw_report("drv_fw_expandable");
    return 0;
}

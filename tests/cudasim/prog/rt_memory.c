/* cudasim, runtime API: device memory is apart from host memory. */
#include <cuda_runtime_api.h>

#include <pthread.h>

#include "check.h"

#define MiB (1024u * 1024u)

static void read_device(void *p)
{
    volatile char *d = p;
    printf("read %d\n", d[0]); /* not reached */
}

static void write_device(void *p)
{
    *(volatile char *)p = 1;
}

static void host_read_of_device_pointer_dies_with_sigsegv(void)
{
    void *d;
    EXPECT_CODE(cudaMalloc(&d, 4096), cudaSuccess);
    EXPECT_CODE(cudaMemset(d, 7, 4096), cudaSuccess);
    EXPECT_CODE(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_CODE(dies_with_signal(read_device, d), SIGSEGV);
    cudaFree(d);
}

static void host_write_of_device_pointer_dies_with_sigsegv(void)
{
    void *d;
    EXPECT_CODE(cudaMalloc(&d, 4096), cudaSuccess);
    EXPECT_CODE(dies_with_signal(write_device, d), SIGSEGV);
    cudaFree(d);
}

static void device_pointers_are_not_host_memory(void)
{
    void *d, *h = malloc(64);
    struct cudaPointerAttributes a;
    EXPECT_CODE(cudaMalloc(&d, 64), cudaSuccess);
    EXPECT_CODE(cudaPointerGetAttributes(&a, d), cudaSuccess);
    EXPECT(a.type == cudaMemoryTypeDevice && a.device == 0 && a.devicePointer == d);
    EXPECT(a.hostPointer == NULL);
    EXPECT_CODE(cudaPointerGetAttributes(&a, h), cudaSuccess);
    EXPECT(a.type == cudaMemoryTypeUnregistered);
    free(h);
    cudaFree(d);
}

static void host_pointer_where_device_pointer_is_due_is_invalid_value(void)
{
    char *h = calloc(1, 256), *h2 = calloc(1, 256);
    EXPECT_CODE(cudaMemcpy(h, h2, 256, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(h, h2, 256, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemset(h, 0, 256), cudaErrorInvalidValue);
    EXPECT_CODE(cudaFree(h), cudaErrorInvalidValue);
    cudaGetLastError();
    free(h);
    free(h2);
}

static void device_pointer_where_host_pointer_is_due_is_invalid_value(void)
{
    void *d, *d2;
    EXPECT_CODE(cudaMalloc(&d, 256), cudaSuccess);
    EXPECT_CODE(cudaMalloc(&d2, 256), cudaSuccess);
    EXPECT_CODE(cudaMemcpy(d, d2, 256, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(d, d2, 256, cudaMemcpyHostToHost), cudaErrorInvalidValue);
    EXPECT_CODE(cudaFreeHost(d), cudaErrorInvalidValue);
    cudaGetLastError();
    cudaFree(d);
    cudaFree(d2);
}

static long rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    if (f)
        fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static void freed_device_memory_leaves_the_process_rss(void)
{
    void *d;
    long before = rss_bytes();
    EXPECT_CODE(cudaMalloc(&d, 64 * MiB), cudaSuccess);
    EXPECT_CODE(cudaMemset(d, 0x5a, 64 * MiB), cudaSuccess);
    EXPECT_CODE(cudaDeviceSynchronize(), cudaSuccess);
    long used = rss_bytes();
    EXPECT(used - before >= 56L * MiB);
    EXPECT_CODE(cudaFree(d), cudaSuccess);
    long after = rss_bytes();
    EXPECT(after - before < 8L * MiB);
}

static void mem_get_info_counts_allocations(void)
{
    size_t free0, total, free1;
    void *d;
    EXPECT_CODE(cudaMemGetInfo(&free0, &total), cudaSuccess);
    EXPECT(total > 0 && free0 <= total);
    EXPECT_CODE(cudaMalloc(&d, 8 * MiB), cudaSuccess);
    EXPECT_CODE(cudaMemGetInfo(&free1, &total), cudaSuccess);
    EXPECT(free0 - free1 >= 8 * MiB);
    cudaFree(d);
}

static void allocation_larger_than_the_device_is_memory_allocation(void)
{
    size_t free0, total;
    void *d = NULL;
    EXPECT_CODE(cudaMemGetInfo(&free0, &total), cudaSuccess);
    EXPECT_CODE(cudaMalloc(&d, total + 1), cudaErrorMemoryAllocation);
    EXPECT_CODE(cudaGetLastError(), cudaErrorMemoryAllocation);
}

static void *device_in_new_thread(void *arg)
{
    int *dev = arg;
    cudaGetDevice(dev);
    return NULL;
}

static void current_device_is_per_thread(void)
{
    int n = 0, here = -1, there = -1;
    pthread_t t;
    EXPECT_CODE(cudaGetDeviceCount(&n), cudaSuccess);
    EXPECT(n == 2);
    EXPECT_CODE(cudaSetDevice(1), cudaSuccess);
    pthread_create(&t, NULL, device_in_new_thread, &there);
    pthread_join(t, NULL);
    EXPECT_CODE(cudaGetDevice(&here), cudaSuccess);
    EXPECT(here == 1 && there == 0);
    EXPECT_CODE(cudaSetDevice(0), cudaSuccess);
}

static void each_device_has_its_own_range(void)
{
    void *d0, *d1;
    struct cudaPointerAttributes a;
    EXPECT_CODE(cudaMalloc(&d0, 4096), cudaSuccess);
    EXPECT_CODE(cudaSetDevice(1), cudaSuccess);
    EXPECT_CODE(cudaMalloc(&d1, 4096), cudaSuccess);
    EXPECT_CODE(cudaPointerGetAttributes(&a, d1), cudaSuccess);
    EXPECT(a.type == cudaMemoryTypeDevice && a.device == 1);
    EXPECT_CODE(cudaPointerGetAttributes(&a, d0), cudaSuccess);
    EXPECT(a.type == cudaMemoryTypeDevice && a.device == 0);
    uintptr_t gap = (uintptr_t)d1 > (uintptr_t)d0 ? (uintptr_t)d1 - (uintptr_t)d0
                                                   : (uintptr_t)d0 - (uintptr_t)d1;
    EXPECT(gap >= ((uintptr_t)1 << 34));
    /* Copies between the devices' memory work (peer copy). */
    uint32_t in[1024], out[1024];
    fill_u32(in, 1024, 77);
    EXPECT_CODE(cudaMemcpy(d1, in, sizeof in, cudaMemcpyHostToDevice), cudaSuccess);
    EXPECT_CODE(cudaMemcpy(d0, d1, sizeof in, cudaMemcpyDeviceToDevice), cudaSuccess);
    EXPECT_CODE(cudaSetDevice(0), cudaSuccess);
    EXPECT_CODE(cudaMemcpy(out, d0, sizeof out, cudaMemcpyDeviceToHost), cudaSuccess);
    EXPECT(all_u32(out, 1024, 77));
    cudaFree(d1);
    cudaFree(d0);
}

static void pinned_memory_is_mapped_at_its_host_address(void)
{
    void *h, *d = NULL, *pageable = malloc(64);
    EXPECT_CODE(cudaHostAlloc(&h, 4096, cudaHostAllocMapped), cudaSuccess);
    EXPECT_CODE(cudaHostGetDevicePointer(&d, h, 0), cudaSuccess);
    EXPECT(d == h);
    EXPECT_CODE(cudaHostGetDevicePointer(&d, (char *)h + 100, 0), cudaSuccess);
    EXPECT(d == (char *)h + 100);
    EXPECT_CODE(cudaHostGetDevicePointer(&d, pageable, 0), cudaErrorInvalidValue);
    struct cudaPointerAttributes a;
    EXPECT_CODE(cudaPointerGetAttributes(&a, h), cudaSuccess);
    EXPECT(a.type == cudaMemoryTypeHost && a.hostPointer == h && a.devicePointer == h);
    EXPECT_CODE(cudaFreeHost(h), cudaSuccess);
    cudaGetLastError();
    free(pageable);
}

static void registered_host_memory_is_pinned_until_unregistered(void)
{
    char *buf = aligned_alloc(4096, 8192);
    struct cudaPointerAttributes a;
    EXPECT_CODE(cudaHostRegister(buf, 8192, cudaHostRegisterDefault), cudaSuccess);
    EXPECT_CODE(cudaPointerGetAttributes(&a, buf + 10), cudaSuccess);
    EXPECT(a.type == cudaMemoryTypeHost);
    EXPECT_CODE(cudaHostRegister(buf + 4096, 100, 0), cudaErrorHostMemoryAlreadyRegistered);
    EXPECT_CODE(cudaHostUnregister(buf), cudaSuccess);
    EXPECT_CODE(cudaHostUnregister(buf), cudaErrorHostMemoryNotRegistered);
    EXPECT_CODE(cudaPointerGetAttributes(&a, buf), cudaSuccess);
    EXPECT(a.type == cudaMemoryTypeUnregistered);
    cudaGetLastError();
    free(buf);
}

static void stream_ordered_allocation_round_trips(void)
{
    cudaStream_t s;
    void *d;
    uint32_t in[4096], out[4096];
    fill_u32(in, 4096, 5);
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaMallocAsync(&d, sizeof in, s), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(d, in, sizeof in, cudaMemcpyHostToDevice, s), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(out, d, sizeof out, cudaMemcpyDeviceToHost, s), cudaSuccess);
    EXPECT_CODE(cudaFreeAsync(d, s), cudaSuccess);
    EXPECT_CODE(cudaFreeAsync(d, s), cudaErrorInvalidValue);
    EXPECT_CODE(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT(all_u32(out, 4096, 5));
    cudaStreamDestroy(s);
    cudaGetLastError();
}

static void copy_2d_moves_rows_between_pitches(void)
{
    void *d;
    size_t pitch = 512, width = 100, height = 8;
    unsigned char src[800], out[800];
    for (int i = 0; i < 800; i++)
        src[i] = (unsigned char)(i * 7);
    memset(out, 0, sizeof out);
    EXPECT_CODE(cudaMalloc(&d, pitch * height), cudaSuccess);
    EXPECT_CODE(cudaMemcpy2D(d, pitch, src, width, width, height, cudaMemcpyHostToDevice),
                cudaSuccess);
    EXPECT_CODE(cudaMemcpy2D(out, width, d, pitch, width, height, cudaMemcpyDeviceToHost),
                cudaSuccess);
    EXPECT(memcmp(src, out, sizeof src) == 0);
    EXPECT_CODE(cudaMemcpy2D(d, 50, src, width, width, 2, cudaMemcpyHostToDevice),
                cudaErrorInvalidPitchValue);
    cudaGetLastError();
    cudaFree(d);
}

CHECK_MAIN(CHECK(host_read_of_device_pointer_dies_with_sigsegv),
           CHECK(host_write_of_device_pointer_dies_with_sigsegv),
           CHECK(device_pointers_are_not_host_memory),
           CHECK(host_pointer_where_device_pointer_is_due_is_invalid_value),
           CHECK(device_pointer_where_host_pointer_is_due_is_invalid_value),
           CHECK(freed_device_memory_leaves_the_process_rss),
           CHECK(mem_get_info_counts_allocations),
           CHECK(allocation_larger_than_the_device_is_memory_allocation),
           CHECK(current_device_is_per_thread), CHECK(each_device_has_its_own_range),
           CHECK(pinned_memory_is_mapped_at_its_host_address),
           CHECK(registered_host_memory_is_pinned_until_unregistered),
           CHECK(stream_ordered_allocation_round_trips),
           CHECK(copy_2d_moves_rows_between_pitches))

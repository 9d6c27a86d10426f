/*
 * test_ptr.c — what the shim makes of an address (gpu/gq_ptr.c), on
 * cudasim's driver, for every kind of memory cudasim has: device memory of
 * the current device and of another one, pinned host memory, registered
 * malloc'd memory, and memory the driver does not know (malloc'd, on the
 * stack, NULL, a device address no allocation holds).
 *
 * The answers are those the shim gave when it asked cuPointerGetAttribute
 * one attribute at a time; it asks cuPointerGetAttributes now, which never
 * fails for memory the driver does not know. CUDASIM_API_ERRORS=abort: a
 * query that fails kills the test (compute-sanitizer would report it as the
 * program's error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gpu/gq_ptr.h"
#include "test_sim_util.h"

#define SIZE ((size_t)1 << 20)

static uintptr_t u(const void *p) { return (uintptr_t)p; }
static void *v(CUdeviceptr d) { return (void *)(uintptr_t)d; }

static int group_setup(void **state)
{
    (void)state;
    setenv("CUDASIM_API_ERRORS", "abort", 1);
    return ts_load_cudasim();
}

/* What the driver does not know: no answer, whatever is asked. */
static void assert_unknown(const void *p)
{
    struct gq_ptr_info info = {0};
    assert_int_equal(gq_ptr_query(p, &info), -1);
    assert_false(gq_ptr_is_device(p));
    assert_false(gq_ptr_device_range(p, 1));
    assert_int_equal(gq_ptr_device_view(p), 0);
    assert_int_equal(gq_ptr_pinned_extent(p), 0);
}

static void memory_the_driver_does_not_know_is_nothing(void **state)
{
    (void)state;
    char *heap = calloc(1, SIZE);
    char stack[64] = {0};
    assert_unknown(heap);
    assert_unknown(heap + 100);
    assert_unknown(stack);
    assert_unknown(NULL);
    free(heap);
}

static void device_memory_of_the_current_device(void **state)
{
    (void)state;
    const struct gq_drv *d = gq_drv();
    CUdeviceptr dp;
    assert_int_equal(d->cuMemAlloc_v2(&dp, SIZE), CUDA_SUCCESS);
    char *p = v(dp);
    struct gq_ptr_info info = {0};
    assert_int_equal(gq_ptr_query(p + 10, &info), 0);
    assert_int_equal(info.type, CU_MEMORYTYPE_DEVICE);
    assert_int_equal(info.base, u(p));
    assert_int_equal(info.size, SIZE);
    assert_true(gq_ptr_is_device(p + 10));
    assert_true(gq_ptr_device_range(p, SIZE));
    assert_true(gq_ptr_device_range(p + 10, SIZE - 10));
    assert_false(gq_ptr_device_range(p + 10, SIZE - 9)); /* past the end */
    assert_false(gq_ptr_device_range(p, SIZE + 1));
    assert_int_equal(gq_ptr_device_view(p + 10), dp + 10);
    assert_int_equal(gq_ptr_pinned_extent(p), SIZE); /* an allocation starting at p */
    assert_int_equal(gq_ptr_pinned_extent(p + 10), 0);
    assert_int_equal(d->cuMemFree_v2(dp), CUDA_SUCCESS);
    /* Freed: the driver no longer knows it. */
    assert_unknown(p);
}

static void an_address_in_the_device_range_that_no_allocation_holds(void **state)
{
    (void)state;
    const struct gq_drv *d = gq_drv();
    CUdeviceptr dp;
    assert_int_equal(d->cuMemAlloc_v2(&dp, SIZE), CUDA_SUCCESS);
    assert_unknown(v(dp + SIZE + 64 * SIZE));
    assert_int_equal(d->cuMemFree_v2(dp), CUDA_SUCCESS);
}

static void device_memory_of_another_device(void **state)
{
    (void)state;
    const struct gq_drv *d = gq_drv();
    int (*count)(int *) = (int (*)(int *))dlsym(ts_libcuda, "cuDeviceGetCount");
    int n = 0;
    assert_non_null(count);
    assert_int_equal(count(&n), CUDA_SUCCESS);
    if (n < 2)
        skip(); /* CUDASIM_DEVICES=1 */
    CUcontext here, there;
    CUdeviceptr dp;
    assert_int_equal(d->cuCtxGetCurrent(&here), CUDA_SUCCESS);
    assert_int_equal(d->cuDevicePrimaryCtxRetain(&there, 1), CUDA_SUCCESS);
    assert_int_equal(d->cuCtxSetCurrent(there), CUDA_SUCCESS);
    assert_int_equal(d->cuMemAlloc_v2(&dp, SIZE), CUDA_SUCCESS);
    assert_int_equal(d->cuCtxSetCurrent(here), CUDA_SUCCESS);
    char *p = v(dp);
    struct gq_ptr_info info = {0};
    assert_int_equal(gq_ptr_query(p, &info), 0);
    assert_int_equal(info.type, CU_MEMORYTYPE_DEVICE);
    assert_int_equal(info.base, u(p));
    assert_true(gq_ptr_is_device(p));
    /* Device memory, but not of this context's device: no kernel of ours. */
    assert_false(gq_ptr_device_range(p, SIZE));
    assert_int_equal(d->cuCtxSetCurrent(there), CUDA_SUCCESS);
    assert_true(gq_ptr_device_range(p, SIZE));
    assert_int_equal(d->cuMemFree_v2(dp), CUDA_SUCCESS);
    assert_int_equal(d->cuCtxSetCurrent(here), CUDA_SUCCESS);
    assert_int_equal(d->cuDevicePrimaryCtxRelease_v2(1), CUDA_SUCCESS);
}

/* Pinned and registered host memory: host memory the GPU reaches. */
static void assert_pinned(char *p, size_t size)
{
    struct gq_ptr_info info = {0};
    assert_int_equal(gq_ptr_query(p + 10, &info), 0);
    assert_int_equal(info.type, CU_MEMORYTYPE_HOST);
    assert_int_equal(info.base, u(p));
    assert_int_equal(info.size, size);
    assert_false(gq_ptr_is_device(p + 10));
    assert_false(gq_ptr_device_range(p, size));
    assert_int_equal(gq_ptr_device_view(p + 10), u(p) + 10); /* unified addressing */
    assert_int_equal(gq_ptr_pinned_extent(p), size);
    assert_int_equal(gq_ptr_pinned_extent(p + 10), 0);
}

static void pinned_host_memory(void **state)
{
    (void)state;
    const struct gq_drv *d = gq_drv();
    void *h;
    assert_int_equal(d->cuMemHostAlloc(&h, SIZE, 0), CUDA_SUCCESS);
    assert_pinned(h, SIZE);
    assert_int_equal(d->cuMemFreeHost(h), CUDA_SUCCESS);
}

static void registered_malloc_memory(void **state)
{
    (void)state;
    const struct gq_drv *d = gq_drv();
    char *h = aligned_alloc(4096, SIZE);
    assert_unknown(h);
    assert_int_equal(d->cuMemHostRegister_v2(h, SIZE, 0), CUDA_SUCCESS);
    assert_pinned(h, SIZE);
    assert_int_equal(d->cuMemHostUnregister(h), CUDA_SUCCESS);
    assert_unknown(h);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memory_the_driver_does_not_know_is_nothing),
        cmocka_unit_test(device_memory_of_the_current_device),
        cmocka_unit_test(an_address_in_the_device_range_that_no_allocation_holds),
        cmocka_unit_test(device_memory_of_another_device),
        cmocka_unit_test(pinned_host_memory),
        cmocka_unit_test(registered_malloc_memory),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}

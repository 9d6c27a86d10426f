/*
 * cudasim, driver API (and its state shared with the runtime): contexts,
 * memory, modules and kernel launches. Run with CUDASIM_TEST_KERNELS=1 for
 * the launch checks (cudasim's own kernels, tests/cudasim/cudasim_testkern.h).
 */
#include <cuda.h>
#include <cuda_runtime_api.h>

#include "../cudasim_testkern.h"
#include "check.h"

#define OK CUDA_SUCCESS

/* The smallest well-formed fatbin: header and one (empty) cubin entry. */
static const uint64_t tiny_fatbin[] = {
    0x00100001ba55ed50ull, 32, /* magic, version 1, header 16; 32 bytes follow */
    0x0000001001010002ull, 16, /* entry: kind 2 (cubin), header 16, payload 16 */
    0, 0,
};

static void before_cuinit_calls_are_not_initialized(void)
{
    CUdeviceptr d;
    int n;
    EXPECT_CODE(cuMemAlloc(&d, 16), CUDA_ERROR_NOT_INITIALIZED);
    EXPECT_CODE(cuDeviceGetCount(&n), CUDA_ERROR_NOT_INITIALIZED);
    CUpointer_attribute a = CU_POINTER_ATTRIBUTE_MEMORY_TYPE;
    unsigned type;
    void *data[] = {&type};
    EXPECT_CODE(cuPointerGetAttributes(1, &a, data, (CUdeviceptr)(uintptr_t)&n),
                CUDA_ERROR_NOT_INITIALIZED);
}

static void setup(void)
{
    CUcontext ctx;
    cuInit(0);
    cuDevicePrimaryCtxRetain(&ctx, 0);
    cuCtxSetCurrent(ctx);
}

static void without_a_current_context_calls_are_invalid_context(void)
{
    CUdeviceptr d;
    CUcontext ctx = (CUcontext)1;
    EXPECT_CODE(cuInit(0), OK);
    EXPECT_CODE(cuCtxSetCurrent(NULL), OK);
    EXPECT_CODE(cuCtxGetCurrent(&ctx), OK);
    EXPECT(ctx == NULL);
    EXPECT_CODE(cuMemAlloc(&d, 16), CUDA_ERROR_INVALID_CONTEXT);
    setup();
}

static void runtime_device_is_the_drivers_current_context(void)
{
    CUcontext cur, primary1;
    CUdevice dev = -1;
    setup();
    EXPECT_CODE(cudaSetDevice(1), cudaSuccess);
    EXPECT_CODE(cudaFree(0), cudaSuccess);
    EXPECT_CODE(cuCtxGetCurrent(&cur), OK);
    EXPECT_CODE(cuDevicePrimaryCtxRetain(&primary1, 1), OK);
    EXPECT(cur == primary1);
    EXPECT_CODE(cuCtxGetDevice(&dev), OK);
    EXPECT(dev == 1);
    EXPECT_CODE(cuDevicePrimaryCtxRelease(1), OK);
    EXPECT_CODE(cudaSetDevice(0), cudaSuccess);
}

static void driver_copies_round_trip(void)
{
    CUdeviceptr d, d2;
    CUstream s;
    uint32_t in[1024], out[1024];
    setup();
    fill_u32(in, 1024, 40);
    EXPECT_CODE(cuMemAlloc(&d, sizeof in), OK);
    EXPECT_CODE(cuMemAlloc(&d2, sizeof in), OK);
    EXPECT_CODE(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING), OK);
    EXPECT_CODE(cuMemcpyHtoD(d, in, sizeof in), OK);
    EXPECT_CODE(cuMemcpyDtoDAsync(d2, d, sizeof in, s), OK);
    EXPECT_CODE(cuMemsetD8Async(d2, 0xff, 16, s), OK);
    EXPECT_CODE(cuMemcpyDtoHAsync(out, d2, sizeof out, s), OK);
    EXPECT_CODE(cuStreamSynchronize(s), OK);
    EXPECT(out[0] == 0xffffffffu && out[3] == 0xffffffffu && all_u32(out + 4, 1020, 44));
    EXPECT_CODE(cuMemsetD8(d, 0, sizeof in), OK);
    EXPECT_CODE(cuMemcpy((CUdeviceptr)(uintptr_t)out, d, sizeof out), OK);
    EXPECT(out[0] == 0 && out[1023] == 0);
    EXPECT_CODE(cuMemFree(d), OK);
    EXPECT_CODE(cuMemFree(d), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemFree(d2), OK);
    EXPECT_CODE(cuStreamDestroy(s), OK);
    EXPECT_CODE(cuStreamSynchronize(s), CUDA_ERROR_INVALID_HANDLE);
}

static void runtime_pointers_and_streams_are_the_drivers(void)
{
    void *rd;
    cudaStream_t rs;
    CUdeviceptr dd;
    uint32_t in[256], out[256];
    setup();
    fill_u32(in, 256, 1);
    EXPECT_CODE(cudaMalloc(&rd, sizeof in), cudaSuccess);
    EXPECT_CODE(cudaStreamCreate(&rs), cudaSuccess);
    EXPECT_CODE(cuMemcpyHtoD((CUdeviceptr)(uintptr_t)rd, in, sizeof in), OK);
    EXPECT_CODE(cuMemcpyDtoHAsync(out, (CUdeviceptr)(uintptr_t)rd, sizeof out, (CUstream)rs), OK);
    EXPECT_CODE(cuStreamSynchronize((CUstream)rs), OK);
    EXPECT(all_u32(out, 256, 1));
    EXPECT_CODE(cuMemAlloc(&dd, 64), OK);
    EXPECT_CODE(cudaFree((void *)(uintptr_t)dd), cudaSuccess);
    EXPECT_CODE(cudaStreamDestroy(rs), cudaSuccess);
    EXPECT_CODE(cuStreamQuery((CUstream)rs), CUDA_ERROR_INVALID_HANDLE);
    cudaFree(rd);
}

static void host_pointer_where_device_pointer_is_due_is_invalid_value(void)
{
    char host[64] = {0}, host2[64];
    CUdeviceptr d;
    setup();
    EXPECT_CODE(cuMemAlloc(&d, 64), OK);
    EXPECT_CODE(cuMemcpyHtoD((CUdeviceptr)(uintptr_t)host2, host, 64), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemcpyDtoH(host, (CUdeviceptr)(uintptr_t)host2, 64), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemsetD8((CUdeviceptr)(uintptr_t)host, 0, 64), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemcpyDtoH(host, d, 65), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemFree((CUdeviceptr)(uintptr_t)host), CUDA_ERROR_INVALID_VALUE);
    cuMemFree(d);
}

static void pointer_attributes_tell_device_from_pinned_memory(void)
{
    CUdeviceptr d, mapped;
    void *h;
    char pageable[16];
    CUmemorytype type = 0;
    int ordinal = -1;
    CUdeviceptr start = 0;
    size_t size = 0;
    setup();
    EXPECT_CODE(cuMemAlloc(&d, 1000), OK);
    EXPECT_CODE(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d + 10), OK);
    EXPECT(type == CU_MEMORYTYPE_DEVICE);
    EXPECT_CODE(cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, d), OK);
    EXPECT(ordinal == 0);
    EXPECT_CODE(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, d + 10), OK);
    EXPECT_CODE(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, d + 10), OK);
    EXPECT(start == d && size == 1000);
    EXPECT_CODE(cuMemHostAlloc(&h, 4096, CU_MEMHOSTALLOC_DEVICEMAP), OK);
    EXPECT_CODE(cuMemHostGetDevicePointer(&mapped, h, 0), OK);
    EXPECT(mapped == (CUdeviceptr)(uintptr_t)h);
    EXPECT_CODE(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, mapped), OK);
    EXPECT(type == CU_MEMORYTYPE_HOST);
    EXPECT_CODE(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                      (CUdeviceptr)(uintptr_t)pageable),
                CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemFreeHost(h), OK);
    cuMemFree(d);
}

/* The attributes one cuPointerGetAttributes call asks in the checks below. */
struct attrs {
    unsigned type;
    CUcontext ctx;
    CUdeviceptr dev, start;
    void *host;
    int ordinal, managed, mapped;
    size_t size;
};

static CUresult ask_attrs(CUdeviceptr p, struct attrs *a)
{
    CUpointer_attribute which[] = {
        CU_POINTER_ATTRIBUTE_MEMORY_TYPE,      CU_POINTER_ATTRIBUTE_CONTEXT,
        CU_POINTER_ATTRIBUTE_DEVICE_POINTER,   CU_POINTER_ATTRIBUTE_HOST_POINTER,
        CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,   CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
        CU_POINTER_ATTRIBUTE_RANGE_SIZE,       CU_POINTER_ATTRIBUTE_IS_MANAGED,
        CU_POINTER_ATTRIBUTE_MAPPED};
    void *data[] = {&a->type,    &a->ctx,   &a->dev,     &a->host,  &a->ordinal,
                    &a->start,   &a->size,  &a->managed, &a->mapped};
    /* Values no answer gives: what the driver leaves unwritten stays so. */
    *a = (struct attrs){77, (CUcontext)7, 7, 7, (void *)7, 77, 77, 77, 7};
    return cuPointerGetAttributes(9, which, data, p);
}

/* As the driver answers (cuda.h; the values an H200's driver 580 gave):
 * memory the driver does not know is no error but defaults, the range left
 * unwritten; an attribute that does not apply is NULL; bad arguments and
 * attributes outside the call's list are CUDA_ERROR_INVALID_VALUE. */
static void pointer_attributes_in_one_call_answer_unknown_memory_with_defaults(void)
{
    CUdeviceptr d;
    void *h;
    char pageable[16];
    struct attrs a;
    setup();
    EXPECT_CODE(cuMemAlloc(&d, 1000), OK);
    EXPECT_CODE(cuMemHostAlloc(&h, 4096, 0), OK);
    CUdeviceptr hp = (CUdeviceptr)(uintptr_t)h, pp = (CUdeviceptr)(uintptr_t)pageable;

    EXPECT_CODE(ask_attrs(pp, &a), OK);
    EXPECT(a.type == 0 && a.ctx == NULL && a.dev == 0 && a.host == (void *)pageable);
    EXPECT(a.ordinal == -2 && a.managed == 0 && a.mapped == 0);
    EXPECT(a.start == 7 && a.size == 7);
    EXPECT_CODE(ask_attrs(0, &a), OK);
    EXPECT(a.type == 0 && a.host == NULL && a.ordinal == -2);
    EXPECT_CODE(ask_attrs(d + (1 << 20), &a), OK); /* device range, no allocation */
    EXPECT(a.type == 0 && a.dev == 0 && a.ordinal == -2 && a.size == 7);

    EXPECT_CODE(ask_attrs(d + 10, &a), OK);
    EXPECT(a.type == CU_MEMORYTYPE_DEVICE && a.ctx != NULL && a.dev == d + 10);
    EXPECT(a.host == NULL); /* cuPointerGetAttribute: CUDA_ERROR_INVALID_VALUE */
    EXPECT(a.ordinal == 0 && a.start == d && a.size == 1000 && a.managed == 0 && a.mapped == 1);
    EXPECT_CODE(ask_attrs(hp + 10, &a), OK);
    EXPECT(a.type == CU_MEMORYTYPE_HOST && a.ctx != NULL && a.dev == hp + 10);
    EXPECT(a.host == (char *)h + 10 && a.start == hp && a.size == 4096 && a.mapped == 1);

    CUpointer_attribute type = CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                        p2p = CU_POINTER_ATTRIBUTE_P2P_TOKENS,
                        ipc = CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE;
    unsigned t;
    char big[64];
    void *one[] = {&t}, *none[] = {NULL}, *wide[] = {big};
    EXPECT_CODE(cuPointerGetAttributes(0, &type, one, d), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuPointerGetAttributes(1, NULL, one, d), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuPointerGetAttributes(1, &type, NULL, d), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuPointerGetAttributes(1, &type, none, d), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuPointerGetAttributes(1, &p2p, wide, d), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuPointerGetAttributes(1, &p2p, wide, pp), CUDA_ERROR_INVALID_VALUE);
    /* In the call's list, not simulated: refused as such. */
    EXPECT_CODE(cuPointerGetAttributes(1, &ipc, wide, d), CUDA_ERROR_NOT_SUPPORTED);
    /* The one-attribute call keeps its errors. */
    EXPECT_CODE(cuPointerGetAttribute(&t, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, pp),
                CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuPointerGetAttribute(&h, CU_POINTER_ATTRIBUTE_HOST_POINTER, d),
                CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemFreeHost(h), OK);
    cuMemFree(d);
}

static void module_load_accepts_only_fatbin_images(void)
{
    CUmodule m;
    static const char ptx[] = ".version 8.0\n.target sm_90\n";
    uint64_t bad_size[6];
    memcpy(bad_size, tiny_fatbin, sizeof bad_size);
    bad_size[1] = 40; /* entries no longer fill the stated size */
    setup();
    EXPECT_CODE(cuModuleLoadData(&m, ptx), CUDA_ERROR_INVALID_IMAGE);
    EXPECT_CODE(cuModuleLoadData(&m, "garbage garbage garbage garbage garbage"),
                CUDA_ERROR_INVALID_IMAGE);
    EXPECT_CODE(cuModuleLoadData(&m, bad_size), CUDA_ERROR_INVALID_IMAGE);
    EXPECT_CODE(cuModuleLoadData(&m, tiny_fatbin), OK);
    EXPECT_CODE(cuModuleUnload(m), OK);
    EXPECT_CODE(cuModuleUnload(m), CUDA_ERROR_INVALID_HANDLE);
}

static void unknown_kernel_name_is_not_found(void)
{
    CUmodule m;
    CUfunction f;
    setup();
    EXPECT_CODE(cuModuleLoadData(&m, tiny_fatbin), OK);
    EXPECT_CODE(cuModuleGetFunction(&f, m, "no_such_kernel"), CUDA_ERROR_NOT_FOUND);
    EXPECT_CODE(cuModuleUnload(m), OK);
    EXPECT_CODE(cuModuleGetFunction(&f, m, "no_such_kernel"), CUDA_ERROR_INVALID_HANDLE);
}

static void test_kernels_are_visible_only_when_asked(void)
{
    CUmodule m;
    CUfunction f;
    const char *env = getenv("CUDASIM_TEST_KERNELS");
    int asked = env && strcmp(env, "1") == 0;
    setup();
    EXPECT_CODE(cuModuleLoadData(&m, tiny_fatbin), OK);
    EXPECT_CODE(cuModuleGetFunction(&f, m, "cudasim_test_iota"),
                asked ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND);
    cuModuleUnload(m);
}

static CUfunction kernel(const char *name)
{
    static CUmodule m;
    CUfunction f = NULL;
    if (!m)
        cuModuleLoadData(&m, tiny_fatbin);
    cuModuleGetFunction(&f, m, name);
    return f;
}

static void launch_runs_every_thread_of_the_grid(void)
{
    CUdeviceptr d;
    uint32_t out[200];
    setup();
    EXPECT_CODE(cuMemAlloc(&d, sizeof out), OK);
    EXPECT_CODE(cuMemsetD8(d, 0xee, sizeof out), OK);
    struct cudasim_iota_params p = {CUDASIM_IOTA_MAGIC, 1000, (uint32_t *)(uintptr_t)d, 190};
    void *params[] = {&p};
    /* 12 blocks of 16 threads: 192 threads, 190 of them in range. */
    EXPECT_CODE(cuLaunchKernel(kernel("cudasim_test_iota"), 3, 2, 2, 8, 2, 1, 0, NULL, params,
                               NULL),
                OK);
    EXPECT_CODE(cuMemcpyDtoH(out, d, sizeof out), OK);
    EXPECT(all_u32(out, 190, 1000));
    EXPECT(out[190] == 0xeeeeeeeeu && out[199] == 0xeeeeeeeeu);
    cuMemFree(d);
}

static void launch_runs_asynchronously_in_stream_order(void)
{
    CUdeviceptr d;
    CUstream s;
    uint32_t *h;
    struct gate g = {0};
    setup();
    EXPECT_CODE(cuMemAlloc(&d, 1024 * 4), OK);
    EXPECT_CODE(cuMemAllocHost((void **)&h, 1024 * 4), OK);
    memset(h, 0, 1024 * 4);
    EXPECT_CODE(cuStreamCreate(&s, CU_STREAM_DEFAULT), OK);
    struct cudasim_iota_params p = {CUDASIM_IOTA_MAGIC, 5, (uint32_t *)(uintptr_t)d, 1024};
    void *params[] = {&p};
    EXPECT_CODE(cuLaunchHostFunc(s, gate_hold, &g), OK);
    EXPECT_CODE(cuLaunchKernel(kernel("cudasim_test_iota"), 4, 1, 1, 256, 1, 1, 0, s, params,
                               NULL),
                OK);
    p.base = 99; /* parameters are copied at launch */
    EXPECT_CODE(cuMemcpyDtoHAsync(h, d, 1024 * 4, s), OK);
    EXPECT_CODE(cuStreamQuery(s), CUDA_ERROR_NOT_READY);
    EXPECT(h[0] == 0 && h[1023] == 0);
    gate_open(&g);
    EXPECT_CODE(cuStreamSynchronize(s), OK);
    EXPECT(all_u32(h, 1024, 5));
    cuStreamDestroy(s);
    cuMemFreeHost(h);
    cuMemFree(d);
}

static void launch_writes_mapped_pinned_memory_directly(void)
{
    uint32_t *h;
    setup();
    EXPECT_CODE(cuMemHostAlloc((void **)&h, 64 * 4, CU_MEMHOSTALLOC_DEVICEMAP), OK);
    struct cudasim_iota_params p = {CUDASIM_IOTA_MAGIC, 7, h, 64};
    void *params[] = {&p};
    EXPECT_CODE(cuLaunchKernel(kernel("cudasim_test_iota"), 1, 1, 1, 64, 1, 1, 0, NULL, params,
                               NULL),
                OK);
    EXPECT_CODE(cuCtxSynchronize(), OK);
    EXPECT(all_u32(h, 64, 7));
    cuMemFreeHost(h);
}

static void launch_with_two_device_pointers(void)
{
    CUdeviceptr x, y;
    float hx[100], hy[100];
    for (int i = 0; i < 100; i++) {
        hx[i] = (float)i;
        hy[i] = 1.0f;
    }
    setup();
    EXPECT_CODE(cuMemAlloc(&x, sizeof hx), OK);
    EXPECT_CODE(cuMemAlloc(&y, sizeof hy), OK);
    EXPECT_CODE(cuMemcpyHtoD(x, hx, sizeof hx), OK);
    EXPECT_CODE(cuMemcpyHtoD(y, hy, sizeof hy), OK);
    struct cudasim_axpy_params p = {CUDASIM_AXPY_MAGIC, 2.0f, (const float *)(uintptr_t)x,
                                    (float *)(uintptr_t)y, 100};
    size_t size = sizeof p;
    void *extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, &p, CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
                     CU_LAUNCH_PARAM_END};
    EXPECT_CODE(cuLaunchKernel(kernel("cudasim_test_axpy"), 2, 1, 1, 64, 1, 1, 0, NULL, NULL,
                               extra),
                OK);
    EXPECT_CODE(cuMemcpyDtoH(hy, y, sizeof hy), OK);
    int exact = 1;
    for (int i = 0; i < 100; i++)
        exact &= hy[i] == 2.0f * (float)i + 1.0f;
    EXPECT(exact);
    cuMemFree(x);
    cuMemFree(y);
}

static void bad_launches_are_invalid_value(void)
{
    CUdeviceptr d, freed;
    char host[64];
    setup();
    EXPECT_CODE(cuMemAlloc(&d, 64), OK);
    EXPECT_CODE(cuMemAlloc(&freed, 64), OK);
    EXPECT_CODE(cuMemFree(freed), OK);
    CUfunction f = kernel("cudasim_test_iota");
    struct cudasim_iota_params p = {CUDASIM_IOTA_MAGIC, 0, (uint32_t *)(uintptr_t)d, 16};
    void *params[] = {&p};
    size_t wrong = sizeof p - 8;
    void *extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, &p, CU_LAUNCH_PARAM_BUFFER_SIZE, &wrong,
                     CU_LAUNCH_PARAM_END};
    EXPECT_CODE(cuLaunchKernel(f, 1, 1, 1, 16, 1, 1, 0, NULL, NULL, extra),
                CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuLaunchKernel(f, 1, 1, 1, 16, 1, 1, 0, NULL, NULL, NULL),
                CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuLaunchKernel(f, 0, 1, 1, 16, 1, 1, 0, NULL, params, NULL),
                CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuLaunchKernel(f, 1, 1, 1, 2048, 1, 1, 0, NULL, params, NULL),
                CUDA_ERROR_INVALID_VALUE);
    p.magic = 0x12345678;
    EXPECT_CODE(cuLaunchKernel(f, 1, 1, 1, 16, 1, 1, 0, NULL, params, NULL),
                CUDA_ERROR_INVALID_VALUE);
    p.magic = CUDASIM_IOTA_MAGIC;
    p.out = (uint32_t *)host;
    EXPECT_CODE(cuLaunchKernel(f, 1, 1, 1, 16, 1, 1, 0, NULL, params, NULL),
                CUDA_ERROR_INVALID_VALUE);
    p.out = NULL;
    EXPECT_CODE(cuLaunchKernel(f, 1, 1, 1, 16, 1, 1, 0, NULL, params, NULL),
                CUDA_ERROR_INVALID_VALUE);
    p.out = (uint32_t *)(uintptr_t)freed;
    EXPECT_CODE(cuLaunchKernel(f, 1, 1, 1, 16, 1, 1, 0, NULL, params, NULL),
                CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuLaunchKernel((CUfunction)(uintptr_t)0x999, 1, 1, 1, 16, 1, 1, 0, NULL, params,
                               NULL),
                CUDA_ERROR_INVALID_HANDLE);
    cuMemFree(d);
}

static void get_proc_address_returns_cudasim_entry_points(void)
{
    void *fn = NULL;
    CUdriverProcAddressQueryResult st = CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT;
    EXPECT_CODE(cuGetProcAddress("cuMemAlloc", &fn, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT, &st),
                OK);
    EXPECT(fn == (void *)&cuMemAlloc_v2 && st == CU_GET_PROC_ADDRESS_SUCCESS);
    EXPECT_CODE(cuGetProcAddress("cuMemcpyAsync", &fn, CUDA_VERSION,
                                 CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &st),
                OK);
    EXPECT(fn != NULL && fn != (void *)&cuMemcpyAsync);
    EXPECT_CODE(cuGetProcAddress("cuNoSuchCall", &fn, CUDA_VERSION, 0, &st), CUDA_ERROR_NOT_FOUND);
    EXPECT(fn == NULL && st == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
}

static void driver_events_order_streams(void)
{
    CUstream a, b;
    CUevent e, t0;
    struct gate g = {0};
    float ms = -1;
    setup();
    EXPECT_CODE(cuStreamCreate(&a, CU_STREAM_NON_BLOCKING), OK);
    EXPECT_CODE(cuStreamCreate(&b, CU_STREAM_NON_BLOCKING), OK);
    EXPECT_CODE(cuEventCreate(&e, CU_EVENT_DEFAULT), OK);
    EXPECT_CODE(cuEventCreate(&t0, CU_EVENT_DEFAULT), OK);
    EXPECT_CODE(cuEventRecord(t0, a), OK);
    EXPECT_CODE(cuLaunchHostFunc(a, gate_hold, &g), OK);
    EXPECT_CODE(cuEventRecord(e, a), OK);
    EXPECT_CODE(cuStreamWaitEvent(b, e, 0), OK);
    EXPECT_CODE(cuLaunchHostFunc(b, gate_hold, open_gate()), OK);
    EXPECT_CODE(cuEventQuery(e), CUDA_ERROR_NOT_READY);
    EXPECT_CODE(cuStreamQuery(b), CUDA_ERROR_NOT_READY);
    gate_open(&g);
    EXPECT_CODE(cuStreamSynchronize(b), OK);
    EXPECT_CODE(cuEventSynchronize(e), OK);
    EXPECT_CODE(cuEventElapsedTime(&ms, t0, e), OK);
    EXPECT(ms >= 0.0f);
    EXPECT_CODE(cuEventDestroy(e), OK);
    EXPECT_CODE(cuEventDestroy(e), CUDA_ERROR_INVALID_HANDLE);
    cuEventDestroy(t0);
    cuStreamDestroy(a);
    cuStreamDestroy(b);
}

static void driver_error_names(void)
{
    const char *s = NULL;
    EXPECT_CODE(cuGetErrorName(CUDA_ERROR_INVALID_VALUE, &s), OK);
    EXPECT(s && strcmp(s, "CUDA_ERROR_INVALID_VALUE") == 0);
    EXPECT_CODE(cuGetErrorString(CUDA_ERROR_INVALID_HANDLE, &s), OK);
    EXPECT(s && strcmp(s, "invalid resource handle") == 0);
    EXPECT_CODE(cuGetErrorName((CUresult)12345, &s), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuGetErrorName(CUDA_ERROR_CONTEXT_IS_DESTROYED, &s), OK); /* one cudasim returns */
    EXPECT(s && strcmp(s, "CUDA_ERROR_CONTEXT_IS_DESTROYED") == 0);
}

CHECK_MAIN(CHECK(before_cuinit_calls_are_not_initialized),
           CHECK(without_a_current_context_calls_are_invalid_context),
           CHECK(runtime_device_is_the_drivers_current_context), CHECK(driver_copies_round_trip),
           CHECK(runtime_pointers_and_streams_are_the_drivers),
           CHECK(host_pointer_where_device_pointer_is_due_is_invalid_value),
           CHECK(pointer_attributes_tell_device_from_pinned_memory),
           CHECK(pointer_attributes_in_one_call_answer_unknown_memory_with_defaults),
           CHECK(module_load_accepts_only_fatbin_images), CHECK(unknown_kernel_name_is_not_found),
           CHECK(test_kernels_are_visible_only_when_asked),
           CHECK(launch_runs_every_thread_of_the_grid),
           CHECK(launch_runs_asynchronously_in_stream_order),
           CHECK(launch_writes_mapped_pinned_memory_directly),
           CHECK(launch_with_two_device_pointers), CHECK(bad_launches_are_invalid_value),
           CHECK(get_proc_address_returns_cudasim_entry_points),
           CHECK(driver_events_order_streams), CHECK(driver_error_names))

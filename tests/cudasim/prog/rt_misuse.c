/* cudasim, runtime API: misuse returns the error code the real runtime does. */
#include <cuda_runtime_api.h>

#include <pthread.h>

#include "check.h"

static void freeing_twice_is_invalid_value(void)
{
    void *d;
    EXPECT_CODE(cudaMalloc(&d, 100), cudaSuccess);
    EXPECT_CODE(cudaFree(d), cudaSuccess);
    EXPECT_CODE(cudaFree(d), cudaErrorInvalidValue);
    cudaGetLastError();
}

static void freeing_inside_an_allocation_is_invalid_value(void)
{
    char *d;
    EXPECT_CODE(cudaMalloc((void **)&d, 100), cudaSuccess);
    EXPECT_CODE(cudaFree(d + 8), cudaErrorInvalidValue);
    EXPECT_CODE(cudaFree(d), cudaSuccess);
    cudaGetLastError();
}

static void freeing_pinned_memory_twice_is_invalid_value(void)
{
    void *h;
    EXPECT_CODE(cudaMallocHost(&h, 100), cudaSuccess);
    EXPECT_CODE(cudaFreeHost(h), cudaSuccess);
    EXPECT_CODE(cudaFreeHost(h), cudaErrorInvalidValue);
    cudaGetLastError();
}

static void unknown_stream_is_invalid_resource_handle(void)
{
    cudaStream_t bogus = (cudaStream_t)(uintptr_t)0x1234560;
    char buf[16];
    EXPECT_CODE(cudaStreamSynchronize(bogus), cudaErrorInvalidResourceHandle);
    EXPECT_CODE(cudaStreamQuery(bogus), cudaErrorInvalidResourceHandle);
    EXPECT_CODE(cudaMemcpyAsync(buf, buf + 8, 8, cudaMemcpyHostToHost, bogus),
                cudaErrorInvalidResourceHandle);
    cudaGetLastError();
}

static void destroyed_stream_is_invalid_resource_handle(void)
{
    cudaStream_t s;
    void *d;
    EXPECT_CODE(cudaMalloc(&d, 64), cudaSuccess);
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaStreamDestroy(s), cudaSuccess);
    EXPECT_CODE(cudaStreamDestroy(s), cudaErrorInvalidResourceHandle);
    EXPECT_CODE(cudaStreamSynchronize(s), cudaErrorInvalidResourceHandle);
    EXPECT_CODE(cudaMemsetAsync(d, 0, 64, s), cudaErrorInvalidResourceHandle);
    EXPECT_CODE(cudaStreamDestroy(0), cudaErrorInvalidResourceHandle);
    cudaGetLastError();
    cudaFree(d);
}

static void destroyed_event_is_invalid_resource_handle(void)
{
    cudaEvent_t e;
    EXPECT_CODE(cudaEventCreate(&e), cudaSuccess);
    EXPECT_CODE(cudaEventDestroy(e), cudaSuccess);
    EXPECT_CODE(cudaEventRecord(e, 0), cudaErrorInvalidResourceHandle);
    EXPECT_CODE(cudaEventQuery(e), cudaErrorInvalidResourceHandle);
    EXPECT_CODE(cudaEventSynchronize(e), cudaErrorInvalidResourceHandle);
    EXPECT_CODE(cudaStreamWaitEvent(0, e, 0), cudaErrorInvalidResourceHandle);
    EXPECT_CODE(cudaEventDestroy(e), cudaErrorInvalidResourceHandle);
    cudaGetLastError();
}

static void copy_past_the_end_of_an_allocation_is_invalid_value(void)
{
    char *d, host[200] = {0};
    EXPECT_CODE(cudaMalloc((void **)&d, 100), cudaSuccess);
    EXPECT_CODE(cudaMemcpy(d, host, 101, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(host, d + 50, 51, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(d + 100, host, 1, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemset(d, 0, 101), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(host, d + 50, 50, cudaMemcpyDeviceToHost), cudaSuccess);
    cudaGetLastError();
    cudaFree(d);
}

static void copy_past_the_end_of_pinned_memory_is_invalid_value(void)
{
    char *d, *h;
    EXPECT_CODE(cudaMalloc((void **)&d, 8192), cudaSuccess);
    EXPECT_CODE(cudaMallocHost((void **)&h, 100), cudaSuccess);
    EXPECT_CODE(cudaMemcpy(h, d, 101, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
    cudaGetLastError();
    cudaFreeHost(h);
    cudaFree(d);
}

static void wrong_memcpy_kind_is_invalid_value(void)
{
    char *d, *d2, host[64] = {0}, host2[64];
    EXPECT_CODE(cudaMalloc((void **)&d, 64), cudaSuccess);
    EXPECT_CODE(cudaMalloc((void **)&d2, 64), cudaSuccess);
    EXPECT_CODE(cudaMemcpy(d, host, 64, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(host, d, 64, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(d, host, 64, cudaMemcpyDeviceToDevice), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(host2, host, 64, cudaMemcpyDeviceToDevice), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(d, d2, 64, cudaMemcpyHostToHost), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpyAsync(d, host, 64, cudaMemcpyDeviceToHost, 0), cudaErrorInvalidValue);
    /* cudaMemcpyDefault infers the direction from the pointers. */
    EXPECT_CODE(cudaMemcpy(d, host, 64, cudaMemcpyDefault), cudaSuccess);
    EXPECT_CODE(cudaMemcpy(host2, d, 64, cudaMemcpyDefault), cudaSuccess);
    cudaGetLastError();
    cudaFree(d);
    cudaFree(d2);
}

static void unknown_memcpy_kind_is_invalid_memcpy_direction(void)
{
    char a[8], b[8] = {0};
    EXPECT_CODE(cudaMemcpy(a, b, 8, (enum cudaMemcpyKind)7), cudaErrorInvalidMemcpyDirection);
    cudaGetLastError();
}

static void null_pointers_are_invalid_value(void)
{
    char host[8] = {0};
    void *d;
    EXPECT_CODE(cudaMalloc(NULL, 8), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMallocHost(NULL, 8), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(NULL, host, 8, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(host, NULL, 8, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemset(NULL, 0, 8), cudaErrorInvalidValue);
    EXPECT_CODE(cudaStreamCreate(NULL), cudaErrorInvalidValue);
    EXPECT_CODE(cudaEventCreate(NULL), cudaErrorInvalidValue);
    EXPECT_CODE(cudaLaunchHostFunc(0, NULL, NULL), cudaErrorInvalidValue);
    EXPECT_CODE(cudaHostRegister(NULL, 8, 0), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMalloc(&d, 8), cudaSuccess);
    EXPECT_CODE(cudaFree(d), cudaSuccess);
    cudaGetLastError();
}

static void bad_device_ordinal_is_invalid_device(void)
{
    struct cudaDeviceProp p;
    EXPECT_CODE(cudaSetDevice(2), cudaErrorInvalidDevice);
    EXPECT_CODE(cudaSetDevice(-1), cudaErrorInvalidDevice);
    EXPECT_CODE(cudaGetDeviceProperties(&p, 5), cudaErrorInvalidDevice);
    cudaGetLastError();
}

static void bad_flags_are_invalid_value(void)
{
    cudaStream_t s;
    cudaEvent_t e;
    void *h;
    EXPECT_CODE(cudaStreamCreateWithFlags(&s, 0x80), cudaErrorInvalidValue);
    EXPECT_CODE(cudaEventCreateWithFlags(&e, 0x80), cudaErrorInvalidValue);
    EXPECT_CODE(cudaHostAlloc(&h, 64, 0x80), cudaErrorInvalidValue);
    cudaGetLastError();
}

static void *last_error_elsewhere(void *arg)
{
    *(cudaError_t *)arg = cudaGetLastError();
    return NULL;
}

static void last_error_is_per_thread_and_reset_by_get(void)
{
    void *d = NULL;
    cudaError_t there = cudaErrorUnknown;
    pthread_t t;
    EXPECT_CODE(cudaGetLastError(), cudaSuccess);
    EXPECT_CODE(cudaFree((char *)&d), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMalloc(&d, 16), cudaSuccess); /* success does not clear it */
    pthread_create(&t, NULL, last_error_elsewhere, &there);
    pthread_join(t, NULL);
    EXPECT(there == cudaSuccess);
    EXPECT_CODE(cudaPeekAtLastError(), cudaErrorInvalidValue);
    EXPECT_CODE(cudaPeekAtLastError(), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGetLastError(), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGetLastError(), cudaSuccess);
    cudaFree(d);
}

static void stream_query_not_ready_is_not_an_error(void)
{
    cudaStream_t s;
    struct gate g = {0};
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(s, gate_hold, &g), cudaSuccess);
    EXPECT_CODE(cudaStreamQuery(s), cudaErrorNotReady);
    EXPECT_CODE(cudaGetLastError(), cudaSuccess);
    gate_open(&g);
    EXPECT_CODE(cudaStreamSynchronize(s), cudaSuccess);
    cudaStreamDestroy(s);
}


static cudaError_t inner_result = cudaSuccess;

static void sync_inside(void *arg)
{
    inner_result = cudaStreamSynchronize(*(cudaStream_t *)arg);
}

static void synchronising_inside_a_host_function_is_not_permitted(void)
{
    cudaStream_t s;
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(s, sync_inside, &s), cudaSuccess);
    EXPECT_CODE(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT(inner_result == cudaErrorNotPermitted);
    cudaStreamDestroy(s);
}

/* In its own process: the error ends the context, so it must not reach the
 * other checks. */
static void child_use_after_stream_ordered_free(void)
{
    cudaStream_t a, b;
    cudaEvent_t freed;
    struct gate g = {0};
    void *d, *h;
    EXPECT_CODE(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking), cudaSuccess);
    EXPECT_CODE(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), cudaSuccess);
    EXPECT_CODE(cudaEventCreate(&freed), cudaSuccess);
    EXPECT_CODE(cudaMalloc(&d, 4096), cudaSuccess);
    EXPECT_CODE(cudaMallocHost(&h, 4096), cudaSuccess);
    /* a copies from d once its gate opens; b frees d before that. */
    EXPECT_CODE(cudaLaunchHostFunc(a, gate_hold, &g), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(h, d, 4096, cudaMemcpyDeviceToHost, a), cudaSuccess);
    EXPECT_CODE(cudaFreeAsync(d, b), cudaSuccess);
    EXPECT_CODE(cudaEventRecord(freed, b), cudaSuccess);
    EXPECT_CODE(cudaEventSynchronize(freed), cudaSuccess);
    gate_open(&g);
    EXPECT_CODE(cudaStreamSynchronize(a), cudaErrorIllegalAddress);
    /* Sticky: later calls fail, and cudaGetLastError does not clear it. */
    EXPECT_CODE(cudaGetLastError(), cudaErrorIllegalAddress);
    EXPECT_CODE(cudaGetLastError(), cudaErrorIllegalAddress);
    EXPECT_CODE(cudaMalloc(&d, 16), cudaErrorIllegalAddress);
    /* cudaDeviceReset gives a fresh context: the error is no longer sticky. */
    EXPECT_CODE(cudaDeviceReset(), cudaSuccess);
    EXPECT_CODE(cudaMalloc(&d, 16), cudaSuccess);
    cudaGetLastError();
    EXPECT_CODE(cudaGetLastError(), cudaSuccess);
}

static void work_on_memory_freed_under_it_is_a_sticky_illegal_address(void)
{
    EXPECT_CODE(run_child("child_use_after_stream_ordered_free"), 0);
}

static void use_in_child(void *arg)
{
    void *d;
    _exit(cudaMalloc(&d, 16) == cudaErrorInitializationError ? 0 : 1);
}

static void forked_child_cannot_use_the_parents_cuda_state(void)
{
    void *d;
    EXPECT_CODE(cudaMalloc(&d, 16), cudaSuccess);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        use_in_child(NULL);
    int status = -1;
    waitpid(pid, &status, 0);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_CODE(cudaFree(d), cudaSuccess);
}

static void error_names_and_strings_match_the_runtime(void)
{
    EXPECT(strcmp(cudaGetErrorName(cudaErrorInvalidValue), "cudaErrorInvalidValue") == 0);
    EXPECT(strcmp(cudaGetErrorString(cudaErrorInvalidValue), "invalid argument") == 0);
    EXPECT(strcmp(cudaGetErrorName(cudaErrorInvalidResourceHandle),
                  "cudaErrorInvalidResourceHandle") == 0);
    EXPECT(strcmp(cudaGetErrorString((cudaError_t)12345), "unrecognized error code") == 0);
    /* Every code cudasim returns has its name. */
    EXPECT(strcmp(cudaGetErrorName(cudaErrorInvalidMemcpyDirection),
                  "cudaErrorInvalidMemcpyDirection") == 0);
    EXPECT(strcmp(cudaGetErrorName(cudaErrorContextIsDestroyed), "cudaErrorContextIsDestroyed") ==
           0);
}

CHECK_MAIN(CHECK(freeing_twice_is_invalid_value),
           CHECK(freeing_inside_an_allocation_is_invalid_value),
           CHECK(freeing_pinned_memory_twice_is_invalid_value),
           CHECK(unknown_stream_is_invalid_resource_handle),
           CHECK(destroyed_stream_is_invalid_resource_handle),
           CHECK(destroyed_event_is_invalid_resource_handle),
           CHECK(copy_past_the_end_of_an_allocation_is_invalid_value),
           CHECK(copy_past_the_end_of_pinned_memory_is_invalid_value),
           CHECK(wrong_memcpy_kind_is_invalid_value),
           CHECK(unknown_memcpy_kind_is_invalid_memcpy_direction),
           CHECK(null_pointers_are_invalid_value), CHECK(bad_device_ordinal_is_invalid_device),
           CHECK(bad_flags_are_invalid_value), CHECK(last_error_is_per_thread_and_reset_by_get),
           CHECK(stream_query_not_ready_is_not_an_error),
           CHECK(synchronising_inside_a_host_function_is_not_permitted),
           CHECK(work_on_memory_freed_under_it_is_a_sticky_illegal_address),
           CHECK(forked_child_cannot_use_the_parents_cuda_state),
           CHECK(error_names_and_strings_match_the_runtime),
           CHECK(child_use_after_stream_ordered_free))

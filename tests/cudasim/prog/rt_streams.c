/*
 * cudasim, runtime API: streams run asynchronously and in order; the legacy
 * default stream, blocking and non-blocking streams, events and host
 * functions order work as CUDA documents. Run with CUDASIM_DELAY_US=200.
 *
 * Ordering checks hold a stream with a gate (a host function that waits for
 * the test) instead of relying on timing; a check that something does NOT
 * wait lets it finish while the gate is still closed.
 */
#include <cuda_runtime_api.h>

#include "check.h"

#define N 4096

/* Polls until the stream is idle or `ms` pass; returns the last status. */
static cudaError_t idle_within(cudaStream_t s, int ms)
{
    cudaError_t e = cudaStreamQuery(s);
    for (int i = 0; i < ms && e == cudaErrorNotReady; i++) {
        sleep_ms(1);
        e = cudaStreamQuery(s);
    }
    return e;
}

static uint32_t *pinned(uint32_t first)
{
    uint32_t *h = NULL;
    if (cudaMallocHost((void **)&h, N * sizeof *h) == cudaSuccess)
        fill_u32(h, N, first);
    return h;
}

static void *device_holding(uint32_t first)
{
    uint32_t tmp[N];
    void *d = NULL;
    fill_u32(tmp, N, first);
    cudaMalloc(&d, sizeof tmp);
    cudaMemcpy(d, tmp, sizeof tmp, cudaMemcpyHostToDevice);
    return d;
}

static void async_copy_to_pinned_memory_returns_before_the_data_lands(void)
{
    cudaStream_t s;
    uint32_t *h = pinned(1);
    void *d = device_holding(1000);
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(h, d, N * 4, cudaMemcpyDeviceToHost, s), cudaSuccess);
    EXPECT(all_u32(h, N, 1)); /* read before synchronising: old data */
    EXPECT_CODE(cudaStreamQuery(s), cudaErrorNotReady);
    EXPECT_CODE(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT(all_u32(h, N, 1000)); /* after: new data */
    EXPECT_CODE(cudaStreamQuery(s), cudaSuccess);
    cudaStreamDestroy(s);
    cudaFreeHost(h);
    cudaFree(d);
}

static void async_copy_from_pageable_memory_stages_the_source(void)
{
    cudaStream_t s;
    uint32_t src[N], out[N];
    void *d = device_holding(0);
    fill_u32(src, N, 500);
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(d, src, sizeof src, cudaMemcpyHostToDevice, s), cudaSuccess);
    fill_u32(src, N, 9); /* the caller may reuse its buffer at once */
    EXPECT_CODE(cudaMemcpyAsync(out, d, sizeof out, cudaMemcpyDeviceToHost, s), cudaSuccess);
    EXPECT(all_u32(out, N, 500)); /* pageable destination: done on return */
    cudaStreamDestroy(s);
    cudaFree(d);
}

static void synchronous_copy_is_complete_on_return(void)
{
    uint32_t out[N];
    void *d = device_holding(42);
    EXPECT_CODE(cudaMemcpy(out, d, sizeof out, cudaMemcpyDeviceToHost), cudaSuccess);
    EXPECT(all_u32(out, N, 42));
    cudaFree(d);
}

static void memset_of_device_memory_returns_before_it_runs(void)
{
    void *d;
    EXPECT_CODE(cudaMalloc(&d, N), cudaSuccess);
    EXPECT_CODE(cudaMemset(d, 1, N), cudaSuccess);
    EXPECT_CODE(cudaStreamQuery(0), cudaErrorNotReady);
    EXPECT_CODE(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_CODE(cudaStreamQuery(0), cudaSuccess);
    cudaFree(d);
}

static void work_in_one_stream_runs_in_order(void)
{
    cudaStream_t s;
    uint32_t *h = pinned(0);
    void *d = device_holding(0);
    uint32_t *src1 = pinned(100), *src2 = pinned(200);
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(d, src1, N * 4, cudaMemcpyHostToDevice, s), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(d, src2, N * 4, cudaMemcpyHostToDevice, s), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(h, d, N * 4, cudaMemcpyDeviceToHost, s), cudaSuccess);
    EXPECT_CODE(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT(all_u32(h, N, 200));
    cudaStreamDestroy(s);
    cudaFreeHost(h);
    cudaFreeHost(src1);
    cudaFreeHost(src2);
    cudaFree(d);
}

static void without_an_event_a_second_stream_reads_too_early(void)
{
    cudaStream_t a, b;
    uint32_t *src = pinned(300), *h = pinned(0);
    void *d = device_holding(7);
    struct gate g = {0};
    EXPECT_CODE(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking), cudaSuccess);
    EXPECT_CODE(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(a, gate_hold, &g), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(d, src, N * 4, cudaMemcpyHostToDevice, a), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(h, d, N * 4, cudaMemcpyDeviceToHost, b), cudaSuccess);
    EXPECT_CODE(cudaStreamSynchronize(b), cudaSuccess);
    EXPECT(all_u32(h, N, 7)); /* b did not wait for a */
    gate_open(&g);
    EXPECT_CODE(cudaStreamSynchronize(a), cudaSuccess);
    cudaStreamDestroy(a);
    cudaStreamDestroy(b);
    cudaFreeHost(src);
    cudaFreeHost(h);
    cudaFree(d);
}

static void stream_wait_event_orders_work_across_streams(void)
{
    cudaStream_t a, b;
    cudaEvent_t e;
    uint32_t *src = pinned(300), *h = pinned(0);
    void *d = device_holding(7);
    struct gate g = {0};
    EXPECT_CODE(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking), cudaSuccess);
    EXPECT_CODE(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), cudaSuccess);
    EXPECT_CODE(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(a, gate_hold, &g), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(d, src, N * 4, cudaMemcpyHostToDevice, a), cudaSuccess);
    EXPECT_CODE(cudaEventRecord(e, a), cudaSuccess);
    EXPECT_CODE(cudaStreamWaitEvent(b, e, 0), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(h, d, N * 4, cudaMemcpyDeviceToHost, b), cudaSuccess);
    EXPECT_CODE(idle_within(b, 50), cudaErrorNotReady); /* held behind a's gate */
    EXPECT_CODE(cudaEventQuery(e), cudaErrorNotReady);
    gate_open(&g);
    EXPECT_CODE(cudaStreamSynchronize(b), cudaSuccess);
    EXPECT(all_u32(h, N, 300));
    EXPECT_CODE(cudaEventQuery(e), cudaSuccess);
    cudaEventDestroy(e);
    cudaStreamDestroy(a);
    cudaStreamDestroy(b);
    cudaFreeHost(src);
    cudaFreeHost(h);
    cudaFree(d);
}

static void event_synchronize_waits_for_the_recorded_work(void)
{
    cudaStream_t s;
    cudaEvent_t e, never;
    uint32_t *h = pinned(0);
    void *d = device_holding(11);
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaEventCreate(&e), cudaSuccess);
    EXPECT_CODE(cudaEventCreate(&never), cudaSuccess);
    EXPECT_CODE(cudaEventQuery(never), cudaSuccess); /* never recorded: complete */
    EXPECT_CODE(cudaMemcpyAsync(h, d, N * 4, cudaMemcpyDeviceToHost, s), cudaSuccess);
    EXPECT_CODE(cudaEventRecord(e, s), cudaSuccess);
    EXPECT_CODE(cudaEventQuery(e), cudaErrorNotReady);
    EXPECT_CODE(cudaEventSynchronize(e), cudaSuccess);
    EXPECT(all_u32(h, N, 11));
    EXPECT_CODE(cudaEventQuery(e), cudaSuccess);
    cudaEventDestroy(e);
    cudaEventDestroy(never);
    cudaStreamDestroy(s);
    cudaFreeHost(h);
    cudaFree(d);
}

static void elapsed_time_measures_the_work_between_events(void)
{
    cudaStream_t s;
    cudaEvent_t a, b, untimed;
    float ms = -1;
    uint32_t *h = pinned(0);
    void *d = device_holding(1);
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaEventCreate(&a), cudaSuccess);
    EXPECT_CODE(cudaEventCreate(&b), cudaSuccess);
    EXPECT_CODE(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming), cudaSuccess);
    EXPECT_CODE(cudaEventElapsedTime(&ms, a, b), cudaErrorInvalidResourceHandle); /* unrecorded */
    EXPECT_CODE(cudaEventRecord(a, s), cudaSuccess);
    for (int i = 0; i < 5; i++)
        EXPECT_CODE(cudaMemcpyAsync(h, d, N * 4, cudaMemcpyDeviceToHost, s), cudaSuccess);
    EXPECT_CODE(cudaEventRecord(b, s), cudaSuccess);
    EXPECT_CODE(cudaEventRecord(untimed, s), cudaSuccess);
    EXPECT_CODE(cudaEventElapsedTime(&ms, a, b), cudaErrorNotReady);
    EXPECT_CODE(cudaEventSynchronize(untimed), cudaSuccess);
    EXPECT_CODE(cudaEventElapsedTime(&ms, a, b), cudaSuccess);
    EXPECT(ms >= 1.0f && ms < 1000.0f); /* 6 ops of >= 200 us each */
    EXPECT_CODE(cudaEventElapsedTime(&ms, a, untimed), cudaErrorInvalidResourceHandle);
    cudaGetLastError();
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    cudaEventDestroy(untimed);
    cudaStreamDestroy(s);
    cudaFreeHost(h);
    cudaFree(d);
}

static void legacy_stream_waits_for_blocking_streams(void)
{
    cudaStream_t s;
    struct gate g = {0};
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(s, gate_hold, &g), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(0, gate_hold, open_gate()), cudaSuccess);
    EXPECT_CODE(idle_within(0, 50), cudaErrorNotReady);
    gate_open(&g);
    EXPECT_CODE(cudaStreamSynchronize(0), cudaSuccess);
    EXPECT_CODE(cudaStreamQuery(s), cudaSuccess);
    cudaStreamDestroy(s);
}

static void blocking_streams_wait_for_the_legacy_stream(void)
{
    cudaStream_t s;
    struct gate g = {0};
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(cudaStreamLegacy, gate_hold, &g), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(s, gate_hold, open_gate()), cudaSuccess);
    EXPECT_CODE(idle_within(s, 50), cudaErrorNotReady);
    gate_open(&g);
    EXPECT_CODE(cudaStreamSynchronize(s), cudaSuccess);
    cudaStreamDestroy(s);
}

static void non_blocking_streams_ignore_the_legacy_stream(void)
{
    cudaStream_t nb;
    struct gate legacy_gate = {0}, nb_gate = {0};
    EXPECT_CODE(cudaStreamCreateWithFlags(&nb, cudaStreamNonBlocking), cudaSuccess);
    /* Legacy held: the non-blocking stream still runs. */
    EXPECT_CODE(cudaLaunchHostFunc(0, gate_hold, &legacy_gate), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(nb, gate_hold, open_gate()), cudaSuccess);
    EXPECT_CODE(idle_within(nb, 2000), cudaSuccess);
    gate_open(&legacy_gate);
    EXPECT_CODE(cudaStreamSynchronize(0), cudaSuccess);
    /* Non-blocking stream held: the legacy stream still runs. */
    EXPECT_CODE(cudaLaunchHostFunc(nb, gate_hold, &nb_gate), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(0, gate_hold, open_gate()), cudaSuccess);
    EXPECT_CODE(idle_within(0, 2000), cudaSuccess);
    gate_open(&nb_gate);
    EXPECT_CODE(cudaStreamSynchronize(nb), cudaSuccess);
    cudaStreamDestroy(nb);
}

static void synchronous_copy_on_legacy_stream_waits_for_blocking_streams(void)
{
    cudaStream_t s;
    uint32_t *src = pinned(900), out[N];
    void *d = device_holding(0);
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(d, src, N * 4, cudaMemcpyHostToDevice, s), cudaSuccess);
    EXPECT_CODE(cudaMemcpy(out, d, sizeof out, cudaMemcpyDeviceToHost), cudaSuccess);
    EXPECT(all_u32(out, N, 900));
    cudaStreamDestroy(s);
    cudaFreeHost(src);
    cudaFree(d);
}

static void append(void *arg)
{
    int *log = arg;
    log[0]++;
    log[log[0]] = log[0];
}

static void host_functions_run_in_stream_order(void)
{
    cudaStream_t s;
    int log[8] = {0};
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    for (int i = 0; i < 5; i++)
        EXPECT_CODE(cudaLaunchHostFunc(s, append, log), cudaSuccess);
    EXPECT_CODE(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT(log[0] == 5 && log[1] == 1 && log[5] == 5);
    cudaStreamDestroy(s);
}

static void per_thread_stream_is_its_own_blocking_stream(void)
{
    struct gate g = {0};
    EXPECT_CODE(cudaLaunchHostFunc(cudaStreamPerThread, gate_hold, &g), cudaSuccess);
    EXPECT_CODE(idle_within(cudaStreamPerThread, 50), cudaErrorNotReady);
    /* The legacy stream waits for it: the per-thread stream is blocking. */
    EXPECT_CODE(cudaLaunchHostFunc(0, gate_hold, open_gate()), cudaSuccess);
    EXPECT_CODE(idle_within(0, 50), cudaErrorNotReady);
    gate_open(&g);
    EXPECT_CODE(cudaStreamSynchronize(0), cudaSuccess);
    EXPECT_CODE(cudaStreamQuery(cudaStreamPerThread), cudaSuccess);
}

static void destroyed_stream_finishes_its_work(void)
{
    cudaStream_t s;
    struct gate g = {0};
    uint32_t *h = pinned(0);
    void *d = device_holding(66);
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(s, gate_hold, &g), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(h, d, N * 4, cudaMemcpyDeviceToHost, s), cudaSuccess);
    EXPECT_CODE(cudaStreamDestroy(s), cudaSuccess);
    EXPECT_CODE(cudaStreamQuery(s), cudaErrorInvalidResourceHandle);
    EXPECT(all_u32(h, N, 0));
    gate_open(&g);
    EXPECT_CODE(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT(all_u32(h, N, 66));
    cudaGetLastError();
    cudaFreeHost(h);
    cudaFree(d);
}

static void device_synchronize_waits_for_every_stream(void)
{
    cudaStream_t a, b;
    uint32_t *h1 = pinned(0), *h2 = pinned(0);
    void *d = device_holding(3);
    EXPECT_CODE(cudaStreamCreate(&a), cudaSuccess);
    EXPECT_CODE(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(h1, d, N * 4, cudaMemcpyDeviceToHost, a), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(h2, d, N * 4, cudaMemcpyDeviceToHost, b), cudaSuccess);
    EXPECT_CODE(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT(all_u32(h1, N, 3) && all_u32(h2, N, 3));
    cudaStreamDestroy(a);
    cudaStreamDestroy(b);
    cudaFreeHost(h1);
    cudaFreeHost(h2);
    cudaFree(d);
}

static void captured_work_is_recorded_not_run(void)
{
    cudaStream_t s;
    cudaGraph_t graph = NULL;
    enum cudaStreamCaptureStatus st;
    uint32_t *h = pinned(0);
    void *d = device_holding(5);
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaStreamIsCapturing(s, &st), cudaSuccess);
    EXPECT(st == cudaStreamCaptureStatusNone);
    EXPECT_CODE(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    EXPECT_CODE(cudaStreamIsCapturing(s, &st), cudaSuccess);
    EXPECT(st == cudaStreamCaptureStatusActive);
    EXPECT_CODE(cudaMemcpyAsync(h, d, N * 4, cudaMemcpyDeviceToHost, s), cudaSuccess);
    EXPECT_CODE(cudaStreamEndCapture(s, &graph), cudaSuccess);
    EXPECT(graph != NULL);
    EXPECT_CODE(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT(all_u32(h, N, 0));
    EXPECT_CODE(cudaGraphDestroy(graph), cudaSuccess);
    cudaStreamDestroy(s);
    cudaFreeHost(h);
    cudaFree(d);
}

static void legacy_stream_use_during_capture_is_an_implicit_dependency(void)
{
    cudaStream_t s;
    cudaGraph_t graph = NULL;
    EXPECT_CODE(cudaStreamCreate(&s), cudaSuccess);
    EXPECT_CODE(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(0, gate_hold, open_gate()), cudaErrorStreamCaptureImplicit);
    EXPECT_CODE(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
    EXPECT_CODE(cudaStreamSynchronize(s), cudaSuccess);
    cudaGetLastError();
    cudaStreamDestroy(s);
}

CHECK_MAIN(CHECK(async_copy_to_pinned_memory_returns_before_the_data_lands),
           CHECK(async_copy_from_pageable_memory_stages_the_source),
           CHECK(synchronous_copy_is_complete_on_return),
           CHECK(memset_of_device_memory_returns_before_it_runs),
           CHECK(work_in_one_stream_runs_in_order),
           CHECK(without_an_event_a_second_stream_reads_too_early),
           CHECK(stream_wait_event_orders_work_across_streams),
           CHECK(event_synchronize_waits_for_the_recorded_work),
           CHECK(elapsed_time_measures_the_work_between_events),
           CHECK(legacy_stream_waits_for_blocking_streams),
           CHECK(blocking_streams_wait_for_the_legacy_stream),
           CHECK(non_blocking_streams_ignore_the_legacy_stream),
           CHECK(synchronous_copy_on_legacy_stream_waits_for_blocking_streams),
           CHECK(host_functions_run_in_stream_order),
           CHECK(per_thread_stream_is_its_own_blocking_stream),
           CHECK(destroyed_stream_finishes_its_work),
           CHECK(device_synchronize_waits_for_every_stream),
           CHECK(captured_work_is_recorded_not_run),
           CHECK(legacy_stream_use_during_capture_is_an_implicit_dependency))

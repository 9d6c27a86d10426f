/*
 * cudasim, runtime API built with --default-stream per-thread
 * (CUDA_API_PER_THREAD_DEFAULT_STREAM): stream 0 is each host thread's own
 * stream, and the calls link to the _ptsz / _ptds entry points.
 */
#include <cuda_runtime_api.h>

#include <pthread.h>

#include "check.h"

#define N 1024

static void stream_zero_round_trips_data(void)
{
    uint32_t in[N], out[N], *h;
    void *d;
    fill_u32(in, N, 3);
    EXPECT_CODE(cudaMalloc(&d, sizeof in), cudaSuccess);
    EXPECT_CODE(cudaMallocHost((void **)&h, sizeof in), cudaSuccess);
    EXPECT_CODE(cudaMemcpy(d, in, sizeof in, cudaMemcpyHostToDevice), cudaSuccess);
    EXPECT_CODE(cudaMemcpy(out, d, sizeof out, cudaMemcpyDeviceToHost), cudaSuccess);
    EXPECT(all_u32(out, N, 3));
    EXPECT_CODE(cudaMemsetAsync(d, 0, 8, 0), cudaSuccess);
    EXPECT_CODE(cudaMemcpyAsync(h, d, sizeof in, cudaMemcpyDeviceToHost, 0), cudaSuccess);
    EXPECT_CODE(cudaStreamSynchronize(0), cudaSuccess);
    EXPECT(h[0] == 0 && h[1] == 0 && all_u32(h + 2, N - 2, 5));
    cudaFreeHost(h);
    cudaFree(d);
}

struct other {
    cudaError_t query;
};

static void *use_own_stream_zero(void *arg)
{
    struct other *o = arg;
    cudaLaunchHostFunc(0, gate_hold, open_gate());
    o->query = cudaErrorNotReady;
    for (int i = 0; i < 2000 && o->query == cudaErrorNotReady; i++) {
        sleep_ms(1);
        o->query = cudaStreamQuery(0);
    }
    return NULL;
}

static void stream_zero_belongs_to_the_calling_thread(void)
{
    struct gate g = {0};
    struct other o = {cudaErrorUnknown};
    pthread_t t;
    EXPECT_CODE(cudaLaunchHostFunc(0, gate_hold, &g), cudaSuccess);
    pthread_create(&t, NULL, use_own_stream_zero, &o);
    pthread_join(t, NULL);
    EXPECT(o.query == cudaSuccess); /* the other thread's stream 0 was not held */
    EXPECT_CODE(cudaStreamQuery(0), cudaErrorNotReady);
    gate_open(&g);
    EXPECT_CODE(cudaStreamSynchronize(0), cudaSuccess);
}

static void legacy_stream_waits_for_the_per_thread_stream(void)
{
    struct gate g = {0};
    EXPECT_CODE(cudaLaunchHostFunc(0, gate_hold, &g), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(cudaStreamLegacy, gate_hold, open_gate()), cudaSuccess);
    sleep_ms(50);
    EXPECT_CODE(cudaStreamQuery(cudaStreamLegacy), cudaErrorNotReady);
    gate_open(&g);
    EXPECT_CODE(cudaStreamSynchronize(cudaStreamLegacy), cudaSuccess);
}

static void events_record_on_the_per_thread_stream(void)
{
    cudaEvent_t e;
    struct gate g = {0};
    EXPECT_CODE(cudaEventCreate(&e), cudaSuccess);
    EXPECT_CODE(cudaLaunchHostFunc(0, gate_hold, &g), cudaSuccess);
    EXPECT_CODE(cudaEventRecord(e, 0), cudaSuccess);
    EXPECT_CODE(cudaEventQuery(e), cudaErrorNotReady);
    gate_open(&g);
    EXPECT_CODE(cudaEventSynchronize(e), cudaSuccess);
    cudaEventDestroy(e);
}

CHECK_MAIN(CHECK(stream_zero_round_trips_data), CHECK(stream_zero_belongs_to_the_calling_thread),
           CHECK(legacy_stream_waits_for_the_per_thread_stream),
           CHECK(events_record_on_the_per_thread_stream))

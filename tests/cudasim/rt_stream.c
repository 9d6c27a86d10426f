/* libcudart.so.13: streams, events, host functions, stream capture. */
#include "rt.h"

RT_ENTRY(cudaStreamCreateWithFlags, (cudaStream_t *s, unsigned int flags), (s, flags))
{
    RT_ENTER(dev);
    return rt_result(cudasim_stream_create(dev, flags, (CUstream *)s));
}

RT_ENTRY(cudaStreamCreate, (cudaStream_t *s), (s))
{
    return cudaStreamCreateWithFlags_body(s, cudaStreamDefault);
}

RT_ENTRY(cudaStreamDestroy, (cudaStream_t s), (s))
{
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_stream_destroy((CUstream)s));
}

/* Each stream call exists twice: stream 0 legacy, and _ptsz (per thread). */
#define RT_PAIR(name, params, args, call0, call1) \
    RT_ENTRY(name, params, args)                  \
    {                                             \
        RT_ENTER(dev);                            \
        (void)dev;                                \
        return rt_result(call0);                  \
    }                                             \
    RT_ENTRY(name##_ptsz, params, args)           \
    {                                             \
        RT_ENTER(dev);                            \
        (void)dev;                                \
        return rt_result(call1);                  \
    }

#define S(st) ((CUstream)(st))

/* A host wait: CUDASIM_SYNC_GUARD=wait forbids it inside an asynchronous copy. */
#define WAITS(entry) cudasim_guard(#entry, SIM_GUARD_WAIT)
RT_PAIR(cudaStreamSynchronize, (cudaStream_t st), (st),
        (WAITS(cudaStreamSynchronize), cudasim_stream_sync(S(st), 0)),
        (WAITS(cudaStreamSynchronize), cudasim_stream_sync(S(st), 1)))
RT_PAIR(cudaStreamQuery, (cudaStream_t st), (st), cudasim_stream_query(S(st), 0),
        cudasim_stream_query(S(st), 1))
RT_PAIR(cudaStreamWaitEvent, (cudaStream_t st, cudaEvent_t e, unsigned flags), (st, e, flags),
        cudasim_stream_wait_event(S(st), 0, (CUevent)e, flags),
        cudasim_stream_wait_event(S(st), 1, (CUevent)e, flags))
RT_PAIR(cudaStreamIsCapturing, (cudaStream_t st, enum cudaStreamCaptureStatus *status),
        (st, status),
        cudasim_stream_capture_status(S(st), 0, (int *)status),
        cudasim_stream_capture_status(S(st), 1, (int *)status))
RT_PAIR(cudaStreamBeginCapture, (cudaStream_t st, enum cudaStreamCaptureMode mode), (st, mode),
        cudasim_stream_begin_capture(S(st), 0, (int)mode),
        cudasim_stream_begin_capture(S(st), 1, (int)mode))
RT_PAIR(cudaStreamEndCapture, (cudaStream_t st, cudaGraph_t *g), (st, g),
        cudasim_stream_end_capture(S(st), 0, (CUgraph *)g),
        cudasim_stream_end_capture(S(st), 1, (CUgraph *)g))
RT_PAIR(cudaEventRecord, (cudaEvent_t e, cudaStream_t st), (e, st),
        cudasim_event_record((CUevent)e, S(st), 0),
        cudasim_event_record((CUevent)e, S(st), 1))
RT_PAIR(cudaLaunchHostFunc, (cudaStream_t st, cudaHostFn_t fn, void *data), (st, fn, data),
        cudasim_launch_host_func(S(st), 0, (CUhostFn)fn, data),
        cudasim_launch_host_func(S(st), 1, (CUhostFn)fn, data))

RT_ENTRY(cudaThreadExchangeStreamCaptureMode, (enum cudaStreamCaptureMode *mode), (mode))
{
    return rt_result(cudasim_exchange_capture_mode((int *)mode));
}

RT_ENTRY(cudaGraphDestroy, (cudaGraph_t g), (g))
{
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_graph_destroy((CUgraph)g));
}

RT_ENTRY(cudaEventCreateWithFlags, (cudaEvent_t *e, unsigned int flags), (e, flags))
{
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_event_create(flags, (CUevent *)e));
}

RT_ENTRY(cudaEventCreate, (cudaEvent_t *e), (e))
{
    return cudaEventCreateWithFlags_body(e, cudaEventDefault);
}

RT_ENTRY(cudaEventDestroy, (cudaEvent_t e), (e))
{
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_event_destroy((CUevent)e));
}

RT_ENTRY(cudaEventQuery, (cudaEvent_t e), (e))
{
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_event_query((CUevent)e));
}

RT_ENTRY(cudaEventSynchronize, (cudaEvent_t e), (e))
{
    cudasim_guard("cudaEventSynchronize", SIM_GUARD_WAIT);
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_event_sync((CUevent)e));
}

RT_ENTRY(cudaEventElapsedTime, (float *ms, cudaEvent_t start, cudaEvent_t end), (ms, start, end))
{
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_event_elapsed(ms, (CUevent)start, (CUevent)end));
}

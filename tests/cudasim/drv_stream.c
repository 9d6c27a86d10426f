/* libcuda.so.1: streams, events, host functions, stream capture. */
#include "drv.h"

CUresult cuStreamCreate(CUstream *s, unsigned int flags)
{
    DRV_CTX_OR_RETURN(dev);
    return cudasim_stream_create(dev, flags, s);
}

CUresult cuStreamDestroy_v2(CUstream s)
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_stream_destroy(s);
}

#define STREAM_PAIR(name, params, call0, call1)  \
    CUresult name params                         \
    {                                            \
        DRV_CTX_OR_RETURN(dev);                  \
        (void)dev;                               \
        return call0;                            \
    }                                            \
    CUresult name##_ptsz params                  \
    {                                            \
        DRV_CTX_OR_RETURN(dev);                  \
        (void)dev;                               \
        return call1;                            \
    }

/* A host wait: CUDASIM_SYNC_GUARD=wait forbids it inside an asynchronous copy. */
#define WAITS(entry) cudasim_guard(#entry, SIM_GUARD_WAIT)
STREAM_PAIR(cuStreamSynchronize, (CUstream s), (WAITS(cuStreamSynchronize), cudasim_stream_sync(s, 0)),
            (WAITS(cuStreamSynchronize), cudasim_stream_sync(s, 1)))
STREAM_PAIR(cuStreamQuery, (CUstream s), cudasim_stream_query(s, 0), cudasim_stream_query(s, 1))
/* `FAULT(x) ?: call`: an injected failure (CUDASIM_FAIL), else the call. */
#define FAULT(entry) cudasim_fault(SIM_FAULT_##entry)
STREAM_PAIR(cuStreamWaitEvent, (CUstream s, CUevent e, unsigned flags),
            FAULT(cuStreamWaitEvent) ?: cudasim_stream_wait_event(s, 0, e, flags),
            FAULT(cuStreamWaitEvent) ?: cudasim_stream_wait_event(s, 1, e, flags))
STREAM_PAIR(cuEventRecord, (CUevent e, CUstream s),
            FAULT(cuEventRecord) ?: cudasim_event_record(e, s, 0),
            FAULT(cuEventRecord) ?: cudasim_event_record(e, s, 1))
STREAM_PAIR(cuLaunchHostFunc, (CUstream s, CUhostFn fn, void *data),
            FAULT(cuLaunchHostFunc) ?: cudasim_launch_host_func(s, 0, fn, data),
            FAULT(cuLaunchHostFunc) ?: cudasim_launch_host_func(s, 1, fn, data))
STREAM_PAIR(cuStreamIsCapturing, (CUstream s, CUstreamCaptureStatus *st),
            cudasim_stream_capture_status(s, 0, (int *)st),
            cudasim_stream_capture_status(s, 1, (int *)st))
STREAM_PAIR(cuStreamBeginCapture_v2, (CUstream s, CUstreamCaptureMode mode),
            cudasim_stream_begin_capture(s, 0, (int)mode),
            cudasim_stream_begin_capture(s, 1, (int)mode))
STREAM_PAIR(cuStreamEndCapture, (CUstream s, CUgraph *g), cudasim_stream_end_capture(s, 0, g),
            cudasim_stream_end_capture(s, 1, g))

CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode *mode)
{
    CUresult r = drv_init_check();
    return r ? r : cudasim_exchange_capture_mode((int *)mode);
}

CUresult cuGraphDestroy(CUgraph g)
{
    CUresult r = drv_init_check();
    return r ? r : cudasim_graph_destroy(g);
}

CUresult cuEventCreate(CUevent *e, unsigned int flags)
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return FAULT(cuEventCreate) ?: cudasim_event_create(flags, e);
}

CUresult cuEventDestroy_v2(CUevent e)
{
    CUresult r = drv_init_check();
    return r ? r : cudasim_event_destroy(e);
}

CUresult cuEventQuery(CUevent e)
{
    CUresult r = drv_init_check();
    return r ? r : cudasim_event_query(e);
}

CUresult cuEventSynchronize(CUevent e)
{
    cudasim_guard("cuEventSynchronize", SIM_GUARD_WAIT);
    CUresult r = drv_init_check();
    return r ? r : cudasim_event_sync(e);
}

CUresult cuEventElapsedTime_v2(float *ms, CUevent start, CUevent end)
{
    CUresult r = drv_init_check();
    return r ? r : cudasim_event_elapsed(ms, start, end);
}

/* The unversioned name, which programs built against CUDA 12 headers call. */
#undef cuEventElapsedTime
CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end);
CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end)
{
    return cuEventElapsedTime_v2(ms, start, end);
}

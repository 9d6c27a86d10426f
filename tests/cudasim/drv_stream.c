/* libcuda.so.1: streams, events, host functions, stream capture. */
#include "drv.h"

DRV_ENTRY(cuStreamCreate, (CUstream *s, unsigned int flags), (s, flags))
{
    DRV_CTX_OR_RETURN(dev);
    return cudasim_stream_create(dev, flags, s);
}

DRV_ENTRY(cuStreamDestroy_v2, (CUstream s), (s))
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_stream_destroy(s);
}

#define STREAM_PAIR(name, params, args, call0, call1) \
    DRV_ENTRY(name, params, args)                     \
    {                                                 \
        DRV_CTX_OR_RETURN(dev);                       \
        (void)dev;                                    \
        return call0;                                 \
    }                                                 \
    DRV_ENTRY(name##_ptsz, params, args)              \
    {                                                 \
        DRV_CTX_OR_RETURN(dev);                       \
        (void)dev;                                    \
        return call1;                                 \
    }

/* A host wait: CUDASIM_SYNC_GUARD=wait forbids it inside an asynchronous copy. */
#define WAITS(entry) cudasim_guard(#entry, SIM_GUARD_WAIT)
STREAM_PAIR(cuStreamSynchronize, (CUstream s), (s),
            (WAITS(cuStreamSynchronize), cudasim_stream_sync(s, 0)),
            (WAITS(cuStreamSynchronize), cudasim_stream_sync(s, 1)))
STREAM_PAIR(cuStreamQuery, (CUstream s), (s), cudasim_stream_query(s, 0),
            cudasim_stream_query(s, 1))
/* `FAULT(x) ?: call`: an injected failure (CUDASIM_FAIL), else the call. */
#define FAULT(entry) cudasim_fault(SIM_FAULT_##entry)
STREAM_PAIR(cuStreamWaitEvent, (CUstream s, CUevent e, unsigned flags), (s, e, flags),
            FAULT(cuStreamWaitEvent) ?: cudasim_stream_wait_event(s, 0, e, flags),
            FAULT(cuStreamWaitEvent) ?: cudasim_stream_wait_event(s, 1, e, flags))
STREAM_PAIR(cuEventRecord, (CUevent e, CUstream s), (e, s),
            FAULT(cuEventRecord) ?: cudasim_event_record(e, s, 0),
            FAULT(cuEventRecord) ?: cudasim_event_record(e, s, 1))
STREAM_PAIR(cuLaunchHostFunc, (CUstream s, CUhostFn fn, void *data), (s, fn, data),
            FAULT(cuLaunchHostFunc) ?: cudasim_launch_host_func(s, 0, fn, data),
            FAULT(cuLaunchHostFunc) ?: cudasim_launch_host_func(s, 1, fn, data))
STREAM_PAIR(cuStreamIsCapturing, (CUstream s, CUstreamCaptureStatus *st), (s, st),
            cudasim_stream_capture_status(s, 0, (int *)st),
            cudasim_stream_capture_status(s, 1, (int *)st))
STREAM_PAIR(cuStreamBeginCapture_v2, (CUstream s, CUstreamCaptureMode mode), (s, mode),
            cudasim_stream_begin_capture(s, 0, (int)mode),
            cudasim_stream_begin_capture(s, 1, (int)mode))
STREAM_PAIR(cuStreamEndCapture, (CUstream s, CUgraph *g), (s, g),
            cudasim_stream_end_capture(s, 0, g),
            cudasim_stream_end_capture(s, 1, g))

DRV_ENTRY(cuThreadExchangeStreamCaptureMode, (CUstreamCaptureMode *mode), (mode))
{
    CUresult r = drv_init_check();
    return r ? r : cudasim_exchange_capture_mode((int *)mode);
}

DRV_ENTRY(cuGraphDestroy, (CUgraph g), (g))
{
    CUresult r = drv_init_check();
    return r ? r : cudasim_graph_destroy(g);
}

DRV_ENTRY(cuEventCreate, (CUevent *e, unsigned int flags), (e, flags))
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return FAULT(cuEventCreate) ?: cudasim_event_create(flags, e);
}

DRV_ENTRY(cuEventDestroy_v2, (CUevent e), (e))
{
    CUresult r = drv_init_check();
    return r ? r : cudasim_event_destroy(e);
}

DRV_ENTRY(cuEventQuery, (CUevent e), (e))
{
    CUresult r = drv_init_check();
    return r ? r : cudasim_event_query(e);
}

DRV_ENTRY(cuEventSynchronize, (CUevent e), (e))
{
    cudasim_guard("cuEventSynchronize", SIM_GUARD_WAIT);
    CUresult r = drv_init_check();
    return r ? r : cudasim_event_sync(e);
}

DRV_ENTRY(cuEventElapsedTime_v2, (float *ms, CUevent start, CUevent end), (ms, start, end))
{
    CUresult r = drv_init_check();
    return r ? r : cudasim_event_elapsed(ms, start, end);
}

/* The unversioned name, which programs built against CUDA 12 headers call. */
#undef cuEventElapsedTime
CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end);
DRV_ENTRY(cuEventElapsedTime, (float *ms, CUevent start, CUevent end), (ms, start, end))
{
    return cuEventElapsedTime_v2_body(ms, start, end);
}

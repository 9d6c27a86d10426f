/*
 * test_sim_util.h — for unit tests of shim modules that reach the CUDA
 * driver (gpu/gq_driver.c): cudasim's libcuda.so.1 loaded by path before the
 * shim opens "libcuda.so.1" (its RTLD_NOLOAD lookup then finds it by soname),
 * a current context, streams, and gates.
 *
 * A gate is a host function queued on a stream that waits until the test
 * opens it: work queued behind it (an event, a copy) cannot complete before
 * then. Unlike a delay, it does not depend on how fast the machine is.
 *
 * Include after <cmocka.h>.
 */
#ifndef TEST_SIM_UTIL_H
#define TEST_SIM_UTIL_H

#include <cuda.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gpu/gq_driver.h"

static void *ts_libcuda;
static CUresult (*ts_cuStreamCreate)(CUstream *s, unsigned flags);
static CUresult (*ts_cuStreamDestroy)(CUstream s);

/* Group setup: load cudasim, make device 0's primary context current. */
static __attribute__((unused)) int ts_load_cudasim(void)
{
    const char *build = getenv("BUILD");
    char path[4096];
    snprintf(path, sizeof path, "%s/cudasim/libcuda.so.1", build && *build ? build : "build");
    ts_libcuda = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!ts_libcuda) {
        print_error("cannot load cudasim (%s): %s\n", path, dlerror());
        return -1;
    }
    CUresult (*device_get)(CUdevice *, int) = (CUresult(*)(CUdevice *, int))dlsym(ts_libcuda, "cuDeviceGet");
    CUresult (*retain)(CUcontext *, CUdevice) =
        (CUresult(*)(CUcontext *, CUdevice))dlsym(ts_libcuda, "cuDevicePrimaryCtxRetain");
    CUresult (*set_current)(CUcontext) = (CUresult(*)(CUcontext))dlsym(ts_libcuda, "cuCtxSetCurrent");
    ts_cuStreamCreate = (CUresult(*)(CUstream *, unsigned))dlsym(ts_libcuda, "cuStreamCreate");
    ts_cuStreamDestroy = (CUresult(*)(CUstream))dlsym(ts_libcuda, "cuStreamDestroy_v2");
    if (!device_get || !retain || !set_current || !ts_cuStreamCreate || !ts_cuStreamDestroy) {
        print_error("cudasim (%s) lacks a driver entry point the tests use\n", path);
        return -1;
    }
    /* The shim's driver table, loaded now: it must find cudasim. */
    if (!gq_drv()) {
        print_error("the shim did not load cudasim's driver\n");
        return -1;
    }
    CUdevice dev;
    CUcontext ctx;
    if (device_get(&dev, 0) != CUDA_SUCCESS || retain(&ctx, dev) != CUDA_SUCCESS ||
        set_current(ctx) != CUDA_SUCCESS) {
        print_error("cudasim: no context on device 0\n");
        return -1;
    }
    return 0;
}

static __attribute__((unused)) CUstream ts_stream(void)
{
    CUstream s = NULL;
    assert_int_equal(ts_cuStreamCreate(&s, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
    return s;
}

static __attribute__((unused)) void ts_stream_done(CUstream s)
{
    assert_int_equal(gq_drv()->cuStreamSynchronize(s), CUDA_SUCCESS);
    assert_int_equal(ts_cuStreamDestroy(s), CUDA_SUCCESS);
}

struct ts_gate {
    int open; /* atomic */
};

/* Gates live as long as the process: a host function may still look at one
 * after a failed test has left it. */
#define TS_GATES 128
static struct ts_gate ts_gates[TS_GATES];
static unsigned ts_n_gates;

static void ts_gate_wait(void *arg)
{
    struct ts_gate *g = arg;
    const struct timespec tick = {0, 100 * 1000};
    while (!__atomic_load_n(&g->open, __ATOMIC_ACQUIRE))
        nanosleep(&tick, NULL);
}

/* Hold back everything queued on s after this call until ts_gate_open. */
static __attribute__((unused)) struct ts_gate *ts_gate_close(CUstream s)
{
    assert_true(ts_n_gates < TS_GATES);
    struct ts_gate *g = &ts_gates[ts_n_gates++];
    assert_int_equal(gq_drv()->cuLaunchHostFunc(s, ts_gate_wait, g), CUDA_SUCCESS);
    return g;
}

static __attribute__((unused)) void ts_gate_open(struct ts_gate *g)
{
    __atomic_store_n(&g->open, 1, __ATOMIC_RELEASE);
}

/* Teardown: a failed test must not leave work stuck behind its gates. */
static __attribute__((unused)) void ts_gates_open_all(void)
{
    for (unsigned i = 0; i < ts_n_gates; i++)
        ts_gate_open(&ts_gates[i]);
}

struct ts_later {
    struct ts_gate *gate;
    unsigned ms;
};

static void *ts_open_later_main(void *arg)
{
    struct ts_later *l = arg;
    const struct timespec wait = {(time_t)(l->ms / 1000), (long)(l->ms % 1000) * 1000000L};
    nanosleep(&wait, NULL);
    ts_gate_open(l->gate);
    free(l);
    return NULL;
}

/* Open g from another thread after `ms` milliseconds (unless opened
 * before): for a call that must wait for the GPU, or one that must not. */
static __attribute__((unused)) void ts_gate_open_later(struct ts_gate *g, unsigned ms)
{
    struct ts_later *l = malloc(sizeof *l);
    pthread_t t;
    assert_non_null(l);
    l->gate = g;
    l->ms = ms;
    assert_int_equal(pthread_create(&t, NULL, ts_open_later_main, l), 0);
    pthread_detach(t);
}

static __attribute__((unused)) int ts_gate_is_open(struct ts_gate *g)
{
    return __atomic_load_n(&g->open, __ATOMIC_ACQUIRE);
}

/* Whether work queued on a stream ran after a gate (on another stream)
 * opened: queue ts_note_gate, open the gate later, synchronise, look. */
struct ts_seen {
    struct ts_gate *gate;
    int ran, gate_was_open;
};

static void ts_seen_fn(void *arg)
{
    struct ts_seen *seen = arg;
    seen->gate_was_open = __atomic_load_n(&seen->gate->open, __ATOMIC_ACQUIRE);
    __atomic_store_n(&seen->ran, 1, __ATOMIC_RELEASE);
}

static __attribute__((unused)) void ts_note_gate(struct ts_seen *seen, struct ts_gate *g, CUstream s)
{
    seen->gate = g;
    seen->ran = seen->gate_was_open = 0;
    assert_int_equal(gq_drv()->cuLaunchHostFunc(s, ts_seen_fn, seen), CUDA_SUCCESS);
}

/* An event recorded on s now (after whatever s holds). */
static __attribute__((unused)) CUevent ts_event_on(CUstream s)
{
    CUevent ev;
    assert_int_equal(gq_drv()->cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING), CUDA_SUCCESS);
    assert_int_equal(gq_drv()->cuEventRecord(ev, s), CUDA_SUCCESS);
    return ev;
}

#endif

/* Process-wide state of cudasim: configuration, devices, contexts, handles. */
#define _GNU_SOURCE
#include "sim_impl.h"
#include "sim_profile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t sim_cond = PTHREAD_COND_INITIALIZER;
struct sim_config sim_cfg;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int initialized;
/* Set in the child of a fork after initialisation: as with a GPU, the CUDA
 * state of the parent is not usable there (its workers do not exist). */
static int forked;
static CUresult sticky[SIM_MAX_DEVICES];
static uint64_t next_id = 1;

/* The calling thread's current device, -1 for no current context. */
static __thread int cur_dev = -1;

void sim_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cudasim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static unsigned long long env_number(const char *name, unsigned long long dflt,
                                     unsigned long long lo, unsigned long long hi, int sizes)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (sizes && *end) {
        int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : -1;
        if (shift > 0 && n <= (hi >> shift)) {
            n <<= shift;
            end++;
        }
    }
    if (errno || end == v || *end || *v == '-' || n < lo || n > hi)
        sim_fatal("%s=%s is invalid: expected %s%llu..%llu", name, v,
                  sizes ? "a size (K, M, G suffixes) in " : "an integer in ", lo, hi);
    return n;
}

static void in_child(void)
{
    /* The lock and condition may hold the state of threads that are gone. */
    pthread_mutex_t fresh_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
    memcpy(&sim_lock, &fresh_lock, sizeof sim_lock);
    memcpy(&sim_cond, &fresh_cond, sizeof sim_cond);
    forked = 1;
}

static void init(void)
{
    sim_cfg.devices = (int)env_number("CUDASIM_DEVICES", 2, 1, SIM_MAX_DEVICES, 0);
    /* One TiB of address space per device; a page-sized minimum. */
    sim_cfg.mem = env_number("CUDASIM_MEM", 16ull << 30, 1u << 20, 1ull << 40, 1);
    sim_cfg.mem &= ~(size_t)0xfff;
    sim_cfg.delay_us = (unsigned)env_number("CUDASIM_DELAY_US", 0, 0, 10000000, 0);
    sim_cfg.test_kernels = (int)env_number("CUDASIM_TEST_KERNELS", 0, 0, 1, 0);
    sim_fault_init();
    sim_api_init();
    sim_profile_init();
    sim_mem_init();
    if (pthread_atfork(NULL, NULL, in_child))
        sim_fatal("pthread_atfork failed");
    initialized = 1;
}

CUresult cudasim_init(void)
{
    pthread_once(&init_once, init);
    return forked ? CUDA_ERROR_NOT_INITIALIZED : CUDA_SUCCESS;
}

int cudasim_is_initialized(void)
{
    pthread_mutex_lock(&sim_lock);
    int r = initialized && !forked;
    pthread_mutex_unlock(&sim_lock);
    return r;
}

int cudasim_device_count(void)
{
    return sim_cfg.devices;
}

size_t cudasim_device_mem(void)
{
    return sim_cfg.mem;
}

int cudasim_current_device(void)
{
    return cur_dev;
}

CUresult cudasim_set_current_device(int dev)
{
    if (dev < -1 || dev >= sim_cfg.devices)
        return CUDA_ERROR_INVALID_DEVICE;
    cur_dev = dev;
    return CUDA_SUCCESS;
}

/* Primary contexts' references: cuDevicePrimaryCtxRetain's, and the
 * runtime's (taken at its first call on the device, never given back). A
 * context whose last reference goes is destroyed (its memory, streams and
 * modules) until it is retained again. */
static int ctx_refs[SIM_MAX_DEVICES], ctx_runtime[SIM_MAX_DEVICES], ctx_dead[SIM_MAX_DEVICES];

void cudasim_primary_retain(int dev, int runtime)
{
    if (runtime && __atomic_load_n(&ctx_runtime[dev], __ATOMIC_RELAXED))
        return; /* every runtime call: the common case takes no lock */
    pthread_mutex_lock(&sim_lock);
    if (runtime)
        __atomic_store_n(&ctx_runtime[dev], 1, __ATOMIC_RELAXED);
    else
        ctx_refs[dev]++;
    __atomic_store_n(&ctx_dead[dev], 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&sim_lock);
}

CUresult cudasim_primary_release(int dev)
{
    pthread_mutex_lock(&sim_lock);
    if (ctx_refs[dev] == 0) {
        pthread_mutex_unlock(&sim_lock);
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    int destroy = --ctx_refs[dev] == 0 && !ctx_runtime[dev];
    pthread_mutex_unlock(&sim_lock);
    if (!destroy)
        return CUDA_SUCCESS;
    CUresult r = cudasim_device_reset(dev);
    pthread_mutex_lock(&sim_lock);
    __atomic_store_n(&ctx_dead[dev], ctx_refs[dev] == 0 && !ctx_runtime[dev], __ATOMIC_RELAXED);
    pthread_mutex_unlock(&sim_lock);
    return r;
}

int cudasim_primary_destroyed(int dev)
{
    return dev >= 0 && dev < SIM_MAX_DEVICES && __atomic_load_n(&ctx_dead[dev], __ATOMIC_RELAXED);
}

CUcontext cudasim_primary_ctx(int dev)
{
    return (CUcontext)(((uintptr_t)SIM_TAG_CTX << 48) | (uintptr_t)(dev + 1));
}

int cudasim_ctx_device(CUcontext ctx)
{
    uintptr_t h = (uintptr_t)ctx;
    if (sim_handle_tag(h) != SIM_TAG_CTX)
        return -1;
    long dev = (long)(h & 0xffffffffffffu) - 1;
    return dev >= 0 && dev < sim_cfg.devices ? (int)dev : -1;
}

CUresult cudasim_sticky(int dev)
{
    pthread_mutex_lock(&sim_lock);
    CUresult r = dev >= 0 && dev < SIM_MAX_DEVICES ? sticky[dev] : CUDA_SUCCESS;
    pthread_mutex_unlock(&sim_lock);
    return r;
}

/* Called without sim_lock (stream ops call it after dropping the lock). The
 * first sticky error stays until cudaDeviceReset. */
void cudasim_set_sticky(int dev, CUresult err)
{
    pthread_mutex_lock(&sim_lock);
    if (dev >= 0 && dev < SIM_MAX_DEVICES && !sticky[dev])
        sticky[dev] = err;
    pthread_mutex_unlock(&sim_lock);
    fprintf(stderr, "cudasim: device %d: sticky error %d: %s\n", dev, (int)err,
            cudasim_error_string(err) ? cudasim_error_string(err) : "?");
}

CUresult cudasim_device_reset(int dev)
{
    if (dev < 0 || dev >= sim_cfg.devices)
        return CUDA_ERROR_INVALID_DEVICE;
    CUresult r = cudasim_device_sync(dev);
    if (r && r != sticky[dev])
        return r;
    pthread_mutex_lock(&sim_lock);
    sim_stream_reset(dev);
    sim_mem_reset(dev);
    sim_kernel_reset(dev);
    sticky[dev] = CUDA_SUCCESS;
    pthread_mutex_unlock(&sim_lock);
    return CUDA_SUCCESS;
}

uintptr_t sim_handle_new(enum sim_tag tag)
{
    /* Caller holds sim_lock. */
    return ((uintptr_t)tag << 48) | next_id++;
}

uint64_t sim_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * regress — the defects a review of the shim found, each as a case that
 * failed before its fix (see the commit that added this file).
 *
 *   regress CASE EXPECT
 *     badcopy   offload into h, then a D2H into h that the runtime refuses
 *               (source too short): h must still hold the offload's data
 *     badfree   the same with cudaFreeHost(h + 4096), which is refused
 *     unreg     the same with cudaHostUnregister(h + 4096), refused
 *     leak      40 pinned buffers, an offload into the second half of each,
 *               all freed: the shim must hold no compressed bytes after
 *     async     an async H2D from h while h's async offload is still queued
 *               behind a held stream: the call must not wait for it
 *     indep     two restores of one buffer on independent streams: the
 *               second must not wait for the first's held stream
 *     xdev      copies of device 0 memory while device 1 is current: exact,
 *               never run by the shim in the wrong context (skipped, exit
 *               E2E_SKIP, where the runtime shows one device)
 *   EXPECT: exact | quant
 */
#include "e2e.h"
#include "e2e_oracle.h"

#include <time.h>

#define N (1u << 20)

static int released; /* atomic: the held stream's host function spins on it */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Holds its stream until the main thread says so (3 s at most). */
static void CUDART_CB hold(void *arg)
{
    (void)arg;
    double t0 = now();
    while (!__atomic_load_n(&released, __ATOMIC_ACQUIRE) && now() - t0 < 3.0)
        ;
}

static unsigned char *src, *want;
static void *d_a;

static void offload_into(unsigned char **h)
{
    CK(cudaMallocHost((void **)h, N));
    CK(cudaMemcpy(*h, d_a, N, cudaMemcpyDeviceToHost));
}

static void expect_host(const unsigned char *h, const char *what)
{
    long at = e2e_diff(h, want, N);
    if (at >= 0)
        FAIL("%s: host byte %ld is %02x, want %02x", what, at, h[at], want[at]);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        FAIL("usage: regress CASE exact|quant");
    const char *c = argv[1];
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    src = malloc(N);
    want = malloc(N);
    e2e_fill(src, N, "f16", 7, 0);
    e2e_expect(&p, src, N, strcmp(argv[2], "quant") == 0, want);
    CK(cudaMalloc(&d_a, N));
    CK(cudaMemcpy(d_a, src, N, cudaMemcpyHostToDevice));
    unsigned char *h;

    if (strcmp(c, "badcopy") == 0 || strcmp(c, "badfree") == 0 || strcmp(c, "unreg") == 0) {
        offload_into(&h);
        void *d_small;
        CK(cudaMalloc(&d_small, N / 2));
        cudaError_t r = strcmp(c, "badcopy") == 0 ? cudaMemcpy(h, d_small, N, cudaMemcpyDeviceToHost)
                        : strcmp(c, "badfree") == 0 ? cudaFreeHost(h + 4096)
                                                    : cudaHostUnregister(h + 4096);
        if (r == cudaSuccess)
            FAIL("%s: the bad call succeeded", c);
        cudaGetLastError();
        expect_host(h, "host buffer after a refused call");
    } else if (strcmp(c, "leak") == 0) {
        unsigned char *bufs[40];
        for (int i = 0; i < 40; i++) {
            CK(cudaMallocHost((void **)&bufs[i], 2 * N));
            CK(cudaMemcpy(bufs[i] + N, d_a, N, cudaMemcpyDeviceToHost));
        }
        for (int i = 0; i < 40; i++)
            CK(cudaFreeHost(bufs[i]));
        /* t_regress.sh reads host_bytes_held from the stats at exit. */
    } else if (strcmp(c, "async") == 0) {
        void *d_b;
        CK(cudaMalloc(&d_b, N));
        CK(cudaMallocHost((void **)&h, N));
        cudaStream_t s;
        CK(cudaStreamCreate(&s));
        CK(cudaLaunchHostFunc(s, hold, NULL));
        CK(cudaMemcpyAsync(h, d_a, N / 2, cudaMemcpyDeviceToHost, s));
        CK(cudaMemcpyAsync(h + N / 2, (char *)d_a + N / 2, N / 2, cudaMemcpyDeviceToHost, s));
        double t0 = now();
        CK(cudaMemcpyAsync(d_b, h, N, cudaMemcpyHostToDevice, s)); /* spans both offloads */
        double dt = now() - t0;
        __atomic_store_n(&released, 1, __ATOMIC_RELEASE);
        CK(cudaStreamSynchronize(s));
        if (dt > 1.5)
            FAIL("the async H2D call waited %.2f s for the queued offloads", dt);
        unsigned char *back = malloc(N);
        CK(cudaMemcpy(back, d_b, N, cudaMemcpyDeviceToHost));
        expect_host(back, "restored after the held stream ran");
    } else if (strcmp(c, "indep") == 0) {
        offload_into(&h);
        void *d_b, *d_c;
        CK(cudaMalloc(&d_b, N));
        CK(cudaMalloc(&d_c, N));
        cudaStream_t s1, s2;
        CK(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking));
        CK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
        CK(cudaLaunchHostFunc(s1, hold, NULL));
        CK(cudaMemcpyAsync(d_b, h, N, cudaMemcpyHostToDevice, s1));
        double t0 = now();
        CK(cudaMemcpyAsync(d_c, h, N, cudaMemcpyHostToDevice, s2));
        CK(cudaStreamSynchronize(s2));
        double dt = now() - t0;
        __atomic_store_n(&released, 1, __ATOMIC_RELEASE);
        CK(cudaStreamSynchronize(s1));
        if (dt > 1.5)
            FAIL("the restore on s2 waited %.2f s for s1", dt);
        unsigned char *back = malloc(N);
        CK(cudaMemcpy(back, d_c, N, cudaMemcpyDeviceToHost));
        expect_host(back, "restore on s2");
        CK(cudaMemcpy(back, d_b, N, cudaMemcpyDeviceToHost));
        expect_host(back, "restore on s1");
    } else if (strcmp(c, "xdev") == 0) {
        /* d_a lives on device 0; device 1 becomes current. */
        e2e_need_devices(2);
        unsigned char *back = malloc(N);
        CK(cudaMallocHost((void **)&h, N));
        CK(cudaSetDevice(1));
        CK(cudaMemcpy(h, d_a, N, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(d_a, h, N, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(back, d_a, N, cudaMemcpyDeviceToHost));
        long at = e2e_diff(back, src, N);
        if (at >= 0)
            FAIL("cross-device copies: byte %ld differs", at);
    } else {
        FAIL("unknown case %s", c);
    }
    printf("regress %s: ok\n", c);
    return 0;
}

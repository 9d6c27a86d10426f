/*
 * capture_mode.c — one thread captures a graph in global mode while another
 * offloads a tensor. `unsafe`: the second thread allocates pinned memory
 * meanwhile, which the driver refuses and which ends the capture (what the
 * shim must never do on a program's behalf); `relaxed`: the same call in
 * relaxed mode (cudaThreadExchangeStreamCaptureMode) is allowed. `offload`: the second thread
 * only queues an asynchronous D2H into a pinned buffer (and waits for its
 * own stream); whatever the shim does inside must leave the capture valid.
 * Argument 2: "quant" when a rule compresses the buffer, else "exact".
 */
#include <pthread.h>

#include "e2e_oracle.h"

#define BYTES (4u << 20)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int capturing, offloaded;
static int unsafe_mode, relaxed_mode;
static void *dev, *pinned, *src, *relaxed_block;

static void wait_for(int *flag)
{
    pthread_mutex_lock(&mu);
    while (!*flag)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static void set(int *flag)
{
    pthread_mutex_lock(&mu);
    *flag = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void *offloader(void *arg)
{
    cudaStream_t s;
    (void)arg;
    CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    wait_for(&capturing);
    if (unsafe_mode) {
        void *p = NULL;
        cudaError_t e = cudaMallocHost(&p, 1 << 20);
        if (e != cudaErrorStreamCaptureUnsupported)
            FAIL("cudaMallocHost during another thread's global capture: %s, want "
                 "cudaErrorStreamCaptureUnsupported", cudaGetErrorString(e));
    } else {
        if (relaxed_mode) {
            /* the same call in relaxed mode is this thread's own business */
            enum cudaStreamCaptureMode m = cudaStreamCaptureModeRelaxed;
            CK(cudaThreadExchangeStreamCaptureMode(&m));
            if (m != cudaStreamCaptureModeGlobal)
                FAIL("a thread's capture mode starts global, got %d", (int)m);
            CK(cudaMallocHost(&relaxed_block, 1 << 20));
            CK(cudaThreadExchangeStreamCaptureMode(&m)); /* freed after the capture: a free waits */
        }
        CK(cudaMemcpyAsync(pinned, dev, BYTES, cudaMemcpyDeviceToHost, s));
        CK(cudaStreamSynchronize(s));
    }
    set(&offloaded);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "unsafe") && strcmp(argv[1], "offload") && strcmp(argv[1], "relaxed")))
        FAIL("usage: capture_mode unsafe|relaxed|offload quant|exact");
    unsafe_mode = strcmp(argv[1], "unsafe") == 0;
    relaxed_mode = strcmp(argv[1], "relaxed") == 0;
    int quant = strcmp(argv[2], "quant") == 0;
    src = malloc(BYTES);
    void *want = malloc(BYTES), *scratch;
    e2e_fill(src, BYTES, "f16", 11, 0);
    CK(cudaMalloc(&dev, BYTES));
    CK(cudaMalloc(&scratch, 4096));
    CK(cudaHostAlloc(&pinned, BYTES, cudaHostAllocDefault));
    CK(cudaMemcpy(dev, src, BYTES, cudaMemcpyHostToDevice));

    pthread_t t;
    cudaStream_t cs;
    cudaGraph_t g;
    CK(cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking));
    if (pthread_create(&t, NULL, offloader, NULL))
        FAIL("pthread_create");
    CK(cudaStreamBeginCapture(cs, cudaStreamCaptureModeGlobal));
    set(&capturing);
    wait_for(&offloaded);
    cudaError_t me = cudaMemsetAsync(scratch, 0, 4096, cs); /* some captured work */
    if (me != cudaSuccess && !(unsafe_mode && me == cudaErrorStreamCaptureInvalidated))
        FAIL("cudaMemsetAsync into the capture: %s", cudaGetErrorString(me));
    cudaError_t e = cudaStreamEndCapture(cs, &g);
    pthread_join(t, NULL);
    if (unsafe_mode) {
        if (e != cudaErrorStreamCaptureInvalidated)
            FAIL("the capture survived an unsafe call from another thread: %s", cudaGetErrorString(e));
        printf("capture_mode: the unsafe call was refused and ended the capture\n");
        return 0;
    }
    if (e != cudaSuccess)
        FAIL("the capture did not survive another thread's offload: %s", cudaGetErrorString(e));
    CK(cudaGraphDestroy(g));
    if (relaxed_block)
        CK(cudaFreeHost(relaxed_block));
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    e2e_expect(&p, src, BYTES, quant, want);
    if (e2e_diff(pinned, want, BYTES) >= 0)
        FAIL("the offloaded tensor is not the %s", quant ? "4-bit round trip" : "original");
    printf("capture_mode: the capture stayed valid; the offload is %s\n", quant ? "compressed" : "exact");
    return 0;
}

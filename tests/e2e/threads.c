/*
 * threads — four threads, each on its own stream, offload and restore their
 * own tensors asynchronously, several times, without any host
 * synchronisation between the offload and the restore (stream order alone
 * must carry the data), then check the restored bytes.
 *
 *   threads EXPECT      EXPECT: exact | quant
 */
#include "e2e.h"
#include "e2e_oracle.h"

#include <pthread.h>

#define THREADS 4
#define BYTES (512 * 1024)
#define ROUNDS 4

static int quant;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    cudaStream_t s;
    CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    unsigned char *src = malloc(BYTES), *want = malloc(BYTES), *back = malloc(BYTES), *h;
    void *d_a, *d_b;
    CK(cudaMallocHost((void **)&h, BYTES));
    CK(cudaMalloc(&d_a, BYTES));
    CK(cudaMalloc(&d_b, BYTES));
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    for (int round = 0; round < ROUNDS; round++) {
        e2e_fill(src, BYTES, "f16", 1000u * (uint64_t)id + (uint64_t)round, round == 0);
        e2e_expect(&p, src, BYTES, quant, want);
        CK(cudaMemcpyAsync(d_a, src, BYTES, cudaMemcpyHostToDevice, s));
        CK(cudaStreamSynchronize(s)); /* src is pageable: keep it alive until staged */
        CK(cudaMemcpyAsync(h, d_a, BYTES, cudaMemcpyDeviceToHost, s));
        CK(cudaMemcpyAsync(d_b, h, BYTES, cudaMemcpyHostToDevice, s));
        CK(cudaMemcpyAsync(back, d_b, BYTES, cudaMemcpyDeviceToHost, s));
        CK(cudaStreamSynchronize(s));
        long at = e2e_diff(back, want, BYTES);
        if (at >= 0)
            FAIL("thread %d round %d: byte %ld differs", id, round, at);
        at = e2e_diff(h, want, BYTES);
        if (at >= 0)
            FAIL("thread %d round %d: host buffer byte %ld differs", id, round, at);
    }
    CK(cudaFree(d_a));
    CK(cudaFree(d_b));
    CK(cudaFreeHost(h));
    CK(cudaStreamDestroy(s));
    free(src);
    free(want);
    free(back);
    return NULL;
}

int main(int argc, char **argv)
{
    quant = argc > 1 && strcmp(argv[1], "quant") == 0;
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("threads: %d threads x %d rounds ok (%s)\n", THREADS, ROUNDS, quant ? "quant" : "exact");
    return 0;
}

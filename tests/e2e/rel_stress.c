/*
 * rel_stress — many threads, many streams, two devices: offloads and
 * restores at once, as a multi-GPU offloading server does. Written against
 * the runtime only; it knows nothing of the shim.
 *
 *   rel_stress EXPECT [THREADS ROUNDS]
 *     EXPECT  exact | quant | either   what a restored tensor must equal:
 *             the bytes sent, the codec's values, or (faults, a full store)
 *             one of the two — whole, never a mix
 *
 * Each thread owns one pinned host buffer and one tensor per (device,
 * stream) and, every round, moves to the other device (cudaSetDevice) and
 * does, on each of its STREAMS streams:
 *   upload src -> d_a; offload d_a -> h (async); event record, reused every
 *   round; restore h -> d_b on the *next* stream after waiting on that event;
 *   bring d_b back to pageable memory and check it, and check h.
 * Every other round one offload goes to a stream that is destroyed while the
 * offload is still queued, and is checked after cudaDeviceSynchronize.
 * Tensors are TENSOR bytes; restore targets are bigger, so a size= rule
 * names the tensors (on=dev) or their host buffers (on=host) only. Where
 * the runtime shows fewer than DEVICES devices it runs nothing and exits
 * E2E_SKIP (e2e.h).
 */
#include "e2e.h"
#include "e2e_oracle.h"

#include <pthread.h>

#define STREAMS 3
#define DEVICES 2
#define TENSOR (256 * 1024)
#define TARGET (TENSOR + 4096)

enum expect { EXACT, QUANT, EITHER };
static enum expect expect;
static int n_threads = 8, n_rounds = 4;

struct slot {
    unsigned char *h;  /* pinned, TENSOR bytes */
    void *d_a[DEVICES]; /* TENSOR bytes: the tensor */
    void *d_b[DEVICES]; /* TARGET bytes: restore target */
};

/* want_q: the codec's values of src (computed once per fill). */
static void oracle(const unsigned char *src, unsigned char *want_q)
{
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    e2e_expect(&p, src, TENSOR, 1, want_q);
}

static void check(const unsigned char *got, const unsigned char *src, const unsigned char *want_q,
                  const char *what, int id, int round, int k)
{
    long ex = e2e_diff(got, src, TENSOR), qu = e2e_diff(got, want_q, TENSOR);
    int ok = expect == EXACT ? ex < 0 : expect == QUANT ? qu < 0 : (ex < 0 || qu < 0);
    if (!ok)
        FAIL("thread %d round %d stream %d: %s: first byte differing from the exact data %ld, "
             "from the codec's values %ld (want %s)", id, round, k, what, ex, qu,
             expect == EXACT ? "exact" : expect == QUANT ? "quant" : "either, whole");
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    cudaStream_t st[DEVICES][STREAMS];
    cudaEvent_t ev[DEVICES];
    struct slot sl[STREAMS];
    unsigned char *src = malloc(TENSOR), *want_q = malloc(TENSOR), *back = malloc(TENSOR);
    if (!src || !want_q || !back)
        FAIL("malloc");
    for (int dev = 0; dev < DEVICES; dev++) {
        CK(cudaSetDevice(dev));
        CK(cudaEventCreateWithFlags(&ev[dev], cudaEventDisableTiming));
        for (int k = 0; k < STREAMS; k++) {
            CK(cudaStreamCreateWithFlags(&st[dev][k], k ? cudaStreamNonBlocking : cudaStreamDefault));
            CK(cudaMalloc(&sl[k].d_a[dev], TENSOR));
            CK(cudaMalloc(&sl[k].d_b[dev], TARGET));
        }
    }
    for (int k = 0; k < STREAMS; k++)
        CK(cudaMallocHost((void **)&sl[k].h, TENSOR));

    for (int round = 0; round < n_rounds; round++) {
        int dev = (id + round) % DEVICES;
        CK(cudaSetDevice(dev));
        for (int k = 0; k < STREAMS; k++) {
            cudaStream_t s = st[dev][k], next = st[dev][(k + 1) % STREAMS];
            struct slot *x = &sl[k];
            e2e_fill(src, TENSOR, "f16", ((uint64_t)id << 32) | (uint64_t)(round * STREAMS + k),
                     round == 0 && k == 0);
            oracle(src, want_q);
            CK(cudaMemcpy(x->d_a[dev], src, TENSOR, cudaMemcpyHostToDevice));
            CK(cudaMemcpyAsync(x->h, x->d_a[dev], TENSOR, cudaMemcpyDeviceToHost, s));
            CK(cudaEventRecord(ev[dev], s)); /* the same event, re-recorded */
            CK(cudaStreamWaitEvent(next, ev[dev], 0));
            CK(cudaMemcpyAsync(x->d_b[dev], x->h, TENSOR, cudaMemcpyHostToDevice, next));
            CK(cudaMemcpyAsync(back, x->d_b[dev], TENSOR, cudaMemcpyDeviceToHost, next));
            CK(cudaStreamSynchronize(next));
            check(back, src, want_q, "restored tensor", id, round, k);
            CK(cudaStreamSynchronize(s));
            check(x->h, src, want_q, "host buffer", id, round, k);
        }
        if (round % 2 == 1) {
            /* An offload still queued when its stream is destroyed. */
            cudaStream_t tmp;
            CK(cudaStreamCreate(&tmp));
            e2e_fill(src, TENSOR, "f16", ((uint64_t)id << 32) | 0xdead0000u | (uint64_t)round, 0);
            oracle(src, want_q);
            CK(cudaMemcpy(sl[0].d_a[dev], src, TENSOR, cudaMemcpyHostToDevice));
            CK(cudaMemcpyAsync(sl[0].h, sl[0].d_a[dev], TENSOR, cudaMemcpyDeviceToHost, tmp));
            CK(cudaStreamDestroy(tmp));
            CK(cudaDeviceSynchronize());
            check(sl[0].h, src, want_q, "host buffer of a destroyed stream", id, round, -1);
            CK(cudaMemcpy(sl[0].d_b[dev], sl[0].h, TENSOR, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(back, sl[0].d_b[dev], TENSOR, cudaMemcpyDeviceToHost));
            check(back, src, want_q, "restored tensor of a destroyed stream", id, round, -1);
        }
    }

    for (int dev = 0; dev < DEVICES; dev++) {
        CK(cudaSetDevice(dev));
        CK(cudaEventDestroy(ev[dev]));
        for (int k = 0; k < STREAMS; k++) {
            CK(cudaStreamDestroy(st[dev][k]));
            CK(cudaFree(sl[k].d_a[dev]));
            CK(cudaFree(sl[k].d_b[dev]));
        }
    }
    for (int k = 0; k < STREAMS; k++)
        CK(cudaFreeHost(sl[k].h));
    free(src);
    free(want_q);
    free(back);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: rel_stress exact|quant|either [THREADS ROUNDS]\n");
        return 2;
    }
    expect = strcmp(argv[1], "quant") == 0 ? QUANT : strcmp(argv[1], "either") == 0 ? EITHER : EXACT;
    if (argc == 4) {
        n_threads = atoi(argv[2]);
        n_rounds = atoi(argv[3]);
    }
    e2e_need_devices(DEVICES); /* else skipped: exit E2E_SKIP */
    pthread_t *t = calloc((size_t)n_threads, sizeof *t);
    for (int i = 0; i < n_threads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i))
            FAIL("pthread_create");
    for (int i = 0; i < n_threads; i++)
        pthread_join(t[i], NULL);
    free(t);
    printf("rel_stress: %d threads x %d streams x %d devices x %d rounds ok (%s)\n", n_threads,
           STREAMS, DEVICES, n_rounds, argv[1]);
    return 0;
}

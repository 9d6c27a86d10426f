/*
 * rel_life — a program's life around its offloads: CUDA graph capture, fork,
 * exit with work in flight, cudaDeviceReset. A plain runtime program; it
 * knows nothing of the shim and checks its own data (the codec is linked as
 * an oracle).
 *
 *   rel_life capture EXPECT   copies issued while a stream captures are
 *                             recorded, not run: the host buffer keeps its
 *                             bytes; the same copies run afterwards
 *   rel_life fork EXPECT      fork while another thread offloads and
 *                             restores; the child must not hang on a lock,
 *                             gets errors (not crashes) from CUDA, and sees
 *                             the pages the parent had read
 *   rel_life forktrace EXPECT fork while another thread makes traced calls
 *                             as fast as it can (run with GQSHIM_TRACE=1):
 *                             a child's copy must not hang on the trace's
 *                             locks
 *   rel_life exit EXPECT      exit() with offloads queued on delayed streams
 *                             and a thread reading the host buffers
 *   rel_life reset EXPECT     offload, cudaDeviceReset, then everything anew:
 *                             the second offload and restore must work
 * EXPECT: exact | quant (what an offloaded tensor reads back as).
 */
#include "e2e.h"
#include "e2e_oracle.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define TENSOR (1024 * 1024)

static int quant;
static enum cudaMemcpyKind D2H = cudaMemcpyDeviceToHost, H2D = cudaMemcpyHostToDevice;

static void expected(const unsigned char *src, unsigned char *want)
{
    struct gq_params p = {4, 64, GQ_F16, GQ_DIM_LAST, 0};
    e2e_expect(&p, src, TENSOR, quant, want);
}

static void device_equals(const void *d, const unsigned char *want, size_t n, const char *what)
{
    unsigned char *h = malloc(n);
    CK(cudaMemcpy(h, d, n, D2H));
    long at = e2e_diff(h, want, n);
    if (at >= 0)
        FAIL("%s: byte %ld differs (got %02x, want %02x)", what, at, h[at], want[at]);
    free(h);
}

struct tensor {
    unsigned char *src, *want, *h;
    void *d_a, *d_b;
};

static void tensor_new(struct tensor *t, uint64_t seed)
{
    t->src = malloc(TENSOR);
    t->want = malloc(TENSOR);
    e2e_fill(t->src, TENSOR, "f16", seed, 0);
    expected(t->src, t->want);
    CK(cudaMallocHost((void **)&t->h, TENSOR));
    CK(cudaMalloc(&t->d_a, TENSOR));
    CK(cudaMalloc(&t->d_b, TENSOR + 4096));
    CK(cudaMemcpy(t->d_a, t->src, TENSOR, H2D));
}

static void tensor_free(struct tensor *t)
{
    CK(cudaFreeHost(t->h));
    CK(cudaFree(t->d_a));
    CK(cudaFree(t->d_b));
    free(t->src);
    free(t->want);
}

/* Offload, check the host view, restore, check the device. */
static void roundtrip(struct tensor *t, cudaStream_t s, const char *what)
{
    CK(cudaMemcpyAsync(t->h, t->d_a, TENSOR, D2H, s));
    CK(cudaStreamSynchronize(s));
    long at = e2e_diff(t->h, t->want, TENSOR);
    if (at >= 0)
        FAIL("%s: host buffer byte %ld differs", what, at);
    CK(cudaMemcpyAsync(t->d_b, t->h, TENSOR, H2D, s));
    CK(cudaStreamSynchronize(s));
    device_equals(t->d_b, t->want, TENSOR, what);
}

static int do_capture(void)
{
    struct tensor t;
    tensor_new(&t, 7);
    cudaStream_t s;
    CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    memset(t.h, 0xa5, TENSOR);
    CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    CK(cudaMemcpyAsync(t.h, t.d_a, TENSOR, D2H, s));
    CK(cudaMemcpyAsync(t.d_b, t.h, TENSOR, H2D, s));
    cudaGraph_t g;
    CK(cudaStreamEndCapture(s, &g));
    CK(cudaGraphDestroy(g));
    CK(cudaStreamSynchronize(s));
    /* Recorded, not run: the host buffer still holds what the CPU wrote. */
    for (size_t i = 0; i < TENSOR; i++)
        if (t.h[i] != 0xa5)
            FAIL("capture: a captured copy ran (host byte %zu is %02x)", i, t.h[i]);
    roundtrip(&t, s, "after the capture");
    CK(cudaStreamDestroy(s));
    tensor_free(&t);
    printf("rel_life capture: ok (%s)\n", quant ? "quant" : "exact");
    return 0;
}

static int stop; /* atomic */

/* Offloads and restores (allocations too) on its own stream until told to
 * stop: at any fork, this thread may hold one of the shim's locks. */
static void *churn(void *arg)
{
    (void)arg;
    cudaStream_t s;
    CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    for (uint64_t i = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++) {
        struct tensor t;
        tensor_new(&t, 100 + i);
        roundtrip(&t, s, "churn");
        tensor_free(&t);
    }
    CK(cudaStreamDestroy(s));
    return NULL;
}

static int do_fork(void)
{
    struct tensor t;
    tensor_new(&t, 11);
    cudaStream_t s;
    CK(cudaStreamCreate(&s));
    CK(cudaMemcpyAsync(t.h, t.d_a, TENSOR, D2H, s));
    CK(cudaStreamSynchronize(s));
    /* The parent reads the first half: those pages exist before the fork. */
    long at = e2e_diff(t.h, t.want, TENSOR / 2);
    if (at >= 0)
        FAIL("fork: parent host byte %ld differs", at);
    /* The child's buffer comes from the parent: glibc's malloc is fork-safe,
     * but ThreadSanitizer's allocator (gcc 12-14) takes a lock in malloc that
     * its fork handlers do not hold, so a child can hang there for reasons
     * that are not the shim's. */
    unsigned char *buf = malloc(TENSOR);
    if (!buf)
        FAIL("malloc");
    pthread_t th;
    pthread_create(&th, NULL, churn, NULL);
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        if (pid < 0)
            FAIL("fork");
        if (pid == 0) {
            alarm(20); /* a child stuck on an inherited lock dies, and fails the test */
            if (e2e_diff(t.h, t.want, TENSOR / 2) >= 0)
                _exit(3);
            /* CUDA is unusable in a child: each call fails, none crashes or hangs. */
            void *d = NULL, *hp = NULL;
            int errors = (cudaMalloc(&d, 4096) != cudaSuccess) +
                         (cudaMemcpy(buf, t.d_a, TENSOR, D2H) != cudaSuccess) +
                         (cudaMemcpy(t.d_b, t.h, TENSOR, H2D) != cudaSuccess) +
                         (cudaMallocHost(&hp, TENSOR) != cudaSuccess);
            if (errors != 4)
                _exit(4);
            cudaFreeHost(t.h); /* fails or not; must return */
            _exit(0);
        }
        int st = 0;
        if (waitpid(pid, &st, 0) != pid)
            FAIL("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            FAIL("fork %d: child %s %d", i, WIFEXITED(st) ? "exited with" : "killed by signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    free(buf);
    /* The parent goes on as if nothing happened. */
    roundtrip(&t, s, "parent after the forks");
    CK(cudaStreamDestroy(s));
    tensor_free(&t);
    printf("rel_life fork: ok (%s)\n", quant ? "quant" : "exact");
    return 0;
}

static unsigned char *reader_buf;

static void *reader(void *arg)
{
    (void)arg;
    volatile unsigned sum = 0;
    for (;;)
        for (size_t i = 0; i < TENSOR; i += 4096)
            sum += reader_buf[i];
    return NULL;
}

static int do_exit(void)
{
    enum { N = 4 };
    struct tensor t[N];
    cudaStream_t s[N];
    for (int i = 0; i < N; i++) {
        tensor_new(&t[i], 20 + (uint64_t)i);
        CK(cudaStreamCreateWithFlags(&s[i], cudaStreamNonBlocking));
    }
    /* One buffer offloaded and read back by a thread that never stops. */
    roundtrip(&t[0], s[0], "before exit");
    reader_buf = t[0].h;
    pthread_t th;
    pthread_create(&th, NULL, reader, NULL);
    for (int i = 1; i < N; i++) {
        CK(cudaMemcpyAsync(t[i].h, t[i].d_a, TENSOR, D2H, s[i]));
        CK(cudaMemcpyAsync(t[i].d_b, t[i].h, TENSOR, H2D, s[i]));
    }
    printf("rel_life exit: exiting with work queued (%s)\n", quant ? "quant" : "exact");
    fflush(stdout);
    exit(0);
}

static int do_reset(void)
{
    cudaStream_t s;
    struct tensor t;
    for (int life = 0; life < 3; life++) {
        CK(cudaSetDevice(0));
        CK(cudaStreamCreate(&s));
        tensor_new(&t, 30 + (uint64_t)life);
        roundtrip(&t, s, life ? "after a reset" : "before the reset");
        /* Offloaded and not yet restored when the context goes. */
        CK(cudaMemcpyAsync(t.h, t.d_a, TENSOR, D2H, s));
        CK(cudaDeviceReset());
        /* Everything of the old context is gone; the host buffer is ours
         * only to free (a real driver freed it with the context). */
        free(t.src);
        free(t.want);
    }
    CK(cudaStreamCreate(&s));
    tensor_new(&t, 99);
    roundtrip(&t, s, "last life");
    tensor_free(&t);
    printf("rel_life reset: ok (%s)\n", quant ? "quant" : "exact");
    return 0;
}

/* Allocations and small copies in a tight loop: under GQSHIM_TRACE=1 each
 * one takes the trace's locks, so this thread holds them much of the time. */
static uint64_t churned; /* atomic: iterations so far */

static void *trace_churn(void *arg)
{
    unsigned char *h = arg;
    for (uint64_t i = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++) {
        __atomic_store_n(&churned, i, __ATOMIC_RELAXED);
        void *d = NULL;
        CK(cudaMalloc(&d, 4096));
        CK(cudaMemcpy(h, d, 4096, D2H));
        CK(cudaFree(d));
    }
    return NULL;
}

static int do_forktrace(void)
{
    static unsigned char h[4096], child_buf[4096];
    void *d = NULL;
    CK(cudaMalloc(&d, 4096));
    pthread_t th;
    pthread_create(&th, NULL, trace_churn, h);
    while (__atomic_load_n(&churned, __ATOMIC_RELAXED) < 10)
        sched_yield();
    int forks = getenv("REL_FORKS") ? atoi(getenv("REL_FORKS")) : 2000;
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid < 0)
            FAIL("fork");
        if (pid == 0) {
            alarm(10); /* a child stuck on an inherited lock dies, and fails the test */
            /* Fails (CUDA is unusable in a child), but must return. */
            cudaMemcpy(child_buf, d, 4096, D2H);
            _exit(0);
        }
        int st = 0;
        if (waitpid(pid, &st, 0) != pid)
            FAIL("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            FAIL("forktrace %d: child %s %d", i, WIFEXITED(st) ? "exited with" : "killed by signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    CK(cudaFree(d));
    printf("rel_life forktrace: ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: rel_life capture|fork|forktrace|exit|reset exact|quant\n");
        return 2;
    }
    quant = strcmp(argv[2], "quant") == 0;
    if (strcmp(argv[1], "capture") == 0)
        return do_capture();
    if (strcmp(argv[1], "fork") == 0)
        return do_fork();
    if (strcmp(argv[1], "forktrace") == 0)
        return do_forktrace();
    if (strcmp(argv[1], "exit") == 0)
        return do_exit();
    if (strcmp(argv[1], "reset") == 0)
        return do_reset();
    fprintf(stderr, "rel_life: unknown test '%s'\n", argv[1]);
    return 2;
}

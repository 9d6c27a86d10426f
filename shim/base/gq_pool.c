/* The shim's threads for large CPU encodes and decodes (see gq_pool.h). */
#define _GNU_SOURCE
#include "base/gq_pool.h"

#include "base/gq_config.h"
#include "base/gq_fork.h"

#include "gq_codec.h"

#include <pthread.h>
#include <signal.h>

/* The call that owns the workers: parts [0, n) of fn, `next` the first not
 * yet taken, `done` those finished. All under `mu`. */
struct job {
    void (*fn)(void *arg, unsigned i);
    void *arg;
    unsigned n, next, done;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER; /* a job has parts left */
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER; /* the job's last part finished */
static struct job *job;   /* NULL: the workers are free */
static unsigned workers;  /* started; never more than the cap - 1 */
static unsigned cap;      /* gq_pool_threads(), once read; atomic */

unsigned gq_pool_threads(void)
{
    unsigned n = __atomic_load_n(&cap, __ATOMIC_RELAXED);
    if (n)
        return n;
    n = gq_cfg()->threads;
    if (n == 0) {
        n = gq_cpu_count();
        if (n > GQ_POOL_AUTO_MAX)
            n = GQ_POOL_AUTO_MAX;
    }
    __atomic_store_n(&cap, n, __ATOMIC_RELAXED);
    return n;
}

unsigned gq_pool_workers(void)
{
    pthread_mutex_lock(&mu);
    unsigned n = workers;
    pthread_mutex_unlock(&mu);
    return n;
}

/* With mu held: take the next part of j, run it without the lock, count it. */
static void run_one(struct job *j)
{
    unsigned i = j->next++;
    pthread_mutex_unlock(&mu);
    j->fn(j->arg, i);
    pthread_mutex_lock(&mu);
    if (++j->done == j->n)
        pthread_cond_signal(&done_cv);
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "gqshim-pool"); /* tests count them */
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!job || job->next == job->n)
            pthread_cond_wait(&work_cv, &mu);
        run_one(job);
    }
    return NULL;
}

/* With mu held: start workers until `want` run (fewer when one cannot
 * start: the caller's thread does their parts). */
static void grow(unsigned want)
{
    sigset_t all, old;
    sigfillset(&all);
    while (workers < want) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* Block every signal: the program's handlers must not run here. */
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int rc = pthread_create(&t, &attr, worker_main, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0)
            return;
        workers++;
    }
}

void gq_pool_run(unsigned n, void (*fn)(void *arg, unsigned i), void *arg)
{
    unsigned threads = gq_pool_threads();
    int alone = n <= 1 || threads <= 1 || gq_forked();
    if (!alone) {
        pthread_mutex_lock(&mu);
        alone = job != NULL; /* busy: never wait for another call's work */
        if (alone)
            pthread_mutex_unlock(&mu);
    }
    if (alone) {
        for (unsigned i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    struct job j = {fn, arg, n, 0, 0};
    grow(n - 1 < threads - 1 ? n - 1 : threads - 1);
    job = &j;
    pthread_cond_broadcast(&work_cv);
    while (j.next < j.n)
        run_one(&j);
    while (j.done < j.n)
        pthread_cond_wait(&done_cv, &mu);
    job = NULL;
    pthread_mutex_unlock(&mu);
}

/* Parts for `bytes` of raw elements: one per GQ_POOL_MIN_BYTES, at most the
 * threads a call may use. */
static unsigned parts_for(uint64_t bytes)
{
    uint64_t n = bytes / GQ_POOL_MIN_BYTES;
    unsigned threads = gq_pool_threads();
    return n == 0 ? 1u : n < threads ? (unsigned)n : threads;
}

int gq_pool_decode_range(const void *buf, size_t buf_size, uint64_t e0, uint64_t e1, void *dst)
{
    struct gq_info info;
    if (gq_info_read(buf, buf_size, &info) != GQ_OK || e1 <= e0)
        return gq_decode_range(buf, buf_size, e0, e1, dst); /* its status */
    unsigned parts = parts_for((e1 - e0) * info.layout.esize);
    if (parts == 1)
        return gq_decode_range(buf, buf_size, e0, e1, dst);
    return gq_decode_range_run(buf, buf_size, e0, e1, dst, parts, gq_pool_run);
}

int gq_pool_encode(const struct gq_params *p, const void *src, uint64_t n_elems,
                   uint32_t escape_capacity, void *dst, size_t dst_size)
{
    unsigned parts = parts_for(n_elems * gq_dtype_size(p->dtype));
    if (parts == 1)
        return gq_encode(p, src, n_elems, escape_capacity, dst, dst_size);
    return gq_encode_run(p, src, n_elems, escape_capacity, dst, dst_size, parts, gq_pool_run);
}

void gq_pool_atfork(enum gq_fork_phase ph)
{
    gq_mutex_atfork(&mu, ph);
    if (ph != GQ_FORK_CHILD)
        return;
    /* The workers do not exist in the child (the shim is off there anyway). */
    pthread_cond_t fresh = PTHREAD_COND_INITIALIZER;
    work_cv = fresh;
    done_cv = fresh;
    job = NULL;
    workers = 0;
}

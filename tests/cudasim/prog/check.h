/*
 * check.h — the little harness of cudasim's test programs. Each program is a
 * list of checks, one behaviour each, named for it; `prog` runs them all,
 * `prog NAME` runs one. Output: "ok NAME" or "FAIL NAME" plus the failed
 * expectations; the exit status is the number of failed checks (capped).
 */
#ifndef CUDASIM_CHECK_H
#define CUDASIM_CHECK_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int check_failed;

#define EXPECT(cond)                                                              \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "    %s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            check_failed = 1;                                                     \
        }                                                                         \
    } while (0)

/* A call returns the code it should; prints both names when it does not. */
#define EXPECT_CODE(call, want)                                                          \
    do {                                                                                 \
        long got_ = (long)(call);                                                        \
        if (got_ != (long)(want)) {                                                      \
            fprintf(stderr, "    %s:%d: %s returned %ld, expected %s (%ld)\n", __FILE__, \
                    __LINE__, #call, got_, #want, (long)(want));                         \
            check_failed = 1;                                                            \
        }                                                                                \
    } while (0)

struct check {
    const char *name;
    void (*fn)(void);
};

#define CHECK(name) {#name, name}

static const char *check_self;

/* Checks named child_* run only when named: in a fresh process started by
 * run_child (CUDA state does not survive fork, on a GPU or in cudasim). */
static inline int run_checks(const struct check *c, size_t n, int argc, char **argv)
{
    int failed = 0, ran = 0;
    check_self = argv[0];
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 ? strcmp(argv[1], c[i].name) != 0 : strncmp(c[i].name, "child_", 6) == 0)
            continue;
        check_failed = 0;
        c[i].fn();
        printf("%s %s\n", check_failed ? "FAIL" : "ok  ", c[i].name);
        fflush(stdout);
        failed += check_failed;
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no check named %s\n", argc > 1 ? argv[1] : "(any)");
        return 100;
    }
    printf("%d of %d checks passed\n", ran - failed, ran);
    return failed > 99 ? 99 : failed;
}

#define CHECK_MAIN(...)                                                       \
    int main(int argc, char **argv)                                           \
    {                                                                         \
        static const struct check checks_[] = {__VA_ARGS__};                  \
        return run_checks(checks_, sizeof checks_ / sizeof *checks_, argc, argv); \
    }

/* Runs fn in a child process; returns the signal that ended it, or 0. */
static inline int dies_with_signal(void (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        fn(arg);
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* Runs this program's check `name` in a new process; returns its exit
 * status (0: the check passed; -1: it was killed). */
static inline int run_child(const char *name)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", check_self, name, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A gate: a host function that holds its stream until the test opens it, so
 * ordering checks depend on no timing. */
struct gate {
    int open;
};

static inline void gate_hold(void *arg)
{
    struct gate *g = arg;
    while (!__atomic_load_n(&g->open, __ATOMIC_ACQUIRE))
        usleep(100);
}

/* A gate that never holds: a host function that marks a place in a stream. */
static inline struct gate *open_gate(void)
{
    static struct gate g = {1};
    return &g;
}

static inline void gate_open(struct gate *g)
{
    __atomic_store_n(&g->open, 1, __ATOMIC_RELEASE);
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static inline void fill_u32(uint32_t *p, size_t n, uint32_t first)
{
    for (size_t i = 0; i < n; i++)
        p[i] = first + (uint32_t)i;
}

static inline int all_u32(const uint32_t *p, size_t n, uint32_t first)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != first + (uint32_t)i)
            return 0;
    return 1;
}

#endif

/*
 * Stats that survive the ways a program ends besides exit():
 *
 * - SIGTERM and SIGINT (how inference servers are stopped): where the
 *   program left the default action, the handler writes the report and then
 *   ends the process by the same signal, so its exit status is unchanged.
 *   A handler the program installed before is called instead, untouched
 *   (it usually ends in exit(), which writes the report). A signal the
 *   program ignores stays ignored. A handler the program installs later
 *   replaces ours, and then the report is written when it exits.
 * - exec: the process image and its atexit handlers are about to go, so the
 *   report is written first (again at exit if the exec fails).
 */
#define _GNU_SOURCE
#include "entry/gq_hooks.h"

#include "base/gq_config.h"
#include "core/gq_report.h"
#include "gpu/gq_sym.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sigaction prev[2]; /* SIGTERM, SIGINT: what the program had */

static int slot(int sig) { return sig == SIGINT; }

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *p = &prev[slot(sig)];
    if (p->sa_flags & SA_SIGINFO) {
        p->sa_sigaction(sig, si, uc);
        return;
    }
    if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
        p->sa_handler(sig);
        return;
    }
    gq_report_signal(sig);
    /* The default action: end by this signal, as without the shim. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, sig);
    pthread_sigmask(SIG_UNBLOCK, &m, NULL);
    raise(sig);
}

void gq_signals_install(void)
{
    static const int sigs[2] = {SIGTERM, SIGINT};
    for (int i = 0; i < 2; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) != 0 || (!(old.sa_flags & SA_SIGINFO) &&
                                                    old.sa_handler == SIG_IGN))
            continue;
        prev[i] = old;
        struct sigaction sa = old; /* the program's mask and flags, our function */
        sa.sa_flags = (old.sa_flags | SA_SIGINFO) & ~SA_RESETHAND;
        sa.sa_sigaction = on_signal;
        sigaction(sigs[i], &sa, NULL);
    }
}

/* ---- exec ------------------------------------------------------------------ */

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

extern char **environ;

static void *next(const char *name) { return gq_sym(RTLD_NEXT, name); }

static pid_t image_pid; /* the process this image was loaded into */

void gq_signals_note_pid(void) { image_pid = getpid(); }

/* The report, if this image has one due, before it is replaced. Not from
 * the child of a vfork (it shares the parent's memory, and the parent's
 * report is the parent's to write at its own end) nor of a fork. */
static void before(void)
{
    if (getpid() == image_pid && gq_config_loaded() && gq_report_due())
        gq_report_exec();
}

static int after(int rc)
{
    if (getpid() == image_pid)
        gq_report_exec_failed();
    return rc;
}

GQ_EXPORT int execve(const char *path, char *const argv[], char *const envp[]);
GQ_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    execve_fn f = (execve_fn)next("execve");
    before();
    return after(f ? f(path, argv, envp) : -1);
}

GQ_EXPORT int execv(const char *path, char *const argv[]);
GQ_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

GQ_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]);
GQ_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    execvpe_fn f = (execvpe_fn)next("execvpe");
    before();
    return after(f ? f(file, argv, envp) : -1);
}

GQ_EXPORT int execvp(const char *file, char *const argv[]);
GQ_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

GQ_EXPORT int fexecve(int fd, char *const argv[], char *const envp[]);
GQ_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    fexecve_fn f = (fexecve_fn)next("fexecve");
    before();
    return after(f ? f(fd, argv, envp) : -1);
}

/* execl, execlp, execle: the arguments into an array, then the v form.
 * Every argument is passed on, however many: up to GQ_ARGS_STACK on the
 * stack, more in an array from the heap (never truncated). */
#define GQ_ARGS_STACK 4096

/* The arguments from `arg` to the terminating NULL, counted, then copied
 * into an array of n + 1 (the caller frees *heap when it is not NULL). On
 * return `ap` has consumed the NULL; NULL when no memory is left. */
static char **collect(const char *arg, va_list *ap, char **stack, char ***heap)
{
    va_list count;
    va_copy(count, *ap);
    size_t n = 0;
    for (const char *a = arg; a; a = va_arg(count, const char *))
        n++;
    va_end(count);
    char **argv = stack;
    *heap = NULL;
    if (n >= GQ_ARGS_STACK) {
        argv = *heap = malloc((n + 1) * sizeof *argv);
        if (!argv)
            return NULL;
    }
    size_t i = 0;
    for (const char *a = arg; a; a = va_arg(*ap, const char *))
        argv[i++] = (char *)a;
    argv[i] = NULL;
    return argv;
}

GQ_EXPORT int execl(const char *path, const char *arg, ...);
GQ_EXPORT int execl(const char *path, const char *arg, ...)
{
    char *stack[GQ_ARGS_STACK], **heap;
    va_list ap;
    va_start(ap, arg);
    char **argv = collect(arg, &ap, stack, &heap);
    va_end(ap);
    int r = argv ? execve(path, argv, environ) : (errno = ENOMEM, -1);
    free(heap);
    return r;
}

GQ_EXPORT int execlp(const char *file, const char *arg, ...);
GQ_EXPORT int execlp(const char *file, const char *arg, ...)
{
    char *stack[GQ_ARGS_STACK], **heap;
    va_list ap;
    va_start(ap, arg);
    char **argv = collect(arg, &ap, stack, &heap);
    va_end(ap);
    int r = argv ? execvpe(file, argv, environ) : (errno = ENOMEM, -1);
    free(heap);
    return r;
}

GQ_EXPORT int execle(const char *path, const char *arg, ...);
GQ_EXPORT int execle(const char *path, const char *arg, ...)
{
    char *stack[GQ_ARGS_STACK], **heap;
    va_list ap;
    va_start(ap, arg);
    char **argv = collect(arg, &ap, stack, &heap);
    char *const *envp = argv ? va_arg(ap, char *const *) : NULL;
    va_end(ap);
    int r = argv ? execve(path, argv, envp) : (errno = ENOMEM, -1);
    free(heap);
    return r;
}

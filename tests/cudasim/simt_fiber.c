/*
 * Fibers for the SIMT executor: user-level contexts on the OS thread that
 * runs a launch. A switch saves the callee-saved registers on the old stack
 * and moves the stack pointer (no signal-mask system call, unlike
 * swapcontext). The x87 control word and MXCSR are not switched: kernels do
 * not change them (ldmxcsr/fldcw would cost more than the rest). Each
 * fiber's stack is an mmap with a PROT_NONE guard page under it; fibers are
 * kept per OS thread and reused by every launch the thread runs.
 *
 * A fiber runs simt_fiber_main() in a loop: it runs the thread it was given,
 * then switches back and waits for the next. ASan is told of every switch
 * (start/finish_switch_fiber); TSan is not (below).
 */
#define _GNU_SOURCE
#include "simt_impl.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define SIMT_ASAN 1
#endif
/* ThreadSanitizer is not told of the switches. Announcing each fiber
 * (__tsan_create_fiber / __tsan_switch_to_fiber) made every switch a
 * vector-clock synchronisation over all fibers ever created: rel_stress ran
 * 63x slower than without TSan. Unannounced, the threads of a block are what
 * they are, one OS thread's program order: TSan still checks the kernels'
 * accesses against every other thread (the shim's, the program's), and only
 * its stack traces inside a kernel can show frames of another lane. */
#if defined(__SANITIZE_THREAD__)
#define SIMT_TSAN_STACKS 1
#endif

#if !defined(__x86_64__)
#error "the SIMT executor's context switch is written for x86-64"
#endif

/* Sanitizer frames are larger; kernels themselves need little. */
#if defined(SIMT_ASAN) || defined(SIMT_TSAN_STACKS)
#define STACK_SIZE (512u * 1024u)
#else
#define STACK_SIZE (128u * 1024u)
#endif

/* simt_switch(save, to): stores the current stack pointer in *save and
 * continues on the stack `to` (which a previous switch saved, or which
 * simt_fiber_reset prepared to "return" into simt_fiber_start). */
void simt_switch(void **save, void *to);
void simt_fiber_start(void);
__asm__(".text\n"
        ".globl simt_switch\n"
        ".hidden simt_switch\n"
        ".type simt_switch,@function\n"
        "simt_switch:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size simt_switch, .-simt_switch\n"
        /* First entry: r12 holds the fiber; the stack is 16-aligned here. */
        ".globl simt_fiber_start\n"
        ".hidden simt_fiber_start\n"
        ".type simt_fiber_start,@function\n"
        "simt_fiber_start:\n"
        "    movq %r12, %rdi\n"
        "    call simt_fiber_main\n"
        "    ud2\n"
        ".size simt_fiber_start, .-simt_fiber_start\n");

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* Prepares f's stack so that switching to it enters simt_fiber_start with
 * r12 = f and the stack pointer 16-aligned (the top of the stack). */
static void fiber_reset(struct simt_fiber *f)
{
    uint64_t *sp = (uint64_t *)(f->stack + STACK_SIZE);
#ifdef SIMT_ASAN
    __asan_unpoison_memory_region(f->stack, STACK_SIZE);
#endif
    *--sp = (uint64_t)simt_fiber_start;  /* "return" address */
    *--sp = 0;                           /* rbp */
    *--sp = 0;                           /* rbx */
    *--sp = (uint64_t)f;                 /* r12 */
    *--sp = 0;                           /* r13 */
    *--sp = 0;                           /* r14 */
    *--sp = 0;                           /* r15 */
    f->sp = sp;
}

struct simt_fiber *simt_fiber_new(struct simt_exec *x)
{
    size_t guard = page_size();
    struct simt_fiber *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    unsigned char *m = mmap(NULL, STACK_SIZE + guard, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED) {
        free(f);
        return NULL;
    }
    if (mprotect(m, guard, PROT_NONE)) {
        munmap(m, STACK_SIZE + guard);
        free(f);
        return NULL;
    }
    f->stack = m + guard;
    f->exec = x;
    fiber_reset(f);
    return f;
}

void simt_fiber_free(struct simt_fiber *f)
{
#ifdef SIMT_ASAN
    /* ASan keeps shadow bytes of unmapped memory: a later mapping at this
     * address must not inherit the frames' redzones. */
    __asan_unpoison_memory_region(f->stack, STACK_SIZE);
#endif
    munmap(f->stack - page_size(), STACK_SIZE + page_size());
    free(f);
}

/* A fiber abandoned in the middle of a thread (a launch failed) starts over. */
void simt_fiber_abandon(struct simt_fiber *f)
{
    fiber_reset(f);
}

/* ---- switches, with the sanitizers told ---- */

void simt_enter(struct simt_exec *x, struct simt_fiber *f)
{
#ifdef SIMT_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, f->stack, STACK_SIZE);
#endif
    simt_switch(&x->sched_sp, f->sp);
#ifdef SIMT_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

void simt_leave(struct simt_fiber *f)
{
    struct simt_exec *x = f->exec;
#ifdef SIMT_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, x->sched_stack_bottom, x->sched_stack_size);
#endif
    simt_switch(&f->sp, x->sched_sp);
#ifdef SIMT_ASAN
    __sanitizer_finish_switch_fiber(fake, &x->sched_stack_bottom, &x->sched_stack_size);
#endif
}

/* First code on a fresh fiber stack. */
__attribute__((noreturn, used)) void simt_fiber_main(struct simt_fiber *f);
__attribute__((noreturn, used)) void simt_fiber_main(struct simt_fiber *f)
{
    struct simt_exec *x = f->exec;
#ifdef SIMT_ASAN
    __sanitizer_finish_switch_fiber(NULL, &x->sched_stack_bottom, &x->sched_stack_size);
#endif
    for (;;) {
        simt_run_thread(x, f);
        simt_leave(f);
    }
}

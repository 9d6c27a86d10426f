/*
 * dlsym: a program that dlopen()s libcuda.so.1 and dlsym()s its entry points
 * (and the dynamic libcudart, which looks up cuGetProcAddress that way) would
 * bypass the preload. The exported dlsym below answers our driver hook for
 * exactly the names libgqshim.so interposes (gq_real_drv.h), asked on a
 * libcuda handle by anyone but the shim itself. Every other lookup reaches
 * the real dlsym untouched.
 *
 * The traps (as HAMi-core's tracker shows them), and how they are avoided:
 * - The caller. glibc's dlsym reads its return address to know who asks:
 *   RTLD_NEXT means "after the caller", and the caller's namespace scopes
 *   RTLD_DEFAULT. A C wrapper calling the real dlsym would make every lookup
 *   look like ours. So the export is a few instructions of assembly: it asks
 *   gq_dlsym_decide() and, unless that returns a hook, *jumps* to the real
 *   dlsym with the original arguments and return address: the real dlsym sees
 *   the program's caller, for RTLD_NEXT and everything else.
 * - The real dlsym comes from dlvsym (gpu/gq_sym.c), resolved once, never
 *   per lookup; the shim's own lookups call it directly (gq_sym), never
 *   this export.
 * - No recursion: the decision calls no dlsym of its own (dlvsym, dladdr and
 *   dlopen(RTLD_NOLOAD) do not), and lookups made by libgqshim.so itself
 *   (finding the real driver and runtime) are never redirected.
 * - RTLD_DEFAULT and RTLD_NEXT are never redirected: those search the global
 *   scope, where our exports already come first.
 *
 * On architectures without the stub below, dlsym is not interposed (README:
 * limits): only lookups through the dynamic linker and cuGetProcAddress are.
 */
#define _GNU_SOURCE
#include "entry/gq_hooks.h"
#include "gpu/gq_real_drv.h"
#include "gpu/gq_sym.h"

#include <dlfcn.h>
#include <stddef.h>

#if defined(__x86_64__) || defined(__aarch64__)

#define GQ_HIDDEN __attribute__((visibility("hidden")))
/* dlsym is called by other preloaded libraries' initialisation, before ours
 * and before a sanitizer's shadow memory exists (ASan resolves its
 * interceptors through dlsym): the path to the real dlsym must not be
 * instrumented (check-sanitize crashed here at startup). */
#define GQ_EARLY __attribute__((no_sanitize("address", "thread")))

GQ_HIDDEN void *gq_dlsym_decide(void *handle, const char *name, const void *caller);

/* The shim's own lookups must get the real entry points. */
GQ_EARLY static int from_self(const void *caller)
{
    static void *self_base;
    Dl_info me, them;
    void *base = __atomic_load_n(&self_base, __ATOMIC_ACQUIRE);
    if (!base) {
        if (!dladdr((void *)&gq_dlsym_decide, &me))
            return 1; /* cannot tell: stay out of the way */
        base = me.dli_fbase;
        __atomic_store_n(&self_base, base, __ATOMIC_RELEASE);
    }
    return !dladdr(caller, &them) || them.dli_fbase == base;
}

GQ_EARLY static int is_libcuda(void *handle)
{
    /* A loaded library has one handle however it was named (soname, path,
     * symlink): the program's handle is the one NOLOAD answers. */
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (!h)
        return 0;
    dlclose(h);
    return h == handle;
}

GQ_EARLY void *gq_dlsym_decide(void *handle, const char *name, const void *caller)
{
    gq_sym_init(); /* the real dlsym the stub jumps to (gpu/gq_sym.h) */
    /* Cheapest tests first: most lookups end at the first line. */
    if (!name || name[0] != 'c' || name[1] != 'u')
        return NULL;
    if (handle == RTLD_DEFAULT || handle == RTLD_NEXT)
        return NULL;
    int i = gq_drv_hook_by_name(name);
    if (i < 0 || from_self(caller) || !is_libcuda(handle))
        return NULL;
    /* Only where the real driver has the symbol: else dlsym answers NULL as
     * it would without us. */
    if (!gq_real_drv_at((enum gq_drv_hook)i))
        return NULL;
    return gq_drv_hook_addr((enum gq_drv_hook)i);
}

#if defined(__x86_64__)
/* rdi = handle, rsi = name; the return address (the caller) is at 0(%rsp)
 * on entry and becomes the third argument. */
__asm__(".text\n"
        ".globl dlsym\n"
        ".type dlsym, @function\n"
        "dlsym:\n"
        "    .cfi_startproc\n"
#ifdef __CET__
        "    endbr64\n"
#endif
        "    pushq %rdi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rsi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    subq $8, %rsp\n" /* 16-byte alignment for the call */
        "    .cfi_adjust_cfa_offset 8\n"
        "    movq 24(%rsp), %rdx\n"
        "    call gq_dlsym_decide\n"
        "    addq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rsi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rdi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    testq %rax, %rax\n"
        "    jnz 1f\n"
        "    movq gq_dlsym_next(%rip), %rax\n"
        "    testq %rax, %rax\n"
        "    jz 1f\n"
        "    jmp *%rax\n" /* the real dlsym, with the program's return address */
        "1:  ret\n"
        "    .cfi_endproc\n"
        ".size dlsym, .-dlsym\n");
#else
/* x0 = handle, x1 = name, x30 = the caller. */
__asm__(".text\n"
        ".globl dlsym\n"
        ".type dlsym, %function\n"
        "dlsym:\n"
        "    .cfi_startproc\n"
        "    stp x29, x30, [sp, #-32]!\n"
        "    .cfi_def_cfa_offset 32\n"
        "    .cfi_offset 29, -32\n"
        "    .cfi_offset 30, -24\n"
        "    mov x29, sp\n"
        "    stp x0, x1, [sp, #16]\n"
        "    mov x2, x30\n"
        "    bl gq_dlsym_decide\n"
        "    mov x9, x0\n"
        "    ldp x0, x1, [sp, #16]\n"
        "    ldp x29, x30, [sp], #32\n"
        "    .cfi_def_cfa_offset 0\n"
        "    .cfi_restore 29\n"
        "    .cfi_restore 30\n"
        "    cbnz x9, 1f\n"
        "    adrp x16, gq_dlsym_next\n"
        "    ldr x16, [x16, #:lo12:gq_dlsym_next]\n"
        "    cbz x16, 1f\n"
        /* the real dlsym, with the program's x30; through x16, which a
         * BTI "c" landing pad accepts, as PLT stubs do */
        "    br x16\n"
        "1:  mov x0, x9\n"
        "    ret\n"
        "    .cfi_endproc\n"
        ".size dlsym, .-dlsym\n");
#endif

#endif

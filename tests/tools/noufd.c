/*
 * noufd — run a program under a seccomp filter that refuses userfaultfd(2),
 * as the default profiles of Docker and Kubernetes do (EPERM), or as a
 * sandbox without the system call answers (ENOSYS, gVisor).
 *
 *   noufd [--errno=EPERM|ENOSYS] [--] program [args...]
 *
 * Everything else is allowed. No privilege needed: the filter comes with
 * no_new_privs, which the program inherits. Exit status 2 when the filter
 * cannot be installed, 127 when the program cannot be run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "noufd: add this architecture's AUDIT_ARCH"
#endif

#define X32_BIT 0x40000000u

int main(int argc, char **argv)
{
    int arg = 1, err = EPERM;
    if (arg < argc && strncmp(argv[arg], "--errno=", 8) == 0) {
        const char *e = argv[arg++] + 8;
        if (strcmp(e, "EPERM") == 0)
            err = EPERM;
        else if (strcmp(e, "ENOSYS") == 0)
            err = ENOSYS;
        else {
            fprintf(stderr, "noufd: --errno=%s: expected EPERM or ENOSYS\n", e);
            return 2;
        }
    }
    if (arg < argc && strcmp(argv[arg], "--") == 0)
        arg++;
    if (arg >= argc) {
        fprintf(stderr, "usage: noufd [--errno=EPERM|ENOSYS] [--] program [args...]\n");
        return 2;
    }
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS), /* a foreign ABI */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_userfaultfd, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_userfaultfd | X32_BIT, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        fprintf(stderr, "noufd: cannot install the seccomp filter: %s\n", strerror(errno));
        return 2;
    }
    execvp(argv[arg], argv + arg);
    fprintf(stderr, "noufd: cannot run '%s': %s\n", argv[arg], strerror(errno));
    return 127;
}

/*
 * stopped — a program that ends in one of the ways besides exit(): it
 * offloads a 4 MiB f16 tensor into a pinned buffer and restores it, then
 *
 *   stopped wait          prints "ready" and waits for a signal (default action)
 *   stopped handler       the same, with its own SIGTERM handler that exits 3
 *   stopped exec PROG...  execs PROG with its arguments
 *   stopped vfork PROG... runs PROG in a vfork child, waits, exits 0
 */
#include "e2e.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define BYTES (4u << 20)

static void on_term(int sig)
{
    (void)sig;
    _exit(3); /* the program's own way out: its status, not the shim's */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: stopped wait|handler|exec PROG...\n");
        return 2;
    }
    if (strcmp(argv[1], "handler") == 0)
        signal(SIGTERM, on_term);
    unsigned char *src = malloc(BYTES), *h;
    void *d;
    e2e_fill(src, BYTES, "f16", 7, 0);
    CK(cudaMalloc(&d, BYTES));
    CK(cudaMallocHost((void **)&h, BYTES));
    CK(cudaMemcpy(d, src, BYTES, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(h, d, BYTES, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(d, h, BYTES, cudaMemcpyHostToDevice));
    CK(cudaDeviceSynchronize());
    if (strcmp(argv[1], "exec") == 0 && argc > 2) {
        execv(argv[2], argv + 2);
        perror("execv");
        return 1;
    }
    if (strcmp(argv[1], "vfork") == 0 && argc > 2) {
        pid_t pid = vfork();
        if (pid == 0) {
            execv(argv[2], argv + 2);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}

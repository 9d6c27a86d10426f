/*
 * rel_badcalls — a program that gets its CUDA calls wrong: NULL and dangling
 * pointers, zero-byte and out-of-bounds copies, wrong directions, bad and
 * destroyed streams, double frees. It prints, for each call, the status and
 * then the thread's last error; t_rel_hostile.sh runs it with and without
 * the shim and wants the same lines: the shim must answer a bad call exactly
 * as the runtime does (and crash on none).
 *
 *   rel_badcalls
 */
#include "e2e.h"

#define TENSOR (256 * 1024)

static void show(const char *what, cudaError_t r)
{
    cudaError_t last = cudaGetLastError();
    printf("%-44s %-36s last=%s\n", what, cudaGetErrorName(r), cudaGetErrorName(last));
}

int main(void)
{
    enum cudaMemcpyKind D2H = cudaMemcpyDeviceToHost, H2D = cudaMemcpyHostToDevice;
    unsigned char *h, *h2, *page = malloc(TENSOR);
    void *d_a, *d_b, *d_gone;
    CK(cudaMallocHost((void **)&h, TENSOR));
    CK(cudaMallocHost((void **)&h2, TENSOR));
    CK(cudaMalloc(&d_a, TENSOR));
    CK(cudaMalloc(&d_b, TENSOR + 4096)); /* not a tensor: on=dev,size=256K names d_a only */
    CK(cudaMalloc(&d_gone, TENSOR));
    CK(cudaFree(d_gone)); /* dangling from here on */
    e2e_fill(page, TENSOR, "f16", 5, 0);
    CK(cudaMemcpy(d_a, page, TENSOR, H2D));
    /* A good offload first, so that the shim holds an entry for h. */
    CK(cudaMemcpy(h, d_a, TENSOR, D2H));

    cudaStream_t s, gone;
    CK(cudaStreamCreate(&s));
    CK(cudaStreamCreate(&gone));
    CK(cudaStreamDestroy(gone));

    show("D2H to NULL", cudaMemcpy(NULL, d_a, TENSOR, D2H));
    show("D2H from NULL", cudaMemcpy(h2, NULL, TENSOR, D2H));
    show("H2D from NULL", cudaMemcpy(d_b, NULL, TENSOR, H2D));
    show("H2D to NULL", cudaMemcpy(NULL, h, TENSOR, H2D));
    show("D2H zero bytes", cudaMemcpy(h2, d_a, 0, D2H));
    show("H2D zero bytes", cudaMemcpy(d_b, h, 0, H2D));
    show("D2H zero bytes, NULL", cudaMemcpy(NULL, NULL, 0, D2H));
    show("async D2H zero bytes", cudaMemcpyAsync(h2, d_a, 0, D2H, s));
    show("D2H from a freed allocation", cudaMemcpy(h2, d_gone, TENSOR, D2H));
    show("H2D to a freed allocation", cudaMemcpy(d_gone, h, TENSOR, H2D));
    show("D2H past the allocation's end", cudaMemcpy(h2, (char *)d_a + 4096, TENSOR, D2H));
    show("H2D past the allocation's end", cudaMemcpy((char *)d_b + 8192, h, TENSOR, H2D));
    show("D2H of twice the allocation", cudaMemcpy(h2, d_a, 2 * TENSOR, D2H));
    show("D2H of SIZE_MAX bytes", cudaMemcpy(h2, d_a, (size_t)-1, D2H));
    show("D2H with the H2D kind", cudaMemcpy(h2, d_a, TENSOR, H2D));
    show("H2D with the D2H kind", cudaMemcpy(d_b, h, TENSOR, D2H));
    show("copy with kind 42", cudaMemcpy(h2, d_a, TENSOR, (enum cudaMemcpyKind)42));
    show("async D2H on a destroyed stream", cudaMemcpyAsync(h2, d_a, TENSOR, D2H, gone));
    show("async H2D on a destroyed stream", cudaMemcpyAsync(d_b, h, TENSOR, H2D, gone));
    show("async D2H on a made-up stream",
         cudaMemcpyAsync(h2, d_a, TENSOR, D2H, (cudaStream_t)(uintptr_t)0x12345));
    show("D2H, odd byte count", cudaMemcpy(h2, d_a, TENSOR - 1, D2H));
    show("D2H, odd offset", cudaMemcpy(h2 + 1, d_a, TENSOR - 4096, D2H));
    show("H2D host to host pointers", cudaMemcpy(h2, h, TENSOR, H2D));
    show("D2H device to device pointers", cudaMemcpy(d_b, d_a, TENSOR, D2H));
    show("cudaMalloc(NULL)", cudaMalloc(NULL, 4096));
    show("cudaMallocHost(NULL)", cudaMallocHost(NULL, TENSOR));
    show("cudaHostAlloc(NULL)", cudaHostAlloc(NULL, TENSOR, 0));
    show("cudaFree(NULL)", cudaFree(NULL));
    show("cudaFree(host pointer)", cudaFree(h2));
    show("cudaFree(freed)", cudaFree(d_gone));
    show("cudaFreeHost(device pointer)", cudaFreeHost(d_a));
    show("cudaFreeHost(pageable)", cudaFreeHost(page));
    show("cudaHostUnregister(never registered)", cudaHostUnregister(page));
    show("cudaPointerGetAttributes(NULL)", cudaPointerGetAttributes(NULL, h));
    /* The good data are still good. */
    unsigned char *back = malloc(TENSOR);
    show("H2D restore", cudaMemcpy(d_b, h, TENSOR, H2D));
    show("D2H check", cudaMemcpy(back, d_b, TENSOR, D2H));
    printf("%-44s %s\n", "restored equals host buffer", e2e_diff(back, h, TENSOR) < 0 ? "yes" : "no");
    show("cudaFreeHost", cudaFreeHost(h));
    show("cudaFreeHost again", cudaFreeHost(h));
    show("cudaFreeHost(interior pointer)", cudaFreeHost(h2 + 4096));
    show("cudaStreamSynchronize", cudaStreamSynchronize(s));
    show("cudaDeviceSynchronize", cudaDeviceSynchronize());
    CK(cudaFreeHost(h2));
    CK(cudaFree(d_a));
    CK(cudaFree(d_b));
    CK(cudaStreamDestroy(s));
    free(page);
    free(back);
    return 0;
}

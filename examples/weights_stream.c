/*
 * weights_stream — the pattern of offloaded inference that streams weights
 * (FlexGen, DeepSpeed ZeRO-Inference, llama.cpp partial offload): the
 * weights of every layer are read from "disk" once into pinned host buffers;
 * every forward pass then uploads each layer to the GPU again, one at a time.
 *
 * A plain CUDA program: it knows nothing of gqshim. With
 *   LD_PRELOAD=build/libgqshim.so GQSHIM_RULES='on=host,min=1M,upload=compress,name=w'
 * each layer is compressed at its first upload and crosses PCIe compressed on
 * every pass; its host buffer shrinks to the compressed size.
 *
 *   weights_stream [--check]   --check: exit 1 unless every pass delivers the
 *                              same bytes and host memory after the first pass
 *                              is at most 0.30x of the weights (for tests);
 *                              --check-bytes: the same bytes only (for runs
 *                              under a sanitizer, whose shadow memory counts)
 *   weights_stream [--check | --check-bytes] [LAYERS]
 *                              LAYERS layers instead of 32: the same pattern,
 *                              less data (quick runs)
 */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYERS_DEFAULT 32
#define ROWS 1024 /* output channels */
#define COLS 2048 /* input channels */
#define PASSES 5

#define CK(call)                                                                         \
    do {                                                                                 \
        cudaError_t e_ = (call);                                                         \
        if (e_ != cudaSuccess) {                                                         \
            fprintf(stderr, "weights_stream: %s: %s\n", #call, cudaGetErrorString(e_));  \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

static long host_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long anon = 0, file = 0;
    while (f && fgets(line, sizeof line, f)) {
        sscanf(line, "RssAnon: %ld", &anon);
        sscanf(line, "RssFile: %ld", &file);
    }
    if (f)
        fclose(f);
    return anon + file;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float f;
    if (exp == 0) {
        f = ldexpf((float)mant, -24);
    } else if (exp == 31) {
        f = mant ? NAN : INFINITY;
    } else {
        uint32_t x = ((exp + 112u) << 23) | (mant << 13);
        memcpy(&f, &x, 4);
    }
    return sign ? -f : f;
}

int main(int argc, char **argv)
{
    int check_bytes = argc > 1 && strcmp(argv[1], "--check-bytes") == 0;
    int check = check_bytes || (argc > 1 && strcmp(argv[1], "--check") == 0);
    int layers = LAYERS_DEFAULT;
    if (argc > 1 + check) {
        char *end;
        long n = strtol(argv[1 + check], &end, 10);
        if (argc > 2 + check || *end || end == argv[1 + check] || n < 1 || n > 4096) {
            fprintf(stderr, "usage: weights_stream [--check | --check-bytes] [LAYERS]   (1..4096, default %d)\n",
                    LAYERS_DEFAULT);
            return 2;
        }
        layers = (int)n;
    }
    const size_t bytes = (size_t)ROWS * COLS * 2;
    uint16_t **w = malloc(sizeof *w * (size_t)layers), *exact = malloc(bytes * (size_t)layers);
    uint16_t *first = malloc(bytes * (size_t)layers), *got = malloc(bytes);
    memset(exact, 1, bytes * (size_t)layers); /* resident before the baseline below */
    memset(first, 1, bytes * (size_t)layers);
    memset(got, 1, bytes);
    /* The device buffer and stream first: under cudasim device memory is
     * host memory, which a GPU would not count here. */
    void *dev;
    CK(cudaMalloc(&dev, bytes));
    CK(cudaMemset(dev, 0, bytes));
    cudaStream_t s;
    CK(cudaStreamCreate(&s));
    long rss0 = host_rss_kib();
    uint64_t seed = 5;
    /* "Read from disk": fill the pinned buffers on the CPU. */
    for (int l = 0; l < layers; l++) {
        CK(cudaMallocHost((void **)&w[l], bytes));
        for (size_t i = 0; i < (size_t)ROWS * COLS; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            /* fp16 in [-1, 1), a scale per output channel */
            uint16_t m = (uint16_t)((seed >> 33) & 0x3ff), sgn = (uint16_t)((seed >> 50) & 1);
            uint16_t e = (uint16_t)(10 + (i / COLS) % 5);
            w[l][i] = (uint16_t)(sgn << 15 | e << 10 | m);
        }
        memcpy((char *)exact + l * bytes, w[l], bytes);
    }
    long rss_filled = host_rss_kib();
    long rss_after_first = 0;
    int same = 1;
    for (int pass = 0; pass < PASSES; pass++) {
        for (int l = 0; l < layers; l++) {
            CK(cudaMemcpyAsync(dev, w[l], bytes, cudaMemcpyHostToDevice, s));
            /* ... the layer's matmul would run here; look at what arrived ... */
            CK(cudaMemcpyAsync(got, dev, bytes, cudaMemcpyDeviceToHost, s));
            CK(cudaStreamSynchronize(s));
            if (pass == 0)
                memcpy((char *)first + l * bytes, got, bytes);
            else if (memcmp((char *)first + l * bytes, got, bytes) != 0)
                same = 0;
        }
        if (pass == 0)
            rss_after_first = host_rss_kib();
    }
    double max_err = 0, se = 0, ss = 0;
    for (size_t i = 0; i < (size_t)ROWS * COLS * layers; i++) {
        double x = half_to_float(exact[i]), y = half_to_float(first[i]);
        if (fabs(x - y) > max_err)
            max_err = fabs(x - y);
        se += (x - y) * (x - y);
        ss += x * x;
    }
    double weights_mib = (double)bytes * layers / 1048576.0;
    double held_mib = (double)(rss_after_first - rss0) / 1024.0;
    printf("weights_stream: %d layers of %d x %d fp16 (%.0f MiB), %d passes\n", layers, ROWS, COLS,
           weights_mib, PASSES);
    printf("weights_stream: every pass delivered the same bytes: %s\n", same ? "yes" : "NO");
    printf("weights_stream: uploaded vs exact weights: max abs error %.3g, NMSE %.3g\n", max_err,
           ss > 0 ? se / ss : 0.0);
    printf("weights_stream: host memory for the weights: %.0f MiB after filling, %.0f MiB after "
           "the first pass (%.2fx)\n",
           (double)(rss_filled - rss0) / 1024.0, held_mib,
           held_mib / weights_mib);
    if (check && (!same || (!check_bytes && held_mib / weights_mib > 0.30))) {
        fprintf(stderr, "weights_stream: check failed\n");
        return 1;
    }
    return 0;
}

/*
 * Parameter structs of cudasim's test kernels (sim_testkern.c), shared with
 * the test programs that launch them. With CUDASIM_TEST_KERNELS=1:
 *   cudasim_test_iota: out[i] = base + i for i < n
 *   cudasim_test_axpy: y[i] = a * x[i] + y[i] for i < n
 *   cudasim_test_strided: out[i * stride] = i for i < n (stride in words)
 *   cudasim_test_block_sum: out[block] = sum of in[] over the block's threads,
 *       through dynamic shared memory (blockDim.x * 4 bytes, a power of two)
 *   cudasim_test_bad_barrier: thread `skip` returns, the rest wait at
 *       __syncthreads (misuse: the launch fails)
 * where i is the thread's flat index in the grid.
 */
#ifndef CUDASIM_TESTKERN_H
#define CUDASIM_TESTKERN_H

#include <stdint.h>

#define CUDASIM_IOTA_MAGIC 0x51a10001u
#define CUDASIM_AXPY_MAGIC 0x51a10002u

struct cudasim_iota_params {
    uint32_t magic;
    uint32_t base;
    uint32_t *out; /* device address */
    uint64_t n;
};

struct cudasim_axpy_params {
    uint32_t magic;
    float a;
    const float *x; /* device addresses */
    float *y;
    uint64_t n;
};

#define CUDASIM_STRIDED_MAGIC 0x51a10003u
#define CUDASIM_BLOCK_SUM_MAGIC 0x51a10004u
#define CUDASIM_BAD_BARRIER_MAGIC 0x51a10005u

struct cudasim_strided_params {
    uint32_t magic;
    uint32_t stride;
    uint32_t *out; /* device address or mapped pinned memory */
    uint64_t n;
};

struct cudasim_block_sum_params {
    uint32_t magic;
    uint32_t n;
    const uint32_t *in;
    uint32_t *out;
};

struct cudasim_bad_barrier_params {
    uint32_t magic;
    uint32_t skip;
};

#endif

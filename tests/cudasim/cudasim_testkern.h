/*
 * Parameter structs of cudasim's test kernels (sim_testkern.c), shared with
 * the test programs that launch them. With CUDASIM_TEST_KERNELS=1:
 *   cudasim_test_iota: out[i] = base + i for i < n
 *   cudasim_test_axpy: y[i] = a * x[i] + y[i] for i < n
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

#endif

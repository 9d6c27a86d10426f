/*
 * cudasim's own test kernels, written against kernels/gq_emu.h like the real
 * ones (memory through kernels/gq_dev.h). cuModuleGetFunction answers them
 * only with CUDASIM_TEST_KERNELS=1, so the shim's tests never see a kernel
 * the shim's fatbin does not hold.
 */
#define GQ_EMU 1
#include "gq_cuda_compat.h"
#include "gq_dev.h"

#include <stdint.h>
#include <string.h>

#include "cudasim_testkern.h"

static size_t flat_index(void)
{
    size_t block = ((size_t)gq_emu_blockIdx.z * gq_emu_gridDim.y + gq_emu_blockIdx.y) *
                       gq_emu_gridDim.x + gq_emu_blockIdx.x;
    size_t per_block = (size_t)gq_emu_blockDim.x * gq_emu_blockDim.y * gq_emu_blockDim.z;
    size_t thread = ((size_t)gq_emu_threadIdx.z * gq_emu_blockDim.y + gq_emu_threadIdx.y) *
                        gq_emu_blockDim.x + gq_emu_threadIdx.x;
    return block * per_block + thread;
}

static void iota(const void *params)
{
    const struct cudasim_iota_params *p = params;
    size_t i = flat_index();
    if (i < p->n)
        gq_store32(p->out + i, p->base + (uint32_t)i);
}

static void axpy(const void *params)
{
    const struct cudasim_axpy_params *p = params;
    size_t i = flat_index();
    if (i < p->n) {
        float x = gq_bits_f32(gq_load32(p->x + i)), y = gq_bits_f32(gq_load32(p->y + i));
        gq_store32(p->y + i, gq_f32_bits(p->a * x + y));
    }
}

static void strided(const void *params)
{
    const struct cudasim_strided_params *p = params;
    size_t i = flat_index();
    if (i < p->n)
        gq_store32(p->out + i * p->stride, (uint32_t)i);
}

static void block_sum(const void *params)
{
    const struct cudasim_block_sum_params *p = params;
    GQ_SHARED_DYN(uint32_t, part);
    unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    gq_store32(part + t, i < p->n ? gq_load32(p->in + i) : 0);
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
        if (t < s)
            gq_store32(part + t, gq_load32(part + t) + gq_load32(part + t + s));
        __syncthreads();
    }
    if (t == 0)
        gq_store32(p->out + blockIdx.x, gq_load32(part));
}

static void bad_barrier(const void *params)
{
    const struct cudasim_bad_barrier_params *p = params;
    if (threadIdx.x == p->skip)
        return;
    __syncthreads();
}

static const struct gq_emu_kernel table[] = {
    {"cudasim_test_iota", sizeof(struct cudasim_iota_params), CUDASIM_IOTA_MAGIC, 1,
     {offsetof(struct cudasim_iota_params, out)}, iota},
    {"cudasim_test_axpy", sizeof(struct cudasim_axpy_params), CUDASIM_AXPY_MAGIC, 2,
     {offsetof(struct cudasim_axpy_params, x), offsetof(struct cudasim_axpy_params, y)}, axpy},
    {"cudasim_test_strided", sizeof(struct cudasim_strided_params), CUDASIM_STRIDED_MAGIC, 1,
     {offsetof(struct cudasim_strided_params, out)}, strided},
    {"cudasim_test_block_sum", sizeof(struct cudasim_block_sum_params), CUDASIM_BLOCK_SUM_MAGIC, 2,
     {offsetof(struct cudasim_block_sum_params, in), offsetof(struct cudasim_block_sum_params, out)},
     block_sum},
    {"cudasim_test_bad_barrier", sizeof(struct cudasim_bad_barrier_params),
     CUDASIM_BAD_BARRIER_MAGIC, 0, {0}, bad_barrier},
};

const struct gq_emu_kernel *sim_test_kernel_find(const char *name);
const struct gq_emu_kernel *sim_test_kernel_find(const char *name)
{
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

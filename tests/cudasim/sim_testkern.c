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

static const struct gq_emu_kernel table[] = {
    {"cudasim_test_iota", sizeof(struct cudasim_iota_params), CUDASIM_IOTA_MAGIC, 1,
     {offsetof(struct cudasim_iota_params, out)}, iota},
    {"cudasim_test_axpy", sizeof(struct cudasim_axpy_params), CUDASIM_AXPY_MAGIC, 2,
     {offsetof(struct cudasim_axpy_params, x), offsetof(struct cudasim_axpy_params, y)}, axpy},
};

const struct gq_emu_kernel *sim_test_kernel_find(const char *name);
const struct gq_emu_kernel *sim_test_kernel_find(const char *name)
{
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

/*
 * Modules and kernel launches, following kernels/gq_emu.h: a module is a
 * fatbin image (checked, not parsed for code); its functions are the CPU
 * builds of the kernels in the gq_emu table; a launch validates its single
 * by-value parameter struct and runs the grid on the stream's worker under
 * the SIMT executor (simt_exec.c), which translates the kernel's accesses of
 * device memory. A misbehaving kernel (barrier misuse, a shared access out of
 * range, a misaligned access) fails the launch with a sticky error, as on a
 * GPU, and a line on stderr names the kernel and the thread.
 */
#define _GNU_SOURCE
#include "sim_impl.h"

#include "gq_emu.h"
#include "sim_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defined by build/kernels/gq_kernels_emu.o when it is linked in. */
#pragma weak gq_emu_kernel_find

/* sim_testkern.c: cudasim's own kernels, visible with CUDASIM_TEST_KERNELS=1. */
const struct gq_emu_kernel *sim_test_kernel_find(const char *name);

#define FATBIN_MAGIC 0xBA55ED50u

struct fatbin_header {
    uint32_t magic;
    uint16_t version;
    uint16_t header_size;
    uint64_t fat_size;
};

struct fatbin_entry {
    uint16_t kind; /* 1 PTX, 2 ELF (cubin) */
    uint16_t unknown;
    uint32_t header_size;
    uint64_t payload_size;
};

struct module {
    uintptr_t handle;
    UT_hash_handle hh;
    int dev;
};

struct func {
    uintptr_t handle;
    UT_hash_handle hh;
    uintptr_t module;
    int dev;
    const struct gq_emu_kernel *k;
};

static struct module *modules;
static struct func *funcs;

/* A well-formed fatbin: header, then entries exactly filling fat_size. */
static int fatbin_ok(const unsigned char *img)
{
    struct fatbin_header h;
    memcpy(&h, img, sizeof h);
    if (h.magic != FATBIN_MAGIC || h.version != 1 || h.header_size < sizeof h ||
        h.fat_size < sizeof(struct fatbin_entry) || h.fat_size > (1ull << 32))
        return 0;
    uint64_t off = h.header_size, end = h.header_size + h.fat_size;
    int entries = 0;
    while (off < end) {
        struct fatbin_entry e;
        if (end - off < sizeof e)
            return 0;
        memcpy(&e, img + off, sizeof e);
        if ((e.kind != 1 && e.kind != 2) || e.header_size < sizeof e ||
            e.payload_size > end - off - e.header_size)
            return 0;
        off += e.header_size + e.payload_size;
        entries++;
    }
    return off == end && entries > 0;
}

CUresult cudasim_module_load(const void *image, CUmodule *out)
{
    if (!image || !out)
        return CUDA_ERROR_INVALID_VALUE;
    int dev = cudasim_current_device();
    if (dev < 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (!fatbin_ok(image)) {
        fprintf(stderr, "cudasim: cuModuleLoadData: not a fatbin image (cudasim runs only "
                        "the kernels of a fatbin through their CPU build)\n");
        return CUDA_ERROR_INVALID_IMAGE;
    }
    struct module *m = calloc(1, sizeof *m);
    if (!m)
        return CUDA_ERROR_OUT_OF_MEMORY;
    m->dev = dev;
    pthread_mutex_lock(&sim_lock);
    m->handle = sim_handle_new(SIM_TAG_MODULE);
    HASH_ADD(hh, modules, handle, sizeof m->handle, m);
    pthread_mutex_unlock(&sim_lock);
    *out = (CUmodule)m->handle;
    return CUDA_SUCCESS;
}

CUresult cudasim_module_unload(CUmodule h)
{
    struct module *m = NULL;
    uintptr_t key = (uintptr_t)h;
    pthread_mutex_lock(&sim_lock);
    HASH_FIND(hh, modules, &key, sizeof key, m);
    if (m) {
        HASH_DEL(modules, m);
        struct func *f, *tmp;
        HASH_ITER(hh, funcs, f, tmp)
        if (f->module == key) {
            HASH_DEL(funcs, f);
            free(f);
        }
    }
    pthread_mutex_unlock(&sim_lock);
    free(m);
    return m ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

/* cudaDeviceReset destroys the context, and with it its modules: their
 * handles (and their functions') are invalid from now on, as on a GPU. */
void sim_kernel_reset(int dev)
{
    struct module *m, *mtmp;
    HASH_ITER(hh, modules, m, mtmp)
    if (m->dev == dev) {
        HASH_DEL(modules, m);
        free(m);
    }
    struct func *f, *ftmp;
    HASH_ITER(hh, funcs, f, ftmp)
    if (f->dev == dev) {
        HASH_DEL(funcs, f);
        free(f);
    }
}

CUresult cudasim_module_function(CUmodule h, const char *name, CUfunction *out)
{
    if (!out || !name)
        return CUDA_ERROR_INVALID_VALUE;
    const struct gq_emu_kernel *k = gq_emu_kernel_find ? gq_emu_kernel_find(name) : NULL;
    if (!k && sim_cfg.test_kernels)
        k = sim_test_kernel_find(name);
    struct module *m = NULL;
    uintptr_t key = (uintptr_t)h;
    CUresult r = CUDA_ERROR_INVALID_HANDLE;
    pthread_mutex_lock(&sim_lock);
    HASH_FIND(hh, modules, &key, sizeof key, m);
    if (m && !k)
        r = CUDA_ERROR_NOT_FOUND;
    if (m && k) {
        struct func *f = calloc(1, sizeof *f);
        r = CUDA_ERROR_OUT_OF_MEMORY;
        if (f) {
            *f = (struct func){.handle = sim_handle_new(SIM_TAG_FUNC), .module = key,
                               .dev = m->dev, .k = k};
            HASH_ADD(hh, funcs, handle, sizeof f->handle, f);
            *out = (CUfunction)f->handle;
            r = CUDA_SUCCESS;
        }
    }
    pthread_mutex_unlock(&sim_lock);
    return r;
}

struct launch_op {
    const struct gq_emu_kernel *k;
    struct gq_emu_dim3 grid, block;
    unsigned shared_bytes;
    uintptr_t live_base[GQ_EMU_MAX_PTRS];
    uint64_t live_id[GQ_EMU_MAX_PTRS];
    alignas(max_align_t) unsigned char params[];
};

static void run_launch(struct sim_op *op, struct sim_stream *s)
{
    struct launch_op *l = (struct launch_op *)op->payload;
    pthread_mutex_lock(&sim_lock);
    int live = 1;
    for (unsigned i = 0; i < l->k->n_ptrs; i++)
        if (l->live_base[i] && !sim_mem_live(l->live_base[i], l->live_id[i]))
            live = 0;
    pthread_mutex_unlock(&sim_lock);
    if (!live) {
        cudasim_set_sticky(s->dev, CUDA_ERROR_ILLEGAL_ADDRESS);
        return;
    }
    struct gq_emu_stats stats = {0};
    struct gq_emu_launch run = {.k = l->k, .params = l->params, .grid = l->grid,
                                .block = l->block, .dyn_shared = l->shared_bytes,
                                .stats = sim_profile_on() ? &stats : NULL};
    sim_dev_window(s->dev, &run.dev.base, &run.dev.size, &run.dev.alias);
    char msg[512];
    int err = gq_emu_run(&run, msg, sizeof msg);
    if (run.stats)
        sim_profile_kernel(op, l->k->name, &stats);
    if (err) {
        static const CUresult as_cuda[] = {
            [GQ_EMU_EBARRIER] = CUDA_ERROR_LAUNCH_FAILED,
            [GQ_EMU_EADDRESS] = CUDA_ERROR_ILLEGAL_ADDRESS,
            [GQ_EMU_EMISALIGNED] = CUDA_ERROR_MISALIGNED_ADDRESS,
            [GQ_EMU_ERESOURCES] = CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES,
            [GQ_EMU_EARG] = CUDA_ERROR_LAUNCH_FAILED,
        };
        fprintf(stderr, "cudasim: launch failed: %s\n", msg);
        cudasim_set_sticky(s->dev, as_cuda[err]);
    }
}

/* The parameter buffer a launch names: kernelParams[0] (one by-value struct)
 * or the `extra` buffer, whose stated size must match. */
static CUresult param_buffer(const struct gq_emu_kernel *k, void **params, void **extra,
                             const void **buf)
{
    if (!params == !extra)
        return CUDA_ERROR_INVALID_VALUE;
    if (params) {
        *buf = params[0];
        return *buf ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
    }
    const void *ptr = NULL;
    const size_t *size = NULL;
    for (size_t i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
        if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER)
            ptr = extra[i + 1];
        else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE)
            size = extra[i + 1];
        else
            return CUDA_ERROR_INVALID_VALUE;
    }
    if (!ptr || !size || *size != k->params_size)
        return CUDA_ERROR_INVALID_VALUE;
    *buf = ptr;
    return CUDA_SUCCESS;
}

static int dims_ok(const unsigned g[3], const unsigned b[3])
{
    for (int i = 0; i < 3; i++)
        if (g[i] == 0 || b[i] == 0)
            return 0;
    return g[0] <= 0x7fffffffu && g[1] <= 65535 && g[2] <= 65535 && b[0] <= 1024 &&
           b[1] <= 1024 && b[2] <= 64 && (unsigned long)b[0] * b[1] * b[2] <= 1024;
}

CUresult cudasim_launch(CUfunction fh, const unsigned grid[3], const unsigned block[3],
                        unsigned shared_bytes, CUstream stream, int ptds, void **params,
                        void **extra)
{
    struct func *f = NULL;
    uintptr_t key = (uintptr_t)fh;
    CUresult r = CUDA_ERROR_INVALID_HANDLE;
    struct sim_op *op = NULL;
    pthread_mutex_lock(&sim_lock);
    HASH_FIND(hh, funcs, &key, sizeof key, f);
    if (!f)
        goto out;
    if (f->dev != cudasim_current_device())
        goto out;
    r = CUDA_ERROR_INVALID_VALUE;
    if (!dims_ok(grid, block) || shared_bytes > 48 * 1024)
        goto out;
    const struct gq_emu_kernel *k = f->k;
    const void *buf;
    if ((r = param_buffer(k, params, extra, &buf)))
        goto out;
    uint32_t magic;
    memcpy(&magic, buf, sizeof magic);
    if (k->params_size < sizeof magic || magic != k->params_magic) {
        r = CUDA_ERROR_INVALID_VALUE;
        goto out;
    }
    struct sim_stream *s = sim_stream_get(stream, ptds, &r);
    if (!s)
        goto out;
    op = sim_op_new(run_launch, sizeof(struct launch_op) + k->params_size);
    r = CUDA_ERROR_OUT_OF_MEMORY;
    if (!op)
        goto out;
    struct launch_op *l = (struct launch_op *)op->payload;
    l->k = k;
    l->grid = (struct gq_emu_dim3){grid[0], grid[1], grid[2]};
    l->block = (struct gq_emu_dim3){block[0], block[1], block[2]};
    l->shared_bytes = shared_bytes;
    memcpy(l->params, buf, k->params_size);
    r = CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < k->n_ptrs; i++) {
        uintptr_t p;
        if (k->ptr_offsets[i] + sizeof p > k->params_size)
            goto out;
        memcpy(&p, l->params + k->ptr_offsets[i], sizeof p);
        struct sim_ptr q;
        sim_ptr_query_locked(p, &q);
        if (!p || (q.kind != SIM_PTR_DEVICE && q.kind != SIM_PTR_PINNED))
            goto out;
        if (q.kind == SIM_PTR_DEVICE) {
            if (q.dev != s->dev)
                goto out; /* no peer access */
            l->live_base[i] = q.base;
            l->live_id[i] = q.id;
        }
    }
    uint64_t seq;
    r = sim_enqueue(s, op, &seq);
    op = NULL;
out:
    pthread_mutex_unlock(&sim_lock);
    sim_op_free(op);
    return r;
}

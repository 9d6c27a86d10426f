/*
 * The driver's virtual-memory API (cuMemAddressReserve, cuMemCreate,
 * cuMemMap, cuMemSetAccess, cuMemUnmap, cuMemRelease, cuMemAddressFree),
 * as strict as the driver documents it: sizes, offsets and addresses are
 * multiples of the granularity (2 MiB, what current GPUs report); a mapping
 * lies inside one reservation and covers no other; a mapped range is not
 * accessible until cuMemSetAccess; cuMemUnmap takes whole mappings; a
 * reservation is freed only when nothing is mapped in it; physical memory
 * lives until its handle is released and its last mapping unmapped.
 *
 * A reservation is a range of the device's addresses taken from the same
 * free list as cudaMalloc's (so nothing else lands there); a handle is
 * pages of the device's memfd; a mapping remaps both views of sim_mem.c
 * (the PROT_NONE device addresses and the read/write alias) onto the
 * handle's pages, and is a device allocation to pointer queries.
 */
#include "sim_impl.h"

#include <stdlib.h>

#define GRAN ((size_t)2 << 20)

struct reservation {
    int dev;
    size_t raw_off, raw_len; /* what was taken from the free list */
    uintptr_t va;
    size_t len;
};

struct handle {
    uint64_t id;
    int dev;
    size_t off, len; /* pages of the memfd */
    int released;
    unsigned maps;
};

struct mapping {
    uintptr_t va;
    size_t len;
    struct handle *h;
};

static struct reservation *res;
static size_t n_res, cap_res;
static struct handle **hs;
static size_t n_hs, cap_hs;
static struct mapping *maps;
static size_t n_maps, cap_maps;
static uint64_t next_handle = 0x5600000001ull;

static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 1;
    size_t c = *cap ? 2 * *cap : 16;
    void *p = realloc(*v, c * elem);
    if (!p)
        return 0;
    *v = p;
    *cap = c;
    return 1;
}

size_t cudasim_vmm_granularity(void)
{
    return GRAN;
}

static struct reservation *res_of(uintptr_t va, size_t len)
{
    for (size_t i = 0; i < n_res; i++)
        if (va >= res[i].va && va - res[i].va < res[i].len && len <= res[i].len - (va - res[i].va))
            return &res[i];
    return NULL;
}

static struct handle *handle_of(uint64_t id)
{
    for (size_t i = 0; i < n_hs; i++)
        if (hs[i]->id == id)
            return hs[i];
    return NULL;
}

static void handle_drop_if_done(struct handle *h)
{
    if (!h->released || h->maps)
        return;
    sim_mem_give(h->dev, h->off, h->len, 1);
    for (size_t i = 0; i < n_hs; i++)
        if (hs[i] == h) {
            hs[i] = hs[--n_hs];
            break;
        }
    free(h);
}

CUresult cudasim_vmm_reserve(int dev, size_t len, size_t align, uintptr_t *out)
{
    if (!out || len == 0 || len % GRAN || (align && (align & (align - 1))))
        return CUDA_ERROR_INVALID_VALUE;
    if (align < GRAN)
        align = GRAN;
    CUresult r = CUDA_ERROR_OUT_OF_MEMORY;
    size_t off;
    pthread_mutex_lock(&sim_lock);
    if (!grow((void **)&res, &cap_res, n_res, sizeof *res))
        goto out;
    if ((r = sim_mem_take(dev, len + align, 0, &off)) != CUDA_SUCCESS)
        goto out;
    uintptr_t raw = sim_mem_addr(dev, off), va = (raw + align - 1) & ~(uintptr_t)(align - 1);
    res[n_res++] = (struct reservation){dev, off, len + align, va, len};
    *out = va;
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_vmm_address_free(uintptr_t va, size_t len)
{
    CUresult r = CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&sim_lock);
    for (size_t i = 0; i < n_res; i++) {
        if (res[i].va != va || res[i].len != len)
            continue;
        for (size_t m = 0; m < n_maps; m++)
            if (maps[m].va >= va && maps[m].va - va < len)
                goto out; /* still mapped */
        sim_mem_give(res[i].dev, res[i].raw_off, res[i].raw_len, 0);
        res[i] = res[--n_res];
        r = CUDA_SUCCESS;
        break;
    }
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_vmm_create(int dev, size_t len, uint64_t *out)
{
    if (!out || len == 0 || len % GRAN)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = CUDA_ERROR_OUT_OF_MEMORY;
    struct handle *h = calloc(1, sizeof *h);
    if (!h)
        return r;
    pthread_mutex_lock(&sim_lock);
    if (!grow((void **)&hs, &cap_hs, n_hs, sizeof *hs) ||
        (r = sim_mem_take(dev, len, 1, &h->off)) != CUDA_SUCCESS) {
        free(h);
        goto out;
    }
    h->id = next_handle++;
    h->dev = dev;
    h->len = len;
    hs[n_hs++] = h;
    *out = h->id;
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_vmm_release(uint64_t id)
{
    CUresult r = CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&sim_lock);
    struct handle *h = handle_of(id);
    if (h && !h->released) {
        h->released = 1;
        handle_drop_if_done(h);
        r = CUDA_SUCCESS;
    }
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_vmm_map(uintptr_t va, size_t len, size_t offset, uint64_t id)
{
    if (len == 0 || len % GRAN || offset % GRAN || va % GRAN)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&sim_lock);
    struct handle *h = handle_of(id);
    struct reservation *rv = res_of(va, len);
    if (!h || h->released || !rv || rv->dev != h->dev || offset > h->len || len > h->len - offset)
        goto out;
    for (size_t m = 0; m < n_maps; m++)
        if (maps[m].va < va + len && va < maps[m].va + maps[m].len)
            goto out; /* already mapped there */
    r = CUDA_ERROR_OUT_OF_MEMORY;
    if (!grow((void **)&maps, &cap_maps, n_maps, sizeof *maps) ||
        sim_mem_vmm_add(h->dev, va, len) != CUDA_SUCCESS)
        goto out;
    if (sim_mem_remap(h->dev, va, len, h->off + offset) != 0) {
        sim_mem_vmm_remove(va);
        goto out;
    }
    maps[n_maps++] = (struct mapping){va, len, h};
    h->maps++;
    r = CUDA_SUCCESS;
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

/* Whole mappings only: [va, va+len) must be exactly a run of mappings. */
CUresult cudasim_vmm_unmap(uintptr_t va, size_t len)
{
    if (len == 0 || len % GRAN || va % GRAN)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&sim_lock);
    size_t covered = 0;
    for (size_t m = 0; m < n_maps; m++)
        if (maps[m].va < va + len && va < maps[m].va + maps[m].len) {
            if (maps[m].va < va || maps[m].va + maps[m].len > va + len)
                goto out; /* would split a mapping */
            covered += maps[m].len;
        }
    if (covered != len)
        goto out;
    struct reservation *rv = res_of(va, len);
    for (size_t m = 0; m < n_maps;) {
        struct mapping mp = maps[m];
        if (mp.va >= va && mp.va < va + len) {
            /* back to the reservation's own (unused) pages */
            sim_mem_remap(rv->dev, mp.va, mp.len, rv->raw_off + (mp.va - sim_mem_addr(rv->dev, rv->raw_off)));
            sim_mem_vmm_remove(mp.va);
            maps[m] = maps[--n_maps];
            mp.h->maps--;
            handle_drop_if_done(mp.h);
        } else {
            m++;
        }
    }
    r = CUDA_SUCCESS;
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

/* Access for [va, va+len): every byte must be mapped; whole mappings. */
CUresult cudasim_vmm_set_access(uintptr_t va, size_t len, int dev, int on)
{
    if (len == 0 || len % GRAN || va % GRAN)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&sim_lock);
    size_t covered = 0;
    for (size_t m = 0; m < n_maps; m++)
        if (maps[m].va < va + len && va < maps[m].va + maps[m].len) {
            if (maps[m].va < va || maps[m].va + maps[m].len > va + len || maps[m].h->dev != dev)
                goto out;
            covered += maps[m].len;
        }
    if (covered != len)
        goto out;
    for (size_t m = 0; m < n_maps; m++)
        if (maps[m].va >= va && maps[m].va < va + len)
            sim_mem_vmm_access(maps[m].va, on);
    r = CUDA_SUCCESS;
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

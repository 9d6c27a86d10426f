/*
 * Device memory. Each device is one sparse memfd of sim_cfg.mem bytes mapped
 * twice: a PROT_NONE view whose addresses are the device pointers (host code
 * that dereferences one gets SIGSEGV, as with a GPU), and a read/write alias
 * through which cudasim's copies and kernels reach the same pages. Freed
 * memory is punched out of the memfd, so the process's RSS goes down.
 *
 * Allocations are page-granular with one unused page after each (so the end
 * of one allocation is never the start of the next), placed next-fit so a
 * freed address is not handed out again soon (use after free stays visible).
 */
#define _GNU_SOURCE
#include "sim_impl.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u
/* Device d's range starts at DEV_BASE + d * DEV_STRIDE: far above malloc's
 * heap and below where the kernel places mmap by default. */
#define DEV_BASE ((uintptr_t)0x200000000000)
#define DEV_STRIDE ((uintptr_t)1 << 40)

struct extent {
    size_t off, len;
};

struct device_mem {
    int fd;
    uintptr_t base; /* the PROT_NONE view: device addresses */
    unsigned char *alias;
    size_t size, used;
    struct extent *free; /* sorted by offset, coalesced */
    size_t n_free, cap_free;
    size_t cursor; /* next-fit: offset to search from */
};

struct alloc {
    uintptr_t base;
    size_t size, slot;
    int dev;
    uint64_t id;
    int freeing; /* cudaFreeAsync queued: no new work may name it */
    int vmm;     /* a cuMemMap mapping (sim_vmm.c): not cudaFree's to free */
    int noaccess; /* mapped, cuMemSetAccess not yet called: no access */
};

static struct device_mem devs[SIM_MAX_DEVICES];
static struct alloc *allocs; /* sorted by base */
static size_t n_allocs, cap_allocs;
static uint64_t next_alloc_id = 1;

void sim_mem_init(void)
{
    for (int d = 0; d < sim_cfg.devices; d++) {
        struct device_mem *m = &devs[d];
        m->size = sim_cfg.mem;
        m->fd = memfd_create("cudasim-device", MFD_CLOEXEC);
        if (m->fd < 0 || ftruncate(m->fd, (off_t)m->size) != 0)
            sim_fatal("cannot create device memory (memfd of %zu bytes)", m->size);
        void *want = (void *)(DEV_BASE + (uintptr_t)d * DEV_STRIDE);
#if defined(__SANITIZE_THREAD__)
        /* ThreadSanitizer keeps its shadow where DEV_BASE lies, and turns a
         * hint outside application memory into address 0 (mapped, as root,
         * then fatal): let the kernel choose. */
        want = NULL;
#endif
        void *view = want ? mmap(want, m->size, PROT_NONE,
                                 MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, m->fd, 0)
                          : MAP_FAILED;
        if (view == MAP_FAILED)
            view = mmap(NULL, m->size, PROT_NONE, MAP_SHARED | MAP_NORESERVE, m->fd, 0);
        void *alias = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                           m->fd, 0);
        if (view == MAP_FAILED || alias == MAP_FAILED)
            sim_fatal("cannot map device memory (%zu bytes twice)", m->size);
        m->base = (uintptr_t)view;
        m->alias = alias;
        m->cap_free = 16;
        m->free = malloc(m->cap_free * sizeof *m->free);
        if (!m->free)
            sim_fatal("out of host memory");
        m->free[0] = (struct extent){0, m->size};
        m->n_free = 1;
    }
}

void sim_dev_window(int dev, uintptr_t *base, uintptr_t *size, unsigned char **alias)
{
    *base = devs[dev].base;
    *size = devs[dev].size;
    *alias = devs[dev].alias;
}

void *sim_dev_alias(int dev, uintptr_t p)
{
    return devs[dev].alias + (p - devs[dev].base);
}

static int device_of(uintptr_t p)
{
    for (int d = 0; d < sim_cfg.devices; d++)
        if (p >= devs[d].base && p - devs[d].base < devs[d].size)
            return d;
    return -1;
}

/* Index of the allocation whose base is the greatest <= p, or -1. */
static long alloc_floor(uintptr_t p)
{
    size_t lo = 0, hi = n_allocs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (allocs[mid].base <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

void cudasim_ptr_query(uintptr_t p, struct sim_ptr *out)
{
    pthread_mutex_lock(&sim_lock);
    sim_ptr_query_locked(p, out);
    pthread_mutex_unlock(&sim_lock);
}

void sim_ptr_query_locked(uintptr_t p, struct sim_ptr *out)
{
    memset(out, 0, sizeof *out);
    out->dev = device_of(p);
    if (out->dev < 0) {
        out->kind = sim_host_lookup(p, out) ? SIM_PTR_PINNED : SIM_PTR_HOST;
        return;
    }
    long i = alloc_floor(p);
    if (i >= 0 && p - allocs[i].base < allocs[i].size && !allocs[i].freeing && !allocs[i].noaccess) {
        out->kind = SIM_PTR_DEVICE;
        out->base = allocs[i].base;
        out->size = allocs[i].size;
        out->id = allocs[i].id;
    } else {
        out->kind = SIM_PTR_UNMAPPED;
    }
}

int sim_mem_live(uintptr_t base, uint64_t id)
{
    long i = alloc_floor(base);
    return i >= 0 && allocs[i].base == base && allocs[i].id == id;
}

static int extent_insert(struct device_mem *m, size_t at, struct extent e)
{
    if (m->n_free == m->cap_free) {
        struct extent *f = realloc(m->free, 2 * m->cap_free * sizeof *f);
        if (!f)
            return 0;
        m->free = f;
        m->cap_free *= 2;
    }
    memmove(&m->free[at + 1], &m->free[at], (m->n_free - at) * sizeof *m->free);
    m->free[at] = e;
    m->n_free++;
    return 1;
}

static void extent_remove(struct device_mem *m, size_t at)
{
    memmove(&m->free[at], &m->free[at + 1], (m->n_free - at - 1) * sizeof *m->free);
    m->n_free--;
}

/* Takes `len` bytes from the free list, next-fit; returns the offset or -1. */
static long long take(struct device_mem *m, size_t len)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < m->n_free; i++) {
            struct extent *e = &m->free[i];
            size_t start = e->off;
            if (pass == 0 && e->off + e->len <= m->cursor)
                continue;
            if (pass == 0 && start < m->cursor)
                start = m->cursor;
            if (e->off + e->len - start < len)
                continue;
            size_t end = start + len;
            size_t tail = e->off + e->len - end;
            if (start > e->off) {
                e->len = start - e->off;
                if (tail && !extent_insert(m, i + 1, (struct extent){end, tail}))
                    return -1;
            } else if (tail) {
                *e = (struct extent){end, tail};
            } else {
                extent_remove(m, i);
            }
            m->cursor = end;
            return (long long)start;
        }
    }
    return -1;
}

static void give_back(struct device_mem *m, size_t off, size_t len)
{
    size_t i = 0;
    while (i < m->n_free && m->free[i].off < off)
        i++;
    int merge_prev = i > 0 && m->free[i - 1].off + m->free[i - 1].len == off;
    int merge_next = i < m->n_free && off + len == m->free[i].off;
    if (merge_prev && merge_next) {
        m->free[i - 1].len += len + m->free[i].len;
        extent_remove(m, i);
    } else if (merge_prev) {
        m->free[i - 1].len += len;
    } else if (merge_next) {
        m->free[i].off = off;
        m->free[i].len += len;
    } else if (!extent_insert(m, i, (struct extent){off, len})) {
        /* Out of host memory for bookkeeping: the range leaks, nothing breaks. */
    }
}

CUresult cudasim_mem_alloc(int dev, size_t n, CUdeviceptr *out)
{
    if (!out || n == 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev < 0 || dev >= sim_cfg.devices)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (n > sim_cfg.mem)
        return CUDA_ERROR_OUT_OF_MEMORY;
    size_t slot = ((n + PAGE - 1) & ~(size_t)(PAGE - 1)) + PAGE;
    CUresult r = CUDA_ERROR_OUT_OF_MEMORY;
    pthread_mutex_lock(&sim_lock);
    struct device_mem *m = &devs[dev];
    if (n_allocs == cap_allocs) {
        size_t cap = cap_allocs ? 2 * cap_allocs : 64;
        struct alloc *a = realloc(allocs, cap * sizeof *a);
        if (!a)
            goto out;
        allocs = a;
        cap_allocs = cap;
    }
    long long off = m->used + slot <= m->size ? take(m, slot) : -1;
    if (off < 0)
        goto out;
    m->used += slot;
    struct alloc a = {m->base + (size_t)off, n, slot, dev, next_alloc_id++, 0, 0, 0};
    long i = alloc_floor(a.base) + 1;
    memmove(&allocs[i + 1], &allocs[i], (n_allocs - (size_t)i) * sizeof *allocs);
    allocs[i] = a;
    n_allocs++;
    *out = (CUdeviceptr)a.base;
    r = CUDA_SUCCESS;
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

/* Releases allocation i (under sim_lock): its pages go back to the memfd. */
static void release(long i)
{
    struct alloc a = allocs[i];
    struct device_mem *m = &devs[a.dev];
    size_t off = a.base - m->base;
    memmove(&allocs[i], &allocs[i + 1], (n_allocs - (size_t)i - 1) * sizeof *allocs);
    n_allocs--;
    fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)a.slot);
    give_back(m, off, a.slot);
    m->used -= a.slot;
}

/* The op that frees in stream order (cudaFreeAsync). */
struct free_op {
    uintptr_t base;
    uint64_t id;
};

static void run_free(struct sim_op *op, struct sim_stream *s)
{
    struct free_op *f = (struct free_op *)op->payload;
    pthread_mutex_lock(&sim_lock);
    long i = alloc_floor(f->base);
    if (i >= 0 && allocs[i].base == f->base && allocs[i].id == f->id)
        release(i);
    pthread_mutex_unlock(&sim_lock);
}

CUresult cudasim_mem_free(CUdeviceptr p, CUstream stream, int ptds)
{
    uintptr_t base = (uintptr_t)p;
    if (!stream) {
        /* cudaFree / cuMemFree wait for the device that owns the memory. */
        struct sim_ptr q;
        cudasim_ptr_query(base, &q);
        if (q.kind != SIM_PTR_DEVICE || q.base != base)
            return CUDA_ERROR_INVALID_VALUE;
        CUresult r = cudasim_device_sync(q.dev);
        if (r)
            return r;
    }
    CUresult r = CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&sim_lock);
    long i = alloc_floor(base);
    if (i < 0 || allocs[i].base != base || allocs[i].freeing || allocs[i].vmm)
        goto out;
    if (!stream) {
        release(i);
        r = CUDA_SUCCESS;
        goto out;
    }
    struct sim_stream *s = sim_stream_get(stream, ptds, &r);
    if (!s)
        goto out;
    struct sim_op *op = sim_op_new(run_free, sizeof(struct free_op));
    if (!op) {
        r = CUDA_ERROR_OUT_OF_MEMORY;
        goto out;
    }
    *(struct free_op *)op->payload = (struct free_op){base, allocs[i].id};
    /* The address stops being valid for new work now; the pages go when the
     * stream reaches the free. A second free of it is an error from here on. */
    uint64_t seq;
    r = sim_enqueue(s, op, &seq);
    if (r == CUDA_SUCCESS)
        allocs[i].freeing = 1;
out:
    pthread_mutex_unlock(&sim_lock);
    return r;
}

void cudasim_mem_info(int dev, size_t *free_bytes, size_t *total)
{
    pthread_mutex_lock(&sim_lock);
    *total = devs[dev].size;
    *free_bytes = devs[dev].size - devs[dev].used;
    pthread_mutex_unlock(&sim_lock);
}

void sim_mem_reset(int dev)
{
    for (long i = (long)n_allocs - 1; i >= 0; i--)
        if (allocs[i].dev == dev && !allocs[i].vmm)
            release(i);
}

/* ---- for the virtual-memory API (sim_vmm.c), under sim_lock ---- */

CUresult sim_mem_take(int dev, size_t len, int physical, size_t *off)
{
    struct device_mem *m = &devs[dev];
    if (physical && m->used + len > m->size)
        return CUDA_ERROR_OUT_OF_MEMORY;
    long long o = take(m, len);
    if (o < 0)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if (physical)
        m->used += len;
    *off = (size_t)o;
    return CUDA_SUCCESS;
}

void sim_mem_give(int dev, size_t off, size_t len, int physical)
{
    struct device_mem *m = &devs[dev];
    if (physical) {
        fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
        m->used -= len;
    }
    give_back(m, off, len);
}

uintptr_t sim_mem_addr(int dev, size_t off)
{
    return devs[dev].base + off;
}

/* Both views of [va, va+len) show the memfd from file offset `file_off`. */
int sim_mem_remap(int dev, uintptr_t va, size_t len, size_t file_off)
{
    struct device_mem *m = &devs[dev];
    void *v = mmap((void *)va, len, PROT_NONE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE, m->fd,
                   (off_t)file_off);
    void *a = mmap(m->alias + (va - m->base), len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_FIXED | MAP_NORESERVE, m->fd, (off_t)file_off);
    return v == MAP_FAILED || a == MAP_FAILED ? -1 : 0;
}

CUresult sim_mem_vmm_add(int dev, uintptr_t va, size_t len)
{
    if (n_allocs == cap_allocs) {
        size_t cap = cap_allocs ? 2 * cap_allocs : 64;
        struct alloc *a = realloc(allocs, cap * sizeof *a);
        if (!a)
            return CUDA_ERROR_OUT_OF_MEMORY;
        allocs = a;
        cap_allocs = cap;
    }
    struct alloc a = {va, len, 0, dev, next_alloc_id++, 0, 1, 1};
    long i = alloc_floor(va) + 1;
    memmove(&allocs[i + 1], &allocs[i], (n_allocs - (size_t)i) * sizeof *allocs);
    allocs[i] = a;
    n_allocs++;
    return CUDA_SUCCESS;
}

void sim_mem_vmm_remove(uintptr_t va)
{
    long i = alloc_floor(va);
    if (i < 0 || allocs[i].base != va || !allocs[i].vmm)
        return;
    memmove(&allocs[i], &allocs[i + 1], (n_allocs - (size_t)i - 1) * sizeof *allocs);
    n_allocs--;
}

size_t sim_mem_span_locked(const struct sim_ptr *q)
{
    if (q->kind != SIM_PTR_DEVICE)
        return q->size;
    long i = alloc_floor(q->base);
    if (i < 0 || allocs[i].base != q->base || !allocs[i].vmm)
        return q->size;
    size_t span = allocs[i].size;
    while ((size_t)i + 1 < n_allocs && allocs[i + 1].vmm && !allocs[i + 1].noaccess &&
           allocs[i + 1].base == allocs[i].base + allocs[i].size) {
        i++;
        span += allocs[i].size;
    }
    return span;
}

void sim_mem_vmm_access(uintptr_t va, int on)
{
    long i = alloc_floor(va);
    if (i >= 0 && allocs[i].base == va && allocs[i].vmm)
        allocs[i].noaccess = !on;
}

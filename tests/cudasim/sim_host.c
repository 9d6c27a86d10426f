/*
 * Page-locked host memory: what cudaMallocHost / cudaHostAlloc hand out
 * (mappings cudasim owns) and what cudaHostRegister pins (ranges the program
 * owns). With unified addressing every such range is mapped: its device
 * pointer is its host address, so kernels and copies may name it.
 *
 * What kind of mapping the real driver hands out is one switch,
 * CUDASIM_PINNED:
 *   device (default)  a shared mapping of a memory file (memfd), standing for
 *                     the NVIDIA driver's mapping of its device file: not
 *                     private anonymous memory, so userfaultfd cannot vouch
 *                     for writes to it (pagemap counts its pages as file
 *                     pages) and a tool that needs anonymous memory refuses
 *                     it, as it would on hardware (as far as we know: the
 *                     GPU kit, tests/gpu/run.sh, prints /proc/self/maps of a
 *                     cudaHostAlloc range and tries a registration);
 *   anon              private anonymous memory, as cudasim had before.
 * cudaHostRegister'd memory is the program's own (anonymous) either way.
 */
#define _GNU_SOURCE
#include "sim_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u

struct pinned {
    uintptr_t base;
    size_t size;
    size_t map_len; /* > 0: cudasim mapped it (cudaMallocHost); 0: registered */
    unsigned flags;
};

static struct pinned *pins; /* sorted by base, non-overlapping */
static size_t n_pins, cap_pins;

static long pin_floor(uintptr_t p)
{
    size_t lo = 0, hi = n_pins;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pins[mid].base <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

int sim_host_lookup(uintptr_t p, struct sim_ptr *out)
{
    long i = pin_floor(p);
    if (i < 0 || p - pins[i].base >= pins[i].size)
        return 0;
    out->base = pins[i].base;
    out->size = pins[i].size;
    out->flags = pins[i].flags;
    return 1;
}

/* Adds [base, base+size) unless it overlaps a pinned range (under sim_lock). */
static CUresult pin_add(struct pinned p)
{
    long i = pin_floor(p.base + p.size - 1);
    if (i >= 0 && pins[i].base + pins[i].size > p.base)
        return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
    if (n_pins == cap_pins) {
        size_t cap = cap_pins ? 2 * cap_pins : 32;
        struct pinned *a = realloc(pins, cap * sizeof *a);
        if (!a)
            return CUDA_ERROR_OUT_OF_MEMORY;
        pins = a;
        cap_pins = cap;
    }
    size_t at = (size_t)(pin_floor(p.base) + 1);
    memmove(&pins[at + 1], &pins[at], (n_pins - at) * sizeof *pins);
    pins[at] = p;
    n_pins++;
    return CUDA_SUCCESS;
}

/* Removes the range starting exactly at p whose ownership matches. */
static CUresult pin_remove(uintptr_t p, int owned, struct pinned *removed)
{
    long i = pin_floor(p);
    if (i < 0 || pins[i].base != p || (pins[i].map_len > 0) != owned)
        return owned ? CUDA_ERROR_INVALID_VALUE : CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
    *removed = pins[i];
    memmove(&pins[i], &pins[i + 1], (n_pins - (size_t)i - 1) * sizeof *pins);
    n_pins--;
    return CUDA_SUCCESS;
}

/* Pinned memory may still be the source or target of queued copies: its
 * release waits for every device, as the real cudaFreeHost does. */
static CUresult sync_all(void)
{
    for (int d = 0; d < cudasim_device_count(); d++) {
        CUresult r = cudasim_device_sync(d);
        if (r)
            return r;
    }
    return CUDA_SUCCESS;
}

static int pinned_anon; /* CUDASIM_PINNED=anon */
static pthread_once_t pinned_once = PTHREAD_ONCE_INIT;

static void read_pinned_kind(void)
{
    const char *v = getenv("CUDASIM_PINNED");
    if (!v || !*v || strcmp(v, "device") == 0)
        return;
    if (strcmp(v, "anon") != 0)
        sim_fatal("CUDASIM_PINNED=%s is invalid: expected device or anon", v);
    pinned_anon = 1;
}

/* len bytes of pinned memory, resident from the start (a driver pins every
 * page), so host-memory figures measured on cudasim count it as a real
 * machine would. */
static void *map_pinned(size_t len)
{
    pthread_once(&pinned_once, read_pinned_kind);
    if (pinned_anon)
        return mmap(NULL, len, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    int fd = memfd_create("cudasim-pinned", MFD_CLOEXEC);
    if (fd < 0)
        return MAP_FAILED;
    void *p = MAP_FAILED;
    if (ftruncate(fd, (off_t)len) == 0)
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    close(fd); /* the mapping keeps the file */
    return p;
}

CUresult cudasim_host_alloc(size_t n, unsigned flags, void **out)
{
    if (!out)
        return CUDA_ERROR_INVALID_VALUE;
    const unsigned known = CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP |
                           CU_MEMHOSTALLOC_WRITECOMBINED;
    if (flags & ~known)
        return CUDA_ERROR_INVALID_VALUE;
    if (n == 0) {
        *out = NULL;
        return CUDA_SUCCESS;
    }
    size_t len = (n + PAGE - 1) & ~(size_t)(PAGE - 1);
    if (len < n)
        return CUDA_ERROR_OUT_OF_MEMORY;
    void *p = map_pinned(len);
    if (p == MAP_FAILED)
        return CUDA_ERROR_OUT_OF_MEMORY;
    pthread_mutex_lock(&sim_lock);
    CUresult r = pin_add((struct pinned){(uintptr_t)p, n, len, flags});
    pthread_mutex_unlock(&sim_lock);
    if (r) {
        munmap(p, len);
        return r;
    }
    *out = p;
    return CUDA_SUCCESS;
}

CUresult cudasim_host_free(void *p)
{
    if (!p)
        return CUDA_SUCCESS;
    struct sim_ptr q;
    cudasim_ptr_query((uintptr_t)p, &q);
    if (q.kind != SIM_PTR_PINNED || q.base != (uintptr_t)p)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = sync_all();
    if (r)
        return r;
    struct pinned removed;
    pthread_mutex_lock(&sim_lock);
    r = pin_remove((uintptr_t)p, 1, &removed);
    pthread_mutex_unlock(&sim_lock);
    if (r == CUDA_SUCCESS)
        munmap(p, removed.map_len);
    return r;
}

CUresult cudasim_host_register(void *p, size_t n, unsigned flags)
{
    const unsigned known = CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP |
                           CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_READ_ONLY;
    if (!p || n == 0 || (flags & ~known))
        return CUDA_ERROR_INVALID_VALUE;
    struct sim_ptr q;
    cudasim_ptr_query((uintptr_t)p, &q);
    if (q.kind == SIM_PTR_DEVICE || q.kind == SIM_PTR_UNMAPPED)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&sim_lock);
    CUresult r = pin_add((struct pinned){(uintptr_t)p, n, 0, flags});
    pthread_mutex_unlock(&sim_lock);
    return r;
}

CUresult cudasim_host_unregister(void *p)
{
    if (!p)
        return CUDA_ERROR_INVALID_VALUE;
    struct sim_ptr q;
    cudasim_ptr_query((uintptr_t)p, &q);
    if (q.kind != SIM_PTR_PINNED || q.base != (uintptr_t)p)
        return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
    CUresult r = sync_all();
    if (r)
        return r;
    struct pinned removed;
    pthread_mutex_lock(&sim_lock);
    r = pin_remove((uintptr_t)p, 0, &removed);
    pthread_mutex_unlock(&sim_lock);
    return r;
}

/*
 * gq_emu.h — the contract between gqshim's CUDA kernels compiled for the CPU
 * and the SIMT executor that runs them (tests/cudasim/simt_*.c, linked into
 * cudasim's libcuda.so.1 and into the unit tests).
 *
 * kernels/gq_kernels.cu is compiled twice from the same text: by nvcc into the
 * fatbin that libgqshim.so embeds, and by gcc (with GQ_EMU defined) into
 * build/kernels/gq_kernels_emu.o. The macros of gq_cuda_compat.h turn
 * `__global__`, `blockIdx`, `__syncthreads()`, `__shfl_sync()`, `atomicAdd()`
 * ... into calls of this header for the second build.
 *
 * Execution (gq_emu_run): each block's threads run as fibers on the calling
 * OS thread, in warps of 32 (lane = linear thread index % 32). A thread runs
 * until it reaches a collective point (__syncthreads, __syncwarp, a shuffle,
 * a vote, __activemask) or returns; a collective resolves once every thread
 * it names has arrived. Blocks run one after another; the warps of a block
 * run in an order drawn from CUDASIM_SEED (default 1), so a kernel that
 * depends on warp order by accident fails under some seed. Misuse ends the
 * launch with an error naming the kernel and the thread (GQ_EMU_E*).
 *
 * Memory: kernels see device addresses as the GPU would (in cudasim a
 * PROT_NONE range: a plain dereference faults). Global and shared memory are
 * reached only through kernels/gq_dev.h's primitives (1/2/4/8/16-byte loads
 * and stores, atomics), which call gq_emu_access(): it translates the address
 * and, when the launch is profiled, logs (address, width, kind, space) for
 * the memory-transaction model. Shared memory is declared with GQ_SHARED /
 * GQ_SHARED_DYN (gq_cuda_compat.h) and lives in a PROT_NONE window too.
 *
 * Launch parameters: one struct passed by value whose first field is a magic
 * number (see gq_format.h). cudasim answers cuModuleGetFunction only for
 * names found in the kernel table, rejects a launch whose struct has the
 * wrong magic or size, and checks each pointer field listed in ptr_offsets
 * (device memory or mapped pinned host memory) without translating it.
 */
#ifndef GQ_EMU_H
#define GQ_EMU_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gq_emu_dim3 {
    unsigned x, y, z;
};

/* Thread-local state of the executor is defined in the module that runs the
 * kernels (libcuda.so.1, or a test binary). Initial-exec: kernels read it on
 * every access, and a __tls_get_addr call each time would cost more than the
 * access (libcuda.so.1's TLS is under 200 bytes, which glibc's static TLS
 * reserve holds even when the library is dlopen()ed). */
#define GQ_EMU_TLS extern __thread __attribute__((visibility("hidden"), tls_model("initial-exec")))

/* The running thread's built-ins: set by the executor at every switch to a
 * thread (per OS thread; all threads of a block run on one). */
GQ_EMU_TLS struct gq_emu_dim3 gq_emu_blockIdx, gq_emu_threadIdx;
GQ_EMU_TLS struct gq_emu_dim3 gq_emu_blockDim, gq_emu_gridDim;

#define GQ_EMU_MAX_PTRS 4

struct gq_emu_kernel {
    const char *name;          /* extern "C" name, as in the fatbin */
    size_t params_size;        /* sizeof the by-value parameter struct */
    unsigned params_magic;     /* value the struct's first uint32_t must hold */
    unsigned n_ptrs;           /* device-address fields in the struct */
    size_t ptr_offsets[GQ_EMU_MAX_PTRS];
    void (*entry)(const void *params); /* one thread's work at the current indices */
};

/* The kernel called `name`, or NULL when the image holds no such kernel. */
const struct gq_emu_kernel *gq_emu_kernel_find(const char *name);

/* ---- running a grid ---------------------------------------------------- */

enum gq_emu_space { GQ_EMU_DEVICE, GQ_EMU_HOST, GQ_EMU_SHARED };
enum gq_emu_kind { GQ_EMU_LD, GQ_EMU_ST, GQ_EMU_ATOM };

/* What the memory-transaction model counts for one space and kind. A warp
 * instruction is the k-th global (or, counted apart, shared) access of each
 * active lane of a warp between two collective points, of one space and
 * kind. */
struct gq_emu_mstat {
    uint64_t instrs;    /* warp instructions */
    uint64_t requested; /* distinct bytes the lanes asked for */
    uint64_t sectors;   /* distinct 32-byte sectors per instruction, summed */
    uint64_t lines;     /* distinct 128-byte lines per instruction, summed */
    uint64_t payload;   /* host space: bytes crossing PCIe (stores: requested;
                           loads and atomics: whole sectors) */
};

struct gq_emu_stats {
    struct gq_emu_mstat m[2][3]; /* [GQ_EMU_DEVICE/HOST][GQ_EMU_LD/ST/ATOM] */
    uint64_t shared_instrs;      /* shared-memory warp instructions */
    uint64_t shared_wavefronts;  /* their passes through the 32 banks */
    uint64_t shared_phases;      /* the passes a conflict-free access needs */
    uint64_t threads, blocks;
};

/* A range of kernel-visible addresses and where the CPU reaches it. */
struct gq_emu_window {
    uintptr_t base, size;
    unsigned char *alias;
};

struct gq_emu_launch {
    const struct gq_emu_kernel *k;
    const void *params;
    struct gq_emu_dim3 grid, block;
    unsigned dyn_shared;        /* bytes of dynamic shared memory */
    struct gq_emu_window dev;   /* device memory (size 0: every address is host memory) */
    struct gq_emu_stats *stats; /* non-NULL: run the memory-transaction model */
};

enum gq_emu_err {
    GQ_EMU_OK,
    GQ_EMU_EBARRIER,   /* a collective not reached by every thread it names */
    GQ_EMU_EADDRESS,   /* shared access outside the declared size */
    GQ_EMU_EMISALIGNED,/* an access not aligned to its width */
    GQ_EMU_ERESOURCES, /* more shared memory than a block may have, no memory for fibers */
    GQ_EMU_EARG,       /* an intrinsic called with an invalid argument */
};

/* Runs the grid on the calling thread; GQ_EMU_OK or the error, with a
 * one-line description (kernel, block, thread, what) in msg. */
int gq_emu_run(const struct gq_emu_launch *l, char *msg, size_t msg_len);

/* The largest shared memory (static + dynamic) of a block, as sm_80/sm_90
 * without the opt-in attribute. */
#define GQ_EMU_SHARED_MAX (48u * 1024u)

/* ---- what kernels call (through gq_cuda_compat.h and gq_dev.h) ---------- */

/* The running launch's address windows; per OS thread. */
struct gq_emu_tls {
    uintptr_t dev_base, dev_size;
    unsigned char *dev_alias;
    uintptr_t sh_base;   /* the shared window: GQ_EMU_SHARED_WINDOW bytes */
    unsigned char *sh_alias;
    int slow;            /* a profiled launch: every access takes the slow path (logging) */
};
GQ_EMU_TLS struct gq_emu_tls gq_emu_tls;
#define GQ_EMU_SHARED_WINDOW (64u * 1024u)

/* The CPU address of a kernel access of `bytes` at p; checks and logs. */
void *gq_emu_access_slow(const void *p, unsigned bytes, unsigned kind);

static inline void *gq_emu_access(const void *p, unsigned bytes, unsigned kind)
{
    uintptr_t a = (uintptr_t)p;
    if (!gq_emu_tls.slow && (a & (bytes - 1)) == 0) {
        if (a - gq_emu_tls.dev_base < gq_emu_tls.dev_size)
            return gq_emu_tls.dev_alias + (a - gq_emu_tls.dev_base);
        if (a - gq_emu_tls.sh_base >= GQ_EMU_SHARED_WINDOW)
            return (void *)a; /* mapped host memory */
    }
    return gq_emu_access_slow(p, bytes, kind);
}

void gq_emu_syncthreads(void);
void gq_emu_syncwarp(unsigned mask);
unsigned gq_emu_activemask(void);

enum gq_emu_shfl_mode { GQ_EMU_SHFL_IDX, GQ_EMU_SHFL_UP, GQ_EMU_SHFL_DOWN, GQ_EMU_SHFL_XOR };
/* var's bits (up to 64) from the lane the mode selects (PTX shfl.sync rules). */
uint64_t gq_emu_shfl(unsigned mode, unsigned mask, uint64_t bits, unsigned b, int width);

enum gq_emu_vote_mode { GQ_EMU_VOTE_BALLOT, GQ_EMU_VOTE_ANY, GQ_EMU_VOTE_ALL };
unsigned gq_emu_vote(unsigned mode, unsigned mask, int pred);

/* Shared memory of the running block: one region per declaration site
 * (`site` is an address unique to it), and the dynamic region. */
void *gq_emu_shared_static(const void *site, size_t bytes, size_t align);
void *gq_emu_shared_dynamic(void);

#ifdef __cplusplus
}
#endif
#endif

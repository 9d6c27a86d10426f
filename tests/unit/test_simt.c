/*
 * test_simt.c — the SIMT executor (tests/cudasim/simt_*.c, kernels/gq_emu.h)
 * against CUDA's definitions: each intrinsic (masks, widths, out-of-range
 * lanes), atomics, shared memory and __syncthreads, misuse reported as
 * errors, the warp order drawn per block, and the memory-transaction model's
 * counts for accesses whose sectors, lines and PCIe transactions are known.
 *
 * The kernels below are written as CUDA C and compiled as C with GQ_EMU, as
 * kernels/gq_kernels.cu is for cudasim.
 */
#define GQ_EMU 1
#include "gq_cuda_compat.h"
#include "gq_dev.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* ---- launching ---- */

struct kp {
    uint32_t magic;
    uint32_t n, a, b;
    uint32_t *out;   /* host memory, or a device-window address */
    uint32_t *out2;
    const uint32_t *in;
};

static struct gq_emu_window dev_window; /* set by tests of device memory */

static int launch(void (*entry)(const void *), const struct kp *p, unsigned grid, unsigned block,
                  unsigned dyn_shared, struct gq_emu_stats *st, char *msg)
{
    static char sink[512];
    struct gq_emu_kernel k = {"test_kernel", sizeof *p, 0, 0, {0}, entry};
    struct gq_emu_launch l = {.k = &k, .params = p, .grid = {grid, 1, 1}, .block = {block, 1, 1},
                              .dyn_shared = dyn_shared, .dev = dev_window, .stats = st};
    return gq_emu_run(&l, msg ? msg : sink, 512);
}

#define KP(params) const struct kp *p = (const struct kp *)(params)

static unsigned lane_id(void)
{
    return threadIdx.x & 31u;
}

static unsigned gtid(void)
{
    return blockIdx.x * blockDim.x + threadIdx.x;
}

/* ---- shuffles ---- */

/* CUDA's documented results, written independently of the executor. */
static unsigned ref_src(int mode, unsigned lane, unsigned b, unsigned w)
{
    unsigned seg = lane / w * w;
    switch (mode) {
    case GQ_EMU_SHFL_IDX: return seg + (b % w);
    case GQ_EMU_SHFL_UP: return lane - seg >= b ? lane - b : lane;
    case GQ_EMU_SHFL_DOWN: return lane - seg + b < w ? lane + b : lane;
    default: {
        unsigned j = lane ^ b;
        return j / w > lane / w ? lane : j; /* later groups: own value */
    }
    }
}

static void k_shfl(const void *params)
{
    KP(params);
    unsigned lane = lane_id(), v = 1000 + lane, b = p->a, w = p->b, i = gtid();
    gq_store32(p->out + 4 * i + 0, __shfl_sync(0xffffffffu, v, (int)(lane * 7 + b), (int)w));
    gq_store32(p->out + 4 * i + 1, __shfl_up_sync(0xffffffffu, v, b, (int)w));
    gq_store32(p->out + 4 * i + 2, __shfl_down_sync(0xffffffffu, v, b, (int)w));
    gq_store32(p->out + 4 * i + 3, __shfl_xor_sync(0xffffffffu, v, b, (int)w));
}

static void test_shuffles_follow_cuda(void **state)
{
    uint32_t out[64 * 4];
    (void)state;
    for (unsigned w = 1; w <= 32; w *= 2)
        for (unsigned b = 0; b < 34; b += (b < 8 ? 1 : 5)) {
            struct kp p = {.a = b, .b = w, .out = out};
            assert_int_equal(launch(k_shfl, &p, 1, 64, 0, NULL, NULL), GQ_EMU_OK);
            for (unsigned t = 0; t < 64; t++) {
                unsigned lane = t & 31;
                assert_int_equal(out[4 * t + 0], 1000 + ref_src(GQ_EMU_SHFL_IDX, lane, (lane * 7 + b) & 31, w));
                if (b < 32) {
                    assert_int_equal(out[4 * t + 1], 1000 + ref_src(GQ_EMU_SHFL_UP, lane, b, w));
                    assert_int_equal(out[4 * t + 2], 1000 + ref_src(GQ_EMU_SHFL_DOWN, lane, b, w));
                    assert_int_equal(out[4 * t + 3], 1000 + ref_src(GQ_EMU_SHFL_XOR, lane, b, w));
                }
            }
        }
}

/* Types: doubles and 64-bit integers travel whole; a partial mask works. */
static void k_shfl_types(const void *params)
{
    KP(params);
    unsigned lane = lane_id();
    double d = 0.5 + lane;
    unsigned long long u = 0x100000000ull * lane + 7;
    float f = -1.25f * (float)lane;
    if (lane >= 16)
        return; /* the upper half leaves; the lower half shuffles among itself */
    d = __shfl_xor_sync(0xffffu, d, 1);
    u = __shfl_down_sync(0xffffu, u, 2, 16);
    f = __shfl_sync(0xffffu, f, 3);
    gq_store32(p->out + 3 * lane, (uint32_t)(d * 4));
    gq_store32(p->out + 3 * lane + 1, (uint32_t)(u >> 32));
    gq_store32(p->out + 3 * lane + 2, gq_f32_bits(f));
}

static void test_shuffle_types_and_partial_masks(void **state)
{
    uint32_t out[48];
    struct kp p = {.out = out};
    (void)state;
    assert_int_equal(launch(k_shfl_types, &p, 1, 32, 0, NULL, NULL), GQ_EMU_OK);
    for (unsigned l = 0; l < 16; l++) {
        assert_int_equal(out[3 * l], (uint32_t)((0.5 + (l ^ 1)) * 4));
        assert_int_equal(out[3 * l + 1], l + 2 < 16 ? l + 2 : l);
        assert_int_equal(out[3 * l + 2], gq_f32_bits(-1.25f * 3));
    }
}

/* ---- votes, activemask, bit helpers ---- */

static void k_votes(const void *params)
{
    KP(params);
    unsigned lane = lane_id(), i = gtid();
    unsigned mask = p->a, all_mask;
    int pred = (lane % 3) == 0;
    all_mask = __activemask();
    if (!(mask & (1u << lane)))
        return;
    gq_store32(p->out + 6 * i + 0, __ballot_sync(mask, pred));
    gq_store32(p->out + 6 * i + 1, (uint32_t)__any_sync(mask, pred));
    gq_store32(p->out + 6 * i + 2, (uint32_t)__all_sync(mask, lane < 40));
    gq_store32(p->out + 6 * i + 3, (uint32_t)__all_sync(mask, pred));
    gq_store32(p->out + 6 * i + 4, all_mask);
    if (lane & 1)
        gq_store32(p->out + 6 * i + 5, __activemask());
    else
        gq_store32(p->out + 6 * i + 5, __activemask() | 0x80000000u);
}

static void test_votes_and_activemask(void **state)
{
    static const unsigned masks[] = {0xffffffffu, 0x0000ffffu, 0x80000001u, 0x00000004u};
    uint32_t out[32 * 6];
    (void)state;
    for (unsigned m = 0; m < 4; m++) {
        unsigned mask = masks[m], ballot = 0;
        struct kp p = {.a = mask, .out = out};
        memset(out, 0xff, sizeof out);
        for (unsigned l = 0; l < 32; l++)
            if ((mask & (1u << l)) && l % 3 == 0)
                ballot |= 1u << l;
        assert_int_equal(launch(k_votes, &p, 1, 32, 0, NULL, NULL), GQ_EMU_OK);
        for (unsigned l = 0; l < 32; l++) {
            if (!(mask & (1u << l)))
                continue;
            unsigned odd = mask & 0xaaaaaaaau, even = mask & 0x55555555u;
            assert_int_equal(out[6 * l + 0], ballot);
            assert_int_equal(out[6 * l + 1], ballot != 0);
            assert_int_equal(out[6 * l + 2], 1);
            assert_int_equal(out[6 * l + 3], ballot == mask);
            assert_int_equal(out[6 * l + 4], 0xffffffffu);
            assert_int_equal(out[6 * l + 5], (l & 1) ? odd : (even | 0x80000000u));
        }
    }
    assert_int_equal(__popc(0xf0f0u), 8);
    assert_int_equal(__popcll(0xffffffffffull), 40);
    assert_int_equal(__ffs(0), 0);
    assert_int_equal(__ffs(0x80u), 8);
    assert_int_equal(__ffsll(1ull << 40), 41);
}

/* ---- atomics ---- */

struct atom_out {
    unsigned add32, max32, min32, exch32, cas_wins;
    int smax;
    unsigned long long add64;
    float fadd;
    double dadd;
};

static void k_atomics(const void *params)
{
    const struct atom_out *const *pp = (const struct atom_out *const *)((const char *)params + 8);
    struct atom_out *o = (struct atom_out *)*pp;
    unsigned i = gtid();
    atomicAdd(&o->add32, i);
    atomicAdd(&o->add64, 0x100000000ull + i);
    atomicMax(&o->max32, i * 3);
    atomicMin(&o->min32, 1000 + i);
    atomicMax(&o->smax, -(int)i);
    atomicExch(&o->exch32, 5u);
    atomicAdd(&o->fadd, 0.5f);
    atomicAdd(&o->dadd, 0.25);
    if (atomicCAS(&o->cas_wins, 0u, i + 1) == 0u)
        atomicAdd(&o->cas_wins, 0u);
}

static void test_atomics(void **state)
{
    struct atom_out o = {0, 0, 0xffffffffu, 0, 0, -100, 0, 0, 0};
    struct {
        uint32_t magic, pad;
        struct atom_out *o;
    } params = {0, 0, &o};
    struct gq_emu_kernel k = {"atomics", sizeof params, 0, 0, {0}, k_atomics};
    struct gq_emu_launch l = {.k = &k, .params = &params, .grid = {4, 1, 1}, .block = {64, 1, 1}};
    char msg[256];
    (void)state;
    assert_int_equal(gq_emu_run(&l, msg, sizeof msg), GQ_EMU_OK);
    assert_int_equal(o.add32, 255 * 256 / 2);
    assert_true(o.add64 == 256 * 0x100000000ull + 255 * 256 / 2);
    assert_int_equal(o.max32, 255 * 3);
    assert_int_equal(o.min32, 1000);
    assert_int_equal(o.smax, 0);
    assert_int_equal(o.exch32, 5);
    assert_true(o.fadd == 128.0f);
    assert_true(o.dadd == 64.0);
    assert_true(o.cas_wins >= 1 && o.cas_wins <= 256);
}

/* ---- shared memory and __syncthreads ---- */

/* Sum of in[0..n) per block, a tree through shared memory. */
static void k_reduce(const void *params)
{
    KP(params);
    GQ_SHARED(uint32_t, part, 256);
    GQ_SHARED_DYN(uint32_t, extra);
    unsigned t = threadIdx.x, i = gtid();
    gq_store32(part + t, i < p->n ? gq_load32(p->in + i) : 0);
    gq_store32(extra + t, 1);
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
        if (t < s)
            gq_store32(part + t, gq_load32(part + t) + gq_load32(part + t + s));
        __syncthreads();
    }
    if (t == 0) {
        uint32_t ones = 0;
        for (unsigned j = 0; j < blockDim.x; j++)
            ones += gq_load32(extra + j);
        gq_store32(p->out + blockIdx.x, gq_load32(part));
        gq_store32(p->out2 + blockIdx.x, ones);
    }
}

static void test_block_reduction_through_shared_memory(void **state)
{
    uint32_t in[1000], out[4], ones[4];
    struct kp p = {.n = 1000, .out = out, .out2 = ones, .in = in};
    (void)state;
    for (unsigned i = 0; i < 1000; i++)
        in[i] = i * i % 977;
    assert_int_equal(launch(k_reduce, &p, 4, 256, 256 * 4, NULL, NULL), GQ_EMU_OK);
    for (unsigned b = 0; b < 4; b++) {
        uint32_t want = 0;
        for (unsigned i = b * 256; i < b * 256 + 256 && i < 1000; i++)
            want += in[i];
        assert_int_equal(out[b], want);
        assert_int_equal(ones[b], 256);
    }
}

/* ---- misuse ---- */

static void k_early_exit_barrier(const void *params)
{
    (void)params;
    if (threadIdx.x == 37)
        return;
    __syncthreads();
}

static void k_mask_names_gone_lane(const void *params)
{
    unsigned v = threadIdx.x;
    (void)params;
    if (threadIdx.x == 5)
        return;
    v = __shfl_down_sync(0xffffffffu, v, 1);
    (void)v;
}

static void k_mask_without_caller(const void *params)
{
    (void)params;
    __syncwarp(threadIdx.x == 3 ? 0x1u : 0xffffffffu);
}

static void k_mixed_collectives(const void *params)
{
    (void)params;
    if (threadIdx.x < 16)
        (void)__ballot_sync(0xffffffffu, 1);
    else
        __syncthreads();
}

static void k_shared_oob(const void *params)
{
    GQ_SHARED(uint32_t, s, 8);
    (void)params;
    gq_store32(s + threadIdx.x, 1); /* 8 declared, 32 threads */
}

static void k_misaligned(const void *params)
{
    KP(params);
    gq_store32((uint32_t *)((char *)p->out + 2), 1);
}

static void k_bad_width(const void *params)
{
    (void)params;
    (void)__shfl_sync(0xffffffffu, 1, 0, 12);
}

static void test_misuse_is_an_error_naming_the_thread(void **state)
{
    char msg[512];
    uint32_t out[4];
    struct kp p = {.out = out};
    (void)state;
    assert_int_equal(launch(k_early_exit_barrier, &p, 1, 64, 0, NULL, msg), GQ_EMU_EBARRIER);
    assert_non_null(strstr(msg, "__syncthreads not reached by thread (37,0,0)"));
    assert_non_null(strstr(msg, "kernel test_kernel"));
    assert_int_equal(launch(k_mask_names_gone_lane, &p, 1, 32, 0, NULL, msg), GQ_EMU_EBARRIER);
    assert_non_null(strstr(msg, "names lane 5, which has returned"));
    assert_int_equal(launch(k_mask_without_caller, &p, 1, 32, 0, NULL, msg), GQ_EMU_EARG);
    assert_non_null(strstr(msg, "thread (3,0,0)"));
    assert_int_equal(launch(k_mixed_collectives, &p, 1, 32, 0, NULL, msg), GQ_EMU_EBARRIER);
    assert_int_equal(launch(k_shared_oob, &p, 1, 32, 0, NULL, msg), GQ_EMU_EADDRESS);
    assert_non_null(strstr(msg, "thread (8,0,0)"));
    assert_int_equal(launch(k_misaligned, &p, 1, 1, 0, NULL, msg), GQ_EMU_EMISALIGNED);
    assert_int_equal(launch(k_bad_width, &p, 1, 32, 0, NULL, msg), GQ_EMU_EARG);
    assert_int_equal(launch(k_reduce, &p, 1, 32, GQ_EMU_SHARED_MAX + 1, NULL, msg), GQ_EMU_ERESOURCES);
    /* the executor is usable again after each failure */
    assert_int_equal(launch(k_early_exit_barrier, &p, 1, 32, 0, NULL, msg), GQ_EMU_OK);
}

/* ---- warp order ---- */

static void k_order(const void *params)
{
    KP(params);
    if (lane_id() == 0) {
        unsigned slot = atomicAdd(p->out2 + blockIdx.x, 1u);
        gq_store32(p->out + blockIdx.x * 8 + slot, threadIdx.x / 32);
    }
}

static void test_warp_order_varies_per_block(void **state)
{
    uint32_t order[16 * 8], again[16 * 8], count[16] = {0};
    struct kp p = {.out = order, .out2 = count};
    int shuffled = 0;
    (void)state;
    assert_int_equal(launch(k_order, &p, 16, 256, 0, NULL, NULL), GQ_EMU_OK);
    for (unsigned b = 0; b < 16; b++) {
        unsigned seen = 0;
        for (unsigned k = 0; k < 8; k++) {
            seen |= 1u << order[b * 8 + k];
            shuffled |= order[b * 8 + k] != k;
        }
        assert_int_equal(seen, 0xff); /* every warp ran, once */
    }
    assert_true(shuffled);
    memset(count, 0, sizeof count);
    p.out = again;
    assert_int_equal(launch(k_order, &p, 16, 256, 0, NULL, NULL), GQ_EMU_OK);
    assert_memory_equal(order, again, sizeof order); /* the same seed, the same order */
}

/* ---- the memory-transaction model ---- */

static unsigned char *dev_alias;

/* A fake device: kernel-visible addresses in a PROT_NONE range, the data in
 * an ordinary buffer. */
static int dev_setup(void **state)
{
    size_t n = 1 << 20;
    void *v = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    (void)state;
    dev_alias = aligned_alloc(4096, n);
    if (v == MAP_FAILED || !dev_alias)
        return -1;
    memset(dev_alias, 0, n);
    dev_window = (struct gq_emu_window){(uintptr_t)v, n, dev_alias};
    return 0;
}

static int dev_teardown(void **state)
{
    (void)state;
    munmap((void *)dev_window.base, dev_window.size);
    free(dev_alias);
    dev_window = (struct gq_emu_window){0, 0, NULL};
    return 0;
}

/* out[i * a] = in[i * a], a in 4-byte words; a = 0: 16-byte vectors. */
static void k_copy(const void *params)
{
    KP(params);
    unsigned i = gtid();
    if (p->a == 0) {
        gq_store128(p->out + 4 * i, gq_load128(p->in + 4 * i));
        return;
    }
    gq_store32(p->out + i * p->a, gq_load32(p->in + i * p->a));
}

static const struct gq_emu_mstat *mst(const struct gq_emu_stats *s, int space, int kind)
{
    return &s->m[space][kind];
}

static void test_coalesced_and_strided_copies_count_sectors(void **state)
{
    uint32_t *in = (uint32_t *)dev_window.base, *out = in + 65536;
    struct gq_emu_stats st;
    (void)state;
    for (unsigned i = 0; i < 4096; i++)
        memcpy(dev_alias + 4 * i, &i, 4);

    /* 32 lanes x 4 contiguous bytes: 128 bytes = 4 sectors, 1 line */
    memset(&st, 0, sizeof st);
    struct kp p = {.a = 1, .out = out, .in = in};
    assert_int_equal(launch(k_copy, &p, 2, 64, 0, &st, NULL), GQ_EMU_OK);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_LD)->instrs, 4); /* 4 warps */
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_LD)->sectors, 16);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_LD)->lines, 4);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_LD)->requested, 512);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_ST)->sectors, 16);
    assert_int_equal(mst(&st, GQ_EMU_HOST, GQ_EMU_LD)->instrs, 0);
    assert_int_equal(st.threads, 128);
    uint32_t v;
    memcpy(&v, dev_alias + 65536 * 4 + 4 * 100, 4);
    assert_int_equal(v, 100); /* the copy went through the alias */

    /* 128-byte stride: every lane its own sector and line */
    memset(&st, 0, sizeof st);
    p.a = 32;
    assert_int_equal(launch(k_copy, &p, 1, 32, 0, &st, NULL), GQ_EMU_OK);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_LD)->instrs, 1);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_LD)->sectors, 32);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_LD)->lines, 32);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_LD)->requested, 128);

    /* 32 lanes x 16 bytes: one 512-byte instruction, 16 sectors, 4 lines */
    memset(&st, 0, sizeof st);
    p.a = 0;
    assert_int_equal(launch(k_copy, &p, 1, 32, 0, &st, NULL), GQ_EMU_OK);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_LD)->instrs, 1);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_LD)->sectors, 16);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_LD)->lines, 4);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_ST)->requested, 512);
}

/* Mapped host memory: lane i stores `a` bytes... as 4-byte words at a
 * stride of p->a words; p->b = 2: 2-byte stores 32 bytes apart. */
static void k_host_write(const void *params)
{
    KP(params);
    unsigned i = gtid();
    if (p->b == 2)
        gq_store16((uint16_t *)p->out + 16 * i, 1);
    else
        gq_store32(p->out + i * p->a, i);
}

static void test_mapped_writes_count_pcie_transactions(void **state)
{
    uint32_t *host = aligned_alloc(128, 64 * 1024);
    struct gq_emu_stats st;
    (void)state;
    /* contiguous: 32 lanes x 4 bytes = one 128-byte line, one transaction */
    memset(&st, 0, sizeof st);
    struct kp p = {.a = 1, .out = host};
    assert_int_equal(launch(k_host_write, &p, 1, 256, 0, &st, NULL), GQ_EMU_OK);
    assert_int_equal(mst(&st, GQ_EMU_HOST, GQ_EMU_ST)->instrs, 8);
    assert_int_equal(mst(&st, GQ_EMU_HOST, GQ_EMU_ST)->lines, 8);
    assert_int_equal(mst(&st, GQ_EMU_HOST, GQ_EMU_ST)->payload, 1024);
    assert_int_equal(mst(&st, GQ_EMU_DEVICE, GQ_EMU_ST)->instrs, 0);
    assert_int_equal(host[77], 77);
    /* 2-byte stores 32 bytes apart: 1024 bytes spanned, 8 lines, 64 bytes of payload */
    memset(&st, 0, sizeof st);
    p.b = 2;
    assert_int_equal(launch(k_host_write, &p, 1, 32, 0, &st, NULL), GQ_EMU_OK);
    assert_int_equal(mst(&st, GQ_EMU_HOST, GQ_EMU_ST)->lines, 8);
    assert_int_equal(mst(&st, GQ_EMU_HOST, GQ_EMU_ST)->sectors, 32);
    assert_int_equal(mst(&st, GQ_EMU_HOST, GQ_EMU_ST)->payload, 64);
    free(host);
}

/* Shared memory banks: stride 1 word conflict-free, 2 words 2-way, 32 words
 * 32-way, one word for all a broadcast. */
static void k_banks(const void *params)
{
    KP(params);
    GQ_SHARED(uint32_t, s, 32 * 32);
    unsigned lane = lane_id();
    gq_store32(s + lane * p->a, lane);
}

static void test_shared_bank_conflicts(void **state)
{
    static const unsigned stride[] = {1, 2, 32, 0}, ways[] = {1, 2, 32, 1};
    struct kp p = {0};
    (void)state;
    for (int i = 0; i < 4; i++) {
        struct gq_emu_stats st;
        memset(&st, 0, sizeof st);
        p.a = stride[i];
        assert_int_equal(launch(k_banks, &p, 1, 32, 0, &st, NULL), GQ_EMU_OK);
        assert_int_equal(st.shared_instrs, 1);
        assert_int_equal(st.shared_phases, 1);
        assert_int_equal(st.shared_wavefronts, ways[i]);
    }
}

/* The device window is not memory the CPU can touch: a kernel that
 * dereferences a device address without the primitives dies. */
static void k_raw(const void *params)
{
    KP(params);
    p->out[threadIdx.x] = 1;
}

static void test_a_raw_dereference_of_device_memory_faults(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        struct kp p = {.out = (uint32_t *)dev_window.base};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGSEGV, SIG_DFL); /* cmocka's handler would carry on */
        launch(k_raw, &p, 1, 32, 0, NULL, NULL);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* SIGSEGV, or a sanitizer's report of it and a failing exit */
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(!WIFSIGNALED(status) || WTERMSIG(status) == SIGSEGV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shuffles_follow_cuda),
        cmocka_unit_test(test_shuffle_types_and_partial_masks),
        cmocka_unit_test(test_votes_and_activemask),
        cmocka_unit_test(test_atomics),
        cmocka_unit_test(test_block_reduction_through_shared_memory),
        cmocka_unit_test(test_misuse_is_an_error_naming_the_thread),
        cmocka_unit_test(test_warp_order_varies_per_block),
        cmocka_unit_test_setup_teardown(test_coalesced_and_strided_copies_count_sectors, dev_setup,
                                        dev_teardown),
        cmocka_unit_test(test_mapped_writes_count_pcie_transactions),
        cmocka_unit_test(test_shared_bank_conflicts),
        cmocka_unit_test_setup_teardown(test_a_raw_dereference_of_device_memory_faults, dev_setup,
                                        dev_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Memory accesses of kernels under the SIMT executor: translation and checks
 * (every access of gq_dev.h's primitives that the inline fast path of
 * gq_emu_access() does not serve), and the memory-transaction model.
 *
 * The model (profiled launches only): the k-th global-memory access of each
 * lane of a warp between two collective points (and, apart, the k-th
 * shared-memory access), of one space (device, mapped host, shared) and kind
 * (load, store, atomic), is one warp instruction. For global memory
 * it counts the distinct bytes requested, the distinct 32-byte sectors and
 * 128-byte lines touched; for mapped host memory each line is one PCIe
 * transaction. For shared memory it counts the passes through the 32 banks
 * of 4 bytes (accesses of 8 and 16 bytes are served in 2 and 4 phases of 16
 * and 8 lanes, as on sm_80/sm_90), distinct words of a bank costing a pass
 * each and the same word being a broadcast.
 */
#define _GNU_SOURCE
#include "simt_impl.h"

#include <stdlib.h>

void *gq_emu_access_slow(const void *p, unsigned bytes, unsigned kind)
{
    struct simt_exec *x = simt_current();
    uintptr_t a = (uintptr_t)p;
    unsigned space;
    void *cpu;
    if (!x)
        return (void *)p; /* a host call of a kernel helper: plain memory */
    if (a & (bytes - 1))
        simt_trap(GQ_EMU_EMISALIGNED, "misaligned %u-byte %s at 0x%lx", bytes,
                  kind == GQ_EMU_LD ? "load" : kind == GQ_EMU_ST ? "store" : "atomic",
                  (unsigned long)a);
    if (a - gq_emu_tls.sh_base < GQ_EMU_SHARED_WINDOW) {
        size_t off = a - gq_emu_tls.sh_base;
        if (off + bytes > x->sh_used)
            simt_trap(GQ_EMU_EADDRESS,
                      "%u-byte shared %s at offset %zu, past the %zu bytes the block declared", bytes,
                      kind == GQ_EMU_LD ? "load" : "store", off, x->sh_used);
        space = GQ_EMU_SHARED;
        cpu = gq_emu_tls.sh_alias + off;
    } else if (a - gq_emu_tls.dev_base < gq_emu_tls.dev_size) {
        space = GQ_EMU_DEVICE;
        cpu = gq_emu_tls.dev_alias + (a - gq_emu_tls.dev_base);
    } else {
        space = GQ_EMU_HOST;
        cpu = (void *)p;
    }
    if (x->stats) {
        struct simt_lane *l = x->cur;
        if (l->n_log == l->cap_log) {
            unsigned cap = l->cap_log ? 2 * l->cap_log : 64;
            struct simt_access *log = realloc(l->log, cap * sizeof *log);
            if (!log)
                simt_trap(GQ_EMU_ERESOURCES, "no memory for the access log");
            l->log = log;
            l->cap_log = cap;
        }
        l->log[l->n_log++] = (struct simt_access){a, (uint8_t)bytes, (uint8_t)kind, (uint8_t)space};
    }
    return cpu;
}

static void sort_by_addr(struct simt_access *e, unsigned n)
{
    for (unsigned i = 1; i < n; i++) {
        struct simt_access t = e[i];
        unsigned j = i;
        while (j > 0 && e[j - 1].addr > t.addr) {
            e[j] = e[j - 1];
            j--;
        }
        e[j] = t;
    }
}

/* One global-memory warp instruction. */
static void global_instr(struct gq_emu_stats *s, struct simt_access *e, unsigned n)
{
    struct gq_emu_mstat *m = &s->m[e[0].space][e[0].kind];
    uint64_t req = 0, sectors = 0, lines = 0;
    uintptr_t end = 0, last_sector = UINTPTR_MAX, last_line = UINTPTR_MAX;
    sort_by_addr(e, n);
    for (unsigned i = 0; i < n; i++) {
        uintptr_t a = e[i].addr, b = a + e[i].bytes;
        uintptr_t from = a > end ? a : end;
        if (b > from)
            req += b - from;
        if (b > end)
            end = b;
        for (uintptr_t sec = a >> 5; sec <= (b - 1) >> 5; sec++)
            if (sec != last_sector) {
                sectors++;
                last_sector = sec;
            }
        for (uintptr_t line = a >> 7; line <= (b - 1) >> 7; line++)
            if (line != last_line) {
                lines++;
                last_line = line;
            }
    }
    m->instrs++;
    m->requested += req;
    m->sectors += sectors;
    m->lines += lines;
    if (e[0].space == GQ_EMU_HOST)
        m->payload += e[0].kind == GQ_EMU_ST ? req : sectors * 32;
}

/* One shared-memory warp instruction; e in lane order, lane[] their lanes. */
static void shared_instr(struct gq_emu_stats *s, const struct simt_access *e, const unsigned *lane,
                         unsigned n)
{
    unsigned width = 1;
    for (unsigned i = 0; i < n; i++)
        if (e[i].bytes > width)
            width = e[i].bytes;
    unsigned words = width >= 4 ? width / 4 : 1, per_phase = 32 / words;
    for (unsigned ph = 0; ph < words; ph++) {
        uintptr_t w[32];
        unsigned nw = 0;
        for (unsigned i = 0; i < n; i++) {
            if (lane[i] / per_phase != ph)
                continue;
            unsigned k = e[i].bytes >= 4 ? e[i].bytes / 4 : 1;
            for (unsigned j = 0; j < k && nw < 32; j++)
                w[nw++] = (e[i].addr >> 2) + j;
        }
        if (!nw)
            continue;
        unsigned ways = 0;
        for (unsigned bank = 0; bank < 32; bank++) {
            unsigned distinct = 0;
            for (unsigned i = 0; i < nw; i++) {
                if ((w[i] & 31u) != bank)
                    continue;
                unsigned seen = 0;
                for (unsigned j = 0; j < i && !seen; j++)
                    seen = w[j] == w[i];
                distinct += !seen;
            }
            ways = distinct > ways ? distinct : ways;
        }
        s->shared_wavefronts += ways;
        s->shared_phases++;
    }
    s->shared_instrs++;
}

/* Global and shared accesses are different instructions: the k-th warp
 * instruction of each is the k-th access of that class of each lane. */
static int is_shared(const struct simt_access *a)
{
    return a->space == GQ_EMU_SHARED;
}

void simt_mem_flush_warp(struct simt_exec *x, unsigned w)
{
    struct simt_lane *base = x->lanes + 32 * w;
    unsigned count = x->n_lanes - 32 * w < 32 ? x->n_lanes - 32 * w : 32;
    for (int shared = 0; shared < 2; shared++) {
        unsigned cursor[32] = {0};
        for (;;) {
            /* each lane's next access of this class */
            struct simt_access *next[32];
            unsigned any = 0;
            for (unsigned i = 0; i < count; i++) {
                struct simt_lane *l = base + i;
                while (cursor[i] < l->n_log && is_shared(&l->log[cursor[i]]) != shared)
                    cursor[i]++;
                next[i] = cursor[i] < l->n_log ? &l->log[cursor[i]++] : NULL;
                any |= next[i] != NULL;
            }
            if (!any)
                break;
            /* one instruction per (space, kind) present */
            for (unsigned sp = 0; sp < 3; sp++)
                for (unsigned kind = 0; kind < 3; kind++) {
                    struct simt_access e[32];
                    unsigned lane[32], n = 0;
                    for (unsigned i = 0; i < count; i++)
                        if (next[i] && next[i]->space == sp && next[i]->kind == kind) {
                            e[n] = *next[i];
                            lane[n++] = i;
                        }
                    if (!n)
                        continue;
                    if (sp == GQ_EMU_SHARED)
                        shared_instr(x->stats, e, lane, n);
                    else
                        global_instr(x->stats, e, n);
                }
        }
    }
    for (unsigned i = 0; i < count; i++)
        base[i].n_log = 0;
}

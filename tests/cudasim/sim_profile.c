/*
 * CUDASIM_PROFILE: the memory-transaction model's counts (simt_mem.c) per
 * kernel launch and per kernel name, copy-engine bytes, and a MODELLED GPU
 * time — an estimate of what the work would take on the GPU below, not a
 * measurement. Reported at exit: CUDASIM_PROFILE=1 (text on stderr) or
 * CUDASIM_PROFILE=json:PATH.
 *
 * The model (constants below; CUDASIM_MODEL="key=value,..." overrides them):
 *   kernel  max(DRAM sectors x 32 / hbm, (PCIe payload + overhead x
 *           transactions) / pcie per direction, kernel_min)
 *   copy    host<->device: bytes / pcie + dma_latency; device to device:
 *           2 x bytes / hbm + dma_latency; memset of device memory: bytes / hbm
 *           + dma_latency (of mapped host memory: as a device-to-host copy)
 * Each op starts when its stream's previous op has ended, its fences (events,
 * the legacy stream's implicit ordering) are met, the host had enqueued it
 * (the host clock advances only when the host waits for modelled work), and
 * its engine is free: per device one compute engine (kernels in turn), one
 * copy engine per direction and one for device-to-device, so a copy on one
 * stream overlaps a kernel on another. Events record modelled time, so
 * cudaEventElapsedTime answers the model while profiling.
 *
 * Ignored: instruction throughput and latency, caches (every sector is a DRAM
 * sector), occupancy and the number of SMs, kernels running concurrently,
 * PCIe traffic of a kernel competing with a copy in the same direction, host
 * work (callbacks, pageable staging), launch and API overheads beyond
 * kernel_min.
 *
 * cudaProfilerStart/Stop (cuProfilerStart/Stop) delimit ranges: work
 * enqueued between them is also summed per range; range 0 is the whole run.
 */
#define _GNU_SOURCE
#include "sim_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* H200 SXM over PCIe Gen5 x16. */
static struct {
    double hbm;          /* bytes/s: 4.8 TB/s at ~90% achievable */
    double pcie;         /* bytes/s per direction */
    double pcie_overhead;/* bytes per PCIe transaction (TLP header, framing) */
    double dma_latency;  /* ns per copy */
    double kernel_min;   /* ns: the shortest kernel (launch, ramp-up) */
} model = {4.32e12, 50e9, 24, 2000, 2000};

enum { ENG_COMPUTE, ENG_H2D, ENG_D2H, ENG_D2D, ENG_N };
#define HIST 256
#define MAX_LAUNCH_LOG 1000
#define MAX_NAMES 64

struct sim_model_hist {
    uint64_t seq[HIST];
    double end[HIST];
    double last_end;
};

struct ksum {
    unsigned range;
    const char *name;
    uint64_t launches;
    struct gq_emu_stats st;
    double ns;
};

struct rsum {
    double first, last; /* modelled span of the range's ops */
    int any;
    uint64_t dma_bytes[3]; /* H2D, D2H, D2D */
    uint64_t dma_ops;
    double dma_ns;
};

static pthread_mutex_t prof_lock = PTHREAD_MUTEX_INITIALIZER;
static int mode; /* 0 off, 1 text, 2 json */
static char json_path[4096];
static double host_ns;
static double engine_free[SIM_MAX_DEVICES][ENG_N];
static unsigned cur_range, n_ranges;
static struct ksum sums[MAX_NAMES];
static unsigned n_sums;
static struct ksum launch_log[MAX_LAUNCH_LOG];
static unsigned n_launch_log;
static uint64_t n_launches;
static struct rsum *ranges; /* n_ranges + 1 */

/* The op running on this worker: when it could start, what it costs. */
static __thread struct {
    double ready, dur;
    int engine;
} cur;

int sim_profile_on(void)
{
    return mode != 0;
}

static void report(void);

static void parse_model(const char *s)
{
    while (s && *s) {
        char key[32];
        double v;
        int n = 0;
        if (sscanf(s, "%31[a-z_]=%lf%n", key, &v, &n) != 2 || v <= 0)
            sim_fatal("CUDASIM_MODEL=%s: expected key=value{,key=value}", s);
        if (!strcmp(key, "hbm"))
            model.hbm = v;
        else if (!strcmp(key, "pcie"))
            model.pcie = v;
        else if (!strcmp(key, "pcie_overhead"))
            model.pcie_overhead = v;
        else if (!strcmp(key, "dma_latency_ns"))
            model.dma_latency = v;
        else if (!strcmp(key, "kernel_min_ns"))
            model.kernel_min = v;
        else
            sim_fatal("CUDASIM_MODEL: unknown key %s (hbm, pcie, pcie_overhead, dma_latency_ns, "
                      "kernel_min_ns)", key);
        s += n;
        if (*s == ',')
            s++;
        else if (*s)
            sim_fatal("CUDASIM_MODEL=%s: expected key=value{,key=value}", s);
    }
}

void sim_profile_init(void)
{
    const char *p = getenv("CUDASIM_PROFILE");
    if (!p || !*p || !strcmp(p, "0"))
        return;
    if (!strcmp(p, "1")) {
        mode = 1;
    } else if (!strncmp(p, "json:", 5) && p[5] && strlen(p + 5) < sizeof json_path) {
        mode = 2;
        strcpy(json_path, p + 5);
    } else {
        sim_fatal("CUDASIM_PROFILE=%s: expected 0, 1 or json:PATH", p);
    }
    parse_model(getenv("CUDASIM_MODEL"));
    ranges = calloc(1, sizeof *ranges);
    if (!ranges)
        sim_fatal("out of host memory");
    atexit(report);
}

CUresult cudasim_profiler_range(int start)
{
    if (!cudasim_is_initialized() && cudasim_init())
        return CUDA_ERROR_NOT_INITIALIZED;
    sim_profile_range(start);
    return CUDA_SUCCESS;
}

void sim_profile_range(int start)
{
    if (!mode)
        return;
    pthread_mutex_lock(&prof_lock);
    if (start && !cur_range) {
        struct rsum *r = realloc(ranges, (n_ranges + 2) * sizeof *r);
        if (r) {
            ranges = r;
            memset(&ranges[n_ranges + 1], 0, sizeof *ranges);
            cur_range = ++n_ranges;
        }
    } else if (!start) {
        cur_range = 0;
    }
    pthread_mutex_unlock(&prof_lock);
}

void sim_profile_enqueue(struct sim_op *op)
{
    if (!mode)
        return;
    pthread_mutex_lock(&prof_lock);
    op->model_host_ns = host_ns;
    op->model_range = cur_range;
    pthread_mutex_unlock(&prof_lock);
}

/* The modelled end of op `seq` of stream s (under prof_lock). */
static double end_of(const struct sim_stream *s, uint64_t seq)
{
    const struct sim_model_hist *h = s->model;
    double best = 0;
    uint64_t best_seq = 0;
    if (!h)
        return 0;
    for (unsigned i = 0; i < HIST; i++)
        if (h->seq[i] && h->seq[i] <= seq && h->seq[i] >= best_seq) {
            best_seq = h->seq[i];
            best = h->end[i];
        }
    return best;
}

void sim_profile_host_waited(const struct sim_stream *s, uint64_t seq)
{
    if (!mode)
        return;
    pthread_mutex_lock(&prof_lock);
    double e = end_of(s, seq);
    if (e > host_ns)
        host_ns = e;
    pthread_mutex_unlock(&prof_lock);
}

void sim_profile_op_start(struct sim_op *op, struct sim_stream *s)
{
    if (!mode)
        return;
    pthread_mutex_lock(&prof_lock);
    if (!s->model)
        s->model = calloc(1, sizeof *s->model);
    double t = op->model_host_ns;
    if (s->model && s->model->last_end > t)
        t = s->model->last_end;
    for (size_t i = 0; i < op->n_fences; i++) {
        double e = end_of(op->fences[i].s, op->fences[i].seq);
        t = e > t ? e : t;
    }
    pthread_mutex_unlock(&prof_lock);
    cur.ready = t;
    cur.dur = 0;
    cur.engine = -1;
}

double sim_profile_now_ns(void)
{
    return cur.ready;
}

void sim_profile_op_end(struct sim_op *op, struct sim_stream *s)
{
    if (!mode)
        return;
    pthread_mutex_lock(&prof_lock);
    double start = cur.ready;
    if (cur.engine >= 0 && engine_free[s->dev][cur.engine] > start)
        start = engine_free[s->dev][cur.engine];
    double end = start + cur.dur;
    if (cur.engine >= 0)
        engine_free[s->dev][cur.engine] = end;
    if (s->model) {
        unsigned i = (unsigned)(op->seq % HIST);
        s->model->seq[i] = op->seq;
        s->model->end[i] = end;
        s->model->last_end = end;
    }
    for (int w = 0; cur.engine >= 0 && w < (op->model_range ? 2 : 1); w++) {
        struct rsum *r = &ranges[w ? op->model_range : 0];
        if (!r->any || start < r->first)
            r->first = start;
        if (!r->any || end > r->last)
            r->last = end;
        r->any = 1;
    }
    pthread_mutex_unlock(&prof_lock);
}

static void add_stats(struct gq_emu_stats *a, const struct gq_emu_stats *b)
{
    for (int sp = 0; sp < 2; sp++)
        for (int k = 0; k < 3; k++) {
            a->m[sp][k].instrs += b->m[sp][k].instrs;
            a->m[sp][k].requested += b->m[sp][k].requested;
            a->m[sp][k].sectors += b->m[sp][k].sectors;
            a->m[sp][k].lines += b->m[sp][k].lines;
            a->m[sp][k].payload += b->m[sp][k].payload;
        }
    a->shared_instrs += b->shared_instrs;
    a->shared_wavefronts += b->shared_wavefronts;
    a->shared_phases += b->shared_phases;
    a->threads += b->threads;
    a->blocks += b->blocks;
}

/* PCIe bytes of a kernel's mapped accesses in one direction, with overhead. */
static double pcie_wire(const struct gq_emu_stats *st, int to_device)
{
    const struct gq_emu_mstat *h = st->m[GQ_EMU_HOST];
    const struct gq_emu_mstat *a = &h[to_device ? GQ_EMU_LD : GQ_EMU_ST];
    const struct gq_emu_mstat *at = &h[GQ_EMU_ATOM];
    return (double)(a->payload + at->payload) + model.pcie_overhead * (double)(a->lines + at->lines);
}

static double kernel_ns(const struct gq_emu_stats *st)
{
    uint64_t sectors = 0;
    for (int k = 0; k < 3; k++)
        sectors += st->m[GQ_EMU_DEVICE][k].sectors;
    double t = (double)sectors * 32 / model.hbm * 1e9;
    double up = pcie_wire(st, 1) / model.pcie * 1e9, down = pcie_wire(st, 0) / model.pcie * 1e9;
    t = up > t ? up : t;
    t = down > t ? down : t;
    return t > model.kernel_min ? t : model.kernel_min;
}

void sim_profile_kernel(const struct sim_op *op, const char *name, const struct gq_emu_stats *st)
{
    double ns = kernel_ns(st);
    cur.dur = ns;
    cur.engine = ENG_COMPUTE;
    pthread_mutex_lock(&prof_lock);
    n_launches++;
    if (n_launch_log < MAX_LAUNCH_LOG)
        launch_log[n_launch_log++] = (struct ksum){op->model_range, name, 1, *st, ns};
    unsigned want[2] = {0, op->model_range}; /* the total (range 0 holds all) and the range */
    for (int w = 0; w < (op->model_range ? 2 : 1); w++) {
        unsigned i = 0;
        while (i < n_sums && (sums[i].range != want[w] || strcmp(sums[i].name, name)))
            i++;
        if (i == n_sums) {
            if (n_sums == MAX_NAMES)
                continue;
            memset(&sums[n_sums], 0, sizeof sums[n_sums]);
            sums[n_sums].range = want[w];
            sums[n_sums++].name = name;
        }
        sums[i].launches++;
        add_stats(&sums[i].st, st);
        sums[i].ns += ns;
    }
    pthread_mutex_unlock(&prof_lock);
}

void sim_profile_copy(const struct sim_op *op, int dir, int fill, size_t bytes)
{
    double ns;
    int eng;
    if (dir == SIM_D2D) {
        ns = (fill ? 1.0 : 2.0) * (double)bytes / model.hbm * 1e9 + model.dma_latency;
        eng = ENG_D2D;
    } else if (dir == SIM_H2D || dir == SIM_D2H) {
        ns = (double)bytes / model.pcie * 1e9 + model.dma_latency;
        eng = dir == SIM_H2D ? ENG_H2D : ENG_D2H;
    } else {
        return; /* host to host: no GPU work */
    }
    cur.dur = ns;
    cur.engine = eng;
    pthread_mutex_lock(&prof_lock);
    for (int w = 0; w < (op->model_range ? 2 : 1); w++) {
        struct rsum *r = &ranges[w ? op->model_range : 0];
        r->dma_bytes[dir == SIM_H2D ? 0 : dir == SIM_D2H ? 1 : 2] += bytes;
        r->dma_ops++;
        r->dma_ns += ns;
    }
    pthread_mutex_unlock(&prof_lock);
}

/* ---- the report ---- */

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

struct derived {
    double load_eff, store_eff, atomic_eff, bank_ways;
    uint64_t pcie_bytes, pcie_tx, dram_bytes;
};

static struct derived derive(const struct gq_emu_stats *st)
{
    struct derived d = {0};
    uint64_t req[3] = {0}, sec[3] = {0};
    for (int sp = 0; sp < 2; sp++)
        for (int k = 0; k < 3; k++) {
            req[k] += st->m[sp][k].requested;
            sec[k] += st->m[sp][k].sectors;
        }
    for (int k = 0; k < 3; k++) {
        d.pcie_bytes += st->m[GQ_EMU_HOST][k].payload;
        d.pcie_tx += st->m[GQ_EMU_HOST][k].lines;
        d.dram_bytes += st->m[GQ_EMU_DEVICE][k].sectors * 32;
    }
    d.load_eff = ratio(req[GQ_EMU_LD], sec[GQ_EMU_LD] * 32);
    d.store_eff = ratio(req[GQ_EMU_ST], sec[GQ_EMU_ST] * 32);
    d.atomic_eff = ratio(req[GQ_EMU_ATOM], sec[GQ_EMU_ATOM] * 32);
    d.bank_ways = ratio(st->shared_wavefronts, st->shared_phases);
    return d;
}

static void json_kernel(FILE *f, const struct ksum *k, int last)
{
    static const char *const sp_name[2] = {"device", "host"}, *const k_name[3] = {"load", "store", "atomic"};
    struct derived d = derive(&k->st);
    fprintf(f,
            "      {\"name\": \"%s\", \"launches\": %llu, \"threads\": %llu, \"modelled_ns\": %.1f,\n"
            "       \"load_sector_efficiency\": %.6f, \"store_sector_efficiency\": %.6f, "
            "\"atomic_sector_efficiency\": %.6f,\n"
            "       \"pcie_bytes\": %llu, \"pcie_transactions\": %llu, \"dram_bytes\": %llu, "
            "\"shared_instructions\": %llu, \"shared_bank_ways\": %.4f",
            k->name, (unsigned long long)k->launches, (unsigned long long)k->st.threads, k->ns,
            d.load_eff, d.store_eff, d.atomic_eff, (unsigned long long)d.pcie_bytes,
            (unsigned long long)d.pcie_tx, (unsigned long long)d.dram_bytes,
            (unsigned long long)k->st.shared_instrs, d.bank_ways);
    for (int sp = 0; sp < 2; sp++)
        for (int kk = 0; kk < 3; kk++) {
            const struct gq_emu_mstat *m = &k->st.m[sp][kk];
            fprintf(f,
                    ",\n       \"%s_%s\": {\"instructions\": %llu, \"requested\": %llu, "
                    "\"sectors\": %llu, \"lines\": %llu, \"payload\": %llu}",
                    sp_name[sp], k_name[kk], (unsigned long long)m->instrs,
                    (unsigned long long)m->requested, (unsigned long long)m->sectors,
                    (unsigned long long)m->lines, (unsigned long long)m->payload);
        }
    fprintf(f, "}%s\n", last ? "" : ",");
}

static void write_json(FILE *f)
{
    fprintf(f, "{\n  \"model\": {\"note\": \"modelled GPU time, not measured\", \"hbm_bytes_per_s\": %g, "
               "\"pcie_bytes_per_s\": %g, \"pcie_overhead_bytes\": %g, \"dma_latency_ns\": %g, "
               "\"kernel_min_ns\": %g},\n",
            model.hbm, model.pcie, model.pcie_overhead, model.dma_latency, model.kernel_min);
    fprintf(f, "  \"launches\": %llu,\n  \"ranges\": [\n", (unsigned long long)n_launches);
    for (unsigned r = 0; r <= n_ranges; r++) {
        const struct rsum *rs = &ranges[r];
        fprintf(f,
                "    {\"range\": %u, \"modelled_ns\": %.1f, \"dma_h2d_bytes\": %llu, "
                "\"dma_d2h_bytes\": %llu, \"dma_d2d_bytes\": %llu, \"dma_ops\": %llu, "
                "\"dma_ns\": %.1f,\n     \"kernels\": [\n",
                r, rs->any ? rs->last - rs->first : 0.0, (unsigned long long)rs->dma_bytes[0],
                (unsigned long long)rs->dma_bytes[1], (unsigned long long)rs->dma_bytes[2],
                (unsigned long long)rs->dma_ops, rs->dma_ns);
        unsigned n = 0, seen = 0;
        for (unsigned i = 0; i < n_sums; i++)
            n += sums[i].range == r;
        for (unsigned i = 0; i < n_sums; i++)
            if (sums[i].range == r)
                json_kernel(f, &sums[i], ++seen == n);
        fprintf(f, "     ]}%s\n", r == n_ranges ? "" : ",");
    }
    fprintf(f, "  ],\n  \"launch_log\": [\n");
    for (unsigned i = 0; i < n_launch_log; i++) {
        struct derived d = derive(&launch_log[i].st);
        fprintf(f,
                "    {\"name\": \"%s\", \"range\": %u, \"modelled_ns\": %.1f, "
                "\"load_sector_efficiency\": %.6f, \"store_sector_efficiency\": %.6f, "
                "\"pcie_bytes\": %llu, \"pcie_transactions\": %llu, \"dram_bytes\": %llu}%s\n",
                launch_log[i].name, launch_log[i].range, launch_log[i].ns, d.load_eff, d.store_eff,
                (unsigned long long)d.pcie_bytes, (unsigned long long)d.pcie_tx,
                (unsigned long long)d.dram_bytes, i + 1 == n_launch_log ? "" : ",");
    }
    fprintf(f, "  ]\n}\n");
}

static void write_text(FILE *f)
{
    fprintf(f, "cudasim profile (modelled GPU time, not measured: hbm=%g B/s pcie=%g B/s)\n",
            model.hbm, model.pcie);
    for (unsigned r = 0; r <= n_ranges; r++) {
        const struct rsum *rs = &ranges[r];
        fprintf(f, "range=%u modelled_ns=%.0f dma_h2d_bytes=%llu dma_d2h_bytes=%llu dma_d2d_bytes=%llu\n",
                r, rs->any ? rs->last - rs->first : 0.0, (unsigned long long)rs->dma_bytes[0],
                (unsigned long long)rs->dma_bytes[1], (unsigned long long)rs->dma_bytes[2]);
        for (unsigned i = 0; i < n_sums; i++) {
            if (sums[i].range != r)
                continue;
            struct derived d = derive(&sums[i].st);
            fprintf(f,
                    "range=%u kernel=%s launches=%llu modelled_ns=%.0f load_sector_efficiency=%.4f "
                    "store_sector_efficiency=%.4f pcie_bytes=%llu pcie_transactions=%llu "
                    "dram_bytes=%llu shared_bank_ways=%.3f\n",
                    r, sums[i].name, (unsigned long long)sums[i].launches, sums[i].ns, d.load_eff,
                    d.store_eff, (unsigned long long)d.pcie_bytes, (unsigned long long)d.pcie_tx,
                    (unsigned long long)d.dram_bytes, d.bank_ways);
        }
    }
}

static void report(void)
{
    pthread_mutex_lock(&prof_lock);
    if (mode == 1) {
        write_text(stderr);
    } else if (mode == 2) {
        FILE *f = fopen(json_path, "w");
        if (!f) {
            fprintf(stderr, "cudasim: cannot write the profile to %s\n", json_path);
        } else {
            write_json(f);
            fclose(f);
        }
    }
    pthread_mutex_unlock(&prof_lock);
}

/* The exit report (see gq_report.h). */
#define _GNU_SOURCE
#include "core/gq_report.h"

#include "base/gq_config.h"
#include "base/gq_counters.h"
#include "base/gq_fork.h"
#include "base/gq_log.h"
#include "base/gq_trace.h"
#include "gpu/gq_ktime.h"
#include "gpu/gq_modules.h"
#include "store/gq_store.h"
#include "xfer/gq_verify.h"

#include "gq_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kernel_name[GQ_STATS_KERNELS] = {
    [GQ_KFN_QUANTIZE] = "quantize",
    [GQ_KFN_DEQUANTIZE] = "dequantize",
    [GQ_KFN_SPILL] = "spill",
    [GQ_KFN_VERIFY] = "verify",
};

struct snapshot {
    struct gq_stats s;
    struct gq_store_usage store;
    uint64_t passed_total;
    double ratio; /* logical / moved for compressed copies */
};

static void take(struct snapshot *snap)
{
    memset(snap, 0, sizeof *snap);
    const uint64_t *src = (const uint64_t *)&gq_stats_g;
    uint64_t *dst = (uint64_t *)&snap->s;
    for (size_t i = 0; i < sizeof gq_stats_g / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
    for (int i = 0; i < GQ_PASS_COUNT; i++)
        snap->passed_total += snap->s.passed[i];
    gq_store_usage(&snap->store);
    snap->ratio = snap->s.moved_bytes ? (double)snap->s.logical_bytes / (double)snap->s.moved_bytes
                                      : 0.0;
}

static void emit(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
}

static uint64_t saved(uint64_t logical, uint64_t moved) { return logical > moved ? logical - moved : 0; }

static double ratio(uint64_t logical, uint64_t moved)
{
    return moved ? (double)logical / (double)moved : 0.0;
}

/* The rules a report lists: every GQSHIM_RULES rule, and every other rule
 * (gq_register) that compressed something. */
static const struct gq_rule *listed_rule(unsigned i)
{
    const struct gq_rule *r = gq_stats_rule_of(i);
    const struct gq_rules *cfg = &gq_cfg()->rules;
    if (!r && i < cfg->count)
        r = &cfg->rule[i];
    return r;
}

static void text_extra(FILE *f, const struct snapshot *n)
{
    const struct gq_stats *s = &n->s;
    emit(f, "  %-44s %14llu\n", "regions registered (device)", (unsigned long long)s->regions_dev);
    emit(f, "  %-44s %14llu\n", "regions registered (host)", (unsigned long long)s->regions_host);
    emit(f, "  %-44s %14llu\n", "PCIe bytes saved",
         (unsigned long long)saved(s->logical_bytes, s->moved_bytes));
    emit(f, "  %-28s %10s %10s %14s\n", "kernels (CUDA event time)", "launches", "timed", "ms");
    for (int k = 0; k < GQ_STATS_KERNELS; k++)
        emit(f, "    %-26s %10llu %10llu %14.3f\n", kernel_name[k],
             (unsigned long long)s->kernel_launches[k], (unsigned long long)s->kernel_timed[k],
             (double)s->kernel_ns[k] / 1e6);
    emit(f, "  %-20s %9s %9s %15s %15s %8s %15s\n", "per rule", "offloads", "restores",
         "logical bytes", "bytes moved", "ratio", "PCIe saved");
    for (unsigned i = 0; i < GQ_STATS_RULES; i++) {
        const struct gq_rule *r = listed_rule(i);
        const struct gq_rule_stats *rs = &s->rule[i];
        if (r)
            emit(f, "    %-18s %9llu %9llu %15llu %15llu %7.2fx %15llu\n", r->name,
                 (unsigned long long)rs->offloads, (unsigned long long)rs->restores,
                 (unsigned long long)rs->logical_bytes, (unsigned long long)rs->moved_bytes,
                 ratio(rs->logical_bytes, rs->moved_bytes),
                 (unsigned long long)saved(rs->logical_bytes, rs->moved_bytes));
    }
}

/* GQSHIM_VERIFY: the quantization error per rule. */
static void text_verify(FILE *f)
{
    emit(f, "  %-20s %9s %15s %15s %15s\n", "quantization error", "offloads", "elements",
         "max abs error", "NMSE");
    for (unsigned i = 0; i < GQ_STATS_RULES; i++) {
        const struct gq_rule *r = listed_rule(i);
        struct gq_verify_totals v;
        if (r && gq_verify_rule(i, &v))
            emit(f, "    %-18s %9llu %15llu %15.6g %15.6g\n", r->name,
                 (unsigned long long)v.offloads, (unsigned long long)v.elements, v.max_abs, v.nmse);
    }
    emit(f, "  %-44s %14llu\n", "offloads not measured", (unsigned long long)gq_verify_unmeasured());
}

static void write_text(const struct snapshot *n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    const struct gq_stats *s = &n->s;
    emit(f, "gqshim: stats\n");
    emit(f, "  %-44s %14llu\n", "copies intercepted", (unsigned long long)s->copies);
    emit(f, "  %-44s %14llu\n", "offloads compressed (D2H)", (unsigned long long)s->offloads);
    emit(f, "  %-44s %14llu\n", "restores from compressed (H2D)", (unsigned long long)s->restores);
    emit(f, "  %-44s %14llu\n", "passed through", (unsigned long long)n->passed_total);
    for (int i = 0; i < GQ_PASS_COUNT; i++)
        if (s->passed[i])
            emit(f, "    %-42s %14llu\n", gq_stats_pass_text(i), (unsigned long long)s->passed[i]);
    emit(f, "  %-44s %14llu\n", "logical bytes (compressed copies)",
         (unsigned long long)s->logical_bytes);
    emit(f, "  %-44s %14llu\n", "bytes moved (compressed copies)",
         (unsigned long long)s->moved_bytes);
    emit(f, "  %-44s %14llu\n", "bytes moved (pass-through copies)",
         (unsigned long long)s->passthrough_bytes);
    emit(f, "  %-44s %14llu\n", "host bytes held compressed",
         (unsigned long long)n->store.in_blocks);
    emit(f, "  %-44s %14llu\n", "pinned store bytes (peak)",
         (unsigned long long)n->store.peak_pinned);
    emit(f, "  %-44s %14llu\n", "groups kept raw (NaN/Inf)", (unsigned long long)s->escaped_groups);
    emit(f, "  %-44s %14llu\n", "copies staged in device memory", (unsigned long long)s->staged);
    emit(f, "  %-44s %14llu\n", "copies zero-copy (no staging)", (unsigned long long)s->unstaged);
    emit(f, "  %-44s %14.2fx\n", "compression ratio", n->ratio);
    text_extra(f, n);
    if (gq_cfg()->verify)
        text_verify(f);
    fclose(f);
    gq_log_raw(buf, len);
    free(buf);
}

/* A rule name in JSON: the grammar allows [A-Za-z0-9_.-] only, nothing to escape. */
static void json_extra(FILE *f, const struct snapshot *n)
{
    const struct gq_stats *s = &n->s;
    emit(f, "  \"regions_dev\": %llu,\n  \"regions_host\": %llu,\n  \"pcie_bytes_saved\": %llu,\n",
         (unsigned long long)s->regions_dev, (unsigned long long)s->regions_host,
         (unsigned long long)saved(s->logical_bytes, s->moved_bytes));
    emit(f, "  \"kernels\": {");
    for (int k = 0; k < GQ_STATS_KERNELS; k++)
        emit(f, "%s\n    \"%s\": {\"launches\": %llu, \"timed\": %llu, \"ms\": %.6f}", k ? "," : "",
             kernel_name[k], (unsigned long long)s->kernel_launches[k],
             (unsigned long long)s->kernel_timed[k], (double)s->kernel_ns[k] / 1e6);
    emit(f, "\n  },\n  \"rules\": [");
    int first = 1, verify = gq_cfg()->verify;
    for (unsigned i = 0; i < GQ_STATS_RULES; i++) {
        const struct gq_rule *r = listed_rule(i);
        const struct gq_rule_stats *rs = &s->rule[i];
        if (!r)
            continue;
        emit(f, "%s\n    {\"name\": \"%s\", \"on\": \"%s\", \"offloads\": %llu, \"restores\": %llu, "
                "\"logical_bytes\": %llu, \"moved_bytes\": %llu, \"compression_ratio\": %.4f, "
                "\"pcie_bytes_saved\": %llu",
             first ? "" : ",", r->name, gq_on_name(r->on), (unsigned long long)rs->offloads,
             (unsigned long long)rs->restores, (unsigned long long)rs->logical_bytes,
             (unsigned long long)rs->moved_bytes, ratio(rs->logical_bytes, rs->moved_bytes),
             (unsigned long long)saved(rs->logical_bytes, rs->moved_bytes));
        struct gq_verify_totals v;
        if (verify && gq_verify_rule(i, &v))
            emit(f, ", \"verify\": {\"offloads\": %llu, \"elements\": %llu, "
                    "\"max_abs_error\": %.9g, \"nmse\": %.9g}",
                 (unsigned long long)v.offloads, (unsigned long long)v.elements, v.max_abs, v.nmse);
        emit(f, "}");
        first = 0;
    }
    emit(f, "\n  ]");
    if (verify)
        emit(f, ",\n  \"verify_unmeasured\": %llu", (unsigned long long)gq_verify_unmeasured());
    emit(f, "\n");
}

static void write_json(const struct snapshot *n, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        gq_warn("GQSHIM_STATS=json:%s: cannot write the file", path);
        return;
    }
    const struct gq_stats *s = &n->s;
    emit(f, "{\n  \"copies\": %llu,\n  \"offloads\": %llu,\n  \"restores\": %llu,\n",
         (unsigned long long)s->copies, (unsigned long long)s->offloads,
         (unsigned long long)s->restores);
    emit(f, "  \"passed_through\": %llu,\n  \"passed_by_reason\": {", (unsigned long long)n->passed_total);
    for (int i = 0; i < GQ_PASS_COUNT; i++)
        emit(f, "%s\n    \"%s\": %llu", i ? "," : "", gq_stats_pass_key(i),
             (unsigned long long)s->passed[i]);
    emit(f, "\n  },\n  \"logical_bytes\": %llu,\n  \"moved_bytes\": %llu,\n",
         (unsigned long long)s->logical_bytes, (unsigned long long)s->moved_bytes);
    emit(f, "  \"passthrough_bytes\": %llu,\n  \"host_bytes_held\": %llu,\n",
         (unsigned long long)s->passthrough_bytes, (unsigned long long)n->store.in_blocks);
    emit(f, "  \"pinned_peak_bytes\": %llu,\n  \"escaped_groups\": %llu,\n",
         (unsigned long long)n->store.peak_pinned, (unsigned long long)s->escaped_groups);
    emit(f, "  \"staged_copies\": %llu,\n  \"zero_copy_copies\": %llu,\n",
         (unsigned long long)s->staged, (unsigned long long)s->unstaged);
    emit(f, "  \"compression_ratio\": %.4f,\n", n->ratio);
    json_extra(f, n);
    emit(f, "}\n");
    fclose(f);
}

/* GQSHIM_VERIFY=1 without GQSHIM_STATS: the error table alone. */
static void write_verify_only(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    emit(f, "gqshim: verify\n");
    text_verify(f);
    fclose(f);
    gq_log_raw(buf, len);
    free(buf);
}

static void stats_report(void)
{
    const struct gq_config *cfg = gq_cfg();
    struct snapshot snap;
    gq_ktime_flush(); /* kernels still in flight at exit */
    take(&snap);
    if (cfg->stats == GQ_STATS_TEXT)
        write_text(&snap);
    else if (cfg->stats == GQ_STATS_JSON)
        write_json(&snap, cfg->stats_path);
    else if (cfg->verify)
        write_verify_only();
}

void gq_report_exit(void)
{
    if (gq_forked())
        return; /* the counters are the parent's, and so is the stats file */
    gq_trace_report();
    stats_report();
}

/* The exit report (see gq_report.h). */
#define _GNU_SOURCE
#include "core/gq_report.h"

#include "base/gq_config.h"
#include "base/gq_counters.h"
#include "base/gq_fork.h"
#include "base/gq_log.h"
#include "base/gq_trace.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_ktime.h"
#include "gpu/gq_modules.h"
#include "store/gq_store.h"
#include "xfer/gq_verify.h"

#include "gq_rules.h"
#include "gqshim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The JSON's "schema_version": raised when a field changes meaning or goes
 * away; new fields alone keep it. */
#define SCHEMA_VERSION 2
/* The PCIe bandwidth behind the "time saved" estimate: PCIe 4.0 x16 as
 * transfers reach it in practice. Printed beside the figure. */
#define PCIE_GBPS 25.0
#define TOP_TENSORS 8
#define MIB (1024.0 * 1024.0)

static const char *const kernel_name[GQ_STATS_KERNELS] = {
    [GQ_KFN_QUANTIZE] = "quantize",
    [GQ_KFN_DEQUANTIZE] = "dequantize",
    [GQ_KFN_SPILL] = "spill",
    [GQ_KFN_VERIFY] = "verify",
};

/* How the report is being written: at exit (or before an exec), or from a
 * signal handler, where no lock may be taken and nothing allocated. */
enum when { AT_EXIT, AT_EXEC, AT_SIGNAL };

struct snapshot {
    struct gq_stats s;
    struct gq_held held;
    struct gq_store_usage store;
    int have_store;          /* store usage read (not from a signal handler) */
    uint64_t passed_total;
    uint64_t kernel_ns;      /* all kernels */
    double ratio;            /* logical / moved for compressed copies */
    double wall_s;
    time_t started, ended;
    enum when when;
    int sig;
    unsigned top[TOP_TENSORS], ntop, ntensors;
};

/* Order of the tensor rows: more data first; among equals, the one seen
 * first (the same rows from run to run, whatever the addresses). */
static int before(const struct gq_tensor_stats *a, const struct gq_tensor_stats *b)
{
    uint64_t la = __atomic_load_n(&a->logical_bytes, __ATOMIC_RELAXED);
    uint64_t lb = __atomic_load_n(&b->logical_bytes, __ATOMIC_RELAXED);
    return la != lb ? la > lb : a->seq < b->seq;
}

static void take(struct snapshot *n, enum when when, int sig)
{
    memset(n, 0, sizeof *n);
    n->when = when;
    n->sig = sig;
    const uint64_t *src = (const uint64_t *)&gq_stats_g;
    uint64_t *dst = (uint64_t *)&n->s;
    for (size_t i = 0; i < sizeof gq_stats_g / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
    const uint64_t *hs = (const uint64_t *)&gq_held_g;
    uint64_t *hd = (uint64_t *)&n->held;
    for (size_t i = 0; i < sizeof gq_held_g / sizeof(uint64_t); i++)
        hd[i] = __atomic_load_n(&hs[i], __ATOMIC_RELAXED);
    for (int i = 0; i < GQ_PASS_COUNT; i++)
        n->passed_total += n->s.passed[i];
    for (int k = 0; k < GQ_STATS_KERNELS; k++)
        n->kernel_ns += n->s.kernel_ns[k];
    if (when != AT_SIGNAL) {
        gq_store_usage(&n->store); /* takes the store's lock */
        n->have_store = 1;
    }
    n->ratio = n->s.moved_bytes ? (double)n->s.logical_bytes / (double)n->s.moved_bytes : 0.0;
    struct timespec r0, m0, m1, r1;
    gq_stats_start(&r0, &m0);
    clock_gettime(CLOCK_MONOTONIC, &m1);
    clock_gettime(CLOCK_REALTIME, &r1);
    n->wall_s = (double)(m1.tv_sec - m0.tv_sec) + (double)(m1.tv_nsec - m0.tv_nsec) / 1e9;
    n->started = r0.tv_sec;
    n->ended = r1.tv_sec;
    /* The top tensors by data carried: a selection, no allocation. */
    for (unsigned i = 0; i < GQ_STATS_TENSORS; i++) {
        const struct gq_tensor_stats *t = &gq_tensors_g[i];
        if (!__atomic_load_n(&t->host, __ATOMIC_RELAXED))
            continue;
        n->ntensors++;
        unsigned at = n->ntop < TOP_TENSORS ? n->ntop++ : TOP_TENSORS;
        while (at > 0 && before(t, &gq_tensors_g[n->top[at - 1]])) {
            if (at < TOP_TENSORS)
                n->top[at] = n->top[at - 1];
            at--;
        }
        if (at < TOP_TENSORS)
            n->top[at] = i;
    }
}

/* ---- output into a static buffer: no allocation, usable in a handler ---- */

static char out_buf[128 * 1024];
static size_t out_len;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
    if (out_len >= sizeof out_buf - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out_buf + out_len, sizeof out_buf - out_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        out_len += (size_t)n < sizeof out_buf - out_len ? (size_t)n : sizeof out_buf - 1 - out_len;
}

/* A JSON string, escaped. */
static void emit_json_str(const char *s, size_t n)
{
    emit("\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            emit("\\%c", c);
        else if (c < 0x20)
            emit("\\u%04x", c);
        else
            emit("%c", c);
    }
    emit("\"");
}

static uint64_t saved(uint64_t logical, uint64_t moved) { return logical > moved ? logical - moved : 0; }

static double ratio(uint64_t logical, uint64_t moved)
{
    return moved ? (double)logical / (double)moved : 0.0;
}

static double mib(uint64_t b) { return (double)b / MIB; }

/* Logical bytes over kernel time: what a compressed copy achieves end to
 * end (its kernels read or write across PCIe themselves). */
static double gbps(uint64_t bytes, uint64_t ns) { return ns ? (double)bytes / (double)ns : 0.0; }

static double pcie_ms_saved(const struct snapshot *n)
{
    return (double)saved(n->s.logical_bytes, n->s.moved_bytes) / (PCIE_GBPS * 1e6);
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

static const char *rule_label(unsigned index)
{
    const struct gq_rule *r = listed_rule(index);
    return r ? r->name : "?";
}

static void tensor_verify(const struct gq_tensor_stats *t, double *max_abs, double *nmse)
{
    uint64_t a = __atomic_load_n(&t->v_sse_bits, __ATOMIC_RELAXED);
    uint64_t b = __atomic_load_n(&t->v_ss_bits, __ATOMIC_RELAXED);
    uint32_t m = __atomic_load_n(&t->v_max_bits, __ATOMIC_RELAXED);
    double sse, ss;
    float mf;
    memcpy(&sse, &a, sizeof a);
    memcpy(&ss, &b, sizeof b);
    memcpy(&mf, &m, sizeof m);
    *max_abs = mf;
    *nmse = ss > 0 ? sse / ss : 0.0;
}

static const char *status_text(const struct snapshot *n)
{
    const struct gq_config *cfg = gq_cfg();
    if (!cfg->enable)
        return cfg->invalid[GQ_OPT_ENABLE] || !cfg->from_env[GQ_OPT_ENABLE]
                   ? "off: invalid GQSHIM_* settings, every call passed through"
                   : "off: GQSHIM_ENABLE=0";
    if (cfg->rules_set && n->when != AT_SIGNAL && !gq_drv())
        return "off: the CUDA driver could not be loaded, every call passed through";
    if (!cfg->rules_set && !n->s.offloads && !n->s.restores)
        return "on, but no GQSHIM_RULES and no gq_register: nothing to compress";
    if (cfg->rules_set && !n->s.regions_dev && !n->s.regions_host)
        return "on, but GQSHIM_RULES matched no allocation";
    return "on";
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    default: return "a signal";
    }
}

/* ---- the table ------------------------------------------------------------ */

#define ROW "  %-40s "

static void text_rules(const struct snapshot *n, int verify)
{
    emit("  %-15s %7s %7s %9s %9s %6s", "per rule", "offload", "restore", "data MiB", "moved MiB",
         "ratio");
    emit(verify ? " %9s %9s\n" : "\n", "max abs", "NMSE");
    for (unsigned i = 0; i < GQ_STATS_RULES; i++) {
        const struct gq_rule *r = listed_rule(i);
        const struct gq_rule_stats *rs = &n->s.rule[i];
        if (!r)
            continue;
        emit("    %-13s %7llu %7llu %9.1f %9.1f %5.2fx", r->name, (unsigned long long)rs->offloads,
             (unsigned long long)rs->restores, mib(rs->logical_bytes), mib(rs->moved_bytes),
             ratio(rs->logical_bytes, rs->moved_bytes));
        struct gq_verify_totals v;
        if (verify && gq_verify_rule(i, &v))
            emit(" %9.4g %9.3g\n", v.max_abs, v.nmse);
        else
            emit(verify ? " %9s %9s\n" : "\n", "-", "-");
    }
}

static void text_tensors(const struct snapshot *n, int verify)
{
    if (!n->ntop)
        return;
    emit("  tensors: top %u of %u by data%s\n", n->ntop, n->ntensors,
         gq_tensors_untracked ? " (more not tracked)" : "");
    emit("    %-14s %6s %-12s %4s %4s %6s", "host address", "MiB", "rule", "off", "res", "ratio");
    emit(verify ? " %9s %9s\n" : "\n", "max abs", "NMSE");
    for (unsigned k = 0; k < n->ntop; k++) {
        const struct gq_tensor_stats *t = &gq_tensors_g[n->top[k]];
        emit("    0x%-12lx %6.1f %-12.12s %4llu %4llu %5.2fx", (unsigned long)t->host, mib(t->len),
             rule_label(t->rule), (unsigned long long)t->offloads,
             (unsigned long long)t->restores, ratio(t->logical_bytes, t->moved_bytes));
        double ma, nm;
        tensor_verify(t, &ma, &nm);
        if (verify && t->v_offloads)
            emit(" %9.4g %9.3g\n", ma, nm);
        else
            emit(verify ? " %9s %9s\n" : "\n", "-", "-");
    }
}

/* GQSHIM_VERIFY: the worst tensor among all rows, and what the figures mean. */
static void text_verify_guide(void)
{
    double worst = -1, worst_max = 0;
    unsigned wi = 0;
    for (unsigned i = 0; i < GQ_STATS_TENSORS; i++) {
        const struct gq_tensor_stats *t = &gq_tensors_g[i];
        if (!t->host || !t->v_offloads)
            continue;
        double ma, nm;
        tensor_verify(t, &ma, &nm);
        if (nm > worst) {
            worst = nm;
            worst_max = ma;
            wi = i;
        }
    }
    if (worst >= 0)
        emit("  worst tensor: 0x%lx (rule %s), NMSE %.3g, max abs error %.4g\n",
             (unsigned long)gq_tensors_g[wi].host, rule_label(gq_tensors_g[wi].rule), worst,
             worst_max);
    emit(ROW "%llu\n", "offloads not measured", (unsigned long long)gq_verify_unmeasured());
    emit("  guide: 4-bit groups of 64 give NMSE about 5e-3 on Gaussian-like data, 8 bits about\n"
         "  2e-5; above 1e-2, or if the model's output changes, try --bits=8 or a smaller group\n");
}

static void write_table(const struct snapshot *n)
{
    const struct gq_stats *s = &n->s;
    int verify = gq_cfg()->verify;
    emit("gqshim: stats for pid %d, %.2f s", (int)getpid(), n->wall_s);
    if (n->when == AT_SIGNAL)
        emit(" (stopped by %s)\n", signal_name(n->sig));
    else
        emit(n->when == AT_EXEC ? " (at exec)\n" : "\n");
    emit(ROW "%s\n", "status", status_text(n));
    /* issue 16's run mode is reported on the row after "status". */
    emit(ROW "%llu\n", "copies intercepted", (unsigned long long)s->copies);
    emit(ROW "%llu\n", "offloads compressed (D2H)", (unsigned long long)s->offloads);
    emit(ROW "%llu\n", "restores from compressed (H2D)", (unsigned long long)s->restores);
    emit(ROW "%llu\n", "passed through", (unsigned long long)n->passed_total);
    for (int i = 0; i < GQ_PASS_COUNT; i++)
        if (s->passed[i])
            emit("    %-38s %llu\n", gq_stats_pass_text(i), (unsigned long long)s->passed[i]);
    emit(ROW "%.1f MiB\n", "data carried compressed", mib(s->logical_bytes));
    emit(ROW "%.1f MiB\n", "bytes moved for it", mib(s->moved_bytes));
    emit(ROW "%.2fx\n", "compression ratio", n->ratio);
    emit(ROW "%.1f MiB\n", "PCIe bytes saved", mib(saved(s->logical_bytes, s->moved_bytes)));
    emit(ROW "%.1f MiB\n", "bytes of pass-through copies", mib(s->passthrough_bytes));
    emit(ROW "%.1f ms\n", "time in the shim's kernels", (double)n->kernel_ns / 1e6);
    emit(ROW "%.2f GB/s\n", "compressed copies (data / kernel time)",
         gbps(s->logical_bytes, n->kernel_ns));
    emit(ROW "%.1f ms\n", "PCIe time saved (estimate, 25 GB/s)", pcie_ms_saved(n));
    emit(ROW "%.1f MiB\n", "host memory held compressed (peak)", mib(n->held.peak_block_bytes));
    emit(ROW "%.1f MiB\n", "plain size of what it held (peak)", mib(n->held.plain_at_peak));
    emit(ROW "%.1f MiB\n", "host memory held compressed (at exit)", mib(n->held.block_bytes));
    if (n->have_store)
        emit(ROW "%.1f MiB\n", "pinned store (peak)", mib(n->store.peak_pinned));
    emit(ROW "%llu\n", "groups kept raw (NaN/Inf)", (unsigned long long)s->escaped_groups);
    emit(ROW "%llu\n", "regions registered (device)", (unsigned long long)s->regions_dev);
    emit(ROW "%llu\n", "regions registered (host)", (unsigned long long)s->regions_host);
    emit("  %-16s %8s %8s %12s\n", "kernels", "launches", "timed", "ms");
    for (int k = 0; k < GQ_STATS_KERNELS; k++) {
        /* spill and verify run only on an escape overflow / under GQSHIM_VERIFY */
        if (!s->kernel_launches[k] && (k == GQ_KFN_SPILL || k == GQ_KFN_VERIFY))
            continue;
        emit("    %-14s %8llu %8llu %12.1f\n", kernel_name[k],
             (unsigned long long)s->kernel_launches[k], (unsigned long long)s->kernel_timed[k],
             (double)s->kernel_ns[k] / 1e6);
    }
    text_rules(n, verify);
    text_tensors(n, verify);
    if (verify)
        text_verify_guide();
}

/* ---- JSON: the same content, versioned ----------------------------------- */

static void json_time(const char *key, time_t t)
{
    struct tm tm;
    char buf[32] = "";
    if (gmtime_r(&t, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    emit("  \"%s\": \"%s\",\n", key, buf);
}

/* argv from /proc/self/cmdline: NUL-separated, read with a system call. */
static void json_argv(void)
{
    static char cmd[8192];
    ssize_t n = -1;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, cmd, sizeof cmd);
        close(fd);
    }
    emit("  \"argv\": [");
    for (ssize_t i = 0, first = 1; n > 0 && i < n; first = 0) {
        size_t len = strnlen(cmd + i, (size_t)(n - i));
        emit(first ? "" : ", ");
        emit_json_str(cmd + i, len);
        i += (ssize_t)len + 1;
    }
    emit("],\n");
}

static void json_settings(void)
{
    const struct gq_config *cfg = gq_cfg();
    emit("  \"settings\": {");
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        static char value[GQ_PATH_MAX + 8];
        gq_config_value(cfg, (enum gq_opt_id)i, value, sizeof value);
        emit("%s\n    \"%s\": ", i ? "," : "", gq_option((enum gq_opt_id)i)->name);
        emit_json_str(value, strlen(value));
    }
    emit("\n  },\n");
}

static void json_rules(const struct snapshot *n, int verify)
{
    emit("  \"rules\": [");
    int first = 1;
    /* A rule name: the grammar allows [A-Za-z0-9_.-] only, nothing to escape. */
    for (unsigned i = 0; i < GQ_STATS_RULES; i++) {
        const struct gq_rule *r = listed_rule(i);
        const struct gq_rule_stats *rs = &n->s.rule[i];
        if (!r)
            continue;
        emit("%s\n    {\"name\": \"%s\", \"on\": \"%s\", \"offloads\": %llu, \"restores\": %llu, "
             "\"logical_bytes\": %llu, \"moved_bytes\": %llu, \"compression_ratio\": %.4f, "
             "\"pcie_bytes_saved\": %llu",
             first ? "" : ",", r->name, gq_on_name(r->on), (unsigned long long)rs->offloads,
             (unsigned long long)rs->restores, (unsigned long long)rs->logical_bytes,
             (unsigned long long)rs->moved_bytes, ratio(rs->logical_bytes, rs->moved_bytes),
             (unsigned long long)saved(rs->logical_bytes, rs->moved_bytes));
        struct gq_verify_totals v;
        if (verify && gq_verify_rule(i, &v))
            emit(", \"verify\": {\"offloads\": %llu, \"elements\": %llu, "
                 "\"max_abs_error\": %.9g, \"nmse\": %.9g}",
                 (unsigned long long)v.offloads, (unsigned long long)v.elements, v.max_abs, v.nmse);
        emit("}");
        first = 0;
    }
    emit("\n  ],\n");
}

static void json_tensors(const struct snapshot *n, int verify)
{
    emit("  \"tensors_total\": %u,\n  \"tensors_untracked\": %llu,\n  \"tensors\": [", n->ntensors,
         (unsigned long long)gq_tensors_untracked);
    for (unsigned k = 0; k < n->ntop; k++) {
        const struct gq_tensor_stats *t = &gq_tensors_g[n->top[k]];
        emit("%s\n    {\"host\": \"0x%lx\", \"bytes\": %llu, \"rule\": \"%s\", \"offloads\": %llu, "
             "\"restores\": %llu, \"logical_bytes\": %llu, \"moved_bytes\": %llu, "
             "\"compression_ratio\": %.4f",
             k ? "," : "", (unsigned long)t->host, (unsigned long long)t->len, rule_label(t->rule),
             (unsigned long long)t->offloads, (unsigned long long)t->restores,
             (unsigned long long)t->logical_bytes, (unsigned long long)t->moved_bytes,
             ratio(t->logical_bytes, t->moved_bytes));
        double ma, nm;
        tensor_verify(t, &ma, &nm);
        if (verify && t->v_offloads)
            emit(", \"verify\": {\"offloads\": %llu, \"elements\": %llu, \"max_abs_error\": %.9g, "
                 "\"nmse\": %.9g}",
                 (unsigned long long)t->v_offloads, (unsigned long long)t->v_elements, ma, nm);
        emit("}");
    }
    emit("\n  ],\n");
}

static void write_json_text(const struct snapshot *n)
{
    const struct gq_stats *s = &n->s;
    int verify = gq_cfg()->verify;
    emit("{\n  \"schema\": \"gqshim-stats\",\n  \"schema_version\": %d,\n", SCHEMA_VERSION);
    emit("  \"gqshim_version\": \"%s\",\n  \"pid\": %d,\n", GQ_SHIM_VERSION, (int)getpid());
    json_argv();
    json_time("started", n->started);
    json_time("ended", n->ended);
    emit("  \"wall_s\": %.3f,\n  \"ended_by\": \"%s\",\n", n->wall_s,
         n->when == AT_SIGNAL ? signal_name(n->sig) : n->when == AT_EXEC ? "exec" : "exit");
    emit("  \"status\": ");
    emit_json_str(status_text(n), strlen(status_text(n)));
    emit(",\n");
    json_settings();
    emit("  \"copies\": %llu,\n  \"offloads\": %llu,\n  \"restores\": %llu,\n",
         (unsigned long long)s->copies, (unsigned long long)s->offloads,
         (unsigned long long)s->restores);
    emit("  \"passed_through\": %llu,\n  \"passed_by_reason\": {", (unsigned long long)n->passed_total);
    for (int i = 0; i < GQ_PASS_COUNT; i++)
        emit("%s\n    \"%s\": %llu", i ? "," : "", gq_stats_pass_key(i),
             (unsigned long long)s->passed[i]);
    emit("\n  },\n  \"pass_reasons\": {");
    for (int i = 0; i < GQ_PASS_COUNT; i++)
        emit("%s\n    \"%s\": \"%s\"", i ? "," : "", gq_stats_pass_key(i), gq_stats_pass_text(i));
    emit("\n  },\n  \"logical_bytes\": %llu,\n  \"moved_bytes\": %llu,\n",
         (unsigned long long)s->logical_bytes, (unsigned long long)s->moved_bytes);
    emit("  \"compression_ratio\": %.4f,\n  \"pcie_bytes_saved\": %llu,\n", n->ratio,
         (unsigned long long)saved(s->logical_bytes, s->moved_bytes));
    emit("  \"passthrough_bytes\": %llu,\n", (unsigned long long)s->passthrough_bytes);
    emit("  \"kernel_ms\": %.3f,\n  \"compressed_gbps\": %.3f,\n", (double)n->kernel_ns / 1e6,
         gbps(s->logical_bytes, n->kernel_ns));
    emit("  \"pcie_ms_saved_estimate\": %.3f,\n  \"pcie_gbps_assumed\": %.1f,\n", pcie_ms_saved(n),
         PCIE_GBPS);
    emit("  \"host_bytes_held_peak\": %llu,\n  \"host_plain_bytes_at_peak\": %llu,\n",
         (unsigned long long)n->held.peak_block_bytes, (unsigned long long)n->held.plain_at_peak);
    emit("  \"host_bytes_held\": %llu,\n", (unsigned long long)n->held.block_bytes);
    if (n->have_store)
        emit("  \"pinned_peak_bytes\": %llu,\n", (unsigned long long)n->store.peak_pinned);
    else
        emit("  \"pinned_peak_bytes\": null,\n");
    emit("  \"escaped_groups\": %llu,\n", (unsigned long long)s->escaped_groups);
    emit("  \"regions_dev\": %llu,\n  \"regions_host\": %llu,\n", (unsigned long long)s->regions_dev,
         (unsigned long long)s->regions_host);
    emit("  \"kernels\": {");
    for (int k = 0; k < GQ_STATS_KERNELS; k++)
        emit("%s\n    \"%s\": {\"launches\": %llu, \"timed\": %llu, \"ms\": %.6f}", k ? "," : "",
             kernel_name[k], (unsigned long long)s->kernel_launches[k],
             (unsigned long long)s->kernel_timed[k], (double)s->kernel_ns[k] / 1e6);
    emit("\n  },\n");
    json_rules(n, verify);
    json_tensors(n, verify);
    if (verify)
        emit("  \"verify_unmeasured\": %llu,\n", (unsigned long long)gq_verify_unmeasured());
    emit("  \"complete\": true\n}\n");
}

/* ---- where it goes --------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The JSON file; on failure, one line with errno and the table to the log
 * instead (the figures are not lost). */
static void write_json_file(const struct snapshot *n, const char *path)
{
    out_len = 0;
    write_json_text(n);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0) {
        if (write_all(fd, out_buf, out_len) != 0)
            err = errno ? errno : EIO;
        if (close(fd) != 0 && !err)
            err = errno;
    }
    if (!err)
        return;
    gq_warn("GQSHIM_STATS=json:%s: cannot write the file (%s); the table follows instead", path,
            strerror(err));
    out_len = 0;
    write_table(n);
    gq_log_raw(out_buf, out_len);
}

static void verify_only(const struct snapshot *n)
{
    out_len = 0;
    emit("gqshim: verify\n");
    text_rules(n, 1);
    text_tensors(n, 1);
    text_verify_guide();
    gq_log_raw(out_buf, out_len);
}

static void stats_report(enum when when, int sig)
{
    const struct gq_config *cfg = gq_cfg();
    if (cfg->stats == GQ_STATS_OFF && !cfg->verify)
        return;
    static struct snapshot snap; /* static: a signal handler's stack may be small */
    if (when != AT_SIGNAL)
        gq_ktime_flush(); /* kernels still in flight */
    take(&snap, when, sig);
    if (cfg->stats == GQ_STATS_TEXT) {
        out_len = 0;
        write_table(&snap);
        gq_log_raw(out_buf, out_len);
    } else if (cfg->stats == GQ_STATS_JSON) {
        write_json_file(&snap, cfg->stats_path);
    } else {
        verify_only(&snap);
    }
}

/* Rules were set but matched nothing: one line, whatever the stats setting.
 * (Rules that took allocations but compressed nothing have had their own
 * warning, once, where each fallback happened; the table counts reasons.) */
static void idle_rules_line(void)
{
    const struct gq_config *cfg = gq_cfg();
    if (!cfg->enable || !cfg->rules_set || !gq_drv())
        return; /* off, or the driver's failure was said at start-up */
    if (!__atomic_load_n(&gq_stats_g.regions_dev, __ATOMIC_RELAXED) &&
        !__atomic_load_n(&gq_stats_g.regions_host, __ATOMIC_RELAXED))
        gq_warn("GQSHIM_RULES matched none of the program's allocations: nothing was "
                "compressed; GQSHIM_TRACE=1 (gqrun --trace) lists them and suggests a rule");
}

static int reported; /* the report of this process image was written */

static int claim(void) { return !__atomic_exchange_n(&reported, 1, __ATOMIC_ACQ_REL); }

void gq_report_exit(void)
{
    if (gq_forked() || !claim())
        return; /* a fork's counters are the parent's, and so is the stats file */
    gq_trace_report();
    stats_report(AT_EXIT, 0);
    idle_rules_line();
}

void gq_report_exec(void)
{
    if (gq_forked() || !claim())
        return;
    gq_trace_report();
    stats_report(AT_EXEC, 0);
}

void gq_report_exec_failed(void) { __atomic_store_n(&reported, 0, __ATOMIC_RELEASE); }

void gq_report_signal(int sig)
{
    if (gq_forked() || !claim())
        return;
    stats_report(AT_SIGNAL, sig);
}

int gq_report_due(void)
{
    const struct gq_config *cfg = gq_cfg();
    return cfg->stats != GQ_STATS_OFF || cfg->verify || cfg->trace ||
           (cfg->enable && cfg->rules_set);
}

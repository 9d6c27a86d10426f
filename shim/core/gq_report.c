/* The exit report (see gq_report.h): the table, and where the report goes. */
#define _GNU_SOURCE
#include "core/gq_report.h"

#include "base/gq_config.h"
#include "base/gq_counters.h"
#include "base/gq_foreign.h"
#include "base/gq_fork.h"
#include "base/gq_log.h"
#include "base/gq_mode.h"
#include "base/gq_trace.h"
#include "core/gq_report_fmt.h"
#include "core/gq_report_json.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_ktime.h"
#include "gpu/gq_modules.h"
#include "host/gq_wtrack.h"
#include "xfer/gq_verify.h"
#include "base/gq_foreign.h"

#include "gq_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* ---- the table ------------------------------------------------------------ */

#define ROW "  %-40s "

static void text_rules(const struct gq_rep_snapshot *n, int verify)
{
    gq_rep_emit("  %-15s %7s %7s %9s %9s %6s", "per rule", "offload", "restore", "data MiB", "moved MiB",
         "ratio");
    gq_rep_emit(verify ? " %9s %9s\n" : "\n", "max abs", "NMSE");
    for (unsigned i = 0; i < GQ_STATS_RULES; i++) {
        const struct gq_rule *r = gq_rep_rule(i);
        const struct gq_rule_stats *rs = &n->s.rule[i];
        if (!r)
            continue;
        gq_rep_emit("    %-13s %7llu %7llu %9.1f %9.1f %5.2fx", r->name, (unsigned long long)rs->offloads,
             (unsigned long long)rs->restores, gq_rep_mib(rs->logical_bytes), gq_rep_mib(rs->moved_bytes),
             gq_rep_ratio(rs->logical_bytes, rs->moved_bytes));
        struct gq_verify_totals v;
        if (verify && gq_verify_rule(i, &v))
            gq_rep_emit(" %9.4g %9.3g\n", v.max_abs, v.nmse);
        else
            gq_rep_emit(verify ? " %9s %9s\n" : "\n", "-", "-");
        /* A misread dtype is refused, never measured as if it were fine. */
        if (gq_foreign_count(i))
            gq_rep_emit("      %llu offloads refused: not %s data (copied raw, not measured)\n",
                        (unsigned long long)gq_foreign_count(i), gq_rule_dtype_name(r->dtype));
    }
}

static void text_tensors(const struct gq_rep_snapshot *n, int verify)
{
    if (!n->ntop)
        return;
    gq_rep_emit("  tensors: top %u of %u by data%s\n", n->ntop, n->ntensors,
         gq_tensors_untracked ? " (more not tracked)" : "");
    gq_rep_emit("    %-14s %6s %-12s %4s %4s %6s", "host address", "MiB", "rule", "off", "res", "ratio");
    gq_rep_emit(verify ? " %9s %9s\n" : "\n", "max abs", "NMSE");
    for (unsigned k = 0; k < n->ntop; k++) {
        const struct gq_tensor_stats *t = &gq_tensors_g[n->top[k]];
        gq_rep_emit("    0x%-12lx %6.1f %-12.12s %4llu %4llu %5.2fx", (unsigned long)t->host, gq_rep_mib(t->len),
             gq_rep_rule_label(t->rule), (unsigned long long)t->offloads,
             (unsigned long long)t->restores, gq_rep_ratio(t->logical_bytes, t->moved_bytes));
        double ma, nm;
        gq_rep_tensor_verify(t, &ma, &nm);
        if (verify && t->v_offloads)
            gq_rep_emit(" %9.4g %9.3g\n", ma, nm);
        else
            gq_rep_emit(verify ? " %9s %9s\n" : "\n", "-", "-");
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
        gq_rep_tensor_verify(t, &ma, &nm);
        if (nm > worst) {
            worst = nm;
            worst_max = ma;
            wi = i;
        }
    }
    if (worst >= 0)
        gq_rep_emit("  worst tensor: 0x%lx (rule %s), NMSE %.3g, max abs error %.4g\n",
             (unsigned long)gq_tensors_g[wi].host, gq_rep_rule_label(gq_tensors_g[wi].rule), worst,
             worst_max);
    gq_rep_emit(ROW "%llu\n", "offloads not measured", (unsigned long long)gq_verify_unmeasured());
    gq_rep_emit("  guide: 4-bit groups of 64 give NMSE about 5e-3 on Gaussian-like data, 8 bits about\n"
         "  2e-5; above 1e-2, or if the model's output changes, try --bits=8 or a smaller group\n");
}

static void write_table(const struct gq_rep_snapshot *n)
{
    const struct gq_stats *s = &n->s;
    int verify = gq_cfg()->verify;
    gq_rep_emit("gqshim: stats for pid %d, %.2f s", (int)getpid(), n->wall_s);
    if (n->when == GQ_REP_AT_SIGNAL)
        gq_rep_emit(" (stopped by %s)\n", gq_rep_signal_name(n->sig));
    else
        gq_rep_emit(n->when == GQ_REP_AT_EXEC ? " (at exec)\n" : "\n");
    gq_rep_emit(ROW "%s\n", "status", gq_rep_status(n));
    gq_rep_emit(ROW "%s\n", "host mode", n->host_mode);
    gq_rep_emit(ROW "%llu\n", "copies intercepted", (unsigned long long)s->copies);
    gq_rep_emit(ROW "%llu\n", "offloads compressed (D2H)", (unsigned long long)s->offloads);
    gq_rep_emit(ROW "%llu\n", "restores from compressed (H2D)", (unsigned long long)s->restores);
    gq_rep_emit(ROW "%llu\n", "passed through", (unsigned long long)n->passed_total);
    for (int i = 0; i < GQ_PASS_COUNT; i++)
        if (s->passed[i])
            gq_rep_emit("    %-38s %llu\n", gq_stats_pass_text(i), (unsigned long long)s->passed[i]);
    gq_rep_emit(ROW "%.1f MiB\n", "data carried compressed", gq_rep_mib(s->logical_bytes));
    gq_rep_emit(ROW "%.1f MiB\n", "bytes moved for it", gq_rep_mib(s->moved_bytes));
    gq_rep_emit(ROW "%.2fx\n", "compression ratio", n->ratio);
    gq_rep_emit(ROW "%.1f MiB\n", "PCIe bytes saved", gq_rep_mib(gq_rep_saved(s->logical_bytes, s->moved_bytes)));
    gq_rep_emit(ROW "%.1f MiB\n", "bytes of pass-through copies", gq_rep_mib(s->passthrough_bytes));
    gq_rep_emit(ROW "%.1f ms\n", "time in the shim's kernels", (double)n->kernel_ns / 1e6);
    gq_rep_emit(ROW "%.2f GB/s\n", "compressed copies (data / kernel time)",
         gq_rep_gbps(s->logical_bytes, n->kernel_ns));
    gq_rep_emit(ROW "%.1f ms\n", "PCIe time saved (estimate, 25 GB/s)", gq_rep_pcie_ms_saved(n));
    gq_rep_emit(ROW "%.1f MiB\n", "host memory held compressed (peak)", gq_rep_mib(n->held.peak_block_bytes));
    gq_rep_emit(ROW "%.1f MiB\n", "plain size of what it held (peak)", gq_rep_mib(n->held.plain_at_peak));
    gq_rep_emit(ROW "%.1f MiB\n", "host memory held compressed (at exit)", gq_rep_mib(n->held.block_bytes));
    if (n->have_store)
        gq_rep_emit(ROW "%.1f MiB\n", "pinned store (peak)", gq_rep_mib(n->store.peak_pinned));
    gq_rep_emit(ROW "%llu\n", "groups kept raw (NaN/Inf)", (unsigned long long)s->escaped_groups);
    gq_rep_emit(ROW "%llu\n", "quantized again for more NaN/Inf", (unsigned long long)s->escape_retries);
    gq_rep_emit(ROW "%llu\n", "copies staged in device memory", (unsigned long long)s->staged);
    gq_rep_emit(ROW "%llu\n", "copies zero-copy (no staging)", (unsigned long long)s->unstaged);
    gq_rep_emit(ROW "%llu\n", "regions registered (device)", (unsigned long long)s->regions_dev);
    gq_rep_emit(ROW "%llu\n", "regions registered (host)", (unsigned long long)s->regions_host);
    gq_rep_emit("  %-16s %8s %8s %12s\n", "kernels", "launches", "timed", "ms");
    for (int k = 0; k < GQ_STATS_KERNELS; k++) {
        /* spill and verify run only on an escape overflow / under GQSHIM_VERIFY */
        if (!s->kernel_launches[k] && (k == GQ_KFN_SPILL || k == GQ_KFN_VERIFY))
            continue;
        gq_rep_emit("    %-14s %8llu %8llu %12.1f\n", gq_kernel_name[k],
             (unsigned long long)s->kernel_launches[k], (unsigned long long)s->kernel_timed[k],
             (double)s->kernel_ns[k] / 1e6);
    }
    text_rules(n, verify);
    text_tensors(n, verify);
    if (verify)
        text_verify_guide();
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
static void write_json_file(const struct gq_rep_snapshot *n, const char *path)
{
    gq_rep_len = 0;
    gq_report_json_text(n);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0) {
        if (write_all(fd, gq_rep_buf, gq_rep_len) != 0)
            err = errno ? errno : EIO;
        if (close(fd) != 0 && !err)
            err = errno;
    }
    if (!err)
        return;
    gq_warn("GQSHIM_STATS=json:%s: cannot write the file (%s); the table follows instead", path,
            strerror(err));
    gq_rep_len = 0;
    write_table(n);
    gq_log_raw(gq_rep_buf, gq_rep_len);
}

static void verify_only(const struct gq_rep_snapshot *n)
{
    gq_rep_len = 0;
    gq_rep_emit("gqshim: verify\n");
    text_rules(n, 1);
    text_tensors(n, 1);
    text_verify_guide();
    gq_log_raw(gq_rep_buf, gq_rep_len);
}

static void stats_report(enum gq_rep_when when, int sig)
{
    const struct gq_config *cfg = gq_cfg();
    if (cfg->stats == GQ_STATS_OFF && !cfg->verify)
        return;
    static struct gq_rep_snapshot snap; /* static: a signal handler's stack may be small */
    if (when != GQ_REP_AT_SIGNAL)
        gq_ktime_flush(); /* kernels still in flight */
    gq_rep_take(&snap, when, sig);
    if (when != GQ_REP_AT_SIGNAL)
        gq_wtrack_available(); /* probes the host mode if nothing needed it before */
    snap.host_mode = gq_mode_name(gq_mode());
    if (cfg->stats == GQ_STATS_TEXT) {
        gq_rep_len = 0;
        write_table(&snap);
        gq_log_raw(gq_rep_buf, gq_rep_len);
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
    stats_report(GQ_REP_AT_EXIT, 0);
    idle_rules_line();
}

void gq_report_exec(void)
{
    if (gq_forked() || !claim())
        return;
    gq_trace_report();
    stats_report(GQ_REP_AT_EXEC, 0);
}

void gq_report_exec_failed(void) { __atomic_store_n(&reported, 0, __ATOMIC_RELEASE); }

void gq_report_signal(int sig)
{
    if (gq_forked() || !claim())
        return;
    stats_report(GQ_REP_AT_SIGNAL, sig);
}

int gq_report_due(void)
{
    const struct gq_config *cfg = gq_cfg();
    return cfg->stats != GQ_STATS_OFF || cfg->verify || cfg->trace ||
           (cfg->enable && cfg->rules_set);
}

/* The exit report as JSON (see gq_report_json.h): the table's content,
 * versioned, with what describes the run. */
#define _GNU_SOURCE
#include "core/gq_report_json.h"

#include "base/gq_config.h"
#include "base/gq_foreign.h"
#include "core/gq_report_fmt.h"
#include "xfer/gq_verify.h"

#include "gq_rules.h"
#include "gqshim.h"

#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The JSON's "schema_version": raised when a field changes meaning or goes
 * away; new fields alone keep it. */
#define SCHEMA_VERSION 2

static void json_time(const char *key, time_t t)
{
    struct tm tm;
    char buf[32] = "";
    if (gmtime_r(&t, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    gq_rep_emit("  \"%s\": \"%s\",\n", key, buf);
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
    gq_rep_emit("  \"argv\": [");
    for (ssize_t i = 0, first = 1; n > 0 && i < n; first = 0) {
        size_t len = strnlen(cmd + i, (size_t)(n - i));
        gq_rep_emit(first ? "" : ", ");
        gq_rep_json_str(cmd + i, len);
        i += (ssize_t)len + 1;
    }
    gq_rep_emit("],\n");
}

static void json_settings(void)
{
    const struct gq_config *cfg = gq_cfg();
    gq_rep_emit("  \"settings\": {");
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        static char value[GQ_PATH_MAX + 8];
        gq_config_value(cfg, (enum gq_opt_id)i, value, sizeof value);
        gq_rep_emit("%s\n    \"%s\": ", i ? "," : "", gq_option((enum gq_opt_id)i)->name);
        gq_rep_json_str(value, strlen(value));
    }
    gq_rep_emit("\n  },\n");
}

static void json_rules(const struct gq_rep_snapshot *n, int verify)
{
    gq_rep_emit("  \"rules\": [");
    int first = 1;
    /* A rule name: the grammar allows [A-Za-z0-9_.-] only, nothing to escape. */
    for (unsigned i = 0; i < GQ_STATS_RULES; i++) {
        const struct gq_rule *r = gq_rep_rule(i);
        const struct gq_rule_stats *rs = &n->s.rule[i];
        if (!r)
            continue;
        gq_rep_emit("%s\n    {\"name\": \"%s\", \"on\": \"%s\", \"offloads\": %llu, \"restores\": %llu, "
             "\"logical_bytes\": %llu, \"moved_bytes\": %llu, \"compression_ratio\": %.4f, "
             "\"pcie_bytes_saved\": %llu",
             first ? "" : ",", r->name, gq_on_name(r->on), (unsigned long long)rs->offloads,
             (unsigned long long)rs->restores, (unsigned long long)rs->logical_bytes,
             (unsigned long long)rs->moved_bytes, gq_rep_ratio(rs->logical_bytes, rs->moved_bytes),
             (unsigned long long)gq_rep_saved(rs->logical_bytes, rs->moved_bytes));
        struct gq_verify_totals v;
        if (verify && gq_verify_rule(i, &v))
            gq_rep_emit(", \"verify\": {\"offloads\": %llu, \"elements\": %llu, "
                 "\"max_abs_error\": %.9g, \"nmse\": %.9g}",
                 (unsigned long long)v.offloads, (unsigned long long)v.elements, v.max_abs, v.nmse);
        if (gq_foreign_count(i))
            gq_rep_emit(", \"foreign_refused\": %llu", (unsigned long long)gq_foreign_count(i));
        gq_rep_emit("}");
        first = 0;
    }
    gq_rep_emit("\n  ],\n");
}

static void json_tensors(const struct gq_rep_snapshot *n, int verify)
{
    gq_rep_emit("  \"tensors_total\": %u,\n  \"tensors_untracked\": %llu,\n  \"tensors\": [", n->ntensors,
         (unsigned long long)gq_tensors_untracked);
    for (unsigned k = 0; k < n->ntop; k++) {
        const struct gq_tensor_stats *t = &gq_tensors_g[n->top[k]];
        gq_rep_emit("%s\n    {\"host\": \"0x%lx\", \"bytes\": %llu, \"rule\": \"%s\", \"offloads\": %llu, "
             "\"restores\": %llu, \"logical_bytes\": %llu, \"moved_bytes\": %llu, "
             "\"compression_ratio\": %.4f",
             k ? "," : "", (unsigned long)t->host, (unsigned long long)t->len, gq_rep_rule_label(t->rule),
             (unsigned long long)t->offloads, (unsigned long long)t->restores,
             (unsigned long long)t->logical_bytes, (unsigned long long)t->moved_bytes,
             gq_rep_ratio(t->logical_bytes, t->moved_bytes));
        double ma, nm;
        gq_rep_tensor_verify(t, &ma, &nm);
        if (verify && t->v_offloads)
            gq_rep_emit(", \"verify\": {\"offloads\": %llu, \"elements\": %llu, \"max_abs_error\": %.9g, "
                 "\"nmse\": %.9g}",
                 (unsigned long long)t->v_offloads, (unsigned long long)t->v_elements, ma, nm);
        gq_rep_emit("}");
    }
    gq_rep_emit("\n  ],\n");
}

void gq_report_json_text(const struct gq_rep_snapshot *n)
{
    const struct gq_stats *s = &n->s;
    int verify = gq_cfg()->verify;
    gq_rep_emit("{\n  \"schema\": \"gqshim-stats\",\n  \"schema_version\": %d,\n", SCHEMA_VERSION);
    gq_rep_emit("  \"gqshim_version\": \"%s\",\n  \"pid\": %d,\n", GQ_SHIM_VERSION, (int)getpid());
    json_argv();
    json_time("started", n->started);
    json_time("ended", n->ended);
    gq_rep_emit("  \"wall_s\": %.3f,\n  \"ended_by\": \"%s\",\n", n->wall_s,
         n->when == GQ_REP_AT_SIGNAL ? gq_rep_signal_name(n->sig) : n->when == GQ_REP_AT_EXEC ? "exec" : "exit");
    gq_rep_emit("  \"status\": ");
    gq_rep_json_str(gq_rep_status(n), strlen(gq_rep_status(n)));
    gq_rep_emit(",\n");
    json_settings();
    gq_rep_emit("  \"copies\": %llu,\n  \"offloads\": %llu,\n  \"restores\": %llu,\n",
         (unsigned long long)s->copies, (unsigned long long)s->offloads,
         (unsigned long long)s->restores);
    gq_rep_emit("  \"host_mode\": \"%s\",\n", n->host_mode);
    gq_rep_emit("  \"passed_through\": %llu,\n  \"passed_by_reason\": {", (unsigned long long)n->passed_total);
    for (int i = 0; i < GQ_PASS_COUNT; i++)
        gq_rep_emit("%s\n    \"%s\": %llu", i ? "," : "", gq_stats_pass_key(i),
             (unsigned long long)s->passed[i]);
    gq_rep_emit("\n  },\n  \"pass_reasons\": {");
    for (int i = 0; i < GQ_PASS_COUNT; i++)
        gq_rep_emit("%s\n    \"%s\": \"%s\"", i ? "," : "", gq_stats_pass_key(i), gq_stats_pass_text(i));
    gq_rep_emit("\n  },\n  \"logical_bytes\": %llu,\n  \"moved_bytes\": %llu,\n",
         (unsigned long long)s->logical_bytes, (unsigned long long)s->moved_bytes);
    gq_rep_emit("  \"compression_ratio\": %.4f,\n  \"pcie_bytes_saved\": %llu,\n", n->ratio,
         (unsigned long long)gq_rep_saved(s->logical_bytes, s->moved_bytes));
    gq_rep_emit("  \"passthrough_bytes\": %llu,\n", (unsigned long long)s->passthrough_bytes);
    gq_rep_emit("  \"kernel_ms\": %.3f,\n  \"compressed_gbps\": %.3f,\n", (double)n->kernel_ns / 1e6,
         gq_rep_gbps(s->logical_bytes, n->kernel_ns));
    gq_rep_emit("  \"pcie_ms_saved_estimate\": %.3f,\n  \"pcie_gbps_assumed\": %.1f,\n", gq_rep_pcie_ms_saved(n),
         PCIE_GBPS);
    gq_rep_emit("  \"host_bytes_held_peak\": %llu,\n  \"host_plain_bytes_at_peak\": %llu,\n",
         (unsigned long long)n->held.peak_block_bytes, (unsigned long long)n->held.plain_at_peak);
    gq_rep_emit("  \"host_bytes_held\": %llu,\n", (unsigned long long)n->held.block_bytes);
    if (n->have_store)
        gq_rep_emit("  \"pinned_peak_bytes\": %llu,\n", (unsigned long long)n->store.peak_pinned);
    else
        gq_rep_emit("  \"pinned_peak_bytes\": null,\n");
    gq_rep_emit("  \"escaped_groups\": %llu,\n", (unsigned long long)s->escaped_groups);
    gq_rep_emit("  \"escape_retries\": %llu,\n", (unsigned long long)s->escape_retries);
    gq_rep_emit("  \"staged_copies\": %llu,\n  \"zero_copy_copies\": %llu,\n",
                (unsigned long long)s->staged, (unsigned long long)s->unstaged);
    gq_rep_emit("  \"regions_dev\": %llu,\n  \"regions_host\": %llu,\n", (unsigned long long)s->regions_dev,
         (unsigned long long)s->regions_host);
    gq_rep_emit("  \"kernels\": {");
    for (int k = 0; k < GQ_STATS_KERNELS; k++)
        gq_rep_emit("%s\n    \"%s\": {\"launches\": %llu, \"timed\": %llu, \"ms\": %.6f}", k ? "," : "",
             gq_kernel_name[k], (unsigned long long)s->kernel_launches[k],
             (unsigned long long)s->kernel_timed[k], (double)s->kernel_ns[k] / 1e6);
    gq_rep_emit("\n  },\n");
    json_rules(n, verify);
    json_tensors(n, verify);
    if (verify)
        gq_rep_emit("  \"verify_unmeasured\": %llu,\n", (unsigned long long)gq_verify_unmeasured());
    gq_rep_emit("  \"complete\": true\n}\n");
}

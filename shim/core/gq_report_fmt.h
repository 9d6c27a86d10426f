/*
 * gq_report_fmt.h — what the exit report's table (core/gq_report.c) and
 * JSON (core/gq_report_json.c) are made of: one snapshot of the counters,
 * and text built in a static buffer with vsnprintf, so that a signal handler
 * can write the report (no allocation, no lock: see core/gq_report.h).
 */
#ifndef GQ_REPORT_FMT_H
#define GQ_REPORT_FMT_H

#include "base/gq_counters.h"
#include "store/gq_store.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The PCIe bandwidth behind the "time saved" estimate: PCIe 4.0 x16 as
 * transfers reach it in practice. Printed beside the figure. */
#define PCIE_GBPS 25.0
#define TOP_TENSORS 8 /* tensor rows listed */
#define MIB (1024.0 * 1024.0)
#define GQ_REPORT_BUF (128 * 1024)

/* How the report is being written: at exit, before an exec, or from a
 * signal handler, where no lock may be taken and nothing allocated. */
enum gq_rep_when { GQ_REP_AT_EXIT, GQ_REP_AT_EXEC, GQ_REP_AT_SIGNAL };

struct gq_rep_snapshot {
    struct gq_stats s;
    struct gq_held held;
    struct gq_store_usage store;
    int have_store;          /* store usage read (not from a signal handler) */
    uint64_t passed_total;
    uint64_t kernel_ns;      /* all kernels */
    double ratio;            /* logical / moved for compressed copies */
    double wall_s;
    time_t started, ended;
    enum gq_rep_when when;
    int sig;
    unsigned top[TOP_TENSORS], ntop, ntensors;
    const char *host_mode;   /* base/gq_mode.h's name of the mode in force */
};

struct gq_rule;

extern const char *const gq_kernel_name[GQ_STATS_KERNELS];

/* The counters now; the pinned store's usage too unless `when` is GQ_REP_AT_SIGNAL. */
void gq_rep_take(struct gq_rep_snapshot *n, enum gq_rep_when when, int sig);

/* The text being built: emit appends (truncating at the buffer's end). */
extern char gq_rep_buf[GQ_REPORT_BUF];
extern size_t gq_rep_len;
void gq_rep_emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gq_rep_json_str(const char *s, size_t n); /* a JSON string, escaped */

uint64_t gq_rep_saved(uint64_t logical, uint64_t moved);
double gq_rep_ratio(uint64_t logical, uint64_t moved);
double gq_rep_mib(uint64_t bytes);
/* Logical bytes over kernel time: what a compressed copy achieves end to
 * end (its kernels read or write across PCIe themselves). */
double gq_rep_gbps(uint64_t bytes, uint64_t ns);
double gq_rep_pcie_ms_saved(const struct gq_rep_snapshot *n);

/* The rules a report lists: every GQSHIM_RULES rule, and every other rule
 * (gq_register) that compressed something; NULL for an empty row. */
const struct gq_rule *gq_rep_rule(unsigned i);
const char *gq_rep_rule_label(unsigned index);
/* A tensor row's GQSHIM_VERIFY figures. */
void gq_rep_tensor_verify(const struct gq_tensor_stats *t, double *max_abs, double *nmse);
/* One phrase: on, or why the shim did nothing. */
const char *gq_rep_status(const struct gq_rep_snapshot *n);
const char *gq_rep_signal_name(int sig);

#endif

/* The report's building blocks (see gq_report_fmt.h). */
#define _GNU_SOURCE
#include "core/gq_report_fmt.h"

#include "base/gq_config.h"
#include "base/gq_counters.h"
#include "gpu/gq_driver.h"
#include "gpu/gq_modules.h"
#include "store/gq_store.h"
#include "xfer/gq_verify.h"

#include "gq_rules.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *const gq_kernel_name[GQ_STATS_KERNELS] = {
    [GQ_KFN_QUANTIZE] = "quantize",
    [GQ_KFN_DEQUANTIZE] = "dequantize",
    [GQ_KFN_SPILL] = "spill",
    [GQ_KFN_VERIFY] = "verify",
};

/* Order of the tensor rows: more data first; among equals, the one seen
 * first (the same rows from run to run, whatever the addresses). */
static int before(const struct gq_tensor_stats *a, const struct gq_tensor_stats *b)
{
    uint64_t la = __atomic_load_n(&a->logical_bytes, __ATOMIC_RELAXED);
    uint64_t lb = __atomic_load_n(&b->logical_bytes, __ATOMIC_RELAXED);
    return la != lb ? la > lb : a->seq < b->seq;
}

void gq_rep_take(struct gq_rep_snapshot *n, enum gq_rep_when when, int sig)
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
    if (when != GQ_REP_AT_SIGNAL) {
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

char gq_rep_buf[GQ_REPORT_BUF];
size_t gq_rep_len;

void gq_rep_emit(const char *fmt, ...)
{
    if (gq_rep_len >= sizeof gq_rep_buf - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(gq_rep_buf + gq_rep_len, sizeof gq_rep_buf - gq_rep_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        gq_rep_len += (size_t)n < sizeof gq_rep_buf - gq_rep_len ? (size_t)n : sizeof gq_rep_buf - 1 - gq_rep_len;
}

/* A JSON string, escaped. */
void gq_rep_json_str(const char *s, size_t n)
{
    gq_rep_emit("\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            gq_rep_emit("\\%c", c);
        else if (c < 0x20)
            gq_rep_emit("\\u%04x", c);
        else
            gq_rep_emit("%c", c);
    }
    gq_rep_emit("\"");
}

uint64_t gq_rep_saved(uint64_t logical, uint64_t moved) { return logical > moved ? logical - moved : 0; }

double gq_rep_ratio(uint64_t logical, uint64_t moved)
{
    return moved ? (double)logical / (double)moved : 0.0;
}

double gq_rep_mib(uint64_t b) { return (double)b / MIB; }

/* Logical bytes over kernel time: what a compressed copy achieves end to
 * end (its kernels read or write across PCIe themselves). */
double gq_rep_gbps(uint64_t bytes, uint64_t ns) { return ns ? (double)bytes / (double)ns : 0.0; }

double gq_rep_pcie_ms_saved(const struct gq_rep_snapshot *n)
{
    return (double)gq_rep_saved(n->s.logical_bytes, n->s.moved_bytes) / (PCIE_GBPS * 1e6);
}

/* The rules a report lists: every GQSHIM_RULES rule, and every other rule
 * (gq_register) that compressed something. */
const struct gq_rule *gq_rep_rule(unsigned i)
{
    const struct gq_rule *r = gq_stats_rule_of(i);
    const struct gq_rules *cfg = &gq_cfg()->rules;
    if (!r && i < cfg->count)
        r = &cfg->rule[i];
    return r;
}

const char *gq_rep_rule_label(unsigned index)
{
    const struct gq_rule *r = gq_rep_rule(index);
    return r ? r->name : "?";
}

void gq_rep_tensor_verify(const struct gq_tensor_stats *t, double *max_abs, double *nmse)
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

const char *gq_rep_status(const struct gq_rep_snapshot *n)
{
    const struct gq_config *cfg = gq_cfg();
    if (!cfg->enable) {
        for (unsigned i = 0; i < GQ_OPT_COUNT; i++)
            if (cfg->invalid[i] && !gq_option_lenient((enum gq_opt_id)i))
                return "off: invalid GQSHIM_* settings, every call passed through";
        return "off: GQSHIM_ENABLE=0";
    }
    if (cfg->rules_set && n->when != GQ_REP_AT_SIGNAL && !gq_drv())
        return "off: the CUDA driver could not be loaded, every call passed through";
    if (!cfg->rules_set && !n->s.offloads && !n->s.restores)
        return "on, but no GQSHIM_RULES and no gq_register: nothing to compress";
    if (cfg->rules_set && !n->s.regions_dev && !n->s.regions_host)
        return "on, but GQSHIM_RULES matched no allocation";
    return "on";
}

const char *gq_rep_signal_name(int sig)
{
    switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    default: return "a signal";
    }
}

/* The exit report (see gq_stats.h). */
#define _GNU_SOURCE
#include "gq_stats.h"

#include "gq_log.h"
#include "gq_state.h"
#include "gq_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gq_stats gq_stats_g;

static const char *const pass_text[GQ_PASS_COUNT] = {
#define GQ_X(id, text) [GQ_PASS_##id] = text,
    GQ_PASS_REASONS(GQ_X)
#undef GQ_X
};

static const char *const pass_key[GQ_PASS_COUNT] = {
#define GQ_X(id, text) [GQ_PASS_##id] = #id,
    GQ_PASS_REASONS(GQ_X)
#undef GQ_X
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
            emit(f, "    %-42s %14llu\n", pass_text[i], (unsigned long long)s->passed[i]);
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
    emit(f, "  %-44s %14.2fx\n", "compression ratio", n->ratio);
    fclose(f);
    gq_log_raw(buf, len);
    free(buf);
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
        emit(f, "%s\n    \"%s\": %llu", i ? "," : "", pass_key[i], (unsigned long long)s->passed[i]);
    emit(f, "\n  },\n  \"logical_bytes\": %llu,\n  \"moved_bytes\": %llu,\n",
         (unsigned long long)s->logical_bytes, (unsigned long long)s->moved_bytes);
    emit(f, "  \"passthrough_bytes\": %llu,\n  \"host_bytes_held\": %llu,\n",
         (unsigned long long)s->passthrough_bytes, (unsigned long long)n->store.in_blocks);
    emit(f, "  \"pinned_peak_bytes\": %llu,\n  \"escaped_groups\": %llu,\n",
         (unsigned long long)n->store.peak_pinned, (unsigned long long)s->escaped_groups);
    emit(f, "  \"compression_ratio\": %.4f\n}\n", n->ratio);
    fclose(f);
}

void gq_stats_report(void)
{
    const struct gq_config *cfg = gq_cfg();
    struct snapshot snap;
    take(&snap);
    if (cfg->stats == GQ_STATS_TEXT)
        write_text(&snap);
    else if (cfg->stats == GQ_STATS_JSON)
        write_json(&snap, cfg->stats_path);
}

/* gq_options.c — the GQSHIM_* table, its parser and its renderings; see gq_options.h. */
#include "gq_options.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct gq_option table[GQ_OPT_COUNT] = {
#define GQ_X_ENTRY(ID, TYPE, DEF, LO, HI, ACC, HELP) \
    [GQ_OPT_##ID] = { GQ_OPT_##ID, "GQSHIM_" #ID, GQ_TYPE_##TYPE, DEF, LO, HI, ACC, HELP },
    GQ_OPTION_TABLE(GQ_X_ENTRY)
#undef GQ_X_ENTRY
};

#define PREFIX "GQSHIM_"
#define PREFIX_LEN (sizeof PREFIX - 1)

const struct gq_option *gq_option(enum gq_opt_id id)
{
    return (unsigned)id < GQ_OPT_COUNT ? &table[id] : NULL;
}

bool gq_option_lenient(enum gq_opt_id id)
{
    switch (id) {
    case GQ_OPT_LOG:
    case GQ_OPT_LOG_FILE:
    case GQ_OPT_STATS:
        return true;
    default:
        return false;
    }
}

const struct gq_option *gq_option_find(const char *name)
{
    for (unsigned i = 0; name && i < GQ_OPT_COUNT; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

const char *gq_opt_type_name(enum gq_opt_type type)
{
    switch (type) {
    case GQ_TYPE_BOOL: return "bool";
    case GQ_TYPE_SIZE: return "size";
    case GQ_TYPE_ENUM: return "enum";
    case GQ_TYPE_RULES: return "rules";
    case GQ_TYPE_PATH: return "path";
    case GQ_TYPE_STATS: return "stats";
    case GQ_TYPE_UINT: return "uint";
    }
    return "?";
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void msg_add(struct gq_msgs *m, const char *fmt, ...)
{
    if (m->count == GQ_MSGS_MAX) {
        m->dropped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->line[m->count], GQ_MSG_MAX, fmt, ap);
    va_end(ap);
    m->count++;
}

/* The slots of struct gq_config, per type. Each returns NULL for an id of
 * another type, which the parser treats as a table/struct mismatch. */
static bool *bool_slot(struct gq_config *cfg, enum gq_opt_id id)
{
    switch (id) {
    case GQ_OPT_ENABLE: return &cfg->enable;
    case GQ_OPT_TRACE: return &cfg->trace;
    case GQ_OPT_STRICT: return &cfg->strict;
    case GQ_OPT_VERIFY: return &cfg->verify;
    default: return NULL;
    }
}

static uint64_t *size_slot(struct gq_config *cfg, enum gq_opt_id id)
{
    switch (id) {
    case GQ_OPT_POOL_MAX: return &cfg->pool_max;
    case GQ_OPT_STAGING_MAX: return &cfg->staging_max;
    default: return NULL;
    }
}

static unsigned *uint_slot(struct gq_config *cfg, enum gq_opt_id id)
{
    switch (id) {
    case GQ_OPT_BITS: return &cfg->bits;
    case GQ_OPT_GROUP: return &cfg->group;
    case GQ_OPT_ERROR_EXITCODE: return &cfg->error_exitcode;
    case GQ_OPT_THREADS: return &cfg->threads;
    default: return NULL;
    }
}

/* Beyond [lo, hi]: the same values the rule grammar's key accepts. */
static bool uint_ok(enum gq_opt_id id, uint64_t u)
{
    switch (id) {
    case GQ_OPT_BITS: return gq_rule_bits_ok(u);
    case GQ_OPT_GROUP: return gq_rule_group_ok(u);
    default: return true;
    }
}

static char *path_slot(struct gq_config *cfg, enum gq_opt_id id)
{
    return id == GQ_OPT_LOG_FILE ? cfg->log_file : NULL;
}

static void set_enum(struct gq_config *cfg, enum gq_opt_id id, unsigned index)
{
    if (id == GQ_OPT_LOG)
        cfg->log = (enum gq_log_level)index;
    if (id == GQ_OPT_HOST_MODE)
        cfg->host_mode = index;
}

static unsigned get_enum(const struct gq_config *cfg, enum gq_opt_id id)
{
    if (id == GQ_OPT_HOST_MODE)
        return cfg->host_mode;
    return id == GQ_OPT_LOG ? (unsigned)cfg->log : 0;
}

/* The index of the span among the '|'-separated words of accepted, or -1. */
static int enum_index(const char *accepted, const char *v, size_t vn)
{
    int index = 0;
    for (const char *p = accepted;; index++) {
        const char *bar = strchr(p, '|');
        size_t wn = bar ? (size_t)(bar - p) : strlen(p);
        if (wn == vn && wn > 0 && strncasecmp(p, v, vn) == 0)
            return index;
        if (!bar)
            return -1;
        p = bar + 1;
    }
}

/* The error line just added belongs to a lenient option (or not). */
static void mark_last(struct gq_config *cfg, bool lenient)
{
    if (cfg->errors.count && !cfg->errors.dropped)
        cfg->error_lenient[cfg->errors.count - 1] = lenient;
}

static void invalid(struct gq_config *cfg, const struct gq_option *o, const char *v, size_t vn,
                    const char *what)
{
    char q[GQ_QUOTE_SHOWN * 4 + 32];
    gq_quote(q, sizeof q, v, vn);
    cfg->invalid[o->id] = true;
    if (gq_option_lenient(o->id))
        msg_add(&cfg->errors, "%s=%s is %s; accepted: %s; keeping the default (%s)", o->name, q,
                what, o->accepted, o->def[0] ? o->def : "unset");
    else
        msg_add(&cfg->errors, "%s=%s is %s; accepted: %s", o->name, q, what, o->accepted);
    mark_last(cfg, gq_option_lenient(o->id));
}

static bool store_path(struct gq_config *cfg, const struct gq_option *o, char *dst,
                       const char *v, size_t vn)
{
    if (vn >= GQ_PATH_MAX) {
        invalid(cfg, o, v, vn, "too long (a path has at most 4095 bytes)");
        return false;
    }
    memcpy(dst, v, vn);
    dst[vn] = '\0';
    return true;
}

/* Parses one trimmed, non-empty span into cfg; false (with one error line) when invalid. */
static bool parse_value(struct gq_config *cfg, const struct gq_option *o, const char *v,
                        size_t vn)
{
    switch (o->type) {
    case GQ_TYPE_BOOL: {
        bool b;
        if (gq_parse_bool(v, vn, &b) != GQ_PARSE_OK) {
            invalid(cfg, o, v, vn, "not a boolean");
            return false;
        }
        *bool_slot(cfg, o->id) = b;
        return true;
    }
    case GQ_TYPE_SIZE: {
        uint64_t u;
        enum gq_parse_rc rc = gq_parse_size(v, vn, &u);
        if (rc == GQ_PARSE_SYNTAX) {
            invalid(cfg, o, v, vn, "not a size");
            return false;
        }
        if (rc == GQ_PARSE_RANGE || u < o->lo || u > o->hi) {
            invalid(cfg, o, v, vn, "out of range");
            return false;
        }
        *size_slot(cfg, o->id) = u;
        return true;
    }
    case GQ_TYPE_ENUM: {
        int index = enum_index(o->accepted, v, vn);
        if (index < 0) {
            invalid(cfg, o, v, vn, "not one of the accepted words");
            return false;
        }
        set_enum(cfg, o->id, (unsigned)index);
        return true;
    }
    case GQ_TYPE_RULES: {
        char err[GQ_MSG_MAX];
        if (gq_rules_parse_span(v, vn, &cfg->rules, err, sizeof err) != 0) {
            msg_add(&cfg->errors, "%s", err);
            mark_last(cfg, false);
            cfg->invalid[o->id] = true;
            return false;
        }
        cfg->rules_set = cfg->rules.count > 0;
        return true;
    }
    case GQ_TYPE_PATH:
        return store_path(cfg, o, path_slot(cfg, o->id), v, vn);
    case GQ_TYPE_UINT: {
        uint64_t u;
        if (gq_parse_u64(v, vn, &u) != GQ_PARSE_OK || u < o->lo || u > o->hi ||
            !uint_ok(o->id, u)) {
            invalid(cfg, o, v, vn, "not an accepted value");
            return false;
        }
        *uint_slot(cfg, o->id) = (unsigned)u;
        return true;
    }
    case GQ_TYPE_STATS: {
        bool b;
        if (vn >= 5 && strncasecmp(v, "json:", 5) == 0) {
            const char *p = v + 5;
            size_t pn = vn - 5;
            gq_trim(&p, &pn);
            if (pn == 0) {
                invalid(cfg, o, v, vn, "missing the path after json:");
                return false;
            }
            if (!store_path(cfg, o, cfg->stats_path, p, pn))
                return false;
            cfg->stats = GQ_STATS_JSON;
            return true;
        }
        if (gq_parse_bool(v, vn, &b) != GQ_PARSE_OK) {
            invalid(cfg, o, v, vn, "not a statistics mode");
            return false;
        }
        cfg->stats = b ? GQ_STATS_TEXT : GQ_STATS_OFF;
        cfg->stats_path[0] = '\0';
        return true;
    }
    }
    return false;
}

void gq_config_defaults(struct gq_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        const char *v = table[i].def;
        size_t vn = strlen(v);
        if (vn)
            parse_value(cfg, &table[i], v, vn);
    }
    /* A default that fails to parse is a bug in the table; the unit tests
     * check that none does, so no line may remain here. */
    memset(&cfg->errors, 0, sizeof cfg->errors);
    memset(cfg->invalid, 0, sizeof cfg->invalid);
    memset(cfg->error_lenient, 0, sizeof cfg->error_lenient);
}

static const char *libc_getenv(const char *name)
{
    return getenv(name);
}

/* %p and %q{VAR} in the two output paths; a path that does not expand is
 * an invalid value of its (lenient) option, and its default holds. */
static void expand_paths(struct gq_config *cfg, gq_getenv_fn getenv_fn)
{
    static char tmp[GQ_PATH_MAX];
    char err[160];
    char *paths[2] = {cfg->log_file, cfg->stats_path};
    const struct gq_option *opts[2] = {&table[GQ_OPT_LOG_FILE], &table[GQ_OPT_STATS]};
    for (int i = 0; i < 2; i++) {
        if (!paths[i][0] || !strchr(paths[i], '%'))
            continue;
        if (gq_path_expand(paths[i], (long)getpid(), getenv_fn, tmp, sizeof tmp, err,
                           sizeof err) == 0) {
            memcpy(paths[i], tmp, strlen(tmp) + 1);
            continue;
        }
        char q[GQ_QUOTE_SHOWN * 4 + 32];
        gq_quote(q, sizeof q, paths[i], strlen(paths[i]));
        cfg->invalid[opts[i]->id] = true;
        cfg->from_env[opts[i]->id] = false;
        msg_add(&cfg->errors, "%s=%s%s: %s; keeping the default (%s)", opts[i]->name,
                i == 1 ? "json:" : "", q, err, opts[i]->def[0] ? opts[i]->def : "unset");
        mark_last(cfg, true);
        paths[i][0] = '\0';
        if (i == 1)
            cfg->stats = GQ_STATS_OFF;
    }
}

enum gq_config_status gq_config_parse(struct gq_config *cfg, gq_getenv_fn getenv_fn,
                                      char *const *envp)
{
    if (!getenv_fn)
        getenv_fn = libc_getenv;
    gq_config_defaults(cfg);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        const char *v = getenv_fn(table[i].name);
        if (!v)
            continue;
        size_t vn = strlen(v);
        gq_trim(&v, &vn);
        if (vn == 0)
            continue;
        if (parse_value(cfg, &table[i], v, vn))
            cfg->from_env[i] = true;
    }
    expand_paths(cfg, getenv_fn);
    /* After the loop: GQSHIM_RULES is read before GQSHIM_BITS / GQSHIM_GROUP. */
    for (unsigned i = 0; i < cfg->rules.count; i++)
        gq_rule_inherit(&cfg->rules.rule[i], cfg->bits, cfg->group);
    if (envp)
        gq_options_check_unknown(envp, &cfg->warnings);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++)
        if (cfg->invalid[i] && !gq_option_lenient((enum gq_opt_id)i))
            return GQ_CONFIG_INVALID;
    return GQ_CONFIG_OK;
}

uint64_t gq_config_pool_bytes(const struct gq_config *cfg, uint64_t phys_ram_bytes)
{
    return cfg->pool_max ? cfg->pool_max : phys_ram_bytes / 2;
}

static char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Optimal-string-alignment distance between a (an) and b, ignoring ASCII case;
 * inputs longer than 63 bytes count as far from everything. */
static unsigned edit_distance(const char *a, size_t an, const char *b, size_t bn)
{
    enum { N = 64 };
    unsigned d[N][N];
    if (an >= N || bn >= N)
        return N;
    for (size_t i = 0; i <= an; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= bn; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= an; i++) {
        for (size_t j = 1; j <= bn; j++) {
            unsigned cost = upper(a[i - 1]) != upper(b[j - 1]);
            unsigned best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && upper(a[i - 1]) == upper(b[j - 2]) &&
                upper(a[i - 2]) == upper(b[j - 1]) && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[an][bn];
}

/* True when the unknown suffix (after GQSHIM_) looks like a slip for known's:
 * a small edit, or one is a prefix of the other (GQSHIM_POOL, GQSHIM_LOGFILE). */
static bool is_close(const char *s, size_t sn, const char *known)
{
    size_t kn = strlen(known);
    if (edit_distance(s, sn, known, kn) <= (kn <= 4 ? 1u : 2u))
        return true;
    size_t m = sn < kn ? sn : kn;
    return m >= 3 && strncasecmp(s, known, m) == 0;
}

/* The suggestions for one unknown name, as "A, B or C". */
static void suggest(const char *s, size_t sn, char *out, size_t cap)
{
    unsigned hits[GQ_OPT_COUNT], nh = 0;
    size_t len = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++)
        if (is_close(s, sn, table[i].name + PREFIX_LEN))
            hits[nh++] = i;
    for (unsigned k = 0; k < nh && len < cap; k++) {
        const char *sep = k == 0 ? "" : (k + 1 == nh ? " or " : ", ");
        int w = snprintf(out + len, cap - len, "%s%s", sep, table[hits[k]].name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

void gq_options_check_unknown(char *const *envp, struct gq_msgs *warnings)
{
    for (; envp && *envp; envp++) {
        const char *e = *envp;
        const char *eq = strchr(e, '=');
        size_t n = eq ? (size_t)(eq - e) : strlen(e);
        if (n < PREFIX_LEN || strncasecmp(e, PREFIX, PREFIX_LEN) != 0)
            continue;
        bool known = false;
        for (unsigned i = 0; i < GQ_OPT_COUNT && !known; i++)
            known = strlen(table[i].name) == n && memcmp(table[i].name, e, n) == 0;
        if (known)
            continue;
        char q[GQ_QUOTE_SHOWN * 4 + 32], hint[256];
        gq_quote(q, sizeof q, e, n);
        suggest(e + PREFIX_LEN, n - PREFIX_LEN, hint, sizeof hint);
        if (hint[0]) {
            msg_add(warnings, "%s is not a gqshim variable (ignored); did you mean %s?", q, hint);
        } else {
            /* Listed from the table, so a new variable cannot be left out. */
            char names[GQ_OPT_COUNT * 24];
            size_t len = 0;
            names[0] = '\0';
            for (unsigned i = 0; i < GQ_OPT_COUNT && len < sizeof names; i++) {
                int w = snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                 table[i].name);
                if (w < 0)
                    break;
                len += (size_t)w;
            }
            msg_add(warnings, "%s is not a gqshim variable (ignored); known: %s", q, names);
        }
    }
}

int gq_config_value(const struct gq_config *cfg, enum gq_opt_id id, char *buf, size_t cap)
{
    const struct gq_option *o = gq_option(id);
    struct gq_config *c = (struct gq_config *)cfg; /* the slot helpers only read here */
    if (!o)
        return snprintf(buf, cap, "%s", "");
    switch (o->type) {
    case GQ_TYPE_BOOL:
        return snprintf(buf, cap, "%d", *bool_slot(c, id) ? 1 : 0);
    case GQ_TYPE_SIZE:
        return gq_format_size(buf, cap, *size_slot(c, id));
    case GQ_TYPE_ENUM: {
        unsigned index = get_enum(cfg, id);
        const char *p = o->accepted;
        for (unsigned k = 0; k < index && strchr(p, '|'); k++)
            p = strchr(p, '|') + 1;
        const char *bar = strchr(p, '|');
        return snprintf(buf, cap, "%.*s", (int)(bar ? (size_t)(bar - p) : strlen(p)), p);
    }
    case GQ_TYPE_RULES:
        return gq_rules_format(&cfg->rules, buf, cap);
    case GQ_TYPE_PATH:
        return snprintf(buf, cap, "%s", path_slot(c, id));
    case GQ_TYPE_UINT:
        return snprintf(buf, cap, "%u", *uint_slot(c, id));
    case GQ_TYPE_STATS:
        if (cfg->stats == GQ_STATS_JSON)
            return snprintf(buf, cap, "json:%s", cfg->stats_path);
        return snprintf(buf, cap, "%d", cfg->stats == GQ_STATS_TEXT);
    }
    return snprintf(buf, cap, "%s", "");
}

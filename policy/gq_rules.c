/* gq_rules.c — GQSHIM_RULES parsing, matching and printing; see gq_rules.h. */
#include "gq_rules.h"

#include "gq_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum key {
    KEY_ON, KEY_MIN, KEY_MAX, KEY_SIZE, KEY_NTH, KEY_DTYPE, KEY_BITS,
    KEY_GROUP, KEY_DIM, KEY_COLS, KEY_UPLOAD, KEY_NAME, KEY_COUNT
};

/* Key spellings, what each accepts, its default and meaning, in grammar order
 * (the printer's and the help's order). */
static const struct {
    const char *key;
    const char *accepted;
    const char *def;
    const char *help;
} keys[KEY_COUNT] = {
    [KEY_ON] = { "on", "host|dev", "required",
                 "host: pinned host allocations (cudaHostAlloc, cudaMallocHost); "
                 "dev: device allocations (cudaMalloc, cudaMallocAsync)" },
    [KEY_MIN] = { "min", GQ_ACCEPT_SIZE, "0", "smallest allocation size matched" },
    [KEY_MAX] = { "max", GQ_ACCEPT_SIZE, "no limit", "largest allocation size matched" },
    [KEY_SIZE] = { "size", "SIZE{|SIZE}, at most 16 sizes, each " GQ_ACCEPT_SIZE, "any",
                   "exact allocation sizes matched" },
    [KEY_NTH] = { "nth", "A or A-B, decimal, 1 <= A <= B", "every",
                  "only the A-th..B-th allocation that reaches this rule and passes its size "
                  "filter" },
    [KEY_DTYPE] = { "dtype", "f16|bf16|f32", "f16", "element type of the tensor" },
    [KEY_BITS] = { "bits", "2|4|8", "GQSHIM_BITS (4)", "bits per code" },
    [KEY_GROUP] = { "group", "an even number from 8 to 1024", "GQSHIM_GROUP (64)",
                    "elements per group" },
    [KEY_DIM] = { "dim", "last|0", "last",
                  "last: groups of consecutive elements; 0: groups down the columns of a "
                  "row-major matrix" },
    [KEY_COLS] = { "cols", "1..2147483647, with dim=0 only", "-",
                   "columns of the matrix (required with dim=0)" },
    [KEY_UPLOAD] = { "upload", "compress, with on=host only", "-",
                     "compress the range at its first upload (H2D) and upload it compressed "
                     "every time (weights streamed from host memory)" },
    [KEY_NAME] = { "name", "1 to 32 of [A-Za-z0-9_.-], unique among rules", "rule<k>",
                   "label in stats and trace (k: the rule's 1-based position)" },
};

#define ACCEPT_KEYS "on, min, max, size, nth, dtype, bits, group, dim, cols, upload, name"
#define ACCEPT_RULES "rule{;rule} with one optional trailing ';', rule = key=value{,key=value}"

/* Where an error is reported: the caller's buffer and the rule being parsed. */
struct ctx {
    char *err;
    size_t errcap;
    unsigned rule_no;     /* 1-based; 0 when the error concerns the whole text */
    const char *rule_txt;
    size_t rule_len;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fail(const struct ctx *c, const char *fmt, ...)
{
    if (!c->err || c->errcap == 0)
        return -1;
    int len;
    if (c->rule_no) {
        char q[160];
        gq_quote_max(q, sizeof q, c->rule_txt, c->rule_len, 32);
        len = snprintf(c->err, c->errcap, "GQSHIM_RULES: rule %u %s: ", c->rule_no, q);
    } else {
        len = snprintf(c->err, c->errcap, "GQSHIM_RULES");
    }
    if (len >= 0 && (size_t)len < c->errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + len, c->errcap - (size_t)len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* "<key>='<value>' is <what>; accepted: <accepted for key>" */
static int fail_value(const struct ctx *c, enum key k, const char *v, size_t vn, const char *what)
{
    char q[GQ_QUOTE_SHOWN * 4 + 32];
    gq_quote(q, sizeof q, v, vn);
    return fail(c, "%s=%s is %s; accepted: %s", keys[k].key, q, what, keys[k].accepted);
}

static int parse_size_value(const struct ctx *c, enum key k, const char *v, size_t vn,
                            uint64_t *out)
{
    enum gq_parse_rc rc = gq_parse_size(v, vn, out);
    if (rc == GQ_PARSE_RANGE)
        return fail_value(c, k, v, vn, "out of range (more than 2^64-1 bytes)");
    if (rc != GQ_PARSE_OK)
        return fail_value(c, k, v, vn, "not a size");
    return 0;
}

static int parse_sizes(const struct ctx *c, struct gq_rule *r, const char *v, size_t vn)
{
    const char *p = v, *end = v + vn;
    for (;;) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        const char *stop = bar ? bar : end;
        const char *t = p;
        size_t tn = (size_t)(stop - p);
        gq_trim(&t, &tn);
        if (r->nsizes == GQ_RULE_SIZES_MAX)
            return fail_value(c, KEY_SIZE, v, vn, "a list of more than 16 sizes");
        if (tn == 0)
            return fail_value(c, KEY_SIZE, v, vn, "a list with an empty entry");
        enum gq_parse_rc rc = gq_parse_size(t, tn, &r->sizes[r->nsizes]);
        if (rc != GQ_PARSE_OK)
            return fail_value(c, KEY_SIZE, v, vn, rc == GQ_PARSE_RANGE
                              ? "out of range (an entry exceeds 2^64-1 bytes)"
                              : "not a list of sizes");
        r->nsizes++;
        if (!bar)
            return 0;
        p = bar + 1;
    }
}

static int parse_nth(const struct ctx *c, struct gq_rule *r, const char *v, size_t vn)
{
    const char *dash = memchr(v, '-', vn);
    const char *a = v, *b = dash ? dash + 1 : v;
    size_t an = dash ? (size_t)(dash - v) : vn;
    size_t bn = dash ? (size_t)(v + vn - b) : vn;
    gq_trim(&a, &an);
    gq_trim(&b, &bn);
    uint64_t lo, hi;
    enum gq_parse_rc ra = gq_parse_u64(a, an, &lo), rb = gq_parse_u64(b, bn, &hi);
    if (ra == GQ_PARSE_RANGE || rb == GQ_PARSE_RANGE)
        return fail_value(c, KEY_NTH, v, vn, "out of range");
    if (ra != GQ_PARSE_OK || rb != GQ_PARSE_OK)
        return fail_value(c, KEY_NTH, v, vn, "not a count or range of counts");
    if (lo == 0)
        return fail_value(c, KEY_NTH, v, vn, "0, but counting starts at 1");
    if (hi < lo)
        return fail_value(c, KEY_NTH, v, vn, "a range whose end is before its start");
    r->nth_lo = lo;
    r->nth_hi = hi;
    return 0;
}

static bool name_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

/* Parses one value into the rule; the key is already known and not duplicated. */
static int parse_value(const struct ctx *c, struct gq_rule *r, enum key k, const char *v,
                       size_t vn)
{
    uint64_t u = 0;
    switch (k) {
    case KEY_ON:
        if (vn == 4 && memcmp(v, "host", 4) == 0)
            r->on = GQ_ON_HOST;
        else if (vn == 3 && memcmp(v, "dev", 3) == 0)
            r->on = GQ_ON_DEV;
        else
            return fail_value(c, k, v, vn, "not a kind of allocation");
        return 0;
    case KEY_MIN:
        return parse_size_value(c, k, v, vn, &r->min);
    case KEY_MAX:
        return parse_size_value(c, k, v, vn, &r->max);
    case KEY_SIZE:
        return parse_sizes(c, r, v, vn);
    case KEY_NTH:
        return parse_nth(c, r, v, vn);
    case KEY_DTYPE:
        for (int d = GQ_RULE_F16; d <= GQ_RULE_F32; d++) {
            const char *nm = gq_rule_dtype_name((enum gq_rule_dtype)d);
            if (vn == strlen(nm) && memcmp(v, nm, vn) == 0) {
                r->dtype = (enum gq_rule_dtype)d;
                return 0;
            }
        }
        return fail_value(c, k, v, vn, "not an element type");
    case KEY_BITS:
        if (gq_parse_u64(v, vn, &u) != GQ_PARSE_OK || !gq_rule_bits_ok(u))
            return fail_value(c, k, v, vn, "not a supported code width");
        r->bits = (unsigned)u;
        r->bits_set = true;
        return 0;
    case KEY_GROUP:
        if (gq_parse_u64(v, vn, &u) != GQ_PARSE_OK || !gq_rule_group_ok(u))
            return fail_value(c, k, v, vn, "not a supported group size");
        r->group = (unsigned)u;
        r->group_set = true;
        return 0;
    case KEY_DIM:
        if (vn == 4 && memcmp(v, "last", 4) == 0)
            r->dim = GQ_RULE_DIM_LAST;
        else if (vn == 1 && v[0] == '0')
            r->dim = GQ_RULE_DIM_0;
        else
            return fail_value(c, k, v, vn, "not a grouping axis");
        return 0;
    case KEY_COLS:
        if (gq_parse_u64(v, vn, &u) != GQ_PARSE_OK || u == 0 || u > GQ_RULE_COLS_MAX)
            return fail_value(c, k, v, vn, "not a column count");
        r->cols = u;
        return 0;
    case KEY_UPLOAD:
        if (vn != 8 || memcmp(v, "compress", 8) != 0)
            return fail_value(c, k, v, vn, "not an upload mode");
        r->upload_compress = true;
        return 0;
    case KEY_NAME:
        if (vn > GQ_RULE_NAME_MAX)
            return fail_value(c, k, v, vn, "too long");
        for (size_t i = 0; i < vn; i++)
            if (!name_char_ok(v[i]))
                return fail_value(c, k, v, vn, "not a label");
        memcpy(r->name, v, vn);
        r->name[vn] = '\0';
        r->named = true;
        return 0;
    case KEY_COUNT:
        break;
    }
    return -1;
}

static void rule_defaults(struct gq_rule *r, unsigned index)
{
    memset(r, 0, sizeof *r);
    r->max = UINT64_MAX;
    r->dtype = GQ_RULE_F16;
    r->bits = 4;
    r->group = 64;
    r->dim = GQ_RULE_DIM_LAST;
    r->index = index;
    snprintf(r->name, sizeof r->name, "rule%u", index + 1);
    atomic_init(&r->seen, 0);
}

/* Parses the key=value list of one rule (already trimmed, not empty). */
static int parse_rule(const struct ctx *c, struct gq_rule *r, const char *s, size_t n)
{
    unsigned given = 0; /* bit per enum key */
    const char *p = s, *end = s + n;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        const char *item = p;
        size_t in = (size_t)(stop - p);
        gq_trim(&item, &in);
        if (in == 0)
            return fail(c, "empty key=value (a stray ','); accepted: key=value{,key=value}");
        const char *eq = memchr(item, '=', in);
        if (!eq) {
            char q[GQ_QUOTE_SHOWN * 4 + 32];
            gq_quote(q, sizeof q, item, in);
            return fail(c, "%s is not key=value; accepted keys: %s", q, ACCEPT_KEYS);
        }
        const char *k = item, *v = eq + 1;
        size_t kn = (size_t)(eq - item), vn = (size_t)(item + in - v);
        gq_trim(&k, &kn);
        gq_trim(&v, &vn);
        enum key key = KEY_COUNT;
        for (int i = 0; i < KEY_COUNT; i++)
            if (kn == strlen(keys[i].key) && memcmp(k, keys[i].key, kn) == 0)
                key = (enum key)i;
        if (key == KEY_COUNT) {
            char q[GQ_QUOTE_SHOWN * 4 + 32];
            gq_quote(q, sizeof q, k, kn);
            return fail(c, "unknown key %s; accepted keys: %s", q, ACCEPT_KEYS);
        }
        if (given & (1u << key))
            return fail(c, "key '%s' given twice; accepted: each key at most once per rule",
                        keys[key].key);
        given |= 1u << key;
        if (vn == 0)
            return fail_value(c, key, v, vn, "empty");
        if (parse_value(c, r, key, v, vn) != 0)
            return -1;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!(given & (1u << KEY_ON)))
        return fail(c, "missing on=; accepted: on=host or on=dev in every rule");
    if (r->min > r->max) {
        char a[32], b[32];
        gq_format_size(a, sizeof a, r->min);
        gq_format_size(b, sizeof b, r->max);
        return fail(c, "min=%s is greater than max=%s; accepted: min <= max", a, b);
    }
    if (r->dim == GQ_RULE_DIM_0 && !(given & (1u << KEY_COLS)))
        return fail(c, "dim=0 without cols=; accepted: dim=0,cols=N (N columns of a row-major "
                       "matrix)");
    if (r->dim != GQ_RULE_DIM_0 && (given & (1u << KEY_COLS)))
        return fail(c, "cols= without dim=0; accepted: cols=N only together with dim=0");
    if (r->upload_compress && r->on != GQ_ON_HOST)
        return fail(c, "upload=compress with on=dev; accepted: upload=compress only with on=host "
                       "(it compresses host ranges that are uploaded)");
    return 0;
}

int gq_rules_parse(const char *text, struct gq_rules *out, char *err, size_t errcap)
{
    return gq_rules_parse_span(text, text ? strlen(text) : 0, out, err, errcap);
}

int gq_rules_parse_span(const char *text, size_t len, struct gq_rules *out, char *err,
                        size_t errcap)
{
    struct ctx c = { .err = err, .errcap = errcap };
    out->count = 0;
    if (err && errcap)
        err[0] = '\0';
    if (!text || len == 0)
        return 0;
    if (len > GQ_RULES_INPUT_MAX) {
        char q[GQ_QUOTE_SHOWN * 4 + 32];
        gq_quote(q, sizeof q, text, len);
        return fail(&c, "=%s is too long; accepted: at most %d bytes", q, GQ_RULES_INPUT_MAX);
    }
    const char *p = text, *end = text + len;
    unsigned n = 0;
    for (;;) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *stop = semi ? semi : end;
        const char *s = p;
        size_t sn = (size_t)(stop - p);
        gq_trim(&s, &sn);
        if (sn == 0) {
            /* A blank text, or the blank after one trailing ';', ends the list. */
            if (!semi && (n > 0 || p == text))
                break;
            out->count = 0;
            return fail(&c, ": rule %u is empty; accepted: %s", n + 1, ACCEPT_RULES);
        }
        if (n == GQ_RULES_MAX) {
            out->count = 0;
            return fail(&c, ": more than %d rules; accepted: at most %d rules", GQ_RULES_MAX,
                        GQ_RULES_MAX);
        }
        c.rule_no = n + 1;
        c.rule_txt = s;
        c.rule_len = sn;
        rule_defaults(&out->rule[n], n);
        if (parse_rule(&c, &out->rule[n], s, sn) != 0) {
            out->count = 0;
            return -1;
        }
        n++;
        if (!semi)
            break;
        p = semi + 1;
    }
    /* Names label stats and trace lines, so they must tell rules apart. */
    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(out->rule[i].name, out->rule[j].name) == 0) {
                c.rule_no = 0;
                out->count = 0;
                return fail(&c, ": rule %u and rule %u are both named '%s'; accepted: "
                                "name=LABEL unique among rules (rule<k> is the default name "
                                "of rule k)", j + 1, i + 1, out->rule[i].name);
            }
        }
    }
    out->count = n;
    return 0;
}

bool gq_rule_size_ok(const struct gq_rule *r, uint64_t size)
{
    if (size < r->min || size > r->max)
        return false;
    if (r->nsizes == 0)
        return true;
    for (unsigned i = 0; i < r->nsizes; i++)
        if (r->sizes[i] == size)
            return true;
    return false;
}

const struct gq_rule *gq_rules_match(struct gq_rules *rules, enum gq_on on, uint64_t size)
{
    if (!rules)
        return NULL;
    for (unsigned i = 0; i < rules->count; i++) {
        struct gq_rule *r = &rules->rule[i];
        if (r->on != on || !gq_rule_size_ok(r, size))
            continue;
        if (r->nth_lo == 0)
            return r;
        /* Relaxed is enough: the count orders nothing else, it only has to be exact. */
        uint64_t k = atomic_fetch_add_explicit(&r->seen, 1, memory_order_relaxed) + 1;
        if (k >= r->nth_lo && k <= r->nth_hi)
            return r;
    }
    return NULL;
}

const struct gq_rule *gq_rules_would_match(const struct gq_rules *rules, enum gq_on on,
                                           uint64_t size)
{
    if (!rules)
        return NULL;
    for (unsigned i = 0; i < rules->count; i++) {
        const struct gq_rule *r = &rules->rule[i];
        if (r->on != on || !gq_rule_size_ok(r, size))
            continue;
        if (r->nth_lo == 0)
            return r;
        uint64_t k = atomic_load_explicit(&r->seen, memory_order_relaxed) + 1;
        if (k >= r->nth_lo && k <= r->nth_hi)
            return r;
    }
    return NULL;
}

bool gq_rule_bits_ok(uint64_t bits)
{
    return bits == 2 || bits == 4 || bits == 8;
}

bool gq_rule_group_ok(uint64_t group)
{
    return group >= GQ_RULE_GROUP_MIN && group <= GQ_RULE_GROUP_MAX && group % 2 == 0;
}

void gq_rule_inherit(struct gq_rule *r, unsigned bits, unsigned group)
{
    if (!r->bits_set)
        r->bits = bits;
    if (!r->group_set)
        r->group = group;
}

void gq_rules_reset_counts(struct gq_rules *rules)
{
    for (unsigned i = 0; i < rules->count; i++)
        atomic_store_explicit(&rules->rule[i].seen, 0, memory_order_relaxed);
}


static void emit_size(struct gq_out *o, const char *prefix, uint64_t v)
{
    char s[32];
    gq_format_size(s, sizeof s, v);
    gq_out_emit(o, "%s%s", prefix, s);
}

static void format_rule(struct gq_out *o, const struct gq_rule *r)
{
    gq_out_emit(o, "on=%s", gq_on_name(r->on));
    if (r->min != 0)
        emit_size(o, ",min=", r->min);
    if (r->max != UINT64_MAX)
        emit_size(o, ",max=", r->max);
    for (unsigned i = 0; i < r->nsizes; i++)
        emit_size(o, i == 0 ? ",size=" : "|", r->sizes[i]);
    if (r->nth_lo != 0 && r->nth_lo == r->nth_hi)
        gq_out_emit(o, ",nth=%llu", (unsigned long long)r->nth_lo);
    else if (r->nth_lo != 0)
        gq_out_emit(o, ",nth=%llu-%llu", (unsigned long long)r->nth_lo, (unsigned long long)r->nth_hi);
    if (r->dtype != GQ_RULE_F16)
        gq_out_emit(o, ",dtype=%s", gq_rule_dtype_name(r->dtype));
    if (r->bits_set)
        gq_out_emit(o, ",bits=%u", r->bits);
    if (r->group_set)
        gq_out_emit(o, ",group=%u", r->group);
    if (r->dim == GQ_RULE_DIM_0)
        gq_out_emit(o, ",dim=0,cols=%llu", (unsigned long long)r->cols);
    if (r->upload_compress)
        gq_out_emit(o, ",upload=compress");
    if (r->named)
        gq_out_emit(o, ",name=%s", r->name);
}


int gq_rule_format(const struct gq_rule *r, char *buf, size_t cap)
{
    struct gq_out o = { buf, cap, 0 };
    format_rule(&o, r);
    return gq_out_finish(&o);
}

int gq_rules_format(const struct gq_rules *rules, char *buf, size_t cap)
{
    struct gq_out o = { buf, cap, 0 };
    for (unsigned i = 0; i < rules->count; i++) {
        if (i)
            gq_out_emit(&o, ";");
        format_rule(&o, &rules->rule[i]);
    }
    return gq_out_finish(&o);
}

int gq_rules_help(char *buf, size_t cap)
{
    struct gq_out o = { buf, cap, 0 };
    gq_out_emit(&o, "GQSHIM_RULES = rule{;rule}, rule = key=value{,key=value}; the first matching "
             "rule wins. Keys:\n");
    for (int k = 0; k < KEY_COUNT; k++)
        gq_out_emit(&o, "  %-6s %s\n         accepted: %s; default: %s\n", keys[k].key, keys[k].help,
             keys[k].accepted, keys[k].def);
    return gq_out_finish(&o);
}

const char *gq_on_name(enum gq_on on)
{
    return on == GQ_ON_DEV ? "dev" : "host";
}

const char *gq_rule_dtype_name(enum gq_rule_dtype dtype)
{
    switch (dtype) {
    case GQ_RULE_BF16: return "bf16";
    case GQ_RULE_F32: return "f32";
    case GQ_RULE_F16: break;
    }
    return "f16";
}

const char *gq_rule_dim_name(enum gq_rule_dim dim)
{
    return dim == GQ_RULE_DIM_0 ? "0" : "last";
}

unsigned gq_rule_dtype_size(enum gq_rule_dtype dtype)
{
    return dtype == GQ_RULE_F32 ? 4 : 2;
}

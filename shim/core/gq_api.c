/*
 * The public API (include/gqshim.h): programs register their own tensors.
 *
 * A registration is what a rule's match would have produced: a region in the
 * registry (gq_regions_add) pointing at a rule object that carries the codec
 * parameters. Those rule objects live here, one per distinct spec, and are
 * never freed: regions and compressed entries keep pointers to their rule for
 * as long as they exist.
 */
#define _GNU_SOURCE
#include "core/gq_api.h"

#include "gqshim.h"

#include "base/gq_config.h"
#include "base/gq_counters.h"
#include "base/gq_log.h"
#include "base/gq_regions.h"
#include "gpu/gq_ptr.h"
#include "host/gq_hostmem.h"
#include "store/gq_store.h"
#include "xfer/gq_plan.h"

#include "gpu/gq_driver.h"

#include "gq_parse.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_RULES_MAX 256 /* distinct specs; documented in gqshim.h */

/* Every field of version 1: the least a caller may ask for, forever. */
#define STATS_V1_SIZE (offsetof(struct gq_stats_public, pinned_peak_bytes) + sizeof(uint64_t))

struct api_rule {
    struct gq_rule rule;
    char key[GQ_RULES_ERR_MAX]; /* canonical text, effective bits/group included */
    struct api_rule *next;
};

/* One gq_register that is still in force, and the allocation it lies in. */
struct api_reg {
    uintptr_t start;
    uintptr_t alloc;
    enum gq_on on;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct api_rule *rules;
static unsigned nrules;
static struct api_reg *regs;
static size_t nregs, capregs;
static size_t live; /* nregs, read without the lock by gq_api_on_free */

/* Keys that select allocations: the caller names the range itself. */
static const char *const selecting_keys[] = { "on", "min", "max", "size", "nth" };

/* 0 when spec (already trimmed) uses no selecting key and holds one rule;
 * else a reason in why. */
static int spec_check(const char *spec, size_t n, char *why, size_t cap)
{
    if (memchr(spec, ';', n)) {
        snprintf(why, cap, "holds ';'; accepted: the keys of one rule");
        return -1;
    }
    for (const char *p = spec, *end = spec + n; p < end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *k = p;
        size_t kn = (size_t)((eq ? eq : stop) - p);
        gq_trim(&k, &kn);
        for (size_t i = 0; i < sizeof selecting_keys / sizeof selecting_keys[0]; i++) {
            if (kn == strlen(selecting_keys[i]) && memcmp(k, selecting_keys[i], kn) == 0) {
                snprintf(why, cap, "key '%s' selects allocations; accepted: dtype, bits, "
                         "group, dim, cols, upload, name (the pointer is the selection)",
                         selecting_keys[i]);
                return -1;
            }
        }
        p = stop + 1;
    }
    return 0;
}

/* The parser's line names GQSHIM_RULES and the rule text we built around the
 * caller's spec; keep only what it says about the spec's keys. */
static const char *reason_of(const char *err)
{
    const char *head = "GQSHIM_RULES: rule 1 '";
    if (strncmp(err, head, strlen(head)) != 0)
        return err;
    const char *end = strstr(err + strlen(head), "': ");
    return end ? end + 3 : err;
}

/* Parses spec into *out as a rule `on`, with GQSHIM_BITS / GQSHIM_GROUP for
 * what it does not set. -EINVAL (logged) when it does not parse. */
static int parse_spec(const char *spec, enum gq_on on, struct gq_rule *out)
{
    static struct gq_rules parsed; /* large; used under `lock` only */
    char text[GQ_RULES_INPUT_MAX + 16], why[GQ_RULES_ERR_MAX];
    const char *s = spec ? spec : "";
    size_t n = strlen(s);
    gq_trim(&s, &n);
    char q[GQ_QUOTE_SHOWN * 4 + 32];
    gq_quote(q, sizeof q, s, n);
    if (n > GQ_RULES_INPUT_MAX) {
        gq_warn("gq_register: spec %s is too long; accepted: at most %d bytes", q,
                GQ_RULES_INPUT_MAX);
        return -EINVAL;
    }
    if (spec_check(s, n, why, sizeof why) != 0) {
        gq_warn("gq_register: spec %s: %s", q, why);
        return -EINVAL;
    }
    snprintf(text, sizeof text, "on=%s%s%.*s", gq_on_name(on), n ? "," : "", (int)n, s);
    if (gq_rules_parse(text, &parsed, why, sizeof why) != 0 || parsed.count != 1) {
        gq_warn("gq_register: spec %s: %s", q, reason_of(why));
        return -EINVAL;
    }
    memcpy(out, &parsed.rule[0], sizeof *out);
    const struct gq_config *cfg = gq_cfg();
    gq_rule_inherit(out, cfg->bits, cfg->group);
    /* The rule is fixed now: a later GQSHIM_BITS cannot change it. */
    out->bits_set = out->group_set = true;
    return 0;
}

/* The kept rule equal to r (same on, parameters and name), or a new one.
 * NULL with *rc set when there is no room. Called under `lock`. */
static const struct gq_rule *keep_rule(struct gq_rule *r, int *rc)
{
    char key[GQ_RULES_ERR_MAX];
    gq_rule_format(r, key, sizeof key);
    for (struct api_rule *a = rules; a; a = a->next)
        if (strcmp(a->key, key) == 0)
            return &a->rule;
    if (nrules == API_RULES_MAX) {
        gq_warn_capped("gq_register: more than %d distinct specs; accepted: at most %d",
                       API_RULES_MAX, API_RULES_MAX);
        *rc = -ENOSPC;
        return NULL;
    }
    struct api_rule *a = calloc(1, sizeof *a);
    if (!a) {
        *rc = -ENOMEM;
        return NULL;
    }
    memcpy(&a->rule, r, sizeof *r);
    atomic_init(&a->rule.seen, 0);
    if (!a->rule.named)
        snprintf(a->rule.name, sizeof a->rule.name, "api%u", nrules + 1);
    /* Past the config's rule positions, so the two never share an index. */
    a->rule.index = GQ_RULES_MAX + nrules;
    snprintf(a->key, sizeof a->key, "%s", key);
    a->next = rules;
    rules = a;
    nrules++;
    return &a->rule;
}

/* Which registry [ptr, ptr+bytes) belongs in, and the start of the one
 * allocation that holds it. */
static int classify(void *ptr, size_t bytes, enum gq_on *on, uintptr_t *alloc)
{
    struct gq_region reg;
    /* Host memory the shim backs is unknown to the driver, and registered. */
    if (gq_hostmem_owned(ptr, bytes)) {
        if (!gq_regions_lookup(GQ_ON_HOST, ptr, bytes, &reg))
            return -EFAULT;
        *on = GQ_ON_HOST;
        *alloc = reg.start;
        return 0;
    }
    if (!gq_drv())
        return -ENODEV;
    /* The runtime binds its context to a thread lazily: bind it now. */
    gq_ctx_bind();
    struct gq_ptr_info info;
    uintptr_t p = (uintptr_t)ptr;
    if (gq_ptr_query(ptr, &info) != 0)
        return -EFAULT;
    if (p < info.base || bytes > info.size || p - info.base > info.size - bytes)
        return -EFAULT;
    if (info.type == CU_MEMORYTYPE_DEVICE)
        *on = GQ_ON_DEV;
    else if (info.type == CU_MEMORYTYPE_HOST)
        *on = GQ_ON_HOST;
    else
        return -EFAULT;
    *alloc = info.base;
    return 0;
}

/* Forgets the records of registrations that [start, start+bytes) replaces.
 * Called under `lock`. */
static void forget_overlapping(enum gq_on on, uintptr_t start, size_t bytes)
{
    for (size_t i = 0; i < nregs;) {
        struct gq_region r;
        int gone = regs[i].on == on &&
                   (!gq_regions_lookup(on, (void *)regs[i].start, 1, &r) ||
                    r.start != regs[i].start || (regs[i].start >= start &&
                                                 regs[i].start < start + bytes));
        if (gone)
            regs[i] = regs[--nregs];
        else
            i++;
    }
}

static int is_api_reg(enum gq_on on, uintptr_t start)
{
    for (size_t i = 0; i < nregs; i++)
        if (regs[i].on == on && regs[i].start == start)
            return 1;
    return 0;
}

static int remember(enum gq_on on, uintptr_t start, uintptr_t alloc)
{
    if (nregs == capregs) {
        size_t cap = capregs ? capregs * 2 : 16;
        struct api_reg *n = realloc(regs, cap * sizeof *n);
        if (!n)
            return -ENOMEM;
        regs = n;
        capregs = cap;
    }
    regs[nregs++] = (struct api_reg){ start, alloc, on };
    return 0;
}

int gq_api_register(void *ptr, size_t bytes, const char *spec)
{
    if (!ptr || bytes == 0)
        return -EINVAL;
    if ((uintptr_t)ptr + bytes < (uintptr_t)ptr)
        return -EFAULT;
    if (gq_config_activate() != 0)
        return -ENODEV;
    enum gq_on on;
    uintptr_t alloc;
    int rc = classify(ptr, bytes, &on, &alloc);
    if (rc != 0)
        return rc;
    struct gq_rule r;
    pthread_mutex_lock(&lock);
    rc = parse_spec(spec, on, &r);
    const struct gq_rule *kept = rc == 0 ? keep_rule(&r, &rc) : NULL;
    if (kept) {
        gq_regions_add(on, ptr, bytes, kept);
        struct gq_region got;
        if (!gq_regions_lookup(on, ptr, bytes, &got) || got.rule != kept) {
            rc = -ENOMEM; /* the registry could not take it */
        } else {
            forget_overlapping(on, (uintptr_t)ptr, bytes);
            rc = remember(on, (uintptr_t)ptr, alloc);
            if (rc != 0)
                gq_regions_on_free(on, ptr);
            __atomic_store_n(&live, nregs, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&lock);
    if (rc == 0)
        gq_debug("gq_register: %p (%zu bytes, %s) as %s", ptr, bytes, gq_on_name(on),
                 kept->name);
    if (rc == 0)
        gq_plan_reserve(kept, bytes); /* an allocation event, not a copy */
    return rc;
}

int gq_api_unregister(void *ptr)
{
    if (!gq_cfg()->enable)
        return -ENODEV;
    struct gq_region r;
    enum gq_on on;
    if (ptr && gq_regions_lookup(GQ_ON_DEV, ptr, 1, &r) && r.start == (uintptr_t)ptr)
        on = GQ_ON_DEV;
    else if (ptr && gq_regions_lookup(GQ_ON_HOST, ptr, 1, &r) && r.start == (uintptr_t)ptr)
        on = GQ_ON_HOST;
    else
        return -ENOENT;
    pthread_mutex_lock(&lock);
    /* In host memory the shim backs, a range gq_register made can go; the
     * allocation's own registration stays until cudaFreeHost. */
    if (on == GQ_ON_HOST && gq_hostmem_owned(ptr, 1) && !is_api_reg(on, (uintptr_t)ptr)) {
        pthread_mutex_unlock(&lock);
        return -EPERM;
    }
    gq_regions_on_free(on, ptr);
    forget_overlapping(on, (uintptr_t)ptr, 1);
    __atomic_store_n(&live, nregs, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    return 0;
}

void gq_api_on_free(enum gq_on on, void *p)
{
    if (!p || __atomic_load_n(&live, __ATOMIC_ACQUIRE) == 0)
        return;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nregs;) {
        if (regs[i].on == on && regs[i].alloc == (uintptr_t)p) {
            gq_regions_on_free(on, (void *)regs[i].start);
            regs[i] = regs[--nregs];
        } else {
            i++;
        }
    }
    __atomic_store_n(&live, nregs, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
}

int gq_api_stats(struct gq_stats_public *out, size_t size)
{
    if (!out || size < STATS_V1_SIZE)
        return -EINVAL;
    struct gq_stats_public s;
    memset(&s, 0, sizeof s);
    s.version = GQ_STATS_VERSION;
    s.size = (uint32_t)(size < sizeof s ? size : sizeof s);
#define LOAD(f) __atomic_load_n(&gq_stats_g.f, __ATOMIC_RELAXED)
    s.offloads = LOAD(offloads);
    s.restores = LOAD(restores);
    s.logical_bytes = LOAD(logical_bytes);
    s.moved_bytes = LOAD(moved_bytes);
    s.copies = LOAD(copies);
    for (int i = 0; i < GQ_PASS_COUNT; i++)
        s.passed_through += LOAD(passed[i]);
    s.passthrough_bytes = LOAD(passthrough_bytes);
    s.escaped_groups = LOAD(escaped_groups);
    s.regions_dev = LOAD(regions_dev);
    s.regions_host = LOAD(regions_host);
#undef LOAD
    struct gq_store_usage u;
    gq_store_usage(&u);
    s.host_bytes_held = u.in_blocks;
    s.pinned_peak_bytes = u.peak_pinned;
    /* A caller built against a later header gets zeros past what we know. */
    memset(out, 0, size);
    memcpy(out, &s, s.size);
    return 0;
}

void gq_api_atfork(enum gq_fork_phase ph) { gq_mutex_atfork(&lock, ph); }

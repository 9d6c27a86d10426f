/* GQSHIM_TRACE: allocation and copy lines, offload candidates, a suggested
 * GQSHIM_RULES (see gq_trace.h). Tracing is a diagnosis mode: it takes a
 * lock per event and keeps every allocation it saw until exit. */
#define _GNU_SOURCE
#include "base/gq_trace.h"

#include "base/gq_imap.h"
#include "base/gq_log.h"
#include "base/gq_copy_flags.h"
#include "base/gq_config.h"
#include "base/gq_counters.h"
#include "base/gq_foreign.h"
#include "base/gq_fork.h"

#include <dlfcn.h>
#include <sys/uio.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gq_trace_flag_ = -1;

/* Copies the shim would never compress (xfer/gq_plan.h's GQ_MIN_COPY) do not make
 * an allocation a candidate. */
#define MIN_COPY 4096u
#define SIZES_KEPT 4   /* distinct copy sizes remembered per direction */
#define PENDING 256    /* recent D2H copies into unallocated host memory */
#define LISTED 8       /* candidates listed one by one in the summary */

struct rec {
    uintptr_t start;
    size_t size;
    enum gq_on on;
    unsigned id; /* alloc#id, 1-based, in allocation order */
    const char *api;
    const struct gq_rule *rule;
    /* host: D2H into it (out of the GPU), H2D from it; dev: D2H from it, H2D into it */
    uint64_t d2h, h2d;
    size_t d2h_size[SIZES_KEPT], h2d_size[SIZES_KEPT];
    unsigned n_d2h_size, n_h2d_size;
    uint64_t round_trips; /* dev: D2H copies that came back from the same host bytes */
    /* Host bytes of its H2D copies (host) or round trips (dev), scanned
     * (base/gq_foreign.h): how many, and how many each dtype could hold. */
    uint64_t scans, plausible[4];
};

struct pending {
    uintptr_t host;
    size_t size;
    unsigned rec; /* index + 1; 0 = empty */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rec *recs;
static unsigned nrecs, caprecs;
static struct gq_imap live[2] = {GQ_IMAP_INIT, GQ_IMAP_INIT}; /* val: index + 1 */
static struct pending pend[PENDING];
static unsigned pend_next;
static uint64_t ncopies;

struct site {
    const char *api;
    const void *caller;
};
static __thread struct site cur_site;
static __thread int cur_why = -1;

static int on(void)
{
    int f = __atomic_load_n(&gq_trace_flag_, __ATOMIC_RELAXED);
    if (f < 0) {
        const struct gq_config *cfg = gq_cfg();
        f = cfg->enable && cfg->trace;
        __atomic_store_n(&gq_trace_flag_, f, __ATOMIC_RELAXED);
    }
    return f > 0;
}


void gq_trace_site(const char *api, const void *caller)
{
    if (on())
        cur_site = (struct site){api, caller};
}

/* The site of the current event, consumed: a later event of this thread that
 * no hook named (an internal call) must not inherit it. */
static struct site take_site(void)
{
    struct site s = cur_site;
    cur_site = (struct site){NULL, NULL};
    return s;
}

static const char *lib_of(const void *caller)
{
    Dl_info info;
    if (!caller || !dladdr(caller, &info) || !info.dli_fname || !*info.dli_fname)
        return "?";
    const char *slash = strrchr(info.dli_fname, '/');
    return slash ? slash + 1 : info.dli_fname;
}

static const char *rule_name(const struct gq_rule *r) { return r ? r->name : "-"; }

void gq_trace_alloc(enum gq_on side, const void *p, size_t size, const struct gq_rule *rule)
{
    if (!on() || !p)
        return;
    struct site s = take_site();
    const char *api = s.api ? s.api : side == GQ_ON_DEV ? "device allocation" : "pinned allocation";
    unsigned id = 0;
    pthread_mutex_lock(&lock);
    if (nrecs == caprecs) {
        unsigned cap = caprecs ? 2 * caprecs : 256;
        struct rec *n = realloc(recs, cap * sizeof *n);
        if (n) {
            recs = n;
            caprecs = cap;
        }
    }
    if (nrecs < caprecs) {
        struct rec *r = &recs[nrecs];
        memset(r, 0, sizeof *r);
        *r = (struct rec){.start = (uintptr_t)p, .size = size, .on = side, .id = nrecs + 1,
                          .api = api, .rule = rule};
        struct gq_imap *m = &live[side];
        gq_imap_wrlock(m);
        /* A range we still hold was freed through a path we did not see. */
        size_t i;
        while ((i = gq_imap_first_overlap(m, r->start)) < m->n && m->v[i].start < r->start + size)
            gq_imap_remove_at(m, i);
        if (gq_imap_insert(m, r->start, r->start + size, (void *)(uintptr_t)(nrecs + 1)) == 0)
            id = ++nrecs;
        gq_imap_unlock(m);
    }
    pthread_mutex_unlock(&lock);
    gq_log_trace("alloc %s %zu bytes %s %p: alloc#%u, rule %s, caller %s", api, size,
                 gq_on_name(side), p, id, rule_name(rule), lib_of(s.caller));
}

void gq_trace_free(enum gq_on side, const void *p)
{
    if (!on() || !p)
        return;
    struct gq_imap *m = &live[side];
    gq_imap_wrlock(m);
    struct gq_ival *iv = gq_imap_find(m, (uintptr_t)p);
    if (iv && iv->start == (uintptr_t)p)
        gq_imap_remove_at(m, (size_t)(iv - m->v));
    gq_imap_unlock(m);
}

void gq_trace_pass(int why) { cur_why = why; }

/* Index + 1 of the live allocation `side` holding all of [p, p+len), or 0. */
static unsigned find(enum gq_on side, const void *p, size_t len)
{
    struct gq_imap *m = &live[side];
    unsigned r = 0;
    if (!gq_imap_may_hold(m, p, len))
        return 0;
    gq_imap_rdlock(m);
    struct gq_ival *iv = gq_imap_find(m, (uintptr_t)p);
    if (iv && (uintptr_t)p + len <= iv->end)
        r = (unsigned)(uintptr_t)iv->val;
    gq_imap_unlock(m);
    return r;
}

static void add_size(size_t *sizes, unsigned *n, size_t size)
{
    for (unsigned i = 0; i < *n; i++)
        if (sizes[i] == size)
            return;
    if (*n < SIZES_KEPT)
        sizes[(*n)++] = size;
}

/* Account one copy to the allocations it touches (under the lock). */
static void scanned(struct rec *r, unsigned mask)
{
    if (!mask)
        return; /* not scanned (or no dtype fits: counted as nothing) */
    r->scans++;
    for (unsigned t = GQ_F16; t <= GQ_F32; t++)
        r->plausible[t] += (mask >> t) & 1u;
}

/* mask: gq_foreign_plausible() of the host bytes of an H2D copy, or 0. */
static void account(int d2h, uintptr_t host, size_t count, unsigned hrec, unsigned drec,
                    unsigned mask)
{
    if (count < MIN_COPY)
        return;
    struct rec *h = hrec ? &recs[hrec - 1] : NULL, *d = drec ? &recs[drec - 1] : NULL;
    if (d2h) {
        if (h) {
            h->d2h++;
            add_size(h->d2h_size, &h->n_d2h_size, count);
        } else if (d) {
            d->d2h++;
            add_size(d->d2h_size, &d->n_d2h_size, count);
            pend[pend_next++ % PENDING] = (struct pending){host, count, drec};
        }
        return;
    }
    if (h) {
        h->h2d++;
        add_size(h->h2d_size, &h->n_h2d_size, count);
        scanned(h, mask);
    } else {
        for (unsigned i = 0; i < PENDING; i++)
            if (pend[i].rec && pend[i].host == host && pend[i].size == count) {
                recs[pend[i].rec - 1].round_trips++;
                scanned(&recs[pend[i].rec - 1], mask);
            }
    }
    if (d) {
        d->h2d++;
        add_size(d->h2d_size, &d->n_h2d_size, count);
    }
}

static const char *dir_name(enum cudaMemcpyKind k)
{
    switch (k) {
    case cudaMemcpyDeviceToHost: return "D2H";
    case cudaMemcpyHostToDevice: return "H2D";
    case cudaMemcpyDeviceToDevice: return "D2D";
    case cudaMemcpyHostToHost: return "H2H";
    default: return "default";
    }
}

static void describe(char *buf, size_t cap, const char *side, const void *p, unsigned rec)
{
    if (rec)
        snprintf(buf, cap, "%s %p (alloc#%u)", side, p, recs[rec - 1].id);
    else
        snprintf(buf, cap, "%s %p", side, p);
}

/* Which dtypes the first 16 KiB of the host bytes at src could hold
 * (gq_foreign_plausible). Read through process_vm_readv: a bad pointer the
 * real call will refuse is an error here too, never a fault. */
static unsigned sample_dtypes(const void *src, size_t count)
{
    size_t n = count < 16384 ? count : 16384;
    void *sample = malloc(n); /* 16-aligned */
    if (!sample)
        return 0;
    struct iovec local = {sample, n}, remote = {(void *)src, n};
    ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    unsigned mask = got > 0 ? gq_foreign_plausible(sample, (size_t)got) : 0;
    free(sample);
    return mask;
}

void gq_trace_copy(const void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                   cudaStream_t stream, unsigned flags, int done)
{
    if (!on())
        return;
    struct site s = take_site();
    int why = cur_why;
    cur_why = -1;
    /* The host bytes going up: which dtypes they could be (read before the
     * lock; the copy's source is the program's, readable now). */
    unsigned mask = kind == cudaMemcpyHostToDevice && count >= MIN_COPY ? sample_dtypes(src, count) : 0;
    pthread_mutex_lock(&lock);
    ncopies++;
    unsigned sd = find(GQ_ON_DEV, src, count), sh = find(GQ_ON_HOST, src, count);
    unsigned dd = find(GQ_ON_DEV, dst, count), dh = find(GQ_ON_HOST, dst, count);
    if (kind == cudaMemcpyDefault && (sd || dd)) /* what the driver would tell from the pointers */
        kind = sd ? (dd ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost)
                  : cudaMemcpyHostToDevice;
    int d2h = kind == cudaMemcpyDeviceToHost, h2d = kind == cudaMemcpyHostToDevice;
    if (d2h || h2d)
        account(d2h, (uintptr_t)(d2h ? dst : src), count, d2h ? dh : sh, d2h ? sd : dd,
                h2d ? mask : 0);
    const struct gq_rule *rule = NULL;
    unsigned touched[4] = {sd, sh, dd, dh};
    for (int i = 0; i < 4 && !rule; i++)
        rule = touched[i] ? recs[touched[i] - 1].rule : NULL;
    char from[64], to[64], strm[32];
    describe(from, sizeof from, sd ? "dev" : sh ? "host" : d2h ? "dev" : "host", src, sd ? sd : sh);
    describe(to, sizeof to, dd ? "dev" : dh ? "host" : h2d ? "dev" : "host", dst, dd ? dd : dh);
    pthread_mutex_unlock(&lock);

    if (stream)
        snprintf(strm, sizeof strm, "%p", (void *)stream);
    else
        snprintf(strm, sizeof strm, "%s", (flags & GQ_COPY_PTDS) ? "per-thread" : "legacy");
    char outcome[96];
    if (done)
        snprintf(outcome, sizeof outcome, "compressed (%s)", d2h ? "offload" : "restore");
    else if (why < 0 || why >= GQ_PASS_COUNT)
        snprintf(outcome, sizeof outcome, "passed (%s)",
                 gq_active() ? "not decided by the shim" : "no GQSHIM_RULES");
    else
        snprintf(outcome, sizeof outcome, "passed (%s)", gq_stats_pass_text(why));
    gq_log_trace("copy %s %zu bytes stream %s: %s -> %s: %s, rule %s, caller %s%s%s",
                 dir_name(kind), count, strm, from, to, outcome, rule_name(rule),
                 lib_of(s.caller), s.api ? " via " : "", s.api ? s.api : "");
}

/* ---- the summary -------------------------------------------------------- */

static int shares_size(const struct rec *r)
{
    for (unsigned i = 0; i < r->n_d2h_size; i++)
        for (unsigned j = 0; j < r->n_h2d_size; j++)
            if (r->d2h_size[i] == r->h2d_size[j])
                return 1;
    return 0;
}

static int candidate(const struct rec *r)
{
    if (r->on == GQ_ON_HOST)
        return r->d2h && r->h2d && shares_size(r);
    return r->round_trips > 0;
}

/* Weight streaming: a pinned host allocation uploaded again and again and
 * never written by the GPU (upload=compress keeps it compressed). */
static int stream_candidate(const struct rec *r)
{
    return r->on == GQ_ON_HOST && !r->d2h && r->h2d >= 2 && r->n_h2d_size == 1 &&
           r->h2d_size[0] >= MIN_COPY;
}

typedef int (*pick_fn)(const struct rec *r);

static int in_sizes(const size_t *s, unsigned n, size_t v)
{
    for (unsigned i = 0; i < n; i++)
        if (s[i] == v)
            return 1;
    return 0;
}

/* The filter keys selecting exactly the candidates `side` among every
 * allocation seen on that side, appended to buf; returns the candidates, and
 * in *extra how many other allocations the filter also takes (0 unless no
 * exact filter exists). Under the lock. */
static unsigned filter(enum gq_on side, pick_fn pick, char *buf, size_t cap,
                       unsigned *extra)
{
    size_t sizes[GQ_RULE_SIZES_MAX];
    unsigned ns = 0, nc = 0, too_many = 0;
    size_t cmin = (size_t)-1, omax = 0;
    *extra = 0;
    for (unsigned i = 0; i < nrecs; i++) {
        const struct rec *r = &recs[i];
        if (r->on != side)
            continue;
        if (!pick(r)) {
            omax = r->size > omax ? r->size : omax;
            continue;
        }
        nc++;
        cmin = r->size < cmin ? r->size : cmin;
        if (!in_sizes(sizes, ns, r->size)) {
            if (ns < GQ_RULE_SIZES_MAX)
                sizes[ns++] = r->size;
            else
                too_many = 1;
        }
    }
    if (!nc)
        return 0;
    /* Positions among the allocations passing the size filter, for nth=. */
    unsigned pos = 0, first = 0, last = 0, others = 0, gap = 0;
    for (unsigned i = 0; i < nrecs; i++) {
        const struct rec *r = &recs[i];
        if (r->on != side || !in_sizes(sizes, ns, r->size))
            continue;
        pos++;
        if (pick(r)) {
            if (!first)
                first = pos;
            else if (last != pos - 1)
                gap = 1;
            last = pos;
        } else {
            others++;
        }
    }
    size_t n = strlen(buf);
    if (!too_many && !others) {
        n += (size_t)snprintf(buf + n, cap - n, ",size=");
        for (unsigned i = 0; i < ns; i++)
            n += (size_t)snprintf(buf + n, cap - n, "%s%zu", i ? "|" : "", sizes[i]);
    } else if (cmin > omax) {
        snprintf(buf + n, cap - n, ",min=%zu", cmin);
    } else if (!too_many && !gap) {
        n += (size_t)snprintf(buf + n, cap - n, ",size=");
        for (unsigned i = 0; i < ns; i++)
            n += (size_t)snprintf(buf + n, cap - n, "%s%zu", i ? "|" : "", sizes[i]);
        snprintf(buf + n, cap - n, ",nth=%u-%u", first, last);
    } else {
        /* No size filter separates them: the smallest size that keeps every
         * candidate, and say what else it takes. */
        snprintf(buf + n, cap - n, ",min=%zu", cmin);
        for (unsigned i = 0; i < nrecs; i++)
            *extra += recs[i].on == side && !pick(&recs[i]) && recs[i].size >= cmin;
    }
    return nc;
}

/* Canonical form through the parser: what it prints, it reads back. */
static void canonical(const char *text, char *buf, size_t cap)
{
    static struct gq_rules parsed; /* large; under the lock */
    char err[GQ_RULES_ERR_MAX];
    if (gq_rules_parse(text, &parsed, err, sizeof err) == 0 && parsed.count)
        gq_rules_format(&parsed, buf, cap);
    else
        snprintf(buf, cap, "%s", text);
}

/* The dtype every scanned candidate of `side` could hold in every scan
 * (f16 first, the default, then bf16, then f32); 0 when none was scanned or
 * no one dtype fits them all (a cache that reuses blocks across dtypes). */
static unsigned side_dtype(enum gq_on side)
{
    unsigned seen = 0;
    for (unsigned t = GQ_F16; t <= GQ_F32; t++) {
        int all = 1;
        seen = 0;
        for (unsigned i = 0; i < nrecs; i++) {
            const struct rec *r = &recs[i];
            if (r->on != side || !candidate(r) || !r->scans)
                continue;
            seen++;
            all &= r->plausible[t] == r->scans;
        }
        if (!seen)
            return 0;
        if (all)
            return t;
    }
    return 0;
}

static void add_dtype(char *buf, size_t cap, unsigned dtype)
{
    size_t n = strlen(buf);
    if (dtype == GQ_BF16 || dtype == GQ_F32)
        snprintf(buf + n, cap - n, ",dtype=%s", dtype == GQ_BF16 ? "bf16" : "f32");
}

static unsigned suggest_locked(char *buf, size_t cap, unsigned *extra_host, unsigned *extra_dev)
{
    char text[GQ_RULES_INPUT_MAX] = "";
    char host[GQ_RULES_INPUT_MAX / 3] = "on=host", dev[GQ_RULES_INPUT_MAX / 3] = "on=dev";
    char up[GQ_RULES_INPUT_MAX / 3] = "on=host";
    unsigned eu = 0;
    unsigned nh = filter(GQ_ON_HOST, candidate, host, sizeof host, extra_host);
    unsigned nd = filter(GQ_ON_DEV, candidate, dev, sizeof dev, extra_dev);
    unsigned nu = filter(GQ_ON_HOST, stream_candidate, up, sizeof up, &eu);
    *extra_host += eu;
    add_dtype(host, sizeof host, side_dtype(GQ_ON_HOST));
    add_dtype(dev, sizeof dev, side_dtype(GQ_ON_DEV));
    snprintf(text, sizeof text, "%s%s%s%s%s%s%s%s", nh ? host : "", nh ? ",name=host_offload" : "",
             nh && (nd || nu) ? ";" : "", nd ? dev : "", nd ? ",name=dev_offload" : "",
             nd && nu ? ";" : "", nu ? up : "", nu ? ",upload=compress,name=weights" : "");
    if (nh || nd || nu)
        canonical(text, buf, cap);
    else if (cap)
        buf[0] = 0;
    return nh + nd + nu;
}

unsigned gq_trace_suggest(char *buf, size_t cap)
{
    unsigned eh, ed;
    pthread_mutex_lock(&lock);
    unsigned n = suggest_locked(buf, cap, &eh, &ed);
    pthread_mutex_unlock(&lock);
    return n;
}

void gq_trace_reset(void)
{
    pthread_mutex_lock(&lock);
    for (int side = 0; side < 2; side++) {
        gq_imap_wrlock(&live[side]);
        while (live[side].n)
            gq_imap_remove_at(&live[side], live[side].n - 1);
        gq_imap_unlock(&live[side]);
    }
    nrecs = 0;
    ncopies = 0;
    memset(pend, 0, sizeof pend);
    pend_next = 0;
    pthread_mutex_unlock(&lock);
}

static void list_side(enum gq_on side)
{
    unsigned nc = 0;
    uint64_t d2h = 0, h2d = 0;
    for (unsigned i = 0; i < nrecs; i++)
        if (recs[i].on == side && candidate(&recs[i])) {
            nc++;
            d2h += recs[i].d2h;
            h2d += side == GQ_ON_HOST ? recs[i].h2d : recs[i].round_trips;
        }
    if (!nc) {
        gq_log_trace("candidates on=%s: none", gq_on_name(side));
        return;
    }
    gq_log_trace("candidates on=%s: %u allocation(s), %llu D2H %s them, %llu H2D %s", gq_on_name(side),
                 nc, (unsigned long long)d2h, side == GQ_ON_HOST ? "into" : "from",
                 (unsigned long long)h2d,
                 side == GQ_ON_HOST ? "from them" : "of the same host bytes back");
    unsigned shown = 0;
    for (unsigned i = 0; i < nrecs && shown < LISTED; i++) {
        const struct rec *r = &recs[i];
        if (r->on != side || !candidate(r))
            continue;
        shown++;
        gq_log_trace("  alloc#%u %s %zu bytes at %p: %llu D2H, %llu H2D", r->id, r->api, r->size,
                     (void *)r->start, (unsigned long long)r->d2h,
                     (unsigned long long)(side == GQ_ON_HOST ? r->h2d : r->round_trips));
    }
    if (nc > shown)
        gq_log_trace("  ... and %u more", nc - shown);
}

void gq_trace_report(void)
{
    if (!on())
        return;
    char rules[GQ_RULES_INPUT_MAX];
    unsigned eh = 0, ed = 0;
    pthread_mutex_lock(&lock);
    gq_log_trace("summary: %u allocations, %llu copies traced", nrecs, (unsigned long long)ncopies);
    list_side(GQ_ON_HOST);
    list_side(GQ_ON_DEV);
    unsigned nu = 0;
    uint64_t ups = 0;
    for (unsigned i = 0; i < nrecs; i++)
        if (stream_candidate(&recs[i])) {
            nu++;
            ups += recs[i].h2d;
        }
    if (nu)
        gq_log_trace("candidates for weight streaming (upload=compress): %u pinned allocation(s) "
                     "uploaded %llu times, never written by the GPU", nu, (unsigned long long)ups);
    unsigned n = suggest_locked(rules, sizeof rules, &eh, &ed);
    int known = 1;
    for (int side = GQ_ON_HOST; side <= GQ_ON_DEV; side++) {
        unsigned nc = 0;
        for (unsigned i = 0; i < nrecs; i++)
            nc += recs[i].on == (enum gq_on)side && candidate(&recs[i]);
        if (nc && !side_dtype((enum gq_on)side))
            known = 0;
    }
    pthread_mutex_unlock(&lock);
    if (!n) {
        gq_log_trace("no offload candidates: no allocation saw device-to-host copies that came "
                     "back host-to-device with the same size, nor repeated uploads of a pinned "
                     "buffer the GPU never wrote");
        return;
    }
    gq_log_trace("suggested: GQSHIM_RULES='%s'", rules);
    if (eh || ed)
        gq_log_trace("note: no size filter separates the candidates; this rule also takes %u other "
                     "allocation(s)", eh + ed);
    if (known)
        gq_log_trace("note: dtype from the data the candidates carried back to the GPU");
    else
        gq_log_trace("note: dtype=f16 is assumed where the data showed no one dtype; copies that "
                     "are not of a rule's dtype stay exact (stats: FOREIGN)");
}

void gq_trace_atfork(enum gq_fork_phase ph)
{
    /* In the order the calls above nest them: `lock`, then a map. */
    if (ph == GQ_FORK_PREPARE) {
        gq_mutex_atfork(&lock, ph);
        gq_imap_atfork(&live[GQ_ON_DEV], (int)ph);
        gq_imap_atfork(&live[GQ_ON_HOST], (int)ph);
    } else {
        gq_imap_atfork(&live[GQ_ON_HOST], (int)ph);
        gq_imap_atfork(&live[GQ_ON_DEV], (int)ph);
        gq_mutex_atfork(&lock, ph);
    }
}

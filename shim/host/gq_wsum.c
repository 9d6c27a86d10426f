/* Write checks by page checksums (see gq_wsum.h). */
#include "host/gq_wsum.h"

#include "base/gq_imap.h"
#include "base/gq_page.h"

#include <stdlib.h>
#include <string.h>

struct sums {
    const void *owner; /* who armed it: only its owner disarms it */
    size_t n;
    uint64_t h[]; /* one per page, from the range's start */
};

static struct gq_imap ranges = GQ_IMAP_INIT;

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL

static inline uint64_t round1(uint64_t acc, uint64_t w) { return rotl(acc + w * P2, 31) * P1; }

/* Four independent lanes over 32-byte blocks, so the multiplies overlap: a
 * page is hashed at about the speed it is read. Any change of the page's
 * bytes changes the result but for a 2^-64 chance. */
uint64_t gq_wsum_page(const void *p)
{
    const unsigned char *b = p;
    size_t n = gq_page_size();
    uint64_t a = P1 + P2, c = P2, d = 0, e = (uint64_t)0 - P1;
    for (size_t i = 0; i < n; i += 32) {
        uint64_t w[4];
        memcpy(w, b + i, sizeof w);
        a = round1(a, w[0]);
        c = round1(c, w[1]);
        d = round1(d, w[2]);
        e = round1(e, w[3]);
    }
    uint64_t h = rotl(a, 1) + rotl(c, 7) + rotl(d, 12) + rotl(e, 18);
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    return h ^ (h >> 32);
}

/* Every page overlapping [addr, addr+len). */
static void span(const void *addr, size_t len, uintptr_t *lo, uintptr_t *hi)
{
    *lo = gq_page_down((uintptr_t)addr);
    *hi = gq_page_up((uintptr_t)addr + len);
}

/* The pages wholly inside [addr, addr+len): only those are armed, so that
 * ranges sharing an edge page never replace each other (a copy-back moves
 * the bytes of edge pages raw anyway). */
static int inner(const void *addr, size_t len, uintptr_t *lo, uintptr_t *hi)
{
    *lo = gq_page_up((uintptr_t)addr);
    *hi = gq_page_down((uintptr_t)addr + len);
    return *hi > *lo;
}

/* With the write lock held: unlink the ranges overlapping [lo, hi), chained
 * for the caller to free after unlocking. */
static void unlink_overlapping(uintptr_t lo, uintptr_t hi, struct sums **gone, size_t max,
                               size_t *n_gone)
{
    size_t i = gq_imap_first_overlap(&ranges, lo);
    while (i < ranges.n && ranges.v[i].start < hi && *n_gone < max)
        gone[(*n_gone)++] = gq_imap_remove_at(&ranges, i);
}

void gq_wsum_forget(const void *addr, size_t len)
{
    if (!len || !gq_imap_may_hold(&ranges, addr, len))
        return;
    uintptr_t lo, hi;
    if (!inner(addr, len, &lo, &hi))
        return;
    for (;;) {
        struct sums *gone[32];
        size_t n = 0;
        gq_imap_wrlock(&ranges);
        unlink_overlapping(lo, hi, gone, 32, &n);
        gq_imap_unlock(&ranges);
        for (size_t i = 0; i < n; i++)
            free(gone[i]);
        if (n < 32)
            return;
    }
}

int gq_wsum_arm(const void *addr, size_t len, const void *owner)
{
    if (!len)
        return -1;
    uintptr_t lo, hi, ps = gq_page_size();
    if (!inner(addr, len, &lo, &hi))
        return 0; /* no whole page: nothing a copy-back could take from the block */
    size_t n = (hi - lo) / ps;
    struct sums *s = malloc(sizeof *s + n * sizeof s->h[0]);
    if (!s) {
        gq_wsum_forget(addr, len);
        return -1;
    }
    s->n = n;
    s->owner = owner;
    for (size_t i = 0; i < n; i++)
        s->h[i] = gq_wsum_page((const void *)(lo + i * ps));
    gq_wsum_forget(addr, len);
    gq_imap_wrlock(&ranges);
    /* Another thread may have armed an overlapping range since: this one,
     * taken later, replaces it. */
    struct sums *gone[32];
    size_t n_gone = 0;
    unlink_overlapping(lo, hi, gone, 32, &n_gone);
    int rc = n_gone < 32 ? gq_imap_insert(&ranges, lo, hi, s) : -1;
    gq_imap_unlock(&ranges);
    for (size_t i = 0; i < n_gone; i++)
        free(gone[i]);
    if (rc != 0)
        free(s);
    return rc;
}

int gq_wsum_holds(const void *addr, size_t len)
{
    if (!len || !gq_imap_may_hold(&ranges, addr, len))
        return 0;
    uintptr_t lo, hi;
    span(addr, len, &lo, &hi);
    gq_imap_rdlock(&ranges);
    size_t i = gq_imap_first_overlap(&ranges, lo);
    int yes = i < ranges.n && ranges.v[i].start < hi;
    gq_imap_unlock(&ranges);
    return yes;
}

int gq_wsum_clean(const void *addr, size_t len)
{
    if (!len || !gq_imap_may_hold(&ranges, addr, len))
        return -1;
    uintptr_t lo, hi, ps = gq_page_size();
    span(addr, len, &lo, &hi);
    gq_imap_rdlock(&ranges);
    size_t i = gq_imap_first_overlap(&ranges, lo);
    int verdict = -1;
    if (i < ranges.n && ranges.v[i].start < hi) {
        const struct gq_ival *iv = &ranges.v[i];
        verdict = iv->start <= lo && hi <= iv->end;
        const struct sums *s = iv->val;
        /* Reading under the read lock: these are program pages the copy is
         * about to read anyway, and nothing else waits on this lock for long. */
        for (uintptr_t pg = lo; verdict == 1 && pg < hi; pg += ps)
            verdict = gq_wsum_page((const void *)pg) == s->h[(pg - iv->start) / ps];
    }
    gq_imap_unlock(&ranges);
    return verdict;
}

void gq_wsum_disarm(const void *addr, size_t len, const void *owner)
{
    if (!len || !gq_imap_may_hold(&ranges, addr, len))
        return;
    uintptr_t lo, hi;
    if (!inner(addr, len, &lo, &hi))
        return;
    struct sums *s = NULL;
    gq_imap_wrlock(&ranges);
    struct gq_ival *iv = gq_imap_find(&ranges, lo);
    if (iv && iv->start == lo && iv->end == hi && ((struct sums *)iv->val)->owner == owner)
        s = gq_imap_remove_at(&ranges, (size_t)(iv - ranges.v));
    gq_imap_unlock(&ranges);
    free(s);
}

void gq_wsum_atfork(enum gq_fork_phase ph) { gq_imap_atfork(&ranges, (int)ph); }

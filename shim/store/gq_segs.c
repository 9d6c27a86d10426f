/* A block cut into segments (see gq_segs.h). */
#include "store/gq_segs.h"

#include "base/gq_foreign.h"
#include "base/gq_pool.h"

#include "gq_codec.h"

#include <string.h>

/* The escape capacity of a segment of n elements: few, or the format's
 * default, and at least `floor` (never more than its groups). */
static uint32_t seg_capacity(const struct gq_params *p, uint64_t n, int few, uint32_t floor)
{
    struct gq_layout l;
    if (gq_layout_init(&l, p, n, 0) != GQ_OK)
        return 0;
    uint64_t c = few ? l.n_groups / 1024 + 8 : gq_default_escape_capacity(p, n);
    if (c < floor)
        c = floor;
    return (uint32_t)(c < l.n_groups ? c : l.n_groups);
}

static uint64_t seg_bytes(const struct gq_params *p, uint64_t n, int few)
{
    return gq_compressed_size(p, n, seg_capacity(p, n, few, 0));
}

/* max_bytes, stride and total from the cut and the capacities. */
static void size_block(struct gq_segs *s)
{
    s->max_bytes = gq_compressed_size(&s->params, s->seg_elems,
                                      seg_capacity(&s->params, s->seg_elems, s->few_escapes,
                                                   s->esc_floor));
    s->stride = (s->max_bytes + GQ_SEG_ALIGN - 1) / GQ_SEG_ALIGN * GQ_SEG_ALIGN;
    struct gq_seg last;
    gq_segs_at(s, s->n_segs - 1, &last);
    s->total = last.off + last.l.total;
}

int gq_segs_init(struct gq_segs *s, const struct gq_params *p, uint64_t n_elems, size_t max_bytes,
                 int few_escapes)
{
    memset(s, 0, sizeof *s);
    if (n_elems == 0 || gq_params_check(p, n_elems) != GQ_OK)
        return GQ_ERR_PARAM;
    /* A unit is 32 groups (dim=0: whole row-blocks, as many as make a
     * multiple of 32 groups): every segment but the last then has its
     * metadata in whole 128-byte lines and its codes 32-byte aligned, so the
     * kernels' 128-byte warp stores and loads cover whole sectors. */
    uint64_t unit;
    if (p->axis == GQ_DIM_0) {
        uint32_t c = p->cols, a = 32, t;
        while (c) { /* a = gcd(cols, 32) */
            t = a % c;
            a = c;
            c = t;
        }
        unit = (uint64_t)p->group * p->cols * (32u / a);
    } else {
        unit = (uint64_t)p->group * 32u;
    }
    uint64_t units = (n_elems + unit - 1) / unit;
    /* The most units whose buffer fits max_bytes (at least one): sizes grow
     * with the element count, so a binary search finds it. */
    uint64_t lo = 1, hi = units;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        uint64_t n = mid * unit < n_elems ? mid * unit : n_elems;
        if (seg_bytes(p, n, few_escapes) <= max_bytes)
            lo = mid;
        else
            hi = mid - 1;
    }
    s->params = *p;
    s->n_elems = n_elems;
    s->seg_elems = lo * unit < n_elems ? lo * unit : n_elems;
    s->n_segs = (uint32_t)((n_elems + s->seg_elems - 1) / s->seg_elems);
    if ((uint64_t)s->n_segs * s->seg_elems < n_elems) /* more than 2^32 segments */
        return GQ_ERR_PARAM;
    s->esize = gq_dtype_size(p->dtype);
    s->few_escapes = few_escapes;
    size_block(s);
    return GQ_OK;
}

void gq_segs_widen(struct gq_segs *s, uint32_t capacity)
{
    s->esc_floor = capacity;
    size_block(s);
}

uint32_t gq_segs_max_escapes(const struct gq_segs *s, const unsigned char *block)
{
    uint32_t most = 0;
    for (uint32_t i = 0; i < s->n_segs; i++) {
        const struct gq_header *h = (const struct gq_header *)(block + (uint64_t)i * s->stride);
        uint32_t n = __atomic_load_n(&h->escape_count, __ATOMIC_ACQUIRE);
        most = n > most ? n : most;
    }
    return most;
}

void gq_segs_at(const struct gq_segs *s, uint32_t i, struct gq_seg *out)
{
    out->e0 = (uint64_t)i * s->seg_elems;
    out->n = s->n_elems - out->e0 < s->seg_elems ? s->n_elems - out->e0 : s->seg_elems;
    out->off = (uint64_t)i * s->stride;
    gq_layout_init(&out->l, &s->params, out->n,
                   seg_capacity(&s->params, out->n, s->few_escapes, s->esc_floor));
}

uint32_t gq_segs_index(const struct gq_segs *s, uint64_t e)
{
    uint64_t i = e / s->seg_elems;
    return (uint32_t)(i < s->n_segs ? i : s->n_segs - 1);
}

int gq_segs_encode(const struct gq_segs *s, const void *src, unsigned char *block)
{
    int rc = GQ_OK;
    for (uint32_t i = 0; i < s->n_segs; i++) {
        struct gq_seg g;
        gq_segs_at(s, i, &g);
        int r = gq_pool_encode(&s->params, (const unsigned char *)src + g.e0 * s->esize, g.n,
                               g.l.escape_capacity, block + g.off, (size_t)g.l.total);
        if (r != GQ_OK && rc == GQ_OK)
            rc = r;
    }
    return rc;
}

int gq_segs_decode_range(const struct gq_segs *s, const unsigned char *block, uint64_t e0,
                         uint64_t e1, void *dst)
{
    if (e0 > e1 || e1 > s->n_elems)
        return GQ_ERR_RANGE;
    unsigned char *out = dst;
    while (e0 < e1) {
        struct gq_seg g;
        gq_segs_at(s, gq_segs_index(s, e0), &g);
        uint64_t end = g.e0 + g.n < e1 ? g.e0 + g.n : e1;
        int r = gq_pool_decode_range(block + g.off, (size_t)g.l.total, e0 - g.e0, end - g.e0,
                                     out);
        if (r != GQ_OK)
            return r;
        out += (end - e0) * s->esize;
        e0 = end;
    }
    return GQ_OK;
}

int gq_segs_foreign(const struct gq_segs *s, const unsigned char *block)
{
    for (uint32_t i = 0; i < s->n_segs; i++)
        if (gq_foreign_refused((const struct gq_header *)(block + (uint64_t)i * s->stride)))
            return 1;
    return 0;
}

int gq_segs_overflowed(const struct gq_segs *s, const unsigned char *block, uint64_t *escaped)
{
    int over = 0;
    *escaped = 0;
    for (uint32_t i = 0; i < s->n_segs; i++) {
        const struct gq_header *h = (const struct gq_header *)(block + (uint64_t)i * s->stride);
        *escaped += __atomic_load_n(&h->escape_count, __ATOMIC_ACQUIRE);
        over |= __atomic_load_n(&h->overflow, __ATOMIC_ACQUIRE) != 0;
    }
    return over;
}

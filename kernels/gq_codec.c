/*
 * gq_codec.c — the CPU codec's driver: header, checks, dispatch, and the
 * scalar reference path. The per-ISA bulk paths live in gq_codec_avx*.c.
 */
#include "gq_codec.h"
#include "gq_codec_impl.h"

#include <cpuid.h>
#include <string.h>

/* ---- CPU features ----------------------------------------------------------- */

static unsigned cpu_probe(void)
{
    unsigned a, b, c, d, f = 0;
    unsigned long long xcr0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    /* OSXSAVE, AVX, F16C, FMA */
    if (!(c & (1u << 27)) || !(c & (1u << 28)) || !(c & (1u << 29)) || !(c & (1u << 12)))
        return 0;
    {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = ((unsigned long long)hi << 32) | lo;
    }
    if ((xcr0 & 6u) != 6u) /* XMM and YMM state */
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    if (b & (1u << 5)) /* AVX2 */
        f |= GQ_CPU_AVX2;
    /* AVX512F (b16), DQ (b17), BW (b30), VL (b31), VBMI (c1); opmask+ZMM state */
    if ((f & GQ_CPU_AVX2) && (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) && (b & (1u << 31)) &&
        (c & (1u << 1)) && (xcr0 & 0xe6u) == 0xe6u)
        f |= GQ_CPU_AVX512;
    return f;
}

unsigned gq_cpu_features(void)
{
    static unsigned cached = ~0u; /* a race only computes the same value twice */
    unsigned f = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (f == ~0u) {
        f = cpu_probe();
        __atomic_store_n(&cached, f, __ATOMIC_RELAXED);
    }
    return f;
}

/* ---- scalar reference ----------------------------------------------------- */

void gq_scalar_encode_full(const struct gq_enc_ctx *c, uint64_t g0, uint64_t g1)
{
    for (uint64_t g = g0; g < g1; g++)
        gq_group_encode(c, g);
}

int gq_scalar_decode_group(const struct gq_dec_ctx *c, uint64_t g, void *dst)
{
    struct gq_gdec d;
    uint32_t len = gq_group_len(&c->l, c->group, g);
    gq_group_resolve(c, g, &d);
    if (d.escaped == 2)
        return GQ_ERR_CORRUPT;
    for (uint32_t i = 0; i < len; i++)
        gq_elem_put(dst, i, c->dtype, gq_group_elem(c, &d, i));
    return GQ_OK;
}

int gq_scalar_decode_full(const struct gq_dec_ctx *c, uint64_t g0, uint64_t g1, void *dst)
{
    uint8_t *out = dst;
    for (uint64_t g = g0; g < g1; g++) {
        int rc = gq_scalar_decode_group(c, g, out + (g - g0) * c->group * c->l.esize);
        if (rc != GQ_OK)
            return rc;
    }
    return GQ_OK;
}

static const struct gq_cpu_path scalar_path = {
    "scalar", gq_scalar_encode_full, gq_scalar_decode_full,
};

/* ---- dispatch ------------------------------------------------------------- */

static const struct gq_cpu_path *path_get(enum gq_path path)
{
    const struct gq_cpu_path *p;
    switch (path) {
    case GQ_PATH_SCALAR:
        return &scalar_path;
    case GQ_PATH_AVX2:
        return gq_path_avx2();
    case GQ_PATH_AVX512:
        return gq_path_avx512();
    case GQ_PATH_AUTO:
        if ((p = gq_path_avx512()) != NULL)
            return p;
        if ((p = gq_path_avx2()) != NULL)
            return p;
        return &scalar_path;
    }
    return NULL;
}

const char *gq_path_name(enum gq_path path)
{
    const struct gq_cpu_path *p = path_get(path);
    return p ? p->name : "unavailable";
}

int gq_path_available(enum gq_path path)
{
    return path_get(path) != NULL;
}

const char *gq_strerror(int status)
{
    switch (status) {
    case GQ_OK: return "success";
    case GQ_ERR_PARAM: return "invalid parameters";
    case GQ_ERR_SIZE: return "buffer too small";
    case GQ_ERR_ALIGN: return "misaligned pointer";
    case GQ_ERR_CORRUPT: return "corrupt compressed buffer";
    case GQ_ERR_OVERFLOW: return "escape capacity overflowed: not exactly decodable";
    case GQ_ERR_RANGE: return "range outside the tensor";
    case GQ_ERR_UNSUPPORTED: return "codec path not available on this CPU";
    }
    return "unknown status";
}

/* ---- header ---------------------------------------------------------------- */

int gq_info_read(const void *buf, size_t buf_size, struct gq_info *info)
{
    struct gq_header h;
    if (buf_size < GQ_HEADER_SIZE)
        return GQ_ERR_SIZE;
    memcpy(&h, buf, sizeof h);
    if (h.magic != GQ_MAGIC || h.version != GQ_VERSION)
        return GQ_ERR_CORRUPT;
    info->params.bits = h.bits;
    info->params.group = h.group;
    info->params.dtype = h.dtype;
    info->params.axis = h.axis;
    info->params.cols = h.cols;
    if (h.axis == GQ_DIM_LAST && h.cols != 0)
        return GQ_ERR_CORRUPT;
    if (gq_layout_init(&info->layout, &info->params, h.n_elems, h.escape_capacity) != GQ_OK)
        return GQ_ERR_CORRUPT;
    if (info->layout.total > buf_size)
        return GQ_ERR_SIZE;
    info->escape_count = h.escape_count;
    info->overflow = h.overflow != 0;
    if (!info->overflow && h.escape_count > h.escape_capacity)
        return GQ_ERR_CORRUPT;
    return GQ_OK;
}

/* ---- encode ---------------------------------------------------------------- */

int gq_enc_begin(enum gq_path path, const struct gq_params *p, const void *src, uint64_t n_elems,
                 uint32_t escape_capacity, void *dst, size_t dst_size, struct gq_enc_ctx *c,
                 const struct gq_cpu_path **impl)
{
    struct gq_header *h = dst;
    if (!(*impl = path_get(path)))
        return GQ_ERR_UNSUPPORTED;
    if (gq_layout_init(&c->l, p, n_elems, escape_capacity) != GQ_OK)
        return GQ_ERR_PARAM;
    if (c->l.total > dst_size)
        return GQ_ERR_SIZE;
    if (((uintptr_t)dst & 15u) || ((uintptr_t)src & (c->l.esize - 1u)))
        return GQ_ERR_ALIGN;
    memset(h, 0, sizeof *h);
    h->magic = GQ_MAGIC;
    h->version = GQ_VERSION;
    h->bits = (uint8_t)p->bits;
    h->dtype = (uint8_t)p->dtype;
    h->axis = (uint8_t)p->axis;
    h->group = p->group;
    h->escape_capacity = escape_capacity;
    h->n_elems = n_elems;
    h->cols = p->axis == GQ_DIM_0 ? p->cols : 0;
    c->bits = p->bits;
    c->group = p->group;
    c->dtype = p->dtype;
    c->src = src;
    c->meta = (uint8_t *)dst + c->l.meta_off;
    c->codes = (uint8_t *)dst + c->l.code_off;
    c->esc = (uint8_t *)dst + c->l.esc_off;
    c->esc_count = &h->escape_count;
    c->overflow = &h->overflow;
    /* Padding between the areas is zero, so equal inputs give equal bytes. */
    memset(c->codes - (c->l.code_off - (c->l.meta_off + c->l.n_groups * c->l.meta_size)), 0,
           c->l.code_off - (c->l.meta_off + c->l.n_groups * c->l.meta_size));
    memset(c->esc - (c->l.esc_off - (c->l.code_off + c->l.n_groups * c->l.code_stride)), 0,
           c->l.esc_off - (c->l.code_off + c->l.n_groups * c->l.code_stride));
    return GQ_OK;
}

/*
 * GQ_DIM_0 through a bulk path: the groups of a row-block are columns, C
 * consecutive groups. A run of up to DIM0_SCRATCH bytes of columns is
 * transposed into a scratch buffer, where each group is contiguous, and the
 * path encodes it as GQ_DIM_LAST groups written at their GQ_DIM_0 places
 * (escapes read the scratch, which holds the same bits). The scalar path
 * keeps the direct per-element walk: it is the reference the others are
 * tested against. A partial row-block goes scalar.
 */
#define DIM0_SCRATCH 16384u

static uint64_t dim0_run(const struct gq_layout *l, uint32_t G)
{
    return DIM0_SCRATCH / ((uint64_t)G * l->esize);
}

/* The columns [col, col + n) of full row-block rb, group after group. */
static void dim0_gather(const struct gq_layout *l, uint32_t G, const uint8_t *src, uint64_t rb, uint64_t col,
                        uint64_t n, uint8_t *scratch)
{
    for (uint32_t i = 0; i < G; i++) {
        uint64_t first = (rb * G + i) * l->cols + col;
        if (l->esize == 2) {
            const uint16_t *row = (const uint16_t *)(const void *)src + first;
            uint16_t *out = (uint16_t *)(void *)scratch + i;
            for (uint64_t j = 0; j < n; j++)
                out[j * G] = row[j];
        } else {
            const uint32_t *row = (const uint32_t *)(const void *)src + first;
            uint32_t *out = (uint32_t *)(void *)scratch + i;
            for (uint64_t j = 0; j < n; j++)
                out[j * G] = row[j];
        }
    }
}

static void enc_dim0(const struct gq_cpu_path *impl, const struct gq_enc_ctx *c, uint64_t g0, uint64_t g1)
{
    const uint64_t C = c->l.cols, full_rb = c->l.rows / c->group, run = dim0_run(&c->l, c->group);
    uint8_t scratch[DIM0_SCRATCH] __attribute__((aligned(64)));
    while (g0 < g1) {
        uint64_t rb = g0 / C, end = (rb + 1) * C < g1 ? (rb + 1) * C : g1, n;
        struct gq_enc_ctx t = *c;
        if (rb >= full_rb || run < 16) {
            gq_scalar_encode_full(c, g0, end);
            g0 = end;
            continue;
        }
        n = end - g0 < run ? end - g0 : run;
        dim0_gather(&c->l, c->group, c->src, rb, g0 % C, n, scratch);
        t.src = scratch;
        t.meta = c->meta + g0 * c->l.meta_size;
        t.codes = c->codes + g0 * c->l.code_stride;
        t.l.cols = 1;
        t.l.rows = t.l.n_elems = n * c->group;
        t.l.n_groups = n;
        impl->encode_full(&t, 0, n);
        g0 += n;
    }
}

void gq_enc_groups(const struct gq_cpu_path *impl, const struct gq_enc_ctx *c, uint64_t g0, uint64_t g1)
{
    /* GQ_DIM_LAST: runs of full groups, the last group may be partial. A
     * GQ_DIM_0 tensor of one column has the same groups. */
    uint64_t full = c->l.cols == 1 ? c->l.n_elems / c->group : 0;
    if (c->l.cols > 1) {
        if (impl != &scalar_path) {
            enc_dim0(impl, c, g0, g1);
            return;
        }
    } else if (g0 < full) {
        impl->encode_full(c, g0, g1 < full ? g1 : full);
        g0 = full;
    }
    gq_scalar_encode_full(c, g0, g1);
}

int gq_enc_end(const struct gq_enc_ctx *c)
{
    uint32_t used = *c->esc_count, cap = c->l.escape_capacity;
    /* Unused escape slots are zeroed too (deterministic output). */
    if (used < cap)
        memset(c->esc + (uint64_t)used * c->group * c->l.esize, 0, (uint64_t)(cap - used) * c->group * c->l.esize);
    return *c->overflow ? GQ_ERR_OVERFLOW : GQ_OK;
}

int gq_encode_ex(enum gq_path path, const struct gq_params *p, const void *src, uint64_t n_elems,
                 uint32_t escape_capacity, void *dst, size_t dst_size)
{
    const struct gq_cpu_path *impl;
    struct gq_enc_ctx c;
    int rc = gq_enc_begin(path, p, src, n_elems, escape_capacity, dst, dst_size, &c, &impl);
    if (rc != GQ_OK)
        return rc;
    gq_enc_groups(impl, &c, 0, c.l.n_groups);
    return gq_enc_end(&c);
}

int gq_encode(const struct gq_params *p, const void *src, uint64_t n_elems, uint32_t escape_capacity,
              void *dst, size_t dst_size)
{
    return gq_encode_ex(GQ_PATH_AUTO, p, src, n_elems, escape_capacity, dst, dst_size);
}

/* ---- decode ---------------------------------------------------------------- */

static void dec_ctx_init(struct gq_dec_ctx *c, const struct gq_info *info, const void *buf)
{
    c->l = info->layout;
    c->bits = info->params.bits;
    c->group = info->params.group;
    c->dtype = info->params.dtype;
    c->meta = (const uint8_t *)buf + c->l.meta_off;
    c->codes = (const uint8_t *)buf + c->l.code_off;
    c->esc = (const uint8_t *)buf + c->l.esc_off;
    c->g_base = 0;
}

/* GQ_DIM_LAST: a partial head group, a run of full groups, a partial tail. */
static int decode_last(const struct gq_cpu_path *impl, const struct gq_dec_ctx *c, uint64_t e0,
                       uint64_t e1, uint8_t *dst)
{
    uint32_t G = c->group, es = c->l.esize;
    uint8_t tmp[GQ_GROUP_MAX * 4];
    uint64_t e = e0;
    int rc;
    while (e < e1) {
        uint64_t g = e / G, gfirst = g * G;
        uint64_t gend = gfirst + gq_group_len(&c->l, G, g);
        if (e == gfirst && gend <= e1 && gend - gfirst == G) {
            uint64_t gl = e1 / G; /* full groups [g, gl) */
            if (gl * G > c->l.n_elems)
                gl = c->l.n_elems / G;
            rc = impl->decode_full(c, g, gl, dst + (e - e0) * es);
            if (rc != GQ_OK)
                return rc;
            e = gl * G;
            continue;
        }
        rc = gq_scalar_decode_group(c, g, tmp);
        if (rc != GQ_OK)
            return rc;
        {
            uint64_t hi = gend < e1 ? gend : e1;
            memcpy(dst + (e - e0) * es, tmp + (e - gfirst) * es, (hi - e) * es);
            e = hi;
        }
    }
    return GQ_OK;
}

/* GQ_DIM_0, row-block by row-block, in runs of columns. Through a bulk path
 * (full row-blocks): the run's groups are decoded as GQ_DIM_LAST groups into
 * a scratch buffer (see enc_dim0), then scattered to their rows. Otherwise
 * (the scalar reference, a partial row-block): the groups of the run are
 * resolved once and their elements written one by one. */
#define DIM0_COLS 64

/* n elements, G apart in the scratch, to consecutive places of a row. */
static void dim0_scatter(const uint8_t *scratch, uint32_t G, uint8_t *row, uint64_t n, uint32_t es)
{
    if (es == 2) {
        const uint16_t *in = (const uint16_t *)(const void *)scratch;
        uint16_t *out = (uint16_t *)(void *)row;
        for (uint64_t j = 0; j < n; j++)
            out[j] = in[j * G];
    } else {
        const uint32_t *in = (const uint32_t *)(const void *)scratch;
        uint32_t *out = (uint32_t *)(void *)row;
        for (uint64_t j = 0; j < n; j++)
            out[j] = in[j * G];
    }
}

static int decode_dim0(const struct gq_cpu_path *impl, const struct gq_dec_ctx *c, uint64_t e0, uint64_t e1,
                       uint8_t *dst)
{
    const uint64_t C = c->l.cols, r0 = e0 / C, r1 = (e1 - 1) / C; /* rows touched, inclusive */
    const uint64_t full_rb = c->l.rows / c->group, run = dim0_run(&c->l, c->group);
    const uint32_t G = c->group, es = c->l.esize;
    const int bulk = impl != &scalar_path && run >= 16;
    uint8_t scratch[DIM0_SCRATCH] __attribute__((aligned(64)));
    struct gq_gdec d[DIM0_COLS];
    for (uint64_t rb = r0 / G; rb <= r1 / G; rb++) {
        uint64_t ra = rb * G > r0 ? rb * G : r0, rz = rb * G + G - 1 < r1 ? rb * G + G - 1 : r1;
        int fast = bulk && rb < full_rb;
        uint64_t cols_per = fast ? run : DIM0_COLS;
        for (uint64_t c0 = 0; c0 < C; c0 += cols_per) {
            uint64_t cn = C - c0 < cols_per ? C - c0 : cols_per;
            if (fast) {
                struct gq_dec_ctx t = *c;
                int rc;
                t.meta = c->meta + (rb * C + c0) * c->l.meta_size;
                t.codes = c->codes + (rb * C + c0) * c->l.code_stride;
                t.l.cols = 1;
                t.l.rows = t.l.n_elems = cn * G;
                t.l.n_groups = cn;
                if ((rc = impl->decode_full(&t, 0, cn, scratch)) != GQ_OK)
                    return rc;
            } else {
                for (uint64_t j = 0; j < cn; j++)
                    gq_group_resolve(c, rb * C + c0 + j, &d[j]);
            }
            for (uint64_t r = ra; r <= rz; r++) {
                uint64_t row = r * C, ca = c0, cz = c0 + cn;
                uint32_t i = (uint32_t)(r - rb * G);
                if (row + ca < e0)
                    ca = e0 - row;
                if (row + cz > e1)
                    cz = e1 - row;
                if (fast) {
                    dim0_scatter(scratch + ((ca - c0) * G + i) * es, G, dst + (row + ca - e0) * es, cz > ca ? cz - ca : 0, es);
                    continue;
                }
                for (uint64_t col = ca; col < cz; col++) {
                    if (d[col - c0].escaped == 2) /* only an element that is read makes it an error */
                        return GQ_ERR_CORRUPT;
                    gq_elem_put(dst, row + col - e0, c->dtype, gq_group_elem(c, &d[col - c0], i));
                }
            }
        }
    }
    return GQ_OK;
}

int gq_decode_range_ex(enum gq_path path, const void *buf, size_t buf_size, uint64_t e0, uint64_t e1,
                       void *dst)
{
    const struct gq_cpu_path *impl = path_get(path);
    struct gq_info info;
    struct gq_dec_ctx c;
    int rc;
    if (!impl)
        return GQ_ERR_UNSUPPORTED;
    if ((rc = gq_info_read(buf, buf_size, &info)) != GQ_OK)
        return rc;
    if (info.overflow)
        return GQ_ERR_OVERFLOW;
    if (e0 > e1 || e1 > info.layout.n_elems)
        return GQ_ERR_RANGE;
    if (((uintptr_t)buf & 15u) || ((uintptr_t)dst & (info.layout.esize - 1u)))
        return GQ_ERR_ALIGN;
    if (e0 == e1)
        return GQ_OK;
    dec_ctx_init(&c, &info, buf);
    if (info.params.axis == GQ_DIM_LAST)
        return decode_last(impl, &c, e0, e1, dst);
    return decode_dim0(impl, &c, e0, e1, dst);
}

int gq_decode_range(const void *buf, size_t buf_size, uint64_t e0, uint64_t e1, void *dst)
{
    return gq_decode_range_ex(GQ_PATH_AUTO, buf, buf_size, e0, e1, dst);
}

int gq_decode(const void *buf, size_t buf_size, void *dst, size_t dst_size)
{
    struct gq_info info;
    int rc = gq_info_read(buf, buf_size, &info);
    if (rc != GQ_OK)
        return rc;
    if (dst_size < info.layout.n_elems * info.layout.esize)
        return GQ_ERR_SIZE;
    return gq_decode_range(buf, buf_size, 0, info.layout.n_elems, dst);
}

int gq_decode_groups(const void *buf, size_t buf_size, uint64_t g0, uint64_t g1, void *dst)
{
    struct gq_info info;
    uint64_t C, e0, e1;
    int rc = gq_info_read(buf, buf_size, &info);
    if (rc != GQ_OK)
        return rc;
    if (g0 > g1 || g1 > info.layout.n_groups)
        return GQ_ERR_RANGE;
    if (g0 == g1)
        return GQ_OK;
    C = info.layout.cols;
    if (info.params.axis == GQ_DIM_0 && (g0 % C != 0 || (g1 % C != 0 && g1 != info.layout.n_groups)))
        return GQ_ERR_RANGE;
    e0 = g0 / C * info.params.group * C;
    e1 = (g1 + C - 1) / C * info.params.group * C;
    if (e1 > info.layout.n_elems)
        e1 = info.layout.n_elems;
    return gq_decode_range(buf, buf_size, e0, e1, dst);
}

/*
 * e2e_oracle.h — what a program must find after a compressed round trip:
 * the CPU codec's decode of its encode (the GPU kernels agree with it bit for
 * bit). Linked as a test oracle, not as a shim.
 */
#ifndef E2E_ORACLE_H
#define E2E_ORACLE_H

#include "e2e.h"
#include "gq_codec.h"

/* want := src after a compressed round trip with parameters p (quant), or
 * src itself (!quant). bytes is a multiple of the element size. */
static inline void e2e_expect(const struct gq_params *p, const void *src, size_t bytes, int quant,
                              void *want)
{
    if (!quant) {
        memcpy(want, src, bytes);
        return;
    }
    uint64_t n = bytes / gq_dtype_size(p->dtype);
    /* A slot for every group: the decoded values do not depend on the
     * capacity, as long as nothing overflows. */
    struct gq_layout l;
    if (gq_layout_init(&l, p, n, 0) != GQ_OK)
        FAIL("oracle codec refused the parameters");
    uint32_t cap = (uint32_t)l.n_groups;
    size_t csize = gq_compressed_size(p, n, cap);
    void *c = malloc(csize);
    if (!c || gq_encode(p, src, n, cap, c, csize) != GQ_OK ||
        gq_decode(c, csize, want, bytes) != GQ_OK)
        FAIL("oracle codec refused the parameters");
    free(c);
}

#endif

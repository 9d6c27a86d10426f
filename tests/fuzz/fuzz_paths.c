/*
 * fuzz_paths.c — one property: every codec path this CPU runs, and every
 * split over threads, writes the scalar path's bytes for ANY input bits and
 * parameters, and decodes them to the scalar path's values (gq_format.h,
 * "CPU / GPU agreement": the SIMD paths reproduce the scalar functions). The
 * first 8 input bytes choose the parameters; small groups are drawn often so
 * that short inputs still fill the SIMD paths' 16-group blocks.
 */
#include "gq_codec.h"
#include "gq_codec_impl.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t bits_of[4] = {2, 4, 8, 4};
    static const enum gq_path paths[] = {GQ_PATH_AVX2, GQ_PATH_AVX512};
    struct gq_params p;
    uint32_t es, cap;
    uint64_t n;
    size_t csize;
    uint8_t *src, *ref, *got, *dref, *dgot;
    int rc;

    if (size < 8)
        return 0;
    p.bits = bits_of[data[0] & 3];
    p.dtype = GQ_F16 + (uint32_t)((data[0] >> 2) % 3);
    p.group = (data[0] & 0x80) ? 16u << (data[1] % 4) : GQ_GROUP_MIN + 2u * (uint32_t)(data[1] % 61);
    p.axis = (data[0] >> 4) & 1;
    p.cols = p.axis ? 1u + data[3] % 40 : 0;
    cap = data[4] % 8;
    es = gq_dtype_size(p.dtype);
    data += 8;
    size -= 8;
    n = size / es;
    if (p.axis)
        n -= n % p.cols;
    if (n == 0)
        return 0;
    csize = gq_compressed_size(&p, n, cap);
    if (csize == 0)
        __builtin_trap();
    src = malloc(n * es);
    memcpy(src, data, n * es);
    ref = aligned_alloc(64, (csize + 63) / 64 * 64);
    got = aligned_alloc(64, (csize + 63) / 64 * 64);
    dref = malloc(n * es);
    dgot = malloc(n * es);

    rc = gq_encode_ex(GQ_PATH_SCALAR, &p, src, n, cap, ref, csize);
    if (rc != GQ_OK && rc != GQ_ERR_OVERFLOW)
        __builtin_trap();
    if (rc == GQ_OK && gq_decode_range_ex(GQ_PATH_SCALAR, ref, csize, 0, n, dref) != GQ_OK)
        __builtin_trap();
    for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (!gq_path_available(paths[i]))
            continue;
        if (gq_encode_ex(paths[i], &p, src, n, cap, got, csize) != rc || memcmp(ref, got, csize) != 0)
            __builtin_trap();
        if (rc == GQ_OK && (gq_decode_range_ex(paths[i], ref, csize, 0, n, dgot) != GQ_OK ||
                            memcmp(dref, dgot, n * es) != 0))
            __builtin_trap();
    }
    {
        unsigned parts = 2u + data[0] % 3u; /* 2..4 threads */
        if (gq_encode_parts(GQ_PATH_AUTO, &p, src, n, cap, got, csize, parts) != rc || memcmp(ref, got, csize) != 0)
            __builtin_trap();
        if (rc == GQ_OK && (gq_decode_range_parts(GQ_PATH_AUTO, ref, csize, 0, n, dgot, parts) != GQ_OK ||
                            memcmp(dref, dgot, n * es) != 0))
            __builtin_trap();
    }
    free(src);
    free(ref);
    free(got);
    free(dref);
    free(dgot);
    return 0;
}

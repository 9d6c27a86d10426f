/*
 * optin — a program that names its own tensors through gqshim.h, found with
 * dlsym so that it runs unchanged without the shim.
 *
 *   optin absent    the API must be missing; every copy exact
 *   optin present   the API must be there; a registered device tensor and a
 *                   registered pinned buffer are compressed (the codec's
 *                   values, checked against the CPU codec), an unregistered
 *                   one is exact, errors are the documented ones
 */
#define _GNU_SOURCE
#include "e2e.h"
#include "e2e_oracle.h"
#include "gqshim.h"

#include <dlfcn.h>
#include <errno.h>

static enum cudaMemcpyKind D2H = cudaMemcpyDeviceToHost, H2D = cudaMemcpyHostToDevice;

static gq_register_fn reg;
static gq_unregister_fn unreg;
static gq_stats_fn stats;

static void check_device(const void *d, const void *want, size_t n, const char *what)
{
    void *h = malloc(n);
    CK(cudaMemcpy(h, d, n, D2H));
    long at = e2e_diff(h, want, n);
    if (at >= 0)
        FAIL("%s: byte %ld differs", what, at);
    free(h);
}

static void check_host(const void *h, const void *want, size_t n, const char *what)
{
    long at = e2e_diff(h, want, n);
    if (at >= 0)
        FAIL("%s: byte %ld differs", what, at);
}

#define EXPECT_RC(call, want)                                                      \
    do {                                                                           \
        int rc_ = (call);                                                          \
        if (rc_ != (want))                                                         \
            FAIL("%s returned %d, want %d (%s)", #call, rc_, (want), #want);       \
    } while (0)

/* What the codec makes of src with these parameters. */
static void *quantized(const void *src, size_t bytes, unsigned bits, unsigned group)
{
    struct gq_params p = { bits, group, GQ_F16, GQ_DIM_LAST, 0 };
    void *out = malloc(bytes);
    e2e_expect(&p, src, bytes, 1, out);
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "absent") && strcmp(argv[1], "present"))) {
        fprintf(stderr, "usage: optin absent|present\n");
        return 2;
    }
    int present = strcmp(argv[1], "present") == 0;
    reg = (gq_register_fn)dlsym(RTLD_DEFAULT, "gq_register");
    unreg = (gq_unregister_fn)dlsym(RTLD_DEFAULT, "gq_unregister");
    stats = (gq_stats_fn)dlsym(RTLD_DEFAULT, "gq_stats");
    if (present != (reg && unreg && stats))
        FAIL("gq_register %s, want %s", reg ? "found" : "missing", argv[1]);

    const size_t bytes = 1 << 20;
    unsigned char *src = malloc(bytes);
    e2e_fill(src, bytes, "f16", 7, 1);
    unsigned char *want4 = present ? quantized(src, bytes, 4, 64) : src;
    unsigned char *want8 = present ? quantized(src, bytes, 8, 32) : src;
    unsigned char *want4g32 = present ? quantized(src, bytes, 4, 32) : src;

    void *d_a, *d_b, *d_big;
    unsigned char *h, *h2, *h3, *pageable = malloc(bytes);
    CK(cudaMalloc(&d_a, bytes));
    CK(cudaMalloc(&d_b, bytes));
    CK(cudaMalloc(&d_big, 3 * bytes));
    CK(cudaMallocHost((void **)&h, bytes));
    CK(cudaMallocHost((void **)&h2, bytes));
    CK(cudaMallocHost((void **)&h3, bytes));
    CK(cudaMemcpy(d_a, src, bytes, H2D));
    CK(cudaMemcpy((char *)d_big + bytes, src, bytes, H2D));

    if (present) {
        /* The documented errors, before anything is registered. */
        EXPECT_RC(reg(NULL, bytes, ""), -EINVAL);
        EXPECT_RC(reg(d_a, 0, ""), -EINVAL);
        EXPECT_RC(reg(d_a, bytes, "bits=3"), -EINVAL);
        EXPECT_RC(reg(d_a, bytes, "on=host"), -EINVAL);
        EXPECT_RC(reg(d_a, bytes, "dtype=f16,min=1M"), -EINVAL);
        EXPECT_RC(reg(d_a, bytes, "dtype=f16;dtype=f32"), -EINVAL);
        EXPECT_RC(reg(pageable, bytes, ""), -EFAULT);
        EXPECT_RC(reg(d_a, bytes + 1, ""), -EFAULT);
        EXPECT_RC(unreg(d_a), -ENOENT);
        struct gq_stats_public st;
        EXPECT_RC(stats(&st, 8), -EINVAL);
        EXPECT_RC(stats(NULL, sizeof st), -EINVAL);

        /* A device tensor with its own parameters, a pinned buffer with the
         * defaults (GQSHIM_BITS / GQSHIM_GROUP, set by the script to 8, 32),
         * and a tensor carved out of the middle of a larger allocation that
         * sets bits= and inherits group=. */
        EXPECT_RC(reg(d_a, bytes, " dtype=f16, bits=4, group=64, name=optin "), 0);
        EXPECT_RC(reg(h3, bytes, NULL), 0);
        EXPECT_RC(reg((char *)d_big + bytes, bytes, "bits=4"), 0);
    }

    /* Offload and restore the registered device tensor. */
    CK(cudaMemcpy(h, d_a, bytes, D2H));
    check_host(h, want4, bytes, "offload of the registered device tensor");
    CK(cudaMemcpy(d_b, h, bytes, H2D));
    check_device(d_b, want4, bytes, "restore of the registered device tensor");

    /* An offload into the registered pinned buffer, from an unregistered source. */
    CK(cudaMemcpy(d_b, src, bytes, H2D));
    CK(cudaMemcpy(h3, d_b, bytes, D2H));
    check_host(h3, want8, bytes, "offload into the registered pinned buffer");

    /* The carved tensor, through its own slice of the big allocation. */
    CK(cudaMemcpy(h2, (char *)d_big + bytes, bytes, D2H));
    check_host(h2, want4g32, bytes, "offload of the carved tensor");

    if (present) {
        struct gq_stats_public st;
        EXPECT_RC(stats(&st, sizeof st), 0);
        if (st.version != GQ_STATS_VERSION || st.size != sizeof st)
            FAIL("gq_stats: version %u size %u", st.version, st.size);
        if (st.offloads != 3 || st.restores != 1 || st.regions_dev < 2 || st.regions_host < 1)
            FAIL("gq_stats: offloads %llu restores %llu regions %llu/%llu",
                 (unsigned long long)st.offloads, (unsigned long long)st.restores,
                 (unsigned long long)st.regions_dev, (unsigned long long)st.regions_host);
        if (st.moved_bytes * 2 >= st.logical_bytes)
            FAIL("gq_stats: moved %llu of %llu bytes", (unsigned long long)st.moved_bytes,
                 (unsigned long long)st.logical_bytes);

        /* Unregistered: the next offload is plain, bit for bit. */
        EXPECT_RC(unreg(d_a), 0);
        EXPECT_RC(unreg(d_a), -ENOENT);
        CK(cudaMemcpy(h2, d_a, bytes, D2H));
        check_host(h2, src, bytes, "offload after gq_unregister");

        /* Freeing the big allocation ends the carved registration (else a
         * new allocation at a recycled address would be taken for it). */
        CK(cudaFree(d_big));
        EXPECT_RC(unreg((char *)d_big + bytes), -ENOENT);
        d_big = NULL;
        EXPECT_RC(stats(&st, sizeof st), 0);
        if (st.offloads != 3)
            FAIL("gq_stats: %llu offloads after unregistering, want 3",
                 (unsigned long long)st.offloads);
    }

    printf("optin %s: ok\n", argv[1]);
    CK(cudaFree(d_a));
    CK(cudaFree(d_b));
    if (d_big)
        CK(cudaFree(d_big));
    CK(cudaFreeHost(h));
    CK(cudaFreeHost(h2));
    CK(cudaFreeHost(h3));
    free(pageable);
    if (want4 != src)
        free(want4);
    if (want8 != src)
        free(want8);
    if (want4g32 != src)
        free(want4g32);
    free(src);
    return 0;
}

/* Which hook a cuGetProcAddress answer becomes (gq_drv_procaddr_choose):
 * the driver's version rule from cudaTypedefs.h, per-thread variants, and
 * the real pointer untouched wherever the caller asked for another ABI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gpu/gq_real_drv.h"

#define PTDS CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
#define LEGACY CU_GET_PROC_ADDRESS_LEGACY_STREAM

static int choose(const char *sym, int ver, cuuint64_t flags)
{
    return gq_drv_procaddr_choose(sym, ver, flags, -1);
}

static void current_versions_pick_the_versioned_symbols(void **state)
{
    (void)state;
    assert_int_equal(choose("cuMemAlloc", 13000, 0), GQ_DH_cuMemAlloc_v2);
    assert_int_equal(choose("cuMemFree", 12000, 0), GQ_DH_cuMemFree_v2);
    assert_int_equal(choose("cuMemAllocHost", 13000, 0), GQ_DH_cuMemAllocHost_v2);
    assert_int_equal(choose("cuMemHostAlloc", 13000, 0), GQ_DH_cuMemHostAlloc);
    assert_int_equal(choose("cuMemFreeHost", 13000, 0), GQ_DH_cuMemFreeHost);
    assert_int_equal(choose("cuMemHostRegister", 13000, 0), GQ_DH_cuMemHostRegister_v2);
    assert_int_equal(choose("cuMemHostUnregister", 13000, 0), GQ_DH_cuMemHostUnregister);
    assert_int_equal(choose("cuMemcpyDtoH", 13000, 0), GQ_DH_cuMemcpyDtoH_v2);
    assert_int_equal(choose("cuMemcpyHtoDAsync", 13000, 0), GQ_DH_cuMemcpyHtoDAsync_v2);
    assert_int_equal(choose("cuMemcpy", 13000, 0), GQ_DH_cuMemcpy);
    assert_int_equal(choose("cuMemcpyAsync", 13000, LEGACY), GQ_DH_cuMemcpyAsync);
    assert_int_equal(choose("cuMemAllocAsync", 11020, 0), GQ_DH_cuMemAllocAsync);
    assert_int_equal(choose("cuGetProcAddress", 13000, 0), GQ_DH_cuGetProcAddress_v2);
    assert_int_equal(choose("cuGetProcAddress", 11030, 0), GQ_DH_cuGetProcAddress);
}

static void per_thread_flag_picks_ptds_variants_from_7000(void **state)
{
    (void)state;
    assert_int_equal(choose("cuMemcpyHtoD", 13000, PTDS), GQ_DH_cuMemcpyHtoD_v2_ptds);
    assert_int_equal(choose("cuMemcpyDtoHAsync", 7000, PTDS), GQ_DH_cuMemcpyDtoHAsync_v2_ptsz);
    assert_int_equal(choose("cuMemcpy", 13000, PTDS), GQ_DH_cuMemcpy_ptds);
    assert_int_equal(choose("cuMemcpyAsync", 13000, PTDS), GQ_DH_cuMemcpyAsync_ptsz);
    assert_int_equal(choose("cuMemAllocAsync", 12000, PTDS), GQ_DH_cuMemAllocAsync_ptsz);
    assert_int_equal(choose("cuMemFreeAsync", 12000, PTDS), GQ_DH_cuMemFreeAsync_ptsz);
    /* Before 7.0 there was no per-thread variant: the legacy one. */
    assert_int_equal(choose("cuMemcpyHtoD", 6050, PTDS), GQ_DH_cuMemcpyHtoD_v2);
    /* Default and legacy searches never pick a per-thread variant. */
    assert_int_equal(choose("cuMemcpyHtoD", 13000, 0), GQ_DH_cuMemcpyHtoD_v2);
    assert_int_equal(choose("cuMemcpyHtoD", 13000, LEGACY), GQ_DH_cuMemcpyHtoD_v2);
    /* Symbols without a per-thread variant keep theirs. */
    assert_int_equal(choose("cuMemAlloc", 13000, PTDS), GQ_DH_cuMemAlloc_v2);
}

static void older_abis_are_left_to_the_driver(void **state)
{
    (void)state;
    /* v1: 32-bit sizes and device pointers */
    assert_int_equal(choose("cuMemAlloc", 3010, 0), -1);
    assert_int_equal(choose("cuMemAlloc", 2000, 0), -1);
    assert_int_equal(choose("cuMemcpyDtoHAsync", 2000, 0), -1);
    assert_int_equal(choose("cuMemAllocHost", 2000, 0), -1);
    /* cuMemHostRegister before 6.5 is the v1 symbol */
    assert_int_equal(choose("cuMemHostRegister", 6000, 0), -1);
    /* did not exist yet */
    assert_int_equal(choose("cuMemcpy", 3020, 0), -1);
    assert_int_equal(choose("cuMemAllocAsync", 11010, PTDS), -1);
    assert_int_equal(choose("cuGetProcAddress", 11020, 0), -1);
    /* not interposed at all */
    assert_int_equal(choose("cuMemsetD8", 13000, 0), -1);
    assert_int_equal(choose("cuMemAlloc_v2", 13000, 0), -1);
}

static void the_drivers_answer_names_the_variant(void **state)
{
    (void)state;
    /* Default flags in a per-thread build: the driver answered _ptds. */
    assert_int_equal(gq_drv_procaddr_choose("cuMemcpyHtoD", 13000, 0, GQ_DH_cuMemcpyHtoD_v2_ptds),
                     GQ_DH_cuMemcpyHtoD_v2_ptds);
    /* ...but never for an ABI we do not hook, whatever it answered. */
    assert_int_equal(gq_drv_procaddr_choose("cuMemAlloc", 2000, 0, GQ_DH_cuMemAlloc_v2), -1);
    /* A version newer than this build: hook only a recognised answer. */
    assert_int_equal(choose("cuMemAlloc", CUDA_VERSION + 1000, 0), -1);
    assert_int_equal(gq_drv_procaddr_choose("cuMemAlloc", CUDA_VERSION + 1000, 0,
                                            GQ_DH_cuMemAlloc_v2),
                     GQ_DH_cuMemAlloc_v2);
}

/* The table itself: every hook is what its own base, version and flag ask
 * for, and its name finds it. */
static void every_hook_is_reachable_by_its_own_request(void **state)
{
    (void)state;
    static const struct {
        const char *base;
        int since, ptds;
    } info[GQ_DH_COUNT] = {
#define INFO(name, base, since, ptds, params, args) {base, since, ptds},
        GQ_DRV_HOOKS(INFO)
#undef INFO
    };
    for (int i = 0; i < GQ_DH_COUNT; i++) {
        assert_int_equal(choose(info[i].base, info[i].since, info[i].ptds ? PTDS : 0), i);
        assert_int_equal(gq_drv_hook_by_name(gq_drv_hook_name((enum gq_drv_hook)i)), i);
    }
    assert_int_equal(gq_drv_hook_by_name("cuMemAlloc"), -1); /* the v1 export */
    assert_int_equal(gq_drv_hook_by_name("cudaMalloc"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(current_versions_pick_the_versioned_symbols),
        cmocka_unit_test(per_thread_flag_picks_ptds_variants_from_7000),
        cmocka_unit_test(older_abis_are_left_to_the_driver),
        cmocka_unit_test(the_drivers_answer_names_the_variant),
        cmocka_unit_test(every_hook_is_reachable_by_its_own_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

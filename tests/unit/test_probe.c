/* The host-mode probe (host/gq_probe.h): each refusal gives its mode, reason
 * and fix. The refusals come from the probe's fault-injection list (the
 * environments themselves are run by tests/e2e/t_modes.sh). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "host/gq_probe.h"

/* Where this machine allows write tracking at all (Linux 6.7+). */
static int tracking_here(void)
{
    struct gq_probe p;
    gq_probe_run(&p, GQ_MODE_FULL, NULL);
    int yes = p.mode <= GQ_MODE_TRACKED;
    gq_probe_close(&p);
    return yes;
}

static void refused_userfaultfd_gives_checksum(void **state)
{
    (void)state;
    struct gq_probe p;
    gq_probe_run(&p, GQ_MODE_FULL, "userfaultfd");
    assert_int_equal(p.mode, GQ_MODE_CHECKSUM);
    assert_int_equal(p.err_uffd, EPERM);
    assert_int_equal(p.uffd, -1);
    assert_non_null(strstr(p.reason, "userfaultfd(2) refused (EPERM)"));
    assert_true(strlen(p.fix) > 0);
    gq_probe_close(&p);
}

static void user_mode_only_gives_tracked(void **state)
{
    (void)state;
    if (!tracking_here())
        skip();
    struct gq_probe p;
    gq_probe_run(&p, GQ_MODE_FULL, "kernel_faults");
    assert_int_equal(p.mode, GQ_MODE_TRACKED);
    assert_int_equal(p.err_uffd, EPERM);
    assert_int_equal(p.err_uffd_user, 0);
    assert_true(p.uffd >= 0 && p.pagemap >= 0);
    assert_non_null(strstr(p.reason, "user-mode faults only"));
    assert_non_null(strstr(p.fix, "vm.unprivileged_userfaultfd=1"));
    gq_probe_close(&p);
}

static void missing_kernel_features_give_checksum(void **state)
{
    (void)state;
    if (!tracking_here())
        skip();
    struct gq_probe p;
    gq_probe_run(&p, GQ_MODE_FULL, "wp_async");
    assert_int_equal(p.mode, GQ_MODE_CHECKSUM);
    assert_non_null(strstr(p.reason, "asynchronous write protection"));
    assert_non_null(strstr(p.fix, "6.7"));
    gq_probe_close(&p);
    gq_probe_run(&p, GQ_MODE_FULL, "kernel_faults,pagemap_scan");
    assert_int_equal(p.mode, GQ_MODE_CHECKSUM);
    assert_int_equal(p.err_pagemap_scan, ENOTTY);
    assert_non_null(strstr(p.reason, "PAGEMAP_SCAN (ENOTTY"));
    assert_int_equal(p.uffd, -1);
    gq_probe_close(&p);
}

static void a_ceiling_caps_the_mode(void **state)
{
    (void)state;
    struct gq_probe p;
    gq_probe_run(&p, GQ_MODE_UNTRACKED, NULL);
    assert_int_equal(p.mode, GQ_MODE_UNTRACKED);
    assert_non_null(strstr(p.reason, "GQSHIM_HOST_MODE=untracked"));
    gq_probe_close(&p);
    if (!tracking_here())
        return;
    gq_probe_run(&p, GQ_MODE_TRACKED, NULL);
    assert_int_equal(p.mode, GQ_MODE_TRACKED);
    assert_true(p.uffd >= 0);
    gq_probe_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_userfaultfd_gives_checksum),
        cmocka_unit_test(user_mode_only_gives_tracked),
        cmocka_unit_test(missing_kernel_features_give_checksum),
        cmocka_unit_test(a_ceiling_caps_the_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Page checksums (host/gq_wsum.h), and write tracking's use of them for
 * memory write protection cannot vouch for (a shared memfd mapping, as
 * cudasim models the driver's pinned memory). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/gq_wsum.h"
#include "host/gq_wtrack.h"

#define PG 4096
#define PAGES 8

static char *anon(void)
{
    char *p = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    for (int i = 0; i < PAGES * PG; i++)
        p[i] = (char)(i * 7 + 1);
    return p;
}

static void unchanged_pages_are_clean_any_change_is_seen(void **state)
{
    (void)state;
    char *p = anon();
    int owner;
    assert_int_equal(gq_wsum_arm(p, PAGES * PG, &owner), 0);
    assert_int_equal(gq_wsum_clean(p, PAGES * PG), 1);
    p[3 * PG + 17] ^= 1; /* one bit */
    assert_int_equal(gq_wsum_clean(p, PAGES * PG), 0);
    assert_int_equal(gq_wsum_clean(p + 3 * PG, PG), 0);
    assert_int_equal(gq_wsum_clean(p + 4 * PG, 4 * PG), 1); /* the other pages */
    p[3 * PG + 17] ^= 1; /* the same bytes again: clean, as they are */
    assert_int_equal(gq_wsum_clean(p, PAGES * PG), 1);
    gq_wsum_disarm(p, PAGES * PG, &owner);
    assert_int_equal(gq_wsum_clean(p, PAGES * PG), -1);
    munmap(p, PAGES * PG);
}

static void only_whole_inner_pages_are_armed(void **state)
{
    (void)state;
    char *p = anon();
    int a, b;
    /* Two tensors sharing page 2: neither replaces the other. */
    assert_int_equal(gq_wsum_arm(p + 100, 2 * PG + 50, &a), 0); /* whole page: 1 */
    assert_int_equal(gq_wsum_arm(p + 2 * PG + 150, 3 * PG, &b), 0); /* whole pages: 3, 4 */
    assert_int_equal(gq_wsum_clean(p + PG, PG), 1);
    assert_int_equal(gq_wsum_clean(p + 3 * PG, 2 * PG), 1);
    assert_int_equal(gq_wsum_clean(p, PG), -1);     /* edge page: never armed */
    assert_int_equal(gq_wsum_clean(p, 2 * PG), 0);  /* partly armed: not clean */
    /* Disarming with another owner, or another span, leaves the range. */
    gq_wsum_disarm(p + 2 * PG + 150, 3 * PG, &a);
    gq_wsum_disarm(p + 2 * PG, 3 * PG, &b);
    assert_int_equal(gq_wsum_clean(p + 3 * PG, 2 * PG), 1);
    gq_wsum_disarm(p + 2 * PG + 150, 3 * PG, &b);
    assert_int_equal(gq_wsum_clean(p + 3 * PG, 2 * PG), -1);
    gq_wsum_forget(p, PAGES * PG);
    assert_int_equal(gq_wsum_clean(p + PG, PG), -1);
    munmap(p, PAGES * PG);
}

static void rearming_replaces_the_old_checksums(void **state)
{
    (void)state;
    char *p = anon();
    int a, b;
    assert_int_equal(gq_wsum_arm(p, PAGES * PG, &a), 0);
    memset(p, 9, PG);
    assert_int_equal(gq_wsum_arm(p, 4 * PG, &b), 0); /* a new offload of part of it */
    assert_int_equal(gq_wsum_clean(p, 4 * PG), 1);
    assert_int_equal(gq_wsum_clean(p + 4 * PG, PG), -1); /* the old range is gone */
    gq_wsum_disarm(p, PAGES * PG, &a);                   /* the old owner: nothing */
    assert_int_equal(gq_wsum_clean(p, 4 * PG), 1);
    gq_wsum_forget(p, PAGES * PG);
    munmap(p, PAGES * PG);
}

/* A shared memfd mapping: write protection registers it but cannot vouch
 * for it (another mapping may write the file); checksums take over, and a
 * write through a second mapping of the same file is seen. */
static void shared_mapping_falls_back_to_checksums(void **state)
{
    (void)state;
    if (!gq_wtrack_available())
        skip();
    int fd = memfd_create("test-wsum", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, PAGES * PG), 0);
    char *p = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *other = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(p != MAP_FAILED && other != MAP_FAILED);
    memset(p, 0x42, PAGES * PG);
    int owner;
    assert_int_equal(gq_wtrack_arm(p, PAGES * PG, &owner), 0);
    assert_true(gq_wsum_holds(p, PAGES * PG));
    assert_true(gq_wtrack_clean(p, PAGES * PG));
    other[5 * PG] = 1; /* not through p's page tables */
    assert_false(gq_wtrack_clean(p, PAGES * PG));
    assert_false(gq_wtrack_gone(p, PAGES * PG)); /* still mapped */
    gq_wtrack_disarm(p, PAGES * PG, &owner);
    munmap(other, PAGES * PG);
    munmap(p, PAGES * PG);
    close(fd);
}

static void unmapped_checksummed_range_is_gone(void **state)
{
    (void)state;
    char *p = anon();
    int owner;
    assert_int_equal(gq_wsum_arm(p, PAGES * PG, &owner), 0);
    assert_false(gq_wtrack_gone(p, PAGES * PG));
    munmap(p, PAGES * PG);
    assert_true(gq_wtrack_gone(p, PAGES * PG)); /* known without reading it */
    gq_wsum_forget(p, PAGES * PG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unchanged_pages_are_clean_any_change_is_seen),
        cmocka_unit_test(only_whole_inner_pages_are_armed),
        cmocka_unit_test(rearming_replaces_the_old_checksums),
        cmocka_unit_test(shared_mapping_falls_back_to_checksums),
        cmocka_unit_test(unmapped_checksummed_range_is_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

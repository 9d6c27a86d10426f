/* Write tracking: every kind of write to an armed range is seen. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/gq_wtrack.h"

#define PAGES 16

static char *fresh_range(void)
{
    char *p = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 0x5a, PAGES * 4096);
    return p;
}

static int setup(void **state)
{
    (void)state;
    if (!gq_wtrack_available()) {
        print_message("write tracking unavailable on this kernel; tests skipped\n");
        return 0;
    }
    return 0;
}

static void armed_range_reads_clean_until_written(void **state)
{
    (void)state;
    if (!gq_wtrack_available())
        skip();
    char *p = fresh_range();
    assert_int_equal(gq_wtrack_arm(p, PAGES * 4096, NULL), 0);
    assert_true(gq_wtrack_clean(p, PAGES * 4096));
    volatile char c = p[3 * 4096]; /* reads do not count */
    (void)c;
    assert_true(gq_wtrack_clean(p, PAGES * 4096));
    p[3 * 4096 + 7] = 1;
    assert_false(gq_wtrack_clean(p, PAGES * 4096));
    assert_false(gq_wtrack_clean(p + 3 * 4096, 1));
    assert_true(gq_wtrack_clean(p, 3 * 4096));
    assert_true(gq_wtrack_clean(p + 4 * 4096, 12 * 4096));
    munmap(p, PAGES * 4096);
}

static void system_call_writes_are_seen(void **state)
{
    (void)state;
    if (!gq_wtrack_available())
        skip();
    char *p = fresh_range();
    assert_int_equal(gq_wtrack_arm(p, PAGES * 4096, NULL), 0);
    int fd = open("/proc/self/stat", O_RDONLY);
    assert_true(fd >= 0);
    assert_true(read(fd, p + 5 * 4096 + 100, 16) > 0);
    close(fd);
    assert_false(gq_wtrack_clean(p + 5 * 4096, 4096));
    assert_true(gq_wtrack_clean(p + 6 * 4096, 4096));
    munmap(p, PAGES * 4096);
}

static void discarded_and_remapped_pages_read_written(void **state)
{
    (void)state;
    if (!gq_wtrack_available())
        skip();
    char *p = fresh_range();
    assert_int_equal(gq_wtrack_arm(p, PAGES * 4096, NULL), 0);
    madvise(p + 8 * 4096, 4096, MADV_DONTNEED);
    assert_false(gq_wtrack_clean(p + 8 * 4096, 4096));
    munmap(p, PAGES * 4096);
    char *q = mmap(p, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0);
    assert_ptr_equal(q, p);
    assert_false(gq_wtrack_clean(q, 4096)); /* a new mapping is never "clean" */
    munmap(q, PAGES * 4096);
}

static void never_armed_range_is_not_clean(void **state)
{
    (void)state;
    char *p = fresh_range();
    assert_false(gq_wtrack_clean(p, 4096));
    munmap(p, PAGES * 4096);
}

static void heap_range_unaligned_edges_cover_whole_pages(void **state)
{
    (void)state;
    if (!gq_wtrack_available())
        skip();
    char *p = fresh_range();
    assert_int_equal(gq_wtrack_arm(p + 100, 2 * 4096, NULL), 0); /* pages 0..2 */
    p[2 * 4096 + 4000] = 3; /* outside the bytes, inside the last page */
    assert_false(gq_wtrack_clean(p + 100, 2 * 4096));
    munmap(p, PAGES * 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(armed_range_reads_clean_until_written),
        cmocka_unit_test(system_call_writes_are_seen),
        cmocka_unit_test(discarded_and_remapped_pages_read_written),
        cmocka_unit_test(never_armed_range_is_not_clean),
        cmocka_unit_test(heap_range_unaligned_edges_cover_whole_pages),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

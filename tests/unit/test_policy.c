/* test_policy.c — the GQSHIM_RULES grammar, its error lines, rule matching
 * (order, size filters, nth counting under concurrency) and the printer. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gq_parse.h"
#include "gq_rules.h"

static struct gq_rules rules;
static char err[GQ_RULES_ERR_MAX];

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

static const struct gq_rule *parse_ok(const char *text)
{
    if (gq_rules_parse(text, &rules, err, sizeof err) != 0)
        fail_msg("'%s' failed: %s", text, err);
    assert_string_equal(err, "");
    return &rules.rule[0];
}

/* Parses text that must fail; checks the one-line contract and returns the line. */
static const char *parse_err(const char *text)
{
    rules.count = 7;
    if (gq_rules_parse(text, &rules, err, sizeof err) == 0)
        fail_msg("'%s' parsed, expected an error", text);
    assert_int_equal(rules.count, 0);
    assert_int_equal(strncmp(err, "GQSHIM_RULES", 12), 0);
    assert_null(strchr(err, '\n'));
    assert_contains(err, "accepted");
    return err;
}

static void test_minimal_rule_takes_every_default(void **state)
{
    const struct gq_rule *r = parse_ok("on=host");
    assert_int_equal(rules.count, 1);
    assert_int_equal(r->on, GQ_ON_HOST);
    assert_int_equal(r->min, 0);
    assert_true(r->max == UINT64_MAX);
    assert_int_equal(r->nsizes, 0);
    assert_int_equal(r->nth_lo, 0);
    assert_int_equal(r->dtype, GQ_RULE_F16);
    assert_int_equal(r->bits, 4);
    assert_int_equal(r->group, 64);
    assert_int_equal(r->dim, GQ_RULE_DIM_LAST);
    assert_int_equal(r->cols, 0);
    assert_string_equal(r->name, "rule1");
    assert_false(r->named);
}

static void test_on_accepts_host_and_dev_only(void **state)
{
    assert_int_equal(parse_ok("on=dev")->on, GQ_ON_DEV);
    const char *e = parse_err("on=gpu");
    assert_contains(e, "on='gpu'");
    assert_contains(e, "host|dev");
    parse_err("on=HOST");
}

static void test_on_is_required(void **state)
{
    const char *e = parse_err("min=1M,bits=8");
    assert_contains(e, "rule 1 'min=1M,bits=8'");
    assert_contains(e, "missing on=");
}

static void test_min_and_max_take_sizes_with_suffixes(void **state)
{
    const struct gq_rule *r = parse_ok("on=host,min=4K,max=2GiB");
    assert_int_equal(r->min, 4096);
    assert_int_equal(r->max, 2ull << 30);
}

static void test_min_not_a_size_names_key_value_and_syntax(void **state)
{
    const char *e = parse_err("on=host,min=4Q");
    assert_contains(e, "min='4Q' is not a size");
    assert_contains(e, "K, M, G");
}

static void test_size_overflow_is_out_of_range(void **state)
{
    assert_contains(parse_err("on=host,max=16777216T"), "max='16777216T' is not a size");
    assert_contains(parse_err("on=host,max=17179869184G"), "out of range");
    assert_contains(parse_err("on=host,min=18446744073709551616"), "out of range");
    assert_int_equal(parse_ok("on=host,max=18446744073709551615")->max, UINT64_MAX);
}

static void test_negative_and_non_numeric_sizes_are_rejected(void **state)
{
    parse_err("on=host,min=-1");
    parse_err("on=host,min=one");
    parse_err("on=host,min=1.5M");
    parse_err("on=host,min=0x100");
}

static void test_min_greater_than_max_is_rejected(void **state)
{
    const char *e = parse_err("on=dev,min=8K,max=4K");
    assert_contains(e, "min=8K is greater than max=4K");
    parse_ok("on=dev,min=4K,max=4K");
}

static void test_size_list_holds_exact_sizes(void **state)
{
    const struct gq_rule *r = parse_ok("on=host,size=4K|1M | 3");
    assert_int_equal(r->nsizes, 3);
    assert_int_equal(r->sizes[0], 4096);
    assert_int_equal(r->sizes[1], 1 << 20);
    assert_int_equal(r->sizes[2], 3);
}

static void test_size_list_of_sixteen_fits_and_seventeen_does_not(void **state)
{
    char text[256] = "on=host,size=1";
    for (int i = 2; i <= 16; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "|%d", i);
    assert_int_equal(parse_ok(text)->nsizes, 16);
    strcat(text, "|17");
    assert_contains(parse_err(text), "more than 16 sizes");
}

static void test_size_list_with_empty_entry_is_rejected(void **state)
{
    assert_contains(parse_err("on=host,size=4K||8K"), "empty entry");
    parse_err("on=host,size=4K|");
}

static void test_nth_single_and_range(void **state)
{
    const struct gq_rule *r = parse_ok("on=host,nth=3");
    assert_int_equal(r->nth_lo, 3);
    assert_int_equal(r->nth_hi, 3);
    r = parse_ok("on=host,nth= 2 - 5 ");
    assert_int_equal(r->nth_lo, 2);
    assert_int_equal(r->nth_hi, 5);
}

static void test_nth_rejects_zero_reversed_and_open_ranges(void **state)
{
    assert_contains(parse_err("on=host,nth=0"), "counting starts at 1");
    assert_contains(parse_err("on=host,nth=5-2"), "end is before its start");
    assert_contains(parse_err("on=host,nth=3-"), "1 <= A <= B");
    parse_err("on=host,nth=-3");
    parse_err("on=host,nth=1-2-3");
    parse_err("on=host,nth=1K");
}

static void test_dtype_each_spelling(void **state)
{
    assert_int_equal(parse_ok("on=dev,dtype=f16")->dtype, GQ_RULE_F16);
    assert_int_equal(parse_ok("on=dev,dtype=bf16")->dtype, GQ_RULE_BF16);
    assert_int_equal(parse_ok("on=dev,dtype=f32")->dtype, GQ_RULE_F32);
    assert_contains(parse_err("on=dev,dtype=fp16"), "f16|bf16|f32");
}

static void test_bits_two_four_eight_only(void **state)
{
    assert_int_equal(parse_ok("on=dev,bits=2")->bits, 2);
    assert_int_equal(parse_ok("on=dev,bits=8")->bits, 8);
    assert_contains(parse_err("on=dev,bits=3"), "bits='3'");
    parse_err("on=dev,bits=16");
    parse_err("on=dev,bits=04x");
}

static void test_group_even_between_8_and_1024(void **state)
{
    assert_int_equal(parse_ok("on=dev,group=8")->group, 8);
    assert_int_equal(parse_ok("on=dev,group=1024")->group, 1024);
    assert_int_equal(parse_ok("on=dev,group=130")->group, 130);
    assert_contains(parse_err("on=dev,group=6"), "even number from 8 to 1024");
    parse_err("on=dev,group=1026");
    parse_err("on=dev,group=65");
}

static void test_dim_zero_requires_cols(void **state)
{
    const struct gq_rule *r = parse_ok("on=dev,dim=0,cols=4096");
    assert_int_equal(r->dim, GQ_RULE_DIM_0);
    assert_int_equal(r->cols, 4096);
    assert_contains(parse_err("on=dev,dim=0"), "dim=0 without cols=");
}

static void test_cols_is_forbidden_without_dim_zero(void **state)
{
    assert_contains(parse_err("on=dev,cols=64"), "cols= without dim=0");
    assert_contains(parse_err("on=dev,dim=last,cols=64"), "cols= without dim=0");
}

static void test_dim_and_cols_bad_values(void **state)
{
    assert_contains(parse_err("on=dev,dim=1,cols=4"), "last|0");
    assert_contains(parse_err("on=dev,dim=0,cols=0"), "cols='0'");
    parse_err("on=dev,dim=0,cols=2147483648");
}

static void test_name_label_charset_and_length(void **state)
{
    const struct gq_rule *r = parse_ok("on=dev,name=kv.layer-0_k");
    assert_string_equal(r->name, "kv.layer-0_k");
    assert_true(r->named);
    parse_ok("on=dev,name=abcdefghijabcdefghijabcdefghij12");
    assert_contains(parse_err("on=dev,name=abcdefghijabcdefghijabcdefghij123"), "too long");
    assert_contains(parse_err("on=dev,name=kv cache"), "not a label");
    parse_err("on=dev,name=a/b");
}

static void test_default_names_number_rules_from_one(void **state)
{
    parse_ok("on=dev;on=host,name=w;on=host");
    assert_string_equal(rules.rule[0].name, "rule1");
    assert_string_equal(rules.rule[1].name, "w");
    assert_string_equal(rules.rule[2].name, "rule3");
    assert_int_equal(rules.rule[2].index, 2);
}

static void test_duplicate_names_are_rejected(void **state)
{
    assert_contains(parse_err("on=dev,name=kv;on=host,name=kv"), "rule 1 and rule 2 are both named 'kv'");
    assert_contains(parse_err("on=dev;on=host,name=rule1"), "both named 'rule1'");
}

static void test_unknown_key_lists_the_keys(void **state)
{
    const char *e = parse_err("on=host,mni=4K");
    assert_contains(e, "rule 1 'on=host,mni=4K'");
    assert_contains(e, "unknown key 'mni'");
    assert_contains(e, "on, min, max, size, nth, dtype, bits, group, dim, cols, upload, name");
}

static void test_keys_are_case_sensitive(void **state)
{
    assert_contains(parse_err("ON=host"), "unknown key 'ON'");
}

static void test_duplicate_key_is_rejected(void **state)
{
    assert_contains(parse_err("on=host,bits=4,bits=8"), "key 'bits' given twice");
    parse_err("on=host,on=dev");
}

static void test_empty_value_is_rejected(void **state)
{
    assert_contains(parse_err("on=host,min="), "min='' is empty");
    parse_err("on=");
}

static void test_item_without_equals_is_rejected(void **state)
{
    assert_contains(parse_err("on=host,fast"), "'fast' is not key=value");
}

static void test_stray_comma_is_rejected(void **state)
{
    assert_contains(parse_err("on=host,,bits=8"), "stray ','");
    parse_err("on=host,");
    parse_err(",on=host");
}

static void test_whitespace_around_tokens_is_ignored(void **state)
{
    const struct gq_rule *r = parse_ok("  on = dev ,\tmin= 1M , bits =8 ;\n on=host ; ");
    assert_int_equal(rules.count, 2);
    assert_int_equal(r->on, GQ_ON_DEV);
    assert_int_equal(r->min, 1 << 20);
    assert_int_equal(r->bits, 8);
}

static void test_one_trailing_semicolon_is_allowed(void **state)
{
    parse_ok("on=host;");
    assert_int_equal(rules.count, 1);
    parse_ok("on=host;on=dev; ");
    assert_int_equal(rules.count, 2);
}

static void test_empty_rule_is_rejected(void **state)
{
    assert_contains(parse_err("on=host;;on=dev"), "rule 2 is empty");
    assert_contains(parse_err(";on=dev"), "rule 1 is empty");
    assert_contains(parse_err("on=host;;"), "rule 2 is empty");
    parse_err(";");
}

static void test_empty_or_null_text_is_zero_rules(void **state)
{
    parse_ok("");
    assert_int_equal(rules.count, 0);
    parse_ok(" \t ");
    assert_int_equal(rules.count, 0);
    assert_int_equal(gq_rules_parse(NULL, &rules, err, sizeof err), 0);
    assert_int_equal(rules.count, 0);
}

static void test_thirty_two_rules_fit_and_thirty_three_do_not(void **state)
{
    static char text[1024];
    text[0] = '\0';
    for (int i = 0; i < GQ_RULES_MAX; i++)
        strcat(text, "on=host;");
    parse_ok(text);
    assert_int_equal(rules.count, GQ_RULES_MAX);
    strcat(text, "on=dev");
    assert_contains(parse_err(text), "more than 32 rules");
}

static void test_overlong_input_is_rejected_with_a_truncated_value(void **state)
{
    static char text[GQ_RULES_INPUT_MAX + 2];
    memset(text, ' ', sizeof text - 1);
    memcpy(text, "on=host", 7);
    text[sizeof text - 1] = '\0';
    const char *e = parse_err(text);
    assert_contains(e, "GQSHIM_RULES='on=host   ");
    assert_contains(e, "(4097 bytes)");
    assert_contains(e, "at most 4096 bytes");
    assert_true(strlen(e) < 200);
}

static void test_bad_bytes_are_escaped_in_the_message(void **state)
{
    const char *e = parse_err("on=host,bits=\x1b[31m");
    assert_contains(e, "bits='\\x1b[31m'");
}

static void test_small_error_buffer_truncates_safely(void **state)
{
    char small[16];
    memset(small, '#', sizeof small);
    assert_int_equal(gq_rules_parse("on=x", &rules, small, sizeof small), -1);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(gq_rules_parse("on=x", &rules, NULL, 0), -1);
}

static void test_span_parse_ignores_bytes_past_the_length(void **state)
{
    const char text[] = "on=dev,bits=8GARBAGE";
    assert_int_equal(gq_rules_parse_span(text, 13, &rules, err, sizeof err), 0);
    assert_int_equal(rules.rule[0].bits, 8);
}

static void test_first_matching_rule_wins(void **state)
{
    parse_ok("on=dev,min=1M,name=big;on=dev,name=any;on=dev,min=4M,name=never");
    assert_string_equal(gq_rules_match(&rules, GQ_ON_DEV, 8 << 20)->name, "big");
    assert_string_equal(gq_rules_match(&rules, GQ_ON_DEV, 100)->name, "any");
}

static void test_on_filter_separates_host_and_device(void **state)
{
    parse_ok("on=host,name=h");
    assert_non_null(gq_rules_match(&rules, GQ_ON_HOST, 4096));
    assert_null(gq_rules_match(&rules, GQ_ON_DEV, 4096));
}

static void test_min_and_max_are_inclusive(void **state)
{
    parse_ok("on=dev,min=1K,max=2K");
    assert_null(gq_rules_match(&rules, GQ_ON_DEV, 1023));
    assert_non_null(gq_rules_match(&rules, GQ_ON_DEV, 1024));
    assert_non_null(gq_rules_match(&rules, GQ_ON_DEV, 2048));
    assert_null(gq_rules_match(&rules, GQ_ON_DEV, 2049));
}

static void test_size_list_matches_exact_sizes_only(void **state)
{
    parse_ok("on=dev,size=4K|12K");
    assert_non_null(gq_rules_match(&rules, GQ_ON_DEV, 4096));
    assert_non_null(gq_rules_match(&rules, GQ_ON_DEV, 12288));
    assert_null(gq_rules_match(&rules, GQ_ON_DEV, 8192));
}

static void test_size_list_and_range_must_both_pass(void **state)
{
    parse_ok("on=dev,size=4K|12K,max=8K");
    assert_non_null(gq_rules_match(&rules, GQ_ON_DEV, 4096));
    assert_null(gq_rules_match(&rules, GQ_ON_DEV, 12288));
}

static void test_no_rules_match_nothing(void **state)
{
    parse_ok("");
    assert_null(gq_rules_match(&rules, GQ_ON_DEV, 4096));
    assert_null(gq_rules_match(NULL, GQ_ON_DEV, 4096));
    assert_null(gq_rules_would_match(NULL, GQ_ON_HOST, 4096));
}

static void test_nth_takes_only_the_counted_range(void **state)
{
    parse_ok("on=host,nth=2-3");
    assert_null(gq_rules_match(&rules, GQ_ON_HOST, 1));
    assert_non_null(gq_rules_match(&rules, GQ_ON_HOST, 1));
    assert_non_null(gq_rules_match(&rules, GQ_ON_HOST, 1));
    assert_null(gq_rules_match(&rules, GQ_ON_HOST, 1));
    assert_null(gq_rules_match(&rules, GQ_ON_HOST, 1));
}

static void test_nth_counts_only_allocations_passing_the_size_filter(void **state)
{
    parse_ok("on=host,size=4K,nth=2");
    assert_null(gq_rules_match(&rules, GQ_ON_HOST, 4096));   /* 1st of size 4K */
    assert_null(gq_rules_match(&rules, GQ_ON_HOST, 8192));   /* not counted */
    assert_null(gq_rules_match(&rules, GQ_ON_DEV, 4096));    /* other side: not counted */
    assert_non_null(gq_rules_match(&rules, GQ_ON_HOST, 4096)); /* 2nd */
    assert_int_equal(atomic_load(&rules.rule[0].seen), 2);
}

static void test_allocation_skipped_by_nth_falls_to_the_next_rule(void **state)
{
    parse_ok("on=dev,nth=1,name=first;on=dev,name=rest");
    assert_string_equal(gq_rules_match(&rules, GQ_ON_DEV, 64)->name, "first");
    assert_string_equal(gq_rules_match(&rules, GQ_ON_DEV, 64)->name, "rest");
}

static void test_allocation_taken_earlier_is_not_counted_later(void **state)
{
    parse_ok("on=dev,min=1M,name=big;on=dev,nth=2,name=second");
    assert_string_equal(gq_rules_match(&rules, GQ_ON_DEV, 2 << 20)->name, "big");
    assert_null(gq_rules_match(&rules, GQ_ON_DEV, 64));                 /* 1st reaching "second" */
    assert_string_equal(gq_rules_match(&rules, GQ_ON_DEV, 64)->name, "second");
}

static void test_would_match_has_no_side_effects(void **state)
{
    parse_ok("on=host,nth=2,name=two");
    for (int i = 0; i < 5; i++)
        assert_null(gq_rules_would_match(&rules, GQ_ON_HOST, 1));
    assert_int_equal(atomic_load(&rules.rule[0].seen), 0);
    assert_null(gq_rules_match(&rules, GQ_ON_HOST, 1));
    assert_non_null(gq_rules_would_match(&rules, GQ_ON_HOST, 1));
    assert_non_null(gq_rules_match(&rules, GQ_ON_HOST, 1));
}

static void test_reset_counts_restarts_nth(void **state)
{
    parse_ok("on=host,nth=1");
    assert_non_null(gq_rules_match(&rules, GQ_ON_HOST, 1));
    assert_null(gq_rules_match(&rules, GQ_ON_HOST, 1));
    gq_rules_reset_counts(&rules);
    assert_non_null(gq_rules_match(&rules, GQ_ON_HOST, 1));
}

enum { THREADS = 8, PER_THREAD = 20000 };

static void *alloc_many(void *arg)
{
    long *hits = arg;
    for (int i = 0; i < PER_THREAD; i++)
        if (gq_rules_match(&rules, GQ_ON_DEV, 4096))
            (*hits)++;
    return NULL;
}

static void test_nth_is_exact_when_many_threads_allocate_at_once(void **state)
{
    parse_ok("on=dev,nth=1001-31000");
    pthread_t t[THREADS];
    long hits[THREADS] = { 0 };
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, alloc_many, &hits[i]), 0);
    long total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        total += hits[i];
    }
    assert_int_equal(total, 30000);
    assert_int_equal(atomic_load(&rules.rule[0].seen), THREADS * PER_THREAD);
}

static void test_format_prints_canonical_text(void **state)
{
    char buf[512];
    parse_ok(" on=dev , name=w, cols=4096, dim=0, group=128, bits=8, dtype=bf16, nth=2, "
             "size=1048576|3072, max=1G, min=1024 ; on=host,nth=1-4");
    int n = gq_rules_format(&rules, buf, sizeof buf);
    assert_string_equal(buf, "on=dev,min=1K,max=1G,size=1M|3K,nth=2,dtype=bf16,bits=8,group=128,"
                             "dim=0,cols=4096,name=w;on=host,nth=1-4");
    assert_int_equal(n, (int)strlen(buf));
}

static void test_format_output_parses_back_to_the_same_rules(void **state)
{
    static struct gq_rules again;
    char a[1024], b[1024];
    parse_ok("on=host,min=1536,max=18446744073709551615;on=dev,size=7|8K,dtype=f32,bits=2,"
             "group=1024,nth=5-9,name=x.y;on=dev,dim=0,cols=3");
    gq_rules_format(&rules, a, sizeof a);
    assert_int_equal(gq_rules_parse(a, &again, err, sizeof err), 0);
    gq_rules_format(&again, b, sizeof b);
    assert_string_equal(a, b);
    assert_int_equal(again.count, rules.count);
    assert_true(again.rule[0].max == UINT64_MAX);
    assert_int_equal(again.rule[1].nth_hi, 9);
}

static void test_format_truncates_safely_and_reports_length(void **state)
{
    char small[8];
    parse_ok("on=host,min=1M");
    assert_int_equal(gq_rules_format(&rules, small, sizeof small), 14);
    assert_string_equal(small, "on=host");
}

static void test_upload_compress_marks_host_rules(void **state)
{
    assert_true(parse_ok("on=host,upload=compress")->upload_compress);
    assert_false(parse_ok("on=host")->upload_compress);
    char buf[128];
    parse_ok("on=host,upload=compress,name=w");
    gq_rules_format(&rules, buf, sizeof buf);
    assert_string_equal(buf, "on=host,upload=compress,name=w");
}

static void test_upload_compress_is_refused_on_dev_and_other_modes(void **state)
{
    assert_contains(parse_err("on=dev,upload=compress"), "upload=compress only with on=host");
    assert_contains(parse_err("on=host,upload=raw"), "upload='raw'");
    assert_contains(parse_err("on=host,upload=raw"), "compress, with on=host only");
}

static void test_rules_help_names_every_key(void **state)
{
    static const char *const keys[] = { "on", "min", "max", "size", "nth", "dtype", "bits",
                                        "group", "dim", "cols", "name" };
    char buf[8192];
    gq_rules_help(buf, sizeof buf);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char k[16];
        snprintf(k, sizeof k, "\n  %-6s ", keys[i]);
        assert_contains(buf, k);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_rule_takes_every_default),
        cmocka_unit_test(test_on_accepts_host_and_dev_only),
        cmocka_unit_test(test_on_is_required),
        cmocka_unit_test(test_min_and_max_take_sizes_with_suffixes),
        cmocka_unit_test(test_min_not_a_size_names_key_value_and_syntax),
        cmocka_unit_test(test_size_overflow_is_out_of_range),
        cmocka_unit_test(test_negative_and_non_numeric_sizes_are_rejected),
        cmocka_unit_test(test_min_greater_than_max_is_rejected),
        cmocka_unit_test(test_size_list_holds_exact_sizes),
        cmocka_unit_test(test_size_list_of_sixteen_fits_and_seventeen_does_not),
        cmocka_unit_test(test_size_list_with_empty_entry_is_rejected),
        cmocka_unit_test(test_nth_single_and_range),
        cmocka_unit_test(test_nth_rejects_zero_reversed_and_open_ranges),
        cmocka_unit_test(test_dtype_each_spelling),
        cmocka_unit_test(test_bits_two_four_eight_only),
        cmocka_unit_test(test_group_even_between_8_and_1024),
        cmocka_unit_test(test_dim_zero_requires_cols),
        cmocka_unit_test(test_cols_is_forbidden_without_dim_zero),
        cmocka_unit_test(test_dim_and_cols_bad_values),
        cmocka_unit_test(test_name_label_charset_and_length),
        cmocka_unit_test(test_default_names_number_rules_from_one),
        cmocka_unit_test(test_duplicate_names_are_rejected),
        cmocka_unit_test(test_unknown_key_lists_the_keys),
        cmocka_unit_test(test_keys_are_case_sensitive),
        cmocka_unit_test(test_duplicate_key_is_rejected),
        cmocka_unit_test(test_empty_value_is_rejected),
        cmocka_unit_test(test_item_without_equals_is_rejected),
        cmocka_unit_test(test_stray_comma_is_rejected),
        cmocka_unit_test(test_whitespace_around_tokens_is_ignored),
        cmocka_unit_test(test_one_trailing_semicolon_is_allowed),
        cmocka_unit_test(test_empty_rule_is_rejected),
        cmocka_unit_test(test_empty_or_null_text_is_zero_rules),
        cmocka_unit_test(test_thirty_two_rules_fit_and_thirty_three_do_not),
        cmocka_unit_test(test_overlong_input_is_rejected_with_a_truncated_value),
        cmocka_unit_test(test_bad_bytes_are_escaped_in_the_message),
        cmocka_unit_test(test_small_error_buffer_truncates_safely),
        cmocka_unit_test(test_span_parse_ignores_bytes_past_the_length),
        cmocka_unit_test(test_first_matching_rule_wins),
        cmocka_unit_test(test_on_filter_separates_host_and_device),
        cmocka_unit_test(test_min_and_max_are_inclusive),
        cmocka_unit_test(test_size_list_matches_exact_sizes_only),
        cmocka_unit_test(test_size_list_and_range_must_both_pass),
        cmocka_unit_test(test_no_rules_match_nothing),
        cmocka_unit_test(test_nth_takes_only_the_counted_range),
        cmocka_unit_test(test_nth_counts_only_allocations_passing_the_size_filter),
        cmocka_unit_test(test_allocation_skipped_by_nth_falls_to_the_next_rule),
        cmocka_unit_test(test_allocation_taken_earlier_is_not_counted_later),
        cmocka_unit_test(test_would_match_has_no_side_effects),
        cmocka_unit_test(test_reset_counts_restarts_nth),
        cmocka_unit_test(test_nth_is_exact_when_many_threads_allocate_at_once),
        cmocka_unit_test(test_format_prints_canonical_text),
        cmocka_unit_test(test_format_output_parses_back_to_the_same_rules),
        cmocka_unit_test(test_format_truncates_safely_and_reports_length),
        cmocka_unit_test(test_upload_compress_marks_host_rules),
        cmocka_unit_test(test_upload_compress_is_refused_on_dev_and_other_modes),
        cmocka_unit_test(test_rules_help_names_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_rule_defaults.c — GQSHIM_BITS and GQSHIM_GROUP: defaults for rules
 * that do not set bits= / group=, and the record of which rules did. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gq_options.h"

/* A fake environment: NULL-terminated pairs, read by fake_getenv. */
static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    for (const char *const *p = fake_env; p && p[0]; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

static struct gq_config cfg; /* large: keep it off the test's stack */

static enum gq_config_status parse_env(const char *const *env)
{
    fake_env = env;
    enum gq_config_status st = gq_config_parse(&cfg, fake_getenv, NULL);
    fake_env = NULL;
    return st;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

static void test_unset_bits_and_group_are_four_and_sixty_four(void **state)
{
    const char *env[] = { "GQSHIM_RULES", "on=host", NULL };
    assert_int_equal(parse_env(env), GQ_CONFIG_OK);
    assert_int_equal(cfg.bits, 4);
    assert_int_equal(cfg.group, 64);
    assert_int_equal(cfg.rules.rule[0].bits, 4);
    assert_int_equal(cfg.rules.rule[0].group, 64);
    assert_false(cfg.rules.rule[0].bits_set);
    assert_false(cfg.rules.rule[0].group_set);
}

static void test_rules_without_bits_inherit_gqshim_bits(void **state)
{
    const char *env[] = { "GQSHIM_RULES", "on=host;on=dev,bits=2", "GQSHIM_BITS", "8", NULL };
    assert_int_equal(parse_env(env), GQ_CONFIG_OK);
    assert_int_equal(cfg.rules.rule[0].bits, 8);
    assert_int_equal(cfg.rules.rule[1].bits, 2); /* explicit wins */
    assert_true(cfg.rules.rule[1].bits_set);
    assert_true(cfg.from_env[GQ_OPT_BITS]);
}

static void test_rules_without_group_inherit_gqshim_group(void **state)
{
    const char *env[] = { "GQSHIM_RULES", "on=host,group=32;on=dev", "GQSHIM_GROUP", "128",
                          NULL };
    assert_int_equal(parse_env(env), GQ_CONFIG_OK);
    assert_int_equal(cfg.rules.rule[0].group, 32);
    assert_int_equal(cfg.rules.rule[1].group, 128);
    assert_false(cfg.rules.rule[1].group_set);
}

static void test_explicit_default_value_still_counts_as_explicit(void **state)
{
    /* bits=4 written out must not give way to GQSHIM_BITS=2. */
    const char *env[] = { "GQSHIM_RULES", "on=host,bits=4,group=64", "GQSHIM_BITS", "2",
                          "GQSHIM_GROUP", "16", NULL };
    assert_int_equal(parse_env(env), GQ_CONFIG_OK);
    assert_int_equal(cfg.rules.rule[0].bits, 4);
    assert_int_equal(cfg.rules.rule[0].group, 64);
}

static void test_bits_accepts_only_what_bits_key_accepts(void **state)
{
    const char *bad[] = { "3", "16", "0", "4x", "-4", "4K" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *env[] = { "GQSHIM_BITS", bad[i], NULL };
        assert_int_equal(parse_env(env), GQ_CONFIG_INVALID);
        assert_int_equal(cfg.errors.count, 1);
        assert_contains(cfg.errors.line[0], "GQSHIM_BITS=");
        assert_contains(cfg.errors.line[0], "accepted: 2|4|8");
        assert_int_equal(cfg.bits, 4); /* the default holds */
    }
    const char *two[] = { "GQSHIM_BITS", " 2 ", NULL };
    assert_int_equal(parse_env(two), GQ_CONFIG_OK);
    assert_int_equal(cfg.bits, 2);
}

static void test_group_accepts_only_even_8_to_1024(void **state)
{
    const char *bad[] = { "6", "65", "1026", "2048", "1K", "x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *env[] = { "GQSHIM_GROUP", bad[i], NULL };
        assert_int_equal(parse_env(env), GQ_CONFIG_INVALID);
        assert_contains(cfg.errors.line[0], "GQSHIM_GROUP=");
        assert_contains(cfg.errors.line[0], "even number from 8 to 1024");
        assert_int_equal(cfg.group, 64);
    }
    const char *ok[] = { "GQSHIM_GROUP", "1024", NULL };
    assert_int_equal(parse_env(ok), GQ_CONFIG_OK);
    assert_int_equal(cfg.group, 1024);
}

static void test_invalid_default_leaves_rules_on_builtin_values(void **state)
{
    const char *env[] = { "GQSHIM_RULES", "on=host", "GQSHIM_BITS", "5", NULL };
    assert_int_equal(parse_env(env), GQ_CONFIG_INVALID);
    assert_int_equal(cfg.rules.rule[0].bits, 4);
}

static void test_printer_writes_exactly_the_explicit_keys(void **state)
{
    const char *env[] = { "GQSHIM_RULES", "on=host,bits=4;on=dev,group=64;on=dev,min=1M",
                          "GQSHIM_BITS", "8", "GQSHIM_GROUP", "32", NULL };
    assert_int_equal(parse_env(env), GQ_CONFIG_OK);
    char buf[256];
    gq_rules_format(&cfg.rules, buf, sizeof buf);
    assert_string_equal(buf, "on=host,bits=4;on=dev,group=64;on=dev,min=1M");
    gq_config_value(&cfg, GQ_OPT_BITS, buf, sizeof buf);
    assert_string_equal(buf, "8");
    gq_config_value(&cfg, GQ_OPT_GROUP, buf, sizeof buf);
    assert_string_equal(buf, "32");
}

static void test_inherit_keeps_explicit_values(void **state)
{
    struct gq_rules rules;
    char err[GQ_RULES_ERR_MAX];
    assert_int_equal(gq_rules_parse("on=host,bits=2;on=dev", &rules, err, sizeof err), 0);
    gq_rule_inherit(&rules.rule[0], 8, 128);
    gq_rule_inherit(&rules.rule[1], 8, 128);
    assert_int_equal(rules.rule[0].bits, 2);
    assert_int_equal(rules.rule[0].group, 128);
    assert_int_equal(rules.rule[1].bits, 8);
}

static void test_help_and_markdown_list_bits_and_group(void **state)
{
    char buf[16384];
    assert_true(gq_options_help(buf, sizeof buf) < (int)sizeof buf);
    assert_contains(buf, "GQSHIM_BITS=N  (default 4)");
    assert_contains(buf, "GQSHIM_GROUP=N  (default 64)");
    assert_true(gq_options_markdown(buf, sizeof buf) < (int)sizeof buf);
    assert_contains(buf, "| `GQSHIM_BITS` | uint | `4` | 2\\|4\\|8 |");
}

static void test_unknown_variable_lists_every_known_name(void **state)
{
    char *envp[] = { "GQSHIM_ZZZZZZZZZZ=1", NULL };
    struct gq_msgs w;
    memset(&w, 0, sizeof w);
    gq_options_check_unknown(envp, &w);
    assert_int_equal(w.count, 1);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++)
        assert_contains(w.line[0], gq_option((enum gq_opt_id)i)->name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unset_bits_and_group_are_four_and_sixty_four),
        cmocka_unit_test(test_rules_without_bits_inherit_gqshim_bits),
        cmocka_unit_test(test_rules_without_group_inherit_gqshim_group),
        cmocka_unit_test(test_explicit_default_value_still_counts_as_explicit),
        cmocka_unit_test(test_bits_accepts_only_what_bits_key_accepts),
        cmocka_unit_test(test_group_accepts_only_even_8_to_1024),
        cmocka_unit_test(test_invalid_default_leaves_rules_on_builtin_values),
        cmocka_unit_test(test_printer_writes_exactly_the_explicit_keys),
        cmocka_unit_test(test_inherit_keeps_explicit_values),
        cmocka_unit_test(test_help_and_markdown_list_bits_and_group),
        cmocka_unit_test(test_unknown_variable_lists_every_known_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

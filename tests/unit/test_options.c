/* test_options.c — the GQSHIM_* option table: parsing from an injected
 * environment, error lines, unknown-variable hints, help/Markdown rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Parses an environment of one variable into *cfg. */
static enum gq_config_status parse1(struct gq_config *cfg, const char *name, const char *value)
{
    const char *env[] = { name, value, NULL };
    fake_env = env;
    enum gq_config_status st = gq_config_parse(cfg, fake_getenv, NULL);
    fake_env = NULL;
    return st;
}

static struct gq_config cfg; /* large: keep it off the test's stack */

/* The only error line, checked for the variable, the value and the accepted text. */
static const char *only_error(void)
{
    assert_int_equal(cfg.errors.count, 1);
    const char *line = cfg.errors.line[0];
    assert_null(strchr(line, '\n'));
    return line;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

static void test_defaults_match_the_table(void **state)
{
    assert_int_equal(parse1(&cfg, "UNRELATED", "x"), GQ_CONFIG_OK);
    assert_true(cfg.enable);
    assert_false(cfg.rules_set);
    assert_int_equal(cfg.rules.count, 0);
    assert_int_equal(cfg.log, GQ_LOG_WARN);
    assert_string_equal(cfg.log_file, "");
    assert_int_equal(cfg.stats, GQ_STATS_OFF);
    assert_false(cfg.trace);
    assert_int_equal(cfg.pool_max, 0);
    assert_false(cfg.strict);
    assert_false(cfg.verify);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++)
        assert_false(cfg.from_env[i]);
}

static void test_every_default_parses_as_a_user_value(void **state)
{
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        const struct gq_option *o = gq_option((enum gq_opt_id)i);
        if (!o->def[0])
            continue;
        assert_int_equal(parse1(&cfg, o->name, o->def), GQ_CONFIG_OK);
        assert_true(cfg.from_env[i]);
    }
}

static void test_table_names_ids_and_lookup_agree(void **state)
{
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        const struct gq_option *o = gq_option((enum gq_opt_id)i);
        assert_int_equal(o->id, i);
        assert_int_equal(strncmp(o->name, "GQSHIM_", 7), 0);
        assert_ptr_equal(gq_option_find(o->name), o);
        assert_true(strlen(o->help) > 10);
        assert_null(strchr(o->help, '\n'));
    }
    assert_null(gq_option(GQ_OPT_COUNT));
    assert_null(gq_option_find("GQSHIM_NOPE"));
    assert_string_equal(gq_option(GQ_OPT_POOL_MAX)->name, "GQSHIM_POOL_MAX");
}

static void test_bool_accepts_every_spelling_in_any_case(void **state)
{
    static const char *const yes[] = { "1", "true", "TRUE", "Yes", "on", "ON" };
    static const char *const no[] = { "0", "false", "False", "NO", "off", "Off" };
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(parse1(&cfg, "GQSHIM_TRACE", yes[i]), GQ_CONFIG_OK);
        assert_true(cfg.trace);
        assert_int_equal(parse1(&cfg, "GQSHIM_ENABLE", no[i]), GQ_CONFIG_OK);
        assert_false(cfg.enable);
    }
}

static void test_bool_invalid_names_variable_value_and_accepted(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_STRICT", "2"), GQ_CONFIG_INVALID);
    const char *e = only_error();
    assert_contains(e, "GQSHIM_STRICT='2'");
    assert_contains(e, "1|0|true|false|yes|no|on|off");
    assert_false(cfg.strict); /* keeps its default */
}

static void test_empty_or_blank_value_means_unset(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_ENABLE", ""), GQ_CONFIG_OK);
    assert_true(cfg.enable);
    assert_int_equal(parse1(&cfg, "GQSHIM_POOL_MAX", "  \t"), GQ_CONFIG_OK);
    assert_false(cfg.from_env[GQ_OPT_POOL_MAX]);
}

static void test_surrounding_whitespace_is_ignored(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_POOL_MAX", " 4G \n"), GQ_CONFIG_OK);
    assert_int_equal(cfg.pool_max, 4ull << 30);
}

static void test_size_suffixes_are_binary_units(void **state)
{
    static const struct { const char *v; uint64_t want; } cases[] = {
        { "4096", 4096 }, { "4K", 4096 }, { "4k", 4096 }, { "4KiB", 4096 }, { "4kib", 4096 },
        { "3M", 3ull << 20 }, { "3MiB", 3ull << 20 }, { "2G", 2ull << 30 }, { "2GiB", 2ull << 30 },
        { "0", 0 }, { "262144G", 1ull << 48 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse1(&cfg, "GQSHIM_POOL_MAX", cases[i].v), GQ_CONFIG_OK);
        assert_int_equal(cfg.pool_max, cases[i].want);
    }
}

static void test_size_overflowing_64_bits_is_out_of_range(void **state)
{
    static const char *const bad[] = { "18446744073709551616", "17179869184G",
                                       "99999999999999999999999999" };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(parse1(&cfg, "GQSHIM_POOL_MAX", bad[i]), GQ_CONFIG_INVALID);
        assert_contains(only_error(), "out of range");
        assert_int_equal(cfg.pool_max, 0);
    }
}

static void test_size_above_the_bound_is_out_of_range(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_POOL_MAX", "262145G"), GQ_CONFIG_INVALID);
    const char *e = only_error();
    assert_contains(e, "GQSHIM_POOL_MAX='262145G' is out of range");
    assert_contains(e, "accepted: 0 or a size up to 262144G");
}

static void test_size_rejects_negative_fraction_garbage_and_words(void **state)
{
    static const char *const bad[] = { "-1", "+4", "1.5G", "4Gx", "4 G", "G", "abc", "4KB",
                                       "0x10", "4T" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse1(&cfg, "GQSHIM_POOL_MAX", bad[i]), GQ_CONFIG_INVALID);
        const char *e = only_error();
        assert_contains(e, "GQSHIM_POOL_MAX=");
        assert_contains(e, bad[i]);
        assert_contains(e, "not a size");
    }
}

static void test_log_levels_in_any_case(void **state)
{
    static const char *const names[] = { "error", "WARN", "Info", "debug" };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(parse1(&cfg, "GQSHIM_LOG", names[i]), GQ_CONFIG_OK);
        assert_int_equal(cfg.log, i);
    }
}

static void test_threads_default_is_auto_and_takes_0_to_256(void **state)
{
    static const char *const ok[] = { "0", "1", "16", "256" };
    static const unsigned want[] = { 0, 1, 16, 256 };
    assert_int_equal(parse1(&cfg, "GQSHIM_THREADS", " "), GQ_CONFIG_OK);
    assert_int_equal(cfg.threads, 0); /* unset: auto */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(parse1(&cfg, "GQSHIM_THREADS", ok[i]), GQ_CONFIG_OK);
        assert_int_equal(cfg.errors.count, 0);
        assert_int_equal(cfg.threads, want[i]);
    }
}

static void test_threads_invalid_is_one_strict_line(void **state)
{
    static const char *const bad[] = { "257", "-1", "two", "1.5", "4k" };
    for (int i = 0; i < 5; i++) {
        assert_int_equal(parse1(&cfg, "GQSHIM_THREADS", bad[i]), GQ_CONFIG_INVALID);
        const char *e = only_error();
        assert_contains(e, "GQSHIM_THREADS='");
        assert_contains(e, bad[i]);
        assert_contains(e, "accepted: 0 or 1 to 256");
        assert_int_equal(cfg.threads, 0);
    }
}

static void test_log_invalid_lists_the_levels(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_LOG", "verbose"), GQ_CONFIG_OK); /* lenient */
    const char *e = only_error();
    assert_contains(e, "keeping the default (warn)");
    assert_contains(e, "GQSHIM_LOG='verbose'");
    assert_contains(e, "error|warn|info|debug");
    assert_int_equal(cfg.log, GQ_LOG_WARN);
}

static void test_log_prefix_of_a_level_is_not_a_level(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_LOG", "warni"), GQ_CONFIG_OK);
    assert_true(cfg.invalid[GQ_OPT_LOG]);
    assert_int_equal(parse1(&cfg, "GQSHIM_LOG", "war"), GQ_CONFIG_OK);
    assert_true(cfg.invalid[GQ_OPT_LOG]);
}

/* A bad log level, log file or stats destination costs only itself; every
 * option that changes what gets compressed stays strict. */
static void test_cosmetic_options_are_lenient_the_rest_strict(void **state)
{
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        enum gq_opt_id id = (enum gq_opt_id)i;
        int cosmetic = id == GQ_OPT_LOG || id == GQ_OPT_LOG_FILE || id == GQ_OPT_STATS;
        assert_int_equal(gq_option_lenient(id), cosmetic);
    }
    const char *env[] = { "GQSHIM_LOG", "verbose", "GQSHIM_STATS", "json", "GQSHIM_RULES",
                          "on=host", NULL };
    fake_env = env;
    assert_int_equal(gq_config_parse(&cfg, fake_getenv, NULL), GQ_CONFIG_OK);
    fake_env = NULL;
    assert_int_equal(cfg.errors.count, 2);
    assert_contains(cfg.errors.line[0], "keeping the default (warn)");
    assert_contains(cfg.errors.line[1], "keeping the default (0)");
    assert_true(cfg.rules_set);
    assert_int_equal(cfg.log, GQ_LOG_WARN);
    assert_int_equal(cfg.stats, GQ_STATS_OFF);
    assert_int_equal(parse1(&cfg, "GQSHIM_BITS", "3"), GQ_CONFIG_INVALID);
    assert_null(strstr(cfg.errors.line[0], "keeping the default"));
    assert_false(cfg.error_lenient[0]);
    /* Each line says which kind it is, whatever order they come in (a path
     * that does not expand is found after every variable was read). */
    const char *mixed[] = { "GQSHIM_STATS", "json:%q{GQ_UNSET_FOR_TEST}", "GQSHIM_POOL_MAX", "-1",
                            NULL };
    fake_env = mixed;
    assert_int_equal(gq_config_parse(&cfg, fake_getenv, NULL), GQ_CONFIG_INVALID);
    fake_env = NULL;
    assert_int_equal(cfg.errors.count, 2);
    assert_contains(cfg.errors.line[0], "GQSHIM_POOL_MAX");
    assert_false(cfg.error_lenient[0]);
    assert_contains(cfg.errors.line[1], "GQSHIM_STATS");
    assert_true(cfg.error_lenient[1]);
}

static const char *path_env(const char *name)
{
    return strcmp(name, "RANK") == 0 ? "3" : NULL;
}

/* %p and %q{VAR} in output paths, as valgrind and nsys spell them. */
static void test_output_paths_expand_pid_and_variables(void **state)
{
    char out[64], err[160];
    assert_int_equal(gq_path_expand("/tmp/s-%q{RANK}-%p.json", 4242, path_env, out, sizeof out,
                                    err, sizeof err), 0);
    assert_string_equal(out, "/tmp/s-3-4242.json");
    assert_int_equal(gq_path_expand("100%%", 1, path_env, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "100%");
    assert_int_equal(gq_path_expand("%q{NOPE}", 1, path_env, out, sizeof out, err, sizeof err), -1);
    assert_contains(err, "NOPE is not set");
    assert_int_equal(gq_path_expand("%x", 1, path_env, out, sizeof out, err, sizeof err), -1);
    assert_int_equal(gq_path_expand("%q{RANK", 1, path_env, out, sizeof out, err, sizeof err), -1);
    assert_int_equal(gq_path_expand("%p%p%p%p%p%p%p%p%p%p", 1234567, path_env, out, sizeof out, err,
                                    sizeof err), -1);
    assert_contains(err, "too long");
    /* Through the parser: the stats path with the process's pid. */
    assert_int_equal(parse1(&cfg, "GQSHIM_STATS", "json:/tmp/s-%p.json"), GQ_CONFIG_OK);
    char want[64];
    snprintf(want, sizeof want, "/tmp/s-%d.json", (int)getpid());
    assert_string_equal(cfg.stats_path, want);
    /* A path that does not expand costs only itself. */
    assert_int_equal(parse1(&cfg, "GQSHIM_STATS", "json:/tmp/%q{GQ_UNSET_FOR_TEST}"), GQ_CONFIG_OK);
    assert_int_equal(cfg.stats, GQ_STATS_OFF);
    assert_contains(only_error(), "keeping the default");
}

static void test_log_file_is_stored(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_LOG_FILE", "/tmp/gq log.txt"), GQ_CONFIG_OK);
    assert_string_equal(cfg.log_file, "/tmp/gq log.txt");
}

static void test_log_file_too_long_is_rejected_with_its_length(void **state)
{
    static char path[GQ_PATH_MAX + 1];
    memset(path, 'a', GQ_PATH_MAX);
    path[GQ_PATH_MAX] = '\0';
    assert_int_equal(parse1(&cfg, "GQSHIM_LOG_FILE", path), GQ_CONFIG_OK);
    const char *e = only_error();
    assert_contains(e, "GQSHIM_LOG_FILE='aaaa");
    assert_contains(e, "(4096 bytes)");
    assert_contains(e, "too long");
    assert_string_equal(cfg.log_file, "");
}

static void test_stats_text_json_and_off(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_STATS", "1"), GQ_CONFIG_OK);
    assert_int_equal(cfg.stats, GQ_STATS_TEXT);
    assert_int_equal(parse1(&cfg, "GQSHIM_STATS", "yes"), GQ_CONFIG_OK);
    assert_int_equal(cfg.stats, GQ_STATS_TEXT);
    assert_int_equal(parse1(&cfg, "GQSHIM_STATS", "json:/tmp/s.json"), GQ_CONFIG_OK);
    assert_int_equal(cfg.stats, GQ_STATS_JSON);
    assert_string_equal(cfg.stats_path, "/tmp/s.json");
    assert_int_equal(parse1(&cfg, "GQSHIM_STATS", "0"), GQ_CONFIG_OK);
    assert_int_equal(cfg.stats, GQ_STATS_OFF);
}

static void test_stats_json_without_path_is_rejected(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_STATS", "json:"), GQ_CONFIG_OK);
    const char *e = only_error();
    assert_contains(e, "GQSHIM_STATS='json:'");
    assert_contains(e, "0|1|json:PATH");
}

static void test_stats_unknown_mode_is_rejected(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_STATS", "csv:/tmp/x"), GQ_CONFIG_OK);
    assert_contains(only_error(), "GQSHIM_STATS='csv:/tmp/x'");
    assert_int_equal(cfg.stats, GQ_STATS_OFF);
}

static void test_rules_are_parsed_into_the_config(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_RULES", "on=host,min=1M;on=dev,bits=8"), GQ_CONFIG_OK);
    assert_true(cfg.rules_set);
    assert_int_equal(cfg.rules.count, 2);
    assert_int_equal(cfg.rules.rule[0].min, 1u << 20);
    assert_int_equal(cfg.rules.rule[1].bits, 8);
}

static void test_rules_error_is_one_line_naming_gqshim_rules(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_RULES", "on=host,bits=5"), GQ_CONFIG_INVALID);
    const char *e = only_error();
    assert_contains(e, "GQSHIM_RULES");
    assert_contains(e, "bits='5'");
    assert_contains(e, "2|4|8");
    assert_false(cfg.rules_set);
    assert_int_equal(cfg.rules.count, 0);
}

static void test_each_invalid_variable_gets_its_own_line(void **state)
{
    const char *env[] = { "GQSHIM_ENABLE", "maybe", "GQSHIM_LOG", "loud", "GQSHIM_POOL_MAX", "-1",
                          "GQSHIM_RULES", "on=gpu", "GQSHIM_TRACE", "1", NULL };
    fake_env = env;
    assert_int_equal(gq_config_parse(&cfg, fake_getenv, NULL), GQ_CONFIG_INVALID);
    assert_int_equal(cfg.errors.count, 4);
    assert_contains(cfg.errors.line[0], "GQSHIM_ENABLE='maybe'");
    assert_contains(cfg.errors.line[1], "GQSHIM_RULES");
    assert_contains(cfg.errors.line[2], "GQSHIM_LOG='loud'");
    assert_contains(cfg.errors.line[3], "GQSHIM_POOL_MAX='-1'");
    assert_true(cfg.trace); /* valid variables still apply */
}

static void test_very_long_value_is_truncated_and_escaped_in_the_message(void **state)
{
    static char v[100000];
    memset(v, 'x', sizeof v - 1);
    v[0] = '\x01';
    v[1] = '\x1b';
    assert_int_equal(parse1(&cfg, "GQSHIM_LOG", v), GQ_CONFIG_OK);
    const char *e = only_error();
    assert_contains(e, "GQSHIM_LOG='\\x01\\x1bxxx");
    assert_contains(e, "...' (99999 bytes)");
    assert_contains(e, "error|warn|info|debug");
    assert_true(strlen(e) < 300);
}

static void test_null_getter_reads_the_process_environment(void **state)
{
    setenv("GQSHIM_VERIFY", "on", 1);
    assert_int_equal(gq_config_parse(&cfg, NULL, NULL), GQ_CONFIG_OK);
    unsetenv("GQSHIM_VERIFY");
    assert_true(cfg.verify);
}

static void test_pool_bytes_auto_is_half_of_physical_ram(void **state)
{
    assert_int_equal(parse1(&cfg, "GQSHIM_POOL_MAX", "0"), GQ_CONFIG_OK);
    assert_int_equal(gq_config_pool_bytes(&cfg, 64ull << 30), 32ull << 30);
    assert_int_equal(parse1(&cfg, "GQSHIM_POOL_MAX", "3G"), GQ_CONFIG_OK);
    assert_int_equal(gq_config_pool_bytes(&cfg, 64ull << 30), 3ull << 30);
}

/* Runs the unknown-variable check on envp and returns its warning lines. */
static const struct gq_msgs *warn_for(char *const *envp)
{
    fake_env = NULL;
    assert_int_equal(gq_config_parse(&cfg, fake_getenv, envp), GQ_CONFIG_OK);
    return &cfg.warnings;
}

static void test_unknown_variable_suggests_the_close_name(void **state)
{
    char *envp[] = { "PATH=/bin", "GQSHIM_RULE=on=host", NULL };
    const struct gq_msgs *w = warn_for(envp);
    assert_int_equal(w->count, 1);
    assert_contains(w->line[0], "'GQSHIM_RULE' is not a gqshim variable");
    assert_contains(w->line[0], "did you mean GQSHIM_RULES?");
}

static void test_unknown_variable_with_two_close_names_lists_both(void **state)
{
    char *envp[] = { "GQSHIM_LOGFILE=/tmp/x", "GQSHIM_STAT=1", NULL };
    const struct gq_msgs *w = warn_for(envp);
    assert_int_equal(w->count, 2);
    assert_contains(w->line[0], "did you mean GQSHIM_LOG or GQSHIM_LOG_FILE?");
    assert_contains(w->line[1], "did you mean GQSHIM_STATS?");
}

static void test_unknown_variable_in_lower_case_is_caught(void **state)
{
    char *envp[] = { "gqshim_pool_max=1G", NULL };
    const struct gq_msgs *w = warn_for(envp);
    assert_int_equal(w->count, 1);
    assert_contains(w->line[0], "did you mean GQSHIM_POOL_MAX?");
}

static void test_unknown_variable_far_from_all_lists_the_known_names(void **state)
{
    char *envp[] = { "GQSHIM_XYZZY=1", NULL };
    const struct gq_msgs *w = warn_for(envp);
    assert_int_equal(w->count, 1);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++)
        assert_contains(w->line[0], gq_option((enum gq_opt_id)i)->name);
}

static void test_known_and_foreign_variables_give_no_warning(void **state)
{
    char *envp[] = { "GQSHIM_RULES=on=host", "GQSHIM_LOG_FILE=", "HOME=/root", "GQSHIM", "GQ=1",
                     NULL };
    assert_int_equal(warn_for(envp)->count, 0);
}

static void test_too_many_unknown_variables_are_counted_not_lost(void **state)
{
    static char names[GQ_MSGS_MAX + 3][32];
    char *envp[GQ_MSGS_MAX + 4];
    for (int i = 0; i < GQ_MSGS_MAX + 3; i++) {
        snprintf(names[i], sizeof names[i], "GQSHIM_ZZ%d=1", i);
        envp[i] = names[i];
    }
    envp[GQ_MSGS_MAX + 3] = NULL;
    const struct gq_msgs *w = warn_for(envp);
    assert_int_equal(w->count, GQ_MSGS_MAX);
    assert_int_equal(w->dropped, 3);
}

static void test_help_covers_every_variable_with_help_default_and_accepted(void **state)
{
    static char buf[16384];
    int n = gq_options_help(buf, sizeof buf);
    assert_int_equal((size_t)n, strlen(buf));
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        const struct gq_option *o = gq_option((enum gq_opt_id)i);
        assert_contains(buf, o->name);
        assert_contains(buf, o->help);
        assert_contains(buf, o->accepted);
    }
    assert_contains(buf, "(default warn)");
    assert_contains(buf, "GQSHIM_RULES = rule{;rule}");
    assert_contains(buf, "  nth ");
}

static void test_help_length_query_and_truncation_are_safe(void **state)
{
    char small[32];
    int need = gq_options_help(NULL, 0);
    assert_true(need > 100);
    memset(small, '#', sizeof small);
    assert_int_equal(gq_options_help(small, sizeof small), need);
    assert_int_equal(strlen(small), sizeof small - 1);
}

/* Splits a Markdown row into cells by unescaped '|'; returns how many bars. */
static int count_bars(const char *row, size_t len)
{
    int bars = 0;
    for (size_t i = 0; i < len; i++)
        if (row[i] == '|' && (i == 0 || row[i - 1] != '\\'))
            bars++;
    return bars;
}

static void test_markdown_has_one_well_formed_row_per_variable(void **state)
{
    static char buf[16384];
    int n = gq_options_markdown(buf, sizeof buf);
    assert_int_equal((size_t)n, strlen(buf));
    int rows = 0;
    for (const char *line = buf; *line;) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_int_equal(count_bars(line, (size_t)(nl - line)), 6);
        rows++;
        line = nl + 1;
    }
    assert_int_equal(rows, 2 + GQ_OPT_COUNT);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        char cell[64];
        snprintf(cell, sizeof cell, "| `%s` |", gq_option((enum gq_opt_id)i)->name);
        assert_contains(buf, cell);
        assert_contains(buf, gq_option((enum gq_opt_id)i)->help);
    }
    assert_contains(buf, "error\\|warn\\|info\\|debug");
}

static void test_describe_lists_every_variable_and_marks_defaults(void **state)
{
    static char buf[16384];
    assert_int_equal(parse1(&cfg, "GQSHIM_RULES", "on=dev , min = 1M"), GQ_CONFIG_OK);
    gq_config_describe(&cfg, buf, sizeof buf);
    assert_contains(buf, "GQSHIM_RULES=on=dev,min=1M\n");
    assert_contains(buf, "GQSHIM_LOG=warn (default)\n");
    assert_contains(buf, "GQSHIM_ENABLE=1 (default)\n");
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++)
        assert_contains(buf, gq_option((enum gq_opt_id)i)->name);
}

static void test_rendered_values_parse_back_to_the_same_value(void **state)
{
    const char *env[] = { "GQSHIM_ENABLE", "off", "GQSHIM_RULES", "on=host,size=4K|8K,nth=2-3",
                          "GQSHIM_LOG", "DEBUG", "GQSHIM_LOG_FILE", "/var/log/g",
                          "GQSHIM_STATS", "json:/s.json", "GQSHIM_TRACE", "yes",
                          "GQSHIM_POOL_MAX", "2048M", "GQSHIM_STRICT", "true",
                          "GQSHIM_VERIFY", "1", NULL };
    static struct gq_config again;
    fake_env = env;
    assert_int_equal(gq_config_parse(&cfg, fake_getenv, NULL), GQ_CONFIG_OK);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        char v1[256], v2[256];
        const char *name = gq_option((enum gq_opt_id)i)->name;
        gq_config_value(&cfg, (enum gq_opt_id)i, v1, sizeof v1);
        const char *one[] = { name, v1, NULL };
        fake_env = one;
        assert_int_equal(gq_config_parse(&again, fake_getenv, NULL), GQ_CONFIG_OK);
        gq_config_value(&again, (enum gq_opt_id)i, v2, sizeof v2);
        assert_string_equal(v1, v2);
    }
    char v[64];
    gq_config_value(&cfg, GQ_OPT_POOL_MAX, v, sizeof v);
    assert_string_equal(v, "2G");
}

static void test_quote_escapes_quotes_and_backslashes(void **state)
{
    char q[64];
    gq_quote(q, sizeof q, "a'b\\c", 5);
    assert_string_equal(q, "'a\\x27b\\x5cc'");
    gq_quote(q, sizeof q, NULL, 0);
    assert_string_equal(q, "(unset)");
    gq_quote(q, 4, "abcdef", 6);
    assert_string_equal(q, "'ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_the_table),
        cmocka_unit_test(test_every_default_parses_as_a_user_value),
        cmocka_unit_test(test_table_names_ids_and_lookup_agree),
        cmocka_unit_test(test_bool_accepts_every_spelling_in_any_case),
        cmocka_unit_test(test_bool_invalid_names_variable_value_and_accepted),
        cmocka_unit_test(test_empty_or_blank_value_means_unset),
        cmocka_unit_test(test_surrounding_whitespace_is_ignored),
        cmocka_unit_test(test_size_suffixes_are_binary_units),
        cmocka_unit_test(test_size_overflowing_64_bits_is_out_of_range),
        cmocka_unit_test(test_size_above_the_bound_is_out_of_range),
        cmocka_unit_test(test_size_rejects_negative_fraction_garbage_and_words),
        cmocka_unit_test(test_log_levels_in_any_case),
        cmocka_unit_test(test_threads_default_is_auto_and_takes_0_to_256),
        cmocka_unit_test(test_threads_invalid_is_one_strict_line),
        cmocka_unit_test(test_log_invalid_lists_the_levels),
        cmocka_unit_test(test_cosmetic_options_are_lenient_the_rest_strict),
        cmocka_unit_test(test_output_paths_expand_pid_and_variables),
        cmocka_unit_test(test_log_prefix_of_a_level_is_not_a_level),
        cmocka_unit_test(test_log_file_is_stored),
        cmocka_unit_test(test_log_file_too_long_is_rejected_with_its_length),
        cmocka_unit_test(test_stats_text_json_and_off),
        cmocka_unit_test(test_stats_json_without_path_is_rejected),
        cmocka_unit_test(test_stats_unknown_mode_is_rejected),
        cmocka_unit_test(test_rules_are_parsed_into_the_config),
        cmocka_unit_test(test_rules_error_is_one_line_naming_gqshim_rules),
        cmocka_unit_test(test_each_invalid_variable_gets_its_own_line),
        cmocka_unit_test(test_very_long_value_is_truncated_and_escaped_in_the_message),
        cmocka_unit_test(test_null_getter_reads_the_process_environment),
        cmocka_unit_test(test_pool_bytes_auto_is_half_of_physical_ram),
        cmocka_unit_test(test_unknown_variable_suggests_the_close_name),
        cmocka_unit_test(test_unknown_variable_with_two_close_names_lists_both),
        cmocka_unit_test(test_unknown_variable_in_lower_case_is_caught),
        cmocka_unit_test(test_unknown_variable_far_from_all_lists_the_known_names),
        cmocka_unit_test(test_known_and_foreign_variables_give_no_warning),
        cmocka_unit_test(test_too_many_unknown_variables_are_counted_not_lost),
        cmocka_unit_test(test_help_covers_every_variable_with_help_default_and_accepted),
        cmocka_unit_test(test_help_length_query_and_truncation_are_safe),
        cmocka_unit_test(test_markdown_has_one_well_formed_row_per_variable),
        cmocka_unit_test(test_describe_lists_every_variable_and_marks_defaults),
        cmocka_unit_test(test_rendered_values_parse_back_to_the_same_value),
        cmocka_unit_test(test_quote_escapes_quotes_and_backslashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

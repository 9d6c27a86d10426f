/*
 * gqrun — run a program under libgqshim.so.
 *
 *   gqrun [options] [--] program [args...]
 *
 * Sets LD_PRELOAD (libgqshim.so first, any LD_PRELOAD already set kept after
 * it) and one GQSHIM_* variable per option, then execs the program: it keeps
 * gqrun's pid, so its exit status and signals are the program's own.
 *
 * The options are the option table (policy/gq_options.h) read the other way:
 * GQSHIM_POOL_MAX is --pool-max, and so on for every variable, so a variable
 * added to the table is an option here, in --help, without a line of this
 * file changing. Values are checked with the library's own parser before the
 * exec; a bad one is the one line the library would print, and exit 2.
 *
 * The library is found beside gqrun: build/libgqshim.so in the build tree,
 * PREFIX/lib/libgqshim.so for an installed PREFIX/bin/gqrun; --lib=PATH
 * overrides both.
 */
#define _GNU_SOURCE
#include "gq_options.h"
#include "gqshim.h"
#include "host/gq_probe.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define LIB_NAME "libgqshim.so"
#define EXIT_USAGE 2

/* Exit statuses of a program that could not be started, as env(1) and the
 * shell use them. */
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127

/* The value each option set, indexed by variable; NULL when not given. */
static const char *given[GQ_OPT_COUNT];
static int check; /* --check */

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gqrun: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("; see gqrun --help\n", stderr);
    va_end(ap);
    exit(EXIT_USAGE);
}

/* The option spelling of a variable: GQSHIM_POOL_MAX -> "pool-max". */
static void option_name(const struct gq_option *o, char *buf, size_t cap)
{
    const char *s = o->name + strlen("GQSHIM_");
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        buf[i] = s[i] == '_' ? '-' : (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    buf[i] = '\0';
}

/* Booleans and GQSHIM_STATS may stand alone (meaning 1); the rest need a value. */
static int value_optional(const struct gq_option *o)
{
    return o->type == GQ_TYPE_BOOL || o->type == GQ_TYPE_STATS;
}

static void print_help(void)
{
    printf("usage: gqrun [options] [--] program [args...]\n\n"
           "Runs program with %s preloaded (before any LD_PRELOAD already set) and the\n"
           "GQSHIM_* variables the options name; program's exit status is gqrun's.\n\n"
           "Options (each sets the variable beside it; values as described below):\n",
           LIB_NAME);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        const struct gq_option *o = gq_option((enum gq_opt_id)i);
        char name[64], left[160];
        option_name(o, name, sizeof name);
        if (value_optional(o))
            snprintf(left, sizeof left, "--%s[=%s]", name, gq_opt_metavar(o));
        else
            snprintf(left, sizeof left, "--%s=%s", name, gq_opt_metavar(o));
        printf("  %-28s %s%s\n", left, o->name, value_optional(o) ? " (alone: 1)" : "");
    }
    printf("  %-28s %s\n", "--lib=PATH",
           "the library to preload (default: beside gqrun, else ../lib/)");
    printf("  %-28s %s\n", "-h, --help", "this text");
    printf("  %-28s %s\n", "--check",
           "print the host mode this environment allows, and why; run nothing");
    printf("  %-28s %s\n\n", "--version", "gqrun's version and the library it would preload");
    printf("A value may also follow as the next argument (--rules RULES), except for options\n"
           "whose value is optional. Options override the same variables in the environment.\n\n");
    int n = gq_options_help(NULL, 0);
    char *text = malloc((size_t)n + 1);
    if (text) {
        gq_options_help(text, (size_t)n + 1);
        fputs(text, stdout);
        free(text);
    }
}

/* The directory gqrun runs from, resolved through /proc/self/exe so that a
 * symlink or a PATH lookup leads to the real install. */
static int self_dir(char *dir, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return snprintf(dir, cap, "%s", exe) < (int)cap ? 0 : -1;
}

/* The library to preload, as an absolute path: --lib, else beside gqrun
 * (build tree), else ../lib (installed). */
static int find_library(const char *override, char *out, size_t cap)
{
    if (override) {
        if (!realpath(override, out))
            usage_error("--lib=%s: %s", override, strerror(errno));
        return 0;
    }
    char dir[PATH_MAX], cand[PATH_MAX + 32];
    if (self_dir(dir, sizeof dir) != 0) {
        fprintf(stderr, "gqrun: cannot read /proc/self/exe to find %s; use --lib=PATH\n",
                LIB_NAME);
        exit(EXIT_USAGE);
    }
    const char *where[] = { "", "/../lib" };
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        snprintf(cand, sizeof cand, "%s%s/%s", dir, where[i], LIB_NAME);
        if (access(cand, R_OK) == 0 && realpath(cand, out) && strlen(out) < cap)
            return 0;
    }
    fprintf(stderr, "gqrun: no %s in %s or %s/../lib; use --lib=PATH\n", LIB_NAME, dir, dir);
    exit(EXIT_USAGE);
}

/* LD_PRELOAD with lib first and what was there kept after it (once). */
static void set_preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD");
    if (!old || !old[strspn(old, " :")]) {
        setenv("LD_PRELOAD", lib, 1);
        return;
    }
    /* Already listed (a nested gqrun): keep the list as it is. */
    size_t ln = strlen(lib);
    for (const char *p = old; (p = strstr(p, lib)); p += ln) {
        int starts = p == old || p[-1] == ':' || p[-1] == ' ';
        int ends = p[ln] == '\0' || p[ln] == ':' || p[ln] == ' ';
        if (starts && ends)
            return;
    }
    size_t n = ln + 1 + strlen(old) + 1;
    char *v = malloc(n);
    if (!v) {
        fputs("gqrun: out of memory\n", stderr);
        exit(EXIT_USAGE);
    }
    snprintf(v, n, "%s:%s", lib, old);
    setenv("LD_PRELOAD", v, 1);
    free(v);
}

static const char *given_getenv(const char *name)
{
    const struct gq_option *o = gq_option_find(name);
    return o ? given[o->id] : NULL;
}

/* The library's parser on just the values given: its first complaint, if
 * any, is ours. */
static void check_values(void)
{
    static struct gq_config cfg; /* large */
    if (gq_config_parse(&cfg, given_getenv, NULL) == GQ_CONFIG_OK)
        return;
    const char *line = cfg.errors.line[0];
    /* Name the option too: the line starts with its variable's name. */
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        const char *name = gq_option((enum gq_opt_id)i)->name;
        size_t n = strlen(name);
        if (given[i] && strncmp(line, name, n) == 0 && (line[n] == '=' || line[n] == ':')) {
            char opt[64];
            option_name(gq_option((enum gq_opt_id)i), opt, sizeof opt);
            fprintf(stderr, "gqrun: --%s: %s\n", opt, line);
            exit(EXIT_USAGE);
        }
    }
    fprintf(stderr, "gqrun: %s\n", line);
    exit(EXIT_USAGE);
}

/* Parses argv up to the program; returns the index of the program's name. */
static int parse_args(int argc, char **argv, const char **lib)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1;
        if (a[0] != '-' || a[1] == '\0')
            return i; /* the program */
        if (strcmp(a, "-h") == 0)
            return -1;
        if (a[1] != '-')
            usage_error("unknown option '%s'", a);
        const char *eq = strchr(a, '=');
        size_t kn = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        const char *val = eq ? eq + 1 : NULL;
#define IS(word) (kn == strlen(word) && strncmp(a + 2, word, kn) == 0)
        if (IS("help") || IS("version") || IS("check")) {
            if (val)
                usage_error("--%.*s takes no value", (int)kn, a + 2);
            if (IS("check")) {
                check = 1;
                continue; /* other options (--host-mode) still apply */
            }
            return IS("help") ? -1 : -2;
        }
        int takes_next = !val && i + 1 < argc;
        if (IS("lib")) {
            if (!val && !takes_next)
                usage_error("--lib needs a value (--lib=PATH)");
            *lib = val ? val : argv[++i];
            continue;
        }
#undef IS
        const struct gq_option *o = NULL;
        for (unsigned k = 0; k < GQ_OPT_COUNT && !o; k++) {
            char name[64];
            option_name(gq_option((enum gq_opt_id)k), name, sizeof name);
            if (strlen(name) == kn && strncmp(a + 2, name, kn) == 0)
                o = gq_option((enum gq_opt_id)k);
        }
        if (!o)
            usage_error("unknown option '--%.*s'", (int)kn, a + 2);
        if (!val && value_optional(o))
            val = "1";
        else if (!val && !takes_next)
            usage_error("--%.*s needs a value (--%.*s=%s)", (int)kn, a + 2, (int)kn, a + 2,
                        gq_opt_metavar(o));
        else if (!val)
            val = argv[++i];
        given[o->id] = val;
    }
    return i;
}

static const char *step(int err)
{
    static char buf[64];
    if (err < 0)
        return "not tried";
    if (err == 0)
        return "works";
    snprintf(buf, sizeof buf, "refused: %s", strerrorname_np(err) ? strerrorname_np(err) : "?");
    return buf;
}

/* gqrun --check: the library's own probe (host/gq_probe.c), run here, with
 * GQSHIM_HOST_MODE (or --host-mode) as the library would read it. */
static int run_check(void)
{
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++)
        if (given[i])
            setenv(gq_option((enum gq_opt_id)i)->name, given[i], 1);
    static struct gq_config cfg; /* large */
    if (gq_config_parse(&cfg, NULL, NULL) != GQ_CONFIG_OK) {
        fprintf(stderr, "gqrun: %s\n", cfg.errors.line[0]);
        return EXIT_USAGE;
    }
    enum gq_host_mode ceiling = cfg.host_mode ? (enum gq_host_mode)(cfg.host_mode - 1) : GQ_MODE_FULL;
    struct gq_probe p;
    gq_probe_run(&p, ceiling, getenv("GQTEST_DENY"));
    struct utsname u;
    uname(&u);
    printf("gqrun --check: what gqshim can do with host buffers here\n");
    printf("  %-44s %s %s\n", "kernel", u.sysname, u.release);
    printf("  %-44s %u%s\n", "user id", (unsigned)geteuid(), geteuid() ? "" : " (root)");
    printf("  %-44s %s\n", "seccomp filter",
           p.seccomp < 0 ? "unknown" : p.seccomp == 2 ? "yes" : "no");
    printf("  %-44s %d\n", "vm.unprivileged_userfaultfd", p.sysctl);
    printf("  %-44s %s\n", "userfaultfd(2), kernel-mode faults too", step(p.err_uffd));
    printf("  %-44s %s\n", "userfaultfd(2), UFFD_USER_MODE_ONLY", step(p.err_uffd_user));
    printf("  %-44s %s\n", "asynchronous write protection", step(p.err_wp_async));
    printf("  %-44s %s\n", "PAGEMAP_SCAN", step(p.err_pagemap_scan));
    printf("host mode: %s\n", gq_mode_name(p.mode));
    printf("  %s\n", gq_probe_effect(p.mode));
    if (p.mode != GQ_MODE_FULL)
        printf("  why not full: %s\n  for full: %s\n", p.reason, p.fix);
    gq_probe_close(&p);
    return ferror(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *lib_opt = NULL;
    int prog = parse_args(argc, argv, &lib_opt);
    if (prog == -1) {
        print_help();
        return ferror(stdout) ? 1 : 0;
    }
    char lib[PATH_MAX];
    if (prog == -2) {
        find_library(lib_opt, lib, sizeof lib);
        printf("gqrun (gqshim) %s\nlibrary: %s\n", GQ_SHIM_VERSION, lib);
        return ferror(stdout) ? 1 : 0;
    }
    if (check)
        return run_check();
    if (prog >= argc)
        usage_error("no program to run (gqrun [options] -- program [args...])");
    check_values();
    find_library(lib_opt, lib, sizeof lib);
    set_preload(lib);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++)
        if (given[i])
            setenv(gq_option((enum gq_opt_id)i)->name, given[i], 1);
    execvp(argv[prog], argv + prog);
    int err = errno;
    fprintf(stderr, "gqrun: cannot run '%s': %s\n", argv[prog], strerror(err));
    return err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}

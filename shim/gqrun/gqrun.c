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
#include <sys/stat.h>
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

static void print_help(int all)
{
    printf("usage: gqrun [options] [--] program [args...]\n\n"
           "Runs program with %s preloaded and the GQSHIM_* variable of each\n"
           "option set; the program keeps gqrun's pid, signals and exit status.\n\n"
           "Options (--name=VALUE or --name VALUE; each sets the variable beside it):\n",
           LIB_NAME);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        const struct gq_option *o = gq_option((enum gq_opt_id)i);
        char name[64], left[160];
        option_name(o, name, sizeof name);
        if (value_optional(o))
            snprintf(left, sizeof left, "--%s[=%s]", name, gq_opt_metavar(o));
        else
            snprintf(left, sizeof left, "--%s=%s", name, gq_opt_metavar(o));
        printf("  %-28s %s\n", left, o->name);
    }
    printf("  %-28s %s\n", "--lib=PATH", "the library (default: beside gqrun, or ../lib)");
    printf("  %-28s %s\n", "--cudasim[=DIR]", "no GPU: run on cudasim (default DIR: beside");
    printf("  %-28s %s\n", "", "the library, build/cudasim)");
    printf("  %-28s %s\n", "-h, --help, --help-all", "this text; with every variable and rule key");
    printf("  %-28s %s\n", "--check", "the host mode allowed here, and why; runs nothing");
    printf("  %-28s %s\n\n", "--version", "version and the library gqrun would preload");
    printf("Examples:\n"
           "  gqrun --trace -- ./program               # what to compress? (a rule at exit)\n"
           "  gqrun --rules='on=host,min=1M' --stats -- ./program\n"
           "  gqrun --rules='on=host,min=1M' --verify --stats -- ./program   # the error\n"
           "  gqrun --cudasim --trace -- build/examples/offload_kv    # without a GPU\n\n"
           "Exit status: the program's own; 2 for a bad option or value (one line, the\n"
           "program not started); 126 program not runnable, 127 not found (as env(1));\n"
           "under --strict, GQSHIM_ERROR_EXITCODE (default 2) for a bad inherited value.\n");
    if (!all) {
        printf("\nValues, defaults and the rule grammar: gqrun --help-all\n");
        return;
    }
    printf("\n");
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

/* 1 when path is an ELF shared object (e_type ET_DYN): what ld.so would
 * preload, rather than fail on and run the program without it. */
static int is_shared_object(const char *path)
{
    unsigned char h[18];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    return n == sizeof h && memcmp(h, "\177ELF", 4) == 0 && (h[16] | h[17] << 8) == 3;
}

/* The library to preload, as an absolute path: --lib, else beside gqrun
 * (build tree), else ../lib (installed). 0, or -1 (with the reason on
 * stderr unless quiet) when none is found. */
static int find_library(const char *override, char *out, size_t cap)
{
    if (override) {
        if (!realpath(override, out))
            usage_error("--lib=%s: %s", override, strerror(errno));
        if (!is_shared_object(out))
            usage_error("--lib=%s: not a shared library (no ELF shared-object header)", override);
        return 0;
    }
    char dir[PATH_MAX], cand[PATH_MAX + 32];
    if (self_dir(dir, sizeof dir) != 0) {
        snprintf(out, cap, "not found (cannot read /proc/self/exe; use --lib=PATH)");
        return -1;
    }
    const char *where[] = { "", "/../lib" };
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        snprintf(cand, sizeof cand, "%s%s/%s", dir, where[i], LIB_NAME);
        if (access(cand, R_OK) == 0 && realpath(cand, out) && strlen(out) < cap)
            return 0;
    }
    snprintf(out, cap, "not found in %.1900s or %.1900s/../lib (use --lib=PATH)", dir, dir);
    return -1;
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

/* The value of a variable as the program will see it: the option's, else
 * the inherited one. */
static const char *given_getenv(const char *name)
{
    const struct gq_option *o = gq_option_find(name);
    if (o && given[o->id])
        return given[o->id];
    return getenv(name);
}

/* The library's parser on the values the program will get, before it
 * starts. A bad option is a usage error (exit 2); a bad inherited value of
 * a strict variable too (under GQSHIM_STRICT with its exit status), since
 * the shim would only pass everything through; a bad inherited cosmetic one
 * is the library's one warning, and the program runs. */
static void check_values(void)
{
    static struct gq_config cfg; /* large */
    gq_config_parse(&cfg, given_getenv, NULL);
    for (unsigned line = 0; line < cfg.errors.count; line++) {
        const char *text = cfg.errors.line[line];
        /* Each line starts with its variable's name. */
        const struct gq_option *o = NULL;
        for (unsigned i = 0; i < GQ_OPT_COUNT && !o; i++) {
            const char *name = gq_option((enum gq_opt_id)i)->name;
            size_t n = strlen(name);
            if (strncmp(text, name, n) == 0 && (text[n] == '=' || text[n] == ':'))
                o = gq_option((enum gq_opt_id)i);
        }
        char opt[64] = "";
        if (o)
            option_name(o, opt, sizeof opt);
        if (o && given[o->id]) {
            fprintf(stderr, "gqrun: --%s: %s\n", opt, text);
            exit(EXIT_USAGE);
        }
        if (cfg.error_lenient[line])
            continue; /* the library says it, once, and keeps the default */
        fprintf(stderr, "gqrun: %s (inherited from the environment; fix it, unset it%s%s)\n",
                text, o ? " or set --" : "", opt);
        exit(cfg.strict ? (int)cfg.error_exitcode : EXIT_USAGE);
    }
}

/* "Did you mean": the option whose name is closest to what was typed, or a
 * name it is a prefix of ("--stat" for --stats). */
static unsigned distance(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    unsigned row[64];
    if (an >= 63 || bn >= 63)
        return 99;
    for (size_t j = 0; j <= bn; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= an; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= bn; j++) {
            unsigned up = row[j];
            unsigned best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[bn];
}

static const char *const extra_options[] = {"lib", "cudasim", "help", "help-all", "version"};

static void unknown_option(const char *typed, size_t n)
{
    char best[64] = "";
    unsigned best_d = 3;
    for (unsigned k = 0; k < GQ_OPT_COUNT + 5; k++) {
        char name[64];
        if (k < GQ_OPT_COUNT)
            option_name(gq_option((enum gq_opt_id)k), name, sizeof name);
        else
            snprintf(name, sizeof name, "%s", extra_options[k - GQ_OPT_COUNT]);
        unsigned d = distance(typed, n, name);
        if (n >= 3 && strlen(name) > n && strncmp(name, typed, n) == 0)
            d = 1;
        if (d < best_d) {
            best_d = d;
            snprintf(best, sizeof best, "%s", name);
        }
    }
    if (best[0])
        usage_error("unknown option '--%.*s'; did you mean --%s?", (int)n, typed, best);
    usage_error("unknown option '--%.*s'", (int)n, typed);
}

/* Parses argv up to the program; returns the index of the program's name,
 * -1 for --help, -3 for --help-all, -2 for --version. */
static int parse_args(int argc, char **argv, const char **lib, const char **cudasim)
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
        if (IS("help") || IS("version") || IS("help-all") || IS("check")) {
            if (val)
                usage_error("--%.*s takes no value", (int)kn, a + 2);
            if (IS("check")) {
                check = 1;
                continue; /* other options (--host-mode) still apply */
            }
            return IS("help") ? -1 : IS("help-all") ? -3 : -2;
        }
        int takes_next = !val && i + 1 < argc;
        if (IS("lib")) {
            if (!val && !takes_next)
                usage_error("--lib needs a value (--lib=PATH)");
            *lib = val ? val : argv[++i];
            continue;
        }
        if (IS("cudasim")) {
            *cudasim = val ? val : "";
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
            unknown_option(a + 2, kn);
        if (!val && value_optional(o))
            val = "1";
        else if (!val && !takes_next)
            usage_error("--%.*s needs a value (--%.*s=%s)", (int)kn, a + 2, (int)kn, a + 2,
                        gq_opt_metavar(o));
        else if (!val)
            val = argv[++i];
        if (given[o->id] && strcmp(given[o->id], val) != 0)
            usage_error("--%.*s given twice ('%s', then '%s'); give it once%s", (int)kn, a + 2,
                        given[o->id], val,
                        o->id == GQ_OPT_STATS ? " (the JSON file holds all the table does)" : "");
        given[o->id] = val;
    }
    return i;
}

/* --cudasim[=DIR]: cudasim's libcudart.so.13 and libcuda.so.1 first on
 * LD_LIBRARY_PATH; DIR defaults to cudasim/ beside the library. */
static void use_cudasim(const char *dir_opt, const char *lib)
{
    char dir[PATH_MAX], probe[PATH_MAX + 32];
    if (dir_opt[0]) {
        snprintf(dir, sizeof dir, "%s", dir_opt);
    } else {
        snprintf(dir, sizeof dir, "%s", lib);
        char *slash = strrchr(dir, '/');
        snprintf(slash ? slash + 1 : dir, sizeof dir - (size_t)(slash ? slash + 1 - dir : 0),
                 "cudasim");
    }
    snprintf(probe, sizeof probe, "%s/libcuda.so.1", dir);
    if (access(probe, R_OK) != 0)
        usage_error("--cudasim: no libcuda.so.1 in %s (build it with make, or give "
                    "--cudasim=DIR)", dir);
    char abs[PATH_MAX];
    if (!realpath(dir, abs))
        snprintf(abs, sizeof abs, "%s", dir);
    const char *old = getenv("LD_LIBRARY_PATH");
    size_t n = strlen(abs) + (old ? strlen(old) : 0) + 2;
    char *v = malloc(n);
    if (!v) {
        fputs("gqrun: out of memory\n", stderr);
        exit(EXIT_USAGE);
    }
    snprintf(v, n, "%s%s%s", abs, old && *old ? ":" : "", old && *old ? old : "");
    setenv("LD_LIBRARY_PATH", v, 1);
    free(v);
}

/* Why the program could not be run, said the way a person would look. */
static int cannot_run(const char *prog, int err)
{
    struct stat st;
    int has_slash = strchr(prog, '/') != NULL;
    if (stat(prog, &st) == 0 && S_ISDIR(st.st_mode) && has_slash) {
        fprintf(stderr, "gqrun: cannot run '%s': is a directory\n", prog);
        return EXIT_CANNOT_RUN;
    }
    if (!has_slash && err == ENOENT && stat(prog, &st) == 0) {
        fprintf(stderr, "gqrun: cannot run '%s': not found in PATH (a file of that name is here: "
                        "./%s)\n", prog, prog);
        return EXIT_NOT_FOUND;
    }
    if (err == EACCES && stat(prog, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "gqrun: cannot run '%s': is a directory\n", prog);
        return EXIT_CANNOT_RUN;
    }
    fprintf(stderr, "gqrun: cannot run '%s': %s\n", prog, strerror(err));
    return err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
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
    if (p.uffd >= 0) {
        char thp[128] = "unknown";
        FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
        if (f) {
            if (!fgets(thp, sizeof thp, f))
                snprintf(thp, sizeof thp, "unknown");
            thp[strcspn(thp, "\n")] = 0;
            fclose(f);
        }
        /* Both speed up fault-in by huge pages (host/gq_hostmem.c); neither is needed. */
        printf("  %-44s %s\n", "UFFDIO_MOVE (Linux 6.8+)", p.move ? "works" : "no");
        printf("  %-44s %s\n", "transparent huge pages", thp);
    }
    printf("host mode: %s\n", gq_mode_name(p.mode));
    printf("  %s\n", gq_probe_effect(p.mode));
    if (p.mode != GQ_MODE_FULL)
        printf("  why not full: %s\n  for full: %s\n", p.reason, p.fix);
    gq_probe_close(&p);
    return ferror(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *lib_opt = NULL, *cudasim = NULL;
    int prog = parse_args(argc, argv, &lib_opt, &cudasim);
    if (prog == -1 || prog == -3) {
        print_help(prog == -3);
        return ferror(stdout) ? 1 : 0;
    }
    char lib[PATH_MAX];
    if (prog == -2) {
        find_library(lib_opt, lib, sizeof lib); /* the path, or why there is none */
        printf("gqrun (gqshim) %s\nlibrary: %s\n", GQ_SHIM_VERSION, lib);
        return ferror(stdout) ? 1 : 0;
    }
    if (check)
        return run_check();
    if (prog >= argc)
        usage_error("no program to run (gqrun [options] -- program [args...])");
    check_values();
    if (find_library(lib_opt, lib, sizeof lib) != 0) {
        fprintf(stderr, "gqrun: %s %s\n", LIB_NAME, lib);
        return EXIT_USAGE;
    }
    if (cudasim)
        use_cudasim(cudasim, lib);
    set_preload(lib);
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++)
        if (given[i])
            setenv(gq_option((enum gq_opt_id)i)->name, given[i], 1);
    execvp(argv[prog], argv + prog);
    return cannot_run(argv[prog], errno);
}

/* gq_options.h — every GQSHIM_* environment variable, in one table.
 *
 * GQ_OPTION_TABLE is the single list: the parser, `gqrun --help`
 * (gq_options_help), the README table (gq_options_markdown, printed by
 * build/gq-options-md) and the unknown-variable hints all come from it.
 * Adding a variable = one X(...) line here, a field in struct gq_config and its
 * slot in gq_options.c (the compiler's -Wswitch points at the place).
 *
 * Parsing reads the environment once, through an injectable getter, into a
 * struct gq_config; it never prints, exits or allocates. A value that does not
 * parse keeps its default and adds exactly one line to cfg->errors naming the
 * variable, the value (quoted, escaped, truncated) and what is accepted; the
 * caller prints the lines through its logger and then runs pass-through, or
 * exits with status 2 under GQSHIM_STRICT.
 *
 * Leniency: an option that changes only how the shim speaks (gq_option_lenient:
 * GQSHIM_LOG, GQSHIM_LOG_FILE, GQSHIM_STATS) costs only itself when invalid: its
 * line says the default is kept, and the status stays GQ_CONFIG_OK. Every
 * option that changes what gets compressed stays strict.
 *
 * Common to all variables: leading and trailing whitespace is ignored, and an
 * empty (or all-blank) value means the variable is unset (its default holds).
 */
#ifndef GQ_OPTIONS_H
#define GQ_OPTIONS_H

#include "gq_parse.h"
#include "gq_rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gq_opt_type {
    GQ_TYPE_BOOL,   /* GQ_ACCEPT_BOOL */
    GQ_TYPE_SIZE,   /* gq_parse_size, within [lo, hi] */
    GQ_TYPE_ENUM,   /* one of the '|'-separated words of `accepted`, case-insensitive */
    GQ_TYPE_RULES,  /* the grammar of gq_rules.h */
    GQ_TYPE_PATH,   /* any text shorter than GQ_PATH_MAX */
    GQ_TYPE_STATS,  /* a boolean, or json:PATH */
    GQ_TYPE_UINT,   /* decimal, within [lo, hi], and what the rule grammar accepts for the
                       key of the same name (GQSHIM_BITS: bits=, GQSHIM_GROUP: group=) */
};

#define GQ_POOL_MAX_HI ((uint64_t)1 << 48) /* 262144G: far above any host's RAM */
#define GQ_STAGING_MAX_HI ((uint64_t)16 << 30) /* 16G: a sixth of the smallest big GPU */

/* X(ID, TYPE, DEFAULT, LO, HI, ACCEPTED, HELP): the variable is GQSHIM_<ID>;
 * DEFAULT is spelled as a user would set it and parses with the same code;
 * LO/HI bound GQ_TYPE_SIZE values (0, 0 otherwise). */
#define GQ_OPTION_TABLE(X)                                                                      \
    X(ENABLE, BOOL, "1", 0, 0, GQ_ACCEPT_BOOL,                                                  \
      "Master switch: 0 passes every CUDA call through untouched.")                             \
    X(RULES, RULES, "", 0, 0, "rule{;rule}, rule = key=value{,key=value} (see the rule grammar)", \
      "Which allocations hold tensors and how to compress them; unset compresses nothing.")     \
    X(BITS, UINT, "4", 2, 8, "2|4|8",                                                           \
      "Bits per code for rules (and gq_register specs) that do not set bits=.")                 \
    X(GROUP, UINT, "64", 8, 1024, "an even number from 8 to 1024",                              \
      "Elements per group for rules (and gq_register specs) that do not set group=.")           \
    X(LOG, ENUM, "warn", 0, 0, "error|warn|info|debug",                                         \
      "Least severe level of message written.")                                                 \
    X(LOG_FILE, PATH, "", 0, 0, "a file path",                                                  \
      "Append messages to this file instead of stderr.")                                        \
    X(STATS, STATS, "0", 0, 0, "0|1|json:PATH (any boolean spelling for 0|1)",                  \
      "At exit, print a summary table (1) or write it as JSON to PATH.")                        \
    X(TRACE, BOOL, "0", 0, 0, GQ_ACCEPT_BOOL,                                                   \
      "Log every allocation and copy, and suggest GQSHIM_RULES at exit.")                       \
    X(POOL_MAX, SIZE, "0", 0, GQ_POOL_MAX_HI,                                                   \
      "0 or a size up to 262144G: digits, optional suffix K, M, G (KiB, MiB, GiB)",             \
      "Budget of the compressed host store; 0 = half of physical RAM.")                         \
    X(STRICT, BOOL, "0", 0, 0, GQ_ACCEPT_BOOL,                                                  \
      "On an invalid GQSHIM_* value, exit (GQSHIM_ERROR_EXITCODE) instead of passing all through.") \
    X(VERIFY, BOOL, "0", 0, 0, GQ_ACCEPT_BOOL,                                                  \
      "Measure the quantization error (max abs, NMSE) of each offload; report it per rule.")     \
    X(ERROR_EXITCODE, UINT, "2", 1, 255, "1 to 255",                                            \
      "Exit status under GQSHIM_STRICT=1; pick one the program never uses (as valgrind's).")    \
    X(HOST_MODE, ENUM, "auto", 0, 0, "auto|full|tracked|checksum|untracked",                    \
      "Best host mode to use (auto: the best this environment allows; see Requirements).")      \
    X(STAGING_MAX, SIZE, "64M", 0, GQ_STAGING_MAX_HI,                                           \
      "0 or a size up to 16G: digits, optional suffix K, M, G (KiB, MiB, GiB)",                  \
      "Device memory per GPU for staging compressed copies, taken once; 0 = no staging.")      \
    X(THREADS, UINT, "0", 0, 256, "0 or 1 to 256",                                              \
      "Most threads one large CPU encode or decode uses (page fault-in, decodes into host "       \
      "buffers, upload=compress); 0 = the CPUs this process may use, at most 8.")

enum gq_opt_id {
#define GQ_X_ENUM(ID, TYPE, DEF, LO, HI, ACC, HELP) GQ_OPT_##ID,
    GQ_OPTION_TABLE(GQ_X_ENUM)
#undef GQ_X_ENUM
    GQ_OPT_COUNT
};

struct gq_option {
    enum gq_opt_id id;
    const char *name;      /* "GQSHIM_..." */
    enum gq_opt_type type;
    const char *def;       /* "" = unset */
    uint64_t lo, hi;
    const char *accepted;
    const char *help;
};

enum gq_log_level { GQ_LOG_ERROR, GQ_LOG_WARN, GQ_LOG_INFO, GQ_LOG_DEBUG };
enum gq_stats_mode { GQ_STATS_OFF, GQ_STATS_TEXT, GQ_STATS_JSON };

#define GQ_PATH_MAX 4096              /* bytes of a path, NUL included */
#define GQ_MSG_MAX GQ_RULES_ERR_MAX   /* bytes of one message line, NUL included */
#define GQ_MSGS_MAX 12                /* lines kept per list; the rest are counted */

/* Lines of text without newlines, for the caller to print. */
struct gq_msgs {
    unsigned count;
    unsigned dropped;                 /* lines that did not fit */
    char line[GQ_MSGS_MAX][GQ_MSG_MAX];
};

struct gq_config {
    bool enable;
    bool rules_set;                   /* GQSHIM_RULES held at least one rule */
    struct gq_rules rules;            /* bits/group already inherited from the two below */
    unsigned bits;                    /* GQSHIM_BITS: for rules without bits= */
    unsigned group;                   /* GQSHIM_GROUP: for rules without group= */
    enum gq_log_level log;
    char log_file[GQ_PATH_MAX];       /* "" = stderr */
    enum gq_stats_mode stats;
    char stats_path[GQ_PATH_MAX];     /* GQ_STATS_JSON only */
    bool trace;
    uint64_t pool_max;                /* bytes; 0 = auto, see gq_config_pool_bytes */
    uint64_t staging_max;             /* bytes of device staging per GPU; 0 = none */
    bool strict;
    bool verify;
    unsigned error_exitcode;          /* GQSHIM_ERROR_EXITCODE: GQSHIM_STRICT's exit status */
    unsigned host_mode;               /* GQSHIM_HOST_MODE: 0 auto, else 1 + enum gq_host_mode */
    unsigned threads;                 /* GQSHIM_THREADS: 0 auto (base/gq_pool.h) */
    bool from_env[GQ_OPT_COUNT];      /* the value came from the environment */
    struct gq_msgs errors;            /* one line per invalid variable */
    bool invalid[GQ_OPT_COUNT];       /* that variable's value was refused */
    bool error_lenient[GQ_MSGS_MAX];  /* errors.line[i] is a lenient option's */
    struct gq_msgs warnings;          /* one line per unknown GQSHIM_* variable */
};

enum gq_config_status { GQ_CONFIG_OK = 0, GQ_CONFIG_INVALID = 1 };

typedef const char *(*gq_getenv_fn)(const char *name);

/* The table entry of id, or NULL when id is out of range. */
const struct gq_option *gq_option(enum gq_opt_id id);

/* True for the options whose invalid value only keeps their default (how the
 * shim reports, not what it compresses); false for the strict ones. */
bool gq_option_lenient(enum gq_opt_id id);

/* The entry named exactly `name` ("GQSHIM_LOG"), or NULL. */
const struct gq_option *gq_option_find(const char *name);

/* "bool", "size", "enum", "rules", "path", "stats", "uint". */
const char *gq_opt_type_name(enum gq_opt_type type);

/* What a value of opt looks like in help text ("BOOL", "SIZE", "RULES",
 * "error|warn|info|debug", ...): what follows NAME= in gq_options_help, and
 * follows --name= in `gqrun --help`. */
const char *gq_opt_metavar(const struct gq_option *opt);

/* Sets every field to its table default; no messages. */
void gq_config_defaults(struct gq_config *cfg);

/* Fills *cfg from the environment: defaults first, then each variable read
 * with getenv_fn (NULL: the process environment); then every rule that did
 * not set bits= / group= takes GQSHIM_BITS / GQSHIM_GROUP. When envp (an `environ`-
 * style, NULL-terminated array of "NAME=VALUE") is not NULL, each GQSHIM_*
 * name there that is not in the table adds a line to cfg->warnings naming the
 * close known names. Returns GQ_CONFIG_INVALID when a strict variable is
 * invalid; invalid lenient ones (their lines are in cfg->errors too) and
 * warnings leave the status GQ_CONFIG_OK. */
enum gq_config_status gq_config_parse(struct gq_config *cfg, gq_getenv_fn getenv_fn,
                                      char *const *envp);

/* An output path (GQSHIM_LOG_FILE, GQSHIM_STATS=json:PATH) with its
 * patterns expanded, as valgrind and nsys do: %p the process id, %q{VAR}
 * the value of an environment variable (read with getenv_fn), %% a percent
 * sign. 0, or -1 with one line in err (an unknown pattern, an unset
 * variable, too long). gq_config_parse expands both paths with getpid(). */
int gq_path_expand(const char *tmpl, long pid, gq_getenv_fn getenv_fn, char *out, size_t cap,
                   char *err, size_t errcap);

/* Adds the unknown-variable warnings of envp to *warnings (see above). */
void gq_options_check_unknown(char *const *envp, struct gq_msgs *warnings);

/* The budget of the compressed store in bytes: pool_max, or half of
 * phys_ram_bytes when pool_max is 0 (auto). */
uint64_t gq_config_pool_bytes(const struct gq_config *cfg, uint64_t phys_ram_bytes);

/* Renders the effective value of one variable ("warn", "on=host,min=1M",
 * "json:/tmp/s.json", "" when unset). Returns what snprintf would. */
int gq_config_value(const struct gq_config *cfg, enum gq_opt_id id, char *buf, size_t cap);

/* One line per variable, "GQSHIM_X=value" plus " (default)" when it was not
 * set, for a debug log. Returns what snprintf would. */
int gq_config_describe(const struct gq_config *cfg, char *buf, size_t cap);

/* The table as help text (for `gqrun --help`) and as a Markdown table (for
 * README.md), every variable included. Both return what snprintf would: the
 * length needed, excluding the NUL; the text is truncated to cap. */
int gq_options_help(char *buf, size_t cap);
int gq_options_markdown(char *buf, size_t cap);

#endif

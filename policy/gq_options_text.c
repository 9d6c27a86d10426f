/* gq_options_text.c — the option table rendered for people: `gqrun --help`,
 * the README's Markdown table, and the effective configuration for a debug
 * log. Everything here is generated from GQ_OPTION_TABLE, so the three cannot
 * drift from what the parser accepts. */
#include "gq_options.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>



const char *gq_opt_metavar(const struct gq_option *opt)
{
    switch (opt->type) {
    case GQ_TYPE_BOOL: return "BOOL";
    case GQ_TYPE_SIZE: return "SIZE";
    case GQ_TYPE_ENUM: return opt->accepted;
    case GQ_TYPE_RULES: return "RULES";
    case GQ_TYPE_PATH: return "PATH";
    case GQ_TYPE_STATS: return "0|1|json:PATH";
    case GQ_TYPE_UINT: return "N";
    }
    return "VALUE";
}

int gq_options_help(char *buf, size_t cap)
{
    struct gq_out o = { buf, cap, 0 };
    gq_out_emit(&o, "Environment variables (an empty value counts as unset):\n");
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        const struct gq_option *opt = gq_option((enum gq_opt_id)i);
        gq_out_emit(&o, "  %s=%s", opt->name, gq_opt_metavar(opt));
        if (opt->def[0])
            gq_out_emit(&o, "  (default %s)", opt->def);
        gq_out_emit(&o, "\n      %s\n      accepted: %s\n", opt->help, opt->accepted);
    }
    gq_out_emit(&o, "\n");
    char *rest = o.len < o.cap ? o.buf + o.len : NULL;
    int n = gq_rules_help(rest, rest ? o.cap - o.len : 0);
    if (n > 0)
        o.len += (size_t)n;
    return gq_out_finish(&o);
}

/* A Markdown table cell: '|' must be escaped, even inside code spans (GFM). */
static void emit_cell(struct gq_out *o, const char *text, bool code)
{
    gq_out_emit(o, " %s", code ? "`" : "");
    for (const char *p = text; *p; p++)
        gq_out_emit(o, *p == '|' ? "\\|" : "%c", *p);
    gq_out_emit(o, "%s |", code ? "`" : "");
}

int gq_options_markdown(char *buf, size_t cap)
{
    struct gq_out o = { buf, cap, 0 };
    gq_out_emit(&o, "| Variable | Type | Default | Accepted | Meaning |\n");
    gq_out_emit(&o, "|---|---|---|---|---|\n");
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        const struct gq_option *opt = gq_option((enum gq_opt_id)i);
        gq_out_emit(&o, "|");
        emit_cell(&o, opt->name, true);
        emit_cell(&o, gq_opt_type_name(opt->type), false);
        if (opt->def[0])
            emit_cell(&o, opt->def, true);
        else
            emit_cell(&o, "unset", false);
        emit_cell(&o, opt->accepted, false);
        emit_cell(&o, opt->help, false);
        gq_out_emit(&o, "\n");
    }
    return gq_out_finish(&o);
}

int gq_config_describe(const struct gq_config *cfg, char *buf, size_t cap)
{
    struct gq_out o = { buf, cap, 0 };
    for (unsigned i = 0; i < GQ_OPT_COUNT; i++) {
        char value[GQ_PATH_MAX + 8];
        gq_config_value(cfg, (enum gq_opt_id)i, value, sizeof value);
        gq_out_emit(&o, "%s=%s%s\n", gq_option((enum gq_opt_id)i)->name, value,
             cfg->from_env[i] ? "" : " (default)");
    }
    return gq_out_finish(&o);
}

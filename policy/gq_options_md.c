/* gq-options-md: prints the GQSHIM_* table as Markdown (default) or, with
 * --help, as the help text; README.md's table is checked against the output. */
#include "gq_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int help = argc > 1 && strcmp(argv[1], "--help") == 0;
    if (argc > 2 || (argc == 2 && !help && strcmp(argv[1], "--markdown") != 0)) {
        fprintf(stderr, "usage: gq-options-md [--markdown|--help]\n");
        return 2;
    }
    int n = help ? gq_options_help(NULL, 0) : gq_options_markdown(NULL, 0);
    char *buf = malloc((size_t)n + 1);
    if (!buf)
        return 1;
    if (help)
        gq_options_help(buf, (size_t)n + 1);
    else
        gq_options_markdown(buf, (size_t)n + 1);
    fputs(buf, stdout);
    free(buf);
    return ferror(stdout) ? 1 : 0;
}

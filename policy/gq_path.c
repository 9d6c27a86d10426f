/* gq_path.c — %p and %q{VAR} in output paths (see gq_options.h). */
#include "gq_options.h"

#include <stdio.h>
#include <string.h>

int gq_path_expand(const char *tmpl, long pid, gq_getenv_fn getenv_fn, char *out, size_t cap,
                   char *err, size_t errcap)
{
    size_t len = 0;
    if (cap == 0)
        return -1;
    for (const char *p = tmpl; *p; p++) {
        char piece[32];
        const char *add = piece;
        size_t an;
        if (*p != '%') {
            piece[0] = *p;
            an = 1;
        } else if (p[1] == '%') {
            piece[0] = '%';
            an = 1;
            p++;
        } else if (p[1] == 'p') {
            an = (size_t)snprintf(piece, sizeof piece, "%ld", pid);
            p++;
        } else if (p[1] == 'q' && p[2] == '{') {
            const char *close = strchr(p + 3, '}');
            char name[256];
            size_t nn = close ? (size_t)(close - (p + 3)) : 0;
            if (!close || nn == 0 || nn >= sizeof name) {
                snprintf(err, errcap, "%%q needs a variable name in braces: %%q{NAME}");
                return -1;
            }
            memcpy(name, p + 3, nn);
            name[nn] = '\0';
            add = getenv_fn ? getenv_fn(name) : NULL;
            if (!add) {
                snprintf(err, errcap, "%%q{%s}: %s is not set", name, name);
                return -1;
            }
            an = strlen(add);
            p = close;
        } else {
            snprintf(err, errcap, "'%%%c' is not %%p, %%q{NAME} or %%%%", p[1] ? p[1] : ' ');
            return -1;
        }
        if (len + an >= cap) {
            snprintf(err, errcap, "the expanded path is too long");
            return -1;
        }
        memcpy(out + len, add, an);
        len += an;
    }
    out[len] = '\0';
    return 0;
}

/*
 * gq_sym.h — every symbol lookup the shim makes for itself.
 *
 * The shim exports its own `dlsym` (entry/gq_hooks_dlsym.c), and a call to
 * dlsym from inside libgqshim.so would bind to that export. So the shim's
 * lookups go through the real dlsym, found once with dlvsym (which the shim
 * does not interpose); and libcuda.so.1 is opened once, here, for the
 * driver table, the real driver behind the hooks and every optional entry
 * point alike.
 */
#ifndef GQ_SYM_H
#define GQ_SYM_H

/* glibc's dlsym, or NULL when it cannot be found. Read without a lock by the
 * dlsym export's assembly stub (entry/gq_hooks_dlsym.c). */
extern void *gq_dlsym_next;

/* Resolve gq_dlsym_next (idempotent; safe before sanitizer runtimes are up). */
void gq_sym_init(void);

/* dlsym(handle, name) through the real dlsym, as asked by libgqshim.so:
 * RTLD_NEXT means "after the shim". NULL when not found. */
void *gq_sym(void *handle, const char *name);

/* The program's libcuda.so.1 (loaded, RTLD_LOCAL, when it has none yet),
 * opened once and never closed; NULL when there is none. */
void *gq_sym_libcuda(void);

/* Why gq_sym_libcuda() answered NULL (dlerror's text), or "". */
const char *gq_sym_libcuda_error(void);

#endif

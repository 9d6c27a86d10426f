/*
 * gq_hooks.h — what the entry layer's files share among themselves.
 */
#ifndef GQ_HOOKS_H
#define GQ_HOOKS_H

#include "gpu/gq_real_drv.h"

#define GQ_EXPORT __attribute__((visibility("default")))

/* Our exported hook for a hooked driver symbol (gq_hooks_drv.c); what
 * dlsym and cuGetProcAddress hand out instead of the real one. */
void *gq_drv_hook_addr(enum gq_drv_hook i);

/* SIGTERM/SIGINT write the report before the default action
 * (gq_signals.c); installed once the configuration asks for a report. */
void gq_signals_install(void);

/* At load: the pid whose exec writes the report (not a vfork child's). */
void gq_signals_note_pid(void);

#endif

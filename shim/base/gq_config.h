/*
 * gq_config.h — the shim's process-wide configuration, read once.
 *
 * gq_cfg() parses GQSHIM_* on first use, sets up the logger and the trace
 * channel, prints each invalid value on one line and then either turns the
 * shim off (every call passes through) or, under GQSHIM_STRICT=1, exits with
 * status 2. After the first call, gq_cfg() and gq_active() are one
 * acquire-load of a flag: they sit on every intercepted call.
 */
#ifndef GQ_CONFIG_H
#define GQ_CONFIG_H

#include "gq_options.h"

/* The parsed configuration; never NULL. */
struct gq_config *gq_cfg(void);

/* 1 when the shim may compress anything: enabled, valid, and at least one
 * rule or one gq_register; 0 in a fork's child. */
int gq_active(void);

/* A program registered a tensor itself (gq_register): the shim compresses
 * from now on even without rules. 0, or -1 when it is off (GQSHIM_ENABLE=0,
 * invalid settings, a fork's child). */
int gq_config_activate(void);

/* Another copy of libgqshim.so is loaded first (entry/gq_startup.c checks
 * at load): this one reads no configuration, says nothing and passes every
 * call through. Before the first gq_cfg(). */
void gq_config_stand_aside(void);

/* 1 once the configuration has been read (without reading it). */
int gq_config_loaded(void);

/* In a fork's child: gq_active() is 0 from now on. */
void gq_config_atfork_child(void);

/* `fn` runs once, right after the configuration is read (or now, when it
 * already was): how the layer above learns of it without being called from
 * here (the start-up module registers the exit report this way). One
 * function; a second registration replaces the first. */
void gq_config_on_load(void (*fn)(const struct gq_config *cfg));

#endif

/*
 * gq_state.h — the shim's process-wide configuration, read once.
 *
 * gq_cfg() parses GQSHIM_* on first use (pthread_once), sets up the logger,
 * prints each invalid value on one line and then either turns the shim off
 * (every call passes through) or, under GQSHIM_STRICT=1, exits with status 2.
 */
#ifndef GQ_STATE_H
#define GQ_STATE_H

#include "gq_options.h"

/* The parsed configuration; never NULL. */
struct gq_config *gq_cfg(void);

/* 1 when the shim may compress anything: enabled, valid, and at least one
 * rule or one gq_register. */
int gq_active(void);

/* A program registered a tensor itself (gq_register): the shim compresses
 * from now on even without rules. 0, or -1 when it is off (GQSHIM_ENABLE=0
 * or invalid settings). */
int gq_state_activate(void);

#endif

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

/* 1 when the shim may compress anything: enabled, valid, at least one rule. */
int gq_active(void);

#endif

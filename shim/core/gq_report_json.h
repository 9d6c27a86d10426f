/*
 * gq_report_json.h — GQSHIM_STATS=json:PATH: the report's content as JSON
 * ("schema": "gqshim-stats", "schema_version"), built in the report's
 * buffer (core/gq_report_fmt.h).
 */
#ifndef GQ_REPORT_JSON_H
#define GQ_REPORT_JSON_H

struct gq_rep_snapshot;

/* Appends the whole document to the report's buffer. */
void gq_report_json_text(const struct gq_rep_snapshot *n);

#endif

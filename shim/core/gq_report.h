/*
 * gq_report.h — what the shim says at exit: the trace summary and
 * suggested rule (GQSHIM_TRACE), then the stats table or JSON
 * (GQSHIM_STATS) or the error report alone (GQSHIM_VERIFY).
 */
#ifndef GQ_REPORT_H
#define GQ_REPORT_H

/* Nothing in a fork's child (the counters are the parent's). */
void gq_report_exit(void);

#endif

/*
 * gq_report.h — what the shim says when the program ends: the trace summary
 * and suggested rule (GQSHIM_TRACE), then the stats table or JSON
 * (GQSHIM_STATS) or the error report alone (GQSHIM_VERIFY), and one line
 * when GQSHIM_RULES were set but compressed nothing.
 *
 * Written once per process image: at exit, before an exec, or from the
 * SIGTERM/SIGINT handler of entry/gq_signals.c, whichever comes first. From
 * a signal handler it takes no lock and allocates nothing (the pinned
 * store's peak and the trace summary are left out then, and kernels still
 * in flight are not waited for).
 */
#ifndef GQ_REPORT_H
#define GQ_REPORT_H

/* Nothing in a fork's child (the counters are the parent's). */
void gq_report_exit(void);

/* Before an exec replaces the process image; gq_report_exec_failed() when
 * the exec returned, so that the exit writes the final report. */
void gq_report_exec(void);
void gq_report_exec_failed(void);

/* From a SIGTERM/SIGINT handler that will end the process. */
void gq_report_signal(int sig);

/* 1 when the configuration asks for anything at exit. */
int gq_report_due(void);

#endif

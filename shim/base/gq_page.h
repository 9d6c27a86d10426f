/*
 * gq_page.h — the page size, and rounding to it.
 */
#ifndef GQ_PAGE_H
#define GQ_PAGE_H

#include <stdint.h>

/* sysconf(_SC_PAGESIZE), read once. */
uintptr_t gq_page_size(void);

static inline uintptr_t gq_page_up(uintptr_t a) { return (a + gq_page_size() - 1) & ~(gq_page_size() - 1); }
static inline uintptr_t gq_page_down(uintptr_t a) { return a & ~(gq_page_size() - 1); }

#endif

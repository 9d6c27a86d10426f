/*
 * gq_copy_flags.h — how the program issued a copy, as every layer that
 * looks at a copy needs to know it.
 */
#ifndef GQ_COPY_FLAGS_H
#define GQ_COPY_FLAGS_H

enum gq_copy_flags {
    GQ_COPY_SYNC = 1, /* cudaMemcpy: returns with the data in place */
    GQ_COPY_PTDS = 2, /* per-thread default stream build (_ptds / _ptsz) */
};

#endif

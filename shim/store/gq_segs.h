/*
 * gq_segs.h — a block of the store, cut into segments.
 *
 * A tensor is offloaded in chunks (xfer/gq_stage.c): each chunk is quantized
 * into device staging memory on its own and its compressed bytes are copied
 * to the store while the next chunk is quantized. Each chunk therefore is a
 * complete compressed buffer of its own (kernels/gq_format.h: header,
 * metadata, codes, escape area with slot numbers local to it), and a block
 * is the sequence of those buffers, `stride` bytes apart:
 *
 *   segment i   elements [i * seg_elems, min(n, (i + 1) * seg_elems))
 *               at block offset i * stride; every segment but the last has
 *               the same layout
 *
 * seg_elems is a multiple of 32 groups (dim=last) or of whole row-blocks
 * making a multiple of 32 groups (dim=0), so no group straddles two
 * segments, and each segment's metadata fills whole 128-byte lines and its
 * codes start on a 32-byte sector (the kernels' warp accesses stay whole). A tensor
 * that fits one segment has exactly the format's single-buffer layout.
 * Escape capacity is per segment (a chunk with many NaN/Inf groups can
 * overflow while the tensor as a whole would not): gq_segs_init says how
 * much. Pure arithmetic and CPU codec calls; no CUDA.
 */
#ifndef GQ_SEGS_H
#define GQ_SEGS_H

#include "gq_format.h"

#include <stddef.h>
#include <stdint.h>

/* A segment's compressed size is kept at or below this unless one unit (32
 * groups, or the row-blocks making them with dim=0) is bigger: large enough that a
 * launch and a DMA per segment cost little, small enough that the DMA of
 * one overlaps the kernel of the next (about 14 MiB of fp16 at 4 bits). */
#define GQ_SEG_TARGET ((size_t)4 << 20)
#define GQ_SEG_ALIGN 256u

struct gq_segs {
    struct gq_params params;
    uint64_t n_elems;   /* of the tensor */
    uint64_t seg_elems; /* of every segment but the last */
    uint32_t n_segs;
    uint32_t esize;
    int few_escapes;    /* capacities: few (the caller can fall back) or the default */
    uint32_t esc_floor; /* and at least this many slots (gq_segs_widen) */
    uint64_t stride;    /* bytes between segment starts (GQ_SEG_ALIGN-aligned) */
    uint64_t max_bytes; /* the largest segment's compressed size */
    uint64_t total;     /* bytes of the block */
};

/* One segment: its elements and where its buffer is. */
struct gq_seg {
    uint64_t e0, n;       /* elements [e0, e0 + n) of the tensor */
    uint64_t off;         /* byte offset in the block */
    struct gq_layout l;   /* the layout of its buffer (n elements) */
};

/* Cut a tensor of n_elems elements into segments of at most `max_bytes`
 * compressed bytes each (or one unit of 32 groups, or of the row-blocks
 * making 32 groups, when a unit alone is bigger).
 * GQ_OK or GQ_ERR_PARAM. */
int gq_segs_init(struct gq_segs *s, const struct gq_params *p, uint64_t n_elems, size_t max_bytes,
                 int few_escapes);

/* The same cut with every segment's escape capacity raised to at least
 * `capacity` slots (never more than its groups): the retry of a quantize
 * whose escapes overflowed, with the count its headers gave
 * (gq_segs_max_escapes). Segments keep their elements, so each holds what
 * it counted; max_bytes may grow past the limit gq_segs_init was given. */
void gq_segs_widen(struct gq_segs *s, uint32_t capacity);

/* After the quantize of every segment: the most groups any one segment
 * counted as escaped (its header counts past the capacity). */
uint32_t gq_segs_max_escapes(const struct gq_segs *s, const unsigned char *block);

/* Segment i (< n_segs). */
void gq_segs_at(const struct gq_segs *s, uint32_t i, struct gq_seg *out);

/* The segment holding element e. */
uint32_t gq_segs_index(const struct gq_segs *s, uint64_t e);

/* CPU: compress the tensor at src into `block` (s->total bytes, 16-aligned).
 * GQ_OK, or GQ_ERR_OVERFLOW when a segment's escapes overflowed. */
int gq_segs_encode(const struct gq_segs *s, const void *src, unsigned char *block);

/* CPU: decode elements [e0, e1) of the tensor into dst (dst[0] = element e0).
 * GQ_OK or the codec's error. */
int gq_segs_decode_range(const struct gq_segs *s, const unsigned char *block, uint64_t e0,
                         uint64_t e1, void *dst);

/* After the quantize of every segment has completed: the groups that
 * escaped in all, and whether any segment overflowed (1) or not (0). */
int gq_segs_overflowed(const struct gq_segs *s, const unsigned char *block, uint64_t *escaped);

/* After the quantize of every segment: 1 when a segment was refused as not
 * of the rule's dtype (base/gq_foreign.h), rather than overflowing. */
int gq_segs_foreign(const struct gq_segs *s, const unsigned char *block);

#endif

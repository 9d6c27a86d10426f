/*
 * gq_layer.h — one copy, one decision, whichever API layer sees it first.
 *
 * A dynamic libcudart calls the driver through entry points it got from
 * cuGetProcAddress, which answers it with the shim's driver hooks: without a
 * mark, one cudaMemcpy would be decided twice (and one cudaMalloc counted
 * twice for nth=). A thread is "inside" while a runtime hook calls the real
 * runtime, while a driver hook runs, and while the shim itself calls the
 * real runtime: driver hooks reached from inside pass straight through. The
 * mark is per thread because the runtime makes its driver calls on the
 * caller's thread. Nesting counts.
 */
#ifndef GQ_LAYER_H
#define GQ_LAYER_H

void gq_layer_enter(void);
void gq_layer_leave(void);
int gq_layer_inside(void);

#endif

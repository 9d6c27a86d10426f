/* The "inside" mark (see gq_layer.h). Initial-exec TLS: the library is
 * preloaded, so its block is in the static TLS area and the access is one
 * load, not a __tls_get_addr call. */
#include "base/gq_layer.h"

static __thread unsigned depth __attribute__((tls_model("initial-exec")));

void gq_layer_enter(void) { depth++; }
void gq_layer_leave(void) { depth--; }
int gq_layer_inside(void) { return depth != 0; }

#include "gq_codec_impl.h"
const struct gq_cpu_path *gq_path_avx2(void) { return NULL; }

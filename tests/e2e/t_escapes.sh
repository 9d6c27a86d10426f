#!/bin/sh
# Escape overflow: more NaN/Inf groups than a block keeps. The data come back
# bit for bit whichever way the offload went (spill kernel into mapped
# memory, or a raw copy after the quantize was seen to overflow).
. tests/e2e/lib.sh
P=$BUILD/e2e/nanflood
check "no shim" $P pinned
# Exact data alone prove nothing (a shim that does nothing passes): each
# case must also have taken the escape path it is about.
check "shim-owned buffer" with_shim "on=host" $P pinned
expect_jstat "shim-owned buffer: the overflow seen, copied raw" passed_by_reason.ESCAPES -eq 1
check "program-owned pinned (spill kernel)" with_shim "on=dev,nth=1" $P pinned
# Queued compressed, then moved to the pass-through side once the overflow
# was seen (the spill kernel had copied it raw).
expect_jstat "program-owned pinned: the overflow seen, counted raw" passed_by_reason.ESCAPES -eq 1
expect_jstat "program-owned pinned: the spill kernel ran" kernels.spill.launches -eq 1
check "program-owned pageable" with_shim "on=dev,nth=1" $P pageable
expect_jstat "program-owned pageable: the overflow seen, copied raw" passed_by_reason.ESCAPES -eq 1
check "program-owned pinned, delayed streams" env CUDASIM_DELAY_US=300 sh -c \
    "LD_PRELOAD=$SHIM GQSHIM_RULES=on=dev,nth=1 $P pinned"
finish

#!/bin/sh
# Escape overflow: more NaN/Inf groups than a block keeps. The data come back
# bit for bit whichever way the offload went (spill kernel into mapped
# memory, or a raw copy after the quantize was seen to overflow).
. tests/e2e/lib.sh
P=$BUILD/e2e/nanflood
check "no shim" $P pinned
check "shim-owned buffer" with_shim "on=host" $P pinned
check "program-owned pinned (spill kernel)" with_shim "on=dev,nth=1" $P pinned
check "program-owned pageable" with_shim "on=dev,nth=1" $P pageable
check "program-owned pinned, delayed streams" env CUDASIM_DELAY_US=300 sh -c \
    "LD_PRELOAD=$SHIM GQSHIM_RULES=on=dev,nth=1 $P pinned"
finish

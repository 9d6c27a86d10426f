#!/bin/sh
# Escape overflow: more NaN/Inf groups than a block keeps. An offload that
# waits for its quantize anyway (into a shim-owned buffer, or into pageable
# memory) quantizes again with a slot for every group its headers counted:
# the tensor stays compressed and those groups exact. An asynchronous one
# into program-owned pinned memory is kept exact by the spill kernel, which
# copies it raw into the mapped buffer.
. tests/e2e/lib.sh
P=$BUILD/e2e/nanflood
check "no shim" $P pinned
# Right data alone prove nothing (a shim that does nothing passes the exact
# cases): each case must also have taken the escape path it is about.
# Half the groups escaped: the second quantize needs more than twice the
# room the store reserved for this tensor; the offload waits for its own
# completion anyway, so it waits for the store's thread to add a slab.
check "shim-owned buffer, half the groups NaN/Inf: the round trip" with_shim "on=host" $P pinned 0 quant
expect_jstat "shim-owned buffer: quantized again" escape_retries -eq 1
expect_jstat "shim-owned buffer: and compressed" offloads -eq 1
expect_jstat "shim-owned buffer: nothing raw" passed_by_reason.GROWING -eq 0
check "shim-owned buffer, 1% of the groups NaN" with_shim "on=host" $P pinned 100 quant
expect_jstat "1% NaN: compressed" offloads -eq 1
expect_jstat "1% NaN: restored compressed" restores -eq 1
expect_jstat "1% NaN: its 82 groups kept exact" escaped_groups -eq 82
expect_jstat "1% NaN: after one retry" escape_retries -eq 1
check "program-owned pageable, 1% NaN: the round trip" with_shim "on=dev,nth=1" $P pageable 100 quant
expect_jstat "program-owned pageable: quantized again" escape_retries -eq 1
expect_jstat "program-owned pageable: and compressed" offloads -eq 1
expect_jstat "program-owned pageable: NaN groups exact" escaped_groups -eq 82
check "program-owned pinned (spill kernel)" with_shim "on=dev,nth=1" $P pinned
# Queued compressed, then moved to the pass-through side once the overflow
# was seen (the spill kernel had copied it raw).
expect_jstat "program-owned pinned: the overflow seen, counted raw" passed_by_reason.ESCAPES -eq 1
expect_jstat "program-owned pinned: the spill kernel ran" kernels.spill.launches -eq 1
check "program-owned pinned, delayed streams" env CUDASIM_DELAY_US=300 sh -c \
    "LD_PRELOAD=$SHIM GQSHIM_RULES=on=dev,nth=1 $P pinned"
finish

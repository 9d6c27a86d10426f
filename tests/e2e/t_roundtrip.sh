#!/bin/sh
# gpu-kit: yes (tests/gpu/run.sh runs it on the real CUDA stack)
# Offload and restore round trips of unmodified programs under the shim:
# every dtype and bit width, both grouping axes, sync / async / per-thread
# streams, pinned and pageable host buffers; exact without a rule.
. tests/e2e/lib.sh
RT=$BUILD/e2e/roundtrip
MiB=1048576

check "no shim: exact" $RT f16 4 64 0 $MiB async pinned exact
check "shim without rules: exact" env LD_PRELOAD=$SHIM $RT f16 4 64 0 $MiB async pinned exact

for mode in sync async ptds; do
    check "on=host f16 4-bit $mode" with_shim "on=host,min=64K" $RT f16 4 64 0 $MiB $mode pinned quant
    expect_stat "on=host f16 4-bit $mode" offloads -ge 1
    expect_stat "on=host f16 4-bit $mode" restores -ge 2
    # Each copy decided once, whichever layers see it (8 copies, 1 offload).
    expect_stat "on=host f16 4-bit $mode" copies -eq 8
    expect_stat "on=host f16 4-bit $mode" offloads -eq 1
done

for dtype in f16 bf16 f32; do
    for bits in 2 4 8; do
        check "on=host $dtype $bits-bit" with_shim "on=host,dtype=$dtype,bits=$bits" \
            $RT $dtype $bits 64 0 $MiB async pinned quant
        expect_stat "on=host $dtype $bits-bit" offloads -ge 1
    done
done

check "group 128" with_shim "on=host,group=128" $RT f16 4 128 0 $MiB async pinned quant
check "dim=0 cols=256" with_shim "on=host,dim=0,cols=256" $RT f16 4 64 256 $MiB sync pinned quant
expect_stat "dim=0 cols=256" restores -ge 1

# on=dev: the device tensor is named; any host destination (nth=1: only d_a).
check "on=dev pinned" with_shim "on=dev,nth=1" $RT f16 4 64 0 $MiB async pinned quant
expect_stat "on=dev pinned" offloads -ge 1
check "on=dev pageable" with_shim "on=dev,nth=1" $RT f16 4 64 0 $MiB async pageable quant
expect_stat "on=dev pageable" restores -ge 1
expect_stat "on=dev pageable" copies -eq 8
expect_stat "on=dev pageable" offloads -eq 1

# A rule that names nothing in this program: bit for bit.
check "unmatched rule: exact" with_shim "on=host,min=1G" $RT f16 4 64 0 $MiB async pinned exact
expect_stat "unmatched rule" offloads -eq 0

# Every stream operation delayed: a missing synchronisation in the shim
# would show up as wrong data here.
for mode in sync async; do
    check "delayed streams $mode" env CUDASIM_DELAY_US=300 sh -c \
        "LD_PRELOAD=$SHIM GQSHIM_RULES=on=host GQSHIM_STATS=json:$TMP/stats.json $RT f16 4 64 0 $MiB $mode pinned quant"
    expect_stat "delayed streams $mode" restores -ge 2
done
finish

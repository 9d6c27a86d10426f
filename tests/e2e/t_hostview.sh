#!/bin/sh
# What a program sees in its host buffers: shim-owned (on=host) and
# program-owned (on=dev, pinned and pageable) offload buffers, every access
# pattern; and the same program without the shim.
. tests/e2e/lib.sh
P=$BUILD/e2e/hostview
for c in read write fwrite recycle sigsegv async memcpy2d attrs; do
    check "$c, no shim" $P $c pinned exact
    check "$c, shim-owned buffer" with_shim "on=host" $P $c pinned quant
    expect_stat "$c, shim-owned buffer" offloads -eq 1
    check "$c, program-owned pinned" with_shim "on=dev,nth=1" $P $c pinned quant
    check "$c, program-owned pageable" with_shim "on=dev,nth=1" $P $c pageable quant
done
# The compressed path really served the copy-back after a CPU read (reads
# leave write tracking clean): without ownership or tracking it would go raw
# and the data checks above would still pass.
for rules in "on=host" "on=dev,nth=1"; do
    for host in pinned pageable; do
        [ "$rules" = on=host ] && [ "$host" = pageable ] && continue
        check "read then restore compressed, $rules $host" with_shim "$rules" $P read $host quant
        expect_stat "read then restore compressed, $rules $host" restores -eq 1
    done
done
check "read, delayed streams" env CUDASIM_DELAY_US=300 sh -c \
    "LD_PRELOAD=$SHIM GQSHIM_RULES=on=host $P async pinned quant"
finish

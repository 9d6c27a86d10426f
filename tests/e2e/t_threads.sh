#!/bin/sh
# gpu-kit: yes (tests/gpu/run.sh runs it on the real CUDA stack)
# Four threads on four streams offload and restore at once, relying on stream
# order alone between the offload and the restore.
. tests/e2e/lib.sh
P=$BUILD/e2e/threads
check "no shim" $P exact
check "shim, on=host" with_shim "on=host,min=256K" $P quant
expect_stat "shim, on=host" offloads -eq 16
expect_stat "shim, on=host" restores -eq 16
check "shim, delayed streams" env CUDASIM_DELAY_US=200 sh -c \
    "LD_PRELOAD=$SHIM GQSHIM_RULES=on=host,min=256K GQSHIM_STATS=json:$TMP/stats.json $P quant"
expect_stat "shim, delayed streams" restores -eq 16
finish

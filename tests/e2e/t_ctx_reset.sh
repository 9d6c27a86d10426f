#!/bin/sh
# cuDevicePrimaryCtxReset between two rounds of offload and restore: the
# shim drops its blocks and kernels of that context first and loads them
# again after, so both rounds are compressed and exact to the codec.
. tests/e2e/lib.sh
P=$BUILD/e2e/drv_ctx_reset
check "without the shim" $P exact
check "under a rule: both rounds" with_shim "on=host,size=1M,name=kv" $P quant
expect_stat "under a rule: two offloads compressed" offloads -eq 2
expect_stat "under a rule: two restores compressed" restores -eq 2
finish

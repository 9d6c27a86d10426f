#!/bin/sh
# The primary context's state ends between two rounds of offload and
# restore: cuDevicePrimaryCtxReset (the shim drops its blocks and kernels of
# that context first and loads them again after), or the program releasing
# its last reference (the shim holds one of its own, so its kernels and
# blocks stay valid). Both rounds are compressed and exact to the codec.
. tests/e2e/lib.sh
P=$BUILD/e2e/drv_ctx_reset
for mode in reset release; do
    check "$mode, without the shim" $P $mode exact
    check "$mode, under a rule: both rounds" with_shim "on=host,size=1M,name=kv" $P $mode quant
    expect_stat "$mode, under a rule: two offloads compressed" offloads -eq 2
    expect_stat "$mode, under a rule: two restores compressed" restores -eq 2
done
# cudasim destroys a primary context with its last reference.
check "release: a destroyed context refuses work until retained" $BUILD/cudasim/prog/ctx_drv
finish

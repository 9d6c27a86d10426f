#!/bin/sh
# Streams are asynchronous and ordered as CUDA documents; run with a delay
# before every stream operation so that any missing synchronisation reads old
# data deterministically.
. tests/cudasim/env.sh
export CUDASIM_DELAY_US=200
expect_exit 0 "stream and event checks (CUDASIM_DELAY_US=200)" sim rt_streams
unset CUDASIM_DELAY_US
expect_exit 0 "per-thread default stream build" sim rt_ptds
if nm -u "$PROGS/rt_ptds" | grep -q 'cudaMemcpyAsync_ptsz' &&
   nm -u "$PROGS/rt_ptds" | grep -q 'cudaMemcpy_ptds'; then
    echo "ok   per-thread build links the _ptsz/_ptds entry points"
else
    echo "FAIL per-thread build links the _ptsz/_ptds entry points"
    failures=$((failures + 1))
fi
finish

#!/bin/sh
# A plain runtime-API program gets exact data under cudasim, with and without
# the shim preloaded; with CUDASIM_DELAY_US and a missing synchronisation it
# gets wrong data (the instrument catches the bug).
. tests/cudasim/env.sh
expect_exit 0 "plain program: exact data" sim rt_plain
expect_exit 0 "plain program with CUDASIM_DELAY_US=200: exact data" \
    env CUDASIM_DELAY_US=200 LD_LIBRARY_PATH="$SIMLIB" "$PROGS/rt_plain"
expect_exit 0 "plain program under LD_PRELOAD=libgqshim.so: exact data" \
    env LD_PRELOAD="${GQ_PRELOAD_PREFIX:-}$BUILD/libgqshim.so" LD_LIBRARY_PATH="$SIMLIB" "$PROGS/rt_plain"
expect_exit 1 "missing synchronisation with CUDASIM_DELAY_US=200: wrong data" \
    env CUDASIM_DELAY_US=200 LD_LIBRARY_PATH="$SIMLIB" "$PROGS/rt_plain" --skip-sync
expect_exit 1 "missing synchronisation under the shim: wrong data" \
    env CUDASIM_DELAY_US=200 LD_PRELOAD="${GQ_PRELOAD_PREFIX:-}$BUILD/libgqshim.so" LD_LIBRARY_PATH="$SIMLIB" \
    "$PROGS/rt_plain" --skip-sync
finish

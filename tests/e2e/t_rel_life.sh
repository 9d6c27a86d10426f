#!/bin/sh
# A program's life around its offloads: CUDA graph capture, fork, exit with
# work in flight, cudaDeviceReset (rel_life), with and without the shim.
. tests/e2e/lib.sh
L=$BUILD/e2e/rel_life
# reason KEY: passed_by_reason[KEY] from the last stats file.
reason() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["passed_by_reason"][sys.argv[2]])' \
        "$TMP/stats.json" "$1" 2>/dev/null || echo missing
}

for t in capture fork exit reset; do
    check "$t, no shim" timeout 120 $L $t exact
done

# Captured copies are recorded, not run, and pass the shim untouched. (A
# shim-owned buffer, on=host, is not page-locked: a captured copy into it is
# refused as for pageable memory — tests/RELIABILITY.md, limits.)
check "capture, on=dev" with_shim "on=dev,size=1M" $L capture quant
n=$(reason CAPTURING)
[ "$n" != missing ] && [ "$n" -ge 1 ] && ok "capture: CAPTURING=$n" || bad "capture: CAPTURING=$n"
expect_stat "capture, on=dev" offloads -eq 1

for rule in on=host,size=1M on=dev,size=1M; do
    # 20 forks while another thread offloads, restores, allocates and frees:
    # no child may hang on a lock (alarm) or get anything but errors from CUDA.
    check "fork, $rule" with_shim "$rule" timeout 120 $L fork quant
    check "fork, $rule, delayed streams" env CUDASIM_DELAY_US=100 LD_PRELOAD="$SHIM" \
        GQSHIM_RULES="$rule" timeout 120 $L fork quant
    # exit() with offloads queued and a thread reading a shim-owned buffer:
    # the at-exit stats are written, nothing hangs or crashes.
    check "exit with work in flight, $rule" env CUDASIM_DELAY_US=2000 LD_PRELOAD="$SHIM" \
        GQSHIM_RULES="$rule" GQSHIM_STATS="json:$TMP/stats.json" timeout 60 $L exit quant
    expect_stat "exit with work in flight, $rule" offloads -ge 1
    # cudaDeviceReset with an offload in flight, three times: every life
    # compresses again (the context's kernels are loaded anew).
    check "reset, $rule" env CUDASIM_DELAY_US=200 LD_PRELOAD="$SHIM" GQSHIM_RULES="$rule" \
        GQSHIM_STATS="json:$TMP/stats.json" timeout 120 $L reset quant
    expect_stat "reset, $rule" offloads -eq 7
    expect_stat "reset, $rule" restores -eq 4
done
finish

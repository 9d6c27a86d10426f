#!/bin/sh
# Exhaustion and driver faults (CUDASIM_FAIL, tests/cudasim/README.md): each
# copy the shim cannot compress goes through as the real copy, exact; the
# stats count it under its reason; the shim says so in one line, once.
. tests/e2e/lib.sh
RT="$BUILD/e2e/roundtrip f16 4 64 0 1048576"
ST=$BUILD/e2e/rel_stress

# reason KEY: passed_by_reason[KEY] from the last stats file.
reason() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["passed_by_reason"][sys.argv[2]])' \
        "$TMP/stats.json" "$1" 2>/dev/null || echo missing
}

# fault NAME CUDASIM_FAIL RULES MODE EXPECT REASON WARNINGS [ENV...]
#   the roundtrip program under the fault must exit 0 with EXPECT data
#   (exact: the fault stopped compression; quant: it struck after), count
#   at least one copy under REASON (or, REASON=compressed, still restore
#   compressed) and print WARNINGS lines of the shim's.
fault() {
    name=$1 fail=$2 rules=$3 mode=$4 expect=$5 why=$6 lines=$7
    shift 7
    rm -f "$TMP/stats.json"
    if env CUDASIM_FAIL="$fail" "$@" LD_PRELOAD="$SHIM" GQSHIM_RULES="$rules" \
        GQSHIM_STATS="json:$TMP/stats.json" $RT "$mode" pinned "$expect" >"$TMP/o" 2>"$TMP/e"; then
        ok "$name: the program's data are $expect"
    else
        bad "$name: the program failed"
        sed 's/^/     | /' "$TMP/o" "$TMP/e" | tail -8
        return
    fi
    if [ "$why" = compressed ]; then
        expect_stat "$name" restores -ge 1
    else
        n=$(reason "$why")
        if [ "$n" != missing ] && [ "$n" -ge 1 ]; then ok "$name: $why=$n"; else
            bad "$name: $why=$n, want >= 1"; fi
    fi
    w=$(grep -c '^gqshim\[[0-9]*\]: warning' "$TMP/e")
    if [ "$w" -eq "$lines" ]; then
        ok "$name: $w warning line(s)"
    else
        bad "$name: $w warning lines, want $lines"
        sed 's/^/     | /' "$TMP/e" | head -5
    fi
}

# --- exhaustion -------------------------------------------------------------
# A budget smaller than one store chunk: nothing fits, every offload exact.
fault "store over GQSHIM_POOL_MAX" "" on=host async exact BUDGET 1 GQSHIM_POOL_MAX=64K
fault "store over GQSHIM_POOL_MAX, on=dev" "" on=dev,nth=1 sync exact BUDGET 1 GQSHIM_POOL_MAX=1K
fault "pinned memory refused" cuMemHostAlloc on=host async exact DRIVER 1
fault "pinned memory not mappable" cuMemHostGetDevicePointer on=dev,nth=1 async exact DRIVER 1
fault "events exhausted" cuEventCreate on=host sync exact LAUNCH 1

# --- kernels ------------------------------------------------------------------
fault "kernel image refused" cuModuleLoadData on=host async exact DRIVER 1
fault "kernel missing from the image" cuModuleGetFunction on=dev,nth=1 async exact DRIVER 1
fault "every launch refused" cuLaunchKernel on=host async exact LAUNCH 1
fault "every launch refused, on=dev" cuLaunchKernel on=dev,nth=1 sync exact LAUNCH 1
# The first launch (the quantize) runs; the restores' dequantize launches are
# refused: they go raw, from the host buffer, which holds the codec's values.
fault "restore launches refused" cuLaunchKernel:2 on=host async quant LAUNCH 1
fault "restore launches refused, on=dev" cuLaunchKernel:2 on=dev,nth=1 async quant LAUNCH 1 \
    CUDASIM_DELAY_US=200

# --- stream ordering ----------------------------------------------------------
fault "offload event not recorded" cuEventRecord on=host async exact LAUNCH 1 CUDASIM_DELAY_US=200
fault "restore event not recorded" cuEventRecord on=dev,nth=1 async quant LAUNCH 1 CUDASIM_DELAY_US=200
fault "restore cannot wait" cuStreamWaitEvent on=dev,nth=1 async quant LAUNCH 1 CUDASIM_DELAY_US=200
# Silent fallbacks: the decode runs on the caller's thread instead of a
# stream callback; nothing is lost, so nothing is said.
fault "stream callback refused" cuLaunchHostFunc on=dev,nth=1 async quant compressed 0 \
    CUDASIM_DELAY_US=200

# --- no driver at all ---------------------------------------------------------
fault "driver does not start" cuInit on=host async exact DRIVER 1

# (2 rounds under a sanitizer, REL_SCALE=small: each call window below is
# still passed through whole, and copies are compressed again after it. The
# budget case below: 16 threads x 2 rounds there, 48 live tensors of about
# 72 KiB compressed, still three times the 1 MiB budget.)
if [ "${REL_SCALE:-}" = small ]; then ROUNDS=2 BT="16 2"; else ROUNDS=4 BT="32 3"; fi
# --- under load: faults that come and go while 8 threads x 3 streams x 2
# devices offload and restore; every tensor comes back whole, exact or
# quantized, never a mix (rel_stress "either").
for spec in "cuLaunchKernel:20-60" "cuEventCreate:30-40" "cuEventRecord:50-90" \
    "cuStreamWaitEvent:10-30" "cuLaunchHostFunc:5-50" "cuMemHostAlloc:2-3"; do
    for rule in on=host,size=256K on=dev,size=256K; do
        check "under load: $spec, $rule" env CUDASIM_FAIL="$spec" CUDASIM_DELAY_US=50 \
            LD_PRELOAD="$SHIM" GQSHIM_RULES="$rule" $ST either 8 $ROUNDS
    done
done
# A budget that holds some tensors and not others.
rm -f "$TMP/stats.json"
check "under load: store budget exhausted midway" env GQSHIM_POOL_MAX=1M LD_PRELOAD="$SHIM" \
    GQSHIM_RULES=on=host,size=256K GQSHIM_STATS="json:$TMP/stats.json" $ST either $BT
n=$(reason BUDGET)
if [ "$n" != missing ] && [ "$n" -ge 1 ] && [ "$(stat offloads)" -ge 1 ]; then
    ok "budget midway: $(stat offloads) offloads compressed, $n over budget"
else
    bad "budget midway: offloads=$(stat offloads) BUDGET=$n (want both >= 1)"
fi

# --- the instrument itself: a setting it cannot honour stops the program ----
for v in bogus cuInit:0 cuInit:5-2 cuInit:x "cuInit,cuInit" ","; do
    env CUDASIM_FAIL="$v" $RT async pinned exact >/dev/null 2>"$TMP/e"
    rc=$?
    if [ $rc -eq 2 ] && grep -q CUDASIM_FAIL "$TMP/e"; then ok "CUDASIM_FAIL='$v': exit 2"; else
        bad "CUDASIM_FAIL='$v': exit $rc"; fi
done
finish

#!/bin/sh
# The shim adds no failing CUDA call to a correct program's API trace.
# compute-sanitizer reports every call that returns an error as the
# program's ("Program hit CUDA_ERROR_INVALID_VALUE ... on CUDA API call to
# cuPointerGetAttribute", 4 of them on an H200 for the first run below, when
# the shim classified pointers with cuPointerGetAttribute), and exits non-zero
# under --error-exitcode; a failing runtime call would also change the
# program's last error (roundtrip checks it is still cudaSuccess at its end).
# CUDASIM_API_ERRORS=log (tests/cudasim/sim_api.c) names each failing call
# as compute-sanitizer does: here every run must name none, and still
# compress.
. tests/e2e/lib.sh
RT=$BUILD/e2e/roundtrip
MiB=1048576

# clean NAME RULES PROG ARGS...: the program passes under the shim with
# GQSHIM_RULES=RULES (none when RULES is -), and no driver or runtime call
# failed.
clean() {
    name=$1 rules=$2
    shift 2
    rm -f "$TMP/stats.json"
    if [ "$rules" = - ]; then
        set -- env -u GQSHIM_RULES "$@"
    else
        set -- env GQSHIM_RULES="$rules" "$@"
    fi
    CUDASIM_API_ERRORS=log LD_PRELOAD=$SHIM GQSHIM_STATS="json:$TMP/stats.json" "$@" \
        >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ $rc -ne 0 ]; then
        bad "$name (exit $rc)"
        tail -20 "$TMP/err" | sed 's/^/     | /'
    elif grep -q '^cudasim: API error' "$TMP/err"; then
        bad "$name: $(grep -c '^cudasim: API error' "$TMP/err") calls failed"
        grep '^cudasim: API error' "$TMP/err" | sort | uniq -c | sed 's/^/     | /'
    else
        ok "$name: no call failed"
    fi
}

# The run compute-sanitizer was given: pinned buffers the shim owns, async.
clean "roundtrip on=host async" on=host,min=64K $RT f16 4 64 0 $MiB async pinned quant
expect_stat "roundtrip on=host async" offloads -eq 1
expect_stat "roundtrip on=host async" restores -ge 2
for mode in sync ptds; do
    clean "roundtrip on=host $mode" on=host,min=64K $RT f16 4 64 0 $MiB $mode pinned quant
    expect_stat "roundtrip on=host $mode" offloads -eq 1
done
# Device tensors offloaded into malloc'd memory (which the driver does not
# know) and into the program's pinned memory.
for host in pageable pinned; do
    clean "roundtrip on=dev $host" on=dev,nth=1 $RT f16 4 64 0 $MiB async $host quant
    expect_stat "roundtrip on=dev $host" offloads -eq 1
    expect_stat "roundtrip on=dev $host" restores -ge 1
done
# cudaMemcpyDefault: the shim tells device from host memory itself.
clean "driver API, cuMemcpyAsync (unified)" on=host \
    $BUILD/e2e/drv_roundtrip link unified_async pinned quant
expect_stat "driver API, cuMemcpyAsync (unified)" offloads -ge 1
# The staged path across layers, segments and the store's growth.
clean "offload_kv" on=host,size=1M,name=kv $BUILD/examples/offload_kv 128
expect_stat "offload_kv" offloads -ge 16
expect_stat "offload_kv" restores -ge 16
# gq_register classifies the memory it is given, malloc'd memory included
# (-EFAULT, with no failing call).
clean "gq_register" - env GQSHIM_BITS=8 GQSHIM_GROUP=32 $BUILD/e2e/optin present
expect_stat "gq_register" offloads -ge 1
finish

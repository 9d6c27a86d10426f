#!/bin/sh
# Misuse returns the error codes of the real runtime; last errors are per
# thread, sticky errors outlive cudaGetLastError. CUDASIM_API_ERRORS names
# every failing call, as compute-sanitizer does on a GPU.
. tests/cudasim/env.sh
expect_exit 0 "misuse checks" sim rt_misuse

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# api_errors NAME WANT MODE PROG CHECK: the check passes with
# CUDASIM_API_ERRORS=MODE and its "cudasim: API error" lines are exactly WANT.
api_errors() {
    name=$1 want=$2 mode=$3
    shift 3
    CUDASIM_API_ERRORS=$mode CUDASIM_TEST_KERNELS=1 sim "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    got=$(grep '^cudasim: API error' "$TMP/err")
    if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then
        echo "ok   $name"
    else
        echo "FAIL $name (exit $rc); API error lines:"
        printf '%s\n' "$got" | sed 's/^/     | /'
        echo "     wanted:"
        printf '%s\n' "$want" | sed 's/^/     | /'
        failures=$((failures + 1))
    fi
}
ERR="cudasim: API error:"
api_errors "API errors: a runtime call, in the runtime's spelling; last-error calls unchecked" \
    "$ERR cudaFree returned cudaErrorInvalidValue (1), called from rt_misuse" \
    log rt_misuse last_error_is_per_thread_and_reset_by_get
api_errors "API errors: cudaErrorNotReady is a status, not an error" "" \
    log rt_misuse stream_query_not_ready_is_not_an_error
api_errors "API errors: a failing driver call; CUDA_ERROR_NOT_READY not reported" \
    "$ERR cuEventDestroy_v2 returned CUDA_ERROR_INVALID_HANDLE (400), called from drv_kernels_drv" \
    log drv_kernels_drv driver_events_order_streams
api_errors "API errors: off by default" "" 0 rt_misuse last_error_is_per_thread_and_reset_by_get
expect_exit 134 "CUDASIM_API_ERRORS=abort aborts at the first failing call" \
    env CUDASIM_API_ERRORS=abort LD_LIBRARY_PATH="$SIMLIB" \
    sh -c '"$1" last_error_is_per_thread_and_reset_by_get 2>/dev/null' sh "$PROGS/rt_misuse"
expect_exit 2 "a bad CUDASIM_API_ERRORS stops the program" env CUDASIM_API_ERRORS=yes \
    LD_LIBRARY_PATH="$SIMLIB" "$PROGS/rt_plain"
finish

# Sourced by the e2e scripts: run unmodified programs on cudasim, with and
# without the shim, and read what the shim reported.
BUILD=${BUILD:-build}
# GQ_PRELOAD_PREFIX: libraries preloaded before the shim, e.g. the ASan
# runtime under `make check-sanitize` ("/path/libasan.so.8:"), which must
# come first in the process's library list.
SHIM=${GQ_PRELOAD_PREFIX:-}$BUILD/libgqshim.so
# E2E_REAL=1 (the GPU kit): the real CUDA stack, no cudasim.
[ "${E2E_REAL:-0}" = 1 ] || export LD_LIBRARY_PATH="$BUILD/cudasim${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
skips=0

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }
# skip NAME WHY: a case not run on this machine, one line (neither ok nor FAIL).
skip() { echo "skip $1 ($2)"; skips=$((skips + 1)); }

# A program exits E2E_SKIP (77) after a line "SKIP: WHY" where it cannot run
# a case here (tests/e2e/e2e.h: fewer devices than the case needs). That is
# a skip on the real CUDA stack only; cudasim shows 2 devices
# (CUDASIM_DEVICES), so there every case must run and a skip is a FAIL.
E2E_SKIP=77

# check NAME COMMAND...: the command must exit 0. Status 0 when the case ran
# (ok or FAIL), E2E_SKIP when it was skipped: `check ... && expect_stat ...`
# reads the stats of a run that happened.
check() {
    name=$1
    shift
    "$@" >"$TMP/out" 2>&1
    check_rc=$?
    if [ "$check_rc" -eq 0 ]; then
        ok "$name"
        return 0
    fi
    check_why=$(sed -n 's/^SKIP: //p' "$TMP/out" | head -1)
    if [ "$check_rc" -eq "$E2E_SKIP" ] && [ -n "$check_why" ]; then
        if [ "${E2E_REAL:-0}" = 1 ]; then
            skip "$name" "$check_why"
            return "$E2E_SKIP"
        fi
        bad "$name (skipped on cudasim, which must run every case: $check_why)"
    else
        bad "$name (exit $check_rc)"
    fi
    sed 's/^/     | /' "$TMP/out" | tail -20
    return 0
}

# with_shim RULES COMMAND...: run under the shim with GQSHIM_RULES and a JSON
# stats file at $TMP/stats.json.
with_shim() {
    rules=$1
    shift
    rm -f "$TMP/stats.json"
    LD_PRELOAD=$SHIM GQSHIM_RULES=$rules GQSHIM_STATS="json:$TMP/stats.json" "$@"
}

# stat KEY: a number from the last stats file (status 1 when it has no KEY).
# One python3 reads each new file's top-level values into $TMP/stats.flat,
# next to a copy of the file they came from; later keys are looked up there.
stat() {
    if ! cmp -s "$TMP/stats.json" "$TMP/stats.flat.json" 2>/dev/null; then
        rm -f "$TMP/stats.flat.json"
        python3 -c 'import json,sys
for k, v in json.load(open(sys.argv[1])).items():
    print("%s=%s" % (k, v))' "$TMP/stats.json" >"$TMP/stats.flat" || return 1
        cp "$TMP/stats.json" "$TMP/stats.flat.json"
    fi
    grep -q "^$1=" "$TMP/stats.flat" || return 1
    sed -n "s/^$1=//p" "$TMP/stats.flat"
}

# expect_jstat NAME KEY.PATH OP VALUE: the same for a nested number
# (passed_by_reason.ESCAPES, kernels.spill.launches).
expect_jstat() {
    v=$(python3 -c 'import json,sys
o = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    o = o[k]
print(o)' "$TMP/stats.json" "$2" 2>/dev/null || echo missing)
    if [ "$v" != missing ] && [ "$v" "$3" "$4" ]; then
        ok "$1: $2=$v"
    else
        bad "$1: $2=$v, want $3 $4"
    fi
}

# expect_stat NAME KEY OP VALUE: compare a stats number (OP: -eq -ge -gt -le).
expect_stat() {
    v=$(stat "$2" 2>/dev/null || echo missing)
    if [ "$v" != missing ] && [ "$v" "$3" "$4" ]; then
        ok "$1: $2=$v"
    else
        bad "$1: $2=$v, want $3 $4"
    fi
}

finish() {
    [ "$skips" -eq 0 ] || echo "$skips case(s) skipped"
    [ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
}

#!/bin/sh
# Runs every test named by the build: cmocka binaries and shell tests.
# Each test's output goes to $BUILD/test-logs/<name>.log; a failing test's log
# tail is printed. Ends with the plain closing line `tests: N passed, N failed`.
#
#   tests/run.sh BUILD "UNIT_BINARIES" "SCRIPTS"
build=$1
units=$2
scripts=$3
logs=$build/test-logs
mkdir -p "$logs"
pass=0
fail=0
failed=""
cases=0

run_one() {
    name=$1
    shift
    log=$logs/$(echo "$name" | tr '/' '_').log
    start=$(date +%s)
    if BUILD=$build timeout 600 "$@" >"$log" 2>&1; then
        n=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
        cases=$((cases + n))
        printf '  PASS  %-44s %3ss%s\n' "$name" $(( $(date +%s) - start )) \
            "$( [ "$n" -gt 0 ] && echo "  ($n cases)")"
        pass=$((pass + 1))
    else
        rc=$?
        printf '  FAIL  %-44s (exit %s, log %s)\n' "$name" "$rc" "$log"
        tail -n 25 "$log" | sed 's/^/        | /'
        fail=$((fail + 1))
        failed="$failed $name"
    fi
}

for t in $units; do
    run_one "$(basename "$t")" "$t"
done
for s in $scripts; do
    run_one "$s" sh "$s"
done

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "cmocka cases passed: $cases"
echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

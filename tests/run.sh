#!/bin/sh
# Runs every test named by the build: cmocka binaries and shell tests.
# Each test's output goes to $BUILD/test-logs/<name>.log; a failing test's log
# tail is printed. Ends with the plain closing line `tests: N passed, N failed`.
#
#   tests/run.sh BUILD "UNIT_BINARIES" "SCRIPTS"
#
# JOBS tests run at once (default: the number of CPUs). Each test has a
# TMPDIR of its own, removed after it. The result lines come in the order the
# tests are named, whatever order they finish in, each with the test's wall
# time and the CPU time (user+sys) of everything it ran. The longest tests of
# the last run (its times are kept in $BUILD/test-logs/times) start first.
build=$1
units=$2
scripts=$3
jobs=${JOBS:-$(nproc 2>/dev/null || echo 1)}
logs=$build/test-logs
mkdir -p "$logs"
work=$(mktemp -d "${TMPDIR:-/tmp}/gq-run.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
# Searchable by all, as /tmp is: tests that drop privileges write under it.
chmod 711 "$work"
trap 'exit 130' INT TERM

# The test list: "index kind name" per line (kind: unit or script).
i=0
for t in $units; do i=$((i + 1)); echo "$i unit $t"; done >"$work/list"
for s in $scripts; do i=$((i + 1)); echo "$i script $s"; done >>"$work/list"
total=$i

# Start order: longest first by the last run's wall times, else by
# tests/times.seed (a fresh build has no times: without it the longest tests
# of the list's end started last), unknown tests first (they may be long),
# then the rest in list order. The seed names unit tests by file name.
touch "$logs/times"
awk 'FILENAME == ARGV[1] { if ($1 !~ /^#/) s[$1] = $2; next }
     FILENAME == ARGV[2] { t[$1] = $2; next }
     { u = $3; sub(/.*\/tests\/unit\//, "", u)
       print (($3 in t) ? t[$3] : ($3 in s) ? s[$3] : (u in s) ? s[u] : 1e9), $1 }' \
    "$(dirname "$0")/times.seed" "$logs/times" "$work/list" 2>/dev/null | sort -s -k1,1gr |
    cut -d' ' -f2 >"$work/order" || cut -d' ' -f1 "$work/list" >"$work/order"
[ -s "$work/order" ] || cut -d' ' -f1 "$work/list" >"$work/order"

# cpu_ms FILE: the CPU time (user+sys, ms) of a shell's waited-for children,
# from the second line of what the `times` builtin wrote to FILE
# ("0m1.5s 0m0.25s"). `times` itself must run in that shell, not in a $(...).
cpu_ms() {
    sed -n '2s/[ms]/ /gp' "$1" | awk '{ printf "%d\n", ($1 * 60 + $2 + $3 * 60 + $4) * 1000 }'
}

# run_one INDEX KIND NAME: runs one test in a subshell of its own; writes
# "status wall_ms cpu_ms cases" to $work/res.INDEX, then its index to the fifo.
run_one() {
    idx=$1 kind=$2 name=$3
    log=$logs/$(echo "$name" | tr '/' '_').log
    tmp=$work/tmp.$idx
    mkdir -p "$tmp"
    times >"$tmp.t0"
    t0=$(date +%s%N)
    if [ "$kind" = unit ]; then
        set -- "$name"
    else
        set -- sh "$name"
    fi
    TMPDIR=$tmp BUILD=$build timeout 600 "$@" </dev/null >"$log" 2>&1 3>&-
    rc=$?
    times >"$tmp.t1"
    t1=$(date +%s%N)
    c0=$(cpu_ms "$tmp.t0")
    c1=$(cpu_ms "$tmp.t1")
    n=0
    [ $rc -eq 0 ] &&
        n=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    # Renamed into place: the reporting loop may look at it while a test
    # that finished earlier is reported, and must never see it half written.
    echo "$rc $(((t1 - t0) / 1000000)) $((c1 - c0)) $n" >"$work/res.$idx.part"
    mv "$work/res.$idx.part" "$work/res.$idx"
    rm -rf "$tmp"
}

mkfifo "$work/done" || exit 1
exec 3<>"$work/done"

pass=0
fail=0
failed=""
cases=0
next=1      # the next result line to print
: >"$work/times.new"

# report: prints every finished result from $next on, in list order.
report() {
    while [ $next -le $total ] && [ -f "$work/res.$next" ]; do
        read -r rc wall cpu n <"$work/res.$next"
        name=$(sed -n "${next}s/^[0-9]* [a-z]* //p" "$work/list")
        shown=$name
        case $name in */tests/unit/*) shown=${name##*/} ;; esac
        secs=$(awk -v w="$wall" -v c="$cpu" 'BEGIN { printf "%5.1fs  cpu %5.1fs", w / 1000, c / 1000 }')
        echo "$name $wall" >>"$work/times.new"
        if [ "$rc" -eq 0 ]; then
            printf '  PASS  %-44s %s%s\n' "$shown" "$secs" "$( [ "$n" -gt 0 ] && echo "  ($n cases)")"
            pass=$((pass + 1))
            cases=$((cases + n))
        else
            log=$logs/$(echo "$name" | tr '/' '_').log
            printf '  FAIL  %-44s %s  (exit %s, log %s)\n' "$shown" "$secs" "$rc" "$log"
            tail -n 25 "$log" | sed 's/^/        | /'
            fail=$((fail + 1))
            failed="$failed $shown"
        fi
        next=$((next + 1))
    done
}

echo "running $total tests, $jobs at a time, longest first; results in list order"
running=0
while read -r idx; do
    if [ $running -ge "$jobs" ]; then
        read -r _ <&3
        running=$((running - 1))
        report
    fi
    set -- $(sed -n "${idx}p" "$work/list")
    (run_one "$1" "$2" "$3"; echo "$1" >&3) </dev/null &
    running=$((running + 1))
done <"$work/order"
while [ $running -gt 0 ]; do
    read -r _ <&3
    running=$((running - 1))
    report
done
wait
# This run's times, and the last known ones of the tests it did not run.
touch "$logs/times"
awk 'NR == FNR { seen[$1] = 1; print; next } !($1 in seen)' "$work/times.new" "$logs/times" \
    >"$work/times.all" && mv "$work/times.all" "$logs/times"

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "cmocka cases passed: $cases"
echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

# Sourced by tests/cudasim/t_*.sh: runs cudasim's test programs against the
# simulated stack (never the real one) and reports each step.
#
#   sim PROG [ARGS...]     run build/cudasim/prog/PROG under cudasim
#   expect_exit N DESC CMD  run CMD, fail the script unless it exits with N
set -u
BUILD=${BUILD:-build}
SIMLIB=$BUILD/cudasim
PROGS=$BUILD/cudasim/prog
failures=0

[ -f "$SIMLIB/libcudart.so.13" ] && [ -f "$SIMLIB/libcuda.so.1" ] ||
    { echo "cudasim libraries missing under $SIMLIB (run make)"; exit 1; }

sim() {
    prog=$1
    shift
    LD_LIBRARY_PATH=$SIMLIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$PROGS/$prog" "$@"
}

expect_exit() {
    want=$1
    desc=$2
    shift 2
    "$@"
    got=$?
    if [ "$got" -eq "$want" ]; then
        echo "ok   $desc"
    else
        echo "FAIL $desc (exit $got, expected $want)"
        failures=$((failures + 1))
    fi
}

finish() {
    [ "$failures" -eq 0 ] && echo "all passed" || echo "$failures failed"
    [ "$failures" -eq 0 ]
}

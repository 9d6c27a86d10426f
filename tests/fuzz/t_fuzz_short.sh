#!/bin/sh
# A short round of every fuzz target (4 s each; FUZZ_DEEP=1: 10 s each;
# FUZZ_SHORT_SECONDS to set it), as part of `make test`; `make fuzz` runs them
# longer, on a kept corpus. Skips, saying so, only when clang's libFuzzer
# runtime is not installed (then fuzz.mk built no target).
build=${BUILD:-build}
if [ "${FUZZ_DEEP:-0}" = 1 ]; then secs=10; else secs=4; fi
secs=${FUZZ_SHORT_SECONDS:-$secs}
clang=${CLANG:-clang}
rt="$($clang -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-x86_64.a"
if [ ! -f "$rt" ]; then
    echo "SKIP: clang's libFuzzer runtime not found ($rt): no fuzz target built"
    exit 0
fi
found=0
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    bin=$build/fuzz/$name
    if [ ! -x "$bin" ]; then
        echo "FAIL: $bin was not built (run make)"
        exit 1
    fi
    found=1
    corpus=$(mktemp -d)
    echo "$name: ${secs} s"
    if ! "$bin" -max_total_time="$secs" -max_len=4096 -seed=1 -artifact_prefix="$build/fuzz/" \
            "$corpus" >"$corpus.log" 2>&1; then
        tail -n 40 "$corpus.log"
        echo "(crash input kept under $build/fuzz/)"
        rm -rf "$corpus" "$corpus.log"
        exit 1
    fi
    grep -E '^Done|stat::number_of_executed_units' "$corpus.log" | tail -n 2
    rm -rf "$corpus" "$corpus.log"
done
[ "$found" = 1 ] || { echo "FAIL: no fuzz target found"; exit 1; }

#!/bin/sh
# make check-sanitize: the suites again, with everything (shim, cudasim,
# codec, the tests' programs) built under sanitizers in build folders of
# their own.
#
#   1. AddressSanitizer + UBSan ($ASAN_BUILD, default build-asan): every unit
#      test and the cudasim and e2e scripts. Where the shim is preloaded, the
#      ASan runtime is preloaded before it (GQ_PRELOAD_PREFIX, tests/e2e/lib.sh).
#   2. ThreadSanitizer ($TSAN_BUILD, default build-tsan): the concurrent e2e
#      tests (threads x streams x devices, forks under load, faults under load).
#
# Left out of the ASan run, each for a reason of its own:
#   tests/e2e/t_gqrun.sh, tests/t_install.sh  gqrun puts the shim first in
#       LD_PRELOAD, where the sanitizer runtime must be
#   tests/gpu/t_gpu_kit_builds.sh  the GPU kit links uninstrumented objects,
#       the runtime last; it is a build check of the real-GPU kit
#   tests/fuzz/t_fuzz_short.sh  the fuzz targets are ASan+UBSan builds already
#   tests/t_readme.sh  documentation
# Leak detection is off: cudasim and the test programs keep their CUDA
# objects until exit, as CUDA programs do.
# ThreadSanitizer's exit wait (atexit_sleep_ms, default 1000: the main thread
# sleeps at exit while other threads still run, for reports of races at exit)
# is 100 ms: every sanitized program is started a few hundred times, and a
# thread still running at exit gets 100 ms to race and report; 1 s each was
# about 200 s of the TSan suites' wall time, with the CPU idle.
set -u
jobs=${JOBS:-$(nproc)}
cc=${CC:-gcc}
asan_build=${ASAN_BUILD:-build-asan}
tsan_build=${TSAN_BUILD:-build-tsan}
asan_flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
tsan_flags="-fsanitize=thread"
libasan=$($cc -print-file-name=libasan.so)
libtsan=$($cc -print-file-name=libtsan.so)
[ -f "$libasan" ] && [ -f "$libtsan" ] || {
    echo "check-sanitize: $cc has no libasan.so / libtsan.so (apt-get install libasan8 libtsan2)"
    exit 1
}
# The kernels' fatbin does not depend on the sanitizer flags: nvcc builds it
# once, in the plain build folder ($BUILD, default build), for all three.
fatbin=${BUILD:-build}/kernels/gq_kernels.fatbin
start=$(date +%s)
fail=0

# Both builds first; then the TSan suites run alongside the ASan ones, each
# JOBS at a time, and their results are printed after them. (TSan one at a
# time left a CPU idle for its last minute or two: the ASan suites, with two
# thirds of the CPUs, ended well before it.)
t=$tsan_build
make -s -j"$jobs" BUILD="$asan_build" SANFLAGS="$asan_flags" GQ_FATBIN="$fatbin" sanitize-progs || exit 1
make -s -j"$jobs" BUILD="$t" SANFLAGS="$tsan_flags" GQ_FATBIN="$fatbin" "$t/libgqshim.so" "$t/cudasim/libcuda.so.1" \
    "$t/cudasim/libcudart.so.13" "$t/cudasim/libcuda.so" "$t/cudasim/libcudart.so" \
    "$t/e2e/rel_stress" "$t/e2e/threads" "$t/e2e/rel_life" "$t/e2e/roundtrip" "$t/e2e/spans" "$t/gqrun" \
    "$t/tests/unit/test_pool" || exit 1
echo "built in $(( $(date +%s) - start )) s"

mkdir -p "$t/test-logs"
tsan_out=$t/test-logs/run.txt
rm -f "$tsan_out.rc"
(
    GQ_PRELOAD_PREFIX="$libtsan:" REL_SCALE=small TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:atexit_sleep_ms=100" \
        JOBS=$jobs sh tests/run.sh "$t" "$t/tests/unit/test_pool" \
        "tests/e2e/t_threads.sh tests/e2e/t_rel_concurrency.sh tests/e2e/t_rel_life.sh tests/e2e/t_rel_faults.sh tests/e2e/t_spans.sh" \
        >"$tsan_out" 2>&1
    echo $? >"$tsan_out.rc"
) &
tsan=$!

echo "== AddressSanitizer + UndefinedBehaviorSanitizer ($asan_build)"
units=$(for u in tests/unit/test_*.c; do n=${u##*/}; echo "$asan_build/tests/unit/${n%.c}"; done)
scripts=$(ls tests/cudasim/t_*.sh tests/e2e/t_*.sh | grep -v -e '/t_gqrun.sh$')
GQ_PRELOAD_PREFIX="$libasan:" REL_SCALE=small \
    ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    sh tests/run.sh "$asan_build" "$units" "$scripts" || fail=1

wait $tsan
echo "== ThreadSanitizer ($tsan_build)"
cat "$tsan_out"
[ "$(cat "$tsan_out.rc" 2>/dev/null)" = 0 ] || fail=1

echo "check-sanitize: $(( $(date +%s) - start )) s, $([ $fail -eq 0 ] && echo passed || echo FAILED)"
exit $fail

#!/bin/sh
# The GPU kit stays ready for the day a GPU is at hand: run.sh and the
# PyTorch script parse, the kit's programs are built (by `make`, which this
# test runs after) and linked as the kit needs them, and run.sh on a machine
# without a GPU says so and exits 0. Where cudasim is built, the programs also
# run on it, small: a self-test of their logic, not a proof of the GPU.
# The e2e helpers (ok, bad, check, finish, $TMP), without cudasim on the
# library path: the programs below name it where they want it.
E2E_REAL=1 . tests/e2e/lib.sh
G=$BUILD/gpu

check "run.sh parses" bash -n tests/gpu/run.sh
check "torch_offload.py parses" python3 -c \
    'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' tests/gpu/torch_offload.py

for p in gpu_codec_check gpu_transfer_bench static_rt; do
    check "$p is built" test -x "$G/$p"
done
needed() { readelf -d "$1" 2>/dev/null | grep NEEDED; }
if needed "$G/gpu_codec_check" | grep -q 'libcuda\.so\.1'; then
    ok "gpu_codec_check links the driver (libcuda.so.1)"
else
    bad "gpu_codec_check does not link libcuda.so.1"
fi
if needed "$G/static_rt" | grep -q libcudart; then
    bad "static_rt links libcudart dynamically: it must carry the runtime statically"
else
    ok "static_rt carries the CUDA runtime statically"
fi

# No GPU: an nvidia-smi that fails stands for the missing driver, so this
# holds on a GPU machine too (where run.sh would otherwise run the whole kit).
mkdir -p "$TMP/bin" "$TMP/out-dir"
printf '#!/bin/sh\necho "NVIDIA-SMI has failed" >&2\nexit 9\n' >"$TMP/bin/nvidia-smi"
chmod +x "$TMP/bin/nvidia-smi"
if PATH="$TMP/bin:$PATH" OUT="$TMP/out-dir" bash tests/gpu/run.sh >"$TMP/nogpu" 2>&1; then
    if grep -q 'no GPU is present' "$TMP/nogpu" && grep -q 'no GPU is present' "$TMP/out-dir/gpu-report.txt"; then
        ok "run.sh without a GPU: exit 0, says no GPU is present (stdout and report)"
    else
        bad "run.sh without a GPU: exit 0 but no plain 'no GPU is present' in stdout and report"
        sed 's/^/     | /' "$TMP/nogpu" | tail -10
    fi
else
    bad "run.sh without a GPU exited $?"
    sed 's/^/     | /' "$TMP/nogpu" | tail -10
fi

# The programs' own logic, on cudasim (the kernels run there from the same source).
if [ -f "$BUILD/cudasim/libcuda.so.1" ] && [ -f "$BUILD/libgqshim.so" ]; then
    SIM=$BUILD/cudasim
    check "gpu_codec_check on cudasim (--quick)" env LD_LIBRARY_PATH="$SIM" "$G/gpu_codec_check" --quick --bw-mib 4
    grep -q 'codec_failures=0' "$TMP/out" || bad "gpu_codec_check printed no codec_failures=0"
    grep -q 'quant_over_d2d_bw=' "$TMP/out" || bad "gpu_codec_check printed no quant_over_d2d_bw="
    check "gpu_transfer_bench on cudasim: exact" env LD_LIBRARY_PATH="$SIM" "$G/gpu_transfer_bench" --mib 2,4 --reps 1
    grep -q 'check mib=4 exact=1' "$TMP/out" || bad "gpu_transfer_bench without the shim is not exact"
    check "gpu_transfer_bench on cudasim under the shim: within the bound" env LD_LIBRARY_PATH="$SIM" LD_PRELOAD="$BUILD/libgqshim.so" \
        GQSHIM_RULES='on=host,min=1M' GQSHIM_STATS="json:$TMP/stats.json" "$G/gpu_transfer_bench" --mib 2,4 --reps 1
    grep -q 'check mib=4 exact=0 outside_bound=0' "$TMP/out" ||
        bad "gpu_transfer_bench under the shim: not compressed or outside the bound"
    # The kit itself, through to its summary, on a short budget: the later
    # steps are reported as not run, which is plumbing too. (20 s: the build,
    # codec and bench steps, at the sizes above, and the first e2e scripts;
    # those scripts are in this suite already.)
    if GPU_KIT_ON_CUDASIM=1 GPU_KIT_BUDGET_S=20 BUILD="$BUILD" OUT="$TMP/sim-kit" \
        bash tests/gpu/run.sh >"$TMP/simkit" 2>&1 || [ $? -eq 1 ]; then
        r=$TMP/sim-kit/gpu-report.txt
        # Exit 1 is for the steps the budget cuts off; the build, codec and
        # bench steps run whole and must pass.
        for want in '== 0. environment' 'userfaultfd: ' '== 1. device' '== summary' \
            '  build        ok' '  codec        ok .*, 0 failed' '  bench        ok'; do
            grep -q -- "$want" "$r" && ok "kit dry run on cudasim: report has '$want'" ||
                bad "kit dry run on cudasim: no '$want' in the report"
        done
    else
        bad "kit dry run on cudasim exited $?"
        sed 's/^/     | /' "$TMP/simkit" | tail -10
    fi
else
    echo "skip the cudasim runs: $BUILD/cudasim or $BUILD/libgqshim.so is not built"
fi

finish

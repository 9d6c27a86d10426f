#!/bin/sh
# Programs the runtime hooks cannot see: written against the driver API
# (linked, through cuGetProcAddress, through dlopen + dlsym), and a runtime
# that reaches the driver through cuGetProcAddress as the real one does
# (dynamic: each copy must be decided once; static: only the driver hooks see
# it). Offloads are compressed and restored, checked against the codec.
. tests/e2e/lib.sh
DRT=$BUILD/e2e/drv_roundtrip
PROBE=$BUILD/e2e/drv_probe
RTDRV=$BUILD/e2e/rtdrv
RT=$BUILD/e2e/roundtrip
SRT=$BUILD/e2e/static_roundtrip
MiB=1048576

# --- lookups: which library answers -------------------------------------
# cudasim answers every version with the current symbol; the shim must hand
# out its hook exactly where the requested version selects the hook's ABI.
cat >"$TMP/probe.want" <<'EOF'
procaddr cuMemAlloc 13000 default -> libgqshim.so cuMemAlloc_v2
procaddr cuMemAlloc 3020 default -> libgqshim.so cuMemAlloc_v2
procaddr cuMemAlloc 2000 default -> libcuda.so.1 cuMemAlloc_v2
procaddr cuMemcpyHtoD 13000 ptds -> libgqshim.so cuMemcpyHtoD_v2_ptds
procaddr cuMemcpyHtoD 13000 legacy -> libgqshim.so cuMemcpyHtoD_v2
procaddr cuMemcpyDtoHAsync 13000 ptds -> libgqshim.so cuMemcpyDtoHAsync_v2_ptsz
procaddr cuMemcpyAsync 13000 default -> libgqshim.so cuMemcpyAsync
procaddr cuMemHostRegister 6050 default -> libgqshim.so cuMemHostRegister_v2
procaddr cuMemHostRegister 4000 default -> libcuda.so.1 cuMemHostRegister_v2
procaddr cuMemFreeHost 13000 default -> libgqshim.so cuMemFreeHost
procaddr cuMemsetD8 13000 default -> libcuda.so.1 cuMemsetD8_v2
procaddr cuGetProcAddress 13000 default -> libgqshim.so cuGetProcAddress_v2
procaddr cuNoSuchSymbol 13000 default -> error CUDA_ERROR_NOT_FOUND
dlsym libcuda cuMemAlloc_v2 -> libgqshim.so cuMemAlloc_v2
dlsym libcuda cuMemcpyDtoHAsync_v2_ptsz -> libgqshim.so cuMemcpyDtoHAsync_v2_ptsz
dlsym libcuda cuGetProcAddress_v2 -> libgqshim.so cuGetProcAddress_v2
dlsym libcuda cuMemsetD8_v2 -> libcuda.so.1 cuMemsetD8_v2
dlsym libcuda cuMemAllocAsync -> none
dlsym next cuMemAlloc_v2 -> libgqshim.so cuMemAlloc_v2
dlsym default cuMemAlloc_v2 -> libgqshim.so cuMemAlloc_v2
dlsym next malloc -> libc.so.6 malloc
dlsym libm cos -> libm.so.6 ?
EOF
# Without the shim every driver lookup is libcuda's own.
sed -e 's/-> libgqshim.so /-> libcuda.so.1 /' "$TMP/probe.want" >"$TMP/probe.plain"
# Under a sanitizer (make check-sanitize) malloc is the sanitizer runtime's:
# linked by its soname without the shim, preloaded by its path with it.
if [ -n "${GQ_PRELOAD_PREFIX:-}" ]; then
    san=${GQ_PRELOAD_PREFIX%:}
    soname=$(objdump -p "$san" | awk '/SONAME/ {print $2}')
    sed -i "s/^dlsym next malloc -> libc.so.6 /dlsym next malloc -> $soname /" "$TMP/probe.plain"
    sed -i "s/^dlsym next malloc -> libc.so.6 /dlsym next malloc -> ${san##*/} /" "$TMP/probe.want"
fi

same_lines() { # NAME WANT COMMAND...
    name=$1 want=$2
    shift 2
    if "$@" >"$TMP/probe.got" 2>&1 && diff "$want" "$TMP/probe.got" >"$TMP/probe.diff"; then
        ok "$name"
    else
        bad "$name"
        sed 's/^/     | /' "$TMP/probe.diff" "$TMP/probe.got" | head -30
    fi
}
same_lines "lookups without the shim are libcuda's" "$TMP/probe.plain" $PROBE
same_lines "lookups under the shim: hooks for our ABIs only, callers kept" "$TMP/probe.want" \
    env LD_PRELOAD=$SHIM $PROBE

# --- a driver-API program -----------------------------------------------
check "driver program, no shim: exact" $DRT link sync pinned exact
check "driver program, shim without rules: exact" env LD_PRELOAD=$SHIM $DRT dlsym async pinned exact

for resolve in link procaddr dlsym; do
    for mode in sync async ptds unified unified_async; do
        name="driver $resolve $mode on=host"
        check "$name" with_shim "on=host" $DRT $resolve $mode pinned quant
        expect_stat "$name" copies -eq 8
        expect_stat "$name" offloads -eq 1
        expect_stat "$name" restores -eq 2
    done
done

# on=dev: the first cuMemAlloc is the tensor, whatever host memory receives it.
for host in pinned hostalloc registered pageable; do
    check "driver on=dev into $host" with_shim "on=dev,nth=1" $DRT procaddr async $host quant
    expect_stat "driver on=dev into $host" offloads -eq 1
    expect_stat "driver on=dev into $host" restores -eq 2
done
check "driver on=host via cuMemHostAlloc" with_shim "on=host" $DRT dlsym sync hostalloc quant
expect_stat "driver on=host via cuMemHostAlloc" offloads -eq 1
# Registered malloc memory is not a pinned allocation a rule can take.
check "driver on=host, registered memory: exact" with_shim "on=host" $DRT link async registered exact
expect_stat "driver on=host, registered memory" offloads -eq 0
check "driver, unmatched rule: exact" with_shim "on=host,min=1G" $DRT procaddr sync pinned exact
expect_stat "driver, unmatched rule" offloads -eq 0

for mode in async ptds unified_async; do
    check "driver delayed streams $mode" env CUDASIM_DELAY_US=300 sh -c \
        "LD_PRELOAD=$SHIM GQSHIM_RULES=on=host GQSHIM_STATS=json:$TMP/stats.json $DRT procaddr $mode pinned quant"
    expect_stat "driver delayed streams $mode" restores -eq 2
done

# --- a runtime that calls the driver through cuGetProcAddress -----------
VIA="env LD_LIBRARY_PATH=$RTDRV:$LD_LIBRARY_PATH"
# The premise: under the shim, that runtime's copies reach our driver hooks.
$VIA LD_PRELOAD=$SHIM CUDART_VIA_DRIVER_REPORT=1 $RT f16 4 64 0 $MiB sync pinned exact \
    >"$TMP/via.out" 2>&1
if grep -q "cuMemcpyDtoHAsync -> libgqshim.so" "$TMP/via.out" &&
    grep -q "cuMemAlloc -> libgqshim.so" "$TMP/via.out"; then
    ok "runtime via cuGetProcAddress gets the driver hooks"
else
    bad "runtime via cuGetProcAddress gets the driver hooks"
    sed 's/^/     | /' "$TMP/via.out" | tail -20
fi

# Dynamic: the runtime hooks decide; the driver hooks under them pass through.
# Without that, pass-through copies count twice (13 instead of 8).
for mode in sync async ptds; do
    name="dynamic runtime via driver $mode"
    check "$name" with_shim "on=host" $VIA $RT f16 4 64 0 $MiB $mode pinned quant
    expect_stat "$name" copies -eq 8
    expect_stat "$name" offloads -eq 1
    expect_stat "$name" restores -eq 2
done
check "dynamic runtime via driver on=dev" with_shim "on=dev,nth=1" $VIA $RT f16 4 64 0 $MiB async pageable quant
expect_stat "dynamic runtime via driver on=dev" copies -eq 8
expect_stat "dynamic runtime via driver on=dev" offloads -eq 1
# Each allocation registered once: a rule taking every device allocation
# logs three (d_a, d_b, d_c), not six. (The program's own exact check fails
# here by design: every device buffer is a tensor.)
LD_PRELOAD=$SHIM GQSHIM_RULES=on=dev GQSHIM_LOG=debug $VIA $RT f16 4 64 0 $MiB sync pageable exact \
    >"$TMP/reg.out" 2>&1
n=$(grep -c "takes dev allocation" "$TMP/reg.out")
if [ "$n" -eq 3 ]; then ok "dynamic runtime via driver: 3 allocations registered once each"; else
    bad "dynamic runtime via driver: $n registrations, want 3"; fi

# Static: the program's own cudaMemcpy is not interposed; the driver hooks
# it got from cuGetProcAddress do the work, once.
check "static runtime, no shim: exact" $SRT f16 4 64 0 $MiB async pinned exact
check "static runtime, shim without rules: exact" env LD_PRELOAD=$SHIM $SRT f16 4 64 0 $MiB sync pinned exact
for mode in sync async ptds; do
    name="static runtime $mode"
    check "$name" with_shim "on=host" $SRT f16 4 64 0 $MiB $mode pinned quant
    expect_stat "$name" copies -eq 8
    expect_stat "$name" offloads -eq 1
    expect_stat "$name" restores -eq 2
done
check "static runtime on=dev pageable" with_shim "on=dev,nth=1" $SRT f16 4 64 0 $MiB async pageable quant
expect_stat "static runtime on=dev pageable" offloads -eq 1
finish

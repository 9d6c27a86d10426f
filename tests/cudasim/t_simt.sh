#!/bin/sh
# The SIMT executor through the driver API: shared memory and barriers, misuse
# failing the launch (a line on stderr names the kernel and the thread), and
# CUDASIM_PROFILE's counts and modelled times for cases whose answers are
# known (tests/cudasim/prog/drv_simt_drv.c lists them).
. tests/cudasim/env.sh
export CUDASIM_TEST_KERNELS=1
expect_exit 0 "shared memory, barriers and misuse" sim drv_simt_drv
sim drv_simt_drv child_bad_barrier 2>"$SIMLIB/t_simt.err" >/dev/null
expect_exit 0 "the misuse message names the kernel and the thread" grep -q \
    "launch failed: kernel cudasim_test_bad_barrier, block (0,0,0), thread (.*): __syncthreads not reached by thread (40,0,0), which returned" \
    "$SIMLIB/t_simt.err"
json=$SIMLIB/t_simt_profile.json
rm -f "$json"
expect_exit 0 "profiled run" env CUDASIM_PROFILE="json:$json" \
    LD_LIBRARY_PATH="$SIMLIB" "$PROGS/drv_simt_drv" child_profile
check_profile() {
    python3 - "$json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r = {x["range"]: x for x in j["ranges"]}
def k(n):
    return [x for x in r[n]["kernels"] if x["name"] == "cudasim_test_strided"][0]
fails = []
def want(what, got, exp, tol=0.0):
    ok = abs(got - exp) <= tol * abs(exp)
    print(("ok   " if ok else "FAIL ") + "%s: %s (expected %s)" % (what, got, exp))
    if not ok:
        fails.append(what)
st = k(1)["device_store"]
want("contiguous 4-byte stores: sectors", st["sectors"], 4)
want("contiguous 4-byte stores: lines", st["lines"], 1)
want("contiguous 4-byte stores: efficiency", k(1)["store_sector_efficiency"], 1.0)
st = k(2)["device_store"]
want("128-byte stride: sectors", st["sectors"], 32)
want("128-byte stride: lines", st["lines"], 32)
want("128-byte stride: efficiency", k(2)["store_sector_efficiency"], 0.125)
want("mapped stores: PCIe transactions", k(3)["pcie_transactions"], 2)
want("mapped stores: PCIe bytes", k(3)["pcie_bytes"], 256)
want("mapped stores: no device sectors", k(3)["dram_bytes"], 0)
copy_ns = (32 << 20) / j["model"]["pcie_bytes_per_s"] * 1e9 + j["model"]["dma_latency_ns"]
want("copies on two streams overlap", r[4]["modelled_ns"], copy_ns, 0.01)
want("copies on one stream add up", r[5]["modelled_ns"], 2 * copy_ns, 0.01)
want("DMA bytes per direction", r[4]["dma_h2d_bytes"] + r[4]["dma_d2h_bytes"], 2 * (32 << 20))
sys.exit(1 if fails else 0)
PY
}
expect_exit 0 "profile numbers" check_profile
expect_exit 2 "a bad CUDASIM_PROFILE stops the program" env CUDASIM_PROFILE=yes \
    LD_LIBRARY_PATH="$SIMLIB" "$PROGS/drv_simt_drv" child_ok_barrier
finish

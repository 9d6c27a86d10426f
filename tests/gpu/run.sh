#!/bin/bash
# tests/gpu/run.sh — gqshim's proof on real hardware, in one go (README.md here).
#
#   OUT=/tmp/out bash tests/gpu/run.sh
#
# Writes the report to $OUT/gpu-report.txt (./gpu-report.txt when OUT is
# unset) and echoes it; the whole output of every step goes to
# gpu-full-log.txt beside it. Steps, most telling first: 0 the environment
# (kernel, sandbox, userfaultfd, write tracking: what the shim can do here),
# 1 build what the GPU run needs (not the unit tests, not cudasim), 2 codec
# agreement and kernel bandwidth, 3 the transfer A/B: plain copies, the
# staged path, the zero-copy path (64 MiB and 1 GiB, both directions, both
# axes) + compute-sanitizer, 4 PyTorch / transformers under LD_PRELOAD and a
# CUPTI timeline of one staged copy each way (timeline.py), 5 a
# statically linked runtime, 6 the example and the e2e scripts that mean
# something on real CUDA (marked `# gpu-kit: yes`; never those that rely on
# cudasim's knobs or answers; a case that needs two devices is skipped where
# the runtime shows one), 7 the host mode (gqrun --check) and how the driver
# maps pinned memory, 8 reading an offloaded shim-owned buffer on the host's
# CPUs (bench_hostmem's children), 9 the codec kernels under ncu. Each step
# runs under `timeout`, cut to what is left of GPU_KIT_BUDGET_S (default
# 300 s including the build: the kit ends within 5 minutes, room for a rerun
# in a 15-minute lease). Without a GPU it says so and exits 0 at once. Exit 1
# when a step failed.
#
# GPU_KIT_ON_CUDASIM=1 runs the same steps on cudasim, small, where there is
# no GPU: a check of this script's plumbing that proves nothing about a GPU.
set -u

out_dir=${OUT:-$PWD}
mkdir -p "$out_dir" && out_dir=$(cd "$out_dir" && pwd) || exit 2
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
REPORT=$out_dir/gpu-report.txt
FULL=$out_dir/gpu-full-log.txt
: >"$REPORT"
: >"$FULL"

say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
# show FILE [ERE]: the file's lines (those matching ERE), indented, into the report.
show() { { if [ $# -gt 1 ]; then grep -E -- "$2" "$1"; else cat "$1"; fi; } 2>/dev/null | head -60 |
    sed 's/^/    /' | tee -a "$REPORT"; }

say "gqshim GPU kit: $(date -u '+%Y-%m-%d %H:%M UTC'), host $(uname -n)"
SIM=${GPU_KIT_ON_CUDASIM:-0}
if [ "$SIM" != 1 ] && { ! nvidia-smi -L >/dev/null 2>&1 || ! ls /dev/nvidia* >/dev/null 2>&1; }; then
    say "no GPU is present here (nvidia-smi -L failed or there is no /dev/nvidia*): nothing was run."
    say "Run the kit on a machine with an NVIDIA GPU (tests/gpu/README.md)."
    exit 0
fi

CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
B=$ROOT/${BUILD:-build}
SHIM=$B/libgqshim.so
BUDGET=${GPU_KIT_BUDGET_S:-300}
T0=$(date +%s)
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
# C programs find the toolkit's libcudart.so.13 first; PyTorch keeps its own.
RTLIB=$CUDA_HOME/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
CODEC_ARGS=(--bw-mib 1024)
BENCH_ARGS=(--mib "64,1024" --reps 3)
JOBS=16
if [ "$SIM" = 1 ]; then
    say "GPU_KIT_ON_CUDASIM=1: every program runs on cudasim, small; this proves nothing about a GPU"
    RTLIB=$B/cudasim:$RTLIB
    # The sizes tests/gpu/t_gpu_kit_builds.sh runs the programs at on cudasim.
    CODEC_ARGS=(--quick --bw-mib 4)
    BENCH_ARGS=(--mib "2,4" --reps 1)
    JOBS=$(nproc)
fi
SUMMARY=()
FAILED=0

# step NAME MAX_S COMMAND...: runs the command, output to $LOGS/NAME.log and
# the full log, under timeout min(MAX_S, budget left). Returns its status
# (124: cut off by the time box; 125: not started, the budget is spent).
step() {
    local name=$1 max=$2 left start rc
    shift 2
    left=$((BUDGET - ($(date +%s) - T0)))
    [ "$left" -lt "$max" ] && max=$left
    if [ "$max" -lt 5 ]; then
        echo "not run: the kit's time budget (${BUDGET}s) is spent" >"$LOGS/$name.log"
        return 125
    fi
    echo "===== $name (limit ${max}s): $*" >>"$FULL"
    start=$(date +%s)
    timeout -k 5 "$max" "$@" >"$LOGS/$name.log" 2>&1
    rc=$?
    cat "$LOGS/$name.log" >>"$FULL"
    echo "===== $name: exit $rc after $(($(date +%s) - start))s" >>"$FULL"
    [ "$rc" -eq 124 ] && echo "(cut off after ${max}s)" >>"$LOGS/$name.log"
    return $rc
}

# verdict RC...: ok when every status is 0; else "not-run" (budget spent),
# "cut-off" (time box) or FAIL, the first that applies.
verdict() {
    case " $* " in
    *" 125 "*) echo not-run ;;
    *" 124 "* | *" 137 "*) echo cut-off ;;
    *) [ -z "$(echo "$*" | tr -d ' 0')" ] && echo ok || echo FAIL ;;
    esac
}

# result STEP ok|FAIL|not-run|cut-off|skipped TEXT: a line of the closing
# summary; anything but ok or skipped makes the kit exit 1.
result() {
    SUMMARY+=("$(printf '%-12s %-8s %s' "$1" "$2" "$3")")
    case "$2" in ok | skipped) ;; *) FAILED=1 ;; esac
    return 0
}

# jget FILE KEY: a number from a GQSHIM_STATS JSON file, or "none".
jget() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null ||
        echo none
}

# kern FILE: the shim's kernel launches and GPU time per kind (GQSHIM_STATS
# times them with events), with the mean per launch: a segment's kernel.
kern() {
    python3 -c 'import json,sys
k = json.load(open(sys.argv[1])).get("kernels", {})
print("; ".join("%s %d launches %.2f ms (%.1f us each)" % (n, v["launches"], v["ms"], 1e3 * v["ms"] / v["timed"])
                for n, v in k.items() if v.get("timed")) or "no timed kernels")' "$1" 2>/dev/null || echo "no kernel times"
}

# stats FILE: the shim's figures for a run, one line.
stats() {
    [ -f "$1" ] || { echo "no stats file (did the shim load?)"; return; }
    echo "offloads=$(jget "$1" offloads) restores=$(jget "$1" restores)" \
        "passed_through=$(jget "$1" passed_through) ratio=$(jget "$1" compression_ratio)"
}

# ---- 0. environment: what the shim can do here --------------------------------------
say ""
say "== 0. environment (read the results below in its light)"
say "kernel:   $(uname -r) ($(uname -m)); $(grep -c ^processor /proc/cpuinfo) CPUs"
if dmesg 2>/dev/null | grep -qi gvisor || grep -qi gvisor /proc/version 2>/dev/null ||
    [ -e /proc/self/gvisor ] || uname -v 2>/dev/null | grep -qi gvisor; then
    say "sandbox:  gVisor (no userfaultfd: shim-owned buffers stay real pinned memory)"
else
    say "sandbox:  no gVisor sign (dmesg, /proc/version)"
fi
# userfaultfd(2) (x86-64: 323; aarch64: 282), plain and user-mode-only;
# PAGEMAP_SCAN (Linux 6.7) on /proc/self/pagemap: write tracking.
python3 - <<'PROBE' 2>&1 | sed 's/^/          /' | tee -a "$REPORT"
import ctypes, ctypes.util, errno, fcntl, mmap, os, platform, struct
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
nr = {"x86_64": 323, "aarch64": 282}.get(platform.machine())
def uffd(flags):
    if nr is None:
        return "unknown syscall number on " + platform.machine()
    fd = libc.syscall(nr, flags)
    if fd >= 0:
        os.close(fd)
        return "works"
    return "refused (" + errno.errorcode.get(ctypes.get_errno(), "?") + ")"
print("userfaultfd: " + uffd(os.O_CLOEXEC | os.O_NONBLOCK) + "; user-mode only: " +
      uffd(os.O_CLOEXEC | os.O_NONBLOCK | 1))
m = mmap.mmap(-1, 4096)
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
arg = struct.pack("12Q", 96, 0, addr, addr + 4096, 0, 0, 0, 0, 0, 0, 0, 0)
buf = ctypes.create_string_buffer(arg)
try:
    with open("/proc/self/pagemap", "rb") as f:
        fcntl.ioctl(f.fileno(), 0xC0606610, buf)
    print("write tracking (PAGEMAP_SCAN): works")
except OSError as e:
    print("write tracking (PAGEMAP_SCAN): refused (" + errno.errorcode.get(e.errno, "?") + ")")
PROBE

# ---- 1. device and build ---------------------------------------------------------
say ""
say "== 1. device, driver, toolkit; build what the GPU run needs"
q() { nvidia-smi --query-gpu="$1" --format=csv,noheader 2>/dev/null | head -1; }
CAP=$(q compute_cap | tr -d ' ')
SM=$(echo "$CAP" | tr -d .)
say "device:   $(q name), $(q memory.total), PCIe gen $(q pcie.link.gen.max) x$(q pcie.link.width.max)"
say "driver:   $(q driver_version) (driver's CUDA $(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1))"
say "toolkit:  $("$CUDA_HOME/bin/nvcc" --version 2>/dev/null | tail -1)"
say "compute capability $CAP (sm_$SM); host $(uname -r), $(nproc) CPUs,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
# GPU_KIT_COMMIT: the commit, for a copy of the tree that has no .git.
commit=${GPU_KIT_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null)} || commit=""
if [ -z "$commit" ]; then
    commit="unknown (no git here; set GPU_KIT_COMMIT)"
elif [ -z "${GPU_KIT_COMMIT:-}" ] && ! git diff --quiet HEAD -- 2>/dev/null; then
    commit="$commit + uncommitted changes"
fi
say "commit:   $commit"

# kernels.mk appends the project's nvcc flags (-fmad=false, its gencodes) to
# an NVCCFLAGS from the environment; `make NVCCFLAGS+=...` would replace them.
extra=""
case "$SM" in
80 | 90 | "") ;;
[1-9][0-9] | [1-9][0-9][0-9]) extra="-gencode arch=compute_$SM,code=sm_$SM" && rm -f "$B/kernels/gq_kernels.fatbin" ;;
*) say "note: compute capability '$CAP' not understood: building the default targets" ;;
esac
# mk/deps.sh would try apt-get for missing headers; a GPU machine may fetch
# nothing. Packages carried in .debs/ (README.md) are unpacked instead.
hdrs() { for h in uthash cmocka; do [ -f "/usr/include/$h.h" ] || printf ' %s.h' "$h"; done; }
if [ -n "$(hdrs)" ] && ls "$ROOT"/.debs/*.deb >/dev/null 2>&1; then
    for f in "$ROOT"/.debs/*.deb; do dpkg -x "$f" / && say "unpacked ${f#"$ROOT"/}"; done
fi
if [ -n "$(hdrs)" ]; then
    say "note: missing$(hdrs): what needs it does not build (uthash.h: the shim; cmocka.h: unit tests)"
fi
# The kit checked the headers itself; mk/deps.sh would run apt-get as root
# for whatever else it misses (pkg-config, for the unit tests only), and on
# a machine that can reach no mirror that waits out network timeouts.
mkdir -p "$B" && touch "$B/.deps-ok"
# The shim, the kernels, the kit's programs, the example and the e2e
# programs of the scripts run in step 6; cudasim only for a dry run.
E2E_RUN=$(grep -l '^# gpu-kit: yes' tests/e2e/t_*.sh)
E2E_BINS=$(cat $E2E_RUN | grep -o '\$BUILD/e2e/[a-z_]*' | sort -u | sed "s|\\\$BUILD|$B|")
targets="$SHIM $B/gqrun gpu-kit $B/examples/offload_kv $B/examples/weights_stream $B/bench/bench_hostmem $E2E_BINS"
[ "$SIM" = 1 ] && targets="$targets $B/cudasim/libcuda.so.1 $B/cudasim/libcudart.so.13 $B/cudasim/libcuda.so $B/cudasim/libcudart.so"
# make knows its targets by paths relative to the top (build/...), not $ROOT/build/...
targets=$(for t in $targets; do printf '%s ' "${t#"$ROOT"/}"; done)
step build 150 env NVCCFLAGS="-O3 $extra" make -j"$JOBS" -k $targets
rc=$?
missing=""
for f in "$SHIM" "$B/gpu/gpu_codec_check" "$B/gpu/gpu_transfer_bench" "$B/gpu/static_rt" \
    "$B/e2e/roundtrip" "$B/examples/offload_kv"; do
    [ -e "$f" ] || missing="$missing ${f#"$ROOT"/}"
done
CUOBJDUMP=$(command -v cuobjdump || echo "$CUDA_HOME/bin/cuobjdump")
if [ -x "$CUOBJDUMP" ] && [ -f "$B/kernels/gq_kernels.fatbin" ]; then
    say "fatbin:   $("$CUOBJDUMP" --list-elf --list-ptx "$B/kernels/gq_kernels.fatbin" 2>&1 |
        sed -n 's/.*: *\(.*\)/\1/p' | tr '\n' ' ')"
fi
if [ -n "$missing" ]; then
    show "$LOGS/build.log" 'rror|\*\*\*'
    result build FAIL "exit $rc; not built:$missing"
elif [ "$rc" -ne 0 ]; then
    show "$LOGS/build.log" 'rror|\*\*\*'
    result build ok "the kit's programs built; make exit $rc for other targets (see the full log)"
else
    result build ok "make -j$JOBS the shim, the kit, the example, $(echo $E2E_BINS | wc -w) e2e programs$([ -n "$extra" ] && echo " with $extra")"
fi

# ---- 2. codec agreement and bandwidth ------------------------------------------------
say ""
say "== 2. GPU kernels vs CPU codec, byte for byte; kernel bandwidth on 1 GiB of fp16"
step codec 150 env LD_LIBRARY_PATH="$RTLIB" "$B/gpu/gpu_codec_check" "${CODEC_ARGS[@]}"
rc=$?
show "$LOGS/codec.log" '^(device|codec|bandwidth|  |quant_over|dequant_over|FAIL|gpu_codec_check|\(cut)'
cases=$(sed -n 's/^codec_cases=\([0-9]*\) codec_failures=\([0-9]*\).*/\1 cases, \2 failed/p' "$LOGS/codec.log")
bw="quant_over_d2d_bw=$(sed -n 's/^quant_over_d2d_bw=//p' "$LOGS/codec.log")"
bw="$bw dequant_over_d2d_bw=$(sed -n 's/^dequant_over_d2d_bw=//p' "$LOGS/codec.log") (target >= 0.85)"
result codec "$(verdict "$rc")" "exit $rc; ${cases:-no result}; $bw"

# ---- 3. the transfer A/B: plain, staged, zero-copy ------------------------------------
say ""
say "== 3. offload/restore through pinned memory: plain copies vs the shim's staged path vs its"
say "   zero-copy path (GQSHIM_STAGING_MAX=0); dim=last and dim=0 (wall clock, best of 3)"
# bench NAME [ENV...]: gpu_transfer_bench under the shim with ENV (none: plain).
bench() {
    local name=$1
    shift
    if [ $# -eq 0 ]; then
        step "bench-$name" 60 env LD_LIBRARY_PATH="$RTLIB" "$B/gpu/gpu_transfer_bench" "${BENCH_ARGS[@]}"
    else
        step "bench-$name" 60 env LD_LIBRARY_PATH="$RTLIB" LD_PRELOAD="$SHIM" \
            GQSHIM_STATS="json:$LOGS/bench-$name.json" "$@" "$B/gpu/gpu_transfer_bench" "${BENCH_ARGS[@]}"
    fi
}
bench plain
rc_p=$?
bench staged GQSHIM_RULES='on=host,min=1M'
rc_s=$?
bench zerocopy GQSHIM_RULES='on=host,min=1M' GQSHIM_STAGING_MAX=0
rc_z=$?
BENCH_ARGS+=(--cols 4096)
bench staged-dim0 GQSHIM_RULES='on=host,min=1M,dim=0,cols=4096'
rc_s0=$?
bench zerocopy-dim0 GQSHIM_RULES='on=host,min=1M,dim=0,cols=4096' GQSHIM_STAGING_MAX=0
rc_z0=$?
awk '
    /^xfer / {
        run = FILENAME; sub(/.*bench-/, "", run); sub(/\.log$/, "", run)
        for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        k = f["mib"] " " f["dir"]; g[run, k] = f["gbps"]; if (run == "plain") keys[++n] = k
    }
    END {
        split("staged zerocopy staged-dim0 zerocopy-dim0", runs, " ")
        printf "    %-6s %-8s %8s", "MiB", "dir", "plain"
        for (r = 1; r <= 4; r++) printf " %14s", runs[r]
        printf "   (GB/s, and x plain)\n"
        for (i = 1; i <= n; i++) {
            split(keys[i], a, " "); p = g["plain", keys[i]]
            printf "    %-6s %-8s %8s", a[1], a[2], p
            for (r = 1; r <= 4; r++) {
                s = g[runs[r], keys[i]]
                printf " %14s", (p > 0 && s > 0) ? sprintf("%s %.2fx", s, s / p) : "-"
                if (a[1] == 1024 && r == 1) big = big sprintf(" %s %s", a[2], (p > 0 && s > 0) ? sprintf("%.2fx", s / p) : "-")
            }
            printf "\n"
        }
        print "speedup_1GiB:" big > "/dev/stderr"
    }' "$LOGS"/bench-plain.log "$LOGS"/bench-staged.log "$LOGS"/bench-zerocopy.log \
    "$LOGS"/bench-staged-dim0.log "$LOGS"/bench-zerocopy-dim0.log 2>"$LOGS/speedup" | tee -a "$REPORT"
for r in plain staged zerocopy staged-dim0 zerocopy-dim0; do
    say "  $r: $([ "$r" = plain ] && echo "no shim" || stats "$LOGS/bench-$r.json")" \
        "$([ -f "$LOGS/bench-$r.json" ] && echo "staged=$(jget "$LOGS/bench-$r.json" staged_copies) zero-copy=$(jget "$LOGS/bench-$r.json" zero_copy_copies)")"
    [ -f "$LOGS/bench-$r.json" ] && say "    kernels: $(kern "$LOGS/bench-$r.json")"
    show "$LOGS/bench-$r.log" '^check|rror|cut off|not run'
done
speed=$(sed 's/^speedup_1GiB: *//' "$LOGS/speedup")
met=$(echo "$speed" | awk '{ ok = NF >= 4; for (i = 2; i <= NF; i += 2) if ($i + 0 < 3.2) ok = 0; print ok ? "met" : "MISSED" }')
result bench "$(verdict "$rc_p" "$rc_s" "$rc_z" "$rc_s0" "$rc_z0")" \
    "staged, dim=last, 1 GiB speed-up: ${speed:-none} (target >= 3.2x, ceiling 3.56x: $met)"

# Segment size A/B: the staged path cuts a copy into segments no bigger than
# a staging slot (GQSHIM_STAGING_MAX / 24, at most 4 MiB compressed), each a
# memset, a quantize, a spill check, a DMA and events. The same largest size
# with smaller and larger slots: if the time grows with the number of
# segments, the difference per segment is their fixed cost.
say "  segment size A/B, the largest size, dim=last (segments a copy = quantize launches / offloads):"
BIG_MIB=${BENCH_ARGS[1]##*,}
seg_ab() { # seg_ab STAGING_MAX
    local name=seg-$1 f
    step "bench-$name" 60 env LD_LIBRARY_PATH="$RTLIB" LD_PRELOAD="$SHIM" GQSHIM_RULES='on=host,min=1M' \
        GQSHIM_STAGING_MAX="$1" GQSHIM_STATS="json:$LOGS/bench-$name.json" \
        "$B/gpu/gpu_transfer_bench" --mib "$BIG_MIB" --reps "${BENCH_ARGS[3]}"
    f=$LOGS/bench-$name.json
    say "    staging $1: $(awk '/^xfer / { printf "%s ", $2 " " $NF }' "$LOGS/bench-$name.log")" \
        "segments $(python3 -c 'import json,sys; d = json.load(open(sys.argv[1]))
print("%.0f" % (d["kernels"]["quantize"]["launches"] / max(d["offloads"], 1)))' "$f" 2>/dev/null || echo "?");" \
        "$(kern "$f")"
}
seg_ab 16M
seg_ab 64M
seg_ab 96M

CS=$(command -v compute-sanitizer)
for c in "$CUDA_HOME/bin/compute-sanitizer" "$CUDA_HOME/compute-sanitizer/compute-sanitizer"; do
    [ -z "$CS" ] && [ -x "$c" ] && CS=$c
done
if [ -n "$CS" ]; then
    # The shim goes into the target only: sh adds it to whatever LD_PRELOAD
    # compute-sanitizer gives its target, then execs the program.
    # shellcheck disable=SC2016
    step sanitizer 120 env LD_LIBRARY_PATH="$RTLIB" GQSHIM_RULES='on=host,min=64K' "$CS" --tool memcheck \
        --error-exitcode 9 --print-limit 20 sh -c 'LD_PRELOAD="$0${LD_PRELOAD:+:$LD_PRELOAD}" exec "$@"' \
        "$SHIM" "$B/e2e/roundtrip" f16 4 64 0 1048576 async pinned quant
    rc=$?
    say "  compute-sanitizer memcheck, e2e roundtrip under the shim (exit $rc):"
    show "$LOGS/sanitizer.log" 'ERROR SUMMARY|Invalid|roundtrip|rror|cut off'
    # memcheck counts a CUDA call that returned an error ("Program hit
    # CUDA_ERROR_... on CUDA API call to F") with the invalid accesses: say
    # how many of the errors are such calls, and which.
    api=$(sed -n 's/.*Program hit \(CUDA_ERROR_[A-Z_]*\).* on CUDA API call to \([A-Za-z0-9_]*\).*/\2 \1/p' \
        "$LOGS/sanitizer.log" | sort | uniq -c | awk '{ printf "%s%s %s x%d", (NR > 1 ? ", " : ""), $2, $3, $1 }')
    result sanitizer "$(verdict "$rc")" \
        "$(grep -m1 'ERROR SUMMARY' "$LOGS/sanitizer.log" | sed 's/^=* *//')${api:+, of them failed API calls: $api}"
else
    say "  compute-sanitizer: not installed here"
    result sanitizer skipped "compute-sanitizer not found"
fi

# ---- 4. PyTorch and transformers, unmodified, under LD_PRELOAD ---------------------------
say ""
say "== 4. PyTorch under LD_PRELOAD: pinned round trips; transformers' offloaded KV cache"
step torch-import 60 python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "GPU", torch.cuda.is_available())'
rc=$?
if [ "$rc" -eq 0 ]; then
    show "$LOGS/torch-import.log" '^torch'
    step torch 90 env PYTHONUNBUFFERED=1 python3 tests/gpu/torch_offload.py --shim "$SHIM" --timeout 45
    rc=$?
    show "$LOGS/torch.log" '^(torch|  )|cut off|not run'
    result torch "$(verdict "$rc")" "$(grep '^torch: verdict' "$LOGS/torch.log" |
        sed 's/^torch: verdict: //' | tr '\n' ' ')"
    # Where a staged copy's time goes: CUPTI's record of every kernel, memset
    # and DMA on every stream (the shim's lanes too) for one 1 GiB copy each
    # way (tests/gpu/timeline.py).
    # (Without the shim a copy is one DMA: step 3's plain runs time it.)
    say "  timeline of one 1 GiB copy each way under the shim (torch.profiler / CUPTI):"
    step timeline 60 env PYTHONUNBUFFERED=1 LD_PRELOAD="$SHIM" GQSHIM_RULES='on=host,min=1M' \
        python3 tests/gpu/timeline.py
    rc=$?
    show "$LOGS/timeline.log" '^timeline|Error|cut off|not run'
    result timeline "$(verdict "$rc")" \
        "$(grep -h 'offload span' "$LOGS/timeline.log" 2>/dev/null |
            sed 's/^timeline: //; s/ dma_busy.*dma_gaps_ms=/ gaps_ms=/; s/ dma_gap_max.*//' | tr '\n' ';')"
else
    show "$LOGS/torch-import.log"
    if [ "$rc" -eq 125 ]; then
        result torch not-run "the kit's time budget is spent"
        result timeline not-run "the kit's time budget is spent"
    else
        say "  skipped: python3 cannot import torch here"
        result torch skipped "python3 cannot import torch"
        result timeline skipped "python3 cannot import torch (it traces through torch.profiler)"
    fi
fi

# ---- 5. a program with the runtime linked statically (issue 10) ----------------------------
say ""
say "== 5. nvcc's default static runtime (tests/gpu/static_rt.cu) under the shim"
static_step() {
    local rc1 rc2 off said
    step static-plain 60 env LD_LIBRARY_PATH="$RTLIB" "$B/gpu/static_rt"
    rc1=$?
    step static-shim 60 env LD_LIBRARY_PATH="$RTLIB" LD_PRELOAD="$SHIM" GQSHIM_RULES='on=host,min=1M' \
        GQSHIM_STATS="json:$LOGS/static.json" "$B/gpu/static_rt"
    rc2=$?
    say "  without the shim (exit $rc1):"
    show "$LOGS/static-plain.log"
    say "  with the shim (exit $rc2): $(stats "$LOGS/static.json")"
    show "$LOGS/static-shim.log"
    off=$(jget "$LOGS/static.json" offloads)
    if [ "$off" != none ] && [ "$off" -gt 0 ]; then
        said="compressed: yes (offloads=$off)"
    else
        said="compressed: no (offloads=$off): the driver-level hooks (issue 10) did not reach it"
    fi
    say "  $said"
    result static "$(verdict "$rc1" "$rc2")" "$said"
}
if [ "$SIM" = 1 ]; then
    say "  not run on cudasim: a static runtime talks to the real driver only"
    result static skipped "not run on cudasim"
else
    static_step
fi

# ---- 6. the example and the e2e scripts that mean something on real CUDA ---------------
say ""
say "== 6. examples/offload_kv and the e2e scripts marked \`# gpu-kit: yes\` on the real CUDA runtime"
# tests/e2e/lib.sh puts $BUILD/cudasim first on LD_LIBRARY_PATH. The scripts
# run here with BUILD = a copy of build/ without cudasim/ (hard links, so the
# programs' own paths are the copy's), so that folder does not exist and the
# real libcudart loads. E2E_REAL=1 is for a lib.sh that honours it.
VIEW=$B/.gpu-kit-real
trap 'rm -rf "$LOGS" "$VIEW"' EXIT
rm -rf "$VIEW" && mkdir -p "$VIEW"
for f in "$B"/* "$B"/.deps-ok; do
    case "$(basename "$f")" in cudasim | test-logs) continue ;; esac
    [ -e "$f" ] && { cp -al "$f" "$VIEW/" 2>/dev/null || cp -a "$f" "$VIEW/"; }
done
say "runtime:  $(LD_LIBRARY_PATH=$VIEW/cudasim:$RTLIB ldd "$B/e2e/roundtrip" 2>/dev/null | grep -E 'libcudart' | sed 's/^[[:space:]]*//')"
# A case the machine cannot run (two devices where the runtime shows one)
# prints "skip NAME (WHY)" (tests/e2e/lib.sh): neither ok nor FAIL, and its
# script still passes; each is shown, and counted in the summary.
e2e_bad=0
e2e_n=0
e2e_rcs=""
e2e_skips=0
for t in $E2E_RUN; do
    n=$(basename "$t" .sh)
    step "$n" 90 env BUILD="$VIEW" E2E_REAL=1 LD_LIBRARY_PATH="$RTLIB" sh "$t"
    rc=$?
    e2e_n=$((e2e_n + 1))
    [ "$rc" -ne 0 ] && e2e_bad=$((e2e_bad + 1)) && e2e_rcs="$e2e_rcs $rc"
    nskip=$(grep -c '^skip ' "$LOGS/$n.log")
    e2e_skips=$((e2e_skips + nskip))
    say "  $t: exit $rc, $(grep -c '^ok' "$LOGS/$n.log") ok, $(grep -c '^FAIL' "$LOGS/$n.log") FAIL$(
        [ "$nskip" -gt 0 ] && echo ", $nskip skipped")"
    if [ "$rc" -ne 0 ]; then
        show "$LOGS/$n.log" '^FAIL|^skip |^     \||not run|cut off'
    elif [ "$nskip" -gt 0 ]; then
        show "$LOGS/$n.log" '^skip '
    fi
done
e2e_why=""
if [ "$e2e_skips" -gt 0 ]; then
    # The reasons, once each: "skip NAME (WHY)" -> WHY.
    e2e_why=$(for t in $E2E_RUN; do grep '^skip ' "$LOGS/$(basename "$t" .sh).log"; done |
        sed 's/^skip .* (\(.*\))$/\1/' | sort -u | paste -sd ';' | sed 's/;/; /g')
    e2e_why="; $e2e_skips case(s) skipped ($e2e_why)"
fi
step kv-plain 60 env LD_LIBRARY_PATH="$RTLIB" "$B/examples/offload_kv"
rc1=$?
step kv-shim 60 env LD_LIBRARY_PATH="$RTLIB" LD_PRELOAD="$SHIM" GQSHIM_RULES='on=host,min=1M,name=kv' \
    GQSHIM_STATS="json:$LOGS/kv.json" "$B/examples/offload_kv"
rc2=$?
say "  offload_kv without the shim (exit $rc1):"
show "$LOGS/kv-plain.log" 'error|offload_kv'
say "  offload_kv with the shim (exit $rc2): $(stats "$LOGS/kv.json")"
show "$LOGS/kv-shim.log" 'error|offload_kv'
kv_off=$(jget "$LOGS/kv.json" offloads)
kv_ok=$(verdict "$rc1" "$rc2")
if [ "$kv_ok" = ok ] && ! { grep -q 'max abs error 0,' "$LOGS/kv-plain.log" &&
    [ "$kv_off" != none ] && [ "$kv_off" -gt 0 ]; }; then
    kv_ok=FAIL
fi
result e2e "$(verdict 0 "$e2e_rcs")" "$((e2e_n - e2e_bad)) of $e2e_n scripts passed$e2e_why"
result example "$kv_ok" "offload_kv exact without the shim; with it: $(stats "$LOGS/kv.json")"

# ---- 7. host modes: how the driver maps pinned memory ----------------------------------
say ""
say "== 7. host mode here, and pinned memory as the driver maps it (for CUDASIM_PINNED)"
step hostmode 20 "$B/gqrun" --check
show "$LOGS/hostmode.log"
step pinned 30 env LD_LIBRARY_PATH="$RTLIB" "$B/gpu/pinned_probe"
rc=$?
show "$LOGS/pinned.log"
result pinned "$(verdict "$rc")" "maps line and userfaultfd registration of cudaHostAlloc memory above"

# ---- 8. host side: reading an offloaded shim-owned buffer on this host's CPUs ---------------
say ""
say "== 8. fault-in of an offloaded shim-owned buffer on this host's $(nproc) CPUs (tests/bench/bench_hostmem.c)"
# bench_hostmem's children, one at a time (its parent's RSS part counts
# pinned memory as cudasim maps it, which a real driver does not): a
# sequential read of MiB of fp16 offloaded to a cudaMallocHost buffer, best
# of 3, without and with the shim; then write(2) of it to tmpfs; then the
# kernel's UFFDIO_COPY alone on the pool's threads (the bound).
HM_MIB=512
[ "$SIM" = 1 ] && HM_MIB=16
HM_T=$(nproc)
[ "$HM_T" -gt 8 ] && HM_T=8
# hm NAME SHIM(0|1) ARG: one child; its GB/s (or "none") in HM_VAL, its
# status added to HM_RCS (not in a $(...) subshell, which would lose it).
# The install child exits 3 where userfaultfd is not allowed: nothing to
# measure, not a failure.
hm() {
    local name=$1 shim=$2 arg=$3 rc
    if [ "$shim" = 1 ]; then
        step "hm-$name" 40 env LD_LIBRARY_PATH="$RTLIB" LD_PRELOAD="$SHIM" GQSHIM_RULES='on=host,min=1M' \
            GQSHIM_STATS="json:$LOGS/hm-$name.json" "$B/bench/bench_hostmem" --child "$arg"
    else
        step "hm-$name" 40 env LD_LIBRARY_PATH="$RTLIB" "$B/bench/bench_hostmem" --child "$arg"
    fi
    rc=$?
    HM_VAL=$(grep -E '^[0-9.]+$' "$LOGS/hm-$name.log" | tail -1)
    if [ "$name" = install ] && [ "$rc" -eq 3 ]; then
        HM_VAL="none (userfaultfd not allowed here)"
        rc=0
    fi
    HM_VAL=${HM_VAL:-none}
    HM_RCS="$HM_RCS $rc"
}
HM_RCS=""
hm read-plain 0 "read $HM_MIB" && rp=$HM_VAL
hm read-shim 1 "read $HM_MIB" && rs=$HM_VAL
hm write-plain 0 "write $HM_MIB" && wp=$HM_VAL
hm write-shim 1 "write $HM_MIB" && ws=$HM_VAL
hm install 0 "install $HM_MIB $HM_T" && inst=$HM_VAL
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.3f", a / b; else print "none" }'; }
say "  (one reading thread each: plain reads its resident pinned buffer; the shim's reader reads pages"
say "  its threads have just decoded and installed, likely still in cache)"
say "  faultin_size_mib=$HM_MIB"
say "  plain_read_GBps=$rp faultin_read_GBps=$rs plain_write_GBps=$wp faultin_write_GBps=$ws"
say "  faultin_over_read=$(ratio "$rs" "$rp") (target >= 0.20, goal 0.5)"
say "  syscall_over_plain=$(ratio "$ws" "$wp")"
say "  install_threads=$HM_T install_GBps=$inst faultin_over_install=$(ratio "$rs" "$inst")"
say "  shim: $(stats "$LOGS/hm-read-shim.json") host_mode=$(jget "$LOGS/hm-read-shim.json" host_mode)"
for n in read-plain read-shim write-plain write-shim install; do
    show "$LOGS/hm-$n.log" 'gqshim|rror|cut off|not run'
done
result hostmem "$(verdict $HM_RCS)" "faultin_over_read=$(ratio "$rs" "$rp") on $(nproc) CPUs (target >= 0.20)"

# ---- 9. the codec kernels under ncu ----------------------------------------------------
say ""
say "== 9. the codec kernels at 1 GiB of fp16 under ncu (throughput, issue, stalls)"
NCU=$(command -v ncu || true)
for c in "$CUDA_HOME/bin/ncu" /opt/nvidia/nsight-compute/*/ncu; do
    [ -z "$NCU" ] && [ -x "$c" ] && NCU=$c
done
if [ "$SIM" = 1 ] || [ -z "$NCU" ]; then
    say "  not run: $([ "$SIM" = 1 ] && echo "cudasim has no counters" || echo "ncu not found")"
    result ncu skipped "$([ "$SIM" = 1 ] && echo "not on cudasim" || echo "ncu not found")"
else
    # gpu_codec_check --bw-only launches a warm-up quantize and dequantize,
    # then timed rounds: skip the warm-up pair, profile the next.
    step ncu 90 env LD_LIBRARY_PATH="$RTLIB" "$NCU" --clock-control none -k 'regex:gq_(de)?quantize' \
        --launch-skip 2 --launch-count 2 --section SpeedOfLight --section LaunchStats --section Occupancy \
        --section ComputeWorkloadAnalysis --section WarpStateStats \
        "$B/gpu/gpu_codec_check" --bw-only --bw-mib 1024
    rc=$?
    show "$LOGS/ncu.log" '^  gq_|Duration|DRAM Throughput|Memory Throughput|Compute \(SM\)|Registers Per|Achieved Occupancy|Theoretical Occupancy|Issue Slots Busy|Executed Ipc A|Warp Cycles Per Issued|Stall|cut off|rror'
    cp "$LOGS/ncu.log" "$out_dir/ncu.txt" 2>/dev/null
    result ncu "$(verdict "$rc")" "profile in ncu.txt beside this report"
fi

# ---- summary ---------------------------------------------------------------------------
say ""
say "== summary ($(($(date +%s) - T0))s of a ${BUDGET}s budget)"
for line in "${SUMMARY[@]}"; do
    say "  $line"
done
say "full log: $FULL"
exit "$FAILED"

#!/bin/sh
# A program's life around its offloads: CUDA graph capture, fork, exit with
# work in flight, cudaDeviceReset (rel_life), with and without the shim.
. tests/e2e/lib.sh
L=$BUILD/e2e/rel_life
# reason KEY: passed_by_reason[KEY] from the last stats file.
reason() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["passed_by_reason"][sys.argv[2]])' \
        "$TMP/stats.json" "$1" 2>/dev/null || echo missing
}

for t in capture fork exit reset; do
    check "$t, no shim" timeout 120 $L $t exact
done

# Captured copies are recorded, not run, and pass the shim untouched. (A
# shim-owned buffer, on=host, is not page-locked: a captured copy into it is
# refused as for pageable memory — tests/RELIABILITY.md, limits.)
check "capture, on=dev" with_shim "on=dev,size=1M" $L capture quant
n=$(reason CAPTURING)
[ "$n" != missing ] && [ "$n" -ge 1 ] && ok "capture: CAPTURING=$n" || bad "capture: CAPTURING=$n"
expect_stat "capture, on=dev" offloads -eq 1

# Forks while another thread is inside traced calls: the trace's locks are
# in the fork handlers, so a child's traced copy cannot hang on them.
# (Fewer forks under a sanitizer, REL_SCALE=small: ThreadSanitizer makes each
# fork slow.)
if [ "${REL_SCALE:-}" = small ]; then FORKS=200; else FORKS=2000; fi
check "fork under GQSHIM_TRACE=1" env LD_PRELOAD="$SHIM" GQSHIM_RULES=on=dev,size=1M \
    GQSHIM_TRACE=1 GQSHIM_LOG_FILE=/dev/null REL_FORKS=$FORKS timeout 120 $L forktrace exact

for rule in on=host,size=1M on=dev,size=1M; do
    # 20 forks while another thread offloads, restores, allocates and frees:
    # no child may hang on a lock (alarm) or get anything but errors from CUDA.
    check "fork, $rule" with_shim "$rule" timeout 120 $L fork quant
    check "fork, $rule, delayed streams" env CUDASIM_DELAY_US=100 LD_PRELOAD="$SHIM" \
        GQSHIM_RULES="$rule" timeout 120 $L fork quant
    # exit() with offloads queued and a thread reading a shim-owned buffer:
    # the at-exit stats are written, nothing hangs or crashes.
    check "exit with work in flight, $rule" env CUDASIM_DELAY_US=2000 LD_PRELOAD="$SHIM" \
        GQSHIM_RULES="$rule" GQSHIM_STATS="json:$TMP/stats.json" timeout 60 $L exit quant
    expect_stat "exit with work in flight, $rule" offloads -ge 1
    # cudaDeviceReset with an offload in flight, three times: every life
    # compresses again (the context's kernels are loaded anew).
    check "reset, $rule" env CUDASIM_DELAY_US=200 LD_PRELOAD="$SHIM" GQSHIM_RULES="$rule" \
        GQSHIM_STATS="json:$TMP/stats.json" timeout 120 $L reset quant
    expect_stat "reset, $rule" offloads -eq 7
    expect_stat "reset, $rule" restores -eq 4
done
# dlclose and re-open of the runtime: a program that loads libcudart itself
# (not linked to it) and calls through the global scope, which under the
# shim means the shim's hooks holding pointers into the first load.
cat >"$TMP/reopen.c" <<'PROG'
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
typedef int (*malloc_fn)(void **, size_t);
typedef int (*free_fn)(void *);
typedef int (*copy_fn)(void *, const void *, size_t, int);
/* Data that 4-bit groups cannot keep exactly (a constant survives
 * quantization bit for bit and would not show that a copy was compressed):
 * fp16 values in [1, 2), a different ramp per open, every 8th in [4, 8) (data
 * wholly within [0.5, 4) is what bf16 read as f16 looks like, and is kept
 * exact). With an argument, the copies are expected compressed: some values
 * differ, by at most half a 4-bit step (240 ulps of [1, 2) here). */
int main(int argc, char **argv)
{
    static unsigned short a[32768], b[32768];
    int quant = argc > 1;
    for (int i = 0; i < 4; i++) {
        void *h = dlopen("libcudart.so.13", RTLD_NOW | RTLD_GLOBAL);
        if (!h)
            return 2;
        malloc_fn m = (malloc_fn)dlsym(RTLD_DEFAULT, "cudaMalloc");
        copy_fn c = (copy_fn)dlsym(RTLD_DEFAULT, "cudaMemcpy");
        free_fn f = (free_fn)dlsym(RTLD_DEFAULT, "cudaFree");
        for (int k = 0; k < 32768; k++)
            a[k] = (unsigned short)(k % 8 ? 0x3c00 + (k << i) % 1024 : 0x4400 + k % 1024);
        void *d = NULL;
        int r = m(&d, sizeof a) | c(d, a, sizeof a, 1) | c(b, d, sizeof a, 2) | f(d);
        int differ = 0, far = 0;
        for (int k = 0; k < 32768; k++) {
            int delta = (int)a[k] - (int)b[k];
            differ += delta != 0;
            far += delta > 300 || delta < -300; /* a step is <= 7/15: 240 ulps of [1, 2) */
        }
        if (r || far || (quant ? !differ : differ)) {
            printf("open %d: status %d, %d values differ, %d by more than 40 ulps\n", i, r,
                   differ, far);
            return 1;
        }
        dlclose(h);
    }
    printf("4 opens: ok\n");
    return 0;
}
PROG
if ${CC:-cc} ${SANFLAGS:-} "$TMP/reopen.c" -o "$TMP/reopen" -ldl 2>"$TMP/cc.err"; then
    # (A sanitizer runtime, when the suites run under one, must still come first.)
    san=${GQ_PRELOAD_PREFIX:-}
    check "dlclose and re-open of libcudart, no shim" env ${san:+LD_PRELOAD=${san%:}} \
        timeout 60 "$TMP/reopen"
    # Without the runtime pinned, the hooks' pointers outlived the first load:
    # the third open hung (cudasim) — on a GPU, a jump into unmapped code.
    check "dlclose and re-open of libcudart, shim" env LD_PRELOAD="$SHIM" timeout 60 "$TMP/reopen"
    rm -f "$TMP/stats.json"
    check "dlclose and re-open of libcudart, shim with rules" env LD_PRELOAD="$SHIM" \
        GQSHIM_RULES=on=dev GQSHIM_STATS="json:$TMP/stats.json" timeout 60 "$TMP/reopen" quant
    expect_stat "re-open: every open's copy compressed" offloads -eq 4
else
    bad "compile the re-open probe: $(head -1 "$TMP/cc.err")"
fi
finish

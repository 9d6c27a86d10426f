#!/bin/sh
# Stats that are not lost: a program stopped by SIGTERM or SIGINT (default
# action: the report, then death by the same signal), one with its own
# handler (called, its exit status kept), one that execs; %p in the path;
# a second copy of the library standing aside; the peak of host memory held
# compressed; one reason for identical uploads.
. tests/e2e/lib.sh
P=$BUILD/e2e/stopped
RULES='on=host,size=4M,name=kv'

# run_until_ready SIG MODE: start the program, wait for "ready", send SIG;
# sets rc. (The waits for "ready" here are up to 5 min: with the machine
# loaded, 30 s were not always enough for the program to start.)
run_until_ready() {
    sig=$1 mode=$2
    rm -f "$TMP/ready"
    # A background job of a script starts with SIGINT ignored: give the
    # program the default disposition, as a foreground program has.
    LD_PRELOAD=$SHIM GQSHIM_RULES=$RULES GQSHIM_STATS="json:$TMP/s-%p.json" python3 -c \
        'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
        $P "$mode" >"$TMP/ready" 2>"$TMP/err" &
    pid=$!
    i=0
    while ! grep -q ready "$TMP/ready" 2>/dev/null && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
    kill -"$sig" $pid
    wait $pid
    rc=$?
    cp "$TMP/s-$pid.json" "$TMP/stats.json" 2>/dev/null || rm -f "$TMP/stats.json"
}

run_until_ready TERM wait
if [ $rc -eq 143 ] && [ -s "$TMP/stats.json" ]; then
    ok "SIGTERM: exit status 143 as without the shim, stats written (%p expanded)"
else
    bad "SIGTERM: exit $rc, stats file: $(ls "$TMP")"
fi
expect_stat "SIGTERM" offloads -eq 1
expect_stat "SIGTERM" restores -eq 1
v=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ended_by"])' "$TMP/stats.json" 2>&1)
[ "$v" = SIGTERM ] && ok "SIGTERM: ended_by $v" || bad "SIGTERM: ended_by $v"

run_until_ready INT wait
[ $rc -eq 130 ] && [ -s "$TMP/stats.json" ] && ok "SIGINT: exit 130, stats written" ||
    bad "SIGINT: exit $rc"

run_until_ready TERM handler
[ $rc -eq 3 ] && ok "SIGTERM with the program's handler: its exit status 3" ||
    bad "SIGTERM with the program's handler: exit $rc, want 3"

# SIGTERM with the table: the table is on stderr, and says how it ended.
# (The last run's "ready" goes first: read before the new program truncated
# it, it had the signal sent before the program started, exit 143, no table.)
rm -f "$TMP/ready"
LD_PRELOAD=$SHIM GQSHIM_RULES=$RULES GQSHIM_STATS=1 $P wait >"$TMP/ready" 2>"$TMP/table" &
pid=$!
i=0
while ! grep -q ready "$TMP/ready" 2>/dev/null && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 143 ] && grep -q "stopped by SIGTERM" "$TMP/table" && grep -q "offloads compressed (D2H) *1$" "$TMP/table" &&
    ok "SIGTERM: the table, stopped by SIGTERM" || bad "SIGTERM table: exit $rc: $(head -3 "$TMP/table")"
cp "$TMP/table" "$BUILD/test-logs/stats-sigterm.txt" 2>/dev/null

# exec: the report before the image goes; the new image (true) reports nothing.
rm -f "$TMP"/s-*.json
LD_PRELOAD=$SHIM GQSHIM_RULES=$RULES GQSHIM_STATS="json:$TMP/s-%p.json" $P exec /bin/true
rc=$?
n=$(ls "$TMP"/s-*.json 2>/dev/null | wc -l)
cp "$TMP"/s-*.json "$TMP/stats.json" 2>/dev/null
[ $rc -eq 0 ] && [ "$n" -eq 1 ] && ok "exec: stats written before the exec" || bad "exec: exit $rc, $n files"
expect_stat "exec" offloads -eq 1
v=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ended_by"])' "$TMP/stats.json" 2>&1)
[ "$v" = exec ] && ok "exec: ended_by $v" || bad "exec: ended_by $v"

# exec in a vfork child: not this process's end; one report, at its exit.
rm -f "$TMP"/s-*.json
LD_PRELOAD=$SHIM GQSHIM_RULES=$RULES GQSHIM_STATS="json:$TMP/s-%p.json" $P vfork /bin/true
rc=$?
n=$(ls "$TMP"/s-*.json 2>/dev/null | wc -l)
cp "$TMP"/s-*.json "$TMP/stats.json" 2>/dev/null
v=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ended_by"])' "$TMP/stats.json" 2>&1)
[ $rc -eq 0 ] && [ "$n" -eq 1 ] && [ "$v" = exit ] && ok "vfork + exec: the parent's report, at its exit" ||
    bad "vfork + exec: exit $rc, $n files, ended_by $v"

# Two copies of the library: the second stands aside with one line, and one
# report is written.
cp "$BUILD/libgqshim.so" "$TMP/libgqshim.so"
LD_PRELOAD="$SHIM:$TMP/libgqshim.so" GQSHIM_RULES=on=host GQSHIM_STATS=1 \
    $BUILD/e2e/roundtrip f16 4 64 0 262144 async pinned quant >"$TMP/o" 2>"$TMP/e"
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c 'stands aside' "$TMP/e")" -eq 1 ] &&
    [ "$(grep -c '^gqshim: stats' "$TMP/e")" -eq 1 ] &&
    grep -q "offloads compressed (D2H) *[1-9]" "$TMP/e"; then
    ok "two copies: the second stands aside (one line), one table, still compressing"
else
    bad "two copies: exit $rc: $(head -5 "$TMP/e")"
fi

# The peak of host memory held compressed, not the value at exit (after
# cudaFreeHost): offload_kv at 128 tokens (its 16 KV buffers of 1 MiB, the
# same copies as at its default, a quarter of the data) holds its 16 MiB of
# KV in about 4.8 MB (0.28x, as its 64 MiB in 19.0 MB at the default).
check "offload_kv" with_shim "on=host,size=1M,name=kv" $BUILD/examples/offload_kv 128
expect_stat "offload_kv: held compressed at the peak" host_bytes_held_peak -ge 4500000
expect_stat "offload_kv: held compressed at the peak" host_bytes_held_peak -le 5000000
expect_stat "offload_kv: plain size at the peak" host_plain_bytes_at_peak -eq 16777216
# Its 16 uploads from the never-offloaded pageable buffer `ref`: one reason.
v=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["passed_by_reason"]; print(r["NO_RULE"], r["NOT_HELD"])' "$TMP/stats.json")
[ "$v" = "48 0" ] && ok "offload_kv: 48 copies 'not a registered tensor', none 'not held'" ||
    bad "offload_kv: NO_RULE NOT_HELD = $v, want 48 0"

# execl and execle with more arguments than the shim keeps on its stack
# (4096): every one reaches the new program (before, they were cut short).
python3 - "$TMP/manyargs.c" <<'PY'
import sys
args = ", ".join('"a"' for _ in range(5000))
open(sys.argv[1], "w").write("""#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc > 1) { printf("%%d\\n", argc); return 0; }
    char *env[] = {"FORM=e", NULL};
    if (getenv("FORM")[1] == 0) execl("/proc/self/exe", "e", %s, (char *)0);
    execle("/proc/self/exe", "e", %s, (char *)0, env);
    return 3;
}
""" % (args, args))
PY
if ${CC:-cc} ${SANFLAGS:-} "$TMP/manyargs.c" -o "$TMP/manyargs" 2>"$TMP/cc.err"; then
    for form in l le; do
        n=$(FORM=$form LD_PRELOAD="$SHIM" GQSHIM_RULES=on=dev,min=1G \
            GQSHIM_STATS=json:$TMP/many.json "$TMP/manyargs")
        [ "$n" = 5001 ] && ok "exec$form with 5000 arguments: all passed on" ||
            bad "exec$form with 5000 arguments: the program saw argc=$n, want 5001"
    done
else
    bad "cannot build the many-arguments program: $(head -3 "$TMP/cc.err")"
fi
finish

#!/bin/sh
# GQSHIM_TRACE=1: an unmodified program, no rules. Nothing is compressed, every
# allocation and copy is a line, and the summary suggests a rule; that rule,
# pasted into GQSHIM_RULES, compresses exactly the offloaded tensors.
. tests/e2e/lib.sh
# offload_kv at 128 tokens: its 16 KV buffers of 1 MiB, the same copies as at
# its default of 512 tokens, a quarter of the data.
KV="$BUILD/examples/offload_kv 128"
RT=$BUILD/e2e/roundtrip
MiB=1048576

# suggested FILE: the GQSHIM_RULES value of the summary in FILE.
suggested() { sed -n "s/.*trace: suggested: GQSHIM_RULES='\([^']*\)'.*/\1/p" "$1"; }

# expect NAME WANT GOT
expect() {
    if [ "$2" = "$3" ]; then ok "$1: $3"; else bad "$1: got '$3', want '$2'"; fi
}

# --- offload_kv: 16 pinned KV buffers, each offloaded once, restored 3 times
rm -f "$TMP/stats.json"
if LD_PRELOAD=$SHIM GQSHIM_TRACE=1 GQSHIM_STATS="json:$TMP/stats.json" $KV >"$TMP/kv.out" 2>"$TMP/kv.trace"; then
    ok "offload_kv under GQSHIM_TRACE=1 runs"
else
    bad "offload_kv under GQSHIM_TRACE=1 (exit $?)"
    tail -5 "$TMP/kv.trace" | sed 's/^/     | /'
fi
expect_stat "trace, no rules: nothing compressed" offloads -eq 0
expect_stat "trace, no rules: nothing restored" restores -eq 0
grep -q 'max abs error 0, NMSE 0$' "$TMP/kv.out" && ok "trace, no rules: the program's data is exact" \
    || bad "trace, no rules: the program saw changed data: $(tail -1 "$TMP/kv.out")"
# 16 cudaMallocHost + 2 cudaMalloc; 16 x (H2D + D2H) + 3 x 16 H2D + 16 x (D2D + D2H)
expect "allocation lines" 18 "$(grep -c 'trace: alloc ' "$TMP/kv.trace")"
expect "pinned allocation lines" 16 \
    "$(grep -c 'trace: alloc cudaMallocHost 1048576 bytes host .*rule -, caller offload_kv$' "$TMP/kv.trace")"
expect "copy lines" 112 "$(grep -c 'trace: copy ' "$TMP/kv.trace")"
expect "offload lines name both allocations, the stream, the reason, the caller" 16 \
    "$(grep -c 'trace: copy D2H 1048576 bytes stream 0x[0-9a-f]*: dev 0x[0-9a-f]* (alloc#17) -> host 0x[0-9a-f]* (alloc#[0-9]*): passed (no GQSHIM_RULES), rule -, caller offload_kv via cudaMemcpyAsync$' "$TMP/kv.trace")"
expect "candidates line" 1 "$(grep -c 'trace: candidates on=host: 16 allocation(s), 16 D2H into them, 48 H2D from them' "$TMP/kv.trace")"
expect "no device candidates" 1 "$(grep -c 'trace: candidates on=dev: none' "$TMP/kv.trace")"
rule=$(suggested "$TMP/kv.trace")
expect "suggested rule" "on=host,size=1M,name=host_offload" "$rule"

# The suggestion, pasted: exactly the 16 KV buffers, nothing else registered.
check "offload_kv under the suggested rule" with_shim "$rule" $KV
cp "$TMP/out" "$TMP/off.trace" # GQSHIM_TRACE unset: looked at below
expect_stat "suggested rule: the 16 offloads are compressed" offloads -eq 16
expect_stat "suggested rule: the 48 restores are compressed" restores -eq 48
expect_stat "suggested rule: exactly the 16 KV buffers registered" regions_host -eq 16
expect_stat "suggested rule: no device allocation registered" regions_dev -eq 0

# --- a device tensor offloaded into pageable memory and restored: an on=dev
# candidate; its two same-sized neighbours are not, so the rule needs nth=.
LD_PRELOAD=$SHIM GQSHIM_TRACE=1 $RT f16 4 64 0 $MiB async pageable exact >/dev/null 2>"$TMP/rt.trace"
rule=$(suggested "$TMP/rt.trace")
expect "roundtrip (pageable): suggested rule" "on=dev,size=1M,nth=1,name=dev_offload" "$rule"
check "roundtrip under the suggested rule compresses" with_shim "$rule" $RT f16 4 64 0 $MiB async pageable quant
expect_stat "roundtrip, suggested rule" offloads -eq 1
expect_stat "roundtrip, suggested rule: one device allocation" regions_dev -eq 1

# --- weights streamed from pinned buffers (uploaded again and again, never
# written by the GPU): the suggestion is upload=compress, and it compresses.
# 8 layers of 4 MiB, 5 passes (its memory bound: t_weights.sh, at 32 layers).
W=$BUILD/examples/weights_stream
LD_PRELOAD=$SHIM GQSHIM_TRACE=1 $W 8 >/dev/null 2>"$TMP/w.trace"
rule=$(suggested "$TMP/w.trace")
expect "weights_stream: suggested rule" "on=host,size=4M,upload=compress,name=weights" "$rule"
check "weights_stream under the suggested rule" with_shim "$rule" $W --check-bytes 8
expect_stat "weights_stream, suggested rule" restores -eq 40

# (How the suggestion separates candidates from look-alikes: tests/unit/test_trace.c.)

# --- tracing off (offload_kv under its rule, above): not a single trace line.
expect "GQSHIM_TRACE unset: no trace lines" 0 "$(grep -c 'trace:' "$TMP/off.trace")"
finish

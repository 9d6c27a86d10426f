#!/bin/sh
# The frameworks' copy patterns (tests/e2e/fw_*.c), each run the way a user
# would: under GQSHIM_TRACE=1 with no rule (everything exact), then under the
# rule the trace suggests. Target tensors come back as the codec's 4-bit
# round trip (the programs check it bit for bit), every other byte exact;
# the stats say how many copies were compressed and how many were refused
# because their data was not of the rule's dtype (FOREIGN).
. tests/e2e/lib.sh

suggested() { sed -n "s/.*trace: suggested: GQSHIM_RULES='\([^']*\)'.*/\1/p" "$1"; }

# foreign: copies refused as not of the rule's dtype, from the last stats file.
foreign() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["passed_by_reason"]["FOREIGN"])' "$TMP/stats.json"
}
rule_foreign() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rules"][0].get("foreign_refused", 0))' "$TMP/stats.json"
}
expect() {
    if [ "$2" = "$3" ]; then ok "$1: $3"; else bad "$1: got '$3', want '$2'"; fi
}

# trace PROG: a traced run, every byte exact; then $rule is the rule it
# suggests (empty when none).
trace() {
    if LD_PRELOAD=$SHIM GQSHIM_TRACE=1 $BUILD/e2e/$1 exact >"$TMP/$1.out" 2>"$TMP/$1.trace"; then
        ok "$1 traced: every byte exact"
    else
        bad "$1 traced"
        tail -5 "$TMP/$1.out" "$TMP/$1.trace" | sed 's/^/     | /'
    fi
    rule=$(suggested "$TMP/$1.trace")
}

# --- PyTorch pinned-host caching allocator: 1 MiB blocks reused by f16 KV
# (target), bf16 KV, fp32 logits and int64 ids.
trace fw_pinned_cache
expect "pinned cache: suggested rule" "on=host,size=1M,name=host_offload" "$rule"
check "pinned cache under the suggested rule" with_shim "$rule" $BUILD/e2e/fw_pinned_cache quant
expect_stat "pinned cache: the 6 f16 KV offloads compressed" offloads -eq 6
expect_stat "pinned cache: and restored" restores -eq 6
expect "pinned cache: bf16, fp32 and int64 copies refused (6 steps x 3)" 18 "$(foreign)"

# --- PyTorch device caching allocator: 2 MiB and 20 MiB segments, tensors
# of every dtype at offsets.
trace fw_dev_cache
expect "device cache: suggested rule" "on=dev,size=2M|20M,name=dev_offload" "$rule"
check "device cache under the suggested rule" with_shim "$rule" $BUILD/e2e/fw_dev_cache quant
expect_stat "device cache: 2 f16 tensors x 2 rounds x 2 reads compressed" offloads -eq 8
expect "device cache: 5 other tensors x 2 rounds x 2 reads refused" 20 "$(foreign)"

# --- the same with expandable segments: 20 MiB of physical memory mapped at
# a time into one reservation (cuMemCreate/cuMemMap); each mapping is an
# allocation to the shim, a tensor straddling two mappings stays exact.
trace drv_fw_expandable
expect "expandable segments: suggested rule" "on=dev,size=20M,name=dev_offload" "$rule"
check "expandable segments under the suggested rule" with_shim "$rule" $BUILD/e2e/drv_fw_expandable quant
expect_stat "expandable segments: 3 f16 tensors x 2 reads x 2 rounds compressed" offloads -eq 12
expect "expandable segments: int64, fp32, bf16 tensors refused (x 2 x 2)" 12 "$(foreign)"

# --- vLLM swap: bf16 KV blocks of 16 KiB..2 MiB at block offsets. The trace
# reads the blocks that go back up and suggests dtype=bf16; under an f16
# rule every block would be refused and stay exact.
trace fw_vllm_swap
expect "vLLM swap: suggested rule, dtype from the data" "on=host,size=24M,dtype=bf16,name=host_offload" "$rule"
check "vLLM swap under the suggested rule" with_shim "$rule" $BUILD/e2e/fw_vllm_swap quant
# The store adds pinned memory off the copies' path (its own thread), and a
# copy that finds no room meanwhile goes exact with the reason GROWING: the
# program counts the blocks that came back exact, and each must be one of
# those, restored exact as well. Warm-up only: at most 1 in 20.
raw=$(sed -n 's/.*, \([0-9]*\) targets raw$/\1/p' "$TMP/out")
expect_jstat "vLLM swap: blocks that came back exact were passed while the store grew" \
    passed_by_reason.GROWING -eq "${raw:-none}"
expect_stat "vLLM swap: the other blocks swapped out compressed" offloads -eq $((676 - ${raw:-676}))
expect_stat "vLLM swap: and swapped in compressed" restores -eq $((676 - ${raw:-676}))
if [ "${raw:-676}" -le 33 ]; then ok "vLLM swap: $raw of 676 raw while the store grew"; else bad "vLLM swap: $raw of 676 raw"; fi
expect "vLLM swap: none refused" 0 "$(foreign)"
check "vLLM swap under dtype=f16: exact" with_shim "on=host,size=24M,name=kv" $BUILD/e2e/fw_vllm_swap exact
expect_stat "vLLM swap, f16 rule: nothing compressed" offloads -eq 0
expect "vLLM swap, f16 rule: all 676 bf16 blocks refused" 676 "$(foreign)"

# --- llama.cpp: GGUF Q4_0/Q8_0 blocks, an f16 and an fp32 tensor in one
# pinned buffer, uploaded every batch. Nothing is offloaded: the trace has
# no candidate; weight streaming (upload=compress) compresses the f16
# tensor and leaves the GGUF blocks and the fp32 norms exact.
trace fw_gguf
expect "GGUF buffer: no suggested rule" "" "$rule"
check "GGUF buffer with upload=compress" with_shim "on=host,min=1M,upload=compress,name=w" $BUILD/e2e/fw_gguf quant
expect_stat "GGUF buffer: the f16 tensor's 3 uploads compressed" restores -eq 3
expect "GGUF buffer: Q4_0, Q8_0 and fp32 uploads refused (3 batches x 3)" 9 "$(rule_foreign)"

# --- transformers OffloadedCache: per layer K/V to fresh pinned tensors,
# prefetched back on a second stream; fp32 and int64 tensors of the same
# size take the same path.
trace fw_hf_offload
expect "HF offloaded cache: suggested rule" "on=host,size=1M,name=host_offload" "$rule"
check "HF offloaded cache under the suggested rule" with_shim "$rule" $BUILD/e2e/fw_hf_offload quant
expect_stat "HF offloaded cache: 4 layers x K/V x 2 steps compressed" offloads -eq 16
expect_stat "HF offloaded cache: and prefetched compressed" restores -eq 16
expect "HF offloaded cache: the fp32 and int64 tensors refused (2 steps x 2)" 4 "$(foreign)"
finish

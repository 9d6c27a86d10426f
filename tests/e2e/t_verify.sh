#!/bin/sh
# GQSHIM_VERIFY=1: the quantization error the shim measures on the GPU at each
# offload is the error the program itself sees in what comes back (offload_kv
# prints it, computed on the CPU against the exact values). The verify kernel
# reduces in device memory, never into mapped host memory (its atomics would
# cross PCIe one at a time), and nothing the shim does for it inside the
# program's copy may synchronize the device: its memory is taken at
# allocation events (CUDASIM_SYNC_GUARD aborts the program otherwise).
. tests/e2e/lib.sh
KV=$BUILD/examples/offload_kv
RT=$BUILD/e2e/roundtrip
ST=$BUILD/e2e/rel_stress

# verify_of BITS: runs offload_kv (128 tokens a layer: its 16 tensors of
# 1 MiB) under CUDASIM_SYNC_GUARD=1 and CUDASIM_PROFILE, prints "shim_max
# shim_nmse prog_max prog_nmse offloads host_writes", host_writes the store
# and atomic instructions of the verify kernels into mapped host memory.
verify_of() {
    rm -f "$TMP/stats.json" "$TMP/prof.json"
    LD_PRELOAD=$SHIM GQSHIM_RULES="on=host,size=1M,bits=$1,name=kv" GQSHIM_VERIFY=1 \
        GQSHIM_STATS="json:$TMP/stats.json" CUDASIM_SYNC_GUARD=1 \
        CUDASIM_PROFILE="json:$TMP/prof.json" $KV 128 >"$TMP/kv.out" 2>"$TMP/kv.err" || {
        sed 's/^/     | /' "$TMP/kv.err" | tail -5 >&2
        return 1
    }
    python3 - "$TMP/stats.json" "$TMP/kv.out" "$TMP/prof.json" <<'PY'
import json, re, sys
j = json.load(open(sys.argv[1]))
v = j["rules"][0]["verify"]
m = re.search(r"max abs error (\S+), NMSE (\S+)", open(sys.argv[2]).read())
ks = [k for r in json.load(open(sys.argv[3]))["ranges"] for k in r["kernels"] if k["name"] == "gq_verify"]
w = sum(k["host_store"]["instructions"] + k["host_atomic"]["instructions"] for k in ks) if ks else "none"
print(v["max_abs_error"], v["nmse"], m.group(1), m.group(2), v["offloads"], w)
PY
}

# close A B REL: |A - B| <= REL * |B|
close() { python3 -c 'import sys; a, b, r = map(float, sys.argv[1:]); sys.exit(abs(a - b) > r * abs(b))' "$@"; }

for bits in 4 8; do
    set -- $(verify_of $bits)
    if [ $# -ne 6 ]; then
        bad "$bits-bit: no verify figures (under CUDASIM_SYNC_GUARD=1)"
        continue
    fi
    [ "$5" -eq 16 ] && ok "$bits-bit: all 16 offloads measured, nothing synchronizing inside a copy" \
        || bad "$bits-bit: $5 offloads measured, want 16"
    [ "$6" = 0 ] && ok "$bits-bit: the verify kernels write no mapped host memory" \
        || bad "$bits-bit: the verify kernels wrote mapped host memory ($6 warp instructions)"
    # the program prints 3 significant digits
    close "$1" "$3" 0.005 && ok "$bits-bit: max abs error $1 (the program sees $3)" \
        || bad "$bits-bit: max abs error $1, the program sees $3"
    close "$2" "$4" 0.005 && ok "$bits-bit: NMSE $2 (the program sees $4)" \
        || bad "$bits-bit: NMSE $2, the program sees $4"
    eval "max$bits=$1 nmse$bits=$2"
done
# 4-bit groups of 64 over values up to ~2.5: the step is ~0.33, so the error
# is at most half of it; 8 bits are ~17x finer.
python3 -c 'import sys; m4, n4, m8, n8 = map(float, sys.argv[1:]); sys.exit(not (0.05 < m4 < 0.2 and 1e-3 < n4 < 1e-2 and m8 < m4 / 10 and n8 < n4 / 100))' \
    "$max4" "$nmse4" "$max8" "$nmse8" && ok "4-bit and 8-bit errors in the expected ranges" \
    || bad "errors out of range: 4-bit $max4 $nmse4, 8-bit $max8 $nmse8"

# A program-owned pinned buffer, asynchronous copies: the check is queued
# without a host wait inside the copy either (CUDASIM_SYNC_GUARD=wait).
rm -f "$TMP/stats.json"
check "on=dev, async into pinned memory, under CUDASIM_SYNC_GUARD=wait" env CUDASIM_SYNC_GUARD=wait \
    LD_PRELOAD="$SHIM" GQSHIM_RULES="on=dev,nth=1" GQSHIM_VERIFY=1 GQSHIM_STATS="json:$TMP/stats.json" \
    $RT f16 4 64 0 4194304 async pinned quant
n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rules"][0]["verify"]["offloads"])' "$TMP/stats.json" 2>/dev/null)
[ "$n" = 1 ] && ok "on=dev, async: the offload measured" || bad "on=dev, async: ${n:-no} offloads measured, want 1"
# 8 threads x 3 streams on 2 devices, delayed streams: each context has
# its own result slots (a kernel may not name another device's memory), and
# every compressed offload is measured.
for rules in on=host,size=256K on=dev,size=256K; do
    check "stress $rules, 2 devices" env CUDASIM_DELAY_US=100 CUDASIM_SYNC_GUARD=1 \
        LD_PRELOAD="$SHIM" GQSHIM_RULES="$rules" GQSHIM_VERIFY=1 GQSHIM_STATS="json:$TMP/stats.json" \
        $ST either 8 2
    v=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); r=j["rules"][0]; print(r["offloads"], r.get("verify", {}).get("offloads"), j["verify_unmeasured"])' "$TMP/stats.json")
    set -- $v
    [ $# -eq 3 ] && [ "$1" -ge 48 ] && [ "$2" = "$1" ] && [ "$3" = 0 ] \
        && ok "stress $rules: all $1 compressed offloads measured" \
        || bad "stress $rules: offloads, measured, unmeasured: $v"
done

# A rule whose dtype misreads the data (the example holds f16) is refused
# before it can be measured: every offload goes raw (the program sees exact
# data), counted as FOREIGN, said once on one line naming the rule, and
# verify's report lists the offloads as refused instead of an error figure.
# (offload_kv at 128 tokens: the same 16 tensors, of 1 MiB.)
for dt in bf16 f32; do
    rm -f "$TMP/stats.json"
    LD_PRELOAD=$SHIM GQSHIM_RULES="on=host,size=1M,name=kv,dtype=$dt" GQSHIM_VERIFY=1 \
        GQSHIM_STATS="json:$TMP/stats.json" $KV 128 >"$TMP/kv.out" 2>"$TMP/err" || bad "dtype=$dt: the program failed"
    grep -q "max abs error 0, NMSE 0" "$TMP/kv.out" && ok "dtype=$dt on f16 data: the program sees exact data" \
        || bad "dtype=$dt on f16 data: $(cat "$TMP/kv.out")"
    [ "$(grep -c "rule kv (dtype=$dt): a copy of 1048576 bytes does not hold $dt data" "$TMP/err")" = 1 ] \
        && ok "dtype=$dt: one line names the rule" || { bad "dtype=$dt: no single warning"; sed 's/^/     | /' "$TMP/err"; }
    [ "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); r=j["rules"][0]; print(j["passed_by_reason"]["FOREIGN"], r["offloads"], r.get("foreign_refused"), "verify" in r)' "$TMP/stats.json")" = "16 0 16 False" ] \
        && ok "dtype=$dt: 16 copies refused as FOREIGN, none compressed, none measured" \
        || bad "dtype=$dt: stats $(cat "$TMP/stats.json")"
done

# Off: no verify kernel runs, nothing reported.
with_shim "on=host,size=1M,name=kv" $KV 128 >/dev/null
[ "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["kernels"]["verify"]["launches"], "verify" in j["rules"][0], "verify_unmeasured" in j)' "$TMP/stats.json")" = "0 False False" ] \
    && ok "GQSHIM_VERIFY off: no verify kernel, no figures" || bad "GQSHIM_VERIFY off: verify ran or was reported"

# Without GQSHIM_STATS the error table alone is printed at exit.
LD_PRELOAD=$SHIM GQSHIM_RULES="on=host,size=4M,name=kv" GQSHIM_VERIFY=1 $KV 2>"$TMP/err" >/dev/null
# (per rule: offloads, restores, MiB, ratio, max abs error, NMSE; per tensor;
# the worst tensor and a guide)
grep -q '^    kv  *16  *48  *256.0  *72.[0-9]  *3.5[0-9]x  *0.16[0-9]*  *0.0052[0-9]$' "$TMP/err" &&
    grep -q '^  worst tensor: 0x[0-9a-f]* (rule kv), NMSE 0.0052' "$TMP/err" &&
    grep -q '^  guide: ' "$TMP/err" && ! grep -q 'copies intercepted' "$TMP/err" \
    && ok "GQSHIM_VERIFY=1 alone: the error table" || { bad "GQSHIM_VERIFY=1 alone"; sed 's/^/     | /' "$TMP/err"; }
finish

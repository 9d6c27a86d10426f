#!/bin/sh
# GQSHIM_VERIFY=1: the quantization error the shim measures on the GPU at each
# offload is the error the program itself sees in what comes back (offload_kv
# prints it, computed on the CPU against the exact values).
. tests/e2e/lib.sh
KV=$BUILD/examples/offload_kv

# verify_of BITS: runs offload_kv (128 tokens a layer: its 16 tensors of
# 1 MiB), prints "shim_max shim_nmse prog_max prog_nmse offloads".
verify_of() {
    rm -f "$TMP/stats.json"
    LD_PRELOAD=$SHIM GQSHIM_RULES="on=host,size=1M,bits=$1,name=kv" GQSHIM_VERIFY=1 \
        GQSHIM_STATS="json:$TMP/stats.json" $KV 128 >"$TMP/kv.out" || return 1
    python3 - "$TMP/stats.json" "$TMP/kv.out" <<'PY'
import json, re, sys
j = json.load(open(sys.argv[1]))
v = j["rules"][0]["verify"]
m = re.search(r"max abs error (\S+), NMSE (\S+)", open(sys.argv[2]).read())
print(v["max_abs_error"], v["nmse"], m.group(1), m.group(2), v["offloads"])
PY
}

# close A B REL: |A - B| <= REL * |B|
close() { python3 -c 'import sys; a, b, r = map(float, sys.argv[1:]); sys.exit(abs(a - b) > r * abs(b))' "$@"; }

for bits in 4 8; do
    set -- $(verify_of $bits)
    if [ $# -ne 5 ]; then
        bad "$bits-bit: no verify figures"
        continue
    fi
    [ "$5" -eq 16 ] && ok "$bits-bit: all 16 offloads measured" || bad "$bits-bit: $5 offloads measured, want 16"
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

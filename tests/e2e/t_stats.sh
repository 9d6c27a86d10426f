#!/bin/sh
# GQSHIM_STATS: the exit table (GQSHIM_STATS=1) and the JSON file
# (GQSHIM_STATS=json:PATH) of the same program say the same thing, field by
# field; the JSON parses; per-rule rows add up to the totals.
. tests/e2e/lib.sh
KV=$BUILD/examples/offload_kv
RULES='on=host,size=4M,name=kv;on=dev,min=1G,name=unused'

LD_PRELOAD=$SHIM GQSHIM_RULES=$RULES GQSHIM_STATS=1 GQSHIM_VERIFY=1 GQSHIM_LOG_FILE="$TMP/table.txt" \
    $KV >/dev/null || bad "offload_kv with GQSHIM_STATS=1"
LD_PRELOAD=$SHIM GQSHIM_RULES=$RULES GQSHIM_STATS="json:$TMP/stats.json" GQSHIM_VERIFY=1 \
    $KV >/dev/null || bad "offload_kv with GQSHIM_STATS=json"

if python3 - "$TMP/table.txt" "$TMP/stats.json" <<'PY'; then ok "text table and JSON agree, every field"; else bad "text table and JSON disagree"; sed 's/^/     | /' "$TMP/table.txt"; fi
import json, re, sys

text = open(sys.argv[1]).read().splitlines()
j = json.load(open(sys.argv[2]))   # must parse
errors = []
checked = set()

def same(key, t, v, tol=0.0):
    checked.add(key)
    if isinstance(v, float) or tol:
        good = abs(float(t) - float(v)) <= tol * max(1.0, abs(float(v)))
    else:
        good = int(t) == int(v)
    if not good:
        errors.append("%s: text %s, json %s" % (key, t, v))

def num(s):
    return s[:-1] if s.endswith("x") else s

labels = {
    "copies intercepted": "copies",
    "offloads compressed (D2H)": "offloads",
    "restores from compressed (H2D)": "restores",
    "passed through": "passed_through",
    "logical bytes (compressed copies)": "logical_bytes",
    "bytes moved (compressed copies)": "moved_bytes",
    "bytes moved (pass-through copies)": "passthrough_bytes",
    "host bytes held compressed": "host_bytes_held",
    "pinned store bytes (peak)": "pinned_peak_bytes",
    "groups kept raw (NaN/Inf)": "escaped_groups",
    "copies staged in device memory": "staged_copies",
    "copies zero-copy (no staging)": "zero_copy_copies",
    "compression ratio": "compression_ratio",
    "regions registered (device)": "regions_dev",
    "regions registered (host)": "regions_host",
    "PCIe bytes saved": "pcie_bytes_saved",
    "offloads not measured": "verify_unmeasured",
}
reasons = {
    "not a registered tensor": "NO_RULE", "direction not compressed (D2D, H2H)": "DIRECTION",
    "smaller than one page": "SMALL", "not aligned to elements / rows": "ALIGN",
    "stream capturing a graph": "CAPTURING", "store over GQSHIM_POOL_MAX": "BUDGET",
    "driver or kernel unavailable": "DRIVER",
    "copy-back of a range not held compressed": "NOT_HELD",
    "copy-back of a buffer written since offload": "WRITTEN",
    "copy-back spanning several entries or plain memory": "SPANS",
    "kernel launch failed": "LAUNCH", "too many NaN/Inf groups (copied raw)": "ESCAPES",
    "store adding pinned memory (copied raw meanwhile)": "GROWING",
}
section = None
seen_reasons = set()
rules_text, verify_text = {}, {}
for line in text:
    if line.startswith("gqshim: ") or not line.strip():
        continue
    m = re.match(r"^  (\S.*?)\s{2,}(\S+)$", line)
    if line.startswith("  kernels "):
        section = "kernels"; continue
    if line.startswith("  per rule "):
        section = "rules"; continue
    if line.startswith("  quantization error "):
        section = "verify"; continue
    if line.startswith("    ") and section == "reasons":
        m = re.match(r"^    (\S.*?)\s{2,}(\d+)$", line)
        key = reasons[m.group(1)]
        seen_reasons.add(key)
        same("passed_by_reason." + key, m.group(2), j["passed_by_reason"][key])
        continue
    if line.startswith("    ") and section == "kernels":
        name, launches, timed, ms = line.split()
        k = j["kernels"][name]
        same("kernels.%s.launches" % name, launches, k["launches"])
        same("kernels.%s.timed" % name, timed, k["timed"])
        checked.add("kernels.%s.ms" % name)   # time differs from run to run
        if (int(timed) > 0) != (float(ms) > 0) or (k["timed"] > 0) != (k["ms"] > 0):
            errors.append("kernels.%s: time without timed launches or the reverse" % name)
        continue
    if line.startswith("    ") and section == "rules":
        f = line.split()
        rules_text[f[0]] = f[1:]
        continue
    if line.startswith("    ") and section == "verify":
        f = line.split()
        verify_text[f[0]] = f[1:]
        continue
    if m and m.group(1) in labels:
        section = "reasons" if m.group(1) == "passed through" else "top"
        key = labels[m.group(1)]
        tol = 0.005 if key == "compression_ratio" else 0.0
        same(key, num(m.group(2)), j[key], tol)
        continue
    if section != "verify":
        errors.append("text line with no JSON counterpart: %r" % line)

for key, v in j["passed_by_reason"].items():
    if v and key not in seen_reasons:
        errors.append("passed_by_reason.%s=%d missing from the text" % (key, v))
    checked.add("passed_by_reason." + key)

fields = ["offloads", "restores", "logical_bytes", "moved_bytes", "compression_ratio", "pcie_bytes_saved"]
for r in j["rules"]:
    t = rules_text.pop(r["name"], None)
    if t is None:
        errors.append("rule %s missing from the text" % r["name"]); continue
    for f, tv in zip(fields, t):
        same("rules.%s.%s" % (r["name"], f), num(tv), r[f], 0.005 if f == "compression_ratio" else 0.0)
    v = r.get("verify")
    vt = verify_text.pop(r["name"], None)
    if (v is None) != (vt is None):
        errors.append("rule %s: verify in one output only" % r["name"]); continue
    if v:
        same("rules.%s.verify.offloads" % r["name"], vt[0], v["offloads"])
        same("rules.%s.verify.elements" % r["name"], vt[1], v["elements"])
        same("rules.%s.verify.max_abs_error" % r["name"], vt[2], v["max_abs_error"], 1e-5)
        same("rules.%s.verify.nmse" % r["name"], vt[3], v["nmse"], 1e-5)
    checked.add("rules.%s.name" % r["name"]); checked.add("rules.%s.on" % r["name"])
for name in list(rules_text) + list(verify_text):
    errors.append("rule %s in the text only" % name)

# Every JSON number was compared.
def leaves(o, p=""):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from leaves(v, p + ("." if p else "") + k)
    elif isinstance(o, list):
        for r in o:
            yield from leaves({kk: vv for kk, vv in r.items()}, p + "." + r["name"])
    else:
        yield p
for leaf in leaves(j):
    if leaf not in checked:
        errors.append("JSON field %s has no text counterpart" % leaf)

# The rows add up to the totals.
for f in ("offloads", "restores", "logical_bytes", "moved_bytes", "pcie_bytes_saved"):
    if sum(r[f] for r in j["rules"]) != j[f]:
        errors.append("rules' %s do not add up to the total" % f)
if [r["name"] for r in j["rules"]] != ["kv", "unused"]:
    errors.append("rules listed: %s" % [r["name"] for r in j["rules"]])
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY

expect_stat "per-rule program" offloads -eq 16
expect_stat "saved bytes" pcie_bytes_saved -eq "$(( $(stat logical_bytes) - $(stat moved_bytes) ))"
v=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["kernels"]["quantize"]["launches"], j["kernels"]["dequantize"]["launches"], j["kernels"]["verify"]["launches"], j["rules"][0]["restores"])' "$TMP/stats.json")
[ "$v" = "16 48 16 48" ] && ok "kernel launches: quantize, dequantize, verify; restores: $v" \
    || bad "kernel launches / restores: $v, want 16 48 16 48"
finish

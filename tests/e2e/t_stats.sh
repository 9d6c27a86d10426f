#!/bin/sh
# GQSHIM_STATS: the exit table (GQSHIM_STATS=1) and the JSON file
# (GQSHIM_STATS=json:PATH) of the same program say the same thing, field by
# field; the JSON parses; per-rule rows add up to the totals.
. tests/e2e/lib.sh
KV="$BUILD/examples/offload_kv 128" # 16 tensors of 1 MiB
RULES='on=host,size=1M,name=kv;on=dev,min=1G,name=unused'

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
MiB = 1048576.0

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

# label -> (JSON key, how the text shows it): int, mib (one decimal), x
# (two decimals), ms (one decimal), or None: differs from run to run (time).
labels = {
    "copies intercepted": ("copies", "int"),
    "offloads compressed (D2H)": ("offloads", "int"),
    "restores from compressed (H2D)": ("restores", "int"),
    "passed through": ("passed_through", "int"),
    "data carried compressed": ("logical_bytes", "mib"),
    "bytes moved for it": ("moved_bytes", "mib"),
    "compression ratio": ("compression_ratio", "x"),
    "PCIe bytes saved": ("pcie_bytes_saved", "mib"),
    "bytes of pass-through copies": ("passthrough_bytes", "mib"),
    "time in the shim's kernels": ("kernel_ms", None),
    "compressed copies (data / kernel time)": ("compressed_gbps", None),
    "PCIe time saved (estimate, 25 GB/s)": ("pcie_ms_saved_estimate", "ms"),
    "host memory held compressed (peak)": ("host_bytes_held_peak", "mib"),
    "plain size of what it held (peak)": ("host_plain_bytes_at_peak", "mib"),
    "host memory held compressed (at exit)": ("host_bytes_held", "mib"),
    "pinned store (peak)": ("pinned_peak_bytes", "mib"),
    "groups kept raw (NaN/Inf)": ("escaped_groups", "int"),
    "quantized again for more NaN/Inf": ("escape_retries", "int"),
    "copies staged in device memory": ("staged_copies", "int"),
    "copies zero-copy (no staging)": ("zero_copy_copies", "int"),
    "regions registered (device)": ("regions_dev", "int"),
    "regions registered (host)": ("regions_host", "int"),
    "offloads not measured": ("verify_unmeasured", "int"),
}

def compare(key, kind, t, v):
    if kind is None:
        checked.add(key)
    elif kind == "int":
        same(key, t, v)
    elif kind == "mib":
        same(key, t, v / MiB, 0.051 / max(1.0, v / MiB))
    elif kind == "x":
        same(key, num(t), v, 0.005)
    elif kind == "ms":
        same(key, t, v, 0.051 / max(1.0, abs(v)))

# The reasons' wording comes from the JSON's own map of its codes.
reasons = {text_: code for code, text_ in j["pass_reasons"].items()}
section = None
seen_reasons = set()
rules_text, tensors_text = {}, []
for line in text:
    if line.startswith("gqshim: ") or not line.strip():
        continue
    if line.startswith("  kernels "):
        section = "kernels"; continue
    if line.startswith("  per rule "):
        section = "rules"; continue
    m = re.match(r"^  tensors: top (\d+) of (\d+) by data", line)
    if m:
        section = "tensors"
        same("tensors_total", m.group(2), j["tensors_total"])
        continue
    if line.startswith("    host address"):
        continue
    if line.startswith("  worst tensor:") or line.startswith("  guide:") or line.startswith("  2e-5"):
        continue
    m = re.match(r"^  status\s{2,}(.*)$", line)
    if m:
        checked.add("status")
        if m.group(1) != j["status"]:
            errors.append("status: text %r, json %r" % (m.group(1), j["status"]))
        continue
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
    if line.startswith("    ") and section == "tensors":
        tensors_text.append(line.split())
        continue
    m = re.match(r"^  (\S.*?)\s{2,}(\S+)(?: (MiB|ms|GB/s))?$", line)
    if m and m.group(1) == "host mode":   # a word, not a number
        checked.add("host_mode")
        if m.group(2) != j["host_mode"]:
            errors.append("host_mode: text %s, json %s" % (m.group(2), j["host_mode"]))
        continue
    if m and m.group(1) in labels:
        section = "reasons" if m.group(1) == "passed through" else "top"
        key, kind = labels[m.group(1)]
        compare(key, kind, m.group(2), j[key])
        continue
    errors.append("text line with no JSON counterpart: %r" % line)

for key, v in j["passed_by_reason"].items():
    if v and key not in seen_reasons:
        errors.append("passed_by_reason.%s=%d missing from the text" % (key, v))
    checked.add("passed_by_reason." + key)
for key, v in j["kernels"].items():
    if v["launches"] == 0:    # spill and verify rows appear only when they ran
        for f in ("launches", "timed", "ms"):
            checked.add("kernels.%s.%s" % (key, f))

fields = [("offloads", "int"), ("restores", "int"), ("logical_bytes", "mib"),
          ("moved_bytes", "mib"), ("compression_ratio", "x")]
for r in j["rules"]:
    t = rules_text.pop(r["name"], None)
    if t is None:
        errors.append("rule %s missing from the text" % r["name"]); continue
    for (f, kind), tv in zip(fields, t):
        compare("rules.%s.%s" % (r["name"], f), kind, tv, r[f])
    # The table leaves the saving out of the row (data - moved): the JSON's
    # must be exactly that.
    same("rules.%s.pcie_bytes_saved" % r["name"], r["logical_bytes"] - r["moved_bytes"],
         r["pcie_bytes_saved"])
    v = r.get("verify")
    if v:
        same("rules.%s.verify.max_abs_error" % r["name"], t[5], v["max_abs_error"], 1e-3)
        same("rules.%s.verify.nmse" % r["name"], t[6], v["nmse"], 1e-2)
        checked.add("rules.%s.verify.offloads" % r["name"])
        checked.add("rules.%s.verify.elements" % r["name"])
    checked.add("rules.%s.name" % r["name"]); checked.add("rules.%s.on" % r["name"])
for name in rules_text:
    errors.append("rule %s in the text only" % name)

# Tensors: the addresses differ from run to run, the rows do not.
def trow(t):
    return (round(float(t[1]), 1), t[2], int(t[3]), int(t[4]), num(t[5]))
jt = sorted((round(x["bytes"] / MiB, 1), x["rule"], x["offloads"], x["restores"],
             "%.2f" % x["compression_ratio"]) for x in j["tensors"])
if sorted(trow(t) for t in tensors_text) != jt:
    errors.append("tensor rows differ: text %s, json %s" % (sorted(trow(t) for t in tensors_text), jt))
if len(j["tensors"]) != min(8, j["tensors_total"]):
    errors.append("tensors listed: %d of %d" % (len(j["tensors"]), j["tensors_total"]))

# Every JSON number was compared, except what describes the run itself.
meta = {"schema", "schema_version", "gqshim_version", "pid", "argv", "started", "ended", "wall_s",
        "ended_by", "complete", "tensors_untracked", "pcie_gbps_assumed"}
def leaves(o, p=""):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from leaves(v, p + ("." if p else "") + k)
    elif isinstance(o, list):
        for r in o:
            if isinstance(r, dict):
                yield from leaves(r, p + "." + str(r.get("name", "")))
            else:
                yield p
    else:
        yield p
for leaf in leaves(j):
    top = leaf.split(".")[0]
    if leaf not in checked and top not in meta and top not in ("settings", "pass_reasons", "tensors", "argv"):
        errors.append("JSON field %s has no text counterpart" % leaf)

# The run described: version, pid, argv, settings, timestamps.
if j["schema"] != "gqshim-stats" or j["schema_version"] != 2 or not j["complete"]:
    errors.append("schema: %s %s" % (j["schema"], j["schema_version"]))
if not j["argv"] or not j["argv"][0].endswith("offload_kv"):
    errors.append("argv: %s" % j["argv"])
if j["settings"].get("GQSHIM_RULES") != "on=host,size=1M,name=kv;on=dev,min=1G,name=unused":
    errors.append("settings.GQSHIM_RULES: %s" % j["settings"].get("GQSHIM_RULES"))
if not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", j["started"]) or j["ended"] < j["started"]:
    errors.append("timestamps: %s %s" % (j["started"], j["ended"]))
if j["ended_by"] != "exit" or j["pid"] <= 0 or j["wall_s"] <= 0:
    errors.append("ended_by/pid/wall: %s %s %s" % (j["ended_by"], j["pid"], j["wall_s"]))

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

#!/bin/sh
# README's variable table is the one the option table generates.
BUILD=${BUILD:-build}
want=$("$BUILD/gq-options-md")
have=$(sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' README.md | sed '1d;$d')
if [ "$want" = "$have" ]; then
    echo "README variable table matches policy/gq_options.h"
else
    echo "README variable table differs from build/gq-options-md:"
    printf '%s\n' "$want" >"${TMPDIR:-/tmp}/gq-want.$$"
    printf '%s\n' "$have" | diff "${TMPDIR:-/tmp}/gq-want.$$" - || true
    rm -f "${TMPDIR:-/tmp}/gq-want.$$"
    exit 1
fi
grep -q 'make test' README.md && grep -q 'make demo' README.md || { echo "README lacks the two commands"; exit 1; }

# The quick start works as written on this machine (no GPU: its --cudasim),
# and examples/README.md's outputs are what the commands print today: each
# line quoted after a "$ command" appears in the command's output, in order
# (pids, addresses and times aside; "..." skips lines).
python3 - "$BUILD" <<'PY'
import os, re, subprocess, sys

build = sys.argv[1]
errors = []
cache = {}

def run(cmd, env_extra):
    key = (cmd, tuple(sorted(env_extra.items())))
    if key not in cache:
        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)
        env.pop("LD_PRELOAD", None)
        env.update(env_extra)
        p = subprocess.run(["sh", "-c", cmd], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300)
        cache[key] = (p.returncode, p.stdout)
    return cache[key]

def norm(line):
    line = re.sub(r"gqshim\[\d+\]", "gqshim[PID]", line)
    line = re.sub(r"^gqshim: stats for pid \d+, [\d.]+ s", "gqshim: stats for pid PID, T s", line)
    line = re.sub(r"0x[0-9a-f]+", "0xADDR", line)
    line = re.sub(r"^(  time in the shim's kernels\s+)[\d.]+ ms", r"\1T ms", line)
    line = re.sub(r"^(  compressed copies \(data / kernel time\)\s+)[\d.]+ GB/s", r"\1R GB/s", line)
    line = re.sub(r"^(    (?:quantize|dequantize|spill|verify)\s+\d+\s+\d+\s+)[\d.]+$", r"\1T", line)
    return re.sub(r" +", " ", line.rstrip())  # column widths follow the masked figures

readme = open("README.md").read()
qs = readme[readme.index("## Quick start"):]
qs = qs[qs.index("```sh\n") + 6:]
qs = qs[:qs.index("```")]
qlines = [l for l in qs.splitlines() if l.startswith("build/gqrun")]
if len(qlines) != 4:
    errors.append("quick start: %d gqrun lines, want 4" % len(qlines))
for cmd in qlines:
    rc, out = run(cmd, {})
    if rc != 0:
        errors.append("quick start: exit %d: %s\n%s" % (rc, cmd, out[-600:]))
    elif "--trace" in cmd:
        m = re.search(r"suggested: GQSHIM_RULES='([^']*)'", out)
        used = re.search(r"--rules='([^']*)'", qlines[1]).group(1)
        if not m or m.group(1).replace("host_offload", "kv") != used:
            errors.append("quick start: trace suggests %s, the next steps use %s" % (m and m.group(1), used))
    elif "gqshim: stats" not in out or not re.search(r"offloads compressed \(D2H\)\s+16\n", out):
        errors.append("quick start: no table with 16 offloads: %s\n%s" % (cmd, out[-600:]))
    print("quick start ok: " + cmd)

ex = open("examples/README.md").read()
blocks = re.findall(r"```\n(\$ [^\n]*\n.*?)```", ex, re.S)
for b in blocks:
    lines = b.rstrip("\n").split("\n")
    cmd = lines[0][2:]
    rc, out = run(cmd, {"LD_LIBRARY_PATH": build + "/cudasim"})
    got = [norm(l) for l in out.splitlines()]
    at, missing = 0, None
    for want in lines[1:]:
        if want == "...":
            continue
        w = norm(want)
        while at < len(got) and got[at] != w:
            at += 1
        if at == len(got):
            missing = want
            break
        at += 1
    if rc != 0 or missing is not None:
        errors.append("examples/README.md: '%s' (exit %d) no longer prints: %s" % (cmd, rc, missing))
    else:
        print("examples/README ok: %s (%d lines)" % (cmd, len(lines) - 1))
for e in errors:
    print("FAIL " + e)
sys.exit(1 if errors else 0)
PY

#!/usr/bin/env python3
"""Refresh the outputs quoted in examples/README.md after a change of figures.

Each fenced block there starts with "$ command" and quotes lines of its output
(tests/t_readme.sh checks that they still appear, in order). For every quoted
line that no longer appears, this runs the command and puts in its place the
next output line of the same shape (the same words, other numbers). Lines
whose shape changed are listed, not guessed: edit those by hand.

    PATH=$PWD/build:$PATH BUILD=build tests/tools/readme-regen.py
"""
import os
import re
import subprocess
import sys

build = os.environ.get("BUILD", "build")
path = "examples/README.md"


def norm(line):
    line = re.sub(r"gqshim\[\d+\]", "gqshim[PID]", line)
    line = re.sub(r"^gqshim: stats for pid \d+, [\d.]+ s", "gqshim: stats for pid PID, T s", line)
    line = re.sub(r"0x[0-9a-f]+", "0xADDR", line)
    return re.sub(r" +", " ", line.rstrip())


def shape(line):
    return re.sub(r"[-+]?\d[\d.e+-]*", "N", norm(line))


def refresh(block):
    lines = block.rstrip("\n").split("\n")
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env["LD_LIBRARY_PATH"] = build + "/cudasim"
    out = subprocess.run(["sh", "-c", lines[0][2:]], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=300).stdout.splitlines()
    at = 0
    for i, want in enumerate(lines[1:], 1):
        if want == "...":
            continue
        j = next((k for k in range(at, len(out)) if norm(out[k]) == norm(want)), None)
        if j is None:
            j = next((k for k in range(at, len(out)) if shape(out[k]) == shape(want)), None)
            if j is None:
                print("by hand: %s: %s" % (lines[0], want), file=sys.stderr)
                continue
            lines[i] = out[j]
        at = j + 1
    return "\n".join(lines) + "\n"


text = open(path).read()
new = re.sub(r"(```\n)(\$ [^\n]*\n)(.*?)(```)",
             lambda m: m.group(1) + refresh(m.group(2) + m.group(3)) + m.group(4), text, flags=re.S)
if new != text:
    open(path, "w").write(new)
    print("%s: refreshed" % path)

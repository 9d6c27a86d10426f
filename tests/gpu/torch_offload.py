#!/usr/bin/env python3
"""PyTorch, unmodified, under the gqshim preload (step 5 of tests/gpu/run.sh).

    python3 tests/gpu/torch_offload.py --shim build/libgqshim.so

Each part runs in a child process, once without the shim and once with it
(LD_PRELOAD must be in place before the CUDA runtime loads):

roundtrip  fp16 tensors to pinned CPU memory and back with non_blocking=True,
           as offloading code moves them (copy_ into a pinned buffer, and
           .to("cpu", non_blocking=True)). Without the shim the round trip is
           exact; with it every element lies within the 4-bit bound of
           kernels/gq_format.h (groups of 64 along the flat tensor), the host
           copy too, and GQSHIM_STATS=json shows compressed copies.
generate   a small Llama built from a config with random weights (nothing is
           downloaded), greedy decoding of 64 new tokens with the KV cache
           offloaded (cache_implementation="offloaded"); the fraction of
           tokens that agree with and without the shim, and the shim's stats.
           Skipped when transformers is absent.

Prints `torch: ...` lines and ends with `torch: verdict: ...`; exit 0 when
every part that could run passed (token agreement is a figure, not a test).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

RULES = {"roundtrip": "on=host,min=1M", "generate": "on=host,min=64K"}
GROUP = 64


def say(*words):
    print("torch:", *words, flush=True)


# ---- children (run in a fresh interpreter) ---------------------------------------------
def loaded_libs():
    """The CUDA runtime and the shim as this process mapped them."""
    with open("/proc/self/maps") as maps:
        return sorted({line.split()[-1] for line in maps if "libcudart" in line or "libgqshim" in line})


def outside_bound(x, y):
    """Elements of y outside the fp16 4-bit bound around x, and the largest error.

    Bound (gq_format.h): |y - x| <= step_s / 2 + ulp(y), step_s = (max - min) / 15
    rounded up to fp16 (at most 2^-10 relative, plus 2^-24 for a subnormal step)."""
    import torch

    a = x.detach().reshape(-1, GROUP).float()
    b = y.detach().to(x.device).reshape(-1, GROUP).float()
    step = (a.amax(1, keepdim=True) - a.amin(1, keepdim=True)) / 15
    step_s = step * (1 + 2.0**-10) + 2.0**-24
    ulp = torch.exp2(torch.floor(torch.log2(b.abs().clamp(min=2.0**-14))) - 10)
    err = (b - a).abs()
    return int((err > step_s / 2 + ulp).sum()), float(err.max())


def child_roundtrip():
    import torch

    torch.manual_seed(0)
    dev = torch.device("cuda")
    rows = []
    for i, shape in enumerate([(4096, 1024), (64, 512, 128), (2, 8, 1024, 64)]):
        x = (torch.randn(shape, device=dev) * 10.0 ** (i - 1)).half()
        pinned = torch.empty(shape, dtype=torch.float16, pin_memory=True)
        pinned.copy_(x, non_blocking=True)  # offload into a pinned buffer
        moved = x.to("cpu", non_blocking=True)  # PyTorch pins this one itself
        torch.cuda.synchronize()
        back1 = pinned.to(dev, non_blocking=True)  # restore
        back2 = torch.empty_like(x)
        back2.copy_(moved, non_blocking=True)
        torch.cuda.synchronize()
        exact_host = x.cpu()  # a blocking copy into pageable memory, which no rule names
        for path, y, ref in (("copy_ into pinned, back", back1, x), (".to(cpu) and back", back2, x),
                             ("host copy as the CPU reads it", pinned, exact_host)):
            bad, err = outside_bound(ref, y)
            rows.append({"shape": list(shape), "path": path, "exact": bool(torch.equal(ref, y.to(ref.device))),
                         "outside": bad, "max_err": err})
        rows[-2]["pinned"] = bool(moved.is_pinned())
    return {"rows": rows, "libs": loaded_libs(), "torch": torch.__version__}


def offloaded_generate(model, ids, **kw):
    """Greedy generation with the KV cache offloaded to CPU, in whichever
    spelling this transformers version accepts. Returns (output, spelling)."""
    import transformers

    try:
        return model.generate(ids, cache_implementation="offloaded", **kw), 'cache_implementation="offloaded"'
    except Exception as first:  # noqa: BLE001 - try the other spellings, then report the first error
        error = first
    tries = [("DynamicCache(config, offloading=True)",
              lambda: transformers.DynamicCache(config=model.config, offloading=True)),
             ("DynamicCache(offloading=True)", lambda: transformers.DynamicCache(offloading=True)),
             ("OffloadedCache()", lambda: transformers.OffloadedCache())]
    for spelling, make in tries:
        try:
            return model.generate(ids, past_key_values=make(), **kw), spelling
        except Exception:  # noqa: BLE001
            continue
    raise error


def child_generate():
    import torch

    try:
        import transformers
        from transformers import LlamaConfig, LlamaForCausalLM
    except Exception as e:  # noqa: BLE001
        return {"skipped": "transformers cannot be imported: %s" % e}
    cfg = LlamaConfig(vocab_size=4096, hidden_size=512, intermediate_size=1376, num_hidden_layers=4,
                      num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=2048,
                      bos_token_id=1, eos_token_id=2, pad_token_id=0)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).to(device="cuda", dtype=torch.float16).eval()
    prompt = torch.randint(3, cfg.vocab_size, (4, 256), generator=torch.Generator().manual_seed(1)).cuda()
    start = time.time()
    with torch.no_grad():
        out, spelling = offloaded_generate(model, prompt, attention_mask=torch.ones_like(prompt),
                                           max_new_tokens=64, min_new_tokens=64, do_sample=False,
                                           pad_token_id=0, return_dict_in_generate=True)
    torch.cuda.synchronize()
    seconds = time.time() - start
    return {"tokens": out.sequences[:, prompt.shape[1]:].tolist(), "seconds": seconds, "cache": spelling,
            "cache_class": type(getattr(out, "past_key_values", None)).__name__,
            "transformers": transformers.__version__, "libs": loaded_libs()}


# ---- parent ---------------------------------------------------------------------------
def run_child(part, shim, timeout):
    """Runs a part in a child; returns (result dict or None, stats dict or None, note)."""
    env = dict(os.environ)
    stats_path = None
    if shim:
        stats_path = os.path.join(tempfile.mkdtemp(prefix="gqtorch"), "stats.json")
        env["LD_PRELOAD"] = shim + (":" + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else "")
        env["GQSHIM_RULES"] = RULES[part]
        env["GQSHIM_STATS"] = "json:" + stats_path
    try:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", part], env=env,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, "timed out after %ds" % timeout
    result = None
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    stats = None
    if stats_path and os.path.exists(stats_path):
        with open(stats_path) as f:
            stats = json.load(f)
    note = "exit %d" % p.returncode
    if p.returncode != 0 or result is None:
        note += "; stderr: " + " | ".join(p.stderr.strip().splitlines()[-6:])
    return result, stats, note


def stats_line(stats):
    if not stats:
        return "no stats file (the shim did not load, or the child died)"
    return "offloads=%s restores=%s passed_through=%s ratio=%s" % (
        stats.get("offloads"), stats.get("restores"), stats.get("passed_through"), stats.get("compression_ratio"))


def show_stats(stats):
    for key, value in (stats or {}).items():
        if isinstance(value, dict):
            value = ", ".join("%s=%s" % kv for kv in value.items() if kv[1]) or "none"
        say("  stats %-20s %s" % (key, value))


def part_roundtrip(shim, timeout):
    plain, _, note_p = run_child("roundtrip", None, timeout)
    shimmed, stats, note_s = run_child("roundtrip", shim, timeout)
    ok = True
    if not plain:
        say("roundtrip without the shim failed:", note_p)
        ok = False
    else:
        exact = all(r["exact"] for r in plain["rows"])
        say("roundtrip without the shim: %s (torch %s; %s)" % ("exact" if exact else "NOT EXACT", plain["torch"],
                                                              ", ".join(plain["libs"])))
        ok &= exact
    if not shimmed:
        say("roundtrip with the shim failed:", note_s)
        return False, "roundtrip FAIL (%s)" % note_s
    for r in shimmed["rows"]:
        say("  %-16s %-30s exact=%d outside_bound=%d max_abs_err=%.4g%s" % (
            "x".join(map(str, r["shape"])), r["path"], r["exact"], r["outside"], r["max_err"],
            "" if "pinned" not in r else " pinned=%d" % r["pinned"]))
    say("roundtrip with the shim: %s; loaded: %s" % (stats_line(stats), ", ".join(shimmed["libs"])))
    within = all(r["outside"] == 0 for r in shimmed["rows"])
    compressed = bool(stats) and stats.get("offloads", 0) > 0 and stats.get("restores", 0) > 0
    ok &= within and compressed
    return ok, "roundtrip %s (%s, %s)" % ("ok" if ok else "FAIL", "within the bound" if within else "OUTSIDE the bound",
                                          "compressed" if compressed else "NOT compressed")


def part_generate(shim, timeout):
    plain, _, note_p = run_child("generate", None, timeout)
    if plain and "skipped" in plain:
        say("generate: skipped:", plain["skipped"])
        return True, "generate skipped (no transformers)"
    if not plain:
        say("generate without the shim failed:", note_p)
        return False, "generate FAIL without the shim"
    say("generate without the shim: transformers %s, %s (%s), %.1fs for 4 x 64 tokens" % (
        plain["transformers"], plain["cache"], plain["cache_class"], plain["seconds"]))
    shimmed, stats, note_s = run_child("generate", shim, timeout)
    if not shimmed:
        say("generate with the shim failed:", note_s)
        show_stats(stats)
        return False, "generate FAIL with the shim (%s)" % note_s
    a, b = plain["tokens"], shimmed["tokens"]
    same = sum(x == y for ra, rb in zip(a, b) for x, y in zip(ra, rb))
    total = sum(len(r) for r in a)
    diverge = [next((i for i, (x, y) in enumerate(zip(ra, rb)) if x != y), None) for ra, rb in zip(a, b)]
    say("generate with the shim: %.1fs; tokens agreeing %d/%d = %.3f; first divergence per sequence %s" % (
        shimmed["seconds"], same, total, same / max(total, 1), diverge))
    say("generate with the shim: %s" % stats_line(stats))
    show_stats(stats)
    compressed = bool(stats) and stats.get("offloads", 0) > 0
    return compressed, "generate %s (agreement %.3f, %s)" % ("ok" if compressed else "FAIL", same / max(total, 1),
                                                             "KV compressed" if compressed else "KV NOT compressed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shim", default="build/libgqshim.so")
    ap.add_argument("--timeout", type=int, default=90, help="seconds per child process")
    ap.add_argument("--child", choices=sorted(RULES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        result = child_roundtrip() if args.child == "roundtrip" else child_generate()
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    shim = os.path.abspath(args.shim)
    if not os.path.exists(shim):
        say("verdict: FAIL, no shim at", shim)
        return 1
    ok1, v1 = part_roundtrip(shim, args.timeout)
    ok2, v2 = part_generate(shim, args.timeout)
    say("verdict: %s; %s" % (v1, v2))
    return 0 if ok1 and ok2 else 1


if __name__ == "__main__":
    sys.exit(main())

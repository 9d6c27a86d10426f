#!/usr/bin/env python3
"""Where a staged copy's time goes: one 1 GiB fp16 offload and restore under
the shim, traced by CUPTI through torch.profiler (step 4 of tests/gpu/run.sh).

    LD_PRELOAD=build/libgqshim.so GQSHIM_RULES=on=host,min=1M python3 tests/gpu/timeline.py

CUPTI records every kernel, memset and copy of the process on every stream,
the shim's own lanes too. For each copy this prints the span of its GPU
work, the number and total time of each kind of activity per stream, and
the idle time between consecutive DMAs on the DMA's stream (the copy
engine waiting for the next segment's kernel, or for events):

    timeline: offload span_ms=.. dma=N dma_busy_ms=.. dma_gaps_ms=.. dma_gap_max_us=.. kernels=N kernel_ms=..
    timeline: offload stream 13: gq_quantize x108 4.1 ms; ...

Without the shim the same copy is one DMA (a reference line is printed as
`timeline: plain ...` when GQSHIM_RULES is unset). Exit 0 when it ran.
"""
import json
import os
import sys
import tempfile


def activities(trace_path):
    """GPU activities of a Chrome trace from torch.profiler: (kind, name,
    stream, start_us, dur_us). Kinds: kernel, memcpy, memset."""
    with open(trace_path) as f:
        trace = json.load(f)
    out = []
    for ev in trace.get("traceEvents", []):
        cat = str(ev.get("cat", "")).lower()
        args = ev.get("args") or {}
        if ev.get("ph") != "X" or "stream" not in args:
            continue
        if cat == "kernel":
            kind = "kernel"
        elif "memcpy" in cat:
            kind = "memcpy"
        elif "memset" in cat:
            kind = "memset"
        else:
            continue
        out.append((kind, str(ev.get("name", "?")), args["stream"], float(ev["ts"]), float(ev.get("dur", 0.0))))
    return sorted(out, key=lambda a: a[3])


def summary(label, acts, dma_name):
    """One line for the copy, one per stream."""
    if not acts:
        print("timeline: %s: no GPU activity recorded" % label)
        return
    start = min(a[3] for a in acts)
    end = max(a[3] + a[4] for a in acts)
    dmas = [a for a in acts if a[0] == "memcpy" and dma_name in a[1]]
    kernels = [a for a in acts if a[0] == "kernel"]
    gaps = []
    by_stream = {}
    for a in dmas:
        by_stream.setdefault(a[2], []).append(a)
    for lst in by_stream.values():
        for prev, nxt in zip(lst, lst[1:]):
            gaps.append(max(0.0, nxt[3] - (prev[3] + prev[4])))
    print("timeline: %s span_ms=%.3f dma=%d dma_busy_ms=%.3f dma_gaps_ms=%.3f dma_gap_max_us=%.1f "
          "kernels=%d kernel_ms=%.3f first_dma_at_us=%.1f" % (
              label, (end - start) / 1e3, len(dmas), sum(a[4] for a in dmas) / 1e3, sum(gaps) / 1e3,
              max(gaps) if gaps else 0.0, len(kernels), sum(a[4] for a in kernels) / 1e3,
              (dmas[0][3] - start) if dmas else -1.0))
    streams = {}
    for a in acts:
        key = (a[2], a[0], a[1].split("(")[0][:40])
        n, t = streams.get(key, (0, 0.0))
        streams[key] = (n + 1, t + a[4])
    for (stream, kind, name), (n, t) in sorted(streams.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        print("timeline: %s stream %s: %s %s x%d %.3f ms" % (label, stream, kind, name, n, t / 1e3))


def main():
    import torch
    from torch.profiler import ProfilerActivity, profile

    if not torch.cuda.is_available():
        print("timeline: no CUDA device")
        return 1
    n = 512 * 1024 * 1024  # 1 GiB of fp16
    x = torch.randn(n, device="cuda", dtype=torch.float16)
    pinned = torch.empty(n, dtype=torch.float16, pin_memory=True)
    back = torch.empty_like(x)
    for _ in range(2):  # warm-up: staging, streams, the first segments
        pinned.copy_(x, non_blocking=True)
        torch.cuda.synchronize()
        back.copy_(pinned, non_blocking=True)
        torch.cuda.synchronize()
    label = "shim" if os.environ.get("GQSHIM_RULES") else "plain"
    traces = {}
    for what in ("offload", "restore"):
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            if what == "offload":
                pinned.copy_(x, non_blocking=True)
            else:
                back.copy_(pinned, non_blocking=True)
            torch.cuda.synchronize()
        path = os.path.join(tempfile.mkdtemp(prefix="gqtl"), what + ".json")
        prof.export_chrome_trace(path)
        traces[what] = path
    summary("%s offload" % label, activities(traces["offload"]), "DtoH")
    summary("%s restore" % label, activities(traces["restore"]), "HtoD")
    err = (back.float() - x.float()).abs().max().item()
    print("timeline: %s round trip max_abs_err=%.4g" % (label, err))
    return 0


if __name__ == "__main__":
    sys.exit(main())

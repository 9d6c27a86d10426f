#!/bin/sh
# gpu-kit: yes (tests/gpu/run.sh runs it on the real CUDA stack)
# Review findings, each a case that failed before its fix (tests/e2e/regress.c).
. tests/e2e/lib.sh
P=$BUILD/e2e/regress
for c in badcopy badfree unreg; do
    check "$c, no shim" $P $c exact
    check "$c, shim-owned buffer" with_shim "on=host" $P $c quant
    check "$c, program-owned buffer" with_shim "on=dev,nth=1" $P $c quant
done
check "leak: freed pinned buffers" with_shim "on=dev,nth=1" $P leak exact
# Forty live blocks from one reserved tensor: the store grows behind the
# copies (never on their path), so a copy may find it still growing and go
# raw, counted; none is lost.
grown=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["offloads"] + d["passed_by_reason"]["GROWING"])' "$TMP/stats.json")
[ "$grown" -eq 40 ] && ok "leak: 40 offloads compressed or counted as store growing" ||
    bad "leak: $grown offloads compressed or counted as store growing, want 40"
expect_stat "leak: freed pinned buffers" offloads -ge 30
expect_stat "leak: freed pinned buffers" host_bytes_held -eq 0
check "async H2D behind a queued offload, no shim" $P async exact
check "async H2D behind a queued offload" with_shim "on=dev,nth=1" $P async quant
check "independent restores, no shim" $P indep exact
check "independent restores, program-owned" with_shim "on=dev,nth=1" $P indep quant
check "independent restores, shim-owned" with_shim "on=host" $P indep quant
expect_stat "independent restores, shim-owned" restores -eq 2
# Two devices (skipped on the real stack where the runtime shows one).
check "cross-device copies" with_shim "on=dev" $P xdev exact &&
    expect_stat "cross-device copies" offloads -eq 0
finish

#!/bin/sh
# Many threads x many streams x 2 devices offloading and restoring at once
# (rel_stress): the program's own data checks against the codec oracle,
# with and without the shim, with every stream operation delayed.
. tests/e2e/lib.sh
ST=$BUILD/e2e/rel_stress
# Fewer rounds under a sanitizer (REL_SCALE=small): the same interleavings,
# a fraction of the time.
if [ "${REL_SCALE:-}" = small ]; then T=4 R=2; else T=8 R=4; fi

check "no shim: exact" $ST exact $T $R
for rule in on=host,size=256K on=dev,size=256K; do
    check "$rule" with_shim "$rule" $ST quant $T $R
    expect_stat "$rule" offloads -eq $((T * (R * 3 + R / 2)))
    expect_stat "$rule" restores -ge $((T * R * 3))
    check "$rule, delayed streams" env CUDASIM_DELAY_US=300 LD_PRELOAD="$SHIM" \
        GQSHIM_RULES="$rule" $ST quant $T $R
done
# Both kinds of rule at once: a device tensor offloaded into a shim-owned buffer.
check "on=dev and on=host together" with_shim "on=dev,size=256K;on=host,size=256K" $ST quant $T $R
# No rule matches: the shim is in the way of every call and must change nothing.
check "unmatched rule: exact" with_shim "on=host,size=1G" $ST exact $T $R
expect_stat "unmatched rule" offloads -eq 0
finish

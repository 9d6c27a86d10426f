#!/bin/sh
# Every host mode (shim/base/gq_mode.h), in the environments that give it:
# root (full), an unprivileged user with vm.unprivileged_userfaultfd=0
# (tracked), a seccomp filter refusing userfaultfd(2) and kernels without
# asynchronous write protection or PAGEMAP_SCAN (checksum; the last two by
# the GQTEST_DENY fault-injection knob), and GQSHIM_HOST_MODE=untracked.
# Each run checks exact data after every kind of host access (tests/e2e/modes.c),
# the copy-backs served compressed, the start-up line and the stats' mode;
# examples/offload_kv must serve at least 95% of its copy-backs compressed
# (its 16 tensors at 128 tokens a layer, 1 MiB each: the same copies, a
# quarter of the data of its default).
. tests/e2e/lib.sh
P=$BUILD/e2e/modes
KV="$BUILD/examples/offload_kv 128"
NOUFD=$BUILD/tools/noufd
# An unprivileged user must write the stats file.
chmod 711 "$TMP"
mkdir -p "$TMP/w" && chmod 777 "$TMP/w"
STATS=$TMP/w/stats.json
ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1
# as_nobody COMMAND...: as uid/gid 65534 when root, else as we are.
as_nobody() {
    if [ $ROOT = 1 ]; then
        setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"
    else
        "$@"
    fi
}

# run_mode NAME MODE LAUNCH...: run modes.c (pinned and pageable buffers)
# and offload_kv under LAUNCH with the shim; MODE is the mode expected.
run_mode() {
    name=$1 mode=$2
    shift 2
    for host in pinned pageable; do
        rules="on=host,size=1M"
        [ $host = pageable ] && rules="on=dev,nth=1"
        rm -f "$STATS"
        if "$@" env LD_PRELOAD="$SHIM" GQSHIM_RULES="$rules" GQSHIM_STATS="json:$STATS" \
            $P $host quant >"$TMP/out" 2>&1; then
            ok "$name, $host buffers: exact data after every access"
        else
            bad "$name, $host buffers: exit $?"
            sed 's/^/     | /' "$TMP/out" | tail -20
            continue
        fi
        cp "$STATS" "$TMP/stats.json" 2>/dev/null
        expect_stat "$name, $host" host_mode = "$mode"
        # Write protection sees a store of the same value, checksums do not:
        # 4 compressed copy-backs tell that checksums served them.
        want=3 how="by write protection"
        [ "$mode" = checksum ] && want=4 how="by checksums"
        [ "$mode" = untracked ] && want=0 how="none"
        expect_stat "$name, $host: untouched, read and write(2)-from buffers restored compressed, $how" \
            restores -eq $want
        if [ "$mode" = full ]; then
            if grep -q "host mode" "$TMP/out"; then bad "$name: a mode line at full"; else ok "$name: no mode line at full"; fi
        elif [ "$(grep -c "warning: host mode $mode (not full): .*; for full: " "$TMP/out")" = 1 ]; then
            ok "$name, $host: one start-up line naming the mode, the reason and the fix"
        else
            bad "$name, $host: start-up line"
            sed 's/^/     | /' "$TMP/out" | tail -5
        fi
    done
    rm -f "$STATS"
    if "$@" env LD_PRELOAD="$SHIM" GQSHIM_RULES='on=host,min=1M,name=kv' \
        GQSHIM_STATS="json:$STATS" $KV >"$TMP/out" 2>&1; then
        cp "$STATS" "$TMP/stats.json"
        [ "$mode" = untracked ] || expect_stat "$name: offload_kv copy-backs compressed (>= 46 of 48)" restores -ge 46
    else
        bad "$name: offload_kv exit $?"
        sed 's/^/     | /' "$TMP/out" | tail -10
    fi
}

# What this machine allows (the probe of gqrun --check): the modes below
# are expected relative to it, so that a CI machine that is itself a
# container still checks every rung it can reach.
GQRUN=$BUILD/gqrun
here=$($GQRUN --check | sed -n 's/^host mode: //p')
here_nobody=$(as_nobody $GQRUN --check | sed -n 's/^host mode: //p')
no_kernel=$here
[ "$here" = full ] && no_kernel=tracked
echo "this machine: host mode $here as $(id -un), $here_nobody unprivileged"
# Where nothing stands in the way (Linux 6.7+, no seccomp filter, not gVisor),
# root must get full and an unprivileged user tracked (full with the sysctl at 1).
kv=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
if [ "$kv" -ge 6007 ] && [ "$(awk '/^Seccomp:/ { print $2 }' /proc/self/status)" = 0 ] &&
    [ -e /proc/sys/vm/unprivileged_userfaultfd ]; then
    want_nobody=tracked
    [ "$(cat /proc/sys/vm/unprivileged_userfaultfd)" = 1 ] && want_nobody=full
    if { [ $ROOT = 0 ] || [ "$here" = full ]; } && [ "$here_nobody" = "$want_nobody" ]; then
        ok "Linux 6.7+ without a filter: full as root, $want_nobody unprivileged"
    else
        bad "Linux 6.7+ without a filter: $here as $(id -un), $here_nobody unprivileged"
    fi
fi
run_mode "as $(id -un)" "$here"
[ $ROOT = 1 ] || echo "(not root: the unprivileged run below is the same user)"
run_mode "unprivileged, vm.unprivileged_userfaultfd=$(cat /proc/sys/vm/unprivileged_userfaultfd)" \
    "$here_nobody" as_nobody
run_mode "no kernel-mode faults (knob)" "$no_kernel" env GQTEST_DENY=kernel_faults
run_mode "seccomp refusing userfaultfd (EPERM)" checksum $NOUFD
run_mode "unprivileged under seccomp (ENOSYS, as gVisor)" checksum as_nobody $NOUFD --errno=ENOSYS
run_mode "no asynchronous write protection (knob)" checksum env GQTEST_DENY=wp_async
run_mode "no PAGEMAP_SCAN (knob)" checksum env GQTEST_DENY=pagemap_scan
run_mode "GQSHIM_HOST_MODE=untracked" untracked env GQSHIM_HOST_MODE=untracked
run_mode "GQSHIM_HOST_MODE=checksum as root" checksum env GQSHIM_HOST_MODE=checksum

# Program-owned pinned memory (no rule takes the allocation): as the driver
# maps it (CUDASIM_PINNED=device, the default) write protection cannot vouch
# for it and checksums serve the copy-backs (4 compressed); as anonymous
# memory (CUDASIM_PINNED=anon) write protection does (3).
for kind in device:4 anon:3; do
    rm -f "$TMP/stats.json"
    check "program-owned pinned memory, CUDASIM_PINNED=${kind%:*}" env CUDASIM_PINNED=${kind%:*} \
        LD_PRELOAD="$SHIM" GQSHIM_RULES=on=dev,nth=1 GQSHIM_STATS="json:$TMP/stats.json" $P pinned quant
    expect_stat "program-owned pinned memory, CUDASIM_PINNED=${kind%:*}" restores -eq ${kind#*:}
done
check "CUDASIM_PINNED=bogus stops with status 2" sh -c \
    "CUDASIM_PINNED=bogus $P pinned exact 2>/dev/null; [ \$? = 2 ]"

# gqrun --check: what each environment allows, without running a program.
check "gqrun --check as root/us" sh -c "$GQRUN --check | grep -q '^host mode: '"
as_nobody $NOUFD $GQRUN --check >"$TMP/check" 2>&1
if grep -q '^host mode: checksum' "$TMP/check" && grep -q 'why not full: userfaultfd(2) refused (EPERM) with a seccomp filter active' "$TMP/check"; then
    ok "gqrun --check under seccomp: checksum, names the filter"
else
    bad "gqrun --check under seccomp"; sed 's/^/     | /' "$TMP/check"
fi
$GQRUN --check --host-mode=untracked >"$TMP/check" 2>&1
grep -q '^host mode: untracked' "$TMP/check" && ok "gqrun --check --host-mode" || bad "gqrun --check --host-mode"
check "gqrun --check --host-mode=bogus: status 2" sh -c "$GQRUN --check --host-mode=bogus 2>/dev/null; [ \$? = 2 ]"
finish

#!/bin/sh
# Shim-owned buffers fault in by spans (shim/host/gq_hostmem.c): exact bytes
# at span and entry edges, around pages written first, in pages never
# offloaded, through write(2); write tracking of span-filled pages; and
# GQSHIM_THREADS (the pool's cap, bad values).
. tests/e2e/lib.sh
P=$BUILD/e2e/spans
for c in edges present syscall wtrack clean threads; do
    check "$c, no shim" $P $c exact
    for t in 1 3; do
        export GQSHIM_THREADS=$t
        check "$c, shim-owned buffer, GQSHIM_THREADS=$t" with_shim "on=host" $P $c quant
        unset GQSHIM_THREADS
        expect_stat "$c, shim-owned buffer, GQSHIM_THREADS=$t" offloads -eq 2
    done
done
# The pool's most threads: a 2 MiB span in 8 parts of 256 KiB.
export GQSHIM_THREADS=8
for c in edges wtrack; do
    check "$c, shim-owned buffer, GQSHIM_THREADS=8" with_shim "on=host" $P $c quant
done
unset GQSHIM_THREADS
# Unwritten pages restore from the blocks after a full read (it leaves write
# tracking clean): both copy-backs compressed.
check "clean restore after a full read" with_shim "on=host" $P clean quant
expect_stat "clean restore after a full read" restores -eq 2

# A buffer split into several kernel mappings (one install may not cross
# their edges): every page still comes in, no thread waits forever.
check "split into mappings" timeout 60 env LD_PRELOAD=$SHIM GQSHIM_RULES=on=host $P split quant

# A written page swapped out still counts as written (write tracking reads
# swap entries too): the copy-back of the written tensor delivers the write,
# the unwritten one's goes compressed. Needs swap: as root, where there is
# none, a small swap file of the test's own, on for this case only.
swap_file=
if [ -z "$(swapon --noheadings 2>/dev/null)" ] && [ "$(id -u)" = 0 ] && command -v mkswap >/dev/null; then
    swap_file=$TMP/swap
    trap 'swapoff "$swap_file" 2>/dev/null; rm -rf "$TMP"' EXIT
    { dd if=/dev/zero of="$swap_file" bs=1M count=64 && chmod 600 "$swap_file" &&
        mkswap "$swap_file" && swapon "$swap_file"; } >/dev/null 2>&1 || swap_file=
fi
check "swap: written page swapped out" with_shim "on=host" $P swap quant
if grep -q "^paged_out=1" "$TMP/out"; then
    expect_stat "swap: only the unwritten tensor compressed" restores -eq 1
else
    echo "skip: the written page stayed in memory (no swap, and none could be made here)"
fi
[ -n "$swap_file" ] && swapoff "$swap_file" 2>/dev/null

# run_cases WHAT CASE...: each case under the shim (REL_SCALE=small, under a
# sanitizer: the first only), named "CASE, WHAT".
run_cases() {
    what=$1
    shift
    [ "${REL_SCALE:-}" = small ] && set -- "$1"
    for c in "$@"; do
        check "$c, $what" with_shim "on=host" $P $c quant
    done
}

# Spans moved whole as huge pages (UFFDIO_MOVE, Linux 6.8+, and THP):
# GQTEST_HUGE=always keeps the fault thread moving even where huge pages come
# slowly; the same cases hold. Under GQTEST_HUGE=race the shim itself writes
# each moved span between its move and its write protection: those pages
# must count as written, so that copy-backs deliver the buffer's bytes.
if $BUILD/gqrun --check 2>/dev/null | grep -q "UFFDIO_MOVE.*works" &&
    ! grep -q "\[never\]" /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
    export GQTEST_HUGE=always
    run_cases "spans moved as huge pages" clean
    # Moved pages were write-protected after the move: both copy-backs of
    # the unwritten buffer went compressed (unprotected, they would go raw
    # and still be exact).
    expect_stat "clean, spans moved as huge pages" restores -eq 2
    run_cases "spans moved as huge pages" wtrack edges present syscall
    # (Not under a sanitizer: the shim's test write races with the program's
    # reads by design, which ThreadSanitizer rightly reports.)
    if [ "${REL_SCALE:-}" != small ]; then
        export GQTEST_HUGE=race GQSHIM_LOG=info GQSHIM_LOG_FILE="$TMP/race.log"
        check "race, moved spans written before their protection" with_shim "on=host" $P race quant
        unset GQSHIM_LOG GQSHIM_LOG_FILE
        n=$(grep -c "test write at" "$TMP/race.log" 2>/dev/null)
        [ "${n:-0}" -ge 1 ] && ok "race: $n span(s) written between move and protection" ||
            bad "race: no span was moved (no test write in the log)"
    fi
    unset GQTEST_HUGE
else
    echo "skip: no UFFDIO_MOVE or no transparent huge pages here (build/gqrun --check)"
fi
# Without UFFDIO_MOVE (the GQTEST_DENY knob, as before Linux 6.8): --check
# says so, the host mode stays what it is, and every span is installed by copy.
mode=$($BUILD/gqrun --check | sed -n 's/^host mode: //p')
GQTEST_DENY=move $BUILD/gqrun --check >"$TMP/check" 2>&1
{ [ "$mode" != full ] || grep -q "UFFDIO_MOVE.* no$" "$TMP/check"; } &&
    grep -q "^host mode: $mode\$" "$TMP/check" &&
    ok "gqrun --check without UFFDIO_MOVE: says no, mode still $mode" ||
    { bad "gqrun --check without UFFDIO_MOVE"; sed 's/^/     | /' "$TMP/check"; }
export GQTEST_DENY=move
run_cases "without UFFDIO_MOVE (knob)" edges wtrack
unset GQTEST_DENY

# As an unprivileged user (host mode tracked where vm.unprivileged_userfaultfd
# is 0): the buffers stay the program's, decoded by the pool after each offload.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    for c in edges present wtrack clean; do
        check "$c, unprivileged" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
            env LD_PRELOAD=$SHIM GQSHIM_RULES=on=host GQSHIM_THREADS=3 $P $c quant
    done
fi

# The pool never holds more than GQSHIM_THREADS - 1 threads, and a
# sequential read of 2 MiB spans uses them.
pool_threads() {
    env GQSHIM_THREADS=$1 LD_PRELOAD=$SHIM GQSHIM_RULES=on=host $P threads quant |
        sed -n 's/^pool_threads=//p'
}
n=$(pool_threads 1)
[ "$n" = 0 ] && ok "GQSHIM_THREADS=1: no pool thread" || bad "GQSHIM_THREADS=1: $n pool threads"
n=$(pool_threads 3)
[ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le 2 ] && ok "GQSHIM_THREADS=3: $n pool thread(s), at most 2" ||
    bad "GQSHIM_THREADS=3: '$n' pool threads, want 1 or 2"
n=$(pool_threads 0)
cpus=$(nproc)
[ "$cpus" -gt 8 ] && cpus=8
[ -n "$n" ] && [ "$n" -le $((cpus - 1)) ] && ok "GQSHIM_THREADS=0 (auto): $n pool thread(s), at most $((cpus - 1))" ||
    bad "GQSHIM_THREADS=0 (auto): '$n' pool threads, want at most $((cpus - 1))"

# A bad value: one line naming it, and every call passes through (the data
# come back exact).
for v in abc -1 257 1.5; do
    GQSHIM_THREADS=$v LD_PRELOAD=$SHIM GQSHIM_RULES=on=host $P edges exact >"$TMP/out" 2>&1
    rc=$?
    lines=$(grep -c "GQSHIM_THREADS='$v' is not an accepted value; accepted: 0 or 1 to 256" "$TMP/out")
    [ $rc = 0 ] && [ "$lines" = 1 ] && ok "GQSHIM_THREADS=$v: one line, pass-through" ||
        { bad "GQSHIM_THREADS=$v: exit $rc, $lines error line(s)"; sed 's/^/     | /' "$TMP/out"; }
done
finish
